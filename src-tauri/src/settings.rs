//! The app's few preferences, kept as a small JSON file in the app's config folder. Never holds a
//! secret.
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::UiError;

pub const SETTINGS_FILE: &str = "settings.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    #[default]
    Embedded,
    Remote,
}

/// Light or dark: as the desktop says (`system`), or always one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

/// One press of Ctrl +, Ctrl − or Ctrl 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoomStep {
    In,
    Out,
    Reset,
}

/// The zoom levels Ctrl + and Ctrl − step through, in percent (as browsers do), up to the 400 %
/// at which a 1280-pixel window shows 320 CSS pixels.
pub const ZOOM_LEVELS: [u16; 13] = [50, 67, 80, 90, 100, 110, 125, 150, 175, 200, 250, 300, 400];

/// How the window looks, kept by the window itself (Settings, Appearance; the zoom keys) rather
/// than by the settings form, and applied before the first paint at the next start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Appearance {
    pub theme: Theme,
    pub zoom_percent: u16,
}

impl Default for Appearance {
    fn default() -> Self {
        Self {
            theme: Theme::System,
            zoom_percent: 100,
        }
    }
}

impl Appearance {
    /// The level after one zoom key; a level edited by hand into the file snaps to the range.
    pub fn zoomed(self, step: ZoomStep) -> Self {
        let now = self.zoom_percent;
        let (lowest, highest) = (ZOOM_LEVELS[0], ZOOM_LEVELS[ZOOM_LEVELS.len() - 1]);
        let zoom_percent = match step {
            ZoomStep::Reset => 100,
            ZoomStep::In => ZOOM_LEVELS
                .into_iter()
                .find(|&z| z > now)
                .unwrap_or(highest),
            ZoomStep::Out => ZOOM_LEVELS
                .into_iter()
                .rev()
                .find(|&z| z < now)
                .unwrap_or(lowest),
        };
        Self {
            zoom_percent,
            ..self
        }
    }

    /// The webview's zoom factor (1.0 is 100 %).
    pub fn zoom_factor(self) -> f64 {
        let (low, high) = (ZOOM_LEVELS[0], ZOOM_LEVELS[ZOOM_LEVELS.len() - 1]);
        f64::from(self.zoom_percent.clamp(low, high)) / 100.0
    }

    /// What runs in the page before anything else, so the first paint is already in the chosen
    /// theme: `data-theme` on `<html>` for Light or Dark; none for System.
    pub fn page_script(self) -> String {
        let theme = match self.theme {
            Theme::System => "",
            Theme::Light => "light",
            Theme::Dark => "dark",
        };
        format!(
            "(function(){{var t='{theme}';var r=document.documentElement;if(r&&t)r.dataset.theme=t;}})();"
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelpContact {
    pub region: String,
    pub name: String,
    pub phone: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub backend: BackendKind,
    /// The server's address (kept when the embedded backend is chosen, for switching back).
    pub remote_url: Option<String>,
    pub help_contacts: Vec<HelpContact>,
    /// The accounts this app remembers, newest first, as email addresses only (their tokens, if
    /// any, are in the keychain). The app keeps these itself; saving the settings screen leaves
    /// them as they are.
    pub accounts: Vec<String>,
    /// The account to restore at startup, if its session is still in the keychain.
    pub last_account: Option<String>,
    /// Who each kept session belongs to (id, email, name; never a token), by keychain entry name,
    /// so a session can be restored at startup while its backend cannot be reached and the
    /// profile edited from the copy kept on this computer. Kept by the app, like `accounts`.
    pub offline_accounts: std::collections::BTreeMap<String, membership::Account>,
    /// Desktop notifications of new requests and decisions: on or off, and quiet hours. The
    /// inbox fills either way.
    pub alerts: alerts::Settings,
    /// The DNS server (IP:PORT) that the embedded backend's domain proof asks; `None`: this
    /// computer's DNS settings.
    pub dns_resolver: Option<String>,
    /// Light, dark or the desktop's choice, and the zoom level. Kept by the window (like
    /// `accounts`); saving the settings form leaves it as it is.
    pub appearance: Appearance,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            backend: BackendKind::Embedded,
            remote_url: None,
            help_contacts: vec![HelpContact {
                region: "Australia".into(),
                name: "Regional Service Centre".into(),
                phone: "13 20 58 (Options 2,5,1)".into(),
            }],
            accounts: Vec::new(),
            last_account: None,
            offline_accounts: Default::default(),
            alerts: alerts::Settings::default(),
            dns_resolver: None,
            appearance: Appearance::default(),
        }
    }
}

impl Settings {
    /// Reads the settings; a missing or unreadable file gives the defaults, so a damaged file
    /// never stops the app from starting.
    pub fn load(path: &Path) -> Self {
        std::fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    pub fn save(&self, path: &Path) -> Result<(), UiError> {
        let refused = || {
            UiError::new(
                "settings_not_saved",
                format!(
                    "Your settings could not be saved to {}. Check that you may write there and try again.",
                    path.display()
                ),
            )
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|_| refused())?;
        }
        let json = serde_json::to_vec_pretty(self).map_err(|_| UiError::internal())?;
        // Write then rename, so a crash never leaves half a file.
        let tmp: PathBuf = path.with_extension("json.tmp");
        std::fs::write(&tmp, json).map_err(|_| refused())?;
        std::fs::rename(&tmp, path).map_err(|_| refused())
    }

