// The Membership Centre, for the Primary Program Contact and Global Administrators:
// Organisation Information → Manage Organisation Profile → Your Organisation email domains, the
// policy tester, the requests queue, Invite multiple people, members and privileges, audit history.
import * as api from '../api.js';
import { h, field, checkbox, act, announce, table, when, whenAgo } from '../dom.js';
import { STATUS_TEXT, privilegeTitle } from './home.js';

const TABS = [
  ['info', 'Organisation Information'],
  ['requests', 'Requests'],
  ['invite', 'Invite multiple people'],
  ['members', 'Members'],
  ['approvers', 'Approvers'],
  ['privilege-requests', 'Privilege requests'],
  ['audit', 'Audit history'],
];

const PRIVILEGES = ['global_admin', 'action_pack', 'competency_benefits'];

export async function render(params, app) {
  const admin = app.deciderMemberships();
  if (!admin.length) {
    return h('div', {}, h('h1', {}, 'Membership Centre'), h('p', {}, 'Only the Primary Program Contact or a Global Administrator of an organisation can open its Membership Centre.'));
  }
  // Several organisations: how many requests wait in each, in the picker, and one queue of them all
  // (where the Membership Centre opens when something waits).
  const waiting = admin.length > 1 ? await waitingCounts(admin) : null;
  const anyWaiting = waiting && [...waiting.values()].some((w) => w && w.count > 0);
  const orgId = params.org_id ?? (anyWaiting ? ALL : admin[0].organisation.organisation_id);
  const picker = waiting ? orgPicker(admin, waiting, orgId, app) : null;
  if (orgId === ALL && picker) {
    return h('div', {}, h('h1', {}, 'Membership Centre'), field('Organisation', picker), await combinedQueue(admin, waiting, app));
  }
  const membership = admin.find((m) => m.organisation.organisation_id === orgId) ?? admin[0];
  const org = membership.organisation;
  // A delegate decides requests while the delegation runs, and sees nothing else.
  const isAdmin = app.isAdminOf(org.organisation_id);
  const shown = isAdmin ? TABS : TABS.filter(([key]) => key === 'requests');
  const tab = shown.some(([key]) => key === params.tab) ? params.tab : shown[0][0];
  const go = (next, opts) => app.go('centre', { org_id: org.organisation_id, ...next }, opts);

  const tabs = h(
    'nav',
    { class: 'tabs', 'aria-label': 'Membership Centre' },
    h('ul', {}, shown.map(([key, label]) => h('li', {}, h('button', {
      type: 'button',
      id: `centre-tab-${key}`,
      testid: `centre-tab-${key}`,
      'aria-current': key === tab ? 'page' : null,
      on: { click: () => go({ tab: key }) },
    }, label)))),
  );

  const sections = {
    info: () => infoTab(org, params, go),
    requests: () => requestsTab(org, params, go, isAdmin),
    invite: () => inviteTab(org),
    members: () => membersTab(org, go),
    approvers: () => approversTab(org, membership, go),
    'privilege-requests': () => privilegeRequestsTab(org, go),
    audit: () => auditTab(org, params, go),
  };

  return h(
    'div',
    {},
    h('h1', {}, 'Membership Centre'),
    picker ? field('Organisation', picker) : h('p', { class: 'lead' }, `${org.name} · partner ID ${org.partner_id}`),
    isAdmin ? null : h('p', { class: 'note', role: 'note', testid: 'centre-delegate-note' },
      `You decide ${org.name}\u2019s association requests as a delegate while its administrator is away.`),
    isAdmin ? await loneApproverWarning(org, go) : null,
    tabs,
    await sections[tab](),
  );
}

/** The picker's value for the queue of every organisation at once. */
const ALL = 'all';

/** Requests waiting in each organisation: org id → { count, more } (null where the count failed). */
async function waitingCounts(admin) {
  const counts = await Promise.all(admin.map((m) =>
    api.queue(m.organisation.organisation_id, 'pending_approval')
      .then((page) => ({ count: page.items.length, more: !!page.next_cursor }))
      .catch(() => null)));
  return new Map(admin.map((m, i) => [m.organisation.organisation_id, counts[i]]));
}

/** "3 waiting", "20+ waiting", "none waiting". */
function waitingText(w) {
  if (!w) return 'count unavailable';
  if (!w.count) return 'none waiting';
  return `${w.count}${w.more ? '+' : ''} waiting`;
}

function orgPicker(admin, waiting, orgId, app) {
  const total = [...waiting.values()].reduce((sum, w) => ({ count: sum.count + (w?.count ?? 0), more: sum.more || !!w?.more }), { count: 0, more: false });
  const picker = h(
    'select',
    { id: 'centre-org', testid: 'centre-org' },
    h('option', { value: ALL, selected: orgId === ALL }, `All organisations (${waitingText(total)})`),
    admin.map((m) => h('option', { value: m.organisation.organisation_id, selected: m.organisation.organisation_id === orgId },
      `${m.organisation.name} (${waitingText(waiting.get(m.organisation.organisation_id))})`)),
  );
  picker.addEventListener('change', () => app.go('centre', { org_id: picker.value }));
  return picker;
}

