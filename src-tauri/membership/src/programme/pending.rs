//! Pending work never rots: every pending request has a deadline; its approvers are reminded
//! halfway and one day before it; the organisation's Global Administrators are asked too once the
//! PPC has not acted for a while; at the deadline the request expires and its requester is told.
//! A privilege request keeps the same pace, without the escalation (its Global Administrators are
//! asked from the start). Reminders and escalations reach each approver's mail as one digest a
//! day at most.
//!
//! The pace is [`PendingSettings`]; where a request stands is its [`PendingStep`], moved along by
//! the pure [`on_time`] and stored with a condition on the step it was read at, so a step runs
//! once however many schedulers run at once (`run_due_work`).
use serde_json::json;

use super::accounts::after as at;
use super::{audit, emit, Programme};
use crate::mail::Mail;
use crate::store::{Approver, Audience, PendingRow, PendingStep, Store, WriteTx};
use crate::{Error, Timestamp};

/// The pace of pending work (programme settings).
#[derive(Debug, Clone)]
pub struct PendingSettings {
    /// A pending request expires this long after it was made (Entra ID's default: 14 days).
    pub request_ttl_secs: i64,
    /// The PPC has this long before the Global Administrators are asked too.
    pub escalate_after_secs: i64,
    /// The second reminder goes out this long before the deadline (the first at halfway).
    pub last_reminder_before_secs: i64,
    /// At most one digest mail per approver in this long.
    pub digest_every_secs: i64,
    /// A request found with no deadline (made before deadlines existed) gets at least this long,
    /// so its approvers are reminded and its requester told before it expires.
    pub least_notice_secs: i64,
}

impl Default for PendingSettings {
    fn default() -> Self {
        const DAY: i64 = 24 * 3600;
        Self {
            request_ttl_secs: 14 * DAY,
            escalate_after_secs: 3 * DAY,
            last_reminder_before_secs: DAY,
            digest_every_secs: DAY,
            least_notice_secs: 2 * DAY,
        }
    }
}

/// Which reminder an approver gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reminder {
    Halfway,
    LastDay,
}

impl Reminder {
    fn as_str(self) -> &'static str {
        match self {
            Self::Halfway => "halfway",
            Self::LastDay => "last_day",
        }
    }
}

/// What is due for one request at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    pub to: PendingStep,
    pub remind: Option<Reminder>,
    pub escalate: bool,
    pub expire: bool,
}

/// The first step of a request made pending at `created`.
pub(crate) fn first_step(created: Timestamp, s: &PendingSettings) -> PendingStep {
    let expires = at(created, s.request_ttl_secs);
    PendingStep {
        expires_at: Some(expires),
        reminders_sent: 0,
        escalated_at: None,
        next_step_at: Some(next_at(created, expires, 0, false, s)),
    }
}

/// A privilege request's step: reminders and its deadline, never an escalation (its Global
/// Administrators are asked from the start), so it reads as escalated when it was made.
pub(crate) fn privilege_step(
    created: Timestamp,
    expires_at: Option<Timestamp>,
    reminders_sent: u8,
    next_step_at: Option<Timestamp>,
) -> PendingStep {
    PendingStep {
        expires_at,
        reminders_sent,
        escalated_at: Some(created),
        next_step_at,
    }
}

/// The first step of a privilege request made at `created`.
pub(crate) fn first_privilege_step(created: Timestamp, s: &PendingSettings) -> PendingStep {
    let expires = at(created, s.request_ttl_secs);
    privilege_step(
        created,
        Some(expires),
        0,
        Some(next_at(created, expires, 0, true, s)),
    )
}

/// When each step falls: the halfway reminder (none when it would not come before the last one),
/// the last reminder and the escalation (none when it would not come before the deadline).
fn times(
    created: Timestamp,
    expires: Timestamp,
    s: &PendingSettings,
) -> (Option<Timestamp>, Timestamp, Option<Timestamp>) {
    let last_day = at(expires, -s.last_reminder_before_secs).max(created);
    let halfway = created + (expires - created) / 2;
    let escalate = at(created, s.escalate_after_secs);
    (
        (halfway < last_day).then_some(halfway),
        last_day,
        (escalate < expires).then_some(escalate),
    )
}

/// The soonest step still to come.
fn next_at(
    created: Timestamp,
    expires: Timestamp,
    reminders: u8,
    escalated: bool,
    s: &PendingSettings,
) -> Timestamp {
    let (halfway, last_day, escalate) = times(created, expires, s);
    [
        halfway.filter(|_| reminders < 1),
        Some(last_day).filter(|_| reminders < 2),
        escalate.filter(|_| !escalated),
        Some(expires),
    ]
    .into_iter()
    .flatten()
    .min()
    .unwrap_or(expires)
}

