//! docs/openapi.json against the real server, checked by a third party: schemathesis (pinned in
//! scripts/schemathesis-requirements.txt, installed by `scripts/setup --test`) runs every check
//! and its stateful phase against the server binary on a loopback port, on a seeded database,
//! signed in as a real PPC. 0 failures, or this test fails with schemathesis's report.
//!
//! On the store of this run (`PARTNER_DESK_TEST_STORE`): a SQLite file, or a fresh database of the
//! throwaway PostgreSQL cluster. What the run leaves out, and why, is in `schemathesis.toml` here.
#[path = "../support/mod.rs"]
mod support;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{Launch, ServerProcess, SmtpSink, DEMO_PASSWORD};

/// Where `scripts/setup --test` puts schemathesis, or `PARTNER_DESK_SCHEMATHESIS`.
fn schemathesis() -> PathBuf {
    if let Some(path) = std::env::var_os("PARTNER_DESK_SCHEMATHESIS") {
        return path.into();
    }
    let pinned = include_str!("../../../../scripts/schemathesis-requirements.txt")
        .lines()
        .find_map(|l| l.strip_prefix("schemathesis=="))
        .expect("scripts/schemathesis-requirements.txt pins schemathesis");
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .expect("HOME or XDG_CACHE_HOME is set");
    cache
        .join("partner-desk")
        .join(format!("schemathesis-{pinned}"))
        .join("bin/st")
}

fn post(
    client: &reqwest::blocking::Client,
    url: String,
    token: Option<&str>,
    body: Value,
) -> Value {
    let mut req = client.post(url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().expect("the server answers");
    let status = resp.status();
    let body: Value = resp.json().unwrap_or(Value::Null);
    assert!(status.is_success(), "seeding: {status} {body}");
    body
}

fn sign_in(client: &reqwest::blocking::Client, base: &str, email: &str) -> String {
    let session = post(
        client,
        format!("{base}/v1/sessions"),
        None,
        json!({"email": email, "password": DEMO_PASSWORD}),
    );
    session["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

#[test]
fn schemathesis_finds_the_server_doing_what_the_document_says() {
    let st = schemathesis();
    assert!(
        st.exists(),
        "schemathesis is not installed at {}: run `scripts/setup --test` (or set \
         PARTNER_DESK_SCHEMATHESIS to its `st`)",
        st.display()
    );
    let dir = tempfile::tempdir().expect("a temporary directory");
    let smtp = SmtpSink::start();
    let server = ServerProcess::start(Launch::on_test_store(dir.path(), &smtp));
    let base = server.base();

    // A seeded programme (the demo data), a request waiting in the PPC's queue (so lists, the
    // queue and the event stream have something in them) and the PPC's real session.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTP client");
    let ppc = sign_in(&client, &base, "ppc@contoso.com");
    let staff = sign_in(&client, &base, "staff@example.net");
    let found: Value = client
        .get(format!("{base}/v1/organisations"))
        .query(&[("q", "Contoso")])
        .bearer_auth(&staff)
        .send()
        .and_then(|r| r.json())
        .expect("lookup answers");
    let org = found["items"][0]["organisation_id"]
        .as_str()
        .expect("the demo data has Contoso")
        .to_owned();
    post(
        &client,
        format!("{base}/v1/association-requests"),
        Some(&staff),
        json!({"organisation_id": org, "first_name": "Sam", "last_name": "Staff",
               "organisation_email": "sam@example.net"}),
    );

    let examples =
        std::env::var("PARTNER_DESK_CONFORMANCE_EXAMPLES").unwrap_or_else(|_| "30".into());
    let seed = std::env::var("PARTNER_DESK_CONFORMANCE_SEED").unwrap_or_else(|_| "20261202".into());
    let document = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    let config = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/conformance/schemathesis.toml"
    );
    let store = if testkit::on_postgres() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    // Written straight to the process's stderr (not the test harness's captured output), so the
    // report reaches CI's log whether the test passes or fails.
    let started = Instant::now();
    let mut child = Command::new(&st)
        .arg("--config-file")
        .arg(config)
        .arg("run")
        .arg(document)
        .args(["--url", &base])
        .args(["--header", &format!("Authorization: Bearer {ppc}")])
        .args(["--checks", "all"])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args(["--max-examples", &examples, "--seed", &seed])
        .args(["--workers", "2", "--no-color"])
        .current_dir(dir.path())
        .env("SCHEMATHESIS_HOOKS", "")
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("schemathesis starts");
    let limit = Duration::from_secs(20 * 60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("schemathesis runs") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!(
                "schemathesis ran over {} minutes on {store}",
                limit.as_secs() / 60
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    // `writeln!` on stderr itself, not `eprintln!`, which the harness captures when it passes.
    let _ = writeln!(
        std::io::stderr(),
        "conformance on {store}: schemathesis {} after {:.0} s ({examples} examples per operation, seed {seed})",
        if status.success() { "passed" } else { "FAILED" },
        started.elapsed().as_secs_f64()
    );
    assert!(
        status.success(),
        "schemathesis found differences between docs/openapi.json and the server on {store} \
         (its report is above); replay with PARTNER_DESK_CONFORMANCE_SEED={seed}"
    );
}