/** Accept, a reason and Deny for one waiting request; `decided(message)` runs after either. */
function decisionControls(r, decided) {
  const actions = h('div', { class: 'actions' });
  const accept = h('button', { type: 'button', class: 'primary', testid: 'queue-accept', dataset: { requestId: r.request_id } }, 'Accept');
  accept.addEventListener('click', async () => {
    const done = await act(accept, () => api.approve(r.request_id));
    if (done) await decided(`The request from ${r.first_name} ${r.last_name} was accepted. A verification email went to ${r.organisation_email}.`);
  });
  const reason = h('input', { type: 'text', id: `deny-reason-${r.request_id}`, testid: 'queue-deny-reason' });
  const deny = h('button', { type: 'button', testid: 'queue-deny', dataset: { requestId: r.request_id } }, 'Deny');
  deny.addEventListener('click', async () => {
    const done = await act(deny, () => api.deny(r.request_id, reason.value));
    if (done) await decided(`The request from ${r.first_name} ${r.last_name} was denied. They will see your reason.`);
  });
  actions.append(accept, field(`Reason for denying ${r.first_name} ${r.last_name}`, reason), deny);
  return actions;
}

/**
 * After a decision the person keeps their place: focus goes to the next waiting request's Accept
 * (the one before it at the end of the list), or to the list's heading when none is left. The
 * sentence that says what happened is announced first, so moving focus has the last word.
 */
function keepPlace(items, r, message, reload) {
  const at = items.indexOf(r);
  const next = items.slice(at + 1).concat(items.slice(0, at).reverse()).find((x) => x.status === 'pending_approval');
  announce(message);
  return reload({
    keepMessages: true,
    focus: [next ? `[data-testid=queue-accept][data-request-id="${CSS.escape(next.request_id)}"]` : null, '#queue-heading'].filter(Boolean),
  });
}

/** Every waiting request of every organisation the person decides for, soonest deadline first. */
async function combinedQueue(admin, waiting, app) {
  const pages = await Promise.all(admin.map((m) =>
    api.queue(m.organisation.organisation_id, 'pending_approval').then((page) => ({ m, page })).catch(() => ({ m, page: null }))));
  const items = pages.flatMap(({ m, page }) => (page?.items ?? []).map((r) => ({ ...r, org: m.organisation })))
    .sort((a, b) => (a.expires_at ?? '').localeCompare(b.expires_at ?? ''));
  const failed = pages.filter(({ page }) => !page).map(({ m }) => m.organisation.name);
  const reload = (opts) => app.go('centre', { org_id: ALL }, opts);
  const rows = items.map((r) => h('tr', { testid: 'queue-row', dataset: { requestId: r.request_id, email: r.organisation_email, status: r.status, organisationId: r.org.organisation_id } },
    h('th', { scope: 'row' }, `${r.first_name} ${r.last_name}`),
    h('td', {}, h('button', { type: 'button', class: 'link', testid: 'queue-open-org', on: { click: () => app.go('centre', { org_id: r.org.organisation_id, tab: 'requests' }) } }, r.org.name)),
    h('td', {}, r.organisation_email),
    h('td', {}, whenAgo(r.created_at)),
    h('td', {}, r.expires_at ? h('span', { class: 'deadline', testid: 'queue-deadline' }, `Expires ${when(r.expires_at)}.`) : null),
    h('td', {}, decisionControls(r, (message) => keepPlace(items, r, message, reload)))));
  const more = admin.filter((m) => waiting.get(m.organisation.organisation_id)?.more).map((m) => m.organisation.name);
  return h(
    'section',
    { 'aria-labelledby': 'queue-heading' },
    h('h2', { id: 'queue-heading' }, 'Requests waiting in all your organisations'),
    failed.length ? h('p', { class: 'note', role: 'note' }, `Requests of ${failed.join(', ')} could not be loaded. Choose the organisation above to try again.`) : null,
    more.length ? h('p', { class: 'note', role: 'note', testid: 'queue-more-elsewhere' }, `This list shows the first 20 of ${more.join(', ')}. Choose the organisation above to see them all.`) : null,
    rows.length
      ? table('Requests waiting for a decision, soonest deadline first', ['Name', 'Organisation', 'Organisation Email', 'Sent', 'Deadline', 'Actions'], rows, { testid: 'queue' })
      : h('p', { testid: 'queue-empty' }, 'No requests are waiting in any of your organisations.'),
  );
}

async function infoTab(org, params, go) {
  const details = await api.organisation(org.organisation_id);
  const manage = h('button', { type: 'button', id: 'manage-profile', testid: 'manage-profile', 'aria-expanded': String(!!params.manage) }, 'Manage Organisation Profile');
  manage.addEventListener('click', () => go({ tab: 'info', manage: !params.manage }));
  return h(
    'section',
    { 'aria-labelledby': 'info-heading' },
    h('h2', { id: 'info-heading' }, 'Organisation Information'),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Name'), h('dd', {}, details.name),
      h('dt', {}, 'Partner ID'), h('dd', {}, details.partner_id),
      h('dt', {}, 'Location'), h('dd', {}, `${details.city}, ${details.country}`)),
    manage,
    params.manage ? await manageProfile(org, go) : null,
  );
}

