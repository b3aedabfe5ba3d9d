//! Load with faults on one server: 100 clients for 60 seconds while the server is SIGKILLed and
//! started again on the same database and port, twice; nothing acknowledged is lost, nothing
//! happens twice, every client recovers, the event follower misses nothing, and the server never
//! answers 5xx. The run and its checks are in `support/faults.rs` (shared with `cluster.rs`);
//! `FAULTS_SECS` and `FAULTS_CLIENTS` change it for local use.
mod support;

use std::sync::{Arc, Mutex};

use support::faults::{fault_launch, run, Fault, Topology};
use support::{ServerProcess, SmtpSink};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_recover_from_server_kills_without_losing_or_repeating_writes() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let sink = SmtpSink::start();
    let launch = fault_launch(dir.path(), &sink, None);
    let database = launch.database.clone();
    let server = ServerProcess::start(launch);
    let base = server.base();
    run(
        Topology {
            name: "faults",
            instances: vec![Arc::new(Mutex::new(server))],
            base,
            database,
            faults: vec![Fault::Kill(0), Fault::Kill(0)],
            five_hundreds_while_down: false,
        },
        sink,
    )
    .await;
}
