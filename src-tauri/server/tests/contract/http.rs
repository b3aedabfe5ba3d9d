//! What only the HTTP binding has: status codes of bare failures, headers, ETags, rate limits,
//! the event stream, idempotency keys, the OpenAPI document and shutdown.
use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, ETAG, IF_MATCH, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::scenarios::token_in;
use crate::server::{read, TestServer};

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no code>")
}

/// A new account with an accepted (pre-approved) request at Contoso: (token, request id).
async fn accepted_request(s: &TestServer, personal: &str, work: &str) -> (String, String) {
    let token = s.new_account(personal, "Ada Lovelace").await;
    let contoso = s.org(&token, "4512345").await;
    let (status, body) = s
        .call(
            Method::POST,
            "/v1/association-requests",
            Some(&token),
            Some(json!({"organisation_id": contoso, "first_name": "Ada", "last_name": "Lovelace", "organisation_email": work})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (
        token,
        body["request_id"].as_str().expect("request id").to_owned(),
    )
}

/// A new account with an active Contoso membership: (token, membership id).
async fn member(s: &TestServer, personal: &str, work: &str) -> (String, String) {
    let (token, _) = accepted_request(s, personal, work).await;
    let mail = s.mail.clone();
    let work_owned = work.to_owned();
    let mails = tokio::task::spawn_blocking(move || mail.wait_for(&work_owned, 1))
        .await
        .expect("mail");
    let code = token_in(&mails[0].body);
    let (status, body) = s
        .call(
            Method::POST,
            "/v1/verifications",
            Some(&token),
            Some(json!({"token": code})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (
        token,
        body["membership_id"]
            .as_str()
            .expect("membership")
            .to_owned(),
    )
}

#[tokio::test]
async fn health_answers_ok() {
    let s = TestServer::start();
    let (status, body) = s.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn calls_without_a_valid_token_get_401_with_a_code() {
    let s = TestServer::start();
    let r = s
        .request(Method::GET, "/v1/me", None)
        .send()
        .await
        .expect("answer");
    assert_eq!(
        r.headers()
            .get(WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap()),
        Some("Bearer")
    );
    let (status, body) = read(r).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    let (status, body) = s
        .call(Method::GET, "/v1/me", Some("not-a-token"), None)
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );

    // A signed-out session stops working.
    let token = s.sign_in("staff@example.net").await;
    let (status, _) = s
        .call(Method::DELETE, "/v1/sessions/current", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s.call(Method::GET, "/v1/me", Some(&token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn refresh_gives_a_new_pair_and_retires_the_old_refresh_token() {
    let s = TestServer::start();
    let (status, first) = s
        .call(
            Method::POST,
            "/v1/sessions",
            None,
            Some(json!({"email": "staff@example.net", "password": "partnerdesk-demo"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["account"]["email"], "staff@example.net");
    assert!(first["expires_in"].as_u64().unwrap_or(0) > 0);
    let old = first["refresh_token"].clone();
    let (status, second) = s
        .call(
            Method::POST,
            "/v1/sessions/refresh",
            None,
            Some(json!({"refresh_token": old})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let (status, _) = s
        .call(Method::GET, "/v1/me", second["access_token"].as_str(), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = s
        .call(
            Method::POST,
            "/v1/sessions/refresh",
            None,
            Some(json!({"refresh_token": old})),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_refresh_token")
    );
}

#[tokio::test]
async fn malformed_requests_get_json_errors_with_codes_never_plain_text() {
    let s = TestServer::start();
    let send = |method: Method, path: &str, ct: Option<&str>, body: &'static str| {
        let mut r = s.request(method, path, None).body(body);
        if let Some(ct) = ct {
            r = r.header(CONTENT_TYPE, ct);
        }
        r.send()
    };
    // (method, path, content type, body, expected status, expected code)
    type Case = (
        Method,
        &'static str,
        Option<&'static str>,
        &'static str,
        StatusCode,
        &'static str,
    );
    let cases: [Case; 5] = [
        (
            Method::POST,
            "/v1/sessions",
            Some("application/json"),
            "{not json",
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            Method::POST,
            "/v1/sessions",
            Some("application/json"),
            "{\"email\": 3}",
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            Method::POST,
            "/v1/sessions",
            None,
            "{}",
            StatusCode::BAD_REQUEST,
            "content_type_not_json",
        ),
        (
            Method::GET,
            "/v1/no-such-thing",
            None,
            "",
            StatusCode::NOT_FOUND,
            "route_not_found",
        ),
        (
            Method::PUT,
            "/v1/sessions",
            None,
            "",
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
    ];
    for (method, path, ct, body, want_status, want_code) in cases {
        let r = send(method.clone(), path, ct, body).await.expect("answer");
        assert!(
            r.headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/json")),
            "{method} {path}: JSON error body"
        );
        let (status, got) = read(r).await;
        assert_eq!(
            (status, code(&got)),
            (want_status, want_code),
            "{method} {path} {body}"
        );
        assert!(got["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }

    let token = s.sign_in("ppc@contoso.com").await;
    let (status, body) = s
        .call(
            Method::GET,
            "/v1/organisations?limit=many",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_query")
    );
    let (status, body) = s
        .call(
            Method::GET,
            "/v1/organisations?q=contoso&cursor=zzz",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_cursor")
    );
}

#[tokio::test]
async fn a_body_over_the_limit_gets_413_as_json() {
    let s = TestServer::start_with(&["--body-limit-bytes", "1024"]);
    let big = json!({"email": "a@b.test", "password": "x".repeat(4096)});
    let (status, body) = s.call(Method::POST, "/v1/sessions", None, Some(big)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
}

#[tokio::test]
async fn lookup_pages_with_limit_and_cursor() {
    let s = TestServer::start();
    let token = s.sign_in("staff@example.net").await;
    let (status, first) = s
        .call(
            Method::GET,
            "/v1/organisations?country=Australia&limit=2",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["items"].as_array().map(Vec::len), Some(2));
    let cursor = first["next_cursor"].as_str().expect("more pages");
    let (status, second) = s
        .call(
            Method::GET,
            &format!("/v1/organisations?country=Australia&limit=2&cursor={cursor}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let ids = |v: &Value| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["organisation_id"].clone())
            .collect::<Vec<_>>()
    };
    assert!(
        ids(&second).iter().all(|id| !ids(&first).contains(id)),
        "pages do not overlap"
    );
}

#[tokio::test]
async fn profile_edits_need_the_current_etag_and_a_stale_one_gets_412_with_the_current_profile() {
    let s = TestServer::start();
    let (token, membership) = member(&s, "ada.personal@example.org", "ada@contoso.com").await;
    let path = format!("/v1/memberships/{membership}/profile");

    let r = s
        .request(Method::GET, &path, Some(&token))
        .send()
        .await
        .expect("answer");
    let etag = r
        .headers()
        .get(ETAG)
        .expect("an ETag")
        .to_str()
        .unwrap()
        .to_owned();
    let (_, profile) = read(r).await;
    assert_eq!(etag, format!("\"{}\"", profile["revision"]));

    let r = s
        .request(Method::PATCH, &path, Some(&token))
        .header(IF_MATCH, &etag)
        .json(&json!({"job_title": "Engineer"}))
        .send()
        .await
        .expect("answer");
    let new_etag = r
        .headers()
        .get(ETAG)
        .expect("a new ETag")
        .to_str()
        .unwrap()
        .to_owned();
    let (status, updated) = read(r).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["job_title"], "Engineer");
    assert_ne!(new_etag, etag);

    let r = s
        .request(Method::PATCH, &path, Some(&token))
        .header(IF_MATCH, &etag)
        .json(&json!({"job_title": "Manager"}))
        .send()
        .await
        .expect("answer");
    let (status, body) = read(r).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::PRECONDITION_FAILED, "revision_mismatch")
    );
    assert_eq!(body["error"]["current"]["job_title"], "Engineer", "{body}");
    assert_eq!(
        format!("\"{}\"", body["error"]["current"]["revision"]),
        new_etag
    );

    let (status, body) = s
        .call(
            Method::PATCH,
            &path,
            Some(&token),
            Some(json!({"job_title": "X"})),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::PRECONDITION_REQUIRED, "if_match_required")
    );

    // MCP ID: digits only, linked with its own operation.
    let (status, body) = s
        .call(
            Method::PUT,
            &format!("/v1/memberships/{membership}/mcp-id"),
            Some(&token),
            Some(json!({"mcp_id": "abc"})),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_mcp_id")
    );
    let (status, body) = s
        .call(
            Method::PUT,
            &format!("/v1/memberships/{membership}/mcp-id"),
            Some(&token),
            Some(json!({"mcp_id": "1234567"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["mcp_id"], "1234567");

    // Another account may not read it.
    let other = s.sign_in("staff@example.net").await;
    let (status, _) = s.call(Method::GET, &path, Some(&other), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn resend_within_the_cooldown_is_429_with_retry_after() {
    let s = TestServer::start();
    let (token, id) = accepted_request(&s, "ada.personal@example.org", "ada@contoso.com").await;
    let r = s
        .request(
            Method::POST,
            &format!("/v1/association-requests/{id}/resend-verification"),
            Some(&token),
        )
        .send()
        .await
        .expect("answer");
    let retry: u64 = r
        .headers()
        .get(RETRY_AFTER)
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    let (status, body) = read(r).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "resend_cooldown")
    );
}

#[tokio::test]
async fn resend_after_the_cooldown_sends_a_new_code_and_kills_the_old_one() {
    let s = TestServer::start_with(&["--resend-cooldown-secs", "0"]);
    let (token, id) = accepted_request(&s, "ada.personal@example.org", "ada@contoso.com").await;
    // The first mail has to have left: a resend while it still waits in the outbox replaces it,
    // and only the newer one is sent (its token is the only one that works).
    let mail = s.mail.clone();
    tokio::task::spawn_blocking(move || mail.wait_for("ada@contoso.com", 1))
        .await
        .expect("mail");
    let (status, _) = s
        .call(
            Method::POST,
            &format!("/v1/association-requests/{id}/resend-verification"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let mail = s.mail.clone();
    let mails = tokio::task::spawn_blocking(move || mail.wait_for("ada@contoso.com", 2))
        .await
        .expect("mail");
    let (old, new) = (token_in(&mails[0].body), token_in(&mails[1].body));
    assert_ne!(old, new);
    let (status, body) = s
        .call(
            Method::POST,
            "/v1/verifications",
            Some(&token),
            Some(json!({"token": old})),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::GONE, "token_used"));
    let (status, _) = s
        .call(
            Method::POST,
            "/v1/verifications",
            Some(&token),
            Some(json!({"token": new})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn repeated_sign_in_attempts_are_rate_limited_with_retry_after() {
    let s = TestServer::start_with(&["--limit-sign-in", "3"]);
    let attempt = || {
        s.request(Method::POST, "/v1/sessions", None)
            .json(&json!({"email": "ppc@contoso.com", "password": "guess-guess-guess"}))
            .send()
    };
    for _ in 0..3 {
        let (status, _) = read(attempt().await.expect("answer")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let r = attempt().await.expect("answer");
    assert!(r.headers().get(RETRY_AFTER).is_some(), "Retry-After on 429");
    let (status, body) = read(r).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
}

/// One server-sent event.
#[derive(Debug)]
struct Sse {
    id: i64,
    event: String,
    data: Value,
}

/// Reads the next event from an open stream (skipping keep-alive comments).
async fn next_event(r: &mut reqwest::Response, buf: &mut String) -> Sse {
    loop {
        if let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let (mut id, mut event, mut data) = (None, String::new(), String::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = v.trim().parse().ok();
                } else if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                }
            }
            if let Some(id) = id {
                return Sse {
                    id,
                    event,
                    data: serde_json::from_str(&data).expect("JSON data"),
                };
            }
            continue;
        }
        let chunk = tokio::time::timeout(Duration::from_secs(10), r.chunk())
            .await
            .expect("an event within 10 s")
            .expect("the stream reads")
            .expect("the stream stays open");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

async fn open_stream(s: &TestServer, token: &str, last_event_id: Option<i64>) -> reqwest::Response {
    let mut r = s
        .request(Method::GET, "/v1/events", Some(token))
        .header(ACCEPT, "text/event-stream");
    if let Some(id) = last_event_id {
        r = r.header("Last-Event-ID", id.to_string());
    }
    let r = r.send().await.expect("the stream opens");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r
        .headers()
        .get(CONTENT_TYPE)
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    r
}

async fn request_fabrikam(s: &TestServer, token: &str, first: &str, work: &str) -> String {
    let fabrikam = s.org(token, "4598765").await;
    let (status, body) = s
        .call(
            Method::POST,
            "/v1/association-requests",
            Some(token),
            Some(json!({"organisation_id": fabrikam, "first_name": first, "last_name": "Doe", "organisation_email": work})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["request_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_ppc_hears_of_new_requests_as_server_sent_events_and_resumes_after_last_event_id() {
    let s = TestServer::start();
    let ppc = s.sign_in("ppc@fabrikam.com").await;
    let mut stream = open_stream(&s, &ppc, None).await;
    let mut buf = String::new();

    let sam = s.sign_in("staff@example.net").await;
    let first = request_fabrikam(&s, &sam, "Sam", "sam@fabrikam.com").await;
    let e1 = loop {
        let e = next_event(&mut stream, &mut buf).await;
        if e.event == "association_request.created" {
            break e;
        }
    };
    assert_eq!(e1.data["data"]["request_id"], first.as_str(), "{:?}", e1);
    assert_eq!(e1.data["id"], e1.id);
    drop(stream);

    // While the PPC is away, another request arrives; resuming after e1 delivers it, and not e1.
    let kim = s.new_account("kim.personal@example.org", "Kim Doe").await;
    let second = request_fabrikam(&s, &kim, "Kim", "kim@fabrikam.com").await;
    let mut resumed = open_stream(&s, &ppc, Some(e1.id)).await;
    let mut buf = String::new();
    let e2 = next_event(&mut resumed, &mut buf).await;
    assert!(e2.id > e1.id);
    assert_eq!(e2.event, "association_request.created");
    assert_eq!(e2.data["data"]["request_id"], second.as_str());

    // The requester hears of the decision on their own stream; the outsider hears nothing of it.
    let mut sams = open_stream(&s, &sam, None).await;
    let mut sbuf = String::new();
    let (status, _) = s
        .call(
            Method::POST,
            &format!("/v1/association-requests/{first}/approve"),
            Some(&ppc),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let decided = next_event(&mut sams, &mut sbuf).await;
    assert_eq!(decided.event, "association_request.decided");
    assert_eq!(decided.data["data"]["status"], "accepted");

    // The same feed as one JSON page, with `?cursor=`.
    let r = s
        .request(
            Method::GET,
            &format!("/v1/events?cursor={}", e1.id),
            Some(&ppc),
        )
        .header(ACCEPT, "application/json")
        .send()
        .await
        .expect("answer");
    let (status, page) = read(r).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["id"].as_i64().unwrap() > e1.id));
}

#[tokio::test]
async fn two_identical_concurrent_submissions_with_one_key_make_one_request_and_one_mail() {
    let s = TestServer::start();
    let token = s
        .new_account("ada.personal@example.org", "Ada Lovelace")
        .await;
    let contoso = s.org(&token, "4512345").await;
    let body = json!({"organisation_id": contoso, "first_name": "Ada", "last_name": "Lovelace", "organisation_email": "ada@contoso.com"});
    let submit = |key: &'static str, body: Value| {
        s.request(Method::POST, "/v1/association-requests", Some(&token))
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let (a, b) = tokio::join!(submit("key-1", body.clone()), submit("key-1", body.clone()));
    let (a, b) = (a.expect("answer"), b.expect("answer"));
    let replayed = [&a, &b]
        .iter()
        .filter(|r| r.headers().contains_key("idempotent-replayed"))
        .count();
    let ((sa, ba), (sb, bb)) = (read(a).await, read(b).await);
    assert_eq!(
        (sa, sb),
        (StatusCode::CREATED, StatusCode::CREATED),
        "{ba} {bb}"
    );
    assert_eq!(ba, bb, "the repeat gets the first answer");
    assert_eq!(replayed, 1, "exactly one answer is a replay");

    // A later repeat is a replay too, and changes nothing.
    let (status, again) = read(submit("key-1", body.clone()).await.expect("answer")).await;
    assert_eq!((status, &again), (StatusCode::CREATED, &ba));

    let (_, me) = s.call(Method::GET, "/v1/me", Some(&token), None).await;
    assert_eq!(
        me["requests"].as_array().map(Vec::len),
        Some(1),
        "one request: {me}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(s.mail.to("ada@contoso.com").len(), 1, "one mail");

    // The same key for a different body is refused.
    let mut other = body.clone();
    other["first_name"] = json!("Augusta");
    let (status, refused) = read(submit("key-1", other).await.expect("answer")).await;
    assert_eq!(
        (status, code(&refused)),
        (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused")
    );

    // Anonymous account creation honours keys too.
    let create = || {
        s.request(Method::POST, "/v1/accounts", None)
            .header("Idempotency-Key", "acct-1")
            .json(&json!({"email": "kim@example.org", "display_name": "Kim", "password": "partnerdesk-demo"}))
            .send()
    };
    let (s1, b1) = read(create().await.expect("answer")).await;
    let (s2, b2) = read(create().await.expect("answer")).await;
    assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::CREATED), "{b2}");
    assert_eq!(b1, b2);
}

/// Every operation in docs/openapi.json is served by the binary: no documented path answers
/// `route_not_found` or `method_not_allowed`.
#[tokio::test]
async fn every_documented_operation_is_served() {
    let s = TestServer::start();
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/openapi.json"
        ))
        .expect("docs/openapi.json exists"),
    )
    .expect("the committed document parses");
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 30);
    for (path, ops) in paths {
        let concrete = path
            .replace("{org}", "org_x")
            .replace("{id}", "x")
            .replace("{domain}", "example.com")
            .replace("{privilege}", "action_pack");
        for method in ops.as_object().expect("operations").keys() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("a method");
            let r = s
                .request(m.clone(), &concrete, None)
                .send()
                .await
                .expect("answer");
            let status = r.status();
            let (_, body) = read(r).await;
            assert!(
                status != StatusCode::METHOD_NOT_ALLOWED && code(&body) != "route_not_found",
                "{m} {path} is documented but not served ({status} {body})"
            );
        }
    }
}

#[tokio::test]
async fn the_web_link_page_hands_the_code_to_the_app() {
    let s = TestServer::start();
    let r = s
        .request(Method::GET, "/verify?token=AbC-_9", None)
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("partnerdesk://verify?token=AbC-_9"));
    let r = s
        .request(Method::GET, "/verify?token=%3Cscript%3E", None)
        .send()
        .await
        .expect("answer");
    assert!(
        !r.text().await.unwrap().contains("<script>"),
        "only token characters reach the page"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_the_server_cleanly_even_with_an_open_event_stream() {
    let mut s = TestServer::start();
    let token = s.sign_in("ppc@contoso.com").await;
    let _stream = open_stream(&s, &token, None).await;
    let pid = s.pid();
    let exited_cleanly = tokio::task::block_in_place(|| s.terminate());
    assert!(exited_cleanly, "server {pid} exits with success on SIGTERM");
}

async fn wait_mail(s: &TestServer, to: &str, count: usize) -> Vec<crate::smtp_sink::SentMail> {
    let (mail, to) = (s.mail.clone(), to.to_owned());
    tokio::task::spawn_blocking(move || mail.wait_for(&to, count))
        .await
        .expect("mail")
}

/// The PPC's side of the guide over HTTP: domains, invitations, privileges, audit, members.
#[tokio::test]
async fn the_ppc_runs_the_organisation_profile_over_http() {
    let s = TestServer::start();
    let ppc = s.sign_in("ppc@fabrikam.com").await;
    let fabrikam = s.org(&ppc, "4598765").await;
    let org = |rest: &str| format!("/v1/organisations/{fabrikam}{rest}");

    // Domains: add, list, remove.
    let (status, added) = s
        .call(
            Method::POST,
            &org("/domains"),
            Some(&ppc),
            Some(json!({"domain": "fabrikam.example", "include_subdomains": false})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let (_, list) = s
        .call(Method::GET, &org("/domains"), Some(&ppc), None)
        .await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["domain"] == "fabrikam.example"),
        "{list}"
    );
    let (status, _) = s
        .call(
            Method::DELETE,
            &org("/domains/fabrikam.example"),
            Some(&ppc),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = s
        .call(Method::GET, &org("/domains"), Some(&ppc), None)
        .await;
    assert!(list["items"].as_array().unwrap().is_empty(), "{list}");

    // Invite: an invited person who verifies is active without approval.
    let (status, invited) = s
        .call(
            Method::POST,
            &org("/invitations"),
            Some(&ppc),
            Some(json!({"emails": ["kim@fabrikam.com", "not an address"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invited}");
    assert_eq!(invited["items"][0]["status"], "invited");
    assert_eq!(invited["items"][1]["status"], "invalid_email");
    assert!(wait_mail(&s, "kim@fabrikam.com", 1).await[0]
        .body
        .contains("Organisation Email"));

    let kim = s.new_account("kim.personal@example.org", "Kim Doe").await;
    let (_, preview) = s
        .call(
            Method::POST,
            &org("/association-preview"),
            Some(&kim),
            Some(json!({"organisation_email": "kim@fabrikam.com"})),
        )
        .await;
    assert_eq!(preview["outcome"], "accepted", "{preview}");
    request_fabrikam(&s, &kim, "Kim", "kim@fabrikam.com").await;
    let kim_code = token_in(&wait_mail(&s, "kim@fabrikam.com", 2).await[1].body);
    let (status, verified) = s
        .call(
            Method::POST,
            "/v1/verifications",
            Some(&kim),
            Some(json!({"token": kim_code})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{verified}");
    let kims = verified["membership_id"].as_str().unwrap().to_owned();

    // Privileges: the member asks, the PPC grants and revokes; the member cannot grant.
    let (status, asked) = s
        .call(
            Method::POST,
            &format!("/v1/memberships/{kims}/privilege-requests"),
            Some(&kim),
            Some(json!({"privilege": "action_pack", "note": "For our lab"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{asked}");
    let (_, open) = s
        .call(Method::GET, &org("/privilege-requests"), Some(&ppc), None)
        .await;
    assert!(
        open["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["membership_id"] == kims.as_str()),
        "{open}"
    );
    let grant = format!("/v1/memberships/{kims}/privileges/action_pack");
    let (status, _) = s.call(Method::PUT, &grant, Some(&kim), None).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a member cannot grant themselves a privilege"
    );
    let (status, granted) = s.call(Method::PUT, &grant, Some(&ppc), None).await;
    assert_eq!(status, StatusCode::OK, "{granted}");
    assert!(granted["privileges"]
        .as_array()
        .unwrap()
        .contains(&json!("action_pack")));
    let (status, body) = s
        .call(
            Method::PUT,
            &format!("/v1/memberships/{kims}/privileges/superpowers"),
            Some(&ppc),
            None,
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_privilege")
    );
    let (status, _) = s.call(Method::DELETE, &grant, Some(&ppc), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let (_, members) = s
        .call(Method::GET, &org("/members?limit=100"), Some(&ppc), None)
        .await;
    assert!(
        members["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["membership_id"] == kims.as_str()),
        "{members}"
    );
    let (_, audit) = s.call(Method::GET, &org("/audit"), Some(&ppc), None).await;
    assert_eq!(
        audit["items"][0]["action"], "privilege.revoked",
        "newest first: {audit}"
    );

    // An MCP ID is linked to one organisation at a time.
    let (status, _) = s
        .call(
            Method::PUT,
            &format!("/v1/memberships/{kims}/mcp-id"),
            Some(&kim),
            Some(json!({"mcp_id": "7654321"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, me) = s.call(Method::GET, "/v1/me", Some(&ppc), None).await;
    let ppc_membership = me["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["organisation"]["organisation_id"] == fabrikam.as_str())
        .expect("the PPC's membership")["membership_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = s
        .call(
            Method::PUT,
            &format!("/v1/memberships/{ppc_membership}/mcp-id"),
            Some(&ppc),
            Some(json!({"mcp_id": "7654321"})),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "mcp_id_linked_elsewhere")
    );
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/v1/memberships/{kims}/mcp-id"),
            Some(&kim),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // Leaving; the only PPC cannot.
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/v1/memberships/{kims}"),
            Some(&kim),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = s
        .call(
            Method::DELETE,
            &format!("/v1/memberships/{kims}"),
            Some(&kim),
            None,
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::GONE, "membership_removed")
    );
    let (status, body) = s
        .call(
            Method::DELETE,
            &format!("/v1/memberships/{ppc_membership}"),
            Some(&ppc),
            None,
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "last_approver")
    );
}

#[tokio::test]
async fn a_new_organisation_makes_its_creator_the_ppc() {
    let s = TestServer::start();
    let token = s.sign_in("staff@example.net").await;
    let (status, created) = s
        .call(
            Method::POST,
            "/v1/organisations",
            Some(&token),
            Some(json!({"name": "Proseware Labs", "country": "Australia", "city": "Perth"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(created["partner_id"]
        .as_str()
        .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit())));
    let (_, me) = s.call(Method::GET, "/v1/me", Some(&token), None).await;
    let m = me["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["organisation"]["organisation_id"] == created["organisation_id"])
        .expect("a membership in the new organisation");
    assert!(
        m["roles"].as_array().unwrap().contains(&json!("ppc")),
        "{m}"
    );
    let (status, org) = s
        .call(
            Method::GET,
            &format!(
                "/v1/organisations/{}",
                created["organisation_id"].as_str().unwrap()
            ),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(org["name"], "Proseware Labs");
}

#[tokio::test]
async fn request_creation_and_lookup_are_rate_limited_per_account() {
    let s = TestServer::start_with(&["--limit-requests", "1", "--limit-lookup", "2"]);
    let sam = s.sign_in("staff@example.net").await;
    request_fabrikam(&s, &sam, "Sam", "sam@fabrikam.com").await; // one lookup, one request
    let (status, _) = s
        .call(Method::GET, "/v1/organisations?q=contoso", Some(&sam), None)
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the second lookup is within the limit"
    );
    let r = s
        .request(Method::GET, "/v1/organisations?q=contoso", Some(&sam))
        .send()
        .await
        .expect("answer");
    assert!(r.headers().contains_key(RETRY_AFTER));
    let (status, body) = read(r).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );

    let (status, body) = s
        .call(
            Method::POST,
            "/v1/association-requests",
            Some(&sam),
            Some(json!({"organisation_id": "org_any", "first_name": "Sam", "last_name": "Doe", "organisation_email": "sam@contoso.com"})),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );

    // Another account has its own allowance.
    let ppc = s.sign_in("ppc@contoso.com").await;
    let (status, _) = s
        .call(Method::GET, "/v1/organisations?q=contoso", Some(&ppc), None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

/// Logs say what happened (method, route, status, latency) and never carry a token, a password
/// or a body, even at debug level.
#[tokio::test]
async fn logs_never_contain_tokens_passwords_or_codes() {
    let s = TestServer::start_logged("debug");
    let (status, session) = s
        .call(
            Method::POST,
            "/v1/sessions",
            None,
            Some(json!({"email": "ppc@contoso.com", "password": "partnerdesk-demo"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, wrong) = s
        .call(
            Method::POST,
            "/v1/sessions",
            None,
            Some(json!({"email": "ppc@contoso.com", "password": "a-wrong-Secret-77"})),
        )
        .await;
    assert_eq!(code(&wrong), "invalid_credentials");
    let (token, _) = accepted_request(&s, "ada.personal@example.org", "ada@contoso.com").await;
    let mail = wait_mail(&s, "ada@contoso.com", 1).await;
    let verification = token_in(&mail[0].body);
    let (status, _) = s
        .call(
            Method::POST,
            "/v1/verifications",
            Some(&token),
            Some(json!({"token": verification})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s
        .call(
            Method::GET,
            &format!("/verify?token={verification}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let logs = s.logs();
    assert!(
        logs.contains("route=\"/v1/verifications\"") && logs.contains("status=200"),
        "requests are logged:\n{logs}"
    );
    for secret in [
        session["access_token"].as_str().unwrap(),
        session["refresh_token"].as_str().unwrap(),
        token.as_str(),
        verification.as_str(),
        "partnerdesk-demo",
        "a-wrong-Secret-77",
    ] {
        assert!(!logs.contains(secret), "a secret reached the logs:\n{logs}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_concurrent_creations_with_one_key_make_one_organisation() {
    let s = TestServer::start();
    let token = s.sign_in("staff@example.net").await;
    let body = json!({"name": "Proseware Labs", "country": "Australia", "city": "Perth"});
    let answers = futures_util::future::join_all((0..6).map(|_| {
        s.request(Method::POST, "/v1/organisations", Some(&token))
            .header("Idempotency-Key", "5f0c6a52-org")
            .json(&body)
            .send()
    }))
    .await;
    let mut bodies = Vec::new();
    for a in answers {
        let (status, b) = read(a.expect("answer")).await;
        assert_eq!(status, StatusCode::CREATED, "{b}");
        bodies.push(b);
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "every answer is the first one: {bodies:?}"
    );
    let (_, me) = s.call(Method::GET, "/v1/me", Some(&token), None).await;
    assert_eq!(
        me["memberships"].as_array().map(Vec::len),
        Some(1),
        "one organisation: {me}"
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_the_one_limited() {
    let s = TestServer::start_with(&["--limit-sign-in", "1", "--trust-forwarded-for"]);
    let attempt = |from: &'static str, email: &'static str| {
        s.request(Method::POST, "/v1/sessions", None)
            .header("X-Forwarded-For", from)
            .json(&json!({"email": email, "password": "guess-guess-guess"}))
            .send()
    };
    let (status, _) = read(
        attempt("203.0.113.7", "a@contoso.com")
            .await
            .expect("answer"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = read(
        attempt("10.9.8.7, 203.0.113.8", "b@contoso.com")
            .await
            .expect("answer"),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "another client behind the same proxy"
    );
    let (status, body) = read(
        attempt("203.0.113.7", "c@contoso.com")
            .await
            .expect("answer"),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
}

/// A PostgreSQL database that cannot be reached stops the server at once with what to check,
/// naming the database without its password.
#[test]
fn a_database_that_cannot_be_reached_stops_the_server_with_what_to_check_and_no_password() {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_partner-desk-server"))
        .args(["--listen", "127.0.0.1:0", "--smtp", "smtp://127.0.0.1:9"])
        .env(
            "PARTNER_DESK_DATABASE",
            "postgres://partnerdesk:s3cret-pass@127.0.0.1:1/partnerdesk?password=other-s3cret",
        )
        .env("PARTNER_DESK_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the server binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stdout}{stderr}");
    assert!(
        !stdout.contains("listening on"),
        "it never listens: {stdout}"
    );
    assert!(
        stderr.contains("127.0.0.1:1/partnerdesk")
            && stderr.contains("Could not connect to the PostgreSQL database")
            && stderr.contains("refused"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("s3cret") && !stderr.contains("partnerdesk:"),
        "no password and no user in what it prints: {stderr}"
    );
}