// A domain's proof status in words: what it means for requests from it.
const DOMAIN_STATUS = {
  pending: ['Waiting for its DNS record', 'Requests from it come to you until the record is seen.'],
  verified: ['Verified', 'Requests from it are accepted at once.'],
  suspended: ['Suspended', 'Its DNS record is gone, so requests from it come to you. Publish the record again.'],
  lapsed: ['Lapsed', 'Its record was gone for too long. Add the domain again for a new record to publish.'],
  expired: ['Expired', 'Its record was never seen. Add the domain again for a new record to publish.'],
  legacy: ['Pre-approved before domain proof', 'Requests from it are accepted at once for now. Publish its record to keep it that way.'],
};

const SEEN_TEXT = { found: 'Found', missing: 'No record', different_value: 'A different value', error: 'No answer' };

function statusWords(d) {
  const [title, meaning] = DOMAIN_STATUS[d.status] ?? [d.status, ''];
  const ends = d.status_ends_at
    ? { pending: ' The challenge ends ', suspended: ' It lapses ', legacy: ' This ends ', verified: ' A new record is asked for ' }[d.status]
    : null;
  return { title, meaning: ends ? `${meaning}${ends}${when(d.status_ends_at)}.` : meaning };
}

/** A read-only copy of `text` with a button that puts it on the clipboard. */
function copyable(label, text, testid) {
  const input = h('input', { type: 'text', readonly: true, value: text, testid, spellcheck: 'false', class: 'copy-text' });
  const copy = h('button', { type: 'button', testid: `${testid}-copy`, 'aria-label': `Copy the ${label.toLowerCase()}` }, 'Copy');
  input.addEventListener('focus', () => input.select());
  copy.addEventListener('click', async () => {
    input.focus();
    input.select();
    try {
      await navigator.clipboard.writeText(text);
      announce(`${label} copied.`);
    } catch {
      // No clipboard access: the text is selected, ready for Ctrl+C.
      announce(`${label} selected: press Ctrl+C to copy it.`);
    }
  });
  // The label names the text box itself; the button sits beside it.
  const labelled = field(label, input);
  const row = h('span', { class: 'copy-row' });
  input.replaceWith(row);
  row.append(input, copy);
  return labelled;
}

function domainProof(org, d, go) {
  const { title, meaning } = statusWords(d);
  const ended = d.status === 'lapsed' || d.status === 'expired';
  const check = h('button', { type: 'button', testid: 'domain-check', dataset: { domain: d.domain } }, `Check now`);
  check.addEventListener('click', async () => {
    const after = await act(check, () => api.checkDomain(org.organisation_id, d.domain));
    if (after) {
      await go({ tab: 'info', manage: true });
      announce(`Checked ${after.domain}: ${statusWords(after).title}. ${after.last_seen ? after.last_seen.detail : ''}`);
    }
  });
  const renew = h('button', { type: 'button', testid: 'domain-renew', dataset: { domain: d.domain } }, 'Get a new record');
  renew.addEventListener('click', async () => {
    const again = await act(renew, () => api.addDomain(org.organisation_id, d.domain, d.include_subdomains));
    if (again) {
      await go({ tab: 'info', manage: true });
      announce(`${again.domain} has a new record to publish.`);
    }
  });
  const seen = d.last_seen;
  return h('article', { class: 'domain-proof', testid: 'domain-proof', dataset: { domain: d.domain, status: d.status }, 'aria-labelledby': `proof-${d.domain}` },
    h('h4', { id: `proof-${d.domain}` }, d.domain),
    h('p', { class: 'strong', testid: 'domain-status' }, title),
    h('p', {}, meaning),
    d.status === 'verified' ? null : h('p', {}, `To prove that ${d.domain} is yours, publish this TXT record in its DNS, then choose Check now.`),
    copyable('Record name', d.record.name, 'record-name'),
    copyable('Record value', d.record.value, 'record-value'),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Type'), h('dd', {}, d.record.type),
      h('dt', {}, 'Last checked'), h('dd', { testid: 'domain-last-checked' }, d.last_checked_at ? when(d.last_checked_at) : 'Not yet'),
      h('dt', {}, 'What was seen'), h('dd', { testid: 'domain-seen', dataset: { outcome: seen ? seen.outcome : '' } }, seen ? `${SEEN_TEXT[seen.outcome] ?? seen.outcome}: ${seen.detail}` : 'Nothing yet'),
      h('dt', {}, 'Next check'), h('dd', {}, d.next_check_at ? when(d.next_check_at) : 'None planned')),
    h('p', { class: 'hint' }, 'Not found? Some DNS providers add your domain to the name themselves (enter only _partner-desk-challenge if the name would end in ' + `${d.domain}.${d.domain}` + '); publish the value without quotation marks; a new record can take a while to be seen.'),
    ended ? renew : check,
    d.status === 'verified' ? approveFromDomain(org, d, go) : null);
}

/** Whether `email` is at `d`'s domain (or a subdomain of it, when the rule includes them). */
function fromDomain(email, d) {
  const at = email.toLowerCase().split('@').pop();
  return at === d.domain || (d.include_subdomains && at.endsWith(`.${d.domain}`));
}

