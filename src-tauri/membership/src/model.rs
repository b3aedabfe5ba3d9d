//! What the service hands out. Field names follow API.md, which is the wire contract.
use serde::{Deserialize, Serialize};

use crate::domain::Privilege;
use crate::Timestamp;

/// A page of a list: `next_cursor` is `None` on the last page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Where a list starts and how long it is (API.md: limit default 20, at most 100).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct PageRequest {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl PageRequest {
    pub fn limit(&self) -> u32 {
        self.limit.unwrap_or(20).clamp(1, 100)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Account {
    pub account_id: String,
    pub email: String,
    pub display_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrganisationRef {
    pub organisation_id: String,
    pub name: String,
    pub partner_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Role {
    Ppc,
    Member,
    /// Decides the organisation's requests for a period, for an administrator who is away.
    Delegate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MembershipStatus {
    Active,
    Removed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MembershipSummary {
    pub membership_id: String,
    pub organisation: OrganisationRef,
    pub status: MembershipStatus,
    pub roles: Vec<Role>,
    pub privileges: Vec<Privilege>,
    pub organisation_email: String,
}

/// `GET /v1/me`. `requests` is an addition to API.md: the caller's own association requests, so
/// the home screen can show pending, accepted (awaiting verification) and denied ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    pub account: Account,
    pub memberships: Vec<MembershipSummary>,
    pub requests: Vec<AssociationRequest>,
    /// Addition to API.md: offers of an organisation's PPC role to the caller, still open.
    #[serde(default)]
    pub handovers: Vec<Handover>,
    /// Addition to API.md: the delegations under way in which the caller decides for someone.
    #[serde(default)]
    pub delegations: Vec<Delegation>,
}

/// `PUT /v1/organisations/{org}/delegation`: who decides the organisation's requests, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DelegationInput {
    /// An active member of the organisation, not the caller.
    pub delegate_membership_id: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub starts_at: Timestamp,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub ends_at: Timestamp,
}

/// An organisation's delegation: `active` once its period began.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delegation {
    pub organisation_id: String,
    pub organisation_name: String,
    pub delegate_membership_id: String,
    pub delegate_name: String,
    /// The administrator the delegate decides for.
    pub delegator_membership_id: String,
    pub delegator_name: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub starts_at: Timestamp,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub ends_at: Timestamp,
    pub active: bool,
}

/// `POST /v1/organisations/{org}/ppc-handover`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HandoverOffer {
    /// An active member of the organisation who is not its PPC.
    pub to_membership_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum HandoverStatus {
    Offered,
    Accepted,
    Declined,
    /// A newer offer of the same organisation took its place.
    Replaced,
}

impl HandoverStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Offered => "offered",
            Self::Accepted => "accepted",
            Self::Declined => "declined",
            Self::Replaced => "replaced",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "offered" => Self::Offered,
            "accepted" => Self::Accepted,
            "declined" => Self::Declined,
            "replaced" => Self::Replaced,
            _ => return None,
        })
    }
}

/// An offer of an organisation's PPC role to one of its members, who must accept it before the
/// role moves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Handover {
    pub handover_id: String,
    pub status: HandoverStatus,
    pub organisation_id: String,
    pub organisation_name: String,
    pub from_membership_id: String,
    pub from_name: String,
    pub to_membership_id: String,
    pub to_name: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub decided_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewOrganisation {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::domain::OrganisationName))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::domain::Country))]
    pub country: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::domain::City))]
    pub city: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::domain::rules::schema::blank_or::<crate::domain::StreetAddress>))]
    pub address: Option<String>,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::domain::rules::schema::blank_or::<crate::domain::Phone>))]
    pub phone: Option<String>,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::domain::rules::schema::blank_or::<crate::domain::Website>))]
    pub website: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedOrganisation {
    pub organisation_id: String,
    pub partner_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrganisationSummary {
    pub organisation_id: String,
    pub partner_id: String,
    pub name: String,
    pub city: String,
    pub country: String,
}

/// Lookup by name words or prefix (`q`), partner ID, country and city; all given filters apply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct LookupQuery {
    pub q: Option<String>,
    pub partner_id: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    #[serde(flatten)]
    pub page: PageRequest,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DomainRule {
    pub domain: String,
    pub include_subdomains: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub added_at: Timestamp,
    /// Whether the organisation's ownership of the domain is proven (API.md, *Domain proof*).
    pub status: DomainStatus,
    /// The TXT record to publish to prove it.
    pub record: DnsRecord,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub verified_at: Option<Timestamp>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_checked_at: Option<Timestamp>,
    /// What the last check found; `None` before the first.
    pub last_seen: Option<LastSeen>,
    /// When the record is looked up next on its own; `None` when no check is planned (lapsed,
    /// expired).
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub next_check_at: Option<Timestamp>,
    /// Addition to API.md: when the status ends unless the record is seen (a pending challenge
    /// expires, a suspended domain lapses, a legacy grace period ends, a verified domain's yearly
    /// re-proof is due); `None` when it does not end on its own.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub status_ends_at: Option<Timestamp>,
}

/// Where a domain's proof of ownership stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DomainStatus {
    /// The record has not been seen yet; the challenge ends after a week.
    Pending,
    /// The record was seen: requests from the domain are accepted at once.
    Verified,
    /// The record is gone (confirmed by a second check): requests go to the queue.
    Suspended,
    /// Suspended for too long: a new record is needed.
    Lapsed,
    /// A pending challenge that was never completed: a new record is needed.
    Expired,
    /// Pre-approved before domain proof existed, still within its grace period.
    Legacy,
}

