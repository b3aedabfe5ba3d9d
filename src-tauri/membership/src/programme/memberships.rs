use serde_json::json;

use super::organisations::page;
use super::{audit, emit, optional, parse_cursor, require_admin, Caller, Programme};
use crate::domain::{JobTitle, Language, McpId, PersonName, Phone, Privilege};
use crate::model::{Member, Page, PageRequest, PrivilegeRequest, Profile, ProfilePatch};
use crate::store::{
    Audience, MembershipFacts, NewGrant, NewPrivilegeRequest, ProfileChanges, ReadTx, Store,
    WriteTx,
};
use crate::tokens::new_id;
use crate::{Error, Timestamp};

fn membership_facts(tx: &mut dyn ReadTx, id: &str) -> Result<MembershipFacts, Error> {
    tx.membership(id)?
        .ok_or_else(|| Error::not_found("membership"))
}

/// The caller's own active membership; anyone else's is "not found" unless the caller
/// administers it, in which case it is "forbidden" (they know it exists).
fn own_membership(
    tx: &mut dyn ReadTx,
    caller: &Caller,
    id: &str,
) -> Result<MembershipFacts, Error> {
    let m = membership_facts(tx, id)?;
    if m.account_id != caller.account_id() {
        return Err(if tx.is_admin(caller.account_id(), &m.organisation_id)? {
            Error::forbidden("Only the member can change their own individual profile.")
        } else {
            Error::not_found("membership")
        });
    }
    if !m.active {
        return Err(Error::gone(
            "membership_removed",
            "This membership has ended, so it can no longer be changed.",
        ));
    }
    Ok(m)
}

/// An active membership of an organisation the caller administers.
fn administered_membership(
    tx: &mut dyn ReadTx,
    caller: &Caller,
    id: &str,
) -> Result<MembershipFacts, Error> {
    let m = membership_facts(tx, id)?;
    if !tx.is_admin(caller.account_id(), &m.organisation_id)? {
        return Err(if m.account_id == caller.account_id() {
            Error::forbidden("Only your organisation's Primary Program Contact or a Global Administrator can change privileges.")
        } else {
            Error::not_found("membership")
        });
    }
    if !m.active {
        return Err(Error::gone(
            "membership_removed",
            "This membership has ended.",
        ));
    }
    Ok(m)
}

/// The profile of a membership known to exist (it was checked in this transaction).
fn load_profile(tx: &mut dyn ReadTx, id: &str) -> Result<Profile, Error> {
    tx.profile(id)?
        .ok_or_else(|| Error::internal("the membership vanished inside its own transaction"))
}

fn profile_event(
    tx: &mut dyn WriteTx,
    now: Timestamp,
    m: &MembershipFacts,
    id: &str,
    revision: u64,
) -> Result<(), Error> {
    emit(
        tx,
        now,
        "profile.updated",
        Audience::Account(&m.account_id),
        json!({"membership_id": id, "organisation_id": m.organisation_id, "revision": revision}),
    )
}

/// Refuses a change that would leave the organisation with no one able to approve its requests.
fn last_approver(message: &str) -> Error {
    Error::conflict("last_approver", message)
}

fn privileges_changed(
    tx: &mut dyn WriteTx,
    now: Timestamp,
    m: &MembershipFacts,
    id: &str,
    privilege: Privilege,
    granted: bool,
) -> Result<(), Error> {
    emit(
        tx,
        now,
        "membership.privileges_changed",
        Audience::Account(&m.account_id),
        json!({"membership_id": id, "organisation_id": m.organisation_id, "privilege": privilege.as_str(), "granted": granted}),
    )
}

impl<S: Store> Programme<S> {
    /// The individual profile, to the member or their organisation's administrators.
    pub fn profile(&self, caller: &Caller, membership: &str) -> Result<Profile, Error> {
        self.read(|tx| {
            let m = membership_facts(tx, membership)?;
            if m.account_id != caller.account_id()
                && !tx.is_admin(caller.account_id(), &m.organisation_id)?
            {
                return Err(Error::not_found("membership"));
            }
            load_profile(tx, membership)
        })
    }

