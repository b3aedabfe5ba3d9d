//! When to try a call again and how long to wait first. Pure functions over their inputs (the
//! randomness is passed in), so the policy is tested without a network.
use std::time::Duration;

/// How a [`crate::Remote`] retries the calls that are safe to repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; 1 turns retries off.
    pub max_attempts: u32,
    /// The backoff before the first retry; it doubles for each later one.
    pub base_delay: Duration,
    /// No backoff is longer than this.
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is not waited for: the refusal goes to the caller, with
    /// the wait in [`membership::Error::retry_after_secs`].
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(5),
        }
    }
}

/// Whether a call may be sent again without a risk of doing twice what the person asked once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// GET, PUT, DELETE, a read-only POST, and creating POSTs that carry an `Idempotency-Key`.
    Safe,
    /// Everything else (sign-in, refresh, approve, verify, profile edits, …).
    Once,
}

/// What became of one attempt, as far as retrying goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The request may not have reached the server, or its answer was lost.
    Transport,
    /// An HTTP status, with `Retry-After` in seconds if the answer had one.
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
}

impl RetryPolicy {
    /// The wait before attempt number `attempt + 1` (`attempt` counts from 0), or `None` when the
    /// outcome of attempt `attempt` is final. `unit` is a random number in `[0, 1)` for jitter.
    pub fn next_delay(
        &self,
        repeat: Repeat,
        attempt: u32,
        outcome: Attempt,
        unit: f64,
    ) -> Option<Duration> {
        if repeat == Repeat::Once || attempt + 1 >= self.max_attempts {
            return None;
        }
        let backoff = self.backoff(attempt, unit);
        match outcome {
            Attempt::Transport => Some(backoff),
            Attempt::Status {
                status: 429,
                retry_after,
            } => match retry_after.map(Duration::from_secs) {
                Some(wait) if wait > self.max_retry_after => None,
                Some(wait) => Some(wait.max(backoff)),
                None => Some(backoff),
            },
            Attempt::Status {
                status: 408 | 502 | 503 | 504,
                ..
            } => Some(backoff),
            Attempt::Status { .. } => None,
        }
    }

    /// Exponential backoff with "equal jitter": half of the step is fixed, half random, so
    /// clients that failed together do not come back together.
    pub fn backoff(&self, attempt: u32, unit: f64) -> Duration {
        let step = self
            .base_delay
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max_delay);
        let half = step / 2;
        half + half.mul_f64(unit.clamp(0.0, 1.0))
    }
}

/// A random number in `[0, 1)`; 0.5 if the system has no randomness to give.
pub fn unit_random() -> f64 {
    getrandom::u64().map_or(0.5, |n| (n >> 11) as f64 / (1u64 << 53) as f64)
}

/// A fresh random `Idempotency-Key` in the form of a version 4 UUID.
pub fn idempotency_key() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        // Not random, but still unique per call in this process, which is what the key needs.
        let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
        b = nanos.to_le_bytes();
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: RetryPolicy = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(200),
        max_delay: Duration::from_secs(2),
        max_retry_after: Duration::from_secs(5),
    };

    fn status(status: u16) -> Attempt {
        Attempt::Status {
            status,
            retry_after: None,
        }
    }

    #[test]
    fn a_call_that_is_not_safe_to_repeat_is_never_retried() {
        for outcome in [Attempt::Transport, status(503), status(429)] {
            assert_eq!(
                P.next_delay(Repeat::Once, 0, outcome, 0.5),
                None,
                "{outcome:?}"
            );
        }
    }

    #[test]
    fn safe_calls_retry_transport_failures_and_busy_answers_until_the_attempts_run_out() {
        for outcome in [
            Attempt::Transport,
            status(408),
            status(429),
            status(502),
            status(503),
            status(504),
        ] {
            assert!(
                P.next_delay(Repeat::Safe, 0, outcome, 0.5).is_some(),
                "{outcome:?}"
            );
            assert!(
                P.next_delay(Repeat::Safe, 1, outcome, 0.5).is_some(),
                "{outcome:?}"
            );
            assert_eq!(
                P.next_delay(Repeat::Safe, 2, outcome, 0.5),
                None,
                "third was the last"
            );
        }
    }

    #[test]
    fn refusals_and_successes_are_final() {
        for code in [200, 201, 204, 400, 401, 403, 404, 409, 410, 412, 422, 500] {
            assert_eq!(
                P.next_delay(Repeat::Safe, 0, status(code), 0.5),
                None,
                "{code}"
            );
        }
    }

    #[test]
    fn retry_after_is_honoured_within_the_cap_and_handed_back_beyond_it() {
        let wait = |secs| {
            P.next_delay(
                Repeat::Safe,
                0,
                Attempt::Status {
                    status: 429,
                    retry_after: Some(secs),
                },
                0.0,
            )
        };
        assert_eq!(wait(3), Some(Duration::from_secs(3)));
        assert_eq!(wait(5), Some(Duration::from_secs(5)));
        assert_eq!(wait(6), None, "longer than the cap goes to the caller");
        assert_eq!(
            wait(0),
            Some(P.backoff(0, 0.0)),
            "never sooner than the backoff"
        );
    }

    #[test]
    fn backoff_doubles_with_jitter_and_stays_under_the_cap() {
        for attempt in 0..20 {
            let step = P
                .base_delay
                .saturating_mul(1 << attempt.min(16))
                .min(P.max_delay);
            let low = P.backoff(attempt, 0.0);
            let high = P.backoff(attempt, 0.999_999);
            assert_eq!(low, step / 2, "attempt {attempt}");
            assert!(high <= step && high > low, "attempt {attempt}: {high:?}");
        }
        assert_eq!(P.backoff(0, 0.0), Duration::from_millis(100));
        assert_eq!(P.backoff(1, 0.0), Duration::from_millis(200));
        assert_eq!(P.backoff(10, 1.0), P.max_delay);
    }

    #[test]
    fn idempotency_keys_look_like_uuids_and_never_repeat() {
        let keys: std::collections::HashSet<String> =
            (0..1000).map(|_| idempotency_key()).collect();
        assert_eq!(keys.len(), 1000);
        for k in keys.iter().take(10) {
            assert_eq!(k.len(), 36, "{k}");
            assert_eq!(&k[14..15], "4", "version 4: {k}");
            assert!(k.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit()), "{k}");
        }
        let u = unit_random();
        assert!((0.0..1.0).contains(&u));
    }
}
