use serde_json::json;

use super::accounts::after;
use super::delegation::{
    active_delegation, approvers_now, delegated_to, mark_waiting, require_decider,
};
use super::organisations::page;
use super::{
    audit, emit, optional, organisation_name, parse_cursor, require_admin, Caller, Programme,
    ACCEPTED_MESSAGE, PENDING_MESSAGE,
};
use crate::domain::{EmailAddress, EmailDomain, JobTitle, PersonName, Phone};
use crate::mail::Mail;
use crate::model::{
    AssociationRequest, BulkDecision, BulkError, BulkResult, BulkVerdict, DomainStatus,
    InvitationResult, MembershipStatus, NewAssociationRequest, Page, PageRequest, Preview,
    RequestCreated, RequestStatus, Verified,
};
use crate::store::{
    self, Audience, NewInvitation, NewMembership, NewRequest, NewToken, ReadTx, Store, WriteTx,
};
use crate::tokens::{new_id, new_token, token_hash};
use crate::{Error, ErrorKind, Secret, Timestamp};

/// How a request for `email` at `org` would be decided now.
enum Decision {
    Invited,
    Domain {
        domain: String,
        include_subdomains: bool,
        status: DomainStatus,
    },
    /// To the PPC's queue; `unproven` is a matching domain whose ownership is not proven.
    Pending {
        unproven: Option<(String, DomainStatus)>,
    },
}

fn decide(tx: &mut dyn ReadTx, org: &str, email: &EmailAddress) -> Result<Decision, Error> {
    if tx.invitation_open(org, email.as_str())? {
        return Ok(Decision::Invited);
    }
    let address_domain = email.domain();
    let mut unproven = None;
    for rule in tx.domain_rows(org)? {
        // Stored rules are canonical; a rule that no longer parses (the public-suffix list moved)
        // simply stops matching.
        if let Ok(d) = EmailDomain::parse(&rule.domain) {
            if d.matches(&address_domain, rule.include_subdomains) {
                // Only a proven domain accepts at once.
                if rule.proof.status.accepts_at_once() {
                    return Ok(Decision::Domain {
                        domain: rule.domain,
                        include_subdomains: rule.include_subdomains,
                        status: rule.proof.status,
                    });
                }
                unproven.get_or_insert((rule.domain, rule.proof.status));
            }
        }
    }
    Ok(Decision::Pending { unproven })
}

fn preview_of(decision: &Decision, org_name: &str, email: &EmailAddress) -> Preview {
    let to_the_ppc = "so your request will be sent to your organisation\u{2019}s program administrator to accept.";
    match decision {
        Decision::Invited => Preview {
            outcome: RequestStatus::Accepted,
            matched_domain: None,
            matched_domain_status: None,
            reason: format!("{org_name} has invited {email}, so your request will be accepted at once."),
        },
        Decision::Domain { domain, include_subdomains, status } => Preview {
            outcome: RequestStatus::Accepted,
            matched_domain: Some(domain.clone()),
            matched_domain_status: Some(*status),
            reason: if *include_subdomains {
                format!("{org_name} has pre-approved {domain} and its subdomains, so your request will be accepted at once.")
            } else {
                format!("{org_name} has pre-approved {domain}, so your request will be accepted at once.")
            },
        },
        Decision::Pending { unproven: Some((domain, status)) } => Preview {
            outcome: RequestStatus::PendingApproval,
            matched_domain: Some(domain.clone()),
            matched_domain_status: Some(*status),
            reason: match status {
                DomainStatus::Suspended => format!("{org_name} has pre-approved {domain}, but its proof of ownership is suspended (the DNS record is gone), {to_the_ppc}"),
                DomainStatus::Lapsed | DomainStatus::Expired => format!("{org_name} added {domain}, but never completed or renewed its proof of ownership, {to_the_ppc}"),
                _ => format!("{org_name} has added {domain}, but has not proven yet that it owns it (its DNS record has not been seen), {to_the_ppc}"),
            },
        },
        Decision::Pending { unproven: None } => Preview {
            outcome: RequestStatus::PendingApproval,
            matched_domain: None,
            matched_domain_status: None,
            reason: format!("{org_name} has not pre-approved {}, {to_the_ppc}", email.domain()),
        },
    }
}

