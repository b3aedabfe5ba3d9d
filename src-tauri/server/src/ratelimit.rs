//! Rate limits: one token bucket per (limit, key). On SQLite (one process) the buckets live in
//! memory; on PostgreSQL they live in the database (`PgStore::take_rate_token`), so every instance
//! draws on the same allowance (`AppState::limit`), and these in-memory ones only stand in while
//! the database cannot be reached.
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::ApiError;

/// What is limited, and how often per minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    SignInPerIp,
    SignInPerEmail,
    AccountsPerIp,
    Lookup,
    RequestCreation,
    Resend,
}

#[derive(Debug, Clone, Copy)]
pub struct PerMinute {
    pub sign_in: u32,
    pub lookup: u32,
    pub requests: u32,
    pub resend: u32,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

pub struct RateLimits {
    per_minute: PerMinute,
    buckets: Mutex<HashMap<(Limit, String), Bucket>>,
}

impl RateLimits {
    pub fn new(per_minute: PerMinute) -> Self {
        Self {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// The bucket's size and how many tokens come back a second.
    pub fn spec(&self, limit: Limit) -> (f64, f64) {
        let capacity = self.capacity(limit);
        (capacity, capacity / 60.0)
    }

    fn capacity(&self, limit: Limit) -> f64 {
        let n = match limit {
            Limit::SignInPerIp | Limit::SignInPerEmail => self.per_minute.sign_in,
            Limit::Lookup => self.per_minute.lookup,
            Limit::RequestCreation | Limit::AccountsPerIp => self.per_minute.requests,
            Limit::Resend => self.per_minute.resend,
        };
        f64::from(n.max(1))
    }

    /// Takes one token for `key`, or says how many seconds until one is available.
    pub fn check(&self, limit: Limit, key: &str) -> Result<(), ApiError> {
        self.check_at(limit, key, Instant::now())
    }

    fn check_at(&self, limit: Limit, key: &str, now: Instant) -> Result<(), ApiError> {
        let capacity = self.capacity(limit);
        let per_sec = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > 100_000 {
            // Full buckets carry no information: forget them so the map stays bounded.
            buckets.retain(|(l, _), b| {
                let cap = self.capacity(*l);
                b.tokens + now.duration_since(b.at).as_secs_f64() * cap / 60.0 < cap
            });
        }
        let bucket = buckets.entry((limit, key.to_owned())).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_sec).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = Duration::from_secs_f64((1.0 - bucket.tokens) / per_sec);
            Err(ApiError::rate_limited(wait.as_secs() + 1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(n: u32) -> RateLimits {
        RateLimits::new(PerMinute {
            sign_in: n,
            lookup: n,
            requests: n,
            resend: n,
        })
    }

    #[test]
    fn a_burst_up_to_the_limit_passes_and_the_next_one_is_told_when_to_retry() {
        let l = limits(3);
        let t = Instant::now();
        for _ in 0..3 {
            assert!(
                l.check_at(Limit::Lookup, "a", t).is_ok(),
                "within the burst"
            );
        }
        let refused = l
            .check_at(Limit::Lookup, "a", t)
            .expect_err("fourth is refused");
        assert_eq!(refused.status(), axum::http::StatusCode::TOO_MANY_REQUESTS);
        assert!(
            l.check_at(Limit::Lookup, "b", t).is_ok(),
            "another key has its own bucket"
        );
        assert!(
            l.check_at(Limit::Lookup, "a", t + Duration::from_secs(21))
                .is_ok(),
            "a token comes back after 60/3 seconds"
        );
    }
}
