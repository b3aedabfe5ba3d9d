//! How long the window takes to be useful, for the start-up benchmark (`scripts/bench-app`):
//! from the start of [`crate::run`] to the first screen painted and its first IPC call answered.
//!
//! `--exit-after-ready` prints `startup_ms=N` and quits at that moment; `--report-ready` prints
//! the same line and keeps running (the benchmark then measures memory at rest). Either flag also
//! prints the page's own timeline of its first screen (`page_epoch_ms={…}`: each step's time in
//! milliseconds since the epoch), which the benchmark lays beside the moment it launched the app.
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Managed state: when the process began, and what to do when the window is ready.
pub struct Startup {
    began: Instant,
    exit_after_ready: bool,
    report_ready: bool,
    reported: AtomicBool,
}

impl Startup {
    /// Reads `--exit-after-ready` / `--report-ready` from the command line.
    pub fn from_args(began: Instant) -> Self {
        let has = |flag: &str| std::env::args().skip(1).any(|a| a == flag);
        Self {
            began,
            exit_after_ready: has("--exit-after-ready"),
            report_ready: has("--report-ready"),
            reported: AtomicBool::new(false),
        }
    }

    /// The first call: the milliseconds since start, and whether to quit now. Later calls (a
    /// reload) answer `None`.
    pub fn ready(&self) -> Option<(u128, bool)> {
        if self.reported.swap(true, Ordering::SeqCst) {
            return None;
        }
        if !(self.exit_after_ready || self.report_ready) {
            return None;
        }
        Some((self.began.elapsed().as_millis(), self.exit_after_ready))
    }
}

/// The window calls this once its first screen has painted. Needs no sign-in and does nothing
/// unless the app was started with one of the benchmark flags.
#[tauri::command(rename_all = "snake_case")]
pub fn app_ready<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    startup: tauri::State<'_, Startup>,
    timeline: Option<BTreeMap<String, f64>>,
) {
    // What waited for the first screen follows it.
    crate::tray::after_first_screen(&app);
    if let Some((ms, exit)) = startup.ready() {
        if let Some(timeline) = timeline {
            println!("page_epoch_ms={}", serde_json::json!(timeline));
        }
        println!("startup_ms={ms}");
        if exit {
            app.exit(0);
        }
    }
}