/// How many addresses one invitation may hold.
pub const MAX_INVITATIONS: usize = 100;

impl<S: Store> Programme<S> {
    /// Exactly what a request for `organisation_email` would get now, and why. Administrators use
    /// the same call as the policy tester.
    pub fn preview_association(
        &self,
        _caller: &Caller,
        org: &str,
        organisation_email: &str,
    ) -> Result<Preview, Error> {
        let email = EmailAddress::parse(organisation_email)?;
        self.read(|tx| {
            let name = organisation_name(tx, org)?;
            Ok(preview_of(&decide(tx, org, &email)?, &name, &email))
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
        self.write(now, |tx, outbox| {
            let org_name = organisation_name(tx, org)?;
            if tx.is_active_member(org, &caller.account_id)? {
                return Err(Error::conflict("already_member", format!("You are already a member of {org_name}. Open it from your home screen.")));
            }
            if tx.open_request_for(org, &caller.account_id)? {
                return Err(Error::conflict(
                    "request_open",
                    format!("You already have an open request for {org_name}. Wait for it to be decided, or withdraw it to send a new one."),
                ));
            }
            if let Some(at) = tx.last_denial(org, &caller.account_id)? {
                let at = at.unix_timestamp();
                let now = now.unix_timestamp();
                if now < at + cfg.deny_cooldown_secs {
                    let days = ((at + cfg.deny_cooldown_secs - now) + 86_399) / 86_400;
                    return Err(Error::conflict(
                        "recently_denied",
                        format!("{org_name} denied your request recently. You can ask again in {days} day(s), or contact your program administrator."),
                    ));
                }
            }
            let decision = decide(tx, org, &email)?;
            let accepted = !matches!(decision, Decision::Pending { .. });
            let status = if accepted { RequestStatus::Accepted } else { RequestStatus::PendingApproval };
            let id = new_id("req");
            tx.insert_request(&NewRequest {
                id: &id,
                organisation_id: org,
                account_id: &caller.account_id,
                first_name: first.as_str(),
                last_name: last.as_str(),
                organisation_email: email.as_str(),
                phone: phone.as_ref().map(|p| p.as_str()),
                job_title: job.as_ref().map(|j| j.as_str()),
                status,
                created_at: now,
                decided_at: accepted.then_some(now),
                step: (!accepted).then(|| super::pending::first_step(now, &cfg.pending)),
            })?;
            let how = match &decision {
                Decision::Invited => "accepted: invited".to_owned(),
                Decision::Domain { domain, .. } => format!("accepted: domain {domain} pre-approved"),
                Decision::Pending { .. } => "sent to the program administrator".to_owned(),
            };
            audit(tx, now, Some(org), Some(&caller.account_id), "association_request.created", &id, &how)?;
            emit(
                tx,
                now,
                "association_request.created",
                Audience::AdminsOf(org),
                json!({"request_id": id, "organisation_id": org, "organisation_name": org_name,
                       "first_name": first.as_str(), "last_name": last.as_str(), "organisation_email": email.as_str(),
                       "status": status.as_str()}),
            )?;
            if let Some(d) = active_delegation(tx, org)? {
                if !accepted && d.delegate_account_id != caller.account_id && !tx.is_admin(&d.delegate_account_id, org)? {
                    emit(
                        tx,
                        now,
                        "association_request.created",
                        Audience::Account(&d.delegate_account_id),
                        json!({"request_id": id, "organisation_id": org, "organisation_name": org_name,
                               "first_name": first.as_str(), "last_name": last.as_str(), "organisation_email": email.as_str(),
                               "status": status.as_str(), "on_behalf_of_name": d.delegator_name}),
                    )?;
                }
            }
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
        self.read(|tx| visible_request(tx, caller, id))
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
        self.read(|tx| {
            require_decider(tx, caller, org)?;
            let mut items = tx.request_queue(org, status, after, limit + 1)?;
            for (_, r) in &mut items {
                mark_waiting(tx, r)?;
            }
            Ok(page(items, limit))
        })
    }

    /// Accepts a pending request; the verification mail goes out. Of two concurrent approvals,
    /// exactly one succeeds: the state check and the change share one transaction.
    pub fn approve(
        &self,
        caller: &Caller,
        id: &str,
        now: Timestamp,
    ) -> Result<AssociationRequest, Error> {
        let cfg = self.config.clone();
        self.write(now, |tx, outbox| {
            let (req, for_whom) = pending_for_decider(tx, caller, id)?;
            let asked = asked_before_deciding(tx, &req)?;
            let decision = store::Decision { status: RequestStatus::Accepted, at: now, by: &caller.account_id, on_behalf_of: for_whom.as_deref(), reason: None };
            tx.record_decision(id, &decision)?;
            tell_who_decided(tx, &req, &asked, caller, RequestStatus::Accepted, now)?;
            audit(tx, now, Some(&req.organisation_id), Some(&caller.account_id), "association_request.approved", id, "")?;
            emit(
                tx,
                now,
                "association_request.decided",
                Audience::Account(&req.account_id),
                json!({"request_id": id, "organisation_id": req.organisation_id, "organisation_name": req.organisation_name, "status": "accepted"}),
            )?;
            issue_token(tx, &cfg, id, &req.account_id, &req.organisation_email, &req.organisation_name, now, outbox)?;
            tx.request(id)?.ok_or_else(|| Error::not_found("request"))
        })
    }

    pub fn deny(
        &self,
        caller: &Caller,
        id: &str,
        reason: &str,
        now: Timestamp,
    ) -> Result<AssociationRequest, Error> {
        let reason = crate::domain::rules::REASON
            .clean(reason, "invalid_reason", "The reason")?
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Invalid,
                    "invalid_reason",
                    "Give a reason of 1 to 500 characters; the requester will see it.",
                )
            })?;
        let reason = reason.as_str();
        self.write(now, |tx, outbox| {
            let (req, for_whom) = pending_for_decider(tx, caller, id)?;
            let asked = asked_before_deciding(tx, &req)?;
            let decision = store::Decision { status: RequestStatus::Denied, at: now, by: &caller.account_id, on_behalf_of: for_whom.as_deref(), reason: Some(reason) };
            tx.record_decision(id, &decision)?;
            tell_who_decided(tx, &req, &asked, caller, RequestStatus::Denied, now)?;
            audit(tx, now, Some(&req.organisation_id), Some(&caller.account_id), "association_request.denied", id, reason)?;
            emit(
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
            }.into());
            tx.request(id)?.ok_or_else(|| Error::not_found("request"))
        })
    }

