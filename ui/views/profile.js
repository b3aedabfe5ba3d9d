// The individual profile: names, job title, phone, preferred language, and the MCP ID.
import * as api from '../api.js';
import { h, field, act, busy, announce, showError } from '../dom.js';
import * as syncStatus from '../sync-status.js';

const FIELDS = [
  ['first_name', 'First name', 'given-name'],
  ['last_name', 'Last name', 'family-name'],
  ['job_title', 'Job title', 'organization-title'],
  ['phone', 'Phone', 'tel'],
  ['preferred_language', 'Preferred language', 'language'],
];

const OFFLINE_SAVED = 'Saved on this computer; it will sync when you are back online.';

export async function render(params, app) {
  const memberships = app.activeMemberships();
  const membershipId = params.membership_id ?? memberships[0]?.membership_id;
  if (!membershipId) {
    return h('div', {}, h('h1', {}, 'Individual profile'), h('p', {}, 'You have no active association yet. Join an existing organisation first.'));
  }
  const membership = memberships.find((m) => m.membership_id === membershipId);
  let profile = await api.profile(membershipId);

  const inputs = {};
  for (const [key, , autocomplete] of FIELDS) {
    inputs[key] = h('input', { type: key === 'phone' ? 'tel' : 'text', id: `profile-${key}`, testid: `profile-${key}`, autocomplete });
  }
  const fill = (p) => {
    for (const [key] of FIELDS) inputs[key].value = p[key] ?? '';
  };
  fill(profile);

  const conflict = h('section', { id: 'profile-conflict', testid: 'profile-conflict', hidden: true, 'aria-labelledby': 'conflict-heading' });
  const save = h('button', { type: 'submit', id: 'profile-save', testid: 'profile-save', class: 'primary' }, params.completing ? 'Save and finish' : 'Save profile');
  const form = h(
    'form',
    { id: 'profile-form', 'aria-labelledby': 'profile-heading' },
    h('h2', { id: 'profile-heading' }, 'Your details'),
    h('div', { class: 'grid' }, FIELDS.map(([key, label]) => field(label, inputs[key]))),
    save,
  );

  function patchFromForm(base) {
    const patch = {};
    for (const [key] of FIELDS) {
      const value = inputs[key].value.trim();
      if (value !== (base[key] ?? '')) patch[key] = value;
    }
    return patch;
  }

  async function saveWith(button, revision, base) {
    const patch = patchFromForm(base);
    showError(null);
    try {
      // Kept apart from `profile`: a sync report arriving meanwhile replaces that with a fresh copy,
      // which does not say whether this save stayed on this computer.
      const saved = await busy(button, () => api.updateProfile(membershipId, revision, patch));
      profile = saved;
      fill(saved);
      conflict.hidden = true;
      const waiting = await showPending();
      if (waiting.conflicts > 0) {
        announce('Saved on this computer. This profile was also changed on the server: choose which values to keep below.');
      } else if (saved.saved_offline) {
        announce(OFFLINE_SAVED);
      } else {
        announce(params.completing ? 'Your individual profile is complete and your association is active.' : 'Your profile was saved.');
      }
      if (params.completing) app.go('home', {}, { keepMessages: true });
    } catch (e) {
      showError(e);
      if (e.code === 'revision_mismatch' && e.current) showConflict(e.current);
    }
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    saveWith(save, profile.revision, profile);
  });

  // Someone changed the profile elsewhere: show both versions side by side, let the person choose.
  function showConflict(current) {
    const rows = FIELDS.map(([key, label]) =>
      h('tr', {}, h('th', { scope: 'row' }, label), h('td', {}, inputs[key].value.trim()), h('td', {}, current[key] ?? '')),
    );
    const keepMine = h('button', { type: 'button', testid: 'conflict-keep-mine' }, 'Keep my edits');
    keepMine.addEventListener('click', () => saveWith(keepMine, current.revision, current));
    const useSaved = h('button', { type: 'button', testid: 'conflict-use-saved' }, 'Use the saved values');
    useSaved.addEventListener('click', () => {
      profile = current;
      fill(current);
      conflict.hidden = true;
      showError(null);
    });
    conflict.replaceChildren(
      h('h2', { id: 'conflict-heading' }, 'Changed elsewhere'),
      h('table', {}, h('caption', {}, 'Your edits and the saved profile'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Your edit'), h('th', { scope: 'col' }, 'Saved now'))),
        h('tbody', {}, rows)),
      h('p', { class: 'button-row' }, keepMine, useSaved),
    );
    conflict.hidden = false;
  }

  // Changes not yet on the server that need the person: conflicts (side by side, per field) and
  // edits kept because the membership ended or the server refused them (text to copy, Discard).
  const pending = h('section', { id: 'profile-pending', testid: 'profile-pending', hidden: true, 'aria-labelledby': 'pending-heading' });

  async function showPending() {
    let conflicts = [];
    let edits = [];
    try {
      [conflicts, edits] = await Promise.all([api.conflicts(), api.unsyncedEdits()]);
    } catch (e) {
      pending.hidden = true;
      return { conflicts: 0 };
    }
    conflicts = conflicts.filter((c) => c.membership_id === membershipId);
    const kept = edits.filter((e) => e.membership_id === membershipId && (e.state === 'orphaned' || e.state === 'rejected'));
    pending.replaceChildren(
      h('h2', { id: 'pending-heading' }, 'Changes that need you'),
      // Spread: replaceChildren would turn an array into the text "[object HTMLElement]".
      ...conflicts.map(resolver),
      ...kept.map(keptEdit),
    );
    pending.hidden = conflicts.length === 0 && kept.length === 0;
    return { conflicts: conflicts.length };
  }

  function resolver(c) {
    const choices = [];
    const rows = c.fields.map((f) => {
      const label = FIELDS.find(([key]) => key === f.field)?.[1] ?? f.field;
      const name = `resolve-${c.edit}-${f.field}`;
      const radio = (keep, text) => {
        const input = h('input', { type: 'radio', name, id: `${name}-${keep}`, value: keep, testid: `${name}-${keep}`, checked: keep === 'local' });
        return { input, el: h('div', { class: 'check' }, input, h('label', { for: input.id }, text)) };
      };
      const local = radio('local', `This computer: ${f.local || '(empty)'}`);
      const remote = radio('remote', `Server: ${f.remote || '(empty)'}`);
      const other = radio('value', 'Another value:');
      const typed = h('input', { type: 'text', id: `${name}-typed`, testid: `${name}-typed`, 'aria-label': `Another value for ${label}` });
      typed.addEventListener('input', () => { other.input.checked = true; });
      choices.push(() => {
        const keep = [local, remote, other].find((r) => r.input.checked)?.input.value ?? 'local';
        return keep === 'value' ? { field: f.field, keep, value: typed.value } : { field: f.field, keep };
      });
      return h('tr', {}, h('th', { scope: 'row' }, label), h('td', {}, f.local), h('td', {}, f.remote),
        h('td', {}, local.el, remote.el, other.el, typed));
    });
    const save = h('button', { type: 'button', class: 'primary', testid: `resolve-${c.edit}` }, 'Keep these values');
    save.addEventListener('click', async () => {
      const done = await act(save, () => api.resolveConflict(c.edit, choices.map((choose) => choose())), 'Your choice was saved and is being synced.');
      if (done !== undefined) {
        if (done) { profile = done; fill(done); }
        await showPending();
      }
    });
    return h('div', { class: 'resolver', testid: 'resolver' },
      h('p', {}, 'These fields were changed on this computer and on the server. Choose which value to keep for each, or type another.'),
      h('table', {}, h('caption', {}, 'This computer\'s value and the server\'s value'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'This computer'), h('th', { scope: 'col' }, 'Server'), h('th', { scope: 'col' }, 'Keep'))),
        h('tbody', {}, rows)),
      h('p', { class: 'button-row' }, save));
  }

  function keptEdit(e) {
    const text = h('textarea', { readonly: true, id: `kept-${e.id}`, testid: `kept-text-${e.id}`, 'aria-label': 'Your unsynced text' });
    text.value = e.text;
    const copy = h('button', { type: 'button', testid: `kept-copy-${e.id}` }, 'Copy');
    copy.addEventListener('click', async () => {
      text.select();
      try {
        await navigator.clipboard.writeText(e.text);
      } catch (err) {
        document.execCommand('copy');
      }
      announce('Copied.');
    });
    const discard = h('button', { type: 'button', testid: `kept-discard-${e.id}` }, 'Discard');
    discard.addEventListener('click', async () => {
      const done = await act(discard, () => api.discardEdit(e.id), 'The change was discarded.');
      if (done !== undefined) await showPending();
    });
    return h('div', { class: 'offline-edit', testid: 'kept-edit' },
      h('p', { class: 'msg-error' }, e.message ?? 'This change could not be synced.'),
      text,
      h('p', { class: 'button-row' }, copy, discard));
  }

  await showPending();
  // After each sync run: what needs the person may have changed. Stops once the screen is gone.
  const stop = syncStatus.onChange((status, detail) => {
    if (!pending.isConnected && !form.isConnected) {
      stop();
      return;
    }
    if (!detail.report) return;
    showPending();
    // Synced meanwhile: take the confirmed revision (and, when nothing is being typed, the values),
    // so the next save is not mistaken for one from a stale screen.
    api.profile(membershipId).then((fresh) => {
      if (Object.keys(patchFromForm(profile)).length === 0) fill(fresh);
      profile = fresh;
    }).catch(() => {});
  });

  // MCP ID
  const mcpInput = h('input', { type: 'text', id: 'profile-mcp-id', testid: 'profile-mcp-id', inputmode: 'numeric', value: profile.mcp_id ?? '' });
  const linkButton = h('button', { type: 'button', id: 'mcp-link', testid: 'mcp-link' }, 'Add MCP ID');
  const unlinkButton = h('button', { type: 'button', id: 'mcp-unlink', testid: 'mcp-unlink', hidden: !profile.mcp_id }, 'Remove MCP ID');
  const mcpHelp = h('div', { id: 'mcp-help', testid: 'mcp-help' });
  linkButton.addEventListener('click', () => linkMcp(linkButton));
  async function linkMcp(button) {
    mcpHelp.replaceChildren();
    showError(null);
    try {
      profile = await api.linkMcpId(membershipId, mcpInput.value.trim());
      unlinkButton.hidden = !profile.mcp_id;
      announce('Your MCP ID was added. Your certifications now count towards this organisation\'s Competency attainment.');
    } catch (e) {
      showError(e);
      if (e.code === 'mcp_id_linked_elsewhere' && e.details?.membership_id) {
        const other = e.details.organisation_name ?? 'your other organisation';
        const remove = h('button', { type: 'button', testid: 'mcp-unlink-elsewhere' }, `Remove it from ${other} and add it here`);
        remove.addEventListener('click', async () => {
          const done = await act(remove, () => api.unlinkMcpId(e.details.membership_id));
          if (done !== undefined) linkMcp(remove);
        });
        mcpHelp.replaceChildren(h('p', {}, `This MCP ID is associated with ${other}, which is one of your own memberships. You need to remove it there first.`), remove);
      }
    }
  }
  unlinkButton.addEventListener('click', async () => {
    const done = await act(unlinkButton, () => api.unlinkMcpId(membershipId), 'Your MCP ID was removed from this organisation.');
    if (done !== undefined) {
      mcpInput.value = '';
      unlinkButton.hidden = true;
    }
  });

  return h(
    'div',
    {},
    h('h1', {}, params.completing ? 'Complete your individual profile' : 'Individual profile'),
    membership ? h('p', { class: 'lead', testid: 'profile-organisation' }, `${membership.organisation.name} · ${membership.organisation_email}`) : null,
    params.completing ? h('p', { class: 'success', testid: 'verified-banner' }, 'Your Organisation Email is verified and your association is active. Complete your individual profile below.') : null,
    conflict,
    pending,
    form,
    h(
      'section',
      { 'aria-labelledby': 'mcp-heading' },
      h('h2', { id: 'mcp-heading' }, 'Microsoft Certified Professional ID (MCP ID)'),
      h('p', {}, 'If you have one, include your MCP ID so your certifications contribute towards Competency attainment. You can always add it later. If your MCP ID is associated to another organisation, you will need to remove it first.'),
      field('MCP ID', mcpInput, 'Digits only.'),
      h('p', { class: 'button-row' }, linkButton, unlinkButton),
      mcpHelp,
    ),
  );
}
