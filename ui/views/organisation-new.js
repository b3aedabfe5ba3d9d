// Create an organisation: the creator becomes its Primary Program Contact.
import * as api from '../api.js';
import { h, field, act, announce } from '../dom.js';

export async function render(params, app) {
  const inputs = {
    name: h('input', { type: 'text', id: 'org-name', testid: 'org-name', autocomplete: 'organization', required: true }),
    country: h('input', { type: 'text', id: 'org-country', testid: 'org-country', autocomplete: 'country-name', required: true }),
    city: h('input', { type: 'text', id: 'org-city', testid: 'org-city', required: true }),
    address: h('input', { type: 'text', id: 'org-address', testid: 'org-address', autocomplete: 'street-address' }),
    phone: h('input', { type: 'tel', id: 'org-phone', testid: 'org-phone' }),
    website: h('input', { type: 'url', id: 'org-website', testid: 'org-website' }),
  };
  const submit = h('button', { type: 'submit', id: 'org-create', testid: 'org-create', class: 'primary' }, 'Create organisation');
  const form = h(
    'form',
    {},
    h('div', { class: 'grid' },
      field('Organisation name', inputs.name), field('Country', inputs.country), field('City', inputs.city),
      field('Address (optional)', inputs.address), field('Phone (optional)', inputs.phone), field('Website (optional)', inputs.website)),
    submit,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = Object.fromEntries(Object.entries(inputs).map(([k, el]) => [k, el.value]));
    const created = await act(submit, () => api.createOrganisation(body));
    if (!created) return;
    await app.refreshMe();
    await app.go('centre', { org_id: created.organisation_id });
    announce(`${body.name} was created with partner ID ${created.partner_id}. You are its Primary Program Contact.`);
  });
  return h(
    'div',
    {},
    h('h1', {}, 'Create an organisation'),
    h('p', { class: 'lead' }, 'If your organisation is not in the programme yet, create it here. You become its Primary Program Contact and can then pre-approve its email domains.'),
    form,
  );
}
