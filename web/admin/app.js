// The console's shell (`/admin/`): sign-in, the header (the live event
// picker, the connection, who is signed in), the navigation by role, the
// router (`/admin/#/<view>[/<arg>]`, or `/admin/<view>/<arg>` on first load)
// and the `ctx` every view gets:
//
//   ctx.user                    {id, display_name, role}
//   ctx.api(method, path, body) → Promise of the JSON; rejects with an Error
//                                 carrying .status .code .message .details
//   ctx.client                  the shared RingsideClient: subscribe(channel,
//                               handlers) → {unsubscribe}; several views may
//                               follow the same channel (fanned out here)
//   ctx.event / ctx.onEvent(fn) the picked live event id (or null); fn(id)
//                               on change, returns the unlisten
//   ctx.toast(text, kind)       kind: 'ok' | 'error' | 'info'
//   ctx.confirm(text, {typed})  → Promise<boolean>; with typed the word must
//                               be typed to confirm
//   ctx.el(tag, attrs, ...kids) the escaping DOM builder (lib.js)
//   ctx.go(address)             'fight/12', '#/fight/12' or '/admin/fight/12'
//
// A view is `views/<name>.js` exporting {id, title, roles, mount(root, ctx,
// arg) → unmount}. Views are loaded by name; a missing one is left out.

import { RingsideClient } from '/static/ringside-client.js';
import {
  ApiError,
  TOKEN_KEY,
  USER_KEY,
  api,
  el,
  errorText,
  eventName,
  fetchAll,
  fill,
  serverClock,
  setUnauthorizedHandler,
  STATUS,
  token,
} from './lib.js';

/** The views in navigation order (console-a's, then console-b's). */
const VIEW_NAMES = ['events', 'card', 'fight', 'updates', 'moderation', 'polls', 'notifications', 'monitor', 'analytics', 'automation'];
const EVENT_KEY = 'ringside_admin_event';

const $ = (id) => document.getElementById(id);

const shell = {
  user: null,
  views: [],
  client: null,
  mux: null,
  event: null,
  eventListeners: new Set(),
  unmount: null,
  mounted: null,
  liveEvents: [],
};

// ---------------------------------------------------------------------------
// Toasts and the confirmation modal

function toast(text, kind = 'info') {
  const box = $('toasts');
  const node = el('div', { class: 'toast', dataset: { kind }, role: kind === 'error' ? 'alert' : 'status' }, String(text));
  box.append(node);
  setTimeout(() => node.remove(), kind === 'error' ? 8000 : 4000);
  return node;
}

/** A modal; resolves true only on an explicit confirm (and the typed word). */
function confirmModal(text, opts = {}) {
  return new Promise((resolve) => {
    const typed = opts.typed ? String(opts.typed) : null;
    const previous = document.activeElement;
    const input = typed
      ? el('input', { type: 'text', id: 'confirm-typed', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'confirm-hint' })
      : null;
    const ok = el('button', { type: 'submit', class: 'danger', id: 'confirm-ok', disabled: !!typed }, opts.okText || 'Confirm');
    const cancel = el('button', { type: 'button', id: 'confirm-cancel' }, 'Cancel');
    const form = el(
      'form',
      { class: 'modal', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'confirm-text', id: 'confirm' },
      el('p', { id: 'confirm-text', class: 'confirm-text' }, String(text)),
      typed
        ? el('label', { class: 'field' }, el('span', { id: 'confirm-hint', class: 'field-label' }, `Type ${typed} to confirm`), input)
        : null,
      el('div', { class: 'row' }, ok, cancel),
    );
    const backdrop = el('div', { class: 'backdrop', id: 'confirm-backdrop' }, form);
    let done = false;
    const finish = (answer) => {
      if (done) return;
      done = true;
      backdrop.remove();
      document.removeEventListener('keydown', onKey, true);
      if (previous && previous.focus) previous.focus();
      resolve(answer);
    };
    const onKey = (e) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        finish(false);
      }
      e.stopPropagation();
    };
    if (input) input.addEventListener('input', () => (ok.disabled = input.value.trim() !== typed));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (typed && input.value.trim() !== typed) return;
      finish(true);
    });
    cancel.addEventListener('click', () => finish(false));
    document.addEventListener('keydown', onKey, true);
    document.body.append(backdrop);
    (input || ok).focus();
  });
}

// ---------------------------------------------------------------------------
// The shared client, fanned out to every view that follows a channel

/**
 * One RingsideClient subscription per channel, however many views follow
 * it: each gets every frame, and one that joins late gets the last
 * `subscribed` snapshot at once.
 */
