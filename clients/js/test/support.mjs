// Shared by the test files: the server the Rust harness started, REST
// helpers, a recorder of what a client delivered, and waiting on conditions.
import assert from 'node:assert/strict';

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: these tests run against a server the Rust test harness starts (see clients/js/README.md)`);
  }
  return value;
}

export const BASE = required('RINGSIDE_URL').replace(/\/+$/, '');
/** {admin_token, viewer_token, viewer_id, event_id, fight_id} */
export const FIXTURE = JSON.parse(required('RINGSIDE_FIXTURE'));

export function control() {
  return required('RINGSIDE_CONTROL').replace(/\/+$/, '');
}

export const TRANSPORTS = ['websocket', 'sse', 'poll'];

/** Resolves once cond() is truthy; fails after `ms` naming what it waited for. */
export async function waitFor(cond, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await cond();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A REST call; never throws for HTTP statuses (a network error rejects). */
export async function rest(method, path, body, token = FIXTURE.admin_token) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Posts a verified news update on the fixture's event (as admin); resolves with {status, body}. */
export function publish(title, extra = {}) {
  return rest('POST', '/api/live/updates/', { live_event: FIXTURE.event_id, update_type: 'news', title, ...extra });
}

/**
 * A viewer of the caller's own: kicking it, or the sessions it leaves
 * behind (the server frees an abandoned SSE or long-poll session's slot only
 * after a while), do not touch other tests' users. Resolves with {token, id}.
 */
export async function registerViewer(name) {
  const res = await rest('POST', '/api/auth/register/', {
    email: `${name}-${process.pid}-${Date.now()}@ringside.test`,
    password: `${name}-password-123`,
    display_name: name,
  }, null);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return { token: res.body.token, id: res.body.user.id };
}

export async function controlPost(path, body = {}) {
  const res = await fetch(control() + path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(res.status, 200, `${path} answered ${res.status}: ${await res.text()}`);
}

/**
 * Follows `channel` on `client`, keeping what it delivered: `subscribed`
 * infos, every frame, the durable seqs and the update ids.
 */
export function record(client, channel) {
  const r = {
    subscribed: [],
    snapshots: [],
    frames: [],
    seqs: [],
    updates: [],
    resyncs: [],
    errors: [],
  };
  r.subscription = client.subscribe(channel, {
    onSubscribed(snapshot, info) {
      r.subscribed.push(info);
      r.snapshots.push(snapshot);
    },
    onFrame(frame) {
      r.frames.push(frame);
      if (typeof frame.seq === 'number') r.seqs.push(frame.seq);
      if (frame.type === 'update') r.updates.push(frame.data);
    },
    onResync(snapshot, reason) {
      r.resyncs.push({ snapshot, reason });
    },
    onError(e) {
      r.errors.push(e);
    },
  });
  return r;
}

/** Every durable seq after the first subscription's head, once each and without a gap. */
export function assertContiguous(r, channel) {
  assert.ok(r.subscribed.length > 0, `${channel}: never subscribed`);
  assert.deepEqual(r.resyncs, [], `${channel}: resynced`);
  const first = r.subscribed[0].seq + 1;
  const expected = r.seqs.map((_, i) => first + i);
  assert.deepEqual(r.seqs, expected, `${channel}: durable seqs are not contiguous from ${first}`);
}

/** Each id in `acked` was delivered exactly once, in the order given. */
export function assertDeliveredOnce(r, acked, channel) {
  const seen = r.updates.map((u) => u.id);
  const ackedSet = new Set(acked);
  const delivered = seen.filter((id) => ackedSet.has(id));
  assert.deepEqual(delivered, acked, `${channel}: acknowledged updates not delivered exactly once in order`);
  assert.equal(new Set(seen).size, seen.length, `${channel}: an update was delivered twice`);
}

/** Keeps the client's state changes. */
export function states(client) {
  const seen = [];
  client.on('state', (s) => seen.push(s));
  return seen;
}

export function hasUpdates(r, ids) {
  const seen = new Set(r.updates.map((u) => u.id));
  return ids.every((id) => seen.has(id));
}

/**
 * Publishes updates one after the other until stopped, retrying through an
 * outage; `acked` holds the ids that got 201, in order.
 */
export function publisher(prefix, paceMs = 40) {
  const p = { acked: [], failures: 0, stopped: false };
  p.done = (async () => {
    for (let i = 0; !p.stopped; i++) {
      try {
        const res = await publish(`${prefix} ${i}`);
        if (res.status === 201) p.acked.push(res.body.id);
        else p.failures++;
      } catch {
        p.failures++; // the server is down: try again (a later title, so a stored retry is not a duplicate)
      }
      await new Promise((r) => setTimeout(r, paceMs)); // a pace, not a wait for a condition
    }
  })();
  p.stop = async () => {
    p.stopped = true;
    await p.done;
  };
  /** Resolves once `n` more updates than now have been acknowledged. */
  p.more = (n, ms) => {
    const target = p.acked.length + n;
    return waitFor(() => p.acked.length >= target, ms, `${n} more acknowledged updates`);
  };
  return p;
}