    /// Decides several of an organisation's pending requests at once, each on its own: one that
    /// someone else decided meanwhile (or that cannot be decided) gets its error in its result,
    /// and the others are still decided.
    pub fn decide_requests(
        &self,
        caller: &Caller,
        org: &str,
        decisions: &[BulkDecision],
        now: Timestamp,
    ) -> Result<Vec<BulkResult>, Error> {
        if decisions.is_empty() || decisions.len() > MAX_BULK_DECISIONS {
            return Err(Error::new(
                ErrorKind::Invalid,
                "invalid_decisions",
                format!("Choose between 1 and {MAX_BULK_DECISIONS} requests to decide at once."),
            ));
        }
        self.read(|tx| require_decider(tx, caller, org))?;
        let mut results = Vec::with_capacity(decisions.len());
        for d in decisions {
            let in_org = self.read(|tx| {
                Ok(tx
                    .request(&d.request_id)?
                    .filter(|r| r.organisation_id == org))
            });
            let decided = match in_org {
                Ok(Some(_)) => match d.decision {
                    BulkVerdict::Approve => self.approve(caller, &d.request_id, now),
                    BulkVerdict::Deny => self.deny(
                        caller,
                        &d.request_id,
                        d.reason.as_deref().unwrap_or(""),
                        now,
                    ),
                },
                Ok(None) => Err(Error::not_found("request")),
                Err(e) => Err(e),
            };
            results.push(match decided {
                Ok(r) => BulkResult {
                    request_id: d.request_id.clone(),
                    status: Some(r.status),
                    error: None,
                },
                Err(e) if e.kind() == ErrorKind::Internal => return Err(e),
                Err(e) => BulkResult {
                    request_id: d.request_id.clone(),
                    status: self
                        .read(|tx| {
                            Ok(tx
                                .request(&d.request_id)?
                                .filter(|r| r.organisation_id == org)
                                .map(|r| r.status))
                        })
                        .ok()
                        .flatten(),
                    error: Some(BulkError {
                        code: e.code().to_owned(),
                        message: e.message().to_owned(),
                    }),
                },
            });
        }
        Ok(results)
    }