/// What is due at `now` for a request made at `created` that stands at `step`. Steps that were
/// missed (the scheduler did not run) are not repeated: only the latest reminder goes out, and a
/// request past its deadline simply expires.
pub(crate) fn on_time(
    created: Timestamp,
    step: &PendingStep,
    now: Timestamp,
    s: &PendingSettings,
) -> Plan {
    let expires = step
        .expires_at
        .unwrap_or_else(|| at(created, s.request_ttl_secs).max(at(now, s.least_notice_secs)));
    if now >= expires {
        return Plan {
            to: PendingStep {
                expires_at: Some(expires),
                next_step_at: None,
                ..*step
            },
            remind: None,
            escalate: false,
            expire: true,
        };
    }
    let (halfway, last_day, escalate_at) = times(created, expires, s);
    let mut reminders = step.reminders_sent;
    let remind = if reminders < 2 && now >= last_day {
        reminders = 2;
        Some(Reminder::LastDay)
    } else if reminders < 1 && halfway.is_some_and(|h| now >= h) {
        reminders = 1;
        Some(Reminder::Halfway)
    } else {
        None
    };
    let escalate = step.escalated_at.is_none() && escalate_at.is_some_and(|e| now >= e);
    let escalated_at = if escalate {
        Some(now)
    } else {
        step.escalated_at
    };
    Plan {
        to: PendingStep {
            expires_at: Some(expires),
            reminders_sent: reminders,
            escalated_at,
            next_step_at: Some(next_at(
                created,
                expires,
                reminders,
                escalated_at.is_some(),
                s,
            )),
        },
        remind,
        escalate,
        expire: false,
    }
}

/// What one run of the scheduler did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DueWork {
    /// Domains whose proof moved along or was looked up.
    pub domains: usize,
    /// Reminders sent (one per association or privilege request; each reaches every approver).
    pub reminders: usize,
    pub escalations: usize,
    pub expired: usize,
    /// Privilege requests that got a deadline or expired.
    pub privilege_requests: usize,
    /// Digest mails sent.
    pub digests: usize,
    /// Delegations that started or ended.
    pub delegations: usize,
    /// The outbox's mail that was due (first tries the mail worker missed, and retries).
    pub mail: super::MailRun,
}

impl DueWork {
    /// True when the run changed nothing.
    pub fn is_idle(&self) -> bool {
        *self == Self::default()
    }
}

pub(super) fn rfc3339(t: Timestamp) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// "on 3 March 2026 at 14:05 UTC": mail has no time zone of its reader, so it says UTC.
fn in_words(t: Timestamp) -> String {
    let f = time::macros::format_description!(
        "[day padding:none] [month repr:long] [year] at [hour]:[minute] UTC"
    );
    t.format(&f).unwrap_or_default()
}

fn name_of(row: &PendingRow) -> String {
    format!("{} {}", row.first_name, row.last_name)
}

impl<S: Store> Programme<S> {
    /// The time-driven work of the whole programme, for everything due by `now`: domain proof's
    /// checks, delegations that start or end, then pending requests' reminders, escalations and
    /// expiry, privilege requests' reminders and expiry, and the approvers' digest mails. Safe to run often, twice, or on several instances
    /// at once: each step is claimed in the store, so it happens once.
    pub fn run_due_work(&self, now: Timestamp, limit: u32) -> Result<DueWork, Error> {
        let mut work = DueWork {
            domains: self.run_domain_checks(now, limit)?,
            ..DueWork::default()
        };
        self.run_delegations(now, limit, &mut work)?;
        self.run_pending_requests(now, limit, &mut work)?;
        self.run_privilege_requests(now, limit, &mut work)?;
        self.send_digests(now, limit, &mut work)?;
        work.mail = self.deliver_mail(now, limit)?;
        Ok(work)
    }

