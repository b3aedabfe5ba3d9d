//! The remote backend's transport against a scripted HTTP server on loopback: which calls are
//! retried, with which `Idempotency-Key`, how `Retry-After` is honoured, and how failures to reach
//! the server read. The contract itself (the same answers as the embedded backend) is tested
//! against the real server in the server package's contract suite.
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use client::{Backend, Remote, RemoteOptions, RetryPolicy, UNREACHABLE};
use membership::{ErrorKind, Secret};

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One scripted answer: status, extra headers, JSON body. `None` never answers.
type Answer = Option<(u16, Vec<(&'static str, String)>, String)>;

struct Stub {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Stub {
    fn start(script: Vec<Answer>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            let mut script = script.into_iter();
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    continue;
                }
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or_default().to_owned();
                let path = parts.next().unwrap_or_default().to_owned();
                let mut headers = Vec::new();
                loop {
                    let mut h = String::new();
                    reader.read_line(&mut h).expect("a header line");
                    let h = h.trim_end();
                    if h.is_empty() {
                        break;
                    }
                    if let Some((n, v)) = h.split_once(':') {
                        headers.push((n.trim().to_owned(), v.trim().to_owned()));
                    }
                }
                let length = headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, v)| v.parse::<usize>().ok())
                    .unwrap_or(0);
                let mut body = vec![0; length];
                reader.read_exact(&mut body).expect("the body");
                log.lock().unwrap().push(Seen {
                    method,
                    path,
                    headers,
                });
                let answer = script.next().unwrap_or(Some((500, vec![], String::new())));
                let Some((status, extra, body)) = answer else {
                    // Hold the connection open without answering.
                    std::thread::sleep(Duration::from_secs(3));
                    continue;
                };
                let mut out = stream;
                let mut head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
                    body.len()
                );
                for (n, v) in extra {
                    head.push_str(&format!("{n}: {v}\r\n"));
                }
                head.push_str("\r\n");
                let _ = out.write_all(head.as_bytes());
                let _ = out.write_all(body.as_bytes());
            }
        });
        Self { addr, seen }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn ok(status: u16, body: &str) -> Answer {
    Some((status, vec![], body.to_owned()))
}

fn refused(status: u16, code: &str) -> Answer {
    Some((
        status,
        vec![],
        format!(r#"{{"error":{{"code":"{code}","message":"Refused."}}}}"#),
    ))
}

const ME: &str = r#"{"account":{"account_id":"acc_1","email":"a@example.org","display_name":"A"},"memberships":[],"requests":[]}"#;

fn fast() -> RemoteOptions {
    RemoteOptions {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_millis(1500),
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(100),
            max_retry_after: Duration::from_secs(2),
        },
    }
}

fn token() -> Secret {
    Secret::new("access-token-value")
}

#[test]
fn a_read_is_retried_after_a_busy_answer_and_sends_the_bearer_token() {
    let stub = Stub::start(vec![refused(503, "backend_unavailable"), ok(200, ME)]);
    let remote = Remote::with_options(&stub.url(), fast()).expect("a valid URL");
    let me = remote.me(&token()).expect("the second attempt answers");
    assert_eq!(me.account.account_id, "acc_1");
    let seen = stub.seen();
    assert_eq!(seen.len(), 2, "one retry: {seen:?}");
    assert!(seen.iter().all(|s| s.method == "GET" && s.path == "/v1/me"));
    assert_eq!(
        seen[0].header("authorization"),
        Some("Bearer access-token-value")
    );
    assert_eq!(seen[0].header("accept"), Some("application/json"));
}

#[test]
fn a_write_without_a_key_is_sent_once_whatever_happens() {
    let stub = Stub::start(vec![refused(503, "backend_unavailable")]);
    let remote = Remote::with_options(&stub.url(), fast()).expect("a valid URL");
    let e = remote.approve(&token(), "req_1").expect_err("refused");
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert_eq!(stub.seen().len(), 1, "an approval is never repeated");
    assert!(stub.seen()[0].header("idempotency-key").is_none());
}

