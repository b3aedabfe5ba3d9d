use rusqlite::{params, Connection, OptionalExtension, ToSql};

use super::{
    audit_sql, is_unique_violation, optional, parse_cursor, require_admin_sql, unix, Caller, Programme,
};
use crate::domain::{
    City, Country, EmailDomain, OrganisationName, PartnerId, Phone, StreetAddress, Website,
};
use crate::model::{
    CreatedOrganisation, DomainRule, LookupQuery, NewOrganisation, OrganisationSummary, Page,
};
use crate::store::sqlite::from_unix;
use crate::tokens::new_id;
use crate::{Error, Timestamp};

const SUMMARY_COLUMNS: &str = "o.seq, o.id, o.partner_id, o.name, o.city, o.country";

fn summary(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, OrganisationSummary)> {
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

/// Turns what a person typed into an FTS5 query: each word becomes a quoted prefix term, all
/// required. Only letters and digits reach FTS5, so no input can change the query's syntax.
fn fts_query(q: &str) -> Option<String> {
    let terms: Vec<String> = q
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(8)
        .map(|w| format!("\"{}\"*", w.to_lowercase()))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" AND "))
}

impl Programme {
    /// Creates an organisation; the caller becomes its Primary Program Contact.
    pub fn create_organisation(
        &self,
        caller: &Caller,
        new: &NewOrganisation,
        now: Timestamp,
    ) -> Result<CreatedOrganisation, Error> {
        let name = OrganisationName::parse(&new.name)?;
        let country = Country::parse(&new.country)?;
        let city = City::parse(&new.city)?;
        let phone = optional(new.phone.as_deref(), Phone::parse)?;
        let address = optional(new.address.as_deref(), StreetAddress::parse)?;
        let website = optional(new.website.as_deref(), Website::parse)?;
        self.write_sql(|tx, _| {
            let id = new_id("org");
            let (email, display): (String, String) =
                tx.query_row("SELECT email, display_name FROM accounts WHERE id = ?1", [&caller.account_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            let partner_id = loop {
                let candidate = 4_000_000 + (u32::from_le_bytes(crate::tokens::random_array()) % 5_000_000);
                let candidate = candidate.to_string();
                let taken: bool =
                    tx.query_row("SELECT EXISTS (SELECT 1 FROM organisations WHERE partner_id = ?1)", [&candidate], |r| r.get(0))?;
                if !taken {
                    break candidate;
                }
            };
            tx.execute(
                "INSERT INTO organisations(id, partner_id, name, country, city, address, phone, website, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    id,
                    partner_id,
                    name.as_str(),
                    country.as_str(),
                    city.as_str(),
                    address.as_ref().map(|a| a.as_str()),
                    phone.as_ref().map(|p| p.as_str()),
                    website.as_ref().map(|w| w.as_str()),
                    unix(now)
                ],
            )?;
            let (first, last) = split_name(&display);
            tx.execute(
                "INSERT INTO memberships(id, organisation_id, account_id, organisation_email, status, is_ppc, first_name, last_name, created_at)
                 VALUES (?1, ?2, ?3, ?4, 'active', 1, ?5, ?6, ?7)",
                params![new_id("mem"), id, caller.account_id, email, first, last, unix(now)],
            )?;
            audit_sql(tx, now, Some(&id), Some(&caller.account_id), "organisation.created", name.as_str(), "")?;
            Ok(CreatedOrganisation { organisation_id: id, partner_id })
        })
    }

    /// Looks organisations up by name words or prefix, partner ID, country and city. Never shows
    /// domains or members. Pages are in directory order; the cursor is where the last page ended.
    pub fn lookup(
        &self,
        _caller: &Caller,
        query: &LookupQuery,
    ) -> Result<Page<OrganisationSummary>, Error> {
        let limit = query.page.limit();
        let after = parse_cursor(query.page.cursor.as_deref())?.unwrap_or(0);
        let q = query.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
        if q.is_some_and(|q| q.chars().count() > 200) {
            return Err(Error::bad_request(
                "invalid_query",
                "That search is too long. Use a few words of the organisation's name.",
            ));
        }
        let partner_id =
            optional(query.partner_id.as_deref(), PartnerId::parse)?.map(|p| p.as_str().to_owned());
        let country =
            optional(query.country.as_deref(), Country::parse)?.map(|c| c.as_str().to_owned());
        let city = optional(query.city.as_deref(), City::parse)?.map(|c| c.as_str().to_owned());
        let fts = q.and_then(fts_query);
        if q.is_some()
            && fts.is_none()
            && partner_id.is_none()
            && country.is_none()
            && city.is_none()
        {
            // Only punctuation was typed: nothing can match.
            return Ok(Page {
                items: vec![],
                next_cursor: None,
            });
        }
        if fts.is_none() && partner_id.is_none() && country.is_none() && city.is_none() {
            return Err(Error::bad_request(
                "empty_lookup",
                "Enter your organisation's name, partner ID, city or country, then choose Lookup.",
            ));
        }
        let mut sql = if fts.is_some() {
            format!("SELECT {SUMMARY_COLUMNS} FROM organisations_fts f JOIN organisations o ON o.seq = f.rowid WHERE organisations_fts MATCH :fts AND f.rowid > :after")
        } else {
            format!("SELECT {SUMMARY_COLUMNS} FROM organisations o WHERE o.seq > :after")
        };
        let mut args: Vec<(&str, &dyn ToSql)> = vec![(":after", &after)];
        if let Some(f) = &fts {
            args.push((":fts", f));
        }
        if let Some(p) = &partner_id {
            sql.push_str(" AND o.partner_id = :partner_id");
            args.push((":partner_id", p));
        }
        if let Some(c) = &country {
            sql.push_str(" AND o.country = :country COLLATE NOCASE");
            args.push((":country", c));
        }
        if let Some(c) = &city {
            sql.push_str(" AND o.city = :city COLLATE NOCASE");
            args.push((":city", c));
        }
        // The limit is written into the SQL, not bound: SQLite re-prepares a statement on every
        // new binding of a LIMIT parameter (it may change the plan), which made each lookup parse
        // and plan its SQL again. `limit` is a number from `PageRequest::limit` (1 to 100), never
        // text from the caller; each value gets its own cached statement.
        sql.push_str(&format!(
            " ORDER BY {} LIMIT {}",
            if fts.is_some() { "f.rowid" } else { "o.seq" },
            limit as i64 + 1
        ));
        self.read_sql(|c| {
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt
                .query_map(args.as_slice(), summary)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(page(rows, limit))
        })
    }

    pub fn organisation(&self, _caller: &Caller, org: &str) -> Result<OrganisationSummary, Error> {
        self.read_sql(|c| organisation_summary(c, org))
    }

    pub fn domains(&self, caller: &Caller, org: &str) -> Result<Vec<DomainRule>, Error> {
        self.read_sql(|c| {
            require_admin_sql(c, caller, org)?;
            domain_rules(c, org)
        })
    }

    /// Pre-approves a domain for the organisation (canonical form). A domain belongs to at most
    /// one organisation; adding one it already has updates "include subdomains".
    pub fn add_domain(
        &self,
        caller: &Caller,
        org: &str,
        domain: &str,
        include_subdomains: bool,
        now: Timestamp,
    ) -> Result<DomainRule, Error> {
        let domain = EmailDomain::parse(domain)?;
        self.write_sql(|tx, _| {
            require_admin_sql(tx, caller, org)?;
            let owner: Option<String> =
                tx.query_row("SELECT organisation_id FROM org_domains WHERE domain = ?1", [domain.as_str()], |r| r.get(0)).optional()?;
            match owner {
                Some(o) if o != org => {
                    return Err(Error::conflict(
                        "domain_claimed",
                        format!("{domain} is already pre-approved by another organisation. If it belongs to you, contact the Regional Service Centre."),
                    ))
                }
                Some(_) => {
                    tx.execute(
                        "UPDATE org_domains SET include_subdomains = ?1 WHERE domain = ?2",
                        params![include_subdomains, domain.as_str()],
                    )?;
                }
                None => {
                    tx.execute(
                        "INSERT INTO org_domains(domain, organisation_id, include_subdomains, added_at, added_by) VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![domain.as_str(), org, include_subdomains, unix(now), caller.account_id],
                    )
                    .map_err(|e| {
                        if is_unique_violation(&e) {
                            Error::conflict("domain_claimed", format!("{domain} is already pre-approved by another organisation."))
                        } else {
                            e.into()
                        }
                    })?;
                }
            }
            let detail = if include_subdomains { "including subdomains" } else { "exact domain" };
            audit_sql(tx, now, Some(org), Some(&caller.account_id), "domain.added", domain.as_str(), detail)?;
            let rule = domain_rules(tx, org)?.into_iter().find(|r| r.domain == domain.as_str());
            rule.ok_or_else(|| Error::internal("domain vanished inside its own transaction"))
        })
    }

    pub fn remove_domain(
        &self,
        caller: &Caller,
        org: &str,
        domain: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        // Accept any spelling of the domain, but remove by canonical form.
        let canonical = crate::domain::DomainName::parse(domain)?;
        self.write_sql(|tx, _| {
            require_admin_sql(tx, caller, org)?;
            let n = tx.execute(
                "DELETE FROM org_domains WHERE domain = ?1 AND organisation_id = ?2",
                params![canonical.as_str(), org],
            )?;
            if n == 0 {
                return Err(Error::not_found("domain"));
            }
            audit_sql(
                tx,
                now,
                Some(org),
                Some(&caller.account_id),
                "domain.removed",
                canonical.as_str(),
                "",
            )?;
            Ok(())
        })
    }
}

pub(super) fn organisation_summary(
    c: &Connection,
    org: &str,
) -> Result<OrganisationSummary, Error> {
    c.query_row(
        &format!("SELECT {SUMMARY_COLUMNS} FROM organisations o WHERE o.id = ?1"),
        [org],
        summary,
    )
    .optional()?
    .map(|(_, s)| s)
    .ok_or_else(|| Error::not_found("organisation"))
}

pub(super) fn domain_rules(c: &Connection, org: &str) -> Result<Vec<DomainRule>, Error> {
    let mut stmt = c.prepare_cached("SELECT domain, include_subdomains, added_at FROM org_domains WHERE organisation_id = ?1 ORDER BY domain")?;
    let rows = stmt
        .query_map([org], |r| {
            Ok(DomainRule {
                domain: r.get(0)?,
                include_subdomains: r.get(1)?,
                added_at: from_unix(r.get(2)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Cuts a `limit + 1` fetch into a page: the extra row only says there is a next page.
pub(super) fn page<T>(mut rows: Vec<(i64, T)>, limit: u32) -> Page<T> {
    let next_cursor = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|(k, _)| k.to_string())
    } else {
        None
    };
    Page {
        items: rows.into_iter().map(|(_, t)| t).collect(),
        next_cursor,
    }
}

/// "Ada Lovelace" → ("Ada", "Lovelace"); a single word is a first name.
pub(super) fn split_name(display: &str) -> (String, String) {
    match display.trim().rsplit_once(' ') {
        Some((first, last)) => (first.trim().to_owned(), last.trim().to_owned()),
        None => (display.trim().to_owned(), String::new()),
    }
}

impl Programme {
    /// Gives an organisation a known partner ID (demo data and imports).
    pub fn set_partner_id(&self, org: &str, partner_id: &str) -> Result<(), Error> {
        let partner_id = PartnerId::parse(partner_id)?;
        self.write_sql(|tx, _| {
            tx.execute(
                "UPDATE organisations SET partner_id = ?1 WHERE id = ?2",
                params![partner_id.as_str(), org],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Error::conflict(
                        "partner_id_taken",
                        "That partner ID belongs to another organisation.",
                    )
                } else {
                    e.into()
                }
            })?;
            Ok(())
        })
    }
}

/// One organisation of an imported directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedOrganisation {
    pub name: String,
    pub city: String,
    pub country: String,
    pub partner_id: String,
}

impl Programme {
    /// Imports a directory of organisations (no members) in batches of one transaction each.
    /// Every value is validated as if typed; an invalid row stops the import with its error and
    /// leaves earlier batches in place. Returns how many were imported.
    pub fn import_organisations(
        &self,
        orgs: &[ImportedOrganisation],
        now: Timestamp,
    ) -> Result<usize, Error> {
        for chunk in orgs.chunks(10_000) {
            self.write_sql(|tx, _| {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO organisations(id, partner_id, name, country, city, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
                for o in chunk {
                    let name = OrganisationName::parse(&o.name)?;
                    let city = City::parse(&o.city)?;
                    let country = Country::parse(&o.country)?;
                    let pid = PartnerId::parse(&o.partner_id)?;
                    stmt.execute(params![new_id("org"), pid.as_str(), name.as_str(), country.as_str(), city.as_str(), unix(now)])
                        .map_err(|e| {
                            if is_unique_violation(&e) {
                                Error::conflict("partner_id_taken", format!("Partner ID {pid} appears twice in the import."))
                            } else {
                                e.into()
                            }
                        })?;
                }
                Ok(())
            })?;
        }
        Ok(orgs.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts_query_quotes_each_word_as_a_required_prefix() {
        assert_eq!(
            fts_query("Contoso  Pty"),
            Some("\"contoso\"* AND \"pty\"*".into())
        );
        assert_eq!(
            fts_query("a\"b OR c*"),
            Some("\"a\"* AND \"b\"* AND \"or\"* AND \"c\"*".into())
        );
        assert_eq!(fts_query("--- ..."), None);
    }

    #[test]
    fn page_reports_a_cursor_only_when_more_rows_exist() {
        let p = page(vec![(1, 'a'), (2, 'b'), (3, 'c')], 2);
        assert_eq!(p.items, vec!['a', 'b']);
        assert_eq!(p.next_cursor.as_deref(), Some("2"));
        let p = page(vec![(1, 'a')], 2);
        assert_eq!(p.next_cursor, None);
    }
}
