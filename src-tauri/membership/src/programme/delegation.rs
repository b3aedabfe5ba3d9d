//! No organisation is stuck without a working approver. A PPC or Global Administrator who is away
//! names a colleague to decide the organisation's requests for a period: at its start the
//! waiting queue moves to the delegate (each waiting request is handed to them, not only new
//! ones), reminders go to them instead, and every decision they make records on whose behalf.
//! At its end it all comes back. The PPC role itself moves only when the member it is offered
//! to accepts, and the last person who can approve cannot go without handing over.
use serde_json::json;

use super::pending::{rfc3339, DueWork};
use super::{audit, emit, require_admin, Caller, Programme};
use crate::domain::Privilege;
use crate::model::{
    ApproverRole, AssociationRequest, Delegation, DelegationInput, Handover, HandoverStatus,
    RequestStatus,
};
use crate::store::{
    Approver, Audience, DelegationRow, HandoverRow, NewDelegation, NewGrant, NewHandover, ReadTx,
    Store, WriteTx,
};
use crate::tokens::new_id;
use crate::{Error, ErrorKind, Timestamp};

/// The longest period one delegation may cover.
pub const MAX_DELEGATION_DAYS: i64 = 92;

/// The organisation's delegation while its period runs.
pub(super) fn active_delegation(
    tx: &mut dyn ReadTx,
    org: &str,
) -> Result<Option<DelegationRow>, Error> {
    Ok(tx.delegation(org)?.filter(|d| d.started))
}

/// The delegation under which `account` decides the organisation's requests now, if any.
pub(super) fn delegated_to(
    tx: &mut dyn ReadTx,
    account: &str,
    org: &str,
) -> Result<Option<DelegationRow>, Error> {
    Ok(active_delegation(tx, org)?.filter(|d| d.delegate_account_id == account))
}

/// Refuses unless the caller may decide the organisation's requests: an administrator, or the
/// delegate while the delegation runs.
pub(super) fn require_decider(
    tx: &mut dyn ReadTx,
    caller: &Caller,
    org: &str,
) -> Result<(), Error> {
    if delegated_to(tx, &caller.account_id, org)?.is_some() {
        return Ok(());
    }
    require_admin(tx, caller, org)
}

/// Who decides the organisation's requests now: its PPCs (and, with `global_admins`, its Global
/// Administrators), with the administrator who is away replaced by their delegate.
pub(super) fn approvers_now(
    tx: &mut dyn ReadTx,
    org: &str,
    global_admins: bool,
) -> Result<Vec<Approver>, Error> {
    let mut approvers = tx.approvers(org, global_admins)?;
    if let Some(d) = active_delegation(tx, org)? {
        approvers.retain(|a| a.account_id != d.delegator_account_id);
        if !approvers
            .iter()
            .any(|a| a.account_id == d.delegate_account_id)
        {
            if let Some(account) = tx.account(&d.delegate_account_id)? {
                approvers.push(Approver {
                    account_id: account.account_id,
                    email: account.email,
                    display_name: account.display_name,
                    role: ApproverRole::Delegate,
                });
            }
        }
    }
    Ok(approvers)
}

/// A pending request waits on the delegate too while a delegation runs.
pub(super) fn mark_waiting(tx: &mut dyn ReadTx, req: &mut AssociationRequest) -> Result<(), Error> {
    if req.status == RequestStatus::PendingApproval
        && !req.waiting_on.contains(&ApproverRole::Delegate)
        && active_delegation(tx, &req.organisation_id)?.is_some()
    {
        req.waiting_on.push(ApproverRole::Delegate);
    }
    Ok(())
}

pub(super) fn delegation_of(d: DelegationRow) -> Delegation {
    Delegation {
        organisation_id: d.organisation_id,
        organisation_name: d.organisation_name,
        delegate_membership_id: d.delegate_membership_id,
        delegate_name: d.delegate_name,
        delegator_membership_id: d.delegator_membership_id,
        delegator_name: d.delegator_name,
        starts_at: d.starts_at,
        ends_at: d.ends_at,
        active: d.started,
    }
}

