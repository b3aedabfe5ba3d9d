//! What the shell remembers while it runs: the backend, the current session and the few settings.
//!
//! Session tokens are held as [`Secret`]s that never print: the current session in memory, and
//! every remembered account's tokens in the OS keychain (see [`crate::keychain`]), or in memory
//! only when there is no keychain. Nothing here writes a token to a file or a log; the settings
//! file remembers account email addresses only.
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, RwLock};

use membership::{Account, ErrorKind, Programme, Secret, SessionTokens};
use serde::Serialize;

use crate::backend::Backend;
use crate::error::UiError;
use crate::keychain::{KeyStore, StoredTokens, Unavailable};
use crate::settings::{Appearance, BackendKind, Settings, SETTINGS_FILE};

/// How many accounts the app remembers for "Switch account" (as email addresses; their tokens in
/// the keychain). The oldest beyond this is forgotten, keychain entry included.
const REMEMBERED_ACCOUNTS: usize = 8;

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

/// The shell's state, shared by every command (cheap to clone). [`Shell::open`] answers at once
/// and opens the backend and restores the session on a thread of its own, so the window paints
/// its first screen meanwhile; whatever needs the state waits for it ([`Shell::core`]).
#[derive(Clone)]
pub struct Shell(Arc<Opening>);

type WhenReady = Box<dyn FnOnce(&Arc<Core>) + Send>;

/// The state once it is there, and what waits for it.
struct Opening {
    core: OnceLock<Arc<Core>>,
    /// Work to run once the state is there (see [`Shell::when_ready`]).
    waiting: Mutex<Vec<WhenReady>>,
    opened: Condvar,
}

impl Shell {
    fn pending() -> Self {
        Self(Arc::new(Opening {
            core: OnceLock::new(),
            waiting: Mutex::new(Vec::new()),
            opened: Condvar::new(),
        }))
    }

    /// Runs the work waiting for the state, then makes the state visible, so a command never
    /// sees it before what was set to follow it (the offline sync of whoever was restored, the
    /// notifications) is in place.
    fn publish(&self, core: Core) {
        let core = Arc::new(core);
        loop {
            let waiting = {
                let mut waiting = lock(&self.0.waiting);
                if waiting.is_empty() {
                    let _ = self.0.core.set(core.clone());
                    self.0.opened.notify_all();
                    return;
                }
                std::mem::take(&mut *waiting)
            };
            // Outside the lock: work queued meanwhile is taken on the next turn.
            for work in waiting {
                work(&core);
            }
        }
    }

