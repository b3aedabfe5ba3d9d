//! The storage seam: what the membership rules ask of a database, in their own words.
//!
//! A rule runs inside one transaction of a [`Store`] and reaches data only through the methods of
//! [`ReadTx`] (questions) and [`WriteTx`] (changes). They take and answer domain values and
//! [`crate::Error`] outcomes, never a driver's types or errors, so a second store (PostgreSQL, in
//! its own crate) can implement them with its own SQL. All SQL of the crate lives in the stores;
//! [`sqlite`] is the one the desktop app and the server use today.
//!
//! Keyed lists answer `(key, item)` pairs: the key is the store's own ordering key (a row number,
//! an event sequence), which the rules turn into an opaque page cursor.
use crate::domain::Privilege;
use crate::model::{
    Account, AssociationRequest, AuditEntry, DomainStatus, Event, LastSeen, Member,
    MembershipSummary, OrganisationSummary, PrivilegeRequest, Profile, RequestStatus,
};
use crate::{Error, Timestamp};

pub mod keys;
pub mod sqlite;

use keys::{KeyGuard, KeyRecord, NewKey, StoredAnswer};

/// A list item with the key that orders it (see the module documentation).
pub type Keyed<T> = (i64, T);

/// A database the rules run on.
///
/// `write` runs the closure in one transaction in which a check and the change it guards cannot
/// interleave with another writer, and commits only if the closure succeeds. A store may run the
/// closure more than once (for example after a serialization failure), so the closure must not
/// have effects outside the transaction: mail goes to an outbox that is sent after the commit.
pub trait Store: Send + Sync + 'static {
    /// Runs `f` over one consistent snapshot.
    fn read<T>(&self, f: &mut dyn FnMut(&mut dyn ReadTx) -> Result<T, Error>) -> Result<T, Error>;

    /// Runs `f` as one transaction (see the trait's documentation).
    fn write<T>(&self, f: &mut dyn FnMut(&mut dyn WriteTx) -> Result<T, Error>)
        -> Result<T, Error>;
}

/// Whether an insert that must be unique happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Insert {
    Done,
    /// A row with the same unique value exists; nothing was changed.
    Duplicate,
}

/// Who sees an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience<'a> {
    Account(&'a str),
    AdminsOf(&'a str),
}

pub struct NewAccount<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub created_at: Timestamp,
}

/// An account and its stored password hash, for signing in.
pub struct Credentials {
    pub account: Account,
    pub password_hash: String,
}

/// Hashes of a session's two tokens and when each expires.
pub struct SessionHashes<'a> {
    pub access_hash: &'a [u8],
    pub access_expires_at: Timestamp,
    pub refresh_hash: &'a [u8],
    pub refresh_expires_at: Timestamp,
}

/// A session found by its access token (not revoked; expiry is the rule's to judge).
pub struct SessionByAccess {
    pub session_id: String,
    pub account_id: String,
    pub access_expires_at: Timestamp,
}

pub struct NewOrganisation<'a> {
    pub id: &'a str,
    pub partner_id: &'a str,
    pub name: &'a str,
    pub country: &'a str,
    pub city: &'a str,
    pub address: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub website: Option<&'a str>,
    pub created_at: Timestamp,
}

/// What a directory lookup asks for: every given filter applies. `words` are directory words
/// ([`crate::domain::directory_words`]), each a required prefix of a word of the name, city or
/// country as that function splits them.
pub struct DirectoryQuery<'a> {
    pub words: &'a [String],
    pub partner_id: Option<&'a str>,
    /// Compared without regard to case.
    pub country: Option<&'a str>,
    /// Compared without regard to case.
    pub city: Option<&'a str>,
    /// Only organisations after this key, in directory order.
    pub after: i64,
    /// At most this many.
    pub limit: u32,
}

