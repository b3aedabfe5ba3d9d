//! Every route the server serves, in one table: the router is built from it and the OpenAPI test
//! checks each entry against the document.
pub mod accounts;
pub mod events;
pub mod memberships;
pub mod organisations;
pub mod requests;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put, MethodRouter};

use crate::dto::{Health, VerifyPageParams};
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::state::AppState;

pub struct Route {
    pub method: Method,
    /// In axum's and OpenAPI's shared syntax (`/v1/organisations/{org}`).
    pub path: &'static str,
    pub handler: MethodRouter<AppState>,
    /// A creating write, or the profile edit: honours `Idempotency-Key`.
    pub idempotent: bool,
    /// The refusals of this operation's own rules: status and the `error.code` values it may
    /// carry. Those every operation of its shape shares (401, malformed bodies, keys, timeouts)
    /// are added by the OpenAPI document from the operation itself (`openapi::Refusals`).
    pub refuses: &'static [(u16, &'static [&'static str])],
    /// Needs `Authorization: Bearer` (every route but health, the web link page, creating an
    /// account and signing in).
    pub signed_in: bool,
}

impl Route {
    fn refuses(self, refuses: &'static [(u16, &'static [&'static str])]) -> Self {
        Self { refuses, ..self }
    }

    fn anonymous(self) -> Self {
        Self {
            signed_in: false,
            ..self
        }
    }
}

fn r(method: Method, path: &'static str, handler: MethodRouter<AppState>) -> Route {
    Route {
        method,
        path,
        handler,
        idempotent: false,
        refuses: &[],
        signed_in: true,
    }
}

fn creating(path: &'static str, handler: MethodRouter<AppState>) -> Route {
    Route {
        idempotent: true,
        ..r(Method::POST, path, handler)
    }
}

pub fn table() -> Vec<Route> {
    use Method as M;
    vec![
        r(M::GET, "/healthz", get(health))
            .anonymous()
            .refuses(&[(503, &["database_unavailable"])]),
        r(M::GET, "/verify", get(verify_page)).anonymous(),
        creating("/v1/accounts", post(accounts::create_account))
            .anonymous()
            .refuses(&[
                (409, &["email_taken"]),
                (422, &["invalid_email", "invalid_name", "weak_password"]),
                (429, &["rate_limited"]),
            ]),
        r(M::POST, "/v1/sessions", post(accounts::sign_in))
            .anonymous()
            .refuses(&[(401, &["invalid_credentials"]), (429, &["rate_limited"])]),
        r(M::POST, "/v1/sessions/refresh", post(accounts::refresh))
            .anonymous()
            .refuses(&[(401, &["invalid_refresh_token"]), (429, &["rate_limited"])]),
        r(
            M::DELETE,
            "/v1/sessions/current",
            delete(accounts::sign_out),
        ),
        r(M::GET, "/v1/me", get(accounts::me)),
        creating("/v1/organisations", post(organisations::create)).refuses(&[(
            422,
            &[
                "invalid_organisation_name",
                "invalid_country",
                "invalid_city",
                "invalid_address",
                "invalid_phone",
                "invalid_website",
            ],
        )]),
        r(M::GET, "/v1/organisations", get(organisations::lookup)).refuses(&[
            (400, &["empty_lookup", "invalid_cursor"]),
            (
                422,
                &["invalid_partner_id", "invalid_country", "invalid_city"],
            ),
            (429, &["rate_limited"]),
        ]),
        r(
            M::GET,
            "/v1/organisations/{org}",
            get(organisations::get_one),
        )
        .refuses(&[(404, &["not_found"])]),
        r(
            M::GET,
            "/v1/organisations/{org}/domains",
            get(organisations::domains),
        )
        .refuses(&[(403, &["forbidden"]), (404, &["not_found"])]),
        creating(
            "/v1/organisations/{org}/domains",
            post(organisations::add_domain),
        )
        .refuses(&[
            (403, &["forbidden"]),
            (404, &["not_found"]),
            (409, &["domain_claimed"]),
            (422, &["invalid_domain", "public_suffix", "freemail_domain"]),
        ]),
        r(
            M::POST,
            "/v1/organisations/{org}/domains/{domain}/check",
            post(organisations::check_domain),
        )
        .refuses(&[
            (403, &["forbidden"]),
            (404, &["not_found"]),
            (409, &["challenge_ended"]),
            (429, &["check_too_soon"]),
        ]),
        r(
            M::DELETE,
            "/v1/organisations/{org}/domains/{domain}",
            delete(organisations::remove_domain),
        )
        .refuses(&[(403, &["forbidden"]), (404, &["not_found"])]),
        r(
            M::POST,
            "/v1/organisations/{org}/association-preview",
            post(organisations::preview),
        )
        .refuses(&[(404, &["not_found"]), (422, &["invalid_email"])]),
        r(
            M::GET,
            "/v1/organisations/{org}/association-requests",
            get(organisations::queue),
        )
        .refuses(&[
            (400, &["invalid_status", "invalid_cursor"]),
            (403, &["forbidden"]),
            (404, &["not_found"]),
        ]),
        r(
            M::POST,
            "/v1/organisations/{org}/association-requests/decisions",
            post(requests::decide_many),
        )
        .refuses(&[
            (403, &["forbidden"]),
            (404, &["not_found"]),
            (422, &["invalid_decisions"]),
        ]),
        r(
            M::GET,
            "/v1/organisations/{org}/delegation",
            get(organisations::delegation),
        )
        .refuses(&[(403, &["forbidden"]), (404, &["not_found"])]),
        r(
            M::PUT,
            "/v1/organisations/{org}/delegation",
            put(organisations::set_delegation),
        )
        .refuses(&[
            (403, &["forbidden"]),
            (404, &["not_found"]),
            (409, &["not_active_member", "delegate_is_you"]),
            (422, &["invalid_period"]),
        ]),
        r(
            M::DELETE,
            "/v1/organisations/{org}/delegation",
            delete(organisations::end_delegation),
        )
        .refuses(&[(403, &["forbidden"]), (404, &["not_found"])]),
        creating(
            "/v1/organisations/{org}/ppc-handover",
            post(organisations::offer_handover),
        )
        .refuses(&[
            (403, &["forbidden"]),
            (404, &["not_found"]),
            (409, &["not_active_member", "already_ppc"]),
        ]),
        r(
            M::POST,
            "/v1/ppc-handovers/{id}/accept",
            post(requests::accept_handover),
        )
        .refuses(&[
            (403, &["forbidden"]),
            (404, &["not_found"]),
            (
                409,
                &["handover_closed", "handover_stale", "not_active_member"],
            ),
        ]),
        r(
            M::POST,
            "/v1/ppc-handovers/{id}/decline",
            post(requests::decline_handover),
        )
        .refuses(&[
            (403, &["forbidden"]),
            (404, &["not_found"]),
            (409, &["handover_closed"]),
        ]),
        creating(
            "/v1/organisations/{org}/invitations",
            post(organisations::invite),
        )
        .refuses(&[
            (403, &["forbidden"]),
            (404, &["not_found"]),
            (422, &["invalid_invitation"]),
        ]),
        r(
            M::GET,
            "/v1/organisations/{org}/members",
            get(organisations::members),
        )
        .refuses(&[
            (400, &["invalid_cursor"]),
            (403, &["forbidden"]),
            (404, &["not_found"]),
        ]),
        r(
            M::GET,
            "/v1/organisations/{org}/privilege-requests",
            get(organisations::privilege_requests),
        )
        .refuses(&[(403, &["forbidden"]), (404, &["not_found"])]),
        r(
            M::GET,
            "/v1/organisations/{org}/audit",
            get(organisations::audit),
        )
        .refuses(&[
            (400, &["invalid_cursor"]),
            (403, &["forbidden"]),
            (404, &["not_found"]),
        ]),
        creating("/v1/association-requests", post(requests::create)).refuses(&[
            (404, &["not_found"]),
            (409, &["already_member", "request_open", "recently_denied"]),
            (
                422,
                &[
                    "invalid_email",
                    "invalid_name",
                    "invalid_phone",
                    "invalid_job_title",
                ],
            ),
            (429, &["rate_limited"]),
        ]),
        r(
            M::GET,
            "/v1/association-requests/{id}",
            get(requests::get_one),
        )
        .refuses(&[(404, &["not_found"])]),
        r(
            M::POST,
            "/v1/association-requests/{id}/approve",
            post(requests::approve),
        )
        .refuses(&[
            (403, &["forbidden"]),
            (404, &["not_found"]),
            (409, &["not_pending"]),
        ]),
        r(
            M::POST,
            "/v1/association-requests/{id}/deny",
            post(requests::deny),
        )
        .refuses(&[
            (403, &["forbidden"]),
            (404, &["not_found"]),
            (409, &["not_pending"]),
            (422, &["invalid_reason"]),
        ]),
        r(
            M::POST,
            "/v1/association-requests/{id}/withdraw",
            post(requests::withdraw),
        )
        .refuses(&[
            (403, &["forbidden"]),
            (404, &["not_found"]),
            (409, &["not_open"]),
        ]),
        creating(
            "/v1/association-requests/{id}/ask-again",
            post(requests::ask_again),
        )
        .refuses(&[
            (403, &["forbidden"]),
            (404, &["not_found"]),
            (
                409,
                &[
                    "not_expired",
                    "already_member",
                    "request_open",
                    "recently_denied",
                ],
            ),
            (429, &["rate_limited"]),
        ]),
        r(
            M::POST,
            "/v1/association-requests/{id}/resend-verification",
            post(requests::resend),
        )
        .refuses(&[
            (403, &["forbidden"]),
            (404, &["not_found"]),
            (409, &["not_awaiting_verification"]),
            (429, &["rate_limited", "resend_cooldown"]),
        ]),
        r(M::POST, "/v1/verifications", post(requests::verify)).refuses(&[
            (403, &["token_for_other_account"]),
            (404, &["invalid_token", "not_found"]),
            (410, &["token_used", "token_expired"]),
        ]),
        r(
            M::GET,
            "/v1/memberships/{id}/profile",
            get(memberships::profile),
        )
        .refuses(&[(404, &["not_found"])]),
        // Keyed too: an offline edit sent again after a crash must not be applied twice.
        Route {
            idempotent: true,
            ..r(
                M::PATCH,
                "/v1/memberships/{id}/profile",
                patch(memberships::update_profile),
            )
        }
        .refuses(&[
            (400, &["invalid_if_match"]),
            (403, &["forbidden"]),
            (404, &["not_found"]),
            (410, &["membership_removed"]),
            (412, &["revision_mismatch"]),
            (
                422,
                &[
                    "invalid_name",
                    "invalid_job_title",
                    "invalid_phone",
                    "invalid_language",
                    "mcp_id_not_patchable",
                ],
            ),
            (428, &["if_match_required"]),
        ]),
        r(
            M::PUT,
            "/v1/memberships/{id}/mcp-id",
            put(memberships::link_mcp_id),
        )
        .refuses(&[
            (403, &["forbidden"]),
            (404, &["not_found"]),
            (409, &["mcp_id_linked_elsewhere"]),
            (410, &["membership_removed"]),
            (422, &["invalid_mcp_id"]),
        ]),
        r(
            M::DELETE,
            "/v1/memberships/{id}/mcp-id",
            delete(memberships::unlink_mcp_id),
        )
        .refuses(&[
            (403, &["forbidden"]),
            (404, &["not_found"]),
            (410, &["membership_removed"]),
        ]),
        r(
            M::PUT,
            "/v1/memberships/{id}/privileges/{privilege}",
            put(memberships::grant_privilege),
        )
        .refuses(&[
            (422, &["invalid_privilege"]),
            (403, &["forbidden"]),
            (404, &["not_found"]),
            (410, &["membership_removed"]),
        ]),
        r(
            M::DELETE,
            "/v1/memberships/{id}/privileges/{privilege}",
            delete(memberships::revoke_privilege),
        )
        .refuses(&[
            (422, &["invalid_privilege"]),
            (403, &["forbidden"]),
            (404, &["not_found"]),
            (409, &["last_approver"]),
            (410, &["membership_removed"]),
        ]),
        creating(
            "/v1/memberships/{id}/privilege-requests",
            post(memberships::request_privilege),
        )
        .refuses(&[
            (403, &["forbidden"]),
            (404, &["not_found"]),
            (409, &["already_granted"]),
            (410, &["membership_removed"]),
            (422, &["invalid_note"]),
        ]),
        r(
            M::DELETE,
            "/v1/memberships/{id}",
            delete(memberships::remove),
        )
        .refuses(&[
            (404, &["not_found"]),
            (409, &["last_approver"]),
            (410, &["membership_removed"]),
        ]),
        r(M::GET, "/v1/events", get(events::events)).refuses(&[(400, &["invalid_cursor"])]),
    ]
}

/// The client's IP address, for per-address rate limits: the peer, or behind a trusted reverse
/// proxy the last `X-Forwarded-For` entry (the one that proxy added).
pub struct ClientIp(pub String);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let forwarded = state
            .trust_forwarded_for
            .then(|| parts.headers.get("x-forwarded-for")?.to_str().ok())
            .flatten()
            .and_then(|v| v.rsplit(',').next())
            .and_then(|ip| ip.trim().parse::<std::net::IpAddr>().ok());
        let peer = || {
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip())
        };
        Ok(Self(
            forwarded
                .or_else(peer)
                .map(|ip| ip.to_string())
                .unwrap_or_else(|| "unknown".into()),
        ))
    }
}

