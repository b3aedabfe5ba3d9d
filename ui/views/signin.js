// Sign in, create an account, and pick one of the remembered accounts ("Switch account"): an
// account whose session the keychain still holds signs in without a password.
import * as api from '../api.js';
import { h, field, act, announce, showError } from '../dom.js';

export async function render(params, app) {
  // Both asked at once: the screen waits for one round trip to the shell, not two.
  const [remembered, keychain] = await Promise.all([
    api
      .rememberedAccounts()
      .catch(() => (params.recent ?? []).map((email) => ({ email, saved_session: false }))),
    api.keychainStatus().catch(() => null),
  ]);

  const email = h('input', { type: 'email', id: 'signin-email', testid: 'signin-email', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', id: 'signin-password', testid: 'signin-password', autocomplete: 'current-password', required: true });
  const signInButton = h('button', { type: 'submit', id: 'signin-submit', testid: 'signin-submit', class: 'primary' }, 'Sign in');
  const signInForm = h(
    'form',
    { id: 'signin-form', 'aria-labelledby': 'signin-heading' },
    h('h2', { id: 'signin-heading' }, 'Sign in with your account'),
    field('Email address', email),
    field('Password', password),
    signInButton,
  );
  signInForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const account = await act(signInButton, () => api.signIn(email.value, password.value));
    if (!account) return;
    password.value = '';
    app.signedIn(account);
    await app.refreshMe();
    await app.go('home');
    announce(`Signed in as ${account.display_name}.`);
  });

  const newName = h('input', { type: 'text', id: 'create-name', testid: 'create-name', autocomplete: 'name', required: true });
  const newEmail = h('input', { type: 'email', id: 'create-email', testid: 'create-email', autocomplete: 'email', required: true });
  const newPassword = h('input', { type: 'password', id: 'create-password', testid: 'create-password', autocomplete: 'new-password', required: true });
  const createButton = h('button', { type: 'submit', id: 'create-submit', testid: 'create-submit' }, 'Create account');
  const createForm = h(
    'form',
    { id: 'create-form', 'aria-labelledby': 'create-heading' },
    h('h2', { id: 'create-heading' }, 'Create an account'),
    h('p', {}, 'Your personal account is yours, not your organisation\'s: you sign in with it and associate it with one or more organisations.'),
    field('Your name', newName),
    field('Email address', newEmail, 'Any address you use, for example a personal one.'),
    field('Password', newPassword, 'At least 10 characters.'),
    createButton,
  );
  createForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const account = await act(createButton, () => api.createAccount(newEmail.value, newName.value, newPassword.value));
    if (!account) return;
    newPassword.value = '';
    app.signedIn(account);
    await app.refreshMe();
    await app.go('home');
    announce(`Your account was created and you are signed in as ${account.display_name}.`);
  });

  const askForPassword = (address) => {
    email.value = address;
    password.value = '';
    password.focus();
  };
  const useAccount = async (button, account) => {
    if (!account.saved_session) {
      askForPassword(account.email);
      return;
    }
    const signedIn = await act(button, () => api.useAccount(account.email));
    if (!signedIn) {
      // The saved session has ended (or is gone): the alert says so; the password is next.
      askForPassword(account.email);
      return;
    }
    app.signedIn(signedIn);
    await app.refreshMe();
    await app.go('home');
    announce(`Signed in as ${signedIn.display_name}.`);
  };
  const removeAccount = async (button, account) => {
    const left = await act(button, () => api.removeAccount(account.email));
    if (!left) return;
    app.signedOut();
    await app.go('signin', { switching: params.switching }, { keepMessages: true });
    announce(`${account.email} was removed from this app.`);
  };

  const recentList = remembered.length
    ? h(
        'section',
        { 'aria-labelledby': 'recent-heading', class: 'recent', testid: 'recent-accounts' },
        h('h2', { id: 'recent-heading' }, 'Recent accounts'),
        h('p', {}, 'Choose an account to sign in with it. An account that is still signed in on this computer needs no password.'),
        h(
          'ul',
          { class: 'plain' },
          remembered.map((account) => {
            const use = h('button', { type: 'button', testid: 'recent-account' },
              account.saved_session ? `Continue as ${account.email}` : `Use ${account.email}`);
            use.addEventListener('click', () => useAccount(use, account));
            const remove = h('button', { type: 'button', testid: 'remove-account', 'aria-label': `Remove ${account.email} from this app` },
              'Remove from this app');
            remove.addEventListener('click', () => removeAccount(remove, account));
            return h('li', {}, use, ' ', remove);
          }),
        ),
      )
    : null;

  const keychainNote = keychain && !keychain.available && keychain.message
    ? h('p', { class: 'note', testid: 'keychain-unavailable' }, keychain.message)
    : null;
  // Why a saved session was not restored (for example, it had ended): said once, as an alert.
  if (keychain?.notice) queueMicrotask(() => showError({ code: 'session_ended', message: keychain.notice }));

  return h(
    'div',
    {},
    h('h1', {}, params.switching ? 'Switch account' : 'Sign in'),
    h('p', { class: 'lead' }, 'Associate with your organisation\'s partner programme profile, or manage it as its Primary Program Contact.'),
    keychainNote,
    recentList,
    h('div', { class: 'columns' }, signInForm, createForm),
    h(
      'aside',
      { class: 'note', 'aria-labelledby': 'demo-heading' },
      h('h2', { id: 'demo-heading' }, 'Trying Partner Desk?'),
      h('p', {}, 'The built-in demo data has two accounts, both with the password partnerdesk-demo: ppc@contoso.com is the Primary Program Contact of Contoso Pty Ltd, and staff@example.net is a staff member who has not joined an organisation yet.'),
    ),
  );
}
