//! Sends the outbox to the backend, oldest edit first, exactly once.
//!
//! Each edit goes as `PATCH …/profile` with `If-Match` = the revision it is based on and its own
//! `Idempotency-Key` (kept in the outbox row, so a resend after a crash carries the same key).
//! The edits of one profile queued on the same revision (typically everything done offline) go
//! together, as one request: their values laid over one another oldest first, under a batch key
//! written on each of their rows before it leaves, so a resend after a crash is the same request
//! under the same key. What follows holds for a batch as for one edit:
//!
//! - the server applied it → the row leaves the outbox and the confirmed profile moves on, in one
//!   local transaction;
//! - 412 → the edit is merged field by field onto the current profile the server sent back:
//!   nothing left to send (the server has it already) → done; one-sided changes → sent again on
//!   the new revision; the same field changed differently → parked for the person
//!   ([`crate::LocalStore::resolve`]);
//! - the server cannot be reached → stop, report offline; the row stays as it is;
//! - the membership is gone (404, 403, 410) → the row is kept as orphaned, with a message and the
//!   person's text; a refused value (400, 422) → kept as rejected, with the server's reason.
//!
//! **Why an edit is never applied twice.** A crash can fall between the server's commit and ours.
//! The next run sends the same row again, with the same key and the same `If-Match`:
//! - the remote server remembers the key for a day and replays its first answer, so the edit is
//!   acknowledged, not applied again;
//! - even without the key (the embedded backend, or a key the server has forgotten), the first
//!   application moved the revision on, so `If-Match` refuses the repeat with 412, and the merge
//!   finds every field already at the edit's value and drops the row.
//!
//! A merge changes the request (its revision, maybe its fields), so the row gets a new key in the
//! same transaction; the old key's answer belonged to the old request. A batch that meets a 412
//! leaves the outbox at once when the server has every value of it; otherwise it is undone and
//! its edits go one by one, each merged onto the profile the one before it made. A batch whose
//! values the server refuses (400, 422) is undone too, so the refusal lands on the one edit it is
//! about.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use client::Backend;
use membership::{Error as BackendError, ErrorKind, Profile, Secret, Timestamp};
use serde::Serialize;

use crate::store::{Counts, LocalStore, Rebased, Scope, MAX_BATCH};
use crate::Error;

/// Supplies the access token, and renews it once when the backend refuses it (the shell's
/// refresh-once logic).
pub trait Access {
    /// The current access token.
    fn token(&self) -> Result<Secret, BackendError>;
    /// `refused` was answered `unauthenticated`: a new token, or an error when the session is over.
    fn renew(&self, refused: &Secret) -> Result<Secret, BackendError>;
}

/// A fixed token that cannot be renewed (tools and tests).
impl Access for Secret {
    fn token(&self) -> Result<Secret, BackendError> {
        Ok(self.clone())
    }

    fn renew(&self, _refused: &Secret) -> Result<Secret, BackendError> {
        Err(BackendError::new(
            ErrorKind::Unauthenticated,
            "unauthenticated",
            "Your session has ended. Sign in again to sync your changes.",
        ))
    }
}

/// How far a sync run is: edits settled (sent, merged away, parked or kept) of all it found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
}

/// Whether the backend answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Connectivity {
    /// Not tried yet in this session.
    Unknown,
    Online,
    /// Could not be reached at the last try.
    Offline,
    /// The person chose *Work offline*: nothing is sent until they turn it off.
    WorkingOffline,
}

/// What the window shows: online or offline, and how many edits are not on the server yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Status {
    pub connection: Connectivity,
    /// Every edit not on the server yet.
    pub unsynced: usize,
    pub counts: Counts,
}

/// How a sync run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Outcome {
    /// Every edit that could go went; some may wait for the person (see the counts).
    Done,
    /// The backend could not be reached; try again later.
    Offline,
    /// The backend answered but is busy or failing for now; try again later (at the soonest
    /// after `retry_after_secs` when it said so).
    Busy { retry_after_secs: Option<u64> },
    /// The session is over: nothing more is sent until the person signs in again.
    SignedOut,
    /// *Work offline* is on.
    WorkingOffline,
}

