//! The contract suite: the real `partner-desk-server` binary on a random loopback port with a
//! temp database, `--seed-demo`, and a real SMTP sink on loopback from which the tests read the
//! mail. Each test starts its own server, so tests never share state.
//!
//! `scenarios.rs` holds the backend-neutral scenarios (journeys, refusals) written against the
//! `Backend` trait; each runs against the server over HTTP and against the membership service in
//! process (`embedded.rs`), so the two cannot drift. The tests in `http.rs` are about HTTP itself
//! (headers, ETags, SSE, idempotency, limits, shutdown).
mod backend;
mod embedded;
mod http;
mod scenarios;
mod server;
mod smtp_sink;

use server::TestServer;

/// Runs each scenario twice: against the real server binary over HTTP, and against the
/// membership service in process (the embedded backend's implementation).
macro_rules! against_both_backends {
    ($($name:ident),* $(,)?) => {
        mod over_http {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let server = super::TestServer::start();
                    super::scenarios::$name(&server).await;
                }
            )*
        }
        mod in_process {
            $(
                #[tokio::test]
                async fn $name() {
                    let backend = super::embedded::Embedded::start();
                    super::scenarios::$name(&backend).await;
                }
            )*
        }
    };
}

against_both_backends!(
    pre_approved_domain_is_accepted_at_once_and_the_mailed_code_activates,
    unlisted_domain_goes_to_the_ppc_who_approves_it,
    denied_request_carries_the_reason_and_blocks_a_new_one,
    account_refusals_name_their_codes,
    domain_refusals_name_their_codes,
    outsiders_are_refused,
);
