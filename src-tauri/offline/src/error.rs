//! Every refusal of the offline crate: a stable code for the UI and a sentence that says what to
//! do. Converts into [`membership::Error`], so the shell reports it like any backend refusal.
use membership::ErrorKind;

use crate::fields::Field;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value the server would refuse; the membership crate's own code and sentence.
    #[error("{message}")]
    Invalid {
        field: Field,
        code: &'static str,
        message: String,
    },
    /// The local SQLite file failed. The source is for the log, never for the person.
    #[error("Partner Desk could not read or save its offline copy on this computer. Nothing was sent or lost; try again, and if it goes on, restart the app.")]
    Storage(#[from] rusqlite::Error),
    /// A stored value did not read back (a damaged or hand-edited file).
    #[error("Partner Desk found damaged data in its offline copy ({what}). The rest is safe; discard the damaged change or reinstall the app if it goes on.")]
    Damaged { what: &'static str },
    #[error("This profile has not been opened on this computer while connected, so there is no copy to edit offline. Connect once and open the profile; after that you can edit it offline.")]
    NotCached,
    #[error("This change is no longer waiting here: it was sent, resolved or discarded meanwhile. Refresh to see where things stand.")]
    EditNotFound,
    #[error("Choose which value to keep for {}, then save again.", labels(fields))]
    Unresolved { fields: Vec<Field> },
    #[error("This change is still waiting to be sent, so it cannot be discarded. Save the value you want instead: the latest change wins.")]
    StillPending,
    #[error("This membership has ended, so changes to it can no longer be saved. Copy any text you still need from the list of unsynced changes.")]
    MembershipEnded,
    #[error("The offline copy on this computer was written by a newer version of Partner Desk. Update the app to open it.")]
    NewerSchema,
}

fn labels(fields: &[Field]) -> String {
    fields
        .iter()
        .map(|f| f.label().to_lowercase())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Error {
    /// A stable snake_case code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Invalid { code, .. } => code,
            Error::Storage(_) => "local_store_failed",
            Error::Damaged { .. } => "local_store_damaged",
            Error::NotCached => "profile_not_cached",
            Error::EditNotFound => "edit_not_found",
            Error::Unresolved { .. } => "conflict_unresolved",
            Error::StillPending => "edit_pending",
            Error::MembershipEnded => "membership_removed",
            Error::NewerSchema => "local_store_too_new",
        }
    }

    fn kind(&self) -> ErrorKind {
        match self {
            Error::Invalid { .. } => ErrorKind::Invalid,
            Error::Storage(_) | Error::Damaged { .. } | Error::NewerSchema => ErrorKind::Internal,
            Error::NotCached | Error::EditNotFound => ErrorKind::NotFound,
            Error::Unresolved { .. } => ErrorKind::BadRequest,
            Error::StillPending => ErrorKind::Conflict,
            Error::MembershipEnded => ErrorKind::Gone,
        }
    }
}

impl From<Error> for membership::Error {
    fn from(e: Error) -> Self {
        let details = match &e {
            Error::Invalid { field, .. } => Some(serde_json::json!({ "field": field })),
            Error::Unresolved { fields } => Some(serde_json::json!({ "fields": fields })),
            _ => None,
        };
        let error = membership::Error::new(e.kind(), e.code(), e.to_string());
        match details {
            Some(d) => error.with_details(d),
            None => error,
        }
    }
}
