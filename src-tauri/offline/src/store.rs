//! The app's own SQLite file: cached memberships and profiles, the outbox of profile edits, the
//! conflicts waiting for the person, and a short log of what was synced.
//!
//! Each scope (a backend and an account on it) has its own rows, so switching servers or
//! accounts never mixes them. Every change is one `BEGIN IMMEDIATE` transaction: an edit and its
//! outbox row are written together or not at all, and an acknowledgement removes the row, logs it
//! and moves the cached profile on together.
//!
//! **Two edits of one field while offline:** each save is its own outbox row. The rows of one
//! profile queued on the same revision go as one request (a batch, see
//! [`LocalStore::batch_from`]) whose values are theirs laid over one another oldest first, so the
//! latest value wins; the log of synced edits still lists every save. A save that changes
//! nothing makes no row.
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use membership::{MembershipSummary, Profile, Timestamp};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde::Serialize;

use crate::fields::{Field, ProfileEdit};
use crate::merge::{merge_edit, FieldConflict};
use crate::Error;

/// Whose data: a backend (an id the shell chooses, such as `embedded` or the server's URL) and an
/// account on it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Scope {
    pub backend: String,
    pub account: String,
}

impl Scope {
    pub fn new(backend: impl Into<String>, account: impl Into<String>) -> Self {
        Self {
            backend: backend.into(),
            account: account.into(),
        }
    }
}

/// An outbox row's id; oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct EditId(pub i64);

/// Where an unsynced edit stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EditState {
    /// Waiting to be sent.
    Pending,
    /// The server's profile changed the same field differently: waiting for the person.
    Conflict,
    /// The membership ended or is no longer the person's: kept so they can copy their text.
    Orphaned,
    /// The server refused the value: kept with its reason so they can copy or fix it.
    Rejected,
}

impl EditState {
    fn as_str(self) -> &'static str {
        match self {
            EditState::Pending => "pending",
            EditState::Conflict => "conflict",
            EditState::Orphaned => "orphaned",
            EditState::Rejected => "rejected",
        }
    }

    fn parse(s: &str) -> Result<Self, Error> {
        Ok(match s {
            "pending" => EditState::Pending,
            "conflict" => EditState::Conflict,
            "orphaned" => EditState::Orphaned,
            "rejected" => EditState::Rejected,
            _ => return Err(Error::Damaged { what: "edit state" }),
        })
    }
}

/// An unsynced edit as the person sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueuedEdit {
    pub id: EditId,
    pub membership_id: String,
    pub edit: ProfileEdit,
    /// The key it is sent under (changes when a merge changes the request).
    pub idempotency_key: String,
    /// The server revision it is based on.
    pub base_revision: u64,
    #[serde(with = "unix_seconds")]
    pub created_at: Timestamp,
    pub state: EditState,
    /// Why it is orphaned or rejected, for people.
    pub message: Option<String>,
    /// The edit as text to copy ("Job title: Engineer", one field a line).
    pub text: String,
}

/// An edit with fields changed on both sides, for the side-by-side resolver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub edit: EditId,
    pub membership_id: String,
    /// The server's revision the remote values are from.
    pub remote_revision: u64,
    pub fields: Vec<FieldConflict>,
}

/// The person's decision for one conflicting field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "keep", content = "value")]
pub enum Choice {
    /// This computer's value.
    Local,
    /// The server's value.
    Remote,
    /// A value the person typed instead.
    Value(String),
}

/// A profile as this computer shows it: the server's last confirmed profile with every unsynced
/// edit applied in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LocalProfile {
    pub membership_id: String,
    pub profile: Profile,
    /// The revision the server last confirmed.
    pub confirmed_revision: u64,
    /// Edits of this profile not yet on the server, in any state.
    pub unsynced: usize,
}

/// Unsynced edits of a scope by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub pending: usize,
    pub conflicts: usize,
    pub orphaned: usize,
    pub rejected: usize,
}

impl Counts {
    /// Every edit not on the server yet, whatever its state.
    pub fn unsynced(&self) -> usize {
        self.pending + self.conflicts + self.orphaned + self.rejected
    }
}

/// How an edit left the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncedOutcome {
    /// The server applied it (at `revision`).
    Applied,
    /// The server already had every value of it (an earlier send whose answer was lost, or the
    /// same change made elsewhere): nothing was sent again.
    AlreadyThere,
    /// The person discarded it, or kept the server's values in every conflict.
    Discarded,
}

/// One entry of the log of edits that left the outbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncedEdit {
    pub membership_id: String,
    pub idempotency_key: String,
    pub edit: ProfileEdit,
    pub outcome: SyncedOutcome,
    /// The server revision the edit made, for [`SyncedOutcome::Applied`].
    pub revision: Option<u64>,
    #[serde(with = "unix_seconds")]
    pub synced_at: Timestamp,
}

/// An outbox row as the sync engine needs it.
#[derive(Debug, Clone)]
pub(crate) struct OutboxRow {
    pub seq: i64,
    pub membership_id: String,
    pub key: String,
    pub base_revision: u64,
    pub base: ProfileEdit,
    pub patch: ProfileEdit,
}

