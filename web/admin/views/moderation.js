// The moderation view (`/admin/#/moderation[/<user id>]`): the picked live
// event's comments as they arrive (`comments:{id}`), with hide, delete and
// restore inline; the queue of held and reported comments (live on the
// staff channel `moderation:{id}`); the user panel (history, mute with
// duration and scope, unmute, ban, unban); slow mode; the audit log. Every
// action is a REST call; a refusal is shown beside the action.

import { el, fill, statusLine, act, field, panel, follow, clockTime, when } from '../lib.js';
import { noEvent, every, tag, styles, eventTitle } from './kit.js';

const MAX_COMMENTS = 300;
const PAGE = 200;
// The stream shows the latest comments; a long night's older pages are the
// REST list's business.
const MAX_PAGES = 10;

export default {
  id: 'moderation',
  title: 'Moderation',
  roles: ['moderator', 'admin'],
  mount(root, ctx, arg) {
    styles();
    let event = ctx.event ?? null;
    let stopEvent = () => {};
    let shownUser = null;

    const reason = el('input', { type: 'text', id: 'mod-reason', maxlength: '500', placeholder: 'optional: kept on the comment and in the log', dataset: { testid: 'mod-reason' } });
    const why = () => (reason.value.trim() ? { reason: reason.value.trim() } : {});

    // ---- the queue (every event's held, hidden and reported comments, by id)
    const queue = new Map();
    const queueList = el('ul', { class: 'list', id: 'queue', dataset: { testid: 'queue' } });
    const queueEmpty = el('p', { class: 'empty' }, 'Nothing waits for a moderator.');
    const queueLine = statusLine({ dataset: { testid: 'queue-status' } });

    // ---- the picked event's stream (by id, newest first on screen)
    const comments = new Map();
    const streamList = el('ul', { class: 'list b-stream', id: 'stream', role: 'log', dataset: { testid: 'stream' } });
    const streamEmpty = el('p', { class: 'empty' }, 'No comments yet.');
    const streamLine = statusLine({ dataset: { testid: 'stream-status' } });
    const streamBox = el('div', {});
    const slowBox = el('div', { class: 'b-slow', id: 'slow-section' });

    // ---- the user panel and the audit log
    const userBox = el('div', { class: 'b-user', dataset: { testid: 'user-panel' } });
    const userId = el('input', { type: 'number', min: '1', id: 'user-lookup', dataset: { testid: 'user-lookup' } });
    const lookup = el(
      'form',
      {
        class: 'row',
        onsubmit: (e) => {
          e.preventDefault();
          if (userId.value) openUser(Number(userId.value));
        },
      },
      field('User id', userId),
      el('button', { type: 'submit' }, 'Open'),
    );
    const audit = auditLog(ctx);

    fill(
      root,
      el(
        'div',
        { class: 'b-view', dataset: { testid: 'view-moderation' } },
        el('div', { class: 'b-toolbar' }, field('Reason for the actions below', reason), slowBox),
        el('div', { class: 'grid-2' }, streamBox, panel('Queue: held and reported', { id: 'queue-section' }, queueLine.node, queueList, queueEmpty)),
        el('div', { class: 'grid-2' }, panel('User', { id: 'user-section' }, lookup, userBox), audit.node),
      ),
    );

    async function loadQueue() {
      try {
        const page = await ctx.api('GET', `/api/moderation/queue/?limit=${PAGE}`);
        const before = new Map(queue);
        queue.clear();
        for (const c of page.results || []) {
          const kind = c.status === 'held' ? 'held' : c.status === 'hidden' ? 'hidden' : 'reported';
          // `via` says how an entry arrived (a live frame or the REST list), for whoever inspects the page.
          queue.set(c.id, { comment: c, reason: kind, reports: c.report_count, via: (before.get(c.id) || {}).via || 'rest' });
        }
        queueLine.clear();
        renderQueue();
      } catch (e) {
        queueLine.error(e);
      }
    }

    function renderQueue() {
      const items = [...queue.values()].sort((a, b) => a.comment.id - b.comment.id);
      queueEmpty.hidden = items.length > 0;
      fill(
        queueList,
        items.map((q) =>
          commentRow(q.comment, true, q.via, [
            q.reason !== q.comment.status ? tag(q.reason, { dataset: { testid: 'queue-reason' } }) : null,
            q.reports ? el('span', { class: 'muted small' }, `${q.reports} report${q.reports === 1 ? '' : 's'}`) : null,
            q.comment.live_event !== event ? el('span', { class: 'muted small' }, `event ${q.comment.live_event}`) : null,
          ]),
        ),
      );
    }

    function putComment(c) {
      if (!c || c.id === undefined || c.live_event !== event) return;
      comments.set(c.id, { ...comments.get(c.id), ...c });
      if (comments.size > MAX_COMMENTS) comments.delete(Math.min(...comments.keys()));
      renderStream();
    }

    function renderStream() {
      const items = [...comments.values()].sort((a, b) => b.id - a.id);
      streamEmpty.hidden = items.length > 0;
      fill(streamList, items.map((c) => commentRow(c, false, null, [])));
    }

    /** A comment with its author (opens the user panel) and its actions. */
    function commentRow(c, inQueue, via, extra) {
      const line = statusLine();
      const status = c.status || 'active';
      const button = (label, action, show) =>
        show ? el('button', { type: 'button', class: action === 'delete' ? 'danger' : '', dataset: { action }, onclick: (e) => decide(e.currentTarget, line, c, action) }, label) : null;
      return el(
        'li',
        { class: `b-comment ${status}`, dataset: { commentId: c.id, status, via, testid: inQueue ? 'queue-item' : 'comment' } },
        el(
          'div',
          { class: 'row' },
          el('button', { type: 'button', class: 'link', dataset: { action: 'user', userId: c.user }, onclick: () => openUser(c.user) }, c.user_display_name || `user ${c.user}`),
          el('span', { class: 'muted small' }, clockTime(c.created_at)),
          tag(status, { dataset: { testid: 'comment-status' } }),
          extra,
        ),
        el('p', { class: 'b-comment-text' }, c.content),
        el(
          'div',
          { class: 'row b-acts' },
          button('Hide', 'hide', status !== 'hidden'),
          button('Delete', 'delete', status !== 'deleted'),
          // In the queue an active (reported) comment can be kept: restoring dismisses its reports.
          button(status === 'held' ? 'Release' : status === 'active' ? 'Keep' : 'Restore', 'restore', status !== 'active' || inQueue),
        ),
        line.node,
      );
    }

    async function decide(button, line, c, action) {
      const after = await act(button, line, () => ctx.api('POST', `/api/moderation/comments/${c.id}/${action}/`, why()));
      if (!after) return;
      ctx.toast(`Comment ${after.id}: ${after.status}`, 'ok');
      putComment(after);
      // Hidden ones wait in the queue until deleted or restored; the rest leave it.
      if (after.status === 'hidden') queue.set(after.id, { reports: 0, via: 'rest', ...queue.get(after.id), reason: 'hidden', comment: after });
      else queue.delete(after.id);
      renderQueue();
      audit.refresh();
      if (shownUser === after.user) openUser(after.user);
    }

    async function loadComments() {
      try {
        let cursor = null;
        const seen = [];
        for (let i = 0; i < MAX_PAGES; i++) {
          const more = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
          const page = await ctx.api('GET', `/api/live/comments/?event=${event}&limit=${PAGE}${more}`);
          seen.push(...(page.results || []));
          cursor = page.next_cursor;
          if (!cursor) break;
        }
        for (const c of seen.slice(-MAX_COMMENTS)) comments.set(c.id, { ...comments.get(c.id), ...c });
        streamLine.clear();
        renderStream();
      } catch (e) {
        streamLine.error(e);
      }
    }

    function mountEvent() {
      stopEvent();
      comments.clear();
      if (event === null || event === undefined) {
        fill(streamBox, panel('Live comments', {}, noEvent('comments')));
        fill(slowBox);
        stopEvent = () => {};
        return;
      }
      const here = event;
      const slow = el('input', { type: 'number', min: '0', max: '3600', id: 'slow-seconds', value: '0', dataset: { testid: 'slow-seconds' } });
      const slowNow = el('strong', { dataset: { testid: 'slow-now' } }, '–');
      const slowLine = statusLine({ dataset: { testid: 'slow-status' } });
      const showSlow = (seconds) => {
        slowNow.textContent = seconds ? `one comment per ${seconds} s` : 'off';
        slowNow.dataset.seconds = String(seconds || 0);
      };
      const slowForm = el(
        'form',
        {
          class: 'row',
          dataset: { testid: 'slow-form' },
          onsubmit: async (e) => {
            e.preventDefault();
            const seconds = Number(slow.value || 0);
            const answer = await act(e.submitter, slowLine, () => ctx.api('POST', `/api/moderation/events/${here}/slow-mode/`, { seconds }));
            if (!answer) return;
            showSlow(answer.slow_mode_seconds);
            ctx.toast(answer.slow_mode_seconds ? `Slow mode on: ${answer.slow_mode_seconds} s` : 'Slow mode off', 'ok');
            audit.refresh();
          },
        },
        field('Slow mode, seconds (0: off)', slow),
        el('button', { type: 'submit' }, 'Set'),
      );
      fill(streamBox, panel(`Live comments · ${eventTitle(ctx, here)}`, { id: 'stream-section' }, streamLine.node, streamList, streamEmpty));
      fill(slowBox, slowForm, el('p', {}, 'Slow mode now: ', slowNow), slowLine.node);
      renderStream();
      ctx
        .api('GET', `/api/live/events/${here}/`)
        .then((d) => {
          showSlow(d.slow_mode_seconds);
          slow.value = String(d.slow_mode_seconds || 0);
        })
        .catch((e) => slowLine.error(e));

      const offComments = follow(ctx.client, `comments:${here}`, {
        onSubscribed: (snapshot, info) => {
          if (snapshot && typeof snapshot.slow_mode_seconds === 'number') showSlow(snapshot.slow_mode_seconds);
          streamList.dataset.live = 'true';
          if (!(info && info.resumed)) loadComments();
        },
        onFrame: (frame) => {
          const data = frame && frame.data;
          if (frame.type === 'comment' && data) {
            putComment({ status: 'active', ...data });
            // Shown again (restored or released, maybe by another moderator): out of the queue.
            if (queue.delete(data.id)) renderQueue();
          } else if (frame.type === 'comment_removed' && data) {
            const known = comments.get(data.id) || (queue.get(data.id) || {}).comment;
            if (!known) return;
            const after = { ...known, status: data.status || 'hidden' };
            putComment(after);
            // A hidden comment waits in the queue; a deleted one is done with.
            if (after.status === 'hidden') queue.set(after.id, { reports: 0, via: 'frame', ...queue.get(after.id), reason: 'hidden', comment: after });
            else queue.delete(after.id);
            renderQueue();
          } else if (frame.type === 'slow_mode' && data && typeof data.slow_mode_seconds === 'number') {
            // Set here or by another moderator: every console shows it.
            showSlow(data.slow_mode_seconds);
          }
        },
        onResync: () => loadComments(),
        onError: (e) => streamLine.error(e),
      });
      const offStaff = follow(ctx.client, `moderation:${here}`, {
        onSubscribed: () => {
          queueList.dataset.live = 'true';
          loadQueue();
        },
        onFrame: (frame) => {
          if (frame.type !== 'queue' || !frame.data || !frame.data.comment) return;
          const { reason: kind, comment, reports } = frame.data;
          queue.set(comment.id, { comment, reason: kind, reports: reports ?? comment.report_count, via: 'frame' });
          renderQueue();
          if (comments.has(comment.id)) putComment(comment);
        },
        onResync: () => loadQueue(),
        onError: (e) => queueLine.error(e),
      });
      stopEvent = () => {
        offComments();
        offStaff();
        delete streamList.dataset.live;
        delete queueList.dataset.live;
      };
    }

    async function openUser(id) {
      shownUser = id;
      userId.value = String(id);
      const line = statusLine({ dataset: { testid: 'user-status' } });
      let info;
      try {
        info = await ctx.api('GET', `/api/moderation/users/${id}/`);
      } catch (e) {
        fill(userBox, line.node);
        line.error(e);
        return;
      }
      if (shownUser === id) renderUser(info, line);
    }

    function renderUser(info, line) {
      const u = info.user || {};
      const name = u.display_name || `user ${u.id}`;
      const minutes = el('input', { type: 'number', min: '1', max: '525600', value: '10', id: 'mute-minutes', dataset: { testid: 'mute-minutes' } });
      const scope = el(
        'select',
        { id: 'mute-scope', dataset: { testid: 'mute-scope' } },
        el('option', { value: 'event', disabled: event === null }, event === null ? 'this event (none picked)' : `this event (${event})`),
        el('option', { value: 'everywhere', selected: event === null }, 'everywhere'),
      );
      const run = async (button, path, body, done) => {
        const answer = await act(button, line, () => ctx.api('POST', path, body));
        if (answer === undefined) return;
        ctx.toast(done, 'ok');
        audit.refresh();
        openUser(u.id);
      };
      const mutes = info.mutes || [];
      fill(
        userBox,
        el(
          'p',
          { class: 'row' },
          el('strong', { dataset: { testid: 'user-name' } }, name),
          el('span', { class: 'muted' }, `#${u.id} · ${u.email || ''} · ${u.role || ''} · joined ${when(u.created_at)}`),
          info.banned ? tag('banned', { dataset: { testid: 'user-banned' } }) : null,
        ),
        el('h3', {}, 'Mutes'),
        mutes.length
          ? el(
              'ul',
              { class: 'b-plain', dataset: { testid: 'user-mutes' } },
              mutes.map((m) => el('li', {}, `${m.live_event === null || m.live_event === undefined ? 'everywhere' : `event ${m.live_event}`} ${m.until ? `until ${when(m.until)}` : 'until lifted'}${m.reason ? ` · ${m.reason}` : ''}`)),
            )
          : el('p', { class: 'muted', dataset: { testid: 'user-mutes' } }, 'Not muted.'),
        el(
          'form',
          {
            class: 'row',
            dataset: { testid: 'mute-form' },
            onsubmit: (e) => {
              e.preventDefault();
              const body = { minutes: Number(minutes.value), live_event: scope.value === 'event' ? event : null, ...why() };
              run(e.submitter, `/api/moderation/users/${u.id}/mute/`, body, `${name} muted for ${minutes.value} min`);
            },
          },
          field('Minutes', minutes),
          field('Where', scope),
          el('button', { type: 'submit', dataset: { action: 'mute' } }, 'Mute'),
          el(
            'button',
            {
              type: 'button',
              dataset: { action: 'unmute' },
              disabled: mutes.length === 0,
              onclick: (e) => run(e.currentTarget, `/api/moderation/users/${u.id}/unmute/`, scope.value === 'event' && event !== null ? { live_event: event } : {}, `${name} unmuted`),
            },
            'Unmute',
          ),
          info.banned
            ? el('button', { type: 'button', dataset: { action: 'unban' }, onclick: (e) => run(e.currentTarget, `/api/moderation/users/${u.id}/unban/`, why(), `${name} unbanned`) }, 'Unban')
            : el(
                'button',
                {
                  type: 'button',
                  class: 'danger',
                  dataset: { action: 'ban' },
                  onclick: async (e) => {
                    const button = e.currentTarget;
                    if (await ctx.confirm(`Ban ${name}? Their sessions close at once, on every node.`)) run(button, `/api/moderation/users/${u.id}/ban/`, why(), `${name} banned`);
                  },
                },
                'Ban…',
              ),
        ),
        line.node,
        el('h3', {}, 'Their latest comments'),
        el(
          'ul',
          { class: 'b-plain b-history', dataset: { testid: 'user-comments' } },
          (info.comments || []).map((c) =>
            el('li', { dataset: { commentId: c.id, status: c.status } }, tag(c.status), ' ', el('span', { class: 'muted small' }, `${when(c.created_at)} · event ${c.live_event}`), ' ', c.content),
          ),
        ),
        el('h3', {}, 'Actions on them'),
        el(
          'ul',
          { class: 'b-plain', dataset: { testid: 'user-actions' } },
          (info.actions || []).map((a) => el('li', {}, `${when(a.created_at)} · ${a.action} by ${actor(a, ctx)}${a.reason ? ` · ${a.reason}` : ''}`)),
        ),
      );
    }

    mountEvent();
    loadQueue();
    if (arg && /^\d+$/.test(String(arg))) openUser(Number(arg));
    else fill(userBox, el('p', { class: 'empty' }, 'Pick an author in the stream or the queue, or look a user up by id.'));
    const offPicker = ctx.onEvent((id) => {
      event = id ?? null;
      mountEvent();
      renderQueue();
    });
    const stopAudit = every(5000, () => audit.refresh());
    // The queue spans every event, its staff channel only the picked one: a
    // slow refresh catches the others.
    const stopQueue = every(15000, () => loadQueue());
    return () => {
      stopEvent();
      offPicker();
      stopAudit();
      stopQueue();
    };
  },
};

