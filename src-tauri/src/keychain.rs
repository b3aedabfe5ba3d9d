//! Where session tokens are kept between runs: the OS keychain (Secret Service on Linux, Keychain on
//! macOS, Credential Manager on Windows) through the `keyring` crate, one entry per account, or,
//! when there is no usable keychain, this process's memory only.
//!
//! An entry's secret is one small JSON object holding the access and refresh tokens. It is built
//! here, from [`Secret::expose`], and handed straight to the keychain; it is never written to a file
//! or a log, and nothing falls back to a file when the keychain is missing. Passwords are never
//! kept anywhere.
use std::collections::HashMap;
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use membership::Secret;
use serde::{Deserialize, Serialize};

/// The keychain service name of every entry: the app identifier in `tauri.conf.json`.
pub const SERVICE: &str = "org.partnerdesk.app";

/// `PARTNER_DESK_KEYCHAIN=off` keeps sessions in memory only (the IPC tests set it, so they never
/// touch a real keychain); anything else, or nothing, uses the system keychain when it answers.
pub const KEYCHAIN_ENV: &str = "PARTNER_DESK_KEYCHAIN";

/// The keychain entry (user name) the availability probe writes and deletes again.
const PROBE_USER: &str = "partner-desk-keychain-probe";

/// How long the probe waits: a keychain that shows an unlock prompt nobody can answer must not
/// keep the window from opening.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// One account's tokens.
#[derive(Clone, Debug)]
pub struct StoredTokens {
    pub access_token: Secret,
    pub refresh_token: Secret,
}

/// The JSON inside a keychain entry. Borrowed from the [`Secret`]s only for the moment it takes to
/// hand the string to the keychain.
#[derive(Serialize)]
struct EntryOut<'a> {
    v: u8,
    access_token: &'a str,
    refresh_token: &'a str,
}

#[derive(Deserialize)]
struct EntryIn {
    access_token: Secret,
    refresh_token: Secret,
}

/// Why the keychain could not be used, as a plain-language phrase (it completes "Your system
/// keychain is not available (…)").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unavailable(pub String);

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where this run keeps sessions, chosen once at startup.
pub enum KeyStore {
    /// The OS keychain: sessions survive a restart.
    System,
    /// Memory only, because the keychain is unavailable (`reason`): sessions last for this run.
    SessionOnly {
        reason: Unavailable,
        memory: Mutex<HashMap<String, StoredTokens>>,
    },
}

impl KeyStore {
    /// The system keychain if the probe can write to it, else memory only with the probe's reason.
    /// [`KEYCHAIN_ENV`]`=off` chooses memory only without probing.
    pub fn choose() -> Self {
        if std::env::var(KEYCHAIN_ENV).is_ok_and(|v| v.eq_ignore_ascii_case("off")) {
            return Self::session_only(Unavailable("it is turned off for this run".to_owned()));
        }
        match probe() {
            Ok(()) => Self::System,
            Err(reason) => Self::session_only(reason),
        }
    }

    pub fn session_only(reason: Unavailable) -> Self {
        Self::SessionOnly {
            reason,
            memory: Mutex::new(HashMap::new()),
        }
    }

    /// Why sessions last for this run only, or `None` when the keychain keeps them.
    pub fn unavailable(&self) -> Option<&Unavailable> {
        match self {
            Self::System => None,
            Self::SessionOnly { reason, .. } => Some(reason),
        }
    }

    /// Keeps `account`'s tokens, replacing any it had.
    pub fn store(&self, account: &str, tokens: &StoredTokens) -> Result<(), Unavailable> {
        match self {
            Self::System => {
                let json = serde_json::to_string(&EntryOut {
                    v: 1,
                    access_token: tokens.access_token.expose(),
                    refresh_token: tokens.refresh_token.expose(),
                })
                .map_err(|_| Unavailable("its entry could not be prepared".to_owned()))?;
                let secret = Secret::new(json);
                entry(account)?
                    .set_password(secret.expose())
                    .map_err(reason)
            }
            Self::SessionOnly { memory, .. } => {
                lock(memory).insert(key(account), tokens.clone());
                Ok(())
            }
        }
    }

