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
    onSubscribed?(snapshot: any, info: {
        epoch: string;
        seq: number;
        resumed: boolean;
    }): void;
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
export declare class RingsideError extends Error {
    /** A stable code: the server's (`bad_request`, `unauthorized`, `rate_limited`, …) or the client's (`timeout`, `unavailable`, `policy`). */
    code: string;
    /** The HTTP status, when the error came from an HTTP answer. */
    status?: number;
    /** When to try again (`rate_limited`, `slow_mode`). */
    retryAfterMs?: number;
    details?: any;
    constructor(code: string, message: string, extra?: {
        status?: number;
        retryAfterMs?: number;
        details?: any;
    });
}
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
    data: {
        live_event: number;
        slow_mode_seconds: number;
    };
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
    data: {
        from_seq: number;
        to_seq: number;
        count: number;
    };
}
export interface ViewersFrame {
    type: 'viewers';
    channel: string;
    data: {
        count: number;
    };
}
export interface ReactionsFrame {
    type: 'reactions';
    channel: string;
    data: {
        target: {
            type: string;
            id: number;
        };
        totals: Record<string, number>;
    };
}
export interface PresenceFrame {
    type: 'presence';
    channel: string;
    data: {
        count: number;
        joined?: number[] | null;
        left?: number[] | null;
    };
}
export interface UnreadFrame {
    type: 'unread';
    channel: string;
    data: {
        unread: number;
    };
}
/** Fan-score totals on `fight:{id}` (ephemeral). */
export interface FanScoresFrame {
    type: 'fan_scores';
    channel: string;
    data: any;
}
export interface BroadcastFrame {
    type: 'broadcast';
    data: {
        id: number;
        title: string;
        message: string;
        action_url?: string | null;
        created_at: string;
    };
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
export type Frame = WelcomeFrame | SubscribedFrame | UnsubscribedFrame | UpdateFrame | EventStateFrame | FightStateFrame | CommentFrame | CommentRemovedFrame | SlowModeFrame | PollFrame | RankingFrame | NotificationFrame | UpdatePendingFrame | UpdateReviewedFrame | QueueFrame | SkippedFrame | ViewersFrame | ReactionsFrame | PresenceFrame | UnreadFrame | FanScoresFrame | BroadcastFrame | ResyncFrame | PongFrame | AckFrame | ErrorFrame | CloseFrame;
/** Applies a JSON Merge Patch (RFC 7386) to `target` (changed in place when it is an object); returns the result. */
export declare function applyMergePatch(target: any, patch: any): any;
/** Sets the members at `pointers` (RFC 6901, into objects) to null; returns `target`. */
export declare function setNulls(target: any, pointers: string[]): any;
export declare class RingsideClient {
    private readonly settings;
    /** The app's channels, in the order it subscribed them (the first picks the WebSocket endpoint). */
    private readonly channels;
    private readonly listeners;
    private _state;
    private _transport;
    /** connect() was called, and neither close() nor a 1008 stopped it since. */
    private running;
    private closedForGood;
    private link;
    /** Identifies the current link; a host call from an older one is ignored. */
    private linkId;
    private linkWelcomed;
    /** The transport being tried or used (an index into settings.transports). */
    private index;
    /** Where the current round of tries began: the transport that last worked. */
    private roundStart;
    /** Failed tries since the last `welcome`, for the backoff. */
    private attempt;
    private retryTimer;
    private openTimer;
    constructor(opts: ClientOptions);
    get state(): State;
    /** The transport of the last connection that delivered `welcome`. */
    get transport(): TransportName | null;
    /** Starts connecting (once a channel is subscribed). Calling it again does nothing; after a 1008 it starts over. */
    connect(): void;
    /** Stops for good: state 'offline'; writes waiting for an answer over WebSocket reject with `unavailable`. */
    close(): void;
    on(event: 'state', fn: (s: State, info?: StateInfo) => void): () => void;
    on(event: 'transport', fn: (t: TransportName) => void): () => void;
    on(event: 'broadcast', fn: (data: any) => void): () => void;
    on(event: 'error', fn: (e: RingsideError) => void): () => void;
    on(event: 'welcome', fn: (w: WelcomeFrame) => void): () => void;
    /** Follows a channel (`event:{id}`, `fight:{id}`, `comments:{id}`, `user:{me}`, `news`, `rankings`, `rankings:{division}`). Subscribing again replaces the handlers. */
    subscribe(channel: string, handlers?: SubscriptionHandlers): Subscription;
    /** Stops following a channel and forgets its position. */
    unsubscribe(channel: string): void;
    /** Posts a comment; resolves with the stored comment. */
    comment(input: CommentInput): Promise<any>;
    /** Reacts to an update, comment, fight or event; resolves with the stored reaction. */
    react(input: ReactInput): Promise<any>;
    /** Votes in an open poll; resolves with the stored vote. */
    vote(input: VoteInput): Promise<any>;
    /** The last durable position delivered on a channel (what a resume starts from). */
    position(channel: string): Position | undefined;
    private openLink;
    private hostFor;
    /** Stops the current link and any pending retry. */
    private stop;
    private dropLink;
    /**
     * A link ended (or failed to open). Close codes decide what next: 1008
     * stops; 4001 resumes at once and 1012 after the wait its reason asks for
     * (each after a small jitter); anything else
     * backs off. A transport that fails before `welcome` hands over to the
     * next one at once; a whole round of failures backs off.
     */
    private linkEnded;
    /** Full jitter: random(0, min(max, min * 2^attempt)). */
    private backoff;
    private setState;
    private emit;
    private onFrame;
    private onWelcome;
    private onSubscribed;
    private onResync;
    private onChannelFrame;
    /**
     * A delta made whole from the state it patches, and state frames kept for
     * the next delta; `undefined` when the base is missing (the server never
     * sends such a delta, but then the channel is subscribed again from the
     * last seq delivered, and the replay brings this frame in full).
     */
    private rebuild;
    private subscriptionFailed;
    private channelError;
    private cursor;
    /** Over the WebSocket when one is up (acked by ref), else over REST. */
    private write;
    /** A REST call with the token; rejects with a RingsideError (`timeout` after ackTimeoutMs, `unavailable` when unreachable). */
    private request;
}