class Mux {
  constructor(client) {
    this.client = client;
    this.channels = new Map();
  }

  subscribe(channel, handlers = {}) {
    let entry = this.channels.get(channel);
    if (!entry) {
      entry = { handlers: new Set(), snapshot: undefined, info: undefined };
      this.channels.set(channel, entry);
      const each = (name) => (...args) => {
        for (const h of [...entry.handlers]) {
          try {
            if (h[name]) h[name](...args);
          } catch (e) {
            console.error(`${channel} ${name}`, e);
          }
        }
      };
      const subscribed = each('onSubscribed');
      const resync = each('onResync');
      const error = each('onError');
      this.client.subscribe(channel, {
        onSubscribed: (snapshot, info) => {
          entry.snapshot = snapshot;
          entry.info = info;
          subscribed(snapshot, info);
        },
        onFrame: each('onFrame'),
        onResync: (snapshot, reason) => {
          entry.snapshot = snapshot;
          resync(snapshot, reason);
        },
        onError: (err) => {
          error(err);
          // The client dropped it: the next subscribe starts afresh.
          if (this.channels.get(channel) === entry) this.channels.delete(channel);
        },
      });
    } else if (entry.snapshot !== undefined && handlers.onSubscribed) {
      const { snapshot, info } = entry;
      queueMicrotask(() => entry.handlers.has(handlers) && handlers.onSubscribed(snapshot, { ...info, resumed: false }));
    }
    entry.handlers.add(handlers);
    return {
      channel,
      unsubscribe: () => {
        entry.handlers.delete(handlers);
        if (entry.handlers.size === 0 && this.channels.get(channel) === entry) {
          this.channels.delete(channel);
          this.client.unsubscribe(channel);
        }
      },
    };
  }

  unsubscribe(channel) {
    if (this.channels.delete(channel)) this.client.unsubscribe(channel);
  }

  on(event, fn) {
    return this.client.on(event, fn);
  }

  comment(input) {
    return this.client.comment(input);
  }

  react(input) {
    return this.client.react(input);
  }

  vote(input) {
    return this.client.vote(input);
  }

  position(channel) {
    return this.client.position(channel);
  }

  get state() {
    return this.client.state;
  }

  get transport() {
    return this.client.transport;
  }
}

function startClient() {
  stopClient();
  const client = new RingsideClient({ url: location.origin, token: () => token() });
  shell.client = client;
  shell.mux = new Mux(client);
  client.on('state', (s, info) => {
    if (shell.client !== client) return;
    const node = $('conn');
    node.textContent = s;
    node.dataset.state = s;
    node.title = info && info.reason ? String(info.reason) : '';
  });
  client.on('transport', (t) => {
    if (shell.client === client) $('conn').dataset.transport = t;
  });
  client.on('broadcast', (data) => {
    if (shell.client === client && data) toast(`Broadcast: ${data.title || ''} ${data.message || ''}`.trim(), 'info');
  });
  client.on('error', (err) => console.warn('ringside client', err && err.code, err && err.message));
  // The header's own follower: the picked event's status, and the server clock.
  client.connect();
}

function stopClient() {
  if (shell.client) shell.client.close();
  shell.client = null;
  shell.mux = null;
}

// ---------------------------------------------------------------------------
// The picked live event

function setEvent(id, { quiet = false } = {}) {
  const next = id === null || id === undefined || id === '' ? null : Number(id);
  if (next === shell.event) return;
  shell.event = next;
  if (next === null) sessionStorage.removeItem(EVENT_KEY);
  else sessionStorage.setItem(EVENT_KEY, String(next));
  const picker = $('event-picker');
  if (picker && picker.value !== String(next ?? '')) renderPicker();
  if (quiet) return;
  for (const fn of [...shell.eventListeners]) {
    try {
      fn(next);
    } catch (e) {
      console.error('onEvent', e);
    }
  }
}

/** Live events for the picker: live first, then upcoming, then the latest ended. */
async function loadLiveEvents() {
  try {
    const [rows, events] = await Promise.all([fetchAll('/api/live/events/', 1000), fetchAll('/api/events/', 2000)]);
    // The list rows carry the event's id only: its name comes from the catalog.
    const byId = new Map(events.map((e) => [e.id, e]));
    for (const le of rows) if (!le.event_detail && byId.has(le.event)) le.event_detail = byId.get(le.event);
    const order = { live: 0, upcoming: 1, completed: 2, cancelled: 3 };
    rows.sort((a, b) => (order[a.status] ?? 9) - (order[b.status] ?? 9) || b.id - a.id);
    shell.liveEvents = rows;
  } catch (err) {
    console.warn('live events', errorText(err));
  }
  if (shell.event === null) {
    const live = shell.liveEvents.find((e) => e.status === 'live');
    if (live) setEvent(live.id);
  }
  renderPicker();
}

