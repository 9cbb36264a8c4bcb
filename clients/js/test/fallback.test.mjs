// Transports blocked one after the other (the server restarted with fewer):
// the client falls back by itself, with no gap and no duplicate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RingsideClient } from '../dist/ringside-client.js';
import { BASE, FIXTURE, waitFor, controlPost, record, publisher, assertContiguous, assertDeliveredOnce, hasUpdates } from './support.mjs';

const E = FIXTURE.event_id;

test('websocket, then sse, then poll as the server blocks them; still working with all back', async (t) => {
  // Default transports; a short backoff so the restarts fit in a minute.
  const client = new RingsideClient({ url: BASE, token: FIXTURE.viewer_token, maxBackoffMs: 2000 });
  t.after(() => client.close());
  const transports = [];
  client.on('transport', (name) => transports.push(name));
  const event = record(client, `event:${E}`);
  client.connect();
  await waitFor(() => client.state === 'connected', 10_000, 'the first connection');
  assert.equal(client.transport, 'websocket');

  const updates = publisher('fallback');
  const caughtUp = (what) => waitFor(() => hasUpdates(event, updates.acked) && client.state === 'connected', 20_000, what);
  try {
    await updates.more(5, 10_000);

    await controlPost('/restart', { transports: 'sse,poll' });
    await waitFor(() => client.transport === 'sse' && client.state === 'connected', 20_000, 'the fallback to sse');
    await updates.more(5, 10_000);
    await caughtUp('the updates over sse');

    await controlPost('/restart', { transports: 'poll' });
    await waitFor(() => client.transport === 'poll' && client.state === 'connected', 20_000, 'the fallback to poll');
    await updates.more(5, 10_000);
    await caughtUp('the updates over poll');

    await controlPost('/restart', {});
    await updates.more(5, 20_000);
  } finally {
    await updates.stop();
  }
  await caughtUp('the updates with every transport back');
  assert.deepEqual(transports.slice(0, 3), ['websocket', 'sse', 'poll']);
  assertContiguous(event, 'event');
  assertDeliveredOnce(event, updates.acked, 'event');
});
