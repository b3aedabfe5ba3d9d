use axum::extract::State;
use axum::http::StatusCode;
use membership::Me;

use super::ClientIp;
use crate::dto::{CreatedAccount, Credentials, NewAccount, RefreshBody, Session};
use crate::error::ApiError;
use crate::extract::{Auth, Json};
use crate::ratelimit::Limit;
use crate::state::AppState;

#[utoipa::path(post, path = "/v1/accounts", tag = "accounts",
    request_body = NewAccount,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a repeat return the first answer")),
    responses(
        (status = 201, body = CreatedAccount),
    ))]
pub async fn create_account(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<NewAccount>,
) -> Result<(StatusCode, Json<CreatedAccount>), ApiError> {
    s.limit(Limit::AccountsPerIp, &ip).await?;
    let account_id = s
        .blocking(move |p, now| {
            p.create_account(&body.email, &body.display_name, &body.password, now)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(CreatedAccount { account_id })))
}

#[utoipa::path(post, path = "/v1/sessions", tag = "accounts",
    request_body = Credentials,
    responses(
        (status = 200, body = Session),
    ))]
pub async fn sign_in(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<Credentials>,
) -> Result<Json<Session>, ApiError> {
    s.limit(Limit::SignInPerIp, &ip).await?;
    s.limit(Limit::SignInPerEmail, &body.email.trim().to_lowercase())
        .await?;
    let tokens = s
        .blocking(move |p, now| p.sign_in(&body.email, &body.password, now))
        .await?;
    Ok(Json(tokens.into()))
}

#[utoipa::path(post, path = "/v1/sessions/refresh", tag = "accounts",
    request_body = RefreshBody,
    responses(
        (status = 200, description = "A new pair; the old refresh token stops working", body = Session),
    ))]
pub async fn refresh(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<RefreshBody>,
) -> Result<Json<Session>, ApiError> {
    s.limit(Limit::SignInPerIp, &ip).await?;
    let tokens = s
        .blocking(move |p, now| p.refresh(&body.refresh_token, now))
        .await?;
    Ok(Json(tokens.into()))
}

#[utoipa::path(delete, path = "/v1/sessions/current", tag = "accounts",
    security(("bearer" = [])),
    responses((status = 204, description = "The access and refresh tokens stop working")))]
pub async fn sign_out(State(s): State<AppState>, auth: Auth) -> Result<StatusCode, ApiError> {
    s.blocking(move |p, now| p.sign_out(&auth.caller, now))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/me", tag = "accounts",
    security(("bearer" = [])),
    responses((status = 200, body = Me)))]
pub async fn me(State(s): State<AppState>, auth: Auth) -> Result<Json<Me>, ApiError> {
    Ok(Json(s.blocking(move |p, _| p.me(&auth.caller)).await?))
}