    /// The state, waiting until it is there (a few hundred milliseconds at most, at start-up):
    /// call from a thread that may block.
    pub fn core(&self) -> Arc<Core> {
        let mut waiting = lock(&self.0.waiting);
        loop {
            if let Some(core) = self.0.core.get() {
                return core.clone();
            }
            waiting = self
                .0
                .opened
                .wait(waiting)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// [`Shell::core`] for async code: waits on the blocking pool, not on the async runtime.
    pub async fn ready(&self) -> Result<Arc<Core>, UiError> {
        if let Some(core) = self.0.core.get() {
            return Ok(core.clone());
        }
        let shell = self.clone();
        tauri::async_runtime::spawn_blocking(move || shell.core())
            .await
            .map_err(|_| UiError::internal())
    }

    /// The state if it is there already.
    pub fn try_core(&self) -> Option<Arc<Core>> {
        self.0.core.get().cloned()
    }

    /// Runs `work` once the state is there: now, or on the thread that opens it.
    pub fn when_ready(&self, work: impl FnOnce(&Arc<Core>) + Send + 'static) {
        let core = {
            let mut waiting = lock(&self.0.waiting);
            match self.0.core.get() {
                Some(core) => core.clone(),
                None => {
                    waiting.push(Box::new(work));
                    return;
                }
            }
        };
        work(&core);
    }
}

pub struct Core {
    /// The backend in use; the settings screen can swap it. An error is what every command
    /// answers while no backend could be opened, so the window can still say what went wrong.
    backend: RwLock<Result<Arc<Backend>, UiError>>,
    /// Where the embedded backend keeps its database (to open it again after using a server).
    data_dir: PathBuf,
    session: Mutex<Option<Session>>,
    /// Held while a refresh token is traded, so two commands never spend the same one.
    refreshing: Mutex<()>,
    keystore: KeyStore,
    /// A sentence for the sign-in screen about a session that could not be kept or restored.
    notice: Mutex<Option<String>>,
    settings: Mutex<Settings>,
    settings_path: PathBuf,
    /// Told whenever who is signed in changes (see [`Core::on_session_change`]).
    listeners: Mutex<Vec<Listener>>,
}

/// Who is signed in now, on which backend: what the parts of the app that work in the background
/// (notifications, offline sync) follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionChange {
    SignedIn {
        account: Account,
        /// [`Backend::id`] of the backend the session belongs to.
        backend: String,
    },
    SignedOut,
}

type Listener = Box<dyn Fn(&SessionChange) + Send + Sync>;

/// What the sign-in screen says about where sessions are kept.
#[derive(Debug, Clone, Serialize)]
pub struct KeychainStatus {
    /// Whether sessions are kept in the system keychain (and survive a restart).
    pub available: bool,
    /// When not available: the plain-language explanation to show.
    pub message: Option<String>,
    /// Once: why a saved session could not be restored or kept (e.g. it had ended).
    pub notice: Option<String>,
}

/// An account the app remembers, for "Switch account".
#[derive(Debug, Clone, Serialize)]
pub struct RememberedAccount {
    pub email: String,
    /// Whether its session is kept, so choosing it may need no password.
    pub saved_session: bool,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere never leaves these values half-written, so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shell {
    /// Reads the settings from `config_dir` and opens the backend they choose: the embedded one
    /// in `data_dir` (seeding it on first start) unless a server is chosen. A backend that cannot
    /// open is remembered as the error every command then answers with, so the window still opens
    /// and can say what went wrong.
    ///
    /// Sessions go to the system keychain when it answers (else memory only, and the sign-in
    /// screen says why), and the last used account's session is restored from it.
    ///
    /// Answers at once: all of that happens on a thread of its own (see [`Shell::core`]).
    pub fn open(data_dir: &Path, config_dir: &Path) -> Self {
        let shell = Self::pending();
        let (opening, data_dir, config_dir) =
            (shell.clone(), data_dir.to_owned(), config_dir.to_owned());
        let started = std::thread::Builder::new()
            .name("shell-open".into())
            .spawn(move || {
                opening.publish(Core::open(&data_dir, &config_dir, KeyStore::choose()));
            });
        if let Err(e) = started {
            panic!("the thread that opens Partner Desk's data could not start: {e}");
        }
        shell
    }

    /// [`Shell::open`] with the given key store, on the caller's thread.
    pub fn open_with(data_dir: &Path, config_dir: &Path, keystore: KeyStore) -> Self {
        let shell = Self::pending();
        shell.publish(Core::open(data_dir, config_dir, keystore));
        shell
    }

    /// A shell over a backend opened by the caller (tests give the embedded one their own clock).
    pub fn with_backend(
        backend: Result<Backend, UiError>,
        data_dir: &Path,
        config_dir: &Path,
        keystore: KeyStore,
    ) -> Self {
        let shell = Self::pending();
        shell.publish(Core::with_backend(backend, data_dir, config_dir, keystore));
        shell
    }
}

impl Core {
    fn open(data_dir: &Path, config_dir: &Path, keystore: KeyStore) -> Self {
        let settings = Settings::load(&config_dir.join(SETTINGS_FILE));
        crate::backend::use_dns_server(settings.dns_server());
        let backend = open_backend(&settings, data_dir);
        Self::with_backend(backend, data_dir, config_dir, keystore)
    }

