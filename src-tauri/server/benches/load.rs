//! Load on the real server over loopback: lookup, association submission and profile update,
//! beside a trivial route of the same server (the ceiling), each run for a fixed time by
//! concurrent clients. Prints requests/s, p50, p99, errors, and each figure as a ratio to the
//! ceiling measured in the same run.
//!
//! Run: `cargo bench -p partner-desk-server --bench load`. `LOAD_SECONDS` (default 10) sets the
//! time per scenario, `LOAD_CLIENTS` (default 32) the concurrency, `LOAD_ORGS` (default 100000)
//! the directory size. `LOAD_STORES` (default `sqlite,postgres,postgres-balanced`) names the
//! set-ups to run, one after the other in the same run, so their figures stand side by side:
//! one server on SQLite, one on PostgreSQL, and `postgres-balanced`: haproxy (testkit's
//! `Balancer`) in front of one instance, then in front of two on one database. PostgreSQL is a
//! throwaway cluster started by the bench (testkit), on the same machine. `LOAD_PERF=DIR` records
//! the servers with `perf` during each scenario (see [`Perf`]).
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use membership::seed::{seed_demo, synthetic_directory, DEMO_PASSWORD};
use membership::{Mail, MailError, Mailer, NewAssociationRequest, Programme, Secret, Timestamp};
use serde_json::{json, Value};
use server::config::Database;
use server::store::ServerStore;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Default)]
struct Recorder(Mutex<Vec<Mail>>);
impl Mailer for Recorder {
    fn send(&self, mail: &Mail) -> Result<(), MailError> {
        self.0.lock().unwrap().push(mail.clone());
        Ok(())
    }
}

/// Builds the database before the server starts: the demo data, a directory, and one member of
/// Contoso per client (each client edits only its own profile, so no update conflicts).
fn prepare(database: &Database, clients: usize, orgs: usize) -> Vec<String> {
    let mail = Arc::new(Recorder::default());
    let store = ServerStore::open(database).expect("the database opens");
    let p = Programme::with_store(store, mail.clone(), membership::Config::default());
    let now = Timestamp::now_utc();
    seed_demo(&p, now).unwrap();
    p.import_organisations(&synthetic_directory(orgs), now)
        .unwrap();
    let contoso = {
        let s = p
            .sign_in("staff@example.net", &Secret::new(DEMO_PASSWORD), now)
            .unwrap();
        let c = p.authenticate(&s.access_token, now).unwrap();
        let q = membership::LookupQuery {
            partner_id: Some("4512345".into()),
            ..Default::default()
        };
        p.lookup(&c, &q).unwrap().items[0].organisation_id.clone()
    };
    let mut emails = Vec::new();
    for i in 0..clients {
        let email = format!("load{i}@example.org");
        p.create_account(
            &email,
            &format!("Load Client {i}"),
            &Secret::new(DEMO_PASSWORD),
            now,
        )
        .unwrap();
        let s = p.sign_in(&email, &Secret::new(DEMO_PASSWORD), now).unwrap();
        let c = p.authenticate(&s.access_token, now).unwrap();
        let req = NewAssociationRequest {
            organisation_id: contoso.clone(),
            first_name: "Load".into(),
            last_name: format!("Client{i}"),
            organisation_email: format!("load{i}@contoso.com"),
            phone: None,
            job_title: None,
        };
        p.request_association(&c, &req, now).unwrap();
        let link = mail.0.lock().unwrap().last().unwrap().link.clone().unwrap();
        let token = link.rsplit('=').next().unwrap().to_owned();
        p.verify(&c, &Secret::new(token), now).unwrap();
        emails.push(email);
    }
    emails
}

struct Server {
    child: Child,
    base: String,
}

/// `LOAD_PERF=DIR`: `perf record` of the servers during each scenario, one file each
/// (`DIR/<store>-<scenario>.data`), for `perf report` to show where the time went. Needs a build
/// with symbols: `CARGO_PROFILE_BENCH_STRIP=false CARGO_PROFILE_BENCH_DEBUG=line-tables-only`.
struct Perf(Child);