pub(super) fn handover_of(h: HandoverRow) -> Handover {
    Handover {
        handover_id: h.handover_id,
        status: h.status,
        organisation_id: h.organisation_id,
        organisation_name: h.organisation_name,
        from_membership_id: h.from_membership_id,
        from_name: h.from_name,
        to_membership_id: h.to_membership_id,
        to_name: h.to_name,
        created_at: h.created_at,
        decided_at: h.decided_at,
    }
}

fn delegation_data(d: &DelegationRow) -> serde_json::Value {
    json!({"organisation_id": d.organisation_id, "organisation_name": d.organisation_name,
           "delegate_membership_id": d.delegate_membership_id, "delegate_name": d.delegate_name,
           "delegator_membership_id": d.delegator_membership_id, "delegator_name": d.delegator_name,
           "starts_at": rfc3339(d.starts_at), "ends_at": rfc3339(d.ends_at)})
}

/// The period began: the delegate is handed every request already waiting, and both hear it.
fn started(tx: &mut dyn WriteTx, d: &DelegationRow, now: Timestamp) -> Result<usize, Error> {
    let data = delegation_data(d);
    for account in [&d.delegate_account_id, &d.delegator_account_id] {
        emit(
            tx,
            now,
            "delegation.started",
            Audience::Account(account),
            data.clone(),
        )?;
    }
    let mut after = 0;
    let mut handed = 0;
    loop {
        let page = tx.request_queue(
            &d.organisation_id,
            Some(RequestStatus::PendingApproval),
            after,
            200,
        )?;
        let Some((last, _)) = page.last() else { break };
        after = *last;
        for (_, r) in &page {
            if r.account_id == d.delegate_account_id {
                continue; // nobody decides their own request
            }
            emit(
                tx,
                now,
                "association_request.delegated",
                Audience::Account(&d.delegate_account_id),
                json!({"request_id": r.request_id, "organisation_id": r.organisation_id,
                       "organisation_name": r.organisation_name, "first_name": r.first_name,
                       "last_name": r.last_name, "organisation_email": r.organisation_email,
                       "status": r.status.as_str(), "expires_at": r.expires_at.map(rfc3339),
                       "on_behalf_of_name": d.delegator_name}),
            )?;
            handed += 1;
        }
        if page.len() < 200 {
            break;
        }
    }
    audit(
        tx,
        now,
        Some(&d.organisation_id),
        None,
        "delegation.started",
        &d.delegate_membership_id,
        &format!(
            "{} decides for {}; {handed} waiting request(s) handed over",
            d.delegate_name, d.delegator_name
        ),
    )?;
    Ok(handed)
}

/// Why a delegation ended.
#[derive(Debug, Clone, Copy)]
pub(super) enum Ended {
    PeriodOver,
    Early,
    MemberLeft,
}

impl Ended {
    fn as_str(self) -> &'static str {
        match self {
            Self::PeriodOver => "period_over",
            Self::Early => "ended_early",
            Self::MemberLeft => "member_left",
        }
    }
}

/// Removes the delegation (if it is still `d`); the queue is back with the administrators, and
/// both people hear it.
pub(super) fn end(
    tx: &mut dyn WriteTx,
    d: &DelegationRow,
    why: Ended,
    actor: Option<&str>,
    now: Timestamp,
) -> Result<bool, Error> {
    if !tx.end_delegation(&d.organisation_id, &d.delegate_membership_id, d.starts_at)? {
        return Ok(false);
    }
    let mut data = delegation_data(d);
    data["reason"] = json!(why.as_str());
    data["was_active"] = json!(d.started);
    for account in [&d.delegate_account_id, &d.delegator_account_id] {
        emit(
            tx,
            now,
            "delegation.ended",
            Audience::Account(account),
            data.clone(),
        )?;
    }
    audit(
        tx,
        now,
        Some(&d.organisation_id),
        actor,
        "delegation.ended",
        &d.delegate_membership_id,
        why.as_str(),
    )?;
    Ok(true)
}

