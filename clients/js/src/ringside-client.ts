/**
 * @ringside/client: the client of Ringside's live protocol (DESIGN §3, §12).
 *
 * Many channels on one connection, over WebSocket, Server-Sent Events or
 * long-poll, with the same API whichever is used. Each channel is resumed
 * from its last `epoch:seq` after a drop, so the app sees every durable frame
 * once and in order; a channel that cannot be resumed is handed back with a
 * fresh REST snapshot (`onResync`).
 *
 * This file is deliberately one self-contained ES module with no imports:
 * the server embeds its build and serves it at /static/ringside-client.js.
 */

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

export type TransportName = 'websocket' | 'sse' | 'poll';
export type State = 'connecting' | 'connected' | 'reconnecting' | 'offline';

export interface ClientOptions {
  /** The server's base URL, e.g. "http://127.0.0.1:8000" (relative URLs resolve against the page). */
  url: string;
  /** A bearer token, or a function asked before every connection and request (so a refreshed token is used). */
  token?: string | (() => string | undefined | null);
  /** Transports in the order tried; default ['websocket', 'sse', 'poll']; ['poll'] forces one. */
  transports?: TransportName[];
  /** A WebSocket constructor (default: the global one; Node 20 has it with --experimental-websocket). */
  WebSocket?: any;
  /** A fetch function (default: the global one). */
  fetch?: typeof fetch;
  /** Backoff after a failure: delay = random(0, min(maxBackoffMs, minBackoffMs * 2^attempt)). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** How long a write (or a REST request) may wait for its answer. */
  ackTimeoutMs?: number;
  /** How long the server may hold a long-poll request open. */
  pollTimeoutS?: number;
  /** A transport that has not delivered `welcome` by then has failed. */
  openTimeoutMs?: number;
  /**
   * Over WebSocket, ask for `event_state` and `fight_state` as deltas (a JSON
   * Merge Patch from the previous state) and rebuild them here: `onFrame`
   * sees the same full frames either way. Default true; false asks for full
   * frames only. SSE and long-poll always send full frames.
   */
  delta?: boolean;
}

/** Where the client is on a channel: its epoch and the last durable seq it delivered. */
export interface Position {
  epoch: string;
  seq: number;
}

/** Why the state changed, when a connection closed. */
export interface StateInfo {
  code?: number;
  reason?: string;
}

export interface SubscriptionHandlers {
  /** The server holds the subscription (again, after a reconnect: then `resumed` says whether it resumed). */
  onSubscribed?(snapshot: any, info: { epoch: string; seq: number; resumed: boolean }): void;
  /** Every frame of the channel: durable ones in seq order without duplicates, and ephemeral ones. */
  onFrame?(frame: Frame): void;
  /** The channel could not be resumed: here is a fresh REST snapshot. Frames keep flowing after it. */
  onResync?(snapshot: any, reason: string): void;
  /** The subscription was refused (e.g. `not_found`, `forbidden`) and is dropped. */
  onError?(e: RingsideError): void;
}

export interface Subscription {
  readonly channel: string;
  unsubscribe(): void;
}

export interface CommentInput {
  live_event: number;
  content: string;
  parent_comment?: number | null;
  live_fight?: number | null;
}

export interface ReactInput {
  target_type: string;
  target_id: number;
  reaction_type: string;
}

export interface VoteInput {
  poll: number;
  option: number;
}

export class RingsideError extends Error {
  /** A stable code: the server's (`bad_request`, `unauthorized`, `rate_limited`, …) or the client's (`timeout`, `unavailable`, `policy`). */
  code: string;
  /** The HTTP status, when the error came from an HTTP answer. */
  status?: number;
  /** When to try again (`rate_limited`, `slow_mode`). */
  retryAfterMs?: number;
  details?: any;

  constructor(code: string, message: string, extra: { status?: number; retryAfterMs?: number; details?: any } = {}) {
    super(message);
    this.name = 'RingsideError';
    this.code = code;
    if (extra.status !== undefined) this.status = extra.status;
    if (extra.retryAfterMs !== undefined) this.retryAfterMs = extra.retryAfterMs;
    if (extra.details !== undefined) this.details = extra.details;
  }
}

// Frames, exactly as the server sends them (AsyncAPI at /api/asyncapi.json).

export interface WelcomeUser {
  id: number;
  role: string;
  display_name?: string;
}
export interface WelcomeFrame {
  type: 'welcome';
  session: string;
  user: WelcomeUser | null;
  heartbeat_s: number;
}
export interface SubscribedFrame {
  type: 'subscribed';
  channel: string;
  epoch: string;
  /** The channel's current last seq; replayed frames (after `since`) follow. */
  seq: number;
  snapshot: any;
  ref?: unknown;
}
export interface UnsubscribedFrame {
  type: 'unsubscribed';
  channel: string;
  ref?: unknown;
}
/** A durable frame: numbered on its channel, one more than the previous. */
export interface DurableFrame<T extends string> {
  type: T;
  channel: string;
  seq: number;
  data: any;
}
export type UpdateFrame = DurableFrame<'update'>;
export type EventStateFrame = DurableFrame<'event_state'>;
export type FightStateFrame = DurableFrame<'fight_state'>;
export type CommentFrame = DurableFrame<'comment'>;
export type CommentRemovedFrame = DurableFrame<'comment_removed'>;
/** On `comments:{event}`: a moderator set the event's slow mode (`{live_event, slow_mode_seconds}`, 0 for off). */
export interface SlowModeFrame {
  type: 'slow_mode';
  channel: string;
  seq: number;
  data: { live_event: number; slow_mode_seconds: number };
}
export type RankingFrame = DurableFrame<'ranking'>;
export type NotificationFrame = DurableFrame<'notification'>;
/** On `moderation:{event}` (moderators and admins): a reporter's update waiting for approval. */
export type UpdatePendingFrame = DurableFrame<'update_pending'>;
/** On `moderation:{event}`: a waiting update was approved or rejected (`{id, review, by}`). */
export type UpdateReviewedFrame = DurableFrame<'update_reviewed'>;
/** On `moderation:{event}`: a comment entered the moderation queue (`{reason, comment, reports}`). */
export type QueueFrame = DurableFrame<'queue'>;
/** A poll opened or closed (with `seq`), or its tally changed (no `seq`). */
export interface PollFrame {
  type: 'poll';
  channel: string;
  seq?: number | null;
  data: any;
}
/** Comments the server left out of this stream under its fan-out budget: their seqs, so the sequence stays gap-free. */
export interface SkippedFrame {
  type: 'skipped';
  channel: string;
  seq: number;
  data: { from_seq: number; to_seq: number; count: number };
}
export interface ViewersFrame {
  type: 'viewers';
  channel: string;
  data: { count: number };
}
export interface ReactionsFrame {
  type: 'reactions';
  channel: string;
  data: { target: { type: string; id: number }; totals: Record<string, number> };
}
export interface PresenceFrame {
  type: 'presence';
  channel: string;
  data: { count: number; joined?: number[] | null; left?: number[] | null };
}
export interface UnreadFrame {
  type: 'unread';
  channel: string;
  data: { unread: number };
}
/** Fan-score totals on `fight:{id}` (ephemeral). */
export interface FanScoresFrame {
  type: 'fan_scores';
  channel: string;
  data: any;
}
export interface BroadcastFrame {
  type: 'broadcast';
  data: { id: number; title: string; message: string; action_url?: string | null; created_at: string };
}
export interface ResyncFrame {
  type: 'resync';
  channel: string;
  reason: 'unknown_epoch' | 'history_gap' | 'too_far_behind' | 'unavailable';
}
export interface PongFrame {
  type: 'pong';
  ref?: unknown;
}
export interface AckFrame {
  type: 'ack';
  ref?: unknown;
  data: any;
}
export interface ErrorFrame {
  type: 'error';
  code: string;
  message: string;
  ref?: unknown;
  retry_after_ms?: number | null;
  /** Set when the error is about one channel of an SSE or long-poll stream. */
  channel?: string;
  details?: any;
}
/** The end of an SSE stream or long-poll session; `code` as a WebSocket close code. */
export interface CloseFrame {
  type: 'close';
  code: number;
  reason: string;
}