/// The edits of one profile that go as one request: consecutive pending rows of one membership,
/// all based on the same revision, their patches laid over one another in order. One row alone
/// goes under its own key; several go under the batch key written on each of them before the
/// request leaves, so a resend after a crash is the same request under the same key.
#[derive(Debug, Clone)]
pub(crate) struct Batch {
    pub rows: Vec<OutboxRow>,
    pub key: String,
    pub membership_id: String,
    pub base_revision: u64,
    /// Each field's value before the first of the rows changed it.
    pub base: ProfileEdit,
    /// Each field's value after the last of the rows changed it.
    pub patch: ProfileEdit,
}

impl Batch {
    fn of(rows: Vec<OutboxRow>, key: String) -> Self {
        let head = &rows[0];
        let (membership_id, base_revision) = (head.membership_id.clone(), head.base_revision);
        let mut base = ProfileEdit::new();
        let mut patch = ProfileEdit::new();
        for row in &rows {
            for (field, value) in row.patch.iter() {
                if base.get(field).is_none() {
                    if let Some(before) = row.base.get(field) {
                        base.insert_checked(field, before.to_owned());
                    }
                }
                patch.insert_checked(field, value.to_owned());
            }
        }
        Self {
            rows,
            key,
            membership_id,
            base_revision,
            base,
            patch,
        }
    }

    pub fn head(&self) -> &OutboxRow {
        &self.rows[0]
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// The row the batch ends with.
    pub fn last_seq(&self) -> i64 {
        self.rows[self.rows.len() - 1].seq
    }
}

/// What a merge onto the server's profile did to an outbox row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rebased {
    /// The server had it all: the row left the outbox.
    Dropped,
    /// Ready to send on the new revision, under a new key.
    Ready,
    /// Waiting for the person.
    Parked,
}

/// The schema, one entry per version (`PRAGMA user_version`); append only.
const MIGRATIONS: &[&str] = &[
    r"
CREATE TABLE memberships(
    backend TEXT NOT NULL,
    account TEXT NOT NULL,
    membership_id TEXT NOT NULL,
    summary TEXT NOT NULL,
    fetched_at INTEGER NOT NULL,
    PRIMARY KEY (backend, account, membership_id)
) STRICT, WITHOUT ROWID;

-- The profile as the server last confirmed it: the base of every merge.
CREATE TABLE profiles(
    backend TEXT NOT NULL,
    account TEXT NOT NULL,
    membership_id TEXT NOT NULL,
    confirmed TEXT NOT NULL,
    revision INTEGER NOT NULL,
    fetched_at INTEGER NOT NULL,
    PRIMARY KEY (backend, account, membership_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE outbox(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    backend TEXT NOT NULL,
    account TEXT NOT NULL,
    membership_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    base_revision INTEGER NOT NULL,
    -- The values the edited fields had when the person made the edit (JSON, like patch).
    base TEXT NOT NULL,
    patch TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'conflict', 'orphaned', 'rejected')),
    message TEXT,
    FOREIGN KEY (backend, account, membership_id)
        REFERENCES profiles(backend, account, membership_id)
) STRICT;
CREATE INDEX outbox_by_membership ON outbox(backend, account, membership_id, seq);
-- The next edit to send is found in this order, without sorting the whole outbox.
CREATE INDEX outbox_by_state ON outbox(backend, account, state, seq);

CREATE TABLE conflicts(
    seq INTEGER NOT NULL REFERENCES outbox(seq) ON DELETE CASCADE,
    field TEXT NOT NULL,
    base TEXT NOT NULL,
    local TEXT NOT NULL,
    remote TEXT NOT NULL,
    remote_revision INTEGER NOT NULL,
    PRIMARY KEY (seq, field)
) STRICT, WITHOUT ROWID;

CREATE TABLE synced(
    id INTEGER PRIMARY KEY,
    backend TEXT NOT NULL,
    account TEXT NOT NULL,
    membership_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    patch TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('applied', 'already_there', 'discarded')),
    revision INTEGER,
    synced_at INTEGER NOT NULL
) STRICT;
CREATE INDEX synced_by_membership ON synced(backend, account, membership_id, id);

CREATE TABLE modes(
    backend TEXT NOT NULL,
    account TEXT NOT NULL,
    work_offline INTEGER NOT NULL,
    PRIMARY KEY (backend, account)
) STRICT, WITHOUT ROWID;
",
    r"
-- The key of the one request a row is being sent in with the other edits of its profile queued
-- on the same revision (see `LocalStore::batch_from`); NULL while it has not been put in one.
ALTER TABLE outbox ADD COLUMN batch TEXT;
CREATE INDEX outbox_by_batch ON outbox(batch) WHERE batch IS NOT NULL;
",
];

/// At most this many edits of one profile go in one request (see `SyncEngine::with_batch_limit`).
pub(crate) const MAX_BATCH: usize = 1_000;

/// How long the log of synced edits is kept.
const KEEP_SYNCED_SECS: i64 = 30 * 24 * 3600;

/// The app's local store. One connection behind a mutex: every operation is short, and the
/// network is never called while it is held.
pub struct LocalStore {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl std::fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalStore")
            .field("path", &self.path)
            .finish()
    }
}

