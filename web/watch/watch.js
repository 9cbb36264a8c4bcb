// The viewer page of a live event (`/watch/{live_event_id}/`): the card, the
// fight on (clock, stats, judges' cards), live updates, comments, reactions,
// polls and the viewer count, kept live by the project's client
// (`/static/ringside-client.js`) over WebSocket, SSE or long-poll.
//
// Rules this file keeps:
// - Nothing from the network is ever parsed as HTML: every text goes in
//   through textContent (the `el` helper appends strings as text nodes).
// - The round clock runs on the server's time: an offset estimated from the
//   `server_time` of snapshots and frames, applied to this device's
//   monotonic clock (`performance.now()`), never to its wall clock.
// - Lists are keyed by id, so a replay, a REST reload racing live frames or
//   a resync never shows an item twice.

import { RingsideClient } from '/static/ringside-client.js';
import { clockFace, mss, serverClock, serverMs } from '/static/fight-clock.js';

const TOKEN_KEY = 'ringside_token';
const USER_KEY = 'ringside_user';
const VOTES_KEY = 'ringside_votes';
const MAX_COMMENTS = 200;
const PAGE = 200;

const $ = (id) => document.getElementById(id);

/** Replaces a node's children; strings become text nodes, null and false are skipped. */
function fill(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

/** Builds an element; string children become text nodes (never HTML). */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = String(value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else if (key === 'style') throw new TypeError('style attributes are refused by the page policy: use node.style');
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// ---------------------------------------------------------------------------
// Which event

const match = /^\/watch\/(\d+)\/?$/.exec(location.pathname);
const EVENT_ID = match ? Number(match[1]) : null;

// ---------------------------------------------------------------------------
// The server's clock

function sampleFights(fights, at) {
  for (const f of fights || []) if (f && f.clock) serverClock.sample(f.clock.server_time, at);
}

// ---------------------------------------------------------------------------
// State

const state = {
  event: null,
  fights: new Map(),
  selectedFight: null,
  statsRound: null,
  updates: new Map(),
  comments: new Map(),
  removedComments: new Set(),
  polls: new Map(),
  reactions: {},
  viewers: null,
  me: null,
  replyTo: null,
  connection: 'connecting',
  slowMode: 0,
  // When a live frame last changed a part of the state (performance.now()),
  // so a REST answer older than it does not overwrite it.
  touched: new Map(),
};

function touch(key) {
  state.touched.set(key, performance.now());
}

function touchedSince(key, t) {
  return (state.touched.get(key) ?? -Infinity) >= t;
}

// ---------------------------------------------------------------------------
// REST

class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.status = status;
    this.code = err.code || 'http_' + status;
    this.details = err.details || null;
    const retry = err.details && err.details.retry_after_ms;
    this.retryAfterMs = typeof retry === 'number' ? retry : null;
  }
}

async function api(path, { method = 'GET', body } = {}) {
  const headers = { accept: 'application/json' };
  const token = localStorage.getItem(TOKEN_KEY);
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const resp = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  const text = await resp.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!resp.ok) throw new ApiError(resp.status, data);
  return data;
}

/**
 * Tries a failed load again (1, 2, 4 … 32 s), unless a newer one started:
 * a list the subscription relies on must not stay half loaded.
 */
function retryLater(attempt, again) {
  if (attempt >= 6) return;
  setTimeout(again, 1000 * 2 ** attempt * (0.5 + Math.random() / 2));
}