export type Frame =
  | WelcomeFrame
  | SubscribedFrame
  | UnsubscribedFrame
  | UpdateFrame
  | EventStateFrame
  | FightStateFrame
  | CommentFrame
  | CommentRemovedFrame
  | SlowModeFrame
  | PollFrame
  | RankingFrame
  | NotificationFrame
  | UpdatePendingFrame
  | UpdateReviewedFrame
  | QueueFrame
  | SkippedFrame
  | ViewersFrame
  | ReactionsFrame
  | PresenceFrame
  | UnreadFrame
  | FanScoresFrame
  | BroadcastFrame
  | ResyncFrame
  | PongFrame
  | AckFrame
  | ErrorFrame
  | CloseFrame;

/**
 * A state frame as the server sends it to a `delta` subscription: `patch`
 * (RFC 7386) turns the `data` of the frame at `base` (same type, same
 * `data.id`) into this one's, and `nulls` (JSON Pointers) are the members
 * it makes null, which a merge patch cannot say. Never handed to the app:
 * the client rebuilds the full frame.
 */
interface DeltaFrame {
  type: 'event_state' | 'fight_state';
  channel: string;
  seq: number;
  base: number;
  patch: any;
  nulls?: string[];
}

/** The frames that belong to one channel and reach `onFrame`. */
type ChannelFrame = Exclude<Frame, WelcomeFrame | SubscribedFrame | UnsubscribedFrame | BroadcastFrame | ResyncFrame | PongFrame | AckFrame | ErrorFrame | CloseFrame>;

// ---------------------------------------------------------------------------
// Internals shared by the transports
// ---------------------------------------------------------------------------

const DEFAULT_TRANSPORTS: TransportName[] = ['websocket', 'sse', 'poll'];

// Close codes (WebSocket close codes; SSE and long-poll `close` frames use the same).
const CLOSE_POLICY = 1008; // banned, too many connections, signed out: do not retry
const CLOSE_RESTART = 1012; // the server is restarting: resume at once
const CLOSE_HEARTBEAT = 4000; // no answer to pings
const CLOSE_TOO_SLOW = 4001; // the client fell behind: resume at once

/** A resume after 4001 or 1012 waits this much at most, so a crowd does not reconnect in one instant. */
const RESUME_JITTER_MS = 1000;
/** A 1012's reason asks for a wait of its own (the server spreads its sessions over 0–5 s). */
const RETRY_HINT = /retry_after_ms=(\d+)/;

/** The wait a close reason asks for, if any (at most a minute). */
function retryHint(reason: string | undefined): number | undefined {
  const ms = Number(RETRY_HINT.exec(reason ?? '')?.[1]);
  return Number.isFinite(ms) ? Math.min(ms, 60_000) : undefined;
}
/** Long-poll requests get this long past `timeout_s` before they count as dead. */
const POLL_GRACE_MS = 10_000;
/** Missed heartbeats (WebSocket pongs, SSE traffic) before a connection counts as dead. */
const MISSED_BEATS = 2;

interface Settings {
  url: string;
  token: () => string | undefined;
  transports: TransportName[];
  WebSocket: WebSocketConstructor | undefined;
  fetch: typeof fetch;
  minBackoffMs: number;
  maxBackoffMs: number;
  ackTimeoutMs: number;
  pollTimeoutS: number;
  openTimeoutMs: number;
  delta: boolean;
}

/** What the client needs of a WebSocket: the browser's, Node's, or an injected one such as `ws`. */
interface WebSocketLike {
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(): void;
}
type WebSocketConstructor = new (url: string) => WebSocketLike;

type WriteOp =
  | ({ op: 'comment' } & CommentInput)
  | ({ op: 'react' } & ReactInput)
  | ({ op: 'vote' } & VoteInput);

/** Why a link (one transport connection) ended. */
interface LinkEnd {
  code?: number;
  reason?: string;
  /** An HTTP refusal of the stream or poll request. */
  error?: RingsideError;
}

/** What a link may ask of the client. Calls from a link the client has left are ignored. */
interface LinkHost {
  readonly settings: Settings;
  /** The channels the app follows, in the order it subscribed them. */
  channels(): string[];
  position(channel: string): Position | undefined;
  /** The cursor of every position (`<channel>@<epoch>:<seq>,…`), for SSE and long-poll. */
  cursor(): string;
  frame(frame: Frame): void;
  subscriptionFailed(channel: string, e: RingsideError): void;
  /** The link is over (it has stopped itself); called at most once. */
  ended(end: LinkEnd): void;
}

