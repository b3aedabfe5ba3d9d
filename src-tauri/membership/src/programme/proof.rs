//! Domain proof: a domain accepts people at once only while its organisation has proven, by a TXT
//! record at `_partner-desk-challenge.<domain>`, that it controls the domain.
//!
//! The life of a domain (`DomainStatus`):
//! - `pending` from when it is added: looked up soon, then less and less often; ends as `expired`
//!   after [`ProofSettings::pending_secs`] without the record.
//! - `verified` once the record is seen: looked up daily. A check that misses the record is
//!   confirmed by a second at least [`ProofSettings::confirm_secs`] later, and only then is the
//!   domain `suspended`. Each year ([`ProofSettings::reproof_secs`]) a new value is asked for;
//!   the old one counts for [`ProofSettings::reproof_overlap_secs`] more.
//! - `suspended`: no auto-accept; the record seen again makes it `verified`; after
//!   [`ProofSettings::suspended_secs`] it is `lapsed`.
//! - `lapsed` and `expired` are never looked up again: adding the domain again gives a new value.
//! - `legacy`: pre-approved before domain proof; accepts at once for
//!   [`ProofSettings::legacy_grace_secs`] from the migration while its record is asked for, then
//!   is `pending` like any unproven domain.
//!
//! Claims: only a `verified` hold blocks another organisation from adding a domain. Whoever
//! proves a domain first holds it; every other organisation's hold on it ends, and its PPC is
//! told why (`domain.moved`). A state changes only on an answer from DNS, never on a timeout.
use serde_json::json;

use super::{audit, emit, require_admin, Caller, Programme};
use crate::dns::{challenge_name, judge, Seen};
use crate::model::{DnsRecord, DomainRule, DomainStatus, LastSeen, SeenOutcome};
use crate::store::{Audience, DomainProof, DomainRow, Insert, ReadTx, Store, WriteTx};
use crate::{Error, Timestamp};

/// The pace and deadlines of domain proof (programme settings).
#[derive(Debug, Clone)]
pub struct ProofSettings {
    /// How long a pending challenge waits for its record.
    pub pending_secs: i64,
    /// The first automatic check after adding; later checks of a pending domain wait four times
    /// longer each, up to [`ProofSettings::pending_max_interval_secs`].
    pub first_check_secs: i64,
    pub pending_max_interval_secs: i64,
    /// How often a verified domain is looked up again.
    pub recheck_secs: i64,
    /// The least time between a check that misses a verified domain's record and the check that
    /// confirms it (and suspends the domain).
    pub confirm_secs: i64,
    /// How often a suspended domain is looked up.
    pub suspended_interval_secs: i64,
    /// How long a domain stays suspended before it lapses.
    pub suspended_secs: i64,
    /// How long a proof lasts before a new value is asked for.
    pub reproof_secs: i64,
    /// How long the previous value still counts once a new one is asked for.
    pub reproof_overlap_secs: i64,
    /// How long a domain pre-approved before domain proof keeps accepting at once.
    pub legacy_grace_secs: i64,
    /// How long after a check a PPC may press Check now again.
    pub check_now_secs: i64,
    /// How long a scheduled check holds a domain, so that no other instance checks it at once.
    pub lease_secs: i64,
    /// After a check that got no answer, how soon the next is tried.
    pub retry_secs: i64,
}

impl Default for ProofSettings {
    fn default() -> Self {
        const DAY: i64 = 24 * 3600;
        Self {
            pending_secs: 7 * DAY,
            first_check_secs: 30,
            pending_max_interval_secs: 6 * 3600,
            recheck_secs: DAY,
            confirm_secs: 3600,
            suspended_interval_secs: 6 * 3600,
            suspended_secs: 7 * DAY,
            reproof_secs: 365 * DAY,
            reproof_overlap_secs: 30 * DAY,
            legacy_grace_secs: 30 * DAY,
            check_now_secs: 30,
            lease_secs: 120,
            retry_secs: 15 * 60,
        }
    }
}

/// What a change of a domain's proof is told as: the audit action and the event kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Verified,
    Restored,
    Suspended,
    Lapsed,
    Expired,
    /// A legacy domain's grace period ended: it is pending now.
    GraceEnded,
    /// A year has passed: a new value is asked for.
    ReproofAsked,
}

impl Change {
    fn kind(self) -> &'static str {
        match self {
            Change::Verified | Change::Restored => "domain.verified",
            Change::Suspended => "domain.suspended",
            Change::Lapsed => "domain.lapsed",
            Change::Expired => "domain.expired",
            Change::GraceEnded | Change::ReproofAsked => "domain.proof_requested",
        }
    }
}