/// What a sync run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub outcome: Outcome,
    /// Edits the server applied in this run.
    pub applied: usize,
    /// Edits the server already had (merged away without sending).
    pub already_there: usize,
    /// Edits parked for the person's decision in this run.
    pub conflicts: usize,
    /// Edits kept as orphaned or rejected in this run.
    pub kept: usize,
    /// What is still not on the server after the run.
    pub counts: Counts,
    /// For people: what happened, when something needs saying.
    pub message: Option<String>,
}

/// How many times one edit may meet a changed profile in one run before the run gives up on it
/// for now (someone else keeps writing).
const MAX_MERGES_PER_EDIT: u32 = 5;

const ORPHANED: &str = "This membership has ended or is no longer yours to edit, so these changes could not be saved to it. Your text is kept here: copy what you need, then discard it.";

/// One scope's sync: the store, the connection state, one run at a time.
pub struct SyncEngine {
    store: Arc<LocalStore>,
    scope: Scope,
    connectivity: Mutex<Connectivity>,
    running: Mutex<()>,
    batch_limit: usize,
}

impl SyncEngine {
    pub fn new(store: Arc<LocalStore>, scope: Scope) -> Self {
        Self {
            store,
            scope,
            connectivity: Mutex::new(Connectivity::Unknown),
            running: Mutex::new(()),
            batch_limit: MAX_BATCH,
        }
    }

    /// At most `limit` edits of one profile in one request (at least 1; the default is
    /// 1,000). Tests that need many requests set it low.
    pub fn with_batch_limit(mut self, limit: usize) -> Self {
        self.batch_limit = limit.clamp(1, MAX_BATCH);
        self
    }

    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    pub fn store(&self) -> &Arc<LocalStore> {
        &self.store
    }

    /// Online or offline, and the number of unsynced edits.
    pub fn status(&self) -> Result<Status, Error> {
        let counts = self.store.counts(&self.scope)?;
        let connection = if self.store.work_offline(&self.scope)? {
            Connectivity::WorkingOffline
        } else {
            *self.connectivity.lock().unwrap_or_else(|e| e.into_inner())
        };
        Ok(Status {
            connection,
            unsynced: counts.unsynced(),
            counts,
        })
    }

    /// Whether the connection changed.
    fn set_connection(&self, c: Connectivity) -> bool {
        std::mem::replace(
            &mut *self.connectivity.lock().unwrap_or_else(|e| e.into_inner()),
            c,
        ) != c
    }

    /// Records what a backend call outside the engine found (the shell's other commands), so the
    /// status follows the real connection. Answers whether the connection changed.
    pub fn observe<T>(&self, result: &Result<T, BackendError>) -> bool {
        self.set_reachable(!matches!(result, Err(e) if is_unreachable(e)))
    }

    /// Records whether the backend answered a call outside the engine. Answers whether the
    /// connection changed.
    pub fn set_reachable(&self, reachable: bool) -> bool {
        self.set_connection(if reachable {
            Connectivity::Online
        } else {
            Connectivity::Offline
        })
    }

    /// Fetches the memberships and their profiles into the local store, so they can be edited
    /// offline. Unsynced edits stay and are merged onto what arrived at the next sync.
    pub fn refresh(
        &self,
        backend: &dyn Backend,
        access: &dyn Access,
        now: Timestamp,
    ) -> Result<Outcome, Error> {
        if self.store.work_offline(&self.scope)? {
            return Ok(Outcome::WorkingOffline);
        }
        let mut session = Session::new(access);
        let me = match session.call(|t| backend.me(t)) {
            Ok(me) => me,
            Err(e) => return Ok(self.stopped(&e)),
        };
        self.set_connection(Connectivity::Online);
        self.store
            .cache_memberships(&self.scope, &me.memberships, now)?;
        for m in me
            .memberships
            .iter()
            .filter(|m| m.status == membership::MembershipStatus::Active)
        {
            match session.call(|t| backend.profile(t, &m.membership_id)) {
                Ok(p) => self
                    .store
                    .cache_profile(&self.scope, &m.membership_id, &p, now)?,
                Err(e) if is_unreachable(&e) || is_busy(&e).is_some() || is_signed_out(&e) => {
                    return Ok(self.stopped(&e))
                }
                // Ended between the two calls: the next sync finds out and keeps its edits.
                Err(_) => {}
            }
        }
        Ok(Outcome::Done)
    }

