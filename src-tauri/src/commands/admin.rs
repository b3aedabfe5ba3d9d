//! The Membership Centre: what the PPC and Global Administrators of an organisation may do. The
//! membership service decides who may; these commands only pass the calls on.
use membership::{
    AssociationRequest, AuditEntry, BulkDecision, BulkResult, BulkVerdict, Delegation,
    DelegationInput, DomainRule, Handover, InvitationResult, Member, Page, PageRequest, Preview,
    PrivilegeRequest, RequestStatus,
};
use tauri::State;

use super::{parse_privilege, signed_in};
use crate::error::UiError;
use crate::state::Shell;

#[tauri::command(rename_all = "snake_case")]
pub async fn domains(shell: State<'_, Shell>, org_id: String) -> Result<Vec<DomainRule>, UiError> {
    signed_in(&shell, move |api, access| api.domains(access, &org_id)).await
}

/// Adds a domain rule ("Update" in Your Organisation email domains).
#[tauri::command(rename_all = "snake_case")]
pub async fn add_domain(
    shell: State<'_, Shell>,
    org_id: String,
    domain: String,
    include_subdomains: bool,
) -> Result<DomainRule, UiError> {
    signed_in(&shell, move |api, access| {
        api.add_domain(access, &org_id, &domain, include_subdomains)
    })
    .await
}

