//! Extractors whose refusals are JSON errors with a code, never axum's plain-text rejections, and
//! the bearer-token extractor.
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use membership::{Caller, Secret};

use crate::error::ApiError;
use crate::state::AppState;

/// `axum::Json`, refusing with 400/413/415 and a code.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Query`, refusing with 400 `invalid_query`.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// `axum::extract::Path`, refusing with 400 `invalid_path`.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// A signed-in caller, proved by `Authorization: Bearer <access_token>`.
pub struct Auth {
    pub caller: Caller,
    /// Kept so a long-lived event stream can check that the session is still valid.
    pub token: Secret,
}

/// The caller the idempotency layer already authenticated, so the handler need not again.
#[derive(Clone)]
pub struct Authenticated(pub Caller, pub Secret);

pub fn bearer_token(parts: &Parts) -> Option<Secret> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| Secret::new(token))
}

/// Proves who holds `token`, off the async threads.
pub async fn authenticate(state: &AppState, token: Secret) -> Result<Caller, ApiError> {
    state
        .blocking(move |p, now| p.authenticate(&token, now))
        .await
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(Authenticated(caller, token)) = parts.extensions.get::<Authenticated>() {
            return Ok(Self {
                caller: caller.clone(),
                token: token.clone(),
            });
        }
        let token = bearer_token(parts).ok_or_else(not_signed_in)?;
        let caller = authenticate(state, token.clone()).await?;
        Ok(Self { caller, token })
    }
}

fn not_signed_in() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        "You are not signed in. Sign in, then send `Authorization: Bearer <access_token>`.",
    )
}

/// `Authorization: Bearer <access_token>`, not yet proved: for a route that proves it inside its
/// own membership operation (`Programme::authenticate`), so a request makes one trip to the
/// blocking pool instead of two. Without the header, 401 at once, as [`Auth`].
pub struct Bearer(pub Secret);

impl FromRequestParts<AppState> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        bearer_token(parts).map(Self).ok_or_else(not_signed_in)
    }
}