    fn stopped(&self, e: &BackendError) -> Outcome {
        if is_unreachable(e) {
            self.set_connection(Connectivity::Offline);
            Outcome::Offline
        } else if let Some(retry_after_secs) = is_busy(e) {
            self.set_connection(Connectivity::Online);
            Outcome::Busy { retry_after_secs }
        } else {
            self.set_connection(Connectivity::Online);
            Outcome::SignedOut
        }
    }

    /// Sends every pending edit it may, oldest first, calling `progress` after each one settles.
    /// Store failures end the run with an error; everything the backend says is in the report.
    pub fn run(
        &self,
        backend: &dyn Backend,
        access: &dyn Access,
        now: Timestamp,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Report, Error> {
        let _one_at_a_time = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let mut report = Report {
            outcome: Outcome::Done,
            applied: 0,
            already_there: 0,
            conflicts: 0,
            kept: 0,
            counts: Counts::default(),
            message: None,
        };
        if self.store.work_offline(&self.scope)? {
            report.outcome = Outcome::WorkingOffline;
            report.counts = self.store.counts(&self.scope)?;
            return Ok(report);
        }
        self.store.prune_log(now)?;
        let mut session = Session::new(access);
        let mut merges: Option<(i64, u32)> = None;
        let mut contacted = false;
        // Counted once: edits saved during the run only stretch the total when they are reached.
        let mut done = 0;
        let mut total = self.store.sendable(&self.scope)?;
        let mut settled = |progress: &mut dyn FnMut(Progress)| {
            done += 1;
            total = total.max(done);
            progress(Progress { done, total });
        };
        // Rows of a batch the server refused go one by one, up to this one (see below).
        let mut alone_through = i64::MIN;
        while let Some(row) = self.store.next_pending(&self.scope)? {
            let confirmed = self.store.confirmed(&self.scope, &row.membership_id)?;
            let batch = self.store.batch_from(
                &self.scope,
                &row,
                confirmed.revision,
                if row.seq <= alone_through {
                    1
                } else {
                    self.batch_limit
                },
            )?;
            // A newer profile is known already (a refresh, or the answer for the previous edit):
            // merge first rather than collect a certain 412.
            if batch.base_revision != confirmed.revision {
                let merge = self.store.rebase(&self.scope, &batch, &confirmed, now)?;
                (0..merged(&mut report, merge)).for_each(|_| settled(progress));
                continue;
            }
            let patch = batch.patch.to_patch();
            contacted = true;
            let answer = session.call(|t| {
                backend.update_profile_keyed(
                    t,
                    &batch.membership_id,
                    batch.base_revision,
                    &patch,
                    &batch.key,
                )
            });
            let answer = match classify(answer) {
                // The edit was applied, but the server stopped before it recorded the answer:
                // what it holds now decides (the edit is found there, or merged onto it).
                Answer::Lost => match session.call(|t| backend.profile(t, &batch.membership_id)) {
                    Ok(current) => Answer::Stale(current),
                    Err(e) => classify(Err(e)),
                },
                other => other,
            };
            match answer {
                Answer::Applied(profile) => {
                    self.set_connection(Connectivity::Online);
                    self.store.acknowledge(&self.scope, &batch, &profile, now)?;
                    report.applied += batch.len();
                    (0..batch.len()).for_each(|_| settled(progress));
                }
                Answer::Stale(current) => {
                    self.set_connection(Connectivity::Online);
                    let count = match merges {
                        Some((seq, n)) if seq == row.seq => n + 1,
                        _ => 1,
                    };
                    merges = Some((row.seq, count));
                    if count > MAX_MERGES_PER_EDIT {
                        report.outcome = Outcome::Busy {
                            retry_after_secs: None,
                        };
                        report.message = Some("This profile keeps changing on the server while your changes are sent. They are kept here and will be sent again shortly.".into());
                        break;
                    }
                    let merge = self.store.rebase(&self.scope, &batch, &current, now)?;
                    (0..merged(&mut report, merge)).for_each(|_| settled(progress));
                }
                // A value of one of several edits, or their key, was refused: nothing of them
                // was applied. They go one by one, so the refusal lands on the edit it is about
                // and the others still go.
                Answer::Rejected(_) if batch.len() > 1 => {
                    self.set_connection(Connectivity::Online);
                    self.store.unbatch(&batch)?;
                    alone_through = batch.last_seq();
                }
                Answer::Ended => {
                    self.set_connection(Connectivity::Online);
                    let n = self
                        .store
                        .orphan(&self.scope, &batch.membership_id, ORPHANED)?;
                    report.kept += n;
                    report.message = Some(ORPHANED.into());
                    for _ in 0..n {
                        settled(progress);
                    }
                }
                Answer::Rejected(message) => {
                    self.set_connection(Connectivity::Online);
                    self.store.reject(batch.head(), &message)?;
                    report.kept += 1;
                    report.message = Some(message);
                    settled(progress);
                }
                // Only an edit's own answer says this, never the profile read above; should it,
                // the edit stays queued for the next run.
                Answer::Lost => break,
                Answer::Stop(e) => {
                    report.outcome = self.stopped(&e);
                    report.message = Some(e.message().to_owned());
                    break;
                }
            }
        }
        if !contacted {
            // Nothing to send: ask whether the backend answers, so the status stays true.
            let health = backend.health();
            self.observe(&health);
            if let Err(e) = health {
                if is_unreachable(&e) {
                    report.outcome = Outcome::Offline;
                    report.message = Some(e.message().to_owned());
                }
            }
        }
        report.counts = self.store.counts(&self.scope)?;
        Ok(report)
    }
}

/// Counts a merge (what it did, and to how many edits) in `report`; answers how many edits it
/// settled (left the outbox, or now wait for the person).
fn merged(report: &mut Report, (rebased, n): (Rebased, usize)) -> usize {
    match rebased {
        Rebased::Ready => 0,
        Rebased::Dropped => {
            report.already_there += n;
            n
        }
        Rebased::Parked => {
            report.conflicts += 1;
            1
        }
    }
}

/// Calls with the current token, renewing it once per run when refused.
struct Session<'a> {
    access: &'a dyn Access,
    token: Option<Secret>,
    renewed: bool,
}