#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = Health)))]
pub async fn health(State(s): State<AppState>) -> Result<Json<Health>, ApiError> {
    // Not behind the operations' queue (`AppState::blocking` waits for a slot): a burst of
    // sign-ins (argon2) fills every slot, and a load balancer asking whether this instance is
    // alive must hear yes while it is, or it takes the instance out.
    let programme = s.programme.clone();
    let answered = tokio::task::spawn_blocking(move || programme.is_empty())
        .await
        .map_err(|_| membership::Error::internal("the health check panicked"))
        .and_then(|r| r);
    answered.map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            "The membership database does not answer.",
        )
    })?;
    Ok(Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    }))
}

/// The web link of the verification mail: a page that hands the token to the app. It does not
/// verify by itself: that needs the requester signed in, which the app is.
#[utoipa::path(get, path = "/verify", tag = "operations",
    params(VerifyPageParams),
    responses((status = 200, description = "An HTML page that opens Partner Desk with the link", content_type = "text/html", body = String)))]
pub async fn verify_page(Query(q): Query<VerifyPageParams>) -> Response {
    // Only base64url characters can be in a token; anything else is not put on the page.
    let token = q
        .token
        .filter(|t| !t.is_empty() && t.len() <= 128)
        .filter(|t| {
            t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    let body = match token {
        Some(t) => format!(
            "<p><a href=\"partnerdesk://verify?token={t}\">Open Partner Desk to complete your individual profile</a></p>\
             <p>If Partner Desk does not open, sign in to it with the account that made the request and paste this code on its verification screen:</p>\
             <p><code>{t}</code></p>"
        ),
        None => "<p>This link is incomplete. Open the link in your newest verification mail, or paste its code into Partner Desk.</p>".to_owned(),
    };
    (
        [(header::CACHE_CONTROL, "no-store"), (header::REFERRER_POLICY, "no-referrer")],
        Html(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Verify your association · Partner Desk</title></head><body><h1>Verify your association</h1>{body}</body></html>"
        )),
    )
        .into_response()
}
