//! The contract suite: every scenario runs against both backends through the desktop app's own
//! client crate, `client::Remote` over HTTP to the real `partner-desk-server` binary (random
//! loopback port, temp database, `--seed-demo`, a real SMTP sink on loopback from which the tests
//! read the mail) and `client::Embedded` in process. Each test starts its own backend, so tests
//! never share state.
//!
//! `scenarios.rs` holds the backend-neutral scenarios (journeys, refusals); `idempotency.rs` the
//! remote client's retries against the real server; `http.rs` is about HTTP itself (headers,
//! ETags, SSE, idempotency, limits, shutdown).
mod backends;
mod http;
mod idempotency;
mod scenarios;
mod server;
mod smtp_sink;

/// Runs each scenario twice: against the real server binary through `client::Remote`, and
/// against the membership service in process through `client::Embedded`.
macro_rules! against_both_backends {
    ($($name:ident),* $(,)?) => {
        mod remote {
            $(
                #[test]
                fn $name() {
                    super::scenarios::$name(&super::backends::Subject::remote());
                }
            )*
        }
        mod embedded {
            $(
                #[test]
                fn $name() {
                    super::scenarios::$name(&super::backends::Subject::embedded());
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
    a_stale_profile_edit_gets_412_with_the_current_profile,
    sessions_privileges_and_audit_behave_the_same,
    typed_text_keeps_markup_as_text_and_refuses_hidden_characters,
    a_delegate_decides_for_the_ppc_and_the_role_moves_only_when_accepted,
);

/// Domain proof through both backends, each asking a real DNS server on loopback whose records
/// the scenario publishes.
mod domain_proof {
    use testkit::dns::DnsServer;

    use super::backends::Subject;
    use super::scenarios::a_domain_accepts_at_once_only_once_its_dns_record_is_seen as scenario;

    #[test]
    fn remote() {
        let dns = DnsServer::start(&["fabrikam.com"]);
        scenario(&Subject::remote_with_dns(dns.addr()), &dns);
    }

    /// Named `…::embedded::…` like the other in-process runs, which the PostgreSQL pass of
    /// `scripts/test` skips (the embedded backend is SQLite whatever the store under test).
    mod embedded {
        use super::*;

        #[test]
        fn through_the_service_in_process() {
            let dns = DnsServer::start(&["fabrikam.com"]);
            scenario(&Subject::embedded_with_dns(dns.addr()), &dns);
        }
    }
}
