//! Test harness shared by Partner Desk's crates, so a test in any package can run against the
//! real remote backend rather than a stand-in:
//!
//! - [`TestServer`]: the real `partner-desk-server` binary on a random loopback port, with a temp
//!   SQLite database, `--seed-demo` (the demo accounts, password [`DEMO_PASSWORD`]) and an
//!   [`SmtpSink`] for its mail. It can be killed ([`TestServer::kill`], SIGKILL: a crash),
//!   stopped ([`TestServer::terminate`], SIGTERM: a clean shutdown) and started again on the same
//!   database ([`TestServer::restart`], the same port when it is still free).
//! - [`SmtpSink`]: a real SMTP server on loopback that keeps every message.
//! - [`postgres::Cluster`]: a throwaway PostgreSQL cluster. With `PARTNER_DESK_TEST_STORE=postgres`
//!   every [`TestServer`] of the run serves from a fresh database of it instead of SQLite, so one
//!   test binary is the conformance suite of both stores.
//!
//! Everything here blocks and needs no async runtime, which suits the client crate's blocking
//! `Backend`. Tests that build their own async `reqwest` client call [`install_tls_provider`]
//! first (the workspace builds reqwest without a built-in TLS provider).
//!
//! The binary: a test in another package cannot use `CARGO_BIN_EXE_partner-desk-server`, so
//! [`server_binary`] finds it through `PARTNER_DESK_SERVER_BIN`, or builds it with the running
//! cargo into the test's own target directory (see there).
#![forbid(unsafe_code)]

pub mod balancer;
pub mod dns;
pub mod postgres;
mod smtp_sink;

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tempfile::TempDir;

pub use smtp_sink::{SentMail, SmtpSink};

/// The password of every demo account the server is seeded with.
pub const DEMO_PASSWORD: &str = "partnerdesk-demo";

/// The public URL the server is started with (only used for links in its mail).
pub const PUBLIC_URL: &str = "https://members.partnerdesk.test";

/// The environment variable that picks the store every [`TestServer`] runs on: `postgres` (a fresh
/// database of [`postgres::Cluster::shared`]) or `sqlite` (the default, a temp file).
pub const STORE_VAR: &str = "PARTNER_DESK_TEST_STORE";

/// Whether this run's servers use PostgreSQL (see [`STORE_VAR`]). Panics on an unknown value.
pub fn on_postgres() -> bool {
    match std::env::var(STORE_VAR).as_deref() {
        Ok("postgres") => true,
        Ok("sqlite") | Ok("") | Err(_) => false,
        Ok(other) => panic!("{STORE_VAR} is {other:?}; use postgres or sqlite"),
    }
}

/// Installs ring as the process-wide rustls provider; needed before building an async `reqwest`
/// client in a test (the client crate's blocking client brings its own). A second call is a no-op.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The path of the `partner-desk-server` binary, found once per process:
///
/// 1. `PARTNER_DESK_SERVER_BIN`, when set, is used as is (CI may point at a prebuilt binary).
/// 2. Otherwise `<target>/<profile>/partner-desk-server`, where the directories come from this
///    test executable's own path (`…/target/debug/deps/test-xxx` → `…/target/debug`). When the
///    test runs under cargo (`CARGO` is set) the binary is built there with that cargo first:
///    `cargo test -p other` never rebuilds another package's binary, so without this a test
///    would silently run yesterday's server. The build is a no-op when it is up to date. Outside
///    cargo the binary is built only when missing.
///
/// Panics with the build's output when the build fails.
pub fn server_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    // OnceLock runs the build once even when several test threads ask at the same time.
    static BUILDING: Mutex<()> = Mutex::new(());
    BINARY
        .get_or_init(|| {
            let _guard = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(path) = std::env::var_os("PARTNER_DESK_SERVER_BIN") {
                return PathBuf::from(path);
            }
            let exe = std::env::current_exe().expect("the test knows its own path");
            let profile_dir = profile_dir(&exe);
            let binary = profile_dir.join(format!(
                "partner-desk-server{}",
                std::env::consts::EXE_SUFFIX
            ));
            let cargo = std::env::var_os("CARGO");
            if cargo.is_some() || !binary.exists() {
                build_server(cargo, &profile_dir);
            }
            assert!(
                binary.exists(),
                "the server binary {} is missing after the build; set PARTNER_DESK_SERVER_BIN",
                binary.display()
            );
            binary
        })
        .clone()
}

/// `…/target/debug/deps/name-hash` → `…/target/debug`; `…/target/debug/examples/x` likewise.
fn profile_dir(exe: &Path) -> PathBuf {
    let dir = exe.parent().expect("the executable lives in a directory");
    match dir.file_name().and_then(|n| n.to_str()) {
        Some("deps" | "examples") => dir.parent().expect("a profile directory").to_path_buf(),
        _ => dir.to_path_buf(),
    }
}

