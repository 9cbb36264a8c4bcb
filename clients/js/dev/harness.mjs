// DEV ONLY: a stand-in for the Rust test harness, to run the client's tests
// by hand. Not part of the package, not used by CI.
//
//   node --experimental-websocket dev/harness.mjs [test/api.test.mjs ...]   (default: every test file)
//
// It starts a throwaway server (RINGSIDE_BIN, default /work/devserver/ringside;
// its data in a temporary folder), seeds the demo card, makes the fixture,
// and puts a proxy in front of it that adds what the server may lack:
//   - /api/live/stream/ (SSE) and /api/live/poll/ (long-poll), emulated over
//     an upstream WebSocket per session, to the contract in the client's README;
//     set DEV_NATIVE_HTTP_TRANSPORTS=1 to pass them to the server instead
//     (then /restart switches transports with RINGSIDE_TRANSPORTS, and /kick
//     reaches WebSockets only: the SSE and poll kicks of resume.test.mjs fail);
//   - the transports switch of /restart (a disabled one answers 403 forbidden);
//   - /kick: closes every live session of a user with a code;
//   - /dev/: with DEV_BROWSER=1, headless Chromium opens dev/browser-smoke.html
//     (the built client in a browser, over each transport) instead of the tests.
// The control server answers POST /restart and POST /kick as the Rust harness does.
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

if (typeof WebSocket === 'undefined') {
  console.error('run me with node --experimental-websocket');
  process.exit(2);
}

const BIN = process.env.RINGSIDE_BIN ?? '/work/devserver/ringside';
const PORT = Number(process.env.DEV_PORT_BASE ?? 8790);
const [SERVER_PORT, PROXY_PORT, CONTROL_PORT] = [PORT, PORT + 1, PORT + 2];
const UPSTREAM = `http://127.0.0.1:${SERVER_PORT}`;
const NATIVE = process.env.DEV_NATIVE_HTTP_TRANSPORTS === '1';
const DATA = fs.mkdtempSync(path.join(os.tmpdir(), 'ringside-js-'));
fs.chmodSync(DATA, 0o755); // the embedded PostgreSQL runs as another user and must reach it
const ENV = {
  ...process.env,
  RINGSIDE_DATA_DIR: DATA,
  RINGSIDE_BIND: `127.0.0.1:${SERVER_PORT}`,
  RINGSIDE_ADMIN_EMAIL: 'admin@ringside.local',
  RINGSIDE_ADMIN_PASSWORD: 'admin-password-123',
  RUST_LOG: 'warn',
  // The browser smoke page comes from the proxy's origin.
  RINGSIDE_ALLOWED_ORIGINS: `http://127.0.0.1:${PORT + 1}`,
};

// ---- the server ------------------------------------------------------------

let server;
let enabled = new Set(['websocket', 'sse', 'poll']);

