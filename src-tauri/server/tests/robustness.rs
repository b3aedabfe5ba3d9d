//! API robustness against the real server binary: every operation of `docs/openapi.json` is fed
//! malformed JSON, wrong types, missing and extra fields, huge bodies, odd content types, and
//! unicode edge cases (look-alikes, zero-width, bidi controls, combining marks, noncharacters) in
//! its body, path, query and headers. Every answer must be a 2xx, or a 4xx whose body is JSON with
//! an error code and a message; never a 5xx, a dropped connection (a panic) or a timeout. Text
//! with invisible or direction-changing characters (zero-width, bidi marks and overrides,
//! controls) in any field but a password must be refused; look-alike letters are real letters
//! (Cyrillic names, IDN domains) and may be accepted: domains are canonicalised, so a look-alike
//! never matches the domain it imitates (tests/domain.rs in the membership crate).
//!
//! Two passes: a systematic sweep (each operation × each field × a fixed table of bad values),
//! then a proptest pass of random operations with random mutations (`ROBUSTNESS_CASES`, default
//! 400). The server runs with its default body limit and timeouts, seeded with the demo data;
//! requests are sent as the caller each operation needs, so bodies get past authorisation to the
//! validation behind it.
mod support;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::blocking::Client;
use reqwest::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use reqwest::Method;
use serde_json::{json, Map, Value};
use support::{Launch, ServerProcess, SmtpSink, DEMO_PASSWORD};

/// One operation of the OpenAPI document.
#[derive(Debug, Clone)]
struct Operation {
    method: Method,
    /// `/v1/organisations/{org}`.
    path: String,
    path_params: Vec<String>,
    query_params: Vec<String>,
    header_params: Vec<String>,
    /// The request body's schema, resolved.
    body: Option<Value>,
}

fn operations(doc: &Value) -> Vec<Operation> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let method: Method = method.to_uppercase().parse().expect("an HTTP method");
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let named = |place: &str| -> Vec<String> {
                params
                    .iter()
                    .filter(|p| p["in"] == place)
                    .map(|p| p["name"].as_str().expect("a parameter name").to_owned())
                    .collect()
            };
            let body = op["requestBody"]["content"]["application/json"]["schema"]
                .as_object()
                .map(|s| resolve(doc, &Value::Object(s.clone())));
            ops.push(Operation {
                method,
                path: path.clone(),
                path_params: named("path"),
                query_params: named("query"),
                header_params: named("header"),
                body,
            });
        }
    }
    // Operations that take things away run last, so the sweep of every other operation meets
    // the fixtures intact.
    // Removing the member goes very last.
    ops.sort_by_key(|o| {
        (
            o.method == Method::DELETE,
            o.method == Method::DELETE && o.path == "/v1/memberships/{id}",
        )
    });
    ops
}

/// Inlines `$ref`s (the document has no recursive schemas).
fn resolve(doc: &Value, schema: &Value) -> Value {
    match schema {
        Value::Object(m) => {
            if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                let name = r.trim_start_matches("#/components/schemas/");
                return resolve(doc, &doc["components"]["schemas"][name]);
            }
            Value::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), resolve(doc, v)))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(|v| resolve(doc, v)).collect()),
        other => other.clone(),
    }
}

/// Ids and names that make a request reach the rules behind authorisation.
struct Fixtures {
    contoso: String,
    /// A pending request at Contoso, made by `applicant`.
    request: String,
    /// `member`'s active Contoso membership.
    membership: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Nobody,
    Ppc,
    Member,
    Applicant,
}

struct World {
    base: String,
    http: Client,
    fixtures: Fixtures,
    tokens: Mutex<BTreeMap<&'static str, String>>,
    serial: Mutex<u64>,
    answers: Mutex<BTreeMap<u16, u64>>,
}

const PPC: &str = "ppc@contoso.com";
const MEMBER: &str = "robust.member@example.net";
const APPLICANT: &str = "robust.applicant@example.net";

