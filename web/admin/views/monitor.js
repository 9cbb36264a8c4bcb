// The monitor (`/admin/#/monitor`, admin): every node of the cluster with
// its sessions by kind and transport, rooms, frames per second,
// slow-client drops, persistence queue and bus health, and the push
// outcomes, from GET /api/admin/monitor/ every 2 s.

import { el, fill, statusLine, clockTime, when, panel } from '../lib.js';
import { num, facts, every, styles } from './kit.js';

const REFRESH_MS = 2000;

export default {
  id: 'monitor',
  title: 'Monitor',
  roles: ['admin'],
  mount(root, ctx) {
    styles();
    const line = statusLine({ dataset: { testid: 'monitor-status' } });
    const stamp = el('span', { class: 'muted small', dataset: { testid: 'monitor-stamp' } }, 'loading…');
    const totals = el('div', { id: 'monitor-totals' });
    const nodes = el('tbody', {});
    const push = el('div', { id: 'monitor-push' });
    const cols = ['Node', 'Alive', 'Up since', 'Seen', 'Anonymous', 'Signed in', 'WebSocket', 'SSE', 'Long-poll', 'Rooms', 'Frames/s', 'Slow drops', 'Persist queue', 'Bus'];
    fill(root,
      el('div', { class: 'b-view b-monitor', dataset: { testid: 'view-monitor' } },
        el('div', { class: 'b-toolbar' }, stamp, line.node),
        panel('Cluster', { id: 'monitor-cluster' }, totals),
        panel('Nodes', { id: 'monitor-nodes' },
          el('div', { class: 'b-scroll' },
            el('table', { dataset: { testid: 'nodes' } },
              el('thead', {}, el('tr', {}, cols.map((c) => el('th', { scope: 'col' }, c)))), nodes))),
        panel('Push outcomes', { id: 'monitor-push-section' }, push)));

    async function refresh() {
      let m;
      try {
        m = await ctx.api('GET', '/api/admin/monitor/');
      } catch (e) {
        line.error(e);
        return;
      }
      line.clear();
      stamp.textContent = `updated ${clockTime(new Date().toISOString())} · every ${REFRESH_MS / 1000} s`;
      const t = m.totals || {};
      const list = m.nodes || [];
      const alive = list.filter((n) => n.alive).length;
      fill(totals, facts([
        ['Nodes alive', `${alive} of ${list.length}`, 'nodes-alive'],
        ['Sessions', num(t.sessions), 'total-sessions'],
        ['Rooms', num(t.rooms), 'total-rooms'],
        ['Frames/s', num(t.frames_per_second), 'total-fps'],
      ], { class: 'b-facts b-big' }));
      fill(nodes, list.map((n) => {
        const s = n.sessions || {};
        const tr = n.transports || {};
        const bus = `${n.bus || '?'} ${n.bus_healthy ? 'healthy' : 'DOWN'}`;
        return el('tr', { class: n.alive ? '' : 'b-dead', dataset: { node: n.node, alive: String(!!n.alive) } },
          el('td', {}, n.node), el('td', { class: n.alive ? 'ok' : 'error' }, n.alive ? 'yes' : 'NO'),
          el('td', {}, when(n.started_at)), el('td', {}, clockTime(n.seen_at)),
          ...[s.anonymous, s.user, tr.websocket, tr.sse, tr.poll, n.rooms, n.frames_per_second, n.slow_client_drops, n.persistence_queue].map((v) => el('td', { class: 'num' }, num(v))),
          el('td', { class: n.bus_healthy ? 'ok' : 'error' }, bus));
      }));
      const p = m.push || {};
      fill(push, facts([
        ['Pending', num(p.pending)], ['In flight', num(p.in_flight)], ['Sent', num(p.sent), 'push-sent'],
        ['Failed', num(p.failed)], ['Invalid token', num(p.invalid_token)], ['Expired', num(p.expired)],
      ]));
    }
    return every(REFRESH_MS, refresh);
  },
};