/// One organisation's hold on an email domain, and where the proof of its ownership stands. An
/// organisation holds a domain at most once; several organisations may hold the same domain
/// while none has proven it, but at most one holds it `verified`, `suspended` or `legacy` (the
/// store refuses a second with [`Insert::Duplicate`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRow {
    /// Canonical form.
    pub domain: String,
    pub organisation_id: String,
    pub include_subdomains: bool,
    pub added_at: Timestamp,
    pub proof: DomainProof,
}

/// The proof part of a [`DomainRow`]: the rules in `programme/proof.rs` move it along.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainProof {
    pub status: DomainStatus,
    /// The value the TXT record must hold now.
    pub challenge: String,
    /// Last year's value, still accepted until `previous_until` while a re-proof is asked for.
    pub previous_challenge: Option<String>,
    pub previous_until: Option<Timestamp>,
    /// When the current status began.
    pub status_since: Timestamp,
    pub verified_at: Option<Timestamp>,
    pub last_checked_at: Option<Timestamp>,
    pub last_seen: Option<LastSeen>,
    /// When the record is due to be looked up (or the status to end); `None`: never on its own.
    pub next_check_at: Option<Timestamp>,
    /// A verified domain's record was not seen at this check; a second check confirms it.
    pub missing_since: Option<Timestamp>,
    /// Checks of a pending challenge so far (their pace slows as it grows).
    pub checks: u32,
}

pub struct NewMembership<'a> {
    pub id: &'a str,
    pub organisation_id: &'a str,
    pub account_id: &'a str,
    /// The request it came from; `None` for the creator of an organisation.
    pub request_id: Option<&'a str>,
    pub organisation_email: &'a str,
    pub is_ppc: bool,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub job_title: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub created_at: Timestamp,
}

pub struct NewRequest<'a> {
    pub id: &'a str,
    pub organisation_id: &'a str,
    pub account_id: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub organisation_email: &'a str,
    pub phone: Option<&'a str>,
    pub job_title: Option<&'a str>,
    pub status: RequestStatus,
    pub created_at: Timestamp,
    /// Set when the request is accepted at once.
    pub decided_at: Option<Timestamp>,
    /// A pending request's deadline and first step (`None` when accepted at once).
    pub step: Option<PendingStep>,
}

/// Where a pending request stands on its way to a decision or its deadline; the rules in
/// `programme/pending.rs` move it along.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingStep {
    /// `None` only for a request that was pending before deadlines existed, until the
    /// scheduler's first pass gives it one.
    pub expires_at: Option<Timestamp>,
    /// 0, 1 (the halfway reminder went out) or 2 (the one-day reminder went out).
    pub reminders_sent: u8,
    pub escalated_at: Option<Timestamp>,
    /// When the scheduler next has something to do with it.
    pub next_step_at: Option<Timestamp>,
}

/// A pending association request and its step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRow {
    pub request_id: String,
    pub organisation_id: String,
    pub organisation_name: String,
    pub account_id: String,
    pub first_name: String,
    pub last_name: String,
    pub organisation_email: String,
    pub created_at: Timestamp,
    pub step: PendingStep,
}

/// Someone who can decide an organisation's requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approver {
    pub account_id: String,
    pub email: String,
    pub display_name: String,
    pub role: crate::model::ApproverRole,
}

/// A mail in the outbox, taken for one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMail {
    pub id: i64,
    pub created_at: Timestamp,
    /// Attempts that failed before this one.
    pub attempts: u32,
    pub mail: crate::mail::Mail,
    /// For a verification mail: the hash of its token row, whose token is minted as it is sent.
    pub token_hash: Option<Vec<u8>>,
}

/// An open privilege request that is due: it has no deadline yet or has reached it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuePrivilegeRequest {
    pub privilege_request_id: String,
    pub membership_id: String,
    pub account_id: String,
    pub organisation_id: String,
    pub organisation_name: String,
    pub privilege: Privilege,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    /// 0, 1 (the halfway reminder went out) or 2 (the one-day reminder went out).
    pub reminders_sent: u8,
    /// When the scheduler next has something to do with it (`None`: at its deadline).
    pub next_step_at: Option<Timestamp>,
    /// The member who asked, as their profile names them.
    pub member_name: String,
}

