//! Signing in and out, creating an account, switching between accounts.
use membership::{Account, Me, Secret};
use tauri::State;

use super::{blocking, now, signed_in};
use crate::error::UiError;
use crate::state::Shell;

/// The signed-in account, if any: the window asks on start.
#[tauri::command(rename_all = "snake_case")]
pub async fn session(shell: State<'_, Shell>) -> Result<Option<Account>, UiError> {
    blocking(&shell, |core| {
        core.backend()?;
        Ok(core.account())
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn sign_in(
    shell: State<'_, Shell>,
    email: String,
    password: Secret,
) -> Result<Account, UiError> {
    blocking(&shell, move |core| {
        let tokens = core.programme()?.sign_in(&email, &password, now())?;
        // Signing in as someone else ends the previous session on the backend too.
        sign_out_quietly(core);
        Ok(core.start_session(tokens))
    })
    .await
}

/// Creates the account and signs in with it.
#[tauri::command(rename_all = "snake_case")]
pub async fn create_account(
    shell: State<'_, Shell>,
    email: String,
    display_name: String,
    password: Secret,
) -> Result<Account, UiError> {
    blocking(&shell, move |core| {
        let programme = core.programme()?;
        programme.create_account(&email, &display_name, &password, now())?;
        let tokens = programme.sign_in(&email, &password, now())?;
        sign_out_quietly(core);
        Ok(core.start_session(tokens))
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn sign_out(shell: State<'_, Shell>) -> Result<(), UiError> {
    blocking(&shell, |core| {
        sign_out_quietly(core);
        Ok(())
    })
    .await
}

/// Signs out and lists the accounts used recently (email addresses only) for the sign-in screen.
#[tauri::command(rename_all = "snake_case")]
pub async fn switch_account(shell: State<'_, Shell>) -> Result<Vec<String>, UiError> {
    blocking(&shell, |core| {
        sign_out_quietly(core);
        Ok(core.recent_accounts())
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn recent_accounts(shell: State<'_, Shell>) -> Result<Vec<String>, UiError> {
    blocking(&shell, |core| Ok(core.recent_accounts())).await
}

/// Ends the session on the backend when it can, and always forgets it here: signing out must
/// work even when the session had already expired.
fn sign_out_quietly(core: &crate::state::Core) {
    if let Ok(programme) = core.programme() {
        let now = now();
        if let Ok(caller) = core.caller(&programme, now) {
            let _ = programme.sign_out(&caller, now);
        }
    }
    core.end_session();
}

#[tauri::command(rename_all = "snake_case")]
pub async fn me(shell: State<'_, Shell>) -> Result<Me, UiError> {
    signed_in(&shell, |_, p, caller, _| Ok(p.me(caller)?)).await
}
