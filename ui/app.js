// Partner Desk's window: the header, the navigation and the screen in view.
// Every module this one imports has run by now (ES modules run their imports first).
const modulesRan = performance.now();
import * as api from './api.js';
import { h, clearMessages, showError, announce } from './dom.js';
import * as signin from './views/signin.js';
import * as home from './views/home.js';
import * as join from './views/join.js';
import * as mailbox from './views/mailbox.js';
import * as verify from './views/verify.js';
import * as profile from './views/profile.js';
import * as privileges from './views/privileges.js';
import * as centre from './views/centre.js';
import * as help from './views/help.js';
import * as settings from './views/settings.js';
import * as organisationNew from './views/organisation-new.js';
import * as inbox from './views/inbox.js';
import * as syncStatus from './sync-status.js';
// The zoom keys work on every screen.
import './appearance.js';

const views = {
  signin, home, join, mailbox, verify, profile, privileges, centre, help, settings,
  'organisation-new': organisationNew,
  inbox,
};

/** What every screen shares: the account, its memberships and the way to move between screens. */
export const app = {
  account: null,
  me: null,
  current: null,
  /** A verification link opened while signed out: it is used once someone signs in. */
  pendingLink: null,
  /** The inbox's counts ({unread, pending}) for the nav badge; null while signed out. */
  inboxBadge: null,
  /** Counts the shell's inbox events, so an answer asked for before the latest one is not shown. */
  inboxNews: 0,

  /** Shows new inbox counts on the nav item (from the inbox screen or the shell's event). */
  setInboxBadge(badge) {
    const same = badge && this.inboxBadge && badge.unread === this.inboxBadge.unread && badge.pending === this.inboxBadge.pending;
    this.inboxBadge = this.account && badge ? badge : null;
    if (!same) renderNav();
  },

  /** Asks the shell for the inbox's counts (after signing in). */
  async refreshInboxBadge() {
    if (!this.account) return;
    const news = this.inboxNews;
    try {
      const { badge } = await api.inbox(0);
      if (news === this.inboxNews) this.setInboxBadge(badge);
    } catch (e) {
      // The badge waits for the next change; the inbox screen says what is wrong.
    }
  },

  /** Memberships whose organisation the account may manage (PPC or Global Administrator). */
  adminMemberships() {
    return (this.me?.memberships ?? []).filter(
      (m) => m.status === 'active' && (m.roles.includes('ppc') || m.privileges.includes('global_admin')),
    );
  },

  /** Memberships whose requests the person decides: as an administrator or as a delegate. */
  deciderMemberships() {
    return (this.me?.memberships ?? []).filter(
      (m) => m.status === 'active' && (m.roles.includes('ppc') || m.roles.includes('delegate') || m.privileges.includes('global_admin')),
    );
  },

  isAdminOf(orgId) {
    return this.adminMemberships().some((m) => m.organisation.organisation_id === orgId);
  },

  activeMemberships() {
    return (this.me?.memberships ?? []).filter((m) => m.status === 'active');
  },

  async refreshMe() {
    this.me = this.account ? await api.me() : null;
    renderNav();
    return this.me;
  },

  signedIn(account) {
    this.account = account;
    this.inboxBadge = null;
    renderHeader();
    this.refreshInboxBadge();
    syncStatus.refresh();
  },

  signedOut() {
    this.account = null;
    this.me = null;
    this.inboxBadge = null;
    renderHeader();
    syncStatus.signedOut();
  },

  /** Asks the shell who is signed in now (after switching backends, nobody until they sign in). */
  async refreshSession() {
    const account = await api.session().catch(() => null);
    if (account) {
      this.signedIn(account);
      await this.refreshMe();
    } else {
      this.signedOut();
    }
  },

  /**
   * Shows a screen. `keepMessages` keeps the status sentence from the step that led here. Focus
   * goes to the screen's heading, or to the first of the `focus` selectors found in it (after a
   * decision in a list: the next item, so the person keeps their place).
   */
  async go(name, params = {}, { keepMessages = false, focus = [] } = {}) {
    if (this.account && this.pendingLink && name === 'home') {
      [name, params] = ['verify', { link: this.pendingLink }];
      this.pendingLink = null;
    }
    const view = views[name] && (this.account || ['signin', 'help', 'settings'].includes(name)) ? name : 'signin';
    if (!keepMessages) clearMessages();
    this.current = { name: view, params };
    renderNav();
    const target = document.getElementById('view');
    target.setAttribute('aria-busy', 'true');
    try {
      const node = await views[view].render(params, this);
      target.replaceChildren(node);
    } catch (e) {
      if (e.code === 'unauthenticated' && view !== 'signin') {
        this.signedOut();
        await this.go('signin', {}, { keepMessages: true });
        showError(e);
        return;
      }
      target.replaceChildren(h('h1', { tabindex: '-1' }, 'Something went wrong'));
      showError(e);
    } finally {
      target.removeAttribute('aria-busy');
    }
    target.dataset.view = view;
    const heading = target.querySelector('h1');
    if (heading) heading.setAttribute('tabindex', '-1');
    const chosen = focus.map((css) => target.querySelector(css)).find(Boolean) ?? heading;
    if (chosen) {
      if (!chosen.matches('button, input, select, textarea, a[href]')) chosen.setAttribute('tabindex', '-1');
      chosen.focus();
    }
  },
};