/// Ends the organisation's delegation if `membership` is its delegate or the person they stand in
/// for (the membership is ending).
pub(super) fn end_for_member(
    tx: &mut dyn WriteTx,
    org: &str,
    membership: &str,
    actor: &str,
    now: Timestamp,
) -> Result<(), Error> {
    if let Some(d) = tx.delegation(org)? {
        if d.delegate_membership_id == membership || d.delegator_membership_id == membership {
            end(tx, &d, Ended::MemberLeft, Some(actor), now)?;
        }
    }
    Ok(())
}

/// The caller's active membership of the organisation.
fn own_membership_in(
    tx: &mut dyn ReadTx,
    caller: &Caller,
    org: &str,
) -> Result<crate::model::MembershipSummary, Error> {
    tx.active_memberships_of(&caller.account_id)?
        .into_iter()
        .find(|m| m.organisation.organisation_id == org)
        .ok_or_else(|| Error::not_found("organisation"))
}

/// A colleague of the organisation, active, for a delegation or a handover.
fn colleague(
    tx: &mut dyn ReadTx,
    org: &str,
    membership: &str,
) -> Result<crate::store::MembershipFacts, Error> {
    let m = tx
        .membership(membership)?
        .filter(|m| m.organisation_id == org)
        .ok_or_else(|| Error::not_found("membership"))?;
    if !m.active {
        return Err(Error::conflict(
            "not_active_member",
            "This person is no longer a member of the organisation. Choose someone from the current members.",
        ));
    }
    Ok(m)
}

impl<S: Store> Programme<S> {
    /// The organisation's delegation, to its administrators and its delegate.
    pub fn delegation(&self, caller: &Caller, org: &str) -> Result<Delegation, Error> {
        self.read(|tx| {
            let d = tx.delegation(org)?;
            if !d
                .as_ref()
                .is_some_and(|d| d.started && d.delegate_account_id == caller.account_id)
            {
                require_admin(tx, caller, org)?;
            }
            d.map(delegation_of)
                .ok_or_else(|| Error::not_found("delegation"))
        })
    }

    /// Names a colleague to decide the organisation's requests from `starts_at` to `ends_at`,
    /// for the caller (a PPC or Global Administrator). It replaces any delegation the
    /// organisation had; a period that has begun starts at once.
    pub fn set_delegation(
        &self,
        caller: &Caller,
        org: &str,
        input: &DelegationInput,
        now: Timestamp,
    ) -> Result<Delegation, Error> {
        let (starts, ends) = (input.starts_at, input.ends_at);
        if ends <= starts || ends <= now {
            return Err(Error::new(
                ErrorKind::Invalid,
                "invalid_period",
                "Choose an end after the start, and not in the past.",
            ));
        }
        if (ends - starts).whole_days() > MAX_DELEGATION_DAYS {
            return Err(Error::new(
                ErrorKind::Invalid,
                "invalid_period",
                format!("A delegation covers at most {MAX_DELEGATION_DAYS} days. For a longer absence, hand the PPC role over instead."),
            ));
        }
        self.change(|tx| {
            require_admin(tx, caller, org)?;
            let mine = own_membership_in(tx, caller, org)?;
            let delegate = colleague(tx, org, &input.delegate_membership_id)?;
            if delegate.account_id == caller.account_id {
                return Err(Error::conflict(
                    "delegate_is_you",
                    "Choose a colleague to decide while you are away: you cannot stand in for yourself.",
                ));
            }
            if let Some(old) = tx.delegation(org)? {
                end(tx, &old, Ended::Early, Some(&caller.account_id), now)?;
            }
            tx.put_delegation(&NewDelegation {
                organisation_id: org,
                delegator_membership_id: &mine.membership_id,
                delegate_membership_id: &input.delegate_membership_id,
                starts_at: starts,
                ends_at: ends,
                created_by: &caller.account_id,
                created_at: now,
            })?;
            let d = tx
                .delegation(org)?
                .ok_or_else(|| Error::internal("the delegation vanished inside its own transaction"))?;
            audit(
                tx,
                now,
                Some(org),
                Some(&caller.account_id),
                "delegation.set",
                &d.delegate_membership_id,
                &format!("{} until {}", rfc3339(starts), rfc3339(ends)),
            )?;
            if starts <= now && tx.start_delegation(org, &d.delegate_membership_id, starts)? {
                started(tx, &d, now)?;
            }
            let d = tx
                .delegation(org)?
                .ok_or_else(|| Error::internal("the delegation vanished inside its own transaction"))?;
            Ok(delegation_of(d))
        })
    }