impl<'a> Session<'a> {
    fn new(access: &'a dyn Access) -> Self {
        Self {
            access,
            token: None,
            renewed: false,
        }
    }

    fn call<T>(
        &mut self,
        f: impl Fn(&Secret) -> Result<T, BackendError>,
    ) -> Result<T, BackendError> {
        let token = match &self.token {
            Some(t) => t.clone(),
            None => {
                let t = self.access.token()?;
                self.token = Some(t.clone());
                t
            }
        };
        match f(&token) {
            Err(e) if is_signed_out(&e) && !self.renewed => {
                self.renewed = true;
                let fresh = self.access.renew(&token)?;
                self.token = Some(fresh.clone());
                f(&fresh)
            }
            other => other,
        }
    }
}

/// What the backend's answer to an edit means for the outbox.
#[derive(Debug)]
pub(crate) enum Answer {
    Applied(Profile),
    /// 412 with the current profile.
    Stale(Profile),
    /// The edit's key says it was applied, but its answer was lost with the server.
    Lost,
    /// 404, 403, 410: not the person's membership any more.
    Ended,
    /// The server refused the values, with its reason.
    Rejected(String),
    /// Unreachable, busy or signed out: stop the run, keep the row as it is.
    Stop(BackendError),
}

pub(crate) fn classify(answer: Result<Profile, BackendError>) -> Answer {
    let e = match answer {
        Ok(p) => return Answer::Applied(p),
        Err(e) => e,
    };
    if let (ErrorKind::PreconditionFailed, Some(current)) = (e.kind(), e.current()) {
        return Answer::Stale(current.clone());
    }
    if e.code() == "idempotency_key_answer_lost" {
        return Answer::Lost;
    }
    if is_unreachable(&e) || is_busy(&e).is_some() || is_signed_out(&e) {
        return Answer::Stop(e);
    }
    match e.kind() {
        ErrorKind::NotFound | ErrorKind::Forbidden | ErrorKind::Gone => Answer::Ended,
        _ => Answer::Rejected(e.message().to_owned()),
    }
}

