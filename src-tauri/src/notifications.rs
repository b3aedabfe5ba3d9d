//! Approval notifications in the app: one [`Alerts`] (the `alerts` crate) follows the backend's
//! events for whoever is signed in, files them in the inbox (`alerts.sqlite3` in the data folder)
//! and, in the real app, shows them on the desktop with Approve, Deny and Open.
//!
//! [`Notifications`] is the managed state. It hears every change of who is signed in
//! ([`Core::follow_sessions`]) and makes the follower match it: a new one for each account and
//! backend, the previous one stopped. What the follower reports goes to the window as DOM events,
//! the same way deep links do (`deeplink.rs`), so the page needs no permission to listen:
//!
//! - `partnerdesk-inbox` — `{badge}` when the counts change (the nav item's badge, and the tray),
//!   `{badge, acted}` after an Approve or Deny from a notification, `{status}` when following
//!   stops or starts again;
//! - `partnerdesk-open` — `{target}` when the person chose Open on a notification: the window is
//!   shown and the page opens the request in the Membership Centre (or their own request, or
//!   Review privileges).
//!
//! Desktop notifications are made only when `run()` asks for them ([`OsNotifications`]): the IPC
//! tests on the mock runtime follow and fill the inbox, but never reach the desktop.
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use alerts::{Acted, Alerts, Badge, Config, Hooks, Inbox, Notice, Notifier, Scope, Status};
use membership::{Error, ErrorKind, Secret};
use serde_json::{json, Value};
use tauri::plugin::{Builder, TauriPlugin};
use tauri::{AppHandle, Manager, Runtime};

use crate::error::UiError;
use crate::state::{Core, Shell};

/// The inbox's SQLite file, in the app's data folder beside the embedded database.
pub const INBOX_FILE: &str = "alerts.sqlite3";
/// The DOM events the page listens to (ui/app.js).
pub const INBOX_EVENT: &str = "partnerdesk-inbox";
pub const OPEN_EVENT: &str = "partnerdesk-open";

/// How long a follower whose session could not be renewed (the backend was out of reach just
/// then) waits before it tries again, while the person is still signed in here.
const FOLLOW_AGAIN_AFTER: Duration = Duration::from_secs(15);

/// Managed by `run()` only: show notices on the desktop too.
pub struct OsNotifications;

/// What the followers tell the window. Implemented over the app handle; a trait so the state
/// itself does not depend on the runtime.
trait Window: Send + Sync {
    /// Hands `detail` to the page as the DOM event `event`.
    fn to_page(&self, event: &str, detail: Value);
    /// The pending count on the tray icon, if there is one.
    fn tray(&self, badge: &Badge);
    /// Shows and focuses the main window.
    fn show(&self);
    /// A desktop notifier for `alerts`, when the app shows desktop notifications at all.
    fn os_notifier(&self, alerts: &Alerts) -> Option<Result<Arc<dyn Notifier>, Error>>;
}

struct AppWindow<R: Runtime> {
    app: AppHandle<R>,
    os: bool,
}

impl<R: Runtime> Window for AppWindow<R> {
    fn to_page(&self, event: &str, detail: Value) {
        if let Some(window) = self.app.get_webview_window("main") {
            // Both are JSON, so they are JavaScript literals that cannot break out of their place.
            let script = format!(
                "window.dispatchEvent(new CustomEvent({}, {{ detail: {detail} }}));",
                Value::from(event)
            );
            let _ = window.eval(script);
        }
    }

    fn tray(&self, badge: &Badge) {
        crate::tray::show_badge(&self.app, badge);
    }

    fn show(&self) {
        crate::deeplink::focus(&self.app);
    }

    fn os_notifier(&self, alerts: &Alerts) -> Option<Result<Arc<dyn Notifier>, Error>> {
        if !self.os {
            return None;
        }
        #[cfg(target_os = "linux")]
        {
            Some(
                alerts::DbusNotifier::session(
                    alerts::AppIdentity::default(),
                    alerts.action_handler(),
                )
                .map(|n| Arc::new(n) as Arc<dyn Notifier>),
            )
        }
        #[cfg(not(target_os = "linux"))]
        {
            Some(Ok(crate::plugin_notifier::for_alerts(&self.app, alerts)))
        }
    }
}

/// The follower of whoever is signed in, and what the inbox commands reach.
pub struct Notifications {
    inner: Arc<Inner>,
}

struct Inner {
    window: Box<dyn Window>,
    running: Mutex<Option<Running>>,
    /// Bumped whenever the follower is replaced: a follower that is no longer current says
    /// nothing more to the window.
    generation: AtomicU64,
    /// The inbox file, opened once.
    inbox: Mutex<Option<Arc<Inbox>>>,
    /// Whether the session listener is in place (once per app).
    following: AtomicBool,
}

