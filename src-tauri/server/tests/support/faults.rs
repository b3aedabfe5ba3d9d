//! Load with faults, shared by `tests/faults.rs` (one server, killed twice) and `tests/cluster.rs`
//! (two instances on PostgreSQL behind haproxy; each killed, and the database restarted): 100
//! concurrent clients run the mixed journey against the real server binary for 60 seconds while
//! the faults happen (SIGKILL, no graceful shutdown, then a start again on the same database and
//! port). Then:
//!
//! - zero acknowledged writes lost: every write that got a 2xx (association requests,
//!   approvals, verifications, profile edits, leaving) is in the database afterwards;
//! - zero duplicate effects: each `Idempotency-Key` made at most one request (one row per
//!   organisation email, each used by one key only) and each address got at most one
//!   verification mail per mail the journey asked for;
//! - every client recovers: each completes at least one whole journey after the last fault;
//! - a follower of the PPC's event stream, reconnecting with `Last-Event-ID` whenever its stream
//!   breaks, has seen every event of its audience the database holds, each once;
//! - no 5xx answer outside the moments something was down (and none at all from one server).
//!
//! Staff clients (95) each sign in, look up Contoso, ask to join it with `Idempotency-Key` (at
//! once with a contoso.com address, or through the PPC with another one), wait for the mail,
//! verify, edit their profile twice with `If-Match`, and leave, so the next journey can start.
//! PPC clients (5) sign in as Contoso's PPC and approve whatever waits. A call that gets no
//! answer (the server is down, or died mid-request) or a 5xx/408 is retried: a creating write
//! with the same key; other writes are resolved by what a retry answers (410/409/412 tell
//! whether the first attempt went through).
//!
//! `FAULTS_SECS` (default 60) and `FAULTS_CLIENTS` (default 100) change the run for local use.
//! The test prints its counts.

/// Prints a figure to stderr past the test harness's capture (the print macros are captured
/// while a test passes), so the run's figures reach CI's log.
macro_rules! show {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Launch, ServerProcess, SmtpSink, DEMO_PASSWORD};
use reqwest::header::{ETAG, IF_MATCH};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const PPC_CLIENTS: usize = 5;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What one call came back with.
enum Answer {
    /// The server answered (not with a 5xx or 408).
    Status(StatusCode, reqwest::header::HeaderMap, Value),
    /// No answer, a 5xx or a 408: the write may or may not have happened.
    Unknown,
}

/// Everything the clients learnt, to be checked against the database afterwards.
#[derive(Default)]
struct Ledger {
    /// Request id → organisation email, for every 2xx to a creating write.
    requests_acked: BTreeMap<String, String>,
    /// Requests whose creation was only learnt after a retry (the first answer was lost).
    requests_recovered: BTreeMap<String, String>,
    /// Idempotency keys used, and the email each was for.
    keys: BTreeMap<String, String>,
    approvals_acked: BTreeSet<String>,
    memberships_acked: BTreeSet<String>,
    /// Membership → (revision, job title) of the newest edit known to be applied.
    profiles: BTreeMap<String, (i64, String)>,
    leaves_acked: BTreeSet<String>,
    /// Address → resends asked for.
    resends: BTreeMap<String, u32>,
    replays: u64,
    retries: u64,
    unknown_outcomes: u64,
    server_errors: u64,
    /// When each 5xx came (milliseconds since the clock started), to check it came while
    /// something was down.
    server_error_at: Vec<u64>,
    failures: Vec<String>,
    /// Client → journeys completed, and how many after the last restart.
    journeys: BTreeMap<usize, (u64, u64)>,
}

struct Shared {
    base: String,
    http: reqwest::Client,
    /// For the follower's stream: no overall timeout (a stream is one long response).
    http_stream: reqwest::Client,
    contoso: String,
    ledger: Mutex<Ledger>,
    /// Mail received so far, by address (filled from the SMTP sink by one task).
    mail: Mutex<BTreeMap<String, Vec<String>>>,
    /// Milliseconds since `epoch` of the last restart (0 before any).
    last_restart_ms: AtomicU64,
    restarts: AtomicU64,
    /// Faults in the run: a client has recovered once it finished a journey after the last.
    faults: u64,
    /// Staff clients still running; the PPC clients approve until none is.
    staff_left: AtomicUsize,
    epoch: Instant,
    /// When clients stop starting journeys (if they have finished one since the last restart).
    stop_at: Instant,
    /// When every client must be done, whatever happened.
    hard_stop: Instant,
}

