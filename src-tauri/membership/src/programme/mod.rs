//! The membership service: every operation of API.md, with authorisation enforced here
//! (deny by default) and every multi-step change in one transaction of the store
//! (`BEGIN IMMEDIATE` on SQLite). The rules reach data only through [`crate::store`]'s
//! `ReadTx` and `WriteTx`; they hold no SQL.

mod accounts;
mod delegation;
mod feed;
mod memberships;
mod organisations;
mod outbox;
mod pending;
mod proof;
mod requests;

use std::path::Path;
use std::sync::Arc;

use crate::dns::{NoResolver, TxtLookup};
use crate::mail::{Mail, Mailer};
use crate::store::sqlite::SqliteStore;
use crate::store::{Audience, AuditRecord, NewEvent, ReadTx, Store, WriteTx};
use crate::{Error, Timestamp};

pub use accounts::SessionTokens;
pub use delegation::MAX_DELEGATION_DAYS;
pub use organisations::{ImportedOrganisation, LOOKUP_MAX_CHARS};
pub use outbox::{MailRun, MAIL_ATTEMPTS};
pub use pending::{DueWork, PendingSettings};
pub use proof::ProofSettings;
pub use requests::{MAX_BULK_DECISIONS, MAX_INVITATIONS};

/// The guide's sentence when the domain was pre-approved (verbatim, with its apostrophes).
pub const ACCEPTED_MESSAGE: &str = "Your request to associate with the company has been accepted";
/// The guide's sentence when the request goes to the PPC (verbatim).
pub const PENDING_MESSAGE: &str =
    "Your request to associate to your organization\u{2019}s account has been sent to your organisation\u{2019}s program administrator";

/// Settings of one membership service.
#[derive(Debug, Clone)]
pub struct Config {
    /// Base of the web link in verification mail (the server's `--public-url`); `None` leaves
    /// only the `partnerdesk://` link and the code.
    pub public_url: Option<String>,
    pub access_ttl_secs: i64,
    pub refresh_ttl_secs: i64,
    pub verification_ttl_secs: i64,
    pub resend_cooldown_secs: i64,
    pub deny_cooldown_secs: i64,
    /// The pace and deadlines of domain proof.
    pub proof: ProofSettings,
    /// Deadlines, reminders and escalation of pending requests.
    pub pending: PendingSettings,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            public_url: None,
            access_ttl_secs: 15 * 60,
            refresh_ttl_secs: 30 * 24 * 3600,
            verification_ttl_secs: 7 * 24 * 3600,
            resend_cooldown_secs: 60,
            deny_cooldown_secs: 30 * 24 * 3600,
            proof: ProofSettings::default(),
            pending: PendingSettings::default(),
        }
    }
}

/// A signed-in account, as proved by [`Programme::authenticate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    account_id: String,
    session_id: String,
}

impl Caller {
    pub fn account_id(&self) -> &str {
        &self.account_id
    }
}

/// A mail a change causes, as it goes into the outbox. A verification mail carries no token:
/// its body and link hold [`TOKEN_SLOT`], and `token` names (by hash) the token row it is for.
/// The mail worker mints the token when it sends the mail (`outbox.rs`), so a token is never
/// kept in the clear, not even while its mail waits.
pub(crate) struct Outgoing {
    pub mail: Mail,
    pub token: Option<Vec<u8>>,
}

impl From<Mail> for Outgoing {
    fn from(mail: Mail) -> Self {
        Self { mail, token: None }
    }
}

/// Where a verification mail's token goes: control characters, which nothing people type may
/// hold (the rules refuse them), so no typed text can stand in for it.
pub(crate) const TOKEN_SLOT: &str = "\u{1}token\u{1}";

/// The partner programme's membership rules over one store: by default the SQLite store.
pub struct Programme<S: Store = SqliteStore> {
    store: S,
    mailer: Arc<dyn Mailer>,
    config: Config,
    /// Where domain proof looks records up: nowhere until [`Programme::with_dns`].
    dns: Arc<dyn TxtLookup>,
    /// Told when a change has put mail in the outbox (see [`Programme::with_mail_worker`]);
    /// without one, the change sends its mail itself once it is committed.
    mail_worker: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl Programme {
    /// Opens (creating and migrating) the database at `path`.
    pub fn open(path: &Path, mailer: Arc<dyn Mailer>) -> Result<Self, Error> {
        Self::with_config(path, mailer, Config::default())
    }

    pub fn with_config(
        path: &Path,
        mailer: Arc<dyn Mailer>,
        config: Config,
    ) -> Result<Self, Error> {
        Ok(Self::with_store(SqliteStore::open(path)?, mailer, config))
    }
}

impl<S: Store> Programme<S> {
    /// The rules over `store`.
    pub fn with_store(store: S, mailer: Arc<dyn Mailer>, config: Config) -> Self {
        Self {
            store,
            mailer,
            config,
            dns: Arc::new(NoResolver),
            mail_worker: None,
        }
    }

