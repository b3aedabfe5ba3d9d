//! The individual profile (with the MCP ID) and Review privileges.
use membership::domain::Privilege;
use membership::{PrivilegeRequest, Profile, ProfilePatch};
use serde::Serialize;
use tauri::State;

use super::{given, parse_privilege, signed_in};
use crate::error::UiError;
use crate::state::Shell;

#[tauri::command(rename_all = "snake_case")]
pub async fn profile(shell: State<'_, Shell>, membership_id: String) -> Result<Profile, UiError> {
    signed_in(&shell, move |api, access| {
        api.profile(access, &membership_id)
    })
    .await
}

/// Saves the fields that changed since `revision`; a profile changed elsewhere meanwhile is refused
/// with `revision_mismatch` and the current profile, so the UI can show both side by side.
#[tauri::command(rename_all = "snake_case")]
pub async fn update_profile(
    shell: State<'_, Shell>,
    membership_id: String,
    revision: u64,
    patch: ProfilePatch,
) -> Result<Profile, UiError> {
    signed_in(&shell, move |api, access| {
        api.update_profile(access, &membership_id, revision, &patch)
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