/** Every page of a list (they are in id order, oldest first). */
async function fetchAll(path, max = 5000) {
  const out = [];
  let cursor = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api(`${path}${sep}limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    out.push(...(page.results || []));
    cursor = page.next_cursor;
  } while (cursor && out.length < max);
  return out;
}

// ---------------------------------------------------------------------------
// Words

const METHODS = {
  ko: 'KO',
  tko: 'TKO',
  submission: 'submission',
  technical_submission: 'technical submission',
  unanimous_decision: 'unanimous decision',
  split_decision: 'split decision',
  majority_decision: 'majority decision',
  unanimous_draw: 'unanimous draw',
  split_draw: 'split draw',
  majority_draw: 'majority draw',
  technical_decision: 'technical decision',
  technical_draw: 'technical draw',
  dq: 'disqualification',
  no_contest: 'no contest',
};

const UPDATE_TYPES = {
  news: 'News',
  fight_start: 'Fight',
  round_start: 'Round',
  round_end: 'Round',
  knockdown: 'Knockdown',
  submission_attempt: 'Submission attempt',
  result: 'Result',
};

const REACTIONS = {
  like: ['👍', 'Like'],
  wow: ['😮', 'Wow'],
  celebrate: ['🎉', 'Celebrate'],
  sad: ['😢', 'Sad'],
  angry: ['😠', 'Angry'],
};

const STATUS = {
  upcoming: 'Upcoming',
  live: 'Live',
  completed: 'Completed',
  cancelled: 'Cancelled',
  in_progress: 'Live',
};

const number = new Intl.NumberFormat();
const timeOfDay = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

function at(text) {
  const ms = serverMs(text);
  return Number.isFinite(ms) ? timeOfDay.format(new Date(ms)) : '';
}

function name(fighter) {
  return (fighter && fighter.name) || 'TBA';
}

function resultText(fight) {
  const r = fight.result;
  if (!r) return '';
  const method = METHODS[r.method] || String(r.method || '').replaceAll('_', ' ');
  let text;
  if (r.winner === 'red' || r.winner === 'blue') {
    const winner = r.winner === 'red' ? fight.red_fighter : fight.blue_fighter;
    text = `${name(winner)} wins by ${method}`;
  } else {
    text = method.charAt(0).toUpperCase() + method.slice(1);
  }
  if (r.technique) text += ` (${r.technique})`;
  else if (r.stoppage && r.method === 'tko') text += ` (${r.stoppage} stoppage)`;
  if (Array.isArray(r.cards) && r.cards.length) {
    text += ` (${r.cards.map((c) => `${c.red}-${c.blue}`).join(', ')})`;
  }
  if (r.round) text += ` · R${r.round} ${r.time || ''}`.trimEnd();
  return text;
}

// ---------------------------------------------------------------------------
// The event and its card

function fightsInOrder() {
  return [...state.fights.values()].sort((a, b) => (a.card_order ?? 0) - (b.card_order ?? 0));
}

/**
 * The fight the page is about: the fan's pick, else the event's current
 * fight, else the one in progress, else the last result (it stays up until
 * the next fight is called), else what is next.
 */
function focusFight() {
  if (state.selectedFight && state.fights.has(state.selectedFight)) return state.fights.get(state.selectedFight);
  const current = state.event && state.event.current_fight;
  if (current && state.fights.has(current)) return state.fights.get(current);
  const fights = fightsInOrder();
  const live = fights.find((f) => f.status === 'in_progress');
  if (live) return live;
  const ended = fights
    .filter((f) => f.status === 'completed' && f.ended_at)
    .sort((a, b) => serverMs(b.ended_at) - serverMs(a.ended_at));
  if (ended.length) return ended[0];
  // A card runs from its last slot to the main event (card_order 1).
  const upcoming = fights.filter((f) => f.status === 'upcoming');
  if (upcoming.length) return upcoming[upcoming.length - 1];
  return fights[0] || null;
}

function applyEventSnapshot(snapshot, receivedAt) {
  if (!snapshot || typeof snapshot !== 'object') return;
  const { fights, polls, reactions, viewer_count: viewers, ...event } = snapshot;
  state.event = { ...(state.event || {}), ...event };
  if (Array.isArray(fights)) {
    state.fights = new Map(fights.map((f) => [f.id, f]));
    sampleFights(fights, receivedAt);
  }
  if (reactions) state.reactions = { ...reactions };
  if (Array.isArray(polls)) for (const p of polls) setPoll(p, false);
  if (typeof viewers === 'number') state.viewers = viewers;
  renderEvent();
  renderCard();
  renderFocus();
  renderReactions();
  renderPolls();
  renderViewers();
}

/**
 * The REST detail, after each (re)subscription: its clock readings are
 * fresh (the server computes them per request), and it carries the current
 * reaction totals and poll tallies, which are ephemeral on the socket.
 * A part a live frame changed since the request left is kept as it is.
 */
async function refreshDetail() {
  const sent = performance.now();
  let detail;
  try {
    detail = await api(`/api/live/events/${EVENT_ID}/`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) fatal('This live event does not exist.');
    return;
  }
  const received = performance.now();
  sampleFights(detail.fights, received);
  // Its viewer_count is the stored one (written now and then); the socket's
  // snapshot and frames carry the room's own count, so that one stays.
  const { fights, polls, reactions, viewer_count: _stored, ...event } = detail;
  if (!touchedSince('event', sent)) state.event = { ...(state.event || {}), ...event };
  for (const f of fights || []) if (!touchedSince(`fight:${f.id}`, sent)) state.fights.set(f.id, f);
  if (reactions && !touchedSince('reactions', sent)) state.reactions = { ...reactions };
  for (const p of polls || []) if (!touchedSince(`poll:${p.id}`, sent)) setPoll(p, false);
  // The detail lists the open polls: one we hold as open that it leaves
  // out closed before this subscription began (its close is not replayed).
  const open = new Set((polls || []).map((p) => p.id));
  for (const p of [...state.polls.values()]) {
    if (p.status === 'open' && !open.has(p.id) && !touchedSince(`poll:${p.id}`, sent)) state.polls.delete(p.id);
  }
  renderEvent();
  renderCard();
  renderFocus();
  renderReactions();
  renderPolls();
  renderViewers();
}

function renderEvent() {
  const e = state.event;
  if (!e) return;
  const detail = e.event_detail || {};
  $('event-name').textContent = detail.name || `Live event ${EVENT_ID}`;
  $('event-venue').textContent = detail.venue || '';
  const status = $('event-status');
  status.textContent = STATUS[e.status] || e.status || '';
  status.dataset.status = e.status || '';
  document.title = `${detail.name || 'Live event'} · Ringside`;
}

function renderCard() {
  const list = $('card');
  const focus = focusFight();
  const items = fightsInOrder().map((f) => {
    const live = f.status === 'in_progress';
    const chosen = focus && focus.id === f.id;
    const label = f.card_order === 1 ? 'Main event' : `Bout ${f.card_order}`;
    const c = f.clock || {};
    let status = STATUS[f.status] || f.status;
    if (f.status === 'in_progress' && c.round) {
      status = c.between_rounds ? `Live · after R${c.round}` : `Live · R${c.round}${c.paused ? ' · paused' : ''}`;
    }
    return el(
      'li',
      {
        class: ['bout', live && 'in-progress', chosen && 'chosen', `s-${f.status}`].filter(Boolean).join(' '),
        dataset: { fightId: String(f.id), status: f.status },
        'aria-current': live ? 'true' : null,
      },
      el(
        'button',
        {
          type: 'button',
          class: 'bout-pick',
          'aria-pressed': chosen ? 'true' : 'false',
          onclick: () => {
            state.selectedFight = f.id;
            state.statsRound = null;
            renderCard();
            renderFocus();
          },
        },
        el('span', { class: 'bout-label' }, label, f.is_title_fight ? ' · Title' : null, ` · ${f.scheduled_rounds} rds`),
        el(
          'span',
          { class: 'bout-names' },
          el('span', { class: 'red-t' }, name(f.red_fighter)),
          el('span', { class: 'vs' }, ' vs '),
          el('span', { class: 'blue-t' }, name(f.blue_fighter)),
        ),
        el('span', { class: 'bout-status' }, f.result ? resultText(f) : status),
      ),
    );
  });
  fill(list, ...items);
}

// ---------------------------------------------------------------------------
// The fight in focus: clock, stats, cards

function renderClock() {
  const fight = focusFight();
  const clockEl = $('clock');
  const roundEl = $('round');
  const note = $('clock-note');
  if (!fight) {
    clockEl.textContent = '–';
    roundEl.textContent = '–';
    note.textContent = '';
    return;
  }
  const { reading, round: roundText, clock: clockText, note: noteText } = clockFace(fight);
  if (!reading) return;
  if (clockEl.textContent !== clockText) clockEl.textContent = clockText;
  if (roundEl.textContent !== roundText) roundEl.textContent = roundText;
  if (note.textContent !== noteText) note.textContent = noteText;
  clockEl.dataset.mode = reading.mode;
  clockEl.dataset.running = String(reading.mode === 'running' && fight.status === 'in_progress');
  clockEl.dataset.round = String(reading.round);
  clockEl.dataset.elapsed = reading.elapsed.toFixed(1);
  clockEl.setAttribute(
    'aria-label',
    reading.mode === 'rest' ? `Rest, ${clockText} left` : `${roundText}, ${clockText} left${noteText ? `, ${noteText}` : ''}`,
  );
}

function renderFocus() {
  const fight = focusFight();
  const label = $('now-label');
  const result = $('result');
  if (!fight) {
    label.textContent = 'No fights on this card yet';
    $('red-name').textContent = '–';
    $('blue-name').textContent = '–';
    result.hidden = true;
    renderClock();
    renderStats(null);
    renderScorecards(null);
    return;
  }
  label.textContent =
    fight.status === 'in_progress' ? 'Live now' : fight.status === 'completed' ? 'Result' : fight.status === 'cancelled' ? 'Cancelled' : 'Up next';
  $('now').dataset.fightId = String(fight.id);
  $('now').dataset.status = fight.status;
  $('red-name').textContent = name(fight.red_fighter);
  $('blue-name').textContent = name(fight.blue_fighter);
  const text = resultText(fight);
  result.hidden = !text;
  result.textContent = text;
  renderClock();
  renderStats(fight);
  renderScorecards(fight);
}

const STAT_ROWS = [
  ['Significant strikes', (c) => `${c.significant_strikes_landed ?? 0} / ${c.significant_strikes_attempted ?? 0}`],
  ['Total strikes', (c) => `${c.strikes_landed ?? 0} / ${c.strikes_attempted ?? 0}`],
  ['Takedowns', (c) => `${c.takedowns_landed ?? 0} / ${c.takedowns_attempted ?? 0}`],
  ['Knockdowns', (c) => String(c.knockdowns ?? 0)],
  ['Submission attempts', (c) => String(c.submission_attempts ?? 0)],
  ['Control time', (c) => mss(c.control_time_s ?? 0)],
];

function renderStats(fight) {
  const picker = $('stats-rounds');
  const body = $('stats').querySelector('tbody');
  const empty = $('stats-empty');
  const stats = fight && fight.stats;
  const rounds = stats ? Object.keys(stats.rounds || {}).map(Number) : [];
  const last = Math.max(0, fight && fight.clock ? fight.clock.round : 0, ...rounds);
  if (!fight || last === 0) {
    fill(picker);
    fill(body);
    $('stats').hidden = true;
    empty.hidden = false;
    return;
  }
  // Follow the round on unless the fan picked one.
  const chosen = state.statsRound && (state.statsRound === 'total' || state.statsRound <= last) ? state.statsRound : last;
  const options = [...Array.from({ length: last }, (_, i) => i + 1), 'total'];
  fill(
    picker,
    ...options.map((r) =>
      el(
        'button',
        {
          type: 'button',
          'aria-pressed': r === chosen ? 'true' : 'false',
          dataset: { round: String(r) },
          onclick: () => {
            state.statsRound = r;
            renderStats(focusFight());
          },
        },
        r === 'total' ? 'Total' : `R${r}`,
      ),
    ),
  );
  const corners = chosen === 'total' ? stats.totals || {} : (stats.rounds || {})[String(chosen)] || {};
  const red = corners.red || {};
  const blue = corners.blue || {};
  $('stats-caption').textContent = chosen === 'total' ? 'Stats, whole fight' : `Stats, round ${chosen}`;
  fill(
    body,
    ...STAT_ROWS.map(([label, value]) =>
      el('tr', {}, el('td', { class: 'red-v' }, value(red)), el('th', { scope: 'row' }, label), el('td', { class: 'blue-v' }, value(blue))),
    ),
  );
  $('stats').hidden = false;
  $('stats').dataset.round = String(chosen);
  empty.hidden = true;
}

function renderScorecards(fight) {
  const box = $('scorecards');
  if (!fight) {
    fill(box);
    return;
  }
  if (fight.scorecards === null || fight.scorecards === undefined) {
    const rounds = fight.scheduled_rounds || 0;
    const expected = rounds * 3;
    box.dataset.visible = 'false';
    fill(
      box,
      el('p', { class: 'hidden-cards', 'data-testid': 'cards-hidden' }, 'Cards hidden until the decision.'),
      fight.scores_in
        ? el('p', { class: 'muted small' }, `${fight.scores_in} of ${expected} judges' rounds are in.`)
        : null,
    );
    return;
  }
  box.dataset.visible = 'true';
  const cards = fight.scorecards;
  const rounds = Math.max(0, ...cards.map((c) => (c.rounds || []).length));
  if (!cards.length || rounds === 0) {
    fill(box, el('p', { class: 'muted' }, 'No rounds scored yet.'));
    return;
  }
  const head = el(
    'tr',
    {},
    el('th', { scope: 'col' }, 'Judge'),
    Array.from({ length: rounds }, (_, i) => el('th', { scope: 'col' }, `R${i + 1}`)),
    el('th', { scope: 'col' }, 'Total'),
  );
  const rows = cards.map((card) =>
    el(
      'tr',
      { dataset: { judge: card.judge } },
      el('th', { scope: 'row' }, card.judge),
      Array.from({ length: rounds }, (_, i) => {
        const r = (card.rounds || []).find((x) => x.round === i + 1);
        if (!r) return el('td', { class: 'muted' }, '–');
        const deducted = (r.deducted_red || 0) + (r.deducted_blue || 0);
        return el('td', { title: deducted ? `scored ${r.scored_red}-${r.scored_blue}, points deducted` : null }, `${r.red}-${r.blue}`, deducted ? '*' : null);
      }),
      el('td', { class: 'total' }, `${card.red}-${card.blue}`),
    ),
  );
  const parts = [
    el(
      'div',
      { class: 'scroll' },
      el('table', { class: 'cards' }, el('caption', { class: 'visually-hidden' }, 'Each judge, red first'), el('thead', {}, head), el('tbody', {}, rows)),
    ),
  ];
  if (fight.projected && fight.status === 'in_progress') {
    const p = fight.projected;
    const who = p.winner === 'red' ? name(fight.red_fighter) : p.winner === 'blue' ? name(fight.blue_fighter) : null;
    parts.push(el('p', { class: 'muted small' }, `If it ended now: ${who ? `${who} by ${METHODS[p.method] || p.method}` : METHODS[p.method] || p.method}.`));
  }
  fill(box, ...parts);
}

