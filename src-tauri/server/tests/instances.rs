//! Two server instances on one PostgreSQL database behave as one server:
//! - a write on one wakes an event stream held open on the other at once (LISTEN/NOTIFY; the
//!   instances' own polling is turned off, so nothing else could), and a stream resumed with
//!   `Last-Event-ID` on the other instance misses nothing and repeats nothing;
//! - a rate limit holds across them: a client cannot multiply its allowance by two;
//! - mail caused on one is sent once, whichever instance's worker sends it.
//!
//! Always on PostgreSQL (several instances need a shared database), in the throwaway cluster.
mod support;

macro_rules! show {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

use std::time::{Duration, Instant};

use reqwest::header::ACCEPT;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::{Launch, ServerProcess, SmtpSink, DEMO_PASSWORD};

/// Two instances on a fresh database of the cluster, polling for events only once in 10 minutes.
fn two_instances(sink: &SmtpSink, extra: &[&str]) -> (ServerProcess, ServerProcess, String) {
    let database = testkit::postgres::Cluster::shared().fresh_database();
    let mut launch = Launch::new(std::path::Path::new(&database), sink);
    launch.database = database.clone();
    launch
        .extra
        .extend(["--event-poll-ms", "600000"].map(String::from));
    // A limit named here replaces the test suite's "no limits" one.
    for limit in extra.iter().filter(|a| a.starts_with("--limit-")) {
        if let Some(at) = launch.extra.iter().position(|a| a == limit) {
            launch.extra.drain(at..at + 2);
        }
    }
    launch.extra.extend(extra.iter().map(|s| s.to_string()));
    let a = ServerProcess::start(launch.clone());
    let b = ServerProcess::start(launch);
    (a, b, database)
}

async fn call(
    http: &reqwest::Client,
    base: &str,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut r = http.request(method, format!("{base}{path}"));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    if let Some(b) = body {
        r = r.json(&b);
    }
    let answer = r.send().await.expect("the instance answers");
    let status = answer.status();
    (status, answer.json().await.unwrap_or(Value::Null))
}

async fn sign_in(http: &reqwest::Client, base: &str, email: &str) -> String {
    let (status, v) = call(
        http,
        base,
        Method::POST,
        "/v1/sessions",
        None,
        Some(json!({"email": email, "password": DEMO_PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v["access_token"].as_str().unwrap().to_owned()
}

async fn new_person(http: &reqwest::Client, base: &str, email: &str) -> String {
    let (status, v) = call(
        http,
        base,
        Method::POST,
        "/v1/accounts",
        None,
        Some(json!({"email": email, "display_name": "Someone Else", "password": DEMO_PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    sign_in(http, base, email).await
}

async fn request_fabrikam(http: &reqwest::Client, base: &str, token: &str, email: &str) -> String {
    let (_, orgs) = call(
        http,
        base,
        Method::GET,
        "/v1/organisations?partner_id=4598765",
        Some(token),
        None,
    )
    .await;
    let fabrikam = orgs["items"][0]["organisation_id"].clone();
    let (status, v) = call(
        http,
        base,
        Method::POST,
        "/v1/association-requests",
        Some(token),
        Some(json!({"organisation_id": fabrikam, "first_name": "Ann", "last_name": "Other", "organisation_email": email})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    v["request_id"].as_str().unwrap().to_owned()
}

/// The next `association_request.created` event on `stream`: (id, request id).
async fn next_created(stream: &mut reqwest::Response, buf: &mut String) -> (i64, String) {
    loop {
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            let field = |name: &str| {
                frame
                    .lines()
                    .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
            };
            if field("event:").as_deref() == Some("association_request.created") {
                let id = field("id:").and_then(|v| v.parse().ok()).expect("an id");
                let data: Value = serde_json::from_str(&field("data:").unwrap()).unwrap();
                return (id, data["data"]["request_id"].as_str().unwrap().to_owned());
            }
        }
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.chunk())
            .await
            .expect("an event within 10 s (with polling off, only a notification can bring it)")
            .expect("the stream reads")
            .expect("the stream stays open");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

async fn open_stream(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    last: Option<i64>,
) -> reqwest::Response {
    let mut r = http
        .get(format!("{base}/v1/events"))
        .bearer_auth(token)
        .header(ACCEPT, "text/event-stream");
    if let Some(id) = last {
        r = r.header("Last-Event-ID", id.to_string());
    }
    let r = r.send().await.expect("the stream opens");
    assert_eq!(r.status(), StatusCode::OK);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_on_one_instance_wakes_a_stream_on_the_other_and_resuming_anywhere_loses_nothing() {
    let sink = SmtpSink::start();
    let (a, b, _) = two_instances(&sink, &[]);
    let http = support::http_client(Duration::from_secs(30));
    let ppc = sign_in(&http, &b.base(), "ppc@fabrikam.com").await;
    let mut on_b = open_stream(&http, &b.base(), &ppc, None).await;
    let mut buf = String::new();

    // Each write on A: the stream on B hears of it, without polling, at once.
    let staff = sign_in(&http, &a.base(), "staff@example.net").await;
    let mut latencies = Vec::new();
    let mut seen = Vec::new();
    for i in 0..5 {
        let someone = if i == 0 {
            staff.clone()
        } else {
            new_person(&http, &a.base(), &format!("other{i}@example.org")).await
        };
        let started = Instant::now();
        let id = request_fabrikam(
            &http,
            &a.base(),
            &someone,
            &format!("ann{i}@ann-fabrikam.net"),
        )
        .await;
        let (event_id, request) = next_created(&mut on_b, &mut buf).await;
        latencies.push(started.elapsed());
        assert_eq!(request, id, "B's stream carries A's request");
        seen.push(event_id);
    }
    drop(on_b);
    latencies.sort();
    show!(
        "instances: a write on A reached a stream on B in {:?} (median) / {:?} (slowest) of 5, with polling every 10 minutes",
        latencies[2],
        latencies[4]
    );

    // Resuming on A after the third event delivers the fourth and fifth, once each, in order;
    // and a request made on B meanwhile reaches the resumed stream on A.
    let mut resumed = open_stream(&http, &a.base(), &ppc, Some(seen[2])).await;
    let mut buf = String::new();
    let mut after = Vec::new();
    for _ in 0..2 {
        after.push(next_created(&mut resumed, &mut buf).await.0);
    }
    assert_eq!(
        after,
        seen[3..5],
        "resuming on A repeats nothing and misses nothing"
    );
    let late = new_person(&http, &b.base(), "late@example.org").await;
    let id = request_fabrikam(&http, &b.base(), &late, "late@ann-fabrikam.net").await;
    let (event_id, request) = next_created(&mut resumed, &mut buf).await;
    assert_eq!(request, id, "A's stream carries B's request");
    assert!(event_id > seen[4]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_holds_across_instances() {
    let sink = SmtpSink::start();
    // Ten lookups a minute, on each instance's command line.
    let (a, b, _) = two_instances(&sink, &["--limit-lookup", "10"]);
    let http = support::http_client(Duration::from_secs(30));
    let token = sign_in(&http, &a.base(), "staff@example.net").await;
    let mut answers = Vec::new();
    for i in 0..14 {
        let base = if i % 2 == 0 { a.base() } else { b.base() };
        let (status, _) = call(
            &http,
            &base,
            Method::GET,
            "/v1/organisations?q=Contoso",
            Some(&token),
            None,
        )
        .await;
        answers.push(status.as_u16());
    }
    let allowed = answers.iter().filter(|s| **s == 200).count();
    show!("instances: 14 lookups alternating between two instances with a limit of 10 a minute: {allowed} allowed, {} refused", 14 - allowed);
    assert_eq!(
        allowed, 10,
        "the allowance is shared, not ten per instance: {answers:?}"
    );
    assert!(answers[10..].iter().all(|s| *s == 429), "{answers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_caused_on_either_instance_is_sent_once() {
    let sink = SmtpSink::start();
    let (a, b, database) = two_instances(&sink, &[]);
    let http = support::http_client(Duration::from_secs(30));
    let mut addresses = Vec::new();
    for i in 0..10 {
        let base = if i % 2 == 0 { a.base() } else { b.base() };
        let token = new_person(&http, &base, &format!("mailed{i}@example.org")).await;
        let (_, orgs) = call(
            &http,
            &base,
            Method::GET,
            "/v1/organisations?partner_id=4512345",
            Some(&token),
            None,
        )
        .await;
        let address = format!("mailed{i}@contoso.com");
        let (status, v) = call(
            &http,
            &base,
            Method::POST,
            "/v1/association-requests",
            Some(&token),
            Some(json!({"organisation_id": orgs["items"][0]["organisation_id"], "first_name": "Mai", "last_name": "Led", "organisation_email": address})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        assert_eq!(v["status"], "accepted", "{v}");
        addresses.push(address);
    }
    for address in &addresses {
        sink.wait_for(address, 1);
    }
    // Give a second copy time to show up, were one on its way.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mail = sink.all();
    let mut ids: Vec<&str> = mail.iter().map(|m| m.message_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    show!(
        "instances: {} verification mails caused on two instances, {} sent, {} distinct Message-IDs",
        addresses.len(),
        mail.len(),
        ids.len()
    );
    assert_eq!(mail.len(), addresses.len(), "each mail went once");
    assert_eq!(ids.len(), addresses.len());
    assert!(ids.iter().all(|id| id.starts_with("<outbox-")), "{ids:?}");
    let left = support::query_rows(&database, "SELECT count(*) FROM mail_outbox");
    assert_eq!(
        left[0][0].as_deref(),
        Some("0"),
        "nothing is left in the outbox"
    );
    // The token each mail carried works (it was minted as the mail left), once.
    let body = &mail[0].body;
    assert!(support::token_in(body).is_some(), "{body}");
}
