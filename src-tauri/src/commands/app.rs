//! Help and Settings.
use serde::Serialize;
use tauri::State;

use super::blocking;
use crate::error::UiError;
use crate::settings::{BackendKind, HelpContact, Settings};
use crate::state::Shell;

/// The Regional Service Centre per region. Needs no sign-in.
#[tauri::command(rename_all = "snake_case")]
pub async fn help_contacts(shell: State<'_, Shell>) -> Result<Vec<HelpContact>, UiError> {
    blocking(&shell, |core| Ok(core.settings().help_contacts)).await
}

#[derive(Debug, Clone, Serialize)]
pub struct SettingsView {
    pub settings: Settings,
    /// The backend in use now: the remote one is not available yet.
    pub active_backend: &'static str,
    /// Where the embedded backend keeps its data.
    pub location: Option<String>,
    /// A sentence to show after saving, when something could not take effect.
    pub notice: Option<String>,
}

fn view(core: &crate::state::Core, settings: Settings) -> SettingsView {
    let notice = (settings.backend == BackendKind::Remote).then(|| {
        "The remote backend is coming soon: its address is saved, and Partner Desk keeps using the embedded backend until then."
            .to_owned()
    });
    let backend = core.backend().ok();
    SettingsView {
        settings,
        active_backend: backend.map_or("none", |b| b.kind()),
        location: backend.map(|b| b.location()),
        notice,
    }
}

#[tauri::command(rename_all = "snake_case")]
pub async fn settings(shell: State<'_, Shell>) -> Result<SettingsView, UiError> {
    blocking(&shell, |core| Ok(view(core, core.settings()))).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn save_settings(
    shell: State<'_, Shell>,
    settings: Settings,
) -> Result<SettingsView, UiError> {
    blocking(&shell, move |core| {
        let saved = core.save_settings(settings)?;
        Ok(view(core, saved))
    })
    .await
}