    /// Mail off the request path: a change keeps its mail in the outbox and calls `wake`, and a
    /// worker sends it ([`Programme::deliver_mail`]), so a slow or failing mail relay never slows
    /// or fails the change. Without a worker (the embedded backend, whose "relay" is a table on
    /// this computer) each change delivers its own mail right after its commit.
    pub fn with_mail_worker(mut self, wake: Arc<dyn Fn() + Send + Sync>) -> Self {
        self.mail_worker = Some(wake);
        self
    }

    /// The same rules, looking domain proof records up through `dns`.
    pub fn with_dns(mut self, dns: Arc<dyn TxtLookup>) -> Self {
        self.dns = dns;
        self
    }

    /// The store the rules run over (the server asks its PostgreSQL store for shared rate limits).
    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The server's `Idempotency-Key`s, kept in this store beside the data they guard.
    pub fn idempotency_keys(&self) -> crate::store::keys::IdempotencyKeys<'_, S> {
        crate::store::keys::IdempotencyKeys { store: &self.store }
    }

    /// Runs `f` as one transaction of the store; the mail it produced is kept in the outbox in
    /// that same transaction (so no mail is sent for a change that did not happen, and none is
    /// lost for one that did), then sent by the mail worker, or here once committed when there is
    /// none. The store may run `f` again (after a serialization failure): each run starts with an
    /// empty list, and only the mail of the run that committed is kept.
    fn write<T>(
        &self,
        now: Timestamp,
        mut f: impl FnMut(&mut dyn WriteTx, &mut Vec<Outgoing>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut outbox = Vec::new();
        let value = self.store.write(&mut |tx| {
            outbox.clear();
            let value = f(tx, &mut outbox)?;
            for out in &outbox {
                tx.enqueue_mail(&out.mail, out.token.as_deref(), now)?;
            }
            Ok(value)
        })?;
        if !outbox.is_empty() {
            match &self.mail_worker {
                Some(wake) => wake(),
                None => {
                    // The change stands whatever happens to its mail: a failed attempt is tried
                    // again by the scheduled work.
                    let _ = self.deliver_mail(now, u32::try_from(outbox.len()).unwrap_or(u32::MAX));
                }
            }
        }
        Ok(value)
    }

    /// A change that sends no mail.
    fn change<T>(
        &self,
        mut f: impl FnMut(&mut dyn WriteTx) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.store.write(&mut f)
    }

    fn read<T>(&self, mut f: impl FnMut(&mut dyn ReadTx) -> Result<T, Error>) -> Result<T, Error> {
        self.store.read(&mut f)
    }

    /// True when no account exists yet (a new database).
    pub fn is_empty(&self) -> Result<bool, Error> {
        self.read(|tx| Ok(!tx.has_accounts()?))
    }
}

/// Refuses unless the caller administers `org`. An unknown organisation is "not found".
fn require_admin(tx: &mut dyn ReadTx, caller: &Caller, org: &str) -> Result<(), Error> {
    if tx.is_admin(&caller.account_id, org)? {
        return Ok(());
    }
    if !tx.organisation_exists(org)? {
        return Err(Error::not_found("organisation"));
    }
    Err(Error::forbidden(
        "Only the organisation's Primary Program Contact or a Global Administrator can do this. Ask them to make the change or to grant you Global Administrator rights.",
    ))
}

fn organisation_name(tx: &mut dyn ReadTx, org: &str) -> Result<String, Error> {
    tx.organisation_name(org)?
        .ok_or_else(|| Error::not_found("organisation"))
}

fn audit(
    tx: &mut dyn WriteTx,
    now: Timestamp,
    org: Option<&str>,
    actor: Option<&str>,
    action: &str,
    subject: &str,
    detail: &str,
) -> Result<(), Error> {
    tx.append_audit(&AuditRecord {
        at: now,
        organisation_id: org,
        actor_account_id: actor,
        action,
        subject,
        detail,
    })
}

fn emit(
    tx: &mut dyn WriteTx,
    now: Timestamp,
    kind: &str,
    audience: Audience<'_>,
    data: serde_json::Value,
) -> Result<(), Error> {
    tx.emit_event(&NewEvent {
        at: now,
        kind,
        audience,
        data: &data,
    })
}

/// Parses an optional free-text field: empty means "not given".
fn optional<T>(
    value: Option<&str>,
    parse: impl Fn(&str) -> Result<T, crate::domain::ValidationError>,
) -> Result<Option<T>, Error> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => Ok(Some(parse(v)?)),
    }
}

/// What every list's `cursor` (and the events' `Last-Event-ID`) takes, as the API document
/// states it: empty, or the number of a position, up to 18 digits.
pub const CURSOR_PATTERN: &str = "^[0-9]{0,18}$";

fn parse_cursor(cursor: Option<&str>) -> Result<Option<i64>, Error> {
    match cursor {
        None | Some("") => Ok(None),
        Some(c) if c.len() <= 18 && c.bytes().all(|b| b.is_ascii_digit()) => c
            .parse::<i64>()
            .map(Some)
            .map_err(|_| Error::invalid_cursor()),
        Some(_) => Err(Error::invalid_cursor()),
    }
}
