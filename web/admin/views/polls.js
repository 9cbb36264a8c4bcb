// The polls view (`/admin/#/polls`): create a poll on the picked live event
// (question, options, an optional closing time), open it, close it, and
// watch its tallies move live (`poll` frames on `event:{id}`).

import { el, fill, statusLine, act, when, serverMs, localToIso, fighterName, panel, field, follow } from '../lib.js';
import { duration, noEvent, every, tag, styles, eventTitle, followPicked } from './kit.js';

export default {
  id: 'polls',
  title: 'Polls',
  roles: ['moderator', 'admin'],
  mount(root, ctx) {
    styles();
    const view = el('div', { class: 'b-view b-polls', dataset: { testid: 'view-polls' } });
    fill(root, view);

    /** The view for one picked event; answers its stop. */
    function mountEvent(event) {
      const polls = new Map();
      const fights = new Map();
      const list = el('div', { class: 'b-polls-list', id: 'polls', dataset: { testid: 'polls' } });
      const empty = el('p', { class: 'empty' }, 'No polls on this event yet.');
      const listLine = statusLine({ dataset: { testid: 'polls-status' } });

      const question = el('input', { type: 'text', id: 'poll-question', maxlength: '300', required: true, dataset: { testid: 'poll-question' } });
      const options = el('textarea', { id: 'poll-options', rows: '4', required: true, placeholder: 'One option a line (2 to 20)', dataset: { testid: 'poll-options' } });
      const fight = el('select', { id: 'poll-fight' }, el('option', { value: '' }, 'The whole event'));
      const closes = el('input', { type: 'datetime-local', id: 'poll-closes', dataset: { testid: 'poll-closes' } });
      const createLine = statusLine({ dataset: { testid: 'poll-create-status' } });
      const form = el('form', {
        dataset: { testid: 'poll-form' },
        onsubmit: async (e) => {
          e.preventDefault();
          const body = {
            live_event: event,
            live_fight: fight.value ? Number(fight.value) : null,
            question: question.value.trim(),
            options: options.value.split('\n').map((o) => o.trim()).filter(Boolean),
          };
          // Only sent when set: a server without automatic closing refuses the field.
          if (closes.value) body.closes_at = localToIso(closes.value);
          const poll = await act(e.submitter, createLine, () => ctx.api('POST', '/api/live/polls/', body));
          if (!poll) return;
          createLine.ok(`Poll ${poll.id} created as a draft: open it when ready.`);
          question.value = '';
          options.value = '';
          closes.value = '';
          put(poll);
        },
      },
      field('Question', question),
      field('Options', options),
      field('About', fight),
      field('Closes at (optional)', closes, 'closed by itself then, when automation closes polls'),
      el('button', { type: 'submit' }, 'Create draft'),
      createLine.node);

      fill(view,
        el('div', { class: 'grid-2' },
          panel(`New poll · ${eventTitle(ctx, event)}`, { id: 'poll-create' }, form),
          panel('Polls', { id: 'poll-list' }, listLine.node, list, empty)));

      function put(p) {
        if (!p || p.id === undefined || p.live_event !== event) return;
        polls.set(p.id, { ...polls.get(p.id), ...p });
        render();
      }

      function render() {
        const items = [...polls.values()].sort((a, b) => rank(a) - rank(b) || b.id - a.id);
        empty.hidden = items.length > 0;
        fill(list, items.map(card));
      }

      function card(p) {
        const line = statusLine();
        const total = p.total_votes ?? (p.options || []).reduce((n, o) => n + (o.votes || 0), 0);
        const transition = (what) => async (e) => {
          const after = await act(e.currentTarget, line, () => ctx.api('POST', `/api/live/polls/${p.id}/${what}/`));
          if (after) {
            put(after);
            ctx.toast(`Poll ${p.id} ${after.status}`, 'ok');
          }
        };
        const closing = p.closes_at && p.status !== 'closed' ? el('span', { class: 'muted', dataset: { closesAt: p.closes_at } }, `closes at ${when(p.closes_at)} (${left(p.closes_at)})`) : null;
        return el('article', { class: `b-poll ${p.status}`, dataset: { pollId: String(p.id), status: p.status, testid: 'poll' } },
          el('header', { class: 'row' },
            el('strong', {}, p.question),
            tag(p.status, { dataset: { testid: 'poll-status' } }),
            p.live_fight ? el('span', { class: 'muted' }, fights.get(p.live_fight) || `fight ${p.live_fight}`) : null),
          el('ul', { class: 'b-tally' }, (p.options || []).map((o) => {
            const share = total > 0 ? Math.round((100 * (o.votes || 0)) / total) : 0;
            return el('li', { dataset: { optionId: String(o.id), votes: String(o.votes || 0) } },
              el('span', { class: 'b-tally-text' }, o.text),
              el('meter', { min: '0', max: '100', value: String(share), 'aria-label': `${o.text}: ${share}%` }),
              el('span', { class: 'b-tally-n', dataset: { testid: 'votes' } }, `${o.votes || 0} · ${share}%`));
          })),
          el('p', { class: 'muted' }, el('span', { dataset: { testid: 'poll-total' } }, `${total} vote${total === 1 ? '' : 's'}`),
            p.opened_at ? ` · opened ${when(p.opened_at)}` : '', p.closed_at ? ` · closed ${when(p.closed_at)}` : '', ' ', closing),
          el('div', { class: 'row' },
            p.status === 'draft' ? el('button', { type: 'button', dataset: { action: 'open' }, onclick: transition('open') }, 'Open') : null,
            p.status === 'open' ? el('button', { type: 'button', dataset: { action: 'close' }, onclick: transition('close') }, 'Close') : null),
          line.node);
      }

      async function load() {
        try {
          const page = await ctx.api('GET', `/api/live/polls/?event=${event}&limit=200`);
          for (const p of page.results || []) put(p);
          listLine.clear();
        } catch (e) {
          listLine.error(e);
        }
      }

      ctx.api('GET', `/api/live/events/${event}/`).then((d) => {
        for (const f of (d && d.fights) || []) {
          const name = `${fighterName(f.red_fighter)} vs ${fighterName(f.blue_fighter)}`;
          fights.set(f.id, name);
          fight.append(el('option', { value: String(f.id) }, name));
        }
        render();
      }).catch(() => {});

      const off = follow(ctx.client, `event:${event}`, {
        onSubscribed: () => {
          list.dataset.live = 'true';
          load();
        },
        onFrame: (frame) => {
          if (frame.type === 'poll') put(frame.data);
        },
        onResync: () => load(),
        onError: (e) => listLine.error(e),
      });
      // Closing countdowns move each second; tallies come by frame.
      const stopTick = every(1000, () => {
        for (const node of list.querySelectorAll('[data-closes-at]')) {
          node.textContent = `closes at ${when(node.dataset.closesAt)} (${left(node.dataset.closesAt)})`;
        }
      });
      return () => {
        off();
        stopTick();
      };
    }

    return followPicked(ctx, {
      empty: () => fill(view, panel('Polls', {}, noEvent('polls'))),
      mountFor: mountEvent,
    });
  },
};

/** Open first, then drafts, then closed. */
function rank(p) {
  return { open: 0, draft: 1, closed: 2 }[p.status] ?? 3;
}

function left(iso) {
  const s = (serverMs(iso) - Date.now()) / 1000;
  return s > 0 ? `in ${duration(s)}` : 'due';
}
