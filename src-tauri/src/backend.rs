//! Where the membership service lives: in process over a SQLite file in the app's data folder
//! (`Embedded`, the default, seeded with demo data), or a partner programme's server over the HTTP
//! API of API.md (`Remote`). Either way the shell talks to it through [`client::Backend`], so every
//! command behaves, and refuses, the same on both.
use std::path::Path;
use std::sync::Arc;

use client::{Clock, Embedded, Remote};
use membership::{ErrorKind, Programme};

use crate::settings::BackendKind;

/// The database file of the embedded backend, in the app's data folder.
pub const DATABASE_FILE: &str = "membership.sqlite3";

/// How often the embedded backend runs domain proof's scheduled checks.
const DOMAIN_CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// The environment variable naming the DNS server (IP:PORT) that the embedded backend's domain
/// proof asks, as the server's `--dns-resolver`; unset, the system's resolvers.
pub const DNS_RESOLVER_ENV: &str = "PARTNER_DESK_DNS_RESOLVER";

/// The DNS server the embedded backend's domain proof asks: `--dns-resolver=IP:PORT` on the
/// command line, else the one in Settings, else [`DNS_RESOLVER_ENV`], else `None` (the system's
/// resolvers).
pub fn dns_server_setting<I: IntoIterator<Item = String>>(
    args: I,
    setting: Option<std::net::SocketAddr>,
    env: Option<String>,
) -> Option<std::net::SocketAddr> {
    args.into_iter()
        .find_map(|a| {
            a.strip_prefix("--dns-resolver=")
                .and_then(|v| v.trim().parse().ok())
        })
        .or(setting)
        .or_else(|| env.and_then(|v| v.trim().parse().ok()))
}

/// The resolver every embedded backend of this process asks, which Settings can change while it
/// runs ([`use_dns_server`]).
struct DnsChoice(std::sync::RwLock<Arc<dyn membership::dns::TxtLookup>>);

impl membership::dns::TxtLookup for DnsChoice {
    fn txt(&self, name: &str) -> Result<membership::dns::TxtAnswer, membership::dns::LookupError> {
        let current = self.0.read().unwrap_or_else(|e| e.into_inner()).clone();
        current.txt(name)
    }
}

static DNS: std::sync::OnceLock<Arc<DnsChoice>> = std::sync::OnceLock::new();

fn resolver_for(setting: Option<std::net::SocketAddr>) -> Arc<dyn membership::dns::TxtLookup> {
    let server = dns_server_setting(
        std::env::args(),
        setting,
        std::env::var(DNS_RESOLVER_ENV).ok(),
    );
    // A resolver that cannot be set up (no system DNS settings) answers every check with "no
    // answer", which changes nothing.
    match membership::dns::Resolver::new(server, std::time::Duration::from_secs(3)) {
        Ok(r) => Arc::new(r),
        Err(_) => Arc::new(membership::dns::NoResolver),
    }
}

/// Points domain proof of the embedded backend at `setting` (Settings' DNS server; `None`: the
/// command line, the environment or the system decide), from the next check on.
pub fn use_dns_server(setting: Option<std::net::SocketAddr>) {
    let next = resolver_for(setting);
    match DNS.get() {
        Some(choice) => *choice.0.write().unwrap_or_else(|e| e.into_inner()) = next,
        None => {
            let _ = DNS.set(Arc::new(DnsChoice(std::sync::RwLock::new(next))));
        }
    }
}

/// Where the embedded backend looks domain proof records up.
fn dns() -> Arc<dyn membership::dns::TxtLookup> {
    DNS.get_or_init(|| Arc::new(DnsChoice(std::sync::RwLock::new(resolver_for(None)))))
        .clone()
}

/// The backend in use, with what the settings screen says about it.
pub struct Backend {
    api: Arc<dyn client::Backend>,
    kind: BackendKind,
    /// The embedded database's path, or the server's address.
    location: String,
    /// The embedded service itself, for tests and demo seeding; `None` for a server.
    programme: Option<Arc<Programme>>,
}

impl Backend {
    /// Opens (creating and seeding on first start) the embedded backend in `data_dir`.
    pub fn open_embedded(data_dir: &Path) -> Result<Self, membership::Error> {
        Self::open_embedded_with_clock(data_dir, Arc::new(time::OffsetDateTime::now_utc))
    }

