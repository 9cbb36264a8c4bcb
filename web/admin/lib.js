// Shared helpers of the console (`/admin/`): the DOM builder, the REST call,
// the server clock, words and formats. Every view imports what it needs from
// here; the shell (app.js) builds `ctx` from them.
//
// Rules this file keeps (and every view with it):
// - Nothing from the network is ever parsed as HTML: `el` appends strings
//   as text nodes, attributes go through setAttribute.
// - No inline style (the page policy refuses it): sizes go through the CSSOM.

import { serverMs } from '/static/fight-clock.js';

export const TOKEN_KEY = 'ringside_admin_token';
export const USER_KEY = 'ringside_admin_user';
const PAGE = 200;

/** Roles in the API's order. */
export const ROLES = ['viewer', 'reporter', 'moderator', 'admin'];

/** Whether `role` is at least `min`. */
export function atLeast(role, min) {
  return ROLES.indexOf(role) >= ROLES.indexOf(min) && ROLES.indexOf(min) >= 0;
}

/**
 * Builds an element. `attrs`: `class`, `text`, `dataset`, `on<event>`
 * handlers, `value`/`checked`/`disabled`/`selected` as properties, anything
 * else as an attribute (null, undefined and false are skipped). String
 * children become text nodes (never HTML).
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') node.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    else if (key === 'text') node.textContent = String(value);
    else if (key === 'dataset') {
      for (const [k, v] of Object.entries(value)) if (v !== null && v !== undefined) node.dataset[k] = String(v);
    } else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2).toLowerCase(), value);
    else if (key === 'style') throw new TypeError('style attributes are refused by the page policy: use node.style');
    // As properties, and as the defaults a form's reset() goes back to.
    else if (key === 'value') {
      node.value = String(value);
      if ('defaultValue' in node && node.tagName !== 'SELECT') node.defaultValue = String(value);
    } else if (key === 'checked') node.checked = node.defaultChecked = !!value;
    else if (key === 'selected') node.selected = node.defaultSelected = !!value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces a node's children (strings become text). */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** An API refusal: `status`, `code`, `message`, `details` from the error body. */
export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = err.code || (status ? `http_${status}` : 'network');
    this.details = err.details || null;
  }
}

/** The signed-in token (sessionStorage: it ends with the tab). */
export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** Called with the error when a request answers 401 (the shell signs out). */
let onUnauthorized = null;
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

/**
 * `api(method, path, body?)` → the parsed JSON (null for an empty body),
 * rejecting with an ApiError.
 */
export async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  const t = token();
  if (t) headers.authorization = `Bearer ${t}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let resp;
  try {
    resp = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch (e) {
    const err = new ApiError(0, { error: { code: 'network', message: `the server could not be reached (${e.message})` } });
    throw err;
  }
  const text = await resp.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!resp.ok) {
    const err = new ApiError(resp.status, data);
    if (resp.status === 401 && t && onUnauthorized) onUnauthorized(err);
    throw err;
  }
  return data;
}

/** Every page of a list (`results` + `next_cursor`). */
export async function fetchAll(path, max = 2000) {
  const out = [];
  let cursor = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api('GET', `${path}${sep}limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    out.push(...((page && page.results) || []));
    cursor = page && page.next_cursor;
  } while (cursor && out.length < max);
  return out;
}

/** An error as the console shows it: status, code and message, plainly. */
export function errorText(err) {
  if (!err) return 'Something went wrong.';
  if (err instanceof ApiError || err.code) {
    const status = err.status ? `${err.status} ` : '';
    let text = `${status}${err.code}: ${err.message}`;
    if (err.details && typeof err.details === 'object') {
      const extra = Object.entries(err.details)
        .filter(([, v]) => v !== null && typeof v !== 'object')
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      if (extra) text += ` (${extra})`;
    }
    return text;
  }
  return String(err.message || err);
}

/** A box that shows an action's outcome where it was taken. */
export function statusLine(attrs = {}) {
  const node = el('p', { class: 'status-line', role: 'status', 'aria-live': 'polite', ...attrs });
  return {
    node,
    ok(text) {
      node.dataset.kind = 'ok';
      node.textContent = text || '';
    },
    error(err) {
      node.dataset.kind = 'error';
      node.dataset.code = (err && err.code) || '';
      node.dataset.status = String((err && err.status) || '');
      node.textContent = errorText(err);
    },
    clear() {
      node.dataset.kind = '';
      node.textContent = '';
    },
  };
}

