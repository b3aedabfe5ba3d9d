//! The freedesktop notification server (`org.freedesktop.Notifications` on the session bus, the
//! Desktop Notifications Specification) over zbus: `Notify` with the notice's actions, and a
//! listener for `ActionInvoked` and `NotificationClosed` that maps a server id back to the notice.
//!
//! One connection sends every notification and receives the signals, on a thread of its own:
//! some servers (dunst) send a notification's signals only to the connection that sent it.
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use membership::{Error, ErrorKind};
use zbus::blocking::{Connection, MessageIterator};
use zbus::zvariant::Value;

use crate::{Action, Notice, Notifier};

const DESTINATION: &str = "org.freedesktop.Notifications";
const PATH: &str = "/org/freedesktop/Notifications";
const INTERFACE: &str = "org.freedesktop.Notifications";

/// What the notification server is told about the app.
#[derive(Debug, Clone)]
pub struct AppIdentity {
    /// `app_name` of `Notify`.
    pub name: String,
    /// An icon name from the theme, or a `file://` URI.
    pub icon: String,
    /// The `desktop-entry` hint: the .desktop file's name without `.desktop`.
    pub desktop_entry: String,
}

impl Default for AppIdentity {
    fn default() -> Self {
        Self {
            name: "Partner Desk".into(),
            icon: "partner-desk".into(),
            desktop_entry: "partner-desk".into(),
        }
    }
}

/// Called on the listener thread for each action the person invokes: the notice's id and what
/// they chose. It should return quickly (hand the work to another thread).
pub type OnAction = Arc<dyn Fn(i64, Action) + Send + Sync>;

struct Shown {
    /// Server id → notice id, for the notifications still on screen.
    by_server: HashMap<u32, i64>,
    /// Notice id → server id, to replace or close a notice's notification.
    by_notice: HashMap<i64, u32>,
}

struct Shared {
    shown: Mutex<Shown>,
    on_action: OnAction,
}

fn lock(m: &Mutex<Shown>) -> MutexGuard<'_, Shown> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A [`Notifier`] that talks to the notification server on a D-Bus session bus.
pub struct DbusNotifier {
    conn: Connection,
    app: AppIdentity,
    shared: Arc<Shared>,
    capabilities: Vec<String>,
}

fn bus_error(what: &str, e: &zbus::Error) -> Error {
    tracing::warn!(error = ?e.to_string(), "{what}");
    Error::new(
        ErrorKind::Unavailable,
        "notifications_unavailable",
        "Partner Desk could not reach your desktop's notification service, so new requests appear only in its inbox. Check that your desktop shows notifications, then restart the app.",
    )
}

impl DbusNotifier {
    /// Connects to the session bus of this login (`DBUS_SESSION_BUS_ADDRESS`).
    pub fn session(app: AppIdentity, on_action: OnAction) -> Result<Self, Error> {
        let conn = Connection::session().map_err(|e| bus_error("no session bus", &e))?;
        Self::over(conn, app, on_action)
    }

    /// Connects to the bus at `address` (a D-Bus address such as `unix:path=/run/…`).
    pub fn connect(address: &str, app: AppIdentity, on_action: OnAction) -> Result<Self, Error> {
        let conn = zbus::blocking::connection::Builder::address(address)
            .and_then(|b| b.build())
            .map_err(|e| bus_error("the bus did not answer", &e))?;
        Self::over(conn, app, on_action)
    }

    fn over(conn: Connection, app: AppIdentity, on_action: OnAction) -> Result<Self, Error> {
        let shared = Arc::new(Shared {
            shown: Mutex::new(Shown {
                by_server: HashMap::new(),
                by_notice: HashMap::new(),
            }),
            on_action,
        });
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .path(PATH)
            .and_then(|b| b.interface(INTERFACE))
            .map(|b| b.build())
            .map_err(|e| bus_error("bad match rule", &e))?;
        // Subscribed before the first Notify, so no signal of ours is missed.
        let signals = MessageIterator::for_match_rule(rule, &conn, None)
            .map_err(|e| bus_error("could not subscribe to notification signals", &e))?;
        let weak = Arc::downgrade(&shared);
        std::thread::Builder::new()
            .name("alerts-dbus".into())
            .spawn(move || listen(signals, weak))
            .map_err(|_| bus_error("no listener thread", &zbus::Error::Failure("thread".into())))?;
        let capabilities = conn
            .call_method(
                Some(DESTINATION),
                PATH,
                Some(INTERFACE),
                "GetCapabilities",
                &(),
            )
            .and_then(|reply| reply.body().deserialize::<Vec<String>>())
            .map_err(|e| bus_error("no notification server", &e))?;
        Ok(Self {
            conn,
            app,
            shared,
            capabilities,
        })
    }