impl DomainStatus {
    /// The one spelling used on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            DomainStatus::Pending => "pending",
            DomainStatus::Verified => "verified",
            DomainStatus::Suspended => "suspended",
            DomainStatus::Lapsed => "lapsed",
            DomainStatus::Expired => "expired",
            DomainStatus::Legacy => "legacy",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            DomainStatus::Pending,
            DomainStatus::Verified,
            DomainStatus::Suspended,
            DomainStatus::Lapsed,
            DomainStatus::Expired,
            DomainStatus::Legacy,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    /// Whether a request from the domain is accepted at once.
    pub fn accepts_at_once(self) -> bool {
        matches!(self, DomainStatus::Verified | DomainStatus::Legacy)
    }
}

/// A DNS record to publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DnsRecord {
    /// The full name, e.g. `_partner-desk-challenge.contoso.com`.
    pub name: String,
    /// Always `TXT`.
    #[serde(rename = "type")]
    pub record_type: String,
    pub value: String,
}

/// What one check of a domain's record found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LastSeen {
    pub outcome: SeenOutcome,
    /// In words, for the PPC.
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SeenOutcome {
    /// The record is there with the expected value.
    Found,
    /// No TXT record at the name (or one reached only through another domain's alias).
    Missing,
    /// TXT records at the name, none with the expected value.
    DifferentValue,
    /// No answer (a timeout or a failing DNS server): nothing changed.
    Error,
}

impl SeenOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            SeenOutcome::Found => "found",
            SeenOutcome::Missing => "missing",
            SeenOutcome::DifferentValue => "different_value",
            SeenOutcome::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            SeenOutcome::Found,
            SeenOutcome::Missing,
            SeenOutcome::DifferentValue,
            SeenOutcome::Error,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RequestStatus {
    PendingApproval,
    Accepted,
    Denied,
    Withdrawn,
    Active,
    Removed,
    /// Nobody decided it before its deadline (`expires_at`); it does not count against the
    /// requester, who can ask again.
    Expired,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingApproval => "pending_approval",
            Self::Accepted => "accepted",
            Self::Denied => "denied",
            Self::Withdrawn => "withdrawn",
            Self::Active => "active",
            Self::Removed => "removed",
            Self::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending_approval" => Self::PendingApproval,
            "accepted" => Self::Accepted,
            "denied" => Self::Denied,
            "withdrawn" => Self::Withdrawn,
            "active" => Self::Active,
            "removed" => Self::Removed,
            "expired" => Self::Expired,
            _ => return None,
        })
    }
}

