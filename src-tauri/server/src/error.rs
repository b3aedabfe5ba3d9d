//! The one place where failures become HTTP answers: a status and
//! `{"error": {"code", "message", …}}` (API.md, Conventions).
use std::borrow::Cow;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use membership::Profile;
use serde::Serialize;

/// The body of every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code to branch on (`email_taken`, `revision_mismatch`, …).
    pub code: String,
    /// A sentence for people: what happened and what to do next.
    pub message: String,
    /// For `revision_mismatch` (412): the profile as it is now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<Profile>,
    /// Extra facts the caller may act on (for example which of the caller's own memberships
    /// holds an MCP ID).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// A refusal on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: Cow<'static, str>,
    message: Cow<'static, str>,
    // Boxed: refusals travel through every `Result`, and most have neither.
    current: Option<Box<Profile>>,
    details: Option<Box<serde_json::Value>>,
    retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            current: None,
            details: None,
            retry_after_secs: None,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    pub fn bad_request(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Self {
            retry_after_secs: Some(retry_after_secs.max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "Too many attempts in a short time. Wait {} seconds, then try again.",
                    retry_after_secs.max(1)
                ),
            )
        }
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on the server. Nothing was changed; try again.",
        )
    }

    /// The generic answer for a bare status produced outside the handlers (routing, timeout,
    /// body limit).
    pub fn for_status(status: StatusCode) -> Self {
        let (code, message) = match status {
            StatusCode::BAD_REQUEST => ("bad_request", "The request is malformed. Check it and send it again."),
            StatusCode::UNAUTHORIZED => ("unauthenticated", "You are not signed in, or your session has ended. Sign in again to continue."),
            StatusCode::NOT_FOUND => ("route_not_found", "There is nothing at this address. Check the path against the API description."),
            StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "This address does not accept that method. Check the API description."),
            StatusCode::REQUEST_TIMEOUT => ("request_timeout", "The server took too long to answer. Try again; if you were saving, check first whether the change was made."),
            StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "The request body is too large. Send less data."),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "Send the body as JSON with `Content-Type: application/json`."),
            StatusCode::TOO_MANY_REQUESTS => ("rate_limited", "Too many attempts in a short time. Wait a little, then try again."),
            s if s.is_server_error() => ("internal", "Something went wrong on the server. Nothing was changed; try again."),
            _ => ("error", "The request could not be completed."),
        };
        Self::new(status, code, message)
    }
}

impl From<membership::Error> for ApiError {
    fn from(e: membership::Error) -> Self {
        let status = StatusCode::from_u16(e.kind().http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(
                code = e.code(),
                cause = ?e.cause().unwrap_or(""),
                "membership service failed"
            );
        }
        Self {
            status,
            code: Cow::Owned(e.code().to_owned()),
            message: Cow::Owned(e.message().to_owned()),
            current: e.current().cloned().map(Box::new),
            details: e.details().cloned().map(Box::new),
            retry_after_secs: e.retry_after_secs(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.into_owned(),
                message: self.message.into_owned(),
                current: self.current.map(|c| *c),
                details: self.details.map(|d| *d),
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        match r {
            // API.md: a malformed body is 400, whatever is wrong with it.
            JsonRejection::MissingJsonContentType(_) => Self::bad_request(
                "content_type_not_json",
                "Send the body as JSON with `Content-Type: application/json`.",
            ),
            JsonRejection::JsonDataError(e) => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                format!("The request body does not have the expected fields: {}. Check it against the API description.", e.body_text()),
            ),
            JsonRejection::JsonSyntaxError(_) => Self::bad_request(
                "malformed_json",
                "The request body is not valid JSON. Check it and send it again.",
            ),
            _ if status == StatusCode::PAYLOAD_TOO_LARGE => Self::for_status(status),
            _ => Self::bad_request(
                "unreadable_body",
                "The request body could not be read. Send it again.",
            ),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!(
                "The query string is not valid: {}. Check the parameter names and values.",
                r.body_text()
            ),
        )
    }
}

impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> Self {
        Self::bad_request(
            "invalid_path",
            "The address has an invalid part. Check the ids in the path.",
        )
    }
}
