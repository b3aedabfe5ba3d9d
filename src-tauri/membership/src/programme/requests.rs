use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde_json::json;

use super::organisations::page;
use super::{
    audit_sql, emit_sql, is_admin_sql, optional, organisation_name_sql, parse_cursor, require_admin_sql, unix,
    Caller, Programme, ACCEPTED_MESSAGE, PENDING_MESSAGE,
};
use crate::domain::{EmailAddress, EmailDomain, JobTitle, PersonName, Phone};
use crate::mail::Mail;
use crate::store::Audience;
use crate::model::{
    AssociationRequest, InvitationResult, MembershipStatus, NewAssociationRequest, Page,
    PageRequest, Preview, RequestCreated, RequestStatus, Verified,
};
use crate::store::sqlite::from_unix;
use crate::tokens::{new_id, new_token, token_hash};
use crate::{Error, ErrorKind, Secret, Timestamp};

const REQUEST_COLUMNS: &str = "r.rowid, r.id, r.organisation_id, o.name, r.account_id, r.first_name, r.last_name, r.organisation_email,
     r.status, r.created_at, r.decided_at, r.decision_reason, r.membership_id";

fn request_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, AssociationRequest)> {
    let status: String = r.get(8)?;
    Ok((
        r.get(0)?,
        AssociationRequest {
            request_id: r.get(1)?,
            organisation_id: r.get(2)?,
            organisation_name: r.get(3)?,
            account_id: r.get(4)?,
            first_name: r.get(5)?,
            last_name: r.get(6)?,
            organisation_email: r.get(7)?,
            status: RequestStatus::parse(&status).unwrap_or(RequestStatus::PendingApproval),
            created_at: from_unix(r.get(9)?),
            decided_at: r.get::<_, Option<i64>>(10)?.map(from_unix),
            decision_reason: r.get(11)?,
            membership_id: r.get(12)?,
        },
    ))
}

fn load_request(c: &Connection, id: &str) -> Result<Option<AssociationRequest>, Error> {
    Ok(c.query_row(
        &format!("SELECT {REQUEST_COLUMNS} FROM association_requests r JOIN organisations o ON o.id = r.organisation_id WHERE r.id = ?1"),
        [id],
        request_row,
    )
    .optional()?
    .map(|(_, r)| r))
}

pub(super) fn requests_of(c: &Connection, account: &str) -> Result<Vec<AssociationRequest>, Error> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {REQUEST_COLUMNS} FROM association_requests r JOIN organisations o ON o.id = r.organisation_id
         WHERE r.account_id = ?1 ORDER BY r.created_at DESC, r.rowid DESC LIMIT 100"
    ))?;
    let rows = stmt
        .query_map([account], request_row)?
        .map(|r| r.map(|(_, x)| x))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

