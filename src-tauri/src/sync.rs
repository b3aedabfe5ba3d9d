//! Offline profile editing in the app: one [`LocalStore`] (`local.sqlite3` in the data folder)
//! and, for whoever is signed in, a [`SyncEngine`] scoped to the backend and the account, with a
//! background thread that sends the outbox.
//!
//! [`OfflineSync`] is the managed state. It hears every change of who is signed in
//! ([`Core::follow_sessions`]) and makes the engine match it: a new engine and thread for each
//! account and backend, the previous thread told to stop. The thread sleeps until there is
//! something to send (a save, *Sync now*, *Work offline* turned off) and retries with
//! [`AutoSync`]'s backoff while the backend cannot be reached. What it does goes to the window as
//! the DOM event `partnerdesk-sync` with `{connection, unsynced, counts, progress?, report?}`, the
//! same way the inbox reports (`notifications.rs`), so the page needs no permission to listen.
//! Events and command answers cross to the page on different paths and may arrive out of order,
//! so every status the page sees is [`Stamped`] with a number that grows with each reading; the
//! page keeps the newest.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::Duration;

use membership::{Error, ErrorKind, Secret, Timestamp};
use offline::{AutoSync, LocalStore, Outcome, Progress, Report, Scope, Status, SyncEngine};
use serde_json::{json, Value};
use tauri::plugin::{Builder, TauriPlugin};
use tauri::{AppHandle, Manager, Runtime};

use crate::backend::Backend;
use crate::error::UiError;
use crate::state::{Core, Shell};

/// The local store's SQLite file, in the app's data folder.
pub const LOCAL_FILE: &str = "local.sqlite3";
/// The DOM event the page listens to (ui/app.js).
pub const SYNC_EVENT: &str = "partnerdesk-sync";

/// Hands `detail` to the page as the DOM event `event`. A trait object so the state does not
/// depend on the runtime.
type ToPage = Box<dyn Fn(&str, Value) + Send + Sync>;

/// The local store and the engine of whoever is signed in.
pub struct OfflineSync {
    inner: Arc<Inner>,
}

struct Inner {
    to_page: ToPage,
    store: Mutex<Option<Arc<LocalStore>>>,
    running: Mutex<Option<Running>>,
    following: AtomicBool,
    /// The number of the last status read for the page; held while reading the next.
    stamp: Mutex<u64>,
}

/// A status as the page sees it: `seq` grows with each reading, so the page can drop a reading
/// that reaches it after a newer one (ui/sync-status.js).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Stamped {
    #[serde(flatten)]
    pub status: Status,
    pub seq: u64,
}

struct Running {
    engine: Arc<SyncEngine>,
    account_id: String,
    backend_id: String,
    wake: Arc<Wake>,
}

/// Wakes the background thread early (a save, *Sync now*), or stops it.
#[derive(Default)]
struct Wake {
    state: Mutex<WakeState>,
    signal: Condvar,
}

#[derive(Default)]
struct WakeState {
    kicked: bool,
    stopped: bool,
}

impl Wake {
    fn kick(&self) {
        lock(&self.state).kicked = true;
        self.signal.notify_all();
    }

    fn stop(&self) {
        lock(&self.state).stopped = true;
        self.signal.notify_all();
    }