impl World {
    fn email_of(who: Who) -> Option<&'static str> {
        match who {
            Who::Nobody => None,
            Who::Ppc => Some(PPC),
            Who::Member => Some(MEMBER),
            Who::Applicant => Some(APPLICANT),
        }
    }

    fn sign_in(http: &Client, base: &str, email: &str) -> String {
        let r = http
            .post(format!("{base}/v1/sessions"))
            .json(&json!({"email": email, "password": DEMO_PASSWORD}))
            .send()
            .expect("sign-in answers");
        assert!(
            r.status().is_success(),
            "sign-in of {email}: {}",
            r.status()
        );
        r.json::<Value>().expect("a session")["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned()
    }

    fn token(&self, who: Who) -> Option<String> {
        let email = Self::email_of(who)?;
        let mut tokens = self.tokens.lock().unwrap();
        Some(
            tokens
                .entry(email)
                .or_insert_with(|| Self::sign_in(&self.http, &self.base, email))
                .clone(),
        )
    }

    /// A fresh session for `who` (after a mutation signed the old one out).
    fn renew(&self, who: Who) {
        if let Some(email) = Self::email_of(who) {
            let fresh = Self::sign_in(&self.http, &self.base, email);
            self.tokens.lock().unwrap().insert(email, fresh);
        }
    }

    fn serial(&self) -> u64 {
        let mut n = self.serial.lock().unwrap();
        *n += 1;
        *n
    }

    fn setup(base: String) -> Self {
        // reqwest is built without a TLS provider of its own here; install the process-wide one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = Client::builder()
            .timeout(Duration::from_secs(20))
            // A connection per request: a refusal sent before a large body was read ends its
            // connection (as HTTP allows), and must not be blamed on the next request.
            .pool_max_idle_per_host(0)
            .build()
            .expect("an HTTP client");
        for (email, name) in [(MEMBER, "Robin Member"), (APPLICANT, "Sam Applicant")] {
            let r = http
                .post(format!("{base}/v1/accounts"))
                .json(&json!({"email": email, "display_name": name, "password": DEMO_PASSWORD}))
                .send()
                .expect("account creation answers");
            assert_eq!(r.status().as_u16(), 201, "account {email}");
        }
        let ppc = Self::sign_in(&http, &base, PPC);
        let contoso = http
            .get(format!("{base}/v1/organisations?partner_id=4512345"))
            .bearer_auth(&ppc)
            .send()
            .and_then(|r| r.json::<Value>())
            .expect("lookup")["items"][0]["organisation_id"]
            .as_str()
            .expect("Contoso")
            .to_owned();
        let request = |token: &str, email: &str| -> Value {
            http.post(format!("{base}/v1/association-requests"))
                .bearer_auth(token)
                .json(&json!({"organisation_id": contoso, "first_name": "Robin", "last_name": "Tester", "organisation_email": email}))
                .send()
                .and_then(|r| r.json::<Value>())
                .expect("a request")
        };
        let applicant = Self::sign_in(&http, &base, APPLICANT);
        let pending = request(&applicant, "sam@applicant.example");
        assert_eq!(pending["status"], "pending_approval", "{pending}");
        let member = Self::sign_in(&http, &base, MEMBER);
        let accepted = request(&member, "robin.member@contoso.com");
        assert_eq!(accepted["status"], "accepted", "{accepted}");
        let mut tokens = BTreeMap::new();
        tokens.insert(PPC, ppc);
        tokens.insert(APPLICANT, applicant);
        tokens.insert(MEMBER, member);
        Self {
            base,
            http,
            fixtures: Fixtures {
                contoso,
                request: pending["request_id"].as_str().expect("an id").to_owned(),
                membership: String::new(),
            },
            tokens: Mutex::new(tokens),
            serial: Mutex::default(),
            answers: Mutex::default(),
        }
    }

    fn verify_member(&mut self, sink: &SmtpSink) {
        let mail = sink.wait_for("robin.member@contoso.com", 1);
        let code = support::token_in(&mail[0].body).expect("a code in the mail");
        let token = self.token(Who::Member).unwrap();
        let r = self
            .http
            .post(format!("{}/v1/verifications", self.base))
            .bearer_auth(token)
            .json(&json!({ "token": code }))
            .send()
            .and_then(|r| r.json::<Value>())
            .expect("verification");
        self.fixtures.membership = r["membership_id"]
            .as_str()
            .expect("a membership")
            .to_owned();
    }

    /// Who the operation is meant for, so its body is checked past authorisation.
    fn caller(op: &Operation) -> Who {
        let p = op.path.as_str();
        if matches!(
            p,
            "/v1/accounts" | "/v1/sessions" | "/v1/sessions/refresh" | "/healthz" | "/verify"
        ) {
            Who::Nobody
        } else if p == "/v1/verifications"
            || (p.starts_with("/v1/association-requests/{id}")
                && !p.ends_with("/approve")
                && !p.ends_with("/deny"))
        {
            Who::Applicant
        } else if p == "/v1/association-requests"
            || p.ends_with("/profile")
            || p.ends_with("/mcp-id")
            || (p.ends_with("/privilege-requests") && p.starts_with("/v1/memberships"))
        {
            Who::Member
        } else {
            Who::Ppc
        }
    }

    /// The value a path parameter takes when it is not the one being mutated.
    fn path_value(&self, op: &Operation, name: &str) -> String {
        match name {
            "org" => self.fixtures.contoso.clone(),
            "id" if op.path.starts_with("/v1/memberships") => self.fixtures.membership.clone(),
            "id" => self.fixtures.request.clone(),
            "domain" => "contoso.com".into(),
            "privilege" => "action_pack".into(),
            other => panic!("no fixture for path parameter {other}"),
        }
    }

    /// A well-formed value for a property, by its name and schema.
    fn good_value(&self, name: &str, schema: &Value) -> Value {
        let n = self.serial();
        match name {
            "email" => json!(format!("robust{n}@example.org")),
            "organisation_email" => json!(format!("robust{n}@contoso.com")),
            "emails" => json!([format!("robust{n}@contoso.com")]),
            "password" => json!(DEMO_PASSWORD),
            "display_name" | "first_name" => json!("Robin"),
            "last_name" => json!("Tester"),
            "organisation_id" => json!(self.fixtures.contoso),
            "domain" => json!(format!("robust{n}.example")),
            "include_subdomains" => json!(false),
            "reason" => json!("Not one of ours."),
            "token" | "refresh_token" => json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            "privilege" => json!("action_pack"),
            "note" => json!("For the quarterly plan."),
            "mcp_id" => json!("1234567"),
            "name" => json!(format!("Robust Org {n}")),
            "country" => json!("AU"),
            "city" => json!("Sydney"),
            "phone" => json!("+61 2 9999 0000"),
            "job_title" => json!("Engineer"),
            "preferred_language" => json!("en"),
            "address" => json!("1 Harbour St"),
            "website" => json!("https://robust.example"),
            _ => self.generic(schema),
        }
    }

    fn generic(&self, schema: &Value) -> Value {
        let ty = match &schema["type"] {
            Value::String(t) => t.clone(),
            Value::Array(ts) => ts
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
                .unwrap_or("null")
                .to_owned(),
            _ => "object".into(),
        };
        match ty.as_str() {
            "string" => schema["enum"].get(0).cloned().unwrap_or(json!("x")),
            "integer" | "number" => json!(1),
            "boolean" => json!(false),
            "array" => json!([self.generic(&schema["items"])]),
            "null" => Value::Null,
            _ => Value::Object(self.good_body(schema)),
        }
    }

    fn good_body(&self, schema: &Value) -> Map<String, Value> {
        schema["properties"]
            .as_object()
            .map(|props| {
                props
                    .iter()
                    .map(|(k, s)| (k.clone(), self.good_value(k, s)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Sends one request and checks its answer; `Err` says what was wrong.
    fn send(&self, op: &Operation, req: &Req) -> Result<(), String> {
        let who = req.who.unwrap_or_else(|| Self::caller(op));
        let mut path = op.path.clone();
        for name in &op.path_params {
            let value = req
                .path
                .get(name)
                .cloned()
                .unwrap_or_else(|| self.path_value(op, name));
            path = path.replace(&format!("{{{name}}}"), &value);
        }
        let mut url = format!("{}{path}", self.base);
        if !req.query.is_empty() {
            url.push('?');
            url.push_str(&req.query);
        }
        let mut r = self
            .http
            .request(req.method.clone().unwrap_or(op.method.clone()), &url);
        if let Some(token) = self.token(who) {
            r = r.bearer_auth(token);
        }
        if op.header_params.iter().any(|h| h == "If-Match") {
            r = r.header("if-match", "*");
        }
        for (name, value) in &req.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?;
            // Header values that are not valid on the wire at all cannot be sent; skip them.
            let Ok(value) = HeaderValue::from_bytes(value) else {
                return Ok(());
            };
            r = r.header(name, value);
        }
        if let Some(body) = &req.body {
            r = r.body(body.clone());
            if let Some(ct) = &req.content_type {
                r = r.header(CONTENT_TYPE, ct.as_str());
            }
        }
        let started = Instant::now();
        // A body over the server's limit may be refused before it has all been sent: the server
        // answers 413 and closes the connection, and a client still writing then sees a broken
        // pipe instead of the answer (HTTP allows this; it happened once in CI under load). Such
        // a request is sent again, a few times, until its answer is read.
        let oversized = req.body.as_ref().is_some_and(|b| b.len() > 64 * 1024);
        let mut tries = if oversized { 5 } else { 1 };
        let response = loop {
            tries -= 1;
            let attempt = r
                .try_clone()
                .expect("bodies here are bytes, which clone")
                .send();
            match attempt {
                Err(e) if tries > 0 && e.is_request() => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                other => break other,
            }
        };
        let response = response.map_err(|e| {
            let mut why = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                why.push_str(&format!(": {s}"));
                source = s.source();
            }
            format!("no answer (a crash or a dropped connection): {why}")
        })?;
        let status = response.status();
        *self
            .answers
            .lock()
            .unwrap()
            .entry(status.as_u16())
            .or_default() += 1;
        let event_stream = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        // An event stream stays open; its status and type are the answer.
        let text = if event_stream {
            String::new()
        } else {
            response
                .text()
                .map_err(|e| format!("{status} with an unreadable body: {e}"))?
        };
        if status.is_success() && req.must_refuse {
            return Err(format!(
                "{status}: accepted invisible or bidi characters in {}",
                req.label.as_deref().unwrap_or("a field")
            ));
        }
        if status.is_server_error() || status.as_u16() == 408 {
            return Err(format!("{status} after {:?}: {text}", started.elapsed()));
        }
        // A HEAD answer has no body by definition.
        if status.is_client_error() && req.method != Some(Method::HEAD) {
            let body: Value = serde_json::from_str(&text)
                .map_err(|_| format!("{status} without a JSON body: {text:?}"))?;
            let code = body["error"]["code"].as_str().unwrap_or("");
            let message = body["error"]["message"].as_str().unwrap_or("");
            if code.is_empty() || message.is_empty() {
                return Err(format!(
                    "{status} without an error code and message: {body}"
                ));
            }
            if status.as_u16() == 401 && who != Who::Nobody {
                // The mutation may have signed this session out (DELETE /v1/sessions/current).
                self.renew(who);
            }
        }
        Ok(())
    }
}

/// One request, as a mutation of an operation's well-formed request.
#[derive(Debug, Clone, Default)]
struct Req {
    method: Option<Method>,
    who: Option<Who>,
    path: BTreeMap<String, String>,
    query: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Option<Vec<u8>>,
    content_type: Option<String>,
    /// What the mutation was, for the report of what was accepted.
    label: Option<String>,
    /// Invisible or direction-changing characters in a field other than a password: a 2xx
    /// would let text that reads as something else into the records.
    must_refuse: bool,
}

/// Characters a reader cannot see, or that reorder what they see: format characters (zero-width,
/// joiners, bidi marks, overrides and isolates, the byte-order mark, the soft hyphen) and control
/// characters other than ordinary whitespace.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
        || (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

impl Req {
    fn json(body: &Value) -> Self {
        Self::raw(serde_json::to_vec(body).expect("JSON"))
    }

    fn raw(bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            body: Some(bytes.into()),
            content_type: Some("application/json".into()),
            ..Self::default()
        }
    }
}

/// Strings that look like something else, or carry invisible or direction-changing characters.
fn unicode_edges() -> Vec<String> {
    let mut v: Vec<String> = [
        "соntoso.com",                                 // Cyrillic о
        "contoso.com\u{200B}",                         // zero-width space
        "con\u{200D}toso",                             // zero-width joiner
        "\u{FEFF}robin",                               // byte-order mark
        "\u{202E}moc.osotnoc",                         // right-to-left override
        "robin\u{200F}",                               // right-to-left mark
        "\u{2066}robin\u{2069}",                       // isolates
        "ｃｏｎｔｏｓｏ",                              // fullwidth
        "𝕔𝕠𝕟𝕥𝕠𝕤𝕠",                                     // mathematical double-struck
        "e\u{0301}",                                   // combining acute
        "İı ß ﬁ",                                      // case-mapping oddities
        "\u{0000}",                                    // NUL
        "a\u{0007}b\u{001B}[31m",                      // control characters, an escape sequence
        "\u{FFFF}\u{FFFE}",                            // noncharacters
        "\u{10FFFF}",                                  // the last code point
        "\u{1F600}\u{1F3F3}\u{FE0F}\u{200D}\u{1F308}", // emoji with ZWJ
        "\u{00A0}\u{3000}",                            // no-break and ideographic spaces
        "",
        " ",
        "\t\r\n",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "\"robin\" NEAR/2 * OR ^", // FTS5 syntax
        "../../etc/passwd",
        "%00%2e%2e",
        "xn--80ak6aa92e.com", // punycode of a look-alike
        "robin@contoso.com.evil.test",
        "robin@xn--ntoso-3ve.com",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    v.push(format!("e{}", "\u{0301}".repeat(300)));
    v.push("a".repeat(4000));
    v.push("\u{200B}".repeat(2000));
    v
}

/// Values of the wrong JSON type, or at the edges of their type.
fn wrong_types() -> Vec<Value> {
    vec![
        Value::Null,
        json!(true),
        json!(0),
        json!(-1),
        json!(1.5),
        json!(1.7976931348623157e308),
        serde_json::from_str("18446744073709551616").expect("a big number"),
        json!(""),
        json!([]),
        json!({}),
        json!(["x"]),
        json!({"a": {"b": [1]}}),
    ]
}

/// Bodies that are not JSON, or not the JSON of any request.
fn malformed_bodies() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = [
        "",
        "{",
        "}",
        "{\"a\":",
        "{'a': 1}",
        "{\"a\": 1,}",
        "nul",
        "[]",
        "\"text\"",
        "1",
        "null",
        "true",
        "{} {}",
        "{\"a\":\"\\ud800\"}",
        "{\"a\":\"\\u0000\"}",
    ]
    .into_iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    v.push(vec![0xff, 0xfe, 0x7b, 0x7d]);
    v.push(b"\xEF\xBB\xBF{}".to_vec());
    v.push(b"{\"a\": \"\xC3\x28\"}".to_vec());
    v.push("[".repeat(100_000).into_bytes());
    v.push("9".repeat(20_000).into_bytes());
    // Well over the 64 KiB limit, and just over it.
    v.push(format!("{{\"a\": \"{}\"}}", "x".repeat(1 << 20)).into_bytes());
    v.push(format!("{{\"a\": \"{}\"}}", "x".repeat(64 * 1024)).into_bytes());
    v
}

fn path_edges() -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        "x",
        "0",
        "-1",
        "null",
        "%00",
        "%FF%FE",
        "%E2%80%8B",
        "..",
        "%2E%2E%2F",
        "a%2Fb",
        "org_%D0%BE",
        "соntoso",
        "\u{202E}abc",
        "' OR 1=1",
        "*",
        "%",
        "%zz",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    v.push("a".repeat(4000));
    v
}

fn query_edges() -> Vec<String> {
    [
        "",
        "-1",
        "0",
        "101",
        "4294967296",
        "99999999999999999999",
        "1.5",
        "abc",
        "%00",
        "%FF",
        "%E2%80%8B",
        "%D1%81%D0%BE",
        "%E2%80%AE",
        "'%20OR%201=1",
        "%22%2A",
    ]
    .into_iter()
    .map(String::from)
    .chain(std::iter::once("a".repeat(3000)))
    .collect()
}

/// Every request of the systematic sweep for one operation.
fn sweep(world: &World, op: &Operation) -> Vec<Req> {
    let mut out = Vec::new();
    // The well-formed request, and the same without a session.
    let good = op.body.as_ref().map(|s| world.good_body(s));
    let base = match &good {
        Some(b) => Req::json(&Value::Object(b.clone())),
        None => Req::default(),
    };
    out.push(base.clone());
    out.push(Req {
        who: Some(Who::Nobody),
        ..base.clone()
    });
    if let (Some(schema), Some(_)) = (&op.body, &good) {
        let props: Vec<String> = schema["properties"]
            .as_object()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        for prop in &props {
            let fresh = || world.good_body(schema);
            let mut missing = fresh();
            missing.remove(prop);
            out.push(Req::json(&Value::Object(missing)));
            for wrong in wrong_types() {
                let mut b = fresh();
                b.insert(prop.clone(), wrong);
                out.push(Req::json(&Value::Object(b)));
            }
            for edge in unicode_edges() {
                let mut whole = fresh();
                whole.insert(prop.clone(), json!(edge));
                let hidden = prop != "password" && edge.chars().any(invisible);
                let mut r = Req::json(&Value::Object(whole));
                r.label = Some(format!("{prop} = {edge:?}"));
                r.must_refuse = hidden;
                out.push(r);
                // Hidden inside a well-formed value, where it is hardest to see.
                let mut inside = fresh();
                if let Some(Value::String(s)) = inside.get(prop).cloned() {
                    let mid = s
                        .char_indices()
                        .nth(s.chars().count() / 2)
                        .map_or(0, |(i, _)| i);
                    let spliced = format!("{}{edge}{}", &s[..mid], &s[mid..]);
                    inside.insert(prop.clone(), json!(spliced));
                    let mut r = Req::json(&Value::Object(inside));
                    r.label = Some(format!("{prop} = {spliced:?}"));
                    r.must_refuse = hidden;
                    out.push(r);
                }
            }
        }
        // Extra fields, including ones that name what a caller must not set.
        let mut extra = world.good_body(schema);
        for (k, v) in [
            ("unexpected", json!(1)),
            ("__proto__", json!({"admin": true})),
            ("is_ppc", json!(true)),
            ("status", json!("active")),
            ("revision", json!(99)),
            ("account_id", json!("acc_1")),
            ("privileges", json!(["global_admin"])),
        ] {
            extra.insert(k.into(), v);
        }
        out.push(Req::json(&Value::Object(extra)));
        // The whole body of another type.
        for top in [json!([]), json!("body"), json!(1), Value::Null, json!(true)] {
            out.push(Req::json(&top));
        }
        // Duplicate keys.
        if let Some(first) = props.first() {
            out.push(Req::raw(format!(
                "{{\"{first}\": \"a\", \"{first}\": \"b\"}}"
            )));
        }
        for raw in malformed_bodies() {
            out.push(Req::raw(raw));
        }
        let body = serde_json::to_vec(&Value::Object(world.good_body(schema))).expect("JSON");
        for ct in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            Some("application/json; charset=latin1"),
            Some("application/jsonp"),
            Some("\u{00e9}"),
        ] {
            out.push(Req {
                body: Some(body.clone()),
                content_type: ct.map(String::from),
                ..Req::default()
            });
        }
    } else {
        // A body where none is expected.
        out.push(Req::raw(b"{\"a\": 1}".to_vec()));
        out.push(Req::raw(vec![0xff; 70 * 1024]));
    }
    for name in &op.path_params {
        for edge in path_edges() {
            let mut r = base.clone();
            r.path.insert(name.clone(), edge);
            out.push(r);
        }
    }
    let mut queries: Vec<String> = vec!["unknown=1".into(), "%ZZ=1".into(), "&&=&".into()];
    for name in &op.query_params {
        for edge in query_edges() {
            queries.push(format!("{name}={edge}"));
        }
        queries.push(format!("{name}=1&{name}=2"));
    }
    for q in queries {
        out.push(Req {
            query: q,
            ..base.clone()
        });
    }
    let mut headers: Vec<(String, Vec<u8>)> = vec![
        ("authorization".into(), b"Bearer".to_vec()),
        ("authorization".into(), b"Basic cm9iaW46cGFzcw==".to_vec()),
        (
            "authorization".into(),
            format!("Bearer {}", "A".repeat(6000)).into_bytes(),
        ),
        (
            "authorization".into(),
            "Bearer \u{200B}".as_bytes().to_vec(),
        ),
        ("accept".into(), b"application/json".to_vec()),
        ("accept".into(), b"*/*;q=\xff".to_vec()),
        (
            "x-forwarded-for".into(),
            b"not-an-address, 300.1.1.1".to_vec(),
        ),
    ];
    for h in &op.header_params {
        for v in [
            &b""[..],
            b" ",
            b"abc",
            b"\"-1\"",
            b"W/\"1\"",
            b"\"99999999999999999999\"",
            "ключ".as_bytes(),
            b"\xff\xfe",
            &[b'k'; 300],
            b"a b",
        ] {
            headers.push((h.to_lowercase(), v.to_vec()));
        }
    }
    for (name, value) in headers {
        let mut r = base.clone();
        if name == "authorization" {
            // The bad header replaces the session.
            r.who = Some(Who::Nobody);
        }
        r.headers.push((name, value));
        out.push(r);
    }
    // The same address with other methods.
    for m in [Method::PUT, Method::PATCH, Method::OPTIONS, Method::HEAD] {
        if m != op.method {
            out.push(Req {
                method: Some(m),
                ..base.clone()
            });
        }
    }
    out
}

/// A random mutation, for the proptest pass.
#[derive(Debug, Clone)]
enum Mutation {
    Field(usize, Value),
    FieldText(usize, String),
    Remove(usize),
    Raw(Vec<u8>),
    Path(usize, String),
    Query(usize, String),
    Header(usize, Vec<u8>),
}

/// Text made of the characters that fool people and parsers, mixed with plain ones.
fn tricky_text() -> impl Strategy<Value = String> {
    let chars = prop_oneof![
        4 => proptest::char::range('a', 'z'),
        1 => Just('@'),
        1 => Just('.'),
        1 => Just('-'),
        1 => proptest::sample::select(vec![
            '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{200E}', '\u{200F}',
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{0301}', '\u{0336}', '\u{0430}', '\u{043E}', '\u{0435}',
            '\u{0440}', '\u{0441}', '\u{0131}', '\u{0130}', '\u{FF41}', '\u{1D41A}', '\u{0000}',
            '\u{007F}', '\u{0085}', '\u{2028}', '\u{FFFD}', '\u{FFFF}', '\u{E000}', '\u{1F600}',
            '"', '\\', '\'', '*', '%', '/', '?', '#', '&', '=',
        ]),
        1 => any::<char>(),
    ];
    proptest::collection::vec(chars, 0..80).prop_map(|c| c.into_iter().collect())
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        tricky_text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(tricky_text(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        2 => (0..8usize, json_value()).prop_map(|(i, v)| Mutation::Field(i, v)),
        3 => (0..8usize, tricky_text()).prop_map(|(i, s)| Mutation::FieldText(i, s)),
        1 => (0..8usize).prop_map(Mutation::Remove),
        1 => proptest::collection::vec(any::<u8>(), 0..200).prop_map(Mutation::Raw),
        1 => json_value().prop_map(|v| Mutation::Raw(serde_json::to_vec(&v).unwrap_or_default())),
        1 => (0..3usize, tricky_text()).prop_map(|(i, s)| Mutation::Path(i, s)),
        1 => (0..6usize, tricky_text()).prop_map(|(i, s)| Mutation::Query(i, s)),
        1 => (0..4usize, proptest::collection::vec(any::<u8>(), 0..60))
            .prop_map(|(i, v)| Mutation::Header(i, v)),
    ]
}

/// Percent-encodes everything but unreserved characters, so a mutation stays one parameter.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn apply(world: &World, op: &Operation, m: &Mutation) -> Req {
    let good = op.body.as_ref().map(|s| world.good_body(s));
    let keys: Vec<String> = good
        .as_ref()
        .map(|b| b.keys().cloned().collect())
        .unwrap_or_default();
    let with_body = |b: Map<String, Value>| Req::json(&Value::Object(b));
    let base = || good.clone().map(with_body).unwrap_or_default();
    let field = |i: &usize| (!keys.is_empty()).then(|| keys[i % keys.len()].clone());
    match m {
        Mutation::Field(i, v) if field(i).is_some() => {
            let mut b = good.clone().unwrap_or_default();
            b.insert(field(i).unwrap_or_default(), v.clone());
            with_body(b)
        }
        Mutation::FieldText(i, text) if field(i).is_some() => {
            let mut b = good.clone().unwrap_or_default();
            b.insert(field(i).unwrap_or_default(), json!(text));
            with_body(b)
        }
        Mutation::Remove(i) if field(i).is_some() => {
            let mut b = good.clone().unwrap_or_default();
            b.remove(&field(i).unwrap_or_default());
            with_body(b)
        }
        Mutation::Raw(bytes) => Req::raw(bytes.clone()),
        Mutation::Path(i, s) if !op.path_params.is_empty() => {
            let mut r = base();
            r.path
                .insert(op.path_params[i % op.path_params.len()].clone(), encode(s));
            r
        }
        Mutation::Query(i, s) => {
            let mut r = base();
            let name = op
                .query_params
                .get(i % op.query_params.len().max(1))
                .cloned()
                .unwrap_or_else(|| "unknown".into());
            r.query = format!("{name}={}", encode(s));
            r
        }
        Mutation::Header(i, v) => {
            let mut r = base();
            let names = [
                "authorization",
                "idempotency-key",
                "if-match",
                "last-event-id",
            ];
            let name = names[i % names.len()];
            if name == "authorization" {
                r.who = Some(Who::Nobody);
            }
            r.headers.push((name.into(), v.clone()));
            r
        }
        _ => base(),
    }
}

#[test]
fn every_operation_answers_bad_input_with_a_coded_4xx_never_a_5xx() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("a temp dir");
    let sink = SmtpSink::start();
    let mut launch = Launch::new(&dir.path().join("server.sqlite3"), &sink);
    launch
        .extra
        .extend(["--request-timeout-secs".into(), "20".into()]);
    let mut server = ServerProcess::start(launch);

    let doc: Value = serde_json::from_str(include_str!("../../../docs/openapi.json"))
        .expect("docs/openapi.json is JSON");
    let ops = operations(&doc);
    assert!(
        ops.len() >= 30,
        "the document lists {} operations",
        ops.len()
    );

    let mut world = World::setup(server.base());
    world.verify_member(&sink);

    let mut failures = Vec::new();
    let mut sent = 0usize;
    let mut per_op = Vec::new();
    for op in &ops {
        let reqs = sweep(&world, op);
        per_op.push((format!("{} {}", op.method, op.path), reqs.len()));
        for req in reqs {
            sent += 1;
            if let Err(e) = world.send(op, &req) {
                failures.push(format!(
                    "{} {}: {e}\n    request: {req:?}",
                    op.method, op.path
                ));
            }
        }
        assert!(
            server.alive(),
            "the server died during {} {}",
            op.method,
            op.path
        );
    }
    let sweep_time = started.elapsed();

    let cases: u32 = std::env::var("ROBUSTNESS_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let random = runner.run(&(0..ops.len(), mutation()), |(i, m)| {
        let op = &ops[i];
        let req = apply(&world, op, &m);
        world
            .send(op, &req)
            .map_err(|e| TestCaseError::fail(format!("{} {}: {e}", op.method, op.path)))
    });

    assert!(server.alive(), "the server died");
    let health = world
        .http
        .get(format!("{}/healthz", world.base))
        .send()
        .expect("health answers");
    assert_eq!(health.status().as_u16(), 200);
    assert!(server.stop(), "the server shuts down cleanly afterwards");

    let answers = world.answers.lock().unwrap().clone();
    println!(
        "robustness: {} operations, {sent} sweep requests in {:.1}s, {cases} random cases; answers by status: {answers:?}; total {:.1}s",
        ops.len(),
        sweep_time.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    for (op, n) in &per_op {
        println!("  {n:4} {op}");
    }
    assert!(
        failures.is_empty(),
        "{} of {sent} requests got a wrong answer:\n{}",
        failures.len(),
        failures.join("\n")
    );
    if let Err(e) = random {
        panic!("the random pass found a bad answer: {e}");
    }
}
