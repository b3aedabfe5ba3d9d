//! The questions and changes of the rules in PostgreSQL's SQL: statement for statement the
//! SQLite store's (`membership/src/store/sqlite.rs`), with the same results.
//!
//! Differences that keep the results the same: text that is ordered is ordered `COLLATE "C"`
//! (bytes, as SQLite's BINARY); country and city compare through `nocase()` (A-Z only, as
//! SQLite's NOCASE); rowid orderings are `seq` identity columns; and an insert that may meet a
//! unique value uses `ON CONFLICT DO NOTHING` (or a savepoint), because a failed statement would
//! abort the whole PostgreSQL transaction.
use std::collections::{BTreeSet, HashMap};

use membership::domain::{directory_words, Privilege};
use membership::store::keys::{KeyGuard, KeyRecord, NewKey, StoredAnswer};
use membership::store::{
    Approver, Audience, AuditRecord, Credentials, Decision, DelegationRow, DigestLine,
    DirectoryQuery, DomainProof, DomainRow, DuePrivilegeRequest, HandoverRow, Insert, Keyed,
    McpHolder, MembershipFacts, NewAccount, NewDelegation, NewEvent, NewGrant, NewHandover,
    NewInvitation, NewMembership, NewOrganisation, NewPrivilegeRequest, NewRequest, NewToken,
    OutboxMail, PendingRow, PendingStep, ProfileChanges, ReadTx, RequestContact, SessionByAccess,
    SessionHashes, TokenRecord, WriteTx,
};
use membership::{
    Account, ApproverRole, AssociationRequest, AuditEntry, DomainStatus, Error, Event, LastSeen,
    Member, MembershipStatus, MembershipSummary, OrganisationRef, OrganisationSummary,
    PrivilegeRequest, Profile, RequestStatus, Role, SeenOutcome, Timestamp,
};
use postgres::error::SqlState;
use postgres::types::{FromSql, ToSql};
use postgres::{Row, Statement, Transaction};

use crate::{driver_error, driver_error_ref, Failure};

/// The advisory lock key that orders event ids (any fixed number; this one spells "pdevents").
const EVENTS_LOCK: i64 = 0x7064_6576_656e_7473;

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// One transaction, with its connection's prepared statements. The first failed statement is
/// kept: it aborted the transaction, and the store decides from it whether to run the write
/// again.
pub(crate) struct Tx<'a, 'c> {
    tx: &'a mut Transaction<'c>,
    statements: &'a mut HashMap<String, Statement>,
    failure: Option<Failure>,
}

impl<'a, 'c> Tx<'a, 'c> {
    /// One shared rate-limit bucket: `take` (see `TAKE_TOKEN` in lib.rs), then `now` when
    /// refused, to say how long until a token is back.
    pub(crate) fn take_token(
        &mut self,
        take: &str,
        now: &str,
        name: &str,
        capacity: f64,
        per_sec: f64,
    ) -> Result<Result<(), std::time::Duration>, Error> {
        if !self.rows(take, &[&name, &capacity, &per_sec])?.is_empty() {
            return Ok(Ok(()));
        }
        let have: f64 = self.value(now, &[&name, &capacity, &per_sec])?;
        let wait = ((1.0 - have) / per_sec.max(f64::MIN_POSITIVE)).max(0.0);
        Ok(Err(std::time::Duration::from_secs_f64(wait.min(3600.0))))
    }

    pub(crate) fn new(
        tx: &'a mut Transaction<'c>,
        statements: &'a mut HashMap<String, Statement>,
    ) -> Self {
        Self {
            tx,
            statements,
            failure: None,
        }
    }

    pub(crate) fn take_failure(&mut self) -> Option<Failure> {
        self.failure.take()
    }

    fn failed(&mut self, e: postgres::Error) -> Error {
        record(&mut self.failure, e)
    }

    fn statement(&mut self, sql: &str) -> Result<Statement, Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        match self.tx.prepare(sql) {
            Ok(s) => {
                self.statements.insert(sql.to_owned(), s.clone());
                Ok(s)
            }
            Err(e) => Err(self.failed(e)),
        }
    }

    fn rows(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, Error> {
        let s = self.statement(sql)?;
        self.tx.query(&s, params).map_err(|e| self.failed(e))
    }

    fn opt(&mut self, sql: &str, params: Params<'_>) -> Result<Option<Row>, Error> {
        let s = self.statement(sql)?;
        self.tx.query_opt(&s, params).map_err(|e| self.failed(e))
    }

    fn one(&mut self, sql: &str, params: Params<'_>) -> Result<Row, Error> {
        let s = self.statement(sql)?;
        self.tx.query_one(&s, params).map_err(|e| self.failed(e))
    }

    fn exec(&mut self, sql: &str, params: Params<'_>) -> Result<u64, Error> {
        let s = self.statement(sql)?;
        self.tx.execute(&s, params).map_err(|e| self.failed(e))
    }

    fn value<T: for<'r> FromSql<'r>>(&mut self, sql: &str, params: Params<'_>) -> Result<T, Error> {
        get(&self.one(sql, params)?, 0)
    }

    /// An update that must keep a value unique: `Duplicate` when it would not, with the
    /// transaction still usable (the failed statement is rolled back to a savepoint).
    fn unique_update(&mut self, sql: &str, params: Params<'_>) -> Result<Insert, Error> {
        let s = self.statement(sql)?;
        let failure = &mut self.failure;
        let mut savepoint = self
            .tx
            .savepoint("unique_value")
            .map_err(|e| record(failure, e))?;
        match savepoint.execute(&s, params) {
            Ok(_) => {
                savepoint.commit().map_err(|e| record(failure, e))?;
                Ok(Insert::Done)
            }
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                savepoint.rollback().map_err(|e| record(failure, e))?;
                Ok(Insert::Duplicate)
            }
            Err(e) => Err(record(failure, e)),
        }
    }
}

/// Keeps the first failed statement of a transaction and answers the error for the rule.
fn record(failure: &mut Option<Failure>, e: postgres::Error) -> Error {
    let error = driver_error_ref(&e);
    if failure.is_none() {
        *failure = Some(Failure::from_driver(e));
    }
    error
}

fn get<T: for<'r> FromSql<'r>>(row: &Row, i: usize) -> Result<T, Error> {
    row.try_get(i).map_err(driver_error)
}

fn unix(t: Timestamp) -> i64 {
    t.unix_timestamp()
}

fn from_unix(secs: i64) -> Timestamp {
    Timestamp::from_unix_timestamp(secs).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn inserted(rows: u64) -> Insert {
    if rows == 0 {
        Insert::Duplicate
    } else {
        Insert::Done
    }
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

/// The smallest string after every string that starts with `prefix` (in code point order,
/// which is "C" collation's byte order), or `None` when there is none. Not `prefix ||
/// chr(1114111)`: U+10FFFF is itself a token character of unicode61, so a word may hold it.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (u32::from(last) + 1..=0x10FFFF).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

const SUMMARY_COLUMNS: &str = "o.seq, o.id, o.partner_id, o.name, o.city, o.country";

/// The columns [`DomainValues::params`] gives, in its order (`$1` to `$15`).
const DOMAIN_WRITTEN: &str = "domain, organisation_id, include_subdomains, status, challenge, previous_challenge,
    previous_until, status_since, verified_at, last_checked_at, last_outcome, last_detail, next_check_at, missing_since, checks";

/// A hold's values for [`DOMAIN_WRITTEN`] as the driver takes them, the same for an insert and an
/// update.
struct DomainValues<'a> {
    row: &'a DomainRow,
    status: &'static str,
    times: [Option<i64>; 5],
    status_since: i64,
    outcome: Option<&'static str>,
    detail: Option<&'a str>,
    checks: i32,
}

impl<'a> DomainValues<'a> {
    fn of(row: &'a DomainRow) -> Self {
        let p = &row.proof;
        Self {
            row,
            status: p.status.as_str(),
            times: [
                p.previous_until.map(unix),
                p.verified_at.map(unix),
                p.last_checked_at.map(unix),
                p.next_check_at.map(unix),
                p.missing_since.map(unix),
            ],
            status_since: unix(p.status_since),
            outcome: p.last_seen.as_ref().map(|l| l.outcome.as_str()),
            detail: p.last_seen.as_ref().map(|l| l.detail.as_str()),
            checks: i32::try_from(p.checks).unwrap_or(i32::MAX),
        }
    }

    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        let r = self.row;
        let [previous_until, verified_at, last_checked_at, next_check_at, missing_since] =
            &self.times;
        vec![
            &r.domain,
            &r.organisation_id,
            &r.include_subdomains,
            &self.status,
            &r.proof.challenge,
            &r.proof.previous_challenge,
            previous_until,
            &self.status_since,
            verified_at,
            last_checked_at,
            &self.outcome,
            &self.detail,
            next_check_at,
            missing_since,
            &self.checks,
        ]
    }
}

/// The columns [`domain_row`] reads, in its order.
const DOMAIN_COLUMNS: &str = "domain, organisation_id, include_subdomains, added_at, status, challenge, previous_challenge,
    previous_until, status_since, verified_at, last_checked_at, last_outcome, last_detail, next_check_at, missing_since, checks";