// ---------------------------------------------------------------------------
// Live updates

const updateNodes = new Map();

function renderUpdate(u) {
  const breaking = u.is_breaking === true;
  return el(
    'li',
    {
      class: ['update', breaking && 'breaking', u.update_type && `u-${u.update_type}`].filter(Boolean).join(' '),
      dataset: { id: String(u.id), seq: String(u.seq), type: u.update_type || '', breaking: String(breaking) },
    },
    el(
      'p',
      { class: 'update-meta' },
      breaking ? el('strong', { class: 'badge breaking-badge' }, 'Breaking') : null,
      el('span', { class: 'badge' }, UPDATE_TYPES[u.update_type] || u.update_type || 'Update'),
      u.round_number ? el('span', { class: 'muted' }, ` R${u.round_number}`) : null,
      el('time', { datetime: u.created_at || null, class: 'muted' }, at(u.created_at)),
    ),
    el('p', { class: 'update-title' }, u.title || ''),
    u.description ? el('p', { class: 'update-body' }, u.description) : null,
  );
}

/** Adds or replaces an update, newest (highest seq) first. */
function putUpdate(u) {
  if (!u || u.id === null || u.id === undefined) return;
  if (u.rejected === true || u.is_verified === false) {
    removeUpdate(u.id);
    return;
  }
  state.updates.set(u.id, { ...u, seenAt: performance.now() });
  const node = renderUpdate(u);
  const old = updateNodes.get(u.id);
  const list = $('updates');
  if (old) {
    old.replaceWith(node);
  } else {
    const before = [...list.children].find((li) => Number(li.dataset.seq) < Number(u.seq));
    list.insertBefore(node, before || null);
  }
  updateNodes.set(u.id, node);
  $('updates-empty').hidden = state.updates.size > 0;
}

