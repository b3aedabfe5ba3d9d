//! The router and the layers around every route: logging, JSON errors for bare statuses, the
//! request timeout, the body limit and the write notifications for the event streams.
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::config::Settings;
use crate::error::ApiError;
use crate::state::AppState;
use crate::{idempotency, routes};

pub fn router(state: AppState, settings: &Settings) -> Router {
    let mut api = Router::new();
    for route in routes::table() {
        let handler = if route.idempotent {
            // `route_layer`: only the route's own method is keyed; any other method on the path
            // is answered 405 without looking at a key.
            route.handler.route_layer(from_fn_with_state(
                (state.clone(), !route.signed_in),
                idempotency::layer,
            ))
        } else {
            route.handler
        };
        api = api.route(route.path, handler);
    }
    api.fallback(|| async { ApiError::for_status(StatusCode::NOT_FOUND) })
        .layer(from_fn_with_state(state.clone(), notify_writes))
        .layer(RequestBodyLimitLayer::new(settings.body_limit_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            settings.request_timeout(),
        ))
        .layer(from_fn(json_errors))
        .layer(from_fn(log_requests))
        .with_state(state)
}

/// Method, route pattern, status and latency. Never the URI (a query may hold a token), headers
/// or bodies.
async fn log_requests(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "<unmatched>".to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_millis() as u64;
    if response.status().is_server_error() {
        tracing::error!(%method, route, status, latency_ms, "request");
    } else {
        tracing::info!(%method, route, status, latency_ms, "request");
    }
    response
}

/// Gives answers made outside the handlers (no route, wrong method, timeout, body too large) the
/// same JSON error body as every other refusal.
async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !status.is_client_error() && !status.is_server_error() || is_json {
        return response;
    }
    let mut replacement = ApiError::for_status(status).into_response();
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(v) = response.headers().get(&name) {
            replacement.headers_mut().insert(name, v.clone());
        }
    }
    replacement
}

/// Wakes the event streams after a write went through.
async fn notify_writes(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let write = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let response = next.run(request).await;
    if write && response.status().is_success() {
        state.notify_change();
    }
    response
}
