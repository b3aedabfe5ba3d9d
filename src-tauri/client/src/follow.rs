//! Following the caller's events as they happen, on either backend: what a follower hears
//! ([`Heard`]), how another thread stops it ([`Stop`]), and the polling loop that the embedded
//! backend runs on its change signal (and any other [`Backend`] on a timer).
//!
//! A follow blocks the thread that runs it. It reconnects by itself after transport failures,
//! resuming after the last event it delivered, so a caller that keeps its own cursor next to what
//! it did with each event gets every event once. It returns only when stopped, when the callback
//! asks it to, or on a refusal that waiting cannot cure (a session that ended: renew the access
//! token and follow again from the same cursor).
use std::ops::ControlFlow;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use membership::{Error, ErrorKind, Event, Secret};

use crate::{Backend, MAX_EVENTS};

/// How long a follow sleeps at a time before it looks whether it was stopped.
pub(crate) const TICK: Duration = Duration::from_millis(100);

/// The first wait after a failure; it doubles up to [`MAX_BACKOFF`].
const BASE_BACKOFF: Duration = Duration::from_millis(250);
/// The longest wait between two attempts to reach the backend again.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What a follow reports to its callback.
#[derive(Debug)]
pub enum Heard {
    /// The backend answered (again): events after the cursor come next.
    Connected,
    /// One event, oldest first. Its `id` is the cursor to resume after.
    Event(Event),
    /// The backend could not be reached or dropped the connection; the follow tries again after
    /// `retry_in`. `error` says why, in words for a status line.
    Disconnected { error: Error, retry_in: Duration },
}

/// Stops a follow from another thread. Clones share one flag.
#[derive(Clone, Default)]
pub struct Stop(Arc<(Mutex<bool>, Condvar)>);

impl std::fmt::Debug for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Stop").field(&self.is_stopped()).finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing here is left half-written by a panic, so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Stop {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every follow that holds this (or a clone of it) to return. A follow waiting for the
    /// backend returns within [`TICK`]; one in the middle of the callback returns after it.
    pub fn stop(&self) {
        *lock(&self.0 .0) = true;
        self.0 .1.notify_all();
    }

    pub fn is_stopped(&self) -> bool {
        *lock(&self.0 .0)
    }

    /// Sleeps for `d`, or less if stopped meanwhile. True when stopped.
    pub fn sleep(&self, d: Duration) -> bool {
        let (flag, cond) = &*self.0;
        let guard = lock(flag);
        let (guard, _) = cond
            .wait_timeout_while(guard, d, |stopped| !*stopped)
            .unwrap_or_else(|e| e.into_inner());
        *guard
    }
}

/// A counter the embedded backend bumps after every successful write, so its followers read new
/// events at once instead of on a timer.
#[derive(Default)]
pub(crate) struct Changes {
    count: Mutex<u64>,
    cond: Condvar,
}

impl Changes {
    pub fn bump(&self) {
        let mut n = lock(&self.count);
        *n = n.wrapping_add(1);
        self.cond.notify_all();
    }

    pub fn current(&self) -> u64 {
        *lock(&self.count)
    }

    /// Waits until the counter is no longer `seen`, or `timeout` passes. True on a change.
    pub fn wait_past(&self, seen: u64, timeout: Duration) -> bool {
        let guard = lock(&self.count);
        let (guard, _) = self
            .cond
            .wait_timeout_while(guard, timeout, |n| *n == seen)
            .unwrap_or_else(|e| e.into_inner());
        *guard != seen
    }
}

/// Whether waiting may cure `e`: the backend is away, busy, or failed for a moment. A refused
/// session, a forbidden or malformed request are final.
pub(crate) fn is_transient(e: &Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::Unavailable | ErrorKind::RateLimited | ErrorKind::Internal
    )
}

/// The wait before attempt `failures + 1`, with "equal jitter" from `unit` in `[0, 1)`.
pub(crate) fn backoff(failures: u32, unit: f64) -> Duration {
    let step = BASE_BACKOFF
        .saturating_mul(1u32 << failures.min(16))
        .min(MAX_BACKOFF);
    let half = step / 2;
    half + half.mul_f64(unit.clamp(0.0, 1.0))
}

/// How the polling follow waits for news: `true` when it should read again, `false` when it
/// was stopped.
pub(crate) trait Wake {
    /// A token taken before a read; a change after it ends the next [`Wake::wait`] at once.
    fn mark(&mut self) -> u64;
    fn wait(&mut self, mark: u64, stop: &Stop) -> bool;
}