function run(args) {
  return new Promise((resolve, reject) => {
    const p = spawn(BIN, args, { env: ENV, stdio: ['ignore', 'inherit', 'inherit'] });
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${args} exited ${code}`))));
  });
}

async function ready() {
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${UPSTREAM}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the server did not get ready');
}

async function startServer() {
  server = spawn(BIN, ['serve'], { env: ENV, stdio: ['ignore', 'ignore', 'inherit'] });
  await ready();
}

async function restart(transports) {
  const exited = new Promise((r) => server.once('exit', r));
  server.kill('SIGKILL');
  await exited;
  // The embedded PostgreSQL shuts down when its parent dies; a server started
  // before it is gone waits for it in vain.
  for (let i = 0; i < 300 && fs.existsSync(path.join(DATA, 'postgres', 'postmaster.pid')); i++) await new Promise((r) => setTimeout(r, 100));
  for (const s of sessions) s.kill(null); // the server's own sessions die with it
  enabled = new Set(transports ? transports.split(',').map((t) => t.trim()).filter(Boolean) : ['websocket', 'sse', 'poll']);
  // A server of its own SSE and poll switches them itself (and WebSocket too).
  if (NATIVE) ENV.RINGSIDE_TRANSPORTS = [...enabled].join(',');
  await startServer();
}

// ---- users of tokens (for /kick) ----------------------------------------------

function userOf(token) {
  try {
    return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).sub?.toString();
  } catch {
    return undefined;
  }
}

// ---- emulated SSE and long-poll -----------------------------------------------

/** Live sessions (proxied WebSockets, SSE streams, poll sessions): kill(code) closes one. */
const sessions = new Set();
const pollSessions = new Map();
let nextSession = 1;

/** The upstream endpoint for a channel list, and the channel it auto-subscribes (null: `user:{me}`). */
function endpoint(channels) {
  for (const channel of channels) {
    const [kind, id] = channel.split(':');
    if (kind === 'event') return { path: `/api/live/events/${id}/`, auto: channel };
    if (kind === 'fight') return { path: `/api/live/fights/${id}/`, auto: channel };
    if (kind === 'comments') return { path: `/api/live/comments/${id}/`, auto: channel };
  }
  return { path: '/api/live/notifications/', auto: null };
}

function parseCursor(cursor) {
  const positions = new Map();
  let session;
  let rest = cursor ?? '';
  const tilde = rest.indexOf('~');
  if (tilde >= 0) {
    session = rest.slice(0, tilde);
    rest = rest.slice(tilde + 1);
  }
  for (const entry of rest.split(',').filter(Boolean)) {
    const at = entry.lastIndexOf('@');
    const [epoch, seq] = entry.slice(at + 1).split(':');
    positions.set(entry.slice(0, at), { epoch, seq: Number(seq) });
  }
  return { session, positions };
}

/**
 * One upstream WebSocket following `channels` from `positions`; frames go to
 * `emit(frame, cursor)`, the end to `onEnd(code)`.
 */
function upstreamSession(channels, positions, token, emit, onEnd) {
  const { path: upstreamPath, auto } = endpoint(channels);
  let first = auto;
  const ready = new Set(); // channels whose own subscription (with since) holds
  const q = new URLSearchParams();
  if (token) q.set('token', token);
  const ws = new WebSocket(`ws://127.0.0.1:${SERVER_PORT}${upstreamPath}?${q}`);
  const s = {
    user: userOf(token ?? ''),
    positions: new Map(positions),
    cursor() {
      return [...this.positions].map(([c, p]) => `${c}@${p.epoch}:${p.seq}`).join(',');
    },
    kill(code) {
      ws.onclose = null;
      ws.close();
      sessions.delete(s);
      onEnd(code);
    },
  };
  sessions.add(s);
  ws.onmessage = (ev) => {
    const frame = JSON.parse(ev.data);
    if (frame.type === 'welcome') {
      // Every channel but the endpoint's own is a subscribe op with since (the
      // endpoint's own is resubscribed with since too: the server's
      // auto-subscription could not know it).
      if (first === null) first = frame.user ? `user:${frame.user.id}` : undefined;
      if (first) ws.send(JSON.stringify({ op: 'unsubscribe', channel: first, ref: '#' }));
      for (const c of channels) ws.send(JSON.stringify({ op: 'subscribe', channel: c, since: positions.get(c) ?? null, ref: c }));
    }
    if (frame.ref === '#') return; // our unsubscribe of the auto-subscription
    if (frame.type === 'subscribed') {
      if (frame.ref === undefined) return; // the auto-subscription itself
      delete frame.ref;
      ready.add(frame.channel);
      const had = s.positions.get(frame.channel);
      s.positions.set(frame.channel, { epoch: frame.epoch, seq: had?.epoch === frame.epoch ? had.seq : frame.seq });
    } else if (frame.type === 'error' && typeof frame.ref === 'string') {
      // A refused subscription names its channel (the ref is ours, not the client's).
      frame.channel = frame.ref;
      delete frame.ref;
    } else if (frame.channel && !ready.has(frame.channel)) {
      return; // the auto-subscription's frames, before ours (with since) holds
    }
    const moves = frame.type !== 'subscribed' && typeof frame.seq === 'number' && frame.channel;
    if (moves) s.positions.set(frame.channel, { epoch: s.positions.get(frame.channel).epoch, seq: frame.seq });
    emit(frame, moves ? s.cursor() : undefined);
  };
  ws.onclose = (ev) => {
    sessions.delete(s);
    onEnd(ev.code === 1006 ? null : ev.code);
  };
  return s;
}

function refuse(res, status, code, message) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ error: { code, message, details: null } }));
}

