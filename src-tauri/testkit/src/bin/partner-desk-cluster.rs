//! A local cluster anyone can start (`scripts/cluster`): a throwaway PostgreSQL cluster, two
//! `partner-desk-server` instances on one database of it, haproxy in front of them and an SMTP
//! sink that prints every mail here, all on loopback. Point the app at the address it prints
//! (Settings → Remote: your programme's membership server). Ctrl-C stops everything; the
//! database goes with it.
//!
//! `--port PORT` picks the balancer's port (8080 by default). `--check` starts it all, signs the
//! demo PPC in through the balancer, says whether that worked and stops (`scripts/test` runs it).
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use testkit::balancer::Balancer;
use testkit::postgres::Cluster;
use testkit::SmtpSink;

struct Instance {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One server instance on `database`, on any free loopback port.
fn instance(database: &str, sink: &SmtpSink, public_url: &str) -> Instance {
    let mut child = Command::new(testkit::server_binary())
        .args([
            "--listen",
            "127.0.0.1:0",
            "--seed-demo",
            "--trust-forwarded-for",
        ])
        .args(["--database", database, "--smtp", &sink.url()])
        .args(["--public-url", public_url])
        // Warnings only, unless asked for more: the mail below is what a person watches here.
        .env(
            "PARTNER_DESK_LOG",
            std::env::var("PARTNER_DESK_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("partner-desk-server starts (scripts/cluster builds it)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .expect("the server says where it listens");
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("the server did not start: {line:?}"));
    Instance { child, addr }
}

/// One plain HTTP/1.1 request to the balancer; the status code and the body.
fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("a timeout");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    std::io::Write::write_all(&mut stream, head.as_bytes()).expect("the request is sent");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn main() {
    let mut port = 8080u16;
    let mut check = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                port = args
                    .next()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or_else(|| fail("--port needs a port number, such as --port 8080"))
            }
            "--check" => check = true,
            other => fail(&format!(
                "unknown argument {other:?}; use --port PORT or --check"
            )),
        }
    }
    let listen: SocketAddr = ([127, 0, 0, 1], port).into();
    if TcpStream::connect_timeout(&listen, Duration::from_millis(300)).is_ok() {
        fail(&format!(
            "something already listens on {listen}; stop it, or choose another port with --port"
        ));
    }
    let base = format!("http://{listen}");

    eprintln!("cluster: starting PostgreSQL (a throwaway cluster, gone when this stops)");
    let pg = Cluster::shared();
    let database = pg.fresh_database();
    let sink = SmtpSink::start();
    eprintln!("cluster: starting two server instances on it");
    let a = instance(&database, &sink, &base);
    let b = instance(&database, &sink, &base);
    let balancer = Balancer::start_on(listen, &[a.addr, b.addr]);

    if check {
        let (status, body) = request(
            balancer.addr(),
            "POST",
            "/v1/sessions",
            r#"{"email":"ppc@contoso.com","password":"partnerdesk-demo"}"#,
        );
        if status != 200 || !body.contains("access_token") {
            fail(&format!(
                "signing in through the balancer answered {status}: {body}"
            ));
        }
        println!(
            "cluster: ok: the demo PPC signed in through haproxy on {listen} (instances {} and {}, PostgreSQL on 127.0.0.1:{})",
            a.addr,
            b.addr,
            pg.port()
        );
        return;
    }

    println!();
    println!("Partner Desk cluster on loopback:");
    println!(
        "  point the app at   {base}   (Settings -> Remote: your programme's membership server)"
    );
    println!(
        "  haproxy {listen} -> instances {} and {}; PostgreSQL 127.0.0.1:{} (database {})",
        a.addr,
        b.addr,
        pg.port(),
        database.rsplit('/').next().unwrap_or_default()
    );
    println!(
        "  demo accounts: ppc@contoso.com, ppc@fabrikam.com, staff@example.net; password {}",
        testkit::DEMO_PASSWORD
    );
    println!("  mail the servers send is printed below. Ctrl-C stops everything.");
    println!();
    let mut shown = 0;
    loop {
        let mail = sink.all();
        for m in &mail[shown..] {
            println!(
                "--- mail to {}: {}\n{}\n",
                m.to.join(", "),
                m.subject,
                m.body.trim_end()
            );
        }
        shown = mail.len();
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn fail(why: &str) -> ! {
    eprintln!("cluster: {why}");
    std::process::exit(2)
}