function removeUpdate(id) {
  state.updates.delete(id);
  const node = updateNodes.get(id);
  if (node) node.remove();
  updateNodes.delete(id);
  $('updates-empty').hidden = state.updates.size > 0;
}

let updatesGeneration = 0;

/** The whole feed from REST, merged with what arrived live meanwhile. */
async function reloadUpdates(attempt = 0) {
  const generation = ++updatesGeneration;
  const sent = performance.now();
  let rows;
  try {
    rows = await fetchAll(`/api/live/updates/?event=${EVENT_ID}`);
  } catch (err) {
    console.warn('updates could not be loaded', err && err.message);
    retryLater(attempt, () => generation === updatesGeneration && reloadUpdates(attempt + 1));
    return;
  }
  if (generation !== updatesGeneration) return;
  const live = [...state.updates.values()].filter((u) => u.seenAt >= sent);
  state.updates.clear();
  for (const node of updateNodes.values()) node.remove();
  updateNodes.clear();
  for (const u of [...rows, ...live]) putUpdate(u);
  $('updates-empty').hidden = state.updates.size > 0;
}

// ---------------------------------------------------------------------------
// Comments

const commentNodes = new Map();

function renderComment(c) {
  const parent = c.parent_comment ? state.comments.get(c.parent_comment) : null;
  return el(
    'li',
    { class: ['comment', c.parent_comment && 'reply'].filter(Boolean).join(' '), dataset: { id: String(c.id), seq: String(c.seq ?? '') } },
    el(
      'p',
      { class: 'comment-meta' },
      el('strong', { class: 'who' }, c.user_display_name || `Fan ${c.user}`),
      c.is_moderator ? el('span', { class: 'badge mod' }, 'Mod') : null,
      parent ? el('span', { class: 'muted small' }, ` ↪ ${parent.user_display_name || 'a fan'}`) : null,
      el('time', { datetime: c.created_at || null, class: 'muted small' }, at(c.created_at)),
    ),
    el('p', { class: 'comment-body' }, c.content || ''),
    state.me
      ? el(
          'button',
          {
            type: 'button',
            class: 'link small',
            'aria-label': `Reply to ${c.user_display_name || 'this comment'}`,
            onclick: () => startReply(c),
          },
          'Reply',
        )
      : null,
  );
}

