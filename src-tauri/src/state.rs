//! What the shell remembers while it runs: the backend, the current session and the few settings.
//!
//! Session tokens are held in memory only, as [`Secret`]s that never print; nothing here writes
//! them to a file or a log. (The OS keychain comes with its own issue.)
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use membership::{Account, Caller, ErrorKind, Programme, Secret, SessionTokens, Timestamp};

use crate::backend::Backend;
use crate::error::UiError;
use crate::settings::{Settings, SETTINGS_FILE};

/// How many recently used accounts "Switch account" offers (as email addresses only).
const RECENT_ACCOUNTS: usize = 5;

/// Where the app keeps its data. `Fixed` is one folder for both the database and the settings:
/// tests and `--data-dir` use it so that nothing touches the user's real folders.
#[derive(Debug, Clone)]
pub enum DataDirs {
    /// The platform's app data and config folders for this app.
    App,
    Fixed(PathBuf),
}

impl DataDirs {
    /// `--data-dir <path>` / `--data-dir=<path>` on the command line, else `PARTNER_DESK_DATA_DIR`,
    /// else the platform's folders.
    pub fn from_env() -> Self {
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            if let Some(path) = arg.strip_prefix("--data-dir=") {
                return Self::Fixed(path.into());
            }
            if arg == "--data-dir" {
                if let Some(path) = args.next() {
                    return Self::Fixed(path.into());
                }
            }
        }
        match std::env::var_os("PARTNER_DESK_DATA_DIR") {
            Some(dir) if !dir.is_empty() => Self::Fixed(dir.into()),
            _ => Self::App,
        }
    }
}

struct Session {
    access_token: Secret,
    refresh_token: Secret,
    account: Account,
}

/// The shell's state, shared by every command (cheap to clone).
#[derive(Clone)]
pub struct Shell(pub(crate) Arc<Core>);

pub struct Core {
    backend: Result<Backend, UiError>,
    session: Mutex<Option<Session>>,
    recent: Mutex<Vec<String>>,
    settings: Mutex<Settings>,
    settings_path: PathBuf,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere never leaves these values half-written, so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shell {
    /// Opens the embedded backend in `data_dir` (seeding it on first start) and reads the settings
    /// from `config_dir`. A backend that cannot open is remembered as the error every command
    /// then answers with, so the window still opens and can say what went wrong.
    pub fn open(data_dir: &Path, config_dir: &Path) -> Self {
        let backend = Backend::open_embedded(data_dir).map_err(UiError::from);
        let settings_path = config_dir.join(SETTINGS_FILE);
        Self(Arc::new(Core {
            backend,
            session: Mutex::new(None),
            recent: Mutex::new(Vec::new()),
            settings: Mutex::new(Settings::load(&settings_path)),
            settings_path,
        }))
    }
}

impl Core {
    pub fn backend(&self) -> Result<&Backend, UiError> {
        self.backend.as_ref().map_err(Clone::clone)
    }

    pub fn programme(&self) -> Result<Arc<Programme>, UiError> {
        Ok(self.backend()?.programme().clone())
    }

    pub fn account(&self) -> Option<Account> {
        lock(&self.session).as_ref().map(|s| s.account.clone())
    }

    pub fn start_session(&self, tokens: SessionTokens) -> Account {
        let account = tokens.account.clone();
        {
            let mut recent = lock(&self.recent);
            recent.retain(|e| !e.eq_ignore_ascii_case(&account.email));
            recent.insert(0, account.email.clone());
            recent.truncate(RECENT_ACCOUNTS);
        }
        *lock(&self.session) = Some(Session {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            account: account.clone(),
        });
        account
    }

    pub fn end_session(&self) {
        *lock(&self.session) = None;
    }

    pub fn recent_accounts(&self) -> Vec<String> {
        lock(&self.recent).clone()
    }

    /// The signed-in caller. An expired access token is renewed once with the refresh token; if
    /// that fails too, the session ends and the person is asked to sign in again.
    pub fn caller(&self, programme: &Programme, now: Timestamp) -> Result<Caller, UiError> {
        let (access, refresh) = match lock(&self.session).as_ref() {
            Some(s) => (s.access_token.clone(), s.refresh_token.clone()),
            None => return Err(UiError::not_signed_in()),
        };
        match programme.authenticate(&access, now) {
            Ok(caller) => Ok(caller),
            Err(e) if e.kind() == ErrorKind::Unauthenticated => {
                match programme.refresh(&refresh, now) {
                    Ok(tokens) => {
                        let access = tokens.access_token.clone();
                        {
                            let mut session = lock(&self.session);
                            if let Some(s) = session.as_mut() {
                                s.access_token = tokens.access_token;
                                s.refresh_token = tokens.refresh_token;
                                s.account = tokens.account;
                            }
                        }
                        programme.authenticate(&access, now).map_err(UiError::from)
                    }
                    Err(_) => {
                        self.end_session();
                        Err(UiError::not_signed_in())
                    }
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    pub fn settings(&self) -> Settings {
        lock(&self.settings).clone()
    }

    pub fn save_settings(&self, settings: Settings) -> Result<Settings, UiError> {
        let settings = settings.validated()?;
        settings.save(&self.settings_path)?;
        *lock(&self.settings) = settings.clone();
        Ok(settings)
    }
}
