//! What the robustness, fault and secrets tests share: the real server binary as a process that
//! can be killed and started again on the same port and database, and the testkit's SMTP
//! sink (a real SMTP server on loopback that outlives the server process).
#![allow(dead_code)] // Each test target uses its own part of this module.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use testkit::SmtpSink;

pub mod faults;

pub const DEMO_PASSWORD: &str = "partnerdesk-demo";

/// Limits high enough that a test's own traffic from one address is never throttled; the rate
/// limits have their own tests in the contract suite.
pub const NO_LIMITS: [&str; 8] = [
    "--limit-sign-in",
    "1000000",
    "--limit-lookup",
    "1000000",
    "--limit-requests",
    "1000000",
    "--limit-resend",
    "1000000",
];

/// A free loopback port: bound, read and released, so a server can be started (and started
/// again after a kill) on a port the clients already know.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// How to start the server binary.
#[derive(Clone)]
pub struct Launch {
    /// `--database`: a SQLite file or a PostgreSQL URL.
    pub database: String,
    /// `127.0.0.1:0` for any port.
    pub listen: String,
    pub smtp: String,
    pub extra: Vec<String>,
    /// `PARTNER_DESK_LOG` and the file stderr is appended to; `None` keeps warnings on the
    /// test's own stderr.
    pub log: Option<(String, PathBuf)>,
}

impl Launch {
    /// The server on the SQLite file `database`.
    pub fn new(database: &Path, smtp: &SmtpSink) -> Self {
        Self::with_database(database.display().to_string(), smtp)
    }

    /// The server on the store this run tests (`PARTNER_DESK_TEST_STORE`, see testkit): a fresh
    /// database of the throwaway PostgreSQL cluster, or a SQLite file in `dir`.
    pub fn on_test_store(dir: &Path, smtp: &SmtpSink) -> Self {
        let database = if testkit::on_postgres() {
            testkit::postgres::Cluster::shared().fresh_database()
        } else {
            dir.join("server.sqlite3").display().to_string()
        };
        Self::with_database(database, smtp)
    }

    fn with_database(database: String, smtp: &SmtpSink) -> Self {
        Self {
            database,
            listen: "127.0.0.1:0".into(),
            smtp: smtp.url(),
            extra: NO_LIMITS.iter().map(|s| s.to_string()).collect(),
            log: None,
        }
    }
}

/// The real `partner-desk-server` binary, run with `--seed-demo` (a no-op on a database that
/// already has data).
pub struct ServerProcess {
    launch: Launch,
    child: Option<Child>,
    pub addr: SocketAddr,
}

impl ServerProcess {
    pub fn start(launch: Launch) -> Self {
        let (child, addr) = spawn(&launch);
        Self {
            launch,
            child: Some(child),
            addr,
        }
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL: no graceful shutdown, no chance to finish requests in flight.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the binary again with the same settings (same database, same port).
    pub fn restart(&mut self) {
        assert!(
            self.child.is_none(),
            "restart a server only after killing it"
        );
        // The old process's listening socket is gone with it; the port may still be held for a
        // moment by the kernel, so a refused bind is retried briefly.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match try_spawn(&self.launch) {
                Ok((child, addr)) => {
                    assert_eq!(addr, self.addr, "the server came back on another address");
                    self.child = Some(child);
                    return;
                }
                Err(e) if Instant::now() < deadline => {
                    eprintln!("restart: {e}; trying again");
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => panic!("the server does not start again: {e}"),
            }
        }
    }

    /// SIGTERM, then waits for the process to end; whether it exited cleanly.
    pub fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    /// Whether the process is still running (it has not crashed).
    pub fn alive(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn spawn(launch: &Launch) -> (Child, SocketAddr) {
    try_spawn(launch).unwrap_or_else(|e| panic!("the server binary starts: {e}"))
}

fn try_spawn(launch: &Launch) -> Result<(Child, SocketAddr), String> {
    let stderr = match &launch.log {
        Some((_, path)) => Stdio::from(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .expect("a log file"),
        ),
        None => Stdio::inherit(),
    };
    let level = launch.log.as_ref().map_or("warn", |(l, _)| l.as_str());
    let mut child = Command::new(env!("CARGO_BIN_EXE_partner-desk-server"))
        .args(["--listen", &launch.listen, "--seed-demo"])
        .args(["--public-url", "https://members.partnerdesk.test"])
        .arg("--database")
        .arg(&launch.database)
        .args(["--smtp", &launch.smtp])
        // Never a DNS server beyond loopback (see `testkit::NO_DNS`).
        .args(["--dns-resolver", testkit::NO_DNS, "--dns-timeout-ms", "300"])
        .args(&launch.extra)
        .env("PARTNER_DESK_LOG", level)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .map_err(|e| e.to_string())?;
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    let read = BufReader::new(stdout).read_line(&mut line);
    let Some(addr) = line
        .trim()
        .strip_prefix("listening on http://")
        .and_then(|a| a.parse().ok())
    else {
        let _ = child.kill();
        let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
        return Err(format!(
            "no `listening on` line ({read:?}, {line:?}); the process ended with {status}"
        ));
    };
    Ok((child, addr))
}

/// The code in a verification mail's `partnerdesk://` link.
pub fn token_in(body: &str) -> Option<String> {
    let marker = "partnerdesk://verify?token=";
    let start = body.find(marker)? + marker.len();
    let token: String = body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    (!token.is_empty()).then_some(token)
}

/// The async HTTP client the tests use (reqwest is built without its own TLS provider here, so
/// one is installed first; a second install is a no-op).
pub fn http_client(timeout: Duration) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(2))
        .build()
        .expect("an HTTP client")
}

/// The rows of the query `sql` on `database` (a SQLite file or a PostgreSQL URL), each column as
/// text, `None` for NULL: a test checks what a server stored the same way on either store.
pub fn query_rows(database: &str, sql: &str) -> Vec<Vec<Option<String>>> {
    if database.starts_with("postgres://") {
        return testkit::postgres::Cluster::shared().rows(database, sql);
    }
    let db = rusqlite::Connection::open(database).expect("the database opens");
    let mut stmt = db.prepare(sql).expect("the query is valid");
    let columns = stmt.column_count();
    stmt.query_map([], |r| {
        (0..columns)
            .map(|i| {
                use rusqlite::types::ValueRef;
                Ok(match r.get_ref(i)? {
                    ValueRef::Null => None,
                    ValueRef::Integer(n) => Some(n.to_string()),
                    ValueRef::Real(x) => Some(x.to_string()),
                    ValueRef::Text(t) | ValueRef::Blob(t) => {
                        Some(String::from_utf8_lossy(t).into_owned())
                    }
                })
            })
            .collect()
    })
    .expect("the query runs")
    .collect::<Result<_, _>>()
    .expect("the rows read")
}