/** "Approve the N pending requests from this domain": requests sent before it was proven. */
function approveFromDomain(org, d, go) {
  const slot = h('div', { testid: 'domain-pending', dataset: { domain: d.domain } });
  (async () => {
    const waiting = [];
    let cursor = null;
    do {
      const page = await api.queue(org.organisation_id, 'pending_approval', cursor);
      waiting.push(...page.items.filter((r) => fromDomain(r.organisation_email, d)));
      cursor = page.next_cursor;
    } while (cursor && waiting.length < 100);
    if (!waiting.length) return;
    const n = Math.min(waiting.length, 100);
    const button = h('button', { type: 'button', class: 'primary', testid: 'domain-approve-pending' },
      `Approve the ${n} pending request${n === 1 ? '' : 's'} from ${d.domain}`);
    button.addEventListener('click', async () => {
      const ids = waiting.slice(0, n).map((r) => r.request_id);
      const results = await act(button, () => api.decideRequests(org.organisation_id, ids, true, null));
      if (!results) return;
      const done = results.filter((r) => !r.error).length;
      await go({ tab: 'info', manage: true });
      announce(`${done} of ${ids.length} request${ids.length === 1 ? '' : 's'} from ${d.domain} approved. A verification email went to each.`);
    });
    slot.replaceChildren(h('p', {}, `${waiting.length} request${waiting.length === 1 ? ' was' : 's were'} sent from ${d.domain} before it was proven, and still wait for you.`), button);
  })().catch(() => {});
  return slot;
}

async function manageProfile(org, go) {
  const rules = await api.domains(org.organisation_id);
  const rows = rules.map((r) => {
    const remove = h('button', { type: 'button', testid: 'domain-remove', dataset: { domain: r.domain } }, `Remove ${r.domain}`);
    remove.addEventListener('click', async () => {
      if ((await act(remove, () => api.removeDomain(org.organisation_id, r.domain))) !== undefined) {
        await go({ tab: 'info', manage: true });
        announce(`${r.domain} is no longer pre-approved.`);
      }
    });
    return h('tr', { testid: 'domain-row', dataset: { domain: r.domain, status: r.status } },
      h('th', { scope: 'row' }, r.domain),
      h('td', {}, r.include_subdomains ? 'Yes' : 'No'),
      h('td', {}, statusWords(r).title),
      h('td', {}, when(r.added_at)),
      h('td', {}, remove));
  });

  const domain = h('input', { type: 'text', id: 'domain-input', testid: 'domain-input', placeholder: 'contoso.com', autocomplete: 'off', spellcheck: 'false' });
  const subdomains = checkbox('Include subdomains (for example sales.contoso.com)', { id: 'domain-subdomains', testid: 'domain-subdomains' });
  const update = h('button', { type: 'submit', id: 'domain-update', testid: 'domain-update', class: 'primary' }, 'Update');
  const addForm = h('form', { 'aria-labelledby': 'add-domain-heading' },
    h('h4', { id: 'add-domain-heading' }, 'Add an email domain'),
    field('Email domain', domain, 'Once you prove the domain is yours with a DNS record, staff with an Organisation Email at it are accepted at once. Free-mail domains and public suffixes cannot be added.'),
    subdomains.el,
    update);
  addForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const added = await act(update, () => api.addDomain(org.organisation_id, domain.value, subdomains.box.checked));
    if (added) {
      await go({ tab: 'info', manage: true });
      announce(`${added.domain} is added${added.include_subdomains ? ', with its subdomains' : ''}. Publish its DNS record to prove it is yours; until then, requests from it come to you.`);
    }
  });

  // The policy tester: which rule an address matches.
  const address = h('input', { type: 'email', id: 'policy-address', testid: 'policy-address', autocomplete: 'off' });
  const test = h('button', { type: 'submit', id: 'policy-test', testid: 'policy-test' }, 'Test address');
  const result = h('div', { id: 'policy-result', testid: 'policy-result', 'aria-live': 'polite' });
  const testForm = h('form', { 'aria-labelledby': 'policy-heading' },
    h('h3', { id: 'policy-heading' }, 'Policy tester'),
    h('p', {}, 'Type any address to see whether a request with it would be accepted at once, and which rule matches.'),
    field('Email address to test', address), test, result);
  testForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const p = await act(test, () => api.testPolicy(org.organisation_id, address.value));
    if (!p) return;
    result.dataset.outcome = p.outcome;
    result.replaceChildren(
      h('p', { class: 'strong' }, p.outcome === 'accepted' ? 'Accepted at once' : 'Sent to the program administrator'),
      h('p', {}, p.matched_domain ? `Matching rule: ${p.matched_domain}${p.matched_domain_status ? ` (${statusWords({ status: p.matched_domain_status }).title})` : ''}` : 'No rule matches.'),
      h('p', {}, p.reason),
    );
  });

  return h(
    'section',
    { id: 'manage-organisation-profile', testid: 'manage-organisation-profile', 'aria-labelledby': 'manage-heading' },
    h('h2', { id: 'manage-heading' }, 'Manage Organisation Profile'),
    h('section', { 'aria-labelledby': 'domains-heading' },
      h('h3', { id: 'domains-heading' }, 'Your Organisation email domains'),
      rules.length
        ? table('Pre-approved email domains', ['Domain', 'Subdomains included', 'Status', 'Added', 'Action'], rows, { testid: 'domains' })
        : h('p', { testid: 'domains-empty' }, 'No email domain is pre-approved yet, so every request waits for you to accept it.'),
      rules.map((r) => domainProof(org, r, go)),
      addForm),
    testForm,
  );
}