    /// Ends the organisation's delegation now: the queue is back with its administrators.
    pub fn end_delegation(&self, caller: &Caller, org: &str, now: Timestamp) -> Result<(), Error> {
        self.change(|tx| {
            require_admin(tx, caller, org)?;
            let d = tx
                .delegation(org)?
                .ok_or_else(|| Error::not_found("delegation"))?;
            end(tx, &d, Ended::Early, Some(&caller.account_id), now)?;
            Ok(())
        })
    }

    /// The scheduler's part: delegations whose period began start, and those whose period is over
    /// end, each once however many schedulers run.
    pub(super) fn run_delegations(
        &self,
        now: Timestamp,
        limit: u32,
        work: &mut DueWork,
    ) -> Result<(), Error> {
        let due = self.read(|tx| tx.due_delegations(now, limit))?;
        for d in due {
            self.change(|tx| {
                let moved = if d.ends_at <= now {
                    end(tx, &d, Ended::PeriodOver, None, now)?
                } else if tx.start_delegation(
                    &d.organisation_id,
                    &d.delegate_membership_id,
                    d.starts_at,
                )? {
                    started(tx, &d, now)?;
                    true
                } else {
                    false
                };
                work.delegations += usize::from(moved);
                Ok(())
            })?;
        }
        Ok(())
    }

    /// The PPC offers the role to another member of the organisation, who must accept it before
    /// it moves. A new offer replaces an open one.
    pub fn offer_handover(
        &self,
        caller: &Caller,
        org: &str,
        to_membership_id: &str,
        now: Timestamp,
    ) -> Result<Handover, Error> {
        self.change(|tx| {
            let mine = own_membership_in(tx, caller, org).map_err(|_| not_the_ppc())?;
            if !mine.roles.contains(&crate::model::Role::Ppc) {
                return Err(not_the_ppc());
            }
            let to = colleague(tx, org, to_membership_id)?;
            if to.account_id == caller.account_id {
                return Err(Error::conflict("already_ppc", "You are the Primary Program Contact already. Choose the colleague who takes the role over."));
            }
            if to.is_ppc {
                return Err(Error::conflict("already_ppc", "This member is a Primary Program Contact already."));
            }
            let id = new_id("hnd");
            tx.insert_handover(&NewHandover {
                id: &id,
                organisation_id: org,
                from_membership_id: &mine.membership_id,
                to_membership_id,
                created_at: now,
            })?;
            let h = tx.handover(&id)?.ok_or_else(|| Error::internal("the handover vanished inside its own transaction"))?;
            audit(tx, now, Some(org), Some(&caller.account_id), "ppc_handover.offered", to_membership_id, &h.to_name)?;
            emit(
                tx,
                now,
                "ppc_handover.offered",
                Audience::Account(&h.to_account_id),
                json!({"handover_id": id, "organisation_id": org, "organisation_name": h.organisation_name,
                       "from_name": h.from_name}),
            )?;
            Ok(handover_of(h))
        })
    }

