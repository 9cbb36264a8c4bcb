// The analytics view (`/admin/#/analytics`): the picked live event's night
// from GET /api/live/analytics/?event= (refreshed every 5 s): viewers,
// messages and comments per minute (uPlot charts), refusals by reason,
// reactions by type, polls, engaged users and push; its CSV; and an earlier
// night's viewers overlaid, aligned by minutes since each one's start.

import uPlot from '../vendor/uplot/uPlot.esm.js';
import { el, fill, statusLine, serverMs as ms, when, panel, token } from '../lib.js';
import { num, noEvent, facts, every, styles, eventTitle, followPicked } from './kit.js';

const REFRESH_MS = 5000;
const COLORS = { viewers: '#ffc857', messages: '#6cb4ff', comments: '#5fd38d', earlier: '#ff6b6b' };

export default {
  id: 'analytics',
  title: 'Analytics',
  roles: ['moderator', 'admin'],
  mount(root, ctx) {
    styles();
    ensureUplotCss();
    const view = el('div', { class: 'b-view b-analytics', dataset: { testid: 'view-analytics' } });
    fill(root, view);

    /** The view for one picked event; answers its stop. */
    function mountEvent(event) {
      const line = statusLine({ dataset: { testid: 'analytics-status' } });
      const headline = el('div', { id: 'a-headline' });
      const viewersBox = el('div', { class: 'b-chart', id: 'chart-viewers', dataset: { testid: 'chart-viewers' } });
      const rateBox = el('div', { class: 'b-chart', id: 'chart-rates', dataset: { testid: 'chart-rates' } });
      const compareBox = el('div', { class: 'b-chart', id: 'chart-compare', dataset: { testid: 'chart-compare' } });
      const refused = el('div', { id: 'a-refused' });
      const reactions = el('div', { id: 'a-reactions' });
      const byType = el('div', { id: 'a-by-type' });
      const polls = el('div', { id: 'a-polls' });
      const push = el('div', { id: 'a-push' });
      const csvLine = statusLine({ dataset: { testid: 'csv-status' } });
      const csv = el('a', {
        href: `/api/live/analytics/?event=${event}&format=csv`, class: 'button', download: `ringside-event-${event}.csv`, dataset: { testid: 'csv' },
        onclick: (e) => {
          // The link needs the operator's token, which a plain navigation does not carry.
          e.preventDefault();
          downloadCsv(event, csvLine);
        },
      }, 'Download CSV');
      const earlier = el('select', { id: 'compare-with', dataset: { testid: 'compare-with' } }, el('option', { value: '' }, 'an earlier night…'));
      const compareLine = statusLine({ dataset: { testid: 'compare-status' } });

      fill(view,
        el('div', { class: 'b-toolbar' }, el('h2', {}, eventTitle(ctx, event)), csv, csvLine.node, line.node),
        headline,
        panel('Viewers', { id: 'a-viewers' }, viewersBox),
        panel('Messages and comments per minute', { id: 'a-rates' }, rateBox),
        panel('Compare', { id: 'a-compare' },
          el('label', { class: 'field inline' }, el('span', { class: 'field-label' }, 'Viewers of this night against'), earlier),
          compareLine.node, compareBox),
        el('div', { class: 'grid-3' },
          panel('Comments refused, by reason', {}, refused),
          panel('Reactions, by type', {}, reactions),
          panel('Messages, by type', {}, byType)),
        el('div', { class: 'grid-2' }, panel('Polls', {}, polls), panel('Push', {}, push)));

      const charts = [];
      let lastKey = '';
      let current = null;
      let past = null;
      let startOf = new Map();

      async function refresh() {
        let a;
        try {
          a = await ctx.api('GET', `/api/live/analytics/?event=${event}`);
        } catch (e) {
          line.error(e);
          return;
        }
        line.clear();
        current = a;
        const key = JSON.stringify(a);
        if (key === lastKey) return;
        lastKey = key;
        render(a);
      }

      function render(a) {
        const v = a.viewers || {};
        const c = a.comments || {};
        const m = a.messages || {};
        const r = a.reactions || {};
        fill(headline, facts([
          ['Viewers now', num(v.current), 'a-viewers-current'],
          ['Peak', num(v.peak), 'a-viewers-peak'],
          ['Messages', num(m.total ?? sum(m.per_minute)), 'a-messages-total'],
          ['Comments', num(c.total), 'a-comments-total'],
          ['Refused', num(Object.values(c.refused || {}).reduce((x, y) => x + y, 0)), 'a-refused-total'],
          ['Reactions', num(r.total), 'a-reactions-total'],
          ['Engaged users', num(a.engaged_users), 'a-engaged'],
        ], { class: 'b-facts b-big' }));
        fill(refused, table(['Reason', 'Comments'], Object.entries(c.refused || {}), 'refused'));
        fill(reactions, table(['Type', 'Reactions'], Object.entries(r.by_type || {}), 'reactions'));
        fill(byType, table(['Type', 'Messages'], Object.entries(m.by_type || {}), 'by-type'));
        fill(polls, table(['Poll', 'Votes'], (a.polls || []).map((p) => [p.question || `poll ${p.id}`, p.votes]), 'polls'));
        const p = a.push || {};
        fill(push, facts([['Targeted', num(p.targeted)], ['Sent', num(p.sent)], ['Opened', num(p.opened)]]));
        drawCharts();
      }

      function drawCharts() {
        for (const chart of charts.splice(0)) chart.destroy();
        if (!current) return;
        const width = Math.max(320, (view.clientWidth || 1200) - 48);
        const v = (current.viewers && current.viewers.series) || [];
        if (v.length) {
          fill(viewersBox);
          charts.push(new uPlot(opts(width, 'viewers', [{ label: 'Viewers', stroke: COLORS.viewers, width: 2 }]), widen([v.map((p) => ms(p.t) / 1000), v.map((p) => p.count)], 300), viewersBox));
        } else fill(viewersBox, el('p', { class: 'empty' }, 'No viewer counts yet.'));
        const msgs = (current.messages && current.messages.per_minute) || [];
        const coms = (current.comments && current.comments.per_minute) || [];
        const [xs, a, b] = merge(msgs, coms);
        if (xs.length) {
          fill(rateBox);
          charts.push(new uPlot(opts(width, 'per minute', [
            { label: 'Messages', stroke: COLORS.messages, width: 2 },
            { label: 'Comments', stroke: COLORS.comments, width: 2 },
          ]), widen([xs, a, b], 300), rateBox));
        } else fill(rateBox, el('p', { class: 'empty' }, 'No messages yet.'));
        drawCompare(width);
      }

      function drawCompare(width) {
        if (!past) {
          fill(compareBox, el('p', { class: 'empty' }, 'Pick a past night to overlay its viewers.'));
          return;
        }
        const mine = sinceStart((current && current.viewers && current.viewers.series) || [], startOf.get(event));
        const theirs = sinceStart((past.viewers && past.viewers.series) || [], startOf.get(past.event));
        const minutes = [...new Set([...mine.keys(), ...theirs.keys()])].sort((x, y) => x - y);
        compareBox.dataset.points = String(theirs.size);
        if (!minutes.length) {
          fill(compareBox, el('p', { class: 'empty' }, 'Neither night has viewer counts.'));
          return;
        }
        fill(compareBox);
        charts.push(new uPlot({
          ...opts(width, 'viewers', [
            { label: eventTitle(ctx, event), stroke: COLORS.viewers, width: 2 },
            { label: eventTitle(ctx, past.event), stroke: COLORS.earlier, width: 2, dash: [6, 4] },
          ]),
          scales: { x: { time: false }, y: { range: fromZero } },
          axes: [axis('minutes since start'), axis('viewers')],
        }, widen([minutes, minutes.map((x) => mine.get(x) ?? null), minutes.map((x) => theirs.get(x) ?? null)], 5), compareBox));
      }

      earlier.addEventListener('change', async () => {
        compareLine.clear();
        const id = Number(earlier.value);
        if (!id) {
          past = null;
          drawCharts();
          return;
        }
        try {
          past = await ctx.api('GET', `/api/live/analytics/?event=${id}`);
          drawCharts();
        } catch (e) {
          compareLine.error(e);
        }
      });

      // Every night's start (for alignment) and the completed ones to compare with.
      (async () => {
        try {
          const here = await ctx.api('GET', `/api/live/events/${event}/`);
          startOf.set(event, ms(here.start_time));
          const page = await ctx.api('GET', '/api/live/events/?status=completed&limit=100');
          for (const le of (page.results || []).filter((x) => x.id !== event).sort((x, y) => y.id - x.id)) {
            startOf.set(le.id, ms(le.start_time));
            earlier.append(el('option', { value: String(le.id) }, `${eventTitle(ctx, le.id)}${le.start_time ? ` · ${when(le.start_time)}` : ''}`));
          }
        } catch (e) {
          compareLine.error(e);
        }
      })();

      const onResize = () => drawCharts();
      window.addEventListener('resize', onResize);
      const stopRefresh = every(REFRESH_MS, refresh);
      return () => {
        stopRefresh();
        window.removeEventListener('resize', onResize);
        for (const chart of charts.splice(0)) chart.destroy();
        startOf = new Map();
      };
    }

    return followPicked(ctx, {
      empty: () => fill(view, panel('Analytics', {}, noEvent('analytics'))),
      mountFor: mountEvent,
    });
  },
};