fn is_unreachable(e: &BackendError) -> bool {
    e.code() == client::UNREACHABLE
}

fn is_signed_out(e: &BackendError) -> bool {
    e.kind() == ErrorKind::Unauthenticated
}

/// Worth trying again later: `Some(Retry-After)` (maybe `None` inside).
fn is_busy(e: &BackendError) -> Option<Option<u64>> {
    let busy = matches!(
        e.kind(),
        ErrorKind::Unavailable | ErrorKind::RateLimited | ErrorKind::Internal
    ) || matches!(e.code(), "idempotency_key_in_progress" | "request_timeout");
    busy.then(|| e.retry_after_secs())
}

/// When to sync again by itself: exponential backoff with jitter after each failed run, nothing
/// scheduled once everything that can go went. A pure policy: the shell keeps one per scope,
/// feeds it each [`Report`] and a random number, and sleeps for what it answers (waking early on
/// a new edit or *Sync now*).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoSync {
    /// The wait after the first failure; it doubles after each further one.
    pub base_delay: Duration,
    /// No wait is longer than this.
    pub max_delay: Duration,
    failures: u32,
}

impl Default for AutoSync {
    fn default() -> Self {
        Self::new(Duration::from_secs(2), Duration::from_secs(300))
    }
}

impl AutoSync {
    pub fn new(base_delay: Duration, max_delay: Duration) -> Self {
        Self {
            base_delay,
            max_delay,
            failures: 0,
        }
    }

    /// Failed runs in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The backoff after `failures` failed runs in a row, with "equal jitter": half fixed, half
    /// random (`unit` in `[0, 1)`), so computers that lost the server together do not all come
    /// back at the same moment.
    pub fn backoff(&self, failures: u32, unit: f64) -> Duration {
        let step = self
            .base_delay
            .saturating_mul(1u32 << failures.saturating_sub(1).min(16))
            .min(self.max_delay);
        let half = step / 2;
        half + half.mul_f64(unit.clamp(0.0, 1.0))
    }