    /// Applies a partial update if the profile is still at `if_match_revision`; otherwise refuses
    /// with `revision_mismatch` carrying the current profile, so the caller can merge.
    pub fn update_profile(
        &self,
        caller: &Caller,
        membership: &str,
        if_match_revision: u64,
        patch: &ProfilePatch,
        now: Timestamp,
    ) -> Result<Profile, Error> {
        let first = patch
            .first_name
            .as_deref()
            .map(PersonName::parse)
            .transpose()?;
        let last = patch
            .last_name
            .as_deref()
            .map(PersonName::parse)
            .transpose()?;
        // For optional fields: absent = unchanged, empty = cleared.
        let job = patch
            .job_title
            .as_deref()
            .map(|v| optional(Some(v), JobTitle::parse))
            .transpose()?;
        let phone = patch
            .phone
            .as_deref()
            .map(|v| optional(Some(v), Phone::parse))
            .transpose()?;
        let lang = patch
            .preferred_language
            .as_deref()
            .map(|v| optional(Some(v), Language::parse))
            .transpose()?;
        let changes = ProfileChanges {
            first_name: first.as_ref().map(|v| v.as_str()),
            last_name: last.as_ref().map(|v| v.as_str()),
            job_title: job.as_ref().map(|v| v.as_ref().map(|x| x.as_str())),
            phone: phone.as_ref().map(|v| v.as_ref().map(|x| x.as_str())),
            preferred_language: lang.as_ref().map(|v| v.as_ref().map(|x| x.as_str())),
        };
        self.change(|tx| {
            let m = own_membership(tx, caller, membership)?;
            let current = load_profile(tx, membership)?;
            if current.revision != if_match_revision {
                return Err(Error::revision_mismatch(current));
            }
            tx.update_profile(membership, &changes)?;
            tx.bump_revision(membership)?;
            let updated = load_profile(tx, membership)?;
            audit(
                tx,
                now,
                Some(&m.organisation_id),
                Some(caller.account_id()),
                "profile.updated",
                membership,
                "",
            )?;
            profile_event(tx, now, &m, membership, updated.revision)?;
            Ok(updated)
        })
    }

    /// Links an MCP ID to this membership. An MCP ID is linked to at most one organisation: if it
    /// is linked elsewhere it must be removed there first. The refusal names the other
    /// organisation only when that membership is also the caller's, so they can unlink it.
    pub fn link_mcp_id(
        &self,
        caller: &Caller,
        membership: &str,
        mcp_id: &str,
        now: Timestamp,
    ) -> Result<Profile, Error> {
        let mcp = McpId::parse(mcp_id)?;
        self.change(|tx| {
            let m = own_membership(tx, caller, membership)?;
            match tx.mcp_holder(mcp.as_str())? {
                Some(h) if h.membership_id == membership => return load_profile(tx, membership),
                Some(h) if h.account_id == caller.account_id() => {
                    return Err(Error::conflict(
                        "mcp_id_linked_elsewhere",
                        format!("Your MCP ID is associated to {}. You need to remove it there first; you can do that now.", h.organisation_name),
                    )
                    .with_details(json!({"membership_id": h.membership_id, "organisation_id": h.organisation_id, "organisation_name": h.organisation_name})))
                }
                Some(_) => {
                    return Err(Error::conflict(
                        "mcp_id_linked_elsewhere",
                        "This MCP ID is associated to another organisation. It must be removed there first; ask whoever linked it, or contact the Regional Service Centre.",
                    ))
                }
                None => {}
            }
            tx.set_mcp_id(membership, Some(mcp.as_str()))?;
            tx.bump_revision(membership)?;
            let updated = load_profile(tx, membership)?;
            audit(tx, now, Some(&m.organisation_id), Some(caller.account_id()), "mcp_id.linked", membership, mcp.as_str())?;
            profile_event(tx, now, &m, membership, updated.revision)?;
            Ok(updated)
        })
    }

