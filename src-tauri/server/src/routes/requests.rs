use axum::extract::State;
use axum::http::StatusCode;
use membership::{AssociationRequest, Handover, NewAssociationRequest, RequestCreated, Verified};

use crate::dto::{DecisionsAnswer, DecisionsBody, DenyBody, VerificationBody};
use crate::error::ApiError;
use crate::extract::{Auth, Json, Path};
use crate::ratelimit::Limit;
use crate::state::AppState;

#[utoipa::path(post, path = "/v1/association-requests", operation_id = "create_association_request", tag = "association requests",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a repeat return the first answer")),
    request_body = NewAssociationRequest,
    responses(
        (status = 201, description = "`accepted` (a verification mail goes out) or `pending_approval`, with the guide's sentence", body = RequestCreated),
    ))]
pub async fn create(
    State(s): State<AppState>,
    auth: Auth,
    Json(body): Json<NewAssociationRequest>,
) -> Result<(StatusCode, Json<RequestCreated>), ApiError> {
    s.limit(Limit::RequestCreation, auth.caller.account_id())
        .await?;
    let created = s
        .blocking(move |p, now| p.request_association(&auth.caller, &body, now))
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/v1/association-requests/{id}", operation_id = "get_association_request", tag = "association requests",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = AssociationRequest)))]
pub async fn get_one(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<AssociationRequest>, ApiError> {
    Ok(Json(
        s.blocking(move |p, _| p.association_request(&auth.caller, &id))
            .await?,
    ))
}

#[utoipa::path(post, path = "/v1/association-requests/{id}/approve", tag = "association requests",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "Accepted; the verification mail goes out", body = AssociationRequest),
    ))]
pub async fn approve(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<AssociationRequest>, ApiError> {
    Ok(Json(
        s.blocking(move |p, now| p.approve(&auth.caller, &id, now))
            .await?,
    ))
}

#[utoipa::path(post, path = "/v1/organisations/{org}/association-requests/decisions", operation_id = "decide_association_requests", tag = "association requests",
    security(("bearer" = [])),
    params(("org" = String, Path)),
    request_body = DecisionsBody,
    responses(
        (status = 200, description = "One result per decision: a request someone else decided meanwhile has its error, and the others are still decided", body = DecisionsAnswer),
    ))]
pub async fn decide_many(
    State(s): State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
    Json(body): Json<DecisionsBody>,
) -> Result<Json<DecisionsAnswer>, ApiError> {
    let items = s
        .blocking(move |p, now| p.decide_requests(&auth.caller, &org, &body.decisions, now))
        .await?;
    Ok(Json(DecisionsAnswer { items }))
}

#[utoipa::path(post, path = "/v1/association-requests/{id}/ask-again", operation_id = "ask_again", tag = "association requests",
    security(("bearer" = [])),
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes a repeat return the first answer")),
    responses(
        (status = 201, description = "A new request with the expired one's answers, decided as any new request is", body = RequestCreated),
    ))]
pub async fn ask_again(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<RequestCreated>), ApiError> {
    s.limit(Limit::RequestCreation, auth.caller.account_id())
        .await?;
    let created = s
        .blocking(move |p, now| p.ask_again(&auth.caller, &id, now))
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(post, path = "/v1/association-requests/{id}/deny", tag = "association requests",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = DenyBody,
    responses((status = 200, body = AssociationRequest)))]
pub async fn deny(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<DenyBody>,
) -> Result<Json<AssociationRequest>, ApiError> {
    Ok(Json(
        s.blocking(move |p, now| p.deny(&auth.caller, &id, &body.reason, now))
            .await?,
    ))
}

#[utoipa::path(post, path = "/v1/association-requests/{id}/withdraw", tag = "association requests",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = AssociationRequest)))]
pub async fn withdraw(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<AssociationRequest>, ApiError> {
    Ok(Json(
        s.blocking(move |p, now| p.withdraw(&auth.caller, &id, now))
            .await?,
    ))
}

#[utoipa::path(post, path = "/v1/association-requests/{id}/resend-verification", tag = "association requests",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 202, description = "A new mail is on its way; the previous link stops working"),
    ))]
pub async fn resend(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    s.limit(Limit::Resend, auth.caller.account_id()).await?;
    s.blocking(move |p, now| p.resend_verification(&auth.caller, &id, now))
        .await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(post, path = "/v1/verifications", tag = "association requests",
    security(("bearer" = [])),
    request_body = VerificationBody,
    responses(
        (status = 200, body = Verified),
    ))]
pub async fn verify(
    State(s): State<AppState>,
    auth: Auth,
    Json(body): Json<VerificationBody>,
) -> Result<Json<Verified>, ApiError> {
    Ok(Json(
        s.blocking(move |p, now| p.verify(&auth.caller, &body.token, now))
            .await?,
    ))
}

#[utoipa::path(post, path = "/v1/ppc-handovers/{id}/accept", operation_id = "accept_handover", tag = "pending work",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The caller is the Primary Program Contact; the one who offered it keeps Global Administrator", body = Handover),
    ))]
pub async fn accept_handover(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Handover>, ApiError> {
    Ok(Json(
        s.blocking(move |p, now| p.accept_handover(&auth.caller, &id, now))
            .await?,
    ))
}

#[utoipa::path(post, path = "/v1/ppc-handovers/{id}/decline", operation_id = "decline_handover", tag = "pending work",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, description = "Declined; the one who offered it hears it", body = Handover)))]
pub async fn decline_handover(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Handover>, ApiError> {
    Ok(Json(
        s.blocking(move |p, now| p.decline_handover(&auth.caller, &id, now))
            .await?,
    ))
}