fn build_server(cargo: Option<std::ffi::OsString>, profile_dir: &Path) {
    let target_dir = profile_dir
        .parent()
        .expect("the profile directory lives in a target directory");
    let mut command = Command::new(cargo.unwrap_or_else(|| "cargo".into()));
    // Without the variables cargo sets for this test process: build scripts that watch one of
    // them (ring watches CARGO_MANIFEST_DIR) would otherwise rebuild half the tree here, and again
    // at the next plain `cargo build`.
    for (name, _) in std::env::vars_os() {
        let n = name.to_string_lossy();
        if n == "OUT_DIR"
            || n.starts_with("CARGO_PKG_")
            || n.starts_with("CARGO_BIN_")
            || n.starts_with("CARGO_MANIFEST_")
            || matches!(
                &*n,
                "CARGO_CRATE_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_TARGET_TMPDIR"
                    | "CARGO_RUSTC_CURRENT_DIR"
            )
        {
            command.env_remove(&name);
        }
    }
    command.args([
        "build",
        "--quiet",
        "-p",
        "partner-desk-server",
        "--bin",
        "partner-desk-server",
    ]);
    command.arg("--target-dir").arg(target_dir);
    // Benches run from `target/release`; build the binary with the same optimisation.
    if profile_dir.file_name().and_then(|n| n.to_str()) == Some("release") {
        command.arg("--release");
    }
    let output = command
        .stdin(Stdio::null())
        .output()
        .expect("cargo runs to build the server binary");
    assert!(
        output.status.success(),
        "building partner-desk-server failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Where a test server's domain proof asks DNS unless the test gives `--dns-resolver` (a
/// `dns::DnsServer`'s address): a loopback port where nothing answers, so no test ever asks a DNS
/// server beyond loopback; a check there gets no answer, which changes nothing (after a 300 ms
/// timeout, which the launchers pass with it).
pub const NO_DNS: &str = "127.0.0.1:9";

/// The real server binary on loopback; killed when dropped. See the crate documentation.
pub struct TestServer {
    base: String,
    /// Every mail the server sent, across restarts.
    pub mail: SmtpSink,
    child: Option<Child>,
    extra: Vec<String>,
    log_level: Option<String>,
    /// `--database`: the SQLite file in `dir`, or a PostgreSQL URL.
    database: String,
    dir: TempDir,
}

impl TestServer {
    /// Starts the binary with `--seed-demo` on a new temp database.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts the binary with `--seed-demo` and `extra` flags (kept for restarts).
    pub fn start_with(extra: &[&str]) -> Self {
        Self::launch(extra, None)
    }

    /// Starts the binary with its logs at `level` kept in a file, for [`TestServer::logs`].
    pub fn start_logged(level: &str) -> Self {
        Self::launch(&[], Some(level))
    }

    /// Starts the binary on a fresh database of the throwaway PostgreSQL cluster, whatever store
    /// the run tests: for several instances on one database ([`TestServer::another_instance`]).
    pub fn start_on_postgres(extra: &[&str]) -> Self {
        Self::launch_on(
            Some(postgres::Cluster::shared().fresh_database()),
            SmtpSink::start(),
            extra.iter().map(|s| (*s).to_owned()).collect(),
            None,
        )
    }

    /// A second instance on this one's database (PostgreSQL), with the same flags and the same
    /// SMTP sink, on a port of its own.
    pub fn another_instance(&self) -> Self {
        assert!(
            self.database.starts_with("postgres://"),
            "several instances share a PostgreSQL database, not a SQLite file"
        );
        Self::launch_on(
            Some(self.database.clone()),
            self.mail.clone(),
            self.extra.clone(),
            self.log_level.as_deref(),
        )
    }

    fn launch(extra: &[&str], log_level: Option<&str>) -> Self {
        Self::launch_on(
            None,
            SmtpSink::start(),
            extra.iter().map(|s| (*s).to_owned()).collect(),
            log_level,
        )
    }

    fn launch_on(
        database: Option<String>,
        mail: SmtpSink,
        extra: Vec<String>,
        log_level: Option<&str>,
    ) -> Self {
        let dir = tempfile::tempdir().expect("a temp dir");
        let database = database.unwrap_or_else(|| {
            if on_postgres() {
                postgres::Cluster::shared().fresh_database()
            } else {
                dir.path().join("server.sqlite3").display().to_string()
            }
        });
        let mut server = Self {
            base: String::new(),
            mail,
            child: None,
            extra,
            log_level: log_level.map(str::to_owned),
            database,
            dir,
        };
        let (child, base) = server
            .spawn("127.0.0.1:0")
            .unwrap_or_else(|why| panic!("the server did not start: {why}"));
        server.child = Some(child);
        server.base = base;
        server
    }

    /// Spawns the binary listening on `listen`; the process and its base URL, or why it did not
    /// come up (it exits before printing its address when it cannot bind).
    fn spawn(&self, listen: &str) -> Result<(Child, String), String> {
        let stderr = match self.log_file() {
            Some(path) => Stdio::from(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .expect("a log file"),
            ),
            None => Stdio::inherit(),
        };
        let mut child = Command::new(server_binary())
            .args([
                "--listen",
                listen,
                "--seed-demo",
                "--public-url",
                PUBLIC_URL,
            ])
            .args(["--database", &self.database])
            .args(["--smtp", &self.mail.url()])
            .args(if self.extra.iter().any(|a| a == "--dns-resolver") {
                &[][..]
            } else {
                &["--dns-resolver", NO_DNS, "--dns-timeout-ms", "300"][..]
            })
            .args(&self.extra)
            .env(
                "PARTNER_DESK_LOG",
                self.log_level.as_deref().unwrap_or("warn"),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("the server binary could not be started: {e}"))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        match line.trim().strip_prefix("listening on ") {
            Some(base) => Ok((child, base.to_owned())),
            None => {
                let status = child.wait().ok();
                Err(format!(
                    "it printed {line:?} instead of its address (exit: {status:?})"
                ))
            }
        }
    }

    fn log_file(&self) -> Option<PathBuf> {
        self.log_level
            .as_ref()
            .map(|_| self.dir.path().join("server.log"))
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash. It changes only when a restart could not
    /// get the old port back.
    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The address the server listens on (or last listened on).
    pub fn addr(&self) -> SocketAddr {
        self.base
            .strip_prefix("http://")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected base URL {}", self.base))
    }

    /// The server's SQLite database (its idempotency keys live in it too).
    /// Panics when the run is on PostgreSQL (see [`STORE_VAR`]): a test that reads the file is a
    /// SQLite test.
    pub fn database(&self) -> PathBuf {
        assert!(
            !on_postgres(),
            "this test reads the SQLite file, but {STORE_VAR}=postgres"
        );
        PathBuf::from(&self.database)
    }

    /// What the server was given as `--database`: a SQLite path or a `postgres://` URL.
    pub fn database_arg(&self) -> &str {
        &self.database
    }

    /// The running process's id, if one runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process is still alive.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(Child::try_wait), Some(Ok(None)))
    }

    /// What the server logged so far (only for [`TestServer::start_logged`]).
    pub fn logs(&self) -> String {
        self.log_file()
            .map(|p| std::fs::read_to_string(p).unwrap_or_default())
            .unwrap_or_default()
    }

    /// SIGKILL, as a crash or a pulled plug: requests in flight are cut off and nothing is
    /// flushed beyond what SQLite already committed. Waits until the process is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // `Child::kill` is SIGKILL on Unix.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, and waits (up to 5 s) for the process to exit; whether it exited cleanly. A
    /// process that does not stop in time is killed.
    pub fn terminate(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        for _ in 0..100 {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    /// Starts the server again on the same database and SMTP sink (killing it first if it still
    /// runs), on the same port when that port is still free, otherwise on a new one. Returns the
    /// base URL, which callers holding an old one must compare with theirs.
    pub fn restart(&mut self) -> &str {
        self.kill();
        let port = self.addr().port();
        let (child, base) = match self.spawn(&format!("127.0.0.1:{port}")) {
            Ok(up) => up,
            // Someone else took the port meanwhile.
            Err(_) => self
                .spawn("127.0.0.1:0")
                .unwrap_or_else(|why| panic!("the server did not start again: {why}")),
        };
        self.child = Some(child);
        self.base = base;
        &self.base
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    /// A bare HTTP/1.1 GET over std, so the harness's own test needs no HTTP client.
    fn get(addr: SocketAddr, path: &str) -> std::io::Result<String> {
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )?;
        let mut answer = String::new();
        s.read_to_string(&mut answer)?;
        Ok(answer)
    }

    #[test]
    fn the_server_answers_dies_and_comes_back_on_the_same_database() {
        let mut server = TestServer::start();
        let answer = get(server.addr(), "/healthz").expect("the server answers");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        let pid = server.pid().expect("a process");

        server.kill();
        assert!(!server.is_running());
        assert!(
            get(server.addr(), "/healthz").is_err(),
            "a killed server does not answer"
        );

        let base = server.restart().to_owned();
        assert_ne!(server.pid(), Some(pid), "a new process");
        assert_eq!(base, server.base());
        let answer = get(server.addr(), "/healthz").expect("the restarted server answers");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(server.database().exists());

        assert!(server.terminate(), "SIGTERM stops the server cleanly");
        assert!(!server.is_running());
    }

    #[test]
    fn profile_dir_strips_deps() {
        assert_eq!(
            profile_dir(Path::new("/t/target/debug/deps/x-123")),
            PathBuf::from("/t/target/debug")
        );
        assert_eq!(
            profile_dir(Path::new("/t/target/release/bench")),
            PathBuf::from("/t/target/release")
        );
    }
}