// Transitional: until this file uses the store seam.
fn domain_rules(c: &Connection, org: &str) -> Result<Vec<crate::model::DomainRule>, Error> {
    let mut stmt = c.prepare_cached("SELECT domain, include_subdomains, added_at FROM org_domains WHERE organisation_id = ?1 ORDER BY domain")?;
    let rows = stmt
        .query_map([org], |r| {
            Ok(crate::model::DomainRule {
                domain: r.get(0)?,
                include_subdomains: r.get(1)?,
                added_at: from_unix(r.get(2)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// How a request for `email` at `org` would be decided now.
enum Decision {
    Invited,
    Domain {
        domain: String,
        include_subdomains: bool,
    },
    Pending,
}

fn decide(c: &Connection, org: &str, email: &EmailAddress) -> Result<Decision, Error> {
    let invited: bool = c.query_row(
        "SELECT EXISTS (SELECT 1 FROM invitations WHERE organisation_id = ?1 AND email = ?2 AND used_at IS NULL)",
        params![org, email.as_str()],
        |r| r.get(0),
    )?;
    if invited {
        return Ok(Decision::Invited);
    }
    let address_domain = email.domain();
    for rule in domain_rules(c, org)? {
        // Stored rules are canonical; a rule that no longer parses (the public-suffix list moved)
        // simply stops matching.
        if let Ok(d) = EmailDomain::parse(&rule.domain) {
            if d.matches(&address_domain, rule.include_subdomains) {
                return Ok(Decision::Domain {
                    domain: rule.domain,
                    include_subdomains: rule.include_subdomains,
                });
            }
        }
    }
    Ok(Decision::Pending)
}

fn preview_of(decision: &Decision, org_name: &str, email: &EmailAddress) -> Preview {
    match decision {
        Decision::Invited => Preview {
            outcome: RequestStatus::Accepted,
            matched_domain: None,
            reason: format!("{org_name} has invited {email}, so your request will be accepted at once."),
        },
        Decision::Domain { domain, include_subdomains } => Preview {
            outcome: RequestStatus::Accepted,
            matched_domain: Some(domain.clone()),
            reason: if *include_subdomains {
                format!("{org_name} has pre-approved {domain} and its subdomains, so your request will be accepted at once.")
            } else {
                format!("{org_name} has pre-approved {domain}, so your request will be accepted at once.")
            },
        },
        Decision::Pending => Preview {
            outcome: RequestStatus::PendingApproval,
            matched_domain: None,
            reason: format!(
                "{org_name} has not pre-approved {}, so your request will be sent to your organisation\u{2019}s program administrator to accept.",
                email.domain()
            ),
        },
    }
}

impl Programme {
    /// Exactly what a request for `organisation_email` would get now, and why. Administrators use
    /// the same call as the policy tester.
    pub fn preview_association(
        &self,
        _caller: &Caller,
        org: &str,
        organisation_email: &str,
    ) -> Result<Preview, Error> {
        let email = EmailAddress::parse(organisation_email)?;
        self.read_sql(|c| {
            let name = organisation_name_sql(c, org)?;
            Ok(preview_of(&decide(c, org, &email)?, &name, &email))
        })
    }

    pub fn request_association(
        &self,
        caller: &Caller,
        new: &NewAssociationRequest,
        now: Timestamp,
    ) -> Result<RequestCreated, Error> {
        let first = PersonName::parse(&new.first_name)?;
        let last = PersonName::parse(&new.last_name)?;
        let email = EmailAddress::parse(&new.organisation_email)?;
        let phone = optional(new.phone.as_deref(), Phone::parse)?;
        let job = optional(new.job_title.as_deref(), JobTitle::parse)?;
        let org = new.organisation_id.as_str();
        let cfg = self.config.clone();
        self.write_sql(|tx, outbox| {
            let org_name = organisation_name_sql(tx, org)?;
            let member: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM memberships WHERE organisation_id = ?1 AND account_id = ?2 AND status = 'active')",
                params![org, caller.account_id],
                |r| r.get(0),
            )?;
            if member {
                return Err(Error::conflict("already_member", format!("You are already a member of {org_name}. Open it from your home screen.")));
            }
            let open: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM association_requests WHERE organisation_id = ?1 AND account_id = ?2 AND status IN ('pending_approval', 'accepted'))",
                params![org, caller.account_id],
                |r| r.get(0),
            )?;
            if open {
                return Err(Error::conflict(
                    "request_open",
                    format!("You already have an open request for {org_name}. Wait for it to be decided, or withdraw it to send a new one."),
                ));
            }
            let last_denial: Option<i64> = tx.query_row(
                "SELECT max(decided_at) FROM association_requests WHERE organisation_id = ?1 AND account_id = ?2 AND status = 'denied'",
                params![org, caller.account_id],
                |r| r.get(0),
            )?;
            if let Some(at) = last_denial {
                if unix(now) < at + cfg.deny_cooldown_secs {
                    let days = ((at + cfg.deny_cooldown_secs - unix(now)) + 86_399) / 86_400;
                    return Err(Error::conflict(
                        "recently_denied",
                        format!("{org_name} denied your request recently. You can ask again in {days} day(s), or contact your program administrator."),
                    ));
                }
            }
            let decision = decide(tx, org, &email)?;
            let accepted = !matches!(decision, Decision::Pending);
            let status = if accepted { RequestStatus::Accepted } else { RequestStatus::PendingApproval };
            let id = new_id("req");
            tx.execute(
                "INSERT INTO association_requests(id, organisation_id, account_id, first_name, last_name, organisation_email, phone, job_title,
                     status, created_at, decided_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    id,
                    org,
                    caller.account_id,
                    first.as_str(),
                    last.as_str(),
                    email.as_str(),
                    phone.as_ref().map(|p| p.as_str()),
                    job.as_ref().map(|j| j.as_str()),
                    status.as_str(),
                    unix(now),
                    accepted.then(|| unix(now)),
                ],
            )?;
            let how = match &decision {
                Decision::Invited => "accepted: invited".to_owned(),
                Decision::Domain { domain, .. } => format!("accepted: domain {domain} pre-approved"),
                Decision::Pending => "sent to the program administrator".to_owned(),
            };
            audit_sql(tx, now, Some(org), Some(&caller.account_id), "association_request.created", &id, &how)?;
            emit_sql(
                tx,
                now,
                "association_request.created",
                Audience::AdminsOf(org),
                json!({"request_id": id, "organisation_id": org, "organisation_name": org_name,
                       "first_name": first.as_str(), "last_name": last.as_str(), "organisation_email": email.as_str(),
                       "status": status.as_str()}),
            )?;
            if accepted {
                issue_token(tx, &cfg, &id, &caller.account_id, email.as_str(), &org_name, now, outbox)?;
            }
            let message = if accepted { ACCEPTED_MESSAGE } else { PENDING_MESSAGE };
            Ok(RequestCreated { request_id: id, status, message: message.to_owned() })
        })
    }

    /// A request, to its requester or its organisation's administrators; hidden from anyone else.
    pub fn association_request(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<AssociationRequest, Error> {
        self.read_sql(|c| visible_request(c, caller, id))
    }

    pub fn association_queue(
        &self,
        caller: &Caller,
        org: &str,
        status: Option<RequestStatus>,
        page_req: &PageRequest,
    ) -> Result<Page<AssociationRequest>, Error> {
        let limit = page_req.limit();
        let after = parse_cursor(page_req.cursor.as_deref())?.unwrap_or(0);
        self.read_sql(|c| {
            require_admin_sql(c, caller, org)?;
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {REQUEST_COLUMNS} FROM association_requests r JOIN organisations o ON o.id = r.organisation_id
                 WHERE r.organisation_id = ?1 AND (?2 IS NULL OR r.status = ?2) AND r.rowid > ?3 ORDER BY r.rowid LIMIT ?4"
            ))?;
            let rows = stmt
                .query_map(params![org, status.map(RequestStatus::as_str), after, limit as i64 + 1], request_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(page(rows, limit))
        })
    }

    /// Accepts a pending request; the verification mail goes out. Of two concurrent approvals,
    /// exactly one succeeds: the state check and the change share one immediate transaction.
    pub fn approve(
        &self,
        caller: &Caller,
        id: &str,
        now: Timestamp,
    ) -> Result<AssociationRequest, Error> {
        let cfg = self.config.clone();
        self.write_sql(|tx, outbox| {
            let req = pending_for_admin(tx, caller, id)?;
            tx.execute(
                "UPDATE association_requests SET status = 'accepted', decided_at = ?1, decided_by = ?2 WHERE id = ?3",
                params![unix(now), caller.account_id, id],
            )?;
            audit_sql(tx, now, Some(&req.organisation_id), Some(&caller.account_id), "association_request.approved", id, "")?;
            emit_sql(
                tx,
                now,
                "association_request.decided",
                Audience::Account(&req.account_id),
                json!({"request_id": id, "organisation_id": req.organisation_id, "organisation_name": req.organisation_name, "status": "accepted"}),
            )?;
            issue_token(tx, &cfg, id, &req.account_id, &req.organisation_email, &req.organisation_name, now, outbox)?;
            load_request(tx, id)?.ok_or_else(|| Error::not_found("request"))
        })
    }

    pub fn deny(
        &self,
        caller: &Caller,
        id: &str,
        reason: &str,
        now: Timestamp,
    ) -> Result<AssociationRequest, Error> {
        let reason = reason.trim();
        if let Some(c) = crate::domain::hidden_in_text(reason) {
            return Err(Error::new(
                ErrorKind::Invalid,
                "invalid_reason",
                crate::domain::hidden_text_message("The reason", c),
            ));
        }
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(Error::new(
                ErrorKind::Invalid,
                "invalid_reason",
                "Give a reason of 1 to 500 characters; the requester will see it.",
            ));
        }
        self.write_sql(|tx, outbox| {
            let req = pending_for_admin(tx, caller, id)?;
            tx.execute(
                "UPDATE association_requests SET status = 'denied', decided_at = ?1, decided_by = ?2, decision_reason = ?3 WHERE id = ?4",
                params![unix(now), caller.account_id, reason, id],
            )?;
            audit_sql(tx, now, Some(&req.organisation_id), Some(&caller.account_id), "association_request.denied", id, reason)?;
            emit_sql(
                tx,
                now,
                "association_request.decided",
                Audience::Account(&req.account_id),
                json!({"request_id": id, "organisation_id": req.organisation_id, "organisation_name": req.organisation_name, "status": "denied"}),
            )?;
            outbox.push(Mail {
                to: req.organisation_email.clone(),
                subject: format!("Your request to join {} was not accepted", req.organisation_name),
                body: format!(
                    "Hello {},\n\n{}'s program administrator did not accept your request to associate with the organisation.\n\nReason: {reason}\n\nIf you think this is a mistake, contact your program administrator.\n",
                    req.first_name, req.organisation_name
                ),
                link: None,
            });
            load_request(tx, id)?.ok_or_else(|| Error::not_found("request"))
        })
    }

    /// The requester takes back a request that is pending or not yet verified.
    pub fn withdraw(
        &self,
        caller: &Caller,
        id: &str,
        now: Timestamp,
    ) -> Result<AssociationRequest, Error> {
        self.write_sql(|tx, _| {
            let req = own_request(tx, caller, id)?;
            if !matches!(req.status, RequestStatus::PendingApproval | RequestStatus::Accepted) {
                return Err(Error::conflict("not_open", "This request is already closed, so it cannot be withdrawn."));
            }
            tx.execute("UPDATE association_requests SET status = 'withdrawn', decided_at = ?1 WHERE id = ?2", params![unix(now), id])?;
            tx.execute(
                "UPDATE verification_tokens SET revoked_at = ?1 WHERE request_id = ?2 AND used_at IS NULL AND revoked_at IS NULL",
                params![unix(now), id],
            )?;
            audit_sql(tx, now, Some(&req.organisation_id), Some(&caller.account_id), "association_request.withdrawn", id, "")?;
            load_request(tx, id)?.ok_or_else(|| Error::not_found("request"))
        })
    }

    /// Sends a new verification mail; the previous link stops working.
    pub fn resend_verification(
        &self,
        caller: &Caller,
        id: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        let cfg = self.config.clone();
        self.write_sql(|tx, outbox| {
            let req = own_request(tx, caller, id)?;
            if req.status != RequestStatus::Accepted {
                return Err(Error::conflict(
                    "not_awaiting_verification",
                    "This request is not waiting for verification, so there is no mail to resend.",
                ));
            }
            let sent: Option<i64> = tx.query_row("SELECT verification_sent_at FROM association_requests WHERE id = ?1", [id], |r| r.get(0))?;
            if let Some(at) = sent {
                let wait = at + cfg.resend_cooldown_secs - unix(now);
                if wait > 0 {
                    return Err(Error::rate_limited(
                        "resend_cooldown",
                        wait as u64,
                        format!("A verification mail was sent moments ago. Check your inbox, or try again in {wait} seconds."),
                    ));
                }
            }
            issue_token(tx, &cfg, id, &req.account_id, &req.organisation_email, &req.organisation_name, now, outbox)?;
            audit_sql(tx, now, Some(&req.organisation_id), Some(&caller.account_id), "verification.resent", id, "")?;
            Ok(())
        })
    }

    /// Consumes a verification token and activates the membership. The token is single use even
    /// under concurrent consumption: only the transaction that marks it used goes on.
    pub fn verify(
        &self,
        caller: &Caller,
        token: &Secret,
        now: Timestamp,
    ) -> Result<Verified, Error> {
        let hash = token_hash(&Secret::new(token.expose().trim()));
        self.write_sql(|tx, _| {
            let row = tx
                .query_row(
                    "SELECT request_id, account_id, email, expires_at, used_at, revoked_at FROM verification_tokens WHERE token_hash = ?1",
                    [&hash],
                    |r| {
                        Ok(TokenRow {
                            request_id: r.get(0)?,
                            account: r.get(1)?,
                            email: r.get(2)?,
                            expires_at: r.get(3)?,
                            used_at: r.get(4)?,
                            revoked_at: r.get(5)?,
                        })
                    },
                )
                .optional()?;
            let Some(TokenRow { request_id, account, email, expires_at, used_at, revoked_at }) = row else {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    "invalid_token",
                    "That verification link or code is not one we sent. Copy it again from the newest verification mail.",
                ));
            };
            if account != caller.account_id {
                return Err(Error::new(
                    ErrorKind::Forbidden,
                    "token_for_other_account",
                    "This verification link belongs to a different account than the one signed in. Sign in with the account that made the request, then open the link again.",
                ));
            }
            if used_at.is_some() {
                return Err(Error::gone("token_used", "This verification link has already been used. Your association is already verified; open it from your home screen."));
            }
            if revoked_at.is_some() {
                return Err(Error::gone("token_used", "This verification link was replaced by a newer mail, or its request was closed. Use the link in the newest verification mail."));
            }
            if unix(now) >= expires_at {
                return Err(Error::gone("token_expired", "This verification link has expired. Ask for a new verification mail from your home screen."));
            }
            let consumed = tx.execute(
                "UPDATE verification_tokens SET used_at = ?1 WHERE token_hash = ?2 AND used_at IS NULL AND revoked_at IS NULL",
                params![unix(now), hash],
            )?;
            if consumed != 1 {
                return Err(Error::gone("token_used", "This verification link has already been used."));
            }
            let req = load_request(tx, &request_id)?.ok_or_else(|| Error::not_found("request"))?;
            if req.status != RequestStatus::Accepted || req.organisation_email != email {
                return Err(Error::gone("token_used", "This verification link no longer applies: its request was closed."));
            }
            let (phone, job): (Option<String>, Option<String>) =
                tx.query_row("SELECT phone, job_title FROM association_requests WHERE id = ?1", [&request_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            let membership = new_id("mem");
            tx.execute(
                "INSERT INTO memberships(id, organisation_id, account_id, request_id, organisation_email, status, first_name, last_name, job_title, phone, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'active', ?6, ?7, ?8, ?9, ?10)",
                params![membership, req.organisation_id, account, request_id, email, req.first_name, req.last_name, job, phone, unix(now)],
            )?;
            tx.execute("UPDATE association_requests SET status = 'active', membership_id = ?1 WHERE id = ?2", params![membership, request_id])?;
            tx.execute(
                "UPDATE invitations SET used_at = ?1 WHERE organisation_id = ?2 AND email = ?3 AND used_at IS NULL",
                params![unix(now), req.organisation_id, email],
            )?;
            audit_sql(tx, now, Some(&req.organisation_id), Some(&account), "membership.activated", &membership, "verified by email")?;
            emit_sql(
                tx,
                now,
                "membership.activated",
                Audience::AdminsOf(&req.organisation_id),
                json!({"membership_id": membership, "organisation_id": req.organisation_id, "request_id": request_id}),
            )?;
            Ok(Verified { membership_id: membership, status: MembershipStatus::Active })
        })
    }

    /// Invites people by address: when an invited person asks to join with that address, the
    /// request is accepted at once and they are active once they verify.
    pub fn invite(
        &self,
        caller: &Caller,
        org: &str,
        emails: &[String],
        now: Timestamp,
    ) -> Result<Vec<InvitationResult>, Error> {
        if emails.is_empty() || emails.len() > 100 {
            return Err(Error::new(
                ErrorKind::Invalid,
                "invalid_invitation",
                "Enter between 1 and 100 email addresses, one per line.",
            ));
        }
        self.write_sql(|tx, outbox| {
            require_admin_sql(tx, caller, org)?;
            let org_name = organisation_name_sql(tx, org)?;
            let mut results = Vec::with_capacity(emails.len());
            for raw in emails {
                let email = match EmailAddress::parse(raw) {
                    Ok(e) => e,
                    Err(e) => {
                        results.push(InvitationResult { email: raw.trim().to_owned(), status: e.code().to_owned() });
                        continue;
                    }
                };
                let member: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM memberships WHERE organisation_id = ?1 AND organisation_email = ?2 AND status = 'active')",
                    params![org, email.as_str()],
                    |r| r.get(0),
                )?;
                if member {
                    results.push(InvitationResult { email: email.to_string(), status: "already_member".into() });
                    continue;
                }
                tx.execute(
                    "INSERT INTO invitations(id, organisation_id, email, invited_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT(organisation_id, email) DO UPDATE SET used_at = NULL, created_at = excluded.created_at",
                    params![new_id("inv"), org, email.as_str(), caller.account_id, unix(now)],
                )?;
                audit_sql(tx, now, Some(org), Some(&caller.account_id), "invitation.sent", email.as_str(), "")?;
                outbox.push(Mail {
                    to: email.to_string(),
                    subject: format!("You are invited to join {org_name} in Partner Desk"),
                    body: format!(
                        "Hello,\n\n{org_name} has invited you to associate with its partner programme profile.\n\n\
                         1. Sign in to Partner Desk with your personal account.\n\
                         2. Select \u{201c}Join an existing organisation\u{201d}, look up {org_name} and tick it.\n\
                         3. Enter {email} under \u{201c}Organisation Email\u{201d}.\n\n\
                         Your request will be accepted at once; then follow the verification mail to complete your individual profile.\n"
                    ),
                    link: None,
                });
                results.push(InvitationResult { email: email.to_string(), status: "invited".into() });
            }
            Ok(results)
        })
    }
}