/** One connection over one transport. */
interface Link {
  /** The app subscribed a channel. */
  add(channel: string): void;
  /** The app unsubscribed a channel (or the server refused it). */
  remove(channel: string): void;
  /** Sends a write on this link, or answers null: send it over REST. */
  write(op: WriteOp): Promise<any> | null;
  /** Stops the link for good without calling `ended`. */
  stop(): void;
}

function splitChannel(channel: string): { kind: string; id: string | undefined } {
  const colon = channel.indexOf(':');
  return colon < 0
    ? { kind: channel, id: undefined }
    : { kind: channel.slice(0, colon), id: encodeURIComponent(channel.slice(colon + 1)) };
}

/** The REST resource that is a channel's snapshot, for `resync`. */
function snapshotPath(channel: string): string | undefined {
  const { kind, id } = splitChannel(channel);
  switch (kind) {
    case 'event':
      return `/api/live/events/${id}/`;
    case 'fight':
      return `/api/live/fights/${id}/`;
    case 'comments':
      return `/api/live/comments/?event=${id}`;
    case 'user':
      return '/api/notifications/';
    case 'moderation':
      // The staff channel's snapshot: the updates waiting for approval.
      return `/api/live/updates/?event=${id}&review=pending`;
    case 'rankings':
      // `rankings` carries every division's moves: the closest table is pound-for-pound.
      return id === undefined ? '/api/rankings/p4p/' : `/api/rankings/?division=${id}`;
    case 'news':
      // The update list has no breaking-only filter: the latest verified updates.
      return '/api/live/updates/';
    default:
      return undefined;
  }
}

/**
 * The WebSocket endpoint to open: the first channel's own (the server has
 * no bare endpoint; each one auto-subscribes its channel). `channel` is the
 * channel the URL auto-subscribes when known before `welcome` (the
 * notification endpoint's is `user:{me}`); `resume` the one whose position
 * goes in `?since=`.
 */
function socketEndpoint(channels: string[], signedIn: boolean): { path: string; channel?: string; resume?: string } | undefined {
  for (const channel of channels) {
    const { kind, id } = splitChannel(channel);
    if (id !== undefined && kind === 'event') return { path: `/api/live/events/${id}/`, channel, resume: channel };
    if (id !== undefined && kind === 'fight') return { path: `/api/live/fights/${id}/`, channel, resume: channel };
    if (id !== undefined && kind === 'comments') return { path: `/api/live/comments/${id}/`, channel, resume: channel };
    if (kind === 'user' && signedIn) return { path: '/api/live/notifications/', resume: channel };
  }
  // Only channels without an endpoint (`news`, `rankings…`): the notification
  // endpoint carries them when signed in; its own `user:{me}` is dropped.
  return signedIn ? { path: '/api/live/notifications/' } : undefined;
}

/** Applies a JSON Merge Patch (RFC 7386) to `target` (changed in place when it is an object); returns the result. */
export function applyMergePatch(target: any, patch: any): any {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out = target !== null && typeof target === 'object' && !Array.isArray(target) ? target : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = applyMergePatch(out[key], value);
  }
  return out;
}

/** Sets the members at `pointers` (RFC 6901, into objects) to null; returns `target`. */
export function setNulls(target: any, pointers: string[]): any {
  for (const pointer of pointers) {
    const keys = pointer.split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = keys.pop();
    let parent = target;
    for (const k of keys) parent = parent !== null && typeof parent === 'object' ? parent[k] : undefined;
    if (last !== undefined && parent !== null && typeof parent === 'object' && !Array.isArray(parent)) parent[last] = null;
  }
  return target;
}

function query(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) q.set(key, value);
  const text = q.toString();
  return text ? `?${text}` : '';
}

function errorCodeForStatus(status: number): string {
  switch (status) {
    case 400:
      return 'bad_request';
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 413:
      return 'too_large';
    case 429:
      return 'rate_limited';
    case 503:
      return 'unavailable';
    default:
      return `http_${status}`;
  }
}

/** A RingsideError from an HTTP refusal: `{"error":{"code","message","details"}}`, the status and `Retry-After`. */
async function httpError(res: Response): Promise<RingsideError> {
  let body: { error?: { code?: string; message?: string; details?: any } } | undefined;
  try {
    body = await res.json();
  } catch {
    body = undefined; // not JSON (a proxy's page): the status speaks
  }
  const retryAfterS = Number(res.headers.get('Retry-After') ?? NaN);
  return new RingsideError(body?.error?.code ?? errorCodeForStatus(res.status), body?.error?.message ?? `HTTP ${res.status}`, {
    status: res.status,
    retryAfterMs: Number.isFinite(retryAfterS) ? retryAfterS * 1000 : undefined,
    details: body?.error?.details ?? undefined,
  });
}

function errorFromFrame(frame: ErrorFrame): RingsideError {
  return new RingsideError(frame.code, frame.message, {
    retryAfterMs: frame.retry_after_ms ?? undefined,
    details: frame.details,
  });
}

function dropped(): RingsideError {
  return new RingsideError('unavailable', 'the connection dropped before the answer: the write may or may not have been stored');
}

/** Runs an app callback; an exception in it is reported but never breaks the client. */
function callApp<A extends unknown[]>(fn: ((...args: A) => void) | undefined, ...args: A): void {
  if (!fn) return;
  try {
    fn(...args);
  } catch (e) {
    queueMicrotask(() => {
      throw e;
    });
  }
}

/**
 * The subscriptions a connection made without a ref: the WebSocket URL's
 * own, an SSE or poll request's `channels`. The server answers each with
 * `subscribed` or with an `error` that names neither ref nor channel, so a
 * refusal is known by elimination: once as many such errors have come as
 * channels still wait, those channels were refused, in order.
 */
class Unanswered {
  private readonly waiting: string[];
  private readonly errors: ErrorFrame[] = [];

  constructor(channels: string[]) {
    this.waiting = [...channels];
  }

