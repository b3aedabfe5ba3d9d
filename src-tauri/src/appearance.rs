//! The chosen theme and zoom are in place before the window's first paint: the page starts with
//! `data-theme` already set (a script that runs before any of the page's own), and the webview
//! opens at the remembered zoom. The same script hands the page the desktop's language and region,
//! so dates read as the person expects (`ui/dom.js`, `when`). Changes made while the app runs are applied by the window itself
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
        let locale = desktop_locale(|name| std::env::var(name).ok())
            .map(|tag| format!("window.__partnerdeskLocale='{tag}';"))
            .unwrap_or_default();
        Some(format!("{}{locale}", self.appearance.page_script()))
    }

    fn webview_created(&mut self, webview: Webview<R>) {
        if self.appearance.zoom_percent != 100 {
            // A window that cannot zoom still opens, at 100 %; Ctrl + tries again and says so.
            let _ = webview.set_zoom(self.appearance.zoom_factor());
        }
    }
}

/// The desktop's language and region for dates and times, as a BCP 47 tag: `en-AU` from
/// `LC_ALL`, `LC_TIME` or `LANG` (the first that is set, as POSIX reads them) holding
/// `en_AU.UTF-8`. `None` for the C locale or anything else, which leaves the WebView's own.
pub fn desktop_locale(var: impl Fn(&str) -> Option<String>) -> Option<String> {
    let value = ["LC_ALL", "LC_TIME", "LANG"]
        .into_iter()
        .filter_map(&var)
        .find(|v| !v.is_empty())?;
    let base = value.split(['.', '@']).next().unwrap_or_default();
    let tag = base.replace('_', "-");
    let letters = |part: &str| {
        (2..=8).contains(&part.len()) && part.chars().all(|c| c.is_ascii_alphanumeric())
    };
    (base != "C" && base != "POSIX" && tag.split('-').all(letters)).then_some(tag)
}

#[cfg(test)]
mod tests {
    use super::desktop_locale;

    fn from(vars: &[(&str, &str)]) -> Option<String> {
        desktop_locale(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn the_desktop_locale_becomes_a_language_tag() {
        assert_eq!(from(&[("LANG", "en_AU.UTF-8")]).as_deref(), Some("en-AU"));
        assert_eq!(from(&[("LANG", "de_DE@euro")]).as_deref(), Some("de-DE"));
        assert_eq!(from(&[("LANG", "fr")]).as_deref(), Some("fr"));
        // LC_ALL first, then LC_TIME (the dates' own), then LANG; an empty one does not count.
        assert_eq!(
            from(&[
                ("LC_ALL", ""),
                ("LC_TIME", "en_GB.UTF-8"),
                ("LANG", "en_US.UTF-8")
            ])
            .as_deref(),
            Some("en-GB")
        );
        assert_eq!(
            from(&[("LC_ALL", "nl_NL.UTF-8"), ("LC_TIME", "en_GB.UTF-8")]).as_deref(),
            Some("nl-NL")
        );
    }

    #[test]
    fn the_c_locale_and_anything_odd_leave_the_webviews_own() {
        assert_eq!(from(&[]), None);
        assert_eq!(from(&[("LANG", "C.UTF-8")]), None);
        assert_eq!(from(&[("LC_ALL", "POSIX")]), None);
        assert_eq!(from(&[("LANG", "en_AU';alert(1);'")]), None, "never code");
        assert_eq!(from(&[("LANG", "x")]), None);
    }
}
