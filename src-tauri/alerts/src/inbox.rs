//! The inbox: every notice for an account on a backend, in its own SQLite file, with the follow
//! cursor beside it. A notice and the cursor move in one transaction, and a notice is keyed by
//! its event id, so after a reconnect or a restart the follow resumes exactly where the inbox
//! ends: nothing twice, nothing missed.
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use membership::{Error, ErrorKind, Timestamp};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use crate::{Action, Notice, Target};

/// Whose inbox: one account on one backend (the server's address, or the embedded database's
/// path). The same account id on two backends is two people.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Scope {
    pub backend: String,
    pub account_id: String,
}

/// A notice as the inbox keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub notice: Notice,
    pub read: bool,
    /// Still waits for the person's decision (counted on the tray).
    pub pending: bool,
    /// Whether an OS notification was shown for it.
    pub notified: bool,
    /// What became of it, in a sentence (`"The request from Ada Lovelace was accepted. …"`).
    pub outcome: Option<String>,
}

/// The counts the tray and the inbox badge show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Badge {
    pub unread: u32,
    pub pending: u32,
}

/// Append-only migrations, tracked in `PRAGMA user_version`.
const MIGRATIONS: &[&str] = &[
    "
CREATE TABLE cursors (
    backend TEXT NOT NULL,
    account_id TEXT NOT NULL,
    last_event_id INTEGER NOT NULL,
    PRIMARY KEY (backend, account_id)
) STRICT;
CREATE TABLE notices (
    backend TEXT NOT NULL,
    account_id TEXT NOT NULL,
    event_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    actions TEXT NOT NULL,
    target TEXT NOT NULL,
    stale INTEGER NOT NULL,
    read INTEGER NOT NULL DEFAULT 0,
    pending INTEGER NOT NULL,
    notified INTEGER NOT NULL DEFAULT 0,
    outcome TEXT,
    PRIMARY KEY (backend, account_id, event_id)
) STRICT;
CREATE INDEX notices_unread ON notices (backend, account_id) WHERE read = 0;
CREATE INDEX notices_pending ON notices (backend, account_id) WHERE pending = 1;
",
    "
ALTER TABLE notices ADD COLUMN headline TEXT NOT NULL DEFAULT '';
",
];

/// The inbox file. Cheap to share behind an `Arc`; every call takes the one connection briefly.
pub struct Inbox {
    conn: Mutex<Connection>,
    path: PathBuf,
}

fn unavailable(path: &Path) -> Error {
    Error::new(
        ErrorKind::Internal,
        "inbox_unavailable",
        format!(
            "Partner Desk could not read or write its notification inbox ({}). Check that the disk has space and that you may write there, then restart the app.",
            path.display()
        ),
    )
}

