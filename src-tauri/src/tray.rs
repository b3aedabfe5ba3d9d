//! The tray icon: it shows how many requests wait for a decision, brings the window back, and
//! lets the app keep following new requests with its window closed. `run()` registers it; the IPC
//! tests on the mock runtime never make one.
//!
//! Closing the window while signed in hides it to the tray instead of quitting — but only when a
//! tray icon could be made, so that closing never leaves an app running with nothing to reach it
//! by. Signed out, closing quits as before.
//!
//! The icon is made once the first screen has painted ([`after_first_screen`]): loading the
//! AppIndicator library and registering the icon on the session bus would otherwise run on the
//! main thread before the window is made.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use alerts::Badge;
use tauri::menu::{Menu, MenuEvent, MenuItem};
use tauri::plugin::{Builder, TauriPlugin};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Manager, Runtime, WindowEvent};

use crate::state::{lock, Shell};

const SHOW: &str = "show";
const QUIT: &str = "quit";
const NAME: &str = "Partner Desk";

/// The tray icon, when one could be made (managed state).
struct Tray<R: Runtime>(TrayIcon<R>);

/// Whether the icon was asked for yet, and the badge to show (managed from the start, so a badge
/// that comes before the icon is shown on it when it comes).
#[derive(Default)]
struct Later {
    asked: AtomicBool,
    badge: Mutex<Badge>,
}

/// If the page never says its first screen painted (a page that failed to load), the icon comes
/// this long after start anyway.
const AT_THE_LATEST: Duration = Duration::from_secs(3);

/// The tooltip and title for `badge`: the title (beside the icon where the desktop shows one) is
/// the bare count, the tooltip says what it counts.
pub fn words(badge: &Badge) -> (String, Option<String>) {
    match badge.pending {
        0 => (format!("{NAME}: no requests waiting for you"), None),
        1 => (
            format!("{NAME}: 1 request waiting for your decision"),
            Some("1".into()),
        ),
        n => (
            format!("{NAME}: {n} requests waiting for your decision"),
            Some(n.to_string()),
        ),
    }
}

/// Shows `badge` on the tray icon, now or when it is made.
pub fn show_badge<R: Runtime>(app: &AppHandle<R>, badge: &Badge) {
    let Some(later) = app.try_state::<Later>() else {
        return;
    };
    // Held while the icon changes, so the icon ends on the newest badge.
    let mut kept = lock(&later.badge);
    *kept = *badge;
    if let Some(tray) = app.try_state::<Tray<R>>() {
        put(&tray.0, badge);
    }
}

fn put<R: Runtime>(tray: &TrayIcon<R>, badge: &Badge) {
    let (tooltip, title) = words(badge);
    let _ = tray.set_tooltip(Some(tooltip));
    let _ = tray.set_title(title);
}

/// Makes the tray icon, once: the page calls `app_ready` when its first screen has painted, and
/// the icon follows on the main thread.
pub fn after_first_screen<R: Runtime>(app: &AppHandle<R>) {
    let Some(later) = app.try_state::<Later>() else {
        return;
    };
    if later.asked.swap(true, Ordering::SeqCst) {
        return;
    }
    let handle = app.clone();
    let _ = app.run_on_main_thread(move || {
        // No tray (no StatusNotifier host, a refusing desktop) only means closing quits.
        if !tray_possible() {
            return;
        }
        let Ok(tray) = make(&handle) else {
            return;
        };
        if let Some(later) = handle.try_state::<Later>() {
            let badge = lock(&later.badge);
            put(&tray, &badge);
            handle.manage(Tray(tray));
        }
    });
}

/// Whether a tray icon can be made at all. On Linux it goes through the AppIndicator library
/// (Debian's libayatana-appindicator3-1), loaded when the first icon is made; a desktop without
/// it would abort the app there, so look for the library first.
fn tray_possible() -> bool {
    #[cfg(target_os = "linux")]
    {
        let names = ["libayatana-appindicator3.so.1", "libappindicator3.so.1"];
        let mut dirs: Vec<std::path::PathBuf> = std::env::var_os("LD_LIBRARY_PATH")
            .map(|p| std::env::split_paths(&p).collect())
            .unwrap_or_default();
        let arch = format!("{}-linux-gnu", std::env::consts::ARCH);
        for base in ["/usr/lib", "/lib", "/usr/local/lib"] {
            dirs.push(std::path::Path::new(base).join(&arch));
            dirs.push(base.into());
        }
        dirs.extend(["/usr/lib64".into(), "/lib64".into()]);
        dirs.iter()
            .any(|dir| names.iter().any(|name| dir.join(name).exists()))
    }
    #[cfg(not(target_os = "linux"))]
    {
        true
    }
}

fn make<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<TrayIcon<R>> {
    let show = MenuItem::with_id(app, SHOW, "Show Partner Desk", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, QUIT, "Quit Partner Desk", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&show, &quit])?;
    let (tooltip, title) = words(&Badge::default());
    let mut builder = TrayIconBuilder::with_id("partner-desk")
        .menu(&menu)
        .tooltip(tooltip)
        .on_menu_event(on_menu);
    if let Some(title) = title {
        builder = builder.title(title);
    }
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    builder.build(app)
}

fn on_menu<R: Runtime>(app: &AppHandle<R>, event: MenuEvent) {
    match event.id().as_ref() {
        SHOW => crate::deeplink::focus(app),
        QUIT => app.exit(0),
        _ => {}
    }
}

/// Closing the main window while signed in hides it, so following goes on; the tray brings it
/// back. Signed out (or with no tray), the window closes and the app quits.
fn on_close<R: Runtime>(window: &tauri::Window<R>, event: &WindowEvent) {
    let WindowEvent::CloseRequested { api, .. } = event else {
        return;
    };
    let app = window.app_handle();
    let signed_in = app
        .try_state::<Shell>()
        .and_then(|shell| shell.try_core())
        .is_some_and(|core| core.account().is_some());
    if signed_in && app.try_state::<Tray<R>>().is_some() {
        api.prevent_close();
        let _ = window.hide();
    }
}

/// Makes the tray icon after the first screen, when the desktop can show one, and hides the window
/// to it on close.
pub fn init<R: Runtime>() -> TauriPlugin<R> {
    Builder::new("partnerdesk-tray")
        .setup(|app, _api| {
            app.manage(Later::default());
            let handle = app.clone();
            let started = std::thread::Builder::new()
                .name("tray-later".into())
                .spawn(move || {
                    std::thread::sleep(AT_THE_LATEST);
                    after_first_screen(&handle);
                });
            if started.is_err() {
                after_first_screen(app);
            }
            Ok(())
        })
        .on_window_ready(|window| {
            if window.label() == "main" {
                let handle = window.clone();
                window.on_window_event(move |event| on_close(&handle, event));
            }
        })
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tray_counts_the_requests_waiting_for_a_decision() {
        let badge = |pending, unread| Badge { unread, pending };
        assert_eq!(
            words(&badge(0, 3)),
            ("Partner Desk: no requests waiting for you".into(), None)
        );
        assert_eq!(
            words(&badge(1, 1)),
            (
                "Partner Desk: 1 request waiting for your decision".into(),
                Some("1".into())
            )
        );
        assert_eq!(words(&badge(12, 0)).1.as_deref(), Some("12"));
        assert!(words(&badge(12, 0)).0.contains("12 requests"));
    }
}