function putComment(c, { live = false } = {}) {
  if (!c || c.id === null || c.id === undefined) return;
  if (c.status && c.status !== 'active') {
    removeComment(c.id);
    return;
  }
  // A REST page read before a removal must not bring the comment back;
  // only a live frame (a moderator's restore) does.
  if (state.removedComments.has(c.id)) {
    if (!live) return;
    state.removedComments.delete(c.id);
  }
  state.comments.set(c.id, { ...c, seenAt: performance.now() });
  const node = renderComment(c);
  const old = commentNodes.get(c.id);
  const list = $('comments');
  if (old) {
    old.replaceWith(node);
  } else {
    const before = [...list.children].find((li) => li.dataset.id && Number(li.dataset.id) < Number(c.id));
    list.insertBefore(node, before || null);
  }
  commentNodes.set(c.id, node);
  trimComments();
  $('comments-empty').hidden = state.comments.size > 0;
}

function removeComment(id) {
  state.removedComments.add(id);
  state.comments.delete(id);
  const node = commentNodes.get(id);
  if (node) node.remove();
  commentNodes.delete(id);
  $('comments-empty').hidden = state.comments.size > 0;
}

function trimComments() {
  if (state.comments.size <= MAX_COMMENTS) return;
  const ids = [...state.comments.keys()].sort((a, b) => a - b);
  for (const id of ids.slice(0, ids.length - MAX_COMMENTS)) {
    state.comments.delete(id);
    const node = commentNodes.get(id);
    if (node) node.remove();
    commentNodes.delete(id);
  }
}

function noteSkipped(data) {
  const count = (data && data.count) || 0;
  if (!count) return;
  $('comments').insertBefore(
    el('li', { class: 'skipped muted small' }, `${number.format(count)} comments went by too fast to show.`),
    $('comments').firstChild,
  );
}

let commentsGeneration = 0;

async function reloadComments(attempt = 0) {
  const generation = ++commentsGeneration;
  const sent = performance.now();
  let rows;
  try {
    // Oldest first: only the last MAX_COMMENTS stay on the page.
    rows = await fetchAll(`/api/live/comments/?event=${EVENT_ID}`, 100000);
  } catch (err) {
    console.warn('comments could not be loaded', err && err.message);
    retryLater(attempt, () => generation === commentsGeneration && reloadComments(attempt + 1));
    return;
  }
  if (generation !== commentsGeneration) return;
  const live = [...state.comments.values()].filter((c) => c.seenAt >= sent);
  state.comments.clear();
  fill($('comments'));
  commentNodes.clear();
  for (const c of rows.slice(-MAX_COMMENTS)) putComment(c);
  for (const c of live) putComment(c, { live: true });
  $('comments-empty').hidden = state.comments.size > 0;
}

// ---------------------------------------------------------------------------
// Reactions

