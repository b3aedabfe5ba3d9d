// Review privileges: what you hold in each organisation, what each privilege unlocks, and a way
// to ask your Primary Program Contact for more.
import * as api from '../api.js';
import { h, field, act } from '../dom.js';

export async function render(params, app) {
  const memberships = app.activeMemberships();
  if (!memberships.length) {
    return h('div', {}, h('h1', {}, 'Review privileges'), h('p', {}, 'You have no active association yet. Join an existing organisation first.'));
  }
  const catalogue = await api.privilegeCatalogue();
  const membershipId = params.membership_id ?? memberships[0].membership_id;
  const membership = memberships.find((m) => m.membership_id === membershipId) ?? memberships[0];

  const picker = h(
    'select',
    { id: 'privileges-membership', testid: 'privileges-membership' },
    memberships.map((m) => h('option', { value: m.membership_id, selected: m.membership_id === membership.membership_id }, m.organisation.name)),
  );
  picker.addEventListener('change', () => app.go('privileges', { membership_id: picker.value }));

  const cards = catalogue.map((p) => {
    const held = membership.privileges.includes(p.privilege);
    const note = h('input', { type: 'text', id: `privilege-note-${p.privilege}`, testid: `privilege-note-${p.privilege}` });
    const ask = h('button', { type: 'button', testid: `privilege-request-${p.privilege}` }, `Request ${p.title}`);
    ask.addEventListener('click', () =>
      act(ask, () => api.requestPrivilege(membership.membership_id, p.privilege, note.value),
        `Your request for ${p.title} was sent to your Primary Program Contact.`),
    );
    return h(
      'article',
      { class: 'card', testid: 'privilege', dataset: { privilege: p.privilege, held: String(held) }, 'aria-labelledby': `privilege-${p.privilege}` },
      h('h2', { id: `privilege-${p.privilege}` }, p.title),
      h('p', {}, p.benefits),
      h('p', { class: held ? 'success' : 'muted', testid: 'privilege-state' }, held ? 'You have this privilege.' : 'You do not have this privilege.'),
      held ? null : h('div', {}, field('Note to your Primary Program Contact (optional)', note), ask),
    );
  });

  return h(
    'div',
    {},
    h('h1', {}, 'Review privileges'),
    h('p', { class: 'lead' }, 'To access Action Pack and Competency benefits such as Internal Use Rights software licences, or for Global Administrator Rights to manage the profile, ask your Primary Program Contact to grant you additional privileges.'),
    memberships.length > 1 ? field('Organisation', picker) : h('p', {}, `Organisation: ${membership.organisation.name}`),
    h('div', { class: 'cards' }, cards),
  );
}
