// The individual profile: names, job title, phone, preferred language, and the MCP ID.
import * as api from '../api.js';
import { h, field, act, busy, announce, showError } from '../dom.js';

const FIELDS = [
  ['first_name', 'First name', 'given-name'],
  ['last_name', 'Last name', 'family-name'],
  ['job_title', 'Job title', 'organization-title'],
  ['phone', 'Phone', 'tel'],
  ['preferred_language', 'Preferred language', 'language'],
];

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
      profile = await busy(button, () => api.updateProfile(membershipId, revision, patch));
      fill(profile);
      conflict.hidden = true;
      announce(params.completing ? 'Your individual profile is complete and your association is active.' : 'Your profile was saved.');
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
