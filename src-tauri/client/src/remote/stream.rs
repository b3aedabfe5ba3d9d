//! `GET /v1/events` as a server-sent event stream (`Accept: text/event-stream`), followed with
//! reconnects and `Last-Event-ID`, so a dropped connection or a server restart loses nothing.
//!
//! The blocking client cannot be interrupted in the middle of a read, so each connection is read
//! on a thread of its own that hands frames over a channel; the follow waits on the channel in
//! short ticks and can stop at once. A reader left behind by a stop ends at the server's next
//! keep-alive (every 15 s), when it finds nobody listening and drops the connection.
use std::io::{BufRead, BufReader};
use std::ops::ControlFlow;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use membership::{Error, Event, Secret};
use reqwest::blocking::Client;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CACHE_CONTROL, RETRY_AFTER};
use reqwest::Url;

use super::errors::{self, Failure};
use super::{retry, tls_config, unauthenticated, Remote};
use crate::follow::{backoff, is_transient, Heard, Stop, TICK};

/// The server sends a keep-alive comment every 15 s; this long without a byte means the
/// connection is dead even if TCP has not noticed yet.
const SILENCE: Duration = Duration::from_secs(45);

/// A connection that lived this long (or delivered an event) was not a failure: the backoff
/// starts again from its shortest wait.
const HEALTHY: Duration = Duration::from_secs(10);

/// One message of the stream, as the SSE format defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
}

/// The line-by-line SSE parser (the WHATWG "event stream interpretation"): fields accumulate
/// until a blank line dispatches them; comments (`:`) are keep-alives.
#[derive(Debug, Default)]
pub(crate) struct Parser {
    id: Option<String>,
    event: Option<String>,
    data: Option<String>,
}

/// What one line meant.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line {
    Message(Message),
    KeepAlive,
    Nothing,
}

impl Parser {
    pub fn line(&mut self, raw: &str) -> Line {
        let line = raw.strip_suffix('\n').unwrap_or(raw);
        let line = line.strip_suffix('\r').unwrap_or(line);
        let line = line.strip_prefix('\u{feff}').unwrap_or(line);
        if line.is_empty() {
            return match self.data.take() {
                Some(data) => Line::Message(Message {
                    id: self.id.take(),
                    event: self.event.take(),
                    data,
                }),
                None => {
                    self.id = None;
                    self.event = None;
                    Line::Nothing
                }
            };
        }
        if line.starts_with(':') {
            return Line::KeepAlive;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "data" => match &mut self.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            },
            "event" => self.event = Some(value.to_owned()),
            // An id with a NUL is ignored, as the format says.
            "id" if !value.contains('\0') => self.id = Some(value.to_owned()),
            _ => {}
        }
        Line::Nothing
    }
}

/// What a connection's reader thread hands to the follow.
enum Frame {
    /// The server accepted the stream.
    Open,
    /// Any byte arrived (keep-alives included): the connection is alive.
    Alive,
    Event(Event),
    /// A message whose data is not an event this app can read; its id still moves the cursor.
    Skipped(i64),
    /// The connection could not be made or was refused; nothing more comes.
    Failed(Error),
}

impl Remote {
    /// Follows the caller's events after the cursor `after`, calling `on` for each, oldest first,
    /// until `stop` fires or `on` breaks. Blocks the calling thread.
    ///
    /// Transport failures, server errors and busy answers are retried with backoff (up to
    /// [`crate::follow::MAX_BACKOFF`]), each reported as [`Heard::Disconnected`]; every reconnect
    /// resumes with `Last-Event-ID` after the last event delivered. Returns `Err` only for a
    /// refusal that waiting cannot cure: `unauthenticated` when the session ended (renew the
    /// access token and follow again from the caller's cursor), or a forbidden or bad request.
    pub fn follow_stream(
        &self,
        access: &Secret,
        after: Option<i64>,
        stop: &Stop,
        on: &mut dyn FnMut(Heard) -> ControlFlow<()>,
    ) -> Result<(), Error> {
        let http = self.stream_client()?;
        let url = self.url(&["v1", "events"], &[]);
        let mut cursor = after;
        let mut failures = 0u32;
        while !stop.is_stopped() {
            let opened = Instant::now();
            let frames = self.connect(&http, &url, access, cursor);
            let (error, retry_after) = match self.drain(frames, &mut cursor, stop, on) {
                Drained::Stopped => return Ok(()),
                Drained::Ended { delivered } => {
                    if delivered || opened.elapsed() >= HEALTHY {
                        failures = 0;
                    }
                    (errors::unreachable(&self.shown, Failure::Lost), None)
                }
                Drained::Failed(e) if is_transient(&e) => {
                    let wait = e.retry_after_secs().map(Duration::from_secs);
                    (e, wait)
                }
                Drained::Failed(e) => return Err(e),
            };
            let retry_in =
                backoff(failures, retry::unit_random()).max(retry_after.unwrap_or_default());
            failures = failures.saturating_add(1);
            tracing::debug!(
                retry_in_ms = retry_in.as_millis() as u64,
                code = error.code(),
                "event stream interrupted"
            );
            if on(Heard::Disconnected { error, retry_in }).is_break() || stop.sleep(retry_in) {
                return Ok(());
            }
        }
        Ok(())
    }

