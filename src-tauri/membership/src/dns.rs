//! Looking a domain's challenge record up, and judging what came back.
//!
//! [`TxtLookup`] is the one question the rules ask DNS: the TXT records at a name. [`Resolver`]
//! answers it with hickory-resolver, on a runtime thread of its own so that the rules (which are
//! blocking code without a runtime) can ask it from any thread; [`judge`] is the pure part that
//! decides what an answer proves. Nothing here changes state: the rules do, and only on an
//! answer (`Ok`), never on a [`LookupError`].
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::rr::{Name, RData};
use hickory_resolver::TokioResolver;

use crate::model::SeenOutcome;

/// What the DNS answered for a name's TXT records: each record's character-strings (a record may
/// be split into several strings of at most 255 bytes), and the aliases (CNAME targets) the
/// answer went through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TxtAnswer {
    pub records: Vec<Vec<Vec<u8>>>,
    /// Lower-case, without the trailing dot.
    pub aliases: Vec<String>,
}

/// No answer: a timeout, a server failure, nothing listening. Says why, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupError(pub String);

/// The TXT records at a name. No name found is an answer (empty), not an error.
pub trait TxtLookup: Send + Sync {
    fn txt(&self, name: &str) -> Result<TxtAnswer, LookupError>;
}

/// No resolver configured: every lookup is "no answer", so nothing ever changes state.
pub struct NoResolver;

impl TxtLookup for NoResolver {
    fn txt(&self, _name: &str) -> Result<TxtAnswer, LookupError> {
        Err(LookupError("no DNS resolver is set up".to_owned()))
    }
}

/// The name a domain's challenge record is published at.
pub fn challenge_name(domain: &str) -> String {
    format!("_partner-desk-challenge.{domain}")
}

/// What a check saw, before the rules decide what it means for the domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// A record holds the current challenge.
    Found,
    /// A record holds last year's challenge, still accepted while a re-proof is asked for.
    FoundPrevious,
    /// The outcome (`missing` or `different_value`) and what was seen, in words.
    NotFound(SeenOutcome, String),
    /// No answer; nothing may change.
    Failed(String),
}

/// The most of a different value shown back to the PPC (it is text from the outside).
const SHOWN_VALUE_CHARS: usize = 80;

/// Decides what `answer` (for `domain`'s challenge name) proves. The strings of one record are
/// joined (never strings of different records); values compare trimmed and without regard to
/// case; other TXT records at the name are ignored; an answer reached through an alias to a name
/// outside `domain` proves nothing.
pub fn judge(domain: &str, answer: &TxtAnswer, current: &str, previous: Option<&str>) -> Seen {
    let name = challenge_name(domain);
    if let Some(outside) = answer
        .aliases
        .iter()
        .find(|a| !(a.as_str() == domain || a.ends_with(&format!(".{domain}"))))
    {
        return Seen::NotFound(
            SeenOutcome::Missing,
            format!("{name} is an alias (CNAME) of {}, a name outside {domain}, so it proves nothing about {domain}. Publish the TXT record at {name} itself.", shown(outside)),
        );
    }
    let values: Vec<String> = answer
        .records
        .iter()
        .map(|strings| String::from_utf8_lossy(&strings.concat()).trim().to_owned())
        .collect();
    let is = |v: &str, expected: &str| v.eq_ignore_ascii_case(expected.trim());
    if values.iter().any(|v| is(v, current)) {
        return Seen::Found;
    }
    if let Some(previous) = previous {
        if values.iter().any(|v| is(v, previous)) {
            return Seen::FoundPrevious;
        }
    }
    let Some(first) = values.first() else {
        return Seen::NotFound(
            SeenOutcome::Missing,
            format!("No TXT record at {name} yet."),
        );
    };
    let unquoted = |v: &str| v.trim_matches(|c| c == '"' || c == '\'').trim().to_owned();
    let hint = if values.iter().any(|v| is(&unquoted(v), current)) {
        " It has quotation marks in it: publish the value without them."
    } else {
        ""
    };
    let count = if values.len() == 1 {
        "A TXT record is there".to_owned()
    } else {
        format!("{} TXT records are there", values.len())
    };
    Seen::NotFound(
        SeenOutcome::DifferentValue,
        format!(
            "{count}, but not with the value to publish (seen: \u{201c}{}\u{201d}).{hint}",
            shown(first)
        ),
    )
}