/** Results of a bulk decision, one line per request, in words. */
function bulkResults(results, nameOf) {
  const done = results.filter((r) => !r.error).length;
  return {
    summary: `${done} of ${results.length} request${results.length === 1 ? '' : 's'} decided.`,
    list: h('ul', { testid: 'bulk-results' }, results.map((r) =>
      h('li', { testid: 'bulk-result', dataset: { requestId: r.request_id, ok: String(!r.error) } },
        `${nameOf(r.request_id)}: ${r.error ? r.error.message : STATUS_TEXT[r.status] ?? r.status}`))),
  };
}

/** The bar above the queue: select requests, then approve or deny them together. */
function bulkBar(org, picks, go, status) {
  const all = h('input', { type: 'checkbox', id: 'queue-pick-all', testid: 'queue-pick-all' });
  const count = h('span', { testid: 'bulk-count', 'aria-live': 'polite' }, 'None selected.');
  const approve = h('button', { type: 'button', class: 'primary', testid: 'bulk-approve', disabled: true }, 'Approve selected');
  const reason = h('input', { type: 'text', id: 'bulk-reason', testid: 'bulk-reason' });
  const deny = h('button', { type: 'button', testid: 'bulk-deny', disabled: true }, 'Deny selected');
  const out = h('div', { testid: 'bulk-out', 'aria-live': 'polite' });
  const chosen = () => [...picks.values()].filter((p) => p.box.checked);
  const update = () => {
    const n = chosen().length;
    count.textContent = n ? `${n} selected.` : 'None selected.';
    approve.disabled = deny.disabled = n === 0;
    approve.textContent = n ? `Approve ${n} selected` : 'Approve selected';
    deny.textContent = n ? `Deny ${n} selected` : 'Deny selected';
    all.checked = n > 0 && n === picks.size;
    all.indeterminate = n > 0 && n < picks.size;
  };
  all.addEventListener('change', () => {
    for (const p of picks.values()) p.box.checked = all.checked;
    update();
  });
  const nameOf = (id) => {
    const p = picks.get(id);
    return p ? `${p.r.first_name} ${p.r.last_name}` : id;
  };
  const decide = async (button, yes) => {
    const ids = chosen().map((p) => p.r.request_id);
    const results = await act(button, () => api.decideRequests(org.organisation_id, ids, yes, yes ? null : reason.value));
    if (!results) return;
    const { summary, list } = bulkResults(results, nameOf);
    await go({ tab: 'requests', status });
    // The queue was drawn again: show what happened above it.
    const again = document.querySelector('[data-testid=bulk-out]') ?? document.querySelector('#queue-heading');
    const note = h('div', { class: 'note', role: 'status', testid: 'bulk-summary' }, h('p', {}, summary), list);
    again.after(note);
    announce(summary);
  };
  approve.addEventListener('click', () => decide(approve, true));
  deny.addEventListener('click', () => decide(deny, false));
  const el = h('fieldset', { class: 'bulk', testid: 'bulk' },
    h('legend', {}, 'Decide several at once'),
    h('div', { class: 'check' }, all, h('label', { for: all.id }, 'Select all on this page')),
    count,
    h('div', { class: 'actions' }, approve, field('Reason for denying (all selected)', reason, 'The requesters see it.'), deny),
    out);
  return { el, update };
}