struct Running {
    alerts: Alerts,
    generation: u64,
    /// Why the desktop shows no notifications, when it cannot.
    desktop: Option<String>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The follower serving a command, and what the inbox screen says about the desktop.
pub struct Current {
    pub alerts: Alerts,
    pub desktop: Option<String>,
}

impl Notifications {
    /// The follower of the account signed in now. Refused when nobody is signed in, or when the
    /// inbox could not be opened (the refusal says why).
    pub fn current(&self, core: &Core) -> Result<Current, UiError> {
        let account = core.account().ok_or_else(UiError::not_signed_in)?;
        let backend = core.backend()?.id();
        let running = lock(&self.inner.running);
        match running.as_ref() {
            Some(r)
                if r.alerts.scope().account_id == account.account_id
                    && r.alerts.scope().backend == backend =>
            {
                Ok(Current {
                    alerts: r.alerts.clone(),
                    desktop: r.desktop.clone(),
                })
            }
            _ => Err(UiError::new(
                "inbox_unavailable",
                format!(
                    "Partner Desk could not open its inbox in {}. Check that you may write there, then sign out and in again.",
                    core.data_dir().display()
                ),
            )),
        }
    }

    /// New notification settings apply to the follower at once (the next event).
    pub fn apply_settings(&self, settings: alerts::Settings) {
        if let Some(r) = lock(&self.inner.running).as_ref() {
            r.alerts.set_settings(settings);
        }
    }

    /// The settings the running follower uses, if one runs.
    pub fn running_settings(&self) -> Option<alerts::Settings> {
        lock(&self.inner.running)
            .as_ref()
            .map(|r| r.alerts.settings())
    }
}

impl Inner {
    fn inbox(&self, core: &Core) -> Result<Arc<Inbox>, Error> {
        let mut inbox = lock(&self.inbox);
        if let Some(open) = inbox.as_ref() {
            return Ok(open.clone());
        }
        let open = Arc::new(Inbox::open(&core.data_dir().join(INBOX_FILE))?);
        *inbox = Some(open.clone());
        Ok(open)
    }

    /// Makes the follower match who is signed in now. Runs on the thread that changed the session
    /// (a command's, or a follower's whose session ended): starting is quick, and the previous
    /// follower is stopped on a thread of its own, since stopping waits for its thread — which
    /// may be the one running this.
    fn follow(self: &Arc<Self>, core: &Arc<Core>) {
        let wanted = match (core.account(), core.backend()) {
            (Some(account), Ok(backend)) => Some((account.account_id, backend)),
            _ => None,
        };
        let mut running = lock(&self.running);
        if let (Some(r), Some((account_id, backend))) = (running.as_ref(), wanted.as_ref()) {
            if &r.alerts.scope().account_id == account_id
                && r.alerts.scope().backend == backend.id()
            {
                return;
            }
        }
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(previous) = running.take() {
            // Nothing more on the desktop from it, even while it finishes the event in hand.
            previous.alerts.set_notifier(None);
            let stopping = previous.alerts;
            let _ = std::thread::Builder::new()
                .name("alerts-stop".into())
                .spawn(move || stopping.stop());
        }
        let Some((account_id, backend)) = wanted else {
            self.window.tray(&Badge::default());
            self.window
                .to_page(INBOX_EVENT, json!({ "badge": Badge::default() }));
            return;
        };
        let Ok(inbox) = self.inbox(core) else {
            // The inbox commands say so (Notifications::current); nothing to follow into.
            return;
        };
        let scope = Scope {
            backend: backend.id(),
            account_id,
        };
        let alerts = Alerts::new(Config {
            backend: backend.shared_api(),
            tokens: tokens(core, &scope),
            inbox,
            scope,
            settings: core.settings().alerts,
            hooks: self.hooks(generation, core),
            clock: None,
        });
        let desktop = match self.window.os_notifier(&alerts) {
            None => None,
            Some(Ok(notifier)) => {
                alerts.set_notifier(Some(notifier));
                None
            }
            Some(Err(e)) => Some(e.message().to_owned()),
        };
        alerts.start();
        if let Ok(badge) = alerts.badge() {
            self.window.tray(&badge);
            self.window.to_page(INBOX_EVENT, json!({ "badge": badge }));
        }
        *running = Some(Running {
            alerts,
            generation,
            desktop,
        });
    }

    fn is_current(&self, generation: u64) -> bool {
        self.generation.load(Ordering::SeqCst) == generation
    }