/**
 * Runs an action (a Promise-returning function) from a button: the button
 * is disabled meanwhile, the outcome goes to `status` (a statusLine) and,
 * on failure, the error is rethrown to nobody (it is shown).
 */
export async function act(button, status, fn, okText) {
  if (button) button.disabled = true;
  if (status) status.clear();
  try {
    const out = await fn();
    if (status && okText) status.ok(typeof okText === 'function' ? okText(out) : okText);
    return out;
  } catch (err) {
    if (status) status.error(err);
    else console.warn(err);
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

// ---------------------------------------------------------------------------
// The server's clock and the fight clock: the viewer page's, shared.

export { clockFace, clockReading, mss, serverClock, serverMs } from '/static/fight-clock.js';


// ---------------------------------------------------------------------------
// Words and formats

export const METHODS = {
  ko: 'KO',
  tko: 'TKO',
  submission: 'Submission',
  technical_submission: 'Technical submission',
  unanimous_decision: 'Unanimous decision',
  split_decision: 'Split decision',
  majority_decision: 'Majority decision',
  unanimous_draw: 'Unanimous draw',
  split_draw: 'Split draw',
  majority_draw: 'Majority draw',
  technical_decision: 'Technical decision',
  technical_draw: 'Technical draw',
  dq: 'Disqualification',
  no_contest: 'No contest',
};

export const STATUS = {
  upcoming: 'Upcoming',
  live: 'Live',
  completed: 'Completed',
  cancelled: 'Cancelled',
  in_progress: 'In progress',
  scheduled: 'Scheduled',
};

/** `m:ss` → seconds, or NaN. */
export function parseMss(text) {
  const m = /^\s*(\d{1,2}):([0-5]\d)\s*$/.exec(String(text || ''));
  return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const timeOfDay = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

export function when(text) {
  const ms = serverMs(text);
  return Number.isFinite(ms) ? dateTime.format(new Date(ms)) : '';
}

export function clockTime(text) {
  const ms = serverMs(text);
  return Number.isFinite(ms) ? timeOfDay.format(new Date(ms)) : '';
}

/** A `datetime-local` input's value → RFC 3339 (UTC), or null. */
export function localToIso(value) {
  if (!value) return null;
  const d = new Date(value);
  return Number.isFinite(d.getTime()) ? d.toISOString() : null;
}

/** RFC 3339 → a `datetime-local` input's value (this device's zone). */
export function isoToLocal(text) {
  const ms = serverMs(text);
  if (!Number.isFinite(ms)) return '';
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A fighter's name, or TBA. */
export function fighterName(f) {
  return (f && (f.name || [f.first_name, f.last_name].filter(Boolean).join(' '))) || 'TBA';
}

/** A live event's display name. */
export function eventName(le) {
  if (!le) return '';
  const d = le.event_detail || {};
  return d.name || `Live event ${le.id}`;
}

/** "Red wins by KO (R1 2:10)" from a fight with a result. */
export function resultText(fight) {
  const r = fight && fight.result;
  if (!r) return '';
  const method = METHODS[r.method] || String(r.method || '').replaceAll('_', ' ');
  let text;
  if (r.winner === 'red' || r.winner === 'blue') {
    const winner = r.winner === 'red' ? fight.red_fighter : fight.blue_fighter;
    text = `${fighterName(winner)} (${r.winner}) wins by ${method}`;
  } else {
    text = method;
  }
  if (Array.isArray(r.cards) && r.cards.length) text += ` (${r.cards.map((c) => `${c.red}-${c.blue}`).join(', ')})`;
  if (r.round) text += ` · R${r.round} ${r.time || ''}`.trimEnd();
  return text;
}

/** A labelled form field. */
export function field(label, input, hint) {
  return el('label', { class: 'field' }, el('span', { class: 'field-label' }, label), input, hint ? el('span', { class: 'hint' }, hint) : null);
}

/** A `<select>` from [value, label] pairs. */
export function select(attrs, options, current) {
  return el(
    'select',
    attrs,
    options.map(([value, label]) => el('option', { value, selected: String(value) === String(current ?? '') }, label)),
  );
}

/** A section of a view. */
export function panel(title, attrs, ...children) {
  return el('section', { class: 'panel', ...attrs }, title ? el('h2', {}, title) : null, ...children);
}

/** Subscribes a channel on the shared client; returns the unsubscribe. */
export function follow(client, channel, handlers) {
  if (!client) return () => {};
  const sub = client.subscribe(channel, handlers);
  return () => sub.unsubscribe();
}