fn domain_row(r: &Row) -> Result<DomainRow, Error> {
    let when = |i: usize| -> Result<Option<Timestamp>, Error> {
        Ok(get::<Option<i64>>(r, i)?.map(from_unix))
    };
    let status: String = get(r, 4)?;
    let outcome: Option<String> = get(r, 11)?;
    let detail: Option<String> = get(r, 12)?;
    let checks: i32 = get(r, 15)?;
    Ok(DomainRow {
        domain: get(r, 0)?,
        organisation_id: get(r, 1)?,
        include_subdomains: get(r, 2)?,
        added_at: from_unix(get(r, 3)?),
        proof: DomainProof {
            // The table's CHECK constraints allow only the spellings these parse.
            status: DomainStatus::parse(&status).unwrap_or(DomainStatus::Pending),
            challenge: get(r, 5)?,
            previous_challenge: get(r, 6)?,
            previous_until: when(7)?,
            status_since: from_unix(get(r, 8)?),
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
            checks: u32::try_from(checks).unwrap_or(0),
        },
    })
}

fn summary(r: &Row) -> Result<Keyed<OrganisationSummary>, Error> {
    Ok((
        get(r, 0)?,
        OrganisationSummary {
            organisation_id: get(r, 1)?,
            partner_id: get(r, 2)?,
            name: get(r, 3)?,
            city: get(r, 4)?,
            country: get(r, 5)?,
        },
    ))
}

macro_rules! request_columns {
    () => {
        "r.seq, r.id, r.organisation_id, o.name, r.account_id, r.first_name, r.last_name, r.organisation_email,
         r.status, r.created_at, r.decided_at, r.decision_reason, r.membership_id,
         r.expires_at, r.escalated_at, r.decided_by, r.on_behalf_of"
    };
}

fn request_row(r: &Row) -> Result<Keyed<AssociationRequest>, Error> {
    let status: String = get(r, 8)?;
    let status = RequestStatus::parse(&status).unwrap_or(RequestStatus::PendingApproval);
    let pending = status == RequestStatus::PendingApproval;
    let escalated = get::<Option<i64>>(r, 14)?.is_some();
    Ok((
        get(r, 0)?,
        AssociationRequest {
            request_id: get(r, 1)?,
            organisation_id: get(r, 2)?,
            organisation_name: get(r, 3)?,
            account_id: get(r, 4)?,
            first_name: get(r, 5)?,
            last_name: get(r, 6)?,
            organisation_email: get(r, 7)?,
            status,
            created_at: from_unix(get(r, 9)?),
            decided_at: get::<Option<i64>>(r, 10)?.map(from_unix),
            decision_reason: get(r, 11)?,
            membership_id: get(r, 12)?,
            expires_at: if pending {
                get::<Option<i64>>(r, 13)?.map(from_unix)
            } else {
                None
            },
            waiting_on: ApproverRole::waiting_on(status, escalated),
            decided_by: get(r, 15)?,
            on_behalf_of: get(r, 16)?,
        },
    ))
}

const PENDING_COLUMNS: &str = "r.id, r.organisation_id, o.name, r.account_id, r.first_name, r.last_name, r.organisation_email,
     r.created_at, r.expires_at, r.reminders_sent, r.escalated_at, r.next_step_at";

fn pending_row(r: &Row) -> Result<PendingRow, Error> {
    let at = |i: usize| get::<Option<i64>>(r, i).map(|t| t.map(from_unix));
    Ok(PendingRow {
        request_id: get(r, 0)?,
        organisation_id: get(r, 1)?,
        organisation_name: get(r, 2)?,
        account_id: get(r, 3)?,
        first_name: get(r, 4)?,
        last_name: get(r, 5)?,
        organisation_email: get(r, 6)?,
        created_at: from_unix(get(r, 7)?),
        step: PendingStep {
            expires_at: at(8)?,
            reminders_sent: get::<i32>(r, 9)?.clamp(0, 2) as u8,
            escalated_at: at(10)?,
            next_step_at: at(11)?,
        },
    })
}

macro_rules! member_columns {
    () => {
        "m.seq, m.id, m.account_id, a.display_name, m.organisation_email, m.status, m.is_ppc,
         (SELECT string_agg(privilege, ',') FROM membership_privileges p WHERE p.membership_id = m.id)"
    };
}

fn member_row(r: &Row) -> Result<Keyed<Member>, Error> {
    Ok((
        get(r, 0)?,
        Member {
            membership_id: get(r, 1)?,
            account_id: get(r, 2)?,
            display_name: get(r, 3)?,
            organisation_email: get(r, 4)?,
            status: if get::<String>(r, 5)? == "active" {
                MembershipStatus::Active
            } else {
                MembershipStatus::Removed
            },
            roles: roles(get(r, 6)?),
            privileges: privileges_from(get(r, 7)?),
        },
    ))
}

fn account_row(r: &Row) -> Result<Account, Error> {
    Ok(Account {
        account_id: get(r, 0)?,
        email: get(r, 1)?,
        display_name: get(r, 2)?,
    })
}

impl ReadTx for Tx<'_, '_> {
    fn has_accounts(&mut self) -> Result<bool, Error> {
        self.value("SELECT EXISTS (SELECT 1 FROM accounts)", &[])
    }

    fn account(&mut self, account_id: &str) -> Result<Option<Account>, Error> {
        self.opt(
            "SELECT id, email, display_name FROM accounts WHERE id = $1",
            &[&account_id],
        )?
        .as_ref()
        .map(account_row)
        .transpose()
    }

    fn account_by_email(&mut self, email: &str) -> Result<Option<Credentials>, Error> {
        self.opt(
            "SELECT id, email, display_name, password_hash FROM accounts WHERE email = $1",
            &[&email],
        )?
        .map(|r| {
            Ok(Credentials {
                account: account_row(&r)?,
                password_hash: get(&r, 3)?,
            })
        })
        .transpose()
    }

    fn session_by_access(&mut self, access_hash: &[u8]) -> Result<Option<SessionByAccess>, Error> {
        self.opt(
            "SELECT id, account_id, access_expires_at FROM sessions WHERE access_hash = $1 AND revoked_at IS NULL",
            &[&access_hash],
        )?
        .map(|r| {
            Ok(SessionByAccess {
                session_id: get(&r, 0)?,
                account_id: get(&r, 1)?,
                access_expires_at: from_unix(get(&r, 2)?),
            })
        })
        .transpose()
    }

    fn session_by_refresh(
        &mut self,
        refresh_hash: &[u8],
        now: Timestamp,
    ) -> Result<Option<(String, Account)>, Error> {
        self.opt(
            "SELECT s.id, a.id, a.email, a.display_name FROM sessions s JOIN accounts a ON a.id = s.account_id
             WHERE s.refresh_hash = $1 AND s.revoked_at IS NULL AND s.refresh_expires_at > $2",
            &[&refresh_hash, &unix(now)],
        )?
        .map(|r| {
            Ok((
                get(&r, 0)?,
                Account {
                    account_id: get(&r, 1)?,
                    email: get(&r, 2)?,
                    display_name: get(&r, 3)?,
                },
            ))
        })
        .transpose()
    }

    fn active_memberships_of(&mut self, account_id: &str) -> Result<Vec<MembershipSummary>, Error> {
        self.rows(
            "SELECT m.id, o.id, o.name, o.partner_id, m.is_ppc, m.organisation_email,
                    (SELECT string_agg(privilege, ',') FROM membership_privileges p WHERE p.membership_id = m.id)
             FROM memberships m JOIN organisations o ON o.id = m.organisation_id
             WHERE m.account_id = $1 AND m.status = 'active' ORDER BY o.name COLLATE \"C\"",
            &[&account_id],
        )?
        .iter()
        .map(|r| {
            Ok(MembershipSummary {
                membership_id: get(r, 0)?,
                organisation: OrganisationRef {
                    organisation_id: get(r, 1)?,
                    name: get(r, 2)?,
                    partner_id: get(r, 3)?,
                },
                status: MembershipStatus::Active,
                roles: roles(get(r, 4)?),
                privileges: privileges_from(get(r, 6)?),
                organisation_email: get(r, 5)?,
            })
        })
        .collect()
    }

    fn mail_addresses_of(&mut self, account_id: &str) -> Result<Vec<String>, Error> {
        // SQLite answers a UNION in ascending (BINARY) order; so does this.
        self.rows(
            "SELECT email FROM accounts WHERE id = $1
             UNION SELECT organisation_email FROM association_requests WHERE account_id = $1
             ORDER BY 1 COLLATE \"C\"",
            &[&account_id],
        )?
        .iter()
        .map(|r| get(r, 0))
        .collect()
    }

    fn organisation_exists(&mut self, organisation_id: &str) -> Result<bool, Error> {
        self.value(
            "SELECT EXISTS (SELECT 1 FROM organisations WHERE id = $1)",
            &[&organisation_id],
        )
    }

