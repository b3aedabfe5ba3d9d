use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde_json::json;

use super::accounts::roles;
use super::organisations::page;
use super::{
    audit_sql, emit_sql, is_admin_sql, optional, parse_cursor, require_admin_sql, unix, Caller, Programme,
};
use crate::domain::{JobTitle, Language, McpId, PersonName, Phone, Privilege};
use crate::model::{
    Member, MembershipStatus, Page, PageRequest, PrivilegeRequest, Profile, ProfilePatch,
};
use crate::store::sqlite::from_unix;
use crate::store::Audience;
use crate::tokens::new_id;
use crate::{Error, Timestamp};

pub(super) fn privileges_from(list: Option<String>) -> Vec<Privilege> {
    let mut v: Vec<Privilege> = list
        .as_deref()
        .unwrap_or("")
        .split(',')
        .filter_map(|p| Privilege::parse(p).ok())
        .collect();
    v.sort();
    v
}

/// The facts about a membership that every rule needs.
struct MembershipRow {
    organisation_id: String,
    account_id: String,
    active: bool,
    is_ppc: bool,
}

fn membership_row(c: &Connection, id: &str) -> Result<Option<MembershipRow>, Error> {
    Ok(c.query_row(
        "SELECT organisation_id, account_id, status, is_ppc FROM memberships WHERE id = ?1",
        [id],
        |r| {
            Ok(MembershipRow {
                organisation_id: r.get(0)?,
                account_id: r.get(1)?,
                active: r.get::<_, String>(2)? == "active",
                is_ppc: r.get(3)?,
            })
        },
    )
    .optional()?)
}

