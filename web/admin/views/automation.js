// The automation view (`/admin/#/automation`): the picked live event's
// automation switches (PATCH /api/live/events/{id}/, admin), its upcoming
// jobs counting down to their due time with a cancel (after a
// confirmation), and the history of jobs done, skipped, failed or
// cancelled, from GET /api/live/events/{id}/automation/ (every 3 s, and at
// once when the event's state changes).

import { el, fill, statusLine, act, when, clockTime, serverMs as ms, panel, field, follow } from '../lib.js';
import { duration, noEvent, every, tag, styles, eventTitle, followPicked } from './kit.js';

const REFRESH_MS = 3000;

// The switches, as the API names them, with what each does.
const SWITCHES = [
  ['auto_start', 'Start the event at its start time'],
  ['auto_advance', 'Announce the next fight and start it after a result'],
  ['auto_round_end', 'End a round when its clock reaches 5:00 (unless paused)'],
  ['auto_poll_close', 'Close polls at their closing time'],
  ['auto_complete', 'Complete the event after its last fight'],
];

const KINDS = {
  auto_start: 'start the event',
  reminder: 'remind followers',
  advance: 'start the next fight',
  round_end: 'end the round',
  poll_close: 'close the poll',
  complete: 'complete the event',
};

export default {
  id: 'automation',
  title: 'Automation',
  roles: ['moderator', 'admin'],
  mount(root, ctx) {
    styles();
    const view = el('div', { class: 'b-view b-automation', dataset: { testid: 'view-automation' } });
    fill(root, view);
    const admin = ctx.user && ctx.user.role === 'admin';

    /** The view for one picked event; answers its stop. */
    function mountEvent(event) {
      const line = statusLine({ dataset: { testid: 'automation-status' } });
      const settingsLine = statusLine({ dataset: { testid: 'settings-status' } });
      const switches = el('div', { class: 'b-switches', id: 'switches', dataset: { testid: 'switches' } });
      const pending = el('tbody', {});
      const history = el('tbody', {});
      const pendingEmpty = el('p', { class: 'empty' }, 'No job is waiting.');
      const historyEmpty = el('p', { class: 'empty' }, 'Nothing has run yet.');
      fill(view,
        el('div', { class: 'b-toolbar' }, el('h2', {}, eventTitle(ctx, event)), line.node),
        el('div', { class: 'grid-2' },
          panel('Switches', { id: 'automation-switches' },
            admin ? null : el('p', { class: 'muted' }, 'Only an admin can change these; the server refuses anyone else.'),
            switches, settingsLine.node),
          panel('Upcoming jobs', { id: 'automation-pending' },
            el('div', { class: 'b-scroll' }, el('table', { dataset: { testid: 'jobs-pending' } },
              el('thead', {}, el('tr', {}, ['Job', 'What', 'Due', 'In', ''].map((h) => el('th', { scope: 'col' }, h)))), pending)),
            pendingEmpty)),
        panel('History', { id: 'automation-history' },
          el('div', { class: 'b-scroll' }, el('table', { dataset: { testid: 'jobs-history' } },
            el('thead', {}, el('tr', {}, ['Job', 'What', 'Status', 'Due', 'Fired', 'Outcome'].map((h) => el('th', { scope: 'col' }, h)))), history)),
          historyEmpty));

      let settingsKey = '';
      let jobsKey = '';

      async function refresh() {
        let a;
        try {
          a = await ctx.api('GET', `/api/live/events/${event}/automation/`);
        } catch (e) {
          line.error(e);
          return;
        }
        line.clear();
        const sKey = JSON.stringify(a.settings || {});
        // A switch being edited is not redrawn under the operator's hand.
        if (sKey !== settingsKey && !switches.contains(document.activeElement)) {
          settingsKey = sKey;
          renderSwitches(a.settings || {});
        }
        const jKey = JSON.stringify(a.jobs || []);
        if (jKey !== jobsKey) {
          jobsKey = jKey;
          renderJobs(a.jobs || []);
        }
      }

      async function patch(settings, control) {
        const answer = await act(control, settingsLine, () => ctx.api('PATCH', `/api/live/events/${event}/`, { settings }));
        if (answer === undefined) {
          settingsKey = ''; // redraw from the server's truth
        } else {
          settingsLine.ok(`Saved: ${Object.keys(settings).join(', ')}`);
        }
        refresh();
      }

      function renderSwitches(s) {
        const toggles = SWITCHES.map(([key, text]) => {
          const box = el('input', { type: 'checkbox', id: `sw-${key}`, checked: !!s[key], disabled: !admin, dataset: { setting: key } });
          box.addEventListener('change', () => patch({ [key]: box.checked }, box));
          return el('label', { class: 'b-switch', for: `sw-${key}` }, box, el('span', {}, el('code', {}, key), ' ', text));
        });
        const numberSetting = (key, text, min, allowNull) => {
          const input = el('input', { type: 'number', id: `sw-${key}`, min: String(min), value: s[key] === null || s[key] === undefined ? '' : String(s[key]), disabled: !admin, placeholder: allowNull ? 'off' : '', dataset: { setting: key } });
          input.addEventListener('change', () => {
            const v = input.value.trim();
            patch({ [key]: v === '' ? (allowNull ? null : 0) : Number(v) }, input);
          });
          return field(text, input, el('code', {}, key));
        };
        fill(switches, toggles,
          numberSetting('reminder_minutes', 'Remind followers this many minutes before the start (empty: off)', 1, true),
          numberSetting('advance_delay_seconds', 'Seconds between a result and the next fight’s start', 0, false));
      }

      function renderJobs(jobs) {
        const waiting = jobs.filter((j) => j.status === 'pending');
        const done = jobs.filter((j) => j.status !== 'pending');
        pendingEmpty.hidden = waiting.length > 0;
        historyEmpty.hidden = done.length > 0;
        fill(pending, waiting.map((j) => {
          const rowLine = statusLine();
          return el('tr', { dataset: { jobId: String(j.id), kind: j.kind, status: j.status } },
            el('td', {}, String(j.id)),
            el('td', {}, what(j)),
            el('td', {}, clockTime(j.due_at)),
            el('td', { class: 'num', dataset: { dueAt: j.due_at, testid: 'countdown' } }, countdown(j.due_at)),
            el('td', {},
              el('button', {
                type: 'button', dataset: { action: 'cancel' },
                onclick: async (e) => {
                  const button = e.currentTarget;
                  if (!(await ctx.confirm(`Cancel job ${j.id}: ${what(j)}, due ${when(j.due_at)}?`))) return;
                  const after = await act(button, rowLine, () => ctx.api('POST', `/api/live/automation/${j.id}/cancel/`));
                  if (after) {
                    ctx.toast(`Job ${j.id} ${after.status}`, 'ok');
                    refresh();
                  }
                },
              }, 'Cancel…'),
              rowLine.node));
        }));
        fill(history, done.map((j) => el('tr', { dataset: { jobId: String(j.id), kind: j.kind, status: j.status } },
          el('td', {}, String(j.id)),
          el('td', {}, what(j)),
          el('td', {}, tag(j.status, { dataset: { testid: 'job-status' } })),
          el('td', {}, when(j.due_at)),
          el('td', {}, j.fired_at ? when(j.fired_at) : '–'),
          el('td', { class: 'small' }, j.outcome || ''))));
      }

      const stopTick = every(1000, () => {
        for (const node of pending.querySelectorAll('[data-due-at]')) node.textContent = countdown(node.dataset.dueAt);
      });
      const stopRefresh = every(REFRESH_MS, refresh);
      // A state change (a start, a result, a round) may fire or plan jobs.
      const off = follow(ctx.client, `event:${event}`, {
        onFrame: (frame) => {
          if (frame.type === 'event_state' || frame.type === 'fight_state' || frame.type === 'poll') refresh();
        },
        onError: (e) => line.error(e),
      });
      return () => {
        stopTick();
        stopRefresh();
        off();
      };
    }

    return followPicked(ctx, {
      empty: () => fill(view, panel('Automation', {}, noEvent('automation'))),
      mountFor: mountEvent,
    });
  },
};

function what(j) {
  const base = KINDS[j.kind] || j.kind;
  const bits = [];
  if (j.live_fight) bits.push(`fight ${j.live_fight}`);
  if (j.round) bits.push(`round ${j.round}`);
  if (j.poll) bits.push(`poll ${j.poll}`);
  return bits.length ? `${base} (${bits.join(', ')})` : base;
}

function countdown(iso) {
  const s = (ms(iso) - Date.now()) / 1000;
  if (!Number.isFinite(s)) return '–';
  return s > 0 ? duration(s) : 'due now';
}
