// The server is SIGKILLed and started again mid-stream: one client per
// transport sees every acknowledged update exactly once, in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RingsideClient } from '../dist/ringside-client.js';
import { BASE, FIXTURE, TRANSPORTS, waitFor, controlPost, record, publisher, assertContiguous, assertDeliveredOnce, hasUpdates } from './support.mjs';

const E = FIXTURE.event_id;

test('every acknowledged update survives a server kill, on every transport', async (t) => {
  // Short backoff: the server is down for seconds and the file must stay within a minute.
  const clients = TRANSPORTS.map((transport) => {
    const client = new RingsideClient({ url: BASE, token: FIXTURE.viewer_token, transports: [transport], maxBackoffMs: 2000 });
    return { transport, client, event: record(client, `event:${E}`), comments: record(client, `comments:${E}`) };
  });
  t.after(() => clients.forEach(({ client }) => client.close()));
  for (const { client } of clients) client.connect();
  await waitFor(() => clients.every((c) => c.event.subscribed.length && c.comments.subscribed.length), 10_000, 'every client subscribed');

  const updates = publisher('restart');
  try {
    await updates.more(10, 15_000);
    await controlPost('/restart');
    await updates.more(10, 30_000);
  } finally {
    await updates.stop();
  }

  for (const c of clients) {
    await waitFor(() => hasUpdates(c.event, updates.acked) && c.client.state === 'connected', 20_000, `${c.transport}: every acknowledged update`);
    assert.ok(c.event.subscribed.length >= 2, `${c.transport}: subscribed again after the restart`);
    assertContiguous(c.event, `${c.transport} event`);
    assertContiguous(c.comments, `${c.transport} comments`);
    assertDeliveredOnce(c.event, updates.acked, `${c.transport} event`);
  }
});
