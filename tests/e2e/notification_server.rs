//! A real notification server for the window to talk to: python3-dbusmock's `notification_daemon`
//! template on the session bus that `scripts/e2e` starts (`dbus-run-session`), which records
//! every `Notify` call. The app finds it the way it finds a desktop's own server, by its bus name
//! `org.freedesktop.Notifications`.
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use zbus::blocking::Connection;
use zbus::zvariant::{OwnedValue, Value};

const NAME: &str = "org.freedesktop.Notifications";
const PATH: &str = "/org/freedesktop/Notifications";
const MOCK: &str = "org.freedesktop.DBus.Mock";

/// One `Notify` call as the server recorded it.
#[derive(Debug, Clone)]
pub struct NotifyCall {
    pub app_name: String,
    pub summary: String,
    pub body: String,
    pub actions: Vec<String>,
}

pub struct NotificationServer {
    conn: Connection,
    child: Child,
}

fn text(v: &Value<'_>) -> String {
    match v {
        Value::Str(s) => s.to_string(),
        Value::Value(inner) => text(inner),
        other => panic!("expected a string, got {other:?}"),
    }
}

fn strings(v: &Value<'_>) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().map(text).collect(),
        Value::Value(inner) => strings(inner),
        other => panic!("expected an array of strings, got {other:?}"),
    }
}

impl NotificationServer {
    /// Starts the server on this session bus, as one that shows action buttons and reads markup
    /// in the body (`body-markup`), as GNOME Shell, KDE Plasma and dunst do.
    pub fn start() -> Self {
        assert!(
            std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
            "no session bus: run the end-to-end tests with scripts/e2e (dbus-run-session)"
        );
        // Debian's python3-dbusmock is installed for the system's Python, not one from elsewhere
        // on PATH.
        let python = if std::path::Path::new("/usr/bin/python3").exists() {
            "/usr/bin/python3"
        } else {
            "python3"
        };
        let child = Command::new(python)
            .args([
                "-m",
                "dbusmock",
                "--template",
                "notification_daemon",
                "-p",
                r#"{"capabilities": "body body-markup actions"}"#,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 -m dbusmock starts (scripts/setup --test installs python3-dbusmock)");
        let conn = Connection::session().expect("the test reaches the session bus");
        let mut this = Self { conn, child };
        let bus = zbus::blocking::fdo::DBusProxy::new(&this.conn).expect("the bus proxy");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !bus
            .name_has_owner(NAME.try_into().expect("a bus name"))
            .unwrap_or(false)
        {
            if let Ok(Some(status)) = this.child.try_wait() {
                panic!("dbusmock ended before it took {NAME}: {status}");
            }
            assert!(Instant::now() < deadline, "dbusmock did not take {NAME}");
            std::thread::sleep(Duration::from_millis(20));
        }
        this
    }

    fn calls(&self, method: &str) -> Vec<Vec<OwnedValue>> {
        let reply = self
            .conn
            .call_method(Some(NAME), PATH, Some(MOCK), "GetMethodCalls", &(method,))
            .expect("GetMethodCalls answers");
        let calls: Vec<(u64, Vec<OwnedValue>)> = reply.body().deserialize().expect("a(tav)");
        calls.into_iter().map(|(_, args)| args).collect()
    }

    /// Every `Notify` call so far, in order.
    pub fn notify_calls(&self) -> Vec<NotifyCall> {
        self.calls("Notify")
            .into_iter()
            .map(|args| NotifyCall {
                app_name: text(&args[0]),
                summary: text(&args[3]),
                body: text(&args[4]),
                actions: strings(&args[5]),
            })
            .collect()
    }

    /// Waits for a `Notify` call whose summary or body contains `needle` (the summary is only
    /// ever the app's own words, so who a notification is about is in its body).
    pub fn wait_for_notify(&self, needle: &str, within: Duration) -> NotifyCall {
        let deadline = Instant::now() + within;
        loop {
            let calls = self.notify_calls();
            if let Some(call) = calls
                .iter()
                .find(|c| c.summary.contains(needle) || c.body.contains(needle))
            {
                return call.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no Notify call mentioning {needle:?} within {within:?}; the calls were {calls:#?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until `method` has been called at least once.
    pub fn wait_for_call(&self, method: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while self.calls(method).is_empty() {
            assert!(
                Instant::now() < deadline,
                "no {method} call within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for NotificationServer {
    fn drop(&mut self) {
        // The next journey runs on the same bus, without a notification server.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