/// Check now: looks the domain's proof record up at once.
#[tauri::command(rename_all = "snake_case")]
pub async fn check_domain(
    shell: State<'_, Shell>,
    org_id: String,
    domain: String,
) -> Result<DomainRule, UiError> {
    signed_in(&shell, move |api, access| {
        api.check_domain(access, &org_id, &domain)
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn remove_domain(
    shell: State<'_, Shell>,
    org_id: String,
    domain: String,
) -> Result<(), UiError> {
    signed_in(&shell, move |api, access| {
        api.remove_domain(access, &org_id, &domain)
    })
    .await
}

/// The policy tester: which rule an address matches. Only for those who manage the domains, so
/// the domain list cannot be probed through it.
#[tauri::command(rename_all = "snake_case")]
pub async fn test_policy(
    shell: State<'_, Shell>,
    org_id: String,
    address: String,
) -> Result<Preview, UiError> {
    signed_in(&shell, move |api, access| {
        api.domains(access, &org_id)?;
        api.preview_association(access, &org_id, &address)
    })
    .await
}

/// The requests queue; `status` filters it (`pending_approval` for the pending ones).
#[tauri::command(rename_all = "snake_case")]
pub async fn queue(
    shell: State<'_, Shell>,
    org_id: String,
    status: Option<String>,
    page: Option<PageRequest>,
) -> Result<Page<AssociationRequest>, UiError> {
    let status = match status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(RequestStatus::parse(s).ok_or_else(|| {
            UiError::new(
                "invalid_status",
                "Choose one of the request states shown in the list and try again.",
            )
        })?),
    };
    let page = page.unwrap_or_default();
    signed_in(&shell, move |api, access| {
        api.association_queue(access, &org_id, status, &page)
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn approve(
    shell: State<'_, Shell>,
    request_id: String,
) -> Result<AssociationRequest, UiError> {
    signed_in(&shell, move |api, access| api.approve(access, &request_id)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn deny(
    shell: State<'_, Shell>,
    request_id: String,
    reason: String,
) -> Result<AssociationRequest, UiError> {
    signed_in(&shell, move |api, access| {
        api.deny(access, &request_id, &reason)
    })
    .await
}

/// Decides several requests at once (one reason for all denials): one result per request, so
/// one that someone else decided meanwhile does not fail the rest.
#[tauri::command(rename_all = "snake_case")]
pub async fn decide_requests(
    shell: State<'_, Shell>,
    org_id: String,
    request_ids: Vec<String>,
    approve: bool,
    reason: Option<String>,
) -> Result<Vec<BulkResult>, UiError> {
    let decisions: Vec<BulkDecision> = request_ids
        .into_iter()
        .map(|request_id| BulkDecision {
            request_id,
            decision: if approve {
                BulkVerdict::Approve
            } else {
                BulkVerdict::Deny
            },
            reason: if approve { None } else { reason.clone() },
        })
        .collect();
    signed_in(&shell, move |api, access| {
        api.decide_requests(access, &org_id, &decisions)
    })
    .await
}

/// The organisation's delegation, or `None` when it has none.
#[tauri::command(rename_all = "snake_case")]
pub async fn delegation(
    shell: State<'_, Shell>,
    org_id: String,
) -> Result<Option<Delegation>, UiError> {
    signed_in(&shell, move |api, access| {
        match api.delegation(access, &org_id) {
            Ok(d) => Ok(Some(d)),
            Err(e) if e.kind() == membership::ErrorKind::NotFound && e.code() == "not_found" => {
                // No delegation, unless the organisation itself is unknown: ask it to tell.
                api.organisation(access, &org_id).map(|_| None)
            }
            Err(e) => Err(e),
        }
    })
    .await
}

/// Names a colleague to decide the organisation's requests from `starts_at` to `ends_at`
/// (RFC 3339 instants; the window sends the person's local days).
#[tauri::command(rename_all = "snake_case")]
pub async fn set_delegation(
    shell: State<'_, Shell>,
    org_id: String,
    delegate_membership_id: String,
    starts_at: String,
    ends_at: String,
) -> Result<Delegation, UiError> {
    let instant = |s: &str| {
        time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339)
            .map_err(|_| {
                membership::Error::new(
                    membership::ErrorKind::Invalid,
                    "invalid_period",
                    "Choose the first and the last day of the period.",
                )
            })
    };
    let input = DelegationInput {
        delegate_membership_id,
        starts_at: instant(&starts_at)?,
        ends_at: instant(&ends_at)?,
    };
    signed_in(&shell, move |api, access| {
        api.set_delegation(access, &org_id, &input)
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn end_delegation(shell: State<'_, Shell>, org_id: String) -> Result<(), UiError> {
    signed_in(&shell, move |api, access| {
        api.end_delegation(access, &org_id)
    })
    .await
}

/// Offers the PPC role to a member, who must accept it before it moves.
#[tauri::command(rename_all = "snake_case")]
pub async fn offer_handover(
    shell: State<'_, Shell>,
    org_id: String,
    to_membership_id: String,
) -> Result<Handover, UiError> {
    signed_in(&shell, move |api, access| {
        api.offer_handover(access, &org_id, &to_membership_id)
    })
    .await
}

/// Invite multiple people: one result per address.
#[tauri::command(rename_all = "snake_case")]
pub async fn invite(
    shell: State<'_, Shell>,
    org_id: String,
    emails: Vec<String>,
) -> Result<Vec<InvitationResult>, UiError> {
    let emails: Vec<String> = emails
        .into_iter()
        .map(|e| e.trim().to_owned())
        .filter(|e| !e.is_empty())
        .collect();
    signed_in(&shell, move |api, access| {
        api.invite(access, &org_id, &emails)
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn members(
    shell: State<'_, Shell>,
    org_id: String,
    page: Option<PageRequest>,
) -> Result<Page<Member>, UiError> {
    let page = page.unwrap_or_default();
    signed_in(&shell, move |api, access| {
        api.members(access, &org_id, &page)
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn grant_privilege(
    shell: State<'_, Shell>,
    membership_id: String,
    privilege: String,
) -> Result<Member, UiError> {
    signed_in(&shell, move |api, access| {
        api.grant_privilege(access, &membership_id, parse_privilege(&privilege)?)
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn revoke_privilege(
    shell: State<'_, Shell>,
    membership_id: String,
    privilege: String,
) -> Result<(), UiError> {
    signed_in(&shell, move |api, access| {
        api.revoke_privilege(access, &membership_id, parse_privilege(&privilege)?)
    })
    .await
}

/// Removes a member (an admin), or leaves the organisation (the member themselves).
#[tauri::command(rename_all = "snake_case")]
pub async fn remove_member(shell: State<'_, Shell>, membership_id: String) -> Result<(), UiError> {
    signed_in(&shell, move |api, access| {
        api.remove_membership(access, &membership_id)
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn privilege_requests(
    shell: State<'_, Shell>,
    org_id: String,
) -> Result<Vec<PrivilegeRequest>, UiError> {
    signed_in(&shell, move |api, access| {
        api.privilege_requests(access, &org_id)
    })
    .await
}

/// The audit history, newest first.
#[tauri::command(rename_all = "snake_case")]
pub async fn audit(
    shell: State<'_, Shell>,
    org_id: String,
    page: Option<PageRequest>,
) -> Result<Page<AuditEntry>, UiError> {
    let page = page.unwrap_or_default();
    signed_in(&shell, move |api, access| api.audit(access, &org_id, &page)).await
}
