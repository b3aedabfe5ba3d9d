//! The chosen theme and zoom are in place before the window's first paint: the page starts with
//! `data-theme` already set (a script that runs before any of the page's own), and the webview
//! opens at the remembered zoom. Changes made while the app runs are applied by the window itself
//! (`ui/appearance.js`) and kept by the `set_theme` and `zoom` commands.
use tauri::plugin::Plugin;
use tauri::{AppHandle, Manager, Runtime, Webview};

use crate::settings::{Appearance, Settings, SETTINGS_FILE};
use crate::state::DataDirs;

/// Reads the appearance from the settings file when the app starts.
pub struct AppearancePlugin {
    dirs: DataDirs,
    appearance: Appearance,
}

pub fn init(dirs: DataDirs) -> AppearancePlugin {
    AppearancePlugin {
        dirs,
        appearance: Appearance::default(),
    }
}

impl<R: Runtime> Plugin<R> for AppearancePlugin {
    fn name(&self) -> &'static str {
        "appearance"
    }

    fn initialize(
        &mut self,
        app: &AppHandle<R>,
        _config: serde_json::Value,
    ) -> Result<(), Box<dyn std::error::Error>> {
        // The same file the shell reads (state::Shell::open): the data folder given, or the
        // platform's config folder. Plugins start before the windows, so this comes first.
        let dir = match &self.dirs {
            DataDirs::Fixed(dir) => dir.clone(),
            DataDirs::App => app.path().app_config_dir()?,
        };
        self.appearance = Settings::load(&dir.join(SETTINGS_FILE)).appearance;
        Ok(())
    }

    fn initialization_script(&self) -> Option<String> {
        Some(self.appearance.page_script())
    }

    fn webview_created(&mut self, webview: Webview<R>) {
        if self.appearance.zoom_percent != 100 {
            // A window that cannot zoom still opens, at 100 %; Ctrl + tries again and says so.
            let _ = webview.set_zoom(self.appearance.zoom_factor());
        }
    }
}