    fn organisation_name(&mut self, organisation_id: &str) -> Result<Option<String>, Error> {
        self.opt(
            "SELECT name FROM organisations WHERE id = $1",
            &[&organisation_id],
        )?
        .map(|r| get(&r, 0))
        .transpose()
    }

    fn organisation_summary(
        &mut self,
        organisation_id: &str,
    ) -> Result<Option<OrganisationSummary>, Error> {
        let sql = format!("SELECT {SUMMARY_COLUMNS} FROM organisations o WHERE o.id = $1");
        Ok(self
            .opt(&sql, &[&organisation_id])?
            .as_ref()
            .map(summary)
            .transpose()?
            .map(|(_, s)| s))
    }

    fn partner_id_taken(&mut self, partner_id: &str) -> Result<bool, Error> {
        self.value(
            "SELECT EXISTS (SELECT 1 FROM organisations WHERE partner_id = $1)",
            &[&partner_id],
        )
    }

    fn lookup(
        &mut self,
        query: &DirectoryQuery<'_>,
    ) -> Result<Vec<Keyed<OrganisationSummary>>, Error> {
        // Each word must be the prefix of one of the organisation's words: a range of the
        // (word, seq) index under "C" collation, exactly FTS5's prefix match on SQLite.
        let ends: Vec<Option<String>> = query.words.iter().map(|w| prefix_end(w)).collect();
        let limit = i64::from(query.limit);
        let mut args: Vec<&(dyn ToSql + Sync)> = vec![&query.after];
        let mut sql = format!("SELECT {SUMMARY_COLUMNS} FROM organisations o WHERE o.seq > $1");
        for (word, end) in query.words.iter().zip(&ends) {
            args.push(word);
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM organisation_words w WHERE w.seq = o.seq AND w.word >= ${} COLLATE \"C\"",
                args.len()
            ));
            if let Some(end) = end {
                args.push(end);
                sql.push_str(&format!(" AND w.word < ${} COLLATE \"C\"", args.len()));
            }
            sql.push(')');
        }
        if let Some(p) = &query.partner_id {
            args.push(p);
            sql.push_str(&format!(" AND o.partner_id = ${}", args.len()));
        }
        if let Some(c) = &query.country {
            args.push(c);
            sql.push_str(&format!(" AND nocase(o.country) = nocase(${})", args.len()));
        }
        if let Some(c) = &query.city {
            args.push(c);
            sql.push_str(&format!(" AND nocase(o.city) = nocase(${})", args.len()));
        }
        args.push(&limit);
        sql.push_str(&format!(" ORDER BY o.seq LIMIT ${}", args.len()));
        self.rows(&sql, &args)?.iter().map(summary).collect()
    }

    fn domain_rows(&mut self, organisation_id: &str) -> Result<Vec<DomainRow>, Error> {
        self.rows(
            &format!("SELECT {DOMAIN_COLUMNS} FROM org_domains WHERE organisation_id = $1 ORDER BY domain COLLATE \"C\""),
            &[&organisation_id],
        )?
        .iter()
        .map(domain_row)
        .collect()
    }

    fn domain_holders(&mut self, domain: &str) -> Result<Vec<DomainRow>, Error> {
        self.rows(
            &format!("SELECT {DOMAIN_COLUMNS} FROM org_domains WHERE domain = $1 ORDER BY organisation_id COLLATE \"C\""),
            &[&domain],
        )?
        .iter()
        .map(domain_row)
        .collect()
    }

    fn due_domains(&mut self, now: Timestamp, limit: u32) -> Result<Vec<DomainRow>, Error> {
        let limit = i64::from(limit);
        self.rows(
            &format!(
                "SELECT {DOMAIN_COLUMNS} FROM org_domains WHERE next_check_at IS NOT NULL AND next_check_at <= $1
                 ORDER BY next_check_at, domain COLLATE \"C\", organisation_id COLLATE \"C\" LIMIT $2"
            ),
            &[&unix(now), &limit],
        )?
        .iter()
        .map(domain_row)
        .collect()
    }

    fn due_requests(&mut self, now: Timestamp, limit: u32) -> Result<Vec<PendingRow>, Error> {
        let limit = i64::from(limit);
        self.rows(
            &format!(
                "SELECT {PENDING_COLUMNS} FROM association_requests r JOIN organisations o ON o.id = r.organisation_id
                 WHERE r.next_step_at IS NOT NULL AND r.next_step_at <= $1 AND r.status = 'pending_approval'
                 ORDER BY r.next_step_at, r.seq LIMIT $2"
            ),
            &[&unix(now), &limit],
        )?
        .iter()
        .map(pending_row)
        .collect()
    }

    fn pending_request(&mut self, request_id: &str) -> Result<Option<PendingRow>, Error> {
        self.opt(
            &format!(
                "SELECT {PENDING_COLUMNS} FROM association_requests r JOIN organisations o ON o.id = r.organisation_id
                 WHERE r.id = $1 AND r.status = 'pending_approval'"
            ),
            &[&request_id],
        )?
        .as_ref()
        .map(pending_row)
        .transpose()
    }

    fn approvers(
        &mut self,
        organisation_id: &str,
        global_admins: bool,
    ) -> Result<Vec<Approver>, Error> {
        self.rows(
            "SELECT a.id, a.email, a.display_name, m.is_ppc FROM memberships m JOIN accounts a ON a.id = m.account_id
             WHERE m.organisation_id = $1 AND m.status = 'active'
               AND (m.is_ppc OR ($2 AND EXISTS (SELECT 1 FROM membership_privileges p
                    WHERE p.membership_id = m.id AND p.privilege = 'global_admin')))
             ORDER BY m.is_ppc DESC, m.seq",
            &[&organisation_id, &global_admins],
        )?
        .iter()
        .map(|r| {
            Ok(Approver {
                account_id: get(r, 0)?,
                email: get(r, 1)?,
                display_name: get(r, 2)?,
                role: if get(r, 3)? { ApproverRole::Ppc } else { ApproverRole::GlobalAdmin },
            })
        })
        .collect()
    }

    fn due_privilege_requests(
        &mut self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<DuePrivilegeRequest>, Error> {
        let limit = i64::from(limit);
        self.rows(
            "SELECT q.id, q.membership_id, m.account_id, m.organisation_id, o.name, q.privilege, q.created_at, q.expires_at,
                    q.reminders_sent, q.next_step_at, trim(m.first_name || ' ' || m.last_name)
             FROM privilege_requests q JOIN memberships m ON m.id = q.membership_id JOIN organisations o ON o.id = m.organisation_id
             WHERE q.ended_at IS NULL AND (q.expires_at IS NULL OR coalesce(q.next_step_at, q.expires_at) <= $1)
               AND NOT EXISTS (SELECT 1 FROM membership_privileges p WHERE p.membership_id = q.membership_id AND p.privilege = q.privilege)
             ORDER BY coalesce(q.next_step_at, q.expires_at) NULLS FIRST, q.created_at, q.id COLLATE \"C\" LIMIT $2",
            &[&unix(now), &limit],
        )?
        .iter()
        .map(|r| {
            Ok(DuePrivilegeRequest {
                privilege_request_id: get(r, 0)?,
                membership_id: get(r, 1)?,
                account_id: get(r, 2)?,
                organisation_id: get(r, 3)?,
                organisation_name: get(r, 4)?,
                privilege: Privilege::parse(&get::<String>(r, 5)?).unwrap_or(Privilege::ActionPack),
                created_at: from_unix(get(r, 6)?),
                expires_at: get::<Option<i64>>(r, 7)?.map(from_unix),
                reminders_sent: get::<i32>(r, 8)?.clamp(0, 2) as u8,
                next_step_at: get::<Option<i64>>(r, 9)?.map(from_unix),
                member_name: get(r, 10)?,
            })
        })
        .collect()
    }

    fn due_digests(&mut self, sent_before: Timestamp, limit: u32) -> Result<Vec<String>, Error> {
        let limit = i64::from(limit);
        self.rows(
            "SELECT d.account_id FROM approver_digests d
             WHERE (d.last_sent_at IS NULL OR d.last_sent_at <= $1)
               AND EXISTS (SELECT 1 FROM digest_lines l WHERE l.account_id = d.account_id)
             ORDER BY d.account_id COLLATE \"C\" LIMIT $2",
            &[&unix(sent_before), &limit],
        )?
        .iter()
        .map(|r| get(r, 0))
        .collect()
    }

    fn digest_lines(&mut self, account_id: &str) -> Result<Vec<DigestLine>, Error> {
        self.rows(
            "SELECT seq, line FROM digest_lines WHERE account_id = $1 ORDER BY seq LIMIT 500",
            &[&account_id],
        )?
        .iter()
        .map(|r| {
            Ok(DigestLine {
                seq: get(r, 0)?,
                line: get(r, 1)?,
            })
        })
        .collect()
    }

    fn delegation(&mut self, organisation_id: &str) -> Result<Option<DelegationRow>, Error> {
        self.opt(
            &format!("{DELEGATION_SELECT} WHERE d.organisation_id = $1"),
            &[&organisation_id],
        )?
        .as_ref()
        .map(delegation_row)
        .transpose()
    }

    fn due_delegations(&mut self, now: Timestamp, limit: u32) -> Result<Vec<DelegationRow>, Error> {
        self.rows(
            &format!(
                "{DELEGATION_SELECT} WHERE (NOT d.started AND d.starts_at <= $1) OR d.ends_at <= $1
                 ORDER BY d.starts_at, d.organisation_id COLLATE \"C\" LIMIT $2"
            ),
            &[&unix(now), &i64::from(limit)],
        )?
        .iter()
        .map(delegation_row)
        .collect()
    }

    fn handover(&mut self, handover_id: &str) -> Result<Option<HandoverRow>, Error> {
        self.opt(
            &format!("{HANDOVER_SELECT} WHERE h.id = $1"),
            &[&handover_id],
        )?
        .as_ref()
        .map(handover_row)
        .transpose()
    }

    fn handovers_offered_to(&mut self, account_id: &str) -> Result<Vec<HandoverRow>, Error> {
        self.rows(
            &format!(
                "{HANDOVER_SELECT} WHERE h.status = 'offered' AND tm.account_id = $1 AND tm.status = 'active'
                 ORDER BY h.created_at, h.id COLLATE \"C\" LIMIT 100"
            ),
            &[&account_id],
        )?
        .iter()
        .map(handover_row)
        .collect()
    }

    fn is_admin(&mut self, account_id: &str, organisation_id: &str) -> Result<bool, Error> {
        self.value(
            "SELECT EXISTS (SELECT 1 FROM memberships m WHERE m.organisation_id = $1 AND m.account_id = $2
                AND m.status = 'active' AND (m.is_ppc OR EXISTS (SELECT 1 FROM membership_privileges p
                    WHERE p.membership_id = m.id AND p.privilege = 'global_admin')))",
            &[&organisation_id, &account_id],
        )
    }

    fn has_admin(&mut self, organisation_id: &str) -> Result<bool, Error> {
        self.value(
            "SELECT EXISTS (SELECT 1 FROM memberships m WHERE m.organisation_id = $1 AND m.status = 'active' AND (m.is_ppc
                OR EXISTS (SELECT 1 FROM membership_privileges p WHERE p.membership_id = m.id AND p.privilege = 'global_admin')))",
            &[&organisation_id],
        )
    }

    fn request(&mut self, request_id: &str) -> Result<Option<AssociationRequest>, Error> {
        Ok(self
            .opt(
                concat!(
                    "SELECT ",
                    request_columns!(),
                    " FROM association_requests r JOIN organisations o ON o.id = r.organisation_id WHERE r.id = $1"
                ),
                &[&request_id],
            )?
            .as_ref()
            .map(request_row)
            .transpose()?
            .map(|(_, r)| r))
    }

    fn requests_of(&mut self, account_id: &str) -> Result<Vec<AssociationRequest>, Error> {
        self.rows(
            concat!(
                "SELECT ",
                request_columns!(),
                " FROM association_requests r JOIN organisations o ON o.id = r.organisation_id
                 WHERE r.account_id = $1 ORDER BY r.created_at DESC, r.seq DESC LIMIT 100"
            ),
            &[&account_id],
        )?
        .iter()
        .map(|r| request_row(r).map(|(_, x)| x))
        .collect()
    }

    fn request_queue(
        &mut self,
        organisation_id: &str,
        status: Option<RequestStatus>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Keyed<AssociationRequest>>, Error> {
        self.rows(
            concat!(
                "SELECT ",
                request_columns!(),
                " FROM association_requests r JOIN organisations o ON o.id = r.organisation_id
                 WHERE r.organisation_id = $1 AND ($2::text IS NULL OR r.status = $2) AND r.seq > $3 ORDER BY r.seq LIMIT $4"
            ),
            &[
                &organisation_id,
                &status.map(RequestStatus::as_str),
                &after,
                &i64::from(limit),
            ],
        )?
        .iter()
        .map(request_row)
        .collect()
    }

    fn open_request_for(&mut self, organisation_id: &str, account_id: &str) -> Result<bool, Error> {
        self.value(
            "SELECT EXISTS (SELECT 1 FROM association_requests WHERE organisation_id = $1 AND account_id = $2 AND status IN ('pending_approval', 'accepted'))",
            &[&organisation_id, &account_id],
        )
    }

    fn last_denial(
        &mut self,
        organisation_id: &str,
        account_id: &str,
    ) -> Result<Option<Timestamp>, Error> {
        let at: Option<i64> = self.value(
            "SELECT max(decided_at) FROM association_requests WHERE organisation_id = $1 AND account_id = $2 AND status = 'denied'",
            &[&organisation_id, &account_id],
        )?;
        Ok(at.map(from_unix))
    }

    fn request_contact(&mut self, request_id: &str) -> Result<Option<RequestContact>, Error> {
        self.opt(
            "SELECT phone, job_title FROM association_requests WHERE id = $1",
            &[&request_id],
        )?
        .map(|r| {
            Ok(RequestContact {
                phone: get(&r, 0)?,
                job_title: get(&r, 1)?,
            })
        })
        .transpose()
    }

    fn verification_sent_at(&mut self, request_id: &str) -> Result<Option<Timestamp>, Error> {
        // SQLite's query_row fails on a missing request; here a missing request has none.
        let at: Option<Option<i64>> = self
            .opt(
                "SELECT verification_sent_at FROM association_requests WHERE id = $1",
                &[&request_id],
            )?
            .map(|r| get(&r, 0))
            .transpose()?;
        Ok(at.flatten().map(from_unix))
    }

    fn token(&mut self, hash: &[u8]) -> Result<Option<TokenRecord>, Error> {
        self.opt(
            "SELECT request_id, account_id, email, expires_at, used_at, revoked_at FROM verification_tokens WHERE token_hash = $1",
            &[&hash],
        )?
        .map(|r| {
            Ok(TokenRecord {
                request_id: get(&r, 0)?,
                account_id: get(&r, 1)?,
                email: get(&r, 2)?,
                expires_at: from_unix(get(&r, 3)?),
                used: get::<Option<i64>>(&r, 4)?.is_some(),
                revoked: get::<Option<i64>>(&r, 5)?.is_some(),
            })
        })
        .transpose()
    }

    fn invitation_open(&mut self, organisation_id: &str, email: &str) -> Result<bool, Error> {
        self.value(
            "SELECT EXISTS (SELECT 1 FROM invitations WHERE organisation_id = $1 AND email = $2 AND used_at IS NULL)",
            &[&organisation_id, &email],
        )
    }

    fn membership(&mut self, membership_id: &str) -> Result<Option<MembershipFacts>, Error> {
        self.opt(
            "SELECT organisation_id, account_id, status, is_ppc FROM memberships WHERE id = $1",
            &[&membership_id],
        )?
        .map(|r| {
            Ok(MembershipFacts {
                organisation_id: get(&r, 0)?,
                account_id: get(&r, 1)?,
                active: get::<String>(&r, 2)? == "active",
                is_ppc: get(&r, 3)?,
            })
        })
        .transpose()
    }

    fn is_active_member(&mut self, organisation_id: &str, account_id: &str) -> Result<bool, Error> {
        self.value(
            "SELECT EXISTS (SELECT 1 FROM memberships WHERE organisation_id = $1 AND account_id = $2 AND status = 'active')",
            &[&organisation_id, &account_id],
        )
    }

    fn has_active_member_email(
        &mut self,
        organisation_id: &str,
        email: &str,
    ) -> Result<bool, Error> {
        self.value(
            "SELECT EXISTS (SELECT 1 FROM memberships WHERE organisation_id = $1 AND organisation_email = $2 AND status = 'active')",
            &[&organisation_id, &email],
        )
    }

    fn active_ppc_count(&mut self, organisation_id: &str) -> Result<u64, Error> {
        let n: i64 = self.value(
            "SELECT count(*) FROM memberships WHERE organisation_id = $1 AND status = 'active' AND is_ppc",
            &[&organisation_id],
        )?;
        Ok(n.max(0) as u64)
    }

    fn profile(&mut self, membership_id: &str) -> Result<Option<Profile>, Error> {
        self.opt(
            "SELECT first_name, last_name, job_title, phone, preferred_language, mcp_id, revision FROM memberships WHERE id = $1",
            &[&membership_id],
        )?
        .map(|r| {
            Ok(Profile {
                first_name: get(&r, 0)?,
                last_name: get(&r, 1)?,
                job_title: get(&r, 2)?,
                phone: get(&r, 3)?,
                preferred_language: get(&r, 4)?,
                mcp_id: get(&r, 5)?,
                revision: get::<i64>(&r, 6)?.max(0) as u64,
            })
        })
        .transpose()
    }

    fn member(&mut self, membership_id: &str) -> Result<Option<Member>, Error> {
        Ok(self
            .opt(
                concat!(
                    "SELECT ",
                    member_columns!(),
                    " FROM memberships m JOIN accounts a ON a.id = m.account_id WHERE m.id = $1"
                ),
                &[&membership_id],
            )?
            .as_ref()
            .map(member_row)
            .transpose()?
            .map(|(_, m)| m))
    }

    fn members(
        &mut self,
        organisation_id: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Keyed<Member>>, Error> {
        self.rows(
            concat!(
                "SELECT ",
                member_columns!(),
                " FROM memberships m JOIN accounts a ON a.id = m.account_id
                 WHERE m.organisation_id = $1 AND m.status = 'active' AND m.seq > $2 ORDER BY m.seq LIMIT $3"
            ),
            &[&organisation_id, &after, &i64::from(limit)],
        )?
        .iter()
        .map(member_row)
        .collect()
    }

    fn mcp_holder(&mut self, mcp_id: &str) -> Result<Option<McpHolder>, Error> {
        self.opt(
            "SELECT m.id, m.account_id, o.id, o.name FROM memberships m JOIN organisations o ON o.id = m.organisation_id WHERE m.mcp_id = $1",
            &[&mcp_id],
        )?
        .map(|r| {
            Ok(McpHolder {
                membership_id: get(&r, 0)?,
                account_id: get(&r, 1)?,
                organisation_id: get(&r, 2)?,
                organisation_name: get(&r, 3)?,
            })
        })
        .transpose()
    }

    fn has_privilege(&mut self, membership_id: &str, privilege: Privilege) -> Result<bool, Error> {
        self.value(
            "SELECT EXISTS (SELECT 1 FROM membership_privileges WHERE membership_id = $1 AND privilege = $2)",
            &[&membership_id, &privilege.as_str()],
        )
    }

    fn open_privilege_requests(
        &mut self,
        organisation_id: &str,
    ) -> Result<Vec<PrivilegeRequest>, Error> {
        self.rows(
            "SELECT q.id, q.membership_id, q.privilege, q.note, q.created_at, q.expires_at FROM privilege_requests q
             JOIN memberships m ON m.id = q.membership_id
             WHERE m.organisation_id = $1 AND m.status = 'active' AND q.ended_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM membership_privileges p WHERE p.membership_id = q.membership_id AND p.privilege = q.privilege)
             ORDER BY q.expires_at NULLS FIRST, q.created_at LIMIT 200",
            &[&organisation_id],
        )?
        .iter()
        .map(|r| {
            Ok(PrivilegeRequest {
                privilege_request_id: get(r, 0)?,
                membership_id: get(r, 1)?,
                privilege: Privilege::parse(&get::<String>(r, 2)?)
                    .unwrap_or(Privilege::ActionPack),
                note: get(r, 3)?,
                created_at: from_unix(get(r, 4)?),
                expires_at: get::<Option<i64>>(r, 5)?.map(from_unix),
                waiting_on: ApproverRole::for_privilege_request(),
            })
        })
        .collect()
    }

    fn audit_page(
        &mut self,
        organisation_id: &str,
        before: i64,
        limit: u32,
    ) -> Result<Vec<Keyed<AuditEntry>>, Error> {
        self.rows(
            "SELECT seq, at, actor_account_id, action, subject, detail FROM audit_log
             WHERE organisation_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3",
            &[&organisation_id, &before, &i64::from(limit)],
        )?
        .iter()
        .map(|r| {
            Ok((
                get(r, 0)?,
                AuditEntry {
                    at: from_unix(get(r, 1)?),
                    actor_account_id: get(r, 2)?,
                    action: get(r, 3)?,
                    subject: get(r, 4)?,
                    detail: get(r, 5)?,
                },
            ))
        })
        .collect()
    }

    fn events_for(
        &mut self,
        account_id: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Event>, Error> {
        self.rows(
            "SELECT e.seq, e.kind, e.at, e.data FROM events e
             WHERE e.seq > $2 AND (e.account_id = $1 OR e.admins_of IN (
                SELECT m.organisation_id FROM memberships m WHERE m.account_id = $1 AND m.status = 'active'
                  AND (m.is_ppc OR EXISTS (SELECT 1 FROM membership_privileges p WHERE p.membership_id = m.id AND p.privilege = 'global_admin'))))
             ORDER BY e.seq LIMIT $3",
            &[&account_id, &after, &i64::from(limit)],
        )?
        .iter()
        .map(|r| {
            let data: String = get(r, 3)?;
            Ok(Event {
                id: get(r, 0)?,
                kind: get(r, 1)?,
                at: from_unix(get(r, 2)?),
                data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
            })
        })
        .collect()
    }

    fn latest_event_id(&mut self) -> Result<i64, Error> {
        self.value("SELECT coalesce(max(seq), 0) FROM events", &[])
    }
}

impl WriteTx for Tx<'_, '_> {
    fn insert_account(&mut self, a: &NewAccount<'_>) -> Result<Insert, Error> {
        self.exec(
            "INSERT INTO accounts(id, email, display_name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT DO NOTHING",
            &[&a.id, &a.email, &a.display_name, &a.password_hash, &unix(a.created_at)],
        )
        .map(inserted)
    }

    fn insert_session(
        &mut self,
        session_id: &str,
        account_id: &str,
        h: &SessionHashes<'_>,
        created_at: Timestamp,
    ) -> Result<(), Error> {
        self.exec(
            "INSERT INTO sessions(id, account_id, access_hash, access_expires_at, refresh_hash, refresh_expires_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &session_id,
                &account_id,
                &h.access_hash,
                &unix(h.access_expires_at),
                &h.refresh_hash,
                &unix(h.refresh_expires_at),
                &unix(created_at),
            ],
        )?;
        Ok(())
    }

    fn rotate_session(&mut self, session_id: &str, h: &SessionHashes<'_>) -> Result<(), Error> {
        self.exec(
            "UPDATE sessions SET access_hash = $1, access_expires_at = $2, refresh_hash = $3, refresh_expires_at = $4 WHERE id = $5",
            &[
                &h.access_hash,
                &unix(h.access_expires_at),
                &h.refresh_hash,
                &unix(h.refresh_expires_at),
                &session_id,
            ],
        )?;
        Ok(())
    }

    fn revoke_session(&mut self, session_id: &str, at: Timestamp) -> Result<(), Error> {
        self.exec(
            "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            &[&unix(at), &session_id],
        )?;
        Ok(())
    }

    fn insert_organisation(&mut self, o: &NewOrganisation<'_>) -> Result<Insert, Error> {
        let seq: Option<i64> = self
            .opt(
                "INSERT INTO organisations(id, partner_id, name, country, city, address, phone, website, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING seq",
                &[
                    &o.id,
                    &o.partner_id,
                    &o.name,
                    &o.country,
                    &o.city,
                    &o.address,
                    &o.phone,
                    &o.website,
                    &unix(o.created_at),
                ],
            )?
            .map(|r| get(&r, 0))
            .transpose()?;
        let Some(seq) = seq else {
            return Ok(Insert::Duplicate);
        };
        // The directory index, as SQLite's FTS5 trigger fills it. Name, city and country are
        // written only here (no change of the seam alters them), so this is the only place.
        let words: BTreeSet<String> = [o.name, o.city, o.country]
            .iter()
            .flat_map(|text| directory_words(text))
            .collect();
        let words: Vec<String> = words.into_iter().collect();
        self.exec(
            "INSERT INTO organisation_words(seq, word) SELECT $1, unnest($2::text[])",
            &[&seq, &words],
        )?;
        Ok(Insert::Done)
    }

    fn set_partner_id(&mut self, organisation_id: &str, partner_id: &str) -> Result<Insert, Error> {
        self.unique_update(
            "UPDATE organisations SET partner_id = $1 WHERE id = $2",
            &[&partner_id, &organisation_id],
        )
    }

    fn insert_domain(&mut self, d: &DomainRow, added_by: &str) -> Result<Insert, Error> {
        let values = DomainValues::of(d);
        let added_at = unix(d.added_at);
        let mut params = values.params();
        params.extend([&added_at as &(dyn ToSql + Sync), &added_by]);
        self.unique_update(
            &format!("INSERT INTO org_domains({DOMAIN_WRITTEN}, added_at, added_by)
                      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"),
            &params,
        )
    }

    fn update_domain(&mut self, d: &DomainRow) -> Result<Insert, Error> {
        let values = DomainValues::of(d);
        self.unique_update(
            "UPDATE org_domains SET include_subdomains = $3, status = $4, challenge = $5, previous_challenge = $6,
                 previous_until = $7, status_since = $8, verified_at = $9, last_checked_at = $10, last_outcome = $11,
                 last_detail = $12, next_check_at = $13, missing_since = $14, checks = $15
             WHERE domain = $1 AND organisation_id = $2",
            &values.params(),
        )
    }

    fn remove_domain(&mut self, organisation_id: &str, domain: &str) -> Result<bool, Error> {
        let n = self.exec(
            "DELETE FROM org_domains WHERE domain = $1 AND organisation_id = $2",
            &[&domain, &organisation_id],
        )?;
        Ok(n > 0)
    }

    fn insert_request(&mut self, r: &NewRequest<'_>) -> Result<(), Error> {
        self.exec(
            "INSERT INTO association_requests(id, organisation_id, account_id, first_name, last_name, organisation_email, phone, job_title,
                 status, created_at, decided_at, expires_at, reminders_sent, escalated_at, next_step_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            &[
                &r.id,
                &r.organisation_id,
                &r.account_id,
                &r.first_name,
                &r.last_name,
                &r.organisation_email,
                &r.phone,
                &r.job_title,
                &r.status.as_str(),
                &unix(r.created_at),
                &r.decided_at.map(unix),
                &r.step.and_then(|s| s.expires_at).map(unix),
                &i32::from(r.step.map_or(0, |s| s.reminders_sent)),
                &r.step.and_then(|s| s.escalated_at).map(unix),
                &r.step.and_then(|s| s.next_step_at).map(unix),
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
        Ok(self.exec(
            "UPDATE association_requests SET expires_at = $1, reminders_sent = $2, escalated_at = $3, next_step_at = $4
             WHERE id = $5 AND status = 'pending_approval' AND next_step_at IS NOT DISTINCT FROM $6
               AND reminders_sent = $7 AND escalated_at IS NOT DISTINCT FROM $8",
            &[
                &to.expires_at.map(unix),
                &i32::from(to.reminders_sent),
                &to.escalated_at.map(unix),
                &to.next_step_at.map(unix),
                &request_id,
                &seen.next_step_at.map(unix),
                &i32::from(seen.reminders_sent),
                &seen.escalated_at.map(unix),
            ],
        )? == 1)
    }

    fn expire_request(
        &mut self,
        request_id: &str,
        seen: &PendingStep,
        at: Timestamp,
    ) -> Result<bool, Error> {
        Ok(self.exec(
            "UPDATE association_requests SET status = 'expired', decided_at = $1, next_step_at = NULL
             WHERE id = $2 AND status = 'pending_approval' AND next_step_at IS NOT DISTINCT FROM $3
               AND reminders_sent = $4 AND escalated_at IS NOT DISTINCT FROM $5",
            &[
                &unix(at),
                &request_id,
                &seen.next_step_at.map(unix),
                &i32::from(seen.reminders_sent),
                &seen.escalated_at.map(unix),
            ],
        )? == 1)
    }

    fn record_decision(&mut self, request_id: &str, d: &Decision<'_>) -> Result<(), Error> {
        match d.reason {
            None => self.exec(
                "UPDATE association_requests SET status = $1, decided_at = $2, decided_by = $3, on_behalf_of = $4, next_step_at = NULL WHERE id = $5",
                &[&d.status.as_str(), &unix(d.at), &d.by, &d.on_behalf_of, &request_id],
            )?,
            Some(reason) => self.exec(
                "UPDATE association_requests SET status = $1, decided_at = $2, decided_by = $3, on_behalf_of = $4, decision_reason = $5, next_step_at = NULL WHERE id = $6",
                &[&d.status.as_str(), &unix(d.at), &d.by, &d.on_behalf_of, &reason, &request_id],
            )?,
        };
        Ok(())
    }

    fn withdraw_request(&mut self, request_id: &str, at: Timestamp) -> Result<(), Error> {
        self.exec(
            "UPDATE association_requests SET status = 'withdrawn', decided_at = $1, next_step_at = NULL WHERE id = $2",
            &[&unix(at), &request_id],
        )?;
        Ok(())
    }

    fn activate_request(&mut self, request_id: &str, membership_id: &str) -> Result<(), Error> {
        self.exec(
            "UPDATE association_requests SET status = 'active', membership_id = $1 WHERE id = $2",
            &[&membership_id, &request_id],
        )?;
        Ok(())
    }

    fn mark_verification_sent(&mut self, request_id: &str, at: Timestamp) -> Result<(), Error> {
        self.exec(
            "UPDATE association_requests SET verification_sent_at = $1 WHERE id = $2",
            &[&unix(at), &request_id],
        )?;
        Ok(())
    }

    fn insert_token(&mut self, t: &NewToken<'_>) -> Result<(), Error> {
        self.exec(
            "INSERT INTO verification_tokens(token_hash, request_id, account_id, email, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &t.hash,
                &t.request_id,
                &t.account_id,
                &t.email,
                &unix(t.created_at),
                &unix(t.expires_at),
            ],
        )?;
        Ok(())
    }

    fn revoke_tokens_of_request(&mut self, request_id: &str, at: Timestamp) -> Result<(), Error> {
        self.exec(
            "UPDATE verification_tokens SET revoked_at = $1 WHERE request_id = $2 AND used_at IS NULL AND revoked_at IS NULL",
            &[&unix(at), &request_id],
        )?;
        Ok(())
    }

    fn revoke_tokens_of_account_at(
        &mut self,
        account_id: &str,
        organisation_id: &str,
        at: Timestamp,
    ) -> Result<(), Error> {
        // The person's own unused links first, then each one's request by its key: a leave reads
        // only rows of its own, never a range of the organisation's requests, which every
        // submit and decision of that organisation writes (under SERIALIZABLE such a read made
        // concurrent leaves and decisions fail to serialise).
        let unused = self.rows(
            "SELECT token_hash, request_id FROM verification_tokens WHERE account_id = $1 AND used_at IS NULL AND revoked_at IS NULL",
            &[&account_id],
        )?;
        for token in unused {
            let (hash, request_id): (Vec<u8>, String) = (get(&token, 0)?, get(&token, 1)?);
            let org: Option<String> = self
                .opt(
                    "SELECT organisation_id FROM association_requests WHERE id = $1",
                    &[&request_id],
                )?
                .map(|r| get(&r, 0))
                .transpose()?;
            if org.as_deref() == Some(organisation_id) {
                self.exec(
                    "UPDATE verification_tokens SET revoked_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND revoked_at IS NULL",
                    &[&unix(at), &hash],
                )?;
            }
        }
        Ok(())
    }

    fn consume_token(&mut self, hash: &[u8], at: Timestamp) -> Result<bool, Error> {
        let consumed = self.exec(
            "UPDATE verification_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND revoked_at IS NULL",
            &[&unix(at), &hash],
        )?;
        Ok(consumed == 1)
    }

    fn upsert_invitation(&mut self, i: &NewInvitation<'_>) -> Result<(), Error> {
        self.exec(
            "INSERT INTO invitations(id, organisation_id, email, invited_by, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (organisation_id, email) DO UPDATE SET used_at = NULL, created_at = excluded.created_at",
            &[
                &i.id,
                &i.organisation_id,
                &i.email,
                &i.invited_by,
                &unix(i.created_at),
            ],
        )?;
        Ok(())
    }

    fn use_invitation(
        &mut self,
        organisation_id: &str,
        email: &str,
        at: Timestamp,
    ) -> Result<(), Error> {
        self.exec(
            "UPDATE invitations SET used_at = $1 WHERE organisation_id = $2 AND email = $3 AND used_at IS NULL",
            &[&unix(at), &organisation_id, &email],
        )?;
        Ok(())
    }

    fn insert_membership(&mut self, m: &NewMembership<'_>) -> Result<(), Error> {
        self.exec(
            "INSERT INTO memberships(id, organisation_id, account_id, request_id, organisation_email, status, is_ppc,
                 first_name, last_name, job_title, phone, created_at)
             VALUES ($1, $2, $3, $4, $5, 'active', $6, $7, $8, $9, $10, $11)",
            &[
                &m.id,
                &m.organisation_id,
                &m.account_id,
                &m.request_id,
                &m.organisation_email,
                &m.is_ppc,
                &m.first_name,
                &m.last_name,
                &m.job_title,
                &m.phone,
                &unix(m.created_at),
            ],
        )?;
        Ok(())
    }

    fn update_profile(&mut self, id: &str, c: &ProfileChanges<'_>) -> Result<(), Error> {
        if let Some(v) = c.first_name {
            self.exec(
                "UPDATE memberships SET first_name = $1 WHERE id = $2",
                &[&v, &id],
            )?;
        }
        if let Some(v) = c.last_name {
            self.exec(
                "UPDATE memberships SET last_name = $1 WHERE id = $2",
                &[&v, &id],
            )?;
        }
        if let Some(v) = c.job_title {
            self.exec(
                "UPDATE memberships SET job_title = $1 WHERE id = $2",
                &[&v, &id],
            )?;
        }
        if let Some(v) = c.phone {
            self.exec(
                "UPDATE memberships SET phone = $1 WHERE id = $2",
                &[&v, &id],
            )?;
        }
        if let Some(v) = c.preferred_language {
            self.exec(
                "UPDATE memberships SET preferred_language = $1 WHERE id = $2",
                &[&v, &id],
            )?;
        }
        Ok(())
    }

    fn set_mcp_id(&mut self, membership_id: &str, mcp_id: Option<&str>) -> Result<(), Error> {
        self.exec(
            "UPDATE memberships SET mcp_id = $1 WHERE id = $2",
            &[&mcp_id, &membership_id],
        )?;
        Ok(())
    }

    fn bump_revision(&mut self, membership_id: &str) -> Result<(), Error> {
        self.exec(
            "UPDATE memberships SET revision = revision + 1 WHERE id = $1",
            &[&membership_id],
        )?;
        Ok(())
    }

    fn end_membership(&mut self, membership_id: &str, at: Timestamp) -> Result<(), Error> {
        self.exec(
            "UPDATE memberships SET status = 'removed', removed_at = $1, mcp_id = NULL, revision = revision + 1 WHERE id = $2",
            &[&unix(at), &membership_id],
        )?;
        self.exec(
            "DELETE FROM membership_privileges WHERE membership_id = $1",
            &[&membership_id],
        )?;
        self.exec(
            "UPDATE privilege_requests SET ended_at = $1, end_reason = 'member_left' WHERE membership_id = $2 AND ended_at IS NULL",
            &[&unix(at), &membership_id],
        )?;
        self.exec(
            "UPDATE association_requests SET status = 'removed' WHERE membership_id = $1",
            &[&membership_id],
        )?;
        Ok(())
    }

    fn grant_privilege(&mut self, g: &NewGrant<'_>) -> Result<bool, Error> {
        let added = self.exec(
            "INSERT INTO membership_privileges(membership_id, privilege, granted_at, granted_by) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
            &[
                &g.membership_id,
                &g.privilege.as_str(),
                &unix(g.granted_at),
                &g.granted_by,
            ],
        )?;
        Ok(added == 1)
    }

    fn revoke_privilege(
        &mut self,
        membership_id: &str,
        privilege: Privilege,
    ) -> Result<bool, Error> {
        let removed = self.exec(
            "DELETE FROM membership_privileges WHERE membership_id = $1 AND privilege = $2",
            &[&membership_id, &privilege.as_str()],
        )?;
        Ok(removed == 1)
    }

    fn insert_privilege_request(&mut self, q: &NewPrivilegeRequest<'_>) -> Result<(), Error> {
        self.exec(
            "INSERT INTO privilege_requests(id, membership_id, privilege, note, created_at, expires_at, next_step_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &q.id,
                &q.membership_id,
                &q.privilege.as_str(),
                &q.note,
                &unix(q.created_at),
                &unix(q.expires_at),
                &q.next_step_at.map(unix),
            ],
        )?;
        Ok(())
    }

    fn advance_privilege_request(
        &mut self,
        id: &str,
        seen: &PendingStep,
        to: &PendingStep,
    ) -> Result<bool, Error> {
        Ok(self.exec(
            "UPDATE privilege_requests SET expires_at = $1, reminders_sent = $2, next_step_at = $3
             WHERE id = $4 AND ended_at IS NULL AND expires_at IS NOT DISTINCT FROM $5 AND reminders_sent = $6",
            &[
                &to.expires_at.map(unix),
                &i32::from(to.reminders_sent),
                &to.next_step_at.map(unix),
                &id,
                &seen.expires_at.map(unix),
                &i32::from(seen.reminders_sent),
            ],
        )? == 1)
    }

    fn end_privilege_request(
        &mut self,
        id: &str,
        at: Timestamp,
        reason: &str,
    ) -> Result<bool, Error> {
        Ok(self.exec(
            "UPDATE privilege_requests SET ended_at = $1, end_reason = $2 WHERE id = $3 AND ended_at IS NULL",
            &[&unix(at), &reason, &id],
        )? == 1)
    }

    fn add_digest_line(
        &mut self,
        account_id: &str,
        line: &str,
        at: Timestamp,
    ) -> Result<(), Error> {
        self.exec(
            "INSERT INTO approver_digests(account_id) VALUES ($1) ON CONFLICT DO NOTHING",
            &[&account_id],
        )?;
        self.exec(
            "INSERT INTO digest_lines(account_id, line, at) VALUES ($1, $2, $3)",
            &[&account_id, &line, &unix(at)],
        )?;
        Ok(())
    }

    fn claim_digest(
        &mut self,
        account_id: &str,
        sent_before: Timestamp,
        at: Timestamp,
    ) -> Result<bool, Error> {
        Ok(self.exec(
            "UPDATE approver_digests SET last_sent_at = $1 WHERE account_id = $2 AND (last_sent_at IS NULL OR last_sent_at <= $3)",
            &[&unix(at), &account_id, &unix(sent_before)],
        )? == 1)
    }

    fn enqueue_mail(
        &mut self,
        mail: &membership::Mail,
        token_hash: Option<&[u8]>,
        at: Timestamp,
    ) -> Result<(), Error> {
        self.exec(
            "INSERT INTO mail_outbox(created_at, to_addr, subject, body, link, token_hash, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $1)",
            &[&unix(at), &mail.to, &mail.subject, &mail.body, &mail.link, &token_hash],
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
        let rekeyed = self.exec(
            "UPDATE verification_tokens SET token_hash = $1 WHERE token_hash = $2 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $3",
            &[&new, &old, &unix(now)],
        )? == 1;
        if rekeyed {
            self.exec(
                "UPDATE mail_outbox SET token_hash = $1 WHERE id = $2",
                &[&new, &mail_id],
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
        // SKIP LOCKED: a run on another instance leasing at the same moment takes other mail
        // instead of waiting for (and then colliding with) this one.
        let limit = i64::from(limit);
        let rows = self.rows(
            "UPDATE mail_outbox SET next_attempt_at = $1 WHERE id IN (
                 SELECT id FROM mail_outbox WHERE next_attempt_at <= $2
                 ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
             RETURNING id, created_at, attempts, to_addr, subject, body, link, token_hash",
            &[&unix(lease_until), &unix(now), &limit],
        )?;
        let mut due: Vec<OutboxMail> = rows
            .iter()
            .map(|r| OutboxMail {
                id: r.get(0),
                created_at: from_unix(r.get(1)),
                attempts: u32::try_from(r.get::<_, i32>(2)).unwrap_or(0),
                mail: membership::Mail {
                    to: r.get(3),
                    subject: r.get(4),
                    body: r.get(5),
                    link: r.get(6),
                },
                token_hash: r.get(7),
            })
            .collect();
        due.sort_by_key(|m| m.id);
        Ok(due)
    }

    fn remove_mail(&mut self, id: i64) -> Result<(), Error> {
        self.exec("DELETE FROM mail_outbox WHERE id = $1", &[&id])?;
        Ok(())
    }

    fn retry_mail(
        &mut self,
        id: i64,
        attempts: u32,
        next_attempt_at: Timestamp,
    ) -> Result<(), Error> {
        let attempts = i32::try_from(attempts).unwrap_or(i32::MAX);
        self.exec(
            "UPDATE mail_outbox SET attempts = $1, next_attempt_at = $2 WHERE id = $3",
            &[&attempts, &unix(next_attempt_at), &id],
        )?;
        Ok(())
    }

    fn clear_digest_lines(&mut self, account_id: &str, up_to_seq: i64) -> Result<(), Error> {
        self.exec(
            "DELETE FROM digest_lines WHERE account_id = $1 AND seq <= $2",
            &[&account_id, &up_to_seq],
        )?;
        Ok(())
    }

    fn put_delegation(&mut self, d: &NewDelegation<'_>) -> Result<(), Error> {
        self.exec(
            "INSERT INTO delegations(organisation_id, delegator_membership_id, delegate_membership_id, starts_at, ends_at, started, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, false, $6, $7)
             ON CONFLICT (organisation_id) DO UPDATE SET delegator_membership_id = excluded.delegator_membership_id,
                delegate_membership_id = excluded.delegate_membership_id, starts_at = excluded.starts_at,
                ends_at = excluded.ends_at, started = false, created_by = excluded.created_by, created_at = excluded.created_at",
            &[&d.organisation_id, &d.delegator_membership_id, &d.delegate_membership_id, &unix(d.starts_at), &unix(d.ends_at), &d.created_by, &unix(d.created_at)],
        )?;
        Ok(())
    }

    fn start_delegation(
        &mut self,
        organisation_id: &str,
        delegate_membership_id: &str,
        starts_at: Timestamp,
    ) -> Result<bool, Error> {
        Ok(self.exec(
            "UPDATE delegations SET started = true
             WHERE organisation_id = $1 AND delegate_membership_id = $2 AND starts_at = $3 AND NOT started",
            &[&organisation_id, &delegate_membership_id, &unix(starts_at)],
        )? == 1)
    }

    fn end_delegation(
        &mut self,
        organisation_id: &str,
        delegate_membership_id: &str,
        starts_at: Timestamp,
    ) -> Result<bool, Error> {
        Ok(self.exec(
            "DELETE FROM delegations WHERE organisation_id = $1 AND delegate_membership_id = $2 AND starts_at = $3",
            &[&organisation_id, &delegate_membership_id, &unix(starts_at)],
        )? == 1)
    }

    fn insert_handover(&mut self, h: &NewHandover<'_>) -> Result<(), Error> {
        self.exec(
            "UPDATE ppc_handovers SET status = 'replaced', decided_at = $2 WHERE organisation_id = $1 AND status = 'offered'",
            &[&h.organisation_id, &unix(h.created_at)],
        )?;
        self.exec(
            "INSERT INTO ppc_handovers(id, organisation_id, from_membership_id, to_membership_id, status, created_at)
             VALUES ($1, $2, $3, $4, 'offered', $5)",
            &[&h.id, &h.organisation_id, &h.from_membership_id, &h.to_membership_id, &unix(h.created_at)],
        )?;
        Ok(())
    }

    fn close_handover(
        &mut self,
        handover_id: &str,
        status: membership::HandoverStatus,
        at: Timestamp,
    ) -> Result<bool, Error> {
        Ok(self.exec(
            "UPDATE ppc_handovers SET status = $2, decided_at = $3 WHERE id = $1 AND status = 'offered'",
            &[&handover_id, &status.as_str(), &unix(at)],
        )? == 1)
    }

    fn set_ppc(&mut self, membership_id: &str, is_ppc: bool) -> Result<(), Error> {
        self.exec(
            "UPDATE memberships SET is_ppc = $2 WHERE id = $1",
            &[&membership_id, &is_ppc],
        )?;
        Ok(())
    }

    fn append_audit(&mut self, e: &AuditRecord<'_>) -> Result<(), Error> {
        self.exec(
            "INSERT INTO audit_log(at, organisation_id, actor_account_id, action, subject, detail) VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &unix(e.at),
                &e.organisation_id,
                &e.actor_account_id,
                &e.action,
                &e.subject,
                &e.detail,
            ],
        )?;
        Ok(())
    }

    fn emit_event(&mut self, e: &NewEvent<'_>) -> Result<(), Error> {
        // Event ids must become visible in commit order: a follower reads `seq > last seen`,
        // so if a transaction holding id 7 committed after one holding id 8, a follower that
        // read 8 first would never see 7. A sequence hands out ids at insert time, not at
        // commit, so each event-emitting transaction first takes this transaction-level lock,
        // held until it commits or rolls back: such transactions take ids and commit one at a
        // time, in id order. (PostgreSQL makes a commit visible before it releases the
        // transaction's locks, so the next holder's id is always seen after this one's.)
        // Only writes that emit events wait on it, and only from their first event on.
        self.exec("SELECT pg_advisory_xact_lock($1)", &[&EVENTS_LOCK])?;
        let (account, admins_of) = match e.audience {
            Audience::Account(a) => (Some(a), None),
            Audience::AdminsOf(o) => (None, Some(o)),
        };
        // Delivered to every listening instance when this transaction commits (once, however
        // many events it wrote).
        self.exec("SELECT pg_notify($1, '')", &[&crate::CHANNEL])?;
        self.exec(
            "INSERT INTO events(at, kind, account_id, admins_of, data) VALUES ($1, $2, $3, $4, $5)",
            &[
                &unix(e.at),
                &e.kind,
                &account,
                &admins_of,
                &e.data.to_string(),
            ],
        )?;
        Ok(())
    }

    fn idempotency_salt(&mut self, fresh: &[u8]) -> Result<Vec<u8>, Error> {
        self.exec(
            "INSERT INTO idempotency_meta(name, value) VALUES ('salt', $1) ON CONFLICT (name) DO NOTHING",
            &[&fresh],
        )?;
        self.value(
            "SELECT value FROM idempotency_meta WHERE name = 'salt'",
            &[],
        )
    }

    fn forget_idempotency_keys(&mut self, before: i64) -> Result<(), Error> {
        self.exec(
            "DELETE FROM idempotency_keys WHERE created_at < $1",
            &[&before],
        )?;
        Ok(())
    }

    fn insert_idempotency_key(&mut self, k: &NewKey<'_>) -> Result<Insert, Error> {
        // A concurrent insert of the same key makes this wait for it; once it commits, this
        // serializable transaction fails and is run again, and then finds the row.
        let n = self.exec(
            "INSERT INTO idempotency_keys(scope, key, fingerprint, holder, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (scope, key) DO NOTHING",
            &[&k.scope, &k.key, &k.fingerprint, &k.holder, &k.created_at],
        )?;
        Ok(if n == 1 {
            Insert::Done
        } else {
            Insert::Duplicate
        })
    }

    fn idempotency_key(&mut self, scope: &str, key: &str) -> Result<Option<KeyRecord>, Error> {
        let Some(row) = self.opt(
            "SELECT fingerprint, created_at, applied, status, headers, body FROM idempotency_keys
             WHERE scope = $1 AND key = $2 FOR UPDATE",
            &[&scope, &key],
        )?
        else {
            return Ok(None);
        };
        let status: Option<i32> = get(&row, 3)?;
        Ok(Some(KeyRecord {
            fingerprint: get(&row, 0)?,
            created_at: get(&row, 1)?,
            applied: get(&row, 2)?,
            answer: match status {
                Some(status) => Some(StoredAnswer {
                    status: u16::try_from(status).unwrap_or(500),
                    headers: get::<Option<String>>(&row, 4)?.unwrap_or_default(),
                    body: get::<Option<Vec<u8>>>(&row, 5)?.unwrap_or_default(),
                }),
                None => None,
            },
        }))
    }

    fn take_over_idempotency_key(
        &mut self,
        scope: &str,
        key: &str,
        holder: &[u8],
        at: i64,
    ) -> Result<(), Error> {
        self.exec(
            "UPDATE idempotency_keys SET holder = $3, created_at = $4
             WHERE scope = $1 AND key = $2 AND NOT applied AND status IS NULL",
            &[&scope, &key, &holder, &at],
        )?;
        Ok(())
    }

    fn consume_idempotency_key(&mut self, g: &KeyGuard) -> Result<bool, Error> {
        Ok(self.exec(
            "UPDATE idempotency_keys SET applied = true WHERE scope = $1 AND key = $2 AND holder = $3",
            &[&g.scope, &g.key, &g.holder],
        )? == 1)
    }

    fn record_idempotent_answer(&mut self, g: &KeyGuard, a: &StoredAnswer) -> Result<bool, Error> {
        Ok(self.exec(
            "UPDATE idempotency_keys SET status = $4, headers = $5, body = $6
             WHERE scope = $1 AND key = $2 AND holder = $3 AND status IS NULL",
            &[
                &g.scope,
                &g.key,
                &g.holder,
                &i32::from(a.status),
                &a.headers,
                &a.body,
            ],
        )? == 1)
    }

    fn release_idempotency_key(&mut self, g: &KeyGuard) -> Result<bool, Error> {
        Ok(self.exec(
            "DELETE FROM idempotency_keys
             WHERE scope = $1 AND key = $2 AND holder = $3 AND NOT applied AND status IS NULL",
            &[&g.scope, &g.key, &g.holder],
        )? == 1)
    }
}

/// A delegation with its organisation and both people's names.
const DELEGATION_SELECT: &str = "SELECT d.organisation_id, o.name, d.delegator_membership_id, fa.id, fa.display_name,
        d.delegate_membership_id, ta.id, ta.display_name, d.starts_at, d.ends_at, d.started
    FROM delegations d JOIN organisations o ON o.id = d.organisation_id
    JOIN memberships fm ON fm.id = d.delegator_membership_id JOIN accounts fa ON fa.id = fm.account_id
    JOIN memberships tm ON tm.id = d.delegate_membership_id JOIN accounts ta ON ta.id = tm.account_id";

fn delegation_row(r: &Row) -> Result<DelegationRow, Error> {
    Ok(DelegationRow {
        organisation_id: get(r, 0)?,
        organisation_name: get(r, 1)?,
        delegator_membership_id: get(r, 2)?,
        delegator_account_id: get(r, 3)?,
        delegator_name: get(r, 4)?,
        delegate_membership_id: get(r, 5)?,
        delegate_account_id: get(r, 6)?,
        delegate_name: get(r, 7)?,
        starts_at: from_unix(get(r, 8)?),
        ends_at: from_unix(get(r, 9)?),
        started: get(r, 10)?,
    })
}

/// A handover with its organisation and both people's names.
const HANDOVER_SELECT: &str =
    "SELECT h.id, h.organisation_id, o.name, h.from_membership_id, fa.id, fa.display_name,
        h.to_membership_id, ta.id, ta.display_name, h.status, h.created_at, h.decided_at
    FROM ppc_handovers h JOIN organisations o ON o.id = h.organisation_id
    JOIN memberships fm ON fm.id = h.from_membership_id JOIN accounts fa ON fa.id = fm.account_id
    JOIN memberships tm ON tm.id = h.to_membership_id JOIN accounts ta ON ta.id = tm.account_id";

fn handover_row(r: &Row) -> Result<HandoverRow, Error> {
    Ok(HandoverRow {
        handover_id: get(r, 0)?,
        organisation_id: get(r, 1)?,
        organisation_name: get(r, 2)?,
        from_membership_id: get(r, 3)?,
        from_account_id: get(r, 4)?,
        from_name: get(r, 5)?,
        to_membership_id: get(r, 6)?,
        to_account_id: get(r, 7)?,
        to_name: get(r, 8)?,
        status: membership::HandoverStatus::parse(&get::<String>(r, 9)?)
            .unwrap_or(membership::HandoverStatus::Replaced),
        created_at: from_unix(get(r, 10)?),
        decided_at: get::<Option<i64>>(r, 11)?.map(from_unix),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_ends_at_the_next_string_that_does_not_start_with_it() {
        assert_eq!(prefix_end("abc").as_deref(), Some("abd"));
        assert_eq!(prefix_end("zu").as_deref(), Some("zv"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(prefix_end("\u{10FFFF}"), None);
    }
}