    /// Sends an expired request again, with the answers it had: a new request, decided as any
    /// new one is (at once when the domain is pre-approved now).
    pub fn ask_again(
        &self,
        caller: &Caller,
        id: &str,
        now: Timestamp,
    ) -> Result<RequestCreated, Error> {
        let again = self.read(|tx| {
            let req = own_request(tx, caller, id)?;
            if req.status != RequestStatus::Expired {
                return Err(Error::conflict(
                    "not_expired",
                    "Only a request that expired can be sent again. This one is still open or was decided; to ask an organisation again after it was withdrawn or denied, use Join an existing organisation.",
                ));
            }
            let contact = tx.request_contact(id)?.ok_or_else(|| Error::not_found("request"))?;
            Ok(NewAssociationRequest {
                organisation_id: req.organisation_id,
                first_name: req.first_name,
                last_name: req.last_name,
                organisation_email: req.organisation_email,
                phone: contact.phone,
                job_title: contact.job_title,
            })
        })?;
        self.request_association(caller, &again, now)
    }

    /// The requester takes back a request that is pending or not yet verified.
    pub fn withdraw(
        &self,
        caller: &Caller,
        id: &str,
        now: Timestamp,
    ) -> Result<AssociationRequest, Error> {
        self.change(|tx| {
            let req = own_request(tx, caller, id)?;
            if !matches!(
                req.status,
                RequestStatus::PendingApproval | RequestStatus::Accepted
            ) {
                return Err(Error::conflict(
                    "not_open",
                    "This request is already closed, so it cannot be withdrawn.",
                ));
            }
            tx.withdraw_request(id, now)?;
            tx.revoke_tokens_of_request(id, now)?;
            audit(
                tx,
                now,
                Some(&req.organisation_id),
                Some(&caller.account_id),
                "association_request.withdrawn",
                id,
                "",
            )?;
            tx.request(id)?.ok_or_else(|| Error::not_found("request"))
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
        self.write(now, |tx, outbox| {
            let req = own_request(tx, caller, id)?;
            if req.status != RequestStatus::Accepted {
                return Err(Error::conflict(
                    "not_awaiting_verification",
                    "This request is not waiting for verification, so there is no mail to resend.",
                ));
            }
            if let Some(at) = tx.verification_sent_at(id)? {
                let wait = at.unix_timestamp() + cfg.resend_cooldown_secs - now.unix_timestamp();
                if wait > 0 {
                    return Err(Error::rate_limited(
                        "resend_cooldown",
                        wait as u64,
                        format!("A verification mail was sent moments ago. Check your inbox, or try again in {wait} seconds."),
                    ));
                }
            }
            issue_token(tx, &cfg, id, &req.account_id, &req.organisation_email, &req.organisation_name, now, outbox)?;
            audit(tx, now, Some(&req.organisation_id), Some(&caller.account_id), "verification.resent", id, "")
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
        self.change(|tx| {
            let Some(found) = tx.token(&hash)? else {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    "invalid_token",
                    "That verification link or code is not one we sent. Copy it again from the newest verification mail.",
                ));
            };
            if found.account_id != caller.account_id {
                return Err(Error::new(
                    ErrorKind::Forbidden,
                    "token_for_other_account",
                    "This verification link belongs to a different account than the one signed in. Sign in with the account that made the request, then open the link again.",
                ));
            }
            if found.used {
                return Err(Error::gone("token_used", "This verification link has already been used. Your association is already verified; open it from your home screen."));
            }
            if found.revoked {
                return Err(Error::gone("token_used", "This verification link was replaced by a newer mail, or its request was closed. Use the link in the newest verification mail."));
            }
            if now >= found.expires_at {
                return Err(Error::gone("token_expired", "This verification link has expired. Ask for a new verification mail from your home screen."));
            }
            if !tx.consume_token(&hash, now)? {
                return Err(Error::gone("token_used", "This verification link has already been used."));
            }
            let request_id = found.request_id.as_str();
            let req = tx.request(request_id)?.ok_or_else(|| Error::not_found("request"))?;
            if req.status != RequestStatus::Accepted || req.organisation_email != found.email {
                return Err(Error::gone("token_used", "This verification link no longer applies: its request was closed."));
            }
            let contact = tx
                .request_contact(request_id)?
                .ok_or_else(|| Error::internal("the request vanished inside its own transaction"))?;
            let membership = new_id("mem");
            tx.insert_membership(&NewMembership {
                id: &membership,
                organisation_id: &req.organisation_id,
                account_id: &found.account_id,
                request_id: Some(request_id),
                organisation_email: &found.email,
                is_ppc: false,
                first_name: &req.first_name,
                last_name: &req.last_name,
                job_title: contact.job_title.as_deref(),
                phone: contact.phone.as_deref(),
                created_at: now,
            })?;
            tx.activate_request(request_id, &membership)?;
            tx.use_invitation(&req.organisation_id, &found.email, now)?;
            audit(tx, now, Some(&req.organisation_id), Some(&found.account_id), "membership.activated", &membership, "verified by email")?;
            emit(
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
        if emails.is_empty() || emails.len() > MAX_INVITATIONS {
            return Err(Error::new(
                ErrorKind::Invalid,
                "invalid_invitation",
                "Enter between 1 and 100 email addresses, one per line.",
            ));
        }
        self.write(now, |tx, outbox| {
            require_admin(tx, caller, org)?;
            let org_name = organisation_name(tx, org)?;
            let mut results = Vec::with_capacity(emails.len());
            for raw in emails {
                let email = match EmailAddress::parse(raw) {
                    Ok(e) => e,
                    Err(e) => {
                        results.push(InvitationResult { email: raw.trim().to_owned(), status: e.code().to_owned() });
                        continue;
                    }
                };
                if tx.has_active_member_email(org, email.as_str())? {
                    results.push(InvitationResult { email: email.to_string(), status: "already_member".into() });
                    continue;
                }
                tx.upsert_invitation(&NewInvitation {
                    id: &new_id("inv"),
                    organisation_id: org,
                    email: email.as_str(),
                    invited_by: &caller.account_id,
                    created_at: now,
                })?;
                audit(tx, now, Some(org), Some(&caller.account_id), "invitation.sent", email.as_str(), "")?;
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
                }.into());
                results.push(InvitationResult { email: email.to_string(), status: "invited".into() });
            }
            Ok(results)
        })
    }
}

/// How many requests one bulk decision may hold.
pub const MAX_BULK_DECISIONS: usize = 100;

/// Who was asked to decide a pending request: its organisation's PPCs (or their delegate), and
/// its Global Administrators once it was escalated.
fn asked_before_deciding(
    tx: &mut dyn ReadTx,
    req: &AssociationRequest,
) -> Result<Vec<store::Approver>, Error> {
    let escalated = tx
        .pending_request(&req.request_id)?
        .is_some_and(|p| p.step.escalated_at.is_some());
    approvers_now(tx, &req.organisation_id, escalated)
}

/// The first decision wins; everyone else who was asked hears who decided.
fn tell_who_decided(
    tx: &mut dyn WriteTx,
    req: &AssociationRequest,
    asked: &[store::Approver],
    caller: &Caller,
    status: RequestStatus,
    now: Timestamp,
) -> Result<(), Error> {
    let by = tx
        .account(&caller.account_id)?
        .map(|a| a.display_name)
        .unwrap_or_default();
    for a in asked.iter().filter(|a| a.account_id != caller.account_id) {
        emit(
            tx,
            now,
            "association_request.resolved",
            Audience::Account(&a.account_id),
            json!({"request_id": req.request_id, "organisation_id": req.organisation_id,
                   "organisation_name": req.organisation_name, "first_name": req.first_name,
                   "last_name": req.last_name, "status": status.as_str(),
                   "decided_by": caller.account_id, "decided_by_name": by}),
        )?;
    }
    Ok(())
}

/// A request the caller may see: their own, or one of an organisation they administer or decide
/// for as a delegate.
fn visible_request(
    tx: &mut dyn ReadTx,
    caller: &Caller,
    id: &str,
) -> Result<AssociationRequest, Error> {
    let mut req = tx.request(id)?.ok_or_else(|| Error::not_found("request"))?;
    if req.account_id == caller.account_id
        || tx.is_admin(&caller.account_id, &req.organisation_id)?
        || delegated_to(tx, &caller.account_id, &req.organisation_id)?.is_some()
    {
        mark_waiting(tx, &mut req)?;
        Ok(req)
    } else {
        Err(Error::not_found("request"))
    }
}

fn own_request(
    tx: &mut dyn ReadTx,
    caller: &Caller,
    id: &str,
) -> Result<AssociationRequest, Error> {
    let req = visible_request(tx, caller, id)?;
    if req.account_id != caller.account_id {
        return Err(Error::forbidden(
            "Only the person who made this request can do that.",
        ));
    }
    Ok(req)
}

/// A pending request that the caller may decide: an administrator of its organisation, or its
/// delegate, who is not the requester. With it, the account a delegate decides for.
fn pending_for_decider(
    tx: &mut dyn ReadTx,
    caller: &Caller,
    id: &str,
) -> Result<(AssociationRequest, Option<String>), Error> {
    let req = tx.request(id)?.ok_or_else(|| Error::not_found("request"))?;
    let admin = tx.is_admin(&caller.account_id, &req.organisation_id)?;
    let for_whom = if admin {
        None
    } else {
        delegated_to(tx, &caller.account_id, &req.organisation_id)?.map(|d| d.delegator_account_id)
    };
    if !admin && for_whom.is_none() {
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
    Ok((req, for_whom))
}

/// Revokes the request's earlier tokens, stores the hash of a new one and queues its mail.
#[allow(clippy::too_many_arguments)]
fn issue_token(
    tx: &mut dyn WriteTx,
    cfg: &super::Config,
    request_id: &str,
    account: &str,
    email: &str,
    org_name: &str,
    now: Timestamp,
    outbox: &mut Vec<super::Outgoing>,
) -> Result<(), Error> {
    tx.revoke_tokens_of_request(request_id, now)?;
    // A stand-in, never sent: the mail worker gives the row a token of its own as it sends.
    let hash = token_hash(&new_token());
    tx.insert_token(&NewToken {
        hash: &hash,
        request_id,
        account_id: account,
        email,
        created_at: now,
        expires_at: after(now, cfg.verification_ttl_secs),
    })?;
    tx.mark_verification_sent(request_id, now)?;
    outbox.push(super::Outgoing {
        mail: verification_mail(cfg, email, org_name, &Secret::new(super::TOKEN_SLOT)),
        token: Some(hash),
    });
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
