// The client against scripted fakes (an injected WebSocket and fetch): what
// a real server will not do on cue. Dead connections, duplicates, resync,
// timeouts, fallback, split SSE lines. Needs no server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RingsideClient, RingsideError, applyMergePatch, setNulls } from '../dist/ringside-client.js';

const URL_ = 'http://ringside.test';

async function waitFor(cond, ms = 2000, what = 'a condition') {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A WebSocket the test plays the server of. */
class FakeSocket {
  static all = [];
  constructor(url) {
    this.url = new URL(url);
    this.sent = [];
    this.readyState = 0;
    this.closed = false;
    FakeSocket.all.push(this);
  }
  send(text) {
    this.sent.push(JSON.parse(text));
  }
  close() {
    this.closed = true;
  }
  // the server's side
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  frame(f) {
    this.onmessage?.({ data: JSON.stringify(f) });
  }
  hangUp(code, reason = '') {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  ops(op) {
    return this.sent.filter((m) => m.op === op);
  }
}

const welcome = (heartbeat_s = 30) => ({ type: 'welcome', session: 's', user: { id: 5, role: 'viewer' }, heartbeat_s });

/** A client on the fake socket, with what it delivered. */
function setup(t, opts = {}, fetchImpl = async () => new Response('{}')) {
  FakeSocket.all = [];
  const fetches = [];
  const client = new RingsideClient({
    url: URL_,
    token: 'tok',
    transports: ['websocket'],
    WebSocket: FakeSocket,
    fetch: async (url, init) => {
      fetches.push({ url: new URL(url), init });
      return fetchImpl(new URL(url), init);
    },
    minBackoffMs: 5,
    maxBackoffMs: 20,
    ...opts,
  });
  t.after(() => client.close());
  const got = { states: [], subscribed: [], seqs: [], resyncs: [], errors: [] };
  client.on('state', (s) => got.states.push(s));
  client.on('error', (e) => got.errors.push(e));
  return { client, got, fetches };
}

function follow(client, got, channel) {
  return client.subscribe(channel, {
    onSubscribed: (snapshot, info) => got.subscribed.push(info),
    onFrame: (f) => typeof f.seq === 'number' && got.seqs.push(f.seq),
    onResync: (snapshot, reason) => got.resyncs.push({ snapshot, reason }),
  });
}

test('resumes with since after 4001, drops duplicates, subscribes the other channels with since', async (t) => {
  t.mock.method(Math, 'random', () => 0); // no jitter
  const { client, got } = setup(t);
  follow(client, got, 'event:1');
  client.subscribe('comments:1', {});
  client.connect();
  const ws = FakeSocket.all[0];
  assert.equal(ws.url.pathname, '/api/live/events/1/');
  assert.equal(ws.url.searchParams.get('token'), 'tok');
  assert.equal(ws.url.searchParams.get('since'), null);
  ws.open();
  ws.frame(welcome());
  assert.equal(client.state, 'connected');
  const sub = ws.ops('subscribe');
  assert.deepEqual(sub.map((o) => o.channel), ['comments:1']);
  ws.frame({ type: 'subscribed', channel: 'event:1', epoch: 'e1', seq: 5, snapshot: {} });
  ws.frame({ type: 'subscribed', channel: 'comments:1', epoch: 'c1', seq: 2, snapshot: {}, ref: sub[0].ref });
  for (const seq of [6, 7, 7, 6]) ws.frame({ type: 'update', channel: 'event:1', seq, data: {} });
  ws.frame({ type: 'viewers', channel: 'event:1', data: { count: 3 } });
  assert.deepEqual(got.seqs, [6, 7]);
  assert.deepEqual(client.position('event:1'), { epoch: 'e1', seq: 7 });

  ws.hangUp(4001, 'too slow');
  assert.equal(client.state, 'reconnecting');
  await waitFor(() => FakeSocket.all.length === 2, 1000, 'the reconnect');
  const ws2 = FakeSocket.all[1];
  assert.equal(ws2.url.searchParams.get('since'), 'e1:7');
  ws2.open();
  ws2.frame(welcome());
  assert.deepEqual(ws2.ops('subscribe').map((o) => [o.channel, o.since]), [['comments:1', { epoch: 'c1', seq: 2 }]]);
  // The head is 9; the replay (8, 9) follows, with an overlap.
  ws2.frame({ type: 'subscribed', channel: 'event:1', epoch: 'e1', seq: 9, snapshot: {} });
  for (const seq of [7, 8, 9, 10]) ws2.frame({ type: 'update', channel: 'event:1', seq, data: {} });
  assert.deepEqual(got.seqs, [6, 7, 8, 9, 10]);
  assert.deepEqual(got.subscribed.map((s) => s.resumed), [false, true]);
  assert.deepEqual(got.states, ['connecting', 'connected', 'reconnecting', 'connected']);
});

test('resync: a new epoch starts at the head, and the REST snapshot is handed over', async (t) => {
  const { client, got, fetches } = setup(t, {}, async (url) => new Response(JSON.stringify({ snapshot: url.pathname + url.search })));
  follow(client, got, 'comments:4');
  client.connect();
  const ws = FakeSocket.all[0];
  ws.open();
  ws.frame(welcome());
  ws.frame({ type: 'subscribed', channel: 'comments:4', epoch: 'old', seq: 3, snapshot: {} });
  ws.frame({ type: 'comment', channel: 'comments:4', seq: 4, data: {} });
  ws.hangUp(1011);
  await waitFor(() => FakeSocket.all.length === 2, 1000, 'the reconnect');
  const ws2 = FakeSocket.all[1];
  assert.equal(ws2.url.searchParams.get('since'), 'old:4');
  ws2.open();
  ws2.frame(welcome());
  ws2.frame({ type: 'subscribed', channel: 'comments:4', epoch: 'new', seq: 2, snapshot: {} });
  ws2.frame({ type: 'resync', channel: 'comments:4', reason: 'unknown_epoch' });
  ws2.frame({ type: 'comment', channel: 'comments:4', seq: 3, data: {} });
  await waitFor(() => got.resyncs.length === 1, 1000, 'onResync');
  assert.deepEqual(got.resyncs[0], { snapshot: { snapshot: '/api/live/comments/?event=4' }, reason: 'unknown_epoch' });
  assert.equal(fetches[0].init.headers.Authorization, 'Bearer tok');
  assert.deepEqual(got.seqs, [4, 3]);
  assert.deepEqual(client.position('comments:4'), { epoch: 'new', seq: 3 });
});

test('writes: ack resolves, error rejects with its code, no answer times out, a drop is unavailable', async (t) => {
  const { client } = setup(t, { ackTimeoutMs: 30 });
  client.subscribe('event:1', {});
  client.connect();
  const ws = FakeSocket.all[0];
  ws.open();
  ws.frame(welcome());

  const ok = client.comment({ live_event: 1, content: 'hi' });
  const op = ws.ops('comment')[0];
  assert.deepEqual({ ...op, ref: undefined }, { op: 'comment', live_event: 1, content: 'hi', ref: undefined });
  ws.frame({ type: 'ack', ref: op.ref, data: { id: 99 } });
  assert.deepEqual(await ok, { id: 99 });

  const refused = client.vote({ poll: 1, option: 2 });
  ws.frame({ type: 'error', ref: ws.ops('vote')[0].ref, code: 'rate_limited', message: 'slow down', retry_after_ms: 400 });
  await assert.rejects(refused, (e) => e instanceof RingsideError && e.code === 'rate_limited' && e.retryAfterMs === 400);

  await assert.rejects(client.react({ target_type: 'event', target_id: 1, reaction_type: 'wow' }), (e) => e.code === 'timeout');

  const lost = client.comment({ live_event: 1, content: 'lost' });
  ws.hangUp(1006);
  await assert.rejects(lost, (e) => e.code === 'unavailable');
});

test('writes go over REST with the server error, status and Retry-After when no socket is up', async (t) => {
  const body = JSON.stringify({ error: { code: 'slow_mode', message: 'wait', details: { seconds: 3 } } });
  const { client, fetches } = setup(t, {}, async () => new Response(body, { status: 429, headers: { 'Retry-After': '3' } }));
  await assert.rejects(client.comment({ live_event: 2, content: 'x' }), (e) => e.code === 'slow_mode' && e.status === 429 && e.retryAfterMs === 3000 && e.details.seconds === 3);
  assert.equal(fetches[0].url.pathname, '/api/live/comments/');
  assert.equal(fetches[0].init.method, 'POST');
  assert.deepEqual(JSON.parse(fetches[0].init.body), { live_event: 2, content: 'x' });
  await assert.rejects(client.vote({ poll: 8, option: 1 }));
  assert.equal(fetches[1].url.pathname, '/api/live/polls/8/vote/');
  assert.deepEqual(JSON.parse(fetches[1].init.body), { option: 1 });
});

test('2 pings without a pong: the connection is dead, the client reconnects', async (t) => {
  const { client } = setup(t);
  client.subscribe('event:1', {});
  client.connect();
  const ws = FakeSocket.all[0];
  ws.open();
  ws.frame(welcome(0.02));
  await waitFor(() => FakeSocket.all.length === 2, 1000, 'the reconnect after missed pongs');
  assert.equal(ws.ops('ping').length, 2);
  assert.ok(ws.closed);
  // Answered pings keep it up.
  const ws2 = FakeSocket.all[1];
  ws2.open();
  ws2.frame(welcome(0.02));
  const answer = setInterval(() => ws2.frame({ type: 'pong' }), 5);
  await waitFor(() => ws2.ops('ping').length >= 5, 1000, 'five pings');
  clearInterval(answer);
  assert.equal(FakeSocket.all.length, 2);
});

test('1008 goes offline for good, with an error', async (t) => {
  const { client, got } = setup(t);
  client.subscribe('event:1', {});
  client.connect();
  FakeSocket.all[0].open();
  FakeSocket.all[0].frame(welcome());
  FakeSocket.all[0].hangUp(1008, 'banned');
  assert.equal(client.state, 'offline');
  assert.equal(got.errors[0].code, 'policy');
  client.subscribe('event:2', {});
  assert.equal(FakeSocket.all.length, 1);
});

test('an unknown channel is refused on its own and dropped', async (t) => {
  const { client } = setup(t);
  client.subscribe('event:1', {});
  const errors = [];
  client.connect();
  const ws = FakeSocket.all[0];
  ws.open();
  ws.frame(welcome());
  client.subscribe('event:999', { onError: (e) => errors.push(e.code) });
  const op = ws.ops('subscribe')[0];
  ws.frame({ type: 'error', ref: op.ref, code: 'not_found', message: 'no such channel' });
  assert.deepEqual(errors, ['not_found']);
  assert.deepEqual(ws.ops('unsubscribe').map((o) => o.channel), ['event:999']);
  // After a reconnect it is not asked for again.
  ws.hangUp(1012);
  await waitFor(() => FakeSocket.all.length === 2, 1500, 'the reconnect');
  FakeSocket.all[1].open();
  FakeSocket.all[1].frame(welcome());
  assert.deepEqual(FakeSocket.all[1].ops('subscribe'), []);
});

/** A fetch that plays SSE (chunks the test pushes) and long-poll (answers the test queues). */
function httpServer({ stream = 200, poll = [] } = {}) {
  const s = { streams: [], polls: [] };
  s.fetch = async (url, init) => {
    if (url.pathname === '/api/live/stream/') {
      s.streams.push(url);
      if (stream !== 200) return new Response(JSON.stringify({ error: { code: 'forbidden', message: 'off' } }), { status: stream });
      let push;
      const body = new ReadableStream({
        start(controller) {
          push = (text) => (text === null ? controller.close() : controller.enqueue(new TextEncoder().encode(text)));
        },
      });
      init.signal?.addEventListener('abort', () => {
        try {
          push(null);
        } catch {
          // already closed
        }
      });
      s.push = push;
      return new Response(body, { headers: { 'Content-Type': 'text/event-stream' } });
    }
    if (url.pathname === '/api/live/poll/') {
      s.polls.push(url);
      const answer = poll.shift();
      if (answer) return new Response(JSON.stringify(answer));
      // nothing more: hold the request until aborted
      return new Promise((_, reject) => init.signal.addEventListener('abort', () => reject(new Error('aborted'))));
    }
    return new Response('{}');
  };
  return s;
}

test('SSE: events split anywhere (CRLF across chunks) are read whole; the cursor resumes', async (t) => {
  const server = httpServer();
  const { client, got } = setup(t, { transports: ['sse'] }, server.fetch);
  follow(client, got, 'event:1');
  client.connect();
  await waitFor(() => server.push, 1000, 'the stream');
  assert.equal(server.streams[0].searchParams.get('channels'), 'event:1');
  assert.equal(server.streams[0].searchParams.get('cursor'), null);
  const text =
    `event: welcome\r\ndata: ${JSON.stringify(welcome())}\r\n\r\n: keep-alive\r\n\r\n` +
    `event: subscribed\r\nid: event:1@e:1\r\ndata: ${JSON.stringify({ type: 'subscribed', channel: 'event:1', epoch: 'e', seq: 1, snapshot: {} })}\r\n\r\n` +
    `event: update\r\nid: event:1@e:2\r\ndata: ${JSON.stringify({ type: 'update', channel: 'event:1', seq: 2, data: {} })}\r\n\r\n`;
  // One byte at a time: every boundary, the CR of a CRLF included.
  for (const ch of text) server.push(ch);
  await waitFor(() => got.seqs.length === 1, 1000, 'the update');
  assert.equal(client.transport, 'sse');
  server.push(`event: close\ndata: ${JSON.stringify({ type: 'close', code: 4001, reason: 'too slow' })}\n\n`);
  await waitFor(() => server.streams.length === 2, 1500, 'the reconnect');
  assert.equal(server.streams[1].searchParams.get('cursor'), 'event:1@e:2');
});

test('fallback: a refused WebSocket and a 403 stream hand over to long-poll; the poll cursor is sent back as given', async (t) => {
  class Refused extends FakeSocket {
    constructor(url) {
      super(url);
      setTimeout(() => this.hangUp(1006), 0);
    }
  }
  const server = httpServer({
    stream: 403,
    poll: [
      { frames: [welcome(), { type: 'subscribed', channel: 'event:1', epoch: 'e', seq: 4, snapshot: {} }], cursor: 'S1~event:1@e:4' },
      { frames: [{ type: 'update', channel: 'event:1', seq: 5, data: {} }], cursor: 'S1~event:1@e:5' },
      { frames: [{ type: 'close', code: 4001, reason: 'too slow' }], cursor: 'event:1@e:5' },
      { frames: [welcome(), { type: 'subscribed', channel: 'event:1', epoch: 'e', seq: 6, snapshot: {} }, { type: 'update', channel: 'event:1', seq: 6, data: {} }], cursor: 'S2~event:1@e:6' },
    ],
  });
  const { client, got } = setup(t, { transports: undefined, WebSocket: Refused }, server.fetch);
  const transports = [];
  client.on('transport', (name) => transports.push(name));
  follow(client, got, 'event:1');
  client.connect();
  await waitFor(() => got.seqs.length === 2, 2000, 'updates over poll');
  assert.deepEqual(transports, ['poll']);
  assert.equal(server.streams.length, 1);
  const cursors = server.polls.map((u) => u.searchParams.get('cursor'));
  assert.deepEqual(cursors.slice(0, 4), [null, 'S1~event:1@e:4', 'S1~event:1@e:5', 'event:1@e:5']);
  assert.equal(server.polls[0].searchParams.get('timeout_s'), '25');
  assert.deepEqual(got.seqs, [5, 6]);
  assert.deepEqual(got.states, ['connecting', 'connected', 'reconnecting', 'connected']);
});

test('a 1012 waits for the retry_after_ms its reason asks for, then resumes', (t) => {
  t.mock.method(Math, 'random', () => 0); // no jitter of our own
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  const { client, got } = setup(t);
  follow(client, got, 'event:1');
  client.connect();
  const ws = FakeSocket.all[0];
  ws.open();
  ws.frame(welcome());
  ws.frame({ type: 'subscribed', channel: 'event:1', epoch: 'e1', seq: 4, snapshot: {} });
  ws.hangUp(1012, 'server restarting: reconnect and resume; retry_after_ms=2500');
  assert.equal(client.state, 'reconnecting');
  t.mock.timers.tick(2499);
  assert.equal(FakeSocket.all.length, 1, 'not before the wait the server asked for');
  t.mock.timers.tick(1);
  assert.equal(FakeSocket.all.length, 2, 'then at once');
  assert.equal(FakeSocket.all[1].url.searchParams.get('since'), 'e1:4');
});

test('applyMergePatch follows RFC 7386', () => {
  const cases = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [target, patch, result] of cases) assert.deepEqual(applyMergePatch(target, patch), result);
  // What a merge patch cannot say: members that become null.
  assert.deepEqual(setNulls({ t: { reason: 'x', 'a/b': {} } }, ['/t/reason', '/t/a~1b/c~0', '/missing/x']), { t: { reason: null, 'a/b': { 'c~': null } } });
});

test('asks for deltas by default and hands the app full state frames rebuilt from them', async (t) => {
  const { client } = setup(t);
  const frames = [];
  client.subscribe('event:1', { onFrame: (f) => frames.push(f) });
  client.connect();
  const ws = FakeSocket.all[0];
  assert.equal(ws.url.searchParams.get('delta'), 'true');
  ws.open();
  ws.frame(welcome());
  client.subscribe('fight:2', {});
  assert.equal(ws.ops('subscribe')[0].delta, true);
  ws.frame({ type: 'subscribed', channel: 'event:1', epoch: 'e1', seq: 5, snapshot: {} });
  const fight = { id: 2, round: 1, clock: { elapsed_s: 10, running: true }, stats: { red: 3 } };
  ws.frame({ type: 'fight_state', channel: 'event:1', seq: 6, data: fight });
  ws.frame({ type: 'event_state', channel: 'event:1', seq: 7, data: { id: 1, status: 'live', current_fight: 2 } });
  ws.frame({ type: 'fight_state', channel: 'event:1', seq: 8, base: 6, patch: { clock: { elapsed_s: 42 }, stats: { red: 4 } } });
  ws.frame({ type: 'update', channel: 'event:1', seq: 9, data: { id: 3 } });
  ws.frame({ type: 'event_state', channel: 'event:1', seq: 10, base: 7, patch: { status: 'completed' }, nulls: ['/current_fight'] });
  ws.frame({ type: 'fight_state', channel: 'event:1', seq: 11, base: 8, patch: { round: 2 } });
  assert.deepEqual(frames, [
    { type: 'fight_state', channel: 'event:1', seq: 6, data: fight },
    { type: 'event_state', channel: 'event:1', seq: 7, data: { id: 1, status: 'live', current_fight: 2 } },
    { type: 'fight_state', channel: 'event:1', seq: 8, data: { id: 2, round: 1, clock: { elapsed_s: 42, running: true }, stats: { red: 4 } } },
    { type: 'update', channel: 'event:1', seq: 9, data: { id: 3 } },
    { type: 'event_state', channel: 'event:1', seq: 10, data: { id: 1, status: 'completed', current_fight: null } },
    { type: 'fight_state', channel: 'event:1', seq: 11, data: { id: 2, round: 2, clock: { elapsed_s: 42, running: true }, stats: { red: 4 } } },
  ]);
  assert.deepEqual(client.position('event:1'), { epoch: 'e1', seq: 11 });
});

test('a delta whose base it lacks makes it subscribe again from its last seq and wait for the replay', async (t) => {
  const { client } = setup(t);
  const frames = [];
  client.subscribe('fight:2', { onFrame: (f) => frames.push(f) });
  client.connect();
  const ws = FakeSocket.all[0];
  ws.open();
  ws.frame(welcome());
  ws.frame({ type: 'subscribed', channel: 'fight:2', epoch: 'e1', seq: 3, snapshot: {} });
  ws.frame({ type: 'fight_state', channel: 'fight:2', seq: 4, data: { id: 2, round: 1 } });
  // Base 2 was never sent to us (a server that broke its rule).
  ws.frame({ type: 'fight_state', channel: 'fight:2', seq: 5, base: 2, patch: { round: 2 } });
  const again = ws.ops('subscribe');
  assert.deepEqual(again.map((o) => [o.channel, o.since, o.delta]), [['fight:2', { epoch: 'e1', seq: 4 }, true]]);
  // What was on its way meanwhile waits for the replay.
  ws.frame({ type: 'update', channel: 'fight:2', seq: 6, data: { id: 9 } });
  ws.frame({ type: 'fight_state', channel: 'fight:2', seq: 7, base: 5, patch: { round: 3 } });
  assert.deepEqual(frames.map((f) => f.seq), [4]);
  ws.frame({ type: 'subscribed', channel: 'fight:2', epoch: 'e1', seq: 7, snapshot: {}, ref: again[0].ref });
  ws.frame({ type: 'fight_state', channel: 'fight:2', seq: 5, data: { id: 2, round: 2 } });
  ws.frame({ type: 'update', channel: 'fight:2', seq: 6, data: { id: 9 } });
  ws.frame({ type: 'fight_state', channel: 'fight:2', seq: 7, data: { id: 2, round: 3 } });
  ws.frame({ type: 'fight_state', channel: 'fight:2', seq: 8, base: 7, patch: { round: 4 } });
  assert.deepEqual(frames.map((f) => [f.seq, f.data]), [
    [4, { id: 2, round: 1 }],
    [5, { id: 2, round: 2 }],
    [6, { id: 9 }],
    [7, { id: 2, round: 3 }],
    [8, { id: 2, round: 4 }],
  ]);
});

test('delta: false asks for full frames only', async (t) => {
  const { client } = setup(t, { delta: false });
  client.subscribe('event:1', {});
  client.connect();
  const ws = FakeSocket.all[0];
  assert.equal(ws.url.searchParams.get('delta'), null);
  ws.open();
  ws.frame(welcome());
  client.subscribe('fight:2', {});
  assert.equal(ws.ops('subscribe')[0].delta, undefined);
});