impl Inbox {
    /// Opens (creating and migrating) the inbox file at `path`.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let fail = |_| unavailable(path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|_| unavailable(path))?;
        }
        let mut conn = Connection::open(path).map_err(fail)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(fail)?;
        // WAL + FULL: a notice and its cursor, once committed, survive a crash or power cut.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA trusted_schema = OFF;",
        )
        .map_err(fail)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        let done: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(fail)?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(done.max(0) as usize) {
            tx.execute_batch(sql).map_err(fail)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)
                .map_err(fail)?;
        }
        tx.commit().map_err(fail)?;
        Ok(Self {
            conn: Mutex::new(conn),
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn fail(&self) -> impl Fn(rusqlite::Error) -> Error + '_ {
        move |e| {
            tracing::warn!(error = ?e.to_string(), "inbox operation failed");
            unavailable(&self.path)
        }
    }

    /// The id of the last event taken in for `scope`: the follow resumes after it.
    pub fn cursor(&self, scope: &Scope) -> Result<Option<i64>, Error> {
        self.conn()
            .query_row(
                "SELECT last_event_id FROM cursors WHERE backend = ?1 AND account_id = ?2",
                params![scope.backend, scope.account_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.fail())
    }

    /// Whether the event `id` is in the inbox already.
    pub fn contains(&self, scope: &Scope, id: i64) -> Result<bool, Error> {
        self.conn()
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM notices WHERE backend = ?1 AND account_id = ?2 AND event_id = ?3)",
                params![scope.backend, scope.account_id, id],
                |r| r.get(0),
            )
            .map_err(self.fail())
    }

    /// Takes in event `event_id`: its notice (if it has one) and the cursor, in one transaction.
    /// A notice already there is left as it is. `read` files it as read (a stale notice). True
    /// when the notice is new, i.e. the person has not been told yet.
    pub fn take_in(
        &self,
        scope: &Scope,
        event_id: i64,
        notice: Option<&Notice>,
        read: bool,
    ) -> Result<bool, Error> {
        let fail = self.fail();
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&fail)?;
        let added = match notice {
            Some(n) => tx
                .execute(
                    "INSERT INTO notices (backend, account_id, event_id, kind, at, title, body, actions, target, stale, read, pending, headline)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
                     ON CONFLICT DO NOTHING",
                    params![
                        scope.backend,
                        scope.account_id,
                        event_id,
                        n.kind,
                        rfc3339(n.at),
                        n.title,
                        n.body,
                        serde_json::to_string(&n.actions).unwrap_or_else(|_| "[]".into()),
                        serde_json::to_string(&n.target).unwrap_or_else(|_| "null".into()),
                        n.stale,
                        read,
                        n.pending() && !n.stale,
                        n.headline,
                    ],
                )
                .map_err(&fail)?
                == 1,
            None => false,
        };
        // The cursor only moves forward: an old event seen again never rewinds it.
        tx.execute(
            "INSERT INTO cursors (backend, account_id, last_event_id) VALUES (?1, ?2, ?3)
             ON CONFLICT (backend, account_id) DO UPDATE SET last_event_id = max(last_event_id, excluded.last_event_id)",
            params![scope.backend, scope.account_id, event_id],
        )
        .map_err(&fail)?;
        tx.commit().map_err(&fail)?;
        Ok(added)
    }

    /// Records that an OS notification was shown for `id`.
    pub fn mark_notified(&self, scope: &Scope, id: i64) -> Result<(), Error> {
        self.update(
            scope,
            id,
            "UPDATE notices SET notified = 1 WHERE backend = ?1 AND account_id = ?2 AND event_id = ?3",
        )
    }

    pub fn mark_read(&self, scope: &Scope, id: i64) -> Result<(), Error> {
        self.update(
            scope,
            id,
            "UPDATE notices SET read = 1 WHERE backend = ?1 AND account_id = ?2 AND event_id = ?3",
        )
    }

    pub fn mark_all_read(&self, scope: &Scope) -> Result<(), Error> {
        self.conn()
            .execute(
                "UPDATE notices SET read = 1 WHERE backend = ?1 AND account_id = ?2 AND read = 0",
                params![scope.backend, scope.account_id],
            )
            .map(drop)
            .map_err(self.fail())
    }

    /// `id` no longer waits for a decision: read, not pending, with what became of it.
    pub fn settle(&self, scope: &Scope, id: i64, outcome: &str) -> Result<(), Error> {
        self.conn()
            .execute(
                "UPDATE notices SET pending = 0, read = 1, outcome = ?4
                 WHERE backend = ?1 AND account_id = ?2 AND event_id = ?3",
                params![scope.backend, scope.account_id, id, outcome],
            )
            .map(drop)
            .map_err(self.fail())
    }

    fn update(&self, scope: &Scope, id: i64, sql: &str) -> Result<(), Error> {
        self.conn()
            .execute(sql, params![scope.backend, scope.account_id, id])
            .map(drop)
            .map_err(self.fail())
    }

    pub fn badge(&self, scope: &Scope) -> Result<Badge, Error> {
        self.conn()
            .query_row(
                "SELECT coalesce(sum(read = 0), 0), coalesce(sum(pending = 1), 0) FROM notices
                 WHERE backend = ?1 AND account_id = ?2",
                params![scope.backend, scope.account_id],
                |r| {
                    Ok(Badge {
                        unread: r.get::<_, i64>(0)? as u32,
                        pending: r.get::<_, i64>(1)? as u32,
                    })
                },
            )
            .map_err(self.fail())
    }

    /// One notice.
    pub fn entry(&self, scope: &Scope, id: i64) -> Result<Option<Entry>, Error> {
        Ok(self
            .select(scope, "AND event_id = ?3", Some(id), 1)?
            .into_iter()
            .next())
    }

    /// The newest `limit` notices, newest first.
    pub fn entries(&self, scope: &Scope, limit: u32) -> Result<Vec<Entry>, Error> {
        self.select(scope, "", None, limit)
    }

    /// The notices still waiting for a decision, newest first.
    pub fn pending(&self, scope: &Scope) -> Result<Vec<Entry>, Error> {
        self.select(scope, "AND pending = 1", None, u32::MAX)
    }

    fn select(
        &self,
        scope: &Scope,
        filter: &str,
        id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Entry>, Error> {
        let conn = self.conn();
        let sql = format!(
            "SELECT event_id, kind, at, title, body, actions, target, stale, read, pending, notified, outcome, headline
             FROM notices WHERE backend = ?1 AND account_id = ?2 {filter}
             ORDER BY event_id DESC LIMIT {}",
            i64::from(limit)
        );
        let mut stmt = conn.prepare_cached(&sql).map_err(self.fail())?;
        let row = |r: &rusqlite::Row<'_>| -> rusqlite::Result<Option<Entry>> {
            let at: String = r.get(2)?;
            let actions: String = r.get(5)?;
            let target: String = r.get(6)?;
            // A row this version cannot read (written by a newer one) is left out, not fatal.
            let (Ok(at), Ok(actions), Ok(target)) = (
                Timestamp::parse(&at, &time::format_description::well_known::Rfc3339),
                serde_json::from_str::<Vec<Action>>(&actions),
                serde_json::from_str::<Target>(&target),
            ) else {
                return Ok(None);
            };
            Ok(Some(Entry {
                notice: Notice {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    at,
                    headline: r.get(12)?,
                    title: r.get(3)?,
                    body: r.get(4)?,
                    actions,
                    target,
                    stale: r.get(7)?,
                },
                read: r.get(8)?,
                pending: r.get(9)?,
                notified: r.get(10)?,
                outcome: r.get(11)?,
            }))
        };
        let rows = match id {
            Some(id) => stmt.query_map(params![scope.backend, scope.account_id, id], row),
            None => stmt.query_map(params![scope.backend, scope.account_id], row),
        }
        .map_err(self.fail())?;
        let mut out = Vec::new();
        for r in rows {
            if let Some(entry) = r.map_err(self.fail())? {
                out.push(entry);
            }
        }
        Ok(out)
    }
}