async function requestsTab(org, params, go, isAdmin) {
  const status = params.status ?? 'pending_approval';
  const page = await api.queue(org.organisation_id, status || null, params.cursor);
  // Who decided, by name (administrators see the members; a delegate sees the decision only).
  const names = new Map();
  if (isAdmin && page.items.some((r) => r.decided_by)) {
    for (const m of await allMembers(org)) names.set(m.account_id, m.display_name);
  }
  const decidedBy = (r) => {
    if (!r.decided_by) return null;
    const by = names.get(r.decided_by) ?? (isAdmin ? 'a former member' : null);
    if (!by) return null;
    const forWhom = r.on_behalf_of ? ` for ${names.get(r.on_behalf_of) ?? 'a former member'}` : '';
    return h('span', { class: 'decided-by', testid: 'queue-decided-by' }, ` Decided by ${by}${forWhom}.`);
  };
  const filter = h('select', { id: 'queue-status', testid: 'queue-status' },
    [['pending_approval', 'Pending'], ['accepted', 'Accepted'], ['active', 'Active'], ['denied', 'Denied'], ['withdrawn', 'Withdrawn'], ['expired', 'Expired'], ['', 'All']]
      .map(([value, label]) => h('option', { value, selected: value === status }, label)));
  filter.addEventListener('change', () => go({ tab: 'requests', status: filter.value }));

  // Soonest deadline first (pending requests; the others keep the server's order).
  const items = [...page.items].sort((a, b) => (a.expires_at && b.expires_at ? a.expires_at.localeCompare(b.expires_at) : 0));
  const picks = new Map();
  const bulk = bulkBar(org, picks, go, status);
  // The selection column shows when something on the page can be decided.
  const selectable = items.some((r) => r.status === 'pending_approval');
  const decided = (r) => (message) => keepPlace(items, r, message, (opts) => go({ tab: 'requests', status }, opts));
  const rows = items.map((r) => {
    let actions = null;
    let pick = null;
    if (r.status === 'pending_approval') {
      pick = h('input', { type: 'checkbox', id: `queue-pick-${r.request_id}`, testid: 'queue-pick', 'aria-label': `Select the request from ${r.first_name} ${r.last_name}` });
      pick.addEventListener('change', () => bulk.update());
      picks.set(r.request_id, { box: pick, r });
      actions = decisionControls(r, decided(r));
    }
    return h('tr', { testid: 'queue-row', dataset: { requestId: r.request_id, email: r.organisation_email, status: r.status } },
      selectable ? h('td', { class: 'pick' }, pick) : null,
      h('th', { scope: 'row' }, `${r.first_name} ${r.last_name}`),
      h('td', {}, r.organisation_email),
      h('td', {}, whenAgo(r.created_at)),
      h('td', {}, STATUS_TEXT[r.status] ?? r.status, r.decision_reason ? ` (${r.decision_reason})` : '',
        // "Waiting for approval. Expires …": a sentence of its own.
        r.status === 'pending_approval' && r.expires_at ? ['.', h('span', { class: 'deadline', testid: 'queue-deadline' }, ` Expires ${when(r.expires_at)}.`)] : null,
        decidedBy(r)),
      h('td', {}, actions));
  });

  return h(
    'section',
    { 'aria-labelledby': 'queue-heading' },
    h('h2', { id: 'queue-heading' }, 'Association requests'),
    field('Show', filter),
    picks.size ? bulk.el : null,
    rows.length
      ? table('Requests to associate with your organisation', [...(selectable ? ['Select'] : []), 'Name', 'Organisation Email', 'Sent', 'State', 'Actions'], rows, { testid: 'queue' })
      : h('p', { testid: 'queue-empty' }, 'No requests in this list.'),
    page.next_cursor ? h('button', { type: 'button', testid: 'queue-more', on: { click: () => go({ tab: 'requests', status, cursor: page.next_cursor }) } }, 'Next page') : null,
  );
}

async function inviteTab(org) {
  const emails = h('textarea', { id: 'invite-emails', testid: 'invite-emails', rows: '6', spellcheck: 'false' });
  const send = h('button', { type: 'submit', id: 'invite-send', testid: 'invite-send', class: 'primary' }, 'Send invitations');
  const results = h('div', { id: 'invite-results', testid: 'invite-results', 'aria-live': 'polite' });
  const form = h('form', {}, field('Email addresses', emails, 'One per line, or separated by commas. Invited people who verify their address are active without your approval.'), send, results);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const list = emails.value.split(/[\s,;]+/).map((e) => e.trim()).filter(Boolean);
    const out = await act(send, () => api.invite(org.organisation_id, list));
    if (!out) return;
    const invited = out.filter((r) => r.status === 'invited').length;
    announce(`${invited} of ${out.length} invitation${out.length === 1 ? '' : 's'} sent.`);
    results.replaceChildren(table('Invitation results', ['Email', 'Result'],
      out.map((r) => h('tr', { testid: 'invite-result' }, h('th', { scope: 'row' }, r.email), h('td', {}, r.status === 'invited' ? 'Invited' : r.status.replaceAll('_', ' '))))));
  });
  return h('section', { 'aria-labelledby': 'invite-heading' }, h('h2', { id: 'invite-heading' }, 'Invite multiple people'), form);
}

async function membersTab(org, go) {
  const page = await api.members(org.organisation_id);
  const rows = page.items.map((m) => {
    const which = h('select', { id: `member-privilege-${m.membership_id}`, testid: 'member-privilege' },
      PRIVILEGES.map((p) => h('option', { value: p }, privilegeTitle(p))));
    const grant = h('button', { type: 'button', testid: 'member-grant' }, 'Grant');
    grant.addEventListener('click', async () => {
      if (await act(grant, () => api.grantPrivilege(m.membership_id, which.value))) {
        await go({ tab: 'members' });
        announce(`${privilegeTitle(which.value)} was granted to ${m.display_name}.`);
      }
    });
    const revoke = h('button', { type: 'button', testid: 'member-revoke' }, 'Revoke');
    revoke.addEventListener('click', async () => {
      if ((await act(revoke, () => api.revokePrivilege(m.membership_id, which.value))) !== undefined) {
        await go({ tab: 'members' });
        announce(`${privilegeTitle(which.value)} was revoked from ${m.display_name}.`);
      }
    });
    // Removing takes two presses, so one slip of the keyboard cannot remove anyone.
    const remove = h('button', { type: 'button', class: 'danger', testid: 'member-remove' }, 'Remove member');
    remove.addEventListener('click', async () => {
      if (remove.dataset.armed !== 'true') {
        remove.dataset.armed = 'true';
        remove.textContent = `Confirm: remove ${m.display_name}`;
        return;
      }
      if ((await act(remove, () => api.removeMember(m.membership_id))) !== undefined) {
        await go({ tab: 'members' });
        announce(`${m.display_name} was removed from ${org.name}.`);
      }
    });
    return h('tr', { testid: 'member-row', dataset: { membershipId: m.membership_id, email: m.organisation_email } },
      h('th', { scope: 'row' }, m.display_name),
      h('td', {}, m.organisation_email),
      h('td', {}, m.roles.map((r) => (r === 'ppc' ? 'Primary Program Contact' : 'Member')).join(', ')),
      h('td', { testid: 'member-privileges' }, m.privileges.length ? m.privileges.map(privilegeTitle).join(', ') : 'None'),
      h('td', { class: 'actions' }, field(`Privilege for ${m.display_name}`, which), grant, revoke, remove));
  });
  return h('section', { 'aria-labelledby': 'members-heading' },
    h('h2', { id: 'members-heading' }, 'Members'),
    table(`Members of ${org.name}`, ['Name', 'Organisation Email', 'Role', 'Privileges', 'Actions'], rows, { testid: 'members' }));
}