/** uPlot's own stylesheet, linked once (it is vendored with the library). */
function ensureUplotCss() {
  if (document.querySelector('link[data-uplot]')) return;
  document.head.append(el('link', { rel: 'stylesheet', href: '/admin/vendor/uplot/uPlot.min.css', dataset: { uplot: '' } }));
}

function axis(label) {
  return { label, stroke: '#a9b2bf', grid: { stroke: '#2c3442' }, ticks: { stroke: '#2c3442' } };
}

/** The y axis counts from 0. */
const fromZero = (u, min, max) => [0, Math.max(1, Math.ceil((max || 0) * 1.1))];

/** One point alone would make uPlot span years: empty neighbours `step` either side. */
function widen(data, step) {
  if (data[0].length !== 1) return data;
  const [x] = data[0];
  return [[x - step, x, x + step], ...data.slice(1).map(([v]) => [null, v, null])];
}

function opts(width, yLabel, series) {
  return {
    width,
    height: 220,
    scales: { y: { range: fromZero } },
    series: [{}, ...series],
    axes: [axis(''), axis(yLabel)],
    legend: { live: false },
    cursor: { drag: { x: false, y: false } },
  };
}

function sum(points) {
  return (points || []).reduce((n, p) => n + (p.count || 0), 0);
}