    /// What the server said it can do (`body`, `actions`, …) when the notifier connected.
    pub fn capabilities(&self) -> &[String] {
        &self.capabilities
    }

    /// Whether the server shows action buttons; without them a click still opens the notice.
    pub fn supports_actions(&self) -> bool {
        self.capabilities.iter().any(|c| c == "actions")
    }
}

impl Notifier for DbusNotifier {
    fn show(&self, notice: &Notice) -> Result<(), Error> {
        let mut actions = Vec::with_capacity(notice.actions.len() * 2);
        for &a in &notice.actions {
            actions.push(a.key());
            actions.push(notice.label(a));
        }
        let mut hints: HashMap<&str, Value<'_>> = HashMap::new();
        hints.insert(
            "desktop-entry",
            Value::from(self.app.desktop_entry.as_str()),
        );
        // Normal urgency for requests; the server may still hide it in do-not-disturb.
        hints.insert("urgency", Value::U8(1));
        hints.insert(
            "category",
            Value::from(if notice.pending() {
                "x-partner-desk.request"
            } else {
                "x-partner-desk.news"
            }),
        );
        // Held while the call is made, so a signal that arrives before the id is recorded
        // waits for it instead of being missed.
        let mut shown = lock(&self.shared.shown);
        let replaces = shown.by_notice.get(&notice.id).copied().unwrap_or(0);
        let server_id: u32 = self
            .conn
            .call_method(
                Some(DESTINATION),
                PATH,
                Some(INTERFACE),
                "Notify",
                &(
                    self.app.name.as_str(),
                    replaces,
                    self.app.icon.as_str(),
                    crate::text::plain_for_os(&notice.headline, 200),
                    crate::text::notification_body(&notice.body),
                    actions,
                    hints,
                    -1i32,
                ),
            )
            .and_then(|reply| reply.body().deserialize())
            .map_err(|e| bus_error("Notify failed", &e))?;
        shown.by_server.insert(server_id, notice.id);
        shown.by_notice.insert(notice.id, server_id);
        Ok(())
    }

    fn withdraw(&self, notice_id: i64) {
        let server_id = lock(&self.shared.shown).by_notice.get(&notice_id).copied();
        if let Some(server_id) = server_id {
            // The server answers with NotificationClosed, which forgets the ids.
            let _ = self.conn.call_method(
                Some(DESTINATION),
                PATH,
                Some(INTERFACE),
                "CloseNotification",
                &(server_id,),
            );
        }
    }
}

impl Drop for DbusNotifier {
    fn drop(&mut self) {
        // Closing the connection ends the listener's message iterator, and with it the thread.
        let _ = self.conn.clone().close();
    }
}

fn listen(signals: MessageIterator, shared: Weak<Shared>) {
    for message in signals {
        let Ok(message) = message else {
            continue;
        };
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let header = message.header();
        match header.member().map(|m| m.as_str()) {
            Some("ActionInvoked") => {
                let Ok((server_id, key)) = message.body().deserialize::<(u32, String)>() else {
                    continue;
                };
                let notice = lock(&shared.shown).by_server.get(&server_id).copied();
                if let (Some(notice), Some(action)) = (notice, Action::from_key(&key)) {
                    // A panicking callback must not end the thread that hears every other one.
                    let on_action = shared.on_action.clone();
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        on_action(notice, action)
                    }));
                }
            }
            Some("NotificationClosed") => {
                if let Ok((server_id, _reason)) = message.body().deserialize::<(u32, u32)>() {
                    let mut shown = lock(&shared.shown);
                    if let Some(notice) = shown.by_server.remove(&server_id) {
                        if shown.by_notice.get(&notice) == Some(&server_id) {
                            shown.by_notice.remove(&notice);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}
