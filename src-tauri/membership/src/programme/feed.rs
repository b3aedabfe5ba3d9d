use super::organisations::page;
use super::{parse_cursor, require_admin, Caller, Programme};
use crate::model::{AuditEntry, Event, Page, PageRequest};
use crate::store::Store;
use crate::Error;

impl<S: Store> Programme<S> {
    /// The organisation's audit history, newest first.
    pub fn audit(
        &self,
        caller: &Caller,
        org: &str,
        page_req: &PageRequest,
    ) -> Result<Page<AuditEntry>, Error> {
        let limit = page_req.limit();
        let before = parse_cursor(page_req.cursor.as_deref())?.unwrap_or(i64::MAX);
        self.read(|tx| {
            require_admin(tx, caller, org)?;
            Ok(page(tx.audit_page(org, before, limit + 1)?, limit))
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
        self.read(|tx| tx.events_for(caller.account_id(), after.unwrap_or(0), limit))
    }

    /// The newest event id the caller can see, to start following from "now".
    pub fn latest_event_id(&self) -> Result<i64, Error> {
        self.read(|tx| tx.latest_event_id())
    }
}

impl Programme {
    /// Parses a cursor as given on the wire (`Last-Event-ID` or `?cursor=`).
    pub fn parse_event_cursor(cursor: Option<&str>) -> Result<Option<i64>, Error> {
        parse_cursor(cursor)
    }
}
