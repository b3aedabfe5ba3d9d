use super::proof::{fresh_proof, rule_of};
use super::{audit, optional, parse_cursor, require_admin, Caller, Programme};
use crate::domain::{
    City, Country, EmailDomain, OrganisationName, PartnerId, Phone, StreetAddress, Website,
};
use crate::model::{
    CreatedOrganisation, DomainRule, DomainStatus, LookupQuery, NewOrganisation,
    OrganisationSummary, Page,
};
use crate::store::{self, DirectoryQuery, DomainRow, Insert, NewMembership, Store};
use crate::tokens::new_id;
use crate::{Error, Timestamp};

/// The most a lookup's `q` may hold, as sent.
pub const LOOKUP_MAX_CHARS: usize = 200;

/// The words of what a person typed, as lookup matches them: the directory's own words
/// ([`crate::domain::directory_words`]: runs of letters and digits, lower-cased, without
/// diacritics), at most eight. Each must be the prefix of a word of the name, city or country.
/// Splitting the query exactly as the directory is split means each word is one prefix term on
/// every store.
fn lookup_words(q: &str) -> Vec<String> {
    let mut words = crate::domain::directory_words(q);
    words.truncate(8);
    words
}

impl<S: Store> Programme<S> {
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
        self.change(|tx| {
            let id = new_id("org");
            let creator = tx
                .account(&caller.account_id)?
                .ok_or_else(|| Error::internal("the signed-in account is missing"))?;
            let partner_id = loop {
                let candidate =
                    4_000_000 + (u32::from_le_bytes(crate::tokens::random_array()) % 5_000_000);
                let candidate = candidate.to_string();
                if !tx.partner_id_taken(&candidate)? {
                    break candidate;
                }
            };
            let organisation = store::NewOrganisation {
                id: &id,
                partner_id: &partner_id,
                name: name.as_str(),
                country: country.as_str(),
                city: city.as_str(),
                address: address.as_ref().map(|a| a.as_str()),
                phone: phone.as_ref().map(|p| p.as_str()),
                website: website.as_ref().map(|w| w.as_str()),
                created_at: now,
            };
            if tx.insert_organisation(&organisation)? == Insert::Duplicate {
                return Err(Error::internal(
                    "a free partner ID was taken inside its own transaction",
                ));
            }
            let (first, last) = split_name(&creator.display_name);
            tx.insert_membership(&NewMembership {
                id: &new_id("mem"),
                organisation_id: &id,
                account_id: &caller.account_id,
                request_id: None,
                organisation_email: &creator.email,
                is_ppc: true,
                first_name: &first,
                last_name: &last,
                job_title: None,
                phone: None,
                created_at: now,
            })?;
            audit(
                tx,
                now,
                Some(&id),
                Some(&caller.account_id),
                "organisation.created",
                name.as_str(),
                "",
            )?;
            Ok(CreatedOrganisation {
                organisation_id: id,
                partner_id,
            })
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
        if query
            .q
            .as_deref()
            .is_some_and(|q| q.chars().count() > LOOKUP_MAX_CHARS)
        {
            return Err(Error::bad_request(
                "invalid_query",
                "That search is too long. Use a few words of the organisation's name.",
            ));
        }
        let q = query.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let partner_id = optional(query.partner_id.as_deref(), PartnerId::parse)?;
        let country = optional(query.country.as_deref(), Country::parse)?;
        let city = optional(query.city.as_deref(), City::parse)?;
        let words = q.map(lookup_words).unwrap_or_default();
        let no_filter = partner_id.is_none() && country.is_none() && city.is_none();
        if q.is_some() && words.is_empty() && no_filter {
            // Only punctuation was typed: nothing can match.
            return Ok(Page {
                items: vec![],
                next_cursor: None,
            });
        }
        if words.is_empty() && no_filter {
            return Err(Error::bad_request(
                "empty_lookup",
                "Enter your organisation's name, partner ID, city or country, then choose Lookup.",
            ));
        }
        let directory = DirectoryQuery {
            words: &words,
            partner_id: partner_id.as_ref().map(|p| p.as_str()),
            country: country.as_ref().map(|c| c.as_str()),
            city: city.as_ref().map(|c| c.as_str()),
            after,
            limit: limit + 1,
        };
        self.read(|tx| Ok(page(tx.lookup(&directory)?, limit)))
    }

    pub fn organisation(&self, _caller: &Caller, org: &str) -> Result<OrganisationSummary, Error> {
        self.read(|tx| {
            tx.organisation_summary(org)?
                .ok_or_else(|| Error::not_found("organisation"))
        })
    }

    pub fn domains(&self, caller: &Caller, org: &str) -> Result<Vec<DomainRule>, Error> {
        let s = &self.config.proof;
        self.read(|tx| {
            require_admin(tx, caller, org)?;
            Ok(tx.domain_rows(org)?.iter().map(|r| rule_of(r, s)).collect())
        })
    }

    /// Adds a domain for the organisation (canonical form), `pending` with a new record to
    /// publish. Refused when another organisation has proven it. Adding a domain the organisation
    /// has already updates "include subdomains", and gives a new record when its challenge has
    /// ended (lapsed or expired).
    pub fn add_domain(
        &self,
        caller: &Caller,
        org: &str,
        domain: &str,
        include_subdomains: bool,
        now: Timestamp,
    ) -> Result<DomainRule, Error> {
        let domain = EmailDomain::parse(domain)?;
        let s = &self.config.proof;
        self.change(|tx| {
            require_admin(tx, caller, org)?;
            let holders = tx.domain_holders(domain.as_str())?;
            if holders
                .iter()
                .any(|h| h.organisation_id != org && h.proof.status == DomainStatus::Verified)
            {
                return Err(claimed(&domain));
            }
            let row = match holders.into_iter().find(|h| h.organisation_id == org) {
                Some(mut row) => {
                    row.include_subdomains = include_subdomains;
                    if matches!(
                        row.proof.status,
                        DomainStatus::Lapsed | DomainStatus::Expired
                    ) {
                        row.proof = fresh_proof(now, s);
                    }
                    if tx.update_domain(&row)? == Insert::Duplicate {
                        return Err(claimed(&domain));
                    }
                    row
                }
                None => {
                    let row = DomainRow {
                        domain: domain.as_str().to_owned(),
                        organisation_id: org.to_owned(),
                        include_subdomains,
                        added_at: now,
                        proof: fresh_proof(now, s),
                    };
                    if tx.insert_domain(&row, &caller.account_id)? == Insert::Duplicate {
                        return Err(claimed(&domain));
                    }
                    row
                }
            };
            let detail = if include_subdomains {
                "including subdomains"
            } else {
                "exact domain"
            };
            audit(
                tx,
                now,
                Some(org),
                Some(&caller.account_id),
                "domain.added",
                domain.as_str(),
                detail,
            )?;
            Ok(rule_of(&row, s))
        })
    }

    /// Gives a demo or imported organisation a domain that is proven already (the embedded
    /// backend's demo data), as if its record had just been seen.
    pub fn import_verified_domain(
        &self,
        org: &str,
        domain: &str,
        include_subdomains: bool,
        added_by: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        let domain = EmailDomain::parse(domain)?;
        let s = &self.config.proof;
        let mut proof = fresh_proof(now, s);
        proof.status = DomainStatus::Verified;
        proof.verified_at = Some(now);
        proof.next_check_at = Some(now + time::Duration::seconds(s.recheck_secs));
        let row = DomainRow {
            domain: domain.as_str().to_owned(),
            organisation_id: org.to_owned(),
            include_subdomains,
            added_at: now,
            proof,
        };
        self.change(|tx| match tx.insert_domain(&row, added_by)? {
            Insert::Done => Ok(()),
            Insert::Duplicate => Err(claimed(&domain)),
        })
    }

    pub fn remove_domain(
        &self,
        caller: &Caller,
        org: &str,
        domain: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        // Accept any spelling of the domain, but remove by canonical form. What is not a domain
        // at all is no rule of the organisation either: not found, like any other.
        let canonical =
            crate::domain::DomainName::parse(domain).map_err(|_| Error::not_found("domain"))?;
        self.change(|tx| {
            require_admin(tx, caller, org)?;
            if !tx.remove_domain(org, canonical.as_str())? {
                return Err(Error::not_found("domain"));
            }
            audit(
                tx,
                now,
                Some(org),
                Some(&caller.account_id),
                "domain.removed",
                canonical.as_str(),
                "",
            )
        })
    }

    /// Gives an organisation a known partner ID (demo data and imports).
    pub fn set_partner_id(&self, org: &str, partner_id: &str) -> Result<(), Error> {
        let partner_id = PartnerId::parse(partner_id)?;
        self.change(|tx| match tx.set_partner_id(org, partner_id.as_str())? {
            Insert::Done => Ok(()),
            Insert::Duplicate => Err(Error::conflict(
                "partner_id_taken",
                "That partner ID belongs to another organisation.",
            )),
        })
    }

    /// Imports a directory of organisations (no members) in batches of one transaction each.
    /// Every value is validated as if typed; an invalid row stops the import with its error and
    /// leaves earlier batches in place. Returns how many were imported.
    pub fn import_organisations(
        &self,
        orgs: &[ImportedOrganisation],
        now: Timestamp,
    ) -> Result<usize, Error> {
        for chunk in orgs.chunks(10_000) {
            self.change(|tx| {
                for o in chunk {
                    let name = OrganisationName::parse(&o.name)?;
                    let city = City::parse(&o.city)?;
                    let country = Country::parse(&o.country)?;
                    let pid = PartnerId::parse(&o.partner_id)?;
                    let organisation = store::NewOrganisation {
                        id: &new_id("org"),
                        partner_id: pid.as_str(),
                        name: name.as_str(),
                        country: country.as_str(),
                        city: city.as_str(),
                        address: None,
                        phone: None,
                        website: None,
                        created_at: now,
                    };
                    if tx.insert_organisation(&organisation)? == Insert::Duplicate {
                        return Err(Error::conflict(
                            "partner_id_taken",
                            format!("Partner ID {pid} appears twice in the import."),
                        ));
                    }
                }
                Ok(())
            })?;
        }
        Ok(orgs.len())
    }
}

fn claimed(domain: &EmailDomain) -> Error {
    Error::conflict(
        "domain_claimed",
        format!("{domain} is already proven to belong to another organisation. If it belongs to you, contact the Regional Service Centre."),
    )
}

/// Cuts a `limit + 1` fetch into a page: the extra row only says there is a next page.
pub(super) fn page<T>(mut rows: Vec<store::Keyed<T>>, limit: u32) -> Page<T> {
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

/// One organisation of an imported directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedOrganisation {
    pub name: String,
    pub city: String,
    pub country: String,
    pub partner_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_words_are_the_lower_cased_runs_of_letters_and_digits() {
        assert_eq!(lookup_words("Contoso  Pty"), vec!["contoso", "pty"]);
        assert_eq!(lookup_words("a\"b OR c*"), vec!["a", "b", "or", "c"]);
        assert!(lookup_words("--- ...").is_empty());
        assert_eq!(lookup_words("1 2 3 4 5 6 7 8 9").len(), 8);
        assert_eq!(lookup_words("Zürich"), vec!["zurich"]);
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
