//! The SQLite store: every SQL statement of the membership rules. WAL, `synchronous=FULL`,
//! foreign keys, a 10 s busy timeout and `STRICT` tables (see `pool.rs` and the migrations);
//! each write is one `BEGIN IMMEDIATE` transaction, so SQLite serialises writers and a check
//! and the change it guards cannot interleave with another writer.
use std::path::Path;
use std::sync::{Condvar, Mutex};

use rusqlite::{params, Connection, OptionalExtension, ToSql, TransactionBehavior};

use super::keys::{consume_key_guard, KeyGuard, KeyRecord, NewKey, StoredAnswer};
use super::{
    Approver, Audience, AuditRecord, Credentials, Decision, DelegationRow, DigestLine,
    DirectoryQuery, DomainProof, DomainRow, DuePrivilegeRequest, HandoverRow, Insert, Keyed,
    McpHolder, MembershipFacts, NewAccount, NewDelegation, NewEvent, NewGrant, NewHandover,
    NewInvitation, NewMembership, NewOrganisation, NewPrivilegeRequest, NewRequest, NewToken,
    OutboxMail, PendingRow, PendingStep, ProfileChanges, ReadTx, RequestContact, SessionByAccess,
    SessionHashes, Store, TokenRecord, WriteTx,
};
use crate::domain::Privilege;
use crate::model::{
    Account, ApproverRole, AssociationRequest, AuditEntry, DomainStatus, Event, LastSeen, Member,
    MembershipStatus, MembershipSummary, OrganisationRef, OrganisationSummary, PrivilegeRequest,
    Profile, RequestStatus, Role, SeenOutcome,
};
use crate::{Error, Timestamp};

mod pool;

use pool::Pool;
pub(crate) use pool::{connect, from_unix};

/// The membership data in one SQLite file.
pub struct SqliteStore {
    pool: Pool,
    writers: WriteQueue,
}

impl SqliteStore {
    /// Opens (creating and migrating) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, Error> {
        Ok(Self {
            pool: Pool::open(path)?,
            writers: WriteQueue::default(),
        })
    }
}

/// The writers of this process take turns in the order they arrive, before `BEGIN IMMEDIATE`.
/// Without it they all race for SQLite's write lock, and a loser sleeps in the busy handler
/// (backing off up to 100 ms a time) while later arrivals get in first: a p99 hundreds of times
/// the p50 under load. With it a writer waits only for the writers ahead of it. Another process
/// on the same file still waits in the busy handler (10 s).
#[derive(Default)]
struct WriteQueue {
    turns: Mutex<Turns>,
    next_up: Condvar,
}

#[derive(Default)]
struct Turns {
    /// The ticket the next arrival takes.
    issued: u64,
    /// The ticket whose holder may write now.
    serving: u64,
}

/// The turn of one writer; the next one's starts when it is dropped (also on a panic).
struct WriteTurn<'q>(&'q WriteQueue);

impl WriteQueue {
    fn wait_turn(&self) -> WriteTurn<'_> {
        let mut turns = self.turns.lock().unwrap_or_else(|e| e.into_inner());
        let ticket = turns.issued;
        turns.issued += 1;
        while turns.serving != ticket {
            turns = self.next_up.wait(turns).unwrap_or_else(|e| e.into_inner());
        }
        WriteTurn(self)
    }
}

impl Drop for WriteTurn<'_> {
    fn drop(&mut self) {
        let mut turns = self.0.turns.lock().unwrap_or_else(|e| e.into_inner());
        turns.serving += 1;
        drop(turns);
        self.0.next_up.notify_all();
    }
}

impl Store for SqliteStore {
    fn read<T>(&self, f: &mut dyn FnMut(&mut dyn ReadTx) -> Result<T, Error>) -> Result<T, Error> {
        let mut conn = self.pool.get()?;
        // A deferred transaction gives one consistent snapshot for multi-query reads.
        let tx = conn.transaction()?;
        let value = f(&mut Tx(&tx))?;
        tx.finish()?;
        Ok(value)
    }

    fn write<T>(
        &self,
        f: &mut dyn FnMut(&mut dyn WriteTx) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let _turn = self.writers.wait_turn();
        let mut conn = self.pool.get()?;
        // SQLite serialises writers itself (the write lock is taken at BEGIN and waited for up
        // to the busy timeout), so the closure runs once.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&mut Tx(&tx))?;
        consume_key_guard(&mut Tx(&tx))?;
        tx.commit()?;
        Ok(value)
    }
}

/// One transaction (a `rusqlite::Transaction` derefs to its connection).
struct Tx<'c>(&'c Connection);

fn unix(t: Timestamp) -> i64 {
    t.unix_timestamp()
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

/// An insert's result, with a unique or primary-key violation as `Duplicate`.
fn unique(result: rusqlite::Result<usize>) -> Result<Insert, Error> {
    match result {
        Ok(_) => Ok(Insert::Done),
        Err(e) if is_unique_violation(&e) => Ok(Insert::Duplicate),
        Err(e) => Err(e.into()),
    }
}

/// The columns [`domain_values`] gives, in its order (`?1` to `?15`).
const DOMAIN_WRITTEN: &str = "domain, organisation_id, include_subdomains, status, challenge, previous_challenge,
    previous_until, status_since, verified_at, last_checked_at, last_outcome, last_detail, next_check_at, missing_since, checks";

/// A hold's values for [`DOMAIN_WRITTEN`], the same for an insert and an update.
fn domain_values(d: &DomainRow) -> Vec<rusqlite::types::Value> {
    let p = &d.proof;
    let when = |t: Option<Timestamp>| t.map(unix).into();
    vec![
        d.domain.clone().into(),
        d.organisation_id.clone().into(),
        d.include_subdomains.into(),
        p.status.as_str().to_owned().into(),
        p.challenge.clone().into(),
        p.previous_challenge.clone().into(),
        when(p.previous_until),
        unix(p.status_since).into(),
        when(p.verified_at),
        when(p.last_checked_at),
        p.last_seen
            .as_ref()
            .map(|l| l.outcome.as_str().to_owned())
            .into(),
        p.last_seen.as_ref().map(|l| l.detail.clone()).into(),
        when(p.next_check_at),
        when(p.missing_since),
        i64::from(p.checks).into(),
    ]
}

/// The columns [`domain_row`] reads, in its order.
const DOMAIN_COLUMNS: &str = "domain, organisation_id, include_subdomains, added_at, status, challenge, previous_challenge,
    previous_until, status_since, verified_at, last_checked_at, last_outcome, last_detail, next_check_at, missing_since, checks";

fn domain_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DomainRow> {
    let when = |i: usize| -> rusqlite::Result<Option<Timestamp>> {
        Ok(r.get::<_, Option<i64>>(i)?.map(from_unix))
    };
    let status: String = r.get(4)?;
    let outcome: Option<String> = r.get(11)?;
    let detail: Option<String> = r.get(12)?;
    Ok(DomainRow {
        domain: r.get(0)?,
        organisation_id: r.get(1)?,
        include_subdomains: r.get(2)?,
        added_at: from_unix(r.get(3)?),
        proof: DomainProof {
            // The table's CHECK constraints allow only the spellings these parse.
            status: DomainStatus::parse(&status).unwrap_or(DomainStatus::Pending),
            challenge: r.get(5)?,
            previous_challenge: r.get(6)?,
            previous_until: when(7)?,
            status_since: from_unix(r.get(8)?),
            verified_at: when(9)?,
            last_checked_at: when(10)?,
            last_seen: outcome
                .and_then(|o| SeenOutcome::parse(&o))
                .map(|outcome| LastSeen {
                    outcome,
                    detail: detail.unwrap_or_default(),
                }),
            next_check_at: when(13)?,
            missing_since: when(14)?,
            checks: r.get(15)?,
        },
    })
}

/// Turns lookup words into an FTS5 query: each word a quoted prefix term, all required. The
/// words hold only letters and digits, so none can change the query's syntax.
fn fts_query(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("\"{w}\"*"))
        .collect::<Vec<_>>()
        .join(" AND ")
}

fn privileges_from(list: Option<String>) -> Vec<Privilege> {
    let mut v: Vec<Privilege> = list
        .as_deref()
        .unwrap_or("")
        .split(',')
        .filter_map(|p| Privilege::parse(p).ok())
        .collect();
    v.sort();
    v
}

fn roles(is_ppc: bool) -> Vec<Role> {
    if is_ppc {
        vec![Role::Ppc, Role::Member]
    } else {
        vec![Role::Member]
    }
}

const SUMMARY_COLUMNS: &str = "o.seq, o.id, o.partner_id, o.name, o.city, o.country";

