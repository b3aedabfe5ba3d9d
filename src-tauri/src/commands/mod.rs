//! The commands the window calls. Each is thin: it maps to one membership call, runs the blocking
//! work (SQLite, password hashing) on the blocking pool so the window never freezes, and hands
//! refusals back as [`UiError`]s.
pub mod account;
pub mod admin;
pub mod app;
pub mod inbox;
pub mod join;
pub mod profile;

use std::sync::Arc;

use membership::Secret;
use tauri::State;

use crate::error::UiError;
use crate::state::{Core, Shell};

/// Every command name, as the build script's app manifest lists them.
pub const NAMES: &[&str] = include!("names.in");

/// Runs `f` on the blocking pool with the shell's state.
async fn blocking<T, F>(shell: &State<'_, Shell>, f: F) -> Result<T, UiError>
where
    T: Send + 'static,
    F: FnOnce(&Arc<Core>) -> Result<T, UiError> + Send + 'static,
{
    let shell = Shell::clone(shell);
    tauri::async_runtime::spawn_blocking(move || f(&shell.core()))
        .await
        .map_err(|_| UiError::internal())?
}

/// Runs `call` on the blocking pool against the backend in use, with the signed-in person's
/// access token (renewed once when it has expired, see [`Core::with_access`]).
async fn signed_in<T, F>(shell: &State<'_, Shell>, call: F) -> Result<T, UiError>
where
    T: Send + 'static,
    F: Fn(&dyn client::Backend, &Secret) -> Result<T, membership::Error> + Send + 'static,
{
    blocking(shell, move |core| core.with_access(call)).await
}

/// A privilege as the window names it (`action_pack`, …).
fn parse_privilege(name: &str) -> Result<client::Privilege, membership::Error> {
    Ok(client::Privilege::parse(name)?)
}

/// Text fields the UI leaves empty mean "not given".
fn given(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}
