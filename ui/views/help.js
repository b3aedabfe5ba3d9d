// Help: the Regional Service Centre for each region, and the steps in short.
import * as api from '../api.js';
import { h, table } from '../dom.js';

export async function render() {
  const contacts = await api.helpContacts();
  return h(
    'div',
    {},
    h('h1', {}, 'Help'),
    h(
      'section',
      { 'aria-labelledby': 'contacts-heading' },
      h('h2', { id: 'contacts-heading' }, 'Need more help with your association?'),
      h('p', {}, 'Contact the Regional Service Centre for your region.'),
      table('Regional Service Centres', ['Region', 'Contact', 'Phone'],
        contacts.map((c) => h('tr', { testid: 'help-contact' }, h('th', { scope: 'row' }, c.region), h('td', {}, c.name), h('td', {}, c.phone))),
        { testid: 'help-contacts' }),
      h('p', { class: 'hint' }, 'Your administrator can change these contacts in Settings.'),
    ),
    h(
      'section',
      { 'aria-labelledby': 'steps-heading' },
      h('h2', { id: 'steps-heading' }, 'How to associate with your organisation'),
      h(
        'ol',
        {},
        h('li', {}, 'Ask your Primary Program Contact to pre-approve your organisation\'s email domain (Membership Centre → Organisation Information → Manage Organisation Profile → Your Organisation email domains → Update).'),
        h('li', {}, 'Sign in, select “Join an existing organisation”, enter your organisation\'s details and select “Lookup”.'),
        h('li', {}, 'Tick the checkbox next to your organisation and enter your contact information, with your work email address under “Organisation Email”.'),
        h('li', {}, 'If your domain is pre-approved, your request is accepted at once; otherwise your Primary Program Contact accepts it in the Membership Centre.'),
        h('li', {}, 'Open the verification email (the Mailbox, with the built-in backend), follow its link, and complete your individual profile.'),
      ),
    ),
  );
}