    /// The server's address when a server is chosen; `None` for the embedded backend.
    pub fn effective_url(&self) -> Option<&str> {
        match self.backend {
            BackendKind::Remote => self.remote_url.as_deref(),
            BackendKind::Embedded => None,
        }
    }

    /// The DNS server for domain proof of the embedded backend, when one is set (and valid).
    pub fn dns_server(&self) -> Option<std::net::SocketAddr> {
        self.dns_resolver.as_deref().and_then(|d| d.parse().ok())
    }

    /// Checks what a person typed before it is kept.
    pub fn validated(mut self) -> Result<Self, UiError> {
        self.remote_url = self
            .remote_url
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty());
        if let Some(url) = &self.remote_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2048 {
                return Err(UiError::new(
                    "invalid_url",
                    "The remote backend address must start with https:// (or http:// for a test server). Correct it and save again.",
                ));
            }
        }
        self.dns_resolver = self
            .dns_resolver
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty());
        if self.dns_server().is_none() && self.dns_resolver.is_some() {
            return Err(UiError::new(
                "invalid_dns_resolver",
                "The DNS server must be an address with its port, such as 192.0.2.53:53 or [2001:db8::53]:53. Correct it, or clear it to use this computer's DNS settings.",
            ));
        }
        if self.backend == BackendKind::Remote && self.remote_url.is_none() {
            return Err(UiError::new(
                "invalid_url",
                "Enter the remote backend's address, or choose the embedded backend.",
            ));
        }
        self.help_contacts
            .retain(|c| !c.region.trim().is_empty() || !c.phone.trim().is_empty());
        for c in &mut self.help_contacts {
            c.region = c.region.trim().to_owned();
            c.name = c.name.trim().to_owned();
            c.phone = c.phone.trim().to_owned();
            if c.region.is_empty() || c.phone.is_empty() {
                return Err(UiError::new(
                    "invalid_help_contact",
                    "Each help contact needs a region and a phone number. Fill both in, or clear the row.",
                ));
            }
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(zoom_percent: u16) -> Appearance {
        Appearance {
            zoom_percent,
            ..Appearance::default()
        }
    }

    #[test]
    fn zoom_steps_through_the_levels_and_stops_at_both_ends() {
        let mut a = Appearance::default();
        let mut seen = vec![a.zoom_percent];
        while a.zoomed(ZoomStep::In) != a {
            a = a.zoomed(ZoomStep::In);
            seen.push(a.zoom_percent);
        }
        assert_eq!(seen, [100, 110, 125, 150, 175, 200, 250, 300, 400]);
        assert_eq!(a.zoom_factor(), 4.0);
        assert_eq!(at(67).zoomed(ZoomStep::Out).zoom_percent, 50);
        assert_eq!(at(50).zoomed(ZoomStep::Out).zoom_percent, 50);
        assert_eq!(at(300).zoomed(ZoomStep::Reset).zoom_percent, 100);
    }

    #[test]
    fn a_level_edited_by_hand_snaps_into_the_range() {
        assert_eq!(at(105).zoomed(ZoomStep::In).zoom_percent, 110);
        assert_eq!(at(105).zoomed(ZoomStep::Out).zoom_percent, 100);
        assert_eq!(at(9_000).zoomed(ZoomStep::In).zoom_percent, 400);
        assert_eq!(at(9_000).zoomed(ZoomStep::Out).zoom_percent, 400);
        assert_eq!(at(0).zoomed(ZoomStep::In).zoom_percent, 50);
        assert_eq!(at(9_000).zoom_factor(), 4.0);
        assert_eq!(at(1).zoom_factor(), 0.5);
    }

    #[test]
    fn the_page_starts_in_the_chosen_theme() {
        let script = |theme| {
            Appearance {
                theme,
                zoom_percent: 100,
            }
            .page_script()
        };
        assert!(script(Theme::Dark).contains("var t='dark'"));
        assert!(script(Theme::Light).contains("var t='light'"));
        assert!(script(Theme::System).contains("var t=''"));
    }

    #[test]
    fn settings_from_before_appearance_existed_read_as_the_default() {
        let old: Settings = serde_json::from_str(r#"{"backend":"embedded","help_contacts":[]}"#)
            .expect("an older settings file still reads");
        assert_eq!(old.appearance, Appearance::default());
        let dark: Settings =
            serde_json::from_str(r#"{"appearance":{"theme":"dark"}}"#).expect("reads");
        assert_eq!(dark.appearance.theme, Theme::Dark);
        assert_eq!(dark.appearance.zoom_percent, 100);
    }
}
