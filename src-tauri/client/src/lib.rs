//! Partner Desk's one way to reach a membership backend, whichever it is: the membership service
//! in process ([`Embedded`]) or a partner programme's server over the HTTP API of API.md
//! ([`Remote`]). Both implement [`Backend`] and answer with the membership crate's own model types
//! and [`membership::Error`], so a caller cannot tell them apart by their answers or their codes.
//!
//! Every method blocks. Call them from a thread that may block (for example inside
//! `spawn_blocking`), never from an async task: [`Remote`] waits on the network.
//!
//! This crate never imports Tauri: the desktop shell and the contract tests use it alike.
#![forbid(unsafe_code)]

pub mod deeplink;
mod embedded;
pub mod follow;
mod remote;

use membership::mail::StoredMail;
use membership::{
    AssociationRequest, AuditEntry, BulkDecision, BulkResult, CreatedOrganisation, Delegation,
    DelegationInput, DomainRule, Error, Event, Handover, InvitationResult, LookupQuery, Me, Member,
    NewAssociationRequest, NewOrganisation, OrganisationSummary, Page, PageRequest, Preview,
    PrivilegeRequest, Profile, ProfilePatch, RequestCreated, RequestStatus, Secret, SessionTokens,
    Verified,
};

pub use embedded::{Clock, Embedded};
pub use follow::{Heard, Stop};
pub use membership::domain::Privilege;
pub use remote::{Remote, RemoteOptions, RetryPolicy, UNREACHABLE};

/// The most events one [`Backend::events`] call returns, on either backend.
pub const MAX_EVENTS: u32 = 100;

/// Every operation of API.md the app uses. `access` is the caller's access token from
/// [`Backend::sign_in`] or [`Backend::refresh`].
pub trait Backend: Send + Sync {
    /// Whether the backend answers: the remote one's `GET /healthz`; the embedded one's database.
    fn health(&self) -> Result<(), Error>;

    /// `POST /v1/accounts`: the new account's id.
    fn create_account(
        &self,
        email: &str,
        display_name: &str,
        password: &Secret,
    ) -> Result<String, Error>;
    fn sign_in(&self, email: &str, password: &Secret) -> Result<SessionTokens, Error>;
    /// A new pair; the old refresh token stops working.
    fn refresh(&self, refresh_token: &Secret) -> Result<SessionTokens, Error>;
    fn sign_out(&self, access: &Secret) -> Result<(), Error>;
    fn me(&self, access: &Secret) -> Result<Me, Error>;

    fn create_organisation(
        &self,
        access: &Secret,
        new: &NewOrganisation,
    ) -> Result<CreatedOrganisation, Error>;
    fn lookup(
        &self,
        access: &Secret,
        query: &LookupQuery,
    ) -> Result<Page<OrganisationSummary>, Error>;
    fn organisation(&self, access: &Secret, org: &str) -> Result<OrganisationSummary, Error>;
    fn domains(&self, access: &Secret, org: &str) -> Result<Vec<DomainRule>, Error>;
    fn add_domain(
        &self,
        access: &Secret,
        org: &str,
        domain: &str,
        include_subdomains: bool,
    ) -> Result<DomainRule, Error>;
    /// Looks the domain's proof record up now (Check now); 429 `check_too_soon` when pressed
    /// again too soon.
    fn check_domain(&self, access: &Secret, org: &str, domain: &str) -> Result<DomainRule, Error>;
    fn remove_domain(&self, access: &Secret, org: &str, domain: &str) -> Result<(), Error>;

    fn preview_association(
        &self,
        access: &Secret,
        org: &str,
        organisation_email: &str,
    ) -> Result<Preview, Error>;
    fn request_association(
        &self,
        access: &Secret,
        new: &NewAssociationRequest,
    ) -> Result<RequestCreated, Error>;
    fn association_request(&self, access: &Secret, id: &str) -> Result<AssociationRequest, Error>;
    fn association_queue(
        &self,
        access: &Secret,
        org: &str,
        status: Option<RequestStatus>,
        page: &PageRequest,
    ) -> Result<Page<AssociationRequest>, Error>;
    fn approve(&self, access: &Secret, id: &str) -> Result<AssociationRequest, Error>;
    fn deny(&self, access: &Secret, id: &str, reason: &str) -> Result<AssociationRequest, Error>;
    fn withdraw(&self, access: &Secret, id: &str) -> Result<AssociationRequest, Error>;
    /// Decides several of `org`'s requests; one result per decision, in order.
    fn decide_requests(
        &self,
        access: &Secret,
        org: &str,
        decisions: &[BulkDecision],
    ) -> Result<Vec<BulkResult>, Error>;
    /// Sends an expired request again with its answers.
    fn ask_again(&self, access: &Secret, id: &str) -> Result<RequestCreated, Error>;
    /// The organisation's delegation; `not_found` when it has none.
    fn delegation(&self, access: &Secret, org: &str) -> Result<Delegation, Error>;
    /// Names a colleague to decide `org`'s requests for a period (replacing any delegation).
    fn set_delegation(
        &self,
        access: &Secret,
        org: &str,
        input: &DelegationInput,
    ) -> Result<Delegation, Error>;
    fn end_delegation(&self, access: &Secret, org: &str) -> Result<(), Error>;
    /// Offers `org`'s PPC role to the member `to_membership`.
    fn offer_handover(
        &self,
        access: &Secret,
        org: &str,
        to_membership: &str,
    ) -> Result<Handover, Error>;
    fn accept_handover(&self, access: &Secret, id: &str) -> Result<Handover, Error>;
    fn decline_handover(&self, access: &Secret, id: &str) -> Result<Handover, Error>;
    fn resend_verification(&self, access: &Secret, id: &str) -> Result<(), Error>;
    fn verify(&self, access: &Secret, token: &Secret) -> Result<Verified, Error>;
    fn invite(
        &self,
        access: &Secret,
        org: &str,
        emails: &[String],
    ) -> Result<Vec<InvitationResult>, Error>;

