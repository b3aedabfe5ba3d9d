//! Signing in and out, creating an account, switching between accounts, and where sessions are
//! kept (the OS keychain, or memory only when there is none).
use membership::{Account, ErrorKind, Me, Secret, Timestamp};
use serde::Serialize;
use tauri::State;

use super::blocking;
use crate::error::UiError;
use crate::keychain::StoredTokens;
use crate::state::{Core, KeychainStatus, RememberedAccount, Shell};
use crate::sync::{self, OfflineSync};

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
        let backend = core.backend()?;
        let tokens = backend.api().sign_in(&email, &password)?;
        make_room_for(core, backend.api(), &tokens.account.email);
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
        let backend = core.backend()?;
        let api = backend.api();
        api.create_account(&email, &display_name, &password)?;
        let tokens = api.sign_in(&email, &password)?;
        make_room_for(core, api, &tokens.account.email);
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

/// Leaves the current session without ending it (it stays in the keychain, so choosing the
/// account again needs no password) and lists the remembered accounts (email addresses only).
#[tauri::command(rename_all = "snake_case")]
pub async fn switch_account(shell: State<'_, Shell>) -> Result<Vec<String>, UiError> {
    blocking(&shell, |core| {
        core.park_session();
        Ok(core.recent_accounts())
    })
    .await
}

/// The remembered accounts for "Switch account", and which have a session kept.
#[tauri::command(rename_all = "snake_case")]
pub async fn remembered_accounts(
    shell: State<'_, Shell>,
) -> Result<Vec<RememberedAccount>, UiError> {
    blocking(&shell, |core| Ok(core.remembered_accounts())).await
}

/// Switches to a remembered account with its kept session, without a password. Refused with
/// `session_ended` (its entry is then deleted) or `no_saved_session`: sign in with the password.
#[tauri::command(rename_all = "snake_case")]
pub async fn use_account(shell: State<'_, Shell>, email: String) -> Result<Account, UiError> {
    blocking(&shell, move |core| {
        core.backend()?;
        if let Some(current) = core.account() {
            if current.email.eq_ignore_ascii_case(email.trim()) {
                return Ok(current);
            }
        }
        core.park_session();
        core.restore(email.trim())
    })
    .await
}

/// "Remove account from this app": ends its session at the backend, deletes its keychain entry
/// and forgets its address. Answers the accounts still remembered.
#[tauri::command(rename_all = "snake_case")]
pub async fn remove_account(
    shell: State<'_, Shell>,
    email: String,
) -> Result<Vec<RememberedAccount>, UiError> {
    blocking(&shell, move |core| {
        let email = email.trim();
        let current = core
            .account()
            .is_some_and(|a| a.email.eq_ignore_ascii_case(email));
        if current {
            sign_out_quietly(core);
        } else if let (Ok(backend), Some(tokens)) = (core.backend(), core.stored_tokens(email)) {
            revoke(backend.api(), &tokens);
        }
        core.forget_account(email);
        Ok(core.remembered_accounts())
    })
    .await
}

/// Whether sessions survive a restart (the system keychain) or last for this session only, in
/// words for the sign-in screen, and once, why a saved session was not restored.
#[tauri::command(rename_all = "snake_case")]
pub async fn keychain_status(shell: State<'_, Shell>) -> Result<KeychainStatus, UiError> {
    blocking(&shell, |core| Ok(core.keychain_status())).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn recent_accounts(shell: State<'_, Shell>) -> Result<Vec<String>, UiError> {
    blocking(&shell, |core| Ok(core.recent_accounts())).await
}

/// Before `email` signs in: an older kept session of the same account is ended at the backend
/// (the new one replaces it); another account's current session is left kept for switching back.
fn make_room_for(core: &Core, api: &dyn client::Backend, email: &str) {
    if let Some(old) = core.stored_tokens(email) {
        revoke(api, &old);
    }
    match core.account() {
        Some(a) if a.email.eq_ignore_ascii_case(email) => sign_out_quietly(core),
        Some(_) => core.park_session(),
        None => {}
    }
}

/// Ends a kept session that is not the current one at the backend, renewing it first if its
/// access token has expired. Best effort: a session that has already ended needs nothing.
fn revoke(api: &dyn client::Backend, tokens: &StoredTokens) {
    match api.sign_out(&tokens.access_token) {
        Err(e) if e.kind() == ErrorKind::Unauthenticated => {
            if let Ok(new) = api.refresh(&tokens.refresh_token) {
                let _ = api.sign_out(&new.access_token);
            }
        }
        _ => {}
    }
}

/// Ends the session on the backend when it can, and always forgets it here (its keychain entry
/// included): signing out must work even when the session had already expired.
fn sign_out_quietly(core: &Core) {
    let _ = core.with_access(|api, access| api.sign_out(access));
    core.end_session();
    core.clear_notice();
}

/// The signed-in account with its memberships and requests ([`Me`]), and whether it is the copy
/// kept on this computer because the backend cannot be reached.
#[derive(Debug, Clone, Serialize)]
pub struct MeView {
    #[serde(flatten)]
    pub me: Me,
    /// True when the backend did not answer: the memberships are the ones kept here (from the
    /// last time it answered) and the requests are not known.
    pub offline: bool,
}

/// Who is signed in, their memberships and requests. Each answer is kept on this computer; when
/// the backend cannot be reached, the kept memberships are shown instead (so the profile can
/// still be opened and edited offline).
#[tauri::command(rename_all = "snake_case")]
pub async fn me(shell: State<'_, Shell>, sync: State<'_, OfflineSync>) -> Result<MeView, UiError> {
    // No local store (nobody signed in, or it could not be opened): the backend's answer only.
    let current = sync.current(shell.ready().await?.as_ref()).ok();
    blocking(&shell, move |core| {
        match core.with_access(|api, access| api.me(access)) {
            Ok(me) => {
                if let Some(current) = &current {
                    current.seen(true);
                    // Best effort: a copy not kept only means an older one is shown offline.
                    let _ = current.store().cache_memberships(
                        current.scope(),
                        &me.memberships,
                        Timestamp::now_utc(),
                    );
                }
                Ok(MeView { me, offline: false })
            }
            Err(e) if sync::unreachable(&e) => {
                let (Some(current), Some(account)) = (current, core.account()) else {
                    return Err(e);
                };
                let memberships = current
                    .store()
                    .memberships(current.scope())
                    .map_err(|_| e.clone())?;
                current.seen(false);
                Ok(MeView {
                    me: Me {
                        account,
                        memberships,
                        requests: Vec::new(),
                        handovers: Vec::new(),
                        delegations: Vec::new(),
                    },
                    offline: true,
                })
            }
            Err(e) => Err(e),
        }
    })
    .await
}
