//! The offline crate against real backends: the `partner-desk-server` binary (testkit: random
//! loopback port, temp database, killed and restarted on the same database) through
//! `client::Remote`, and the membership service in process through `client::Embedded`.
//!
//! `journeys.rs`: offline → online, conflicts, ended memberships, lost answers, what sync never
//! writes. `restart.rs`: the server killed mid-sync. `crash_loop.rs`: the syncing process killed
//! at random points over a hundred times.
mod crash_loop;
mod journeys;
mod restart;
mod support;
