//! The commands the window calls. Each is thin: it maps to one membership call, runs the blocking
//! work (SQLite, password hashing) on the blocking pool so the window never freezes, and hands
//! refusals back as [`UiError`]s.
pub mod account;
pub mod admin;
pub mod app;
pub mod join;
pub mod profile;

use membership::{Caller, Programme, Timestamp};
use tauri::State;

use crate::error::UiError;
use crate::state::{Core, Shell};

/// Every command name, as the build script's app manifest lists them.
pub const NAMES: &[&str] = include!("names.in");

fn now() -> Timestamp {
    time::OffsetDateTime::now_utc()
}

/// Runs `f` on the blocking pool with the shell's state.
async fn blocking<T, F>(shell: &State<'_, Shell>, f: F) -> Result<T, UiError>
where
    T: Send + 'static,
    F: FnOnce(&Core) -> Result<T, UiError> + Send + 'static,
{
    let core = shell.0.clone();
    tauri::async_runtime::spawn_blocking(move || f(&core))
        .await
        .map_err(|_| UiError::internal())?
}

/// Runs `f` on the blocking pool for the signed-in caller.
async fn signed_in<T, F>(shell: &State<'_, Shell>, f: F) -> Result<T, UiError>
where
    T: Send + 'static,
    F: FnOnce(&Core, &Programme, &Caller, Timestamp) -> Result<T, UiError> + Send + 'static,
{
    blocking(shell, move |core| {
        let programme = core.programme()?;
        let now = now();
        let caller = core.caller(&programme, now)?;
        f(core, &programme, &caller, now)
    })
    .await
}

/// Text fields the UI leaves empty mean "not given".
fn given(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}