impl Perf {
    fn record(store: &str, scenario: &str, pids: &[u32]) -> Option<Self> {
        let dir = std::env::var_os("LOAD_PERF")?;
        let name: String = format!("{store}-{scenario}")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let out = std::path::Path::new(&dir).join(format!("{name}.data"));
        let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
        let child = Command::new("perf")
            .args([
                "record",
                "-q",
                "-g",
                "-F",
                "997",
                "-p",
                &pids.join(","),
                "-o",
            ])
            .arg(&out)
            .stdout(Stdio::null())
            .spawn()
            .expect("LOAD_PERF needs perf (Debian: linux-perf)");
        // perf attaches in a moment; the scenario must not start before it does.
        std::thread::sleep(Duration::from_millis(300));
        eprintln!("perf: recording {scenario} into {}", out.display());
        Some(Self(child))
    }
}

impl Drop for Perf {
    fn drop(&mut self) {
        // SIGINT makes perf write its file and end.
        let _ = Command::new("kill")
            .args(["-INT", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(database: &str) -> Server {
    let big = "1000000000";
    let mut child = Command::new(env!("CARGO_BIN_EXE_partner-desk-server"))
        .args(["--listen", "127.0.0.1:0", "--database", database])
        .args([
            "--smtp",
            "smtp://127.0.0.1:9",
            "--limit-sign-in",
            big,
            "--limit-lookup",
            big,
            "--limit-requests",
            big,
        ])
        .env("PARTNER_DESK_LOG", "warn")
        .stdout(Stdio::piped())
        // LOAD_SERVER_LOG=1 shows the servers' warnings (why a request failed).
        .stderr(if std::env::var_os("LOAD_SERVER_LOG").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .spawn()
        .expect("the server binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .expect("the server prints its address")
        .to_owned();
    Server { child, base }
}

#[derive(Clone, Copy)]
enum Scenario {
    Ceiling,
    Lookup,
    Submit,
    ProfileUpdate,
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
    membership: String,
    revision: u64,
    next_org: usize,
    org_ids: Arc<Vec<String>>,
}

const WORDS: &[&str] = &[
    "ced",
    "summit",
    "harbor syd",
    "nova",
    "quartz labs",
    "zephyr",
    "alp",
    "river",
];

impl Client {
    /// One request of the scenario; `Ok` only for the expected success status.
    async fn once(&mut self, s: Scenario, i: usize) -> Result<(), String> {
        let auth = format!("Bearer {}", self.token);
        let r = match s {
            Scenario::Ceiling => self.http.get(format!("{}/healthz", self.base)).send().await,
            Scenario::Lookup => {
                let q = WORDS[i % WORDS.len()];
                self.http
                    .get(format!("{}/v1/organisations", self.base))
                    .query(&[("q", q)])
                    .header("authorization", &auth)
                    .send()
                    .await
            }
            Scenario::Submit => {
                let org = &self.org_ids[self.next_org % self.org_ids.len()];
                self.next_org += 1;
                let body = json!({"organisation_id": org, "first_name": "Load", "last_name": "Client", "organisation_email": "load@elsewhere.example"});
                self.http
                    .post(format!("{}/v1/association-requests", self.base))
                    .header("authorization", &auth)
                    .json(&body)
                    .send()
                    .await
            }
            Scenario::ProfileUpdate => {
                let body = json!({"job_title": format!("Engineer {i}")});
                self.http
                    .patch(format!(
                        "{}/v1/memberships/{}/profile",
                        self.base, self.membership
                    ))
                    .header("authorization", &auth)
                    .header("if-match", format!("\"{}\"", self.revision))
                    .json(&body)
                    .send()
                    .await
            }
        };
        let r = r.map_err(|e| e.to_string())?;
        let status = r.status().as_u16();
        let want = if matches!(s, Scenario::Submit) {
            201
        } else {
            200
        };
        if status != want {
            return Err(format!("status {status}"));
        }
        if matches!(s, Scenario::ProfileUpdate) {
            let v: Value = r.json().await.map_err(|e| e.to_string())?;
            self.revision = v["revision"].as_u64().ok_or("no revision")?;
        } else {
            let _ = r.bytes().await;
        }
        Ok(())
    }
}

struct Figures {
    done: usize,
    errors: usize,
    per_sec: f64,
    p50: f64,
    p99: f64,
}

async fn run(clients: &mut [Client], s: Scenario, secs: u64) -> Figures {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    let start = Instant::now();
    for mut c in clients
        .iter_mut()
        .map(|c| std::mem::replace(c, Client::placeholder()))
    {
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errs, mut i) = (Vec::new(), Vec::<String>::new(), 0usize);
            while Instant::now() < deadline {
                let t = Instant::now();
                match c.once(s, i).await {
                    Ok(()) => lat.push(t.elapsed()),
                    Err(e) => errs.push(e),
                }
                i += 1;
            }
            (c, lat, errs)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    let mut back = Vec::new();
    for t in tasks {
        let (c, lat, errs) = t.await.unwrap();
        if let Some(e) = errs.first() {
            eprintln!("  first error: {e}");
        }
        errors += errs.len();
        all.extend(lat);
        back.push(c);
    }
    let elapsed = start.elapsed().as_secs_f64();
    for (slot, c) in clients.iter_mut().zip(back) {
        *slot = c;
    }
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len().max(1) - 1) as f64 * p).round() as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Figures {
        done: all.len(),
        errors,
        per_sec: all.len() as f64 / elapsed,
        p50: pct(0.5),
        p99: pct(0.99),
    }
}

impl Client {
    fn placeholder() -> Self {
        Client {
            http: reqwest::Client::new(),
            base: String::new(),
            token: String::new(),
            membership: String::new(),
            revision: 0,
            next_org: 0,
            org_ids: Arc::new(Vec::new()),
        }
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a plain `cargo test --benches` run passes nothing and only
    // checks that this compiles and starts.
    let benching = std::env::args().any(|a| a == "--bench");
    let secs = if benching { env("LOAD_SECONDS", 10) } else { 1 };
    let n_clients = env("LOAD_CLIENTS", if benching { 32 } else { 4 }) as usize;
    let orgs = env("LOAD_ORGS", if benching { 100_000 } else { 1_000 }) as usize;
    let stores =
        std::env::var("LOAD_STORES").unwrap_or_else(|_| "sqlite,postgres,postgres-balanced".into());
    for store in stores.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let dir = tempfile::tempdir().unwrap();
        let pg = || testkit::postgres::Cluster::shared().fresh_database();
        match store {
            "sqlite" => {
                let database = dir.path().join("load.sqlite3").display().to_string();
                load(store, &database, secs, n_clients, orgs, None);
            }
            "postgres" => load(store, &pg(), secs, n_clients, orgs, None),
            "postgres-balanced" => {
                for instances in [1, 2] {
                    let name = format!("postgres, {instances} behind haproxy");
                    load(&name, &pg(), secs, n_clients, orgs, Some(instances));
                }
            }
            other => {
                panic!("LOAD_STORES names {other:?}; use sqlite, postgres and/or postgres-balanced")
            }
        }
    }
}

/// Runs the scenarios on `database`: against one server, or with `balanced` instances behind
/// haproxy.
fn load(
    store: &str,
    database: &str,
    secs: u64,
    n_clients: usize,
    orgs: usize,
    balanced: Option<usize>,
) {
    let target = if database.starts_with("postgres://") {
        Database::Postgres(database.to_owned())
    } else {
        Database::Sqlite(database.into())
    };
    let t = Instant::now();
    let emails = prepare(&target, n_clients, orgs);
    eprintln!(
        "{store}: prepared {orgs} organisations and {n_clients} members in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let servers: Vec<Server> = (0..balanced.unwrap_or(1))
        .map(|_| start(database))
        .collect();
    let balancer = balanced.map(|_| {
        let addrs: Vec<std::net::SocketAddr> = servers
            .iter()
            .map(|s| s.base.trim_start_matches("http://").parse().unwrap())
            .collect();
        testkit::balancer::Balancer::start(&addrs)
    });
    let base = balancer
        .as_ref()
        .map(|b| b.base())
        .unwrap_or_else(|| servers[0].base.clone());
    // reqwest is built without its own TLS provider in this workspace; install the process-wide one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let http = reqwest::Client::builder().pool_max_idle_per_host(n_clients).build().unwrap();
        // Directory organisations to submit requests to: one org per request.
        let me_token = sign_in(&http, &base, "staff@example.net").await;
        let mut org_ids = Vec::new();
        for word in ["ced", "nova", "summit", "river", "alp", "quartz", "zephyr", "harbor"] {
            let mut cursor: Option<String> = None;
            for _ in 0..20 {
                let mut q = vec![("q", word.to_owned()), ("limit", "100".to_owned())];
                if let Some(c) = &cursor {
                    q.push(("cursor", c.clone()));
                }
                let v: Value = http
                    .get(format!("{}/v1/organisations", base))
                    .query(&q)
                    .bearer_auth(&me_token)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                org_ids.extend(v["items"].as_array().unwrap().iter().map(|o| o["organisation_id"].as_str().unwrap().to_owned()));
                match v["next_cursor"].as_str() {
                    Some(c) => cursor = Some(c.to_owned()),
                    None => break,
                }
            }
        }
        org_ids.sort();
        org_ids.dedup();
        let org_ids = Arc::new(org_ids);
        let mut clients = Vec::new();
        for (i, email) in emails.iter().enumerate() {
            let token = sign_in(&http, &base, email).await;
            let me: Value = http.get(format!("{}/v1/me", base)).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
            let membership = me["memberships"][0]["membership_id"].as_str().unwrap().to_owned();
            let profile: Value = http
                .get(format!("{}/v1/memberships/{membership}/profile", base))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            clients.push(Client {
                http: http.clone(),
                base: base.clone(),
                token,
                membership,
                revision: profile["revision"].as_u64().unwrap(),
                // Each client takes its own stride of organisations, so no two submit to one.
                next_org: i * (org_ids.len() / n_clients.max(1)),
                org_ids: org_ids.clone(),
            });
        }
        println!("server load over loopback on {store}: {n_clients} clients, {secs} s per scenario, {orgs} organisations, 2 cores shared with the clients (and the database server)");
        let ceiling = run(&mut clients, Scenario::Ceiling, secs).await;
        let line = |name: &str, f: &Figures| {
            println!(
                "  {name:<16} {:>8.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {:>3}  ({} requests; {:.2}x the ceiling's rate)",
                f.per_sec,
                f.p50,
                f.p99,
                f.errors,
                f.done,
                f.per_sec / ceiling.per_sec
            )
        };
        line("ceiling /healthz", &ceiling);
        let pids: Vec<u32> = servers.iter().map(|s| s.child.id()).collect();
        for (name, s) in [("lookup", Scenario::Lookup), ("submit request", Scenario::Submit), ("profile update", Scenario::ProfileUpdate)] {
            let recording = Perf::record(store, name, &pids);
            let f = run(&mut clients, s, secs).await;
            drop(recording);
            line(name, &f);
            assert_eq!(f.errors, 0, "{name}: every request must succeed");
        }
    });
    drop(balancer);
    drop(servers);
}

async fn sign_in(http: &reqwest::Client, base: &str, email: &str) -> String {
    let v: Value = http
        .post(format!("{base}/v1/sessions"))
        .json(&json!({"email": email, "password": DEMO_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["access_token"]
        .as_str()
        .expect("sign-in succeeds")
        .to_owned()
}