  subscribed(channel: string): void {
    const i = this.waiting.indexOf(channel);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  /** Holds an error without ref or channel while a subscription waits; false: it is about something else. */
  hold(frame: ErrorFrame): boolean {
    if (frame.ref !== undefined || frame.channel !== undefined || this.waiting.length === this.errors.length) return false;
    this.errors.push(frame);
    return true;
  }

  /** The refusals now known, and held errors that turned out not to be refusals. */
  settle(): { refused: [string, ErrorFrame][]; other: ErrorFrame[] } {
    if (this.errors.length === 0) return { refused: [], other: [] };
    if (this.waiting.length === 0) return { refused: [], other: this.errors.splice(0) };
    if (this.errors.length < this.waiting.length) return { refused: [], other: [] };
    const errors = this.errors.splice(0);
    return { refused: this.waiting.splice(0).map((channel, i) => [channel, errors[i]]), other: [] };
  }
}

/** Hands a frame to the client through `unanswered`: refusals as such, the rest as frames. */
function deliverThrough(unanswered: Unanswered, host: LinkHost, frame: Frame): void {
  // An error that may be a refusal waits until it is known whose it is.
  const held = frame.type === 'error' && unanswered.hold(frame);
  if (!held) {
    if (frame.type === 'subscribed') unanswered.subscribed(frame.channel);
    host.frame(frame);
  }
  const { refused, other } = unanswered.settle();
  for (const [channel, error] of refused) host.subscriptionFailed(channel, errorFromFrame(error));
  for (const error of other) host.frame(error);
}

// ---------------------------------------------------------------------------
// WebSocket
// ---------------------------------------------------------------------------

type Pending =
  | { kind: 'write'; resolve: (data: any) => void; reject: (e: RingsideError) => void; timer: ReturnType<typeof setTimeout> }
  | { kind: 'subscribe'; channel: string }
  | { kind: 'unsubscribe' };

/**
 * One socket: opened on the first channel's endpoint (resuming it with
 * `?since=`), the other channels subscribed with `subscribe` ops once the
 * server says `welcome`. Writes are ops with a `ref`, answered by `ack` or
 * `error` with that ref.
 */
class WebSocketLink implements Link {
  private readonly ws: WebSocketLike;
  /** The channel the endpoint auto-subscribed (the notification endpoint's `user:{me}` is known at `welcome`). */
  private urlChannel: string | undefined;
  /** The URL's own subscription until it is answered. */
  private unanswered = new Unanswered([]);
  private welcomed = false;
  private over = false;
  private nextRef = 1;
  private readonly pending = new Map<number, Pending>();
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private pingsUnanswered = 0;

  constructor(private readonly host: LinkHost) {
    const { settings } = host;
    if (!settings.WebSocket) {
      throw new RingsideError('unavailable', 'no WebSocket here: pass the WebSocket option (Node 20: --experimental-websocket)');
    }
    const token = settings.token();
    const endpoint = socketEndpoint(host.channels(), token !== undefined);
    if (!endpoint) throw new RingsideError('unavailable', 'no WebSocket endpoint carries these channels without signing in');
    this.urlChannel = endpoint.channel;
    const since = endpoint.resume ? host.position(endpoint.resume) : undefined;
    const base = settings.url.replace(/^http/, 'ws');
    const delta = settings.delta ? 'true' : undefined;
    this.ws = new settings.WebSocket(base + endpoint.path + query({ token, since: since && `${since.epoch}:${since.seq}`, delta }));
    this.ws.onmessage = (ev) => this.onMessage(typeof ev.data === 'string' ? ev.data : String(ev.data));
    this.ws.onclose = (ev) => this.end({ code: ev.code, reason: ev.reason });
    // An error is always followed by close, which reports it.
    this.ws.onerror = () => {};
  }

  add(channel: string): void {
    // Before `welcome` every channel is subscribed at once when it comes.
    if (this.welcomed) this.subscribe(channel);
  }

  remove(channel: string): void {
    if (this.welcomed) this.send({ op: 'unsubscribe', channel, ref: this.track({ kind: 'unsubscribe' }) });
  }

  write(op: WriteOp): Promise<any> {
    return new Promise((resolve, reject) => {
      const ref = this.nextRef++;
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(new RingsideError('timeout', `no answer within ${this.host.settings.ackTimeoutMs} ms: the write may or may not have been stored`));
      }, this.host.settings.ackTimeoutMs);
      this.pending.set(ref, { kind: 'write', resolve, reject, timer });
      this.send({ ...op, ref });
    });
  }

  stop(): void {
    if (this.over) return;
    this.over = true;
    clearInterval(this.heartbeat);
    for (const p of this.pending.values()) {
      if (p.kind === 'write') {
        clearTimeout(p.timer);
        p.reject(dropped());
      }
    }
    this.pending.clear();
    this.ws.onmessage = this.ws.onclose = null;
    this.ws.close();
  }

  /** Stops and tells the client, once. */
  private end(end: LinkEnd): void {
    if (this.over) return;
    this.stop();
    this.host.ended(end);
  }

  private track(p: Pending): number {
    const ref = this.nextRef++;
    this.pending.set(ref, p);
    return ref;
  }

  private send(message: object): void {
    this.ws.send(JSON.stringify(message));
  }

  private subscribe(channel: string): void {
    const since = this.host.position(channel);
    const delta = this.host.settings.delta ? { delta: true } : {};
    this.send({ op: 'subscribe', channel, since, ...delta, ref: this.track({ kind: 'subscribe', channel }) });
  }

  private onMessage(text: string): void {
    let frame: Frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return; // the server sends JSON only; nothing to do with anything else
    }
    const pending = 'ref' in frame && typeof frame.ref === 'number' ? this.pending.get(frame.ref) : undefined;
    if (pending && 'ref' in frame) this.pending.delete(frame.ref as number);
    switch (frame.type) {
      case 'welcome':
        this.onWelcome(frame);
        break;
      case 'pong':
        this.pingsUnanswered = 0;
        return;
      case 'ack':
        if (pending?.kind === 'write') {
          clearTimeout(pending.timer);
          pending.resolve(frame.data);
        }
        return;
      case 'error':
        if (pending?.kind === 'write') {
          clearTimeout(pending.timer);
          pending.reject(errorFromFrame(frame));
          return;
        }
        if (pending?.kind === 'subscribe') return this.host.subscriptionFailed(pending.channel, errorFromFrame(frame));
        // An unsubscribe the server had done already, or a late answer to a write that timed out.
        if (frame.ref !== undefined) return;
        break;
    }
    deliverThrough(this.unanswered, this.host, frame);
  }

  private onWelcome(welcome: WelcomeFrame): void {
    this.welcomed = true;
    if (this.urlChannel === undefined && welcome.user) this.urlChannel = `user:${welcome.user.id}`;
    if (this.urlChannel !== undefined) this.unanswered = new Unanswered([this.urlChannel]);
    const wanted = this.host.channels();
    // The carrier endpoint's own channel, or one the app dropped meanwhile.
    if (this.urlChannel !== undefined && !wanted.includes(this.urlChannel)) this.remove(this.urlChannel);
    for (const channel of wanted) if (channel !== this.urlChannel) this.subscribe(channel);
    // The server pings at the WebSocket level, which the runtime answers;
    // our own pings find a connection that died without a close.
    if (welcome.heartbeat_s > 0) this.heartbeat = setInterval(() => this.beat(), welcome.heartbeat_s * 1000);
  }

  private beat(): void {
    if (this.pingsUnanswered >= MISSED_BEATS) return this.end({ code: CLOSE_HEARTBEAT, reason: `no pong to ${MISSED_BEATS} pings` });
    this.pingsUnanswered++;
    this.send({ op: 'ping' });
  }
}

