//! The membership service in process, with the mailbox that stands in for real mail.
use std::path::Path;
use std::sync::Arc;

use membership::mail::StoredMail;
use membership::{
    AssociationRequest, AuditEntry, BulkDecision, BulkResult, Caller, Config, CreatedOrganisation,
    Delegation, DelegationInput, DomainRule, Error, Event, Handover, InvitationResult, LookupQuery,
    Mailbox, Me, Member, NewAssociationRequest, NewOrganisation, OrganisationSummary, Page,
    PageRequest, Preview, PrivilegeRequest, Profile, ProfilePatch, Programme, RequestCreated,
    RequestStatus, Secret, SessionTokens, Timestamp, Verified,
};

use crate::follow::{self, Changes, Heard, OnChange, Stop};
use crate::{Backend, Privilege, MAX_EVENTS};

/// [`Backend`] over a [`Programme`] in this process: every call proves the access token, then
/// runs the operation with the clock read once, here.
pub struct Embedded {
    programme: Arc<Programme>,
    mailbox: Arc<Mailbox>,
    clock: Clock,
    /// Bumped after every successful write through this backend, so followers read at once.
    changes: Arc<Changes>,
    /// The scheduled work (domain proof, pending requests' deadlines), while this backend lives
    /// ([`Embedded::with_domain_checks`]).
    checks: Option<DomainChecks>,
}

/// A thread that runs `Programme::run_due_work` every so often until dropped.
struct DomainChecks {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for DomainChecks {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// How often an embedded follower reads the events with no write of this backend to wake it.
pub const EMBEDDED_FALLBACK_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// Where [`Embedded`] reads the time: the system clock, or a test's own.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

impl Embedded {
    pub fn new(programme: Arc<Programme>, mailbox: Arc<Mailbox>) -> Self {
        Self {
            programme,
            mailbox,
            clock: Arc::new(Timestamp::now_utc),
            changes: Arc::default(),
            checks: None,
        }
    }

    /// Runs domain proof's scheduled checks every `every` on a thread of this backend's, reading
    /// the time from its clock, until the backend is dropped.
    pub fn with_domain_checks(mut self, every: std::time::Duration) -> Self {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let programme = self.programme.clone();
        let clock = self.clock.clone();
        let changes = self.changes.clone();
        let thread = std::thread::Builder::new()
            .name("scheduled-work".into())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(every)
                {
                    if let Ok(work) = programme.run_due_work(clock(), 50) {
                        if !work.is_idle() {
                            changes.bump();
                        }
                    }
                }
            })
            .ok();
        self.checks = Some(DomainChecks {
            stop: Some(stop),
            thread,
        });
        self
    }

    /// The same backend reading the time from `clock` (tests move it on to expire tokens).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The mailbox that stands in for real mail.
    pub fn mail(&self) -> &Arc<Mailbox> {
        &self.mailbox
    }

    /// Opens (creating and migrating) the service and its mailbox in one database file.
    pub fn open(path: &Path, config: Config) -> Result<Self, Error> {
        Self::open_with_dns(path, config, Arc::new(membership::dns::NoResolver))
    }

    /// [`Embedded::open`] with domain proof looking records up through `dns`.
    pub fn open_with_dns(
        path: &Path,
        config: Config,
        dns: Arc<dyn membership::dns::TxtLookup>,
    ) -> Result<Self, Error> {
        let mailbox = Arc::new(Mailbox::open(path)?);
        let programme =
            Arc::new(Programme::with_config(path, mailbox.clone(), config)?.with_dns(dns));
        Ok(Self::new(programme, mailbox))
    }

    /// The service itself, for what is not an API operation (seeding demo data, imports).
    pub fn programme(&self) -> &Arc<Programme> {
        &self.programme
    }

    fn caller(&self, access: &Secret) -> Result<Caller, Error> {
        self.programme.authenticate(access, self.now())
    }

    fn now(&self) -> Timestamp {
        (self.clock)()
    }

    /// Passes a write's result on, waking the followers when it succeeded.
    fn wrote<T>(&self, result: Result<T, Error>) -> Result<T, Error> {
        if result.is_ok() {
            self.changes.bump();
        }
        result
    }
}

impl Backend for Embedded {
    fn health(&self) -> Result<(), Error> {
        self.programme.is_empty().map(drop)
    }

    fn create_account(
        &self,
        email: &str,
        display_name: &str,
        password: &Secret,
    ) -> Result<String, Error> {
        self.programme
            .create_account(email, display_name, password, self.now())
    }

    fn sign_in(&self, email: &str, password: &Secret) -> Result<SessionTokens, Error> {
        self.programme.sign_in(email, password, self.now())
    }

    fn refresh(&self, refresh_token: &Secret) -> Result<SessionTokens, Error> {
        self.programme.refresh(refresh_token, self.now())
    }

    fn sign_out(&self, access: &Secret) -> Result<(), Error> {
        self.programme.sign_out(&self.caller(access)?, self.now())
    }

    fn me(&self, access: &Secret) -> Result<Me, Error> {
        self.programme.me(&self.caller(access)?)
    }

