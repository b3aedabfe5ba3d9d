//! The server's scheduled work (`Programme::run_due_work`): domain proof's checks, pending
//! requests' reminders, escalation and expiry, and the approvers' digest mails, every
//! `--domain-check-interval-ms`, until shutdown. Each run claims what it does in the database,
//! so several instances on one database never do the same step twice.
use std::time::Duration;

use membership::Timestamp;
use tokio::time::MissedTickBehavior;

use crate::state::AppState;

/// How many due items of each kind one run takes on.
const BATCH: u32 = 50;

pub fn spawn(state: AppState, every: Duration) {
    let mut shutdown = state.shutdown.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
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
            let run = move || programme.run_due_work(Timestamp::now_utc(), BATCH);
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
