//! The one shape every refusal takes on its way to the UI: a stable `code` to branch on and a
//! `message` sentence that says what to do next.
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UiError {
    pub code: String,
    pub message: String,
    /// For `revision_mismatch`: the profile as it is now, to show beside the user's edits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<Box<membership::Profile>>,
    /// Extra data some codes carry, e.g. which of the caller's memberships holds an MCP ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

impl UiError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            current: None,
            details: None,
            retry_after_secs: None,
        }
    }

    pub fn not_signed_in() -> Self {
        Self::new(
            "unauthenticated",
            "You are not signed in, or your session has ended. Sign in again to continue.",
        )
    }

    pub fn internal() -> Self {
        Self::new(
            "internal",
            "Something went wrong inside Partner Desk. Nothing was changed; try again.",
        )
    }
}

impl From<membership::Error> for UiError {
    fn from(e: membership::Error) -> Self {
        Self {
            code: e.code().to_owned(),
            message: e.message().to_owned(),
            current: e.current().cloned().map(Box::new),
            details: e.details().cloned(),
            retry_after_secs: e.retry_after_secs(),
        }
    }
}

impl From<membership::domain::ValidationError> for UiError {
    fn from(e: membership::domain::ValidationError) -> Self {
        Self::new(e.code(), e.message())
    }
}

impl std::fmt::Display for UiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for UiError {}
