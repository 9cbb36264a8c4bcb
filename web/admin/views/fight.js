// The fight console (`/admin/#/fight/<live fight id>`, or the picked event's
// current fight): start the fight; start, pause, resume and end rounds with
// the clock running on screen (computed from the fight state's clock fields
// and the server's time, as the viewer page does); set the clock; stats per
// corner from the keyboard; each judge's score per round; fouls and point
// deductions; the result (the engine's refusals shown as they come:
// status, code, message); the amendment; the timeline. Live on
// `fight:{id}` (and `event:{id}` for the card's other fights).

import {
  act,
  clockFace,
  clockReading,
  el,
  field,
  fighterName,
  fill,
  METHODS,
  mss,
  panel,
  parseMss,
  resultText,
  select,
  serverClock,
  statusLine,
  STATUS,
  clockTime,
} from '../lib.js';

/**
 * The keys, per corner: what each adds to the round's counters. A landed
 * strike is significant and counts as attempted too.
 */
const KEYS = [
  { key: 'q', corner: 'red', label: 'Landed', long: 'Significant strike landed', add: ['significant_strikes_landed', 'significant_strikes_attempted', 'strikes_landed', 'strikes_attempted'] },
  { key: 'a', corner: 'red', label: 'Missed', long: 'Strike missed', add: ['significant_strikes_attempted', 'strikes_attempted'] },
  { key: 'w', corner: 'red', label: 'Takedown', long: 'Takedown landed', add: ['takedowns_landed', 'takedowns_attempted'] },
  { key: 's', corner: 'red', label: 'TD stuffed', long: 'Takedown stuffed', add: ['takedowns_attempted'] },
  { key: 'e', corner: 'red', label: 'Knockdown', long: 'Knockdown', add: ['knockdowns'] },
  { key: 'd', corner: 'red', label: 'Sub. try', long: 'Submission attempt', add: ['submission_attempts'] },
  { key: 'u', corner: 'blue', label: 'Landed', long: 'Significant strike landed', add: ['significant_strikes_landed', 'significant_strikes_attempted', 'strikes_landed', 'strikes_attempted'] },
  { key: 'j', corner: 'blue', label: 'Missed', long: 'Strike missed', add: ['significant_strikes_attempted', 'strikes_attempted'] },
  { key: 'i', corner: 'blue', label: 'Takedown', long: 'Takedown landed', add: ['takedowns_landed', 'takedowns_attempted'] },
  { key: 'k', corner: 'blue', label: 'TD stuffed', long: 'Takedown stuffed', add: ['takedowns_attempted'] },
  { key: 'o', corner: 'blue', label: 'Knockdown', long: 'Knockdown', add: ['knockdowns'] },
  { key: 'l', corner: 'blue', label: 'Sub. try', long: 'Submission attempt', add: ['submission_attempts'] },
];

const STAT_ROWS = [
  ['Significant strikes', (c) => `${c.significant_strikes_landed ?? 0} / ${c.significant_strikes_attempted ?? 0}`],
  ['Total strikes', (c) => `${c.strikes_landed ?? 0} / ${c.strikes_attempted ?? 0}`],
  ['Takedowns', (c) => `${c.takedowns_landed ?? 0} / ${c.takedowns_attempted ?? 0}`],
  ['Knockdowns', (c) => String(c.knockdowns ?? 0)],
  ['Submission attempts', (c) => String(c.submission_attempts ?? 0)],
  ['Control', (c) => mss(c.control_time_s ?? 0)],
];

const SCORES = [['', '–'], ['10-9', '10-9'], ['9-10', '9-10'], ['10-8', '10-8'], ['8-10', '8-10'], ['10-10', '10-10'], ['10-7', '10-7'], ['7-10', '7-10']];

const DECISIONS = ['unanimous_decision', 'split_decision', 'majority_decision', 'unanimous_draw', 'split_draw', 'majority_draw', 'technical_decision', 'technical_draw'];
const DRAWS = ['unanimous_draw', 'split_draw', 'majority_draw', 'technical_draw', 'no_contest'];

