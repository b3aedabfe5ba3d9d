// Sign in, create an account, and pick one of the recently used accounts ("Switch account").
import * as api from '../api.js';
import { h, field, act, announce } from '../dom.js';

export async function render(params, app) {
  const recent = params.recent ?? (await api.recentAccounts().catch(() => []));

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

  const recentList = recent.length
    ? h(
        'section',
        { 'aria-labelledby': 'recent-heading', class: 'recent', testid: 'recent-accounts' },
        h('h2', { id: 'recent-heading' }, 'Recent accounts'),
        h('p', {}, 'Choose an account to sign in with it.'),
        h(
          'ul',
          { class: 'plain' },
          recent.map((address) =>
            h('li', {}, h('button', {
              type: 'button',
              testid: 'recent-account',
              on: {
                click: () => {
                  email.value = address;
                  password.value = '';
                  password.focus();
                },
              },
            }, `Use ${address}`)),
          ),
        ),
      )
    : null;

  return h(
    'div',
    {},
    h('h1', {}, params.switching ? 'Switch account' : 'Sign in'),
    h('p', { class: 'lead' }, 'Associate with your organisation\'s partner programme profile, or manage it as its Primary Program Contact.'),
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
