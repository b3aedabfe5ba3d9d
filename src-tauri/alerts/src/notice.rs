//! What a person is told about an event: a [`Notice`] with a title, a sentence or two in the
//! guide's words, what they can do about it ([`Action`]) and where "Open" takes them
//! ([`Target`]). [`describe`] is a pure function of the event and the [`Facts`] fetched for it.
use client::Privilege;
use membership::{AssociationRequest, Event, RequestStatus, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The event kinds that become notices; every other kind only moves the cursor.
pub const NOTIFIED_KINDS: [&str; 22] = [
    "association_request.created",
    "association_request.delegated",
    "association_request.expiring",
    "association_request.escalated",
    "association_request.expired",
    "association_request.resolved",
    "delegation.started",
    "delegation.ended",
    "ppc_handover.offered",
    "ppc_handover.accepted",
    "ppc_handover.declined",
    "privilege_request.created",
    "privilege_request.expiring",
    "privilege_request.expired",
    "association_request.decided",
    "membership.privileges_changed",
    "domain.verified",
    "domain.suspended",
    "domain.lapsed",
    "domain.expired",
    "domain.moved",
    "domain.proof_requested",
];

/// What a person can do with a notice, from the OS notification or the inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Accept an association request, or grant the privilege a member asked for.
    Approve,
    /// Deny an association request (with [`crate::DEFAULT_DENY_REASON`]).
    Deny,
    /// Show what the notice is about in the app.
    Open,
}

impl Action {
    /// The action key of the Desktop Notifications Specification; `default` is what a click on
    /// the notification itself reports.
    pub fn key(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Deny => "deny",
            Self::Open => "default",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        match key {
            "approve" => Some(Self::Approve),
            "deny" => Some(Self::Deny),
            "default" | "open" => Some(Self::Open),
            _ => None,
        }
    }
}

/// Where "Open" takes the person: the screen and the ids it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "screen", rename_all = "snake_case")]
pub enum Target {
    /// Membership Centre → Association requests of the organisation, at this request.
    AssociationRequest {
        organisation_id: String,
        request_id: String,
    },
    /// Membership Centre → Privilege requests of the organisation.
    PrivilegeRequest {
        organisation_id: String,
        membership_id: String,
        privilege: Privilege,
    },
    /// Home: the person's own request and its state.
    OwnRequest {
        organisation_id: String,
        request_id: String,
    },
    /// Review privileges of the person's membership.
    Privileges {
        organisation_id: String,
        membership_id: String,
    },
    /// Membership Centre → Manage Organisation Profile → Your Organisation email domains.
    Domains {
        organisation_id: String,
        domain: String,
    },
    /// Membership Centre → Approvers of the organisation: who decides, delegation, handover.
    Approvers { organisation_id: String },
    /// Home: an offer of the PPC role, with Accept and Decline.
    Handover {
        organisation_id: String,
        handover_id: String,
    },
}

/// One thing to tell the person; `id` is the event's id, unique per backend and account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub id: i64,
    /// The event kind it came from (`association_request.created`, …).
    pub kind: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: Timestamp,
    /// What the OS notification's summary says: the app's own words only, never text that
    /// someone typed (see [`crate::text`]). The inbox shows `title`, which names people.
    #[serde(default)]
    pub headline: String,
    pub title: String,
    pub body: String,
    /// `[Approve, Deny, Open]` for a request waiting for a decision (`[Approve, Open]` for a
    /// privilege request: the API has no refusal for those), otherwise `[Open]`.
    pub actions: Vec<Action>,
    pub target: Target,
    /// Already out of date when it arrived (the request was decided or withdrawn meanwhile): it
    /// goes to the inbox as read and is never shown by the OS.
    pub stale: bool,
}

impl Notice {
    /// Whether it waits for the person's decision (the tray's pending count).
    pub fn pending(&self) -> bool {
        self.actions.contains(&Action::Approve)
    }

    /// The button text of `action` on this notice.
    pub fn label(&self, action: Action) -> &'static str {
        match (action, &self.target) {
            (Action::Approve, Target::PrivilegeRequest { .. }) => "Grant",
            (Action::Approve, _) => "Approve",
            (Action::Deny, _) => "Deny",
            (Action::Open, _) => "Open",
        }
    }
}