function sse(req, res, url) {
  if (!enabled.has('sse')) return refuse(res, 403, 'forbidden', 'SSE is disabled');
  const channels = (url.searchParams.get('channels') ?? '').split(',').filter(Boolean);
  const { positions } = parseCursor(url.searchParams.get('cursor'));
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' });
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 10_000);
  const s = upstreamSession(
    channels,
    positions,
    url.searchParams.get('token'),
    (frame, cursor) => res.write(`event: ${frame.type}\n${cursor ? `id: ${cursor}\n` : ''}data: ${JSON.stringify(frame)}\n\n`),
    (code) => {
      clearInterval(keepAlive);
      if (code === null) return res.destroy(); // the server died: the stream is cut
      res.end(`event: close\ndata: ${JSON.stringify({ type: 'close', code, reason: 'closed' })}\n\n`);
    },
  );
  req.on('close', () => {
    clearInterval(keepAlive);
    if (sessions.has(s)) s.kill(undefined);
  });
}

function poll(res, url) {
  if (!enabled.has('poll')) return refuse(res, 403, 'forbidden', 'long-poll is disabled');
  const channels = (url.searchParams.get('channels') ?? '').split(',').filter(Boolean);
  const { session, positions } = parseCursor(url.searchParams.get('cursor'));
  const timeout = Number(url.searchParams.get('timeout_s') ?? 25) * 1000;
  let p = session && pollSessions.get(session);
  // As the server does: a cursor that does not match its session exactly
  // (other channels, other positions) ends it and starts a new one from the cursor.
  const same = (a, b) => a.size === b.size && [...a].every(([c, pos]) => b.get(c)?.epoch === pos.epoch && b.get(c)?.seq === pos.seq);
  if (p && (p.channels !== channels.join(',') || !same(positions, p.s.positions))) {
    pollSessions.delete(p.id);
    p.s.kill(undefined);
    p = undefined;
  }
  if (!p) {
    const id = String(nextSession++);
    p = { id, queue: [], waiter: null, ended: false, channels: channels.join(',') };
    const flush = () => p.waiter?.();
    p.s = upstreamSession(
      channels,
      positions,
      url.searchParams.get('token'),
      (frame) => {
        p.queue.push(frame);
        flush();
      },
      (code) => {
        p.ended = true;
        if (code !== null && code !== undefined) p.queue.push({ type: 'close', code, reason: 'closed' });
        flush();
      },
    );
    pollSessions.set(id, p);
  }
  const answer = () => {
    clearTimeout(timer);
    p.waiter = null;
    const frames = p.queue.splice(0);
    const closed = frames.some((f) => f.type === 'close');
    if (p.ended) pollSessions.delete(p.id);
    if (p.ended && !closed) return res.destroy(); // the server died mid-poll
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ frames, cursor: closed ? p.s.cursor() : `${p.id}~${p.s.cursor()}` }));
  };
  const timer = setTimeout(answer, timeout);
  p.lastSeen = Date.now();
  res.on('close', () => {
    if (res.writableEnded) return;
    clearTimeout(timer); // the client gave up on this request
    p.waiter = null;
  });
  if (p.queue.length || p.ended) return answer();
  // Let a burst (welcome, subscribed…) gather before answering.
  p.waiter = () => {
    p.waiter = null;
    setTimeout(answer, 20);
  };
}

// A poll session nobody asks for any more (the client moved to a new one) is dropped.
setInterval(() => {
  for (const [id, p] of pollSessions) {
    if (!p.waiter && Date.now() - p.lastSeen > 60_000) {
      pollSessions.delete(id);
      p.s.kill(undefined);
    }
  }
}, 10_000).unref();

// ---- the proxy ------------------------------------------------------------------

