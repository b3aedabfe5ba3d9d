//! The server's scheduled work (`Programme::run_due_work`): domain proof's checks, pending
//! requests' reminders, escalation and expiry, and the approvers' digest mails, every
//! `--domain-check-interval-ms`, until shutdown. Each run claims what it does in the database,
//! so several instances on one database never do the same step twice.
//!
//! The mail worker sends the outbox's mail as soon as a change has put some there (it is woken),
//! and once a second otherwise, so mail never waits on the request that caused it.
use std::time::Duration;

use membership::Timestamp;
use tokio::time::MissedTickBehavior;

use crate::state::AppState;

/// How many due items of each kind one run takes on.
const BATCH: u32 = 50;

/// How often the shared rate-limit buckets nobody uses any more are forgotten (PostgreSQL).
const FORGET_BUCKETS_EVERY: Duration = Duration::from_secs(300);

pub fn spawn(state: AppState, every: Duration) {
    let mut shutdown = state.shutdown.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        let mut buckets_forgotten = std::time::Instant::now();
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                break;
            }
            let programme = state.programme.clone();
            let forget_buckets = buckets_forgotten.elapsed() >= FORGET_BUCKETS_EVERY;
            if forget_buckets {
                buckets_forgotten = std::time::Instant::now();
            }
            let run = move || {
                if let (true, crate::store::ServerStore::Postgres(pg)) =
                    (forget_buckets, programme.store())
                {
                    if let Err(e) = pg.forget_idle_rate_buckets() {
                        tracing::warn!(error = %crate::for_operator(&e), "forgetting idle rate-limit buckets failed");
                    }
                }
                programme.run_due_work(Timestamp::now_utc(), BATCH)
            };
            match tokio::task::spawn_blocking(run).await {
                Ok(Ok(work)) if work.is_idle() => {}
                Ok(Ok(work)) => {
                    tracing::debug!(?work, "scheduled work");
                    // Changes may have emitted events: wake the streams.
                    state.notify_change();
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %crate::for_operator(&e), "scheduled work failed")
                }
                Err(_) => tracing::error!("scheduled work panicked"),
            }
        }
    });
}

/// How many mails one delivery run takes on.
const MAIL_BATCH: u32 = 20;

/// How often the mail worker looks at the outbox without being woken (mail written by another
/// instance, whose worker died before sending it, and retries that came due).
const MAIL_IDLE: Duration = Duration::from_secs(1);

pub fn spawn_mail_worker(state: AppState, wake: std::sync::Arc<tokio::sync::Notify>) {
    let mut shutdown = state.shutdown.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(MAIL_IDLE) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                break;
            }
            // A full batch means more may be waiting: go again at once.
            loop {
                let programme = state.programme.clone();
                let run = move || programme.deliver_mail(Timestamp::now_utc(), MAIL_BATCH);
                match tokio::task::spawn_blocking(run).await {
                    Ok(Ok(run)) => {
                        if !run.is_idle() {
                            tracing::debug!(?run, "mail delivered");
                        }
                        if run.sent + run.retried + run.given_up < MAIL_BATCH as usize {
                            break;
                        }
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(error = %crate::for_operator(&e), "mail delivery failed");
                        break;
                    }
                    Err(_) => {
                        tracing::error!("mail delivery panicked");
                        break;
                    }
                }
            }
        }
    });
}
