//! Help and Settings.
use serde::Serialize;
use tauri::State;

use super::blocking;
use crate::error::UiError;
use crate::notifications::Notifications;
use crate::settings::{Appearance, HelpContact, Settings, Theme, ZoomStep};
use crate::state::Shell;

/// The Regional Service Centre per region. Needs no sign-in.
#[tauri::command(rename_all = "snake_case")]
pub async fn help_contacts(shell: State<'_, Shell>) -> Result<Vec<HelpContact>, UiError> {
    blocking(&shell, |core| Ok(core.settings().help_contacts)).await
}

#[derive(Debug, Clone, Serialize)]
pub struct SettingsView {
    pub settings: Settings,
    /// The backend in use now: `embedded`, `remote`, or `none` when none could be opened.
    pub active_backend: &'static str,
    /// Where it is: the embedded database's path, or the server's address.
    pub location: Option<String>,
}

fn view(core: &crate::state::Core, settings: Settings) -> SettingsView {
    let backend = core.backend().ok();
    SettingsView {
        settings,
        active_backend: backend.as_ref().map_or("none", |b| b.kind_name()),
        location: backend.map(|b| b.location().to_owned()),
    }
}

#[tauri::command(rename_all = "snake_case")]
pub async fn settings(shell: State<'_, Shell>) -> Result<SettingsView, UiError> {
    blocking(&shell, |core| Ok(view(core, core.settings()))).await
}

/// Saves the settings. Choosing another backend (or another server address) opens it at once:
/// the current session stays kept for when you switch back, and you sign in on the new one.
/// Notification settings apply at once to the follower of new requests.
#[tauri::command(rename_all = "snake_case")]
pub async fn save_settings(
    shell: State<'_, Shell>,
    notifications: State<'_, Notifications>,
    settings: Settings,
) -> Result<SettingsView, UiError> {
    let saved = blocking(&shell, move |core| core.save_settings(settings)).await?;
    notifications.apply_settings(saved.alerts);
    Ok(view(shell.ready().await?.as_ref(), saved))
}

/// Whether the backend in use answers now.
#[derive(Debug, Clone, Serialize)]
pub struct BackendStatus {
    pub kind: &'static str,
    pub location: String,
    pub reachable: bool,
    /// When it does not answer: what went wrong and what to do, in words.
    pub message: Option<String>,
}

/// Asks the backend in use whether it answers (the server's health check; the embedded
/// database). Needs no sign-in.
#[tauri::command(rename_all = "snake_case")]
pub async fn backend_status(shell: State<'_, Shell>) -> Result<BackendStatus, UiError> {
    blocking(&shell, |core| {
        let backend = core.backend()?;
        let answer = backend.api().health();
        Ok(BackendStatus {
            kind: backend.kind_name(),
            location: backend.location().to_owned(),
            reachable: answer.is_ok(),
            message: answer.err().map(|e| e.message().to_owned()),
        })
    })
    .await
}

/// Light, dark, or as the desktop says: kept at once (the window has already applied it) and used
/// before the first paint from the next start.
#[tauri::command(rename_all = "snake_case")]
pub async fn set_theme(shell: State<'_, Shell>, theme: Theme) -> Result<Appearance, UiError> {
    blocking(&shell, move |core| {
        core.set_appearance(|a| Appearance { theme, ..a })
    })
    .await
}

/// Ctrl +, Ctrl − and Ctrl 0: zooms the window that asked one step and remembers the level.
#[tauri::command(rename_all = "snake_case")]
pub async fn zoom<R: tauri::Runtime>(
    shell: State<'_, Shell>,
    webview: tauri::Webview<R>,
    step: ZoomStep,
) -> Result<Appearance, UiError> {
    let appearance = blocking(&shell, move |core| core.set_appearance(|a| a.zoomed(step))).await?;
    webview.set_zoom(appearance.zoom_factor()).map_err(|_| {
        UiError::new(
            "zoom_failed",
            "The window could not change its size. Try again, or restart Partner Desk.",
        )
    })?;
    Ok(appearance)
}
