// Updates: the composer (the update types of the API's vocabulary, breaking,
// a media link in `data`) for reporters, moderators and admins, and, for
// moderators and admins, the approval queue: reporters' updates waiting for
// review, arriving live on `moderation:{event}` (`update_pending`,
// `update_reviewed`), approved or rejected here. What is published shows
// below as viewers see it (`update` frames on `event:{id}`).

import { act, atLeast, clockTime, el, fetchAll, field, fighterName, fill, panel, select, statusLine } from '../lib.js';

/** The vocabulary's words, when the API document cannot be read. */
const FALLBACK_TYPES = ['news', 'fight_start', 'round_start', 'round_end', 'knockdown', 'submission_attempt', 'result'];
/** The only type a person writes; the others come from fight control. */
const WRITTEN = 'news';
/** How often the queue is read again when the staff channel is not there. */
const QUEUE_POLL_MS = 3000;

let vocabulary = null;

/** `UpdateType` from the API document (generated from the server's code). */
async function updateTypes(ctx) {
  if (vocabulary) return vocabulary;
  try {
    const doc = await ctx.api('GET', '/api/openapi.json');
    const words = doc && doc.components && doc.components.schemas && doc.components.schemas.UpdateType && doc.components.schemas.UpdateType.enum;
    if (Array.isArray(words) && words.length) vocabulary = words;
  } catch (err) {
    console.warn('openapi', err);
  }
  return vocabulary || FALLBACK_TYPES;
}

