// The events board: live events upcoming, live and ended, with start, end
// and cancel (each behind a confirmation), the live count against the
// server's cap, and the form that gives an event its live coverage (start
// time, featured, automation switches). Admins act; moderators read.
// Live: every listed upcoming or live event's `event:{id}` channel.

import { act, atLeast, el, eventName, fetchAll, field, fill, isoToLocal, localToIso, panel, statusLine, STATUS, when } from '../lib.js';

const SECTIONS = [
  ['live', 'Live now'],
  ['upcoming', 'Upcoming'],
  ['completed', 'Completed'],
  ['cancelled', 'Cancelled'],
];

/** How many channels the board follows at most (the newest first). */
const FOLLOW_MAX = 20;

export default {
  id: 'events',
  title: 'Events',
  roles: ['moderator', 'admin'],
  mount(root, ctx) {
    const admin = atLeast(ctx.user.role, 'admin');
    const state = { rows: new Map(), events: new Map(), subs: new Map(), errors: new Map(), limit: null, generation: 0 };
    const status = statusLine({ 'data-testid': 'board-status' });
    const counter = el('p', { class: 'counter', 'data-testid': 'live-count' });
    const lists = new Map(SECTIONS.map(([s]) => [s, el('ul', { class: 'list', dataset: { section: s } })]));
    const sections = SECTIONS.map(([s, title]) => panel(title, { dataset: { section: s } }, lists.get(s)));
    const createBox = admin ? createForm() : null;

    fill(
      root,
      el('h1', {}, 'Events board'),
      el('div', { class: 'row' }, counter, el('button', { type: 'button', onclick: () => load() }, 'Refresh')),
      status.node,
      el('div', { class: 'grid-2' }, el('div', {}, sections[0], sections[1]), el('div', {}, sections[2], sections[3], createBox)),
    );

    async function load() {
      const generation = ++state.generation;
      try {
        const [limits, events, ...bySection] = await Promise.all([
          ctx.api('GET', '/api/live/limits/'),
          fetchAll('/api/events/', 2000),
          ...SECTIONS.map(([s]) => fetchAll(`/api/live/events/?status=${s}`, 500)),
        ]);
        if (generation !== state.generation) return;
        state.limit = limits.max_concurrent_events;
        state.events = new Map(events.map((e) => [e.id, e]));
        state.rows = new Map(bySection.flat().map((r) => [r.id, r]));
        render();
        followAll();
        if (createBox) fillEventChoices();
      } catch (err) {
        status.error(err);
      }
    }

    function nameOf(row) {
      const e = state.events.get(row.event);
      return e ? e.name : eventName(row);
    }

    function render() {
      const rows = [...state.rows.values()];
      const live = rows.filter((r) => r.status === 'live').length;
      counter.textContent = state.limit
        ? `${live} live now, of at most ${state.limit} (MAX_CONCURRENT_EVENTS)`
        : `${live} live now`;
      counter.dataset.live = String(live);
      for (const [s] of SECTIONS) {
        const mine = rows.filter((r) => r.status === s).sort((a, b) => (s === 'upcoming' ? a.id - b.id : b.id - a.id));
        const list = lists.get(s);
        fill(list, mine.length ? mine.map(row) : el('li', { class: 'muted' }, 'None.'));
      }
    }

    function row(r) {
      const e = state.events.get(r.event);
      const line = statusLine();
      if (state.errors.has(r.id)) line.error(state.errors.get(r.id));
      const buttons = [];
      const open = () => {
        ctx.setEvent(r.id);
        ctx.go(`fight`);
      };
      if (r.status === 'live' || r.status === 'upcoming') {
        buttons.push(el('button', { type: 'button', dataset: { action: 'pick' }, onclick: open }, 'Fight console'));
        if (admin) buttons.push(el('button', { type: 'button', dataset: { action: 'card' }, onclick: () => (ctx.setEvent(r.id), ctx.go(`card/${r.id}`)) }, 'Card'));
      }
      if (admin && r.status === 'upcoming') {
        buttons.push(transitionButton(r, 'start', 'Start', `Start ${nameOf(r)} now? Viewers see it go live.`, line, 'ok'));
      }
      if (admin && r.status === 'live') {
        buttons.push(transitionButton(r, 'end', 'End', `End ${nameOf(r)}? It becomes completed.`, line, 'danger'));
      }
      if (admin && (r.status === 'upcoming' || r.status === 'live')) {
        buttons.push(transitionButton(r, 'cancel', 'Cancel', `Cancel ${nameOf(r)}? This cannot be undone.`, line, 'danger'));
      }
      return el(
        'li',
        { dataset: { liveEvent: r.id, status: r.status }, class: r.id === ctx.event ? 'picked' : null },
        el(
          'div',
          { class: 'row' },
          el('strong', { class: 'grow' }, nameOf(r), el('span', { class: 'muted' }, ` · #${r.id}`)),
          el('span', { class: 'badge', dataset: { status: r.status } }, STATUS[r.status] || r.status),
        ),
        el(
          'p',
          { class: 'muted small' },
          e && e.venue ? `${e.venue} · ` : '',
          r.start_time ? `starts ${when(r.start_time)}` : e ? `scheduled ${when(e.scheduled_start)}` : '',
          r.end_time ? ` · ended ${when(r.end_time)}` : '',
          r.status === 'live' ? ` · ${r.viewer_count} watching (peak ${r.peak_viewers})` : '',
          r.is_featured ? ' · featured' : '',
        ),
        el('div', { class: 'row' }, buttons, el('a', { href: `/watch/${r.id}/`, target: '_blank', rel: 'noopener' }, 'Viewer page')),
        line.node,
      );
    }

    function transitionButton(r, action, label, question, line, kind) {
      const button = el(
        'button',
        {
          type: 'button',
          class: kind,
          dataset: { action },
          onclick: async () => {
            if (!(await ctx.confirm(question, { okText: label }))) return;
            button.disabled = true;
            state.errors.delete(r.id);
            line.clear();
            try {
              const done = await ctx.api('POST', `/api/live/events/${r.id}/${action}/`);
              ctx.toast(`${nameOf(r)}: ${STATUS[done.status] || done.status}`, 'ok');
              state.rows.set(done.id, { ...r, ...done });
              ctx.refreshEvents();
            } catch (err) {
              // Kept by the row across redraws, until its next action.
              state.errors.set(r.id, err);
            } finally {
              button.disabled = false;
            }
            render();
          },
        },
        label,
      );
      return button;
    }

    /** Follows the upcoming and live events; any change reloads the board. */
    function followAll() {
      const wanted = new Set(
        [...state.rows.values()]
          .filter((r) => r.status === 'live' || r.status === 'upcoming')
          .sort((a, b) => b.id - a.id)
          .slice(0, FOLLOW_MAX)
          .map((r) => r.id),
      );
      for (const [id, off] of state.subs) {
        if (!wanted.has(id)) {
          off();
          state.subs.delete(id);
        }
      }
      for (const id of wanted) {
        if (state.subs.has(id) || !ctx.client) continue;
        const sub = ctx.client.subscribe(`event:${id}`, {
          onFrame: (frame) => {
            if (frame.type === 'event_state' && frame.data) {
              const old = state.rows.get(id) || {};
              state.rows.set(id, { ...old, ...pick(frame.data) });
              render();
            } else if (frame.type === 'viewers' && frame.data && typeof frame.data.count === 'number') {
              const old = state.rows.get(id);
              if (old) {
                old.viewer_count = frame.data.count;
                render();
              }
            }
          },
        });
        state.subs.set(id, () => sub.unsubscribe());
      }
    }

    function pick(data) {
      const out = {};
      for (const k of ['status', 'start_time', 'end_time', 'current_fight', 'is_featured', 'viewer_count', 'peak_viewers']) {
        if (k in data) out[k] = data[k];
      }
      return out;
    }

    // ---- Creating live coverage

    function createForm() {
      const eventSel = el('select', { name: 'event', id: 'create-event', required: true });
      const start = el('input', { type: 'datetime-local', name: 'start_time', id: 'create-start' });
      const featured = el('input', { type: 'checkbox', name: 'is_featured', id: 'create-featured' });
      const autoStart = el('input', { type: 'checkbox', name: 'auto_start', id: 'create-auto-start' });
      const reminder = el('input', { type: 'number', min: '1', step: '1', name: 'reminder_minutes', id: 'create-reminder', placeholder: 'off' });
      const autoAdvance = el('input', { type: 'checkbox', name: 'auto_advance', id: 'create-auto-advance' });
      const delay = el('input', { type: 'number', min: '0', step: '1', name: 'advance_delay_seconds', id: 'create-delay', value: '0' });
      const autoRoundEnd = el('input', { type: 'checkbox', name: 'auto_round_end', id: 'create-auto-round-end' });
      const autoPollClose = el('input', { type: 'checkbox', name: 'auto_poll_close', id: 'create-auto-poll-close', checked: true });
      const autoComplete = el('input', { type: 'checkbox', name: 'auto_complete', id: 'create-auto-complete' });
      const line = statusLine({ 'data-testid': 'create-status' });
      const submit = el('button', { type: 'submit', class: 'primary', id: 'create-submit' }, 'Create live event');
      const check = (input, label) => el('label', { class: 'field inline' }, input, label);
      eventSel.addEventListener('change', () => {
        const e = state.events.get(Number(eventSel.value));
        if (e && !start.value) start.value = isoToLocal(e.scheduled_start);
      });
      const form = el(
        'form',
        { id: 'create-live', 'data-testid': 'create-live' },
        field('Event', eventSel),
        field('Start time', start, 'Your local time; empty: set when started'),
        check(featured, 'Featured'),
        el('h3', {}, 'Automation'),
        check(autoStart, 'Start by itself at the start time'),
        field('Remind followers (minutes before)', reminder),
        check(autoAdvance, 'After a result, announce and start the next fight'),
        field('… after (seconds)', delay),
        check(autoRoundEnd, 'End a round when its clock reaches 5:00'),
        check(autoPollClose, 'Close polls at their closing time'),
        check(autoComplete, 'Complete the event after its last fight'),
        el('div', { class: 'row' }, submit),
        line.node,
      );
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        if (!eventSel.value) {
          line.error({ code: 'bad_request', message: 'pick an event' });
          return;
        }
        const settings = {
          auto_start: autoStart.checked,
          auto_advance: autoAdvance.checked,
          advance_delay_seconds: Number(delay.value || 0),
          auto_round_end: autoRoundEnd.checked,
          auto_poll_close: autoPollClose.checked,
          auto_complete: autoComplete.checked,
        };
        if (reminder.value) settings.reminder_minutes = Number(reminder.value);
        const body = { event: Number(eventSel.value), is_featured: featured.checked, settings };
        const iso = localToIso(start.value);
        if (iso) body.start_time = iso;
        const made = await act(submit, line, () => ctx.api('POST', '/api/live/events/', body), (le) => `Created live event #${le.id}.`);
        if (made) {
          form.reset();
          ctx.toast(`Live event #${made.id} created`, 'ok');
          ctx.setEvent(made.id);
          ctx.refreshEvents();
          load();
        }
      });
      return panel('Give an event live coverage', { dataset: { section: 'create' } }, form);
    }

    function fillEventChoices() {
      const sel = root.querySelector('#create-event');
      if (!sel) return;
      const covered = new Set([...state.rows.values()].map((r) => r.event));
      const free = [...state.events.values()].filter((e) => !covered.has(e.id)).sort((a, b) => a.id - b.id);
      const current = sel.value;
      fill(
        sel,
        el('option', { value: '' }, free.length ? '— pick an event —' : 'every event has live coverage'),
        free.map((e) => el('option', { value: String(e.id), selected: String(e.id) === current }, `${e.name} · ${when(e.scheduled_start)}`)),
      );
    }

    load();
    const timer = setInterval(load, 15000);
    const offEvent = ctx.onEvent(() => render());
    return () => {
      clearInterval(timer);
      offEvent();
      for (const off of state.subs.values()) off();
      state.subs.clear();
      state.generation++;
    };
  },
};