/// One line waiting for an approver's next digest mail.
pub struct DigestLine {
    pub seq: i64,
    pub line: String,
}

/// An organisation's delegation: a colleague who decides its requests for a period, standing in
/// for the administrator who named them. `started` once the period began and the delegate was
/// handed the waiting queue; the row goes when the period ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelegationRow {
    pub organisation_id: String,
    pub organisation_name: String,
    pub delegator_membership_id: String,
    pub delegator_account_id: String,
    pub delegator_name: String,
    pub delegate_membership_id: String,
    pub delegate_account_id: String,
    pub delegate_name: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub started: bool,
}

pub struct NewDelegation<'a> {
    pub organisation_id: &'a str,
    pub delegator_membership_id: &'a str,
    pub delegate_membership_id: &'a str,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub created_by: &'a str,
    pub created_at: Timestamp,
}

/// An offer of an organisation's PPC role to another of its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoverRow {
    pub handover_id: String,
    pub organisation_id: String,
    pub organisation_name: String,
    pub from_membership_id: String,
    pub from_account_id: String,
    pub from_name: String,
    pub to_membership_id: String,
    pub to_account_id: String,
    pub to_name: String,
    pub status: crate::model::HandoverStatus,
    pub created_at: Timestamp,
    pub decided_at: Option<Timestamp>,
}

pub struct NewHandover<'a> {
    pub id: &'a str,
    pub organisation_id: &'a str,
    pub from_membership_id: &'a str,
    pub to_membership_id: &'a str,
    pub created_at: Timestamp,
}

/// An administrator's decision on a pending request.
pub struct Decision<'a> {
    pub status: RequestStatus,
    pub at: Timestamp,
    pub by: &'a str,
    /// When a delegate decides: the approver they stand in for.
    pub on_behalf_of: Option<&'a str>,
    /// Only for a denial.
    pub reason: Option<&'a str>,
}

/// The contact details a requester gave, which their membership starts with.
pub struct RequestContact {
    pub phone: Option<String>,
    pub job_title: Option<String>,
}

pub struct NewToken<'a> {
    pub hash: &'a [u8],
    pub request_id: &'a str,
    pub account_id: &'a str,
    pub email: &'a str,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A verification token found by its hash.
pub struct TokenRecord {
    pub request_id: String,
    pub account_id: String,
    pub email: String,
    pub expires_at: Timestamp,
    pub used: bool,
    pub revoked: bool,
}

pub struct NewInvitation<'a> {
    pub id: &'a str,
    pub organisation_id: &'a str,
    pub email: &'a str,
    pub invited_by: &'a str,
    pub created_at: Timestamp,
}

/// The facts about a membership that every rule needs.
pub struct MembershipFacts {
    pub organisation_id: String,
    pub account_id: String,
    pub active: bool,
    pub is_ppc: bool,
}

/// Profile fields to change: `None` leaves a field alone; `Some(None)` clears an optional one.
#[derive(Default)]
pub struct ProfileChanges<'a> {
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    pub job_title: Option<Option<&'a str>>,
    pub phone: Option<Option<&'a str>>,
    pub preferred_language: Option<Option<&'a str>>,
}

/// The membership an MCP ID is linked to.
pub struct McpHolder {
    pub membership_id: String,
    pub account_id: String,
    pub organisation_id: String,
    pub organisation_name: String,
}

pub struct NewGrant<'a> {
    pub membership_id: &'a str,
    pub privilege: Privilege,
    pub granted_at: Timestamp,
    pub granted_by: &'a str,
}

pub struct NewPrivilegeRequest<'a> {
    pub id: &'a str,
    pub membership_id: &'a str,
    pub privilege: Privilege,
    pub note: Option<&'a str>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// The first reminder's time.
    pub next_step_at: Option<Timestamp>,
}

