use rusqlite::{params, OptionalExtension};

use super::{audit_sql, is_unique_violation, unix, Caller, Programme};
use crate::domain::{EmailAddress, Password, PersonName};
use crate::model::{Account, Me, MembershipStatus, MembershipSummary, OrganisationRef, Role};
use crate::tokens::{hash_password, new_id, new_token, token_hash, verify_password};
use crate::{Error, ErrorKind, Secret, Timestamp};

/// A new pair of session tokens. Both are secrets: they never print and are stored only hashed.
#[derive(Debug, Clone)]
pub struct SessionTokens {
    pub access_token: Secret,
    pub refresh_token: Secret,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub account: Account,
}

fn invalid_credentials() -> Error {
    Error::new(
        ErrorKind::Unauthenticated,
        "invalid_credentials",
        "The email address or password is not right. Check both and try again.",
    )
}

impl Programme {
    pub fn create_account(
        &self,
        email: &str,
        display_name: &str,
        password: &Secret,
        now: Timestamp,
    ) -> Result<String, Error> {
        let email = EmailAddress::parse(email)?;
        let name = PersonName::parse(display_name)?;
        let password = Password::parse(password)?;
        // Hash before the transaction: it is slow and needs no lock.
        let hash = hash_password(password.secret())?;
        let id = new_id("acc");
        self.write_sql(|tx, _| {
            tx.execute(
                "INSERT INTO accounts(id, email, display_name, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, email.as_str(), name.as_str(), hash, unix(now)],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Error::conflict("email_taken", "An account with this email address already exists. Sign in instead, or use another address.")
                } else {
                    e.into()
                }
            })?;
            audit_sql(tx, now, None, Some(&id), "account.created", &id, "")?;
            Ok(())
        })?;
        Ok(id)
    }

    /// Signs in. An unknown email and a wrong password get the same answer and cost the same time.
    pub fn sign_in(
        &self,
        email: &str,
        password: &Secret,
        now: Timestamp,
    ) -> Result<SessionTokens, Error> {
        let email = EmailAddress::parse(email).ok();
        let found: Option<(Account, String)> = match &email {
            None => None,
            Some(e) => self.read_sql(|c| {
                Ok(c.query_row(
                    "SELECT id, email, display_name, password_hash FROM accounts WHERE email = ?1",
                    [e.as_str()],
                    |r| {
                        Ok((
                            Account {
                                account_id: r.get(0)?,
                                email: r.get(1)?,
                                display_name: r.get(2)?,
                            },
                            r.get(3)?,
                        ))
                    },
                )
                .optional()?)
            })?,
        };
        let ok = verify_password(password, found.as_ref().map(|(_, h)| h.as_str()));
        match found {
            Some((account, _)) if ok => self.start_session(account, now),
            _ => Err(invalid_credentials()),
        }
    }

    fn start_session(&self, account: Account, now: Timestamp) -> Result<SessionTokens, Error> {
        let access = new_token();
        let refresh = new_token();
        let id = new_id("ses");
        let cfg = &self.config;
        self.write_sql(|tx, _| {
            tx.execute(
                "INSERT INTO sessions(id, account_id, access_hash, access_expires_at, refresh_hash, refresh_expires_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    id,
                    account.account_id,
                    token_hash(&access),
                    unix(now) + cfg.access_ttl_secs,
                    token_hash(&refresh),
                    unix(now) + cfg.refresh_ttl_secs,
                    unix(now)
                ],
            )?;
            Ok(())
        })?;
        Ok(SessionTokens {
            access_token: access,
            refresh_token: refresh,
            expires_in: cfg.access_ttl_secs as u64,
            account,
        })
    }

    /// Trades a refresh token for a new pair; the old refresh token stops working.
    pub fn refresh(&self, refresh_token: &Secret, now: Timestamp) -> Result<SessionTokens, Error> {
        let access = new_token();
        let refresh = new_token();
        let cfg = &self.config;
        let account = self.write_sql(|tx, _| {
            let row: Option<(String, Account)> = tx
                .query_row(
                    "SELECT s.id, a.id, a.email, a.display_name FROM sessions s JOIN accounts a ON a.id = s.account_id
                     WHERE s.refresh_hash = ?1 AND s.revoked_at IS NULL AND s.refresh_expires_at > ?2",
                    params![token_hash(refresh_token), unix(now)],
                    |r| Ok((r.get(0)?, Account { account_id: r.get(1)?, email: r.get(2)?, display_name: r.get(3)? })),
                )
                .optional()?;
            let (session, account) = row.ok_or_else(|| {
                Error::new(ErrorKind::Unauthenticated, "invalid_refresh_token", "Your session has ended. Sign in again to continue.")
            })?;
            tx.execute(
                "UPDATE sessions SET access_hash = ?1, access_expires_at = ?2, refresh_hash = ?3, refresh_expires_at = ?4 WHERE id = ?5",
                params![
                    token_hash(&access),
                    unix(now) + cfg.access_ttl_secs,
                    token_hash(&refresh),
                    unix(now) + cfg.refresh_ttl_secs,
                    session
                ],
            )?;
            Ok(account)
        })?;
        Ok(SessionTokens {
            access_token: access,
            refresh_token: refresh,
            expires_in: cfg.access_ttl_secs as u64,
            account,
        })
    }

    /// Proves who holds `access_token`.
    pub fn authenticate(&self, access_token: &Secret, now: Timestamp) -> Result<Caller, Error> {
        // Every API call starts here: a cached statement, not one parsed per call.
        let row: Option<(String, String, i64)> = self.read_sql(|c| {
            Ok(c.prepare_cached(
                "SELECT id, account_id, access_expires_at FROM sessions WHERE access_hash = ?1 AND revoked_at IS NULL",
            )?
            .query_row([token_hash(access_token)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?)
        })?;
        match row {
            Some((session_id, account_id, expires)) if expires > unix(now) => Ok(Caller {
                account_id,
                session_id,
            }),
            Some(_) => Err(Error::new(
                ErrorKind::Unauthenticated,
                "session_expired",
                "Your session has expired. Refresh it, or sign in again.",
            )),
            None => Err(Error::unauthenticated()),
        }
    }

    /// Ends the caller's session: its access and refresh tokens stop working.
    pub fn sign_out(&self, caller: &Caller, now: Timestamp) -> Result<(), Error> {
        self.write_sql(|tx, _| {
            tx.execute(
                "UPDATE sessions SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
                params![unix(now), caller.session_id],
            )?;
            Ok(())
        })
    }

    pub fn me(&self, caller: &Caller) -> Result<Me, Error> {
        self.read_sql(|c| {
            let account = c.query_row(
                "SELECT id, email, display_name FROM accounts WHERE id = ?1",
                [&caller.account_id],
                |r| Ok(Account { account_id: r.get(0)?, email: r.get(1)?, display_name: r.get(2)? }),
            )?;
            let mut stmt = c.prepare_cached(
                "SELECT m.id, o.id, o.name, o.partner_id, m.is_ppc, m.organisation_email,
                        (SELECT group_concat(privilege) FROM membership_privileges p WHERE p.membership_id = m.id)
                 FROM memberships m JOIN organisations o ON o.id = m.organisation_id
                 WHERE m.account_id = ?1 AND m.status = 'active' ORDER BY o.name",
            )?;
            let memberships = stmt
                .query_map([&caller.account_id], |r| {
                    Ok(MembershipSummary {
                        membership_id: r.get(0)?,
                        organisation: OrganisationRef { organisation_id: r.get(1)?, name: r.get(2)?, partner_id: r.get(3)? },
                        status: MembershipStatus::Active,
                        roles: roles(r.get(4)?),
                        privileges: super::memberships::privileges_from(r.get::<_, Option<String>>(6)?),
                        organisation_email: r.get(5)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let requests = super::requests::requests_of(c, &caller.account_id)?;
            Ok(Me { account, memberships, requests })
        })
    }

    /// The addresses whose mail the caller may read in the embedded mailbox: the account's own
    /// and the Organisation Email of each of their requests.
    pub fn mail_addresses(&self, caller: &Caller) -> Result<Vec<String>, Error> {
        self.read_sql(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT email FROM accounts WHERE id = ?1
                 UNION SELECT organisation_email FROM association_requests WHERE account_id = ?1",
            )?;
            let rows = stmt
                .query_map([&caller.account_id], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(rows)
        })
    }
}

pub(super) fn roles(is_ppc: bool) -> Vec<Role> {
    if is_ppc {
        vec![Role::Ppc, Role::Member]
    } else {
        vec![Role::Member]
    }
}
