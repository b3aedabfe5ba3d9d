// Home: my organisations, and the state of each membership and request.
import * as api from '../api.js';
import { h, act, announce, table, when, whenAgo } from '../dom.js';

export const STATUS_TEXT = {
  pending_approval: "Sent to your organisation's program administrator",
  accepted: 'Accepted: check your Mailbox and verify',
  denied: 'Denied',
  withdrawn: 'Withdrawn',
  active: 'Active',
  removed: 'Removed',
  expired: 'Expired: nobody decided it before its deadline. This does not count against you; you can ask again.',
};

const WAITS_ON_TEXT = { ppc: "the Primary Program Contact", global_admin: 'the Global Administrators', delegate: 'a delegate' };

/** "Waits on the Primary Program Contact until <date>" for a pending request. */
export function deadlineText(r) {
  if (r.status !== 'pending_approval' || !r.expires_at) return '';
  const who = (r.waiting_on ?? []).map((w) => WAITS_ON_TEXT[w] ?? w).join(' and ');
  return `Waits on ${who || 'the program administrator'} until ${when(r.expires_at)}.`;
}

const ROLE_TEXT = { ppc: 'Primary Program Contact', member: 'Member', delegate: 'Delegate: decides requests' };

export function privilegeTitle(p) {
  return { global_admin: 'Global Administrator', action_pack: 'Action Pack', competency_benefits: 'Competency benefits' }[p] ?? p;
}