    fn profile(&self, access: &Secret, membership: &str) -> Result<Profile, Error>;
    /// Refused with `revision_mismatch` (and the current profile in [`Error::current`]) unless
    /// `if_match` is the profile's revision now.
    fn update_profile(
        &self,
        access: &Secret,
        membership: &str,
        if_match: u64,
        patch: &ProfilePatch,
    ) -> Result<Profile, Error>;
    fn link_mcp_id(
        &self,
        access: &Secret,
        membership: &str,
        mcp_id: &str,
    ) -> Result<Profile, Error>;
    fn unlink_mcp_id(&self, access: &Secret, membership: &str) -> Result<(), Error>;

    fn members(
        &self,
        access: &Secret,
        org: &str,
        page: &PageRequest,
    ) -> Result<Page<Member>, Error>;
    fn grant_privilege(
        &self,
        access: &Secret,
        membership: &str,
        privilege: Privilege,
    ) -> Result<Member, Error>;
    fn revoke_privilege(
        &self,
        access: &Secret,
        membership: &str,
        privilege: Privilege,
    ) -> Result<(), Error>;
    fn request_privilege(
        &self,
        access: &Secret,
        membership: &str,
        privilege: Privilege,
        note: Option<&str>,
    ) -> Result<PrivilegeRequest, Error>;
    fn privilege_requests(
        &self,
        access: &Secret,
        org: &str,
    ) -> Result<Vec<PrivilegeRequest>, Error>;
    /// Leave (the member) or remove (an administrator).
    fn remove_membership(&self, access: &Secret, membership: &str) -> Result<(), Error>;
    /// Newest first.
    fn audit(
        &self,
        access: &Secret,
        org: &str,
        page: &PageRequest,
    ) -> Result<Page<AuditEntry>, Error>;

    /// Events the caller may see after the cursor `after` (an [`Event::id`]), oldest first, at
    /// most `limit` of them (clamped to 1..=[`MAX_EVENTS`]).
    fn events(&self, access: &Secret, after: Option<i64>, limit: u32) -> Result<Vec<Event>, Error>;

    /// Follows the caller's events after `after` as they happen, calling `on` for each, until
    /// `stop` fires or `on` breaks; blocks the calling thread and reconnects by itself (see
    /// [`follow`]). `Err` only for a refusal waiting cannot cure, such as an ended session. The
    /// remote backend reads the server's event stream, the embedded one wakes on its own writes;
    /// any other backend reads [`Backend::events`] every second.
    fn follow_events(
        &self,
        access: &Secret,
        after: Option<i64>,
        stop: &follow::Stop,
        on: &mut dyn FnMut(follow::Heard) -> std::ops::ControlFlow<()>,
    ) -> Result<(), Error> {
        let mut every = follow::Every(std::time::Duration::from_secs(1));
        follow::follow_by_polling(self, access, after, stop, on, &mut every)
    }

    /// The mail the embedded backend kept for the caller, newest first; `None` for a backend
    /// whose mail goes to real inboxes.
    fn mailbox(&self, access: &Secret) -> Result<Option<Vec<StoredMail>>, Error>;

    /// [`Backend::update_profile`] under the caller's own `Idempotency-Key`, for an edit that may
    /// be sent again after a crash (the offline outbox keeps the key with the edit). The remote
    /// backend sends the key, so a repeat gets the first answer replayed and changes nothing, and
    /// retries a lost answer itself. The embedded backend has no answer to lose: the `if_match`
    /// revision alone refuses a second application with `revision_mismatch`.
    fn update_profile_keyed(
        &self,
        access: &Secret,
        membership: &str,
        if_match: u64,
        patch: &ProfilePatch,
        idempotency_key: &str,
    ) -> Result<Profile, Error>;
}
