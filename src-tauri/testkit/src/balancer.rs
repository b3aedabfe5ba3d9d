//! A load balancer in front of server instances, for tests and the local cluster: Debian's
//! `haproxy` on a random loopback port, round robin, checking every 500 ms that each instance
//! still takes connections, retrying a request on another instance only when it could not even connect
//! (nothing was sent, so nothing can happen twice), and holding event streams open.
//!
//! When haproxy is not installed this panics with what to install: a test that asked for it
//! fails, it never skips.
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian's `haproxy` package puts the program.
const HAPROXY: &str = "/usr/sbin/haproxy";

/// haproxy's configuration for `backends`, listening on `listen`.
pub fn haproxy_config(listen: SocketAddr, backends: &[SocketAddr]) -> String {
    let mut servers = String::new();
    for (i, b) in backends.iter().enumerate() {
        servers.push_str(&format!("    server instance{} {b} check\n", i + 1));
    }
    format!(
        "global
    maxconn 4096

defaults
    mode http
    timeout connect 1s
    timeout client 90s
    timeout server 90s
    # An event stream is a long response: keep it open while it is quiet.
    timeout tunnel 1h
    # A request is sent again, to another instance, only when it could not connect at all.
    retries 3
    option redispatch
    retry-on conn-failure
    option forwardfor

frontend partner_desk
    bind {listen}
    default_backend instances

backend instances
    balance roundrobin
    # A connection check every 500 ms: an instance is out after three refused connections in a row
    # (it died), back after two accepted ones. Not /healthz: every instance shares the one
    # database, so its answer says nothing that tells the instances apart, and under a burst of
    # sign-ins a busy instance answers it late, which took both out at once. Until the check
    # notices, a request sent to a dead instance fails to connect and goes to the other one.
    default-server inter 500ms fall 3 rise 2
{servers}"
    )
}

/// A running haproxy; stopped when dropped.
pub struct Balancer {
    child: Option<Child>,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Balancer {
    /// Starts haproxy on a free loopback port in front of `backends`, and waits until it answers.
    pub fn start(backends: &[SocketAddr]) -> Balancer {
        let addr: SocketAddr = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port");
        Self::start_on(addr, backends)
    }

    /// Starts haproxy on `addr` (a loopback address) in front of `backends`.
    pub fn start_on(addr: SocketAddr, backends: &[SocketAddr]) -> Balancer {
        assert!(
            addr.ip().is_loopback(),
            "the balancer listens on loopback only"
        );
        let program = PathBuf::from(HAPROXY);
        assert!(
            program.exists(),
            "{HAPROXY} is missing: install Debian's haproxy package (scripts/setup --test does)"
        );
        let dir = tempfile::tempdir().expect("a temp dir for haproxy");
        let config = dir.path().join("haproxy.cfg");
        std::fs::write(&config, haproxy_config(addr, backends)).expect("haproxy.cfg is written");
        let child = spawn(&program, &config, dir.path());
        let until = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < until,
                "haproxy did not start listening on {addr}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Balancer {
            child: Some(child),
            addr,
            _dir: dir,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn spawn(program: &Path, config: &Path, dir: &Path) -> Child {
    Command::new(program)
        .arg("-db") // stay in the foreground, as a child of the test
        .arg("-f")
        .arg(config)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{} could not be started: {e}", program.display()))
}

impl Drop for Balancer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
