// The card editor of a live event (`/admin/#/card/<live event id>`, or the
// picked one): its fights in card order (the main event is 1), adding a
// fight, moving fights up and down the card, each fight's referee and three
// judges, and a late replacement (a new fighter in a corner, which viewers
// see as the card changing). Live on `event:{id}`.

import { act, el, fetchAll, field, fighterName, fill, panel, resultText, select, statusLine, STATUS } from '../lib.js';

/** Where a fight waits while two swap slots (card_order is unique per event). */
const PARKING = 100;

export default {
  id: 'card',
  title: 'Card',
  roles: ['admin'],
  mount(root, ctx, arg) {
    const state = { id: arg && /^\d+$/.test(arg) ? Number(arg) : ctx.event, live: null, fighters: [], divisions: [], generation: 0, sub: null };
    const status = statusLine({ 'data-testid': 'card-status' });
    const list = el('ol', { class: 'list card-list', 'data-testid': 'card-fights' });
    const addBox = el('div');
    const heading = el('h1', {}, 'Card');
    fill(root, heading, status.node, el('div', { class: 'card-grid' }, panel('Fights, main event first', {}, list), addBox));

    if (arg && /^\d+$/.test(arg) && Number(arg) !== ctx.event) ctx.setEvent(Number(arg));

    async function load() {
      const generation = ++state.generation;
      if (!state.id) {
        heading.textContent = 'Card';
        fill(list, el('li', { class: 'muted' }, 'Pick a live event in the header.'));
        fill(addBox);
        return;
      }
      try {
        const [live, fighters, divisions] = await Promise.all([
          ctx.api('GET', `/api/live/events/${state.id}/`),
          fetchAll('/api/fighters/', 5000),
          state.divisions.length ? state.divisions : fetchAll('/api/divisions/', 500),
        ]);
        if (generation !== state.generation) return;
        state.live = live;
        state.fighters = fighters;
        state.divisions = divisions;
        render();
      } catch (err) {
        status.error(err);
      }
    }

    function follow() {
      if (state.sub) state.sub.unsubscribe();
      state.sub = null;
      if (!state.id || !ctx.client) return;
      state.sub = ctx.client.subscribe(`event:${state.id}`, {
        onSubscribed: () => load(),
        onResync: () => load(),
        onFrame: (frame) => {
          if (frame.type === 'event_state') load();
          else if (frame.type === 'fight_state' && frame.data && state.live) {
            const { transition: _t, ...fight } = frame.data;
            state.live.fights = (state.live.fights || []).map((f) => (f.id === fight.id ? fight : f));
            renderSoon();
          }
        },
      });
    }

    /** A frame's redraw waits while someone types in a form of the card. */
    let soon = null;
    function renderSoon() {
      if (soon) return;
      const again = () => {
        const a = document.activeElement;
        if (a && root.contains(a) && (a.tagName === 'INPUT' || a.tagName === 'SELECT')) {
          soon = setTimeout(again, 1000);
          return;
        }
        soon = null;
        render();
      };
      again();
    }

    function fights() {
      return [...((state.live && state.live.fights) || [])].sort((a, b) => a.card_order - b.card_order);
    }

    function render() {
      const live = state.live;
      const d = live.event_detail || {};
      heading.textContent = `Card · ${d.name || `live event ${live.id}`}`;
      const all = fights();
      fill(list, all.length ? all.map((f, i) => fightItem(f, all[i - 1], all[i + 1])) : el('li', { class: 'muted' }, 'No fights yet.'));
      fill(addBox, addForm(all));
    }

    const fighterOptions = (exclude, division) =>
      state.fighters
        .filter((f) => !exclude.includes(f.id) && (!division || !f.division || f.division === division))
        .sort((a, b) => fighterName(a).localeCompare(fighterName(b)))
        .map((f) => [f.id, `${fighterName(f)}${f.wins !== undefined ? ` (${f.wins}-${f.losses})` : ''}`]);

    function fightItem(f, above, below) {
      const line = statusLine();
      const upcoming = f.status === 'upcoming';
      const label = f.card_order === 1 ? 'Main event' : `Bout ${f.card_order}`;
      const move = (other, text) =>
        el(
          'button',
          {
            type: 'button',
            dataset: { action: text === '↑' ? 'up' : 'down' },
            'aria-label': `Move ${label} ${text === '↑' ? 'up' : 'down'} the card`,
            disabled: !other || !upcoming || other.status !== 'upcoming',
            onclick: async (e) => {
              const done = await act(e.currentTarget, line, () => swap(f, other).then(() => true));
              if (done) ctx.toast(`${fighterName(f.red_fighter)} vs ${fighterName(f.blue_fighter)} is now ${other.card_order === 1 ? 'the main event' : `bout ${other.card_order}`}`, 'ok');
            },
          },
          text,
        );
      const officials = f.officials;
      return el(
        'li',
        { dataset: { liveFight: f.id, fight: f.fight, status: f.status, order: f.card_order } },
        el(
          'div',
          { class: 'row' },
          el('strong', {}, label),
          f.is_title_fight ? el('span', { class: 'badge' }, 'Title') : null,
          el('span', { class: 'muted' }, `${f.scheduled_rounds} rounds`),
          el('span', { class: 'badge', dataset: { status: f.status } }, STATUS[f.status] || f.status),
          el('span', { class: 'grow' }),
          move(above, '↑'),
          move(below, '↓'),
          el('button', { type: 'button', dataset: { action: 'console' }, onclick: () => ctx.go(`fight/${f.id}`) }, 'Fight console'),
        ),
        el('p', { class: 'names' }, el('span', { class: 'red-t' }, fighterName(f.red_fighter)), ' vs ', el('span', { class: 'blue-t' }, fighterName(f.blue_fighter))),
        f.result ? el('p', { class: 'muted' }, resultText(f)) : null,
        el(
          'p',
          { class: 'muted small', dataset: { officials: officials ? 'set' : 'missing' } },
          officials ? `Referee ${officials.referee} · judges ${officials.judges.join(', ')}` : 'No officials yet.',
        ),
        upcoming
          ? el(
              'details',
              { class: 'edit', open: !officials ? true : null },
              el('summary', {}, officials ? 'Officials and late replacement' : 'Assign the officials'),
              officialsForm(f, line),
              replacementForm(f, line),
            )
          : null,
        line.node,
      );
    }

    /** Two fights trade slots: one parks, the other moves, the first lands. */
    async function swap(a, b) {
      const patch = (fight, order) => ctx.api('PATCH', `/api/fights/${fight}/`, { card_order: order });
      const taken = new Set(fights().map((f) => f.card_order));
      let parking = PARKING;
      while (taken.has(parking)) parking--;
      await patch(a.fight, parking);
      try {
        await patch(b.fight, a.card_order);
      } catch (err) {
        await patch(a.fight, a.card_order).catch(() => {});
        throw err;
      }
      await patch(a.fight, b.card_order);
      await load();
    }

    function officialsForm(f, line) {
      const o = f.officials || { referee: '', judges: ['', '', ''] };
      const referee = el('input', { type: 'text', name: 'referee', value: o.referee, required: true, maxlength: '100' });
      const judges = [0, 1, 2].map((i) => el('input', { type: 'text', name: `judge${i + 1}`, value: o.judges[i] || '', required: true, maxlength: '100' }));
      const submit = el('button', { type: 'submit' }, f.officials ? 'Change officials' : 'Assign officials');
      const form = el(
        'form',
        { class: 'officials row', dataset: { form: 'officials' } },
        field('Referee', referee),
        judges.map((j, i) => field(`Judge ${i + 1}`, j)),
        submit,
      );
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        const body = { referee: referee.value.trim(), judges: judges.map((j) => j.value.trim()) };
        const fight = await act(submit, line, () => ctx.api('POST', `/api/live/fights/${f.id}/officials/`, body), 'Officials assigned.');
        if (fight) {
          state.live.fights = state.live.fights.map((x) => (x.id === fight.id ? fight : x));
          render();
        }
      });
      return form;
    }

    function replacementForm(f, line) {
      const corner = select({ name: 'corner' }, [['red', 'Red corner'], ['blue', 'Blue corner']], 'red');
      const fighter = select({ name: 'fighter' }, [['', '— new fighter —'], ...fighterOptions([f.red_fighter.id, f.blue_fighter.id], f.division)], '');
      const submit = el('button', { type: 'submit' }, 'Replace');
      const form = el('form', { class: 'replacement row', dataset: { form: 'replacement' } }, el('span', { class: 'field-label' }, 'Late replacement'), corner, fighter, submit);
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        if (!fighter.value) return line.error({ code: 'bad_request', message: 'pick the new fighter' });
        const who = state.fighters.find((x) => String(x.id) === fighter.value);
        const out = fighterName(corner.value === 'red' ? f.red_fighter : f.blue_fighter);
        if (!(await ctx.confirm(`Replace ${out} (${corner.value}) with ${fighterName(who)}? Viewers see the card change.`, { okText: 'Replace' }))) return;
        const body = corner.value === 'red' ? { red_fighter: Number(fighter.value) } : { blue_fighter: Number(fighter.value) };
        const done = await act(submit, line, () => ctx.api('PATCH', `/api/fights/${f.fight}/`, body), `${fighterName(who)} replaces ${out}.`);
        if (done) load();
      });
      return form;
    }

    function addForm(all) {
      const taken = new Set(all.map((f) => f.card_order));
      let next = 1;
      while (taken.has(next)) next++;
      const red = select({ name: 'red_fighter', id: 'add-red' }, [['', '—'], ...fighterOptions([])], '');
      const blue = select({ name: 'blue_fighter', id: 'add-blue' }, [['', '—'], ...fighterOptions([])], '');
      const division = select({ name: 'division', id: 'add-division' }, [['', '—'], ...state.divisions.map((d) => [d.id, d.name])], '');
      const rounds = select({ name: 'scheduled_rounds', id: 'add-rounds' }, [['3', '3 rounds'], ['5', '5 rounds']], next === 1 ? '5' : '3');
      const order = el('input', { type: 'number', min: '1', max: '100', name: 'card_order', id: 'add-order', value: String(next) });
      const title = el('input', { type: 'checkbox', name: 'is_title_fight', id: 'add-title' });
      const submit = el('button', { type: 'submit', class: 'primary', id: 'add-submit' }, 'Add the fight');
      const line = statusLine({ 'data-testid': 'add-status' });
      const form = el(
        'form',
        { id: 'add-fight' },
        el('div', { class: 'grid-2' }, field('Red corner', red), field('Blue corner', blue)),
        el('div', { class: 'grid-3' }, field('Division', division), field('Rounds', rounds), field('Card slot (1 = main event)', order)),
        el('label', { class: 'field inline' }, title, 'Title fight'),
        submit,
        line.node,
      );
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        const body = {
          event: state.live.event,
          red_fighter: Number(red.value) || null,
          blue_fighter: Number(blue.value) || null,
          division: Number(division.value) || null,
          scheduled_rounds: Number(rounds.value),
          card_order: Number(order.value),
          is_title_fight: title.checked,
        };
        const made = await act(submit, line, () => ctx.api('POST', '/api/fights/', body), 'Added to the card.');
        if (made) load();
      });
      return panel('Add a fight', {}, form);
    }

    const offEvent = ctx.onEvent((id) => {
      state.id = id;
      state.live = null;
      follow();
      load();
    });
    follow();
    load();
    return () => {
      offEvent();
      clearTimeout(soon);
      if (state.sub) state.sub.unsubscribe();
      state.generation++;
    };
  },
};
