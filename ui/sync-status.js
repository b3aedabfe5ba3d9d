// The offline status in the header: Online / Offline / Working offline, how many changes are not
// yet synced, Sync now (with its progress) and the Work offline toggle. Live from the shell's
// `partnerdesk-sync` event (src-tauri/src/sync.rs); screens subscribe with onChange.
import * as api from './api.js';
import { announce, showError } from './dom.js';

let status = null;
// The shell numbers each status it reads (`seq`); events and command answers travel on different
// paths, so one read earlier may arrive later. Only a newer reading replaces the one shown.
let lastSeq = 0;
let progress = null;
let syncing = false;
const listeners = new Set();

const CONNECTION = {
  online: 'Online',
  offline: 'Offline',
  working_offline: 'Working offline',
  unknown: 'Connecting…',
};

/** Calls `fn(status, detail)` after each change; returns the way to stop. */
export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function current() {
  return status;
}

function changes(n) {
  return n === 1 ? '1 change not yet synced' : `${n} changes not yet synced`;
}

function render() {
  const bar = document.getElementById('sync-bar');
  if (!bar) return;
  bar.hidden = !status;
  if (!status) return;
  const working = status.connection === 'working_offline';
  bar.dataset.connection = status.connection;
  document.getElementById('sync-connection').textContent = CONNECTION[status.connection] ?? status.connection;
  document.getElementById('sync-unsynced').textContent =
    status.unsynced === 0 ? 'All changes synced' : changes(status.unsynced);
  const button = document.getElementById('sync-now');
  button.disabled = syncing || working;
  button.textContent = progress && progress.total > 0
    ? `Syncing ${Math.min(progress.done + 1, progress.total)} of ${progress.total}…`
    : syncing ? 'Syncing…' : 'Sync now';
  document.getElementById('work-offline').checked = working;
}

/** Whether `next` was read before the status shown now. */
function stale(next) {
  return Boolean(next) && typeof next.seq === 'number' && next.seq < lastSeq;
}

function update(next, detail = {}) {
  if (stale(next)) return;
  if (next && typeof next.seq === 'number') lastSeq = next.seq;
  status = next;
  render();
  for (const fn of listeners) fn(status, detail);
}

/** Asks the shell where things stand (after signing in). */
export async function refresh() {
  try {
    update(await api.syncStatus());
  } catch (e) {
    update(null);
  }
}

export function signedOut() {
  progress = null;
  update(null);
}

function reportSentence(report) {
  switch (report.outcome.kind) {
    case 'done': {
      const waiting = report.counts.conflicts + report.counts.orphaned + report.counts.rejected;
      return waiting === 0
        ? 'All your changes are synced.'
        : `Synced what could go. ${changes(waiting)}: they need you on the profile screen.`;
    }
    case 'offline':
      return 'The server cannot be reached. Your changes are kept on this computer and will sync when you are back online.';
    case 'working_offline':
      return 'You are working offline. Turn Work offline off to sync your changes.';
    default:
      return report.message ?? 'Your changes are kept on this computer and will be sent again shortly.';
  }
}

export function start() {
  document.getElementById('sync-now').addEventListener('click', async () => {
    syncing = true;
    render();
    showError(null);
    try {
      const report = await api.syncNow();
      announce(reportSentence(report));
    } catch (e) {
      showError(e);
    } finally {
      syncing = false;
      progress = null;
      await refresh();
    }
  });
  document.getElementById('work-offline').addEventListener('change', async (event) => {
    const on = event.target.checked;
    showError(null);
    try {
      update(await api.setWorkOffline(on));
      announce(on
        ? 'Working offline: your changes are kept on this computer until you turn this off.'
        : 'Back online: your changes are being synced.');
    } catch (e) {
      event.target.checked = !on;
      showError(e);
    }
  });
  window.addEventListener('partnerdesk-sync', (event) => {
    const detail = event.detail ?? {};
    if (detail.signed_out) {
      signedOut();
      return;
    }
    if (stale(detail)) {
      // Read before what is shown: only its report still matters to the screens that listen.
      if (detail.report) for (const fn of listeners) fn(status, detail);
      return;
    }
    if (detail.progress) progress = detail.progress;
    if (detail.report) progress = null;
    update({ connection: detail.connection, unsynced: detail.unsynced, counts: detail.counts, seq: detail.seq }, detail);
  });
}
