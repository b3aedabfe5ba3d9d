//! The two backends the scenarios run against, both through the desktop app's own client
//! (`client::Backend`): `client::Remote` talking to the real server binary (with the SMTP sink as
//! its mail), and `client::Embedded` over a temp database (with its mailbox as its mail).
use std::ops::Deref;

use client::{Backend, Embedded, Remote};
use membership::{Secret, Timestamp};
use tempfile::TempDir;

use crate::server::TestServer;

pub enum Subject {
    Remote {
        remote: Box<Remote>,
        server: Box<TestServer>,
    },
    Embedded {
        embedded: Embedded,
        _dir: TempDir,
    },
}

impl Subject {
    /// The server binary on a random loopback port, with a temp database, `--seed-demo` and the
    /// SMTP sink, reached through `client::Remote`.
    pub fn remote() -> Self {
        Self::remote_with(&[])
    }

    /// [`Subject::remote`] with domain proof asking the DNS server at `dns`, and Check now
    /// allowed at any time.
    pub fn remote_with_dns(dns: std::net::SocketAddr) -> Self {
        let dns = dns.to_string();
        Self::remote_with(&["--dns-resolver", &dns, "--check-now-cooldown-secs", "0"])
    }

    fn remote_with(extra: &[&str]) -> Self {
        let server = TestServer::start_with(extra);
        let remote = Remote::new(&server.base).expect("the test server's URL is valid");
        Self::Remote {
            remote: Box::new(remote),
            server: Box::new(server),
        }
    }

    /// The membership service in process with the demo data, through `client::Embedded`.
    pub fn embedded() -> Self {
        Self::embedded_with(
            membership::Config::default(),
            std::sync::Arc::new(membership::dns::NoResolver),
        )
    }

    /// [`Subject::embedded`] with domain proof asking the DNS server at `dns`, and Check now
    /// allowed at any time.
    pub fn embedded_with_dns(dns: std::net::SocketAddr) -> Self {
        let resolver = membership::dns::Resolver::new(Some(dns), std::time::Duration::from_secs(1))
            .expect("a resolver");
        let config = membership::Config {
            proof: membership::ProofSettings {
                check_now_secs: 0,
                ..Default::default()
            },
            ..Default::default()
        };
        Self::embedded_with(config, std::sync::Arc::new(resolver))
    }

    fn embedded_with(
        config: membership::Config,
        dns: std::sync::Arc<dyn membership::dns::TxtLookup>,
    ) -> Self {
        let dir = tempfile::tempdir().expect("a temp dir");
        let config = membership::Config {
            public_url: Some("https://members.partnerdesk.test".into()),
            ..config
        };
        let embedded = Embedded::open_with_dns(&dir.path().join("membership.sqlite3"), config, dns)
            .expect("the embedded backend opens");
        membership::seed::seed_demo(embedded.programme(), Timestamp::now_utc()).expect("demo data");
        Self::Embedded {
            embedded,
            _dir: dir,
        }
    }

    /// The remote client, for tests about the wire itself.
    pub fn as_remote(&self) -> Option<&Remote> {
        match self {
            Self::Remote { remote, .. } => Some(remote.as_ref()),
            Self::Embedded { .. } => None,
        }
    }

    /// Mail delivered to `address` so far, oldest first, as (subject, body), after waiting for at
    /// least `at_least` of them. `who` is the person it was sent to (the embedded mailbox shows
    /// a person only their own mail).
    pub fn mail_to(&self, who: &Secret, address: &str, at_least: usize) -> Vec<(String, String)> {
        match self {
            Self::Remote { server, .. } => {
                if at_least > 0 {
                    server.mail.wait_for(address, at_least);
                }
                server
                    .mail
                    .to(address)
                    .into_iter()
                    .map(|m| (m.subject, m.body))
                    .collect()
            }
            Self::Embedded { embedded, .. } => {
                // Delivery is synchronous here: the mail is in the mailbox when the call returns.
                let mut mail: Vec<(String, String)> = embedded
                    .mailbox(who)
                    .expect("the mailbox reads")
                    .expect("the embedded backend has a mailbox")
                    .into_iter()
                    .filter(|m| m.mail.to.eq_ignore_ascii_case(address))
                    .map(|m| (m.mail.subject, m.mail.body))
                    .collect();
                mail.reverse();
                assert!(
                    mail.len() >= at_least,
                    "expected {at_least} mail(s) to {address}, got {}",
                    mail.len()
                );
                mail
            }
        }
    }
}

impl Deref for Subject {
    type Target = dyn Backend;

    fn deref(&self) -> &Self::Target {
        match self {
            Self::Remote { remote, .. } => remote.as_ref(),
            Self::Embedded { embedded, .. } => embedded,
        }
    }
}