    /// A client for long-lived streams: the same TLS, agent and redirect rules as [`Remote`]'s
    /// own, but no overall timeout (a stream lasts as long as the session) and TCP keep-alives, so
    /// a connection that died silently is noticed.
    fn stream_client(&self) -> Result<Client, Error> {
        Client::builder()
            .tls_backend_preconfigured(tls_config())
            .connect_timeout(Duration::from_secs(10))
            .timeout(None)
            .tcp_keepalive(Duration::from_secs(30))
            .user_agent(concat!("partner-desk/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|_| {
                Error::new(
                    membership::ErrorKind::Internal,
                    "client_unavailable",
                    "Partner Desk could not set up its network connection. Restart the app; if it goes on, reinstall it.",
                )
            })
    }

    /// Opens one connection on a reader thread of its own; its frames arrive on the receiver.
    fn connect(
        &self,
        http: &Client,
        url: &Url,
        access: &Secret,
        cursor: Option<i64>,
    ) -> Receiver<Frame> {
        let (tx, rx) = mpsc::channel();
        let request = (|| {
            let mut bearer = HeaderValue::from_str(&format!("Bearer {}", access.expose()))
                .map_err(|_| unauthenticated())?;
            bearer.set_sensitive(true);
            let mut r = http
                .get(url.clone())
                .header(ACCEPT, "text/event-stream")
                .header(CACHE_CONTROL, "no-cache")
                .header(AUTHORIZATION, bearer);
            if let Some(id) = cursor {
                r = r.header("Last-Event-ID", id.to_string());
            }
            Ok::<_, Error>(r)
        })();
        let request = match request {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.send(Frame::Failed(e));
                return rx;
            }
        };
        let shown = self.shown.clone();
        let spawned = std::thread::Builder::new()
            .name("event-stream".into())
            .spawn(move || read(request, &shown, &tx));
        if spawned.is_err() {
            let (tx, rx) = mpsc::channel();
            let _ = tx.send(Frame::Failed(errors::unreachable(
                &self.shown,
                Failure::Connect,
            )));
            return rx;
        }
        rx
    }

    /// Hands the frames of one connection to `on` until it ends.
    fn drain(
        &self,
        frames: Receiver<Frame>,
        cursor: &mut Option<i64>,
        stop: &Stop,
        on: &mut dyn FnMut(Heard) -> ControlFlow<()>,
    ) -> Drained {
        let mut heard_from = Instant::now();
        let mut delivered = false;
        loop {
            match frames.recv_timeout(TICK) {
                Ok(frame) => {
                    heard_from = Instant::now();
                    let flow = match frame {
                        Frame::Open => on(Heard::Connected),
                        Frame::Alive => ControlFlow::Continue(()),
                        Frame::Event(e) => {
                            *cursor = Some(e.id);
                            delivered = true;
                            on(Heard::Event(e))
                        }
                        Frame::Skipped(id) => {
                            *cursor = Some(id);
                            ControlFlow::Continue(())
                        }
                        Frame::Failed(e) => return Drained::Failed(e),
                    };
                    if flow.is_break() || stop.is_stopped() {
                        return Drained::Stopped;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    if stop.is_stopped() {
                        return Drained::Stopped;
                    }
                    if heard_from.elapsed() > SILENCE {
                        // Dropping the receiver lets the reader go at its next read.
                        return Drained::Ended { delivered };
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return Drained::Ended { delivered },
            }
        }
    }
}

enum Drained {
    Stopped,
    /// The connection ended or went silent after it was open.
    Ended {
        delivered: bool,
    },
    Failed(Error),
}

/// The reader thread: sends the request, then parses the body line by line into frames until the
/// stream ends or nobody listens any more.
fn read(request: reqwest::blocking::RequestBuilder, shown: &str, tx: &Sender<Frame>) {
    let response = match request.send() {
        Ok(r) => r,
        Err(e) => {
            let failure = if e.is_connect() {
                Failure::Connect
            } else {
                Failure::Lost
            };
            let _ = tx.send(Frame::Failed(errors::unreachable(shown, failure)));
            return;
        }
    };
    let status = response.status().as_u16();
    if status != 200 {
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let body = response.bytes().map(|b| b.to_vec()).unwrap_or_default();
        let _ = tx.send(Frame::Failed(errors::refusal(status, retry_after, &body)));
        return;
    }
    if tx.send(Frame::Open).is_err() {
        return;
    }
    let mut reader = BufReader::new(response);
    let mut parser = Parser::default();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let frame = match parser.line(&String::from_utf8_lossy(&buf)) {
            Line::Message(m) => match serde_json::from_str::<Event>(&m.data) {
                Ok(event) => Frame::Event(event),
                Err(_) => match m.id.as_deref().map(str::parse::<i64>) {
                    Some(Ok(id)) => {
                        tracing::warn!(kind = ?m.event, "skipped an event this version cannot read");
                        Frame::Skipped(id)
                    }
                    _ => Frame::Alive,
                },
            },
            Line::KeepAlive | Line::Nothing => Frame::Alive,
        };
        if tx.send(frame).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(parser: &mut Parser, text: &str) -> Vec<Line> {
        text.split_inclusive('\n').map(|l| parser.line(l)).collect()
    }

    fn messages(text: &str) -> Vec<Message> {
        let mut p = Parser::default();
        feed(&mut p, text)
            .into_iter()
            .filter_map(|l| match l {
                Line::Message(m) => Some(m),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn an_event_as_axum_writes_it_is_read_with_its_id_kind_and_data() {
        let got = messages("id: 42\nevent: association_request.created\ndata: {\"id\":42}\n\n");
        assert_eq!(
            got,
            vec![Message {
                id: Some("42".into()),
                event: Some("association_request.created".into()),
                data: "{\"id\":42}".into(),
            }]
        );
    }

    #[test]
    fn data_lines_join_with_newlines_and_crlf_and_missing_spaces_are_accepted() {
        let got = messages("data:a\r\ndata: b\r\n\r\n");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].data, "a\nb");
        assert_eq!(got[0].id, None);
    }

    #[test]
    fn comments_are_keep_alives_and_a_blank_line_without_data_dispatches_nothing() {
        let mut p = Parser::default();
        assert_eq!(p.line(":\n"), Line::KeepAlive);
        assert_eq!(p.line(": keep-alive\n"), Line::KeepAlive);
        assert_eq!(p.line("id: 7\n"), Line::Nothing);
        assert_eq!(p.line("\n"), Line::Nothing, "no data: nothing to dispatch");
        assert_eq!(
            messages("data: x\n\n"),
            vec![Message {
                id: None,
                event: None,
                data: "x".into()
            }],
            "the id of an undispatched block does not leak into the next"
        );
    }

    #[test]
    fn unknown_fields_and_ids_with_nul_are_ignored() {
        let got = messages("retry: 1000\nfoo: bar\nid: 1\0\ndata: y\n\n");
        assert_eq!(got[0].id, None);
        assert_eq!(got[0].data, "y");
    }

    #[test]
    fn two_messages_in_a_row_keep_their_own_fields() {
        let got = messages("id: 1\nevent: a\ndata: one\n\nid: 2\ndata: two\n\n");
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].id.as_deref(), got[0].event.as_deref()),
            (Some("1"), Some("a"))
        );
        assert_eq!(
            (got[1].id.as_deref(), got[1].event.as_deref()),
            (Some("2"), None)
        );
    }
}