/// What the follower fetched through the backend to describe an event; anything it could not
/// fetch is `None`, and the notice is made from the event's own data.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The association request, as it is now (`association_request.*`).
    pub request: Option<AssociationRequest>,
    /// The organisation's name (privilege events carry only its id).
    pub organisation_name: Option<String>,
    /// Whether the privilege request is still open, and its note (`privilege_request.created`).
    pub privilege_request: Option<PrivilegeRequestState>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivilegeRequestState {
    pub open: bool,
    pub note: Option<String>,
}

fn text<'a>(data: &'a Value, field: &str) -> Option<&'a str> {
    data.get(field)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The notice for `event`, or `None` for a kind that is not notified (or data too broken to say
/// anything true).
pub fn describe(event: &Event, facts: &Facts) -> Option<Notice> {
    let data = &event.data;
    let org_id = text(data, "organisation_id")?.to_owned();
    let org_name = facts
        .request
        .as_ref()
        .map(|r| r.organisation_name.clone())
        .or_else(|| facts.organisation_name.clone())
        .or_else(|| text(data, "organisation_name").map(str::to_owned))
        .unwrap_or_else(|| "your organisation".to_owned());
    let notice =
        |headline: &str, title: String, body: String, actions: Vec<Action>, target, stale| Notice {
            id: event.id,
            kind: event.kind.clone(),
            at: event.at,
            headline: headline.to_owned(),
            title,
            body,
            actions,
            target,
            stale,
        };
    match event.kind.as_str() {
        "association_request.created" => {
            let request_id = text(data, "request_id")?.to_owned();
            let r = facts.request.as_ref();
            let name = r
                .map(|r| format!("{} {}", r.first_name, r.last_name))
                .unwrap_or_else(|| {
                    format!(
                        "{} {}",
                        text(data, "first_name").unwrap_or(""),
                        text(data, "last_name").unwrap_or("")
                    )
                });
            let name = match name.trim() {
                "" => "Someone".to_owned(),
                n => n.to_owned(),
            };
            let email = r
                .map(|r| r.organisation_email.clone())
                .or_else(|| text(data, "organisation_email").map(str::to_owned));
            let who = match &email {
                Some(e) => format!("{name} ({e})"),
                None => name.clone(),
            };
            let created_as = text(data, "status").unwrap_or("pending_approval");
            let status = r.map(|r| r.status.as_str()).unwrap_or(created_as);
            let target = Target::AssociationRequest {
                organisation_id: org_id,
                request_id,
            };
            Some(if created_as == "accepted" {
                notice(
                    "New member associating with your organisation",
                    format!("{name} is associating with {org_name}"),
                    format!("{who} asked to associate with {org_name}. Their email domain is pre-approved, so the request was accepted at once; they become a member when they verify their Organisation Email."),
                    vec![Action::Open],
                    target,
                    false,
                )
            } else if status == RequestStatus::PendingApproval.as_str() {
                notice(
                    "New request to associate",
                    format!("{name} asks to associate with {org_name}"),
                    match text(data, "on_behalf_of_name") {
                        Some(away) => format!("{who} asked to associate with {org_name}. Their email domain is not pre-approved, so the request came to you: you decide for {away} while they are away."),
                        None => format!("{who} asked to associate with {org_name}. Their email domain is not pre-approved, so the request was sent to you, the program administrator."),
                    },
                    vec![Action::Approve, Action::Deny, Action::Open],
                    target,
                    false,
                )
            } else {
                notice(
                    "A request to associate was already dealt with",
                    format!("{name} asked to associate with {org_name}"),
                    format!(
                        "{who} asked to associate with {org_name}. The request is no longer waiting: it is {}.",
                        status_words(status)
                    ),
                    vec![Action::Open],
                    target,
                    true,
                )
            })
        }
        "privilege_request.created" | "privilege_request.expiring" => {
            let membership_id = text(data, "membership_id")?.to_owned();
            let privilege = Privilege::parse(text(data, "privilege")?).ok()?;
            let member = text(data, "member_name").unwrap_or("A member").to_owned();
            let state = facts.privilege_request.as_ref();
            let note = state
                .and_then(|s| s.note.as_deref())
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(|n| format!(" Their note: \u{201c}{n}\u{201d}"))
                .unwrap_or_default();
            let open = state.is_none_or(|s| s.open);
            let target = Target::PrivilegeRequest {
                organisation_id: org_id,
                membership_id,
                privilege,
            };
            let title = format!("{member} asks for {}", privilege.title());
            let (headline, body) = if event.kind == "privilege_request.expiring" {
                let until = text(data, "expires_at")
                    .and_then(parse_time)
                    .map(|t| format!(" It expires on {}.", in_words(t)))
                    .unwrap_or_default();
                (
                    "A privilege request is waiting for your decision",
                    format!(
                        "{member} of {org_name} asked for {} and nobody has decided yet. If nobody does, the request expires.{until}{note}",
                        privilege.title()
                    ),
                )
            } else {
                (
                    "New privilege request",
                    format!(
                        "{member} of {org_name} asked you to grant them {}.{note}",
                        privilege.title()
                    ),
                )
            };
            Some(if open {
                notice(
                    headline,
                    title,
                    body,
                    vec![Action::Approve, Action::Open],
                    target,
                    false,
                )
            } else {
                notice(
                    "A privilege request was already dealt with",
                    title,
                    format!(
                        "{member} of {org_name} asked for {}. The request is no longer open.",
                        privilege.title()
                    ),
                    vec![Action::Open],
                    target,
                    true,
                )
            })
        }
        "association_request.delegated"
        | "association_request.expiring"
        | "association_request.escalated" => {
            let request_id = text(data, "request_id")?.to_owned();
            let r = facts.request.as_ref();
            let name = person(data, r);
            let who = match r
                .map(|r| r.organisation_email.as_str())
                .or_else(|| text(data, "organisation_email"))
            {
                Some(e) => format!("{name} ({e})"),
                None => name.clone(),
            };
            let until = r
                .and_then(|r| r.expires_at)
                .or_else(|| text(data, "expires_at").and_then(parse_time))
                .map(|t| format!(" It expires on {}.", in_words(t)))
                .unwrap_or_default();
            let open = r.is_none_or(|r| r.status == RequestStatus::PendingApproval);
            let target = Target::AssociationRequest {
                organisation_id: org_id,
                request_id,
            };
            let (headline, title, body) = match event.kind.as_str() {
                "association_request.delegated" => (
                    "A request was handed to you",
                    format!("{name} asks to associate with {org_name}"),
                    format!(
                        "You decide {org_name}\u{2019}s requests for {} while they are away. {who} is waiting.{until}",
                        text(data, "on_behalf_of_name").unwrap_or("its program administrator")
                    ),
                ),
                "association_request.expiring" => (
                    "A request is waiting for your decision",
                    format!("{name} is still waiting to associate with {org_name}"),
                    format!("{who} asked to associate with {org_name} and nobody has decided yet. If nobody does, the request expires.{until}"),
                ),
                _ => (
                    "You are asked to decide a request",
                    format!("{name} asks to associate with {org_name}"),
                    format!("{who} asked to associate with {org_name} and the Primary Program Contact has not decided yet, so you, a Global Administrator, are asked too.{until}"),
                ),
            };
            Some(if open {
                notice(
                    headline,
                    title,
                    body,
                    vec![Action::Approve, Action::Deny, Action::Open],
                    target,
                    false,
                )
            } else {
                notice(
                    "A request to associate was already dealt with",
                    title,
                    format!(
                        "{who} asked to associate with {org_name}. The request is no longer waiting: it is {}.",
                        status_words(r.map(|r| r.status.as_str()).unwrap_or(""))
                    ),
                    vec![Action::Open],
                    target,
                    true,
                )
            })
        }
        "association_request.expired" => {
            // The requester's copy says so; the approvers' copy only refreshes their screens.
            if data.get("yours").and_then(Value::as_bool) != Some(true) {
                return None;
            }
            let request_id = text(data, "request_id")?.to_owned();
            Some(notice(
                "Your request to associate expired",
                format!("Your request to associate with {org_name} expired"),
                format!("Nobody at {org_name} decided your request before its deadline. This does not count against you: choose Ask again on your home screen to send it again with the same details."),
                vec![Action::Open],
                Target::OwnRequest {
                    organisation_id: org_id,
                    request_id,
                },
                false,
            ))
        }
        "association_request.resolved" => {
            let request_id = text(data, "request_id")?.to_owned();
            let name = person(data, facts.request.as_ref());
            let by = text(data, "decided_by_name").unwrap_or("Another approver");
            let verdict = status_words(text(data, "status").unwrap_or(""));
            Some(notice(
                "A request you were asked about was decided",
                format!("{by} decided the request from {name}"),
                format!("{by} decided {name}\u{2019}s request to associate with {org_name}: it is {verdict}. Nothing is left for you to do."),
                vec![Action::Open],
                Target::AssociationRequest {
                    organisation_id: org_id,
                    request_id,
                },
                false,
            ))
        }
        "delegation.started" | "delegation.ended" => {
            let delegate = text(data, "delegate_name").unwrap_or("A colleague");
            let delegator = text(data, "delegator_name").unwrap_or("its program administrator");
            let (headline, title, body) = if event.kind == "delegation.started" {
                (
                    "A delegation started",
                    format!("{delegate} decides {org_name}\u{2019}s requests"),
                    format!(
                        "{delegate} decides {org_name}\u{2019}s association requests for {delegator} until {}. The requests already waiting went to {delegate} too.",
                        text(data, "ends_at")
                            .and_then(parse_time)
                            .map(in_words)
                            .unwrap_or_else(|| "the end of the period".to_owned())
                    ),
                )
            } else {
                (
                    "A delegation ended",
                    format!("{delegate} no longer decides {org_name}\u{2019}s requests"),
                    format!("The delegation from {delegator} to {delegate} has ended, so {org_name}\u{2019}s requests are back with its Primary Program Contact and Global Administrators."),
                )
            };
            Some(notice(
                headline,
                title,
                body,
                vec![Action::Open],
                Target::Approvers {
                    organisation_id: org_id,
                },
                false,
            ))
        }
        "ppc_handover.offered" => {
            let handover_id = text(data, "handover_id")?.to_owned();
            let from = text(data, "from_name").unwrap_or("The Primary Program Contact");
            Some(notice(
                "You are offered the Primary Program Contact role",
                format!("{from} offers you the Primary Program Contact role of {org_name}"),
                format!("{from} asked you to become the Primary Program Contact of {org_name}. The role moves only if you accept: open your home screen to accept or decline."),
                vec![Action::Open],
                Target::Handover {
                    organisation_id: org_id,
                    handover_id,
                },
                false,
            ))
        }
        "ppc_handover.accepted" | "ppc_handover.declined" => {
            let to = text(data, "to_name").unwrap_or("The member");
            let (headline, title, body) = if event.kind == "ppc_handover.accepted" {
                (
                    "The Primary Program Contact role was handed over",
                    format!("{to} is now the Primary Program Contact of {org_name}"),
                    format!(
                        "{to} accepted the Primary Program Contact role of {org_name}. {} stays an approver as a Global Administrator.",
                        text(data, "from_name").unwrap_or("The previous one")
                    ),
                )
            } else {
                (
                    "The Primary Program Contact role was declined",
                    format!("{to} declined the Primary Program Contact role"),
                    format!("{to} declined to become the Primary Program Contact of {org_name}. You are still its Primary Program Contact; you can offer the role to someone else."),
                )
            };
            Some(notice(
                headline,
                title,
                body,
                vec![Action::Open],
                Target::Approvers {
                    organisation_id: org_id,
                },
                false,
            ))
        }
        "association_request.decided" => {
            let request_id = text(data, "request_id")?.to_owned();
            let decided = text(data, "status")?;
            let target = Target::OwnRequest {
                organisation_id: org_id,
                request_id,
            };
            match decided {
                "accepted" => {
                    let check = match facts.request.as_ref() {
                        Some(r) => format!(
                            "Check your work email account ({}) for the verification email",
                            r.organisation_email
                        ),
                        None => {
                            "Check your work email account for the verification email".to_owned()
                        }
                    };
                    Some(notice(
                        "Your request to associate has been accepted",
                        format!("Your request to associate with {org_name} has been accepted"),
                        format!("Your request to associate with {org_name} has been accepted. {check}, then follow the prompts to complete your individual profile and activate your association."),
                        vec![Action::Open],
                        target,
                        false,
                    ))
                }
                "denied" => {
                    let reason = facts
                        .request
                        .as_ref()
                        .and_then(|r| r.decision_reason.as_deref())
                        .map(str::trim)
                        .filter(|r| !r.is_empty())
                        .map(|r| format!(" Reason: {r}"))
                        .unwrap_or_default();
                    Some(notice(
                        "Your request to associate was not accepted",
                        format!("Your request to associate with {org_name} was not accepted"),
                        format!("{org_name}\u{2019}s program administrator did not accept your request.{reason} If you think this is a mistake, contact your program administrator."),
                        vec![Action::Open],
                        target,
                        false,
                    ))
                }
                _ => None,
            }
        }
        "privilege_request.expired" => {
            let membership_id = text(data, "membership_id")?.to_owned();
            let privilege = Privilege::parse(text(data, "privilege")?).ok()?;
            Some(notice(
                "Your privilege request expired",
                format!("Your request for {} expired", privilege.title()),
                format!(
                    "Nobody at {org_name} decided your request for {} before its deadline. This does not count against you: ask for it again under Review privileges.",
                    privilege.title()
                ),
                vec![Action::Open],
                Target::Privileges {
                    organisation_id: org_id,
                    membership_id,
                },
                false,
            ))
        }
        "membership.privileges_changed" => {
            if data.get("granted").and_then(Value::as_bool) != Some(true) {
                return None;
            }
            let membership_id = text(data, "membership_id")?.to_owned();
            let privilege = Privilege::parse(text(data, "privilege")?).ok()?;
            let granted = format!("You have been granted {}", privilege.title());
            Some(notice(
                &granted,
                granted.clone(),
                format!(
                    "{org_name}\u{2019}s program administrator granted you {}: {} See it under Review privileges.",
                    privilege.title(),
                    privilege.benefits()
                ),
                vec![Action::Open],
                Target::Privileges {
                    organisation_id: org_id,
                    membership_id,
                },
                false,
            ))
        }
        kind if kind.starts_with("domain.") => {
            let domain = text(data, "domain")?.to_owned();
            let (headline, body) = match kind {
                "domain.verified" => (
                    format!("{domain} is verified"),
                    format!("The DNS record for {domain} was found, so {org_name} has proven that the domain is its own. Requests from {domain} are now accepted at once."),
                ),
                "domain.suspended" => (
                    format!("{domain} is suspended"),
                    format!("The DNS record for {domain} was not found at two checks in a row, so requests from {domain} to {org_name} now come to you. Publish the record again, then choose Check now."),
                ),
                "domain.lapsed" => (
                    format!("{domain} has lapsed"),
                    format!("The DNS record for {domain} stayed missing for a week. To accept requests from {domain} at once again, get a new record in the Membership Centre and publish it."),
                ),
                "domain.expired" => (
                    format!("The record for {domain} was never seen"),
                    format!("{org_name} added {domain}, but its DNS record was not seen within a week. Get a new record in the Membership Centre and publish it to prove the domain is yours."),
                ),
                "domain.moved" => (
                    format!("{domain} was proven by another organisation"),
                    format!("Another organisation published the DNS record that proves {domain} is its own, so {domain} is no longer one of {org_name}\u{2019}s email domains. If it belongs to you, contact the Regional Service Centre."),
                ),
                "domain.proof_requested" => (
                    format!("Prove {domain} again"),
                    format!("{org_name} needs to publish a new DNS record for {domain}. Requests from it are still accepted at once for now; the Membership Centre shows the record and by when."),
                ),
                _ => return None,
            };
            Some(notice(
                "Email domain",
                headline.clone(),
                body,
                vec![Action::Open],
                Target::Domains {
                    organisation_id: org_id,
                    domain,
                },
                false,
            ))
        }
        _ => None,
    }
}

/// The requester's name, as the request says it now or as the event said it.
fn person(data: &Value, r: Option<&AssociationRequest>) -> String {
    let name = r
        .map(|r| format!("{} {}", r.first_name, r.last_name))
        .unwrap_or_else(|| {
            format!(
                "{} {}",
                text(data, "first_name").unwrap_or(""),
                text(data, "last_name").unwrap_or("")
            )
        });
    match name.trim() {
        "" => "Someone".to_owned(),
        n => n.to_owned(),
    }
}

fn parse_time(s: &str) -> Option<Timestamp> {
    Timestamp::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

/// "3 March 2026 at 14:05 UTC": a notice is read later and elsewhere, so it says UTC.
fn in_words(t: Timestamp) -> String {
    let f = time::macros::format_description!(
        "[day padding:none] [month repr:long] [year] at [hour]:[minute] UTC"
    );
    t.format(&f).unwrap_or_default()
}

fn status_words(status: &str) -> &'static str {
    match status {
        "expired" => "expired",
        "accepted" => "accepted",
        "active" => "accepted and verified",
        "denied" => "denied",
        "withdrawn" => "withdrawn by the requester",
        "removed" => "closed",
        _ => "decided",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(id: i64, kind: &str, data: Value) -> Event {
        Event {
            id,
            kind: kind.to_owned(),
            at: Timestamp::UNIX_EPOCH,
            data,
        }
    }

    fn created(status: &str) -> Event {
        event(
            7,
            "association_request.created",
            json!({"request_id": "r1", "organisation_id": "o1", "organisation_name": "Fabrikam Consulting",
                   "first_name": "Ada", "last_name": "Lovelace", "organisation_email": "ada@fabrikam.com", "status": status}),
        )
    }

    fn request(status: RequestStatus, reason: Option<&str>) -> AssociationRequest {
        AssociationRequest {
            request_id: "r1".into(),
            organisation_id: "o1".into(),
            organisation_name: "Fabrikam Consulting".into(),
            account_id: "a1".into(),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            organisation_email: "ada@fabrikam.com".into(),
            status,
            created_at: Timestamp::UNIX_EPOCH,
            decided_at: None,
            decision_reason: reason.map(str::to_owned),
            membership_id: None,
            expires_at: None,
            waiting_on: Vec::new(),
            decided_by: None,
            on_behalf_of: None,
        }
    }

    #[test]
    fn handed_over_reminded_and_escalated_requests_wait_for_a_decision_until_someone_decides() {
        for kind in [
            "association_request.delegated",
            "association_request.expiring",
            "association_request.escalated",
        ] {
            let e = event(
                9,
                kind,
                json!({"request_id": "r1", "organisation_id": "o1", "organisation_name": "Fabrikam Consulting",
                       "first_name": "Ada", "last_name": "Lovelace", "organisation_email": "ada@fabrikam.com",
                       "expires_at": "2026-03-17T09:00:00Z", "on_behalf_of_name": "Felix Fabre"}),
            );
            let n = describe(&e, &Facts::default()).expect("notified");
            assert_eq!(
                n.actions,
                [Action::Approve, Action::Deny, Action::Open],
                "{kind}"
            );
            assert!(
                n.body.contains("17 March 2026 at 09:00 UTC"),
                "{kind}: {}",
                n.body
            );
            assert!(
                !n.headline.contains("Ada"),
                "the headline is the app's own words"
            );
            let decided = Facts {
                request: Some(request(RequestStatus::Accepted, None)),
                ..Facts::default()
            };
            let stale = describe(&e, &decided).expect("notified");
            assert!(
                stale.stale && stale.actions == [Action::Open],
                "{kind}: {stale:?}"
            );
        }
        let delegated = event(
            9,
            "association_request.delegated",
            json!({"request_id": "r1", "organisation_id": "o1", "organisation_name": "Fabrikam Consulting",
                   "first_name": "Ada", "last_name": "Lovelace", "on_behalf_of_name": "Felix Fabre"}),
        );
        assert!(describe(&delegated, &Facts::default())
            .expect("notified")
            .body
            .contains("for Felix Fabre while they are away"));
    }

    #[test]
    fn an_expired_request_is_news_for_its_requester_only_and_a_handover_offer_opens_home() {
        let data = json!({"request_id": "r1", "organisation_id": "o1", "organisation_name": "Fabrikam Consulting",
                          "first_name": "Ada", "last_name": "Lovelace", "status": "expired"});
        assert!(
            describe(
                &event(3, "association_request.expired", data.clone()),
                &Facts::default()
            )
            .is_none(),
            "the approvers' copy only refreshes their screens"
        );
        let mut yours = data;
        yours["yours"] = json!(true);
        let n = describe(
            &event(3, "association_request.expired", yours),
            &Facts::default(),
        )
        .expect("told");
        assert!(n.body.contains("Ask again"), "{}", n.body);
        assert!(matches!(n.target, Target::OwnRequest { .. }));

        // Its approvers are reminded while it waits, with its deadline; once granted, it says so.
        let waiting = json!({"privilege_request_id": "prq1", "membership_id": "m1", "organisation_id": "o1",
                             "organisation_name": "Fabrikam Consulting", "privilege": "action_pack",
                             "member_name": "Sam Taylor", "expires_at": "2026-03-17T09:00:00Z", "reminder": "halfway"});
        let reminded = describe(
            &event(6, "privilege_request.expiring", waiting.clone()),
            &Facts::default(),
        )
        .expect("the approver is reminded");
        assert_eq!(
            reminded.headline,
            "A privilege request is waiting for your decision"
        );
        assert!(
            reminded.body.contains("Sam Taylor") && reminded.body.contains("17 March 2026"),
            "{}",
            reminded.body
        );
        assert_eq!(reminded.actions, [Action::Approve, Action::Open]);
        let granted = describe(
            &event(6, "privilege_request.expiring", waiting),
            &Facts {
                privilege_request: Some(PrivilegeRequestState {
                    open: false,
                    note: None,
                }),
                ..Facts::default()
            },
        )
        .expect("told");
        assert_eq!(granted.actions, [Action::Open], "nothing is left to decide");

        // A privilege request that expired is told to the member who asked (it goes to them only).
        let lapsed = describe(
            &event(
                5,
                "privilege_request.expired",
                json!({"privilege_request_id": "prq1", "membership_id": "m1", "organisation_id": "o1",
                       "organisation_name": "Fabrikam Consulting", "privilege": "global_admin"}),
            ),
            &Facts::default(),
        )
        .expect("the member is told");
        assert!(
            lapsed.body.contains("Fabrikam Consulting")
                && lapsed.body.contains("Review privileges"),
            "{}",
            lapsed.body
        );
        assert_eq!(
            lapsed.target,
            Target::Privileges {
                organisation_id: "o1".into(),
                membership_id: "m1".into()
            }
        );
        assert!(lapsed.actions == [Action::Open]);

        let offer = describe(
            &event(
                4,
                "ppc_handover.offered",
                json!({"handover_id": "h1", "organisation_id": "o1",
                   "organisation_name": "Fabrikam Consulting", "from_name": "Felix Fabre"}),
            ),
            &Facts::default(),
        )
        .expect("told");
        assert_eq!(
            offer.target,
            Target::Handover {
                organisation_id: "o1".into(),
                handover_id: "h1".into()
            }
        );
        assert!(
            !offer.pending(),
            "accepting the role is done on Home, never from a notification"
        );
        for kind in [
            "delegation.started",
            "delegation.ended",
            "ppc_handover.accepted",
            "ppc_handover.declined",
        ] {
            let n = describe(
                &event(5, kind, json!({"organisation_id": "o1", "organisation_name": "Fabrikam Consulting",
                       "delegate_name": "Dana", "delegator_name": "Felix", "to_name": "Dana", "from_name": "Felix",
                       "ends_at": "2026-03-17T09:00:00Z"})),
                &Facts::default(),
            )
            .unwrap_or_else(|| panic!("{kind} is told"));
            assert_eq!(
                n.target,
                Target::Approvers {
                    organisation_id: "o1".into()
                },
                "{kind}"
            );
            assert!(n.title.contains("Dana"), "{kind}: {}", n.title);
        }
        for kind in NOTIFIED_KINDS {
            assert_eq!(
                NOTIFIED_KINDS.iter().filter(|k| **k == kind).count(),
                1,
                "{kind} once"
            );
        }
    }

    #[test]
    fn a_pending_association_request_names_who_and_which_organisation_and_offers_every_action() {
        let n = describe(&created("pending_approval"), &Facts::default()).unwrap();
        assert_eq!(n.id, 7);
        assert!(n.title.contains("Ada Lovelace") && n.title.contains("Fabrikam Consulting"));
        assert!(n.body.contains("ada@fabrikam.com"), "{}", n.body);
        assert_eq!(n.actions, [Action::Approve, Action::Deny, Action::Open]);
        assert!(n.pending() && !n.stale);
        assert_eq!(n.label(Action::Approve), "Approve");
        assert_eq!(
            n.target,
            Target::AssociationRequest {
                organisation_id: "o1".into(),
                request_id: "r1".into()
            }
        );
    }

    #[test]
    fn a_request_decided_before_the_notice_was_made_is_stale_and_offers_only_open() {
        let facts = Facts {
            request: Some(request(RequestStatus::Withdrawn, None)),
            ..Facts::default()
        };
        let n = describe(&created("pending_approval"), &facts).unwrap();
        assert!(n.stale && !n.pending());
        assert_eq!(n.actions, [Action::Open]);
        assert!(n.body.contains("withdrawn"), "{}", n.body);
    }

    #[test]
    fn a_request_accepted_at_once_by_a_pre_approved_domain_is_news_without_a_decision() {
        let n = describe(&created("accepted"), &Facts::default()).unwrap();
        assert!(!n.stale && !n.pending());
        assert_eq!(n.actions, [Action::Open]);
        assert!(n.body.contains("pre-approved"));
    }

    #[test]
    fn a_privilege_request_offers_grant_but_no_deny() {
        let e = event(
            9,
            "privilege_request.created",
            json!({"privilege_request_id": "p1", "membership_id": "m1", "organisation_id": "o1",
                   "privilege": "action_pack", "member_name": "Sam Taylor"}),
        );
        let facts = Facts {
            organisation_name: Some("Contoso Pty Ltd".into()),
            privilege_request: Some(PrivilegeRequestState {
                open: true,
                note: Some("For the licences".into()),
            }),
            ..Facts::default()
        };
        let n = describe(&e, &facts).unwrap();
        assert_eq!(n.title, "Sam Taylor asks for Action Pack");
        assert!(n.body.contains("Contoso Pty Ltd") && n.body.contains("For the licences"));
        assert_eq!(n.actions, [Action::Approve, Action::Open]);
        assert_eq!(n.label(Action::Approve), "Grant");
        let closed = Facts {
            privilege_request: Some(PrivilegeRequestState {
                open: false,
                note: None,
            }),
            ..facts
        };
        assert!(describe(&e, &closed).unwrap().stale);
    }

    #[test]
    fn staff_hear_the_guides_sentence_when_accepted_and_the_reason_when_denied() {
        let accepted = event(
            3,
            "association_request.decided",
            json!({"request_id": "r1", "organisation_id": "o1", "organisation_name": "Fabrikam Consulting", "status": "accepted"}),
        );
        let n = describe(&accepted, &Facts::default()).unwrap();
        assert_eq!(
            n.title,
            "Your request to associate with Fabrikam Consulting has been accepted"
        );
        assert!(n.body.contains("complete your individual profile"));
        assert_eq!(n.actions, [Action::Open]);
        let denied = event(
            4,
            "association_request.decided",
            json!({"request_id": "r1", "organisation_id": "o1", "organisation_name": "Fabrikam Consulting", "status": "denied"}),
        );
        let facts = Facts {
            request: Some(request(
                RequestStatus::Denied,
                Some("Use your work address."),
            )),
            ..Facts::default()
        };
        let n = describe(&denied, &facts).unwrap();
        assert!(n.title.contains("was not accepted"));
        assert!(
            n.body.contains("Reason: Use your work address."),
            "{}",
            n.body
        );
        assert!(matches!(n.target, Target::OwnRequest { .. }));
    }

    #[test]
    fn a_granted_privilege_is_told_and_a_revoked_one_is_not() {
        let data = |granted| json!({"membership_id": "m1", "organisation_id": "o1", "privilege": "global_admin", "granted": granted});
        let facts = Facts {
            organisation_name: Some("Contoso Pty Ltd".into()),
            ..Facts::default()
        };
        let n = describe(
            &event(5, "membership.privileges_changed", data(true)),
            &facts,
        )
        .unwrap();
        assert_eq!(n.title, "You have been granted Global Administrator");
        assert!(n.body.contains("Contoso Pty Ltd"));
        assert!(describe(
            &event(6, "membership.privileges_changed", data(false)),
            &facts
        )
        .is_none());
    }

    #[test]
    fn domain_changes_tell_the_administrators_and_open_the_domain() {
        for (kind, words) in [
            ("domain.verified", "accepted at once"),
            ("domain.suspended", "come to you"),
            ("domain.lapsed", "new record"),
            ("domain.expired", "not seen within a week"),
            ("domain.moved", "Another organisation"),
            ("domain.proof_requested", "new DNS record"),
        ] {
            let n = describe(
                &event(
                    7,
                    kind,
                    json!({"organisation_id": "o1", "domain": "fabrikam.com", "status": "x"}),
                ),
                &Facts {
                    organisation_name: Some("Fabrikam".into()),
                    ..Facts::default()
                },
            )
            .unwrap_or_else(|| panic!("{kind} makes a notice"));
            assert!(NOTIFIED_KINDS.contains(&kind));
            assert!(n.title.contains("fabrikam.com"), "{kind}: {}", n.title);
            assert!(n.body.contains(words), "{kind}: {}", n.body);
            assert_eq!(
                n.target,
                Target::Domains {
                    organisation_id: "o1".into(),
                    domain: "fabrikam.com".into()
                }
            );
        }
        assert!(describe(
            &event(8, "domain.verified", json!({"organisation_id": "o1"})),
            &Facts::default()
        )
        .is_none());
    }

    #[test]
    fn other_kinds_and_broken_data_make_no_notice() {
        assert!(describe(
            &event(1, "profile.updated", json!({"organisation_id": "o1"})),
            &Facts::default()
        )
        .is_none());
        assert!(describe(
            &event(
                2,
                "association_request.created",
                json!({"organisation_id": "o1"})
            ),
            &Facts::default()
        )
        .is_none());
        assert!(describe(
            &event(2, "association_request.created", json!(null)),
            &Facts::default()
        )
        .is_none());
    }

    #[test]
    fn action_keys_round_trip_and_a_click_on_the_notification_opens_it() {
        for a in [Action::Approve, Action::Deny, Action::Open] {
            assert_eq!(Action::from_key(a.key()), Some(a));
        }
        assert_eq!(Action::from_key("default"), Some(Action::Open));
        assert_eq!(Action::from_key("delete-everything"), None);
    }
}