    fn create_organisation(
        &self,
        access: &Secret,
        new: &NewOrganisation,
    ) -> Result<CreatedOrganisation, Error> {
        self.wrote(
            self.programme
                .create_organisation(&self.caller(access)?, new, self.now()),
        )
    }

    fn lookup(
        &self,
        access: &Secret,
        query: &LookupQuery,
    ) -> Result<Page<OrganisationSummary>, Error> {
        self.programme.lookup(&self.caller(access)?, query)
    }

    fn organisation(&self, access: &Secret, org: &str) -> Result<OrganisationSummary, Error> {
        self.programme.organisation(&self.caller(access)?, org)
    }

    fn domains(&self, access: &Secret, org: &str) -> Result<Vec<DomainRule>, Error> {
        self.programme.domains(&self.caller(access)?, org)
    }

    fn add_domain(
        &self,
        access: &Secret,
        org: &str,
        domain: &str,
        include_subdomains: bool,
    ) -> Result<DomainRule, Error> {
        self.wrote(self.programme.add_domain(
            &self.caller(access)?,
            org,
            domain,
            include_subdomains,
            self.now(),
        ))
    }

    fn check_domain(&self, access: &Secret, org: &str, domain: &str) -> Result<DomainRule, Error> {
        self.wrote(
            self.programme
                .check_domain(&self.caller(access)?, org, domain, self.now()),
        )
    }

    fn remove_domain(&self, access: &Secret, org: &str, domain: &str) -> Result<(), Error> {
        self.wrote(
            self.programme
                .remove_domain(&self.caller(access)?, org, domain, self.now()),
        )
    }

    fn preview_association(
        &self,
        access: &Secret,
        org: &str,
        organisation_email: &str,
    ) -> Result<Preview, Error> {
        self.programme
            .preview_association(&self.caller(access)?, org, organisation_email)
    }

    fn request_association(
        &self,
        access: &Secret,
        new: &NewAssociationRequest,
    ) -> Result<RequestCreated, Error> {
        self.wrote(
            self.programme
                .request_association(&self.caller(access)?, new, self.now()),
        )
    }

    fn association_request(&self, access: &Secret, id: &str) -> Result<AssociationRequest, Error> {
        self.programme
            .association_request(&self.caller(access)?, id)
    }

    fn association_queue(
        &self,
        access: &Secret,
        org: &str,
        status: Option<RequestStatus>,
        page: &PageRequest,
    ) -> Result<Page<AssociationRequest>, Error> {
        self.programme
            .association_queue(&self.caller(access)?, org, status, page)
    }

    fn approve(&self, access: &Secret, id: &str) -> Result<AssociationRequest, Error> {
        self.wrote(
            self.programme
                .approve(&self.caller(access)?, id, self.now()),
        )
    }

    fn deny(&self, access: &Secret, id: &str, reason: &str) -> Result<AssociationRequest, Error> {
        self.wrote(
            self.programme
                .deny(&self.caller(access)?, id, reason, self.now()),
        )
    }

    fn withdraw(&self, access: &Secret, id: &str) -> Result<AssociationRequest, Error> {
        self.wrote(
            self.programme
                .withdraw(&self.caller(access)?, id, self.now()),
        )
    }

    fn decide_requests(
        &self,
        access: &Secret,
        org: &str,
        decisions: &[BulkDecision],
    ) -> Result<Vec<BulkResult>, Error> {
        self.wrote(self.programme.decide_requests(
            &self.caller(access)?,
            org,
            decisions,
            self.now(),
        ))
    }

    fn delegation(&self, access: &Secret, org: &str) -> Result<Delegation, Error> {
        self.programme.delegation(&self.caller(access)?, org)
    }

    fn set_delegation(
        &self,
        access: &Secret,
        org: &str,
        input: &DelegationInput,
    ) -> Result<Delegation, Error> {
        self.wrote(
            self.programme
                .set_delegation(&self.caller(access)?, org, input, self.now()),
        )
    }

    fn end_delegation(&self, access: &Secret, org: &str) -> Result<(), Error> {
        self.wrote(
            self.programme
                .end_delegation(&self.caller(access)?, org, self.now()),
        )
    }

    fn offer_handover(
        &self,
        access: &Secret,
        org: &str,
        to_membership: &str,
    ) -> Result<Handover, Error> {
        self.wrote(self.programme.offer_handover(
            &self.caller(access)?,
            org,
            to_membership,
            self.now(),
        ))
    }

    fn accept_handover(&self, access: &Secret, id: &str) -> Result<Handover, Error> {
        self.wrote(
            self.programme
                .accept_handover(&self.caller(access)?, id, self.now()),
        )
    }

    fn decline_handover(&self, access: &Secret, id: &str) -> Result<Handover, Error> {
        self.wrote(
            self.programme
                .decline_handover(&self.caller(access)?, id, self.now()),
        )
    }

    fn ask_again(&self, access: &Secret, id: &str) -> Result<RequestCreated, Error> {
        self.wrote(
            self.programme
                .ask_again(&self.caller(access)?, id, self.now()),
        )
    }