/// Reads again every `interval` (any backend without a change signal).
pub(crate) struct Every(pub Duration);

impl Wake for Every {
    fn mark(&mut self) -> u64 {
        0
    }

    fn wait(&mut self, _mark: u64, stop: &Stop) -> bool {
        !stop.sleep(self.0)
    }
}

/// Reads again when `changes` moves, or after `fallback` for writes made elsewhere (another
/// process on the same database file).
pub(crate) struct OnChange<'a> {
    pub changes: &'a Changes,
    pub fallback: Duration,
}

impl Wake for OnChange<'_> {
    fn mark(&mut self) -> u64 {
        self.changes.current()
    }

    fn wait(&mut self, mark: u64, stop: &Stop) -> bool {
        let until = Instant::now() + self.fallback;
        loop {
            if stop.is_stopped() {
                return false;
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() || self.changes.wait_past(mark, left.min(TICK)) {
                return !stop.is_stopped();
            }
        }
    }
}

/// Follows by reading [`Backend::events`] in pages, waiting with `wake` when there is nothing new.
pub(crate) fn follow_by_polling<B: Backend + ?Sized>(
    backend: &B,
    access: &Secret,
    after: Option<i64>,
    stop: &Stop,
    on: &mut dyn FnMut(Heard) -> ControlFlow<()>,
    wake: &mut dyn Wake,
) -> Result<(), Error> {
    let mut cursor = after;
    let mut failures = 0u32;
    let mut connected = false;
    while !stop.is_stopped() {
        let mark = wake.mark();
        match backend.events(access, cursor, MAX_EVENTS) {
            Ok(batch) => {
                failures = 0;
                if !connected {
                    connected = true;
                    if on(Heard::Connected).is_break() {
                        return Ok(());
                    }
                }
                let full = batch.len() >= MAX_EVENTS as usize;
                for event in batch {
                    cursor = Some(event.id);
                    if on(Heard::Event(event)).is_break() || stop.is_stopped() {
                        return Ok(());
                    }
                }
                if !full && !wake.wait(mark, stop) {
                    return Ok(());
                }
            }
            Err(e) if is_transient(&e) => {
                connected = false;
                let retry_in = backoff(failures, crate::remote::unit_random());
                failures = failures.saturating_add(1);
                if on(Heard::Disconnected { error: e, retry_in }).is_break() || stop.sleep(retry_in)
                {
                    return Ok(());
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_ends_a_sleep_early_and_stays_stopped() {
        let stop = Stop::new();
        assert!(!stop.sleep(Duration::from_millis(1)));
        let other = stop.clone();
        let started = Instant::now();
        let t = std::thread::spawn(move || other.sleep(Duration::from_secs(30)));
        std::thread::sleep(Duration::from_millis(50));
        stop.stop();
        assert!(t.join().unwrap(), "the sleeper saw the stop");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(stop.is_stopped() && stop.sleep(Duration::from_secs(30)));
    }

    #[test]
    fn a_change_after_the_mark_wakes_the_waiter_and_an_old_one_does_not() {
        let changes = Arc::new(Changes::default());
        let seen = changes.current();
        assert!(!changes.wait_past(seen, Duration::from_millis(20)));
        changes.bump();
        assert!(
            changes.wait_past(seen, Duration::from_secs(30)),
            "already moved"
        );
        let seen = changes.current();
        let c = changes.clone();
        let t = std::thread::spawn(move || c.wait_past(seen, Duration::from_secs(30)));
        std::thread::sleep(Duration::from_millis(50));
        changes.bump();
        assert!(t.join().unwrap());
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        assert_eq!(backoff(0, 0.0), BASE_BACKOFF / 2);
        assert_eq!(backoff(1, 0.0), BASE_BACKOFF);
        assert!(backoff(1, 0.99) > backoff(1, 0.0) && backoff(1, 0.99) <= BASE_BACKOFF * 2);
        assert_eq!(backoff(40, 1.0), MAX_BACKOFF);
    }

    #[test]
    fn only_failures_that_waiting_can_cure_are_transient() {
        let e = |kind| Error::new(kind, "x", "x");
        assert!(is_transient(&e(ErrorKind::Unavailable)));
        assert!(is_transient(&e(ErrorKind::RateLimited)));
        assert!(!is_transient(&e(ErrorKind::Unauthenticated)));
        assert!(!is_transient(&e(ErrorKind::BadRequest)));
        assert!(!is_transient(&e(ErrorKind::Forbidden)));
    }
}
