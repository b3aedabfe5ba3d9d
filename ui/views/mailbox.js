// The embedded backend's Mailbox: the mail sent to your account address and Organisation Emails,
// each verification mail with a button that follows its link.
import * as api from '../api.js';
import { h, whenAgo } from '../dom.js';
import { verifyAndContinue } from './verify.js';

export async function render(params, app) {
  const mails = await api.myMail();
  if (mails === null) {
    return h(
      'div',
      {},
      h('h1', {}, 'Mailbox'),
      h('p', { class: 'lead', testid: 'mailbox-server' }, 'Your programme\u2019s server sends mail to your real email inbox. Open the verification email there, then use its link, or paste the link or the code on the Verify screen.'),
      h('p', { class: 'button-row' }, h('button', { type: 'button', class: 'primary', on: { click: () => app.go('verify') } }, 'Go to Verify')),
    );
  }
  const refresh = h('button', { type: 'button', id: 'mailbox-refresh', testid: 'mailbox-refresh', on: { click: () => app.go('mailbox') } }, 'Refresh');
  const list = mails.map((m) => {
    const open = m.link
      ? h('button', { type: 'button', class: 'primary', testid: 'mail-open-link', dataset: { mailId: m.mail_id } }, 'Open the verification link')
      : null;
    if (open) open.addEventListener('click', () => verifyAndContinue(open, m.link, app));
    return h(
      'article',
      { class: 'mail', testid: 'mail', dataset: { mailId: m.mail_id, to: m.to }, 'aria-labelledby': `mail-${m.mail_id}-subject` },
      h('h2', { id: `mail-${m.mail_id}-subject`, testid: 'mail-subject' }, m.subject),
      h('p', { class: 'meta' }, `To ${m.to} · ${whenAgo(m.sent_at)}`),
      h('pre', { class: 'mail-body', testid: 'mail-body' }, m.body),
      open,
    );
  });
  return h(
    'div',
    {},
    h('h1', {}, 'Mailbox'),
    h('p', { class: 'lead' }, 'With the built-in (embedded) backend, mail to your account address and your Organisation Emails arrives here instead of an email account.'),
    h('p', { class: 'button-row' }, refresh),
    mails.length ? h('div', { testid: 'mail-list' }, list) : h('p', { testid: 'mailbox-empty' }, 'No mail yet. A verification email arrives here once your request is accepted.'),
  );
}
