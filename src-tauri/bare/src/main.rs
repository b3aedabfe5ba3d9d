//! A truly bare Tauri 2 app, the floor of the start-up benchmark (`scripts/bench-app`): the
//! default builder, no plugins, its own configuration, one page that calls one command after two
//! animation frames. It understands the benchmark's two flags as Partner Desk does:
//! `--exit-after-ready` prints `startup_ms=N` (from the start of `main`) at that call and quits,
//! `--report-ready` prints it and keeps running. Other arguments (`--data-dir`) are ignored.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

static BEGAN: OnceLock<Instant> = OnceLock::new();
static REPORTED: AtomicBool = AtomicBool::new(false);

fn has(flag: &str) -> bool {
    std::env::args().skip(1).any(|a| a == flag)
}

/// `timeline`: the page's steps in milliseconds since the epoch, printed as Partner Desk prints its
/// own, so the benchmark sees when each page began and ran.
#[tauri::command]
fn ready(app: tauri::AppHandle, timeline: Option<BTreeMap<String, f64>>) {
    if REPORTED.swap(true, Ordering::SeqCst) {
        return;
    }
    let exit = has("--exit-after-ready");
    if exit || has("--report-ready") {
        let ms = BEGAN.get().map_or(0, |t| t.elapsed().as_millis());
        if let Some(timeline) = timeline {
            println!("page_epoch_ms={}", serde_json::json!(timeline));
        }
        println!("startup_ms={ms}");
        if exit {
            app.exit(0);
        }
    }
}

fn main() {
    BEGAN.get_or_init(Instant::now);
    tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![ready])
        .run(tauri::generate_context!())
        .expect("the bare app could not start");
}
