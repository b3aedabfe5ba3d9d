//! The individual profile (with the MCP ID), Review privileges, and offline editing: the profile
//! is read from and saved to the local store (`crate::sync`), and sent to the backend by sync.
use membership::domain::Privilege;
use membership::{ErrorKind, PrivilegeRequest, Profile, ProfilePatch, Timestamp};
use offline::{Choice, Conflict, EditId, Field, LocalProfile, ProfileEdit, QueuedEdit, Report};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tauri::State;

use super::{blocking, given, parse_privilege, signed_in};
use crate::error::UiError;
use crate::state::{Core, Shell};
use crate::sync::{self, Current, OfflineSync, Stamped};

/// A profile as this computer shows it: the server's last confirmed profile with the unsynced
/// edits applied (`revision` is the confirmed one).
#[derive(Debug, Clone, Serialize)]
pub struct ProfileView {
    #[serde(flatten)]
    pub profile: Profile,
    /// Edits of this profile not on the server yet.
    pub unsynced: usize,
    /// Whether this save is kept on this computer only for now.
    pub saved_offline: bool,
}

impl From<LocalProfile> for ProfileView {
    fn from(p: LocalProfile) -> Self {
        Self {
            profile: p.profile,
            unsynced: p.unsynced,
            saved_offline: p.unsynced > 0,
        }
    }
}

fn local(e: offline::Error) -> UiError {
    membership::Error::from(e).into()
}

/// Runs `f` on the blocking pool with the shell and the signed-in account's sync engine.
async fn with_engine<T, F>(
    shell: &State<'_, Shell>,
    sync: &State<'_, OfflineSync>,
    f: F,
) -> Result<T, UiError>
where
    T: Send + 'static,
    F: FnOnce(&Arc<Core>, &Current) -> Result<T, UiError> + Send + 'static,
{
    let current = sync.current(shell.ready().await?.as_ref())?;
    blocking(shell, move |core| f(core, &current)).await
}

