use axum::extract::State;
use axum::http::StatusCode;
use membership::{
    AssociationRequest, AuditEntry, CreatedOrganisation, Delegation, DelegationInput, DomainRule,
    Handover, HandoverOffer, InvitationResult, LookupQuery, Member, NewOrganisation,
    OrganisationSummary, Page, PageRequest, Preview, PrivilegeRequest, RequestStatus,
};

use crate::dto::{InvitationBody, LookupParams, NewDomain, PageParams, PreviewBody, QueueParams};
use crate::error::ApiError;
use crate::extract::{Auth, Bearer, Json, Path, Query};
use crate::ratelimit::Limit;
use crate::state::{take_limit, AppState};

fn whole<T>(items: Vec<T>) -> Page<T> {
    Page {
        items,
        next_cursor: None,
    }
}

#[utoipa::path(post, path = "/v1/organisations", operation_id = "create_organisation", tag = "organisations",
    security(("bearer" = [])),
    request_body = NewOrganisation,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a repeat return the first answer")),
    responses(
        (status = 201, description = "The caller becomes its Primary Program Contact", body = CreatedOrganisation),
    ))]
pub async fn create(
    State(s): State<AppState>,
    auth: Auth,
    Json(body): Json<NewOrganisation>,
) -> Result<(StatusCode, Json<CreatedOrganisation>), ApiError> {
    let created = s
        .blocking(move |p, now| p.create_organisation(&auth.caller, &body, now))
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/v1/organisations", tag = "organisations",
    security(("bearer" = [])),
    params(LookupParams),
    responses(
        (status = 200, description = "Never shows domains or members", body = Page<OrganisationSummary>),
    ))]
pub async fn lookup(
    State(s): State<AppState>,
    Bearer(token): Bearer,
    Query(q): Query<LookupParams>,
) -> Result<Json<Page<OrganisationSummary>>, ApiError> {
    let query = LookupQuery {
        q: q.q,
        partner_id: q.partner_id,
        country: q.country,
        city: q.city,
        page: PageRequest {
            limit: q.limit,
            cursor: q.cursor,
        },
    };
    // Who asks, their rate limit and the lookup in one operation: the busiest route makes one
    // trip to the blocking pool, not two (docs/BENCHMARKS.md).
    let limits = s.limits.clone();
    let found = s
        .blocking(move |p, now| {
            let caller = p.authenticate(&token, now)?;
            if let Err(refused) = take_limit(p, &limits, Limit::Lookup, caller.account_id()) {
                return Ok(Err(refused));
            }
            p.lookup(&caller, &query).map(Ok)
        })
        .await??;
    Ok(Json(found))
}

#[utoipa::path(get, path = "/v1/organisations/{org}", operation_id = "get_organisation", tag = "organisations",
    security(("bearer" = [])),
    params(("org" = String, Path)),
    responses((status = 200, body = OrganisationSummary)))]
pub async fn get_one(
    State(s): State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
) -> Result<Json<OrganisationSummary>, ApiError> {
    Ok(Json(
        s.blocking(move |p, _| p.organisation(&auth.caller, &org))
            .await?,
    ))
}

#[utoipa::path(get, path = "/v1/organisations/{org}/domains", tag = "domains",
    security(("bearer" = [])),
    params(("org" = String, Path)),
    responses((status = 200, body = Page<DomainRule>)))]
pub async fn domains(
    State(s): State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
) -> Result<Json<Page<DomainRule>>, ApiError> {
    let items = s
        .blocking(move |p, _| p.domains(&auth.caller, &org))
        .await?;
    Ok(Json(whole(items)))
}

#[utoipa::path(post, path = "/v1/organisations/{org}/domains", tag = "domains",
    security(("bearer" = [])),
    params(("org" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes a repeat return the first answer")),
    request_body = NewDomain,
    responses(
        (status = 201, description = "The canonical form", body = DomainRule),
    ))]
pub async fn add_domain(
    State(s): State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
    Json(body): Json<NewDomain>,
) -> Result<(StatusCode, Json<DomainRule>), ApiError> {
    let rule = s
        .blocking(move |p, now| {
            p.add_domain(
                &auth.caller,
                &org,
                &body.domain,
                body.include_subdomains,
                now,
            )
        })
        .await?;
    Ok((StatusCode::CREATED, Json(rule)))
}

#[utoipa::path(post, path = "/v1/organisations/{org}/domains/{domain}/check", tag = "domains",
    security(("bearer" = [])),
    params(("org" = String, Path), ("domain" = String, Path)),
    responses((status = 200, description = "The domain after looking its record up now", body = DomainRule)))]
pub async fn check_domain(
    State(s): State<AppState>,
    auth: Auth,
    Path((org, domain)): Path<(String, String)>,
) -> Result<Json<DomainRule>, ApiError> {
    let rule = s
        .blocking(move |p, now| p.check_domain(&auth.caller, &org, &domain, now))
        .await?;
    Ok(Json(rule))
}

#[utoipa::path(delete, path = "/v1/organisations/{org}/domains/{domain}", tag = "domains",
    security(("bearer" = [])),
    params(("org" = String, Path), ("domain" = String, Path)),
    responses((status = 204)))]
pub async fn remove_domain(
    State(s): State<AppState>,
    auth: Auth,
    Path((org, domain)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.blocking(move |p, now| p.remove_domain(&auth.caller, &org, &domain, now))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/organisations/{org}/association-preview", tag = "association requests",
    security(("bearer" = [])),
    params(("org" = String, Path)),
    request_body = PreviewBody,
    responses((status = 200, description = "Exactly what a request would get now, and why", body = Preview)))]