fn summary(r: &rusqlite::Row<'_>) -> rusqlite::Result<Keyed<OrganisationSummary>> {
    Ok((
        r.get(0)?,
        OrganisationSummary {
            organisation_id: r.get(1)?,
            partner_id: r.get(2)?,
            name: r.get(3)?,
            city: r.get(4)?,
            country: r.get(5)?,
        },
    ))
}

const REQUEST_COLUMNS: &str = "r.rowid, r.id, r.organisation_id, o.name, r.account_id, r.first_name, r.last_name, r.organisation_email,
     r.status, r.created_at, r.decided_at, r.decision_reason, r.membership_id,
     r.expires_at, r.escalated_at, r.decided_by, r.on_behalf_of";

fn request_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Keyed<AssociationRequest>> {
    let status: String = r.get(8)?;
    let status = RequestStatus::parse(&status).unwrap_or(RequestStatus::PendingApproval);
    let pending = status == RequestStatus::PendingApproval;
    let escalated = r.get::<_, Option<i64>>(14)?.is_some();
    Ok((
        r.get(0)?,
        AssociationRequest {
            request_id: r.get(1)?,
            organisation_id: r.get(2)?,
            organisation_name: r.get(3)?,
            account_id: r.get(4)?,
            first_name: r.get(5)?,
            last_name: r.get(6)?,
            organisation_email: r.get(7)?,
            status,
            created_at: from_unix(r.get(9)?),
            decided_at: r.get::<_, Option<i64>>(10)?.map(from_unix),
            decision_reason: r.get(11)?,
            membership_id: r.get(12)?,
            expires_at: if pending {
                r.get::<_, Option<i64>>(13)?.map(from_unix)
            } else {
                None
            },
            waiting_on: ApproverRole::waiting_on(status, escalated),
            decided_by: r.get(15)?,
            on_behalf_of: r.get(16)?,
        },
    ))
}

const PENDING_COLUMNS: &str = "r.id, r.organisation_id, o.name, r.account_id, r.first_name, r.last_name, r.organisation_email,
     r.created_at, r.expires_at, r.reminders_sent, r.escalated_at, r.next_step_at";

fn pending_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PendingRow> {
    let at = |i: usize| r.get::<_, Option<i64>>(i).map(|t| t.map(from_unix));
    Ok(PendingRow {
        request_id: r.get(0)?,
        organisation_id: r.get(1)?,
        organisation_name: r.get(2)?,
        account_id: r.get(3)?,
        first_name: r.get(4)?,
        last_name: r.get(5)?,
        organisation_email: r.get(6)?,
        created_at: from_unix(r.get(7)?),
        step: PendingStep {
            expires_at: at(8)?,
            reminders_sent: r.get::<_, i64>(9)?.clamp(0, 2) as u8,
            escalated_at: at(10)?,
            next_step_at: at(11)?,
        },
    })
}

const MEMBER_COLUMNS: &str =
    "m.rowid, m.id, m.account_id, a.display_name, m.organisation_email, m.status, m.is_ppc,
     (SELECT group_concat(privilege) FROM membership_privileges p WHERE p.membership_id = m.id)";

fn member_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Keyed<Member>> {
    Ok((
        r.get(0)?,
        Member {
            membership_id: r.get(1)?,
            account_id: r.get(2)?,
            display_name: r.get(3)?,
            organisation_email: r.get(4)?,
            status: if r.get::<_, String>(5)? == "active" {
                MembershipStatus::Active
            } else {
                MembershipStatus::Removed
            },
            roles: roles(r.get(6)?),
            privileges: privileges_from(r.get(7)?),
        },
    ))
}

fn account_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        account_id: r.get(0)?,
        email: r.get(1)?,
        display_name: r.get(2)?,
    })
}