    fn run_pending_requests(
        &self,
        now: Timestamp,
        limit: u32,
        work: &mut DueWork,
    ) -> Result<(), Error> {
        let s = self.config.pending.clone();
        let due = self.read(|tx| tx.due_requests(now, limit))?;
        for seen in due {
            let plan = on_time(seen.created_at, &seen.step, now, &s);
            self.write(now, |tx, outbox| {
                if plan.expire {
                    if !tx.expire_request(&seen.request_id, &seen.step, now)? {
                        return Ok(()); // decided, or moved on by another run meanwhile
                    }
                    expired(tx, &seen, now, outbox)?;
                    work.expired += 1;
                    return Ok(());
                }
                if !tx.advance_request(&seen.request_id, &seen.step, &plan.to)? {
                    return Ok(());
                }
                let expires = plan.to.expires_at.unwrap_or(now);
                if let Some(reminder) = plan.remind {
                    let asked = super::delegation::approvers_now(
                        tx,
                        &seen.organisation_id,
                        plan.to.escalated_at.is_some(),
                    )?;
                    remind(tx, &seen, reminder, expires, &asked, now)?;
                    work.reminders += 1;
                }
                if plan.escalate {
                    escalate(tx, &seen, expires, now)?;
                    work.escalations += 1;
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    fn run_privilege_requests(
        &self,
        now: Timestamp,
        limit: u32,
        work: &mut DueWork,
    ) -> Result<(), Error> {
        let s = self.config.pending.clone();
        let due = self.read(|tx| tx.due_privilege_requests(now, limit))?;
        for q in due {
            let seen = privilege_step(q.created_at, q.expires_at, q.reminders_sent, q.next_step_at);
            let plan = on_time(q.created_at, &seen, now, &s);
            self.change(|tx| {
                if plan.expire {
                    if !tx.end_privilege_request(&q.privilege_request_id, now, "expired")? {
                        return Ok(());
                    }
                    audit(tx, now, Some(&q.organisation_id), None, "privilege_request.expired", &q.privilege_request_id, q.privilege.as_str())?;
                    emit(
                        tx,
                        now,
                        "privilege_request.expired",
                        Audience::Account(&q.account_id),
                        json!({"privilege_request_id": q.privilege_request_id, "membership_id": q.membership_id,
                               "organisation_id": q.organisation_id, "organisation_name": q.organisation_name,
                               "privilege": q.privilege.as_str()}),
                    )?;
                    work.privilege_requests += 1;
                    return Ok(());
                }
                if !tx.advance_privilege_request(&q.privilege_request_id, &seen, &plan.to)? {
                    return Ok(()); // granted, ended, or moved on by another run meanwhile
                }
                if q.expires_at.is_none() {
                    work.privilege_requests += 1; // it got its deadline
                }
                if let Some(reminder) = plan.remind {
                    let expires = plan.to.expires_at.unwrap_or(now);
                    let asked = super::delegation::approvers_now(tx, &q.organisation_id, true)?;
                    remind_of_privilege(tx, &q, reminder, expires, &asked, now)?;
                    work.reminders += 1;
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    fn send_digests(&self, now: Timestamp, limit: u32, work: &mut DueWork) -> Result<(), Error> {
        let sent_before = at(now, -self.config.pending.digest_every_secs);
        let due = self.read(|tx| tx.due_digests(sent_before, limit))?;
        for account_id in due {
            self.write(now, |tx, outbox| {
                let lines = tx.digest_lines(&account_id)?;
                let (Some(last), Some(account)) = (lines.last(), tx.account(&account_id)?) else {
                    return Ok(());
                };
                if !tx.claim_digest(&account_id, sent_before, now)? {
                    return Ok(());
                }
                tx.clear_digest_lines(&account_id, last.seq)?;
                let list: String = lines.iter().map(|l| format!("- {}\n", l.line)).collect();
                outbox.push(Mail {
                    to: account.email.clone(),
                    subject: match lines.len() {
                        1 => "1 request is waiting for you in Partner Desk".to_owned(),
                        n => format!("{n} requests are waiting for you in Partner Desk"),
                    },
                    body: format!(
                        "Hello {},\n\nThese requests are waiting for a decision:\n\n{list}\n\
                         Open the Membership Centre in Partner Desk to accept or deny them. A request \
                         nobody decides expires at its deadline, and its requester has to ask again.\n\n\
                         You get this summary at most once a day.\n",
                        account.display_name
                    ),
                    link: None,
                }.into());
                work.digests += 1;
                Ok(())
            })?;
        }
        Ok(())
    }
}

/// The reminder to every approver: an event each, and a line for each one's digest.
fn remind(
    tx: &mut dyn WriteTx,
    row: &PendingRow,
    reminder: Reminder,
    expires: Timestamp,
    asked: &[Approver],
    now: Timestamp,
) -> Result<(), Error> {
    let line = format!(
        "{} ({}) asked to join {}: it expires on {}.",
        name_of(row),
        row.organisation_email,
        row.organisation_name,
        in_words(expires)
    );
    let data = json!({"request_id": row.request_id, "organisation_id": row.organisation_id,
                      "organisation_name": row.organisation_name, "first_name": row.first_name,
                      "last_name": row.last_name, "organisation_email": row.organisation_email,
                      "expires_at": rfc3339(expires), "reminder": reminder.as_str()});
    tell(
        tx,
        asked.iter(),
        "association_request.expiring",
        &data,
        &line,
        now,
    )?;
    audit(
        tx,
        now,
        Some(&row.organisation_id),
        None,
        "association_request.reminded",
        &row.request_id,
        reminder.as_str(),
    )
}

/// The same news to each approver asked: an event each, and a line for each one's digest.
fn tell<'a>(
    tx: &mut dyn WriteTx,
    asked: impl Iterator<Item = &'a Approver>,
    kind: &str,
    data: &serde_json::Value,
    line: &str,
    now: Timestamp,
) -> Result<(), Error> {
    for a in asked {
        emit(
            tx,
            now,
            kind,
            Audience::Account(&a.account_id),
            data.clone(),
        )?;
        tx.add_digest_line(&a.account_id, line, now)?;
    }
    Ok(())
}

/// The reminder of a privilege request to its approvers (never the member who asked): an event
/// each, and a line for each one's digest.
fn remind_of_privilege(
    tx: &mut dyn WriteTx,
    q: &crate::store::DuePrivilegeRequest,
    reminder: Reminder,
    expires: Timestamp,
    asked: &[Approver],
    now: Timestamp,
) -> Result<(), Error> {
    let line = format!(
        "{} asked for {} at {}: it expires on {}.",
        q.member_name,
        q.privilege.title(),
        q.organisation_name,
        in_words(expires)
    );
    let data = json!({"privilege_request_id": q.privilege_request_id, "membership_id": q.membership_id,
                      "organisation_id": q.organisation_id, "organisation_name": q.organisation_name,
                      "privilege": q.privilege.as_str(), "member_name": q.member_name,
                      "expires_at": rfc3339(expires), "reminder": reminder.as_str()});
    let others = asked.iter().filter(|a| a.account_id != q.account_id);
    tell(tx, others, "privilege_request.expiring", &data, &line, now)?;
    audit(
        tx,
        now,
        Some(&q.organisation_id),
        None,
        "privilege_request.reminded",
        &q.privilege_request_id,
        reminder.as_str(),
    )
}

/// The PPC has not acted: the Global Administrators are asked too.
fn escalate(
    tx: &mut dyn WriteTx,
    row: &PendingRow,
    expires: Timestamp,
    now: Timestamp,
) -> Result<(), Error> {
    let admins: Vec<Approver> = tx
        .approvers(&row.organisation_id, true)?
        .into_iter()
        .filter(|a| a.role == crate::model::ApproverRole::GlobalAdmin)
        .collect();
    let line = format!(
        "{} ({}) asked to join {} and the Primary Program Contact has not decided yet: you are asked too. It expires on {}.",
        name_of(row),
        row.organisation_email,
        row.organisation_name,
        in_words(expires)
    );
    let data = json!({"request_id": row.request_id, "organisation_id": row.organisation_id,
                      "organisation_name": row.organisation_name, "first_name": row.first_name,
                      "last_name": row.last_name, "organisation_email": row.organisation_email,
                      "expires_at": rfc3339(expires)});
    tell(
        tx,
        admins.iter(),
        "association_request.escalated",
        &data,
        &line,
        now,
    )?;
    let detail = match admins.len() {
        0 => "no Global Administrator to ask".to_owned(),
        n => format!("asked {n} Global Administrator(s)"),
    };
    audit(
        tx,
        now,
        Some(&row.organisation_id),
        None,
        "association_request.escalated",
        &row.request_id,
        &detail,
    )
}

/// The deadline passed: the requester hears it (an event and a mail), and so do the approvers'
/// screens (the queue changes).
fn expired(
    tx: &mut dyn WriteTx,
    row: &PendingRow,
    now: Timestamp,
    outbox: &mut Vec<super::Outgoing>,
) -> Result<(), Error> {
    let data = json!({"request_id": row.request_id, "organisation_id": row.organisation_id,
                      "organisation_name": row.organisation_name, "first_name": row.first_name,
                      "last_name": row.last_name, "status": "expired"});
    let mut yours = data.clone();
    yours["yours"] = json!(true);
    emit(
        tx,
        now,
        "association_request.expired",
        Audience::Account(&row.account_id),
        yours,
    )?;
    emit(
        tx,
        now,
        "association_request.expired",
        Audience::AdminsOf(&row.organisation_id),
        data,
    )?;
    audit(
        tx,
        now,
        Some(&row.organisation_id),
        None,
        "association_request.expired",
        &row.request_id,
        "nobody decided it before its deadline",
    )?;
    outbox.push(Mail {
        to: row.organisation_email.clone(),
        subject: format!("Your request to join {} expired", row.organisation_name),
        body: format!(
            "Hello {},\n\nNobody at {} decided your request to associate with the organisation before its deadline, so it has expired. \
             This does not count against you.\n\nTo ask again with the same details, open Partner Desk and choose \u{201c}Ask again\u{201d} on your request. \
             You may also want to contact your program administrator.\n",
            row.first_name, row.organisation_name
        ),
        link: None,
    }.into());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const DAY: i64 = 86_400;
    const T0: Timestamp = datetime!(2026-03-03 09:00 UTC);

    fn after(days: f64) -> Timestamp {
        at(T0, (days * DAY as f64) as i64)
    }

    /// Runs the plan at each moment in `at_days`, as a scheduler would.
    fn walk(at_days: &[f64]) -> Vec<(f64, Plan)> {
        let s = PendingSettings::default();
        let mut step = first_step(T0, &s);
        let mut out = Vec::new();
        for &d in at_days {
            let plan = on_time(T0, &step, after(d), &s);
            step = plan.to;
            out.push((d, plan));
        }
        out
    }

    #[test]
    fn a_request_is_escalated_at_3_days_reminded_at_7_and_13_and_expires_exactly_at_14() {
        let s = PendingSettings::default();
        let first = first_step(T0, &s);
        assert_eq!(first.expires_at, Some(after(14.0)));
        assert_eq!(
            first.next_step_at,
            Some(after(3.0)),
            "escalation comes first"
        );
        let steps = walk(&[3.0, 7.0, 13.0, 14.0 - 1.0 / DAY as f64, 14.0]);
        let (_, e) = &steps[0];
        assert!(e.escalate && e.remind.is_none() && !e.expire);
        assert_eq!(e.to.next_step_at, Some(after(7.0)));
        assert_eq!(steps[1].1.remind, Some(Reminder::Halfway));
        assert!(!steps[1].1.escalate, "escalated once");
        assert_eq!(steps[1].1.to.next_step_at, Some(after(13.0)));
        assert_eq!(steps[2].1.remind, Some(Reminder::LastDay));
        assert_eq!(steps[2].1.to.next_step_at, Some(after(14.0)));
        let (_, before) = &steps[3];
        assert!(!before.expire && before.remind.is_none(), "{before:?}");
        assert!(steps[4].1.expire, "expires exactly at its deadline");
    }

    #[test]
    fn a_scheduler_that_was_down_sends_only_the_latest_reminder_and_a_late_one_simply_expires() {
        let late = walk(&[13.5]);
        let p = &late[0].1;
        assert_eq!(p.remind, Some(Reminder::LastDay), "not the halfway one too");
        assert!(p.escalate);
        assert_eq!(p.to.reminders_sent, 2);
        let gone = walk(&[20.0]);
        assert!(gone[0].1.expire && gone[0].1.remind.is_none());
    }

    #[test]
    fn running_the_same_moment_twice_does_nothing_the_second_time() {
        let s = PendingSettings::default();
        let once = on_time(T0, &first_step(T0, &s), after(7.0), &s);
        let twice = on_time(T0, &once.to, after(7.0), &s);
        assert!(twice.remind.is_none() && !twice.escalate && !twice.expire);
        assert_eq!(twice.to, once.to);
    }

    #[test]
    fn a_request_from_before_deadlines_gets_at_least_two_days_and_its_reminders() {
        let s = PendingSettings::default();
        let old = PendingStep {
            expires_at: None,
            reminders_sent: 0,
            escalated_at: None,
            next_step_at: Some(after(30.0)),
        };
        let p = on_time(T0, &old, after(30.0), &s);
        assert!(!p.expire, "not expired unannounced");
        assert_eq!(p.to.expires_at, Some(after(32.0)));
        assert_eq!(
            p.remind,
            Some(Reminder::Halfway),
            "its approvers hear at once"
        );
        assert_eq!(p.to.next_step_at, Some(after(31.0)), "then a day before");
    }

    #[test]
    fn short_deadlines_keep_their_order() {
        let s = PendingSettings {
            request_ttl_secs: DAY,
            ..PendingSettings::default()
        };
        let first = first_step(T0, &s);
        // No halfway reminder after the last one, no escalation after the deadline: the last
        // reminder falls at the start (one day before a one-day deadline).
        assert_eq!(first.next_step_at, Some(T0));
        let p = on_time(T0, &first, T0, &s);
        assert_eq!(p.remind, Some(Reminder::LastDay));
        assert!(!p.escalate);
        assert_eq!(p.to.next_step_at, Some(after(1.0)));
    }
}