pub struct AuditRecord<'a> {
    pub at: Timestamp,
    pub organisation_id: Option<&'a str>,
    pub actor_account_id: Option<&'a str>,
    pub action: &'a str,
    pub subject: &'a str,
    pub detail: &'a str,
}

pub struct NewEvent<'a> {
    pub at: Timestamp,
    pub kind: &'a str,
    pub audience: Audience<'a>,
    pub data: &'a serde_json::Value,
}

/// The questions a rule asks, inside a read or a write.
pub trait ReadTx {
    // Accounts and sessions.
    fn has_accounts(&mut self) -> Result<bool, Error>;
    fn account(&mut self, account_id: &str) -> Result<Option<Account>, Error>;
    fn account_by_email(&mut self, email: &str) -> Result<Option<Credentials>, Error>;
    fn session_by_access(&mut self, access_hash: &[u8]) -> Result<Option<SessionByAccess>, Error>;
    /// The session and account of a refresh token that is neither revoked nor expired at `now`.
    fn session_by_refresh(
        &mut self,
        refresh_hash: &[u8],
        now: Timestamp,
    ) -> Result<Option<(String, Account)>, Error>;
    /// The account's active memberships, by organisation name.
    fn active_memberships_of(&mut self, account_id: &str) -> Result<Vec<MembershipSummary>, Error>;
    /// The account's own address and the Organisation Email of each of its requests.
    fn mail_addresses_of(&mut self, account_id: &str) -> Result<Vec<String>, Error>;

