//! The server's scheduled work: domain proof's checks (`Programme::run_domain_checks`), every
//! `--domain-check-interval-ms`, until shutdown. Each run leases what it checks in the database,
//! so several instances on one database never look the same record up at once.
use std::time::Duration;

use membership::Timestamp;
use tokio::time::MissedTickBehavior;

use crate::state::AppState;

/// How many due domains one run takes on.
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
            let run = move || programme.run_domain_checks(Timestamp::now_utc(), BATCH);
            match tokio::task::spawn_blocking(run).await {
                Ok(Ok(0)) => {}
                Ok(Ok(handled)) => {
                    tracing::debug!(handled, "domain proof");
                    // Changes may have emitted events: wake the streams.
                    state.notify_change();
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %crate::for_operator(&e), "domain proof checks failed")
                }
                Err(_) => tracing::error!("domain proof checks panicked"),
            }
        }
    });
}
