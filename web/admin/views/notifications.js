// The notifications view (`/admin/#/notifications`, admin): a bulk send
// composed with its audience and previewed as one user of that audience
// will read it; the campaigns' delivery analytics; and the emergency
// broadcast, which reaches every session and device and so asks twice
// (a confirmation, then typing BROADCAST).

import { el, fill, statusLine, act, when, panel, field } from '../lib.js';
import { num, every, styles } from './kit.js';

// The send's vocabulary (the API refuses `emergency` here: that is the broadcast).
const TYPES = ['system', 'breaking_news', 'event_start', 'fight_result', 'ranking_change', 'user_activity'];
const AUDIENCES = [
  ['all', 'Everyone'],
  ['event_followers', 'Followers of an event'],
  ['fighter_followers', 'Followers of a fighter'],
  ['users', 'Listed users'],
];

export default {
  id: 'notifications',
  title: 'Notifications',
  roles: ['admin'],
  mount(root, ctx) {
    styles();
    const kind = el('select', { id: 'audience-kind', dataset: { testid: 'audience-kind' } }, AUDIENCES.map(([v, t]) => el('option', { value: v }, t)));
    const eventPick = el('select', { id: 'audience-event', dataset: { testid: 'audience-event' } });
    const fighterPick = el('select', { id: 'audience-fighter', dataset: { testid: 'audience-fighter' } });
    const users = el('input', { type: 'text', id: 'audience-users', placeholder: 'User ids: 4, 9, 12', dataset: { testid: 'audience-users' } });
    const eventRow = field('Event', eventPick);
    const fighterRow = field('Fighter', fighterPick);
    const usersRow = field('Users', users);
    const type = el('select', { id: 'send-type', dataset: { testid: 'send-type' } }, TYPES.map((t) => el('option', { value: t }, t)));
    const title = el('input', { type: 'text', id: 'send-title', maxlength: '200', required: true, dataset: { testid: 'send-title' } });
    const message = el('textarea', { id: 'send-message', rows: '3', maxlength: '2000', required: true, dataset: { testid: 'send-message' } });
    const url = el('input', { type: 'text', id: 'send-url', maxlength: '500', placeholder: '/watch/7/ (optional)' });
    const sendLine = statusLine({ dataset: { testid: 'send-status' } });
    const preview = el('div', { class: 'b-preview', id: 'preview', dataset: { testid: 'preview' } }, el('p', { class: 'empty' }, 'Preview to see the audience and the message as one of them reads it.'));

    const showRows = () => {
      eventRow.hidden = kind.value !== 'event_followers';
      fighterRow.hidden = kind.value !== 'fighter_followers';
      usersRow.hidden = kind.value !== 'users';
    };
    kind.addEventListener('change', showRows);
    showRows();

    /** The send's body from the form (the preview takes the same). */
    function body() {
      const audience = { kind: kind.value };
      if (kind.value === 'event_followers') audience.event = Number(eventPick.value);
      if (kind.value === 'fighter_followers') audience.fighter = Number(fighterPick.value);
      if (kind.value === 'users') audience.users = users.value.split(/[\s,]+/).filter(Boolean).map(Number);
      const b = { audience, notification_type: type.value, title: title.value, message: message.value };
      if (url.value.trim()) b.action_url = url.value.trim();
      return b;
    }

    async function doPreview(button) {
      const answer = await act(button, sendLine, () => ctx.api('POST', '/api/notifications/preview/', body()));
      if (!answer) return undefined;
      const s = answer.sample || {};
      fill(preview,
        el('p', {}, 'Audience: ', el('strong', { dataset: { testid: 'audience-size' } }, num(answer.audience_size)), ` user${answer.audience_size === 1 ? '' : 's'}`),
        el('div', { class: 'b-sample', dataset: { testid: 'sample' } },
          el('p', { class: 'muted small' }, s.user ? `As ${s.user.display_name} (#${s.user.id}) will read it:` : 'Nobody in this audience: nothing would be sent.'),
          el('strong', { dataset: { testid: 'sample-title' } }, s.title ?? ''),
          el('p', { dataset: { testid: 'sample-message' } }, s.message ?? ''),
          s.action_url ? el('p', { class: 'muted small' }, `Opens ${s.action_url}`) : null));
      return answer;
    }

    const form = el('form', {
      dataset: { testid: 'send-form' },
      onsubmit: async (e) => {
        e.preventDefault();
        const button = e.submitter;
        const seen = await doPreview(button);
        if (!seen) return;
        if (!(await ctx.confirm(`Send “${title.value}” to ${num(seen.audience_size)} users?`))) return;
        const sent = await act(button, sendLine, () => ctx.api('POST', '/api/notifications/send/', body()));
        if (!sent) return;
        sendLine.ok(`Sent: campaign ${sent.id}, ${num(sent.recipients)} recipients, ${num(sent.deliveries)} pushes queued.`);
        ctx.toast('Notification sent', 'ok');
        campaigns.refresh();
      },
    },
    field('Audience', kind), eventRow, fighterRow, usersRow,
    field('Type', type),
    field('Title', title, '{user} is replaced by each recipient’s name'),
    field('Message', message),
    field('Opens', url),
    el('div', { class: 'row' },
      el('button', { type: 'button', dataset: { action: 'preview' }, onclick: (e) => doPreview(e.currentTarget) }, 'Preview'),
      el('button', { type: 'submit', class: 'primary', dataset: { action: 'send' } }, 'Send…')),
    sendLine.node);

    // The emergency broadcast.
    const bTitle = el('input', { type: 'text', id: 'broadcast-title', maxlength: '200', required: true, dataset: { testid: 'broadcast-title' } });
    const bMessage = el('textarea', { id: 'broadcast-message', rows: '2', maxlength: '2000', required: true, dataset: { testid: 'broadcast-message' } });
    const bLine = statusLine({ dataset: { testid: 'broadcast-status' } });
    const bForm = el('form', {
      class: 'b-danger-zone', dataset: { testid: 'broadcast-form' },
      onsubmit: async (e) => {
        e.preventDefault();
        const button = e.submitter;
        bLine.clear();
        if (!(await ctx.confirm(`Emergency broadcast to every connected viewer and every device: “${bTitle.value}”?`))) {
          bLine.ok('Not sent.');
          return;
        }
        if (!(await ctx.confirm('Type BROADCAST to send it now.', { typed: 'BROADCAST' }))) {
          bLine.ok('Not sent.');
          return;
        }
        const sent = await act(button, bLine, () => ctx.api('POST', '/api/admin/broadcast/', { title: bTitle.value, message: bMessage.value }));
        if (!sent) return;
        bLine.ok(`Broadcast: campaign ${sent.id}, ${num(sent.sessions)} sessions on this node, ${num(sent.deliveries)} pushes queued.`);
        bLine.node.dataset.sent = String(sent.id);
        ctx.toast('Emergency broadcast sent', 'ok');
        campaigns.refresh();
      },
    },
    el('p', { class: 'muted' }, 'Reaches every connected session, whatever it follows, and every device, past quiet hours. Asks twice.'),
    field('Title', bTitle), field('Message', bMessage),
    el('button', { type: 'submit', class: 'danger', dataset: { action: 'broadcast' } }, 'Broadcast…'),
    bLine.node);

    const campaigns = campaignTable(ctx);
    fill(root,
      el('div', { class: 'b-view b-notifications', dataset: { testid: 'view-notifications' } },
        el('div', { class: 'grid-2' },
          panel('Compose a send', { id: 'compose' }, form),
          el('div', {}, panel('Preview', { id: 'preview-section' }, preview), panel('Emergency broadcast', { id: 'broadcast' }, bForm))),
        campaigns.node));

    // Pickers for the followers' audiences (the catalog's events and fighters).
    ctx.api('GET', '/api/events/?limit=200').then((p) => fill(eventPick, (p.results || []).map((e) => el('option', { value: String(e.id) }, `${e.name} (#${e.id})`)))).catch(() => {});
    ctx.api('GET', '/api/fighters/?limit=200').then((p) => fill(fighterPick, (p.results || []).map((f) => el('option', { value: String(f.id) }, `${f.name} (#${f.id})`)))).catch(() => {});
    const stop = every(5000, () => campaigns.refresh());
    return () => stop();
  },
};