/// The caller's own active membership; anyone else's is "not found" unless the caller
/// administers it, in which case it is "forbidden" (they know it exists).
fn own_membership(c: &Connection, caller: &Caller, id: &str) -> Result<MembershipRow, Error> {
    let m = membership_row(c, id)?.ok_or_else(|| Error::not_found("membership"))?;
    if m.account_id != caller.account_id() {
        return Err(if is_admin_sql(c, caller.account_id(), &m.organisation_id)? {
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
    c: &Connection,
    caller: &Caller,
    id: &str,
) -> Result<MembershipRow, Error> {
    let m = membership_row(c, id)?.ok_or_else(|| Error::not_found("membership"))?;
    if !is_admin_sql(c, caller.account_id(), &m.organisation_id)? {
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

fn load_profile(c: &Connection, id: &str) -> Result<Profile, Error> {
    Ok(c.query_row(
        "SELECT first_name, last_name, job_title, phone, preferred_language, mcp_id, revision FROM memberships WHERE id = ?1",
        [id],
        |r| {
            Ok(Profile {
                first_name: r.get(0)?,
                last_name: r.get(1)?,
                job_title: r.get(2)?,
                phone: r.get(3)?,
                preferred_language: r.get(4)?,
                mcp_id: r.get(5)?,
                revision: r.get::<_, i64>(6)? as u64,
            })
        },
    )?)
}

fn load_member(c: &Connection, id: &str) -> Result<(i64, Member), Error> {
    Ok(c.query_row(
        "SELECT m.rowid, m.id, m.account_id, a.display_name, m.organisation_email, m.status, m.is_ppc,
                (SELECT group_concat(privilege) FROM membership_privileges p WHERE p.membership_id = m.id)
         FROM memberships m JOIN accounts a ON a.id = m.account_id WHERE m.id = ?1",
        [id],
        member_row,
    )?)
}

fn member_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, Member)> {
    Ok((
        r.get(0)?,
        Member {
            membership_id: r.get(1)?,
            account_id: r.get(2)?,
            display_name: r.get(3)?,
            organisation_email: r.get(4)?,
            status: if r.get::<_, String>(5)? == "active" {
                MembershipStatus::Active
            } else {
                MembershipStatus::Removed
            },
            roles: roles(r.get(6)?),
            privileges: privileges_from(r.get(7)?),
        },
    ))
}

fn bump_revision(tx: &Transaction<'_>, id: &str) -> Result<(), Error> {
    tx.execute(
        "UPDATE memberships SET revision = revision + 1 WHERE id = ?1",
        [id],
    )?;
    Ok(())
}

fn profile_event(
    tx: &Transaction<'_>,
    now: Timestamp,
    m: &MembershipRow,
    id: &str,
    revision: u64,
) -> Result<(), Error> {
    emit_sql(
        tx,
        now,
        "profile.updated",
        Audience::Account(&m.account_id),
        json!({"membership_id": id, "organisation_id": m.organisation_id, "revision": revision}),
    )
}

impl Programme {
    /// The individual profile, to the member or their organisation's administrators.
    pub fn profile(&self, caller: &Caller, membership: &str) -> Result<Profile, Error> {
        self.read_sql(|c| {
            let m = membership_row(c, membership)?.ok_or_else(|| Error::not_found("membership"))?;
            if m.account_id != caller.account_id()
                && !is_admin_sql(c, caller.account_id(), &m.organisation_id)?
            {
                return Err(Error::not_found("membership"));
            }
            load_profile(c, membership)
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
        self.write_sql(|tx, _| {
            let m = own_membership(tx, caller, membership)?;
            let current = load_profile(tx, membership)?;
            if current.revision != if_match_revision {
                return Err(Error::revision_mismatch(current));
            }
            if let Some(v) = &first {
                tx.execute(
                    "UPDATE memberships SET first_name = ?1 WHERE id = ?2",
                    params![v.as_str(), membership],
                )?;
            }
            if let Some(v) = &last {
                tx.execute(
                    "UPDATE memberships SET last_name = ?1 WHERE id = ?2",
                    params![v.as_str(), membership],
                )?;
            }
            if let Some(v) = &job {
                tx.execute(
                    "UPDATE memberships SET job_title = ?1 WHERE id = ?2",
                    params![v.as_ref().map(|x| x.as_str()), membership],
                )?;
            }
            if let Some(v) = &phone {
                tx.execute(
                    "UPDATE memberships SET phone = ?1 WHERE id = ?2",
                    params![v.as_ref().map(|x| x.as_str()), membership],
                )?;
            }
            if let Some(v) = &lang {
                tx.execute(
                    "UPDATE memberships SET preferred_language = ?1 WHERE id = ?2",
                    params![v.as_ref().map(|x| x.as_str()), membership],
                )?;
            }
            bump_revision(tx, membership)?;
            let updated = load_profile(tx, membership)?;
            audit_sql(
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
        self.write_sql(|tx, _| {
            let m = own_membership(tx, caller, membership)?;
            let holder: Option<(String, String, String, String)> = tx
                .query_row(
                    "SELECT m.id, m.account_id, o.id, o.name FROM memberships m JOIN organisations o ON o.id = m.organisation_id WHERE m.mcp_id = ?1",
                    [mcp.as_str()],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?;
            match holder {
                Some((id, ..)) if id == membership => return load_profile(tx, membership),
                Some((id, owner, org_id, org_name)) if owner == caller.account_id() => {
                    return Err(Error::conflict(
                        "mcp_id_linked_elsewhere",
                        format!("Your MCP ID is associated to {org_name}. You need to remove it there first; you can do that now."),
                    )
                    .with_details(json!({"membership_id": id, "organisation_id": org_id, "organisation_name": org_name})))
                }
                Some(_) => {
                    return Err(Error::conflict(
                        "mcp_id_linked_elsewhere",
                        "This MCP ID is associated to another organisation. It must be removed there first; ask whoever linked it, or contact the Regional Service Centre.",
                    ))
                }
                None => {}
            }
            tx.execute("UPDATE memberships SET mcp_id = ?1 WHERE id = ?2", params![mcp.as_str(), membership])?;
            bump_revision(tx, membership)?;
            let updated = load_profile(tx, membership)?;
            audit_sql(tx, now, Some(&m.organisation_id), Some(caller.account_id()), "mcp_id.linked", membership, mcp.as_str())?;
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
        self.write_sql(|tx, _| {
            let m = own_membership(tx, caller, membership)?;
            let had: Option<String> = tx.query_row(
                "SELECT mcp_id FROM memberships WHERE id = ?1",
                [membership],
                |r| r.get(0),
            )?;
            if had.is_none() {
                return Ok(());
            }
            tx.execute(
                "UPDATE memberships SET mcp_id = NULL WHERE id = ?1",
                [membership],
            )?;
            bump_revision(tx, membership)?;
            let revision = load_profile(tx, membership)?.revision;
            audit_sql(
                tx,
                now,
                Some(&m.organisation_id),
                Some(caller.account_id()),
                "mcp_id.unlinked",
                membership,
                "",
            )?;
            profile_event(tx, now, &m, membership, revision)?;
            Ok(())
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
        self.read_sql(|c| {
            require_admin_sql(c, caller, org)?;
            let mut stmt = c.prepare_cached(
                "SELECT m.rowid, m.id, m.account_id, a.display_name, m.organisation_email, m.status, m.is_ppc,
                        (SELECT group_concat(privilege) FROM membership_privileges p WHERE p.membership_id = m.id)
                 FROM memberships m JOIN accounts a ON a.id = m.account_id
                 WHERE m.organisation_id = ?1 AND m.status = 'active' AND m.rowid > ?2 ORDER BY m.rowid LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![org, after, limit as i64 + 1], member_row)?.collect::<Result<Vec<_>, _>>()?;
            Ok(page(rows, limit))
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
        self.write_sql(|tx, _| {
            let m = administered_membership(tx, caller, membership)?;
            let added = tx.execute(
                "INSERT OR IGNORE INTO membership_privileges(membership_id, privilege, granted_at, granted_by) VALUES (?1, ?2, ?3, ?4)",
                params![membership, privilege.as_str(), unix(now), caller.account_id()],
            )?;
            if added == 1 {
                audit_sql(tx, now, Some(&m.organisation_id), Some(caller.account_id()), "privilege.granted", membership, privilege.as_str())?;
                emit_sql(
                    tx,
                    now,
                    "membership.privileges_changed",
                    Audience::Account(&m.account_id),
                    json!({"membership_id": membership, "organisation_id": m.organisation_id, "privilege": privilege.as_str(), "granted": true}),
                )?;
            }
            Ok(load_member(tx, membership)?.1)
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
        self.write_sql(|tx, _| {
            let m = administered_membership(tx, caller, membership)?;
            let removed = tx.execute(
                "DELETE FROM membership_privileges WHERE membership_id = ?1 AND privilege = ?2",
                params![membership, privilege.as_str()],
            )?;
            if removed == 1 {
                if privilege == Privilege::GlobalAdmin && !m.is_ppc && !org_has_admin(tx, &m.organisation_id)? {
                    return Err(Error::conflict("last_admin", "This is the organisation's last administrator, so the right cannot be removed."));
                }
                audit_sql(tx, now, Some(&m.organisation_id), Some(caller.account_id()), "privilege.revoked", membership, privilege.as_str())?;
                emit_sql(
                    tx,
                    now,
                    "membership.privileges_changed",
                    Audience::Account(&m.account_id),
                    json!({"membership_id": membership, "organisation_id": m.organisation_id, "privilege": privilege.as_str(), "granted": false}),
                )?;
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
        let note = note
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
        if let Some(c) = note.as_deref().and_then(crate::domain::hidden_in_text) {
            return Err(Error::new(
                crate::ErrorKind::Invalid,
                "invalid_note",
                crate::domain::hidden_text_message("The note", c),
            ));
        }
        if note.as_deref().is_some_and(|n| n.chars().count() > 500) {
            return Err(Error::new(
                crate::ErrorKind::Invalid,
                "invalid_note",
                "Keep the note to 500 characters or fewer.",
            ));
        }
        self.write_sql(|tx, _| {
            let m = own_membership(tx, caller, membership)?;
            let has: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM membership_privileges WHERE membership_id = ?1 AND privilege = ?2)",
                params![membership, privilege.as_str()],
                |r| r.get(0),
            )?;
            if has {
                return Err(Error::conflict("already_granted", format!("You already have {}.", privilege.title())));
            }
            let id = new_id("prq");
            tx.execute(
                "INSERT INTO privilege_requests(id, membership_id, privilege, note, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, membership, privilege.as_str(), note, unix(now)],
            )?;
            let name: String = tx.query_row("SELECT first_name || ' ' || last_name FROM memberships WHERE id = ?1", [membership], |r| r.get(0))?;
            audit_sql(tx, now, Some(&m.organisation_id), Some(caller.account_id()), "privilege.requested", membership, privilege.as_str())?;
            emit_sql(
                tx,
                now,
                "privilege_request.created",
                Audience::AdminsOf(&m.organisation_id),
                json!({"privilege_request_id": id, "membership_id": membership, "organisation_id": m.organisation_id,
                       "privilege": privilege.as_str(), "member_name": name.trim()}),
            )?;
            Ok(PrivilegeRequest { privilege_request_id: id, membership_id: membership.to_owned(), privilege, note, created_at: now })
        })
    }

    /// Open privilege requests of an organisation's active members, oldest first.
    pub fn privilege_requests(
        &self,
        caller: &Caller,
        org: &str,
    ) -> Result<Vec<PrivilegeRequest>, Error> {
        self.read_sql(|c| {
            require_admin_sql(c, caller, org)?;
            let mut stmt = c.prepare_cached(
                "SELECT q.id, q.membership_id, q.privilege, q.note, q.created_at FROM privilege_requests q
                 JOIN memberships m ON m.id = q.membership_id
                 WHERE m.organisation_id = ?1 AND m.status = 'active'
                   AND NOT EXISTS (SELECT 1 FROM membership_privileges p WHERE p.membership_id = q.membership_id AND p.privilege = q.privilege)
                 ORDER BY q.created_at LIMIT 200",
            )?;
            let rows = stmt
                .query_map([org], |r| {
                    Ok(PrivilegeRequest {
                        privilege_request_id: r.get(0)?,
                        membership_id: r.get(1)?,
                        privilege: Privilege::parse(&r.get::<_, String>(2)?).unwrap_or(Privilege::ActionPack),
                        note: r.get(3)?,
                        created_at: from_unix(r.get(4)?),
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    /// The member leaves, or an administrator removes them. The last PPC cannot be removed.
    /// The MCP ID is released and any unused verification links of this person for the
    /// organisation die.
    pub fn remove_membership(
        &self,
        caller: &Caller,
        membership: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        self.write_sql(|tx, _| {
            let m = membership_row(tx, membership)?.ok_or_else(|| Error::not_found("membership"))?;
            let own = m.account_id == caller.account_id();
            if !own && !is_admin_sql(tx, caller.account_id(), &m.organisation_id)? {
                return Err(Error::not_found("membership"));
            }
            if !m.active {
                return Err(Error::gone("membership_removed", "This membership has already ended."));
            }
            if m.is_ppc {
                let ppcs: i64 = tx.query_row(
                    "SELECT count(*) FROM memberships WHERE organisation_id = ?1 AND status = 'active' AND is_ppc = 1",
                    [&m.organisation_id],
                    |r| r.get(0),
                )?;
                if ppcs <= 1 {
                    return Err(Error::conflict(
                        "last_ppc",
                        "This is the organisation's only Primary Program Contact, so the membership cannot end. Contact the Regional Service Centre to hand the role over first.",
                    ));
                }
            }
            tx.execute(
                "UPDATE memberships SET status = 'removed', removed_at = ?1, mcp_id = NULL, revision = revision + 1 WHERE id = ?2",
                params![unix(now), membership],
            )?;
            tx.execute("DELETE FROM membership_privileges WHERE membership_id = ?1", [membership])?;
            tx.execute("UPDATE association_requests SET status = 'removed' WHERE membership_id = ?1", [membership])?;
            tx.execute(
                "UPDATE verification_tokens SET revoked_at = ?1 WHERE account_id = ?2 AND used_at IS NULL AND revoked_at IS NULL
                   AND request_id IN (SELECT id FROM association_requests WHERE organisation_id = ?3)",
                params![unix(now), m.account_id, m.organisation_id],
            )?;
            let action = if own { "membership.left" } else { "membership.removed" };
            audit_sql(tx, now, Some(&m.organisation_id), Some(caller.account_id()), action, membership, "")?;
            emit_sql(
                tx,
                now,
                "membership.removed",
                Audience::Account(&m.account_id),
                json!({"membership_id": membership, "organisation_id": m.organisation_id}),
            )?;
            Ok(())
        })
    }
}

fn org_has_admin(c: &Connection, org: &str) -> Result<bool, Error> {
    Ok(c.query_row(
        "SELECT EXISTS (SELECT 1 FROM memberships m WHERE m.organisation_id = ?1 AND m.status = 'active' AND (m.is_ppc = 1
            OR EXISTS (SELECT 1 FROM membership_privileges p WHERE p.membership_id = m.id AND p.privilege = 'global_admin')))",
        [org],
        |r| r.get(0),
    )?)
}