    pub fn unlink_mcp_id(
        &self,
        caller: &Caller,
        membership: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        self.change(|tx| {
            let m = own_membership(tx, caller, membership)?;
            if load_profile(tx, membership)?.mcp_id.is_none() {
                return Ok(());
            }
            tx.set_mcp_id(membership, None)?;
            tx.bump_revision(membership)?;
            let revision = load_profile(tx, membership)?.revision;
            audit(
                tx,
                now,
                Some(&m.organisation_id),
                Some(caller.account_id()),
                "mcp_id.unlinked",
                membership,
                "",
            )?;
            profile_event(tx, now, &m, membership, revision)
        })
    }

    pub fn members(
        &self,
        caller: &Caller,
        org: &str,
        page_req: &PageRequest,
    ) -> Result<Page<Member>, Error> {
        let limit = page_req.limit();
        let after = parse_cursor(page_req.cursor.as_deref())?.unwrap_or(0);
        self.read(|tx| {
            require_admin(tx, caller, org)?;
            Ok(page(tx.members(org, after, limit + 1)?, limit))
        })
    }

    pub fn grant_privilege(
        &self,
        caller: &Caller,
        membership: &str,
        privilege: &str,
        now: Timestamp,
    ) -> Result<Member, Error> {
        let privilege = Privilege::parse(privilege)?;
        self.change(|tx| {
            let m = administered_membership(tx, caller, membership)?;
            let grant = NewGrant {
                membership_id: membership,
                privilege,
                granted_at: now,
                granted_by: caller.account_id(),
            };
            if tx.grant_privilege(&grant)? {
                audit(
                    tx,
                    now,
                    Some(&m.organisation_id),
                    Some(caller.account_id()),
                    "privilege.granted",
                    membership,
                    privilege.as_str(),
                )?;
                privileges_changed(tx, now, &m, membership, privilege, true)?;
            }
            tx.member(membership)?.ok_or_else(|| {
                Error::internal("the membership vanished inside its own transaction")
            })
        })
    }

    pub fn revoke_privilege(
        &self,
        caller: &Caller,
        membership: &str,
        privilege: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        let privilege = Privilege::parse(privilege)?;
        self.change(|tx| {
            let m = administered_membership(tx, caller, membership)?;
            if tx.revoke_privilege(membership, privilege)? {
                if privilege == Privilege::GlobalAdmin && !m.is_ppc && !tx.has_admin(&m.organisation_id)? {
                    return Err(last_approver("This is the last person who can approve requests for the organisation, so the right cannot be removed. Make someone else an approver first."));
                }
                audit(tx, now, Some(&m.organisation_id), Some(caller.account_id()), "privilege.revoked", membership, privilege.as_str())?;
                privileges_changed(tx, now, &m, membership, privilege, false)?;
            }
            Ok(())
        })
    }

