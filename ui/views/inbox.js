// Inbox: what Partner Desk heard while following your organisation — requests to associate and
// privilege requests for the Primary Program Contact and Global Administrators, decisions on your
// own requests and privileges granted to you — newest first, with the same Approve, Deny and Open
// a desktop notification offers. The shell keeps it (src-tauri/src/notifications.rs) and tells the
// window when it changes (`partnerdesk-inbox`), so the list and the badge stay current.
import * as api from '../api.js';
import { h, act, busy, announce, showError, whenAgo } from '../dom.js';

/** What the follow is doing, in words. */
function statusText(status) {
  switch (status?.state) {
    case 'following': return 'New requests appear here as they are made.';
    case 'reconnecting': return `Reconnecting: ${status.message}`;
    case 'signed_out':
    case 'failing': return status.message;
    default: return 'Starting to follow new requests\u2026';
  }
}

/** Where Open takes you; also used for Open on a desktop notification (app.js). */
export async function openTarget(app, target) {
  switch (target?.screen) {
    case 'association_request': {
      // Pending first (where a request that waits for you is); all requests if it was decided.
      for (const status of ['pending_approval', '']) {
        await app.go('centre', { org_id: target.organisation_id, tab: 'requests', status });
        const row = document.querySelector(`[data-testid=queue-row][data-request-id="${CSS.escape(target.request_id)}"]`);
        if (row) {
          row.classList.add('highlight');
          const button = row.querySelector('button') ?? row.querySelector('th');
          if (!button.matches('button')) button.setAttribute('tabindex', '-1');
          button.focus();
          button.scrollIntoView({ block: 'center' });
          return;
        }
      }
      announce('That request is no longer in the first page of Requests. Choose All under Show to find it.');
      return;
    }
    case 'privilege_request':
      await app.go('centre', { org_id: target.organisation_id, tab: 'privilege-requests' });
      return;
    case 'domains': {
      await app.go('centre', { org_id: target.organisation_id, tab: 'info', manage: true });
      const card = document.querySelector(`[data-testid=domain-proof][data-domain="${CSS.escape(target.domain)}"]`);
      if (card) {
        card.classList.add('highlight');
        card.setAttribute('tabindex', '-1');
        card.focus();
        card.scrollIntoView({ block: 'center' });
      } else {
        announce(`${target.domain} is no longer one of this organisation\u2019s email domains.`);
      }
      return;
    }
    case 'privileges':
      await app.refreshMe();
      await app.go('privileges', { membership_id: target.membership_id });
      return;
    case 'approvers':
      await app.refreshMe();
      await app.go('centre', { org_id: target.organisation_id, tab: app.isAdminOf(target.organisation_id) ? 'approvers' : 'requests' });
      return;
    case 'handover': {
      await app.refreshMe();
      await app.go('home');
      const row = document.querySelector(`[data-testid=handover-row][data-handover-id="${CSS.escape(target.handover_id)}"]`);
      if (row) {
        row.querySelector('button')?.focus();
      } else {
        announce('That offer of the Primary Program Contact role is no longer open.');
      }
      return;
    }
    default:
      // Your own request: the home screen shows it and what to do next.
      await app.refreshMe();
      await app.go('home');
  }
}

function entryNode(entry, app) {
  const n = entry.notice;
  const titleId = `inbox-title-${n.id}`;
  const actions = h('div', { class: 'actions' });
  for (const b of entry.buttons) {
    const button = h('button', {
      type: 'button',
      class: b.action === 'approve' ? 'primary' : null,
      testid: `inbox-${b.action}`,
      'aria-describedby': titleId,
      dataset: { noticeId: String(n.id), action: b.action },
    }, b.label);
    button.addEventListener('click', async () => {
      if (b.action === 'open') {
        await api.inboxMarkRead(n.id).catch(() => {});
        await openTarget(app, n.target);
        return;
      }
      showError(null);
      try {
        const sentence = await busy(button, () => api.inboxAct(n.id, b.action));
        await refresh(app, { focus: n.id });
        announce(sentence);
      } catch (e) {
        // Refused (decided elsewhere meanwhile, or the backend said no): say why, show what is now.
        await refresh(app, { focus: n.id }).catch(() => {});
        showError(e);
      }
    });
    actions.append(button);
  }
  return h(
    'li',
    {
      class: `inbox-entry${entry.read ? '' : ' unread'}`,
      testid: 'inbox-entry',
      dataset: { noticeId: String(n.id), pending: String(entry.pending), read: String(entry.read), kind: n.kind },
    },
    h('h3', { id: titleId }, entry.read ? null : h('span', { class: 'visually-hidden' }, 'Unread: '), n.title),
    h('p', {}, n.body),
    h('p', { class: 'meta' }, whenAgo(n.at)),
    entry.outcome ? h('p', { class: 'outcome-line', testid: 'inbox-outcome' }, entry.outcome) : null,
    entry.buttons.length ? actions : null,
  );
}