function renderReactions() {
  const box = $('reactions');
  // The server names the types; the page's order first, any new one after.
  const known = Object.keys(state.reactions);
  const types = known.length
    ? [...Object.keys(REACTIONS).filter((t) => known.includes(t)), ...known.filter((t) => !(t in REACTIONS))]
    : Object.keys(REACTIONS);
  const existing = new Map([...box.querySelectorAll('button[data-reaction]')].map((b) => [b.dataset.reaction, b]));
  const buttons = types.map((type) => {
    const [emoji, label] = REACTIONS[type] || ['•', type];
    const count = state.reactions[type] || 0;
    let button = existing.get(type);
    if (!button) {
      button = el(
        'button',
        { type: 'button', class: 'reaction', dataset: { reaction: type }, onclick: () => react(type) },
        el('span', { class: 'emoji', 'aria-hidden': 'true' }, emoji),
        el('span', { class: 'label' }, label),
        el('span', { class: 'count' }, '0'),
      );
    }
    const countEl = button.querySelector('.count');
    countEl.textContent = number.format(count);
    countEl.dataset.count = String(count);
    button.setAttribute('aria-label', `${label}: ${number.format(count)}`);
    return button;
  });
  fill(box, ...buttons);
}

async function react(type) {
  const status = $('react-status');
  if (!state.me) {
    status.textContent = 'Sign in to react.';
    return;
  }
  status.textContent = '';
  try {
    await client.react({ target_type: 'event', target_id: EVENT_ID, reaction_type: type });
  } catch (err) {
    status.textContent = writeError(err);
  }
}

// ---------------------------------------------------------------------------
// Polls

function myVotes() {
  try {
    return JSON.parse(localStorage.getItem(VOTES_KEY) || '{}') || {};
  } catch {
    return {};
  }
}

function rememberVote(poll, option) {
  const votes = myVotes();
  const key = `${state.me ? state.me.id : 'anon'}:${poll}`;
  votes[key] = option;
  localStorage.setItem(VOTES_KEY, JSON.stringify(votes));
}

function votedFor(poll) {
  if (!state.me) return undefined;
  return myVotes()[`${state.me.id}:${poll}`];
}

/** A tally's bar. Its width goes through the CSSOM: the page's policy refuses style attributes. */
function bar(pct) {
  const node = el('span', { class: 'bar', 'aria-hidden': 'true' });
  node.style.width = `${pct}%`;
  return node;
}

function setPoll(p, live) {
  if (!p || p.id === null || p.id === undefined || p.status === 'draft') return;
  if (live) touch(`poll:${p.id}`);
  state.polls.set(p.id, p);
}

function renderPolls() {
  const box = $('polls');
  const polls = [...state.polls.values()]
    .filter((p) => p.status === 'open' || p.status === 'closed')
    .sort((a, b) => (a.status === b.status ? b.id - a.id : a.status === 'open' ? -1 : 1))
    .slice(0, 3);
  $('poll-panel').hidden = polls.length === 0;
  fill(
    box,
    ...polls.map((p) => {
      const total = p.total_votes || (p.options || []).reduce((n, o) => n + (o.votes || 0), 0);
      const mine = votedFor(p.id);
      const open = p.status === 'open';
      const canVote = open && mine === undefined;
      return el(
        'fieldset',
        { class: 'poll', dataset: { pollId: String(p.id), status: p.status } },
        el('legend', {}, p.question || 'Poll'),
        el(
          'ul',
          { class: 'options' },
          (p.options || []).map((o) => {
            const pct = total ? Math.round(((o.votes || 0) * 100) / total) : 0;
            return el(
              'li',
              { dataset: { optionId: String(o.id), votes: String(o.votes || 0) } },
              el(
                'button',
                {
                  type: 'button',
                  class: ['option', mine === o.id && 'mine'].filter(Boolean).join(' '),
                  disabled: !canVote,
                  'aria-pressed': mine === o.id ? 'true' : 'false',
                  onclick: () => vote(p.id, o.id),
                },
                el('span', { class: 'option-text' }, o.text || ''),
                el('span', { class: 'option-tally' }, `${pct}% · ${number.format(o.votes || 0)}`),
                bar(pct),
              ),
            );
          }),
        ),
        el(
          'p',
          { class: 'muted small' },
          `${number.format(total)} vote${total === 1 ? '' : 's'}`,
          open ? (mine !== undefined ? ' · you voted' : state.me ? '' : ' · sign in to vote') : ' · closed',
        ),
      );
    }),
  );
}

async function vote(poll, option) {
  const status = $('poll-status');
  if (!state.me) {
    status.textContent = 'Sign in to vote.';
    return;
  }
  status.textContent = '';
  try {
    await client.vote({ poll, option });
    rememberVote(poll, option);
  } catch (err) {
    if (err && err.code === 'already_voted') rememberVote(poll, option);
    else status.textContent = writeError(err);
  }
  renderPolls();
}

// ---------------------------------------------------------------------------
// Viewers, connection, transport, broadcast

function renderViewers() {
  const v = $('viewers');
  v.textContent = typeof state.viewers === 'number' ? number.format(state.viewers) : '–';
  v.dataset.count = String(state.viewers ?? '');
}

function renderConnection(s, info) {
  state.connection = s;
  $('state').textContent = s;
  $('state').dataset.state = s;
  const banner = $('banner');
  banner.hidden = s === 'connected';
  banner.dataset.state = s;
  // 'offline' is the client stopped for good (a policy close): say so.
  banner.textContent =
    s === 'connecting' ? 'Connecting…' : s === 'offline' ? 'Offline. Reload the page to reconnect.' : 'Reconnecting…';
  // Why the last connection ended, for whoever looks (the banner says enough).
  banner.title = info && info.reason ? String(info.reason) : '';
  document.body.classList.toggle('disconnected', s !== 'connected');
}