    /// After a run: how long to wait before the next one, or `None` when no automatic run is
    /// due (all sent, or waiting for the person: sign-in, *Work offline*, a conflict).
    pub fn after(&mut self, report: &Report, unit: f64) -> Option<Duration> {
        match &report.outcome {
            Outcome::Offline => {
                self.failures = self.failures.saturating_add(1);
                Some(self.backoff(self.failures, unit))
            }
            Outcome::Busy { retry_after_secs } => {
                self.failures = self.failures.saturating_add(1);
                let backoff = self.backoff(self.failures, unit);
                Some(
                    retry_after_secs
                        .map(Duration::from_secs)
                        .map_or(backoff, |wait| wait.max(backoff)),
                )
            }
            Outcome::Done | Outcome::SignedOut | Outcome::WorkingOffline => {
                self.failures = 0;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(outcome: Outcome) -> Report {
        Report {
            outcome,
            applied: 0,
            already_there: 0,
            conflicts: 0,
            kept: 0,
            counts: Counts::default(),
            message: None,
        }
    }

    fn profile(revision: u64) -> Profile {
        Profile {
            first_name: "Ana".into(),
            last_name: "Lee".into(),
            job_title: None,
            phone: None,
            preferred_language: None,
            mcp_id: None,
            revision,
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap_and_resets_after_success() {
        let mut auto = AutoSync::new(Duration::from_secs(2), Duration::from_secs(60));
        let offline = report(Outcome::Offline);
        let waits: Vec<Duration> = (0..8).map(|_| auto.after(&offline, 0.0).unwrap()).collect();
        assert_eq!(
            waits,
            [1, 2, 4, 8, 16, 30, 30, 30].map(Duration::from_secs),
            "half of 2 s, 4 s, 8 s … capped at half of 60 s with no jitter"
        );
        assert_eq!(auto.failures(), 8);
        let high = auto.backoff(3, 0.999);
        assert!(
            high > Duration::from_secs(4) && high <= Duration::from_secs(8),
            "{high:?}"
        );
        assert_eq!(auto.after(&report(Outcome::Done), 0.5), None);
        assert_eq!(auto.failures(), 0, "a good run starts over");
        assert_eq!(auto.after(&offline, 0.0), Some(Duration::from_secs(1)));
    }

    #[test]
    fn a_busy_server_is_waited_for_at_least_as_long_as_it_asked() {
        let mut auto = AutoSync::default();
        let busy = report(Outcome::Busy {
            retry_after_secs: Some(30),
        });
        assert_eq!(auto.after(&busy, 0.0), Some(Duration::from_secs(30)));
    }

    #[test]
    fn nothing_is_scheduled_while_the_person_has_to_act() {
        let mut auto = AutoSync::default();
        for outcome in [Outcome::SignedOut, Outcome::WorkingOffline, Outcome::Done] {
            assert_eq!(
                auto.after(&report(outcome.clone()), 0.3),
                None,
                "{outcome:?}"
            );
        }
    }

    #[test]
    fn answers_are_classified_by_what_they_mean_for_the_edit() {
        let e = |kind, code: &'static str| BackendError::new(kind, code, "m");
        assert!(matches!(classify(Ok(profile(2))), Answer::Applied(p) if p.revision == 2));
        assert!(matches!(
            classify(Err(e(ErrorKind::PreconditionFailed, "revision_mismatch").with_current(profile(5)))),
            Answer::Stale(p) if p.revision == 5
        ));
        for (kind, code) in [
            (ErrorKind::Unavailable, client::UNREACHABLE),
            (ErrorKind::Unavailable, "backend_unavailable"),
            (ErrorKind::RateLimited, "rate_limited"),
            (ErrorKind::Internal, "internal"),
            (ErrorKind::Conflict, "idempotency_key_in_progress"),
            (ErrorKind::BadRequest, "request_timeout"),
            (ErrorKind::Unauthenticated, "unauthenticated"),
        ] {
            assert!(
                matches!(classify(Err(e(kind, code))), Answer::Stop(_)),
                "{code}"
            );
        }
        for (kind, code) in [
            (ErrorKind::NotFound, "not_found"),
            (ErrorKind::Forbidden, "forbidden"),
            (ErrorKind::Gone, "membership_removed"),
        ] {
            assert!(
                matches!(classify(Err(e(kind, code))), Answer::Ended),
                "{code}"
            );
        }
        assert!(matches!(
            classify(Err(e(ErrorKind::Conflict, "idempotency_key_answer_lost"))),
            Answer::Lost
        ));
        for (kind, code) in [
            (ErrorKind::Invalid, "invalid_phone"),
            (ErrorKind::BadRequest, "bad_request"),
            (ErrorKind::PreconditionFailed, "if_match_required"),
        ] {
            assert!(
                matches!(classify(Err(e(kind, code))), Answer::Rejected(_)),
                "{code}"
            );
        }
    }
}
