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

use membership::Secret;
use serde_json::{json, Value};
use tauri::plugin::{Builder, TauriPlugin};
use tauri::webview::PageLoadEvent;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_deep_link::DeepLinkExt;

use crate::error::UiError;

/// The app's URL scheme (also in `tauri.conf.json`, `plugins.deep-link.desktop.schemes`).
pub const SCHEME: &str = "partnerdesk";
/// No real link comes near this; longer input is refused before it is parsed.
pub const MAX_LINK_LEN: usize = 1024;
/// Verification tokens are 43 characters of base64url; this leaves room, no more.
const MAX_TOKEN_LEN: usize = 256;
/// The DOM event the window listens to, and the page's queue of links it takes them from
/// (ui/app.js). The queue holds a link that arrives before app.js has started listening.
const DOM_EVENT: &str = "partnerdesk-deep-link";
const PAGE_QUEUE: &str = "__partnerdeskLinks";
/// Links that arrive before the page has loaded wait here; more than a few is noise.
const MAX_PENDING: usize = 4;

/// A link the app understands.
#[derive(Debug)]
pub enum DeepLink {
    /// Verify an Organisation Email with the token from the mail.
    Verify { token: Secret },
}

impl DeepLink {
    /// Parses a link the OS handed over. Anything but a well-formed verification link is refused
    /// with a sentence for the window.
    pub fn parse(input: &str) -> Result<Self, UiError> {
        if input.len() > MAX_LINK_LEN {
            return Err(refused());
        }
        let url = url::Url::parse(input).map_err(|_| refused())?;
        if url.scheme() != SCHEME
            || !url.username().is_empty()
            || url.password().is_some()
            || url.port().is_some()
            || url.fragment().is_some()
        {
            return Err(refused());
        }
        let host = url.host_str().unwrap_or_default();
        if !host.eq_ignore_ascii_case("verify") || !matches!(url.path(), "" | "/") {
            return Err(refused());
        }
        // Exactly one parameter, `token`: a link with anything else was not written by us.
        let mut pairs = url.query_pairs();
        let token = match (pairs.next(), pairs.next()) {
            (Some((key, value)), None) if key == "token" => value.into_owned(),
            _ => return Err(bad_token()),
        };
        let plausible = !token.is_empty()
            && token.len() <= MAX_TOKEN_LEN
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'='));
        if !plausible {
            return Err(bad_token());
        }
        Ok(Self::Verify {
            token: Secret::new(token),
        })
    }

    /// The link in its one canonical form, for the verification screen (the `verify` command
    /// takes it as it takes a pasted link).
    fn to_link(&self) -> String {
        match self {
            Self::Verify { token } => format!("{SCHEME}://verify?token={}", token.expose()),
        }
    }
}

fn refused() -> UiError {
    UiError::new(
        "invalid_link",
        "Partner Desk does not know that link, so nothing was changed. Open the verification link from your email again, or paste the code from it on the Verify screen.",
    )
}

fn bad_token() -> UiError {
    UiError::new(
        "invalid_token",
        "That verification link is incomplete or damaged, so nothing was changed. Copy the whole link from the email, or the code in it, and paste it on the Verify screen.",
    )
}

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
        Err(refusal) => json!({ "refused": refusal }),
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

    const TOKEN: &str = "q3Jz0_Abc-DEF1234567890abcdefghijklmnopqrst";

    #[test]
    fn verification_links_give_the_token() {
        for (link, token) in [
            (format!("partnerdesk://verify?token={TOKEN}"), TOKEN),
            (format!("partnerdesk://verify/?token={TOKEN}"), TOKEN),
            (format!("PartnerDesk://VERIFY?token={TOKEN}"), TOKEN),
            ("partnerdesk://verify?token=abc%2D_%3D".to_owned(), "abc-_="),
            ("partnerdesk://verify?token=x".to_owned(), "x"),
        ] {
            match DeepLink::parse(&link) {
                Ok(DeepLink::Verify { token: got }) => {
                    assert_eq!(got.expose(), token, "link {link:?}")
                }
                Err(e) => panic!("{link:?} was refused: {e:?}"),
            }
        }
    }

    #[test]
    fn the_canonical_link_parses_back_to_the_same_token() {
        let link = DeepLink::parse(&format!("partnerdesk://verify/?token={TOKEN}")).unwrap();
        let again = DeepLink::parse(&link.to_link()).unwrap();
        let DeepLink::Verify { token } = again;
        assert_eq!(token.expose(), TOKEN);
        assert_eq!(
            link.to_link(),
            format!("partnerdesk://verify?token={TOKEN}")
        );
    }

    #[test]
    fn other_and_malformed_links_are_refused() {
        let long_token = "a".repeat(MAX_TOKEN_LEN + 1);
        let long_link = format!("partnerdesk://verify?token={TOKEN}&{}", "x".repeat(1100));
        for (link, code) in [
            ("", "invalid_link"),
            ("partnerdesk", "invalid_link"),
            ("not a link", "invalid_link"),
            ("https://members.example/verify?token=abc", "invalid_link"),
            ("http://verify?token=abc", "invalid_link"),
            ("file:///verify?token=abc", "invalid_link"),
            ("partnerdesk:verify?token=abc", "invalid_link"),
            ("partnerdesk://login?token=abc", "invalid_link"),
            ("partnerdesk://verify/extra?token=abc", "invalid_link"),
            ("partnerdesk://verify.evil.test?token=abc", "invalid_link"),
            ("partnerdesk://user@verify?token=abc", "invalid_link"),
            ("partnerdesk://verify:1234?token=abc", "invalid_link"),
            ("partnerdesk://verify?token=abc#frag", "invalid_link"),
            ("partnerdesk://verify", "invalid_token"),
            ("partnerdesk://verify?", "invalid_token"),
            ("partnerdesk://verify?token=", "invalid_token"),
            ("partnerdesk://verify?t=abc", "invalid_token"),
            ("partnerdesk://verify?token=abc&token=def", "invalid_token"),
            ("partnerdesk://verify?token=abc&next=home", "invalid_token"),
            ("partnerdesk://verify?token=ab%20c", "invalid_token"),
            ("partnerdesk://verify?token=ab+c", "invalid_token"),
            ("partnerdesk://verify?token=ab<script>", "invalid_token"),
            (
                "partnerdesk://verify?token=%22%29%3Balert(1)",
                "invalid_token",
            ),
            ("partnerdesk://verify?token=%C3%A9t%C3%A9", "invalid_token"),
            ("partnerdesk://verify?token=%00", "invalid_token"),
        ] {
            let e = DeepLink::parse(link).expect_err(link);
            assert_eq!(e.code, code, "link {link:?}");
            assert!(e.message.contains("nothing was changed"), "link {link:?}");
        }
        let e = DeepLink::parse(&format!("partnerdesk://verify?token={long_token}")).unwrap_err();
        assert_eq!(e.code, "invalid_token");
        let e = DeepLink::parse(&long_link).unwrap_err();
        assert_eq!(
            e.code, "invalid_link",
            "over-long links are refused unparsed"
        );
    }

    #[test]
    fn refusals_never_carry_the_token() {
        let e = DeepLink::parse("partnerdesk://verify?token=secret%20value").unwrap_err();
        assert!(!format!("{e:?}{}", e.message).contains("secret"));
        let link = DeepLink::parse("partnerdesk://verify?token=s3cret").unwrap();
        assert!(!format!("{link:?}").contains("s3cret"));
    }

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
