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
export class RingsideError extends Error {
    /** A stable code: the server's (`bad_request`, `unauthorized`, `rate_limited`, …) or the client's (`timeout`, `unavailable`, `policy`). */
    code;
    /** The HTTP status, when the error came from an HTTP answer. */
    status;
    /** When to try again (`rate_limited`, `slow_mode`). */
    retryAfterMs;
    details;
    constructor(code, message, extra = {}) {
        super(message);
        this.name = 'RingsideError';
        this.code = code;
        if (extra.status !== undefined)
            this.status = extra.status;
        if (extra.retryAfterMs !== undefined)
            this.retryAfterMs = extra.retryAfterMs;
        if (extra.details !== undefined)
            this.details = extra.details;
    }
}
// ---------------------------------------------------------------------------
// Internals shared by the transports
// ---------------------------------------------------------------------------
const DEFAULT_TRANSPORTS = ['websocket', 'sse', 'poll'];
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
function retryHint(reason) {
    const ms = Number(RETRY_HINT.exec(reason ?? '')?.[1]);
    return Number.isFinite(ms) ? Math.min(ms, 60_000) : undefined;
}
/** Long-poll requests get this long past `timeout_s` before they count as dead. */
const POLL_GRACE_MS = 10_000;
/** Missed heartbeats (WebSocket pongs, SSE traffic) before a connection counts as dead. */
const MISSED_BEATS = 2;
function splitChannel(channel) {
    const colon = channel.indexOf(':');
    return colon < 0
        ? { kind: channel, id: undefined }
        : { kind: channel.slice(0, colon), id: encodeURIComponent(channel.slice(colon + 1)) };
}
/** The REST resource that is a channel's snapshot, for `resync`. */
function snapshotPath(channel) {
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
function socketEndpoint(channels, signedIn) {
    for (const channel of channels) {
        const { kind, id } = splitChannel(channel);
        if (id !== undefined && kind === 'event')
            return { path: `/api/live/events/${id}/`, channel, resume: channel };
        if (id !== undefined && kind === 'fight')
            return { path: `/api/live/fights/${id}/`, channel, resume: channel };
        if (id !== undefined && kind === 'comments')
            return { path: `/api/live/comments/${id}/`, channel, resume: channel };
        if (kind === 'user' && signedIn)
            return { path: '/api/live/notifications/', resume: channel };
    }
    // Only channels without an endpoint (`news`, `rankings…`): the notification
    // endpoint carries them when signed in; its own `user:{me}` is dropped.
    return signedIn ? { path: '/api/live/notifications/' } : undefined;
}
/** Applies a JSON Merge Patch (RFC 7386) to `target` (changed in place when it is an object); returns the result. */
export function applyMergePatch(target, patch) {
    if (patch === null || typeof patch !== 'object' || Array.isArray(patch))
        return patch;
    const out = target !== null && typeof target === 'object' && !Array.isArray(target) ? target : {};
    for (const [key, value] of Object.entries(patch)) {
        if (value === null)
            delete out[key];
        else
            out[key] = applyMergePatch(out[key], value);
    }
    return out;
}
/** Sets the members at `pointers` (RFC 6901, into objects) to null; returns `target`. */
export function setNulls(target, pointers) {
    for (const pointer of pointers) {
        const keys = pointer.split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
        const last = keys.pop();
        let parent = target;
        for (const k of keys)
            parent = parent !== null && typeof parent === 'object' ? parent[k] : undefined;
        if (last !== undefined && parent !== null && typeof parent === 'object' && !Array.isArray(parent))
            parent[last] = null;
    }
    return target;
}
function query(params) {
    const q = new URLSearchParams();
    for (const [key, value] of Object.entries(params))
        if (value)
            q.set(key, value);
    const text = q.toString();
    return text ? `?${text}` : '';
}
function errorCodeForStatus(status) {
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
async function httpError(res) {
    let body;
    try {
        body = await res.json();
    }
    catch {
        body = undefined; // not JSON (a proxy's page): the status speaks
    }
    const retryAfterS = Number(res.headers.get('Retry-After') ?? NaN);
    return new RingsideError(body?.error?.code ?? errorCodeForStatus(res.status), body?.error?.message ?? `HTTP ${res.status}`, {
        status: res.status,
        retryAfterMs: Number.isFinite(retryAfterS) ? retryAfterS * 1000 : undefined,
        details: body?.error?.details ?? undefined,
    });
}
function errorFromFrame(frame) {
    return new RingsideError(frame.code, frame.message, {
        retryAfterMs: frame.retry_after_ms ?? undefined,
        details: frame.details,
    });
}
function dropped() {
    return new RingsideError('unavailable', 'the connection dropped before the answer: the write may or may not have been stored');
}
/** Runs an app callback; an exception in it is reported but never breaks the client. */
function callApp(fn, ...args) {
    if (!fn)
        return;
    try {
        fn(...args);
    }
    catch (e) {
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
    waiting;
    errors = [];
    constructor(channels) {
        this.waiting = [...channels];
    }
    subscribed(channel) {
        const i = this.waiting.indexOf(channel);
        if (i >= 0)
            this.waiting.splice(i, 1);
    }
    /** Holds an error without ref or channel while a subscription waits; false: it is about something else. */
    hold(frame) {
        if (frame.ref !== undefined || frame.channel !== undefined || this.waiting.length === this.errors.length)
            return false;
        this.errors.push(frame);
        return true;
    }
    /** The refusals now known, and held errors that turned out not to be refusals. */
    settle() {
        if (this.errors.length === 0)
            return { refused: [], other: [] };
        if (this.waiting.length === 0)
            return { refused: [], other: this.errors.splice(0) };
        if (this.errors.length < this.waiting.length)
            return { refused: [], other: [] };
        const errors = this.errors.splice(0);
        return { refused: this.waiting.splice(0).map((channel, i) => [channel, errors[i]]), other: [] };
    }
}
/** Hands a frame to the client through `unanswered`: refusals as such, the rest as frames. */
function deliverThrough(unanswered, host, frame) {
    // An error that may be a refusal waits until it is known whose it is.
    const held = frame.type === 'error' && unanswered.hold(frame);
    if (!held) {
        if (frame.type === 'subscribed')
            unanswered.subscribed(frame.channel);
        host.frame(frame);
    }
    const { refused, other } = unanswered.settle();
    for (const [channel, error] of refused)
        host.subscriptionFailed(channel, errorFromFrame(error));
    for (const error of other)
        host.frame(error);
}
/**
 * One socket: opened on the first channel's endpoint (resuming it with
 * `?since=`), the other channels subscribed with `subscribe` ops once the
 * server says `welcome`. Writes are ops with a `ref`, answered by `ack` or
 * `error` with that ref.
 */
class WebSocketLink {
    host;
    ws;
    /** The channel the endpoint auto-subscribed (the notification endpoint's `user:{me}` is known at `welcome`). */
    urlChannel;
    /** The URL's own subscription until it is answered. */
    unanswered = new Unanswered([]);
    welcomed = false;
    over = false;
    nextRef = 1;
    pending = new Map();
    heartbeat;
    pingsUnanswered = 0;
    constructor(host) {
        this.host = host;
        const { settings } = host;
        if (!settings.WebSocket) {
            throw new RingsideError('unavailable', 'no WebSocket here: pass the WebSocket option (Node 20: --experimental-websocket)');
        }
        const token = settings.token();
        const endpoint = socketEndpoint(host.channels(), token !== undefined);
        if (!endpoint)
            throw new RingsideError('unavailable', 'no WebSocket endpoint carries these channels without signing in');
        this.urlChannel = endpoint.channel;
        const since = endpoint.resume ? host.position(endpoint.resume) : undefined;
        const base = settings.url.replace(/^http/, 'ws');
        const delta = settings.delta ? 'true' : undefined;
        this.ws = new settings.WebSocket(base + endpoint.path + query({ token, since: since && `${since.epoch}:${since.seq}`, delta }));
        this.ws.onmessage = (ev) => this.onMessage(typeof ev.data === 'string' ? ev.data : String(ev.data));
        this.ws.onclose = (ev) => this.end({ code: ev.code, reason: ev.reason });
        // An error is always followed by close, which reports it.
        this.ws.onerror = () => { };
    }
    add(channel) {
        // Before `welcome` every channel is subscribed at once when it comes.
        if (this.welcomed)
            this.subscribe(channel);
    }
    remove(channel) {
        if (this.welcomed)
            this.send({ op: 'unsubscribe', channel, ref: this.track({ kind: 'unsubscribe' }) });
    }
    write(op) {
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
    stop() {
        if (this.over)
            return;
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
    end(end) {
        if (this.over)
            return;
        this.stop();
        this.host.ended(end);
    }
    track(p) {
        const ref = this.nextRef++;
        this.pending.set(ref, p);
        return ref;
    }
    send(message) {
        this.ws.send(JSON.stringify(message));
    }
    subscribe(channel) {
        const since = this.host.position(channel);
        const delta = this.host.settings.delta ? { delta: true } : {};
        this.send({ op: 'subscribe', channel, since, ...delta, ref: this.track({ kind: 'subscribe', channel }) });
    }
    onMessage(text) {
        let frame;
        try {
            frame = JSON.parse(text);
        }
        catch {
            return; // the server sends JSON only; nothing to do with anything else
        }
        const pending = 'ref' in frame && typeof frame.ref === 'number' ? this.pending.get(frame.ref) : undefined;
        if (pending && 'ref' in frame)
            this.pending.delete(frame.ref);
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
                if (pending?.kind === 'subscribe')
                    return this.host.subscriptionFailed(pending.channel, errorFromFrame(frame));
                // An unsubscribe the server had done already, or a late answer to a write that timed out.
                if (frame.ref !== undefined)
                    return;
                break;
        }
        deliverThrough(this.unanswered, this.host, frame);
    }
    onWelcome(welcome) {
        this.welcomed = true;
        if (this.urlChannel === undefined && welcome.user)
            this.urlChannel = `user:${welcome.user.id}`;
        if (this.urlChannel !== undefined)
            this.unanswered = new Unanswered([this.urlChannel]);
        const wanted = this.host.channels();
        // The carrier endpoint's own channel, or one the app dropped meanwhile.
        if (this.urlChannel !== undefined && !wanted.includes(this.urlChannel))
            this.remove(this.urlChannel);
        for (const channel of wanted)
            if (channel !== this.urlChannel)
                this.subscribe(channel);
        // The server pings at the WebSocket level, which the runtime answers;
        // our own pings find a connection that died without a close.
        if (welcome.heartbeat_s > 0)
            this.heartbeat = setInterval(() => this.beat(), welcome.heartbeat_s * 1000);
    }
    beat() {
        if (this.pingsUnanswered >= MISSED_BEATS)
            return this.end({ code: CLOSE_HEARTBEAT, reason: `no pong to ${MISSED_BEATS} pings` });
        this.pingsUnanswered++;
        this.send({ op: 'ping' });
    }
}
// ---------------------------------------------------------------------------
// SSE and long-poll
// ---------------------------------------------------------------------------
/** Reads an event stream (text/event-stream): `event:`, `data:` and `id:` fields, `:` comments. */
class EventStreamParser {
    onEvent;
    rest = '';
    event = '';
    data = [];
    constructor(onEvent) {
        this.onEvent = onEvent;
    }
    feed(chunk) {
        let text = this.rest + chunk;
        // A CR at the very end may be the first half of a CRLF: wait for the next chunk.
        let held = '';
        if (text.endsWith('\r')) {
            text = text.slice(0, -1);
            held = '\r';
        }
        const lines = text.split(/\r\n|\r|\n/);
        this.rest = lines.pop() + held;
        for (const line of lines)
            this.line(line);
    }
    line(line) {
        if (line === '') {
            if (this.data.length > 0)
                this.onEvent(this.event || 'message', this.data.join('\n'));
            this.event = '';
            this.data = [];
            return;
        }
        if (line.startsWith(':'))
            return; // keep-alive comment
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' '))
            value = value.slice(1);
        if (field === 'event')
            this.event = value;
        else if (field === 'data')
            this.data.push(value);
        // `id:` is the server's cursor; the client keeps its own positions, which say the same.
    }
}
/**
 * An HTTP transport: SSE or long-poll. Its channel list is fixed per
 * request, so a change of channels reopens it (resuming from the cursor).
 */
class HttpLink {
    host;
    over = false;
    reopenQueued = false;
    /** The current request (stream or poll session); aborting it leaves no trace. */
    current;
    /** The current request's `channels`, until each is answered. */
    unanswered = new Unanswered([]);
    constructor(host) {
        this.host = host;
        // Not at once: the subclass's fields are set only after this constructor returns.
        this.reopenSoon();
    }
    add() {
        this.reopenSoon();
    }
    remove() {
        this.reopenSoon();
    }
    write() {
        return null; // writes go over REST
    }
    stop() {
        this.over = true;
        this.current?.abort();
        this.current = undefined;
    }
    end(end) {
        if (this.over)
            return;
        this.stop();
        this.host.ended(end);
    }
    url(path, params) {
        return this.host.settings.url + path + query({ channels: this.host.channels().join(','), ...params, token: this.host.settings.token() });
    }
    /** Handles one frame of the current request; false when it ended the link or the request. */
    deliver(frame, request) {
        if (request.signal.aborted)
            return false;
        if (frame.type === 'close') {
            // The next request (SSE or poll) sends a cursor built from the
            // client's positions: the same positions the server's cursor names.
            this.end({ code: frame.code, reason: frame.reason });
            return false;
        }
        deliverThrough(this.unanswered, this.host, frame);
        return !request.signal.aborted;
    }
    /** Several subscribe calls in a row reopen once. */
    reopenSoon() {
        if (this.reopenQueued)
            return;
        this.reopenQueued = true;
        queueMicrotask(() => {
            this.reopenQueued = false;
            if (!this.over)
                this.reopen();
        });
    }
    reopen() {
        this.current?.abort();
        this.current = undefined;
        const channels = this.host.channels();
        if (channels.length === 0)
            return; // nothing to follow until the next subscribe
        const request = new AbortController();
        this.current = request;
        this.unanswered = new Unanswered(channels);
        void this.run(request);
    }
}
/** `GET /api/live/stream/`: one frame per event, `close` when the server ends it. */
class SseLink extends HttpLink {
    /** Set at `welcome`: with no traffic (frames or keep-alive comments) for this long, the stream is dead. */
    idleMs = 0;
    idleTimer;
    stop() {
        clearTimeout(this.idleTimer);
        super.stop();
    }
    async run(request) {
        const { settings } = this.host;
        this.alive(request);
        let res;
        try {
            res = await settings.fetch(this.url('/api/live/stream/', { cursor: this.host.cursor() }), {
                headers: { Accept: 'text/event-stream' },
                cache: 'no-store',
                signal: request.signal,
            });
        }
        catch {
            if (!request.signal.aborted)
                this.end({ reason: 'network error' });
            return;
        }
        if (request.signal.aborted)
            return;
        if (!res.ok || !res.body)
            return this.end({ error: await httpError(res) });
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        const parser = new EventStreamParser((_type, data) => {
            let frame;
            try {
                frame = JSON.parse(data);
            }
            catch {
                return; // each event's data is one JSON frame; skip anything else
            }
            if (frame.type === 'welcome' && frame.heartbeat_s > 0)
                this.idleMs = MISSED_BEATS * frame.heartbeat_s * 1000;
            if (!this.deliver(frame, request))
                void reader.cancel().catch(() => { });
        });
        try {
            for (;;) {
                this.alive(request);
                const { done, value } = await reader.read();
                if (done || request.signal.aborted)
                    break;
                parser.feed(decoder.decode(value, { stream: true }));
            }
        }
        catch {
            // a cut connection or our own abort: told apart below
        }
        if (this.current !== request)
            return; // reopened or stopped: the timer is the next request's
        clearTimeout(this.idleTimer);
        if (!request.signal.aborted)
            this.end({ reason: 'stream ended' });
    }
    /** Traffic on `request`: the stream is alive for another `idleMs`. */
    alive(request) {
        if (this.current !== request)
            return;
        clearTimeout(this.idleTimer);
        if (this.idleMs > 0) {
            this.idleTimer = setTimeout(() => {
                if (this.current === request)
                    this.end({ code: CLOSE_HEARTBEAT, reason: 'the stream went silent' });
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
    session;
    async run(request) {
        // After a change of channels, naming the old session with our own
        // positions ends it on the server (it does not match), so it does not
        // hold a connection slot until it idles out; a new one starts from them.
        const own = this.host.cursor();
        let cursor = this.session === undefined ? own : `${this.session}~${own}`;
        while (!request.signal.aborted) {
            let answer;
            try {
                answer = await this.poll(request, cursor);
            }
            catch (e) {
                if (!request.signal.aborted)
                    this.end(e instanceof RingsideError ? { error: e } : { reason: String(e) });
                return;
            }
            for (const frame of answer.frames)
                if (!this.deliver(frame, request))
                    return;
            cursor = answer.cursor;
            const tilde = cursor.indexOf('~');
            this.session = tilde < 0 ? undefined : cursor.slice(0, tilde);
        }
    }
    async poll(request, cursor) {
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
            if (!res.ok)
                throw await httpError(res);
            const answer = await res.json();
            if (!Array.isArray(answer?.frames) || typeof answer.cursor !== 'string')
                throw new RingsideError('unavailable', 'the poll answer has no frames or no cursor');
            return answer;
        }
        catch (e) {
            if (e instanceof RingsideError)
                throw e;
            throw new RingsideError('unavailable', attempt.signal.aborted ? 'the poll got no answer in time' : 'network error');
        }
        finally {
            clearTimeout(deadline);
            request.signal.removeEventListener('abort', onAbort);
        }
    }
}
const LINKS = {
    websocket: WebSocketLink,
    sse: SseLink,
    poll: PollLink,
};
export class RingsideClient {
    settings;
    /** The app's channels, in the order it subscribed them (the first picks the WebSocket endpoint). */
    channels = new Map();
    listeners = {
        state: new Set(),
        transport: new Set(),
        broadcast: new Set(),
        error: new Set(),
        welcome: new Set(),
    };
    _state = 'offline';
    _transport = null;
    /** connect() was called, and neither close() nor a 1008 stopped it since. */
    running = false;
    closedForGood = false;
    link = null;
    /** Identifies the current link; a host call from an older one is ignored. */
    linkId = null;
    linkWelcomed = false;
    /** The transport being tried or used (an index into settings.transports). */
    index = 0;
    /** Where the current round of tries began: the transport that last worked. */
    roundStart = 0;
    /** Failed tries since the last `welcome`, for the backoff. */
    attempt = 0;
    retryTimer;
    openTimer;
    constructor(opts) {
        const base = typeof location === 'undefined' ? new URL(opts.url) : new URL(opts.url, location.href);
        const token = opts.token;
        const transports = opts.transports && opts.transports.length > 0 ? [...opts.transports] : [...DEFAULT_TRANSPORTS];
        for (const t of transports)
            if (!(t in LINKS))
                throw new TypeError(`unknown transport: ${t}`);
        this.settings = {
            url: base.href.replace(/\/+$/, ''),
            token: () => (typeof token === 'function' ? token() : token) || undefined,
            transports,
            WebSocket: opts.WebSocket ?? globalThis.WebSocket,
            fetch: opts.fetch ?? ((input, init) => globalThis.fetch(input, init)),
            minBackoffMs: opts.minBackoffMs ?? 500,
            maxBackoffMs: opts.maxBackoffMs ?? 15_000,
            ackTimeoutMs: opts.ackTimeoutMs ?? 10_000,
            pollTimeoutS: opts.pollTimeoutS ?? 25,
            openTimeoutMs: opts.openTimeoutMs ?? 5_000,
            delta: opts.delta ?? true,
        };
    }
    get state() {
        return this._state;
    }
    /** The transport of the last connection that delivered `welcome`. */
    get transport() {
        return this._transport;
    }
    /** Starts connecting (once a channel is subscribed). Calling it again does nothing; after a 1008 it starts over. */
    connect() {
        if (this.closedForGood || this.running)
            return;
        this.running = true;
        this.attempt = 0;
        this.index = this.roundStart;
        this.setState('connecting');
        this.openLink();
    }
    /** Stops for good: state 'offline'; writes waiting for an answer over WebSocket reject with `unavailable`. */
    close() {
        this.closedForGood = true;
        this.stop();
        this.setState('offline');
    }
    on(event, fn) {
        const set = this.listeners[event];
        set.add(fn);
        return () => void set.delete(fn);
    }
    /** Follows a channel (`event:{id}`, `fight:{id}`, `comments:{id}`, `user:{me}`, `news`, `rankings`, `rankings:{division}`). Subscribing again replaces the handlers. */
    subscribe(channel, handlers = {}) {
        const existing = this.channels.get(channel);
        if (existing) {
            existing.handlers = handlers;
        }
        else {
            this.channels.set(channel, { handlers, epoch: undefined, seq: 0, lastSubscribedSeq: 0, states: new Map(), reloading: false });
            if (this.link)
                this.link.add(channel);
            else if (this.running && this.retryTimer === undefined)
                this.openLink(); // it was waiting for a channel
        }
        return { channel, unsubscribe: () => this.unsubscribe(channel) };
    }
    /** Stops following a channel and forgets its position. */
    unsubscribe(channel) {
        if (this.channels.delete(channel))
            this.link?.remove(channel);
    }
    /** Posts a comment; resolves with the stored comment. */
    comment(input) {
        return this.write({ op: 'comment', ...input });
    }
    /** Reacts to an update, comment, fight or event; resolves with the stored reaction. */
    react(input) {
        return this.write({ op: 'react', ...input });
    }
    /** Votes in an open poll; resolves with the stored vote. */
    vote(input) {
        return this.write({ op: 'vote', ...input });
    }
    /** The last durable position delivered on a channel (what a resume starts from). */
    position(channel) {
        const c = this.channels.get(channel);
        return c?.epoch === undefined ? undefined : { epoch: c.epoch, seq: c.seq };
    }
    // -- connection lifecycle -------------------------------------------------
    openLink() {
        this.retryTimer = undefined;
        if (!this.running || this.channels.size === 0)
            return;
        const id = {};
        this.linkId = id;
        this.linkWelcomed = false;
        this.openTimer = setTimeout(() => this.linkEnded(id, { reason: `no welcome within ${this.settings.openTimeoutMs} ms` }), this.settings.openTimeoutMs);
        try {
            this.link = new LINKS[this.settings.transports[this.index]](this.hostFor(id));
        }
        catch (e) {
            // No WebSocket here, or no endpoint for these channels: try the next transport.
            this.linkEnded(id, { reason: e instanceof Error ? e.message : String(e) });
        }
    }
    hostFor(id) {
        const live = () => this.linkId === id;
        return {
            settings: this.settings,
            channels: () => [...this.channels.keys()],
            position: (channel) => this.position(channel),
            cursor: () => this.cursor(),
            frame: (frame) => {
                if (live())
                    this.onFrame(frame);
            },
            subscriptionFailed: (channel, e) => {
                if (live())
                    this.subscriptionFailed(channel, e);
            },
            ended: (end) => this.linkEnded(id, end),
        };
    }
    /** Stops the current link and any pending retry. */
    stop() {
        this.running = false;
        this.dropLink();
        clearTimeout(this.retryTimer);
        this.retryTimer = undefined;
    }
    dropLink() {
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
    linkEnded(id, end) {
        if (id !== this.linkId)
            return;
        const welcomed = this.linkWelcomed;
        this.dropLink();
        const info = { code: end.code, reason: end.reason ?? end.error?.message };
        if (end.code === CLOSE_POLICY) {
            this.stop();
            this.setState('offline', info);
            this.emit('error', new RingsideError('policy', end.reason || 'the server closed the connection for good (1008)', { details: { close_code: end.code } }));
            return;
        }
        // A refused token will not work on any transport: say so (a token function may yield a fresh one).
        if (end.error?.code === 'unauthorized')
            this.emit('error', end.error);
        let delay;
        if (welcomed) {
            this.roundStart = this.index;
            const jitter = Math.random() * RESUME_JITTER_MS;
            if (end.code === CLOSE_RESTART)
                delay = (retryHint(end.reason) ?? 0) + jitter / 2;
            else
                delay = end.code === CLOSE_TOO_SLOW ? jitter : this.backoff();
        }
        else {
            this.index = (this.index + 1) % this.settings.transports.length;
            delay = this.index === this.roundStart ? this.backoff() : 0;
        }
        this.setState(this._state === 'connecting' ? 'connecting' : 'reconnecting', info);
        this.retryTimer = setTimeout(() => this.openLink(), delay);
    }
    /** Full jitter: random(0, min(max, min * 2^attempt)). */
    backoff() {
        const { minBackoffMs, maxBackoffMs } = this.settings;
        const ceiling = Math.min(maxBackoffMs, minBackoffMs * 2 ** this.attempt);
        this.attempt++;
        return Math.random() * ceiling;
    }
    setState(state, info) {
        if (state === this._state)
            return;
        this._state = state;
        this.emit('state', state, info);
    }
    emit(event, ...args) {
        for (const fn of [...this.listeners[event]])
            callApp(fn, ...args);
    }
    // -- frames ---------------------------------------------------------------
    onFrame(frame) {
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
                if (frame.channel !== undefined && this.channels.has(frame.channel))
                    return this.subscriptionFailed(frame.channel, errorFromFrame(frame));
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
    onWelcome(welcome) {
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
    onSubscribed(frame) {
        const c = this.channels.get(frame.channel);
        if (!c)
            return; // unsubscribed meanwhile, or a carrier endpoint's own channel
        // Same epoch: the server replays what came after our seq, so keep it;
        // otherwise this is a fresh start at the channel's head.
        const resumed = c.epoch === frame.epoch;
        if (!resumed)
            c.seq = frame.seq;
        c.epoch = frame.epoch;
        c.lastSubscribedSeq = frame.seq;
        // A delta's base is always a frame sent after this `subscribed`.
        c.states.clear();
        c.reloading = false;
        callApp(c.handlers.onSubscribed, frame.snapshot, { epoch: frame.epoch, seq: frame.seq, resumed });
    }
    onResync(frame) {
        const c = this.channels.get(frame.channel);
        if (!c)
            return;
        // Live frames continue after the head the `subscribed` frame named. With
        // `unknown_epoch` our seq means nothing (it may even be past the head).
        c.seq = frame.reason === 'unknown_epoch' ? c.lastSubscribedSeq : Math.max(c.seq, c.lastSubscribedSeq);
        c.states.clear();
        const path = snapshotPath(frame.channel);
        const snapshot = path === undefined ? Promise.resolve(null) : this.request('GET', path);
        snapshot.then((body) => {
            if (this.channels.get(frame.channel) === c)
                callApp(c.handlers.onResync, body, frame.reason);
        }, (e) => {
            if (this.channels.get(frame.channel) === c)
                this.channelError(c, e);
        });
    }
    onChannelFrame(received) {
        const c = this.channels.get(received.channel);
        if (!c)
            return;
        // Durable frames carry a numeric seq (a poll tally has none, or null).
        const seq = 'seq' in received ? received.seq : undefined;
        if (typeof seq === 'number') {
            if (seq <= c.seq)
                return; // already delivered (a replay overlapping what we had)
            if (c.reloading)
                return; // replayed, in full, after the `subscribed` asked for
        }
        const frame = this.rebuild(c, received);
        if (frame === undefined)
            return;
        if (typeof seq === 'number')
            c.seq = seq;
        callApp(c.handlers.onFrame, frame);
    }
    /**
     * A delta made whole from the state it patches, and state frames kept for
     * the next delta; `undefined` when the base is missing (the server never
     * sends such a delta, but then the channel is subscribed again from the
     * last seq delivered, and the replay brings this frame in full).
     */
    rebuild(c, frame) {
        if (!this.settings.delta || (frame.type !== 'event_state' && frame.type !== 'fight_state'))
            return frame;
        let data;
        if ('patch' in frame) {
            const base = [...c.states].find(([key, s]) => s.seq === frame.base && key.startsWith(`${frame.type}:`));
            if (base === undefined) {
                c.reloading = true;
                this.link?.add(frame.channel);
                return undefined;
            }
            c.states.delete(base[0]);
            data = setNulls(applyMergePatch(structuredClone(base[1].data), frame.patch), frame.nulls ?? []);
        }
        else {
            data = frame.data;
        }
        c.states.set(`${frame.type}:${data?.id ?? ''}`, { seq: frame.seq, data });
        // The app may change what it is given: the kept state stays ours.
        return { type: frame.type, channel: frame.channel, seq: frame.seq, data: structuredClone(data) };
    }
    subscriptionFailed(channel, e) {
        const c = this.channels.get(channel);
        if (!c)
            return;
        if (e.code === 'unavailable') {
            // The server could not look the channel up just now: ask again soon.
            setTimeout(() => {
                if (this.channels.get(channel) === c)
                    this.link?.add(channel);
            }, this.settings.minBackoffMs + Math.random() * this.settings.minBackoffMs);
            return this.channelError(c, e);
        }
        this.channels.delete(channel);
        // The WebSocket server has dropped it already; SSE and poll reopen without it.
        this.link?.remove(channel);
        this.channelError(c, e);
    }
    channelError(c, e) {
        if (c.handlers.onError)
            callApp(c.handlers.onError, e);
        else
            this.emit('error', e);
    }
    cursor() {
        const entries = [];
        for (const [channel, c] of this.channels)
            if (c.epoch !== undefined)
                entries.push(`${channel}@${c.epoch}:${c.seq}`);
        return entries.join(',');
    }
    // -- writes and REST ------------------------------------------------------
    /** Over the WebSocket when one is up (acked by ref), else over REST. */
    write(op) {
        const sent = this.linkWelcomed ? this.link?.write(op) : null;
        if (sent)
            return sent;
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
    async request(method, path, body) {
        const headers = { Accept: 'application/json' };
        const token = this.settings.token();
        if (token)
            headers.Authorization = `Bearer ${token}`;
        if (body !== undefined)
            headers['Content-Type'] = 'application/json';
        const abort = new AbortController();
        const timer = setTimeout(() => abort.abort(), this.settings.ackTimeoutMs);
        try {
            const res = await this.settings.fetch(this.settings.url + path, {
                method,
                headers,
                body: body === undefined ? undefined : JSON.stringify(body),
                signal: abort.signal,
            });
            if (!res.ok)
                throw await httpError(res);
            return res.status === 204 ? null : await res.json();
        }
        catch (e) {
            if (e instanceof RingsideError)
                throw e;
            if (abort.signal.aborted)
                throw new RingsideError('timeout', `no answer within ${this.settings.ackTimeoutMs} ms: a write may or may not have been stored`);
            throw new RingsideError('unavailable', `the server is unreachable: ${e instanceof Error ? e.message : String(e)}`);
        }
        finally {
            clearTimeout(timer);
        }
    }
}