function showBroadcast(data) {
  if (!data) return;
  $('broadcast-title').textContent = data.title || 'Announcement';
  $('broadcast-message').textContent = data.message || '';
  $('broadcast').hidden = false;
}

function fatal(message) {
  const box = $('fatal');
  box.textContent = message;
  box.hidden = false;
}

// ---------------------------------------------------------------------------
// Signing in, commenting

function writeError(err) {
  if (!err) return 'Something went wrong.';
  const wait = typeof err.retryAfterMs === 'number' ? ` Try again in ${Math.max(1, Math.ceil(err.retryAfterMs / 1000))} s.` : '';
  switch (err.code) {
    case 'unauthorized':
      return 'Please sign in again.';
    case 'rate_limited':
      return `Slow down a little.${wait}`;
    case 'slow_mode':
      return `Slow mode is on.${wait}`;
    case 'muted':
      return 'You are muted on this event.';
    case 'banned':
      return 'This account is banned.';
    case 'content_rejected':
      return `Not posted: ${err.message || 'the filter refused it'}.`;
    case 'unavailable':
      return `The server is busy.${wait}`;
    default:
      return (err.message || 'Something went wrong.') + wait;
  }
}

function setMe(user) {
  state.me = user;
  $('signin').hidden = !!user;
  $('signed-in').hidden = !user;
  $('comment-form').hidden = !user;
  $('me-name').textContent = user ? user.display_name || user.email || 'you' : '';
  // Reply buttons and poll states depend on who is signed in.
  for (const c of state.comments.values()) {
    const node = commentNodes.get(c.id);
    if (node) {
      const fresh = renderComment(c);
      node.replaceWith(fresh);
      commentNodes.set(c.id, fresh);
    }
  }
  renderPolls();
}

let registering = false;

function setSigninMode(register) {
  registering = register;
  $('signin-name-row').hidden = !register;
  $('signin-submit').textContent = register ? 'Create account' : 'Sign in';
  $('signin-mode').textContent = register ? 'Have an account? Sign in' : 'New here? Create an account';
  $('signin-password').autocomplete = register ? 'new-password' : 'current-password';
}

async function signIn(event) {
  event.preventDefault();
  const error = $('signin-error');
  error.textContent = '';
  const email = $('signin-email').value.trim();
  const password = $('signin-password').value;
  if (!email || !password) {
    error.textContent = 'Enter your email and password.';
    return;
  }
  const body = { email, password };
  if (registering) body.display_name = $('signin-name').value.trim() || email.split('@')[0];
  $('signin-submit').disabled = true;
  try {
    const answer = await api(registering ? '/api/auth/register/' : '/api/auth/login/', { method: 'POST', body });
    localStorage.setItem(TOKEN_KEY, answer.token);
    localStorage.setItem(USER_KEY, JSON.stringify(answer.user));
    $('signin-password').value = '';
    setMe(answer.user);
    startClient();
  } catch (err) {
    error.textContent =
      err.code === 'unauthorized' ? 'Wrong email or password.' : err.code === 'already_exists' ? 'That email already has an account.' : writeError(err);
  } finally {
    $('signin-submit').disabled = false;
  }
}

function signOut() {
  const wasSignedIn = localStorage.getItem(TOKEN_KEY) !== null;
  localStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(USER_KEY);
  cancelReply();
  setMe(null);
  if (wasSignedIn && client) startClient();
}

function startReply(c) {
  state.replyTo = c.id;
  $('replying-to').textContent = c.user_display_name || 'a fan';
  $('replying').hidden = false;
  $('comment-input').focus();
}

function cancelReply() {
  state.replyTo = null;
  $('replying').hidden = true;
}

async function postComment(event) {
  event.preventDefault();
  const input = $('comment-input');
  const status = $('comment-status');
  const content = input.value.trim();
  if (!content) return;
  $('comment-submit').disabled = true;
  status.textContent = 'Posting…';
  try {
    const ack = await client.comment({ live_event: EVENT_ID, content, parent_comment: state.replyTo });
    input.value = '';
    cancelReply();
    status.textContent = ack && ack.status === 'held' ? 'Posted; it shows once a moderator approves it.' : '';
    // The frame brings it too; the ack shows it at once when it is whole.
    if (ack && ack.id !== undefined && typeof ack.content === 'string') putComment(ack, { live: true });
  } catch (err) {
    status.textContent = writeError(err);
    if (err && err.code === 'unauthorized') signOut();
  } finally {
    $('comment-submit').disabled = false;
  }
}

async function restoreSession() {
  const token = localStorage.getItem(TOKEN_KEY);
  if (!token) return setMe(null);
  try {
    setMe(JSON.parse(localStorage.getItem(USER_KEY) || 'null'));
  } catch {
    setMe(null);
  }
  try {
    const me = await api('/api/auth/me/');
    localStorage.setItem(USER_KEY, JSON.stringify(me));
    setMe(me);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) signOut();
  }
}

// ---------------------------------------------------------------------------
// Live frames

