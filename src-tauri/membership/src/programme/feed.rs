use rusqlite::params;

use super::organisations::page;
use super::{parse_cursor, require_admin, Caller, Programme};
use crate::model::{AuditEntry, Event, Page, PageRequest};
use crate::store::from_unix;
use crate::Error;

impl Programme {
    /// The organisation's audit history, newest first.
    pub fn audit(
        &self,
        caller: &Caller,
        org: &str,
        page_req: &PageRequest,
    ) -> Result<Page<AuditEntry>, Error> {
        let limit = page_req.limit();
        let before = parse_cursor(page_req.cursor.as_deref())?.unwrap_or(i64::MAX);
        self.read(|c| {
            require_admin(c, caller, org)?;
            let mut stmt = c.prepare_cached(
                "SELECT seq, at, actor_account_id, action, subject, detail FROM audit_log
                 WHERE organisation_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3",
            )?;
            let rows = stmt
                .query_map(params![org, before, limit as i64 + 1], |r| {
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
            Ok(page(rows, limit))
        })
    }

    /// Events the caller may see after the cursor `after`, oldest first: their own, and those of
    /// organisations they administer now.
    pub fn events(
        &self,
        caller: &Caller,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Event>, Error> {
        let limit = limit.clamp(1, 500);
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT e.seq, e.kind, e.at, e.data FROM events e
                 WHERE e.seq > ?2 AND (e.account_id = ?1 OR e.admins_of IN (
                    SELECT m.organisation_id FROM memberships m WHERE m.account_id = ?1 AND m.status = 'active'
                      AND (m.is_ppc = 1 OR EXISTS (SELECT 1 FROM membership_privileges p WHERE p.membership_id = m.id AND p.privilege = 'global_admin'))))
                 ORDER BY e.seq LIMIT ?3",
            )?;
            let rows = stmt
                .query_map(params![caller.account_id(), after.unwrap_or(0), limit], |r| {
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
        })
    }

    /// The newest event id the caller can see, to start following from "now".
    pub fn latest_event_id(&self) -> Result<i64, Error> {
        self.read(
            |c| Ok(c.query_row("SELECT coalesce(max(seq), 0) FROM events", [], |r| r.get(0))?),
        )
    }

    /// Parses a cursor as given on the wire (`Last-Event-ID` or `?cursor=`).
    pub fn parse_event_cursor(cursor: Option<&str>) -> Result<Option<i64>, Error> {
        parse_cursor(cursor)
    }
}