    /// `account`'s tokens, or `None` when it has none kept (or its entry is not ours to read).
    pub fn load(&self, account: &str) -> Result<Option<StoredTokens>, Unavailable> {
        match self {
            Self::System => match entry(account)?.get_password() {
                Ok(json) => {
                    let json = Secret::new(json);
                    Ok(serde_json::from_str::<EntryIn>(json.expose())
                        .ok()
                        .map(|e| StoredTokens {
                            access_token: e.access_token,
                            refresh_token: e.refresh_token,
                        }))
                }
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(e) => Err(reason(e)),
            },
            Self::SessionOnly { memory, .. } => Ok(lock(memory).get(&key(account)).cloned()),
        }
    }

    /// Forgets `account`'s tokens; forgetting what is not there is not an error.
    pub fn delete(&self, account: &str) -> Result<(), Unavailable> {
        match self {
            Self::System => match entry(account)?.delete_credential() {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(e) => Err(reason(e)),
            },
            Self::SessionOnly { memory, .. } => {
                lock(memory).remove(&key(account));
                Ok(())
            }
        }
    }
}

/// Whether the system keychain can keep an entry now: writes, reads back and deletes a probe entry
/// that holds no secret. Gives up after a few seconds (a locked keychain may wait on a prompt).
pub fn probe() -> Result<(), Unavailable> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("keychain-probe".into())
        .spawn(move || {
            let result = (|| {
                let e = entry(PROBE_USER)?;
                e.set_password("probe").map_err(reason)?;
                let read = e.get_password().map_err(reason)?;
                e.delete_credential().map_err(reason)?;
                if read == "probe" {
                    Ok(())
                } else {
                    Err(Unavailable(
                        "it did not give back what was stored in it".to_owned(),
                    ))
                }
            })();
            let _ = tx.send(result);
        })
        .map_err(|_| Unavailable("Partner Desk could not ask it".to_owned()))?;
    rx.recv_timeout(PROBE_TIMEOUT).unwrap_or_else(|_| {
        Err(Unavailable(
            "it did not answer; it may be locked and waiting for a password".to_owned(),
        ))
    })
}

fn entry(account: &str) -> Result<keyring::Entry, Unavailable> {
    keyring::Entry::new(SERVICE, &key(account)).map_err(reason)
}

/// Entries are per email address, compared without regard to case.
fn key(account: &str) -> String {
    account.trim().to_ascii_lowercase()
}

/// A keyring error as a plain phrase. The crate's own text can name D-Bus internals; it is not shown.
fn reason(e: keyring::Error) -> Unavailable {
    Unavailable(
        match e {
            keyring::Error::NoStorageAccess(_) => "it is locked or refused access",
            keyring::Error::PlatformFailure(_) => {
                if cfg!(target_os = "linux") {
                    "no Secret Service, such as GNOME Keyring or KWallet, is running"
                } else {
                    "the system keychain service did not respond"
                }
            }
            keyring::Error::TooLong(..) | keyring::Error::Invalid(..) => {
                "it refused the entry Partner Desk tried to keep"
            }
            keyring::Error::Ambiguous(_) => "it holds more than one entry for this account",
            _ => "it gave an unexpected answer",
        }
        .to_owned(),
    )
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_only_keeps_tokens_in_memory_per_account() {
        let store = KeyStore::session_only(Unavailable("test".into()));
        let tokens = StoredTokens {
            access_token: Secret::new("a"),
            refresh_token: Secret::new("r"),
        };
        store.store("Sam@Example.net", &tokens).unwrap();
        let loaded = store.load("sam@example.net").unwrap().expect("kept");
        assert_eq!(loaded.refresh_token.expose(), "r");
        assert!(format!("{loaded:?}").contains("<redacted>"));
        store.delete("SAM@example.net").unwrap();
        assert!(store.load("sam@example.net").unwrap().is_none());
        assert_eq!(store.unavailable().unwrap().0, "test");
    }
}