/** Who did it: "system" for automatic actions (`moderator` null). */
function actor(a, ctx) {
  if (a.moderator === null || a.moderator === undefined) return 'system';
  if (ctx.user && a.moderator === ctx.user.id) return `you (#${a.moderator})`;
  return `moderator #${a.moderator}`;
}

/** The audit log: the latest 50 moderation actions, automation's included. */
function auditLog(ctx) {
  const body = el('tbody', {});
  const line = statusLine({ dataset: { testid: 'audit-status' } });
  const node = panel(
    'Audit log',
    { id: 'audit-section' },
    line.node,
    el(
      'div',
      { class: 'b-scroll' },
      el(
        'table',
        { dataset: { testid: 'audit' } },
        el('thead', {}, el('tr', {}, ['When', 'Who', 'Action', 'Target', 'Reason'].map((h) => el('th', { scope: 'col' }, h)))),
        body,
      ),
    ),
  );
  let last = '';
  return {
    node,
    async refresh() {
      try {
        const page = await ctx.api('GET', '/api/moderation/actions/?limit=50');
        line.clear();
        const rows = page.results || [];
        const key = rows.map((a) => a.id).join(',');
        if (key === last) return;
        last = key;
        fill(
          body,
          rows.map((a) =>
            el(
              'tr',
              { dataset: { actionId: a.id, action: a.action } },
              el('td', {}, clockTime(a.created_at)),
              el('td', { class: a.moderator === null ? 'b-system' : '', dataset: { testid: 'actor' } }, actor(a, ctx)),
              el('td', {}, a.action, a.details && Object.keys(a.details).length ? el('div', { class: 'small muted' }, JSON.stringify(a.details)) : null),
              el('td', {}, `${a.target_type} ${a.target_id}`, a.live_event !== null && a.live_event !== undefined ? el('div', { class: 'small muted' }, `event ${a.live_event}`) : null),
              el('td', {}, a.reason || ''),
            ),
          ),
        );
      } catch (e) {
        line.error(e);
      }
    },
  };
}