    /// [`Backend::open_embedded`] reading the time from `clock` (tests move it on).
    pub fn open_embedded_with_clock(
        data_dir: &Path,
        clock: Clock,
    ) -> Result<Self, membership::Error> {
        std::fs::create_dir_all(data_dir).map_err(|_| {
            membership::Error::new(
                ErrorKind::Internal,
                "data_dir_unavailable",
                format!(
                    "Partner Desk could not create its data folder {}. Check that you may write there, then start the app again.",
                    data_dir.display()
                ),
            )
        })?;
        let path = data_dir.join(DATABASE_FILE);
        let embedded = Embedded::open_with_dns(&path, membership::Config::default(), dns())?
            .with_clock(clock.clone())
            .with_domain_checks(DOMAIN_CHECK_EVERY);
        // A no-op on a database that already holds the demo data.
        membership::seed::seed_demo(embedded.programme(), clock())?;
        Ok(Self {
            programme: Some(embedded.programme().clone()),
            api: Arc::new(embedded),
            kind: BackendKind::Embedded,
            location: path.display().to_string(),
        })
    }

    /// A client of the server at `url`. Nothing is sent yet: [`client::Backend::health`] says
    /// whether it answers.
    pub fn open_remote(url: &str) -> Result<Self, membership::Error> {
        let remote = Remote::new(url)?;
        Ok(Self {
            location: remote.base_url().to_owned(),
            api: Arc::new(remote),
            kind: BackendKind::Remote,
            programme: None,
        })
    }

    /// Every operation of API.md, the same on both kinds.
    pub fn api(&self) -> &dyn client::Backend {
        self.api.as_ref()
    }

    /// [`Backend::api`] as a handle of its own, for work that outlives a command (the follower of
    /// new requests keeps the backend it started on).
    pub fn shared_api(&self) -> Arc<dyn client::Backend> {
        self.api.clone()
    }

    /// The embedded service itself (tests and tools); `None` for a server.
    pub fn programme(&self) -> Option<&Arc<Programme>> {
        self.programme.as_ref()
    }

    pub fn kind(&self) -> BackendKind {
        self.kind
    }

    /// `"embedded"` or `"remote"`, for the window.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            BackendKind::Embedded => "embedded",
            BackendKind::Remote => "remote",
        }
    }

    /// The embedded database's path, or the server's address.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Names this backend in the app's own stores: `embedded`, or the server's address.
    pub fn id(&self) -> String {
        match self.kind {
            BackendKind::Embedded => "embedded".to_owned(),
            BackendKind::Remote => self.location.clone(),
        }
    }

    /// The keychain entry name of `email`'s session on this backend: sessions of one address on
    /// two backends are different sessions. The embedded backend keeps the plain address (as
    /// before servers existed), a server adds its address.
    pub fn entry_name(&self, email: &str) -> String {
        let email = email.trim().to_lowercase();
        match self.kind {
            BackendKind::Embedded => email,
            BackendKind::Remote => format!("{email} @ {}", self.location),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::dns_server_setting;

    #[test]
    fn the_dns_server_comes_from_the_command_line_then_settings_then_the_environment() {
        let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let addr = |s: &str| Some(s.parse::<std::net::SocketAddr>().unwrap());
        assert_eq!(
            dns_server_setting(
                args(&["app", "--dns-resolver=127.0.0.1:5353"]),
                addr("127.0.0.1:53"),
                Some("127.0.0.1:9".into())
            ),
            addr("127.0.0.1:5353")
        );
        assert_eq!(
            dns_server_setting(
                args(&["app"]),
                addr("127.0.0.1:53"),
                Some("127.0.0.1:9".into())
            ),
            addr("127.0.0.1:53")
        );
        assert_eq!(
            dns_server_setting(args(&["app"]), None, Some(" [::1]:53 ".into())),
            addr("[::1]:53")
        );
        assert_eq!(dns_server_setting(args(&["app"]), None, None), None);
        assert_eq!(
            dns_server_setting(args(&["app", "--dns-resolver=nonsense"]), None, None),
            None
        );
    }
}