export default {
  id: 'updates',
  title: 'Updates',
  roles: ['reporter', 'moderator', 'admin'],
  mount(root, ctx) {
    const staff = atLeast(ctx.user.role, 'moderator');
    const state = { event: null, pending: new Map(), published: new Map(), subs: [], poll: null, generation: 0, types: FALLBACK_TYPES };
    const names = new Map();
    const heading = el('h1', {}, 'Updates');
    const composerBox = el('div');
    const queue = el('ul', { class: 'list', 'data-testid': 'approval-queue' });
    const queueNote = el('p', { class: 'muted small', 'data-testid': 'queue-note' });
    const queueStatus = statusLine({ 'data-testid': 'queue-status' });
    const feed = el('ul', { class: 'list', 'data-testid': 'published' });
    fill(
      root,
      heading,
      el(
        'div',
        { class: staff ? 'grid-2' : '' },
        el('div', {}, composerBox, staff ? panel('Published', {}, feed) : null),
        staff ? panel('Waiting for approval', { 'data-testid': 'queue-panel' }, queueNote, queue, queueStatus.node) : null,
      ),
    );

    async function start() {
      const generation = ++state.generation;
      for (const off of state.subs) off();
      state.subs = [];
      if (state.poll) clearInterval(state.poll);
      state.poll = null;
      state.pending.clear();
      state.published.clear();
      const id = ctx.event;
      if (!id) {
        heading.textContent = 'Updates';
        fill(composerBox, el('p', { class: 'muted' }, 'Pick a live event in the header.'));
        renderQueue();
        renderFeed();
        return;
      }
      let live = null;
      try {
        [live, state.types] = await Promise.all([ctx.api('GET', `/api/live/events/${id}/`), updateTypes(ctx)]);
      } catch (err) {
        fill(composerBox, el('p', { class: 'error', role: 'alert' }, `${err.status || ''} ${err.code}: ${err.message}`));
        return;
      }
      if (generation !== state.generation) return;
      state.event = live;
      heading.textContent = `Updates · ${(live.event_detail && live.event_detail.name) || `live event ${id}`}`;
      fill(composerBox, composer(live));
      if (!staff) return;
      followQueue(id, generation);
      followFeed(id, generation);
    }

    // ---- The composer

    function composer(live) {
      const line = statusLine({ 'data-testid': 'compose-status' });
      const type = select(
        { name: 'update_type', id: 'compose-type' },
        state.types.map((t) => [t, t === WRITTEN ? t : `${t} (written by fight control)`]),
        WRITTEN,
      );
      for (const option of type.options) option.disabled = option.value !== WRITTEN;
      const fights = [...(live.fights || [])].sort((a, b) => b.card_order - a.card_order);
      const fight = select(
        { name: 'live_fight', id: 'compose-fight' },
        [['', 'The whole event'], ...fights.map((f) => [f.id, `${f.card_order === 1 ? 'Main event' : `Bout ${f.card_order}`}: ${fighterName(f.red_fighter)} vs ${fighterName(f.blue_fighter)}`])],
        live.current_fight || '',
      );
      const title = el('input', { type: 'text', name: 'title', id: 'compose-title', required: true, maxlength: '200' });
      const description = el('textarea', { name: 'description', id: 'compose-description', maxlength: '5000', rows: '3' });
      const round = select({ name: 'round_number', id: 'compose-round' }, [['', '—'], ...[1, 2, 3, 4, 5].map((r) => [r, `Round ${r}`])], '');
      const breaking = el('input', { type: 'checkbox', name: 'is_breaking', id: 'compose-breaking' });
      const mediaUrl = el('input', { type: 'url', name: 'media_url', id: 'compose-media-url', placeholder: 'https://…/photo.jpg' });
      const mediaKind = select({ name: 'media_kind', id: 'compose-media-kind' }, [['image', 'Image'], ['video', 'Video'], ['link', 'Link']], 'image');
      const mediaCaption = el('input', { type: 'text', name: 'media_caption', id: 'compose-media-caption', maxlength: '200' });
      const submit = el('button', { type: 'submit', class: 'primary', id: 'compose-submit' }, staff ? 'Publish' : 'Send for approval');
      const form = el(
        'form',
        { id: 'compose', 'data-testid': 'composer' },
        el('div', { class: 'grid-2' }, field('Type', type), field('About', fight)),
        field('Title', title),
        field('Text', description),
        el('div', { class: 'grid-2' }, field('Round', round), el('label', { class: 'field inline' }, breaking, 'Breaking news (also on the news channel)')),
        el('div', { class: 'grid-3' }, field('Media link', mediaUrl), field('Media kind', mediaKind), field('Caption', mediaCaption)),
        submit,
        line.node,
      );
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        const data = {};
        if (mediaUrl.value.trim()) data.media = [{ url: mediaUrl.value.trim(), kind: mediaKind.value, caption: mediaCaption.value.trim() || null }];
        const body = {
          live_event: live.id,
          live_fight: fight.value ? Number(fight.value) : null,
          update_type: type.value,
          title: title.value.trim(),
          description: description.value.trim(),
          round_number: round.value ? Number(round.value) : null,
          data,
          is_breaking: breaking.checked,
        };
        const made = await act(submit, line, () => ctx.api('POST', '/api/live/updates/', body), (u) =>
          u.is_verified ? `Published (#${u.seq ?? u.id}).` : 'Sent: it shows once a moderator approves it.',
        );
        if (made) {
          title.value = '';
          description.value = '';
          mediaUrl.value = '';
          mediaCaption.value = '';
          breaking.checked = false;
          if (made.is_verified) putPublished(made);
        }
      });
      return panel(staff ? 'Compose' : 'Compose (a moderator approves it)', {}, form);
    }

    // ---- The approval queue

    function followQueue(id, generation) {
      const mine = (fn) => (...a) => generation === state.generation && fn(...a);
      const reload = mine(async () => {
        try {
          const rows = await fetchAll(`/api/live/updates/?event=${id}&review=pending`, 500);
          if (generation !== state.generation) return;
          state.pending = new Map(rows.map((u) => [u.id, u]));
          renderQueue();
        } catch (err) {
          queueStatus.error(err);
        }
      });
      if (!ctx.client) {
        reload();
        return;
      }
      const sub = ctx.client.subscribe(`moderation:${id}`, {
        onSubscribed: mine((snapshot) => {
          queueNote.textContent = 'Live.';
          queueNote.dataset.live = 'true';
          if (snapshot && Array.isArray(snapshot.pending_updates)) {
            state.pending = new Map(snapshot.pending_updates.map((u) => [u.id, u]));
            renderQueue();
          } else reload();
        }),
        onResync: mine(() => reload()),
        onFrame: mine((frame) => {
          if (frame.type === 'update_pending' && frame.data) {
            state.pending.set(frame.data.id, frame.data);
            renderQueue();
            ctx.toast(`Waiting for approval: ${frame.data.title}`, 'info');
          } else if (frame.type === 'update_reviewed' && frame.data) {
            state.pending.delete(frame.data.id);
            renderQueue();
          }
        }),
        onError: mine((err) => {
          // No staff channel on this server: read the queue every few seconds.
          queueNote.textContent = `Refreshed every ${QUEUE_POLL_MS / 1000} s (${err.code}: ${err.message}).`;
          queueNote.dataset.live = 'false';
          reload();
          if (!state.poll) state.poll = setInterval(reload, QUEUE_POLL_MS);
        }),
      });
      state.subs.push(() => sub.unsubscribe());
      reload();
    }

    function renderQueue() {
      if (!staff) return;
      const rows = [...state.pending.values()].sort((a, b) => a.id - b.id);
      fill(queue, rows.length ? rows.map(pendingItem) : el('li', { class: 'muted' }, 'Nothing waiting.'));
    }

    function pendingItem(u) {
      const line = statusLine();
      const reason = el('input', { type: 'text', name: 'reason', placeholder: 'reason (optional)', maxlength: '200' });
      const review = (verb) =>
        el(
          'button',
          {
            type: 'button',
            class: verb === 'approve' ? 'ok' : 'danger',
            dataset: { action: verb },
            onclick: async (e) => {
              const button = e.currentTarget;
              if (verb === 'reject' && !(await ctx.confirm(`Reject "${u.title}"? It is never published.`, { okText: 'Reject' }))) return;
              const body = reason.value.trim() ? { reason: reason.value.trim() } : undefined;
              const done = await act(button, line, () => ctx.api('POST', `/api/live/updates/${u.id}/${verb}/`, body));
              if (done) {
                state.pending.delete(u.id);
                renderQueue();
                ctx.toast(`${verb === 'approve' ? 'Approved' : 'Rejected'}: ${u.title}`, 'ok');
                if (done.is_verified) putPublished(done);
              }
            },
          },
          verb === 'approve' ? 'Approve' : 'Reject',
        );
      return el(
        'li',
        { class: ['update', u.is_breaking && 'breaking'], dataset: { updateId: u.id } },
        el('p', { class: 'muted small' }, `${u.update_type}${u.is_breaking ? ' · BREAKING' : ''} · by `, author(u.created_by), ` · ${clockTime(u.created_at)}`),
        el('p', { class: 'update-title' }, u.title),
        u.description ? el('p', {}, u.description) : null,
        mediaOf(u),
        el('div', { class: 'row' }, review('approve'), review('reject'), reason),
        line.node,
      );
    }

    /** The author's display name (from the moderators' user panel), once known. */
    function author(id) {
      const node = el('span', { class: 'author' }, id === null || id === undefined ? 'a deleted account' : `user ${id}`);
      if (id === null || id === undefined) return node;
      if (!names.has(id)) {
        names.set(
          id,
          ctx.api('GET', `/api/moderation/users/${id}/`).then(
            (panel) => (panel && panel.user && panel.user.display_name) || null,
            () => null,
          ),
        );
      }
      names.get(id).then((name) => {
        if (name) node.textContent = name;
      });
      return node;
    }

    function mediaOf(u) {
      const media = u.data && Array.isArray(u.data.media) ? u.data.media : [];
      if (!media.length) return null;
      return el(
        'p',
        { class: 'small' },
        'Media: ',
        media.map((m) => (m && typeof m.url === 'string' && /^https?:\/\//.test(m.url) ? el('a', { href: m.url, target: '_blank', rel: 'noopener noreferrer' }, m.caption || m.url) : null)),
      );
    }

    // ---- What is published

    function followFeed(id, generation) {
      const mine = (fn) => (...a) => generation === state.generation && fn(...a);
      const reload = mine(async () => {
        try {
          const rows = await fetchAll(`/api/live/updates/?event=${id}`, 1000);
          if (generation !== state.generation) return;
          for (const u of rows.slice(-30)) state.published.set(u.id, u);
          renderFeed();
        } catch (err) {
          console.warn('updates', err);
        }
      });
      if (ctx.client) {
        const sub = ctx.client.subscribe(`event:${id}`, {
          onSubscribed: () => reload(),
          onResync: () => reload(),
          onFrame: mine((frame) => {
            if (frame.type === 'update' && frame.data) putPublished(frame.data);
          }),
        });
        state.subs.push(() => sub.unsubscribe());
      }
      reload();
    }

    function putPublished(u) {
      state.published.set(u.id, u);
      renderFeed();
    }

    function renderFeed() {
      const rows = [...state.published.values()].sort((a, b) => (b.seq ?? 0) - (a.seq ?? 0)).slice(0, 30);
      fill(
        feed,
        rows.length
          ? rows.map((u) =>
              el(
                'li',
                { class: ['update', u.is_breaking && 'breaking'], dataset: { updateId: u.id, seq: u.seq } },
                el('p', { class: 'muted small' }, `#${u.seq ?? '–'} · ${u.update_type}${u.is_breaking ? ' · BREAKING' : ''} · ${clockTime(u.created_at)}`),
                el('p', { class: 'update-title' }, u.title),
              ),
            )
          : el('li', { class: 'muted' }, 'Nothing published yet.'),
      );
    }

    const offEvent = ctx.onEvent(() => start());
    start();
    return () => {
      offEvent();
      state.generation++;
      for (const off of state.subs) off();
      if (state.poll) clearInterval(state.poll);
    };
  },
};
