// Verification: the link from the email, or the code in it → complete your individual profile.
import * as api from '../api.js';
import { h, field, act } from '../dom.js';

/** Verifies with `input` and, on success, opens the profile to complete it. */
export async function verifyAndContinue(button, input, app) {
  const verified = await act(button, () => api.verify(input));
  if (!verified) return;
  await app.refreshMe();
  await app.go('profile', { membership_id: verified.membership_id, completing: true });
}

export async function render(params, app) {
  const input = h('textarea', { id: 'verify-input', testid: 'verify-input', rows: '3', spellcheck: 'false', autocomplete: 'off' });
  const button = h('button', { type: 'submit', id: 'verify-submit', testid: 'verify-submit', class: 'primary' }, 'Verify');
  const form = h(
    'form',
    {},
    field('Verification link or code', input, 'Paste the whole partnerdesk://verify link from the verification email, or the code in it.'),
    button,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    verifyAndContinue(button, input.value, app);
  });
  // A link opened from the mail (see app.js): fill it in and verify once the screen is shown.
  if (typeof params.link === 'string') {
    input.value = params.link;
    setTimeout(() => verifyAndContinue(button, input.value, app), 0);
  }
  return h(
    'div',
    {},
    h('h1', {}, 'Verify your Organisation Email'),
    h('p', { class: 'lead' }, 'Verifying proves that the Organisation Email is yours, and activates your association.'),
    form,
  );
}
