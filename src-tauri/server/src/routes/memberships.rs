use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use membership::{Member, PrivilegeRequest, Profile, ProfilePatch};

use crate::dto::{McpIdBody, NewPrivilegeRequest, ProfilePatchBody};
use crate::error::ApiError;
use crate::extract::{Auth, Json, Path};
use crate::state::AppState;

/// The profile with its revision as the entity tag.
fn with_etag(profile: Profile) -> Response {
    let etag = HeaderValue::try_from(format!("\"{}\"", profile.revision))
        .unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
    ([(header::ETAG, etag)], Json(profile)).into_response()
}

/// What [`if_match`] takes, as the API document states it.
pub const IF_MATCH_PATTERN: &str = r#"^(?:\*|(?:W/)?"[0-9]{1,19}"|[0-9]{1,19})$"#;

/// `If-Match: "<revision>"` (a weak tag or a bare number is accepted too; `*` means "whatever
/// it is now").
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum IfMatch {
    Revision(u64),
    Any,
}

pub(crate) fn if_match(headers: &HeaderMap) -> Result<IfMatch, ApiError> {
    let missing = || {
        ApiError::new(
            StatusCode::PRECONDITION_REQUIRED,
            "if_match_required",
            "Send `If-Match` with the revision (the ETag) of the profile you edited, so changes made elsewhere are not overwritten.",
        )
    };
    let raw = headers
        .get(header::IF_MATCH)
        .ok_or_else(missing)?
        .to_str()
        .map_err(|_| missing())?
        .trim();
    if raw == "*" {
        return Ok(IfMatch::Any);
    }
    let weak = raw.strip_prefix("W/").unwrap_or(raw);
    let tag = match weak.strip_prefix('"') {
        Some(quoted) => quoted.strip_suffix('"'),
        None if weak.len() == raw.len() => Some(raw),
        None => None,
    };
    tag.filter(|t| (1..=19).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse().ok())
        .map(IfMatch::Revision)
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_if_match",
                "`If-Match` must be the profile's ETag, such as \"3\".",
            )
        })
}

#[utoipa::path(get, path = "/v1/memberships/{id}/profile", tag = "memberships",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, description = "With `ETag: \"<revision>\"`", body = Profile)))]
pub async fn profile(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let profile = s.blocking(move |p, _| p.profile(&auth.caller, &id)).await?;
    Ok(with_etag(profile))
}

#[utoipa::path(patch, path = "/v1/memberships/{id}/profile", tag = "memberships",
    security(("bearer" = [])),
    params(("id" = String, Path), ("If-Match" = String, Header, description = "The ETag of the profile that was edited"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a repeat (with the same `If-Match` and body) return the first answer: an edit sent again after a lost answer is not applied twice")),
    request_body = ProfilePatchBody,
    responses(
        (status = 200, description = "The new profile, with its new `ETag`", body = Profile),
    ))]
pub async fn update_profile(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<ProfilePatchBody>,
) -> Result<Response, ApiError> {
    let expected = if_match(&headers)?;
    if body.mcp_id.is_some() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "mcp_id_not_patchable",
            "The MCP ID is linked and unlinked on its own (PUT or DELETE /v1/memberships/{id}/mcp-id), not in a profile edit.",
        ));
    }
    let patch = ProfilePatch {
        first_name: body.first_name,
        last_name: body.last_name,
        job_title: body.job_title,
        phone: body.phone,
        preferred_language: body.preferred_language,
    };
    let profile = s
        .blocking(move |p, now| {
            let revision = match expected {
                IfMatch::Revision(r) => r,
                IfMatch::Any => p.profile(&auth.caller, &id)?.revision,
            };
            p.update_profile(&auth.caller, &id, revision, &patch, now)
        })
        .await?;
    Ok(with_etag(profile))
}

#[utoipa::path(put, path = "/v1/memberships/{id}/mcp-id", tag = "memberships",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = McpIdBody,
    responses(
        (status = 200, body = Profile),
    ))]
pub async fn link_mcp_id(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<McpIdBody>,
) -> Result<Response, ApiError> {
    let profile = s
        .blocking(move |p, now| p.link_mcp_id(&auth.caller, &id, &body.mcp_id, now))
        .await?;
    Ok(with_etag(profile))
}

#[utoipa::path(delete, path = "/v1/memberships/{id}/mcp-id", tag = "memberships",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204)))]
pub async fn unlink_mcp_id(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    s.blocking(move |p, now| p.unlink_mcp_id(&auth.caller, &id, now))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/v1/memberships/{id}/privileges/{privilege}", tag = "memberships",
    security(("bearer" = [])),
    params(("id" = String, Path), ("privilege" = String, Path, description = "`global_admin`, `action_pack` or `competency_benefits`")),
    responses((status = 200, body = Member)))]
pub async fn grant_privilege(
    State(s): State<AppState>,
    auth: Auth,
    Path((id, privilege)): Path<(String, String)>,
) -> Result<Json<Member>, ApiError> {
    Ok(Json(
        s.blocking(move |p, now| p.grant_privilege(&auth.caller, &id, &privilege, now))
            .await?,
    ))
}

#[utoipa::path(delete, path = "/v1/memberships/{id}/privileges/{privilege}", tag = "memberships",
    security(("bearer" = [])),
    params(("id" = String, Path), ("privilege" = String, Path)),
    responses((status = 204)))]
pub async fn revoke_privilege(
    State(s): State<AppState>,
    auth: Auth,
    Path((id, privilege)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.blocking(move |p, now| p.revoke_privilege(&auth.caller, &id, &privilege, now))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/memberships/{id}/privilege-requests", tag = "memberships",
    security(("bearer" = [])),
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes a repeat return the first answer")),
    request_body = NewPrivilegeRequest,
    responses((status = 201, description = "The PPC is notified", body = PrivilegeRequest)))]
pub async fn request_privilege(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<NewPrivilegeRequest>,
) -> Result<(StatusCode, Json<PrivilegeRequest>), ApiError> {
    let created = s
        .blocking(move |p, now| {
            p.request_privilege(
                &auth.caller,
                &id,
                body.privilege.as_str(),
                body.note.as_deref(),
                now,
            )
        })
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(delete, path = "/v1/memberships/{id}", tag = "memberships",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204, description = "Left (the member) or removed (an administrator); pending tokens die")))]
pub async fn remove(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    s.blocking(move |p, now| p.remove_membership(&auth.caller, &id, now))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