function renderPicker() {
  const picker = $('event-picker');
  const options = shell.liveEvents.map((le) =>
    el('option', { value: String(le.id), selected: le.id === shell.event }, `${eventName(le)} · ${STATUS[le.status] || le.status} · #${le.id}`),
  );
  if (shell.event !== null && !shell.liveEvents.some((le) => le.id === shell.event)) {
    options.unshift(el('option', { value: String(shell.event), selected: true }, `Live event #${shell.event}`));
  }
  fill(picker, el('option', { value: '', selected: shell.event === null }, '— pick a live event —'), options);
}

// ---------------------------------------------------------------------------
// Views and the router

async function loadViews() {
  const loaded = await Promise.all(
    VIEW_NAMES.map(async (name) => {
      try {
        const mod = await import(`./views/${name}.js`);
        const view = mod.default;
        if (!view || typeof view.mount !== 'function') throw new TypeError('no default view export');
        return { ...view, id: view.id || name };
      } catch (e) {
        // A view another part has not written yet: left out of the navigation.
        if (!String(e && e.message).match(/Failed to fetch|Importing a module script failed|404/)) console.warn(`view ${name}`, e);
        return null;
      }
    }),
  );
  shell.views = loaded.filter(Boolean);
}

function allowed(view) {
  return !!shell.user && (!view.roles || view.roles.includes(shell.user.role));
}

function renderNav() {
  const current = shell.mounted && shell.mounted.view.id;
  fill(
    $('nav'),
    shell.views.filter(allowed).map((v, i) =>
      el(
        'a',
        {
          href: `#/${v.id}`,
          class: 'nav-link',
          dataset: { view: v.id },
          'aria-current': v.id === current ? 'page' : null,
          title: i < 9 ? `Alt+${i + 1}` : null,
        },
        v.title || v.id,
      ),
    ),
  );
}