/// Outside text made fit to show: control characters dropped, at most [`SHOWN_VALUE_CHARS`].
fn shown(text: &str) -> String {
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    if clean.chars().count() > SHOWN_VALUE_CHARS {
        let cut: String = clean.chars().take(SHOWN_VALUE_CHARS).collect();
        format!("{cut}\u{2026}")
    } else {
        clean
    }
}

/// hickory-resolver with no cache (every check asks again), a short timeout and two attempts,
/// asking either the given server (tests, private networks) or the system's resolvers.
pub struct Resolver {
    handle: tokio::runtime::Handle,
    resolver: TokioResolver,
    // Kept alive for `handle`; shut down with the resolver.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Resolver {
    /// Asks `server` (UDP, then TCP for long answers) when given, else the system's
    /// configuration (`/etc/resolv.conf` on Linux). Never reads the hosts file.
    pub fn new(server: Option<SocketAddr>, timeout: Duration) -> Result<Self, crate::Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("dns")
            .enable_all()
            .build()
            .map_err(crate::Error::internal)?;
        let config = match server {
            Some(addr) => {
                let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
                for c in ns.connections.iter_mut() {
                    c.port = addr.port();
                }
                ResolverConfig::from_name_servers(vec![ns])
            }
            None => {
                hickory_resolver::system_conf::read_system_conf()
                    .map_err(|e| {
                        crate::Error::internal(format!("reading the system's DNS settings: {e}"))
                    })?
                    .0
            }
        };
        let _entered = runtime.enter();
        let mut builder = hickory_resolver::Resolver::builder_with_config(
            config,
            TokioRuntimeProvider::default(),
        );
        let opts = builder.options_mut();
        // No cache: every check asks again, and a removed record is seen as removed at once.
        opts.cache_size = 0;
        opts.timeout = timeout;
        // Retries after the first try.
        opts.attempts = 1;
        opts.ndots = 0;
        opts.use_hosts_file = ResolveHosts::Never;
        opts.preserve_intermediates = true;
        let resolver = builder.build().map_err(crate::Error::internal)?;
        drop(_entered);
        Ok(Self {
            handle: runtime.handle().clone(),
            resolver,
            runtime: Some(runtime),
        })
    }
}

impl Drop for Resolver {
    fn drop(&mut self) {
        // May run on an async thread (the server's), where a runtime may not be dropped by
        // blocking on it.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl TxtLookup for Resolver {
    fn txt(&self, name: &str) -> Result<TxtAnswer, LookupError> {
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        let asked = Name::from_ascii(&fqdn).map_err(|e| LookupError(e.to_string()))?;
        let resolver = self.resolver.clone();
        let (tx, rx) = mpsc::channel();
        self.handle.spawn(async move {
            let _ = tx.send(resolver.txt_lookup(fqdn).await);
        });
        let answer = rx
            .recv()
            .map_err(|_| LookupError("the DNS lookup stopped".to_owned()))?;
        let lower = |n: &Name| n.to_ascii().trim_end_matches('.').to_ascii_lowercase();
        match answer {
            Ok(lookup) => {
                let mut out = TxtAnswer::default();
                for record in lookup.answers() {
                    match &record.data {
                        RData::TXT(txt) => out
                            .records
                            .push(txt.txt_data.iter().map(|s| s.to_vec()).collect()),
                        RData::CNAME(target) => out.aliases.push(lower(&target.0)),
                        _ => {}
                    }
                }
                Ok(out)
            }
            // No such name, or no TXT at it: an answer. When the resolver followed an alias to
            // get it, the name it answered for is the alias's target.
            Err(NetError::Dns(DnsError::NoRecordsFound(none))) => {
                let answered = none.query.name();
                let aliases = if lower(answered) == lower(&asked) {
                    vec![]
                } else {
                    vec![lower(answered)]
                };
                Ok(TxtAnswer {
                    records: vec![],
                    aliases,
                })
            }
            Err(e) => Err(LookupError(e.to_string())),
        }
    }
}