let mounted = null;

function fill(view, app) {
  const { list, counts, status, notes, markAll } = mounted;
  app.setInboxBadge(view.badge);
  const { unread, pending } = view.badge;
  counts.textContent = `${unread} unread; ${pending} waiting for your decision.`;
  status.textContent = statusText(view.status);
  status.dataset.state = view.status?.state ?? '';
  // replaceChildren would show a null as the text "null": pass only the notes there are.
  notes.replaceChildren(
    ...[
      view.desktop ? h('p', { class: 'note', testid: 'inbox-desktop' }, view.desktop) : null,
      view.stale ? h('p', { class: 'note' }, view.stale) : null,
    ].filter(Boolean),
  );
  markAll.disabled = unread === 0;
  list.replaceChildren(
    ...(view.entries.length
      ? view.entries.map((e) => entryNode(e, app))
      : [h('li', { testid: 'inbox-empty' }, 'Nothing yet. New requests and decisions will appear here.')]),
  );
}

/**
 * Reads the inbox again and redraws the list in place. Focus stays where it was when that button
 * still exists; otherwise it goes to the first button of `focus` (a notice id), or the heading.
 */
export async function refresh(app, { focus } = {}) {
  if (!mounted || !document.body.contains(mounted.list)) return;
  const active = document.activeElement;
  const key = active?.dataset?.noticeId ? [active.dataset.noticeId, active.dataset.action] : null;
  const view = await api.inbox();
  if (!mounted || !document.body.contains(mounted.list)) return;
  fill(view, app);
  const find = (id, action) =>
    mounted.list.querySelector(`button[data-notice-id="${id}"]${action ? `[data-action="${action}"]` : ''}`);
  // The same button, else the same notice's first one (its Approve is gone once decided).
  const target = (key && (find(key[0], key[1]) || find(key[0]))) || (focus !== undefined && find(focus)) || null;
  if (target) target.focus();
  else if (key || focus !== undefined) mounted.heading.focus();
}

export async function render(params, app) {
  const view = await api.inbox();
  const heading = h('h1', {}, 'Inbox');
  const counts = h('p', { class: 'lead', testid: 'inbox-counts' });
  const status = h('p', { class: 'meta', testid: 'inbox-status', role: 'status' });
  const notes = h('div');
  const markAll = h('button', { type: 'button', id: 'inbox-mark-all', testid: 'inbox-mark-all' }, 'Mark all as read');
  markAll.addEventListener('click', async () => {
    const badge = await act(markAll, () => api.inboxMarkAllRead(), 'Every notification is marked as read.');
    if (badge) await refresh(app);
  });
  const list = h('ul', { class: 'plain inbox', testid: 'inbox-list', 'aria-labelledby': 'inbox-list-heading' });
  mounted = { list, counts, status, notes, markAll, heading };
  fill(view, app);
  return h(
    'div',
    {},
    heading,
    counts,
    status,
    notes,
    h('p', { class: 'button-row' }, markAll),
    h('h2', { id: 'inbox-list-heading', class: 'visually-hidden' }, 'Notifications, newest first'),
    list,
    h('p', { class: 'hint' }, 'Partner Desk keeps following while its window is closed to the tray. Turn desktop notifications off, or set quiet hours, in Settings.'),
  );
}