struct TokenRow {
    request_id: String,
    account: String,
    email: String,
    expires_at: i64,
    used_at: Option<i64>,
    revoked_at: Option<i64>,
}

/// A request the caller may see: their own, or one of an organisation they administer.
fn visible_request(c: &Connection, caller: &Caller, id: &str) -> Result<AssociationRequest, Error> {
    let req = load_request(c, id)?.ok_or_else(|| Error::not_found("request"))?;
    if req.account_id == caller.account_id || is_admin_sql(c, &caller.account_id, &req.organisation_id)?
    {
        Ok(req)
    } else {
        Err(Error::not_found("request"))
    }
}

fn own_request(c: &Connection, caller: &Caller, id: &str) -> Result<AssociationRequest, Error> {
    let req = visible_request(c, caller, id)?;
    if req.account_id != caller.account_id {
        return Err(Error::forbidden(
            "Only the person who made this request can do that.",
        ));
    }
    Ok(req)
}

/// A pending request that the caller may decide: an administrator of its organisation who is not
/// the requester.
fn pending_for_admin(
    c: &Connection,
    caller: &Caller,
    id: &str,
) -> Result<AssociationRequest, Error> {
    let req = load_request(c, id)?.ok_or_else(|| Error::not_found("request"))?;
    let admin = is_admin_sql(c, &caller.account_id, &req.organisation_id)?;
    if !admin {
        return Err(if req.account_id == caller.account_id {
            Error::forbidden("You cannot decide your own request. Your organisation's program administrator will decide it.")
        } else {
            Error::not_found("request")
        });
    }
    if req.account_id == caller.account_id {
        return Err(Error::forbidden(
            "You cannot decide your own request. Ask another administrator of your organisation.",
        ));
    }
    if req.status != RequestStatus::PendingApproval {
        return Err(Error::conflict(
            "not_pending",
            format!(
                "This request has already been decided (it is {}). Refresh the queue.",
                req.status.as_str().replace('_', " ")
            ),
        ));
    }
    Ok(req)
}