function onEventFrame(frame) {
  const data = frame && frame.data;
  switch (frame && frame.type) {
    case 'update':
      putUpdate(data);
      break;
    case 'event_state': {
      touch('event');
      // A card change (a late replacement, a fight added) carries the card.
      const { fights, ...event } = data || {};
      state.event = { ...(state.event || {}), ...event };
      if (Array.isArray(fights)) {
        state.fights = new Map(fights.map((f) => [f.id, f]));
        sampleFights(fights, performance.now());
      }
      renderEvent();
      renderCard();
      renderFocus();
      break;
    }
    case 'fight_state': {
      if (!data || data.id === undefined) break;
      touch(`fight:${data.id}`);
      serverClock.sample(data.clock && data.clock.server_time);
      const { transition: _transition, ...fight } = data;
      state.fights.set(fight.id, fight);
      renderCard();
      renderFocus();
      break;
    }
    case 'poll':
      setPoll(data, true);
      renderPolls();
      break;
    case 'viewers':
      touch('viewers');
      if (data && typeof data.count === 'number') state.viewers = data.count;
      renderViewers();
      break;
    case 'reactions':
      if (data && data.target && data.target.type === 'event' && Number(data.target.id) === EVENT_ID) {
        touch('reactions');
        state.reactions = { ...state.reactions, ...data.totals };
        renderReactions();
      }
      break;
    default:
      // presence and frame types this page does not show
      break;
  }
}

function onCommentFrame(frame) {
  const data = frame && frame.data;
  switch (frame && frame.type) {
    case 'comment':
      putComment(data, { live: true });
      break;
    case 'comment_removed':
      if (data && data.id !== undefined) removeComment(data.id);
      break;
    case 'skipped':
      noteSkipped(data);
      break;
    case 'slow_mode':
      // A moderator changed it: the frame carries the snapshot's field.
      slowModeNote(data);
      break;
    default:
      break;
  }
}

function slowModeNote(snapshot) {
  if (!snapshot || typeof snapshot.slow_mode_seconds !== 'number') return;
  state.slowMode = snapshot.slow_mode_seconds;
  $('comment-input').placeholder = state.slowMode
    ? `Slow mode: one comment every ${state.slowMode} s`
    : 'Say something about the fight…';
}

// ---------------------------------------------------------------------------
// Start

let client = null;

/**
 * A client for who is signed in now. The WebSocket session is who it was
 * opened as (its writes go over it), so signing in or out starts a new one;
 * its subscriptions start over and the lists are reloaded.
 */
function startClient() {
  if (client) client.close();
  const c = new RingsideClient({ url: location.origin, token: () => localStorage.getItem(TOKEN_KEY) });
  client = c;
  // A closed client's last words (its 'offline') are not this page's state.
  const mine = (fn) => (...args) => {
    if (client === c) fn(...args);
  };
  c.on(
    'state',
    mine((s, info) => {
      renderConnection(s, info);
      // A policy close of a signed-in session (signed out everywhere, a
      // password change, a ban): watch on without the account.
      if (s === 'offline' && info && info.code === 1008 && localStorage.getItem(TOKEN_KEY)) signOut();
    }),
  );
  c.on('transport', mine((t) => {
    $('transport').textContent = t;
    $('transport').dataset.transport = t;
  }));
  c.on('broadcast', mine(showBroadcast));
  c.on('error', mine((err) => console.warn('ringside client', err && err.code, err && err.message)));

  c.subscribe(`event:${EVENT_ID}`, {
    onSubscribed: mine((snapshot, meta) => {
      // Whether the last subscription resumed (or started over), for whoever inspects the page.
      $('state').dataset.resumed = String(!!(meta && meta.resumed));
      applyEventSnapshot(snapshot, performance.now());
      refreshDetail();
      // A resumed subscription replays what it missed; anything else starts over.
      if (!(meta && meta.resumed)) reloadUpdates();
    }),
    onFrame: mine(onEventFrame),
    // The client hands over the REST detail itself: fresh clock, totals and tallies.
    onResync: mine((snapshot) => {
      applyEventSnapshot(snapshot, performance.now());
      reloadUpdates();
    }),
    onError: mine((err) => {
      if (err && err.code === 'not_found') fatal('This live event does not exist.');
      else console.warn('event channel', err && err.code, err && err.message);
    }),
  });

  c.subscribe(`comments:${EVENT_ID}`, {
    onSubscribed: mine((snapshot, meta) => {
      slowModeNote(snapshot);
      if (!(meta && meta.resumed)) reloadComments();
    }),
    onFrame: mine(onCommentFrame),
    // The REST snapshot of a comment stream is its list: reload it whole.
    onResync: mine(() => reloadComments()),
    onError: mine((err) => console.warn('comments channel', err && err.code, err && err.message)),
  });

  c.connect();
}

function start() {
  $('signin').addEventListener('submit', signIn);
  $('signin-mode').addEventListener('click', () => setSigninMode(!registering));
  $('signout').addEventListener('click', signOut);
  $('comment-form').addEventListener('submit', postComment);
  $('reply-cancel').addEventListener('click', cancelReply);
  $('broadcast-close').addEventListener('click', () => {
    $('broadcast').hidden = true;
  });
  renderConnection('connecting');
  renderReactions();

  if (EVENT_ID === null) {
    fatal('No live event in this address: it should look like /watch/7/.');
    return;
  }
  restoreSession();
  startClient();
  // Redraw the clock often enough that a second never lingers; only
  // changed text touches the DOM.
  setInterval(renderClock, 200);
}

start();
