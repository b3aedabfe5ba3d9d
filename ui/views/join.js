// Join an existing organisation (also "Associate to another organisation"): Lookup → tick your
// organisation → contact details with the Organisation Email → a live preview of the outcome →
// the guide's outcome message.
import * as api from '../api.js';
import { h, field, act, announce, showError } from '../dom.js';

const PREVIEW_DELAY_MS = 350;

export async function render(params, app) {
  const another = app.activeMemberships().length > 0;
  const title = another ? 'Associate to another organisation' : 'Join an existing organisation';
  let chosen = null;

  // Step: Lookup
  const q = h('input', { type: 'text', id: 'lookup-name', testid: 'lookup-name', autocomplete: 'organization' });
  const partnerId = h('input', { type: 'text', id: 'lookup-partner-id', testid: 'lookup-partner-id', inputmode: 'numeric' });
  const city = h('input', { type: 'text', id: 'lookup-city', testid: 'lookup-city' });
  const country = h('input', { type: 'text', id: 'lookup-country', testid: 'lookup-country' });
  const lookupButton = h('button', { type: 'submit', id: 'lookup-submit', testid: 'lookup-submit', class: 'primary' }, 'Lookup');
  const results = h('div', { id: 'lookup-results', testid: 'lookup-results' });
  const lookupForm = h(
    'form',
    { 'aria-labelledby': 'lookup-heading' },
    h('h2', { id: 'lookup-heading' }, '1. Enter your organisation\'s details'),
    h('p', {}, 'Search by name, partner ID or location, then select “Lookup”.'),
    h('div', { class: 'grid' }, field('Organisation name', q), field('Partner ID', partnerId), field('City', city), field('Country', country)),
    lookupButton,
  );

  // Step: contact details, shown once an organisation is ticked
  const [first, ...rest] = (app.account?.display_name ?? '').split(' ');
  const firstName = h('input', { type: 'text', id: 'join-first-name', testid: 'join-first-name', autocomplete: 'given-name', value: first || '' });
  const lastName = h('input', { type: 'text', id: 'join-last-name', testid: 'join-last-name', autocomplete: 'family-name', value: rest.join(' ') });
  const email = h('input', { type: 'email', id: 'join-email', testid: 'join-email', autocomplete: 'email' });
  const phone = h('input', { type: 'tel', id: 'join-phone', testid: 'join-phone', autocomplete: 'tel' });
  const jobTitle = h('input', { type: 'text', id: 'join-job-title', testid: 'join-job-title', autocomplete: 'organization-title' });
  const previewBox = h('div', { id: 'join-preview', testid: 'join-preview', class: 'preview', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', id: 'join-submit', testid: 'join-submit', class: 'primary' }, 'Submit request');
  const chosenText = h('p', { id: 'join-chosen', testid: 'join-chosen' });
  const contactForm = h(
    'form',
    { id: 'join-contact', 'aria-labelledby': 'contact-heading', hidden: true },
    h('h2', { id: 'contact-heading' }, '2. Enter your contact information'),
    chosenText,
    h(
      'div',
      { class: 'grid' },
      field('First name', firstName),
      field('Last name', lastName),
      field('Organisation Email', email, 'Your work email address, at your organisation\'s email domain. The verification email goes there.'),
      field('Phone (optional)', phone),
      field('Job title (optional)', jobTitle),
    ),
    h('h3', {}, 'Pre-approval status'),
    previewBox,
    submit,
  );

  const outcome = h('section', { id: 'join-result', testid: 'join-result', hidden: true, 'aria-labelledby': 'outcome-heading' });

  // Preview: asks the backend what this request would get now, a moment after typing stops.
  let timer = null;
  let seq = 0;
  async function updatePreview() {
    const mine = ++seq;
    const address = email.value.trim();
    if (!chosen || !address.includes('@')) {
      previewBox.replaceChildren(h('p', {}, 'Enter your Organisation Email to see whether your request will be accepted at once.'));
      previewBox.dataset.outcome = '';
      return;
    }
    try {
      const p = await api.preview(chosen.organisation_id, address);
      if (mine !== seq) return;
      const headline =
        p.outcome === 'accepted'
          ? 'Your request will be accepted at once.'
          : "Your request will be sent to your organisation's program administrator to accept.";
      previewBox.dataset.outcome = p.outcome;
      previewBox.replaceChildren(h('p', { class: 'strong', testid: 'preview-outcome' }, headline), h('p', { testid: 'preview-reason' }, p.reason));
    } catch (e) {
      if (mine !== seq) return;
      previewBox.dataset.outcome = 'invalid';
      previewBox.replaceChildren(h('p', { testid: 'preview-error' }, e.message));
    }
  }
  email.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(updatePreview, PREVIEW_DELAY_MS);
  });

  function choose(org, box) {
    for (const other of results.querySelectorAll('input[type=checkbox]')) if (other !== box) other.checked = false;
    chosen = box.checked ? org : null;
    contactForm.hidden = !chosen;
    if (chosen) {
      chosenText.textContent = `Organisation: ${org.name} (partner ID ${org.partner_id}), ${org.city}, ${org.country}`;
      updatePreview();
    }
  }

  lookupForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const page = await act(lookupButton, () =>
      api.lookup({ q: q.value, partner_id: partnerId.value, city: city.value, country: country.value }),
    );
    if (!page) return;
    chosen = null;
    contactForm.hidden = true;
    if (!page.items.length) {
      results.replaceChildren(h('p', { testid: 'lookup-empty' }, 'No organisation matches. Check the spelling, or search by partner ID or city instead.'));
      announce('No organisation matches.');
      return;
    }
    const list = h('ul', { class: 'plain results' });
    for (const org of page.items) {
      const box = h('input', { type: 'checkbox', id: `pick-${org.organisation_id}`, testid: 'org-pick', dataset: { name: org.name } });
      box.addEventListener('change', () => choose(org, box));
      list.append(
        h('li', {}, h('div', { class: 'check' }, box, h('label', { for: box.id }, h('span', { class: 'strong' }, org.name), ` — partner ID ${org.partner_id}, ${org.city}, ${org.country}`))),
      );
    }
    results.replaceChildren(h('fieldset', {}, h('legend', {}, 'Tick the checkbox next to your organisation'), list));
    announce(`${page.items.length} organisation${page.items.length === 1 ? '' : 's'} found. Tick yours.`);
  });

  contactForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!chosen) return;
    const created = await act(submit, () =>
      api.requestAssociation({
        organisation_id: chosen.organisation_id,
        first_name: firstName.value,
        last_name: lastName.value,
        organisation_email: email.value,
        phone: phone.value,
        job_title: jobTitle.value,
      }),
    );
    if (!created) return;
    const accepted = created.status === 'accepted';
    outcome.replaceChildren(
      h('h2', { id: 'outcome-heading' }, accepted ? 'Request accepted' : 'Request sent'),
      h('p', { class: 'outcome', id: 'join-outcome', testid: 'join-outcome', dataset: { status: created.status } }, created.message),
      accepted
        ? h('p', {}, `Check your work email account (${email.value.trim()}) for the verification email, and follow its link to complete your individual profile and activate your association.`)
        : h('p', {}, 'Your Primary Program Contact will need to sign in to the Partner Membership Centre and accept your request. You will then receive the verification email.'),
      h(
        'p',
        { class: 'button-row' },
        accepted ? h('button', { type: 'button', class: 'primary', id: 'outcome-mailbox', testid: 'outcome-mailbox', on: { click: () => app.go('mailbox') } }, 'Open Mailbox') : null,
        h('button', { type: 'button', id: 'outcome-home', testid: 'outcome-home', on: { click: () => app.go('home') } }, 'Back to Home'),
      ),
    );
    lookupForm.hidden = true;
    results.hidden = true;
    contactForm.hidden = true;
    outcome.hidden = false;
    showError(null);
    announce(created.message);
    outcome.querySelector('h2').setAttribute('tabindex', '-1');
    outcome.querySelector('h2').focus();
    app.refreshMe().catch(() => {});
  });

  return h(
    'div',
    {},
    h('h1', {}, title),
    h('p', { class: 'lead' }, 'You will need a work email address at your organisation\'s email domain. If your Primary Program Contact has pre-approved that domain, your request is accepted at once.'),
    lookupForm,
    results,
    contactForm,
    outcome,
  );
}