    fn resend_verification(&self, access: &Secret, id: &str) -> Result<(), Error> {
        self.programme
            .resend_verification(&self.caller(access)?, id, self.now())
    }

    fn verify(&self, access: &Secret, token: &Secret) -> Result<Verified, Error> {
        self.wrote(
            self.programme
                .verify(&self.caller(access)?, token, self.now()),
        )
    }

    fn invite(
        &self,
        access: &Secret,
        org: &str,
        emails: &[String],
    ) -> Result<Vec<InvitationResult>, Error> {
        self.wrote(
            self.programme
                .invite(&self.caller(access)?, org, emails, self.now()),
        )
    }

    fn profile(&self, access: &Secret, membership: &str) -> Result<Profile, Error> {
        self.programme.profile(&self.caller(access)?, membership)
    }

    fn update_profile(
        &self,
        access: &Secret,
        membership: &str,
        if_match: u64,
        patch: &ProfilePatch,
    ) -> Result<Profile, Error> {
        self.wrote(self.programme.update_profile(
            &self.caller(access)?,
            membership,
            if_match,
            patch,
            self.now(),
        ))
    }

    /// The key has nothing to add here: an edit sent again after a crash carries the revision it
    /// was based on, which the first application already moved on, so the service refuses the
    /// repeat with `revision_mismatch` and the offline merge finds the edit already there.
    fn update_profile_keyed(
        &self,
        access: &Secret,
        membership: &str,
        if_match: u64,
        patch: &ProfilePatch,
        _idempotency_key: &str,
    ) -> Result<Profile, Error> {
        self.update_profile(access, membership, if_match, patch)
    }

    fn link_mcp_id(
        &self,
        access: &Secret,
        membership: &str,
        mcp_id: &str,
    ) -> Result<Profile, Error> {
        self.wrote(self.programme.link_mcp_id(
            &self.caller(access)?,
            membership,
            mcp_id,
            self.now(),
        ))
    }

    fn unlink_mcp_id(&self, access: &Secret, membership: &str) -> Result<(), Error> {
        self.wrote(
            self.programme
                .unlink_mcp_id(&self.caller(access)?, membership, self.now()),
        )
    }

    fn members(
        &self,
        access: &Secret,
        org: &str,
        page: &PageRequest,
    ) -> Result<Page<Member>, Error> {
        self.programme.members(&self.caller(access)?, org, page)
    }

    fn grant_privilege(
        &self,
        access: &Secret,
        membership: &str,
        privilege: Privilege,
    ) -> Result<Member, Error> {
        self.wrote(self.programme.grant_privilege(
            &self.caller(access)?,
            membership,
            privilege.as_str(),
            self.now(),
        ))
    }

    fn revoke_privilege(
        &self,
        access: &Secret,
        membership: &str,
        privilege: Privilege,
    ) -> Result<(), Error> {
        self.wrote(self.programme.revoke_privilege(
            &self.caller(access)?,
            membership,
            privilege.as_str(),
            self.now(),
        ))
    }

    fn request_privilege(
        &self,
        access: &Secret,
        membership: &str,
        privilege: Privilege,
        note: Option<&str>,
    ) -> Result<PrivilegeRequest, Error> {
        self.wrote(self.programme.request_privilege(
            &self.caller(access)?,
            membership,
            privilege.as_str(),
            note,
            self.now(),
        ))
    }

    fn privilege_requests(
        &self,
        access: &Secret,
        org: &str,
    ) -> Result<Vec<PrivilegeRequest>, Error> {
        self.programme
            .privilege_requests(&self.caller(access)?, org)
    }

    fn remove_membership(&self, access: &Secret, membership: &str) -> Result<(), Error> {
        self.wrote(
            self.programme
                .remove_membership(&self.caller(access)?, membership, self.now()),
        )
    }

    fn audit(
        &self,
        access: &Secret,
        org: &str,
        page: &PageRequest,
    ) -> Result<Page<AuditEntry>, Error> {
        self.programme.audit(&self.caller(access)?, org, page)
    }

    fn events(&self, access: &Secret, after: Option<i64>, limit: u32) -> Result<Vec<Event>, Error> {
        self.programme
            .events(&self.caller(access)?, after, limit.clamp(1, MAX_EVENTS))
    }

    /// Wakes on this backend's own writes; writes by another process on the same file (or
    /// straight to the [`Programme`]) are found within [`EMBEDDED_FALLBACK_POLL`].
    fn follow_events(
        &self,
        access: &Secret,
        after: Option<i64>,
        stop: &Stop,
        on: &mut dyn FnMut(Heard) -> std::ops::ControlFlow<()>,
    ) -> Result<(), Error> {
        let mut wake = OnChange {
            changes: &self.changes,
            fallback: EMBEDDED_FALLBACK_POLL,
        };
        follow::follow_by_polling(self, access, after, stop, on, &mut wake)
    }

    fn mailbox(&self, access: &Secret) -> Result<Option<Vec<StoredMail>>, Error> {
        let addresses = self.programme.mail_addresses(&self.caller(access)?)?;
        self.mailbox.list_for(&addresses).map(Some)
    }
}
