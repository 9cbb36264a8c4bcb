// The monitor (`/admin/#/monitor`, admin): every node of the cluster with
// its sessions by kind (as the server counts them) and by transport, rooms,
// frames per second, slow-client drops, persistence queue and bus health,
// and the push outcomes, from GET /api/admin/monitor/ every 2 s.

import { el, fill, statusLine, clockTime, when, panel } from '../lib.js';
import { num, facts, every, tag, styles } from './kit.js';

const REFRESH_MS = 2000;
const TRANSPORTS = { websocket: 'WebSocket', sse: 'SSE', poll: 'Long-poll' };

export default {
  id: 'monitor',
  title: 'Monitor',
  roles: ['admin'],
  mount(root, ctx) {
    styles();
    const line = statusLine({ dataset: { testid: 'monitor-status' } });
    const stamp = el('span', { class: 'muted small', dataset: { testid: 'monitor-stamp' } }, 'loading…');
    const totals = el('div', { id: 'monitor-totals' });
    const nodes = el('div', { class: 'b-nodes', dataset: { testid: 'nodes' } });
    const push = el('div', { id: 'monitor-push' });
    fill(root,
      el('div', { class: 'b-view b-monitor', dataset: { testid: 'view-monitor' } },
        el('div', { class: 'b-toolbar' }, stamp, line.node),
        panel('Cluster', { id: 'monitor-cluster' }, totals),
        panel('Nodes', { id: 'monitor-nodes' }, nodes),
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
      // A card per node: a dead or unhealthy one says so in words, not only in colour.
      fill(nodes, list.map((n) => {
        const s = n.sessions || {};
        const tr = n.transports || {};
        return el('article', { class: 'b-node', dataset: { node: n.node, alive: String(!!n.alive), busHealthy: String(!!n.bus_healthy) } },
          el('header', { class: 'row' },
            el('strong', {}, n.node),
            tag(n.alive ? 'alive' : 'down', { dataset: { testid: 'node-alive' } }),
            tag(`${n.bus || '?'} bus ${n.bus_healthy ? 'healthy' : 'down'}`, { dataset: { status: n.bus_healthy ? 'alive' : 'down' } }),
            el('span', { class: 'muted small' }, `up since ${when(n.started_at)} · seen ${clockTime(n.seen_at)}`)),
          // Sessions by kind (whatever kinds the server counts; the empty ones left out) and by transport.
          facts([
            ['Sessions', num(Object.values(s).reduce((a, b) => a + (Number(b) || 0), 0)), 'node-sessions'],
            ...Object.entries(s).filter(([, n_]) => n_).map(([kind, n_]) => [`on ${kind}`, num(n_), `sessions-${kind}`]),
          ], { class: 'b-facts b-kinds' }),
          facts([
            ...Object.entries(tr).map(([t, n_]) => [TRANSPORTS[t] || t, num(n_), `transport-${t}`]),
            ['Rooms', num(n.rooms)], ['Frames/s', num(n.frames_per_second)],
            ['Slow-client drops', num(n.slow_client_drops)], ['Persistence queue', num(n.persistence_queue)],
          ]));
      }));
      if (!list.length) fill(nodes, el('p', { class: 'empty' }, 'No node has reported yet.'));
      const p = m.push || {};
      fill(push, facts([
        ['Pending', num(p.pending)], ['In flight', num(p.in_flight)], ['Sent', num(p.sent), 'push-sent'],
        ['Failed', num(p.failed)], ['Invalid token', num(p.invalid_token)], ['Expired', num(p.expired)],
      ]));
    }
    return every(REFRESH_MS, refresh);
  },
};