// ---------------------------------------------------------------------------
// SSE and long-poll
// ---------------------------------------------------------------------------

/** Reads an event stream (text/event-stream): `event:`, `data:` and `id:` fields, `:` comments. */
class EventStreamParser {
  private rest = '';
  private event = '';
  private data: string[] = [];

  constructor(private readonly onEvent: (type: string, data: string) => void) {}

  feed(chunk: string): void {
    let text = this.rest + chunk;
    // A CR at the very end may be the first half of a CRLF: wait for the next chunk.
    let held = '';
    if (text.endsWith('\r')) {
      text = text.slice(0, -1);
      held = '\r';
    }
    const lines = text.split(/\r\n|\r|\n/);
    this.rest = lines.pop() + held;
    for (const line of lines) this.line(line);
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) this.onEvent(this.event || 'message', this.data.join('\n'));
      this.event = '';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return; // keep-alive comment
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    // `id:` is the server's cursor; the client keeps its own positions, which say the same.
  }
}

/**
 * An HTTP transport: SSE or long-poll. Its channel list is fixed per
 * request, so a change of channels reopens it (resuming from the cursor).
 */
abstract class HttpLink implements Link {
  private over = false;
  private reopenQueued = false;
  /** The current request (stream or poll session); aborting it leaves no trace. */
  protected current: AbortController | undefined;
  /** The current request's `channels`, until each is answered. */
  private unanswered = new Unanswered([]);

  constructor(protected readonly host: LinkHost) {
    // Not at once: the subclass's fields are set only after this constructor returns.
    this.reopenSoon();
  }

  add(): void {
    this.reopenSoon();
  }

  remove(): void {
    this.reopenSoon();
  }

  write(): null {
    return null; // writes go over REST
  }

  stop(): void {
    this.over = true;
    this.current?.abort();
    this.current = undefined;
  }

  protected end(end: LinkEnd): void {
    if (this.over) return;
    this.stop();
    this.host.ended(end);
  }

  protected url(path: string, params: Record<string, string | undefined>): string {
    return this.host.settings.url + path + query({ channels: this.host.channels().join(','), ...params, token: this.host.settings.token() });
  }

  /** Handles one frame of the current request; false when it ended the link or the request. */
  protected deliver(frame: Frame, request: AbortController): boolean {
    if (request.signal.aborted) return false;
    if (frame.type === 'close') {
      // The next request (SSE or poll) sends a cursor built from the
      // client's positions: the same positions the server's cursor names.
      this.end({ code: frame.code, reason: frame.reason });
      return false;
    }
    deliverThrough(this.unanswered, this.host, frame);
    return !request.signal.aborted;
  }

  /** Starts a request for the current channels. */
  protected abstract run(request: AbortController): Promise<void>;

  /** Several subscribe calls in a row reopen once. */
  private reopenSoon(): void {
    if (this.reopenQueued) return;
    this.reopenQueued = true;
    queueMicrotask(() => {
      this.reopenQueued = false;
      if (!this.over) this.reopen();
    });
  }

  private reopen(): void {
    this.current?.abort();
    this.current = undefined;
    const channels = this.host.channels();
    if (channels.length === 0) return; // nothing to follow until the next subscribe
    const request = new AbortController();
    this.current = request;
    this.unanswered = new Unanswered(channels);
    void this.run(request);
  }
}

/** `GET /api/live/stream/`: one frame per event, `close` when the server ends it. */
class SseLink extends HttpLink {
  /** Set at `welcome`: with no traffic (frames or keep-alive comments) for this long, the stream is dead. */
  private idleMs = 0;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;

  stop(): void {
    clearTimeout(this.idleTimer);
    super.stop();
  }

  protected async run(request: AbortController): Promise<void> {
    const { settings } = this.host;
    this.alive(request);
    let res: Response;
    try {
      res = await settings.fetch(this.url('/api/live/stream/', { cursor: this.host.cursor() }), {
        headers: { Accept: 'text/event-stream' },
        cache: 'no-store',
        signal: request.signal,
      });
    } catch {
      if (!request.signal.aborted) this.end({ reason: 'network error' });
      return;
    }
    if (request.signal.aborted) return;
    if (!res.ok || !res.body) return this.end({ error: await httpError(res) });
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    const parser = new EventStreamParser((_type, data) => {
      let frame: Frame;
      try {
        frame = JSON.parse(data);
      } catch {
        return; // each event's data is one JSON frame; skip anything else
      }
      if (frame.type === 'welcome' && frame.heartbeat_s > 0) this.idleMs = MISSED_BEATS * frame.heartbeat_s * 1000;
      if (!this.deliver(frame, request)) void reader.cancel().catch(() => {});
    });
    try {
      for (;;) {
        this.alive(request);
        const { done, value } = await reader.read();
        if (done || request.signal.aborted) break;
        parser.feed(decoder.decode(value, { stream: true }));
      }
    } catch {
      // a cut connection or our own abort: told apart below
    }
    if (this.current !== request) return; // reopened or stopped: the timer is the next request's
    clearTimeout(this.idleTimer);
    if (!request.signal.aborted) this.end({ reason: 'stream ended' });
  }

  /** Traffic on `request`: the stream is alive for another `idleMs`. */
  private alive(request: AbortController): void {
    if (this.current !== request) return;
    clearTimeout(this.idleTimer);
    if (this.idleMs > 0) {
      this.idleTimer = setTimeout(() => {
        if (this.current === request) this.end({ code: CLOSE_HEARTBEAT, reason: 'the stream went silent' });
      }, this.idleMs);
    }
  }
}

/**
 * `GET /api/live/poll/`: one session per channel list. The first request
 * sends the client's own cursor (positions, no session); every next one
 * sends back the cursor the last answer gave, which names the session.
 */