    /// Waits for a kick, or for `timeout` when given. False once stopped.
    fn wait(&self, timeout: Option<Duration>) -> bool {
        let mut state = lock(&self.state);
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        while !state.kicked && !state.stopped {
            match deadline {
                None => state = self.signal.wait(state).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let left = d.saturating_duration_since(std::time::Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    state = self
                        .signal
                        .wait_timeout(state, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
        state.kicked = false;
        !state.stopped
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The engine serving a command: the current account's, on the backend in use.
pub struct Current {
    pub engine: Arc<SyncEngine>,
    wake: Arc<Wake>,
    inner: Arc<Inner>,
}

impl Current {
    pub fn scope(&self) -> &Scope {
        self.engine.scope()
    }

    pub fn store(&self) -> &Arc<LocalStore> {
        self.engine.store()
    }

    /// Asks the background thread to sync soon.
    pub fn kick(&self) {
        self.wake.kick();
    }

    /// The status now, numbered for the page.
    pub fn status(&self) -> Result<Stamped, offline::Error> {
        self.inner.stamped(&self.engine)
    }

    /// Whether the backend answered a command: the header says Online or Offline accordingly
    /// (told only when that changes).
    pub fn seen(&self, reachable: bool) {
        if self.engine.set_reachable(reachable) {
            self.announce();
        }
    }

    /// Tells the window where things stand now.
    pub fn announce(&self) {
        self.inner.announce(&self.engine, None, None);
    }

    /// Runs a sync now on this thread (a command's blocking thread), telling the window about
    /// its progress.
    pub fn run(&self, core: &Arc<Core>) -> Result<Report, UiError> {
        run_once(&self.inner, &self.engine, core)
    }
}

impl OfflineSync {
    /// The engine of the account signed in now. Refused when nobody is signed in, or when the
    /// local store could not be opened (the refusal says why).
    pub fn current(&self, core: &Core) -> Result<Current, UiError> {
        let account = core.account().ok_or_else(UiError::not_signed_in)?;
        let backend = core.backend()?.id();
        let running = lock(&self.inner.running);
        match running.as_ref() {
            Some(r) if r.account_id == account.account_id && r.backend_id == backend => {
                Ok(Current {
                    engine: r.engine.clone(),
                    wake: r.wake.clone(),
                    inner: self.inner.clone(),
                })
            }
            _ => Err(UiError::new(
                "local_store_unavailable",
                format!(
                    "Partner Desk could not open its offline copy in {}. Check that you may write there, then sign out and in again.",
                    core.data_dir().display()
                ),
            )),
        }
    }
}

impl Inner {
    fn store(&self, core: &Core) -> Result<Arc<LocalStore>, offline::Error> {
        let mut store = lock(&self.store);
        if let Some(open) = store.as_ref() {
            return Ok(open.clone());
        }
        let open = Arc::new(LocalStore::open(&core.data_dir().join(LOCAL_FILE))?);
        *store = Some(open.clone());
        Ok(open)
    }

    /// Reads the status, numbers it and hands it to `then`, one reading at a time, so a higher
    /// number is never an older state (and events sent in `then` leave in number order).
    fn stamped_then<T>(
        &self,
        engine: &SyncEngine,
        then: impl FnOnce(Stamped) -> T,
    ) -> Result<T, offline::Error> {
        let mut last = lock(&self.stamp);
        let status = engine.status()?;
        *last += 1;
        Ok(then(Stamped { status, seq: *last }))
    }

    fn stamped(&self, engine: &SyncEngine) -> Result<Stamped, offline::Error> {
        self.stamped_then(engine, |stamped| stamped)
    }

    /// Sends the status to the page (nothing when it cannot be read: the next one will say).
    fn announce(&self, engine: &SyncEngine, progress: Option<Progress>, report: Option<&Report>) {
        let _ = self.stamped_then(engine, |stamped| {
            (self.to_page)(SYNC_EVENT, event(&stamped, progress, report))
        });
    }

    /// Makes the engine match who is signed in now; the previous thread is told to stop.
    fn follow(self: &Arc<Self>, core: &Arc<Core>) {
        let wanted = match (core.account(), core.backend()) {
            (Some(account), Ok(backend)) => Some((account.account_id, backend.id())),
            _ => None,
        };
        let mut running = lock(&self.running);
        if let (Some(r), Some((account_id, backend_id))) = (running.as_ref(), wanted.as_ref()) {
            if &r.account_id == account_id && &r.backend_id == backend_id {
                return;
            }
        }
        if let Some(previous) = running.take() {
            previous.wake.stop();
        }
        let Some((account_id, backend_id)) = wanted else {
            (self.to_page)(SYNC_EVENT, json!({ "signed_out": true }));
            return;
        };
        let Ok(store) = self.store(core) else {
            // The commands say so (OfflineSync::current).
            return;
        };
        let engine = Arc::new(SyncEngine::new(
            store,
            Scope::new(backend_id.clone(), account_id.clone()),
        ));
        let wake = Arc::new(Wake::default());
        // Whatever was left unsynced last time goes as soon as the backend answers.
        wake.kick();
        spawn_thread(
            Arc::downgrade(self),
            Arc::downgrade(core),
            engine.clone(),
            wake.clone(),
        );
        self.announce(&engine, None, None);
        *running = Some(Running {
            engine,
            account_id,
            backend_id,
            wake,
        });
    }
}

fn event(stamped: &Stamped, progress: Option<Progress>, report: Option<&Report>) -> Value {
    let mut detail = json!(stamped);
    if let Some(p) = progress {
        detail["progress"] = json!(p);
    }
    if let Some(r) = report {
        detail["report"] = json!(r);
    }
    detail
}

/// The backend in use and the shell's session for `engine`, if that backend is still the
/// engine's.
fn engine_access(
    engine: &SyncEngine,
    core: &Arc<Core>,
) -> Result<(Arc<Backend>, ShellAccess), UiError> {
    let backend = core.backend()?;
    let scope = engine.scope().clone();
    if backend.id() != scope.backend {
        return Err(UiError::not_signed_in());
    }
    let access = ShellAccess {
        core: Arc::downgrade(core),
        scope,
    };
    Ok((backend, access))
}

/// One sync run with the backend in use, if it is still the engine's.
fn run_once(inner: &Inner, engine: &SyncEngine, core: &Arc<Core>) -> Result<Report, UiError> {
    let (backend, access) = engine_access(engine, core)?;
    let mut progress = |p: Progress| inner.announce(engine, Some(p), None);
    let report = engine
        .run(backend.api(), &access, Timestamp::now_utc(), &mut progress)
        .map_err(membership::Error::from)?;
    inner.announce(engine, None, Some(&report));
    Ok(report)
}

/// Fetches the memberships and profiles of the engine's account into the local store.
fn refresh(engine: &SyncEngine, core: &Arc<Core>) -> Result<Outcome, UiError> {
    let (backend, access) = engine_access(engine, core)?;
    engine
        .refresh(backend.api(), &access, Timestamp::now_utc())
        .map_err(|e| UiError::from(membership::Error::from(e)))
}

/// The background sync of one engine: runs when kicked, backs off while the backend cannot be
/// reached, ends when told to stop (sign-out, another account) or when the app is gone.
fn spawn_thread(inner: Weak<Inner>, core: Weak<Core>, engine: Arc<SyncEngine>, wake: Arc<Wake>) {
    let _ = std::thread::Builder::new()
        .name("offline-sync".into())
        .spawn(move || {
            let mut auto = AutoSync::default();
            let mut next: Option<Duration> = None;
            let mut refreshed = false;
            while wake.wait(next) {
                let (Some(inner), Some(core)) = (inner.upgrade(), core.upgrade()) else {
                    return;
                };
                if !refreshed {
                    // Once per sign-in: the memberships and profiles are kept here, so they can
                    // be edited offline later, and the header learns whether the backend answers.
                    refreshed = refresh(&engine, &core).is_ok_and(|o| o == Outcome::Done);
                    inner.announce(&engine, None, None);
                }
                let pending = engine.status().map(|s| s.counts.pending).unwrap_or(0);
                if pending == 0 {
                    next = None;
                    continue;
                }
                next = match run_once(&inner, &engine, &core) {
                    Ok(report) => auto.after(&report, jitter()),
                    Err(_) => None,
                };
            }
        });
}

/// A number in `[0, 1)` for the backoff's jitter; the clock's nanoseconds are random enough to
/// spread computers that lost the server together.
fn jitter() -> f64 {
    f64::from(Timestamp::now_utc().nanosecond() % 1_000_000) / 1_000_000.0
}

/// The shell's session as [`offline::Access`]: the same token commands use, renewed once the way
/// [`Core::with_access`] renews it, and only while the scope's account is the one signed in.
struct ShellAccess {
    core: Weak<Core>,
    scope: Scope,
}

impl ShellAccess {
    fn token_for(&self, refused: Option<&Secret>) -> Result<Secret, Error> {
        let core = self.core.upgrade().ok_or_else(ended)?;
        core.access_token(&self.scope.account, &self.scope.backend, refused)
            .map_err(|e| {
                if e.code == "unauthenticated" {
                    ended()
                } else if e.code == client::UNREACHABLE {
                    Error::new(ErrorKind::Unavailable, client::UNREACHABLE, e.message)
                } else {
                    Error::new(ErrorKind::Unavailable, "session_not_renewed", e.message)
                }
            })
    }
}

impl offline::Access for ShellAccess {
    fn token(&self) -> Result<Secret, Error> {
        self.token_for(None)
    }

    fn renew(&self, refused: &Secret) -> Result<Secret, Error> {
        self.token_for(Some(refused))
    }
}

fn ended() -> Error {
    Error::new(
        ErrorKind::Unauthenticated,
        "unauthenticated",
        "You are signed out here, so your changes wait on this computer. Sign in again to sync them.",
    )
}

/// Whether `e` means the backend could not be reached (rather than refused).
pub fn unreachable(e: &UiError) -> bool {
    e.code == client::UNREACHABLE
}

/// Whether the last sync left the backend answering, for the commands that decide whether to try
/// it now.
pub fn reachable_now(status: &Status) -> bool {
    !matches!(
        status.connection,
        offline::Connectivity::Offline | offline::Connectivity::WorkingOffline
    )
}

/// Whether `report` means nothing more happens until the person acts.
pub fn settled(report: &Report) -> bool {
    matches!(report.outcome, Outcome::Done)
}

/// The plugin that holds [`OfflineSync`]; `build_app` registers it, so the IPC tests on the mock
/// runtime have it too.
pub fn init<R: Runtime>() -> TauriPlugin<R> {
    Builder::new("partnerdesk-offline")
        .setup(|app, _api| {
            let handle = app.clone();
            app.manage(OfflineSync {
                inner: Arc::new(Inner {
                    to_page: Box::new(move |event, detail| {
                        if let Some(window) = handle.get_webview_window("main") {
                            // Both are JSON, so they are JavaScript literals that cannot break
                            // out of their place.
                            let script = format!(
                                "window.dispatchEvent(new CustomEvent({}, {{ detail: {detail} }}));",
                                Value::from(event)
                            );
                            let _ = window.eval(script);
                        }
                    }),
                    store: Mutex::new(None),
                    running: Mutex::new(None),
                    following: AtomicBool::new(false),
                    stamp: Mutex::new(0),
                }),
            });
            // A shell opened before the app was built (a fixed data folder) is followed now; one
            // opened in the app's setup calls `follow` itself.
            follow(app);
            Ok(())
        })
        .build()
}

/// Starts following whoever is signed in, and every change of it. Does nothing until both the
/// shell and [`OfflineSync`] are in place, and only once.
pub fn follow<R: Runtime>(app: &AppHandle<R>) {
    let (Some(shell), Some(sync)) = (app.try_state::<Shell>(), app.try_state::<OfflineSync>())
    else {
        return;
    };
    let inner = sync.inner.clone();
    if inner.following.swap(true, Ordering::SeqCst) {
        return;
    }
    shell.when_ready(move |core| core.follow_sessions(&inner, Inner::follow));
}