    /// The member the PPC role was offered to takes it: they become the PPC, and the one who
    /// offered it stays an approver as a Global Administrator.
    pub fn accept_handover(
        &self,
        caller: &Caller,
        id: &str,
        now: Timestamp,
    ) -> Result<Handover, Error> {
        self.change(|tx| {
            let h = offered_to(tx, caller, id)?;
            let from = tx.membership(&h.from_membership_id)?;
            if !from.is_some_and(|m| m.active && m.is_ppc) {
                return Err(Error::conflict(
                    "handover_stale",
                    "The person who offered you the role is no longer its Primary Program Contact, so the offer has lapsed.",
                ));
            }
            colleague(tx, &h.organisation_id, &h.to_membership_id)?;
            if !tx.close_handover(id, HandoverStatus::Accepted, now)? {
                return Err(handover_closed());
            }
            tx.set_ppc(&h.from_membership_id, false)?;
            tx.set_ppc(&h.to_membership_id, true)?;
            tx.grant_privilege(&NewGrant {
                membership_id: &h.from_membership_id,
                privilege: Privilege::GlobalAdmin,
                granted_at: now,
                granted_by: &caller.account_id,
            })?;
            audit(tx, now, Some(&h.organisation_id), Some(&caller.account_id), "ppc_handover.accepted", &h.to_membership_id,
                  &format!("{} is the Primary Program Contact; {} keeps Global Administrator", h.to_name, h.from_name))?;
            let data = json!({"handover_id": id, "organisation_id": h.organisation_id, "organisation_name": h.organisation_name,
                              "from_name": h.from_name, "to_name": h.to_name});
            emit(tx, now, "ppc_handover.accepted", Audience::AdminsOf(&h.organisation_id), data)?;
            tx.bump_revision(&h.to_membership_id)?;
            tx.bump_revision(&h.from_membership_id)?;
            let h = tx.handover(id)?.ok_or_else(|| Error::not_found("handover"))?;
            Ok(handover_of(h))
        })
    }

    /// The member the PPC role was offered to turns it down; the PPC hears it.
    pub fn decline_handover(
        &self,
        caller: &Caller,
        id: &str,
        now: Timestamp,
    ) -> Result<Handover, Error> {
        self.change(|tx| {
            let h = offered_to(tx, caller, id)?;
            if !tx.close_handover(id, HandoverStatus::Declined, now)? {
                return Err(handover_closed());
            }
            audit(tx, now, Some(&h.organisation_id), Some(&caller.account_id), "ppc_handover.declined", &h.to_membership_id, &h.to_name)?;
            emit(
                tx,
                now,
                "ppc_handover.declined",
                Audience::Account(&h.from_account_id),
                json!({"handover_id": id, "organisation_id": h.organisation_id, "organisation_name": h.organisation_name,
                       "to_name": h.to_name}),
            )?;
            let h = tx.handover(id)?.ok_or_else(|| Error::not_found("handover"))?;
            Ok(handover_of(h))
        })
    }
}

fn not_the_ppc() -> Error {
    Error::forbidden("Only the organisation's Primary Program Contact can hand the role over.")
}

fn handover_closed() -> Error {
    Error::conflict(
        "handover_closed",
        "This offer is no longer open: it was accepted, declined or replaced by a newer one.",
    )
}

/// An open offer made to the caller. Anyone else is told it does not exist, except the PPC who
/// made it (who may not answer it).
fn offered_to(tx: &mut dyn ReadTx, caller: &Caller, id: &str) -> Result<HandoverRow, Error> {
    let h = tx
        .handover(id)?
        .ok_or_else(|| Error::not_found("handover"))?;
    if h.to_account_id != caller.account_id {
        return Err(if h.from_account_id == caller.account_id {
            Error::forbidden("Only the colleague you offered the role to can accept or decline it.")
        } else {
            Error::not_found("handover")
        });
    }
    if h.status != HandoverStatus::Offered {
        return Err(handover_closed());
    }
    Ok(h)
}
