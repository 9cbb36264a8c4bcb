// The API over each transport forced in turn: subscriptions, ordered
// delivery, writes and their errors, unsubscribe, an unknown channel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RingsideClient, RingsideError } from '../dist/ringside-client.js';
import { BASE, FIXTURE, TRANSPORTS, waitFor, rest, registerViewer, publish, record, assertContiguous, hasUpdates } from './support.mjs';

const E = FIXTURE.event_id;
const F = FIXTURE.fight_id;

/** A write, tried again when the server says `rate_limited` (votes are limited to a few a second per user). */
async function politely(write) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (e) {
      if (!(e instanceof RingsideError) || e.code !== 'rate_limited' || attempt === 5) throw e;
      await new Promise((r) => setTimeout(r, e.retryAfterMs ?? 500)); // the wait the server asked for
    }
  }
}

function connected(client) {
  return waitFor(() => client.state === 'connected', 10_000, `${client.transport ?? 'a transport'} to connect`);
}

for (const transport of TRANSPORTS) {
  test(`${transport}: subscribe, ordered updates, writes, unsubscribe, unknown channel`, async (t) => {
    const viewer = await registerViewer(`api-${transport}`);
    const client = new RingsideClient({ url: BASE, token: viewer.token, transports: [transport] });
    const anonymous = new RingsideClient({ url: BASE, transports: [transport] });
    t.after(() => {
      client.close();
      anonymous.close();
    });
    const welcomes = [];
    client.on('welcome', (w) => welcomes.push(w));

    const event = record(client, `event:${E}`);
    const comments = record(client, `comments:${E}`);
    const fight = record(client, `fight:${F}`);
    client.connect();
    await waitFor(() => event.subscribed.length && comments.subscribed.length && fight.subscribed.length, 10_000, 'three subscriptions');
    assert.equal(client.state, 'connected');
    assert.equal(client.transport, transport);
    assert.equal(welcomes[0].user.id, viewer.id);
    assert.equal(event.snapshots[0].id, E, 'the event snapshot names the event');
    assert.equal(client.position(`event:${E}`).epoch, event.subscribed[0].epoch);

    // Updates arrive in the order they were stored, on the event and (when naming it) on the fight.
    const ids = [];
    for (let i = 0; i < 4; i++) {
      const res = await publish(`api ${transport} ${i}`, i % 2 ? { live_fight: F } : {});
      assert.equal(res.status, 201, JSON.stringify(res.body));
      ids.push(res.body.id);
    }
    await waitFor(() => hasUpdates(event, ids), 10_000, 'the updates on the event');
    assert.deepEqual(event.updates.map((u) => u.id).filter((id) => ids.includes(id)), ids);
    assert.deepEqual(event.updates.filter((u) => ids.includes(u.id)).map((u) => u.title), ids.map((_, i) => `api ${transport} ${i}`));
    await waitFor(() => hasUpdates(fight, [ids[1], ids[3]]), 10_000, 'the fight updates on the fight');
    assertContiguous(event, 'event');
    assert.equal(client.position(`event:${E}`).seq, event.seqs.at(-1));

    // A comment resolves with the stored row, and its frame follows.
    const content = `hello from ${transport} ${Date.now()}`;
    const stored = await client.comment({ live_event: E, content });
    assert.equal(typeof stored.id, 'number');
    assert.equal(stored.content, content);
    await waitFor(() => comments.frames.some((f) => f.type === 'comment' && f.data.id === stored.id), 10_000, 'the comment frame');

    // Refusals carry the server's code.
    await assert.rejects(client.comment({ live_event: E, content: '' }), (e) => e instanceof RingsideError && e.code === 'bad_request');
    record(anonymous, `event:${E}`);
    anonymous.connect();
    await connected(anonymous);
    await assert.rejects(anonymous.comment({ live_event: E, content: 'not signed in' }), (e) => e instanceof RingsideError && e.code === 'unauthorized');

    // React and vote resolve; the poll's opening is a durable frame on the event.
    const reaction = await politely(() => client.react({ target_type: 'event', target_id: E, reaction_type: 'wow' }));
    assert.ok(reaction, 'react resolves with the stored reaction');
    await waitFor(() => event.frames.some((f) => f.type === 'reactions'), 10_000, 'reaction totals');
    const poll = await rest('POST', '/api/live/polls/', { live_event: E, question: `Who wins (${transport})?`, options: ['Red', 'Blue'] });
    assert.equal(poll.status, 201, JSON.stringify(poll.body));
    const opened = await rest('POST', `/api/live/polls/${poll.body.id}/open/`);
    assert.equal(opened.status, 200, JSON.stringify(opened.body));
    await waitFor(() => event.frames.some((f) => f.type === 'poll' && f.data.id === poll.body.id && typeof f.seq === 'number'), 10_000, 'the poll opening');
    const vote = await politely(() => client.vote({ poll: poll.body.id, option: poll.body.options[0].id }));
    assert.ok(vote, 'vote resolves');
    // A second vote is refused with the REST code passed through.
    await assert.rejects(politely(() => client.vote({ poll: poll.body.id, option: poll.body.options[1].id })), (e) => e instanceof RingsideError && e.code === 'already_voted');

    // After unsubscribe nothing of that channel is delivered: a comment
    // posted before a marker update must not show up once the marker has.
    client.unsubscribe(`comments:${E}`);
    assert.equal(client.position(`comments:${E}`), undefined);
    const framesBefore = comments.frames.length;
    const silent = await rest('POST', '/api/live/comments/', { live_event: E, content: `after unsubscribe ${transport}` });
    assert.equal(silent.status, 201, JSON.stringify(silent.body));
    const marker = await publish(`marker ${transport}`);
    await waitFor(() => hasUpdates(event, [marker.body.id]), 10_000, 'the marker update');
    assert.equal(comments.frames.length, framesBefore, 'frames arrived after unsubscribe');

    // An unknown channel is refused on its own; the others go on.
    const unknown = record(client, 'event:999999');
    await waitFor(() => unknown.errors.length, 10_000, 'the unknown channel error');
    assert.equal(unknown.errors[0].code, 'not_found');
    assert.equal(client.position('event:999999'), undefined);
    const after = await publish(`after unknown ${transport}`);
    await waitFor(() => hasUpdates(event, [after.body.id]), 10_000, 'an update after the refusal');
    assertContiguous(event, 'event');
    assert.equal(client.state, 'connected');
  });
}