function forward(req, res) {
  const up = http.request(`${UPSTREAM}${req.url}`, { method: req.method, headers: req.headers }, (upRes) => {
    res.writeHead(upRes.statusCode, upRes.headers);
    upRes.pipe(res);
    // A server that dies mid-response (a stream) cuts the client off too, as it would without us.
    upRes.on('aborted', () => res.destroy());
  });
  up.on('error', () => (res.headersSent ? res.destroy() : refuse(res, 502, 'unavailable', 'the server is down')));
  // A client that hangs up hangs up on the server too.
  res.on('close', () => up.destroy());
  req.pipe(up);
}

let browserReport;
const reported = new Promise((r) => (browserReport = r));

/** The browser smoke page, the built client and the page's report. */
function dev(req, res, url) {
  if (url.pathname === '/dev/report') {
    let body = '';
    req.on('data', (c) => (body += c)).on('end', () => {
      res.writeHead(204).end();
      browserReport(JSON.parse(body));
    });
    return;
  }
  const file = url.pathname === '/dev/ringside-client.js' ? 'dist/ringside-client.js' : url.pathname === '/dev/browser-smoke.html' ? 'dev/browser-smoke.html' : null;
  if (!file) return refuse(res, 404, 'not_found', url.pathname);
  res.writeHead(200, { 'Content-Type': file.endsWith('.js') ? 'text/javascript' : 'text/html' });
  res.end(fs.readFileSync(file));
}

const proxy = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname.startsWith('/dev/')) return dev(req, res, url);
  if (!NATIVE && url.pathname === '/api/live/stream/') return sse(req, res, url);
  if (!NATIVE && url.pathname === '/api/live/poll/') return poll(res, url);
  forward(req, res);
});

