//! Load with faults through a load balancer: two server instances on one PostgreSQL database
//! behind haproxy (testkit's `Balancer`), 100 clients for 60 seconds while one instance is
//! SIGKILLed and started again twice, the other once, and PostgreSQL itself is restarted once (as
//! a crash would: `pg_ctl restart -m immediate`). Nothing acknowledged is lost, nothing happens
//! twice (requests, approvals, mails by address and by Message-ID), every client recovers, the
//! event follower reconnecting through the balancer misses nothing and is sent nothing twice, and
//! no 5xx comes outside the moments something was down. The run and its checks are in
//! `support/faults.rs`, shared with the one-server `faults.rs`.
//!
//! Always on PostgreSQL (the instances share its database), in the throwaway cluster.
mod support;

use std::sync::{Arc, Mutex};

use support::faults::{fault_launch, run, Fault, Topology};
use support::{ServerProcess, SmtpSink};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_behind_a_balancer_survive_kills_and_a_database_restart() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let sink = SmtpSink::start();
    let database = testkit::postgres::Cluster::shared().fresh_database();
    let mut instances = Vec::new();
    let mut addrs = Vec::new();
    for _ in 0..2 {
        let mut launch = fault_launch(dir.path(), &sink, Some(database.clone()));
        // Behind the balancer, the client's address comes from X-Forwarded-For.
        launch.extra.push("--trust-forwarded-for".into());
        let server = ServerProcess::start(launch);
        addrs.push(server.addr);
        instances.push(Arc::new(Mutex::new(server)));
    }
    let balancer = testkit::balancer::Balancer::start(&addrs);
    run(
        Topology {
            name: "cluster",
            instances,
            base: balancer.base(),
            database,
            faults: vec![
                Fault::Kill(0),
                Fault::Kill(1),
                Fault::RestartDatabase,
                Fault::Kill(0),
            ],
            five_hundreds_while_down: true,
        },
        sink,
    )
    .await;
    drop(balancer);
}