class PollLink extends HttpLink {
  /** The server's session while it lasts (the part of its cursor before `~`). */
  private session: string | undefined;

  protected async run(request: AbortController): Promise<void> {
    // After a change of channels, naming the old session with our own
    // positions ends it on the server (it does not match), so it does not
    // hold a connection slot until it idles out; a new one starts from them.
    const own = this.host.cursor();
    let cursor = this.session === undefined ? own : `${this.session}~${own}`;
    while (!request.signal.aborted) {
      let answer: { frames: Frame[]; cursor: string };
      try {
        answer = await this.poll(request, cursor);
      } catch (e) {
        if (!request.signal.aborted) this.end(e instanceof RingsideError ? { error: e } : { reason: String(e) });
        return;
      }
      for (const frame of answer.frames) if (!this.deliver(frame, request)) return;
      cursor = answer.cursor;
      const tilde = cursor.indexOf('~');
      this.session = tilde < 0 ? undefined : cursor.slice(0, tilde);
    }
  }

  private async poll(request: AbortController, cursor: string): Promise<{ frames: Frame[]; cursor: string }> {
    const { settings } = this.host;
    // A request of its own, so a dead server (no answer past timeout_s)
    // is told apart from the link being reopened or stopped.
    const attempt = new AbortController();
    const onAbort = () => attempt.abort();
    request.signal.addEventListener('abort', onAbort);
    const deadline = setTimeout(() => attempt.abort(), settings.pollTimeoutS * 1000 + POLL_GRACE_MS);
    try {
      const res = await settings.fetch(this.url('/api/live/poll/', { cursor, timeout_s: String(settings.pollTimeoutS) }), {
        headers: { Accept: 'application/json' },
        cache: 'no-store',
        signal: attempt.signal,
      });
      if (!res.ok) throw await httpError(res);
      const answer = await res.json();
      if (!Array.isArray(answer?.frames) || typeof answer.cursor !== 'string') throw new RingsideError('unavailable', 'the poll answer has no frames or no cursor');
      return answer;
    } catch (e) {
      if (e instanceof RingsideError) throw e;
      throw new RingsideError('unavailable', attempt.signal.aborted ? 'the poll got no answer in time' : 'network error');
    } finally {
      clearTimeout(deadline);
      request.signal.removeEventListener('abort', onAbort);
    }
  }
}

// ---------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------

interface ChannelState {
  handlers: SubscriptionHandlers;
  /** Unset until the server first confirms the subscription. */
  epoch: string | undefined;
  /** The last durable seq delivered to the app. */
  seq: number;
  /** The `seq` of the last `subscribed` frame: the channel's head then. */
  lastSubscribedSeq: number;
  /** With `delta`: the last state of each kind (`type:data.id`) delivered since `subscribed`, what patches apply to. */
  states: Map<string, { seq: number; data: any }>;
  /** A delta came whose base we lack: subscribed again from `seq`; durable frames wait for the replay. */
  reloading: boolean;
}

interface Events {
  state: (s: State, info?: StateInfo) => void;
  transport: (t: TransportName) => void;
  broadcast: (data: any) => void;
  error: (e: RingsideError) => void;
  welcome: (w: WelcomeFrame) => void;
}

const LINKS: Record<TransportName, new (host: LinkHost) => Link> = {
  websocket: WebSocketLink,
  sse: SseLink,
  poll: PollLink,
};

export class RingsideClient {
  private readonly settings: Settings;
  /** The app's channels, in the order it subscribed them (the first picks the WebSocket endpoint). */
  private readonly channels = new Map<string, ChannelState>();
  private readonly listeners: { [K in keyof Events]: Set<Events[K]> } = {
    state: new Set(),
    transport: new Set(),
    broadcast: new Set(),
    error: new Set(),
    welcome: new Set(),
  };
  private _state: State = 'offline';
  private _transport: TransportName | null = null;
  /** connect() was called, and neither close() nor a 1008 stopped it since. */
  private running = false;
  private closedForGood = false;
  private link: Link | null = null;
  /** Identifies the current link; a host call from an older one is ignored. */
  private linkId: object | null = null;
  private linkWelcomed = false;
  /** The transport being tried or used (an index into settings.transports). */
  private index = 0;
  /** Where the current round of tries began: the transport that last worked. */
  private roundStart = 0;
  /** Failed tries since the last `welcome`, for the backoff. */
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private openTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(opts: ClientOptions) {
    const base = typeof location === 'undefined' ? new URL(opts.url) : new URL(opts.url, location.href);
    const token = opts.token;
    const transports = opts.transports && opts.transports.length > 0 ? [...opts.transports] : [...DEFAULT_TRANSPORTS];
    for (const t of transports) if (!(t in LINKS)) throw new TypeError(`unknown transport: ${t}`);
    this.settings = {
      url: base.href.replace(/\/+$/, ''),
      token: () => (typeof token === 'function' ? token() : token) || undefined,
      transports,
      WebSocket: opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket,
      fetch: opts.fetch ?? ((input, init) => globalThis.fetch(input, init)),
      minBackoffMs: opts.minBackoffMs ?? 500,
      maxBackoffMs: opts.maxBackoffMs ?? 15_000,
      ackTimeoutMs: opts.ackTimeoutMs ?? 10_000,
      pollTimeoutS: opts.pollTimeoutS ?? 25,
      openTimeoutMs: opts.openTimeoutMs ?? 5_000,
      delta: opts.delta ?? true,
    };
  }

  get state(): State {
    return this._state;
  }

  /** The transport of the last connection that delivered `welcome`. */
  get transport(): TransportName | null {
    return this._transport;
  }

  /** Starts connecting (once a channel is subscribed). Calling it again does nothing; after a 1008 it starts over. */
  connect(): void {
    if (this.closedForGood || this.running) return;
    this.running = true;
    this.attempt = 0;
    this.index = this.roundStart;
    this.setState('connecting');
    this.openLink();
  }

  /** Stops for good: state 'offline'; writes waiting for an answer over WebSocket reject with `unavailable`. */
  close(): void {
    this.closedForGood = true;
    this.stop();
    this.setState('offline');
  }

  on(event: 'state', fn: (s: State, info?: StateInfo) => void): () => void;
  on(event: 'transport', fn: (t: TransportName) => void): () => void;
  on(event: 'broadcast', fn: (data: any) => void): () => void;
  on(event: 'error', fn: (e: RingsideError) => void): () => void;
  on(event: 'welcome', fn: (w: WelcomeFrame) => void): () => void;
  on<K extends keyof Events>(event: K, fn: Events[K]): () => void {
    const set = this.listeners[event] as Set<Events[K]>;
    set.add(fn);
    return () => void set.delete(fn);
  }