impl ReadTx for Tx<'_> {
    fn has_accounts(&mut self) -> Result<bool, Error> {
        Ok(self
            .0
            .query_row("SELECT EXISTS (SELECT 1 FROM accounts)", [], |r| r.get(0))?)
    }

    fn account(&mut self, account_id: &str) -> Result<Option<Account>, Error> {
        Ok(self
            .0
            .query_row(
                "SELECT id, email, display_name FROM accounts WHERE id = ?1",
                [account_id],
                account_row,
            )
            .optional()?)
    }

    fn account_by_email(&mut self, email: &str) -> Result<Option<Credentials>, Error> {
        Ok(self
            .0
            .query_row(
                "SELECT id, email, display_name, password_hash FROM accounts WHERE email = ?1",
                [email],
                |r| {
                    Ok(Credentials {
                        account: account_row(r)?,
                        password_hash: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    fn session_by_access(&mut self, access_hash: &[u8]) -> Result<Option<SessionByAccess>, Error> {
        // Every API call starts here: a cached statement, not one parsed per call.
        Ok(self
            .0
            .prepare_cached(
                "SELECT id, account_id, access_expires_at FROM sessions WHERE access_hash = ?1 AND revoked_at IS NULL",
            )?
            .query_row([access_hash], |r| {
                Ok(SessionByAccess {
                    session_id: r.get(0)?,
                    account_id: r.get(1)?,
                    access_expires_at: from_unix(r.get(2)?),
                })
            })
            .optional()?)
    }

    fn session_by_refresh(
        &mut self,
        refresh_hash: &[u8],
        now: Timestamp,
    ) -> Result<Option<(String, Account)>, Error> {
        Ok(self
            .0
            .query_row(
                "SELECT s.id, a.id, a.email, a.display_name FROM sessions s JOIN accounts a ON a.id = s.account_id
                 WHERE s.refresh_hash = ?1 AND s.revoked_at IS NULL AND s.refresh_expires_at > ?2",
                params![refresh_hash, unix(now)],
                |r| {
                    Ok((
                        r.get(0)?,
                        Account {
                            account_id: r.get(1)?,
                            email: r.get(2)?,
                            display_name: r.get(3)?,
                        },
                    ))
                },
            )
            .optional()?)
    }

    fn active_memberships_of(&mut self, account_id: &str) -> Result<Vec<MembershipSummary>, Error> {
        let mut stmt = self.0.prepare_cached(
            "SELECT m.id, o.id, o.name, o.partner_id, m.is_ppc, m.organisation_email,
                    (SELECT group_concat(privilege) FROM membership_privileges p WHERE p.membership_id = m.id)
             FROM memberships m JOIN organisations o ON o.id = m.organisation_id
             WHERE m.account_id = ?1 AND m.status = 'active' ORDER BY o.name",
        )?;
        let rows = stmt
            .query_map([account_id], |r| {
                Ok(MembershipSummary {
                    membership_id: r.get(0)?,
                    organisation: OrganisationRef {
                        organisation_id: r.get(1)?,
                        name: r.get(2)?,
                        partner_id: r.get(3)?,
                    },
                    status: MembershipStatus::Active,
                    roles: roles(r.get(4)?),
                    privileges: privileges_from(r.get::<_, Option<String>>(6)?),
                    organisation_email: r.get(5)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn mail_addresses_of(&mut self, account_id: &str) -> Result<Vec<String>, Error> {
        let mut stmt = self.0.prepare_cached(
            "SELECT email FROM accounts WHERE id = ?1
             UNION SELECT organisation_email FROM association_requests WHERE account_id = ?1",
        )?;
        let rows = stmt
            .query_map([account_id], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(rows)
    }

    fn organisation_exists(&mut self, organisation_id: &str) -> Result<bool, Error> {
        Ok(self.0.query_row(
            "SELECT EXISTS (SELECT 1 FROM organisations WHERE id = ?1)",
            [organisation_id],
            |r| r.get(0),
        )?)
    }

    fn organisation_name(&mut self, organisation_id: &str) -> Result<Option<String>, Error> {
        Ok(self
            .0
            .query_row(
                "SELECT name FROM organisations WHERE id = ?1",
                [organisation_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn organisation_summary(
        &mut self,
        organisation_id: &str,
    ) -> Result<Option<OrganisationSummary>, Error> {
        Ok(self
            .0
            .query_row(
                &format!("SELECT {SUMMARY_COLUMNS} FROM organisations o WHERE o.id = ?1"),
                [organisation_id],
                summary,
            )
            .optional()?
            .map(|(_, s)| s))
    }

    fn partner_id_taken(&mut self, partner_id: &str) -> Result<bool, Error> {
        Ok(self.0.query_row(
            "SELECT EXISTS (SELECT 1 FROM organisations WHERE partner_id = ?1)",
            [partner_id],
            |r| r.get(0),
        )?)
    }

    fn lookup(
        &mut self,
        query: &DirectoryQuery<'_>,
    ) -> Result<Vec<Keyed<OrganisationSummary>>, Error> {
        let fts = (!query.words.is_empty()).then(|| fts_query(query.words));
        let mut sql = if fts.is_some() {
            format!("SELECT {SUMMARY_COLUMNS} FROM organisations_fts f JOIN organisations o ON o.seq = f.rowid WHERE organisations_fts MATCH :fts AND f.rowid > :after")
        } else {
            format!("SELECT {SUMMARY_COLUMNS} FROM organisations o WHERE o.seq > :after")
        };
        let mut args: Vec<(&str, &dyn ToSql)> = vec![(":after", &query.after)];
        if let Some(f) = &fts {
            args.push((":fts", f));
        }
        if let Some(p) = &query.partner_id {
            sql.push_str(" AND o.partner_id = :partner_id");
            args.push((":partner_id", p));
        }
        if let Some(c) = &query.country {
            sql.push_str(" AND o.country = :country COLLATE NOCASE");
            args.push((":country", c));
        }
        if let Some(c) = &query.city {
            sql.push_str(" AND o.city = :city COLLATE NOCASE");
            args.push((":city", c));
        }
        // The limit is written into the SQL, not bound: SQLite re-prepares a statement on every
        // new binding of a LIMIT parameter (it may change the plan), which made each lookup parse
        // and plan its SQL again. `limit` is a number (the rules ask for at most 101), never
        // text from the caller; each value gets its own cached statement.
        sql.push_str(&format!(
            " ORDER BY {} LIMIT {}",
            if fts.is_some() { "f.rowid" } else { "o.seq" },
            i64::from(query.limit)
        ));
        let mut stmt = self.0.prepare_cached(&sql)?;
        let rows = stmt
            .query_map(args.as_slice(), summary)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn domain_rows(&mut self, organisation_id: &str) -> Result<Vec<DomainRow>, Error> {
        let mut stmt = self.0.prepare_cached(&format!(
            "SELECT {DOMAIN_COLUMNS} FROM org_domains WHERE organisation_id = ?1 ORDER BY domain"
        ))?;
        let rows = stmt
            .query_map([organisation_id], domain_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn domain_holders(&mut self, domain: &str) -> Result<Vec<DomainRow>, Error> {
        let mut stmt = self.0.prepare_cached(&format!(
            "SELECT {DOMAIN_COLUMNS} FROM org_domains WHERE domain = ?1 ORDER BY organisation_id"
        ))?;
        let rows = stmt
            .query_map([domain], domain_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn due_domains(&mut self, now: Timestamp, limit: u32) -> Result<Vec<DomainRow>, Error> {
        let mut stmt = self.0.prepare_cached(&format!(
            "SELECT {DOMAIN_COLUMNS} FROM org_domains WHERE next_check_at IS NOT NULL AND next_check_at <= ?1
             ORDER BY next_check_at, domain, organisation_id LIMIT ?2"
        ))?;
        let rows = stmt
            .query_map(params![unix(now), limit], domain_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn due_requests(&mut self, now: Timestamp, limit: u32) -> Result<Vec<PendingRow>, Error> {
        let mut stmt = self.0.prepare_cached(&format!(
            "SELECT {PENDING_COLUMNS} FROM association_requests r JOIN organisations o ON o.id = r.organisation_id
             WHERE r.next_step_at IS NOT NULL AND r.next_step_at <= ?1 AND r.status = 'pending_approval'
             ORDER BY r.next_step_at, r.rowid LIMIT ?2"
        ))?;
        let rows = stmt
            .query_map(params![unix(now), limit], pending_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn pending_request(&mut self, request_id: &str) -> Result<Option<PendingRow>, Error> {
        Ok(self
            .0
            .query_row(
                &format!(
                    "SELECT {PENDING_COLUMNS} FROM association_requests r JOIN organisations o ON o.id = r.organisation_id
                     WHERE r.id = ?1 AND r.status = 'pending_approval'"
                ),
                [request_id],
                pending_row,
            )
            .optional()?)
    }

    fn approvers(
        &mut self,
        organisation_id: &str,
        global_admins: bool,
    ) -> Result<Vec<Approver>, Error> {
        let mut stmt = self.0.prepare_cached(
            "SELECT a.id, a.email, a.display_name, m.is_ppc FROM memberships m JOIN accounts a ON a.id = m.account_id
             WHERE m.organisation_id = ?1 AND m.status = 'active'
               AND (m.is_ppc = 1 OR (?2 AND EXISTS (SELECT 1 FROM membership_privileges p
                    WHERE p.membership_id = m.id AND p.privilege = 'global_admin')))
             ORDER BY m.is_ppc DESC, m.rowid",
        )?;
        let rows = stmt
            .query_map(params![organisation_id, global_admins], |r| {
                Ok(Approver {
                    account_id: r.get(0)?,
                    email: r.get(1)?,
                    display_name: r.get(2)?,
                    role: if r.get(3)? {
                        ApproverRole::Ppc
                    } else {
                        ApproverRole::GlobalAdmin
                    },
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn due_privilege_requests(
        &mut self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<DuePrivilegeRequest>, Error> {
        let mut stmt = self.0.prepare_cached(
            "SELECT q.id, q.membership_id, m.account_id, m.organisation_id, o.name, q.privilege, q.created_at, q.expires_at,
                    q.reminders_sent, q.next_step_at, trim(m.first_name || ' ' || m.last_name)
             FROM privilege_requests q JOIN memberships m ON m.id = q.membership_id JOIN organisations o ON o.id = m.organisation_id
             WHERE q.ended_at IS NULL AND (q.expires_at IS NULL OR coalesce(q.next_step_at, q.expires_at) <= ?1)
               AND NOT EXISTS (SELECT 1 FROM membership_privileges p WHERE p.membership_id = q.membership_id AND p.privilege = q.privilege)
             ORDER BY coalesce(q.next_step_at, q.expires_at), q.rowid LIMIT ?2",
        )?;
        let rows = stmt
            .query_map(params![unix(now), limit], |r| {
                Ok(DuePrivilegeRequest {
                    privilege_request_id: r.get(0)?,
                    membership_id: r.get(1)?,
                    account_id: r.get(2)?,
                    organisation_id: r.get(3)?,
                    organisation_name: r.get(4)?,
                    privilege: Privilege::parse(&r.get::<_, String>(5)?)
                        .unwrap_or(Privilege::ActionPack),
                    created_at: from_unix(r.get(6)?),
                    expires_at: r.get::<_, Option<i64>>(7)?.map(from_unix),
                    reminders_sent: r.get::<_, i64>(8)?.clamp(0, 2) as u8,
                    next_step_at: r.get::<_, Option<i64>>(9)?.map(from_unix),
                    member_name: r.get(10)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn due_digests(&mut self, sent_before: Timestamp, limit: u32) -> Result<Vec<String>, Error> {
        let mut stmt = self.0.prepare_cached(
            "SELECT d.account_id FROM approver_digests d
             WHERE (d.last_sent_at IS NULL OR d.last_sent_at <= ?1)
               AND EXISTS (SELECT 1 FROM digest_lines l WHERE l.account_id = d.account_id)
             ORDER BY d.account_id LIMIT ?2",
        )?;
        let rows = stmt
            .query_map(params![unix(sent_before), limit], |r| r.get(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn digest_lines(&mut self, account_id: &str) -> Result<Vec<DigestLine>, Error> {
        let mut stmt = self.0.prepare_cached(
            "SELECT seq, line FROM digest_lines WHERE account_id = ?1 ORDER BY seq LIMIT 500",
        )?;
        let rows = stmt
            .query_map([account_id], |r| {
                Ok(DigestLine {
                    seq: r.get(0)?,
                    line: r.get(1)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn delegation(&mut self, organisation_id: &str) -> Result<Option<DelegationRow>, Error> {
        Ok(self
            .0
            .query_row(
                &format!("{DELEGATION_SELECT} WHERE d.organisation_id = ?1"),
                [organisation_id],
                delegation_row,
            )
            .optional()?)
    }

    fn due_delegations(&mut self, now: Timestamp, limit: u32) -> Result<Vec<DelegationRow>, Error> {
        let mut stmt = self.0.prepare_cached(&format!(
            "{DELEGATION_SELECT} WHERE (d.started = 0 AND d.starts_at <= ?1) OR d.ends_at <= ?1
             ORDER BY d.starts_at, d.organisation_id LIMIT ?2"
        ))?;
        let rows = stmt
            .query_map(params![unix(now), limit], delegation_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn handover(&mut self, handover_id: &str) -> Result<Option<HandoverRow>, Error> {
        Ok(self
            .0
            .query_row(
                &format!("{HANDOVER_SELECT} WHERE h.id = ?1"),
                [handover_id],
                handover_row,
            )
            .optional()?)
    }

    fn handovers_offered_to(&mut self, account_id: &str) -> Result<Vec<HandoverRow>, Error> {
        let mut stmt = self.0.prepare_cached(&format!(
            "{HANDOVER_SELECT} WHERE h.status = 'offered' AND tm.account_id = ?1 AND tm.status = 'active'
             ORDER BY h.created_at, h.id LIMIT 100"
        ))?;
        let rows = stmt
            .query_map([account_id], handover_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn is_admin(&mut self, account_id: &str, organisation_id: &str) -> Result<bool, Error> {
        Ok(self.0.query_row(
            "SELECT EXISTS (SELECT 1 FROM memberships m WHERE m.organisation_id = ?1 AND m.account_id = ?2
                AND m.status = 'active' AND (m.is_ppc = 1 OR EXISTS (SELECT 1 FROM membership_privileges p
                    WHERE p.membership_id = m.id AND p.privilege = 'global_admin')))",
            params![organisation_id, account_id],
            |r| r.get(0),
        )?)
    }

    fn has_admin(&mut self, organisation_id: &str) -> Result<bool, Error> {
        Ok(self.0.query_row(
            "SELECT EXISTS (SELECT 1 FROM memberships m WHERE m.organisation_id = ?1 AND m.status = 'active' AND (m.is_ppc = 1
                OR EXISTS (SELECT 1 FROM membership_privileges p WHERE p.membership_id = m.id AND p.privilege = 'global_admin')))",
            [organisation_id],
            |r| r.get(0),
        )?)
    }

    fn request(&mut self, request_id: &str) -> Result<Option<AssociationRequest>, Error> {
        Ok(self
            .0
            .query_row(
                &format!("SELECT {REQUEST_COLUMNS} FROM association_requests r JOIN organisations o ON o.id = r.organisation_id WHERE r.id = ?1"),
                [request_id],
                request_row,
            )
            .optional()?
            .map(|(_, r)| r))
    }

    fn requests_of(&mut self, account_id: &str) -> Result<Vec<AssociationRequest>, Error> {
        let mut stmt = self.0.prepare_cached(&format!(
            "SELECT {REQUEST_COLUMNS} FROM association_requests r JOIN organisations o ON o.id = r.organisation_id
             WHERE r.account_id = ?1 ORDER BY r.created_at DESC, r.rowid DESC LIMIT 100"
        ))?;
        let rows = stmt
            .query_map([account_id], request_row)?
            .map(|r| r.map(|(_, x)| x))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn request_queue(
        &mut self,
        organisation_id: &str,
        status: Option<RequestStatus>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Keyed<AssociationRequest>>, Error> {
        let mut stmt = self.0.prepare_cached(&format!(
            "SELECT {REQUEST_COLUMNS} FROM association_requests r JOIN organisations o ON o.id = r.organisation_id
             WHERE r.organisation_id = ?1 AND (?2 IS NULL OR r.status = ?2) AND r.rowid > ?3 ORDER BY r.rowid LIMIT ?4"
        ))?;
        let rows = stmt
            .query_map(
                params![
                    organisation_id,
                    status.map(RequestStatus::as_str),
                    after,
                    i64::from(limit)
                ],
                request_row,
            )?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn open_request_for(&mut self, organisation_id: &str, account_id: &str) -> Result<bool, Error> {
        Ok(self.0.query_row(
            "SELECT EXISTS (SELECT 1 FROM association_requests WHERE organisation_id = ?1 AND account_id = ?2 AND status IN ('pending_approval', 'accepted'))",
            params![organisation_id, account_id],
            |r| r.get(0),
        )?)
    }

    fn last_denial(
        &mut self,
        organisation_id: &str,
        account_id: &str,
    ) -> Result<Option<Timestamp>, Error> {
        let at: Option<i64> = self.0.query_row(
            "SELECT max(decided_at) FROM association_requests WHERE organisation_id = ?1 AND account_id = ?2 AND status = 'denied'",
            params![organisation_id, account_id],
            |r| r.get(0),
        )?;
        Ok(at.map(from_unix))
    }

    fn request_contact(&mut self, request_id: &str) -> Result<Option<RequestContact>, Error> {
        Ok(self
            .0
            .query_row(
                "SELECT phone, job_title FROM association_requests WHERE id = ?1",
                [request_id],
                |r| {
                    Ok(RequestContact {
                        phone: r.get(0)?,
                        job_title: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    fn verification_sent_at(&mut self, request_id: &str) -> Result<Option<Timestamp>, Error> {
        let at: Option<i64> = self.0.query_row(
            "SELECT verification_sent_at FROM association_requests WHERE id = ?1",
            [request_id],
            |r| r.get(0),
        )?;
        Ok(at.map(from_unix))
    }

    fn token(&mut self, hash: &[u8]) -> Result<Option<TokenRecord>, Error> {
        Ok(self
            .0
            .query_row(
                "SELECT request_id, account_id, email, expires_at, used_at, revoked_at FROM verification_tokens WHERE token_hash = ?1",
                [hash],
                |r| {
                    Ok(TokenRecord {
                        request_id: r.get(0)?,
                        account_id: r.get(1)?,
                        email: r.get(2)?,
                        expires_at: from_unix(r.get(3)?),
                        used: r.get::<_, Option<i64>>(4)?.is_some(),
                        revoked: r.get::<_, Option<i64>>(5)?.is_some(),
                    })
                },
            )
            .optional()?)
    }

    fn invitation_open(&mut self, organisation_id: &str, email: &str) -> Result<bool, Error> {
        Ok(self.0.query_row(
            "SELECT EXISTS (SELECT 1 FROM invitations WHERE organisation_id = ?1 AND email = ?2 AND used_at IS NULL)",
            params![organisation_id, email],
            |r| r.get(0),
        )?)
    }

    fn membership(&mut self, membership_id: &str) -> Result<Option<MembershipFacts>, Error> {
        Ok(self
            .0
            .query_row(
                "SELECT organisation_id, account_id, status, is_ppc FROM memberships WHERE id = ?1",
                [membership_id],
                |r| {
                    Ok(MembershipFacts {
                        organisation_id: r.get(0)?,
                        account_id: r.get(1)?,
                        active: r.get::<_, String>(2)? == "active",
                        is_ppc: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    fn is_active_member(&mut self, organisation_id: &str, account_id: &str) -> Result<bool, Error> {
        Ok(self.0.query_row(
            "SELECT EXISTS (SELECT 1 FROM memberships WHERE organisation_id = ?1 AND account_id = ?2 AND status = 'active')",
            params![organisation_id, account_id],
            |r| r.get(0),
        )?)
    }

    fn has_active_member_email(
        &mut self,
        organisation_id: &str,
        email: &str,
    ) -> Result<bool, Error> {
        Ok(self.0.query_row(
            "SELECT EXISTS (SELECT 1 FROM memberships WHERE organisation_id = ?1 AND organisation_email = ?2 AND status = 'active')",
            params![organisation_id, email],
            |r| r.get(0),
        )?)
    }

    fn active_ppc_count(&mut self, organisation_id: &str) -> Result<u64, Error> {
        let n: i64 = self.0.query_row(
            "SELECT count(*) FROM memberships WHERE organisation_id = ?1 AND status = 'active' AND is_ppc = 1",
            [organisation_id],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    }

    fn profile(&mut self, membership_id: &str) -> Result<Option<Profile>, Error> {
        Ok(self
            .0
            .query_row(
                "SELECT first_name, last_name, job_title, phone, preferred_language, mcp_id, revision FROM memberships WHERE id = ?1",
                [membership_id],
                |r| {
                    Ok(Profile {
                        first_name: r.get(0)?,
                        last_name: r.get(1)?,
                        job_title: r.get(2)?,
                        phone: r.get(3)?,
                        preferred_language: r.get(4)?,
                        mcp_id: r.get(5)?,
                        revision: r.get::<_, i64>(6)? as u64,
                    })
                },
            )
            .optional()?)
    }

    fn member(&mut self, membership_id: &str) -> Result<Option<Member>, Error> {
        Ok(self
            .0
            .query_row(
                &format!("SELECT {MEMBER_COLUMNS} FROM memberships m JOIN accounts a ON a.id = m.account_id WHERE m.id = ?1"),
                [membership_id],
                member_row,
            )
            .optional()?
            .map(|(_, m)| m))
    }

    fn members(
        &mut self,
        organisation_id: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Keyed<Member>>, Error> {
        let mut stmt = self.0.prepare_cached(&format!(
            "SELECT {MEMBER_COLUMNS} FROM memberships m JOIN accounts a ON a.id = m.account_id
             WHERE m.organisation_id = ?1 AND m.status = 'active' AND m.rowid > ?2 ORDER BY m.rowid LIMIT ?3"
        ))?;
        let rows = stmt
            .query_map(
                params![organisation_id, after, i64::from(limit)],
                member_row,
            )?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn mcp_holder(&mut self, mcp_id: &str) -> Result<Option<McpHolder>, Error> {
        Ok(self
            .0
            .query_row(
                "SELECT m.id, m.account_id, o.id, o.name FROM memberships m JOIN organisations o ON o.id = m.organisation_id WHERE m.mcp_id = ?1",
                [mcp_id],
                |r| {
                    Ok(McpHolder {
                        membership_id: r.get(0)?,
                        account_id: r.get(1)?,
                        organisation_id: r.get(2)?,
                        organisation_name: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    fn has_privilege(&mut self, membership_id: &str, privilege: Privilege) -> Result<bool, Error> {
        Ok(self.0.query_row(
            "SELECT EXISTS (SELECT 1 FROM membership_privileges WHERE membership_id = ?1 AND privilege = ?2)",
            params![membership_id, privilege.as_str()],
            |r| r.get(0),
        )?)
    }

    fn open_privilege_requests(
        &mut self,
        organisation_id: &str,
    ) -> Result<Vec<PrivilegeRequest>, Error> {
        let mut stmt = self.0.prepare_cached(
            "SELECT q.id, q.membership_id, q.privilege, q.note, q.created_at, q.expires_at FROM privilege_requests q
             JOIN memberships m ON m.id = q.membership_id
             WHERE m.organisation_id = ?1 AND m.status = 'active' AND q.ended_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM membership_privileges p WHERE p.membership_id = q.membership_id AND p.privilege = q.privilege)
             ORDER BY q.expires_at, q.created_at LIMIT 200",
        )?;
        let rows = stmt
            .query_map([organisation_id], |r| {
                Ok(PrivilegeRequest {
                    privilege_request_id: r.get(0)?,
                    membership_id: r.get(1)?,
                    privilege: Privilege::parse(&r.get::<_, String>(2)?)
                        .unwrap_or(Privilege::ActionPack),
                    note: r.get(3)?,
                    created_at: from_unix(r.get(4)?),
                    expires_at: r.get::<_, Option<i64>>(5)?.map(from_unix),
                    waiting_on: ApproverRole::for_privilege_request(),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn audit_page(
        &mut self,
        organisation_id: &str,
        before: i64,
        limit: u32,
    ) -> Result<Vec<Keyed<AuditEntry>>, Error> {
        let mut stmt = self.0.prepare_cached(
            "SELECT seq, at, actor_account_id, action, subject, detail FROM audit_log
             WHERE organisation_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3",
        )?;
        let rows = stmt
            .query_map(params![organisation_id, before, i64::from(limit)], |r| {
                Ok((
                    r.get(0)?,
                    AuditEntry {
                        at: from_unix(r.get(1)?),
                        actor_account_id: r.get(2)?,
                        action: r.get(3)?,
                        subject: r.get(4)?,
                        detail: r.get(5)?,
                    },
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn events_for(
        &mut self,
        account_id: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Event>, Error> {
        let mut stmt = self.0.prepare_cached(
            "SELECT e.seq, e.kind, e.at, e.data FROM events e
             WHERE e.seq > ?2 AND (e.account_id = ?1 OR e.admins_of IN (
                SELECT m.organisation_id FROM memberships m WHERE m.account_id = ?1 AND m.status = 'active'
                  AND (m.is_ppc = 1 OR EXISTS (SELECT 1 FROM membership_privileges p WHERE p.membership_id = m.id AND p.privilege = 'global_admin'))))
             ORDER BY e.seq LIMIT ?3",
        )?;
        let rows = stmt
            .query_map(params![account_id, after, limit], |r| {
                let data: String = r.get(3)?;
                Ok(Event {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    at: from_unix(r.get(2)?),
                    data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn latest_event_id(&mut self) -> Result<i64, Error> {
        Ok(self
            .0
            .query_row("SELECT coalesce(max(seq), 0) FROM events", [], |r| r.get(0))?)
    }
}

impl WriteTx for Tx<'_> {
    fn insert_account(&mut self, a: &NewAccount<'_>) -> Result<Insert, Error> {
        unique(self.0.execute(
            "INSERT INTO accounts(id, email, display_name, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![a.id, a.email, a.display_name, a.password_hash, unix(a.created_at)],
        ))
    }

    fn insert_session(
        &mut self,
        session_id: &str,
        account_id: &str,
        h: &SessionHashes<'_>,
        created_at: Timestamp,
    ) -> Result<(), Error> {
        self.0.execute(
            "INSERT INTO sessions(id, account_id, access_hash, access_expires_at, refresh_hash, refresh_expires_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                session_id,
                account_id,
                h.access_hash,
                unix(h.access_expires_at),
                h.refresh_hash,
                unix(h.refresh_expires_at),
                unix(created_at)
            ],
        )?;
        Ok(())
    }

    fn rotate_session(&mut self, session_id: &str, h: &SessionHashes<'_>) -> Result<(), Error> {
        self.0.execute(
            "UPDATE sessions SET access_hash = ?1, access_expires_at = ?2, refresh_hash = ?3, refresh_expires_at = ?4 WHERE id = ?5",
            params![
                h.access_hash,
                unix(h.access_expires_at),
                h.refresh_hash,
                unix(h.refresh_expires_at),
                session_id
            ],
        )?;
        Ok(())
    }

    fn revoke_session(&mut self, session_id: &str, at: Timestamp) -> Result<(), Error> {
        self.0.execute(
            "UPDATE sessions SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
            params![unix(at), session_id],
        )?;
        Ok(())
    }

    fn insert_organisation(&mut self, o: &NewOrganisation<'_>) -> Result<Insert, Error> {
        // Cached: an import inserts many thousands in one transaction.
        let mut stmt = self.0.prepare_cached(
            "INSERT INTO organisations(id, partner_id, name, country, city, address, phone, website, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        unique(stmt.execute(params![
            o.id,
            o.partner_id,
            o.name,
            o.country,
            o.city,
            o.address,
            o.phone,
            o.website,
            unix(o.created_at)
        ]))
    }

    fn set_partner_id(&mut self, organisation_id: &str, partner_id: &str) -> Result<Insert, Error> {
        unique(self.0.execute(
            "UPDATE organisations SET partner_id = ?1 WHERE id = ?2",
            params![partner_id, organisation_id],
        ))
    }

    fn insert_domain(&mut self, d: &DomainRow, added_by: &str) -> Result<Insert, Error> {
        let mut values = domain_values(d);
        values.extend([unix(d.added_at).into(), added_by.to_owned().into()]);
        unique(self.0.execute(
            &format!("INSERT INTO org_domains({DOMAIN_WRITTEN}, added_at, added_by)
                      VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"),
            rusqlite::params_from_iter(values),
        ))
    }

    fn update_domain(&mut self, d: &DomainRow) -> Result<Insert, Error> {
        unique(self.0.execute(
            "UPDATE org_domains SET include_subdomains = ?3, status = ?4, challenge = ?5, previous_challenge = ?6,
                 previous_until = ?7, status_since = ?8, verified_at = ?9, last_checked_at = ?10, last_outcome = ?11,
                 last_detail = ?12, next_check_at = ?13, missing_since = ?14, checks = ?15
             WHERE domain = ?1 AND organisation_id = ?2",
            rusqlite::params_from_iter(domain_values(d)),
        ))
    }

    fn remove_domain(&mut self, organisation_id: &str, domain: &str) -> Result<bool, Error> {
        let n = self.0.execute(
            "DELETE FROM org_domains WHERE domain = ?1 AND organisation_id = ?2",
            params![domain, organisation_id],
        )?;
        Ok(n > 0)
    }

    fn insert_request(&mut self, r: &NewRequest<'_>) -> Result<(), Error> {
        self.0.execute(
            "INSERT INTO association_requests(id, organisation_id, account_id, first_name, last_name, organisation_email, phone, job_title,
                 status, created_at, decided_at, expires_at, reminders_sent, escalated_at, next_step_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            params![
                r.id,
                r.organisation_id,
                r.account_id,
                r.first_name,
                r.last_name,
                r.organisation_email,
                r.phone,
                r.job_title,
                r.status.as_str(),
                unix(r.created_at),
                r.decided_at.map(unix),
                r.step.and_then(|s| s.expires_at).map(unix),
                r.step.map_or(0, |s| s.reminders_sent),
                r.step.and_then(|s| s.escalated_at).map(unix),
                r.step.and_then(|s| s.next_step_at).map(unix),
            ],
        )?;
        Ok(())
    }

    fn advance_request(
        &mut self,
        request_id: &str,
        seen: &PendingStep,
        to: &PendingStep,
    ) -> Result<bool, Error> {
        Ok(self.0.execute(
            "UPDATE association_requests SET expires_at = ?1, reminders_sent = ?2, escalated_at = ?3, next_step_at = ?4
             WHERE id = ?5 AND status = 'pending_approval' AND next_step_at IS ?6 AND reminders_sent = ?7 AND escalated_at IS ?8",
            params![
                to.expires_at.map(unix),
                to.reminders_sent,
                to.escalated_at.map(unix),
                to.next_step_at.map(unix),
                request_id,
                seen.next_step_at.map(unix),
                seen.reminders_sent,
                seen.escalated_at.map(unix),
            ],
        )? == 1)
    }

    fn expire_request(
        &mut self,
        request_id: &str,
        seen: &PendingStep,
        at: Timestamp,
    ) -> Result<bool, Error> {
        Ok(self.0.execute(
            "UPDATE association_requests SET status = 'expired', decided_at = ?1, next_step_at = NULL
             WHERE id = ?2 AND status = 'pending_approval' AND next_step_at IS ?3 AND reminders_sent = ?4 AND escalated_at IS ?5",
            params![unix(at), request_id, seen.next_step_at.map(unix), seen.reminders_sent, seen.escalated_at.map(unix)],
        )? == 1)
    }

    fn record_decision(&mut self, request_id: &str, d: &Decision<'_>) -> Result<(), Error> {
        match d.reason {
            None => self.0.execute(
                "UPDATE association_requests SET status = ?1, decided_at = ?2, decided_by = ?3, on_behalf_of = ?4, next_step_at = NULL WHERE id = ?5",
                params![d.status.as_str(), unix(d.at), d.by, d.on_behalf_of, request_id],
            )?,
            Some(reason) => self.0.execute(
                "UPDATE association_requests SET status = ?1, decided_at = ?2, decided_by = ?3, on_behalf_of = ?4, decision_reason = ?5, next_step_at = NULL WHERE id = ?6",
                params![d.status.as_str(), unix(d.at), d.by, d.on_behalf_of, reason, request_id],
            )?,
        };
        Ok(())
    }

    fn withdraw_request(&mut self, request_id: &str, at: Timestamp) -> Result<(), Error> {
        self.0.execute(
            "UPDATE association_requests SET status = 'withdrawn', decided_at = ?1, next_step_at = NULL WHERE id = ?2",
            params![unix(at), request_id],
        )?;
        Ok(())
    }

    fn activate_request(&mut self, request_id: &str, membership_id: &str) -> Result<(), Error> {
        self.0.execute(
            "UPDATE association_requests SET status = 'active', membership_id = ?1 WHERE id = ?2",
            params![membership_id, request_id],
        )?;
        Ok(())
    }

    fn mark_verification_sent(&mut self, request_id: &str, at: Timestamp) -> Result<(), Error> {
        self.0.execute(
            "UPDATE association_requests SET verification_sent_at = ?1 WHERE id = ?2",
            params![unix(at), request_id],
        )?;
        Ok(())
    }

    fn insert_token(&mut self, t: &NewToken<'_>) -> Result<(), Error> {
        self.0.execute(
            "INSERT INTO verification_tokens(token_hash, request_id, account_id, email, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![t.hash, t.request_id, t.account_id, t.email, unix(t.created_at), unix(t.expires_at)],
        )?;
        Ok(())
    }

    fn revoke_tokens_of_request(&mut self, request_id: &str, at: Timestamp) -> Result<(), Error> {
        self.0.execute(
            "UPDATE verification_tokens SET revoked_at = ?1 WHERE request_id = ?2 AND used_at IS NULL AND revoked_at IS NULL",
            params![unix(at), request_id],
        )?;
        Ok(())
    }

    fn revoke_tokens_of_account_at(
        &mut self,
        account_id: &str,
        organisation_id: &str,
        at: Timestamp,
    ) -> Result<(), Error> {
        self.0.execute(
            "UPDATE verification_tokens SET revoked_at = ?1 WHERE account_id = ?2 AND used_at IS NULL AND revoked_at IS NULL
               AND request_id IN (SELECT id FROM association_requests WHERE organisation_id = ?3)",
            params![unix(at), account_id, organisation_id],
        )?;
        Ok(())
    }

    fn consume_token(&mut self, hash: &[u8], at: Timestamp) -> Result<bool, Error> {
        let consumed = self.0.execute(
            "UPDATE verification_tokens SET used_at = ?1 WHERE token_hash = ?2 AND used_at IS NULL AND revoked_at IS NULL",
            params![unix(at), hash],
        )?;
        Ok(consumed == 1)
    }

    fn upsert_invitation(&mut self, i: &NewInvitation<'_>) -> Result<(), Error> {
        self.0.execute(
            "INSERT INTO invitations(id, organisation_id, email, invited_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(organisation_id, email) DO UPDATE SET used_at = NULL, created_at = excluded.created_at",
            params![i.id, i.organisation_id, i.email, i.invited_by, unix(i.created_at)],
        )?;
        Ok(())
    }

    fn use_invitation(
        &mut self,
        organisation_id: &str,
        email: &str,
        at: Timestamp,
    ) -> Result<(), Error> {
        self.0.execute(
            "UPDATE invitations SET used_at = ?1 WHERE organisation_id = ?2 AND email = ?3 AND used_at IS NULL",
            params![unix(at), organisation_id, email],
        )?;
        Ok(())
    }

    fn insert_membership(&mut self, m: &NewMembership<'_>) -> Result<(), Error> {
        self.0.execute(
            "INSERT INTO memberships(id, organisation_id, account_id, request_id, organisation_email, status, is_ppc,
                 first_name, last_name, job_title, phone, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'active', ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                m.id,
                m.organisation_id,
                m.account_id,
                m.request_id,
                m.organisation_email,
                m.is_ppc,
                m.first_name,
                m.last_name,
                m.job_title,
                m.phone,
                unix(m.created_at)
            ],
        )?;
        Ok(())
    }

    fn update_profile(&mut self, id: &str, c: &ProfileChanges<'_>) -> Result<(), Error> {
        if let Some(v) = c.first_name {
            self.0.execute(
                "UPDATE memberships SET first_name = ?1 WHERE id = ?2",
                params![v, id],
            )?;
        }
        if let Some(v) = c.last_name {
            self.0.execute(
                "UPDATE memberships SET last_name = ?1 WHERE id = ?2",
                params![v, id],
            )?;
        }
        if let Some(v) = c.job_title {
            self.0.execute(
                "UPDATE memberships SET job_title = ?1 WHERE id = ?2",
                params![v, id],
            )?;
        }
        if let Some(v) = c.phone {
            self.0.execute(
                "UPDATE memberships SET phone = ?1 WHERE id = ?2",
                params![v, id],
            )?;
        }
        if let Some(v) = c.preferred_language {
            self.0.execute(
                "UPDATE memberships SET preferred_language = ?1 WHERE id = ?2",
                params![v, id],
            )?;
        }
        Ok(())
    }

    fn set_mcp_id(&mut self, membership_id: &str, mcp_id: Option<&str>) -> Result<(), Error> {
        self.0.execute(
            "UPDATE memberships SET mcp_id = ?1 WHERE id = ?2",
            params![mcp_id, membership_id],
        )?;
        Ok(())
    }

    fn bump_revision(&mut self, membership_id: &str) -> Result<(), Error> {
        self.0.execute(
            "UPDATE memberships SET revision = revision + 1 WHERE id = ?1",
            [membership_id],
        )?;
        Ok(())
    }

    fn end_membership(&mut self, membership_id: &str, at: Timestamp) -> Result<(), Error> {
        self.0.execute(
            "UPDATE memberships SET status = 'removed', removed_at = ?1, mcp_id = NULL, revision = revision + 1 WHERE id = ?2",
            params![unix(at), membership_id],
        )?;
        self.0.execute(
            "DELETE FROM membership_privileges WHERE membership_id = ?1",
            [membership_id],
        )?;
        self.0.execute(
            "UPDATE privilege_requests SET ended_at = ?1, end_reason = 'member_left' WHERE membership_id = ?2 AND ended_at IS NULL",
            params![unix(at), membership_id],
        )?;
        self.0.execute(
            "UPDATE association_requests SET status = 'removed' WHERE membership_id = ?1",
            [membership_id],
        )?;
        Ok(())
    }

    fn grant_privilege(&mut self, g: &NewGrant<'_>) -> Result<bool, Error> {
        let added = self.0.execute(
            "INSERT OR IGNORE INTO membership_privileges(membership_id, privilege, granted_at, granted_by) VALUES (?1, ?2, ?3, ?4)",
            params![g.membership_id, g.privilege.as_str(), unix(g.granted_at), g.granted_by],
        )?;
        Ok(added == 1)
    }

    fn revoke_privilege(
        &mut self,
        membership_id: &str,
        privilege: Privilege,
    ) -> Result<bool, Error> {
        let removed = self.0.execute(
            "DELETE FROM membership_privileges WHERE membership_id = ?1 AND privilege = ?2",
            params![membership_id, privilege.as_str()],
        )?;
        Ok(removed == 1)
    }

    fn insert_privilege_request(&mut self, q: &NewPrivilegeRequest<'_>) -> Result<(), Error> {
        self.0.execute(
            "INSERT INTO privilege_requests(id, membership_id, privilege, note, created_at, expires_at, next_step_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![q.id, q.membership_id, q.privilege.as_str(), q.note, unix(q.created_at), unix(q.expires_at), q.next_step_at.map(unix)],
        )?;
        Ok(())
    }

    fn advance_privilege_request(
        &mut self,
        id: &str,
        seen: &PendingStep,
        to: &PendingStep,
    ) -> Result<bool, Error> {
        Ok(self.0.execute(
            "UPDATE privilege_requests SET expires_at = ?1, reminders_sent = ?2, next_step_at = ?3
             WHERE id = ?4 AND ended_at IS NULL AND expires_at IS ?5 AND reminders_sent = ?6",
            params![
                to.expires_at.map(unix),
                to.reminders_sent,
                to.next_step_at.map(unix),
                id,
                seen.expires_at.map(unix),
                seen.reminders_sent
            ],
        )? == 1)
    }

    fn end_privilege_request(
        &mut self,
        id: &str,
        at: Timestamp,
        reason: &str,
    ) -> Result<bool, Error> {
        Ok(self.0.execute(
            "UPDATE privilege_requests SET ended_at = ?1, end_reason = ?2 WHERE id = ?3 AND ended_at IS NULL",
            params![unix(at), reason, id],
        )? == 1)
    }

    fn add_digest_line(
        &mut self,
        account_id: &str,
        line: &str,
        at: Timestamp,
    ) -> Result<(), Error> {
        self.0.execute(
            "INSERT INTO approver_digests(account_id) VALUES (?1) ON CONFLICT DO NOTHING",
            [account_id],
        )?;
        self.0.execute(
            "INSERT INTO digest_lines(account_id, line, at) VALUES (?1, ?2, ?3)",
            params![account_id, line, unix(at)],
        )?;
        Ok(())
    }

    fn claim_digest(
        &mut self,
        account_id: &str,
        sent_before: Timestamp,
        at: Timestamp,
    ) -> Result<bool, Error> {
        Ok(self.0.execute(
            "UPDATE approver_digests SET last_sent_at = ?1 WHERE account_id = ?2 AND (last_sent_at IS NULL OR last_sent_at <= ?3)",
            params![unix(at), account_id, unix(sent_before)],
        )? == 1)
    }

    fn enqueue_mail(
        &mut self,
        mail: &crate::mail::Mail,
        token_hash: Option<&[u8]>,
        at: Timestamp,
    ) -> Result<(), Error> {
        self.0.execute(
            "INSERT INTO mail_outbox(created_at, to_addr, subject, body, link, token_hash, next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?1)",
            params![unix(at), mail.to, mail.subject, mail.body, mail.link, token_hash],
        )?;
        Ok(())
    }

    fn rekey_mail_token(
        &mut self,
        mail_id: i64,
        old: &[u8],
        new: &[u8],
        now: Timestamp,
    ) -> Result<bool, Error> {
        let rekeyed = self.0.execute(
            "UPDATE verification_tokens SET token_hash = ?1 WHERE token_hash = ?2 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?3",
            params![new, old, unix(now)],
        )? == 1;
        if rekeyed {
            self.0.execute(
                "UPDATE mail_outbox SET token_hash = ?1 WHERE id = ?2",
                params![new, mail_id],
            )?;
        }
        Ok(rekeyed)
    }

    fn lease_mail(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<OutboxMail>, Error> {
        let due = {
            let mut stmt = self.0.prepare_cached(
                "SELECT id, created_at, attempts, to_addr, subject, body, link, token_hash FROM mail_outbox
                 WHERE next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![unix(now), limit], |r| {
                Ok(OutboxMail {
                    id: r.get(0)?,
                    created_at: from_unix(r.get(1)?),
                    attempts: r.get(2)?,
                    mail: crate::mail::Mail {
                        to: r.get(3)?,
                        subject: r.get(4)?,
                        body: r.get(5)?,
                        link: r.get(6)?,
                    },
                    token_hash: r.get(7)?,
                })
            })?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        let mut lease = self
            .0
            .prepare_cached("UPDATE mail_outbox SET next_attempt_at = ?1 WHERE id = ?2")?;
        for m in &due {
            lease.execute(params![unix(lease_until), m.id])?;
        }
        Ok(due)
    }

    fn remove_mail(&mut self, id: i64) -> Result<(), Error> {
        self.0
            .execute("DELETE FROM mail_outbox WHERE id = ?1", params![id])?;
        Ok(())
    }

    fn retry_mail(
        &mut self,
        id: i64,
        attempts: u32,
        next_attempt_at: Timestamp,
    ) -> Result<(), Error> {
        self.0.execute(
            "UPDATE mail_outbox SET attempts = ?1, next_attempt_at = ?2 WHERE id = ?3",
            params![attempts, unix(next_attempt_at), id],
        )?;
        Ok(())
    }

    fn clear_digest_lines(&mut self, account_id: &str, up_to_seq: i64) -> Result<(), Error> {
        self.0.execute(
            "DELETE FROM digest_lines WHERE account_id = ?1 AND seq <= ?2",
            params![account_id, up_to_seq],
        )?;
        Ok(())
    }

    fn put_delegation(&mut self, d: &NewDelegation<'_>) -> Result<(), Error> {
        self.0.execute(
            "INSERT INTO delegations(organisation_id, delegator_membership_id, delegate_membership_id, starts_at, ends_at, started, created_by, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7)
             ON CONFLICT(organisation_id) DO UPDATE SET delegator_membership_id = excluded.delegator_membership_id,
                delegate_membership_id = excluded.delegate_membership_id, starts_at = excluded.starts_at,
                ends_at = excluded.ends_at, started = 0, created_by = excluded.created_by, created_at = excluded.created_at",
            params![d.organisation_id, d.delegator_membership_id, d.delegate_membership_id, unix(d.starts_at), unix(d.ends_at), d.created_by, unix(d.created_at)],
        )?;
        Ok(())
    }

    fn start_delegation(
        &mut self,
        organisation_id: &str,
        delegate_membership_id: &str,
        starts_at: Timestamp,
    ) -> Result<bool, Error> {
        Ok(self.0.execute(
            "UPDATE delegations SET started = 1
             WHERE organisation_id = ?1 AND delegate_membership_id = ?2 AND starts_at = ?3 AND started = 0",
            params![organisation_id, delegate_membership_id, unix(starts_at)],
        )? == 1)
    }

    fn end_delegation(
        &mut self,
        organisation_id: &str,
        delegate_membership_id: &str,
        starts_at: Timestamp,
    ) -> Result<bool, Error> {
        Ok(self.0.execute(
            "DELETE FROM delegations WHERE organisation_id = ?1 AND delegate_membership_id = ?2 AND starts_at = ?3",
            params![organisation_id, delegate_membership_id, unix(starts_at)],
        )? == 1)
    }

    fn insert_handover(&mut self, h: &NewHandover<'_>) -> Result<(), Error> {
        self.0.execute(
            "UPDATE ppc_handovers SET status = 'replaced', decided_at = ?2 WHERE organisation_id = ?1 AND status = 'offered'",
            params![h.organisation_id, unix(h.created_at)],
        )?;
        self.0.execute(
            "INSERT INTO ppc_handovers(id, organisation_id, from_membership_id, to_membership_id, status, created_at)
             VALUES (?1, ?2, ?3, ?4, 'offered', ?5)",
            params![h.id, h.organisation_id, h.from_membership_id, h.to_membership_id, unix(h.created_at)],
        )?;
        Ok(())
    }

    fn close_handover(
        &mut self,
        handover_id: &str,
        status: crate::model::HandoverStatus,
        at: Timestamp,
    ) -> Result<bool, Error> {
        Ok(self.0.execute(
            "UPDATE ppc_handovers SET status = ?2, decided_at = ?3 WHERE id = ?1 AND status = 'offered'",
            params![handover_id, status.as_str(), unix(at)],
        )? == 1)
    }

    fn set_ppc(&mut self, membership_id: &str, is_ppc: bool) -> Result<(), Error> {
        self.0.execute(
            "UPDATE memberships SET is_ppc = ?2 WHERE id = ?1",
            params![membership_id, is_ppc],
        )?;
        Ok(())
    }

    fn append_audit(&mut self, e: &AuditRecord<'_>) -> Result<(), Error> {
        self.0.execute(
            "INSERT INTO audit_log(at, organisation_id, actor_account_id, action, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![unix(e.at), e.organisation_id, e.actor_account_id, e.action, e.subject, e.detail],
        )?;
        Ok(())
    }

    fn emit_event(&mut self, e: &NewEvent<'_>) -> Result<(), Error> {
        let (account, admins_of) = match e.audience {
            Audience::Account(a) => (Some(a), None),
            Audience::AdminsOf(o) => (None, Some(o)),
        };
        self.0.execute(
            "INSERT INTO events(at, kind, account_id, admins_of, data) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![unix(e.at), e.kind, account, admins_of, e.data.to_string()],
        )?;
        Ok(())
    }

    fn idempotency_salt(&mut self, fresh: &[u8]) -> Result<Vec<u8>, Error> {
        self.0.execute(
            "INSERT OR IGNORE INTO idempotency_meta(name, value) VALUES ('salt', ?1)",
            [fresh],
        )?;
        Ok(self.0.query_row(
            "SELECT value FROM idempotency_meta WHERE name = 'salt'",
            [],
            |r| r.get(0),
        )?)
    }

    fn forget_idempotency_keys(&mut self, before: i64) -> Result<(), Error> {
        self.0.execute(
            "DELETE FROM idempotency_keys WHERE created_at < ?1",
            [before],
        )?;
        Ok(())
    }

    fn insert_idempotency_key(&mut self, k: &NewKey<'_>) -> Result<Insert, Error> {
        unique(self.0.execute(
            "INSERT INTO idempotency_keys(scope, key, fingerprint, holder, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![k.scope, k.key, k.fingerprint, k.holder, k.created_at],
        ))
    }

    fn idempotency_key(&mut self, scope: &str, key: &str) -> Result<Option<KeyRecord>, Error> {
        // The write holds SQLite's write lock (`BEGIN IMMEDIATE`): the row cannot change under it.
        Ok(self
            .0
            .query_row(
                "SELECT fingerprint, created_at, applied, status, headers, body FROM idempotency_keys WHERE scope = ?1 AND key = ?2",
                params![scope, key],
                |r| {
                    let status: Option<u16> = r.get(3)?;
                    Ok(KeyRecord {
                        fingerprint: r.get(0)?,
                        created_at: r.get(1)?,
                        applied: r.get(2)?,
                        answer: match status {
                            Some(status) => Some(StoredAnswer {
                                status,
                                headers: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                                body: r.get::<_, Option<Vec<u8>>>(5)?.unwrap_or_default(),
                            }),
                            None => None,
                        },
                    })
                },
            )
            .optional()?)
    }

    fn take_over_idempotency_key(
        &mut self,
        scope: &str,
        key: &str,
        holder: &[u8],
        at: i64,
    ) -> Result<(), Error> {
        self.0.execute(
            "UPDATE idempotency_keys SET holder = ?3, created_at = ?4
             WHERE scope = ?1 AND key = ?2 AND applied = 0 AND status IS NULL",
            params![scope, key, holder, at],
        )?;
        Ok(())
    }

    fn consume_idempotency_key(&mut self, g: &KeyGuard) -> Result<bool, Error> {
        Ok(self.0.execute(
            "UPDATE idempotency_keys SET applied = 1 WHERE scope = ?1 AND key = ?2 AND holder = ?3",
            params![g.scope, g.key, g.holder],
        )? == 1)
    }

    fn record_idempotent_answer(&mut self, g: &KeyGuard, a: &StoredAnswer) -> Result<bool, Error> {
        Ok(self.0.execute(
            "UPDATE idempotency_keys SET status = ?4, headers = ?5, body = ?6
             WHERE scope = ?1 AND key = ?2 AND holder = ?3 AND status IS NULL",
            params![g.scope, g.key, g.holder, a.status, a.headers, a.body],
        )? == 1)
    }

    fn release_idempotency_key(&mut self, g: &KeyGuard) -> Result<bool, Error> {
        Ok(self.0.execute(
            "DELETE FROM idempotency_keys
             WHERE scope = ?1 AND key = ?2 AND holder = ?3 AND applied = 0 AND status IS NULL",
            params![g.scope, g.key, g.holder],
        )? == 1)
    }
}

/// A delegation with its organisation and both people's names.
const DELEGATION_SELECT: &str = "SELECT d.organisation_id, o.name, d.delegator_membership_id, fa.id, fa.display_name,
        d.delegate_membership_id, ta.id, ta.display_name, d.starts_at, d.ends_at, d.started
    FROM delegations d JOIN organisations o ON o.id = d.organisation_id
    JOIN memberships fm ON fm.id = d.delegator_membership_id JOIN accounts fa ON fa.id = fm.account_id
    JOIN memberships tm ON tm.id = d.delegate_membership_id JOIN accounts ta ON ta.id = tm.account_id";

fn delegation_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DelegationRow> {
    Ok(DelegationRow {
        organisation_id: r.get(0)?,
        organisation_name: r.get(1)?,
        delegator_membership_id: r.get(2)?,
        delegator_account_id: r.get(3)?,
        delegator_name: r.get(4)?,
        delegate_membership_id: r.get(5)?,
        delegate_account_id: r.get(6)?,
        delegate_name: r.get(7)?,
        starts_at: from_unix(r.get(8)?),
        ends_at: from_unix(r.get(9)?),
        started: r.get(10)?,
    })
}

/// A handover with its organisation and both people's names.
const HANDOVER_SELECT: &str =
    "SELECT h.id, h.organisation_id, o.name, h.from_membership_id, fa.id, fa.display_name,
        h.to_membership_id, ta.id, ta.display_name, h.status, h.created_at, h.decided_at
    FROM ppc_handovers h JOIN organisations o ON o.id = h.organisation_id
    JOIN memberships fm ON fm.id = h.from_membership_id JOIN accounts fa ON fa.id = fm.account_id
    JOIN memberships tm ON tm.id = h.to_membership_id JOIN accounts ta ON ta.id = tm.account_id";

fn handover_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<HandoverRow> {
    Ok(HandoverRow {
        handover_id: r.get(0)?,
        organisation_id: r.get(1)?,
        organisation_name: r.get(2)?,
        from_membership_id: r.get(3)?,
        from_account_id: r.get(4)?,
        from_name: r.get(5)?,
        to_membership_id: r.get(6)?,
        to_account_id: r.get(7)?,
        to_name: r.get(8)?,
        status: crate::model::HandoverStatus::parse(&r.get::<_, String>(9)?)
            .unwrap_or(crate::model::HandoverStatus::Replaced),
        created_at: from_unix(r.get(10)?),
        decided_at: r.get::<_, Option<i64>>(11)?.map(from_unix),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts_query_quotes_each_word_as_a_required_prefix() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            fts_query(&words(&["contoso", "pty"])),
            "\"contoso\"* AND \"pty\"*"
        );
        assert_eq!(fts_query(&words(&["a"])), "\"a\"*");
    }

    #[test]
    fn writers_take_their_turns_in_the_order_they_arrive() {
        use std::sync::Arc;
        let queue = Arc::new(WriteQueue::default());
        let order = Arc::new(Mutex::new(Vec::new()));
        let first = queue.wait_turn();
        let mut waiting = Vec::new();
        for writer in 1..=5u64 {
            let (q, o) = (queue.clone(), order.clone());
            waiting.push(std::thread::spawn(move || {
                let _turn = q.wait_turn();
                o.lock().unwrap().push(writer);
            }));
            // The next writer starts only once this one holds its ticket: arrival order is known.
            while queue.turns.lock().unwrap().issued <= writer {
                std::thread::yield_now();
            }
        }
        assert!(order.lock().unwrap().is_empty(), "all wait for the first");
        drop(first);
        for w in waiting {
            w.join().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![1, 2, 3, 4, 5]);
    }

    #[test]
    fn a_writer_that_panics_passes_its_turn_on() {
        let queue = WriteQueue::default();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _turn = queue.wait_turn();
            panic!("a rule panicked mid-write");
        }));
        assert!(panicked.is_err());
        // Would wait for ever if the panicking writer had kept its turn.
        drop(queue.wait_turn());
        assert_eq!(queue.turns.lock().unwrap().serving, 2);
    }
}