impl LocalStore {
    /// Opens (creating and migrating) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        // WAL plus FULL: a commit that returned survives a crash or a pulled plug.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrate(&mut conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic elsewhere while holding the lock leaves SQLite consistent (the transaction
        // rolled back when dropped), so the connection stays usable.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, Error>) -> Result<T, Error> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// `PRAGMA integrity_check`: `"ok"` when the file is sound.
    pub fn integrity_check(&self) -> Result<String, Error> {
        Ok(self
            .conn()
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }

    /// Replaces the cached memberships of `scope` with `memberships` (from `GET /v1/me`).
    pub fn cache_memberships(
        &self,
        scope: &Scope,
        memberships: &[MembershipSummary],
        now: Timestamp,
    ) -> Result<(), Error> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM memberships WHERE backend = ?1 AND account = ?2",
                params![scope.backend, scope.account],
            )?;
            for m in memberships {
                tx.execute(
                    "INSERT INTO memberships(backend, account, membership_id, summary, fetched_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        scope.backend,
                        scope.account,
                        m.membership_id,
                        to_json(m)?,
                        now.unix_timestamp()
                    ],
                )?;
            }
            Ok(())
        })
    }

    /// The cached memberships of `scope`.
    pub fn memberships(&self, scope: &Scope) -> Result<Vec<MembershipSummary>, Error> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT summary FROM memberships WHERE backend = ?1 AND account = ?2 ORDER BY membership_id",
        )?;
        let rows = stmt
            .query_map(params![scope.backend, scope.account], |r| {
                r.get::<_, String>(0)
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.iter()
            .map(|s| from_json(s, "cached membership"))
            .collect()
    }

    /// Keeps `profile` as the server's confirmed profile, unless a newer one is kept already.
    /// Unsynced edits stay; the next sync merges them onto it.
    pub fn cache_profile(
        &self,
        scope: &Scope,
        membership: &str,
        profile: &Profile,
        now: Timestamp,
    ) -> Result<(), Error> {
        self.write(|tx| confirm(tx, scope, membership, profile, now))
    }

    /// The profile as this computer shows it, if it was ever cached.
    pub fn profile(&self, scope: &Scope, membership: &str) -> Result<Option<LocalProfile>, Error> {
        let conn = self.conn();
        local_profile(&conn, scope, membership)
    }

    /// Saves an edit of the individual profile locally: the changed fields become one outbox row,
    /// based on the revision the server last confirmed, in one transaction. Fields already at
    /// the shown value are left out; an edit that changes nothing saves nothing. Returns the
    /// profile as now shown.
    pub fn save_edit(
        &self,
        scope: &Scope,
        membership: &str,
        edit: &ProfileEdit,
        now: Timestamp,
    ) -> Result<LocalProfile, Error> {
        self.write(|tx| {
            let shown = local_profile(tx, scope, membership)?.ok_or(Error::NotCached)?;
            let ended: bool = tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM outbox WHERE backend = ?1 AND account = ?2
                   AND membership_id = ?3 AND state = 'orphaned')",
                params![scope.backend, scope.account, membership],
                |r| r.get(0),
            )?;
            if ended {
                return Err(Error::MembershipEnded);
            }
            let changes = edit.changes_to(&shown.profile);
            if changes.is_empty() {
                return Ok(shown);
            }
            let base = changes.values_in(&shown.profile);
            tx.execute(
                "INSERT INTO outbox(backend, account, membership_id, idempotency_key, base_revision,
                                    base, patch, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    scope.backend,
                    scope.account,
                    membership,
                    new_key(),
                    shown.confirmed_revision as i64,
                    to_json(&base)?,
                    to_json(&changes)?,
                    now.unix_timestamp()
                ],
            )?;
            local_profile(tx, scope, membership)?.ok_or(Error::NotCached)
        })
    }

    /// Unsynced edits of `scope` by state.
    pub fn counts(&self, scope: &Scope) -> Result<Counts, Error> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT state, count(*) FROM outbox WHERE backend = ?1 AND account = ?2 GROUP BY state",
        )?;
        let mut counts = Counts::default();
        let rows = stmt
            .query_map(params![scope.backend, scope.account], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as usize))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        for (state, n) in rows {
            match EditState::parse(&state)? {
                EditState::Pending => counts.pending = n,
                EditState::Conflict => counts.conflicts = n,
                EditState::Orphaned => counts.orphaned = n,
                EditState::Rejected => counts.rejected = n,
            }
        }
        Ok(counts)
    }

    /// Every unsynced edit of `scope`, oldest first.
    pub fn edits(&self, scope: &Scope) -> Result<Vec<QueuedEdit>, Error> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT seq, membership_id, patch, base_revision, created_at, state, message,
                    idempotency_key
             FROM outbox WHERE backend = ?1 AND account = ?2 ORDER BY seq",
        )?;
        type Row = (
            i64,
            String,
            String,
            i64,
            i64,
            String,
            Option<String>,
            String,
        );
        let rows = stmt
            .query_map(params![scope.backend, scope.account], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            })?
            .collect::<Result<Vec<Row>, _>>()?;
        rows.into_iter()
            .map(
                |(seq, membership_id, patch, base, created, state, message, key)| {
                    // A row that does not read back is still listed, with its raw text to copy.
                    let (edit, text) = match from_json::<ProfileEdit>(&patch, "edit") {
                        Ok(e) => {
                            let text = e.to_text();
                            (e, text)
                        }
                        Err(_) => (ProfileEdit::new(), patch),
                    };
                    Ok(QueuedEdit {
                        id: EditId(seq),
                        membership_id,
                        edit,
                        idempotency_key: key,
                        base_revision: base as u64,
                        created_at: from_unix(created),
                        state: EditState::parse(&state)?,
                        message,
                        text,
                    })
                },
            )
            .collect()
    }

    /// The edits of `scope` waiting for the person's decision, oldest first.
    pub fn conflicts(&self, scope: &Scope) -> Result<Vec<Conflict>, Error> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT o.seq, o.membership_id, c.field, c.base, c.local, c.remote, c.remote_revision
             FROM conflicts c JOIN outbox o ON o.seq = c.seq
             WHERE o.backend = ?1 AND o.account = ?2 ORDER BY o.seq, c.field",
        )?;
        type Row = (i64, String, String, String, String, String, i64);
        let rows = stmt
            .query_map(params![scope.backend, scope.account], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })?
            .collect::<Result<Vec<Row>, _>>()?;
        let mut out: Vec<Conflict> = Vec::new();
        for (seq, membership_id, field, base, local, remote, revision) in rows {
            let conflict = FieldConflict {
                field: parse_field(&field)?,
                base,
                local,
                remote,
            };
            match out.last_mut() {
                Some(c) if c.edit == EditId(seq) => c.fields.push(conflict),
                _ => out.push(Conflict {
                    edit: EditId(seq),
                    membership_id,
                    remote_revision: revision as u64,
                    fields: vec![conflict],
                }),
            }
        }
        Ok(out)
    }

    /// Settles a conflict: one [`Choice`] for every conflicting field of `edit`. The edit is then
    /// based on the server's revision it conflicted with and waits to be sent again (under a new
    /// key); if the person kept the server's value everywhere, it leaves the outbox.
    pub fn resolve(
        &self,
        scope: &Scope,
        edit: EditId,
        choices: &[(Field, Choice)],
        now: Timestamp,
    ) -> Result<Option<LocalProfile>, Error> {
        self.write(|tx| {
            let row = load_row(tx, scope, edit.0)?.ok_or(Error::EditNotFound)?;
            if row.1 != EditState::Conflict {
                return Err(Error::EditNotFound);
            }
            let mut row = row.0;
            let conflicting: Vec<(Field, String)> = {
                let mut stmt =
                    tx.prepare_cached("SELECT field, remote FROM conflicts WHERE seq = ?1")?;
                let rows = stmt
                    .query_map([edit.0], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                rows.into_iter()
                    .map(|(f, remote)| Ok((parse_field(&f)?, remote)))
                    .collect::<Result<_, Error>>()?
            };
            let missing: Vec<Field> = conflicting
                .iter()
                .map(|(f, _)| *f)
                .filter(|f| !choices.iter().any(|(c, _)| c == f))
                .collect();
            if !missing.is_empty() {
                return Err(Error::Unresolved { fields: missing });
            }
            for (field, remote) in &conflicting {
                let choice = choices
                    .iter()
                    .find(|(f, _)| f == field)
                    .map(|(_, c)| c)
                    .expect("checked above");
                let value = match choice {
                    Choice::Local => continue,
                    Choice::Remote => None,
                    Choice::Value(v) => Some(field.normalise(v)?),
                };
                match value {
                    Some(v) if v != *remote => row.patch.insert_checked(*field, v),
                    _ => row.patch.remove(*field),
                }
            }
            tx.execute("DELETE FROM conflicts WHERE seq = ?1", [edit.0])?;
            if row.patch.is_empty() {
                leave_outbox(
                    tx,
                    scope,
                    &row,
                    &row.key,
                    SyncedOutcome::Discarded,
                    None,
                    now,
                )?;
            } else {
                tx.execute(
                    "UPDATE outbox SET state = 'pending', message = NULL, patch = ?2,
                            idempotency_key = ?3 WHERE seq = ?1",
                    params![edit.0, to_json(&row.patch)?, new_key()],
                )?;
            }
            local_profile(tx, scope, &row.membership_id)
        })
    }

    /// Removes an orphaned, rejected or conflicting edit at the person's request (after they
    /// copied what they need). A pending edit cannot be discarded: it may be on its way.
    pub fn discard(&self, scope: &Scope, edit: EditId, now: Timestamp) -> Result<(), Error> {
        self.write(|tx| {
            let state: Option<String> = tx
                .query_row(
                    "SELECT state FROM outbox WHERE seq = ?1 AND backend = ?2 AND account = ?3",
                    params![edit.0, scope.backend, scope.account],
                    |r| r.get(0),
                )
                .optional()?;
            match state.as_deref().map(EditState::parse).transpose()? {
                None => Err(Error::EditNotFound),
                Some(EditState::Pending) => Err(Error::StillPending),
                Some(_) => match load_row(tx, scope, edit.0) {
                    Ok(Some((row, _))) => leave_outbox(
                        tx,
                        scope,
                        &row,
                        &row.key,
                        SyncedOutcome::Discarded,
                        None,
                        now,
                    ),
                    // A damaged row has nothing to log; the person saw its raw text.
                    _ => {
                        tx.execute("DELETE FROM outbox WHERE seq = ?1", [edit.0])?;
                        Ok(())
                    }
                },
            }
        })
    }

    /// Puts an orphaned or rejected edit back in line (the membership was restored, or the server
    /// address was wrong), under a new key: the server keeps its refusal under the old one.
    pub fn requeue(&self, scope: &Scope, edit: EditId) -> Result<(), Error> {
        self.write(|tx| {
            let changed = tx.execute(
                "UPDATE outbox SET state = 'pending', message = NULL, idempotency_key = ?4
                 WHERE seq = ?1 AND backend = ?2 AND account = ?3 AND state IN ('orphaned', 'rejected')",
                params![edit.0, scope.backend, scope.account, new_key()],
            )?;
            if changed == 1 {
                Ok(())
            } else {
                Err(Error::EditNotFound)
            }
        })
    }

    /// The log of edits of one membership that left the outbox, oldest first (kept 30 days).
    pub fn synced(&self, scope: &Scope, membership: &str) -> Result<Vec<SyncedEdit>, Error> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT membership_id, idempotency_key, patch, outcome, revision, synced_at FROM synced
             WHERE backend = ?1 AND account = ?2 AND membership_id = ?3 ORDER BY id",
        )?;
        type Row = (String, String, String, String, Option<i64>, i64);
        let rows = stmt
            .query_map(params![scope.backend, scope.account, membership], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?
            .collect::<Result<Vec<Row>, _>>()?;
        rows.into_iter()
            .map(|(membership_id, key, patch, outcome, revision, at)| {
                Ok(SyncedEdit {
                    membership_id,
                    idempotency_key: key,
                    edit: from_json(&patch, "synced edit")?,
                    outcome: match outcome.as_str() {
                        "applied" => SyncedOutcome::Applied,
                        "already_there" => SyncedOutcome::AlreadyThere,
                        "discarded" => SyncedOutcome::Discarded,
                        _ => return Err(Error::Damaged { what: "sync log" }),
                    },
                    revision: revision.map(|r| r as u64),
                    synced_at: from_unix(at),
                })
            })
            .collect()
    }

    /// Whether the person chose *Work offline* for `scope`.
    pub fn work_offline(&self, scope: &Scope) -> Result<bool, Error> {
        Ok(self
            .conn()
            .query_row(
                "SELECT work_offline FROM modes WHERE backend = ?1 AND account = ?2",
                params![scope.backend, scope.account],
                |r| r.get::<_, bool>(0),
            )
            .optional()?
            .unwrap_or(false))
    }

    pub fn set_work_offline(&self, scope: &Scope, offline: bool) -> Result<(), Error> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO modes(backend, account, work_offline) VALUES (?1, ?2, ?3)
                 ON CONFLICT (backend, account) DO UPDATE SET work_offline = excluded.work_offline",
                params![scope.backend, scope.account, offline],
            )?;
            Ok(())
        })
    }

    // ---- for the sync engine ----

    /// The oldest pending edit that may go now: not behind an edit of the same membership that
    /// waits for the person (order matters within one profile). A row that does not read back
    /// is set aside as rejected, with a message, and the next one is taken.
    pub(crate) fn next_pending(&self, scope: &Scope) -> Result<Option<OutboxRow>, Error> {
        loop {
            let found = self.write(|tx| {
                let seq: Option<i64> = tx
                    .query_row(
                        "SELECT o.seq FROM outbox o
                         WHERE o.backend = ?1 AND o.account = ?2 AND o.state = 'pending'
                           AND NOT EXISTS (SELECT 1 FROM outbox p
                               WHERE p.backend = o.backend AND p.account = o.account
                                 AND p.membership_id = o.membership_id AND p.seq < o.seq
                                 AND p.state IN ('conflict', 'orphaned'))
                         ORDER BY o.seq LIMIT 1",
                        params![scope.backend, scope.account],
                        |r| r.get(0),
                    )
                    .optional()?;
                let Some(seq) = seq else {
                    return Ok(None);
                };
                match load_row(tx, scope, seq) {
                    Ok(Some((row, _))) => Ok(Some(Some(row))),
                    Ok(None) => Ok(None),
                    Err(Error::Damaged { .. }) => {
                        tx.execute(
                            "UPDATE outbox SET state = 'rejected', message = ?2 WHERE seq = ?1",
                            params![seq, DAMAGED_ROW],
                        )?;
                        Ok(Some(None))
                    }
                    Err(e) => Err(e),
                }
            })?;
            match found {
                None => return Ok(None),
                Some(Some(row)) => return Ok(Some(row)),
                Some(None) => continue,
            }
        }
    }

    /// How many pending edits may go now (see [`LocalStore::next_pending`]).
    pub(crate) fn sendable(&self, scope: &Scope) -> Result<usize, Error> {
        Ok(self.conn().query_row(
            "SELECT count(*) FROM outbox o
             WHERE o.backend = ?1 AND o.account = ?2 AND o.state = 'pending'
               AND NOT EXISTS (SELECT 1 FROM outbox p
                   WHERE p.backend = o.backend AND p.account = o.account
                     AND p.membership_id = o.membership_id AND p.seq < o.seq
                     AND p.state IN ('conflict', 'orphaned'))",
            params![scope.backend, scope.account],
            |r| r.get::<_, i64>(0),
        )? as usize)
    }

    /// The confirmed profile of a membership.
    pub(crate) fn confirmed(&self, scope: &Scope, membership: &str) -> Result<Profile, Error> {
        confirmed(&self.conn(), scope, membership)?.ok_or(Error::NotCached)
    }

    /// The server applied `row` and answered `profile`: the row leaves the outbox, is logged, the
    /// confirmed profile moves on, and the membership's next edit is merged onto it, all in one
    /// transaction (so the key it will be sent under is on disk before it is sent).
    pub(crate) fn acknowledge(
        &self,
        scope: &Scope,
        batch: &Batch,
        profile: &Profile,
        now: Timestamp,
    ) -> Result<(), Error> {
        self.write(|tx| {
            let mut left = 0;
            for row in &batch.rows {
                let present: bool = tx
                    .prepare_cached("SELECT EXISTS(SELECT 1 FROM outbox WHERE seq = ?1)")?
                    .query_row([row.seq], |r| r.get(0))?;
                if present {
                    // Logged under the key it went with: one key, one update on the server.
                    leave_outbox(
                        tx,
                        scope,
                        row,
                        &batch.key,
                        SyncedOutcome::Applied,
                        Some(profile.revision),
                        now,
                    )?;
                    left += 1;
                }
            }
            if left == 0 {
                return Ok(());
            }
            confirm(tx, scope, &batch.membership_id, profile, now)?;
            let current = confirmed(tx, scope, &batch.membership_id)?.ok_or(Error::NotCached)?;
            let next: Option<i64> = tx
                .query_row(
                    "SELECT seq FROM outbox WHERE backend = ?1 AND account = ?2
                       AND membership_id = ?3 ORDER BY seq LIMIT 1",
                    params![scope.backend, scope.account, batch.membership_id],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(seq) = next {
                // A row that does not read back is left for `next_pending` to set aside.
                if let Ok(Some((next, EditState::Pending))) = load_row(tx, scope, seq) {
                    if next.base_revision != current.revision {
                        rebase(tx, scope, &next, &current, now)?;
                    }
                }
            }
            Ok(())
        })
    }

    /// What goes next, starting with `head` (from [`LocalStore::next_pending`]): the batch `head`
    /// was put in, as it was put together, when there is one; otherwise `head` with the
    /// membership's next pending edits queued on the same revision, `limit` rows at most, their
    /// batch key written on them before the request leaves. A `head` based on another revision
    /// than `confirmed_revision` goes alone: it is merged before it is sent.
    pub(crate) fn batch_from(
        &self,
        scope: &Scope,
        head: &OutboxRow,
        confirmed_revision: u64,
        limit: usize,
    ) -> Result<Batch, Error> {
        self.write(|tx| {
            let existing: Option<String> = tx
                .prepare_cached("SELECT batch FROM outbox WHERE seq = ?1")?
                .query_row([head.seq], |r| r.get(0))
                .optional()?
                .flatten();
            if let Some(key) = existing {
                let seqs: Vec<i64> = tx
                    .prepare_cached(
                        "SELECT seq FROM outbox WHERE batch = ?1 AND backend = ?2 AND account = ?3
                           AND state = 'pending' ORDER BY seq",
                    )?
                    .query_map(params![key, scope.backend, scope.account], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                let mut rows = Vec::with_capacity(seqs.len());
                for seq in seqs {
                    // A row that no longer reads back is left for `next_pending` to set aside.
                    if let Ok(Some((row, EditState::Pending))) = load_row(tx, scope, seq) {
                        rows.push(row);
                    }
                }
                if !rows.is_empty() {
                    return Ok(Batch::of(rows, key));
                }
            }
            let mut rows = vec![head.clone()];
            if limit > 1 && head.base_revision == confirmed_revision {
                let following: Vec<(i64, i64, String, Option<String>)> = tx
                    .prepare_cached(
                        "SELECT seq, base_revision, state, batch FROM outbox
                         WHERE backend = ?1 AND account = ?2 AND membership_id = ?3 AND seq > ?4
                         ORDER BY seq LIMIT ?5",
                    )?
                    .query_map(
                        params![
                            scope.backend,
                            scope.account,
                            head.membership_id,
                            head.seq,
                            (limit.min(MAX_BATCH) - 1) as i64
                        ],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                    )?
                    .collect::<Result<_, _>>()?;
                for (seq, base_revision, state, batch) in following {
                    if state != "pending"
                        || base_revision as u64 != head.base_revision
                        || batch.is_some()
                    {
                        break;
                    }
                    // A row that does not read back ends the batch; `next_pending` sets it aside.
                    match load_row(tx, scope, seq) {
                        Ok(Some((row, EditState::Pending))) => rows.push(row),
                        _ => break,
                    }
                }
            }
            if rows.len() == 1 {
                return Ok(Batch::of(rows, head.key.clone()));
            }
            let key = new_key();
            let mut mark = tx.prepare_cached("UPDATE outbox SET batch = ?1 WHERE seq = ?2")?;
            for row in &rows {
                mark.execute(params![key, row.seq])?;
            }
            Ok(Batch::of(rows, key))
        })
    }

    /// Merges `batch` onto the server's `remote` profile (from a 412, or a newer cached one).
    /// One row is merged as it is. Several leave the outbox together when the server has all
    /// they change; otherwise the batch is undone and its first row merged alone, so the rest
    /// follow one by one, each merged onto the profile the one before it made (merged
    /// separately, a later row's base would be an earlier row's value the server never saw).
    /// Answers the merge and how many rows it settled.
    pub(crate) fn rebase(
        &self,
        scope: &Scope,
        batch: &Batch,
        remote: &Profile,
        now: Timestamp,
    ) -> Result<(Rebased, usize), Error> {
        self.write(|tx| {
            confirm(tx, scope, &batch.membership_id, remote, now)?;
            if batch.len() > 1 {
                let merged = merge_edit(&batch.base, &batch.patch, remote);
                if merged.conflicts.is_empty() && merged.send.is_empty() {
                    for row in &batch.rows {
                        leave_outbox(
                            tx,
                            scope,
                            row,
                            &batch.key,
                            SyncedOutcome::AlreadyThere,
                            None,
                            now,
                        )?;
                    }
                    return Ok((Rebased::Dropped, batch.len()));
                }
                unbatch(tx, &batch.key)?;
            }
            Ok((rebase(tx, scope, batch.head(), remote, now)?, 1))
        })
    }

    /// The server refused `batch` as a whole (one of its values, or its key): its rows go one by
    /// one from now on, so the refusal lands on the edit it belongs to. Nothing of it was applied.
    pub(crate) fn unbatch(&self, batch: &Batch) -> Result<(), Error> {
        self.write(|tx| unbatch(tx, &batch.key))
    }

    /// The membership ended or is not the person's: its pending edits are kept, with `message`.
    pub(crate) fn orphan(
        &self,
        scope: &Scope,
        membership: &str,
        message: &str,
    ) -> Result<usize, Error> {
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE outbox SET state = 'orphaned', message = ?4, batch = NULL
                 WHERE backend = ?1 AND account = ?2 AND membership_id = ?3 AND state = 'pending'",
                params![scope.backend, scope.account, membership, message],
            )?)
        })
    }

    /// The server refused `row`'s values: kept, with the server's reason.
    pub(crate) fn reject(&self, row: &OutboxRow, message: &str) -> Result<(), Error> {
        self.write(|tx| {
            tx.execute(
                "UPDATE outbox SET state = 'rejected', message = ?2, batch = NULL WHERE seq = ?1",
                params![row.seq, message],
            )?;
            Ok(())
        })
    }

    /// Forgets log entries older than 30 days.
    pub(crate) fn prune_log(&self, now: Timestamp) -> Result<(), Error> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM synced WHERE synced_at < ?1",
                [now.unix_timestamp() - KEEP_SYNCED_SECS],
            )?;
            Ok(())
        })
    }
}