/** Two per-minute series on one x (seconds), a missing minute as 0. */
function merge(a, b) {
  const am = new Map(a.map((p) => [ms(p.t) / 1000, p.count]));
  const bm = new Map(b.map((p) => [ms(p.t) / 1000, p.count]));
  const xs = [...new Set([...am.keys(), ...bm.keys()])].filter(Number.isFinite).sort((x, y) => x - y);
  return [xs, xs.map((x) => am.get(x) ?? 0), xs.map((x) => bm.get(x) ?? 0)];
}

/** A series keyed by whole minutes since `start` (or since its first point). */
function sinceStart(series, start) {
  const points = series.map((p) => [ms(p.t), p.count]).filter(([t]) => Number.isFinite(t));
  const origin = Number.isFinite(start) ? start : points.length ? points[0][0] : 0;
  return new Map(points.map(([t, c]) => [Math.round((t - origin) / 60000), c]));
}

function table(heads, rows, testid) {
  if (!rows.length) return el('p', { class: 'empty' }, 'None.');
  return el('table', { dataset: { testid } },
    el('thead', {}, el('tr', {}, heads.map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, rows.map(([k, v]) => el('tr', { dataset: { key: String(k) } }, el('td', {}, String(k)), el('td', { class: 'num' }, num(v))))));
}

/** Fetches the CSV with the operator's token and hands it to the browser as a file. */
async function downloadCsv(event, line) {
  line.clear();
  try {
    const res = await fetch(`/api/live/analytics/?event=${event}&format=csv`, { headers: authHeaders() });
    if (!res.ok) {
      let body = {};
      try { body = await res.json(); } catch (_) { /* not JSON */ }
      const err = (body && body.error) || {};
      throw Object.assign(new Error(err.message || res.statusText), { status: res.status, code: err.code });
    }
    const blob = await res.blob();
    const href = URL.createObjectURL(blob);
    const a = el('a', { href, download: `ringside-event-${event}.csv`, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(href), 10000);
    line.ok(`CSV downloaded (${blob.size} bytes)`);
  } catch (e) {
    line.error(e);
  }
}

/** The operator's bearer header (the shell keeps the token). */
function authHeaders() {
  const t = token();
  return t ? { authorization: `Bearer ${t}` } : {};
}
