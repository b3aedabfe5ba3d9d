//! Outgoing mail. The service composes it; a [`Mailer`] delivers it. The embedded backend keeps
//! mail in a [`Mailbox`] table the app shows; the server plugs SMTP in.
use std::sync::Mutex;

use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};

use crate::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mail {
    /// Always the stored canonical address.
    pub to: String,
    pub subject: String,
    pub body: String,
    /// The `partnerdesk://` link in the mail, if any, so the app can offer to open it.
    pub link: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("the mail to {to} could not be sent: {reason}")]
pub struct MailError {
    pub to: String,
    pub reason: String,
}

/// Delivers mail. Called after the change that caused the mail has been committed.
pub trait Mailer: Send + Sync {
    fn send(&self, mail: &Mail) -> Result<(), MailError>;

    /// Sends `mail` under `key`, the same on every attempt at one mail of the outbox, so a
    /// receiver can tell a repeat (SMTP sets it as the Message-ID). By default just [`send`].
    ///
    /// [`send`]: Mailer::send
    fn send_as(&self, key: &str, mail: &Mail) -> Result<(), MailError> {
        let _ = key;
        self.send(mail)
    }
}

/// A mail kept in the embedded mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMail {
    pub mail_id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub sent_at: Timestamp,
    #[serde(flatten)]
    pub mail: Mail,
}

/// The embedded backend's mailbox: every mail is kept in a SQLite table so the app can show it.
pub struct Mailbox {
    conn: Mutex<Connection>,
}

impl Mailbox {
    /// Opens (and creates) the mailbox table in the database at `path`.
    pub fn open(path: &std::path::Path) -> Result<Self, crate::Error> {
        let conn = crate::store::sqlite::connect(path)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS mailbox(
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                sent_at INTEGER NOT NULL,
                to_addr TEXT NOT NULL,
                subject TEXT NOT NULL,
                body TEXT NOT NULL,
                link TEXT);
             CREATE INDEX IF NOT EXISTS mailbox_to ON mailbox(to_addr, id);",
        )?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// Mail sent to any of `addresses`, newest first.
    pub fn list_for(&self, addresses: &[String]) -> Result<Vec<StoredMail>, crate::Error> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let mut stmt = conn.prepare_cached(
            "SELECT id, sent_at, to_addr, subject, body, link FROM mailbox
             WHERE to_addr IN (SELECT value FROM json_each(?1)) ORDER BY id DESC LIMIT 200",
        )?;
        let json = serde_json::to_string(addresses).map_err(crate::Error::internal)?;
        let rows = stmt.query_map([json], |r| {
            Ok(StoredMail {
                mail_id: r.get(0)?,
                sent_at: crate::store::sqlite::from_unix(r.get(1)?),
                mail: Mail {
                    to: r.get(2)?,
                    subject: r.get(3)?,
                    body: r.get(4)?,
                    link: r.get(5)?,
                },
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl Mailer for Mailbox {
    fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        conn.execute(
            "INSERT INTO mailbox(sent_at, to_addr, subject, body, link) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![now, mail.to, mail.subject, mail.body, mail.link],
        )
        .map(|_| ())
        .map_err(|e| MailError { to: mail.to.clone(), reason: e.to_string() })
    }
}
