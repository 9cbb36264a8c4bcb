// Resume after the server closes a session: 4001 (too slow) reconnects at
// once and every update arrives exactly once; 1008 (policy) stays offline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RingsideClient } from '../dist/ringside-client.js';
import { BASE, FIXTURE, TRANSPORTS, waitFor, registerViewer, publish, controlPost, record, states, assertContiguous, assertDeliveredOnce, hasUpdates } from './support.mjs';

const E = FIXTURE.event_id;

// A viewer of this file's own, so kicking it leaves other files' sessions alone.
const VIEWER = await registerViewer('resume');

async function publishAll(prefix, n) {
  const ids = [];
  for (let i = 0; i < n; i++) {
    const res = await publish(`${prefix} ${i}`);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    ids.push(res.body.id);
  }
  return ids;
}

for (const transport of TRANSPORTS) {
  test(`${transport}: kicked with 4001, resumes every channel without gap or duplicate`, async (t) => {
    const client = new RingsideClient({ url: BASE, token: VIEWER.token, transports: [transport] });
    t.after(() => client.close());
    const seen = states(client);
    const codes = [];
    client.on('state', (s, info) => s === 'reconnecting' && codes.push(info?.code));
    const event = record(client, `event:${E}`);
    const comments = record(client, `comments:${E}`);
    client.connect();
    await waitFor(() => event.subscribed.length && comments.subscribed.length, 10_000, 'both subscriptions');

    const before = await publishAll(`resume ${transport} before`, 5);
    await waitFor(() => hasUpdates(event, before), 10_000, 'the first updates');

    const kicked = seen.length;
    await controlPost('/kick', { user: VIEWER.id, code: 4001 });
    // Publish through the reconnect: some of these land while the client is away.
    const during = await publishAll(`resume ${transport} during`, 5);
    await waitFor(() => seen.slice(kicked).includes('reconnecting'), 10_000, 'the reconnect');
    const after = await publishAll(`resume ${transport} after`, 5);
    await waitFor(() => hasUpdates(event, [...during, ...after]) && client.state === 'connected', 15_000, 'every update after the kick');

    const since = seen.slice(kicked);
    assert.deepEqual(since.slice(0, 2), ['reconnecting', 'connected'], `states after the kick: ${since}`);
    assert.equal(codes.at(-1), 4001);
    assert.ok(event.subscribed.length >= 2, 'subscribed again after the kick');
    assert.ok(event.subscribed.at(-1).resumed, 'the event channel resumed');
    assertContiguous(event, 'event');
    assertContiguous(comments, 'comments');
    assertDeliveredOnce(event, [...before, ...during, ...after], 'event');
  });

  test(`${transport}: kicked with 1008, goes offline and stays there`, async (t) => {
    const client = new RingsideClient({ url: BASE, token: VIEWER.token, transports: [transport] });
    const watcher = new RingsideClient({ url: BASE, transports: [transport] });
    t.after(() => {
      client.close();
      watcher.close();
    });
    const seen = states(client);
    const errors = [];
    client.on('error', (e) => errors.push(e));
    const event = record(client, `event:${E}`);
    const watched = record(watcher, `event:${E}`);
    client.connect();
    watcher.connect();
    await waitFor(() => event.subscribed.length && watched.subscribed.length, 10_000, 'both clients subscribed');

    await controlPost('/kick', { user: VIEWER.id, code: 1008 });
    await waitFor(() => client.state === 'offline', 10_000, 'offline after 1008');
    assert.equal(errors.at(-1)?.code, 'policy');

    // An update the anonymous watcher gets; the kicked client has not come back for it.
    const delivered = event.updates.length;
    const res = await publish(`after 1008 ${transport}`);
    assert.equal(res.status, 201);
    await waitFor(() => hasUpdates(watched, [res.body.id]), 10_000, 'the watcher to get the update');
    assert.equal(client.state, 'offline');
    assert.equal(event.updates.length, delivered);
    assert.deepEqual(seen.slice(-1), ['offline']);
    assert.ok(!seen.slice(seen.indexOf('offline')).includes('reconnecting'), `states: ${seen}`);
  });
}
