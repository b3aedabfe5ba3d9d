//! Approval notifications end to end, with real components only: the server binary on a loopback
//! port (testkit), a private D-Bus session bus started here, python3-dbusmock's
//! `notification_daemon` template as the notification server, and the inbox in a real SQLite file.
//! Self-contained under plain `cargo test`: each test starts its own bus, so nothing needs
//! `dbus-run-session` and nothing reaches the developer's desktop.
mod bus;
mod desk;
mod embedded;
mod remote;
