// What the moderation, polls, notifications, monitor, analytics and
// automation views share beyond the console's lib.js (which they use for
// the DOM builder, the REST call, status lines and formats). Not a view:
// the shell's list in app.js names the views.

import { el, eventName } from '../lib.js';

/** Seconds as `1:05:09`, `4:09` or `0:07`. */
export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${r}` : `${m}:${r}`;
}

/** A number for a dashboard: grouped digits, at most one decimal; `–` when absent. */
export function num(n) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return '–';
  const v = Number(n);
  return Number.isInteger(v) ? v.toLocaleString() : v.toLocaleString(undefined, { maximumFractionDigits: 1 });
}

/** What a view shows when it needs the header's live event and none is picked. */
export function noEvent(what) {
  return el('p', { class: 'empty', dataset: { testid: 'no-event' } }, `Pick a live event in the header to see its ${what}.`);
}

/**
 * A view of the picked live event: `mountFor(event)` draws it (answering
 * its stop), again whenever the header's picker changes, the previous one
 * stopped first; `empty()` draws the view while none is picked. Answers
 * the view's unmount.
 */
export function followPicked(ctx, { empty, mountFor }) {
  let stop = () => {};
  const show = (event) => {
    stop();
    stop = () => {};
    if (event === null || event === undefined) empty();
    else stop = mountFor(event) || stop;
  };
  show(ctx.event ?? null);
  const offPicker = ctx.onEvent((id) => show(id ?? null));
  return () => {
    stop();
    offPicker();
  };
}

/**
 * Calls `fn` now and every `ms` while the view is mounted; a run still
 * going is not started again. Returns the stop.
 */
export function every(ms, fn) {
  let busy = false;
  let stopped = false;
  const tick = async () => {
    if (busy || stopped) return;
    busy = true;
    try {
      await fn();
    } finally {
      busy = false;
    }
  };
  tick();
  const timer = setInterval(tick, ms);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

/** Figures as a `<dl>`: [label, value, testid?] each. */
export function facts(pairs, attrs = {}) {
  return el(
    'dl',
    { class: 'b-facts', ...attrs },
    pairs.map(([k, v, testid]) => el('div', {}, el('dt', {}, k), el('dd', testid ? { dataset: { testid } } : {}, v))),
  );
}

/** A status word as a badge (`held`, `hidden`, `pending`, `cancelled`, …). */
export function tag(word, attrs = {}) {
  return el('span', { class: 'badge b-tag', ...attrs, dataset: { status: word, ...(attrs.dataset || {}) } }, word);
}

/** These views' stylesheet, linked once (the page policy allows 'self'). */
export function styles() {
  if (document.querySelector('link[data-console-b]')) return;
  document.head.append(el('link', { rel: 'stylesheet', href: '/admin/views/console-b.css', dataset: { consoleB: '' } }));
}

/** A live event as headings name it: `Fight Night (#7)`, from the shell's list. */
export function eventTitle(ctx, id) {
  const le = (ctx.liveEvents || []).find((e) => e.id === id);
  return le ? `${eventName(le)} (#${id})` : `live event #${id}`;
}
