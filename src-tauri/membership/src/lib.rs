//! Partner Desk's membership rules: domain types that validate on construction and the
//! [`Programme`] service over a [`store::Store`] (by default [`SqliteStore`], one SQLite file).
//!
//! The rules (`programme/`) reach data only through the store seam (`store::ReadTx`,
//! `store::WriteTx`); all SQL lives in the stores (`store/sqlite.rs`).
//!
//! This crate is the single implementation behind both the embedded backend of the desktop app and
//! the remote server, so every rule lives here once. It never imports Tauri or HTTP, and the rules
//! never see a runtime: the one asynchronous thing, looking DNS records up for domain proof, is
//! `dns::Resolver`'s own thread behind the blocking `dns::TxtLookup`. Time is always passed in
//! (`now`), never read inside a rule.
#![forbid(unsafe_code)]

pub mod dns;
pub mod domain;
mod error;
pub mod mail;
mod model;
mod programme;
mod secret;
pub mod store;
mod tokens;

pub use error::{Error, ErrorKind};
pub use mail::{Mail, MailError, Mailbox, Mailer};
pub use model::*;
pub use programme::{
    Caller, Config, DueWork, ImportedOrganisation, MailRun, PendingSettings, Programme,
    ProofSettings, SessionTokens, ACCEPTED_MESSAGE, CURSOR_PATTERN, LOOKUP_MAX_CHARS,
    MAIL_ATTEMPTS, MAX_BULK_DECISIONS, MAX_DELEGATION_DAYS, MAX_INVITATIONS, PENDING_MESSAGE,
};
pub use secret::Secret;
pub use store::sqlite::SqliteStore;
pub use time::OffsetDateTime as Timestamp;

// Demo organisations and accounts for a new embedded backend and for tests.
pub mod seed;