    // Organisations and domains.
    fn organisation_exists(&mut self, organisation_id: &str) -> Result<bool, Error>;
    fn organisation_name(&mut self, organisation_id: &str) -> Result<Option<String>, Error>;
    fn organisation_summary(
        &mut self,
        organisation_id: &str,
    ) -> Result<Option<OrganisationSummary>, Error>;
    fn partner_id_taken(&mut self, partner_id: &str) -> Result<bool, Error>;
    /// Organisations in directory order.
    fn lookup(
        &mut self,
        query: &DirectoryQuery<'_>,
    ) -> Result<Vec<Keyed<OrganisationSummary>>, Error>;
    /// The organisation's domains, by domain.
    fn domain_rows(&mut self, organisation_id: &str) -> Result<Vec<DomainRow>, Error>;
    /// Every organisation's hold on `domain` (canonical form).
    fn domain_holders(&mut self, domain: &str) -> Result<Vec<DomainRow>, Error>;
    /// At most `limit` domains whose `next_check_at` has come, the longest due first.
    fn due_domains(&mut self, now: Timestamp, limit: u32) -> Result<Vec<DomainRow>, Error>;
    /// Pending association requests whose next step is due by `now`, soonest first.
    fn due_requests(&mut self, now: Timestamp, limit: u32) -> Result<Vec<PendingRow>, Error>;
    /// A pending association request and its step; `None` once it is decided.
    fn pending_request(&mut self, request_id: &str) -> Result<Option<PendingRow>, Error>;
    /// The active PPCs of an organisation and, with `global_admins`, its active Global
    /// Administrators who are not PPCs.
    fn approvers(
        &mut self,
        organisation_id: &str,
        global_admins: bool,
    ) -> Result<Vec<Approver>, Error>;
    /// Open privilege requests with no deadline yet, or whose next step (a reminder, the deadline)
    /// has come by `now`.
    fn due_privilege_requests(
        &mut self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<DuePrivilegeRequest>, Error>;
    /// Accounts with digest lines waiting whose last digest went out at or before `sent_before`
    /// (or never).
    fn due_digests(&mut self, sent_before: Timestamp, limit: u32) -> Result<Vec<String>, Error>;
    fn digest_lines(&mut self, account_id: &str) -> Result<Vec<DigestLine>, Error>;
    /// The organisation's delegation, started or not.
    fn delegation(&mut self, organisation_id: &str) -> Result<Option<DelegationRow>, Error>;
    /// Delegations whose period has begun but that have not started yet, or whose period has
    /// ended, by `now`.
    fn due_delegations(&mut self, now: Timestamp, limit: u32) -> Result<Vec<DelegationRow>, Error>;
    fn handover(&mut self, handover_id: &str) -> Result<Option<HandoverRow>, Error>;
    /// Offers of a PPC role to the account that are still open, oldest first.
    fn handovers_offered_to(&mut self, account_id: &str) -> Result<Vec<HandoverRow>, Error>;
    /// Is the account the PPC or a Global Administrator of the organisation, with an active
    /// membership?
    fn is_admin(&mut self, account_id: &str, organisation_id: &str) -> Result<bool, Error>;
    /// Has the organisation any active PPC or Global Administrator?
    fn has_admin(&mut self, organisation_id: &str) -> Result<bool, Error>;

    // Association requests, tokens and invitations.
    fn request(&mut self, request_id: &str) -> Result<Option<AssociationRequest>, Error>;
    /// The account's requests, newest first (at most 100).
    fn requests_of(&mut self, account_id: &str) -> Result<Vec<AssociationRequest>, Error>;
    /// The organisation's requests (of one status, if given) after `after`, oldest first.
    fn request_queue(
        &mut self,
        organisation_id: &str,
        status: Option<RequestStatus>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Keyed<AssociationRequest>>, Error>;
    /// Has the account a pending or accepted (not yet verified) request for the organisation?
    fn open_request_for(&mut self, organisation_id: &str, account_id: &str) -> Result<bool, Error>;
    /// When the organisation last denied a request of the account.
    fn last_denial(
        &mut self,
        organisation_id: &str,
        account_id: &str,
    ) -> Result<Option<Timestamp>, Error>;
    fn request_contact(&mut self, request_id: &str) -> Result<Option<RequestContact>, Error>;
    fn verification_sent_at(&mut self, request_id: &str) -> Result<Option<Timestamp>, Error>;
    fn token(&mut self, hash: &[u8]) -> Result<Option<TokenRecord>, Error>;
    /// Is there an unused invitation of `email` to the organisation?
    fn invitation_open(&mut self, organisation_id: &str, email: &str) -> Result<bool, Error>;

    // Memberships, profiles and privileges.
    fn membership(&mut self, membership_id: &str) -> Result<Option<MembershipFacts>, Error>;
    fn is_active_member(&mut self, organisation_id: &str, account_id: &str) -> Result<bool, Error>;
    /// Has the organisation an active member whose Organisation Email is `email`?
    fn has_active_member_email(
        &mut self,
        organisation_id: &str,
        email: &str,
    ) -> Result<bool, Error>;
    fn active_ppc_count(&mut self, organisation_id: &str) -> Result<u64, Error>;
    fn profile(&mut self, membership_id: &str) -> Result<Option<Profile>, Error>;
    fn member(&mut self, membership_id: &str) -> Result<Option<Member>, Error>;
    /// The organisation's active members after `after`, in the order they joined.
    fn members(
        &mut self,
        organisation_id: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Keyed<Member>>, Error>;
    fn mcp_holder(&mut self, mcp_id: &str) -> Result<Option<McpHolder>, Error>;
    fn has_privilege(&mut self, membership_id: &str, privilege: Privilege) -> Result<bool, Error>;
    /// Requests of the organisation's active members for privileges they do not have yet,
    /// oldest first (at most 200).
    fn open_privilege_requests(
        &mut self,
        organisation_id: &str,
    ) -> Result<Vec<PrivilegeRequest>, Error>;

    // Audit history and events.
    /// The organisation's audit entries before `before`, newest first.
    fn audit_page(
        &mut self,
        organisation_id: &str,
        before: i64,
        limit: u32,
    ) -> Result<Vec<Keyed<AuditEntry>>, Error>;
    /// Events after `after`, oldest first, that the account sees: its own, and those of
    /// organisations it administers now.
    fn events_for(&mut self, account_id: &str, after: i64, limit: u32)
        -> Result<Vec<Event>, Error>;
    fn latest_event_id(&mut self) -> Result<i64, Error>;
}

/// The changes a rule makes, inside a write. Every change is part of the write's transaction.
pub trait WriteTx: ReadTx {
    // Accounts and sessions.
    /// `Duplicate` when the email address has an account.
    fn insert_account(&mut self, account: &NewAccount<'_>) -> Result<Insert, Error>;
    fn insert_session(
        &mut self,
        session_id: &str,
        account_id: &str,
        hashes: &SessionHashes<'_>,
        created_at: Timestamp,
    ) -> Result<(), Error>;
    /// Replaces the session's tokens.
    fn rotate_session(&mut self, session_id: &str, hashes: &SessionHashes<'_>)
        -> Result<(), Error>;
    /// Revokes the session if it is not revoked yet.
    fn revoke_session(&mut self, session_id: &str, at: Timestamp) -> Result<(), Error>;

    // Organisations and domains.
    /// `Duplicate` when the partner ID belongs to another organisation.
    fn insert_organisation(&mut self, organisation: &NewOrganisation<'_>) -> Result<Insert, Error>;
    /// `Duplicate` when the partner ID belongs to another organisation.
    fn set_partner_id(&mut self, organisation_id: &str, partner_id: &str) -> Result<Insert, Error>;
    /// `Duplicate` when the organisation holds the domain already, or when the row is `verified`,
    /// `suspended` or `legacy` and another organisation holds the domain so.
    fn insert_domain(&mut self, domain: &DomainRow, added_by: &str) -> Result<Insert, Error>;
    /// Writes the row's `include_subdomains` and proof over the organisation's hold on the domain;
    /// `Duplicate` when its status would make a second organisation's hold `verified`,
    /// `suspended` or `legacy`.
    fn update_domain(&mut self, domain: &DomainRow) -> Result<Insert, Error>;
    /// False when the organisation had no such domain.
    fn remove_domain(&mut self, organisation_id: &str, domain: &str) -> Result<bool, Error>;

    // Association requests, tokens and invitations.
    fn insert_request(&mut self, request: &NewRequest<'_>) -> Result<(), Error>;
    fn record_decision(&mut self, request_id: &str, decision: &Decision<'_>) -> Result<(), Error>;
    /// Moves a pending request to its next step, only if its step is still `seen` (another
    /// scheduler run has not moved it meanwhile): true when this call moved it.
    fn advance_request(
        &mut self,
        request_id: &str,
        seen: &PendingStep,
        to: &PendingStep,
    ) -> Result<bool, Error>;
    /// Marks a pending request `expired` at `at`, under the same condition as
    /// [`WriteTx::advance_request`].
    fn expire_request(
        &mut self,
        request_id: &str,
        seen: &PendingStep,
        at: Timestamp,
    ) -> Result<bool, Error>;
    fn withdraw_request(&mut self, request_id: &str, at: Timestamp) -> Result<(), Error>;
    /// The request became the membership.
    fn activate_request(&mut self, request_id: &str, membership_id: &str) -> Result<(), Error>;
    fn mark_verification_sent(&mut self, request_id: &str, at: Timestamp) -> Result<(), Error>;
    fn insert_token(&mut self, token: &NewToken<'_>) -> Result<(), Error>;
    /// Revokes the request's tokens that are neither used nor revoked.
    fn revoke_tokens_of_request(&mut self, request_id: &str, at: Timestamp) -> Result<(), Error>;
    /// Revokes the account's live tokens for requests to the organisation.
    fn revoke_tokens_of_account_at(
        &mut self,
        account_id: &str,
        organisation_id: &str,
        at: Timestamp,
    ) -> Result<(), Error>;
    /// Marks the token used if it is neither used nor revoked; true only for the one caller that
    /// did, so a token is single use even under concurrent consumption.
    fn consume_token(&mut self, hash: &[u8], at: Timestamp) -> Result<bool, Error>;
    /// Invites `email` again if it was invited before (the invitation is open again).
    fn upsert_invitation(&mut self, invitation: &NewInvitation<'_>) -> Result<(), Error>;
    /// Marks the unused invitation of `email` to the organisation used.
    fn use_invitation(
        &mut self,
        organisation_id: &str,
        email: &str,
        at: Timestamp,
    ) -> Result<(), Error>;

    // Memberships, profiles and privileges.
    fn insert_membership(&mut self, membership: &NewMembership<'_>) -> Result<(), Error>;
    fn update_profile(
        &mut self,
        membership_id: &str,
        changes: &ProfileChanges<'_>,
    ) -> Result<(), Error>;
    fn set_mcp_id(&mut self, membership_id: &str, mcp_id: Option<&str>) -> Result<(), Error>;
    fn bump_revision(&mut self, membership_id: &str) -> Result<(), Error>;
    /// Ends the membership: removed at `at`, its MCP ID released, its revision bumped, its
    /// privileges gone and the requests it came from marked removed.
    /// Ends a membership: its privileges go, its open privilege requests end (`member_left`).
    fn end_membership(&mut self, membership_id: &str, at: Timestamp) -> Result<(), Error>;
    /// False when the membership had the privilege already.
    fn grant_privilege(&mut self, grant: &NewGrant<'_>) -> Result<bool, Error>;
    /// False when the membership did not have the privilege.
    fn revoke_privilege(
        &mut self,
        membership_id: &str,
        privilege: Privilege,
    ) -> Result<bool, Error>;
    fn insert_privilege_request(&mut self, request: &NewPrivilegeRequest<'_>) -> Result<(), Error>;
    /// Moves an open privilege request from the step it was read at (`seen`: its deadline and
    /// reminders) to `to`: true when this call moved it, false when it ended or another run
    /// moved it meanwhile.
    fn advance_privilege_request(
        &mut self,
        privilege_request_id: &str,
        seen: &PendingStep,
        to: &PendingStep,
    ) -> Result<bool, Error>;
    /// Ends an open privilege request: true when this call ended it.
    fn end_privilege_request(
        &mut self,
        privilege_request_id: &str,
        at: Timestamp,
        reason: &str,
    ) -> Result<bool, Error>;
    /// Keeps a line for the account's next digest mail.
    fn add_digest_line(&mut self, account_id: &str, line: &str, at: Timestamp)
        -> Result<(), Error>;
    /// Takes the account's digest turn: true when its last digest went out at or before
    /// `sent_before` (or never), and then it counts as sent at `at`.
    fn claim_digest(
        &mut self,
        account_id: &str,
        sent_before: Timestamp,
        at: Timestamp,
    ) -> Result<bool, Error>;
    /// Forgets the account's digest lines up to `seq`, once they are in a mail.
    fn clear_digest_lines(&mut self, account_id: &str, up_to_seq: i64) -> Result<(), Error>;
    /// Sets the organisation's delegation (replacing any), not started.
    fn put_delegation(&mut self, delegation: &NewDelegation<'_>) -> Result<(), Error>;
    /// Marks the organisation's delegation to `delegate_membership_id` from `starts_at` started,
    /// if it is still that one and not started yet: true when this call started it.
    fn start_delegation(
        &mut self,
        organisation_id: &str,
        delegate_membership_id: &str,
        starts_at: Timestamp,
    ) -> Result<bool, Error>;
    /// Removes the organisation's delegation to `delegate_membership_id` from `starts_at`, if it
    /// is still that one: true when this call removed it.
    fn end_delegation(
        &mut self,
        organisation_id: &str,
        delegate_membership_id: &str,
        starts_at: Timestamp,
    ) -> Result<bool, Error>;
    /// Offers the PPC role; an open offer of the organisation is `replaced` by it.
    fn insert_handover(&mut self, handover: &NewHandover<'_>) -> Result<(), Error>;
    /// Closes an open offer as `status` at `at`: true when this call closed it.
    fn close_handover(
        &mut self,
        handover_id: &str,
        status: crate::model::HandoverStatus,
        at: Timestamp,
    ) -> Result<bool, Error>;
    /// Makes the membership a PPC of its organisation, or no longer one.
    fn set_ppc(&mut self, membership_id: &str, is_ppc: bool) -> Result<(), Error>;

    // The mail outbox: mail a change causes is kept in the change's own transaction, and sent
    // after it commits (`Programme::deliver_mail`), so no mail is lost when a process dies and
    // none is sent for a change that did not happen.
    /// Keeps `mail`, to be sent from `at`; a verification mail names its token row by hash.
    fn enqueue_mail(
        &mut self,
        mail: &crate::mail::Mail,
        token_hash: Option<&[u8]>,
        at: Timestamp,
    ) -> Result<(), Error>;
    /// Gives the token row `old` of the outbox's mail `mail_id` a new token (by its hash `new`),
    /// if the row can still be used at `now` (neither used, revoked nor expired): true when it
    /// did, and the mail then names `new`.
    fn rekey_mail_token(
        &mut self,
        mail_id: i64,
        old: &[u8],
        new: &[u8],
        now: Timestamp,
    ) -> Result<bool, Error>;
    /// Takes up to `limit` mails due by `now`, oldest first, for one attempt each: each one's next
    /// attempt moves to `lease_until`, so another run (on any instance) takes it again only if
    /// this one died before it was done.
    fn lease_mail(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<OutboxMail>, Error>;
    /// Forgets a mail once it is sent (or given up on): its body may hold a token.
    fn remove_mail(&mut self, id: i64) -> Result<(), Error>;
    /// Records a failed attempt: `attempts` so far, the next one at `next_attempt_at`.
    fn retry_mail(
        &mut self,
        id: i64,
        attempts: u32,
        next_attempt_at: Timestamp,
    ) -> Result<(), Error>;

    // Audit history and events.
    /// Appends to the audit log, which is append-only.
    fn append_audit(&mut self, entry: &AuditRecord<'_>) -> Result<(), Error>;
    fn emit_event(&mut self, event: &NewEvent<'_>) -> Result<(), Error>;

    // Idempotency keys (see [`keys`]). Times are unix seconds.
    /// The shared fingerprint salt, set to `fresh` if there is none yet.
    fn idempotency_salt(&mut self, fresh: &[u8]) -> Result<Vec<u8>, Error>;
    /// Forgets keys created before `before`.
    fn forget_idempotency_keys(&mut self, before: i64) -> Result<(), Error>;
    /// `Duplicate` when the key exists in its scope.
    fn insert_idempotency_key(&mut self, key: &NewKey<'_>) -> Result<Insert, Error>;
    /// The key's row, locked against other writers until the transaction ends.
    fn idempotency_key(&mut self, scope: &str, key: &str) -> Result<Option<KeyRecord>, Error>;
    /// Gives an unanswered, unapplied claim to a new holder, created anew at `at`.
    fn take_over_idempotency_key(
        &mut self,
        scope: &str,
        key: &str,
        holder: &[u8],
        at: i64,
    ) -> Result<(), Error>;
    /// Marks the claim applied; false when the key is not (or no longer) held by `guard`.
    fn consume_idempotency_key(&mut self, guard: &KeyGuard) -> Result<bool, Error>;
    /// False when the key is not (or no longer) held by `guard`.
    fn record_idempotent_answer(
        &mut self,
        guard: &KeyGuard,
        answer: &StoredAnswer,
    ) -> Result<bool, Error>;
    /// Deletes the claim if `guard` holds it and nothing was applied under it.
    fn release_idempotency_key(&mut self, guard: &KeyGuard) -> Result<bool, Error>;
}
