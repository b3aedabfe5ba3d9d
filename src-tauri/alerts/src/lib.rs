//! Approval notifications, without Tauri: follow the backend's events for a signed-in account,
//! keep them in an inbox that survives restarts, tell the person through the OS (freedesktop
//! notifications on Linux) unless their settings say not now, and act on Approve, Deny and Open.
//!
//! - [`Alerts`] runs it for one account on one backend: a follow thread (see
//!   [`client::Backend::follow_events`]) that turns events into [`Notice`]s, files them in the
//!   [`Inbox`] and hands the new ones to a [`Notifier`]; [`Alerts::act`] carries out an action.
//! - [`Inbox`]: the notices and the follow cursor in their own SQLite file.
//! - [`describe`] and [`settings::delivery`]: what to say and whether to say it now, as pure
//!   functions.
//! - [`DbusNotifier`]: `org.freedesktop.Notifications` on the session bus, with actions.
//!
//! Threads: [`Alerts::start`] spawns one follow thread; a [`DbusNotifier`] has one listener
//! thread; [`Alerts::act_in_background`] spawns a short-lived thread per action. Every hook is
//! called on one of these threads, never on the caller's.
#![forbid(unsafe_code)]

mod dbus;
mod follower;
mod inbox;
mod notice;
pub mod settings;
pub mod text;

use membership::{Error, Secret};

pub use dbus::{AppIdentity, DbusNotifier, OnAction};
pub use follower::{Acted, Alerts, Clock, Config, Hooks, Status, DEFAULT_DENY_REASON};
pub use inbox::{Badge, Entry, Inbox, Scope};
pub use notice::{describe, Action, Facts, Notice, PrivilegeRequestState, Target, NOTIFIED_KINDS};
pub use settings::{ClockTime, Delivery, QuietHours, Settings};

/// Shows notices as OS notifications. The actions a person invokes on them come back through
/// [`Alerts::action_handler`] (or the shell's own plugin, calling [`Alerts::act_in_background`]).
pub trait Notifier: Send + Sync {
    /// Shows `notice`, replacing the notification already shown for the same notice.
    fn show(&self, notice: &Notice) -> Result<(), Error>;
    /// Takes back the notification of `notice_id` (it was dealt with elsewhere); a no-op when none
    /// is shown.
    fn withdraw(&self, notice_id: i64);
}

/// Where the follower gets the account's access token: the shell's session, which renews it.
pub trait AccessTokens: Send + Sync {
    /// The current access token. `refused` is a token the backend just refused: renew the
    /// session (refresh) unless it has moved on already, and return the new token. `Err` when the
    /// session has ended: the follow stops and says the person must sign in again.
    fn access(&self, refused: Option<&Secret>) -> Result<Secret, Error>;
}

impl<F> AccessTokens for F
where
    F: Fn(Option<&Secret>) -> Result<Secret, Error> + Send + Sync,
{
    fn access(&self, refused: Option<&Secret>) -> Result<Secret, Error> {
        self(refused)
    }
}
