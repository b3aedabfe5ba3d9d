use super::{audit, Caller, Programme};
use crate::domain::{EmailAddress, Password, PersonName};
use crate::model::{Account, Me};
use crate::store::{Insert, NewAccount, SessionHashes, Store};
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

impl<S: Store> Programme<S> {
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
        self.change(|tx| {
            let account = NewAccount {
                id: &id,
                email: email.as_str(),
                display_name: name.as_str(),
                password_hash: &hash,
                created_at: now,
            };
            if tx.insert_account(&account)? == Insert::Duplicate {
                return Err(Error::conflict("email_taken", "An account with this email address already exists. Sign in instead, or use another address."));
            }
            audit(tx, now, None, Some(&id), "account.created", &id, "")
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
        let found = match &email {
            None => None,
            Some(e) => self.read(|tx| tx.account_by_email(e.as_str()))?,
        };
        let ok = verify_password(password, found.as_ref().map(|c| c.password_hash.as_str()));
        match found {
            Some(c) if ok => self.start_session(c.account, now),
            _ => Err(invalid_credentials()),
        }
    }

    fn start_session(&self, account: Account, now: Timestamp) -> Result<SessionTokens, Error> {
        let id = new_id("ses");
        let pair = TokenPair::new();
        let hashes = pair.hashes(&self.config, now);
        self.change(|tx| tx.insert_session(&id, &account.account_id, &hashes, now))?;
        Ok(pair.issue(&self.config, account))
    }

    /// Trades a refresh token for a new pair; the old refresh token stops working.
    pub fn refresh(&self, refresh_token: &Secret, now: Timestamp) -> Result<SessionTokens, Error> {
        let pair = TokenPair::new();
        let hashes = pair.hashes(&self.config, now);
        let presented = token_hash(refresh_token);
        let account = self.change(|tx| {
            let (session, account) = tx.session_by_refresh(&presented, now)?.ok_or_else(|| {
                Error::new(
                    ErrorKind::Unauthenticated,
                    "invalid_refresh_token",
                    "Your session has ended. Sign in again to continue.",
                )
            })?;
            tx.rotate_session(&session, &hashes)?;
            Ok(account)
        })?;
        Ok(pair.issue(&self.config, account))
    }

    /// Proves who holds `access_token`.
    pub fn authenticate(&self, access_token: &Secret, now: Timestamp) -> Result<Caller, Error> {
        let hash = token_hash(access_token);
        match self.read(|tx| tx.session_by_access(&hash))? {
            Some(s) if s.access_expires_at > now => Ok(Caller {
                account_id: s.account_id,
                session_id: s.session_id,
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
        self.change(|tx| tx.revoke_session(&caller.session_id, now))
    }

    pub fn me(&self, caller: &Caller) -> Result<Me, Error> {
        self.read(|tx| {
            let account = tx
                .account(&caller.account_id)?
                .ok_or_else(|| Error::internal("the signed-in account is missing"))?;
            let mut memberships = tx.active_memberships_of(&caller.account_id)?;
            let mut delegations = Vec::new();
            for m in &mut memberships {
                if let Some(d) = super::delegation::delegated_to(
                    tx,
                    &caller.account_id,
                    &m.organisation.organisation_id,
                )? {
                    m.roles.push(crate::model::Role::Delegate);
                    delegations.push(super::delegation::delegation_of(d));
                }
            }
            let mut requests = tx.requests_of(&caller.account_id)?;
            for r in &mut requests {
                super::delegation::mark_waiting(tx, r)?;
            }
            let handovers = tx
                .handovers_offered_to(&caller.account_id)?
                .into_iter()
                .map(super::delegation::handover_of)
                .collect();
            Ok(Me {
                account,
                memberships,
                requests,
                handovers,
                delegations,
            })
        })
    }

    /// The addresses whose mail the caller may read in the embedded mailbox: the account's own
    /// and the Organisation Email of each of their requests.
    pub fn mail_addresses(&self, caller: &Caller) -> Result<Vec<String>, Error> {
        self.read(|tx| tx.mail_addresses_of(&caller.account_id))
    }
}

/// `ttl_secs` after `now`.
pub(super) fn after(now: Timestamp, ttl_secs: i64) -> Timestamp {
    now.saturating_add(time::Duration::seconds(ttl_secs))
}

/// A new access and refresh token, and the hashes that are all the store keeps of them.
struct TokenPair {
    access: Secret,
    refresh: Secret,
    access_hash: Vec<u8>,
    refresh_hash: Vec<u8>,
}

impl TokenPair {
    fn new() -> Self {
        let (access, refresh) = (new_token(), new_token());
        Self {
            access_hash: token_hash(&access),
            refresh_hash: token_hash(&refresh),
            access,
            refresh,
        }
    }

    fn hashes(&self, cfg: &super::Config, now: Timestamp) -> SessionHashes<'_> {
        SessionHashes {
            access_hash: &self.access_hash,
            access_expires_at: after(now, cfg.access_ttl_secs),
            refresh_hash: &self.refresh_hash,
            refresh_expires_at: after(now, cfg.refresh_ttl_secs),
        }
    }

    fn issue(self, cfg: &super::Config, account: Account) -> SessionTokens {
        SessionTokens {
            access_token: self.access,
            refresh_token: self.refresh,
            expires_in: cfg.access_ttl_secs as u64,
            account,
        }
    }
}