    /// A member asks the administrators for a privilege; they are notified.
    pub fn request_privilege(
        &self,
        caller: &Caller,
        membership: &str,
        privilege: &str,
        note: Option<&str>,
        now: Timestamp,
    ) -> Result<PrivilegeRequest, Error> {
        let privilege = Privilege::parse(privilege)?;
        let note = match note {
            Some(n) => crate::domain::rules::NOTE
                .clean(n, "invalid_note", "The note")?
                .ok_or_else(|| {
                    Error::new(
                        crate::ErrorKind::Invalid,
                        "invalid_note",
                        "Keep the note to 500 characters or fewer.",
                    )
                })?,
            None => String::new(),
        };
        let note = (!note.is_empty()).then_some(note);
        self.change(|tx| {
            let m = own_membership(tx, caller, membership)?;
            if tx.has_privilege(membership, privilege)? {
                return Err(Error::conflict("already_granted", format!("You already have {}.", privilege.title())));
            }
            let id = new_id("prq");
            let step = super::pending::first_privilege_step(now, &self.config.pending);
            let expires_at = step.expires_at.unwrap_or(now);
            tx.insert_privilege_request(&NewPrivilegeRequest {
                id: &id,
                membership_id: membership,
                privilege,
                note: note.as_deref(),
                created_at: now,
                expires_at,
                next_step_at: step.next_step_at,
            })?;
            let profile = load_profile(tx, membership)?;
            let name = format!("{} {}", profile.first_name, profile.last_name);
            audit(tx, now, Some(&m.organisation_id), Some(caller.account_id()), "privilege.requested", membership, privilege.as_str())?;
            emit(
                tx,
                now,
                "privilege_request.created",
                Audience::AdminsOf(&m.organisation_id),
                json!({"privilege_request_id": id, "membership_id": membership, "organisation_id": m.organisation_id,
                       "privilege": privilege.as_str(), "member_name": name.trim()}),
            )?;
            Ok(PrivilegeRequest {
                privilege_request_id: id,
                membership_id: membership.to_owned(),
                privilege,
                note: note.clone(),
                created_at: now,
                expires_at: Some(expires_at),
                waiting_on: crate::model::ApproverRole::for_privilege_request(),
            })
        })
    }

    /// Open privilege requests of an organisation's active members, oldest first.
    pub fn privilege_requests(
        &self,
        caller: &Caller,
        org: &str,
    ) -> Result<Vec<PrivilegeRequest>, Error> {
        self.read(|tx| {
            require_admin(tx, caller, org)?;
            tx.open_privilege_requests(org)
        })
    }

    /// The member leaves, or an administrator removes them. The only PPC, and the last person who
    /// can approve, cannot go (`last_approver`) until the role is handed over. A delegation they
    /// are part of ends.
    /// The MCP ID is released and any unused verification links of this person for the
    /// organisation die.
    pub fn remove_membership(
        &self,
        caller: &Caller,
        membership: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        self.change(|tx| {
            let m = membership_facts(tx, membership)?;
            let own = m.account_id == caller.account_id();
            if !own && !tx.is_admin(caller.account_id(), &m.organisation_id)? {
                return Err(Error::not_found("membership"));
            }
            if !m.active {
                return Err(Error::gone("membership_removed", "This membership has already ended."));
            }
            if m.is_ppc && tx.active_ppc_count(&m.organisation_id)? <= 1 {
                return Err(last_approver(if own {
                    "You are the organisation's only Primary Program Contact, so you cannot leave yet. Hand the role over first: Membership Centre, Members, Hand over the PPC role."
                } else {
                    "This is the organisation's only Primary Program Contact, so the membership cannot end. They can hand the role over first from the Membership Centre."
                }));
            }
            // Only an approver's leaving can leave the organisation without one; asking for
            // anyone else would make every leave read (and, on PostgreSQL, conflict with) the
            // whole organisation's memberships.
            let approver = m.is_ppc || tx.has_privilege(membership, Privilege::GlobalAdmin)?;
            tx.end_membership(membership, now)?;
            if approver && !tx.has_admin(&m.organisation_id)? {
                return Err(last_approver("This is the last person who can approve requests for the organisation, so the membership cannot end. Make someone else an approver first."));
            }
            super::delegation::end_for_member(tx, &m.organisation_id, membership, caller.account_id(), now)?;
            tx.revoke_tokens_of_account_at(&m.account_id, &m.organisation_id, now)?;
            let action = if own { "membership.left" } else { "membership.removed" };
            audit(tx, now, Some(&m.organisation_id), Some(caller.account_id()), action, membership, "")?;
            emit(
                tx,
                now,
                "membership.removed",
                Audience::Account(&m.account_id),
                json!({"membership_id": membership, "organisation_id": m.organisation_id}),
            )
        })
    }
}