/// Why a request would be, or was, accepted at once or sent to the PPC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Preview {
    /// `accepted` or `pending_approval`.
    pub outcome: RequestStatus,
    pub matched_domain: Option<String>,
    /// The matched domain's proof status: only `verified` and `legacy` accept at once.
    pub matched_domain_status: Option<DomainStatus>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewAssociationRequest {
    pub organisation_id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::domain::PersonName))]
    pub first_name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::domain::PersonName))]
    pub last_name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::domain::EmailAddress))]
    pub organisation_email: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::domain::rules::schema::blank_or::<crate::domain::Phone>))]
    pub phone: Option<String>,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::domain::rules::schema::blank_or::<crate::domain::JobTitle>))]
    pub job_title: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestCreated {
    pub request_id: String,
    pub status: RequestStatus,
    /// The guide's sentence for this outcome, verbatim.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssociationRequest {
    pub request_id: String,
    pub organisation_id: String,
    /// Addition to API.md: the organisation's name, so lists need no second lookup.
    pub organisation_name: String,
    pub account_id: String,
    pub first_name: String,
    pub last_name: String,
    pub organisation_email: String,
    pub status: RequestStatus,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub decided_at: Option<Timestamp>,
    pub decision_reason: Option<String>,
    /// Addition to API.md: the membership this request became, once verified.
    pub membership_id: Option<String>,
    /// While pending: when the request expires unless someone decides it.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub expires_at: Option<Timestamp>,
    /// While pending: the roles it waits on (`ppc`, then also `global_admin` once escalated),
    /// never other people's addresses. Empty once decided.
    pub waiting_on: Vec<ApproverRole>,
    /// The account that decided it (approved or denied).
    pub decided_by: Option<String>,
    /// When a delegate decided: the account they decided for.
    pub on_behalf_of: Option<String>,
}

/// A role a pending request waits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ApproverRole {
    Ppc,
    GlobalAdmin,
    Delegate,
}

impl ApproverRole {
    /// Who a request in `status` waits on: nobody once decided; the PPC, and the Global
    /// Administrators too once it has been escalated to them.
    pub fn waiting_on(status: RequestStatus, escalated: bool) -> Vec<Self> {
        match (status, escalated) {
            (RequestStatus::PendingApproval, false) => vec![Self::Ppc],
            (RequestStatus::PendingApproval, true) => vec![Self::Ppc, Self::GlobalAdmin],
            _ => Vec::new(),
        }
    }

    /// Who an open privilege request waits on: the PPC and the Global Administrators.
    pub fn for_privilege_request() -> Vec<Self> {
        vec![Self::Ppc, Self::GlobalAdmin]
    }
}

/// One item of a bulk decision: approve, or deny with a reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BulkDecision {
    pub request_id: String,
    pub decision: BulkVerdict,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum BulkVerdict {
    Approve,
    Deny,
}

/// What became of one item of a bulk decision: its status after the call, and the error's code
/// and message when this item could not be decided (the others still were).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BulkResult {
    pub request_id: String,
    pub status: Option<RequestStatus>,
    pub error: Option<BulkError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BulkError {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Verified {
    pub membership_id: String,
    pub status: MembershipStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvitationResult {
    pub email: String,
    /// `invited`, `already_member`, or the validation code that refused the address.
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Profile {
    pub first_name: String,
    pub last_name: String,
    pub job_title: Option<String>,
    pub phone: Option<String>,
    pub preferred_language: Option<String>,
    pub mcp_id: Option<String>,
    pub revision: u64,
}

/// A partial profile update: `None` leaves a field alone; `Some("")` clears an optional one.
/// The MCP ID is not here: it has its own link and unlink operations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProfilePatch {
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::domain::PersonName>))]
    pub first_name: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::domain::PersonName>))]
    pub last_name: Option<String>,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::domain::rules::schema::blank_or::<crate::domain::JobTitle>))]
    pub job_title: Option<String>,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::domain::rules::schema::blank_or::<crate::domain::Phone>))]
    pub phone: Option<String>,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::domain::rules::schema::blank_or::<crate::domain::Language>))]
    pub preferred_language: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    pub membership_id: String,
    pub account_id: String,
    pub display_name: String,
    pub organisation_email: String,
    pub status: MembershipStatus,
    pub roles: Vec<Role>,
    pub privileges: Vec<Privilege>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrivilegeRequest {
    pub privilege_request_id: String,
    pub membership_id: String,
    pub privilege: Privilege,
    pub note: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// When the request ends unless the privilege is granted first.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub expires_at: Option<Timestamp>,
    /// The roles it waits on (the PPC and the Global Administrators).
    pub waiting_on: Vec<ApproverRole>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    pub actor_account_id: Option<String>,
    pub action: String,
    pub subject: String,
    pub detail: String,
}

/// One entry of the events feed; `id` is the cursor to resume after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    pub data: serde_json::Value,
}