export default {
  id: 'fight',
  title: 'Fight console',
  roles: ['moderator', 'admin'],
  mount(root, ctx, arg) {
    const state = {
      id: arg && /^\d+$/.test(arg) ? Number(arg) : null,
      fight: null,
      event: null,
      cards: null,
      timeline: new Map(),
      subFight: null,
      subEvent: null,
      statsRound: null,
      local: new Map(),
      queue: Promise.resolve(),
      pending: 0,
      generation: 0,
    };
    const status = statusLine({ 'data-testid': 'fight-status' });
    const refs = {};

    // ---- Layout (built once; parts are filled as the state changes)

    refs.picker = el('div', { class: 'row fight-picker', 'data-testid': 'fight-picker' });
    refs.red = el('div', { class: 'corner red', 'data-testid': 'red-name' }, '–');
    refs.blue = el('div', { class: 'corner blue', 'data-testid': 'blue-name' }, '–');
    refs.clock = el('div', { class: 'clock', role: 'timer', 'aria-live': 'off', 'data-testid': 'clock' }, '5:00');
    refs.round = el('div', { class: 'round-label', 'data-testid': 'round' }, '–');
    refs.note = el('div', { class: 'muted' });
    refs.fightStatus = el('span', { class: 'badge', 'data-testid': 'fight-state' });
    refs.result = el('p', { class: 'result-box', 'data-testid': 'result', hidden: true });
    refs.controls = el('div', { class: 'controls', 'data-testid': 'controls' });
    refs.controlStatus = statusLine({ 'data-testid': 'control-status' });
    refs.clockForm = clockForm();
    refs.stats = el('div', { 'data-testid': 'stats' });
    refs.statStatus = statusLine({ 'data-testid': 'stat-status' });
    refs.scores = el('div', { class: 'score-grid', 'data-testid': 'scores' });
    refs.scoreStatus = statusLine({ 'data-testid': 'score-status' });
    refs.fouls = el('div', { 'data-testid': 'fouls' });
    refs.resultForm = el('div', { 'data-testid': 'result-form' });
    refs.timeline = el('ol', { class: 'list timeline', 'data-testid': 'timeline', reversed: true });

    fill(
      root,
      el('div', { class: 'row' }, el('h1', { class: 'grow' }, 'Fight console'), refs.fightStatus),
      refs.picker,
      status.node,
      el(
        'div',
        { class: 'fight-grid' },
        el(
          'div',
          {},
          panel(
            null,
            { class: 'panel now' },
            el('div', { class: 'fight-head' }, refs.red, el('div', { class: 'clockbox' }, refs.round, refs.clock, refs.note), refs.blue),
            refs.result,
            el('div', { class: 'controls-row' }, refs.controls, refs.controlStatus.node, refs.clockForm),
          ),
          panel('Stats (keyboard)', { 'data-testid': 'stats-panel' }, refs.stats, refs.statStatus.node),
        ),
        el(
          'div',
          {},
          panel("Judges' scores", {}, refs.scores, refs.scoreStatus.node),
          panel('Result', {}, refs.resultForm),
          panel('Fouls and deductions', {}, refs.fouls),
          panel('Timeline', {}, refs.timeline),
        ),
      ),
    );

    // ---- Loading and following

    async function loadEvent() {
      const eventId = ctx.event;
      if (!eventId) {
        state.event = null;
        renderPicker();
        return;
      }
      try {
        state.event = await ctx.api('GET', `/api/live/events/${eventId}/`);
        for (const f of state.event.fights || []) if (f.clock) serverClock.sample(f.clock.server_time);
      } catch (err) {
        status.error(err);
        return;
      }
      if (state.id === null) {
        const current = state.event.current_fight;
        const fights = [...(state.event.fights || [])].sort((a, b) => b.card_order - a.card_order);
        const pick = (current && fights.find((f) => f.id === current && f.status !== 'completed'))
          || fights.find((f) => f.status === 'in_progress')
          || fights.find((f) => f.status === 'upcoming');
        if (pick) return choose(pick.id);
      }
      renderPicker();
    }

    function choose(id) {
      if (id === state.id && state.fight) return;
      state.id = id;
      state.fight = null;
      state.cards = null;
      state.timeline = new Map();
      state.local.clear();
      state.statsRound = null;
      history.replaceState(null, '', `/admin/#/fight/${id}`);
      followFight();
      renderPicker();
      render();
    }

    function followFight() {
      if (state.subFight) state.subFight.unsubscribe();
      state.subFight = null;
      if (!state.id || !ctx.client) return;
      const generation = ++state.generation;
      const mine = (fn) => (...a) => generation === state.generation && fn(...a);
      state.subFight = ctx.client.subscribe(`fight:${state.id}`, {
        onSubscribed: mine((snapshot) => {
          setFight(snapshot, true);
          loadTimeline();
        }),
        onResync: mine((snapshot) => {
          setFight(snapshot, true);
          loadTimeline();
        }),
        onFrame: mine((frame) => {
          if (frame.type !== 'fight_state' || !frame.data) return;
          const { transition, ...fight } = frame.data;
          setFight(fight, false);
          if (transition) addTimeline([{ ...transition, seq: transition.seq ?? frame.seq }]);
        }),
        onError: mine((err) => status.error(err)),
      });
    }

    function followEvent() {
      if (state.subEvent) state.subEvent.unsubscribe();
      state.subEvent = null;
      if (!ctx.event || !ctx.client) return;
      state.subEvent = ctx.client.subscribe(`event:${ctx.event}`, {
        onFrame: (frame) => {
          if (!state.event) return;
          if (frame.type === 'event_state' && frame.data) {
            state.event = { ...state.event, ...frame.data, fights: frame.data.fights || state.event.fights };
            renderPicker();
          } else if (frame.type === 'fight_state' && frame.data) {
            const { transition: _t, ...fight } = frame.data;
            state.event.fights = (state.event.fights || []).map((f) => (f.id === fight.id ? fight : f));
            renderPicker();
          }
        },
      });
    }

    function setFight(fight, whole) {
      if (!fight || (state.id && fight.id !== state.id)) return;
      if (fight.clock) serverClock.sample(fight.clock.server_time);
      state.fight = whole ? fight : { ...(state.fight || {}), ...fight };
      if (Array.isArray(fight.timeline)) addTimeline(fight.timeline);
      if (state.pending === 0) state.local.clear();
      if (state.event && state.event.fights) state.event.fights = state.event.fights.map((f) => (f.id === fight.id ? { ...f, ...fight } : f));
      render();
      loadCards();
    }

    async function loadTimeline() {
      const id = state.id;
      try {
        const page = await ctx.api('GET', `/api/live/fights/${id}/timeline/`);
        if (id === state.id) addTimeline((page && page.results) || []);
      } catch (err) {
        console.warn('timeline', err);
      }
    }

    let cardsWanted = 0;
    async function loadCards() {
      const id = state.id;
      const ticket = ++cardsWanted;
      try {
        const answer = await ctx.api('GET', `/api/live/fights/${id}/scorecards/`);
        if (id !== state.id || ticket !== cardsWanted) return;
        state.cards = answer;
        renderScores();
      } catch (err) {
        if (ticket === cardsWanted) refs.scoreStatus.error(err);
      }
    }

    // ---- Rendering

    function fightLabel(f) {
      return `${f.card_order === 1 ? 'Main event' : `Bout ${f.card_order}`}: ${fighterName(f.red_fighter)} vs ${fighterName(f.blue_fighter)}`;
    }

    /** Last names only on a long card, so the picker stays on a line or two. */
    function short(fighter, n) {
      const full = fighterName(fighter);
      return n > 4 ? full.split(' ').pop() : full;
    }

    function renderPicker() {
      const fights = state.event ? [...(state.event.fights || [])].sort((a, b) => b.card_order - a.card_order) : [];
      if (!ctx.event) {
        fill(refs.picker, el('p', { class: 'muted' }, 'Pick a live event in the header.'));
        return;
      }
      fill(
        refs.picker,
        el('span', { class: 'field-label' }, 'Fight'),
        fights.map((f) =>
          el(
            'button',
            {
              type: 'button',
              class: f.id === state.id ? 'primary' : null,
              'aria-pressed': f.id === state.id ? 'true' : 'false',
              dataset: { liveFight: f.id, status: f.status },
              onclick: () => choose(f.id),
            },
            `${f.card_order === 1 ? 'Main' : `#${f.card_order}`} · ${short(f.red_fighter, fights.length)} v ${short(f.blue_fighter, fights.length)}`,
            el('span', { class: 'muted small' }, ` · ${STATUS[f.status] || f.status}`),
          ),
        ),
      );
    }

    function render() {
      const f = state.fight;
      if (!f) {
        refs.red.textContent = '–';
        refs.blue.textContent = '–';
        refs.fightStatus.textContent = '';
        fill(refs.controls);
        fill(refs.stats);
        fill(refs.scores);
        fill(refs.fouls);
        fill(refs.resultForm);
        refs.result.hidden = true;
        renderClock();
        return;
      }
      root.dataset.fight = String(f.id);
      root.dataset.status = f.status;
      refs.red.textContent = `${fighterName(f.red_fighter)}`;
      refs.blue.textContent = `${fighterName(f.blue_fighter)}`;
      refs.fightStatus.textContent = `${fightLabel(f)} · ${STATUS[f.status] || f.status}`;
      refs.fightStatus.dataset.status = f.status;
      const text = resultText(f);
      refs.result.hidden = !text;
      refs.result.textContent = text;
      renderControls();
      renderClock();
      renderStats();
      renderScores();
      renderFouls();
      renderResultForm();
    }

    function renderClock() {
      const f = state.fight;
      const face = clockFace(f);
      const { reading, round, clock } = face;
      let note = face.note;
      // The operator's notes: how much of the round is gone, and when the
      // horn has gone with the round not yet ended.
      if (reading && f.status === 'in_progress' && reading.round > 0 && reading.mode !== 'rest') {
        if (reading.mode === 'idle' && reading.remaining <= 0) note = 'Full round: end it';
        else if (reading.mode === 'running' || reading.mode === 'idle') note = `${mss(reading.elapsed)} gone`;
      }
      if (refs.clock.textContent !== clock) refs.clock.textContent = clock;
      if (refs.round.textContent !== round) refs.round.textContent = round;
      if (refs.note.textContent !== note) refs.note.textContent = note;
      refs.clock.dataset.mode = reading ? reading.mode : '';
      refs.clock.dataset.round = reading ? String(reading.round) : '';
      refs.clock.dataset.elapsed = reading ? reading.elapsed.toFixed(1) : '';
    }

    /** A control: a POST to the fight, its refusal shown by the controls. */
    function control(label, path, body, opts = {}) {
      const button = el(
        'button',
        {
          type: 'button',
          class: opts.kind || null,
          dataset: { control: opts.name || path.split('/').filter(Boolean).pop() },
          onclick: async () => {
            if (opts.confirm && !(await ctx.confirm(opts.confirm, { okText: label }))) return;
            const b = typeof body === 'function' ? body() : body;
            if (b === null) return;
            const fight = await act(button, refs.controlStatus, () => ctx.api('POST', `/api/live/fights/${state.fight.id}/${path}`, b), opts.ok || `${label}: done.`);
            if (fight && fight.id) setFight(fight, false);
          },
        },
        label,
        opts.key ? el('kbd', {}, opts.key) : null,
      );
      return button;
    }

    function renderControls() {
      const f = state.fight;
      const c = f.clock || {};
      const round = c.round || 0;
      const buttons = [];
      if (f.status === 'upcoming') {
        buttons.push(control('Start the fight', 'start/', undefined, { kind: 'ok', name: 'start-fight', ok: 'The fight is on.' }));
      }
      if (f.status === 'in_progress') {
        const on = round > 0 && !c.between_rounds && !c.stopped && (c.running || c.paused || c.elapsed_s < c.round_length_s || !c.ended);
        if (round === 0 || c.between_rounds) {
          if (round < f.scheduled_rounds) {
            buttons.push(control(`Start round ${round + 1}`, 'rounds/start/', { round: round + 1 }, { kind: 'ok', name: 'start-round' }));
          }
        }
        if (round > 0 && !c.between_rounds && on) {
          if (c.running) buttons.push(control('Pause', 'rounds/pause/', () => ({ reason: pauseReason() }), { name: 'pause' }));
          if (c.paused) buttons.push(control('Resume', 'rounds/resume/', {}, { kind: 'ok', name: 'resume' }));
          buttons.push(control(`End round ${round}`, 'rounds/end/', { round }, { kind: 'danger', name: 'end-round' }));
        }
      }
      fill(refs.controls, buttons.length ? buttons : el('span', { class: 'muted' }, f.status === 'completed' ? 'The fight is over.' : f.status === 'in_progress' && round > 0 && c.between_rounds && round >= f.scheduled_rounds ? 'All rounds done: the result is next.' : ''));
      refs.clockForm.hidden = !(f.status === 'in_progress' && round > 0 && !c.between_rounds);
    }

    function pauseReason() {
      const input = refs.clockForm.querySelector('[name="reason"]');
      return (input && input.value.trim()) || 'paused by the referee';
    }

    function clockForm() {
      const elapsed = el('input', { type: 'text', name: 'elapsed', id: 'clock-elapsed', placeholder: 'm:ss', inputmode: 'numeric', size: '5', pattern: '\\d{1,2}:[0-5]\\d' });
      const reason = el('input', { type: 'text', name: 'reason', id: 'clock-reason', placeholder: 'why (the arena clock reads…)', maxlength: '200' });
      const submit = el('button', { type: 'submit', id: 'clock-set' }, 'Set the clock');
      const form = el('form', { class: 'row clock-form', id: 'clock-form' }, field('Time gone', elapsed), field('Reason', reason), submit);
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        if (Number.isNaN(parseMss(elapsed.value))) {
          refs.controlStatus.error({ code: 'bad_request', message: 'the time is m:ss, such as 5:00' });
          return;
        }
        const body = { elapsed: elapsed.value.trim(), reason: reason.value.trim() || 'set from the console' };
        const fight = await act(submit, refs.controlStatus, () => ctx.api('POST', `/api/live/fights/${state.fight.id}/rounds/clock/`, body), `Clock set to ${body.elapsed} gone.`);
        if (fight && fight.id) setFight(fight, false);
      });
      return form;
    }

    // ---- Stats

    function statRounds() {
      const f = state.fight;
      const rounds = Object.keys((f.stats && f.stats.rounds) || {}).map(Number);
      return Math.max(0, (f.clock && f.clock.round) || 0, ...rounds);
    }

    function counters(round, corner) {
      const key = `${round}:${corner}`;
      if (state.local.has(key)) return state.local.get(key);
      const f = state.fight;
      const c = ((f.stats && f.stats.rounds && f.stats.rounds[String(round)]) || {})[corner] || {};
      return { ...c };
    }

    function renderStats() {
      const f = state.fight;
      const last = statRounds();
      if (!last) {
        fill(refs.stats, el('p', { class: 'muted' }, 'Stats open with round 1.'));
        return;
      }
      const round = state.statsRound && state.statsRound <= last ? state.statsRound : last;
      const red = counters(round, 'red');
      const blue = counters(round, 'blue');
      const canType = f.status === 'in_progress';
      const pad = (corner) =>
        el(
          'div',
          { class: `side ${corner}` },
          KEYS.filter((k) => k.corner === corner).map((k) =>
            el(
              'button',
              { type: 'button', class: corner, disabled: !canType, 'aria-label': `${corner} ${k.long} (key ${k.key.toUpperCase()})`, dataset: { statKey: k.key }, onclick: () => press(k) },
              el('kbd', {}, k.key.toUpperCase()),
              ` ${k.label}`,
            ),
          ),
        );
      fill(
        refs.stats,
        el('div', { class: 'stat-pad' }, pad('red'), pad('blue')),
        el(
          'div',
          { class: 'row', role: 'group', 'aria-label': 'Round' },
          Array.from({ length: last }, (_, i) =>
            el('button', { type: 'button', class: 'small-button', 'aria-pressed': i + 1 === round ? 'true' : 'false', dataset: { round: i + 1 }, onclick: () => ((state.statsRound = i + 1), renderStats()) }, `R${i + 1}`),
          ),
          el('span', { class: 'muted small' }, canType ? `The keys count for round ${round}.` : ''),
        ),
        el(
          'table',
          { class: 'stats', dataset: { round } },
          el('thead', {}, el('tr', {}, el('th', { class: 'red-t' }, 'Red'), el('th', {}, ''), el('th', { class: 'blue-t num' }, 'Blue'))),
          el(
            'tbody',
            {},
            STAT_ROWS.map(([label, value]) => el('tr', {}, el('td', { class: 'red-v', dataset: { stat: label } }, value(red)), el('th', {}, label), el('td', { class: 'blue-v num', dataset: { stat: label } }, value(blue)))),
          ),
        ),
      );
    }

    /** A key: the counters go up at once on screen, and the writes go in order. */
    function press(k) {
      const f = state.fight;
      if (!f || f.status !== 'in_progress') return;
      const last = statRounds();
      if (!last) return;
      const round = state.statsRound && state.statsRound <= last ? state.statsRound : last;
      const key = `${round}:${k.corner}`;
      const next = counters(round, k.corner);
      const body = { corner: k.corner, round };
      for (const name of k.add) {
        next[name] = (next[name] || 0) + 1;
        body[name] = next[name];
      }
      state.local.set(key, next);
      state.pending++;
      renderStats();
      const id = f.id;
      state.queue = state.queue
        .then(() => ctx.api('POST', `/api/live/fights/${id}/stats/`, body))
        .then(
          (fight) => {
            refs.statStatus.ok(`${k.corner} · ${k.long} · R${round}`);
            return fight;
          },
          (err) => {
            // Refused: the screen goes back to what the server holds.
            state.local.delete(key);
            refs.statStatus.error(err);
            return null;
          },
        )
        .then((fight) => {
          state.pending--;
          if (fight && fight.id === state.id) setFight(fight, false);
          else if (state.pending === 0) {
            state.local.clear();
            renderStats();
          }
        });
    }

    function onKey(e) {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const t = e.target;
      if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable)) return;
      if (document.querySelector('.backdrop')) return;
      const k = KEYS.find((x) => x.key === e.key.toLowerCase());
      if (!k) return;
      e.preventDefault();
      press(k);
    }

    // ---- Scores

    function renderScores() {
      const f = state.fight;
      if (!f) return;
      const judges = (f.officials && f.officials.judges) || [];
      if (!judges.length) {
        fill(refs.scores, el('p', { class: 'muted' }, 'No judges assigned (the card editor assigns them).'));
        return;
      }
      const cards = (state.cards && (state.cards.cards || state.cards.scorecards || state.cards.results)) || f.scorecards || [];
      const upTo = Math.max(1, (f.clock && f.clock.round) || 0);
      const rounds = Array.from({ length: f.scheduled_rounds }, (_, i) => i + 1);
      const canScore = f.status === 'in_progress';
      fill(
        refs.scores,
        el(
          'table',
          {},
          el('thead', {}, el('tr', {}, el('th', {}, 'Judge'), rounds.map((r) => el('th', {}, `R${r}`)), el('th', {}, 'Total'))),
          el(
            'tbody',
            {},
            judges.map((judge) => {
              const card = cards.find((c) => c.judge === judge) || { rounds: [] };
              return el(
                'tr',
                { dataset: { judge } },
                el('th', {}, judge),
                rounds.map((r) => {
                  const s = (card.rounds || []).find((x) => x.round === r);
                  const value = s ? `${s.scored_red ?? s.red}-${s.scored_blue ?? s.blue}` : '';
                  const sel = select(
                    { 'aria-label': `${judge}, round ${r}`, dataset: { judge, round: r, scored: s ? 'true' : 'false' }, disabled: !canScore || r > upTo },
                    SCORES,
                    value,
                  );
                  sel.addEventListener('change', async () => {
                    if (!sel.value) return;
                    const [red, blue] = sel.value.split('-').map(Number);
                    const fight = await act(sel, refs.scoreStatus, () => ctx.api('POST', `/api/live/fights/${f.id}/scores/`, { judge, round: r, red, blue }), `${judge}: R${r} ${sel.value}.`);
                    if (fight && fight.id) setFight(fight, false);
                    else loadCards();
                  });
                  return el('td', {}, sel);
                }),
                el('td', { class: 'num' }, card.red !== undefined ? `${card.red}-${card.blue}` : '–'),
              );
            }),
          ),
        ),
        el(
          'p',
          { class: 'muted small', 'data-testid': 'scores-in' },
          `${Math.max(f.scores_in || 0, cards.reduce((n, c) => n + (c.rounds || []).length, 0))} of ${judges.length * f.scheduled_rounds} judges' rounds in.`,
        ),
      );
    }

    // ---- Fouls

    /** The list redraws with each change; the form stays as typed (built once per fight). */
    function renderFouls() {
      const f = state.fight;
      if (!refs.foulForm || refs.foulForm.dataset.fight !== String(f.id)) refs.foulForm = foulForm();
      refs.foulForm.hidden = f.status !== 'in_progress';
      fill(
        refs.fouls,
        (f.fouls || []).length
          ? el('ul', { class: 'list', 'data-testid': 'foul-list' }, f.fouls.map((x) => el('li', {}, `R${x.round} · ${x.corner} · ${x.foul}${x.points ? ` · −${x.points}` : ' · warning'}${x.intentional ? ' · intentional' : ''}`)))
          : el('p', { class: 'muted' }, 'No fouls.'),
        refs.foulForm,
      );
    }

    function foulForm() {
      const line = statusLine({ 'data-testid': 'foul-status' });
      const corner = select({ name: 'corner', id: 'foul-corner' }, [['red', 'Red'], ['blue', 'Blue']], 'red');
      const foul = el('input', { type: 'text', name: 'foul', id: 'foul-name', placeholder: 'eye poke', maxlength: '100' });
      const points = select({ name: 'points', id: 'foul-points' }, [['0', 'Warning (0)'], ['1', '−1 point'], ['2', '−2 points']], '0');
      const intentional = el('input', { type: 'checkbox', name: 'intentional', id: 'foul-intentional' });
      const submit = el('button', { type: 'submit' }, 'Record the foul');
      const form = el('form', { class: 'row', id: 'foul-form', dataset: { fight: state.fight.id } }, corner, foul, points, el('label', { class: 'field inline' }, intentional, 'Intentional'), submit, line.node);
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        const round = Math.max(1, (state.fight.clock && state.fight.clock.round) || 1);
        const body = { corner: corner.value, round, foul: foul.value.trim(), points: Number(points.value), intentional: intentional.checked };
        const fight = await act(submit, line, () => ctx.api('POST', `/api/live/fights/${state.fight.id}/fouls/`, body), `Foul recorded: ${body.corner}, round ${round}.`);
        if (fight && fight.id) {
          form.reset();
          setFight(fight, false);
        }
      });
      return form;
    }

    // ---- Result and amendment

    function renderResultForm() {
      const f = state.fight;
      const box = refs.resultForm;
      if (box.contains(document.activeElement) && box.dataset.fight === String(f.id) && box.dataset.status === f.status) return;
      box.dataset.fight = String(f.id);
      box.dataset.status = f.status;
      const line = statusLine({ 'data-testid': 'result-status' });
      const round = (f.clock && f.clock.round) || 1;
      if (f.status === 'in_progress') {
        const method = select({ name: 'method', id: 'result-method' }, Object.entries(METHODS), 'ko');
        const winner = select({ name: 'winner', id: 'result-winner' }, [['red', `Red · ${fighterName(f.red_fighter)}`], ['blue', `Blue · ${fighterName(f.blue_fighter)}`], ['', 'None (draw, no contest)']], 'red');
        const rnd = el('input', { type: 'number', name: 'round', id: 'result-round', min: '1', max: String(f.scheduled_rounds), value: String(round) });
        const time = el('input', { type: 'text', name: 'time', id: 'result-time', placeholder: 'm:ss', size: '5' });
        // The time gone on the clock now, on request (the field does not follow the clock).
        const now = el('button', { type: 'button', id: 'result-time-now', onclick: () => {
          const reading = clockReading(state.fight);
          if (reading) {
            time.value = mss(reading.elapsed);
            rnd.value = String(reading.round || 1);
          }
        } }, 'Now');
        const technique = el('input', { type: 'text', name: 'technique', id: 'result-technique', placeholder: 'rear-naked choke', maxlength: '100' });
        const stoppage = select({ name: 'stoppage', id: 'result-stoppage' }, [['', '—'], ['referee', 'Referee'], ['doctor', 'Doctor'], ['corner', 'Corner']], 'referee');
        const foul = el('input', { type: 'text', name: 'foul', id: 'result-foul', maxlength: '100' });
        const reason = el('input', { type: 'text', name: 'reason', id: 'result-reason', maxlength: '200' });
        const submit = el('button', { type: 'submit', class: 'primary', id: 'result-submit' }, 'Record the result');
        const extra = {
          technique: field('Technique', technique),
          stoppage: field('Stopped by', stoppage),
          foul: field('Foul', foul),
          reason: field('Reason', reason),
        };
        const sync = () => {
          const m = method.value;
          extra.technique.hidden = !(m === 'submission' || m === 'technical_submission');
          extra.stoppage.hidden = m !== 'tko';
          extra.foul.hidden = !(m === 'dq' || m.startsWith('technical_') || m === 'no_contest');
          extra.reason.hidden = m !== 'no_contest';
          if (DECISIONS.includes(m)) {
            rnd.value = String(f.scheduled_rounds);
            time.value = '5:00';
          }
          if (DRAWS.includes(m)) winner.value = '';
        };
        method.addEventListener('change', sync);
        sync();
        const form = el(
          'form',
          { id: 'result' },
          el('div', { class: 'grid-2' }, field('Method', method), field('Winner', winner)),
          el('div', { class: 'grid-2' }, field('Round', rnd), field('Time in the round', el('div', { class: 'row nowrap' }, time, now))),
          Object.values(extra),
          submit,
          line.node,
        );
        form.addEventListener('submit', async (e) => {
          e.preventDefault();
          const body = { method: method.value, winner: winner.value || null, round: Number(rnd.value) || null, time: time.value.trim() || null };
          if (!extra.technique.hidden && technique.value.trim()) body.technique = technique.value.trim();
          if (!extra.stoppage.hidden && stoppage.value) body.stoppage = stoppage.value;
          if (!extra.foul.hidden && foul.value.trim()) body.foul = foul.value.trim();
          if (!extra.reason.hidden && reason.value.trim()) body.reason = reason.value.trim();
          const what = `${METHODS[body.method]}${body.winner ? ` for ${body.winner}` : ''}, R${body.round ?? '–'} ${body.time ?? ''}`;
          if (!(await ctx.confirm(`Record the result: ${what}? Viewers see it at once.`, { okText: 'Record' }))) return;
          const fight = await act(submit, line, () => ctx.api('POST', `/api/live/fights/${f.id}/result/`, body), 'Result recorded.');
          if (fight && fight.id) {
            box.dataset.status = '';
            setFight(fight, false);
            ctx.toast(resultText(fight), 'ok');
          }
        });
        fill(box, form);
      } else if (f.status === 'completed') {
        const method = select({ name: 'method', id: 'amend-method' }, Object.entries(METHODS), 'no_contest');
        const winner = select({ name: 'winner', id: 'amend-winner' }, [['', 'None'], ['red', 'Red'], ['blue', 'Blue']], '');
        const reason = el('input', { type: 'text', name: 'reason', id: 'amend-reason', required: true, maxlength: '200', placeholder: 'the winner failed a drug test' });
        const submit = el('button', { type: 'submit', class: 'danger', id: 'amend-submit' }, 'Amend the result');
        const form = el('form', { id: 'amend' }, el('h3', {}, 'Amend the result'), el('div', { class: 'grid-2' }, field('Method', method), field('Winner', winner)), field('Reason', reason), submit, line.node);
        form.addEventListener('submit', async (e) => {
          e.preventDefault();
          if (!(await ctx.confirm(`Amend the result to ${METHODS[method.value]}?`, { okText: 'Amend' }))) return;
          const fight = await act(submit, line, () => ctx.api('POST', `/api/live/fights/${f.id}/result/amend/`, { method: method.value, winner: winner.value || null, reason: reason.value.trim() }), 'Result amended.');
          if (fight && fight.id) {
            box.dataset.status = '';
            setFight(fight, false);
          }
        });
        fill(box, el('p', {}, resultText(f) || 'Completed.'), form);
      } else {
        fill(box, el('p', { class: 'muted' }, f.status === 'cancelled' ? 'Cancelled.' : 'The result form opens once the fight is on.'));
      }
    }

    // ---- Timeline

    function describe(entry) {
      const d = entry.data || {};
      switch (entry.kind) {
        case 'officials_assigned':
          return `Officials: ${d.referee || ''}${d.judges ? `; judges ${d.judges.join(', ')}` : ''}`;
        case 'fight_started':
          return 'Fight started';
        case 'round_started':
          return `Round ${d.round} started`;
        case 'round_paused':
          return `Paused${d.reason ? `: ${d.reason}` : ''}`;
        case 'round_resumed':
          return 'Resumed';
        case 'clock_set':
          return `Clock set to ${d.elapsed || ''} gone${d.reason ? ` (${d.reason})` : ''}`;
        case 'round_ended':
          return `Round ${d.round} ended${d.time ? ` at ${d.time}` : ''}`;
        case 'foul':
          return `Foul, ${d.corner}: ${d.foul}${d.points ? ` (−${d.points})` : ''}`;
        case 'score':
          return `Score: ${d.judge} R${d.round}${d.red !== undefined ? ` ${d.red}-${d.blue}` : ''}`;
        case 'stats':
          return `Stats ${d.corner || ''} R${d.round || ''}`;
        case 'result':
          return `Result: ${METHODS[d.method] || d.method}${d.winner ? ` (${d.winner})` : ''}`;
        case 'result_amended':
          return `Result amended: ${METHODS[d.method] || d.method}`;
        case 'fight_cancelled':
          return 'Fight cancelled';
        default:
          return entry.kind;
      }
    }

    function addTimeline(entries) {
      for (const e of entries || []) if (e && e.n !== undefined) state.timeline.set(e.n, e);
      const all = [...state.timeline.values()].sort((a, b) => b.n - a.n).slice(0, 200);
      fill(
        refs.timeline,
        all.map((e) => el('li', { dataset: { n: e.n, kind: e.kind } }, el('span', { class: 'muted small' }, `${clockTime(e.at)} · `), describe(e))),
      );
    }

    // ---- Start

    document.addEventListener('keydown', onKey);
    const tick = setInterval(renderClock, 200);
    const offEvent = ctx.onEvent(() => {
      state.id = null;
      state.fight = null;
      if (state.subFight) state.subFight.unsubscribe();
      state.subFight = null;
      render();
      followEvent();
      loadEvent();
    });
    followEvent();
    loadEvent();
    if (state.id) followFight();
    else render();
    return () => {
      document.removeEventListener('keydown', onKey);
      clearInterval(tick);
      offEvent();
      state.generation++;
      if (state.subFight) state.subFight.unsubscribe();
      if (state.subEvent) state.subEvent.unsubscribe();
    };
  },
};


