//! Answers that are not a success become the same [`membership::Error`] the embedded backend
//! gives: the kind from the HTTP status, the code and sentence from the body, and the extras
//! (`current` on 412, `Retry-After` on 429, `details`).
use membership::{Error, ErrorKind, Profile};
use serde::Deserialize;

/// The code of every failure to reach the server at all (refused, timed out, cut off, TLS).
pub const UNREACHABLE: &str = "backend_unreachable";

#[derive(Deserialize)]
struct Body {
    error: Detail,
}

#[derive(Deserialize)]
struct Detail {
    code: String,
    message: String,
    #[serde(default)]
    current: Option<Profile>,
    #[serde(default)]
    details: Option<serde_json::Value>,
}

/// API.md's status table, read backwards.
pub fn kind_of(status: u16) -> ErrorKind {
    match status {
        401 => ErrorKind::Unauthenticated,
        403 => ErrorKind::Forbidden,
        404 => ErrorKind::NotFound,
        409 => ErrorKind::Conflict,
        410 => ErrorKind::Gone,
        412 | 428 => ErrorKind::PreconditionFailed,
        422 => ErrorKind::Invalid,
        429 => ErrorKind::RateLimited,
        502..=504 => ErrorKind::Unavailable,
        400..=499 => ErrorKind::BadRequest,
        _ => ErrorKind::Internal,
    }
}

/// A refusal from the server: `status`, its `Retry-After` (seconds) and its body.
pub fn refusal(status: u16, retry_after: Option<u64>, body: &[u8]) -> Error {
    let kind = kind_of(status);
    let error = match serde_json::from_slice::<Body>(body) {
        Ok(Body { error: d }) if !d.code.is_empty() => {
            let mut e = Error::new(kind, d.code, d.message);
            if let Some(current) = d.current {
                e = e.with_current(current);
            }
            if let Some(details) = d.details {
                e = e.with_details(details);
            }
            e
        }
        // Not our server's JSON: a proxy's page, or something else at that address.
        _ => generic(kind, status),
    };
    match retry_after {
        Some(secs) => error.with_retry_after_secs(secs),
        None => error,
    }
}

fn generic(kind: ErrorKind, status: u16) -> Error {
    let (code, message) = match kind {
        ErrorKind::Unauthenticated => ("unauthenticated", "You are not signed in, or your session has ended. Sign in again to continue."),
        ErrorKind::Forbidden => ("forbidden", "The server refused this. Ask your organisation's Primary Program Contact if you think you should be allowed."),
        ErrorKind::NotFound => ("not_found", "The server has nothing at this address. Check in Settings that the server URL is the Partner Desk server's."),
        ErrorKind::RateLimited => ("rate_limited", "Too many attempts in a short time. Wait a little, then try again."),
        ErrorKind::Unavailable => ("backend_unavailable", "The membership server is not available right now. Try again in a few minutes; if it goes on, tell the server's administrator."),
        ErrorKind::Internal => ("internal", "Something went wrong on the membership server. Try again; if it goes on, tell the server's administrator."),
        _ => ("unexpected_answer", "The membership server gave an answer Partner Desk does not understand. Check in Settings that the server URL is the Partner Desk server's, and that the app is up to date."),
    };
    Error::new(kind, code, format!("{message} (HTTP {status})"))
}

/// A success whose body is not what API.md promises.
pub fn unreadable_answer(base: &str) -> Error {
    Error::new(
        ErrorKind::Internal,
        "unexpected_answer",
        format!("The server at {base} gave an answer Partner Desk could not read. Check in Settings that this is a Partner Desk membership server and that the app is up to date."),
    )
}

/// How the request failed on its way, which decides what the person should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The connection was never made: nothing was sent.
    Connect,
    /// Sent, but no (whole) answer in time: the change may or may not have been made.
    Lost,
}

pub fn unreachable(base: &str, failure: Failure) -> Error {
    let message = match failure {
        Failure::Connect => format!(
            "The membership server at {base} could not be reached. Check your network connection and the server URL in Settings, then try again."
        ),
        Failure::Lost => format!(
            "The membership server at {base} could not be reached or did not answer in time. Check your network connection and try again; if you were saving a change, look first whether it was made."
        ),
    };
    Error::new(ErrorKind::Unavailable, UNREACHABLE, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_status_of_api_md_maps_back_to_its_kind() {
        for kind in [
            ErrorKind::BadRequest,
            ErrorKind::Unauthenticated,
            ErrorKind::Forbidden,
            ErrorKind::NotFound,
            ErrorKind::Conflict,
            ErrorKind::Gone,
            ErrorKind::PreconditionFailed,
            ErrorKind::Invalid,
            ErrorKind::RateLimited,
            ErrorKind::Internal,
            ErrorKind::Unavailable,
        ] {
            assert_eq!(kind_of(kind.http_status()), kind, "{kind:?}");
        }
        assert_eq!(kind_of(413), ErrorKind::BadRequest);
        assert_eq!(kind_of(428), ErrorKind::PreconditionFailed);
        assert_eq!(kind_of(502), ErrorKind::Unavailable);
    }

    #[test]
    fn a_json_refusal_keeps_its_code_message_current_details_and_retry_after() {
        let body = br#"{"error":{"code":"revision_mismatch","message":"Changed elsewhere.","current":{"first_name":"Ada","last_name":"L","job_title":null,"phone":null,"preferred_language":null,"mcp_id":null,"revision":4},"details":{"x":1}}}"#;
        let e = refusal(412, Some(7), body);
        assert_eq!(e.kind(), ErrorKind::PreconditionFailed);
        assert_eq!(e.code(), "revision_mismatch");
        assert_eq!(e.message(), "Changed elsewhere.");
        assert_eq!(e.current().map(|p| p.revision), Some(4));
        assert_eq!(e.details(), Some(&serde_json::json!({"x": 1})));
        assert_eq!(e.retry_after_secs(), Some(7));
    }

    #[test]
    fn a_body_that_is_not_our_json_still_gives_a_code_and_a_sentence() {
        let e = refusal(502, None, b"<html>Bad gateway</html>");
        assert_eq!(
            (e.kind(), e.code()),
            (ErrorKind::Unavailable, "backend_unavailable")
        );
        let e = refusal(404, None, b"");
        assert_eq!((e.kind(), e.code()), (ErrorKind::NotFound, "not_found"));
        assert!(e.message().contains("server URL"), "{}", e.message());
    }

    #[test]
    fn transport_failures_say_what_happened_and_what_to_do() {
        let e = unreachable("http://127.0.0.1:9", Failure::Connect);
        assert_eq!((e.kind(), e.code()), (ErrorKind::Unavailable, UNREACHABLE));
        assert!(e.message().contains("could not be reached") && e.message().contains("Settings"));
        let e = unreachable("http://127.0.0.1:9", Failure::Lost);
        assert!(
            e.message().contains("whether it was made"),
            "{}",
            e.message()
        );
    }
}