/** 'fight/12', '#/fight/12', '/admin/fight/12' → '#/fight/12'. */
function normalise(address) {
  let a = String(address || '').trim();
  if (a.startsWith('/admin/')) a = a.slice('/admin/'.length);
  a = a.replace(/^#?\/?/, '');
  return `#/${a}`;
}

function go(address) {
  const hash = normalise(address);
  if (location.hash === hash) route();
  else location.hash = hash;
}

function parseRoute() {
  const m = /^#\/([a-z0-9_-]+)(?:\/(.*))?$/i.exec(location.hash || '');
  if (!m) return null;
  return { id: m[1], arg: m[2] === undefined || m[2] === '' ? null : decodeURIComponent(m[2]) };
}

function defaultView() {
  return shell.views.find(allowed) || null;
}

function unmountView() {
  if (shell.unmount) {
    try {
      shell.unmount();
    } catch (e) {
      console.error('unmount', e);
    }
  }
  shell.unmount = null;
  shell.mounted = null;
}

function route() {
  if (!shell.user) return;
  const wanted = parseRoute();
  const root = $('view');
  let view = wanted && shell.views.find((v) => v.id === wanted.id);
  if (!wanted || (!view && shell.views.length)) {
    const fallback = defaultView();
    if (fallback && (!wanted || !view)) {
      if (wanted) toast(`No view "${wanted.id}" here.`, 'error');
      history.replaceState(null, '', `/admin/#/${fallback.id}`);
      view = fallback;
    }
  }
  const arg = wanted && view && wanted.id === view.id ? wanted.arg : null;
  unmountView();
  root.dataset.view = view ? view.id : '';
  if (!view) {
    fill(root, el('p', { class: 'empty' }, 'No view is available for this account.'));
    renderNav();
    return;
  }
  if (!allowed(view)) {
    fill(
      root,
      el(
        'p',
        { class: 'refused', role: 'alert', 'data-testid': 'refused' },
        `${view.title || view.id} is not for the ${shell.user.role} role. The API would refuse it too.`,
      ),
    );
    shell.mounted = { view, arg };
    renderNav();
    return;
  }
  const box = el('div', { class: 'view', dataset: { view: view.id } });
  fill(root, box);
  document.title = `${view.title || view.id} · Ringside console`;
  shell.mounted = { view, arg };
  renderNav();
  const ctx = makeCtx();
  try {
    const unmount = view.mount(box, ctx, arg);
    shell.unmount = () => {
      ctx.dispose();
      if (typeof unmount === 'function') unmount();
    };
  } catch (e) {
    ctx.dispose();
    console.error(e);
    fill(box, el('p', { class: 'refused', role: 'alert' }, `This view failed to start: ${e.message}`));
  }
}

/** A view's ctx; its event listeners go when it is unmounted. */
function makeCtx() {
  const listeners = new Set();
  return {
    get user() {
      return shell.user;
    },
    api,
    get client() {
      return shell.mux;
    },
    get event() {
      return shell.event;
    },
    get liveEvents() {
      return shell.liveEvents;
    },
    setEvent: (id) => setEvent(id),
    refreshEvents: () => loadLiveEvents(),
    onEvent(fn) {
      listeners.add(fn);
      shell.eventListeners.add(fn);
      return () => {
        listeners.delete(fn);
        shell.eventListeners.delete(fn);
      };
    },
    toast,
    confirm: confirmModal,
    el,
    go,
    serverClock,
    dispose() {
      for (const fn of listeners) shell.eventListeners.delete(fn);
      listeners.clear();
    },
  };
}

// ---------------------------------------------------------------------------
// Signing in and out

function showSignin(message) {
  $('signin').hidden = false;
  $('app').hidden = true;
  $('signin-error').textContent = message || '';
  $('signin-email').focus();
}

async function enter(user) {
  shell.user = user;
  $('signin').hidden = true;
  $('app').hidden = false;
  $('me-name').textContent = user.display_name || user.email || `user ${user.id}`;
  $('me-role').textContent = user.role;
  $('me-role').dataset.role = user.role;
  document.body.dataset.role = user.role;
  const stored = sessionStorage.getItem(EVENT_KEY);
  if (stored && /^\d+$/.test(stored)) setEvent(Number(stored), { quiet: true });
  startClient();
  await loadViews();
  loadLiveEvents();
  renderNav();
  route();
}

async function signIn(e) {
  e.preventDefault();
  const error = $('signin-error');
  error.textContent = '';
  const email = $('signin-email').value.trim();
  const password = $('signin-password').value;
  if (!email || !password) {
    error.textContent = 'Enter your email and password.';
    return;
  }
  $('signin-submit').disabled = true;
  try {
    const answer = await api('POST', '/api/auth/login/', { email, password });
    const user = answer && answer.user;
    if (!user || !answer.token) throw new ApiError(500, { error: { code: 'bad_answer', message: 'the server sent no token' } });
    if (user.role === 'viewer') {
      error.textContent = `${user.display_name || email} is a viewer account: it has no access to the console. Ask an admin for the reporter, moderator or admin role.`;
      error.dataset.code = 'no_access';
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, answer.token);
    sessionStorage.setItem(USER_KEY, JSON.stringify(user));
    $('signin-password').value = '';
    await enter(user);
  } catch (err) {
    error.dataset.code = err.code || '';
    error.textContent = err.status === 401 ? `Wrong email or password (${err.code}).` : errorText(err);
  } finally {
    $('signin-submit').disabled = false;
  }
}

function signOut(message) {
  unmountView();
  stopClient();
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
  shell.user = null;
  shell.views = [];
  fill($('nav'));
  fill($('view'));
  delete document.body.dataset.role;
  showSignin(typeof message === 'string' ? message : '');
}

async function restore() {
  if (!token()) return showSignin();
  try {
    const me = await api('GET', '/api/auth/me/');
    if (!me || me.role === 'viewer') return signOut('This account has no access to the console.');
    sessionStorage.setItem(USER_KEY, JSON.stringify(me));
    await enter(me);
  } catch (err) {
    if (err.status === 401) signOut('Your session ended: sign in again.');
    else showSignin(errorText(err));
  }
}

// ---------------------------------------------------------------------------
// Start

function start() {
  // `/admin/fight/12` (a reload of a path address) becomes `/admin/#/fight/12`.
  const path = location.pathname.replace(/^\/admin\/?/, '');
  if (path && !location.hash) history.replaceState(null, '', `/admin/${normalise(path)}`);
  $('signin').addEventListener('submit', signIn);
  $('signout').addEventListener('click', () => signOut());
  $('event-picker').addEventListener('change', (e) => setEvent(e.target.value));
  window.addEventListener('hashchange', route);
  // Alt+1…9: the views in the navigation's order.
  document.addEventListener('keydown', (e) => {
    if (!e.altKey || e.ctrlKey || e.metaKey || !shell.user) return;
    const n = Number(e.key);
    if (!Number.isInteger(n) || n < 1) return;
    const view = shell.views.filter(allowed)[n - 1];
    if (view) {
      e.preventDefault();
      go(view.id);
    }
  });
  setUnauthorizedHandler(() => signOut('Your session ended: sign in again.'));
  restore();
}

start();