/// Fetches the profile into the local store when the backend answers. Unreachable is not an
/// error here: the cached copy is served.
fn fetch(core: &Core, current: &Current, membership_id: &str) -> Result<(), UiError> {
    let scope = current.scope().clone();
    if current.store().work_offline(&scope).map_err(local)? {
        return Ok(());
    }
    match core.with_access(|api, access| api.profile(access, membership_id)) {
        Ok(p) => {
            current.seen(true);
            current
                .store()
                .cache_profile(&scope, membership_id, &p, Timestamp::now_utc())
                .map_err(local)?;
            if current.engine.status().is_ok_and(|s| s.counts.pending > 0) {
                current.kick();
            }
            Ok(())
        }
        Err(e) if sync::unreachable(&e) => {
            current.seen(false);
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// The profile as this computer shows it: fresh from the backend when it answers, else the copy
/// kept here (so it opens offline), with unsynced edits applied either way.
#[tauri::command(rename_all = "snake_case")]
pub async fn profile(
    shell: State<'_, Shell>,
    sync: State<'_, OfflineSync>,
    membership_id: String,
) -> Result<ProfileView, UiError> {
    with_engine(&shell, &sync, move |core, current| {
        fetch(core, current, &membership_id)?;
        let p = current
            .store()
            .profile(current.scope(), &membership_id)
            .map_err(local)?
            .ok_or_else(|| local(offline::Error::NotCached))?;
        Ok(ProfileView {
            saved_offline: false,
            ..ProfileView::from(p)
        })
    })
    .await
}

/// Saves the fields that changed on this computer at once (the edit and its outbox row in one
/// transaction), then syncs: right away when the backend answers, later by itself when not.
/// Values the server would refuse are refused here with its codes. A screen showing an older
/// revision than the one confirmed since is refused with `revision_mismatch` and the current
/// profile, so the UI can show both side by side.
#[tauri::command(rename_all = "snake_case")]
pub async fn update_profile(
    shell: State<'_, Shell>,
    sync: State<'_, OfflineSync>,
    membership_id: String,
    revision: u64,
    patch: ProfilePatch,
) -> Result<ProfileView, UiError> {
    let edit = ProfileEdit::try_from(&patch).map_err(local)?;
    with_engine(&shell, &sync, move |core, current| {
        let scope = current.scope().clone();
        let store = current.store();
        if store.profile(&scope, &membership_id).map_err(local)?.is_none() {
            fetch(core, current, &membership_id)?;
        }
        let shown = store
            .profile(&scope, &membership_id)
            .map_err(local)?
            .ok_or_else(|| local(offline::Error::NotCached))?;
        if revision < shown.confirmed_revision {
            return Err(membership::Error::new(
                ErrorKind::PreconditionFailed,
                "revision_mismatch",
                "This profile was changed elsewhere since you opened it. Review the current values and save again.",
            )
            .with_current(shown.profile)
            .into());
        }
        store
            .save_edit(&scope, &membership_id, &edit, Timestamp::now_utc())
            .map_err(local)?;
        let status = current.engine.status().map_err(local)?;
        if sync::reachable_now(&status) {
            // Saved whatever happens next: a failed run only means it goes later.
            let ran = current.run(core);
            if !ran.as_ref().is_ok_and(sync::settled) {
                current.kick();
            }
        } else {
            current.kick();
        }
        current.announce();
        let p = store
            .profile(&scope, &membership_id)
            .map_err(local)?
            .ok_or_else(|| local(offline::Error::NotCached))?;
        Ok(p.into())
    })
    .await
}

/// Online, offline or working offline, and how many edits are not on the server yet.
#[tauri::command(rename_all = "snake_case")]
pub async fn sync_status(
    shell: State<'_, Shell>,
    sync: State<'_, OfflineSync>,
) -> Result<Stamped, UiError> {
    with_engine(&shell, &sync, |_, current| current.status().map_err(local)).await
}

/// Sends every edit that may go now; progress goes to the window as `partnerdesk-sync` events.
#[tauri::command(rename_all = "snake_case")]
pub async fn sync_now(
    shell: State<'_, Shell>,
    sync: State<'_, OfflineSync>,
) -> Result<Report, UiError> {
    with_engine(&shell, &sync, |core, current| current.run(core)).await
}

/// *Work offline*: while on, edits stay on this computer; turning it off sends them.
#[tauri::command(rename_all = "snake_case")]
pub async fn set_work_offline(
    shell: State<'_, Shell>,
    sync: State<'_, OfflineSync>,
    offline: bool,
) -> Result<Stamped, UiError> {
    with_engine(&shell, &sync, move |_, current| {
        current
            .store()
            .set_work_offline(current.scope(), offline)
            .map_err(local)?;
        if !offline {
            current.kick();
        }
        current.announce();
        current.status().map_err(local)
    })
    .await
}

/// Every edit not on the server yet, oldest first, each with its text to copy and, when kept
/// because the membership ended or the server refused it, why.
#[tauri::command(rename_all = "snake_case")]
pub async fn unsynced_edits(
    shell: State<'_, Shell>,
    sync: State<'_, OfflineSync>,
) -> Result<Vec<QueuedEdit>, UiError> {
    with_engine(&shell, &sync, |_, current| {
        current.store().edits(current.scope()).map_err(local)
    })
    .await
}

/// The edits whose fields were changed on the server too, for the side-by-side resolver.
#[tauri::command(rename_all = "snake_case")]
pub async fn conflicts(
    shell: State<'_, Shell>,
    sync: State<'_, OfflineSync>,
) -> Result<Vec<Conflict>, UiError> {
    with_engine(&shell, &sync, |_, current| {
        current.store().conflicts(current.scope()).map_err(local)
    })
    .await
}

/// The person's choice for one conflicting field: `keep` is `local` (this computer's value),
/// `remote` (the server's) or `value` (what they typed, in `value`).
#[derive(Debug, Clone, Deserialize)]
pub struct FieldChoice {
    pub field: Field,
    pub keep: String,
    pub value: Option<String>,
}

/// Settles a conflict with one choice per conflicting field, then syncs the result.
#[tauri::command(rename_all = "snake_case")]
pub async fn resolve_conflict(
    shell: State<'_, Shell>,
    sync: State<'_, OfflineSync>,
    edit_id: i64,
    choices: Vec<FieldChoice>,
) -> Result<Option<ProfileView>, UiError> {
    let choices = choices
        .into_iter()
        .map(|c| {
            let choice = match (c.keep.as_str(), c.value) {
                ("local", _) => Choice::Local,
                ("remote", _) => Choice::Remote,
                ("value", Some(v)) => Choice::Value(v),
                _ => {
                    return Err(UiError::new(
                        "bad_request",
                        "Choose this computer's value, the server's value, or type another for each field, then save again.",
                    ))
                }
            };
            Ok((c.field, choice))
        })
        .collect::<Result<Vec<_>, _>>()?;
    with_engine(&shell, &sync, move |core, current| {
        let resolved = current
            .store()
            .resolve(
                current.scope(),
                EditId(edit_id),
                &choices,
                Timestamp::now_utc(),
            )
            .map_err(local)?;
        let status = current.engine.status().map_err(local)?;
        if sync::reachable_now(&status) {
            let _ = current.run(core);
        } else {
            current.kick();
        }
        current.announce();
        let Some(resolved) = resolved else {
            return Ok(None);
        };
        let fresh = current
            .store()
            .profile(current.scope(), &resolved.membership_id)
            .map_err(local)?;
        Ok(fresh.map(ProfileView::from))
    })
    .await
}

/// Removes a kept (orphaned, rejected or conflicting) edit once the person has copied its text.
#[tauri::command(rename_all = "snake_case")]
pub async fn discard_edit(
    shell: State<'_, Shell>,
    sync: State<'_, OfflineSync>,
    edit_id: i64,
) -> Result<Stamped, UiError> {
    with_engine(&shell, &sync, move |_, current| {
        current
            .store()
            .discard(current.scope(), EditId(edit_id), Timestamp::now_utc())
            .map_err(local)?;
        current.announce();
        current.status().map_err(local)
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn link_mcp_id(
    shell: State<'_, Shell>,
    membership_id: String,
    mcp_id: String,
) -> Result<Profile, UiError> {
    signed_in(&shell, move |api, access| {
        api.link_mcp_id(access, &membership_id, &mcp_id)
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn unlink_mcp_id(shell: State<'_, Shell>, membership_id: String) -> Result<(), UiError> {
    signed_in(&shell, move |api, access| {
        api.unlink_mcp_id(access, &membership_id)
    })
    .await
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PrivilegeInfo {
    pub privilege: Privilege,
    pub title: &'static str,
    pub benefits: &'static str,
}

/// Every privilege, its name and what it unlocks. Needs no sign-in.
#[tauri::command(rename_all = "snake_case")]
pub fn privilege_catalogue() -> Vec<PrivilegeInfo> {
    Privilege::ALL
        .iter()
        .map(|&privilege| PrivilegeInfo {
            privilege,
            title: privilege.title(),
            benefits: privilege.benefits(),
        })
        .collect()
}

#[tauri::command(rename_all = "snake_case")]
pub async fn request_privilege(
    shell: State<'_, Shell>,
    membership_id: String,
    privilege: String,
    note: Option<String>,
) -> Result<PrivilegeRequest, UiError> {
    let note = given(note);
    signed_in(&shell, move |api, access| {
        api.request_privilege(
            access,
            &membership_id,
            parse_privilege(&privilege)?,
            note.as_deref(),
        )
    })
    .await
}