async function privilegeRequestsTab(org, go) {
  const requests = await api.privilegeRequests(org.organisation_id);
  const members = await api.members(org.organisation_id);
  const nameOf = (id) => members.items.find((m) => m.membership_id === id)?.display_name ?? 'A member';
  const rows = requests.map((r) => {
    const grant = h('button', { type: 'button', class: 'primary', testid: 'privilege-request-grant' }, 'Grant');
    grant.addEventListener('click', async () => {
      if (await act(grant, () => api.grantPrivilege(r.membership_id, r.privilege))) {
        await go({ tab: 'privilege-requests' });
        announce(`${privilegeTitle(r.privilege)} was granted to ${nameOf(r.membership_id)}.`);
      }
    });
    return h('tr', { testid: 'privilege-request-row' },
      h('th', { scope: 'row' }, nameOf(r.membership_id)),
      h('td', {}, privilegeTitle(r.privilege)),
      h('td', {}, r.note ?? ''),
      h('td', {}, whenAgo(r.created_at)),
      h('td', {}, grant));
  });
  return h('section', { 'aria-labelledby': 'privreq-heading' },
    h('h2', { id: 'privreq-heading' }, 'Privilege requests'),
    rows.length ? table('Members asking for privileges', ['Member', 'Privilege', 'Note', 'Asked', 'Action'], rows) : h('p', {}, 'No member is asking for a privilege.'));
}

async function auditTab(org, params, go) {
  const page = await api.audit(org.organisation_id, params.cursor);
  const rows = page.items.map((e) => h('tr', { testid: 'audit-row' },
    h('td', {}, whenAgo(e.at)), h('td', {}, e.action.replaceAll('_', ' ').replaceAll('.', ': ')), h('td', {}, e.subject), h('td', {}, e.detail)));
  return h('section', { 'aria-labelledby': 'audit-heading' },
    h('h2', { id: 'audit-heading' }, 'Audit history'),
    rows.length ? table('Changes to this organisation, newest first', ['When', 'What', 'Subject', 'Detail'], rows, { testid: 'audit' }) : h('p', {}, 'Nothing has changed yet.'),
    page.next_cursor ? h('button', { type: 'button', testid: 'audit-more', on: { click: () => go({ tab: 'audit', cursor: page.next_cursor }) } }, 'Older entries') : null);
}

const isApprover = (m) => m.roles.includes('ppc') || m.privileges.includes('global_admin');

/** Every active member (all pages). */
async function allMembers(org) {
  const all = [];
  let cursor = null;
  do {
    const page = await api.members(org.organisation_id, cursor);
    all.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && all.length < 2000);
  return all;
}

/** Shown on every tab while only one person can approve the organisation's requests. */
async function loneApproverWarning(org, go) {
  const approvers = (await allMembers(org)).filter(isApprover);
  if (approvers.length !== 1) return null;
  const open = h('button', { type: 'button', testid: 'lone-approver-open', on: { click: () => go({ tab: 'approvers' }) } }, 'Add an approver');
  return h('div', { class: 'note', role: 'note', testid: 'lone-approver-warning' },
    h('p', {}, `${approvers[0].display_name} is the only person who can approve ${org.name}\u2019s requests. If they are away, requests wait until they expire. Grant a colleague Global Administrator, or name a delegate for an absence.`),
    open);
}

/** A date input's value (the person's own day) as the instant it starts, in their time zone. */
function dayStart(value, plusDays = 0) {
  const [y, m, d] = value.split('-').map(Number);
  return new Date(y, m - 1, d + plusDays).toISOString();
}

function dayValue(iso, minusDays = 0) {
  const t = new Date(iso);
  t.setDate(t.getDate() - minusDays);
  const pad = (n) => String(n).padStart(2, '0');
  return `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}`;
}

