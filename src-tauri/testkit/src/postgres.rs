//! A throwaway PostgreSQL cluster for tests: Debian's `postgresql` binaries, `initdb` and
//! `pg_ctl` in a temp folder, a random loopback port, the socket in that folder. One cluster per
//! test process ([`Cluster::shared`]); each test takes a database of its own
//! ([`Cluster::fresh_database`]).
//!
//! As root the cluster runs as the `postgres` user (`runuser -u postgres`; PostgreSQL refuses to
//! run as root). A watchdog started beside it stops the cluster (`pg_ctl stop -m immediate`) and
//! deletes its folder once the test process has gone, however it ended.
//!
//! When PostgreSQL is not installed this panics with what to install: a test that asked for
//! PostgreSQL fails, it never skips.
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// The environment variable that names the folder of `initdb`, `pg_ctl` and `psql`, when they are
/// not in `/usr/lib/postgresql/<version>/bin` (Debian's place).
pub const BINDIR_VAR: &str = "PARTNER_DESK_PG_BINDIR";

/// A running cluster; see the module documentation.
pub struct Cluster {
    bin: PathBuf,
    root: PathBuf,
    port: u16,
    run_as_postgres: bool,
    next: AtomicU32,
}

impl Cluster {
    /// The cluster of this test process, started on first use.
    pub fn shared() -> &'static Cluster {
        static SHARED: OnceLock<Cluster> = OnceLock::new();
        SHARED.get_or_init(Cluster::start)
    }

    fn start() -> Cluster {
        let bin = bindir();
        let run_as_postgres = is_root();
        let root = tempfile::Builder::new()
            .prefix("partner-desk-pg-")
            .tempdir()
            .expect("a temp dir for the cluster")
            // The watchdog deletes it when this process has gone.
            .keep();
        if run_as_postgres {
            run(Command::new("chown").arg("postgres:").arg(&root), "chown");
        }
        let data = root.join("data");
        let cluster = Cluster {
            bin,
            root,
            port: 0,
            run_as_postgres,
            next: AtomicU32::new(0),
        };
        let mut initdb = cluster.pg_command("initdb");
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8"])
            .args(["--locale=C.UTF-8", "--no-sync", "--no-instructions"]);
        run(&mut initdb, "initdb");
        cluster.watch(std::process::id());
        // A free port can be taken by someone else before the server binds it: try a few.
        let mut why = String::new();
        for _ in 0..5 {
            let port = free_port();
            let options = format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=on",
                cluster.root.display()
            );
            let mut start = cluster.pg_command("pg_ctl");
            start
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(cluster.root.join("server.log"))
                .args(["-w", "-t", "60", "-o", &options, "start"]);
            let out = start.output().expect("pg_ctl runs");
            if out.status.success() {
                return Cluster { port, ..cluster };
            }
            why = String::from_utf8_lossy(&out.stderr).into_owned() + &cluster.log();
        }
        panic!("the throwaway PostgreSQL cluster did not start:\n{why}");
    }

    /// A new empty database of its own: its `postgres://` URL (loopback TCP, trust).
    pub fn fresh_database(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let name = format!("pd_{}_{n}", std::process::id());
        self.psql("postgres", &format!("CREATE DATABASE {name}"));
        self.url(&name)
    }

    /// The URL of `database` in this cluster.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs `sql` in `database` with psql (over the socket) and answers what it printed
    /// (unaligned, tuples only). Panics when psql fails.
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let out = self.try_psql(database, sql);
        assert!(
            out.status.success(),
            "psql failed on {sql:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Runs `sql` with psql and answers its output whether or not it succeeded, for tests that
    /// expect the database to refuse something.
    pub fn try_psql(&self, database: &str, sql: &str) -> Output {
        Command::new(self.bin.join("psql"))
            .arg("-h")
            .arg(&self.root)
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                database,
            ])
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .stdin(Stdio::null())
            .output()
            .expect("psql runs")
    }

    /// Runs the query `sql` on the database at `url` (one of this cluster's) and answers its rows,
    /// each column as text, `None` for NULL.
    pub fn rows(&self, url: &str, sql: &str) -> Vec<Vec<Option<String>>> {
        const FIELD: &str = "\u{1f}";
        const NULL: &str = "\u{1e}";
        let out = Command::new(self.bin.join("psql"))
            .arg(url)
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .args(["-F", FIELD, "-P", &format!("null={NULL}"), "-c", sql])
            .stdin(Stdio::null())
            .output()
            .expect("psql runs");
        assert!(
            out.status.success(),
            "psql failed on {sql:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                l.split(FIELD)
                    .map(|v| (v != NULL).then(|| v.to_owned()))
                    .collect()
            })
            .collect()
    }

    /// Restarts the cluster as a crash would leave it: `pg_ctl restart -m immediate` (no
    /// checkpoint, every connection cut; on start the database recovers from its write-ahead log).
    /// Returns once it accepts connections again, and how long it was away.
    pub fn restart(&self) -> std::time::Duration {
        let started = std::time::Instant::now();
        let mut restart = self.pg_command("pg_ctl");
        restart
            .arg("-D")
            .arg(self.root.join("data"))
            .arg("-l")
            .arg(self.root.join("server.log"))
            .args(["-w", "-t", "60", "-m", "immediate", "restart"]);
        run(&mut restart, "pg_ctl restart");
        started.elapsed()
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root.join("server.log")).unwrap_or_default()
    }

    /// A command for one of the cluster's programs, as the `postgres` user when we are root.
    fn pg_command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.run_as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    /// Starts the watchdog: a detached shell that waits for process `pid` to end, then stops the
    /// cluster and deletes its folder.
    fn watch(&self, pid: u32) {
        let stop = self.pg_command("pg_ctl");
        let mut words: Vec<String> = vec![stop.get_program().to_string_lossy().into_owned()];
        words.extend(stop.get_args().map(|a| a.to_string_lossy().into_owned()));
        let data = self.root.join("data");
        words.extend(["-D".into(), data.display().to_string()]);
        words.extend(["-m".into(), "immediate".into(), "stop".into()]);
        let stop_line = words
            .iter()
            .map(|w| shell_quote(w))
            .collect::<Vec<_>>()
            .join(" ");
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop_line} >/dev/null 2>&1; rm -rf {}",
            shell_quote(&self.root.display().to_string())
        );
        Command::new("setsid")
            .args(["-f", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("setsid (util-linux) starts the cluster's watchdog");
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what} could not be started: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// The folder of initdb, pg_ctl and psql: [`BINDIR_VAR`], else the newest
/// `/usr/lib/postgresql/<version>/bin` (Debian's `postgresql` package).
pub fn bindir() -> PathBuf {
    if let Some(dir) = std::env::var_os(BINDIR_VAR) {
        return PathBuf::from(dir);
    }
    let newest = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            has_tools(&bin).then_some((version, bin))
        })
        .max_by_key(|(v, _)| *v);
    match newest {
        Some((_, bin)) => bin,
        None => panic!(
            "PostgreSQL is not installed, and these tests need a real PostgreSQL server. Run scripts/setup --test (it installs Debian's postgresql package), or set {BINDIR_VAR} to the folder holding initdb, pg_ctl and psql."
        ),
    }
}

fn has_tools(bin: &Path) -> bool {
    ["initdb", "pg_ctl", "psql"]
        .iter()
        .all(|t| bin.join(t).is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throwaway_cluster_gives_each_test_its_own_database() {
        let cluster = Cluster::shared();
        let a = cluster.fresh_database();
        let b = cluster.fresh_database();
        assert_ne!(a, b);
        let name_a = a.rsplit('/').next().unwrap();
        let name_b = b.rsplit('/').next().unwrap();
        cluster.psql(name_a, "CREATE TABLE t (x int); INSERT INTO t VALUES (1)");
        assert_eq!(cluster.psql(name_a, "SELECT count(*) FROM t"), "1");
        // The other database has no such table: PostgreSQL refuses the query.
        assert!(!cluster
            .try_psql(name_b, "SELECT count(*) FROM t")
            .status
            .success());
        // It listens on loopback only, on the port in its URL.
        assert!(a.starts_with(&format!(
            "postgres://postgres@127.0.0.1:{}/",
            cluster.port()
        )));
        let addr = cluster.psql(name_a, "SHOW listen_addresses");
        assert_eq!(addr, "127.0.0.1");
    }
}