fn at(t: Timestamp, secs: i64) -> Timestamp {
    t + time::Duration::seconds(secs)
}

/// A new challenge value: 160 random bits as 40 lower-case hex digits.
pub(crate) fn new_challenge() -> String {
    crate::tokens::random_array::<20>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The proof of a domain just added (or added again after its challenge ended).
pub(crate) fn fresh_proof(now: Timestamp, s: &ProofSettings) -> DomainProof {
    DomainProof {
        status: DomainStatus::Pending,
        challenge: new_challenge(),
        previous_challenge: None,
        previous_until: None,
        status_since: now,
        verified_at: None,
        last_checked_at: None,
        last_seen: None,
        next_check_at: Some(at(now, s.first_check_secs)),
        missing_since: None,
        checks: 0,
    }
}

/// When the status ends on its own, unless the record is seen.
fn status_ends_at(p: &DomainProof, s: &ProofSettings) -> Option<Timestamp> {
    match p.status {
        DomainStatus::Pending => Some(at(p.status_since, s.pending_secs)),
        DomainStatus::Suspended => Some(at(p.status_since, s.suspended_secs)),
        DomainStatus::Legacy => Some(at(p.status_since, s.legacy_grace_secs)),
        DomainStatus::Verified => match (p.previous_until, p.verified_at) {
            (Some(until), _) => Some(until),
            (None, Some(v)) => Some(at(v, s.reproof_secs)),
            (None, None) => None,
        },
        DomainStatus::Lapsed | DomainStatus::Expired => None,
    }
}

/// The earlier of a planned check and the moment the status ends.
fn next_check(p: &DomainProof, after_secs: i64, now: Timestamp, s: &ProofSettings) -> Timestamp {
    let planned = at(now, after_secs);
    match status_ends_at(p, s) {
        Some(end) if end < planned => end.max(now),
        _ => planned,
    }
}

/// The domain as the API shows it.
pub(crate) fn rule_of(row: &DomainRow, s: &ProofSettings) -> DomainRule {
    let p = &row.proof;
    DomainRule {
        domain: row.domain.clone(),
        include_subdomains: row.include_subdomains,
        added_at: row.added_at,
        status: p.status,
        record: DnsRecord {
            name: challenge_name(&row.domain),
            record_type: "TXT".to_owned(),
            value: p.challenge.clone(),
        },
        verified_at: p.verified_at,
        last_checked_at: p.last_checked_at,
        last_seen: p.last_seen.clone(),
        next_check_at: p.next_check_at,
        status_ends_at: status_ends_at(p, s),
    }
}

/// Moves a domain along as time passes, without looking anything up: a pending challenge
/// expires, a suspended domain lapses, a legacy grace period ends, a yearly re-proof is asked for.
fn on_time(p: &mut DomainProof, now: Timestamp, s: &ProofSettings) -> Option<Change> {
    let ended = status_ends_at(p, s).is_some_and(|end| end <= now);
    match p.status {
        DomainStatus::Pending if ended => {
            p.status = DomainStatus::Expired;
            p.status_since = now;
            p.next_check_at = None;
            Some(Change::Expired)
        }
        DomainStatus::Suspended if ended => {
            p.status = DomainStatus::Lapsed;
            p.status_since = now;
            p.next_check_at = None;
            p.missing_since = None;
            Some(Change::Lapsed)
        }
        DomainStatus::Legacy if ended => {
            p.status = DomainStatus::Pending;
            p.status_since = now;
            p.checks = 0;
            p.next_check_at = Some(now);
            Some(Change::GraceEnded)
        }
        DomainStatus::Verified if p.previous_challenge.is_none() && ended => {
            p.previous_challenge = Some(std::mem::replace(&mut p.challenge, new_challenge()));
            p.previous_until = Some(at(now, s.reproof_overlap_secs));
            p.next_check_at = Some(now);
            Some(Change::ReproofAsked)
        }
        DomainStatus::Verified if p.previous_until.is_some_and(|u| u <= now) => {
            // The overlap is over: only the new value counts from now on.
            p.previous_challenge = None;
            p.previous_until = None;
            None
        }
        _ => None,
    }
}

/// Moves a domain along after a check saw `seen`.
fn on_seen(p: &mut DomainProof, seen: &Seen, now: Timestamp, s: &ProofSettings) -> Option<Change> {
    if matches!(p.status, DomainStatus::Lapsed | DomainStatus::Expired) {
        return None;
    }
    p.last_checked_at = Some(now);
    let (outcome, detail) = match seen {
        Seen::Found => (
            SeenOutcome::Found,
            "The record holds the value to publish.".to_owned(),
        ),
        Seen::FoundPrevious => (
            SeenOutcome::Found,
            "Found last year\u{2019}s value. Publish the new value shown here to stay verified."
                .to_owned(),
        ),
        Seen::NotFound(outcome, detail) => (*outcome, detail.clone()),
        Seen::Failed(why) => (
            SeenOutcome::Error,
            format!(
                "No answer from DNS ({why}). Nothing changed; the record is looked up again soon."
            ),
        ),
    };
    p.last_seen = Some(LastSeen { outcome, detail });
    match seen {
        Seen::Failed(_) => {
            p.next_check_at = Some(next_check(p, s.retry_secs, now, s));
            None
        }
        Seen::Found | Seen::FoundPrevious => {
            let change = match p.status {
                DomainStatus::Pending | DomainStatus::Legacy => Some(Change::Verified),
                DomainStatus::Suspended => Some(Change::Restored),
                _ => None,
            };
            if *seen == Seen::Found {
                // The current value: a first proof, or the new value of a yearly re-proof, starts
                // the year again.
                if change == Some(Change::Verified) || p.previous_challenge.is_some() {
                    p.verified_at = Some(now);
                }
                p.previous_challenge = None;
                p.previous_until = None;
            }
            if change.is_some() {
                p.status = DomainStatus::Verified;
                p.status_since = now;
            }
            p.missing_since = None;
            p.checks = 0;
            p.next_check_at = Some(next_check(p, s.recheck_secs, now, s));
            change
        }
        Seen::NotFound(..) => match p.status {
            DomainStatus::Pending | DomainStatus::Legacy => {
                p.checks = p.checks.saturating_add(1);
                let pace = s
                    .first_check_secs
                    .saturating_mul(4_i64.saturating_pow(p.checks))
                    .min(s.pending_max_interval_secs);
                p.next_check_at = Some(next_check(p, pace, now, s));
                None
            }
            DomainStatus::Verified => match p.missing_since {
                Some(since) if (now - since).whole_seconds() >= s.confirm_secs => {
                    p.status = DomainStatus::Suspended;
                    p.status_since = now;
                    p.missing_since = None;
                    p.next_check_at = Some(next_check(p, s.suspended_interval_secs, now, s));
                    Some(Change::Suspended)
                }
                Some(since) => {
                    let wait = s.confirm_secs - (now - since).whole_seconds();
                    p.next_check_at = Some(next_check(p, wait, now, s));
                    None
                }
                None => {
                    p.missing_since = Some(now);
                    p.next_check_at = Some(next_check(p, s.confirm_secs, now, s));
                    None
                }
            },
            DomainStatus::Suspended => {
                p.next_check_at = Some(next_check(p, s.suspended_interval_secs, now, s));
                None
            }
            DomainStatus::Lapsed | DomainStatus::Expired => None,
        },
    }
}

/// A check that was planned: which hold, and which values it looks for.
struct Planned {
    organisation_id: String,
    domain: String,
    challenge: String,
    previous: Option<String>,
}

impl<S: Store> Programme<S> {
    /// Looks `domain`'s record up now, at the PPC's request, and answers the domain after it.
    /// Refused (429) within [`ProofSettings::check_now_secs`] of the last check.
    pub fn check_domain(
        &self,
        caller: &Caller,
        org: &str,
        domain: &str,
        now: Timestamp,
    ) -> Result<DomainRule, Error> {
        let canonical =
            crate::domain::DomainName::parse(domain).map_err(|_| Error::not_found("domain"))?;
        let s = &self.config.proof;
        let planned = self.read(|tx| {
            require_admin(tx, caller, org)?;
            let row =
                hold(tx, org, canonical.as_str())?.ok_or_else(|| Error::not_found("domain"))?;
            if let Some(last) = row.proof.last_checked_at {
                let wait = s.check_now_secs - (now - last).whole_seconds();
                if wait > 0 {
                    return Err(Error::rate_limited(
                        "check_too_soon",
                        u64::try_from(wait).unwrap_or(1),
                        format!("{} was checked a moment ago. Wait {wait} seconds, then choose Check now again.", row.domain),
                    ));
                }
            }
            if matches!(row.proof.status, DomainStatus::Lapsed | DomainStatus::Expired) {
                return Err(Error::conflict(
                    "challenge_ended",
                    format!("The record for {} is no longer accepted. Add the domain again to get a new record to publish.", row.domain),
                ));
            }
            Ok(Planned::of(&row))
        })?;
        let seen = self.look_up(&planned);
        self.record_check(&planned, &seen, Some(&caller.account_id), now)?;
        self.read(|tx| {
            hold(tx, org, &planned.domain)?
                .map(|r| rule_of(&r, s))
                .ok_or_else(|| Error::not_found("domain"))
        })
    }

    /// The scheduled work of domain proof, for every organisation: moves along the domains whose
    /// time has come, and looks up (at most `limit`) records that are due. Safe to run often,
    /// twice, or on several instances at once: a due check is leased in the store before its
    /// lookup, so only one runs it. Answers how many domains were due.
    pub fn run_domain_checks(&self, now: Timestamp, limit: u32) -> Result<usize, Error> {
        let s = self.config.proof.clone();
        let (due, planned) = self.change(|tx| {
            let mut planned = Vec::new();
            let rows = tx.due_domains(now, limit)?;
            let due = rows.len();
            for mut row in rows {
                if row.proof.status == DomainStatus::Legacy && row.proof.last_checked_at.is_none() {
                    // Pre-approved before domain proof: its PPC is asked to prove it, once.
                    tell(tx, &row, Change::ReproofAsked, None, now)?;
                }
                if let Some(change) = on_time(&mut row.proof, now, &s) {
                    tell(tx, &row, change, None, now)?;
                }
                let lookup = !matches!(
                    row.proof.status,
                    DomainStatus::Lapsed | DomainStatus::Expired
                );
                if lookup {
                    row.proof.next_check_at = Some(at(now, s.lease_secs));
                    planned.push(Planned::of(&row));
                }
                // Time alone never makes a domain held (verified, suspended or legacy) that
                // was not.
                if tx.update_domain(&row)? == Insert::Duplicate {
                    return Err(Error::internal(
                        "a scheduled change of a domain met another hold",
                    ));
                }
            }
            Ok((due, planned))
        })?;
        for p in &planned {
            let seen = self.look_up(p);
            self.record_check(p, &seen, None, now)?;
        }
        Ok(due)
    }

    fn look_up(&self, p: &Planned) -> Seen {
        match self.dns.txt(&challenge_name(&p.domain)) {
            Ok(answer) => judge(&p.domain, &answer, &p.challenge, p.previous.as_deref()),
            Err(e) => Seen::Failed(e.0),
        }
    }

    /// Applies what a check saw, unless the hold changed since the check was planned (removed,
    /// or added again with a new value).
    fn record_check(
        &self,
        p: &Planned,
        seen: &Seen,
        actor: Option<&str>,
        now: Timestamp,
    ) -> Result<(), Error> {
        let s = self.config.proof.clone();
        self.change(|tx| {
            let Some(mut row) = hold(tx, &p.organisation_id, &p.domain)? else {
                return Ok(());
            };
            if row.proof.challenge != p.challenge {
                return Ok(());
            }
            let timed = on_time(&mut row.proof, now, &s);
            if let Some(change) = timed {
                tell(tx, &row, change, actor, now)?;
            }
            let change = on_seen(&mut row.proof, seen, now, &s);
            if change == Some(Change::Verified) || change == Some(Change::Restored) {
                // Whoever proves a domain first holds it: every other hold on it ends.
                for other in tx.domain_holders(&row.domain)? {
                    if other.organisation_id != row.organisation_id {
                        moved(tx, &other, now)?;
                    }
                }
            }
            if tx.update_domain(&row)? == Insert::Duplicate {
                // Another organisation proved it in the meantime (the store holds one proof per
                // domain): this hold ends as if moved.
                return moved(tx, &row, now);
            }
            let outcome = row
                .proof
                .last_seen
                .as_ref()
                .map_or("", |l| l.outcome.as_str());
            audit(
                tx,
                now,
                Some(&row.organisation_id),
                actor,
                "domain.checked",
                &row.domain,
                outcome,
            )?;
            match change {
                Some(change) => tell(tx, &row, change, actor, now),
                None => Ok(()),
            }
        })
    }
}

impl Planned {
    fn of(row: &DomainRow) -> Self {
        Self {
            organisation_id: row.organisation_id.clone(),
            domain: row.domain.clone(),
            challenge: row.proof.challenge.clone(),
            previous: row.proof.previous_challenge.clone(),
        }
    }
}

/// The organisation's hold on `domain` (canonical form), if it has one.
fn hold(tx: &mut dyn ReadTx, org: &str, domain: &str) -> Result<Option<DomainRow>, Error> {
    Ok(tx
        .domain_rows(org)?
        .into_iter()
        .find(|r| r.domain == domain))
}

/// Ends `row`'s hold because another organisation proved the domain, and tells its
/// administrators why.
fn moved(tx: &mut dyn WriteTx, row: &DomainRow, now: Timestamp) -> Result<(), Error> {
    tx.remove_domain(&row.organisation_id, &row.domain)?;
    let detail = "another organisation proved that it owns this domain";
    audit(
        tx,
        now,
        Some(&row.organisation_id),
        None,
        "domain.moved",
        &row.domain,
        detail,
    )?;
    emit(
        tx,
        now,
        "domain.moved",
        Audience::AdminsOf(&row.organisation_id),
        json!({"organisation_id": row.organisation_id, "domain": row.domain, "status": "moved"}),
    )
}

/// Records a change in the audit log and tells the organisation's administrators.
fn tell(
    tx: &mut dyn WriteTx,
    row: &DomainRow,
    change: Change,
    actor: Option<&str>,
    now: Timestamp,
) -> Result<(), Error> {
    let status = row.proof.status.as_str();
    audit(
        tx,
        now,
        Some(&row.organisation_id),
        actor,
        change.kind(),
        &row.domain,
        status,
    )?;
    emit(
        tx,
        now,
        change.kind(),
        Audience::AdminsOf(&row.organisation_id),
        json!({"organisation_id": row.organisation_id, "domain": row.domain, "status": status}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn settings() -> ProofSettings {
        ProofSettings::default()
    }

    fn missing() -> Seen {
        Seen::NotFound(SeenOutcome::Missing, "gone".into())
    }

    #[test]
    fn a_failed_lookup_never_changes_the_status() {
        let s = settings();
        let t0 = datetime!(2026-12-01 00:00 UTC);
        for status in [
            DomainStatus::Pending,
            DomainStatus::Verified,
            DomainStatus::Suspended,
            DomainStatus::Legacy,
        ] {
            let mut p = fresh_proof(t0, &s);
            p.status = status;
            p.verified_at = Some(t0);
            let before = p.clone();
            assert_eq!(
                on_seen(&mut p, &Seen::Failed("timed out".into()), t0, &s),
                None
            );
            assert_eq!(p.status, before.status);
            assert_eq!(p.missing_since, None);
            assert_eq!(
                p.last_seen.as_ref().map(|l| l.outcome),
                Some(SeenOutcome::Error)
            );
        }
    }

    #[test]
    fn a_verified_domain_is_suspended_only_by_a_second_miss_an_hour_later() {
        let s = settings();
        let t0 = datetime!(2026-12-01 00:00 UTC);
        let mut p = fresh_proof(t0, &s);
        assert_eq!(
            on_seen(&mut p, &Seen::Found, t0, &s),
            Some(Change::Verified)
        );
        let t1 = at(t0, s.recheck_secs);
        assert_eq!(on_seen(&mut p, &missing(), t1, &s), None);
        assert_eq!(p.status, DomainStatus::Verified);
        assert_eq!(p.next_check_at, Some(at(t1, s.confirm_secs)));
        assert_eq!(
            on_seen(&mut p, &missing(), at(t1, s.confirm_secs - 1), &s),
            None
        );
        assert_eq!(p.status, DomainStatus::Verified);
        assert_eq!(
            on_seen(&mut p, &missing(), at(t1, s.confirm_secs), &s),
            Some(Change::Suspended)
        );
        assert_eq!(p.status, DomainStatus::Suspended);
    }

    #[test]
    fn pending_checks_slow_down_and_stop_at_the_challenge_end() {
        let s = settings();
        let t0 = datetime!(2026-12-01 00:00 UTC);
        let mut p = fresh_proof(t0, &s);
        let mut now = t0;
        let mut gaps = vec![];
        while p.status == DomainStatus::Pending {
            let next = p
                .next_check_at
                .expect("a pending domain is always due again");
            gaps.push((next - now).whole_seconds());
            now = next;
            if on_time(&mut p, now, &s).is_none() {
                on_seen(&mut p, &missing(), now, &s);
            }
        }
        assert_eq!(p.status, DomainStatus::Expired);
        assert_eq!(now, at(t0, s.pending_secs), "expires exactly at the end");
        assert!(gaps
            .windows(2)
            .all(|w| w[0] <= w[1] || w[1] < s.pending_max_interval_secs));
        assert!(gaps.iter().all(|g| *g <= s.pending_max_interval_secs));
    }
}