    fn with_backend(
        backend: Result<Backend, UiError>,
        data_dir: &Path,
        config_dir: &Path,
        keystore: KeyStore,
    ) -> Self {
        let settings_path = config_dir.join(SETTINGS_FILE);
        let core = Self {
            backend: RwLock::new(backend.map(Arc::new)),
            data_dir: data_dir.to_owned(),
            session: Mutex::new(None),
            refreshing: Mutex::new(()),
            keystore,
            notice: Mutex::new(None),
            settings: Mutex::new(Settings::load(&settings_path)),
            settings_path,
            listeners: Mutex::new(Vec::new()),
        };
        core.restore_at_startup();
        core
    }
}

/// The backend `settings` choose: a server when one is chosen and its address is saved, else the
/// embedded one in `data_dir`.
fn open_backend(settings: &Settings, data_dir: &Path) -> Result<Backend, UiError> {
    match (&settings.backend, &settings.remote_url) {
        (BackendKind::Remote, Some(url)) => Backend::open_remote(url),
        _ => Backend::open_embedded(data_dir),
    }
    .map_err(UiError::from)
}

impl Core {
    /// The backend in use now.
    pub fn backend(&self) -> Result<Arc<Backend>, UiError> {
        self.backend
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The embedded service itself (tests and tools); refused while a server is in use.
    pub fn programme(&self) -> Result<Arc<Programme>, UiError> {
        self.backend()?.programme().cloned().ok_or_else(|| {
            UiError::new(
                "not_embedded",
                "This needs the built-in (embedded) backend. Choose it in Settings and try again.",
            )
        })
    }

    /// The keychain entry name of `email` on the backend in use.
    fn entry(&self, email: &str) -> String {
        match self.backend() {
            Ok(b) => b.entry_name(email),
            Err(_) => email.trim().to_lowercase(),
        }
    }

    pub fn account(&self) -> Option<Account> {
        lock(&self.session).as_ref().map(|s| s.account.clone())
    }

    /// Makes `tokens` the current session and keeps them for the account (keychain, or memory
    /// only), which becomes the first remembered account and the one restored at startup.
    pub fn start_session(&self, tokens: SessionTokens) -> Account {
        let account = tokens.account.clone();
        self.keep(&account.email, &tokens.access_token, &tokens.refresh_token);
        self.know(&account);
        *lock(&self.session) = Some(Session {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            account: account.clone(),
        });
        self.remember(&account.email, true);
        self.session_changed();
        account
    }

    /// Signs out here: forgets the current session and deletes its keychain entry (revoking it at
    /// the backend is the caller's part). The email stays remembered.
    pub fn end_session(&self) {
        let ended = lock(&self.session).take();
        let entry = ended.as_ref().map(|s| self.entry(&s.account.email));
        if let Some(entry) = &entry {
            let _ = self.keystore.delete(entry);
        }
        self.update_accounts(|s| {
            if let Some(entry) = &entry {
                s.offline_accounts.remove(entry);
            }
            s.last_account = None;
        });
        if ended.is_some() {
            self.session_changed();
        }
    }

    /// Leaves the current session without ending it ("Switch account"): its tokens stay in the
    /// keychain, so choosing the account again needs no password.
    pub fn park_session(&self) {
        let parked = lock(&self.session).take();
        self.update_accounts(|s| s.last_account = None);
        if parked.is_some() {
            self.session_changed();
        }
    }

    /// The remembered accounts' email addresses, newest first.
    pub fn recent_accounts(&self) -> Vec<String> {
        lock(&self.settings).accounts.clone()
    }

    /// The remembered accounts, and whether each has a session kept.
    pub fn remembered_accounts(&self) -> Vec<RememberedAccount> {
        self.recent_accounts()
            .into_iter()
            .map(|email| RememberedAccount {
                saved_session: matches!(self.keystore.load(&self.entry(&email)), Ok(Some(_))),
                email,
            })
            .collect()
    }

    /// The kept tokens of `email`, if any (for revoking a session that is not the current one).
    pub fn stored_tokens(&self, email: &str) -> Option<StoredTokens> {
        self.keystore.load(&self.entry(email)).ok().flatten()
    }

    /// Forgets `email` entirely: its keychain entry and its remembered address. Ends the current
    /// session here if it is that account's.
    pub fn forget_account(&self, email: &str) {
        let ended = {
            let mut session = lock(&self.session);
            let current = session
                .as_ref()
                .is_some_and(|s| s.account.email.eq_ignore_ascii_case(email));
            if current {
                *session = None;
            }
            current
        };
        if ended {
            self.session_changed();
        }
        let entry = self.entry(email);
        let _ = self.keystore.delete(&entry);
        self.update_accounts(|s| {
            s.offline_accounts.remove(&entry);
            s.accounts.retain(|e| !e.eq_ignore_ascii_case(email));
            if s.last_account
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
            {
                s.last_account = None;
            }
        });
    }

    /// Where sessions are kept, and the one-time notice about a session that was not restored.
    pub fn keychain_status(&self) -> KeychainStatus {
        let unavailable = self.keystore.unavailable();
        KeychainStatus {
            available: unavailable.is_none(),
            message: unavailable.map(|reason| {
                format!(
                    "Your system keychain is not available ({reason}). You can stay signed in for this session only; you will need to sign in again next time."
                )
            }),
            notice: lock(&self.notice).take(),
        }
    }

    /// Drops the pending notice: after signing out on purpose, "your session has ended" is news
    /// to nobody.
    pub fn clear_notice(&self) {
        *lock(&self.notice) = None;
    }

    /// Restores `email`'s kept session without a password: checks it with the backend, renewing
    /// an expired access token once. A refused renewal deletes the entry and says to sign in.
    pub fn restore(&self, email: &str) -> Result<Account, UiError> {
        let backend = self.backend()?;
        let api = backend.api();
        let entry = backend.entry_name(email);
        let tokens = match self.keystore.load(&entry) {
            Ok(Some(tokens)) => tokens,
            Ok(None) => {
                return Err(UiError::new(
                    "no_saved_session",
                    format!("Partner Desk has no saved session for {email}. Sign in with your password."),
                ))
            }
            Err(reason) => {
                return Err(UiError::new(
                    "keychain_unavailable",
                    format!("Your system keychain could not be read ({reason}). Sign in with your password."),
                ))
            }
        };
        let session = match api.me(&tokens.access_token) {
            Ok(me) => Session {
                access_token: tokens.access_token,
                refresh_token: tokens.refresh_token,
                account: me.account,
            },
            // Out of reach (a plane, a train): the session is taken as it was kept, so the copy
            // on this computer can be read and edited; the backend judges the tokens when it
            // answers again (a refused refresh then ends the session as usual).
            Err(e) if e.code() == client::UNREACHABLE => {
                let known = lock(&self.settings).offline_accounts.get(&entry).cloned();
                match known {
                    Some(account) => Session {
                        access_token: tokens.access_token,
                        refresh_token: tokens.refresh_token,
                        account,
                    },
                    None => return Err(e.into()),
                }
            }
            Err(e) if e.kind() == ErrorKind::Unauthenticated => {
                match api.refresh(&tokens.refresh_token) {
                    Ok(new) => {
                        self.keep(email, &new.access_token, &new.refresh_token);
                        Session {
                            access_token: new.access_token,
                            refresh_token: new.refresh_token,
                            account: new.account,
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::Unauthenticated => {
                        let _ = self.keystore.delete(&entry);
                        return Err(session_ended(email));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        };
        let account = session.account.clone();
        self.know(&account);
        *lock(&self.session) = Some(session);
        self.remember(&account.email, true);
        self.session_changed();
        Ok(account)
    }

    /// At startup: the last used account's session, from the keychain, if it still works.
    fn restore_at_startup(&self) {
        let Some(email) = lock(&self.settings).last_account.clone() else {
            return;
        };
        if self.backend().is_err() {
            return;
        }
        match self.restore(&email) {
            Ok(_) => {}
            // Memory-only sessions end with the run; the sign-in screen already says so.
            Err(e) if e.code == "no_saved_session" => {
                self.update_accounts(|s| s.last_account = None);
            }
            Err(e) => {
                if e.code == "session_ended" {
                    self.update_accounts(|s| s.last_account = None);
                }
                *lock(&self.notice) = Some(e.message);
            }
        }
    }

    /// Calls the backend with the current access token. An expired or refused access token is
    /// renewed once with the refresh token (the new pair replaces the kept one) and the call is
    /// made again; if the renewal is refused, the session ends here, its entry is deleted and the
    /// person is asked to sign in again.
    pub fn with_access<T>(
        &self,
        call: impl Fn(&dyn client::Backend, &Secret) -> Result<T, membership::Error>,
    ) -> Result<T, UiError> {
        let access = match lock(&self.session).as_ref() {
            Some(s) => s.access_token.clone(),
            None => return Err(UiError::not_signed_in()),
        };
        let backend = self.backend()?;
        let api = backend.api();
        let call = |access: &Secret| call(api, access);
        match call(&access) {
            Err(e) if e.kind() == ErrorKind::Unauthenticated => {}
            other => return other.map_err(UiError::from),
        }
        let _one_at_a_time = lock(&self.refreshing);
        let (now_access, refresh_token, email) = match lock(&self.session).as_ref() {
            Some(s) => (
                s.access_token.clone(),
                s.refresh_token.clone(),
                s.account.email.clone(),
            ),
            None => return Err(UiError::not_signed_in()),
        };
        if now_access != access {
            // Another command renewed the session meanwhile.
            return call(&now_access).map_err(UiError::from);
        }
        match api.refresh(&refresh_token) {
            Ok(tokens) => {
                self.keep(&email, &tokens.access_token, &tokens.refresh_token);
                let access = tokens.access_token.clone();
                if let Some(s) = lock(&self.session).as_mut() {
                    s.access_token = tokens.access_token;
                    s.refresh_token = tokens.refresh_token;
                    s.account = tokens.account;
                }
                call(&access).map_err(UiError::from)
            }
            Err(e) if e.kind() == ErrorKind::Unauthenticated => {
                self.end_session();
                *lock(&self.notice) = Some(session_ended(&email).message);
                Err(UiError::not_signed_in())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The access token of `account_id`'s session on the backend `backend_id`, for work the app
    /// does in the background (following new requests, sending offline edits). `refused` is a
    /// token the backend has just refused: the session is renewed once, exactly as
    /// [`Core::with_access`] renews it (or the token another caller renewed meanwhile is
    /// returned). Refused when that account is no longer the one signed in here, so background
    /// work for an account that was switched away from never holds the next account's token.
    pub fn access_token(
        &self,
        account_id: &str,
        backend_id: &str,
        refused: Option<&Secret>,
    ) -> Result<Secret, UiError> {
        let current = || {
            self.account().is_some_and(|a| a.account_id == account_id)
                && self.backend().is_ok_and(|b| b.id() == backend_id)
        };
        if !current() {
            return Err(UiError::not_signed_in());
        }
        let token = self.with_access(|_, access| match refused {
            // Answering as the backend did makes `with_access` renew the session.
            Some(refused) if refused == access => Err(membership::Error::new(
                ErrorKind::Unauthenticated,
                "unauthenticated",
                "The session's access token was refused.",
            )),
            _ => Ok(access.clone()),
        })?;
        // Checked again: the person may have switched accounts while the token was renewed.
        if current() {
            Ok(token)
        } else {
            Err(UiError::not_signed_in())
        }
    }

    /// Calls `listener` now with who is signed in, and again after every change (sign-in, sign-out,
    /// switching accounts or backends). Listeners run on the thread that made the change, with no
    /// lock held: they should hand work to their own thread rather than do it there.
    pub fn on_session_change(&self, listener: impl Fn(&SessionChange) + Send + Sync + 'static) {
        listener(&self.session_now());
        lock(&self.listeners).push(Box::new(listener));
    }

    /// Calls `then(target, core)` now and after every change of who is signed in, for as long as
    /// both live. The change itself is only the signal: `then` reads who is signed in now, so two
    /// changes that race end with the later one.
    pub fn follow_sessions<T: Send + Sync + 'static>(
        self: &Arc<Self>,
        target: &Arc<T>,
        then: fn(&Arc<T>, &Arc<Core>),
    ) {
        let core = Arc::downgrade(self);
        let target = Arc::downgrade(target);
        self.on_session_change(move |_change| {
            if let (Some(target), Some(core)) = (target.upgrade(), core.upgrade()) {
                then(&target, &core);
            }
        });
    }

    fn session_now(&self) -> SessionChange {
        match (self.account(), self.backend()) {
            (Some(account), Ok(backend)) => SessionChange::SignedIn {
                account,
                backend: backend.id(),
            },
            _ => SessionChange::SignedOut,
        }
    }

    fn session_changed(&self) {
        let now = self.session_now();
        for listener in lock(&self.listeners).iter() {
            listener(&now);
        }
    }

    /// Where the app keeps its data (the embedded database, and the app's own stores).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Keeps `email`'s tokens; a keychain that refuses leaves them in memory for this session and
    /// says so once.
    fn keep(&self, email: &str, access: &Secret, refresh: &Secret) {
        let tokens = StoredTokens {
            access_token: access.clone(),
            refresh_token: refresh.clone(),
        };
        if let Err(Unavailable(reason)) = self.keystore.store(&self.entry(email), &tokens) {
            *lock(&self.notice) = Some(format!(
                "Partner Desk could not keep your session in the system keychain ({reason}). You are signed in for this session only; you will need to sign in again next time."
            ));
        }
    }

    /// Keeps who `account` is under its keychain entry's name, for a start without the backend.
    fn know(&self, account: &Account) {
        let entry = self.entry(&account.email);
        if lock(&self.settings).offline_accounts.get(&entry) == Some(account) {
            return;
        }
        self.update_accounts(|s| {
            s.offline_accounts.insert(entry, account.clone());
        });
    }

    /// Puts `email` first among the remembered accounts (and, when `last`, restores it next start).
    fn remember(&self, email: &str, last: bool) {
        let mut dropped = Vec::new();
        self.update_accounts(|s| {
            s.accounts.retain(|e| !e.eq_ignore_ascii_case(email));
            s.accounts.insert(0, email.to_owned());
            dropped = s
                .accounts
                .split_off(s.accounts.len().min(REMEMBERED_ACCOUNTS));
            if last {
                s.last_account = Some(email.to_owned());
            }
        });
        for email in dropped {
            let entry = self.entry(&email);
            let _ = self.keystore.delete(&entry);
            self.update_accounts(|s| {
                s.offline_accounts.remove(&entry);
            });
        }
    }

    /// Changes the remembered accounts and saves the settings. Not being able to save only means
    /// the list is not remembered next time, so that is not an error here.
    fn update_accounts(&self, change: impl FnOnce(&mut Settings)) {
        let mut settings = lock(&self.settings);
        change(&mut settings);
        let _ = settings.save(&self.settings_path);
    }

    /// Changes how the window looks and keeps it: if it cannot be saved nothing changes.
    pub fn set_appearance(
        &self,
        change: impl FnOnce(Appearance) -> Appearance,
    ) -> Result<Appearance, UiError> {
        let mut settings = lock(&self.settings);
        let mut next = settings.clone();
        next.appearance = change(next.appearance);
        next.save(&self.settings_path)?;
        *settings = next;
        Ok(settings.appearance)
    }

    pub fn settings(&self) -> Settings {
        lock(&self.settings).clone()
    }

    pub fn save_settings(&self, settings: Settings) -> Result<Settings, UiError> {
        let mut settings = settings.validated()?;
        {
            // The remembered accounts are the app's to keep, not the settings screen's.
            let current = lock(&self.settings);
            settings.accounts = current.accounts.clone();
            settings.last_account = current.last_account.clone();
            settings.offline_accounts = current.offline_accounts.clone();
            settings.appearance = current.appearance;
        }
        let previous = lock(&self.settings).clone();
        let switching = (settings.backend, settings.effective_url())
            != (previous.backend, previous.effective_url());
        // Open the chosen backend before anything is saved: an address that cannot be used
        // leaves everything as it was.
        let next = if switching {
            Some(open_backend(&settings, &self.data_dir)?)
        } else {
            None
        };
        settings.save(&self.settings_path)?;
        if settings.dns_server() != previous.dns_server() {
            crate::backend::use_dns_server(settings.dns_server());
        }
        *lock(&self.settings) = settings.clone();
        if let Some(next) = next {
            // The session belongs to the backend that issued it: leave it kept (in the keychain,
            // under that backend's entry) and sign in afresh on the new one.
            self.park_session();
            *self.backend.write().unwrap_or_else(|e| e.into_inner()) = Ok(Arc::new(next));
        }
        Ok(settings)
    }
}

fn session_ended(email: &str) -> UiError {
    UiError::new(
        "session_ended",
        format!("Your saved session for {email} has ended. Sign in again with your password to continue."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI64, Ordering};
    use time::Duration;

    const PPC: &str = "ppc@contoso.com";
    const PASSWORD: &str = "partnerdesk-demo";

    /// A shell over the embedded backend whose clock the test moves on by `offset` seconds.
    fn shell(dir: &Path) -> (Shell, Arc<AtomicI64>) {
        let offset = Arc::new(AtomicI64::new(0));
        let clock_offset = offset.clone();
        let backend = Backend::open_embedded_with_clock(
            dir,
            Arc::new(move || {
                time::OffsetDateTime::now_utc()
                    + Duration::seconds(clock_offset.load(Ordering::SeqCst))
            }),
        )
        .map_err(UiError::from);
        let keystore = KeyStore::session_only(Unavailable("test".into()));
        (Shell::with_backend(backend, dir, dir, keystore), offset)
    }

    fn later(offset: &AtomicI64, by: Duration) {
        offset.fetch_add(by.whole_seconds(), Ordering::SeqCst);
    }

    fn signed_in(core: &Core) -> Account {
        let tokens = core
            .backend()
            .unwrap()
            .api()
            .sign_in(PPC, &Secret::new(PASSWORD))
            .unwrap();
        core.start_session(tokens)
    }

    fn me(core: &Core) -> Result<String, UiError> {
        core.with_access(|api, access| api.me(access).map(|me| me.account.email))
    }

    #[test]
    fn an_expired_access_token_is_renewed_silently_and_the_new_pair_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (shell, clock) = shell(dir.path());
        let core = &shell.core();
        signed_in(core);
        let before = core.stored_tokens(PPC).unwrap();
        core.park_session();
        later(&clock, Duration::hours(1));
        let account = core.restore(PPC).unwrap();
        assert_eq!(account.email, PPC);
        let after = core.stored_tokens(PPC).unwrap();
        assert_ne!(
            after.refresh_token, before.refresh_token,
            "the new pair is kept"
        );
        assert_eq!(me(core).unwrap(), PPC);
    }

    #[test]
    fn a_refused_refresh_deletes_the_entry_and_says_to_sign_in() {
        let dir = tempfile::tempdir().unwrap();
        let (shell, clock) = shell(dir.path());
        let core = &shell.core();
        signed_in(core);
        core.park_session();
        later(&clock, Duration::days(31));
        let e = core.restore(PPC).unwrap_err();
        assert_eq!(e.code, "session_ended");
        assert!(e.message.contains("Sign in again"), "{e}");
        assert!(core.stored_tokens(PPC).is_none(), "the entry is deleted");
        assert_eq!(core.account(), None);
    }

    #[test]
    fn a_refused_refresh_during_a_command_ends_the_session_with_a_notice() {
        let dir = tempfile::tempdir().unwrap();
        let (shell, clock) = shell(dir.path());
        let core = &shell.core();
        signed_in(core);
        later(&clock, Duration::days(31));
        let e = me(core).unwrap_err();
        assert_eq!(e.code, "unauthenticated");
        assert_eq!(core.account(), None);
        assert!(core.stored_tokens(PPC).is_none());
        let status = core.keychain_status();
        assert!(status.notice.unwrap().contains("has ended"));
        assert!(core.keychain_status().notice.is_none(), "said once");
    }

    #[test]
    fn the_settings_file_remembers_addresses_only() {
        let dir = tempfile::tempdir().unwrap();
        let (shell, _) = shell(dir.path());
        let core = &shell.core();
        signed_in(core);
        let kept = core.stored_tokens(PPC).unwrap();
        let file = std::fs::read_to_string(dir.path().join(SETTINGS_FILE)).unwrap();
        assert!(file.contains(PPC), "{file}");
        assert!(!file.contains(kept.access_token.expose()));
        assert!(!file.contains(kept.refresh_token.expose()));
        assert!(!file.contains(PASSWORD));
    }

    #[test]
    fn choosing_a_server_parks_the_session_and_keeps_entries_apart() {
        let dir = tempfile::tempdir().unwrap();
        let (shell, _) = shell(dir.path());
        let core = &shell.core();
        signed_in(core);
        let mut settings = core.settings();
        settings.backend = BackendKind::Remote;
        settings.remote_url = Some("http://127.0.0.1:9".into());
        core.save_settings(settings).unwrap();
        assert_eq!(core.backend().unwrap().kind(), BackendKind::Remote);
        assert_eq!(
            core.account(),
            None,
            "the embedded session is not used on a server"
        );
        assert!(
            core.stored_tokens(PPC).is_none(),
            "no session kept for the server"
        );
        assert_eq!(me(core).unwrap_err().code, "unauthenticated");

        let mut settings = core.settings();
        settings.backend = BackendKind::Embedded;
        core.save_settings(settings).unwrap();
        assert!(
            core.stored_tokens(PPC).is_some(),
            "the embedded session is still kept"
        );
        assert_eq!(core.restore(PPC).unwrap().email, PPC);
    }

    #[test]
    fn an_address_that_cannot_be_used_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (shell, _) = shell(dir.path());
        let core = &shell.core();
        signed_in(core);
        let mut settings = core.settings();
        settings.backend = BackendKind::Remote;
        settings.remote_url = Some("https://user:pw@example.invalid".into());
        let e = core.save_settings(settings).unwrap_err();
        assert!(!e.message.is_empty());
        assert_eq!(core.backend().unwrap().kind(), BackendKind::Embedded);
        assert_eq!(core.settings().backend, BackendKind::Embedded);
        assert_eq!(core.account().unwrap().email, PPC);
    }

    #[test]
    fn listeners_hear_every_change_of_who_is_signed_in() {
        let dir = tempfile::tempdir().unwrap();
        let (shell, _) = shell(dir.path());
        let core = &shell.core();
        let heard = Arc::new(Mutex::new(Vec::new()));
        let log = heard.clone();
        core.on_session_change(move |change| {
            lock(&log).push(match change {
                SessionChange::SignedIn { account, backend } => {
                    format!("in {} {backend}", account.email)
                }
                SessionChange::SignedOut => "out".to_owned(),
            })
        });
        signed_in(core);
        core.park_session();
        core.restore(PPC).unwrap();
        core.end_session();
        core.end_session();
        assert_eq!(
            *lock(&heard),
            [
                "out",
                "in ppc@contoso.com embedded",
                "out",
                "in ppc@contoso.com embedded",
                "out"
            ],
            "told once per change, nothing for a change that changes nothing"
        );
    }

    /// The keychain test that opens the app while its server is down once saw `me` refused:
    /// a command got the state before the offline sync of the restored session was started.
    #[test]
    fn work_waiting_for_the_state_runs_before_any_caller_sees_it() {
        let dir = tempfile::tempdir().unwrap();
        let opening = Shell::pending();
        let seen_early = Arc::new(Mutex::new(Vec::new()));
        for n in 0..3 {
            let (shell, seen) = (opening.clone(), seen_early.clone());
            opening.when_ready(move |_core| {
                // Work queued while the queue runs is run before the state is shown too.
                if n == 0 {
                    let (inner, seen) = (shell.clone(), seen.clone());
                    shell.when_ready(move |_| lock(&seen).push(inner.try_core().is_some()));
                }
                lock(&seen).push(shell.try_core().is_some());
            });
        }
        let publisher = opening.clone();
        let keystore = KeyStore::session_only(Unavailable("test".into()));
        let path = dir.path().to_owned();
        let opened = std::thread::spawn(move || {
            publisher.publish(Core::with_backend(
                Err(UiError::internal()),
                &path,
                &path,
                keystore,
            ))
        });
        let core = opening.core();
        opened.join().unwrap();
        assert!(Arc::ptr_eq(&core, &opening.try_core().unwrap()));
        assert_eq!(
            *lock(&seen_early),
            [false, false, false, false],
            "every waiting piece of work ran, each before the state was visible"
        );
        // Once it is there, new work runs at once.
        let now = Arc::new(Mutex::new(false));
        let ran = now.clone();
        opening.when_ready(move |_| *lock(&ran) = true);
        assert!(*lock(&now));
    }
}
