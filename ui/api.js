// The one module that talks to the shell: every IPC command, wrapped in a named function.
// Refusals arrive as ApiError { code, message, current?, details? }; `message` is a sentence that
// says what to do next, so screens show it as it is.

export class ApiError extends Error {
  constructor({ code, message, current, details, retry_after_secs }) {
    super(message);
    this.code = code;
    this.current = current ?? null;
    this.details = details ?? null;
    this.retryAfterSecs = retry_after_secs ?? null;
  }
}

function toApiError(e) {
  if (e instanceof ApiError) return e;
  if (e && typeof e === 'object' && typeof e.code === 'string') return new ApiError(e);
  // Tauri itself refuses with a plain string (for example a command the capabilities do not allow).
  return new ApiError({
    code: 'refused',
    message: `Partner Desk could not do that (${String(e)}). Restart the app and try again.`,
  });
}

async function invoke(cmd, args = {}) {
  const internals = window.__TAURI_INTERNALS__;
  if (!internals || typeof internals.invoke !== 'function') {
    throw new ApiError({
      code: 'no_ipc',
      message: 'This page only works inside the Partner Desk app. Start the app with scripts/run.',
    });
  }
  try {
    return await internals.invoke(cmd, args);
  } catch (e) {
    throw toApiError(e);
  }
}

// Account and session
export const session = () => invoke('session');
export const signIn = (email, password) => invoke('sign_in', { email, password });
export const createAccount = (email, display_name, password) =>
  invoke('create_account', { email, display_name, password });
export const signOut = () => invoke('sign_out');
export const switchAccount = () => invoke('switch_account');
export const recentAccounts = () => invoke('recent_accounts');
export const rememberedAccounts = () => invoke('remembered_accounts');
export const useAccount = (email) => invoke('use_account', { email });
export const removeAccount = (email) => invoke('remove_account', { email });
export const keychainStatus = () => invoke('keychain_status');
export const me = () => invoke('me');

// Join an existing organisation
export const lookup = ({ q, partner_id, country, city, cursor }) =>
  invoke('lookup', { query: { q, partner_id, country, city, cursor } });
export const organisation = (org_id) => invoke('organisation', { org_id });
export const preview = (org_id, organisation_email) => invoke('preview', { org_id, organisation_email });
export const requestAssociation = (request) => invoke('request_association', { request });
export const associationRequest = (request_id) => invoke('association_request', { request_id });
export const withdraw = (request_id) => invoke('withdraw', { request_id });
export const resendVerification = (request_id) => invoke('resend_verification', { request_id });
export const askAgain = (request_id) => invoke('ask_again', { request_id });
export const acceptHandover = (handover_id) => invoke('accept_handover', { handover_id });
export const declineHandover = (handover_id) => invoke('decline_handover', { handover_id });
export const myMail = () => invoke('my_mail');
export const verify = (input) => invoke('verify', { input });
export const createOrganisation = (organisation) => invoke('create_organisation', { organisation });
export const events = (after, limit) => invoke('events', { after, limit });

// Individual profile and privileges
export const profile = (membership_id) => invoke('profile', { membership_id });
export const updateProfile = (membership_id, revision, patch) =>
  invoke('update_profile', { membership_id, revision, patch });
export const linkMcpId = (membership_id, mcp_id) => invoke('link_mcp_id', { membership_id, mcp_id });
export const unlinkMcpId = (membership_id) => invoke('unlink_mcp_id', { membership_id });
export const privilegeCatalogue = () => invoke('privilege_catalogue');
export const requestPrivilege = (membership_id, privilege, note) =>
  invoke('request_privilege', { membership_id, privilege, note });

// Offline editing and sync (progress and status also arrive as the `partnerdesk-sync` event)
export const syncStatus = () => invoke('sync_status');
export const syncNow = () => invoke('sync_now');
export const setWorkOffline = (offline) => invoke('set_work_offline', { offline });
export const unsyncedEdits = () => invoke('unsynced_edits');
export const conflicts = () => invoke('conflicts');
export const resolveConflict = (edit_id, choices) => invoke('resolve_conflict', { edit_id, choices });
export const discardEdit = (edit_id) => invoke('discard_edit', { edit_id });

// Membership Centre
export const domains = (org_id) => invoke('domains', { org_id });
export const addDomain = (org_id, domain, include_subdomains) =>
  invoke('add_domain', { org_id, domain, include_subdomains });
export const checkDomain = (org_id, domain) => invoke('check_domain', { org_id, domain });
export const removeDomain = (org_id, domain) => invoke('remove_domain', { org_id, domain });
export const testPolicy = (org_id, address) => invoke('test_policy', { org_id, address });
export const queue = (org_id, status, cursor) =>
  invoke('queue', { org_id, status, page: cursor ? { cursor } : null });
export const approve = (request_id) => invoke('approve', { request_id });
export const deny = (request_id, reason) => invoke('deny', { request_id, reason });
export const decideRequests = (org_id, request_ids, approve, reason) =>
  invoke('decide_requests', { org_id, request_ids, approve, reason: reason ?? null });
export const delegation = (org_id) => invoke('delegation', { org_id });
export const setDelegation = (org_id, delegate_membership_id, starts_at, ends_at) =>
  invoke('set_delegation', { org_id, delegate_membership_id, starts_at, ends_at });
export const endDelegation = (org_id) => invoke('end_delegation', { org_id });
export const offerHandover = (org_id, to_membership_id) => invoke('offer_handover', { org_id, to_membership_id });
export const invite = (org_id, emails) => invoke('invite', { org_id, emails });
export const members = (org_id, cursor) => invoke('members', { org_id, page: cursor ? { cursor } : null });
export const grantPrivilege = (membership_id, privilege) => invoke('grant_privilege', { membership_id, privilege });
export const revokePrivilege = (membership_id, privilege) =>
  invoke('revoke_privilege', { membership_id, privilege });
export const removeMember = (membership_id) => invoke('remove_member', { membership_id });
export const privilegeRequests = (org_id) => invoke('privilege_requests', { org_id });
export const audit = (org_id, cursor) => invoke('audit', { org_id, page: cursor ? { cursor } : null });

// Help and settings
export const helpContacts = () => invoke('help_contacts');
export const settings = () => invoke('settings');
export const saveSettings = (settings) => invoke('save_settings', { settings });
export const setTheme = (theme) => invoke('set_theme', { theme });
export const zoom = (step) => invoke('zoom', { step });
export const backendStatus = () => invoke('backend_status');
/** `timeline`: the first screen's steps for the start-up benchmark (see app.js). */
export const appReady = (timeline) => invoke('app_ready', { timeline });

// Inbox: new requests and decisions, with the actions a desktop notification offers
export const inbox = (limit) => invoke('inbox', { limit: limit ?? null });
export const inboxAct = (id, action) => invoke('inbox_act', { id, action });
export const inboxMarkRead = (id) => invoke('inbox_mark_read', { id });
export const inboxMarkAllRead = () => invoke('inbox_mark_all_read');
