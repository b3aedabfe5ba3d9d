//! The real server binary on a random loopback port, with a temp database and the SMTP sink.
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};
use tempfile::TempDir;

use crate::smtp_sink::SmtpSink;

pub const DEMO_PASSWORD: &str = "partnerdesk-demo";

pub struct TestServer {
    pub base: String,
    pub mail: SmtpSink,
    pub http: reqwest::Client,
    child: Child,
    log: Option<std::path::PathBuf>,
    _dir: TempDir,
}

impl TestServer {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts the binary with `--seed-demo` and `extra` flags.
    pub fn start_with(extra: &[&str]) -> Self {
        Self::launch(extra, None)
    }

    /// Starts the binary with its logs at `level` kept in a file, for [`TestServer::logs`].
    pub fn start_logged(level: &str) -> Self {
        Self::launch(&[], Some(level))
    }

    /// What the server logged so far (only for [`TestServer::start_logged`]).
    pub fn logs(&self) -> String {
        self.log
            .as_ref()
            .map(|p| std::fs::read_to_string(p).expect("the log file reads"))
            .unwrap_or_default()
    }

    fn launch(extra: &[&str], log_level: Option<&str>) -> Self {
        let dir = tempfile::tempdir().expect("a temp dir");
        let log = log_level.map(|_| dir.path().join("server.log"));
        let stderr = match &log {
            Some(path) => Stdio::from(std::fs::File::create(path).expect("a log file")),
            None => Stdio::inherit(),
        };
        let mail = SmtpSink::start();
        // The store this run tests (PARTNER_DESK_TEST_STORE, see testkit).
        let db = if testkit::on_postgres() {
            testkit::postgres::Cluster::shared().fresh_database()
        } else {
            dir.path().join("server.sqlite3").display().to_string()
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_partner-desk-server"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--seed-demo",
                "--public-url",
                "https://members.partnerdesk.test",
            ])
            .arg("--database")
            .arg(&db)
            .args(["--smtp", &mail.url()])
            // Never a DNS server beyond loopback unless the test names one (`testkit::NO_DNS`).
            .args(if extra.contains(&"--dns-resolver") {
                &[][..]
            } else {
                &["--dns-resolver", testkit::NO_DNS, "--dns-timeout-ms", "300"][..]
            })
            .args(extra)
            .env("PARTNER_DESK_LOG", log_level.unwrap_or("warn"))
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("the server binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the server prints where it listens");
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        // reqwest is built without its own TLS provider here (the client crate brings ring), so
        // the process needs one installed before any client is built; a second install is a no-op.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client");
        Self {
            base,
            mail,
            http,
            child,
            log,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let r = self.http.request(method, self.url(path));
        match token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    /// Sends a request and reads the answer as (status, JSON or Null).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut r = self.request(method, path, token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        read(r.send().await.expect("the server answers")).await
    }

    pub async fn sign_in(&self, email: &str) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/v1/sessions",
                None,
                Some(json!({"email": email, "password": DEMO_PASSWORD})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "demo sign-in for {email}: {body}");
        body["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned()
    }

    pub async fn new_account(&self, email: &str, name: &str) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/v1/accounts",
                None,
                Some(json!({"email": email, "display_name": name, "password": DEMO_PASSWORD})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        self.sign_in(email).await
    }

    pub async fn org(&self, token: &str, partner_id: &str) -> String {
        let (status, body) = self
            .call(
                Method::GET,
                &format!("/v1/organisations?partner_id={partner_id}"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["items"][0]["organisation_id"]
            .as_str()
            .expect("one organisation")
            .to_owned()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the process to exit; returns whether it exited cleanly.
    pub fn terminate(&mut self) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..100 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn read(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("a readable body");
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, value)
}
