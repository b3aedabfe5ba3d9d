//! Deep links: `partnerdesk://verify?token=…`, the link in a verification mail.
//!
//! The OS hands a link to the app in one of three ways: as the only command-line argument at
//! first start (the `.desktop` file's `Exec=partner-desk %u`), forwarded by
//! tauri-plugin-single-instance from a second start to the running app, or as an "opened URL"
//! event (macOS). tauri-plugin-deep-link turns all of them into `on_open_url`; this module parses
//! each link into a typed [`DeepLink`] or a refusal, and hands the outcome to the page: onto a
//! queue in the page (`window.__partnerdeskLinks`), with a DOM event (`partnerdesk-deep-link`)
//! that tells app.js to take it; held back until the page has loaded. No permission or command is
//! needed for that, and a refused link changes nothing: the window only shows why.
use std::sync::{Mutex, MutexGuard};

use serde_json::{json, Value};
use tauri::plugin::{Builder, TauriPlugin};
use tauri::webview::PageLoadEvent;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_deep_link::DeepLinkExt;

use crate::error::UiError;

/// The parsing lives in the client crate, free of Tauri, where the fuzz target reaches it.
pub use client::deeplink::{DeepLink, LinkRefusal, MAX_LINK_LEN, SCHEME};
/// The DOM event the window listens to, and the page's queue of links it takes them from
/// (ui/app.js). The queue holds a link that arrives before app.js has started listening.
const DOM_EVENT: &str = "partnerdesk-deep-link";
const PAGE_QUEUE: &str = "__partnerdeskLinks";
/// Links that arrive before the page has loaded wait here; more than a few is noise.
const MAX_PENDING: usize = 4;

/// Command-line arguments that look like one of our links but that tauri-plugin-deep-link leaves
/// alone: it takes a link only as the one argument and only if it parses as a URL. These are
/// refused with a message rather than ignored (or, with other arguments such as `--data-dir`,
/// handled like any other link). `args` starts with the program's name.
pub fn links_in_args<I: IntoIterator<Item = String>>(args: I) -> Vec<String> {
    let rest: Vec<String> = args.into_iter().skip(1).collect();
    let taken_by_plugin = rest.len() == 1 && url::Url::parse(&rest[0]).is_ok();
    if taken_by_plugin {
        return Vec::new();
    }
    rest.into_iter()
        .filter(|arg| {
            arg.get(..SCHEME.len() + 1)
                .is_some_and(|p| p.eq_ignore_ascii_case(&format!("{SCHEME}:")))
        })
        .collect()
}

#[derive(Default)]
struct Inbox {
    /// Whether the page has loaded, so its listener exists.
    loaded: bool,
    pending: Vec<Value>,
}

struct Links(Mutex<Inbox>);

impl Links {
    fn lock(&self) -> MutexGuard<'_, Inbox> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn dispatch<R: Runtime>(app: &AppHandle<R>, payload: &Value) {
    if let Some(window) = app.get_webview_window("main") {
        // The payload is JSON, so it is a JavaScript literal that cannot break out of its place.
        let script = format!(
            "(window.{PAGE_QUEUE} = window.{PAGE_QUEUE} || []).push({payload}); window.dispatchEvent(new Event({}));",
            Value::from(DOM_EVENT)
        );
        let _ = window.eval(script);
    }
}

/// Parses `link` and hands the outcome to the window, now or once the page has loaded.
pub fn receive<R: Runtime>(app: &AppHandle<R>, link: &str) {
    let payload = match DeepLink::parse(link) {
        Ok(link) => json!({ "link": link.to_link() }),
        Err(refusal) => json!({ "refused": UiError::new(refusal.code, refusal.message) }),
    };
    let Some(links) = app.try_state::<Links>() else {
        return;
    };
    let mut inbox = links.lock();
    if inbox.loaded {
        dispatch(app, &payload);
    } else if inbox.pending.len() < MAX_PENDING {
        inbox.pending.push(payload);
    }
}

/// Brings the running window to the front (a second start of the app lands here).
pub fn focus<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// The callback for tauri-plugin-single-instance: a second start of the app hands over its
/// arguments (the deep-link plugin has already taken a lone link among them).
pub fn on_second_instance<R: Runtime>(app: &AppHandle<R>, argv: Vec<String>, _cwd: String) {
    for link in links_in_args(argv) {
        receive(app, &link);
    }
    focus(app);
}

/// Wires tauri-plugin-deep-link (registered before this) to the window.
pub fn init<R: Runtime>() -> TauriPlugin<R> {
    Builder::new("partnerdesk-links")
        .setup(|app, _api| {
            app.manage(Links(Mutex::new(Inbox::default())));
            let handle = app.clone();
            app.deep_link().on_open_url(move |event| {
                for url in event.urls() {
                    receive(&handle, url.as_str());
                }
            });
            // A link on the command line at first start: the deep-link plugin read it before this
            // listener existed.
            if let Ok(Some(urls)) = app.deep_link().get_current() {
                for url in urls {
                    receive(app, url.as_str());
                }
            }
            for link in links_in_args(std::env::args()) {
                receive(app, &link);
            }
            Ok(())
        })
        .on_page_load(|webview, payload| {
            let app = webview.app_handle();
            let Some(links) = app.try_state::<Links>() else {
                return;
            };
            let mut inbox = links.lock();
            match payload.event() {
                PageLoadEvent::Started => inbox.loaded = false,
                PageLoadEvent::Finished => {
                    inbox.loaded = true;
                    for payload in std::mem::take(&mut inbox.pending) {
                        dispatch(app, &payload);
                    }
                }
            }
        })
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_the_deep_link_plugin_leaves_are_found() {
        let args = |a: &[&str]| {
            links_in_args(
                std::iter::once("partner-desk")
                    .chain(a.iter().copied())
                    .map(String::from),
            )
        };
        // A lone link that parses as a URL: the deep-link plugin takes it.
        assert!(args(&["partnerdesk://verify?token=abc"]).is_empty());
        assert!(args(&[]).is_empty());
        assert!(args(&["--data-dir=/tmp/x"]).is_empty());
        // A lone argument that is not a URL, or a link among other arguments: ours.
        assert_eq!(args(&["partnerdesk://a b"]), ["partnerdesk://a b"]);
        assert_eq!(
            args(&["--data-dir", "/tmp/x", "PARTNERDESK://verify?token=abc"]),
            ["PARTNERDESK://verify?token=abc"]
        );
        assert!(args(&["--data-dir", "/tmp/x", "https://example.test"]).is_empty());
    }
}