/// Revokes the request's earlier tokens, stores the hash of a new one and queues its mail.
#[allow(clippy::too_many_arguments)]
fn issue_token(
    tx: &Transaction<'_>,
    cfg: &super::Config,
    request_id: &str,
    account: &str,
    email: &str,
    org_name: &str,
    now: Timestamp,
    outbox: &mut Vec<Mail>,
) -> Result<(), Error> {
    tx.execute(
        "UPDATE verification_tokens SET revoked_at = ?1 WHERE request_id = ?2 AND used_at IS NULL AND revoked_at IS NULL",
        params![unix(now), request_id],
    )?;
    let token = new_token();
    tx.execute(
        "INSERT INTO verification_tokens(token_hash, request_id, account_id, email, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![token_hash(&token), request_id, account, email, unix(now), unix(now) + cfg.verification_ttl_secs],
    )?;
    tx.execute(
        "UPDATE association_requests SET verification_sent_at = ?1 WHERE id = ?2",
        params![unix(now), request_id],
    )?;
    outbox.push(verification_mail(cfg, email, org_name, &token));
    Ok(())
}

fn verification_mail(cfg: &super::Config, email: &str, org_name: &str, token: &Secret) -> Mail {
    let link = format!("partnerdesk://verify?token={}", token.expose());
    let days = cfg.verification_ttl_secs / 86_400;
    let web = cfg
        .public_url
        .as_deref()
        .map(|u| {
            format!(
                "\nOr open this page in a browser:\n{}/verify?token={}\n",
                u.trim_end_matches('/'),
                token.expose()
            )
        })
        .unwrap_or_default();
    Mail {
        to: email.to_owned(),
        subject: format!("Verify your association with {org_name}"),
        body: format!(
            "Hello,\n\nYour request to associate with {org_name} has been accepted.\n\
             Follow the prompts to complete your individual profile and activate your association.\n\n\
             Open this link in Partner Desk:\n{link}\n{web}\n\
             Or paste this code into Partner Desk's verification screen:\n{code}\n\n\
             The link and code expire in {days} days and work only once, for the account that made the request.\n\
             If you did not ask to join {org_name}, ignore this mail.\n",
            code = token.expose()
        ),
        link: Some(link),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_mail_carries_link_web_link_code_and_expiry_in_words() {
        let cfg = super::super::Config {
            public_url: Some("https://members.example/".into()),
            ..Default::default()
        };
        let token = Secret::new("T0KEN");
        let mail = verification_mail(&cfg, "ada@contoso.com", "Contoso", &token);
        assert_eq!(mail.to, "ada@contoso.com");
        assert_eq!(
            mail.link.as_deref(),
            Some("partnerdesk://verify?token=T0KEN")
        );
        assert!(
            mail.body
                .contains("https://members.example/verify?token=T0KEN"),
            "{}",
            mail.body
        );
        assert!(mail.body.contains("expire in 7 days"), "{}", mail.body);
    }
}