const DAMAGED_ROW: &str = "This saved change could not be read back, so it was not sent. Copy what you can from it, then discard it and make the change again.";

fn migrate(conn: &mut Connection) -> Result<(), Error> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: usize = tx.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    if version > MIGRATIONS.len() {
        return Err(Error::NewerSchema);
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
    }
    tx.commit()?;
    Ok(())
}

fn confirmed(c: &Connection, scope: &Scope, membership: &str) -> Result<Option<Profile>, Error> {
    let json: Option<String> = c
        .prepare_cached(
            "SELECT confirmed FROM profiles WHERE backend = ?1 AND account = ?2 AND membership_id = ?3",
        )?
        .query_row(params![scope.backend, scope.account, membership], |r| {
            r.get(0)
        })
        .optional()?;
    json.map(|j| from_json(&j, "cached profile")).transpose()
}

/// Keeps `profile` as confirmed unless the kept one is newer.
fn confirm(
    tx: &Transaction<'_>,
    scope: &Scope,
    membership: &str,
    profile: &Profile,
    now: Timestamp,
) -> Result<(), Error> {
    tx.prepare_cached(
        "INSERT INTO profiles(backend, account, membership_id, confirmed, revision, fetched_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (backend, account, membership_id) DO UPDATE
           SET confirmed = excluded.confirmed, revision = excluded.revision,
               fetched_at = excluded.fetched_at
           WHERE excluded.revision >= profiles.revision",
    )?
    .execute(params![
        scope.backend,
        scope.account,
        membership,
        to_json(profile)?,
        profile.revision as i64,
        now.unix_timestamp()
    ])?;
    Ok(())
}