    fn hooks(self: &Arc<Self>, generation: u64, core: &Arc<Core>) -> Hooks {
        let changed = {
            let inner = Arc::downgrade(self);
            move |badge: &Badge| {
                if let Some(inner) = current(&inner, generation) {
                    inner.window.tray(badge);
                    inner.window.to_page(INBOX_EVENT, json!({ "badge": badge }));
                }
            }
        };
        let open = {
            let inner = Arc::downgrade(self);
            move |notice: &Notice| {
                if let Some(inner) = current(&inner, generation) {
                    inner.window.show();
                    inner.window.to_page(
                        OPEN_EVENT,
                        json!({ "notice_id": notice.id, "target": notice.target }),
                    );
                }
            }
        };
        let acted = {
            let inner = Arc::downgrade(self);
            move |acted: &Acted| {
                let Some(inner) = current(&inner, generation) else {
                    return;
                };
                let badge = lock(&inner.running)
                    .as_ref()
                    .and_then(|r| r.alerts.badge().ok())
                    .unwrap_or_default();
                let outcome = match &acted.result {
                    Ok(sentence) => json!({ "ok": true, "message": sentence }),
                    Err(e) => json!({ "ok": false, "error": UiError::from(e.clone()) }),
                };
                let mut acted_json =
                    json!({ "notice_id": acted.notice_id, "action": acted.action });
                if let (Some(a), Some(o)) = (acted_json.as_object_mut(), outcome.as_object()) {
                    a.extend(o.clone());
                }
                inner
                    .window
                    .to_page(INBOX_EVENT, json!({ "badge": badge, "acted": acted_json }));
            }
        };
        let status = {
            let inner = Arc::downgrade(self);
            let core = Arc::downgrade(core);
            move |status: &Status| {
                let Some(inner) = current(&inner, generation) else {
                    return;
                };
                inner
                    .window
                    .to_page(INBOX_EVENT, json!({ "status": status }));
                if matches!(status, Status::SignedOut { .. }) {
                    follow_again_later(Arc::downgrade(&inner), core.clone(), generation);
                }
            }
        };
        Hooks {
            changed: Some(Arc::new(changed)),
            open: Some(Arc::new(open)),
            acted: Some(Arc::new(acted)),
            status: Some(Arc::new(status)),
        }
    }
}

/// The inner state, if `generation` is still the current follower's.
fn current(inner: &Weak<Inner>, generation: u64) -> Option<Arc<Inner>> {
    inner.upgrade().filter(|i| i.is_current(generation))
}

/// A follower stops when its session could not be renewed. If the person is still signed in
/// here, that was the backend being out of reach at that moment: follow again a little later.
/// (When the session really ended, the shell signed out and the follower was replaced.)
fn follow_again_later(inner: Weak<Inner>, core: Weak<Core>, generation: u64) {
    let _ = std::thread::Builder::new()
        .name("alerts-again".into())
        .spawn(move || {
            std::thread::sleep(FOLLOW_AGAIN_AFTER);
            let (Some(inner), Some(core)) = (current(&inner, generation), core.upgrade()) else {
                return;
            };
            if core.account().is_none() {
                return;
            }
            let running = lock(&inner.running);
            if let Some(r) = running.as_ref() {
                if r.generation == generation {
                    r.alerts.start();
                }
            }
        });
}

/// The follower's access tokens: the shell's session, renewed the way commands renew it, and
/// only while `scope`'s account is the one signed in.
fn tokens(core: &Arc<Core>, scope: &Scope) -> Arc<dyn alerts::AccessTokens> {
    let core = Arc::downgrade(core);
    let (account_id, backend_id) = (scope.account_id.clone(), scope.backend.clone());
    Arc::new(move |refused: Option<&Secret>| {
        let core = core.upgrade().ok_or_else(ended)?;
        core.access_token(&account_id, &backend_id, refused)
            .map_err(|e| {
                if e.code == "unauthenticated" {
                    ended()
                } else {
                    Error::new(ErrorKind::Unavailable, "session_not_renewed", e.message)
                }
            })
    })
}

fn ended() -> Error {
    Error::new(
        ErrorKind::Unauthenticated,
        "unauthenticated",
        "You are signed out here, so new requests are not followed. Sign in again to continue.",
    )
}

/// The plugin that holds [`Notifications`]; `build_app` registers it, so the IPC tests on the
/// mock runtime have it too.
pub fn init<R: Runtime>() -> TauriPlugin<R> {
    Builder::new("partnerdesk-alerts")
        .setup(|app, _api| {
            let os = app.try_state::<OsNotifications>().is_some();
            app.manage(Notifications {
                inner: Arc::new(Inner {
                    window: Box::new(AppWindow {
                        app: app.clone(),
                        os,
                    }),
                    running: Mutex::new(None),
                    generation: AtomicU64::new(0),
                    inbox: Mutex::new(None),
                    following: AtomicBool::new(false),
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
/// shell and [`Notifications`] are in place, and only once.
pub fn follow<R: Runtime>(app: &AppHandle<R>) {
    let (Some(shell), Some(notifications)) =
        (app.try_state::<Shell>(), app.try_state::<Notifications>())
    else {
        return;
    };
    let inner = notifications.inner.clone();
    if inner.following.swap(true, Ordering::SeqCst) {
        return;
    }
    shell.when_ready(move |core| core.follow_sessions(&inner, Inner::follow));
}