impl Shared {
    fn fail(&self, what: String) {
        eprintln!("faults: {what}");
        self.ledger.lock().unwrap().failures.push(what);
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, String)],
    ) -> Answer {
        let mut r = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        for (name, value) in headers {
            r = r.header(*name, value);
        }
        if let Some(b) = body {
            r = r.json(b);
        }
        let Ok(response) = r.send().await else {
            return Answer::Unknown;
        };
        let status = response.status();
        let headers = response.headers().clone();
        let Ok(text) = response.text().await else {
            return Answer::Unknown;
        };
        if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
            if status.is_server_error() {
                eprintln!("faults: {status} {path}: {text}");
                let at = self.epoch.elapsed().as_millis() as u64;
                let mut l = self.ledger.lock().unwrap();
                l.server_errors += 1;
                l.server_error_at.push(at);
            }
            return Answer::Unknown;
        }
        if headers.contains_key("idempotent-replayed") {
            self.ledger.lock().unwrap().replays += 1;
        }
        let value = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer::Status(status, headers, value)
    }

    /// Calls until the server gives an answer that says what happened. For reads and for
    /// writes whose repeat is harmless (sign-in, keyed creates) this is all the retrying needed.
    async fn settle(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, String)],
    ) -> Option<(StatusCode, reqwest::header::HeaderMap, Value)> {
        let mut attempt = 0u32;
        loop {
            match self.call(method.clone(), path, token, body, headers).await {
                Answer::Status(s, _, v)
                    if s == StatusCode::CONFLICT && code(&v) == "idempotency_key_in_progress"
                        || s == StatusCode::TOO_MANY_REQUESTS => {}
                Answer::Status(s, h, v) => return Some((s, h, v)),
                Answer::Unknown => {}
            }
            attempt += 1;
            {
                let mut l = self.ledger.lock().unwrap();
                l.retries += 1;
            }
            if Instant::now() > self.hard_stop {
                self.fail(format!(
                    "{method} {path}: no answer after {attempt} attempts"
                ));
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100 + 50 * u64::from(attempt.min(8)))).await;
        }
    }

    /// The first attempt of a write that has no key: `None` when its outcome is unknown, so the
    /// caller resolves it with a retry whose answer tells.
    async fn once(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
        headers: &[(&str, String)],
    ) -> Option<(StatusCode, reqwest::header::HeaderMap, Value)> {
        match self.call(method, path, Some(token), body, headers).await {
            Answer::Status(s, h, v) if s != StatusCode::TOO_MANY_REQUESTS => Some((s, h, v)),
            _ => {
                self.ledger.lock().unwrap().unknown_outcomes += 1;
                None
            }
        }
    }

    async fn sign_in(&self, email: &str) -> Option<String> {
        let body = json!({"email": email, "password": DEMO_PASSWORD});
        let (s, _, v) = self
            .settle(Method::POST, "/v1/sessions", None, Some(&body), &[])
            .await?;
        if s != StatusCode::OK {
            self.fail(format!("sign-in of {email}: {s} {v}"));
            return None;
        }
        v["access_token"].as_str().map(str::to_owned)
    }

    fn after_last_restart(&self, at: Instant) -> bool {
        let restarts = self.restarts.load(Ordering::SeqCst);
        let last = self.last_restart_ms.load(Ordering::SeqCst);
        restarts >= self.faults && at.duration_since(self.epoch).as_millis() as u64 > last
    }

    fn journey_done(&self, client: usize, started: Instant) {
        let after = self.after_last_restart(started);
        let mut l = self.ledger.lock().unwrap();
        let e = l.journeys.entry(client).or_default();
        e.0 += 1;
        if after {
            e.1 += 1;
        }
    }

    /// Whether `client` should start another journey.
    fn go_on(&self, client: usize) -> bool {
        let now = Instant::now();
        if now >= self.hard_stop {
            return false;
        }
        if now < self.stop_at {
            return true;
        }
        let l = self.ledger.lock().unwrap();
        l.journeys.get(&client).is_none_or(|e| e.1 == 0)
    }

    /// The newest mail to `address` once more than `seen` have arrived.
    async fn mail_after(&self, address: &str, seen: usize, wait: Duration) -> Option<String> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(m) = self.mail.lock().unwrap().get(address) {
                if m.len() > seen {
                    return m.last().cloned();
                }
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    fn mail_count(&self, address: &str) -> usize {
        self.mail.lock().unwrap().get(address).map_or(0, Vec::len)
    }

    /// A resend that was, or may have been, made: each allows one more mail to the address.
    fn count_resend(&self, address: &str) {
        *self
            .ledger
            .lock()
            .unwrap()
            .resends
            .entry(address.to_owned())
            .or_default() += 1;
    }
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

fn etag_revision(h: &reqwest::header::HeaderMap) -> Option<i64> {
    h.get(ETAG)?.to_str().ok()?.trim_matches('"').parse().ok()
}

/// One staff client: whole journeys until told to stop.
async fn staff(shared: Arc<Shared>, client: usize) {
    let email = format!("faults.staff{client}@example.net");
    let mut journey = 0u64;
    while shared.go_on(client) {
        journey += 1;
        let started = Instant::now();
        if staff_journey(&shared, client, &email, journey)
            .await
            .is_some()
        {
            shared.journey_done(client, started);
        } else {
            // A failed journey is recorded; back off a little and start a new one.
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    shared.staff_left.fetch_sub(1, Ordering::SeqCst);
}

async fn staff_journey(s: &Shared, client: usize, email: &str, journey: u64) -> Option<()> {
    let token = s.sign_in(email).await?;
    let t = Some(token.as_str());

    let (status, _, found) = s
        .settle(Method::GET, "/v1/organisations?q=Contoso", t, None, &[])
        .await?;
    if status != StatusCode::OK || found["items"].as_array().is_none_or(|i| i.is_empty()) {
        s.fail(format!("lookup: {status} {found}"));
        return None;
    }

    // Ask to join Contoso: at once with a contoso.com address, through the PPC otherwise.
    let work = if journey.is_multiple_of(2) {
        format!("c{client}j{journey}@partner{client}.example")
    } else {
        format!("c{client}j{journey}@contoso.com")
    };
    let key = format!("faults-{client}-{journey}-{}", std::process::id());
    s.ledger
        .lock()
        .unwrap()
        .keys
        .insert(key.clone(), work.clone());
    let body = json!({"organisation_id": s.contoso, "first_name": "Fault", "last_name": format!("Tester{client}"), "organisation_email": work});
    let (status, _, created) = s
        .settle(
            Method::POST,
            "/v1/association-requests",
            t,
            Some(&body),
            &[("idempotency-key", key.clone())],
        )
        .await?;
    let request_id = if status == StatusCode::CREATED {
        let id = created["request_id"].as_str()?.to_owned();
        s.ledger
            .lock()
            .unwrap()
            .requests_acked
            .insert(id.clone(), work.clone());
        id
    } else if status == StatusCode::CONFLICT
        && matches!(
            code(&created),
            "idempotency_key_answer_lost" | "request_open"
        )
    {
        // The first attempt went through but its answer was lost with the server: its key says
        // so (the write consumed it in the same transaction), or, had the key been given up,
        // the service's own rule refused the repeat. Find the request.
        let (_, _, me) = s.settle(Method::GET, "/v1/me", t, None, &[]).await?;
        let Some(id) = me["requests"].as_array().and_then(|rs| {
            rs.iter()
                .find(|r| r["organisation_email"] == work.as_str())
                .and_then(|r| r["request_id"].as_str())
        }) else {
            s.fail(format!(
                "request for {work}: 409 request_open but no such request"
            ));
            return None;
        };
        s.ledger
            .lock()
            .unwrap()
            .requests_recovered
            .insert(id.to_owned(), work.clone());
        id.to_owned()
    } else {
        s.fail(format!("request for {work}: {status} {created}"));
        return None;
    };

    // Wait for the PPC's approval where it is needed.
    let path = format!("/v1/association-requests/{request_id}");
    loop {
        let (status, _, r) = s.settle(Method::GET, &path, t, None, &[]).await?;
        match r["status"].as_str() {
            Some("accepted") => break,
            Some("pending_approval") if Instant::now() < s.hard_stop => {
                tokio::time::sleep(Duration::from_millis(300)).await
            }
            _ => {
                s.fail(format!("request {request_id}: {status} {r}"));
                return None;
            }
        }
    }

    // The verification mail. The server may have died between the commit and the mail; then
    // the client asks for it again, as a person would.
    let resend = format!("{path}/resend-verification");
    let mut seen = 0;
    let mail = loop {
        if let Some(m) = s.mail_after(&work, seen, Duration::from_secs(8)).await {
            break m;
        }
        if Instant::now() > s.hard_stop {
            s.fail(format!("no verification mail for {work}"));
            return None;
        }
        seen = s.mail_count(&work);
        match s.once(Method::POST, &resend, &token, None, &[]).await {
            Some((status, _, _)) if status.is_success() => s.count_resend(&work),
            Some((_, _, v)) if code(&v) == "resend_cooldown" => {
                tokio::time::sleep(Duration::from_secs(1)).await
            }
            Some((status, _, v)) => {
                s.fail(format!("resend for {work}: {status} {v}"));
                return None;
            }
            // It may have gone through before the answer was lost.
            None => s.count_resend(&work),
        }
    };
    let Some(code_in_mail) = super::token_in(&mail) else {
        s.fail(format!("no code in the mail to {work}"));
        return None;
    };

    // Verify. A lost answer shows up on the retry as `token_used`; the request then names the
    // membership it became.
    let verify = json!({"token": code_in_mail});
    let membership = loop {
        match s
            .once(
                Method::POST,
                "/v1/verifications",
                &token,
                Some(&verify),
                &[],
            )
            .await
        {
            Some((StatusCode::OK, _, v)) => {
                let m = v["membership_id"].as_str()?.to_owned();
                s.ledger.lock().unwrap().memberships_acked.insert(m.clone());
                break m;
            }
            Some((status, _, v)) if status == StatusCode::GONE && code(&v) == "token_used" => {
                let (_, _, r) = s.settle(Method::GET, &path, t, None, &[]).await?;
                match r["membership_id"].as_str() {
                    Some(m) => break m.to_owned(),
                    None => {
                        s.fail(format!("verify {work}: token used but no membership: {r}"));
                        return None;
                    }
                }
            }
            Some((status, _, v)) => {
                s.fail(format!("verify {work}: {status} {v}"));
                return None;
            }
            None => tokio::time::sleep(Duration::from_millis(200)).await,
        }
        if Instant::now() > s.hard_stop {
            s.fail(format!("verify {work}: gave up"));
            return None;
        }
    };

    // Two profile edits, each guarded by If-Match.
    let profile = format!("/v1/memberships/{membership}/profile");
    let (status, headers, _) = s.settle(Method::GET, &profile, t, None, &[]).await?;
    let Some(mut revision) = etag_revision(&headers).filter(|_| status == StatusCode::OK) else {
        s.fail(format!("profile of {membership}: {status}"));
        return None;
    };
    for edit in 0..2 {
        let title = format!("Tester c{client} j{journey} e{edit}");
        let patch = json!({"job_title": title});
        loop {
            let answer = s
                .once(
                    Method::PATCH,
                    &profile,
                    &token,
                    Some(&patch),
                    &[(IF_MATCH.as_str(), format!("\"{revision}\""))],
                )
                .await;
            match answer {
                Some((StatusCode::OK, h, _)) => {
                    revision = etag_revision(&h)?;
                    s.ledger
                        .lock()
                        .unwrap()
                        .profiles
                        .insert(membership.clone(), (revision, title.clone()));
                    break;
                }
                Some((StatusCode::PRECONDITION_FAILED, _, v)) => {
                    // Our edit went through before its answer was lost, or not at all.
                    let current = &v["error"]["current"];
                    revision = current["revision"].as_i64()?;
                    if current["job_title"] == title.as_str() {
                        s.ledger
                            .lock()
                            .unwrap()
                            .profiles
                            .insert(membership.clone(), (revision, title.clone()));
                        break;
                    }
                }
                Some((status, _, v)) => {
                    s.fail(format!("edit {membership}: {status} {v}"));
                    return None;
                }
                None => tokio::time::sleep(Duration::from_millis(200)).await,
            }
            if Instant::now() > s.hard_stop {
                s.fail(format!("edit {membership}: gave up"));
                return None;
            }
        }
    }

    // Leave, so the next journey can ask again.
    let leave = format!("/v1/memberships/{membership}");
    loop {
        match s.once(Method::DELETE, &leave, &token, None, &[]).await {
            Some((StatusCode::NO_CONTENT, _, _)) => {
                s.ledger
                    .lock()
                    .unwrap()
                    .leaves_acked
                    .insert(membership.clone());
                break;
            }
            Some((StatusCode::GONE, _, v)) if code(&v) == "membership_removed" => break,
            Some((status, _, v)) => {
                s.fail(format!("leave {membership}: {status} {v}"));
                return None;
            }
            None => tokio::time::sleep(Duration::from_millis(200)).await,
        }
        if Instant::now() > s.hard_stop {
            s.fail(format!("leave {membership}: gave up"));
            return None;
        }
    }
    Some(())
}

/// One PPC client: approves whatever waits, round after round.
async fn ppc(shared: Arc<Shared>, client: usize) {
    let queue = format!(
        "/v1/organisations/{}/association-requests?status=pending_approval&limit=100",
        shared.contoso
    );
    while shared.go_on(client)
        || shared.staff_left.load(Ordering::SeqCst) > 0 && Instant::now() < shared.hard_stop
    {
        let started = Instant::now();
        let Some(token) = shared.sign_in("ppc@contoso.com").await else {
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        };
        // A round: a few passes over the queue with one session.
        let mut ok = true;
        for _ in 0..10 {
            let Some((status, _, page)) = shared
                .settle(Method::GET, &queue, Some(&token), None, &[])
                .await
            else {
                ok = false;
                break;
            };
            if status != StatusCode::OK {
                shared.fail(format!("queue: {status} {page}"));
                ok = false;
                break;
            }
            let ids: Vec<String> = page["items"]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|r| r["request_id"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            for id in ids {
                let path = format!("/v1/association-requests/{id}/approve");
                loop {
                    match shared.once(Method::POST, &path, &token, None, &[]).await {
                        Some((StatusCode::OK, _, _)) => {
                            shared
                                .ledger
                                .lock()
                                .unwrap()
                                .approvals_acked
                                .insert(id.clone());
                            break;
                        }
                        // Another PPC client (or our own lost first attempt) decided it.
                        Some((StatusCode::CONFLICT, _, _)) => break,
                        Some((status, _, v)) => {
                            shared.fail(format!("approve {id}: {status} {v}"));
                            break;
                        }
                        None if Instant::now() > shared.hard_stop => break,
                        None => tokio::time::sleep(Duration::from_millis(200)).await,
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        if ok {
            shared.journey_done(client, started);
        }
    }
}

/// What goes wrong during a run, one thing at a time, spread evenly over it.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// SIGKILL instance `n`, then start it again on the same database and port.
    Kill(usize),
    /// Restart PostgreSQL as a crash would (`pg_ctl restart -m immediate`).
    RestartDatabase,
}

/// The servers the clients talk to.
pub struct Topology {
    /// Names the run in what it prints.
    pub name: &'static str,
    pub instances: Vec<Arc<Mutex<ServerProcess>>>,
    /// Where the clients go: the one instance, or the balancer in front of them.
    pub base: String,
    pub database: String,
    pub faults: Vec<Fault>,
    /// Whether 5xx answers may come while something is down (from a balancer whose instance died
    /// under a request, or from every instance while the database restarts).
    pub five_hundreds_while_down: bool,
}

/// How to start an instance for a fault run: short request timeout (a claim left by a killed
/// process is taken over after 4 × it), quick resends, no event polling to speak of.
pub fn fault_launch(dir: &std::path::Path, sink: &SmtpSink, database: Option<String>) -> Launch {
    let mut launch = Launch::on_test_store(dir, sink);
    if let Some(database) = database {
        launch.database = database;
    }
    launch.listen = format!("127.0.0.1:{}", super::free_port());
    launch.extra.extend(
        [
            "--request-timeout-secs",
            "3",
            "--resend-cooldown-secs",
            "1",
            "--event-poll-ms",
            "60000",
        ]
        .map(String::from),
    );
    launch
}

/// After something comes back, how long its 5xx answers may still come: the balancer notices
/// a dead instance after three refused connections 500 ms apart (1.5 s, while requests it sends
/// there fail to connect and go to the other one) and takes it back after two accepted ones
/// (1 s); a restarted database's connections are opened again as they are needed.
const SETTLE: Duration = Duration::from_secs(5);

pub async fn run(topology: Topology, sink: SmtpSink) {
    let name = topology.name;
    let secs = env_or("FAULTS_SECS", 60);
    let clients = env_or("FAULTS_CLIENTS", 100) as usize;
    assert!(
        clients > PPC_CLIENTS,
        "FAULTS_CLIENTS must be more than {PPC_CLIENTS}"
    );
    let staff_clients = clients - PPC_CLIENTS;

    let database = topology.database.clone();
    let base = topology.base.clone();
    let faults_total = topology.faults.len() as u64;
    let http = super::http_client(Duration::from_secs(10));

    // Accounts for the staff clients, made before the clock starts.
    let setup = Shared {
        base: base.clone(),
        http: http.clone(),
        http_stream: http.clone(),
        contoso: String::new(),
        ledger: Mutex::default(),
        mail: Mutex::default(),
        last_restart_ms: AtomicU64::new(0),
        restarts: AtomicU64::new(0),
        faults: faults_total,
        staff_left: AtomicUsize::new(0),
        epoch: Instant::now(),
        stop_at: Instant::now(),
        hard_stop: Instant::now() + Duration::from_secs(120),
    };
    let setup = Arc::new(setup);
    // Four at a time: each is an argon2 hash, and the 3-second request timeout would otherwise
    // answer some of them with 408 (the key makes their retries harmless all the same).
    let mut made = Vec::new();
    for c in 0..staff_clients {
        let s = setup.clone();
        made.push(tokio::spawn(async move {
            let email = format!("faults.staff{c}@example.net");
            let body = json!({"email": email, "display_name": format!("Staff {c}"), "password": DEMO_PASSWORD});
            let key = format!("faults-account-{c}-{}", std::process::id());
            let (status, _, v) = s
                .settle(
                    Method::POST,
                    "/v1/accounts",
                    None,
                    Some(&body),
                    &[("idempotency-key", key)],
                )
                .await
                .expect("account creation answers");
            assert_eq!(status, StatusCode::CREATED, "{v}");
        }));
        if made.len() == 4 {
            for m in made.drain(..) {
                m.await.expect("account setup");
            }
        }
    }
    for m in made {
        m.await.expect("account setup");
    }
    let ppc_token = setup
        .sign_in("ppc@contoso.com")
        .await
        .expect("the PPC signs in");
    let (_, _, org) = setup
        .settle(
            Method::GET,
            "/v1/organisations?partner_id=4512345",
            Some(&ppc_token),
            None,
            &[],
        )
        .await
        .expect("lookup");
    let contoso = org["items"][0]["organisation_id"]
        .as_str()
        .expect("Contoso")
        .to_owned();

    let epoch = Instant::now();
    let shared = Arc::new(Shared {
        base,
        http_stream: reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .build()
            .expect("a streaming client"),
        http,
        contoso,
        ledger: Mutex::default(),
        mail: Mutex::default(),
        last_restart_ms: AtomicU64::new(0),
        restarts: AtomicU64::new(0),
        faults: faults_total,
        staff_left: AtomicUsize::new(staff_clients),
        epoch,
        stop_at: epoch + Duration::from_secs(secs),
        hard_stop: epoch + Duration::from_secs(secs + 50),
    });

    // The mail index: one task reads the sink, the clients read the index.
    let indexer = {
        let shared = shared.clone();
        let sink = sink.clone();
        tokio::spawn(async move {
            loop {
                let all = sink.all();
                let mut index: BTreeMap<String, Vec<String>> = BTreeMap::new();
                for m in all {
                    for to in &m.to {
                        index
                            .entry(to.to_ascii_lowercase())
                            .or_default()
                            .push(m.body.clone());
                    }
                }
                *shared.mail.lock().unwrap() = index;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };

    let mut tasks = Vec::new();
    for c in 0..staff_clients {
        tasks.push(tokio::spawn(staff(shared.clone(), c)));
    }
    for c in staff_clients..clients {
        tasks.push(tokio::spawn(ppc(shared.clone(), c)));
    }

    // The follower: the PPC's event stream, reconnecting after every break with the last id seen.
    let follower = tokio::spawn(follow(shared.clone()));

    // The faults, spread evenly over the run; each one's window lasts until it is over, and a
    // little more.
    let mut downtime = Vec::new();
    let mut windows = Vec::new();
    let n = topology.faults.len() as u32;
    for (k, fault) in topology.faults.iter().copied().enumerate() {
        let at = epoch + Duration::from_secs(secs) * (k as u32 + 1) / (n + 1);
        tokio::time::sleep_until(at.into()).await;
        let from = epoch.elapsed();
        let instances = topology.instances.clone();
        let down = tokio::task::spawn_blocking(move || match fault {
            Fault::Kill(i) => {
                let mut server = instances[i].lock().unwrap();
                server.kill();
                let killed = Instant::now();
                std::thread::sleep(Duration::from_millis(500));
                server.restart();
                killed.elapsed()
            }
            Fault::RestartDatabase => testkit::postgres::Cluster::shared().restart(),
        })
        .await
        .expect("the fault and the recovery");
        windows.push((from, epoch.elapsed() + SETTLE));
        shared
            .last_restart_ms
            .store(epoch.elapsed().as_millis() as u64, Ordering::SeqCst);
        shared.restarts.fetch_add(1, Ordering::SeqCst);
        show!("{name}: {fault:?} at {from:?}, down {down:?}",);
        downtime.push(down);
    }

    for t in tasks {
        t.await.expect("a client task");
    }
    indexer.abort();
    let elapsed = epoch.elapsed();
    let (seen_events, follower_reconnects) = follower.await.expect("the follower");
    let stopped_cleanly = tokio::task::spawn_blocking({
        let instances = topology.instances.clone();
        move || instances.iter().all(|s| s.lock().unwrap().stop())
    })
    .await
    .expect("stop");

    // Mail that was still on its way when the last client finished has arrived by now.
    let mut mail_count: BTreeMap<String, usize> = BTreeMap::new();
    let mut message_ids: BTreeMap<String, usize> = BTreeMap::new();
    for m in sink.all() {
        if !m.message_id.is_empty() {
            *message_ids.entry(m.message_id.clone()).or_default() += 1;
        }
        for to in m.to {
            *mail_count.entry(to.to_ascii_lowercase()).or_default() += 1;
        }
    }

    let ledger = std::mem::take(&mut *shared.ledger.lock().unwrap());
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let request_rows: Vec<(String, String, String)> = super::query_rows(
        &database,
        "SELECT id, organisation_email, status FROM association_requests WHERE first_name = 'Fault'",
    )
    .iter()
    .map(|r| (text(&r[0]), text(&r[1]), text(&r[2])))
    .collect();
    let rows_by_id: BTreeMap<&str, (&str, &str)> = request_rows
        .iter()
        .map(|(id, e, s)| (id.as_str(), (e.as_str(), s.as_str())))
        .collect();
    let mut per_email: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, email, _) in &request_rows {
        *per_email.entry(email.as_str()).or_default() += 1;
    }
    let memberships: BTreeMap<String, (String, i64, Option<String>)> = super::query_rows(
        &database,
        "SELECT id, status, revision, job_title FROM memberships WHERE first_name = 'Fault'",
    )
    .iter()
    .map(|r| {
        let revision = text(&r[2]).parse().expect("a revision is a number");
        (text(&r[0]), (text(&r[1]), revision, r[3].clone()))
    })
    .collect();

    let mut lost = Vec::new();
    for (id, email) in ledger
        .requests_acked
        .iter()
        .chain(&ledger.requests_recovered)
    {
        match rows_by_id.get(id.as_str()) {
            Some((e, _)) if *e == email.as_str() => {}
            other => lost.push(format!("request {id} for {email}: {other:?}")),
        }
    }
    for id in &ledger.approvals_acked {
        match rows_by_id.get(id.as_str()) {
            Some((_, status)) if *status != "pending_approval" => {}
            other => lost.push(format!("approval of {id}: {other:?}")),
        }
    }
    for id in &ledger.memberships_acked {
        if !memberships.contains_key(id) {
            lost.push(format!("membership {id}"));
        }
    }
    for (id, (revision, title)) in &ledger.profiles {
        match memberships.get(id) {
            // Leaving adds one to the revision and leaves the title alone.
            Some((_, r, Some(t))) if r >= revision && t == title => {}
            other => lost.push(format!(
                "profile edit {id} r{revision} {title:?}: {other:?}"
            )),
        }
    }
    for id in &ledger.leaves_acked {
        match memberships.get(id) {
            Some((status, _, _)) if status == "removed" => {}
            other => lost.push(format!("leaving {id}: {other:?}")),
        }
    }

    let mut duplicates = Vec::new();
    for (email, n) in &per_email {
        if *n > 1 {
            duplicates.push(format!("{n} requests for {email}"));
        }
    }
    let keyed_emails: BTreeSet<&str> = ledger.keys.values().map(String::as_str).collect();
    for (_, email, _) in &request_rows {
        if !keyed_emails.contains(email.as_str()) {
            duplicates.push(format!("a request for {email} that no key asked for"));
        }
    }
    let mut mails = 0;
    for email in &keyed_emails {
        let got = mail_count
            .get(&email.to_ascii_lowercase())
            .copied()
            .unwrap_or(0);
        mails += got;
        let asked = 1 + ledger.resends.get(*email).copied().unwrap_or(0) as usize;
        if got > asked {
            duplicates.push(format!("{got} mails to {email} for {asked} asked"));
        }
    }

    for (id, n) in &message_ids {
        if *n > 1 {
            duplicates.push(format!("{n} mails with the Message-ID {id}"));
        }
    }

    // Every event of the follower's audience, once.
    let ppc_account = super::query_rows(
        &database,
        "SELECT id FROM accounts WHERE email = 'ppc@contoso.com'",
    )[0][0]
        .clone()
        .unwrap_or_default();
    let expected: BTreeSet<i64> = super::query_rows(
        &database,
        &format!(
            "SELECT seq FROM events WHERE admins_of = '{}' OR account_id = '{ppc_account}'",
            shared.contoso
        ),
    )
    .iter()
    .filter_map(|r| r[0].as_deref().and_then(|v| v.parse().ok()))
    .collect();
    let seen_once: BTreeSet<i64> = seen_events.iter().copied().collect();
    let events_missed = expected.difference(&seen_once).count();
    let events_repeated = seen_events.len() - seen_once.len();
    let events_unknown = seen_once.difference(&expected).count();

    let outside: Vec<u64> = ledger
        .server_error_at
        .iter()
        .copied()
        .filter(|at| {
            !windows
                .iter()
                .any(|(from, to)| *at >= from.as_millis() as u64 && *at <= to.as_millis() as u64)
        })
        .collect();

    let not_recovered: Vec<usize> = (0..clients)
        .filter(|c| ledger.journeys.get(c).is_none_or(|e| e.1 == 0))
        .collect();
    let journeys: u64 = ledger.journeys.values().map(|e| e.0).sum();
    let journeys_after: u64 = ledger.journeys.values().map(|e| e.1).sum();
    let resends: u32 = ledger.resends.values().sum();

    show!(
        "{name}: {clients} clients ({staff_clients} staff, {PPC_CLIENTS} PPC) through {} for {secs}s (ran {:.1}s), \
         faults {:?} (down {downtime:?}), clean final stop: {stopped_cleanly}",
        if topology.instances.len() > 1 { "a balancer in front of the instances" } else { "one server" },
        elapsed.as_secs_f64(),
        topology.faults,
    );
    show!(
        "{name}: journeys {journeys} ({journeys_after} after the last restart); requests acknowledged {}, \
         recovered after a lost answer {}, rows {}; approvals acknowledged {}; memberships acknowledged {}; \
         profile edits kept {}; leaves acknowledged {}; mails {mails} (resends {resends}); \
         idempotent replays {}; retries {}; unknown outcomes resolved {}; 5xx answers {}",
        ledger.requests_acked.len(),
        ledger.requests_recovered.len(),
        request_rows.len(),
        ledger.approvals_acked.len(),
        ledger.memberships_acked.len(),
        ledger.profiles.len(),
        ledger.leaves_acked.len(),
        ledger.replays,
        ledger.retries,
        ledger.unknown_outcomes,
        ledger.server_errors,
    );
    show!(
        "{name}: follower saw {} events of {} in the database ({} reconnects): {events_missed} missed, {events_repeated} repeated; \
         5xx answers {} ({} outside the moments something was down)",
        seen_events.len(),
        expected.len(),
        follower_reconnects,
        ledger.server_errors,
        outside.len(),
    );
    show!(
        "{name}: lost acknowledged writes {}, duplicate effects {}, clients not recovered {}, failures {}",
        lost.len(),
        duplicates.len(),
        not_recovered.len(),
        ledger.failures.len()
    );

    assert!(lost.is_empty(), "acknowledged writes lost: {lost:#?}");
    assert!(duplicates.is_empty(), "duplicate effects: {duplicates:#?}");
    assert!(
        not_recovered.is_empty(),
        "clients with no journey after the last restart: {not_recovered:?}"
    );
    assert!(
        ledger.failures.is_empty(),
        "client failures: {:#?}",
        ledger.failures
    );
    assert_eq!(events_missed, 0, "the follower missed events");
    assert_eq!(events_repeated, 0, "the follower was sent events twice");
    assert_eq!(
        events_unknown, 0,
        "the follower saw events the database does not hold"
    );
    assert!(
        outside.is_empty(),
        "5xx answers while nothing was down, at {outside:?} ms (fault windows {windows:?})"
    );
    if !topology.five_hundreds_while_down {
        assert_eq!(ledger.server_errors, 0, "the server answered with 5xx");
    }
    assert!(journeys_after >= clients as u64);
    assert!(stopped_cleanly, "the server stops cleanly after the run");
}

/// Follows the PPC's event stream from the first event, through every break (a killed instance,
/// a restarted database), reconnecting with `Last-Event-ID`, until the clients are done and it
/// has caught up with the database. Returns every event id it was sent, and how often it
/// reconnected.
async fn follow(shared: Arc<Shared>) -> (Vec<i64>, u64) {
    let mut seen = Vec::new();
    let mut reconnects = 0u64;
    let mut token: Option<String> = None;
    let mut last: i64 = 0;
    // Once every client is done: read on until nothing new comes for two seconds.
    let mut quiet_since: Option<Instant> = None;
    let clients_done =
        || shared.staff_left.load(Ordering::SeqCst) == 0 && Instant::now() > shared.stop_at;
    loop {
        if clients_done() && quiet_since.is_some_and(|q| q.elapsed() > Duration::from_secs(2)) {
            return (seen, reconnects);
        }
        if Instant::now() > shared.hard_stop + Duration::from_secs(20) {
            return (seen, reconnects);
        }
        if token.is_none() {
            token = shared.sign_in("ppc@contoso.com").await;
        }
        let Some(t) = token.clone() else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let response = shared
            .http_stream
            .get(format!("{}/v1/events", shared.base))
            .bearer_auth(&t)
            .header("accept", "text/event-stream")
            .header("last-event-id", last.to_string())
            .send()
            .await;
        let mut response = match response {
            Ok(r) if r.status() == StatusCode::OK => r,
            Ok(r) if r.status() == StatusCode::UNAUTHORIZED => {
                token = None;
                continue;
            }
            _ => {
                reconnects += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let mut buf = String::new();
        loop {
            let chunk = tokio::time::timeout(Duration::from_millis(500), response.chunk()).await;
            match chunk {
                Ok(Ok(Some(bytes))) => {
                    buf.push_str(&String::from_utf8_lossy(&bytes));
                    while let Some(end) = buf.find("\n\n") {
                        let frame: String = buf.drain(..end + 2).collect();
                        if let Some(id) = frame
                            .lines()
                            .find_map(|l| l.strip_prefix("id:"))
                            .and_then(|v| v.trim().parse::<i64>().ok())
                        {
                            seen.push(id);
                            last = last.max(id);
                            quiet_since = None;
                        }
                    }
                }
                // Quiet: note since when, once the clients are done.
                Err(_) => {
                    if clients_done() {
                        let q = *quiet_since.get_or_insert_with(Instant::now);
                        if q.elapsed() > Duration::from_secs(2) {
                            return (seen, reconnects);
                        }
                    }
                }
                // The stream broke or ended: reconnect from the last id.
                _ => {
                    reconnects += 1;
                    break;
                }
            }
        }
    }
}