fn local_profile(
    c: &Connection,
    scope: &Scope,
    membership: &str,
) -> Result<Option<LocalProfile>, Error> {
    let Some(confirmed) = confirmed(c, scope, membership)? else {
        return Ok(None);
    };
    let mut stmt = c.prepare_cached(
        "SELECT patch FROM outbox WHERE backend = ?1 AND account = ?2 AND membership_id = ?3 ORDER BY seq",
    )?;
    let patches = stmt
        .query_map(params![scope.backend, scope.account, membership], |r| {
            r.get::<_, String>(0)
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut profile = confirmed.clone();
    for p in &patches {
        // A damaged row shows nothing; it is listed among the edits with its text.
        if let Ok(edit) = from_json::<ProfileEdit>(p, "edit") {
            edit.apply_to(&mut profile);
        }
    }
    Ok(Some(LocalProfile {
        membership_id: membership.to_owned(),
        profile,
        confirmed_revision: confirmed.revision,
        unsynced: patches.len(),
    }))
}

fn load_row(
    c: &Connection,
    scope: &Scope,
    seq: i64,
) -> Result<Option<(OutboxRow, EditState)>, Error> {
    type Row = (String, String, i64, String, String, String);
    let row: Option<Row> = c
        .prepare_cached(
            "SELECT membership_id, idempotency_key, base_revision, base, patch, state FROM outbox
             WHERE seq = ?1 AND backend = ?2 AND account = ?3",
        )?
        .query_row(params![seq, scope.backend, scope.account], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .optional()?;
    let Some((membership_id, key, base_revision, base, patch, state)) = row else {
        return Ok(None);
    };
    Ok(Some((
        OutboxRow {
            seq,
            membership_id,
            key,
            base_revision: base_revision as u64,
            base: from_json(&base, "edit base")?,
            patch: from_json(&patch, "edit")?,
        },
        EditState::parse(&state)?,
    )))
}

/// Logs `row` as gone, with the key it was sent under (its own, or its batch's).
fn leave_outbox(
    tx: &Transaction<'_>,
    scope: &Scope,
    row: &OutboxRow,
    key: &str,
    outcome: SyncedOutcome,
    revision: Option<u64>,
    now: Timestamp,
) -> Result<(), Error> {
    tx.prepare_cached("DELETE FROM outbox WHERE seq = ?1")?
        .execute([row.seq])?;
    let outcome = match outcome {
        SyncedOutcome::Applied => "applied",
        SyncedOutcome::AlreadyThere => "already_there",
        SyncedOutcome::Discarded => "discarded",
    };
    tx.prepare_cached(
        "INSERT INTO synced(backend, account, membership_id, idempotency_key, patch, outcome,
                            revision, synced_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        scope.backend,
        scope.account,
        row.membership_id,
        key,
        to_json(&row.patch)?,
        outcome,
        revision.map(|r| r as i64),
        now.unix_timestamp()
    ])?;
    Ok(())
}

/// The merge of one row onto `remote`, written. A changed request gets a new key: the server
/// remembers the old key with the old request (and its answer, a 412 for example).
fn rebase(
    tx: &Transaction<'_>,
    scope: &Scope,
    row: &OutboxRow,
    remote: &Profile,
    now: Timestamp,
) -> Result<Rebased, Error> {
    let merged = merge_edit(&row.base, &row.patch, remote);
    if merged.conflicts.is_empty() && merged.send.is_empty() {
        leave_outbox(
            tx,
            scope,
            row,
            &row.key,
            SyncedOutcome::AlreadyThere,
            None,
            now,
        )?;
        return Ok(Rebased::Dropped);
    }
    let mut patch = merged.send.clone();
    for c in &merged.conflicts {
        patch.insert_checked(c.field, c.local.clone());
    }
    let state = if merged.conflicts.is_empty() {
        EditState::Pending
    } else {
        EditState::Conflict
    };
    tx.prepare_cached(
        "UPDATE outbox SET base_revision = ?2, base = ?3, patch = ?4, idempotency_key = ?5,
                state = ?6, batch = NULL WHERE seq = ?1",
    )?
    .execute(params![
        row.seq,
        remote.revision as i64,
        to_json(&patch.values_in(remote))?,
        to_json(&patch)?,
        new_key(),
        state.as_str()
    ])?;
    for c in &merged.conflicts {
        tx.prepare_cached(
            "INSERT OR REPLACE INTO conflicts(seq, field, base, local, remote, remote_revision)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            row.seq,
            c.field.name(),
            c.base,
            c.local,
            c.remote,
            remote.revision as i64
        ])?;
    }
    Ok(if merged.conflicts.is_empty() {
        Rebased::Ready
    } else {
        Rebased::Parked
    })
}

fn unbatch(tx: &Transaction<'_>, key: &str) -> Result<(), Error> {
    tx.prepare_cached("UPDATE outbox SET batch = NULL WHERE batch = ?1")?
        .execute([key])?;
    Ok(())
}

fn parse_field(name: &str) -> Result<Field, Error> {
    Field::ALL
        .into_iter()
        .find(|f| f.name() == name)
        .ok_or(Error::Damaged { what: "field name" })
}

fn to_json<T: Serialize>(value: &T) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|_| Error::Damaged { what: "JSON" })
}

fn from_json<T: serde::de::DeserializeOwned>(s: &str, what: &'static str) -> Result<T, Error> {
    serde_json::from_str(s).map_err(|_| Error::Damaged { what })
}

fn from_unix(secs: i64) -> Timestamp {
    Timestamp::from_unix_timestamp(secs).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// A fresh random idempotency key in the form of a version 4 UUID.
pub(crate) fn new_key() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        // Not random, but unique on this computer, which is what the key needs.
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = Timestamp::now_utc().unix_timestamp_nanos() as u64;
        b[..8].copy_from_slice(&nanos.to_le_bytes());
        b[8..].copy_from_slice(&COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

mod unix_seconds {
    use membership::Timestamp;

    pub fn serialize<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(t.unix_timestamp())
    }
}
