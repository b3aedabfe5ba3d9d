//! A private D-Bus session bus (`dbus-daemon --session --nofork`) per test, with python3-dbusmock's
//! `notification_daemon` template on it as the notification server. Nothing touches the
//! developer's own session bus: the address is handed to the notifier, never put in the
//! environment of this process.
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use zbus::blocking::{Connection, MessageIterator};
use zbus::zvariant::{OwnedValue, Value};

const NAME: &str = "org.freedesktop.Notifications";
const PATH: &str = "/org/freedesktop/Notifications";
const MOCK: &str = "org.freedesktop.DBus.Mock";

/// Debian's python3-dbusmock installs for the system's Python; a Python from elsewhere on PATH
/// (pyenv) does not have it.
fn python() -> &'static str {
    if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

pub struct PrivateBus {
    pub address: String,
    child: Child,
}

impl PrivateBus {
    pub fn start() -> Self {
        let mut child = Command::new("dbus-daemon")
            .args(["--session", "--print-address=1", "--nofork", "--nopidfile"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            // It warns that it may not raise its file limit, which a test bus does not need.
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon starts (scripts/setup --test installs the dbus package)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("dbus-daemon prints its address");
        let address = line.trim().to_owned();
        assert!(
            address.starts_with("unix:"),
            "unexpected address {address:?}"
        );
        Self { address, child }
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}

/// One `Notify` call as the mock recorded it.
#[derive(Debug, Clone)]
pub struct NotifyCall {
    pub app_name: String,
    pub replaces_id: u32,
    pub summary: String,
    pub body: String,
    pub actions: Vec<String>,
}

/// The mock notification server, and a connection of the test's own to inspect and drive it.
pub struct Notifications {
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

fn number(v: &Value<'_>) -> u32 {
    match v {
        Value::U32(n) => *n,
        Value::Value(inner) => number(inner),
        other => panic!("expected a u32, got {other:?}"),
    }
}

fn strings(v: &Value<'_>) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().map(text).collect(),
        Value::Value(inner) => strings(inner),
        other => panic!("expected an array of strings, got {other:?}"),
    }
}

impl Notifications {
    /// Starts the mock on `bus`, with the capabilities of a server that shows action buttons.
    pub fn start(bus: &PrivateBus) -> Self {
        Self::with_capabilities(bus, "body actions")
    }

    /// Starts the mock as a server that also reads markup in the body (`body-markup`), as
    /// GNOME Shell, KDE Plasma and dunst do.
    pub fn reading_markup(bus: &PrivateBus) -> Self {
        Self::with_capabilities(bus, "body body-markup body-hyperlinks actions")
    }

    fn with_capabilities(bus: &PrivateBus, capabilities: &str) -> Self {
        let parameters = serde_json::json!({ "capabilities": capabilities }).to_string();
        let child = Command::new(python())
            .args([
                "-m",
                "dbusmock",
                "--template",
                "notification_daemon",
                "-p",
                &parameters,
            ])
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 -m dbusmock starts (scripts/setup --test installs python3-dbusmock)");
        let conn = zbus::blocking::connection::Builder::address(bus.address.as_str())
            .and_then(|b| b.build())
            .expect("the test connects to its private bus");
        let mut this = Self { conn, child };
        let dbus = zbus::blocking::fdo::DBusProxy::new(&this.conn).expect("the bus proxy");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !dbus
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

    /// Every `Notify` call so far, in order.
    pub fn notify_calls(&self) -> Vec<NotifyCall> {
        let reply = self
            .conn
            .call_method(Some(NAME), PATH, Some(MOCK), "GetMethodCalls", &("Notify",))
            .expect("GetMethodCalls answers");
        let calls: Vec<(u64, Vec<OwnedValue>)> = reply.body().deserialize().expect("a(tav)");
        calls
            .into_iter()
            .map(|(_, args)| NotifyCall {
                app_name: text(&args[0]),
                replaces_id: number(&args[1]),
                summary: text(&args[3]),
                body: text(&args[4]),
                actions: strings(&args[5]),
            })
            .collect()
    }

    /// How many times `method` was called.
    pub fn count(&self, method: &str) -> usize {
        let reply = self
            .conn
            .call_method(Some(NAME), PATH, Some(MOCK), "GetMethodCalls", &(method,))
            .expect("GetMethodCalls answers");
        let calls: Vec<(u64, Vec<OwnedValue>)> = reply.body().deserialize().expect("a(tav)");
        calls.len()
    }

    /// Waits until there are at least `n` Notify calls; returns them all.
    pub fn wait_for_notify(&self, n: usize, within: Duration) -> Vec<NotifyCall> {
        let deadline = Instant::now() + within;
        loop {
            let calls = self.notify_calls();
            if calls.len() >= n {
                return calls;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} Notify calls within {within:?}, saw {}: {calls:#?}",
                calls.len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server id the mock gave the `index`-th Notify call (counting from 0): it numbers new
    /// notifications 1, 2, 3… and keeps the id of one that replaces another.
    pub fn server_id(&self, index: usize) -> u32 {
        let calls = self.notify_calls();
        let mut next = 0u32;
        let mut id = 0;
        for call in calls.iter().take(index + 1) {
            id = if call.replaces_id == 0 {
                next += 1;
                next
            } else {
                call.replaces_id
            };
        }
        id
    }

    /// What a person clicking a button does: the server emits `ActionInvoked`.
    pub fn invoke(&self, server_id: u32, key: &str) {
        let args: Vec<Value<'_>> = vec![Value::U32(server_id), Value::from(key)];
        self.conn
            .call_method(
                Some(NAME),
                PATH,
                Some(MOCK),
                "EmitSignal",
                &(NAME, "ActionInvoked", "us", args),
            )
            .expect("EmitSignal answers");
    }

    /// A receiver that gets the instant of every `Notify` the mock handles, from its
    /// `MethodCalled` signal, for latency measurements.
    pub fn watch_notify(&self) -> mpsc::Receiver<Instant> {
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .interface(MOCK)
            .and_then(|b| b.member("MethodCalled"))
            .map(|b| b.build())
            .expect("a match rule");
        let signals =
            MessageIterator::for_match_rule(rule, &self.conn, None).expect("a subscription");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for m in signals.flatten() {
                let at = Instant::now();
                let Ok((name, _)) = m.body().deserialize::<(String, Vec<OwnedValue>)>() else {
                    continue;
                };
                if name == "Notify" && tx.send(at).is_err() {
                    return;
                }
            }
        });
        rx
    }
}

impl Drop for Notifications {
    fn drop(&mut self) {
        kill(&mut self.child);
        let _ = self.conn.clone().close();
    }
}