fn rfc3339(t: Timestamp) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(account: &str) -> Scope {
        Scope {
            backend: "http://127.0.0.1:1".into(),
            account_id: account.into(),
        }
    }

    fn notice(id: i64, pending: bool) -> Notice {
        Notice {
            id,
            kind: "association_request.created".into(),
            at: Timestamp::UNIX_EPOCH + time::Duration::seconds(id),
            headline: "New request to associate".into(),
            title: format!("Request {id}"),
            body: "b".into(),
            actions: if pending {
                vec![Action::Approve, Action::Deny, Action::Open]
            } else {
                vec![Action::Open]
            },
            target: Target::AssociationRequest {
                organisation_id: "o".into(),
                request_id: format!("r{id}"),
            },
            stale: false,
        }
    }

    #[test]
    fn a_notice_taken_in_twice_is_kept_once_and_the_cursor_never_goes_back() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = Inbox::open(&dir.path().join("inbox.sqlite3")).unwrap();
        let s = scope("a");
        assert_eq!(inbox.cursor(&s).unwrap(), None);
        assert!(inbox.take_in(&s, 5, Some(&notice(5, true)), false).unwrap());
        assert!(!inbox.take_in(&s, 5, Some(&notice(5, true)), false).unwrap());
        assert!(inbox.take_in(&s, 9, None, false).is_ok());
        assert!(inbox
            .take_in(&s, 7, Some(&notice(7, false)), false)
            .unwrap());
        assert_eq!(inbox.cursor(&s).unwrap(), Some(9), "never rewound by 7");
        let all = inbox.entries(&s, 10).unwrap();
        assert_eq!(
            all.iter().map(|e| e.notice.id).collect::<Vec<_>>(),
            [7, 5],
            "newest first, no duplicate"
        );
        assert_eq!(all[1].notice, notice(5, true), "kept as taken in");
        assert_eq!(
            inbox.badge(&s).unwrap(),
            Badge {
                unread: 2,
                pending: 1
            }
        );
    }

    #[test]
    fn accounts_and_backends_have_inboxes_of_their_own() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = Inbox::open(&dir.path().join("inbox.sqlite3")).unwrap();
        let (a, b) = (scope("a"), scope("b"));
        let other_backend = Scope {
            backend: "/data/membership.sqlite3".into(),
            ..scope("a")
        };
        inbox.take_in(&a, 1, Some(&notice(1, true)), false).unwrap();
        assert!(inbox.take_in(&b, 1, Some(&notice(1, true)), false).unwrap());
        inbox.take_in(&b, 3, None, false).unwrap();
        assert_eq!(inbox.cursor(&a).unwrap(), Some(1));
        assert_eq!(inbox.cursor(&b).unwrap(), Some(3));
        assert_eq!(inbox.cursor(&other_backend).unwrap(), None);
        inbox.mark_all_read(&a).unwrap();
        assert_eq!(inbox.badge(&a).unwrap().unread, 0);
        assert_eq!(inbox.badge(&b).unwrap().unread, 1);
    }

    #[test]
    fn reading_settling_and_reopening_keep_the_counts_right() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inbox.sqlite3");
        let s = scope("a");
        {
            let inbox = Inbox::open(&path).unwrap();
            inbox.take_in(&s, 1, Some(&notice(1, true)), false).unwrap();
            inbox.take_in(&s, 2, Some(&notice(2, true)), false).unwrap();
            inbox.take_in(&s, 3, Some(&notice(3, false)), true).unwrap();
            inbox.mark_read(&s, 2).unwrap();
            inbox.mark_notified(&s, 1).unwrap();
            assert_eq!(
                inbox.badge(&s).unwrap(),
                Badge {
                    unread: 1,
                    pending: 2
                }
            );
            inbox
                .settle(&s, 1, "The request from Ada Lovelace was accepted.")
                .unwrap();
        }
        let inbox = Inbox::open(&path).unwrap();
        assert_eq!(
            inbox.badge(&s).unwrap(),
            Badge {
                unread: 0,
                pending: 1
            }
        );
        let one = inbox.entry(&s, 1).unwrap().unwrap();
        assert!(one.read && !one.pending && one.notified);
        assert_eq!(
            one.outcome.as_deref(),
            Some("The request from Ada Lovelace was accepted.")
        );
        assert_eq!(
            inbox
                .pending(&s)
                .unwrap()
                .iter()
                .map(|e| e.notice.id)
                .collect::<Vec<_>>(),
            [2]
        );
        assert_eq!(inbox.entry(&s, 99).unwrap(), None);
        assert_eq!(inbox.cursor(&s).unwrap(), Some(3));
    }

    #[test]
    fn the_inbox_file_uses_wal_and_full_sync() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = Inbox::open(&dir.path().join("inbox.sqlite3")).unwrap();
        let conn = inbox.conn();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        let sync: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!((mode.as_str(), sync), ("wal", 2));
    }
}