// WebSocket upgrades: raw bytes both ways; server frames are cut at frame
// boundaries so /kick can put a close frame between two of them.
proxy.on('upgrade', (req, client, head) => {
  if (!NATIVE && !enabled.has('websocket')) {
    client.end('HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{"error":{"code":"forbidden","message":"WebSocket is disabled","details":null}}');
    return;
  }
  const url = new URL(req.url, 'http://x');
  const up = net.connect(SERVER_PORT, '127.0.0.1');
  up.on('error', () => client.destroy());
  client.on('error', () => up.destroy());
  const lines = [`${req.method} ${req.url} HTTP/1.1`, ...Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`), '', ''];
  up.write(lines.join('\r\n'));
  if (head.length) up.write(head);
  client.pipe(up);
  let buffer = Buffer.alloc(0);
  let handshakeDone = false;
  const s = {
    user: userOf(url.searchParams.get('token') ?? ''),
    kill(code) {
      sessions.delete(s);
      if (code) {
        const body = Buffer.alloc(2);
        body.writeUInt16BE(code);
        client.write(Buffer.concat([Buffer.from([0x88, body.length]), body]));
      }
      client.end();
      up.destroy();
    },
  };
  sessions.add(s);
  up.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    if (!handshakeDone) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      client.write(buffer.subarray(0, end + 4));
      buffer = buffer.subarray(end + 4);
      handshakeDone = true;
    }
    for (;;) {
      if (buffer.length < 2) return;
      let len = buffer[1] & 0x7f;
      let offset = 2;
      if (len === 126) {
        if (buffer.length < 4) return;
        len = buffer.readUInt16BE(2);
        offset = 4;
      } else if (len === 127) {
        if (buffer.length < 10) return;
        len = Number(buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (buffer.length < offset + len) return;
      client.write(buffer.subarray(0, offset + len));
      buffer = buffer.subarray(offset + len);
    }
  });
  up.on('close', () => {
    sessions.delete(s);
    client.destroy();
  });
  client.on('close', () => {
    sessions.delete(s);
    up.destroy();
  });
});

// ---- control ------------------------------------------------------------------------

const controlServer = http.createServer(async (req, res) => {
  let body = '';
  for await (const chunk of req) body += chunk;
  const input = body ? JSON.parse(body) : {};
  try {
    if (req.url === '/restart') await restart(input.transports);
    else if (req.url === '/kick') {
      for (const s of [...sessions]) if (s.user === String(input.user)) s.kill(input.code);
    } else return refuse(res, 404, 'not_found', req.url);
    res.writeHead(200).end('{}');
  } catch (e) {
    refuse(res, 500, 'error', String(e));
  }
});

// ---- fixture and tests --------------------------------------------------------------------

async function api(method, p, body, token) {
  const res = await fetch(`${UPSTREAM}${p}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body && JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function fixture() {
  const admin = (await api('POST', '/api/auth/login/', { email: ENV.RINGSIDE_ADMIN_EMAIL, password: ENV.RINGSIDE_ADMIN_PASSWORD })).token;
  const viewer = await api('POST', '/api/auth/register/', { email: 'viewer@ringside.local', password: 'viewer-password-123', display_name: 'Viewer' });
  const [live] = (await api('GET', '/api/live/events/', undefined, admin)).results;
  await api('POST', `/api/live/events/${live.id}/start/`, {}, admin);
  const event = await api('GET', `/api/live/events/${live.id}/`);
  let fight = event.fights.find((f) => f.status === 'in_progress');
  if (!fight) {
    await api('POST', `/api/live/fights/${event.fights[0].id}/start/`, {}, admin);
    fight = event.fights[0];
  }
  return { admin_token: admin, viewer_token: viewer.token, viewer_id: viewer.user.id, event_id: live.id, fight_id: fight.id };
}

// Whatever happens, the server goes with us.
process.on('uncaughtException', (e) => {
  console.error(e);
  server?.kill('SIGKILL');
  process.exit(1);
});

/** Runs what was asked for (the tests, the browser smoke page, or nothing); resolves with the exit code. */
async function main() {
  await run(['seed-demo']);
  await startServer();
  await new Promise((r) => proxy.listen(PROXY_PORT, '127.0.0.1', r));
  await new Promise((r) => controlServer.listen(CONTROL_PORT, '127.0.0.1', r));
  const fx = await fixture();
  if (process.env.DEV_SERVE_ONLY === '1') {
    // For poking at it by hand: print the tests' environment and wait for Ctrl-C.
    console.log(`RINGSIDE_URL=http://127.0.0.1:${PROXY_PORT} RINGSIDE_CONTROL=http://127.0.0.1:${CONTROL_PORT} RINGSIDE_FIXTURE='${JSON.stringify(fx)}'`);
    await new Promise((r) => process.once('SIGINT', r).once('SIGTERM', r));
    return 0;
  }
  if (process.env.DEV_BROWSER === '1') {
    const page = `http://127.0.0.1:${PROXY_PORT}/dev/browser-smoke.html?fixture=${encodeURIComponent(JSON.stringify(fx))}`;
    const chromium = spawn(process.env.CHROMIUM ?? 'chromium', ['--headless=new', '--no-sandbox', '--disable-gpu', `--user-data-dir=${path.join(DATA, 'chromium')}`, page], { stdio: 'ignore' });
    const timeout = new Promise((r) => setTimeout(() => r({ error: 'no report from the browser within 60 s' }), 60_000));
    const report = await Promise.race([reported, timeout]);
    chromium.kill('SIGKILL');
    console.log(JSON.stringify(report, null, 2));
    return Object.values(report).every((v) => String(v).startsWith('ok')) ? 0 : 1;
  }
  const files = process.argv.slice(2).length ? process.argv.slice(2) : fs.readdirSync('test').filter((f) => f.endsWith('.test.mjs')).map((f) => `test/${f}`);
  const tests = spawn(process.execPath, ['--experimental-websocket', '--test', `--test-concurrency=${process.env.DEV_TEST_CONCURRENCY ?? 1}`, ...files], {
    stdio: 'inherit',
    env: { ...process.env, RINGSIDE_URL: `http://127.0.0.1:${PROXY_PORT}`, RINGSIDE_FIXTURE: JSON.stringify(fx), RINGSIDE_CONTROL: `http://127.0.0.1:${CONTROL_PORT}` },
  });
  return new Promise((r) => tests.on('exit', r));
}

let code = 1;
try {
  code = await main();
} finally {
  server?.kill('SIGTERM');
  await new Promise((r) => (server && server.exitCode === null ? server.once('exit', r) : r()));
  fs.rmSync(DATA, { recursive: true, force: true });
  process.exit(code);
}