function renderHeader() {
  const bar = document.getElementById('account-bar');
  bar.hidden = !app.account;
  document.getElementById('account-name').textContent = app.account
    ? `Signed in as ${app.account.display_name} (${app.account.email})`
    : '';
  renderNav();
}

function navItems() {
  if (!app.account) {
    return [['signin', 'Sign in'], ['help', 'Help'], ['settings', 'Settings']];
  }
  const items = [['home', 'Home'], ['inbox', 'Inbox']];
  const member = app.activeMemberships().length > 0;
  items.push(['join', member ? 'Associate to another organisation' : 'Join an existing organisation']);
  items.push(['mailbox', 'Mailbox'], ['verify', 'Verify']);
  if (member) items.push(['privileges', 'Review privileges']);
  if (app.deciderMemberships().length > 0) items.push(['centre', 'Membership Centre']);
  items.push(['help', 'Help'], ['settings', 'Settings']);
  return items;
}

/** The Inbox nav item's text and accessible name: the unread count, and what waits for you. */
function inboxLabel() {
  const b = app.inboxBadge;
  if (!b || (b.unread === 0 && b.pending === 0)) return { badge: null, spoken: null };
  const waiting = b.pending ? `, ${b.pending} waiting for your decision` : '';
  return { badge: b.unread ? String(b.unread) : null, spoken: `${b.unread} unread${waiting}` };
}

function renderNav() {
  const nav = document.getElementById('nav');
  const current = app.current?.name;
  const inboxText = inboxLabel();
  nav.replaceChildren(
    h(
      'ul',
      {},
      navItems().map(([name, label]) =>
        h(
          'li',
          {},
          h(
            'button',
            {
              type: 'button',
              id: `nav-${name}`,
              testid: `nav-${name}`,
              'aria-current': name === current ? 'page' : null,
              on: { click: () => app.go(name) },
            },
            label,
            // The count is seen as a badge and heard as words: the name comes from the content, so
            // it always holds the visible label (WCAG 2.5.3).
            name === 'inbox' && inboxText.badge
              ? h('span', { class: 'badge', testid: 'inbox-badge', 'aria-hidden': 'true' }, inboxText.badge)
              : null,
            name === 'inbox' && inboxText.spoken
              ? h('span', { class: 'visually-hidden', testid: 'inbox-spoken' }, inboxText.spoken)
              : null,
          ),
        ),
      ),
    ),
  );
}

