//! Desktop notifications on macOS and Windows, through tauri-plugin-notification (Linux talks to
//! the notification server itself: `alerts::DbusNotifier`). A request waiting for a decision
//! carries Approve, Deny and Open (Grant and Open for a privilege); the plugin reports the one
//! chosen, and a click on the notification itself, which is Open.
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use alerts::{Action, Alerts, Notice, Notifier, OnAction};
use membership::{Error, ErrorKind};
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_notification::{Action as Button, ActionType, NotificationExt};

/// The action types: which buttons a notice has.
const REQUEST: &str = "partnerdesk-request";
const PRIVILEGE: &str = "partnerdesk-privilege";

#[derive(Default)]
struct Shown {
    /// The plugin's notification id → the notice's id, and back.
    notices: HashMap<i32, i64>,
    ids: HashMap<i64, i32>,
    next: i32,
    /// The current follower's action handler (one follower at a time).
    on_action: Option<OnAction>,
}

struct PluginNotifier<R: Runtime> {
    app: AppHandle<R>,
    shown: Arc<Mutex<Shown>>,
}

fn lock(m: &Mutex<Shown>) -> MutexGuard<'_, Shown> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The notifier for `alerts`: made once per app (the plugin keeps its action handlers for
/// good), then pointed at each new follower.
pub fn for_alerts<R: Runtime>(app: &AppHandle<R>, alerts: &Alerts) -> Arc<dyn Notifier> {
    let notifier = match app.try_state::<Arc<PluginNotifier<R>>>() {
        Some(n) => n.inner().clone(),
        None => {
            let n = Arc::new(PluginNotifier::new(app));
            app.manage(n.clone());
            n
        }
    };
    lock(&notifier.shown).on_action = Some(alerts.action_handler());
    notifier
}

impl<R: Runtime> PluginNotifier<R> {
    fn new(app: &AppHandle<R>) -> Self {
        let button = |a: Action, label: &str| Button::builder(a.key(), label).build();
        let plugin = app.notification();
        let _ = plugin.register_action_types(vec![
            ActionType::builder(REQUEST)
                .actions(vec![
                    button(Action::Approve, "Approve"),
                    button(Action::Deny, "Deny"),
                    button(Action::Open, "Open"),
                ])
                .build(),
            ActionType::builder(PRIVILEGE)
                .actions(vec![
                    button(Action::Approve, "Grant"),
                    button(Action::Open, "Open"),
                ])
                .build(),
        ]);
        let shown = Arc::new(Mutex::new(Shown::default()));
        let heard = shown.clone();
        let _ = plugin.on_action(move |performed| {
            let key = match performed.action_id() {
                "tap" => "default",
                other => other,
            };
            let (Some(action), Some(id)) = (
                Action::from_key(key),
                performed.notification().map(|n| n.id()),
            ) else {
                return;
            };
            let (notice, on_action) = {
                let shown = lock(&heard);
                (shown.notices.get(&id).copied(), shown.on_action.clone())
            };
            if let (Some(notice), Some(on_action)) = (notice, on_action) {
                on_action(notice, action);
            }
        });
        Self {
            app: app.clone(),
            shown,
        }
    }
}

impl<R: Runtime> Notifier for PluginNotifier<R> {
    fn show(&self, notice: &Notice) -> Result<(), Error> {
        let id = {
            let mut shown = lock(&self.shown);
            let id = match shown.ids.get(&notice.id) {
                Some(id) => *id,
                None => {
                    shown.next = shown.next.checked_add(1).unwrap_or(1);
                    shown.next
                }
            };
            shown.notices.insert(id, notice.id);
            shown.ids.insert(notice.id, id);
            id
        };
        let mut builder = self
            .app
            .notification()
            .builder()
            .id(id)
            // The app's own words in the title; the body, which names people, as plain text
            // (these platforms draw it as text, not markup).
            .title(alerts::text::plain_for_os(&notice.headline, 200))
            .body(alerts::text::plain_for_os(
                &notice.body,
                alerts::text::MAX_BODY_CHARS,
            ));
        if notice.pending() {
            builder = builder.action_type_id(if notice.actions.contains(&Action::Deny) {
                REQUEST
            } else {
                PRIVILEGE
            });
        }
        builder.show().map_err(|_| {
            Error::new(
                ErrorKind::Unavailable,
                "notifications_unavailable",
                "Partner Desk could not show a desktop notification, so new requests appear only in its inbox. Check that notifications are allowed for Partner Desk in your system settings.",
            )
        })
    }

    fn withdraw(&self, notice_id: i64) {
        let id = lock(&self.shown).ids.get(&notice_id).copied();
        if let Some(id) = id {
            let _ = self.app.notification().remove_active(vec![id]);
        }
    }
}