/** The campaigns, newest first, with their delivery counts (GET /api/notifications/analytics/). */
function campaignTable(ctx) {
  const body = el('tbody', {});
  const line = statusLine({ dataset: { testid: 'campaigns-status' } });
  const cols = ['Campaign', 'When', 'Source', 'Type', 'Title', 'Audience', 'Recipients', 'Pushes', 'Sent', 'Failed', 'Invalid', 'Expired', 'Pending', 'Read', 'Opened', 'p50 / p99 ms'];
  const node = panel('Campaigns', { id: 'campaigns' }, line.node,
    el('div', { class: 'b-scroll' },
      el('table', { dataset: { testid: 'campaigns' } },
        el('thead', {}, el('tr', {}, cols.map((c) => el('th', { scope: 'col' }, c)))), body)));
  return {
    node,
    async refresh() {
      try {
        const page = await ctx.api('GET', '/api/notifications/analytics/?limit=20');
        line.clear();
        fill(body, (page.results || []).map((c) => el('tr', { dataset: { campaignId: String(c.id), source: c.source } },
          el('td', {}, String(c.id)), el('td', {}, when(c.created_at)), el('td', {}, c.source), el('td', {}, c.notification_type),
          el('td', {}, c.title), el('td', { class: 'small' }, audienceText(c.audience)),
          ...[c.recipients, c.targeted, c.sent, c.failed, c.invalid, c.expired, c.pending, c.read, c.opened].map((n) => el('td', { class: 'num' }, num(n))),
          el('td', { class: 'num' }, `${num(c.latency_p50_ms)} / ${num(c.latency_p99_ms)}`))));
      } catch (e) {
        line.error(e);
      }
    },
  };
}

function audienceText(a) {
  if (!a || typeof a !== 'object') return '';
  switch (a.kind) {
    case 'all': return 'everyone';
    case 'everyone': return 'everyone (broadcast)';
    case 'event_followers': return `followers of event ${a.event}`;
    case 'fighter_followers': return `followers of fighter ${a.fighter}`;
    case 'users': return `${(a.users || []).length} listed users`;
    case 'trigger': return 'trigger';
    default: return a.kind || '';
  }
}