  /** Follows a channel (`event:{id}`, `fight:{id}`, `comments:{id}`, `user:{me}`, `news`, `rankings`, `rankings:{division}`). Subscribing again replaces the handlers. */
  subscribe(channel: string, handlers: SubscriptionHandlers = {}): Subscription {
    const existing = this.channels.get(channel);
    if (existing) {
      existing.handlers = handlers;
    } else {
      this.channels.set(channel, { handlers, epoch: undefined, seq: 0, lastSubscribedSeq: 0, states: new Map(), reloading: false });
      if (this.link) this.link.add(channel);
      else if (this.running && this.retryTimer === undefined) this.openLink(); // it was waiting for a channel
    }
    return { channel, unsubscribe: () => this.unsubscribe(channel) };
  }

  /** Stops following a channel and forgets its position. */
  unsubscribe(channel: string): void {
    if (this.channels.delete(channel)) this.link?.remove(channel);
  }

  /** Posts a comment; resolves with the stored comment. */
  comment(input: CommentInput): Promise<any> {
    return this.write({ op: 'comment', ...input });
  }

  /** Reacts to an update, comment, fight or event; resolves with the stored reaction. */
  react(input: ReactInput): Promise<any> {
    return this.write({ op: 'react', ...input });
  }

  /** Votes in an open poll; resolves with the stored vote. */
  vote(input: VoteInput): Promise<any> {
    return this.write({ op: 'vote', ...input });
  }

  /** The last durable position delivered on a channel (what a resume starts from). */
  position(channel: string): Position | undefined {
    const c = this.channels.get(channel);
    return c?.epoch === undefined ? undefined : { epoch: c.epoch, seq: c.seq };
  }

  // -- connection lifecycle -------------------------------------------------

  private openLink(): void {
    this.retryTimer = undefined;
    if (!this.running || this.channels.size === 0) return;
    const id = {};
    this.linkId = id;
    this.linkWelcomed = false;
    this.openTimer = setTimeout(() => this.linkEnded(id, { reason: `no welcome within ${this.settings.openTimeoutMs} ms` }), this.settings.openTimeoutMs);
    try {
      this.link = new LINKS[this.settings.transports[this.index]](this.hostFor(id));
    } catch (e) {
      // No WebSocket here, or no endpoint for these channels: try the next transport.
      this.linkEnded(id, { reason: e instanceof Error ? e.message : String(e) });
    }
  }

  private hostFor(id: object): LinkHost {
    const live = () => this.linkId === id;
    return {
      settings: this.settings,
      channels: () => [...this.channels.keys()],
      position: (channel) => this.position(channel),
      cursor: () => this.cursor(),
      frame: (frame) => {
        if (live()) this.onFrame(frame);
      },
      subscriptionFailed: (channel, e) => {
        if (live()) this.subscriptionFailed(channel, e);
      },
      ended: (end) => this.linkEnded(id, end),
    };
  }