pub async fn preview(
    State(s): State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
    Json(body): Json<PreviewBody>,
) -> Result<Json<Preview>, ApiError> {
    Ok(Json(
        s.blocking(move |p, _| p.preview_association(&auth.caller, &org, &body.organisation_email))
            .await?,
    ))
}

#[utoipa::path(get, path = "/v1/organisations/{org}/association-requests", tag = "association requests",
    security(("bearer" = [])),
    params(("org" = String, Path), QueueParams),
    responses((status = 200, body = Page<AssociationRequest>)))]
pub async fn queue(
    State(s): State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
    Query(q): Query<QueueParams>,
) -> Result<Json<Page<AssociationRequest>>, ApiError> {
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(v) => Some(RequestStatus::parse(v).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_status",
                "Unknown status. Use pending_approval, accepted, denied, withdrawn, active, removed or expired.",
            )
        })?),
    };
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(Json(
        s.blocking(move |p, _| p.association_queue(&auth.caller, &org, status, &page))
            .await?,
    ))
}

#[utoipa::path(post, path = "/v1/organisations/{org}/invitations", tag = "association requests",
    security(("bearer" = [])),
    params(("org" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes a repeat return the first answer")),
    request_body = InvitationBody,
    responses((status = 201, description = "Per address: `invited`, `already_member` or the validation code", body = Page<InvitationResult>)))]
pub async fn invite(
    State(s): State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
    Json(body): Json<InvitationBody>,
) -> Result<(StatusCode, Json<Page<InvitationResult>>), ApiError> {
    let items = s
        .blocking(move |p, now| p.invite(&auth.caller, &org, &body.emails, now))
        .await?;
    Ok((StatusCode::CREATED, Json(whole(items))))
}

#[utoipa::path(get, path = "/v1/organisations/{org}/members", tag = "memberships",
    security(("bearer" = [])),
    params(("org" = String, Path), PageParams),
    responses((status = 200, body = Page<Member>)))]
pub async fn members(
    State(s): State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
    Query(q): Query<PageParams>,
) -> Result<Json<Page<Member>>, ApiError> {
    let page = q.page();
    Ok(Json(
        s.blocking(move |p, _| p.members(&auth.caller, &org, &page))
            .await?,
    ))
}

#[utoipa::path(get, path = "/v1/organisations/{org}/privilege-requests", tag = "memberships",
    security(("bearer" = [])),
    params(("org" = String, Path)),
    responses((status = 200, description = "Open privilege requests of the organisation's members", body = Page<PrivilegeRequest>)))]
pub async fn privilege_requests(
    State(s): State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
) -> Result<Json<Page<PrivilegeRequest>>, ApiError> {
    let items = s
        .blocking(move |p, _| p.privilege_requests(&auth.caller, &org))
        .await?;
    Ok(Json(whole(items)))
}

#[utoipa::path(get, path = "/v1/organisations/{org}/audit", tag = "memberships",
    security(("bearer" = [])),
    params(("org" = String, Path), PageParams),
    responses((status = 200, description = "Newest first", body = Page<AuditEntry>)))]
pub async fn audit(
    State(s): State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
    Query(q): Query<PageParams>,
) -> Result<Json<Page<AuditEntry>>, ApiError> {
    let page = q.page();
    Ok(Json(
        s.blocking(move |p, _| p.audit(&auth.caller, &org, &page))
            .await?,
    ))
}

#[utoipa::path(get, path = "/v1/organisations/{org}/delegation", operation_id = "get_delegation", tag = "pending work",
    security(("bearer" = [])),
    params(("org" = String, Path)),
    responses(
        (status = 200, description = "The organisation's delegation, to its administrators and its delegate", body = Delegation),
    ))]
pub async fn delegation(
    State(s): State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
) -> Result<Json<Delegation>, ApiError> {
    Ok(Json(
        s.blocking(move |p, _| p.delegation(&auth.caller, &org))
            .await?,
    ))
}

#[utoipa::path(put, path = "/v1/organisations/{org}/delegation", operation_id = "set_delegation", tag = "pending work",
    security(("bearer" = [])),
    params(("org" = String, Path)),
    request_body = DelegationInput,
    responses(
        (status = 200, description = "The delegation, replacing any the organisation had; a period that has begun is active at once and the waiting queue is the delegate's", body = Delegation),
    ))]
pub async fn set_delegation(
    State(s): State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
    Json(body): Json<DelegationInput>,
) -> Result<Json<Delegation>, ApiError> {
    Ok(Json(
        s.blocking(move |p, now| p.set_delegation(&auth.caller, &org, &body, now))
            .await?,
    ))
}

#[utoipa::path(delete, path = "/v1/organisations/{org}/delegation", operation_id = "end_delegation", tag = "pending work",
    security(("bearer" = [])),
    params(("org" = String, Path)),
    responses((status = 204, description = "Ended: the queue is back with the organisation's administrators")))]
pub async fn end_delegation(
    State(s): State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
) -> Result<StatusCode, ApiError> {
    s.blocking(move |p, now| p.end_delegation(&auth.caller, &org, now))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/organisations/{org}/ppc-handover", operation_id = "offer_handover", tag = "pending work",
    security(("bearer" = [])),
    params(("org" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes a repeat return the first answer")),
    request_body = HandoverOffer,
    responses(
        (status = 201, description = "Offered: the role moves when the member accepts; an open offer is replaced", body = Handover),
    ))]
pub async fn offer_handover(
    State(s): State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
    Json(body): Json<HandoverOffer>,
) -> Result<(StatusCode, Json<Handover>), ApiError> {
    let h = s
        .blocking(move |p, now| p.offer_handover(&auth.caller, &org, &body.to_membership_id, now))
        .await?;
    Ok((StatusCode::CREATED, Json(h)))
}