async function start() {
  syncStatus.start();
  document.getElementById('switch-account').addEventListener('click', async () => {
    try {
      const recent = await api.switchAccount();
      app.signedOut();
      await app.go('signin', { recent, switching: true });
    } catch (e) {
      showError(e);
    }
  });
  document.getElementById('sign-out').addEventListener('click', async () => {
    try {
      await api.signOut();
    } catch (e) {
      // Signing out always forgets the session here, so there is nothing to retry.
    }
    app.signedOut();
    await app.go('signin');
  });
  try {
    const account = await api.session();
    firstScreen.session = performance.now();
    if (account) {
      app.signedIn(account);
      await app.refreshMe();
      await app.go('home');
      return;
    }
  } catch (e) {
    await app.go('signin');
    showError(e);
    return;
  }
  renderHeader();
  await app.go('signin');
}

/** When the first screen's steps happened (`performance.now()`), for the start-up benchmark. */
const firstScreen = { modules: modulesRan };

/**
 * The first screen's steps in milliseconds since the epoch: the document fetched (when WebKit
 * says), every module run, who is signed in answered, the screen in place, the first frame, painted.
 */
function timeline() {
  const t0 = performance.timeOrigin;
  const steps = { origin: t0 };
  const nav = performance.getEntriesByType('navigation')[0];
  if (nav?.responseEnd > 0) steps.document = t0 + nav.responseEnd;
  for (const [step, at] of Object.entries(firstScreen)) steps[step] = t0 + at;
  return steps;
}

const started = start().finally(() => {
  firstScreen.rendered = performance.now();
});

// Once the first screen has painted (two frames after it was put in place), tell the shell: the
// start-up benchmark measures to this moment.
// (`frame`: the first frame's callbacks, which run before that frame is painted.)
started.finally(() => requestAnimationFrame(() => {
  firstScreen.frame = performance.now();
  requestAnimationFrame(() => {
    firstScreen.painted = performance.now();
    api.appReady(timeline()).catch(() => {});
  });
}));

/**
 * A partnerdesk:// link the OS opened: the shell parses it (src-tauri/src/deeplink.rs) and hands
 * over either the canonical verification link or the sentence that says why it was refused. A
 * refused link changes nothing but the message.
 */
async function openLink(detail) {
  await started;
  if (detail?.refused) {
    showError(new api.ApiError(detail.refused));
    return;
  }
  if (typeof detail?.link !== 'string') return;
  if (!app.account) {
    app.pendingLink = detail.link;
    await app.go('signin');
    announce('Sign in to finish verifying your Organisation Email.');
    return;
  }
  await app.go('verify', { link: detail.link });
}

/** Takes the links the shell queued on the page (also those that came before this module ran). */
function takeLinks() {
  const links = Array.isArray(window.__partnerdeskLinks) ? window.__partnerdeskLinks : [];
  window.__partnerdeskLinks = [];
  for (const detail of links) openLink(detail).catch(showError);
}

window.addEventListener('partnerdesk-deep-link', takeLinks);
takeLinks();

/**
 * The shell's inbox news (src-tauri/src/notifications.rs): new counts for the badge; the outcome of
 * an Approve or Deny chosen on a desktop notification; whether new requests are being followed.
 */
window.addEventListener('partnerdesk-inbox', async (event) => {
  await started;
  const detail = event.detail ?? {};
  if (!app.account) return;
  if (detail.badge) {
    app.inboxNews += 1;
    app.setInboxBadge(detail.badge);
  }
  if (detail.acted && detail.acted.action !== 'open') {
    if (detail.acted.ok) announce(detail.acted.message);
    else if (detail.acted.error) showError(new api.ApiError(detail.acted.error));
  }
  if (app.current?.name === 'inbox') await inbox.refresh(app).catch(() => {});
});

/** Open, chosen on a desktop notification: the shell has shown the window; show the request. */
window.addEventListener('partnerdesk-open', async (event) => {
  await started;
  if (!app.account || !event.detail?.target) return;
  try {
    await inbox.openTarget(app, event.detail.target);
  } catch (e) {
    showError(e);
  }
});
