//! The inbox: the notices of the signed-in account (new requests for a PPC or Global
//! Administrator, decisions and granted privileges for staff), and Approve, Deny and Open on them —
//! the same actions a desktop notification offers. The follower that fills it is
//! [`crate::notifications`].
use alerts::{Action, Badge, Entry, Status};
use serde::Serialize;
use tauri::State;

use super::blocking;
use crate::error::UiError;
use crate::notifications::Notifications;
use crate::state::Shell;

/// The most notices one call lists, and the default.
const MAX_ENTRIES: u32 = 200;
const DEFAULT_ENTRIES: u32 = 50;

/// A button of a notice: what it does and its text (Approve, or Grant for a privilege).
#[derive(Debug, Clone, Serialize)]
pub struct Button {
    pub action: Action,
    pub label: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct InboxEntry {
    #[serde(flatten)]
    pub entry: Entry,
    /// Approve and Deny while the request waits for a decision, and Open.
    pub buttons: Vec<Button>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InboxView {
    /// Newest first.
    pub entries: Vec<InboxEntry>,
    pub badge: Badge,
    /// Whether new events are arriving (for a status line).
    pub status: Status,
    /// Why the desktop shows no notifications, when it cannot (the inbox still fills).
    pub desktop: Option<String>,
    /// When the requests still waiting could not be checked against the backend just now.
    pub stale: Option<String>,
}

fn buttons(entry: &Entry) -> Vec<Button> {
    entry
        .notice
        .actions
        .iter()
        .filter(|a| entry.pending || **a == Action::Open)
        .map(|&action| Button {
            action,
            label: entry.notice.label(action),
        })
        .collect()
}

/// The newest notices (`limit`, 50 unless given) and the counts. Requests still waiting are
/// checked first, so one decided elsewhere (in the Membership Centre, by another administrator,
/// or withdrawn) no longer offers Approve.
#[tauri::command(rename_all = "snake_case")]
pub async fn inbox(
    shell: State<'_, Shell>,
    notifications: State<'_, Notifications>,
    limit: Option<u32>,
) -> Result<InboxView, UiError> {
    let current = notifications.current(shell.ready().await?.as_ref())?;
    blocking(&shell, move |_core| {
        let alerts = current.alerts;
        let stale = alerts.recheck_pending().err().map(|e| {
            format!(
                "The requests waiting for you could not be checked just now ({}) Some may already have been dealt with.",
                e.message()
            )
        });
        let limit = limit.unwrap_or(DEFAULT_ENTRIES).min(MAX_ENTRIES);
        let entries = alerts
            .entries(limit)?
            .into_iter()
            .map(|entry| InboxEntry {
                buttons: buttons(&entry),
                entry,
            })
            .collect();
        Ok(InboxView {
            entries,
            badge: alerts.badge()?,
            status: alerts.status(),
            desktop: current.desktop,
            stale,
        })
    })
    .await
}

/// Approve or Deny a request from the inbox (Open marks it read and shows it); answers with the
/// sentence to announce.
#[tauri::command(rename_all = "snake_case")]
pub async fn inbox_act(
    shell: State<'_, Shell>,
    notifications: State<'_, Notifications>,
    id: i64,
    action: Action,
) -> Result<String, UiError> {
    let alerts = notifications.current(shell.ready().await?.as_ref())?.alerts;
    blocking(&shell, move |_core| Ok(alerts.act(id, action)?)).await
}

/// Marks one notice read; answers with the new counts.
#[tauri::command(rename_all = "snake_case")]
pub async fn inbox_mark_read(
    shell: State<'_, Shell>,
    notifications: State<'_, Notifications>,
    id: i64,
) -> Result<Badge, UiError> {
    let alerts = notifications.current(shell.ready().await?.as_ref())?.alerts;
    blocking(&shell, move |_core| {
        alerts.mark_read(id)?;
        Ok(alerts.badge()?)
    })
    .await
}

/// Marks every notice read; answers with the new counts (requests still waiting stay counted).
#[tauri::command(rename_all = "snake_case")]
pub async fn inbox_mark_all_read(
    shell: State<'_, Shell>,
    notifications: State<'_, Notifications>,
) -> Result<Badge, UiError> {
    let alerts = notifications.current(shell.ready().await?.as_ref())?.alerts;
    blocking(&shell, move |_core| {
        alerts.mark_all_read()?;
        Ok(alerts.badge()?)
    })
    .await
}
