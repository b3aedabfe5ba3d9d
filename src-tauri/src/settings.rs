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