  /** Stops the current link and any pending retry. */
  private stop(): void {
    this.running = false;
    this.dropLink();
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private dropLink(): void {
    clearTimeout(this.openTimer);
    const link = this.link;
    this.link = null;
    this.linkId = null;
    link?.stop();
  }

  /**
   * A link ended (or failed to open). Close codes decide what next: 1008
   * stops; 4001 resumes at once and 1012 after the wait its reason asks for
   * (each after a small jitter); anything else
   * backs off. A transport that fails before `welcome` hands over to the
   * next one at once; a whole round of failures backs off.
   */
  private linkEnded(id: object, end: LinkEnd): void {
    if (id !== this.linkId) return;
    const welcomed = this.linkWelcomed;
    this.dropLink();
    const info: StateInfo = { code: end.code, reason: end.reason ?? end.error?.message };
    if (end.code === CLOSE_POLICY) {
      this.stop();
      this.setState('offline', info);
      this.emit('error', new RingsideError('policy', end.reason || 'the server closed the connection for good (1008)', { details: { close_code: end.code } }));
      return;
    }
    // A refused token will not work on any transport: say so (a token function may yield a fresh one).
    if (end.error?.code === 'unauthorized') this.emit('error', end.error);
    let delay: number;
    if (welcomed) {
      this.roundStart = this.index;
      const jitter = Math.random() * RESUME_JITTER_MS;
      if (end.code === CLOSE_RESTART) delay = (retryHint(end.reason) ?? 0) + jitter / 2;
      else delay = end.code === CLOSE_TOO_SLOW ? jitter : this.backoff();
    } else {
      this.index = (this.index + 1) % this.settings.transports.length;
      delay = this.index === this.roundStart ? this.backoff() : 0;
    }
    this.setState(this._state === 'connecting' ? 'connecting' : 'reconnecting', info);
    this.retryTimer = setTimeout(() => this.openLink(), delay);
  }

  /** Full jitter: random(0, min(max, min * 2^attempt)). */
  private backoff(): number {
    const { minBackoffMs, maxBackoffMs } = this.settings;
    const ceiling = Math.min(maxBackoffMs, minBackoffMs * 2 ** this.attempt);
    this.attempt++;
    return Math.random() * ceiling;
  }

  private setState(state: State, info?: StateInfo): void {
    if (state === this._state) return;
    this._state = state;
    this.emit('state', state, info);
  }

  private emit<K extends keyof Events>(event: K, ...args: Parameters<Events[K]>): void {
    for (const fn of [...this.listeners[event]]) callApp(fn as (...a: Parameters<Events[K]>) => void, ...args);
  }

  // -- frames ---------------------------------------------------------------

  private onFrame(frame: Frame): void {
    switch (frame.type) {
      case 'welcome':
        return this.onWelcome(frame);
      case 'subscribed':
        return this.onSubscribed(frame);
      case 'resync':
        return this.onResync(frame);
      case 'broadcast':
        return this.emit('broadcast', frame.data);
      case 'error':
        if (frame.channel !== undefined && this.channels.has(frame.channel)) return this.subscriptionFailed(frame.channel, errorFromFrame(frame));
        return this.emit('error', errorFromFrame(frame));
      case 'unsubscribed':
      case 'pong':
      case 'ack':
      case 'close':
        return; // the link's business
      default:
        return this.onChannelFrame(frame);
    }
  }

  private onWelcome(welcome: WelcomeFrame): void {
    clearTimeout(this.openTimer);
    this.linkWelcomed = true;
    this.attempt = 0;
    this.roundStart = this.index;
    const transport = this.settings.transports[this.index];
    if (this._transport !== transport) {
      this._transport = transport;
      this.emit('transport', transport);
    }
    this.setState('connected');
    this.emit('welcome', welcome);
  }

  private onSubscribed(frame: SubscribedFrame): void {
    const c = this.channels.get(frame.channel);
    if (!c) return; // unsubscribed meanwhile, or a carrier endpoint's own channel
    // Same epoch: the server replays what came after our seq, so keep it;
    // otherwise this is a fresh start at the channel's head.
    const resumed = c.epoch === frame.epoch;
    if (!resumed) c.seq = frame.seq;
    c.epoch = frame.epoch;
    c.lastSubscribedSeq = frame.seq;
    // A delta's base is always a frame sent after this `subscribed`.
    c.states.clear();
    c.reloading = false;
    callApp(c.handlers.onSubscribed, frame.snapshot, { epoch: frame.epoch, seq: frame.seq, resumed });
  }

  private onResync(frame: ResyncFrame): void {
    const c = this.channels.get(frame.channel);
    if (!c) return;
    // Live frames continue after the head the `subscribed` frame named. With
    // `unknown_epoch` our seq means nothing (it may even be past the head).
    c.seq = frame.reason === 'unknown_epoch' ? c.lastSubscribedSeq : Math.max(c.seq, c.lastSubscribedSeq);
    c.states.clear();
    const path = snapshotPath(frame.channel);
    const snapshot = path === undefined ? Promise.resolve(null) : this.request('GET', path);
    snapshot.then(
      (body) => {
        if (this.channels.get(frame.channel) === c) callApp(c.handlers.onResync, body, frame.reason);
      },
      (e: RingsideError) => {
        if (this.channels.get(frame.channel) === c) this.channelError(c, e);
      },
    );
  }

  private onChannelFrame(received: ChannelFrame | DeltaFrame): void {
    const c = this.channels.get(received.channel);
    if (!c) return;
    // Durable frames carry a numeric seq (a poll tally has none, or null).
    const seq = 'seq' in received ? received.seq : undefined;
    if (typeof seq === 'number') {
      if (seq <= c.seq) return; // already delivered (a replay overlapping what we had)
      if (c.reloading) return; // replayed, in full, after the `subscribed` asked for
    }
    const frame = this.rebuild(c, received);
    if (frame === undefined) return;
    if (typeof seq === 'number') c.seq = seq;
    callApp(c.handlers.onFrame, frame);
  }

  /**
   * A delta made whole from the state it patches, and state frames kept for
   * the next delta; `undefined` when the base is missing (the server never
   * sends such a delta, but then the channel is subscribed again from the
   * last seq delivered, and the replay brings this frame in full).
   */
  private rebuild(c: ChannelState, frame: ChannelFrame | DeltaFrame): ChannelFrame | undefined {
    if (!this.settings.delta || (frame.type !== 'event_state' && frame.type !== 'fight_state')) return frame as ChannelFrame;
    let data: any;
    if ('patch' in frame) {
      const base = [...c.states].find(([key, s]) => s.seq === frame.base && key.startsWith(`${frame.type}:`));
      if (base === undefined) {
        c.reloading = true;
        this.link?.add(frame.channel);
        return undefined;
      }
      c.states.delete(base[0]);
      data = setNulls(applyMergePatch(structuredClone(base[1].data), frame.patch), frame.nulls ?? []);
    } else {
      data = frame.data;
    }
    c.states.set(`${frame.type}:${data?.id ?? ''}`, { seq: frame.seq, data });
    // The app may change what it is given: the kept state stays ours.
    return { type: frame.type, channel: frame.channel, seq: frame.seq, data: structuredClone(data) };
  }

  private subscriptionFailed(channel: string, e: RingsideError): void {
    const c = this.channels.get(channel);
    if (!c) return;
    if (e.code === 'unavailable') {
      // The server could not look the channel up just now: ask again soon.
      setTimeout(() => {
        if (this.channels.get(channel) === c) this.link?.add(channel);
      }, this.settings.minBackoffMs + Math.random() * this.settings.minBackoffMs);
      return this.channelError(c, e);
    }
    this.channels.delete(channel);
    // The WebSocket server has dropped it already; SSE and poll reopen without it.
    this.link?.remove(channel);
    this.channelError(c, e);
  }

  private channelError(c: ChannelState, e: RingsideError): void {
    if (c.handlers.onError) callApp(c.handlers.onError, e);
    else this.emit('error', e);
  }

  private cursor(): string {
    const entries: string[] = [];
    for (const [channel, c] of this.channels) if (c.epoch !== undefined) entries.push(`${channel}@${c.epoch}:${c.seq}`);
    return entries.join(',');
  }

  // -- writes and REST ------------------------------------------------------

  /** Over the WebSocket when one is up (acked by ref), else over REST. */
  private write(op: WriteOp): Promise<any> {
    const sent = this.linkWelcomed ? this.link?.write(op) : null;
    if (sent) return sent;
    switch (op.op) {
      case 'comment': {
        const { op: _, ...body } = op;
        return this.request('POST', '/api/live/comments/', body);
      }
      case 'react': {
        const { op: _, ...body } = op;
        return this.request('POST', '/api/live/reactions/', body);
      }
      case 'vote':
        return this.request('POST', `/api/live/polls/${encodeURIComponent(op.poll)}/vote/`, { option: op.option });
    }
  }

  /** A REST call with the token; rejects with a RingsideError (`timeout` after ackTimeoutMs, `unavailable` when unreachable). */
  private async request(method: string, path: string, body?: object): Promise<any> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    const token = this.settings.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.settings.ackTimeoutMs);
    try {
      const res = await this.settings.fetch(this.settings.url + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: abort.signal,
      });
      if (!res.ok) throw await httpError(res);
      return res.status === 204 ? null : await res.json();
    } catch (e) {
      if (e instanceof RingsideError) throw e;
      if (abort.signal.aborted) throw new RingsideError('timeout', `no answer within ${this.settings.ackTimeoutMs} ms: a write may or may not have been stored`);
      throw new RingsideError('unavailable', `the server is unreachable: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      clearTimeout(timer);
    }
  }
}