async function approversTab(org, membership, go) {
  const members = await allMembers(org);
  const current = await api.delegation(org.organisation_id);
  const approvers = members.filter(isApprover);
  const others = members.filter((m) => m.membership_id !== membership.membership_id);
  const roleOf = (m) => [m.roles.includes('ppc') ? 'Primary Program Contact' : null, m.privileges.includes('global_admin') ? 'Global Administrator' : null].filter(Boolean).join(', ');
  const approverRows = approvers.map((m) => h('tr', { testid: 'approver-row', dataset: { membershipId: m.membership_id } },
    h('th', { scope: 'row' }, m.display_name), h('td', {}, m.organisation_email), h('td', {}, roleOf(m))));

  // Delegation: "I am away 3–17 March".
  const pickDelegate = h('select', { id: 'delegate-member', testid: 'delegate-member' },
    h('option', { value: '' }, 'Choose a colleague'),
    others.map((m) => h('option', { value: m.membership_id, selected: current?.delegate_membership_id === m.membership_id }, `${m.display_name} (${m.organisation_email})`)));
  const today = dayValue(new Date().toISOString());
  const first = h('input', { type: 'date', id: 'delegate-from', testid: 'delegate-from', value: current ? dayValue(current.starts_at) : today, min: today });
  const last = h('input', { type: 'date', id: 'delegate-until', testid: 'delegate-until', value: current ? dayValue(current.ends_at, 1) : '' });
  const save = h('button', { type: 'submit', class: 'primary', testid: 'delegate-save' }, current ? 'Change the delegation' : 'Name the delegate');
  const delegationForm = h('form', { 'aria-labelledby': 'delegation-heading', testid: 'delegation-form' },
    h('h3', { id: 'delegation-heading' }, 'While you are away'),
    h('p', {}, 'Name a colleague to decide association requests for you during an absence. The requests already waiting go to them at the start, new ones too, and everything comes back to you at the end. Each decision they make records that it was on your behalf.'),
    field('Delegate', pickDelegate),
    field('First day away', first),
    field('Last day away', last, 'The delegation ends at the end of this day.'),
    save);
  delegationForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!pickDelegate.value || !first.value || !last.value) {
      announce('Choose a colleague, the first day and the last day of your absence.');
      (pickDelegate.value ? (first.value ? last : first) : pickDelegate).focus();
      return;
    }
    const starts = first.value === today ? new Date().toISOString() : dayStart(first.value);
    const d = await act(save, () => api.setDelegation(org.organisation_id, pickDelegate.value, starts, dayStart(last.value, 1)));
    if (d) {
      await go({ tab: 'approvers' });
      announce(d.active
        ? `${d.delegate_name} now decides ${org.name}\u2019s requests, until ${when(d.ends_at)}. The requests already waiting went to them.`
        : `${d.delegate_name} will decide ${org.name}\u2019s requests from ${when(d.starts_at)} until ${when(d.ends_at)}.`);
    }
  });
  let currentNote = null;
  if (current) {
    const stop = h('button', { type: 'button', testid: 'delegate-end' }, 'End the delegation now');
    stop.addEventListener('click', async () => {
      if ((await act(stop, () => api.endDelegation(org.organisation_id))) !== undefined) {
        await go({ tab: 'approvers' });
        announce(`The delegation to ${current.delegate_name} has ended. The requests are back with ${org.name}\u2019s administrators.`);
      }
    });
    currentNote = h('div', { class: 'note', role: 'note', testid: 'delegation-current', dataset: { active: String(current.active) } },
      h('p', {}, current.active
        ? `${current.delegate_name} decides requests for ${current.delegator_name} until ${when(current.ends_at)}.`
        : `${current.delegate_name} will decide requests for ${current.delegator_name} from ${when(current.starts_at)} until ${when(current.ends_at)}.`),
      stop);
  }

  // Handover of the PPC role: it moves when the colleague accepts.
  let handover = null;
  if (membership.roles.includes('ppc')) {
    const pickNext = h('select', { id: 'handover-member', testid: 'handover-member' },
      h('option', { value: '' }, 'Choose a colleague'),
      others.filter((m) => !m.roles.includes('ppc')).map((m) => h('option', { value: m.membership_id }, `${m.display_name} (${m.organisation_email})`)));
    const offer = h('button', { type: 'submit', testid: 'handover-offer' }, 'Offer the role');
    handover = h('form', { 'aria-labelledby': 'handover-heading', testid: 'handover-form' },
      h('h3', { id: 'handover-heading' }, 'Hand over the PPC role'),
      h('p', {}, 'Offer the Primary Program Contact role to a colleague. It moves only when they accept; you then stay an approver as a Global Administrator. The only Primary Program Contact cannot leave the organisation until the role is handed over.'),
      field('New Primary Program Contact', pickNext),
      offer);
    handover.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (!pickNext.value) {
        announce('Choose the colleague to offer the role to.');
        pickNext.focus();
        return;
      }
      const o = await act(offer, () => api.offerHandover(org.organisation_id, pickNext.value));
      if (o) announce(`The role was offered to ${o.to_name}. It moves when they accept it on their home screen.`);
    });
  }

  return h('section', { 'aria-labelledby': 'approvers-heading' },
    h('h2', { id: 'approvers-heading' }, 'Approvers'),
    h('p', {}, 'These people can approve and deny association requests, pre-approve email domains and grant privileges.'),
    table(`Who approves ${org.name}\u2019s requests`, ['Name', 'Organisation Email', 'Role'], approverRows, { testid: 'approvers' }),
    currentNote,
    delegationForm,
    handover);
}
