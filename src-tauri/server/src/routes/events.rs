//! `GET /v1/events`: the caller's events as server-sent events, resumable with `Last-Event-ID`
//! (or `?cursor=`). A stream wakes when this server writes, and polls on a slow interval for
//! writes made by other processes on the same database.
use std::collections::VecDeque;
use std::convert::Infallible;

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use membership::{Event, Page, Programme, Secret};
use tokio::sync::watch;

use crate::dto::{EventParams, StreamEvent};
use crate::error::ApiError;
use crate::extract::{Auth, Json, Query};
use crate::state::AppState;

const BATCH: u32 = 100;

#[utoipa::path(get, path = "/v1/events", tag = "events",
    security(("bearer" = [])),
    params(EventParams, ("Last-Event-ID" = Option<String>, Header, description = "The id of the last event received; the stream resumes after it")),
    responses(
        (status = 200, description = "`text/event-stream`: each event has `id` (the cursor), `event` (the kind: `association_request.created`, `association_request.decided`, `privilege_request.created`, `membership.privileges_changed`, `profile.updated`, …) and `data`, the event as JSON. With `Accept: application/json` instead, one page of events.",
            content((StreamEvent = "text/event-stream"), (Page<Event> = "application/json"))),
    ))]
pub async fn events(
    State(s): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Query(q): Query<EventParams>,
) -> Result<Response, ApiError> {
    let last_event_id = match headers.get("last-event-id").map(|v| v.to_str()) {
        None => None,
        Some(Ok(v)) => Some(v.trim().to_owned()).filter(|v| !v.is_empty()),
        // Not text at all: not an id this server ever sent.
        Some(Err(_)) => return Err(membership::Error::invalid_cursor().into()),
    };
    let raw = last_event_id.or(q.cursor);
    let after = Programme::parse_event_cursor(raw.as_deref())?;

    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept.contains("application/json") && !accept.contains("text/event-stream") {
        let caller = auth.caller;
        let items = s
            .blocking(move |p, _| p.events(&caller, after, BATCH))
            .await?;
        let next_cursor = items.last().map(|e| e.id.to_string()).or(raw);
        return Ok(Json(Page { items, next_cursor }).into_response());
    }

    let follow = Follow {
        changes: s.changes.subscribe(),
        shutdown: s.shutdown.clone(),
        state: s,
        token: auth.token,
        cursor: after,
        pending: VecDeque::new(),
    };
    let stream = futures_util::stream::unfold(follow, |mut f| async move {
        let event = f.next().await?;
        Some((Ok::<_, Infallible>(event), f))
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

struct Follow {
    state: AppState,
    token: Secret,
    cursor: Option<i64>,
    pending: VecDeque<Event>,
    changes: watch::Receiver<u64>,
    shutdown: watch::Receiver<bool>,
}

impl Follow {
    /// The next event, or `None` when the stream should end: the session ended, or the server is
    /// shutting down.
    async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                self.cursor = Some(e.id);
                let data = serde_json::to_string(&e).ok()?;
                return Some(
                    SseEvent::default()
                        .id(e.id.to_string())
                        .event(&e.kind)
                        .data(data),
                );
            }
            if *self.shutdown.borrow() {
                return None;
            }
            // Mark the changes seen before reading, so a write during the read wakes us again.
            self.changes.borrow_and_update();
            let (token, after) = (self.token.clone(), self.cursor);
            // The session is checked on every read: a stream ends when its session does.
            let batch = self
                .state
                .blocking(move |p, now| {
                    let caller = p.authenticate(&token, now)?;
                    p.events(&caller, after, BATCH)
                })
                .await
                .ok()?;
            if !batch.is_empty() {
                self.pending.extend(batch);
                continue;
            }
            tokio::select! {
                _ = self.changes.changed() => {}
                _ = tokio::time::sleep(self.state.event_poll) => {}
                _ = self.shutdown.changed() => return None,
            }
        }
    }
}
