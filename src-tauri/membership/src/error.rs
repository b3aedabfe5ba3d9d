use std::borrow::Cow;
use std::fmt;

use crate::domain::ValidationError;
use crate::model::Profile;

/// What kind of failure an [`Error`] is; the server maps each to one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Malformed input (400).
    BadRequest,
    /// Not signed in, or the token is not valid (401).
    Unauthenticated,
    /// Signed in but not allowed (403).
    Forbidden,
    /// Not found, or not visible to the caller (404).
    NotFound,
    /// Conflicts with the current state (409).
    Conflict,
    /// A token that was used or has expired (410).
    Gone,
    /// The profile changed since the caller read it (412).
    PreconditionFailed,
    /// Well-formed but invalid value (422).
    Invalid,
    /// Too soon; try again later (429).
    RateLimited,
    /// Something went wrong on our side (500).
    Internal,
    /// The backend could not be reached or cannot answer now (503). Only a client of a remote
    /// backend produces it; the service itself never does.
    Unavailable,
}

impl ErrorKind {
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::BadRequest => 400,
            ErrorKind::Unauthenticated => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::Gone => 410,
            ErrorKind::PreconditionFailed => 412,
            ErrorKind::Invalid => 422,
            ErrorKind::RateLimited => 429,
            ErrorKind::Internal => 500,
            ErrorKind::Unavailable => 503,
        }
    }
}

/// Every refusal of the membership service: a stable snake_case `code` (API.md's names), a
/// sentence for people that says what to do next, and the extra data some codes carry.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    kind: ErrorKind,
    // Borrowed for the service's own codes; owned for codes that arrived over the wire (the
    // desktop app's remote backend rebuilds the server's refusals as this same type).
    code: Cow<'static, str>,
    message: String,
    current: Option<Box<Profile>>,
    retry_after_secs: Option<u64>,
    details: Option<serde_json::Value>,
    /// For `internal`: what really failed, for the operator's log; never shown to the caller.
    // Boxed so that a rare field does not make every `Result` of the service larger.
    #[allow(clippy::box_collection)]
    cause: Option<Box<String>>,
}

impl Error {
    pub fn new(
        kind: ErrorKind,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            code: code.into(),
            message: message.into(),
            current: None,
            retry_after_secs: None,
            details: None,
            cause: None,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// For `revision_mismatch`: the profile as it is now.
    pub fn current(&self) -> Option<&Profile> {
        self.current.as_deref()
    }

    /// Extra facts about the refusal the caller may act on (for example, which of the caller's
    /// own memberships holds an MCP ID).
    pub fn details(&self) -> Option<&serde_json::Value> {
        self.details.as_ref()
    }

    /// Adds the facts of [`Error::details`].
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// Adds the profile as it is now (for `revision_mismatch`, see [`Error::current`]).
    pub fn with_current(mut self, current: Profile) -> Self {
        self.current = Some(Box::new(current));
        self
    }

    /// Adds how long to wait before a retry (see [`Error::retry_after_secs`]).
    pub fn with_retry_after_secs(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    /// For rate limits: how many seconds until a retry can succeed.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after_secs
    }

    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, code, message)
    }

    /// A list's `cursor` or an event stream's `Last-Event-ID` that this backend never gave out.
    /// Public for the server, which also refuses a `Last-Event-ID` that is not text at all.
    pub fn invalid_cursor() -> Self {
        Self::bad_request(
            "invalid_cursor",
            "That page link is not valid any more. Start the list again from the top.",
        )
    }

    pub(crate) fn unauthenticated() -> Self {
        Self::new(
            ErrorKind::Unauthenticated,
            "unauthenticated",
            "You are not signed in, or your session has ended. Sign in again to continue.",
        )
    }

    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, "forbidden", message)
    }

    pub(crate) fn not_found(what: &str) -> Self {
        Self::new(
            ErrorKind::NotFound,
            "not_found",
            format!("That {what} was not found. It may have been removed; refresh and try again."),
        )
    }

    pub(crate) fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, code, message)
    }

    pub(crate) fn gone(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Gone, code, message)
    }

    pub(crate) fn revision_mismatch(current: Profile) -> Self {
        Self::new(
            ErrorKind::PreconditionFailed,
            "revision_mismatch",
            "This profile was changed elsewhere since you opened it. Review the current values and save again.",
        )
        .with_current(current)
    }

    pub(crate) fn rate_limited(
        code: &'static str,
        retry_after_secs: u64,
        message: impl Into<String>,
    ) -> Self {
        Self::new(ErrorKind::RateLimited, code, message).with_retry_after_secs(retry_after_secs)
    }

    /// Something failed underneath (storage, hashing). `detail` is kept for the operator's log
    /// ([`Error::cause`]) and never shown to the caller. Public so that a store in another crate
    /// can answer a driver error the way the SQLite store does.
    pub fn internal(detail: impl fmt::Display) -> Self {
        // Callers see a sentence without internals; the cause is kept for the operator's log.
        Self {
            cause: Some(Box::new(detail.to_string())),
            ..Self::new(
                ErrorKind::Internal,
                "internal",
                "Something went wrong while saving or reading data. Nothing was changed; try again.",
            )
        }
    }

    /// Keeps what failed underneath for the operator's log ([`Error::cause`]), beside a refusal
    /// with its own code (a store in another crate that cannot reach its database, say).
    pub fn with_cause(mut self, detail: impl fmt::Display) -> Self {
        self.cause = Some(Box::new(detail.to_string()));
        self
    }

    /// For `internal` errors: what failed underneath (a storage or hashing error), to log. It
    /// never carries a token or password: only messages of SQLite and the hashing library.
    pub fn cause(&self) -> Option<&str> {
        self.cause.as_deref().map(String::as_str)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

impl From<ValidationError> for Error {
    fn from(e: ValidationError) -> Self {
        Self::new(ErrorKind::Invalid, e.code(), e.message())
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Self::internal(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_internal_error_keeps_its_cause_for_the_log_but_not_in_what_callers_see() {
        let e = Error::from(rusqlite::Error::InvalidColumnName("secret_column".into()));
        assert_eq!(e.code(), "internal");
        assert!(
            e.cause().is_some_and(|c| c.contains("secret_column")),
            "{:?}",
            e.cause()
        );
        assert!(!e.message().contains("secret_column") && !e.to_string().contains("secret_column"));
        assert_eq!(Error::unauthenticated().cause(), None);
    }
}