#[test]
fn a_creating_write_is_retried_with_the_same_key_and_the_next_call_gets_a_new_one() {
    let stub = Stub::start(vec![
        refused(502, "backend_unavailable"),
        ok(201, r#"{"account_id":"acc_9"}"#),
        ok(201, r#"{"account_id":"acc_10"}"#),
    ]);
    let remote = Remote::with_options(&stub.url(), fast()).expect("a valid URL");
    let pw = Secret::new("partnerdesk-demo");
    let id = remote
        .create_account("new@example.org", "New", &pw)
        .expect("created on the retry");
    assert_eq!(id, "acc_9");
    remote
        .create_account("other@example.org", "Other", &pw)
        .expect("created");
    let seen = stub.seen();
    assert_eq!(seen.len(), 3);
    let keys: Vec<&str> = seen
        .iter()
        .map(|s| {
            s.header("idempotency-key")
                .expect("every create sends a key")
        })
        .collect();
    assert_eq!(keys[0], keys[1], "a retry reuses its call's key");
    assert_ne!(keys[1], keys[2], "a new call has a new key");
    assert_eq!(keys[0].len(), 36, "UUID-like: {}", keys[0]);
}

#[test]
fn retry_after_is_waited_for_within_the_cap_and_handed_to_the_caller_beyond_it() {
    let stub = Stub::start(vec![
        Some((
            429,
            vec![("Retry-After", "1".into())],
            r#"{"error":{"code":"rate_limited","message":"Wait."}}"#.into(),
        )),
        ok(200, ME),
        Some((
            429,
            vec![("Retry-After", "120".into())],
            r#"{"error":{"code":"rate_limited","message":"Wait."}}"#.into(),
        )),
    ]);
    let remote = Remote::with_options(&stub.url(), fast()).expect("a valid URL");
    let started = Instant::now();
    remote.me(&token()).expect("answered after the wait");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited for Retry-After"
    );

    let e = remote.me(&token()).expect_err("too long to wait");
    assert_eq!(
        (e.kind(), e.code()),
        (ErrorKind::RateLimited, "rate_limited")
    );
    assert_eq!(e.retry_after_secs(), Some(120));
    assert_eq!(stub.seen().len(), 3);
}

#[test]
fn a_server_that_cannot_be_reached_gives_backend_unreachable_with_what_to_do() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("a port");
        l.local_addr().expect("addr").port()
    };
    let remote =
        Remote::with_options(&format!("http://127.0.0.1:{port}"), fast()).expect("a valid URL");
    let e = remote.me(&token()).expect_err("nobody listens");
    assert_eq!((e.kind(), e.code()), (ErrorKind::Unavailable, UNREACHABLE));
    assert!(
        e.message().contains("could not be reached") && e.message().contains("Settings"),
        "{}",
        e.message()
    );
    assert_eq!(
        remote.health().expect_err("unreachable").code(),
        UNREACHABLE
    );
}

#[test]
fn a_write_whose_answer_never_comes_is_not_repeated_and_says_to_check() {
    let stub = Stub::start(vec![None]);
    let remote = Remote::with_options(&stub.url(), fast()).expect("a valid URL");
    let e = remote.withdraw(&token(), "req_1").expect_err("timed out");
    assert_eq!(e.code(), UNREACHABLE);
    assert!(
        e.message().contains("whether it was made"),
        "{}",
        e.message()
    );
    assert_eq!(stub.seen().len(), 1);
}

#[test]
fn refusals_keep_the_servers_code_and_kind() {
    let stub = Stub::start(vec![
        refused(409, "request_open"),
        refused(410, "token_used"),
        Some((500, vec![], "<html>oops</html>".into())),
    ]);
    let remote = Remote::with_options(&stub.url(), fast()).expect("a valid URL");
    let e = remote.withdraw(&token(), "r").expect_err("409");
    assert_eq!((e.kind(), e.code()), (ErrorKind::Conflict, "request_open"));
    let e = remote
        .verify(&token(), &Secret::new("code"))
        .expect_err("410");
    assert_eq!((e.kind(), e.code()), (ErrorKind::Gone, "token_used"));
    let e = remote.organisation(&token(), "o").expect_err("500");
    assert_eq!((e.kind(), e.code()), (ErrorKind::Internal, "internal"));
}

#[test]
fn ids_are_encoded_into_the_path_under_the_base_path() {
    let stub = Stub::start(vec![ok(204, ""), ok(200, r#"{"healthy":true}"#)]);
    let remote =
        Remote::with_options(&format!("{}/partner-desk", stub.url()), fast()).expect("a valid URL");
    remote
        .remove_domain(&token(), "org/1", "b\u{fc}cher.example")
        .expect("removed");
    remote.health().expect("healthy");
    let seen = stub.seen();
    assert_eq!(seen[0].method, "DELETE");
    assert_eq!(
        seen[0].path,
        "/partner-desk/v1/organisations/org%2F1/domains/b%C3%BCcher.example"
    );
    assert_eq!(seen[1].path, "/partner-desk/healthz");
}

#[test]
fn only_http_and_https_server_urls_are_accepted() {
    for bad in [
        "ftp://members.example.com",
        "file:///etc/passwd",
        "members.example.com",
        "localhost:8080",
        "http://",
        "https://user:secret@members.example.com",
        "https://members.example.com/?x=1",
        "",
    ] {
        let e = Remote::new(bad).expect_err(bad);
        assert_eq!(
            (e.kind(), e.code()),
            (ErrorKind::Invalid, "invalid_server_url"),
            "{bad}"
        );
        assert!(!e.message().contains("secret"), "{bad}: {}", e.message());
    }
    for good in [
        "http://127.0.0.1:8080",
        "https://members.example.com/",
        " https://members.example.com/pd ",
    ] {
        Remote::new(good).unwrap_or_else(|e| panic!("{good}: {e}"));
    }
    assert_eq!(
        Remote::new("https://members.example.com/pd")
            .unwrap()
            .base_url(),
        "https://members.example.com/pd"
    );
}

#[test]
fn the_remote_backend_has_no_mailbox() {
    let remote = Remote::new("http://127.0.0.1:9").expect("valid");
    assert_eq!(remote.mailbox(&token()).expect("no call made"), None);
}