export async function render(params, app) {
  const me = await app.refreshMe();
  const admin = new Set(app.deciderMemberships().map((m) => m.membership_id));

  const memberships = me.memberships.filter((m) => m.status === 'active');
  const membershipRows = memberships.map((m) =>
    h(
      'tr',
      { testid: 'membership-row', dataset: { membershipId: m.membership_id, organisation: m.organisation.name } },
      h('th', { scope: 'row' }, m.organisation.name),
      h('td', {}, m.organisation.partner_id),
      h('td', {}, m.organisation_email),
      h('td', { testid: 'membership-status' }, STATUS_TEXT[m.status] ?? m.status),
      h('td', {}, m.roles.map((r) => ROLE_TEXT[r] ?? r).join(', ')),
      h('td', {}, m.privileges.length ? m.privileges.map(privilegeTitle).join(', ') : 'None'),
      h(
        'td',
        { class: 'actions' },
        h('button', { type: 'button', testid: 'open-profile', on: { click: () => app.go('profile', { membership_id: m.membership_id }) } }, 'Individual profile'),
        h('button', { type: 'button', testid: 'open-privileges', on: { click: () => app.go('privileges', { membership_id: m.membership_id }) } }, 'Review privileges'),
        admin.has(m.membership_id)
          ? h('button', { type: 'button', testid: 'open-centre', on: { click: () => app.go('centre', { org_id: m.organisation.organisation_id }) } }, 'Membership Centre')
          : null,
      ),
    ),
  );

  const open = me.requests.filter((r) => r.status !== 'active');
  const requestRows = open.map((r) => {
    const actions = [];
    if (r.status === 'pending_approval' || r.status === 'accepted') {
      const b = h('button', { type: 'button', testid: 'withdraw-request' }, 'Withdraw');
      b.addEventListener('click', async () => {
        if (await act(b, () => api.withdraw(r.request_id), 'Your request was withdrawn.')) app.go('home', {}, { keepMessages: true });
      });
      actions.push(b);
    }
    if (r.status === 'expired') {
      const again = h('button', { type: 'button', class: 'primary', testid: 'ask-again' }, 'Ask again');
      again.addEventListener('click', async () => {
        const sent = await act(again, () => api.askAgain(r.request_id));
        if (sent) {
          await app.go('home', {}, { keepMessages: true });
          announce(sent.message);
        }
      });
      actions.push(again);
    }
    if (r.status === 'accepted') {
      actions.push(h('button', { type: 'button', testid: 'open-mailbox', on: { click: () => app.go('mailbox') } }, 'Open Mailbox'));
      const resend = h('button', { type: 'button', testid: 'resend-verification' }, 'Resend verification email');
      resend.addEventListener('click', () =>
        act(resend, () => api.resendVerification(r.request_id), `A new verification email was sent to ${r.organisation_email}. The link in the earlier one no longer works.`),
      );
      actions.push(resend);
    }
    return h(
      'tr',
      { testid: 'request-row', dataset: { requestId: r.request_id, status: r.status, organisation: r.organisation_name } },
      h('th', { scope: 'row' }, r.organisation_name),
      h('td', {}, r.organisation_email),
      h('td', {}, whenAgo(r.created_at)),
      h(
        'td',
        { testid: 'request-status' },
        STATUS_TEXT[r.status] ?? r.status,
        r.status === 'denied' && r.decision_reason ? h('span', { class: 'reason', testid: 'denial-reason' }, `. Reason: ${r.decision_reason}`) : null,
        deadlineText(r) ? h('span', { class: 'deadline', testid: 'request-deadline' }, ` ${deadlineText(r)}`) : null,
      ),
      h('td', { class: 'actions' }, actions),
    );
  });

  // Offers of the PPC role: it moves only when the person accepts.
  const handovers = me.handovers ?? [];
  const handoverRows = handovers.map((o) => {
    const accept = h('button', { type: 'button', class: 'primary', testid: 'handover-accept' }, 'Accept the role');
    const decline = h('button', { type: 'button', testid: 'handover-decline' }, 'Decline');
    accept.addEventListener('click', async () => {
      if (await act(accept, () => api.acceptHandover(o.handover_id))) {
        await app.go('home', {}, { keepMessages: true });
        announce(`You are now the Primary Program Contact of ${o.organisation_name}. ${o.from_name} stays an approver as a Global Administrator.`);
      }
    });
    decline.addEventListener('click', async () => {
      if (await act(decline, () => api.declineHandover(o.handover_id))) {
        await app.go('home', {}, { keepMessages: true });
        announce(`You declined the Primary Program Contact role of ${o.organisation_name}. ${o.from_name} has been told.`);
      }
    });
    return h('tr', { testid: 'handover-row', dataset: { handoverId: o.handover_id } },
      h('th', { scope: 'row' }, o.organisation_name),
      h('td', {}, `${o.from_name} offers you the Primary Program Contact role. You would approve requests, pre-approve email domains and grant privileges.`),
      h('td', {}, whenAgo(o.created_at)),
      h('td', { class: 'actions' }, accept, decline));
  });
  const delegations = (me.delegations ?? []).map((d) =>
    h('p', { class: 'note', role: 'note', testid: 'delegation-note' },
      `You decide ${d.organisation_name}’s association requests for ${d.delegator_name} until ${when(d.ends_at)}. Open the Membership Centre to see them.`));

  const joinLabel = memberships.length ? 'Associate to another organisation' : 'Join an existing organisation';
  return h(
    'div',
    {},
    h('h1', {}, 'Home'),
    delegations,
    handoverRows.length
      ? h('section', { 'aria-labelledby': 'handovers-heading' },
        h('h2', { id: 'handovers-heading' }, 'Offered to you'),
        table('Roles offered to you', ['Organisation', 'Offer', 'Offered', 'Actions'], handoverRows, { testid: 'handovers' }))
      : null,
    me.offline
      ? h('p', { class: 'note', testid: 'home-offline', role: 'note' },
        'The server cannot be reached, so this is what this computer kept from the last time it answered. You can open and edit your individual profile; your changes sync when the server is back. Requests show again then.')
      : null,
    h(
      'section',
      { 'aria-labelledby': 'orgs-heading' },
      h('h2', { id: 'orgs-heading' }, 'My organisations'),
      memberships.length
        ? table('Organisations you belong to', ['Organisation', 'Partner ID', 'Organisation Email', 'State', 'Role', 'Privileges', 'Actions'], membershipRows, { testid: 'memberships' })
        : h('p', { testid: 'no-memberships' }, 'You are not associated with an organisation yet. Select “Join an existing organisation” to find yours.'),
      h(
        'p',
        { class: 'button-row' },
        h('button', { type: 'button', id: 'home-join', testid: 'home-join', class: 'primary', on: { click: () => app.go('join') } }, joinLabel),
        h('button', { type: 'button', testid: 'home-create-organisation', on: { click: () => app.go('organisation-new') } }, 'Create an organisation'),
      ),
    ),
    h(
      'section',
      { 'aria-labelledby': 'requests-heading' },
      h('h2', { id: 'requests-heading' }, 'My requests'),
      me.offline
        ? h('p', {}, 'Your requests show when the server can be reached.')
        : open.length
        ? table('Your association requests', ['Organisation', 'Organisation Email', 'Sent', 'State', 'Actions'], requestRows, { testid: 'requests' })
        : h('p', {}, 'You have no open association requests.'),
    ),
  );
}
