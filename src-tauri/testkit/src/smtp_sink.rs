//! A real SMTP server on loopback, small enough to read: it speaks EHLO/HELO, MAIL, RCPT, DATA,
//! RSET, NOOP and QUIT, and keeps every message so a test can read the mail the server sent.
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct SentMail {
    pub to: Vec<String>,
    pub subject: String,
    /// The decoded text body.
    pub body: String,
    /// The name of every header line, in order (continuation lines unfolded), so a test can
    /// see that no typed text added a header.
    pub header_names: Vec<String>,
    /// The Message-ID header (empty when there is none): the server's outbox sets the same one
    /// on every attempt at one mail, so a repeat shows.
    pub message_id: String,
}

#[derive(Default)]
struct Inbox {
    mail: Mutex<Vec<SentMail>>,
    arrived: Condvar,
}

#[derive(Clone)]
pub struct SmtpSink {
    addr: SocketAddr,
    inbox: Arc<Inbox>,
}

impl SmtpSink {
    pub fn start() -> Self {
        let listener =
            TcpListener::bind("127.0.0.1:0").expect("the SMTP sink binds a loopback port");
        let addr = listener.local_addr().expect("bound address");
        let inbox = Arc::new(Inbox::default());
        let shared = inbox.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let inbox = shared.clone();
                std::thread::spawn(move || {
                    let _ = session(stream, &inbox);
                });
            }
        });
        Self { addr, inbox }
    }

    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    pub fn all(&self) -> Vec<SentMail> {
        self.inbox.mail.lock().unwrap().clone()
    }

    pub fn to(&self, address: &str) -> Vec<SentMail> {
        self.all()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
            .collect()
    }

    /// Waits until `count` mails to `address` have arrived.
    pub fn wait_for(&self, address: &str, count: usize) -> Vec<SentMail> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut guard = self.inbox.mail.lock().unwrap();
        loop {
            let found: Vec<SentMail> = guard
                .iter()
                .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
                .cloned()
                .collect();
            if found.len() >= count {
                return found;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "expected {count} mail(s) to {address}, got {}",
                found.len()
            );
            guard = self.inbox.arrived.wait_timeout(guard, left).unwrap().0;
        }
    }
}

fn session(stream: TcpStream, inbox: &Inbox) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut out = stream.try_clone()?;
    let mut lines = BufReader::new(stream);
    out.write_all(b"220 sink.test ESMTP ready\r\n")?;
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        if command.starts_with("EHLO") {
            out.write_all(b"250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")?;
        } else if command.starts_with("HELO") {
            out.write_all(b"250 sink.test\r\n")?;
        } else if command.starts_with("MAIL FROM") {
            to.clear();
            out.write_all(b"250 OK\r\n")?;
        } else if command.starts_with("RCPT TO") {
            let raw = line.trim_end();
            let addr = raw[raw.find('<').map_or(8, |i| i + 1)..]
                .trim_end_matches('>')
                .to_owned();
            to.push(addr);
            out.write_all(b"250 OK\r\n")?;
        } else if command == "DATA" {
            out.write_all(b"354 end with <CRLF>.<CRLF>\r\n")?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line)? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                // Undo dot-stuffing.
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            let mail = parse(std::mem::take(&mut to), &data);
            {
                let mut all = inbox.mail.lock().unwrap();
                all.push(mail);
                inbox.arrived.notify_all();
            }
            out.write_all(b"250 OK queued\r\n")?;
        } else if command == "RSET" || command == "NOOP" {
            out.write_all(b"250 OK\r\n")?;
        } else if command == "QUIT" {
            out.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            out.write_all(b"502 not implemented\r\n")?;
        }
    }
}

fn parse(to: Vec<String>, data: &str) -> SentMail {
    let (head, body) = data.split_once("\r\n\r\n").unwrap_or((data, ""));
    // Unfold continued header lines.
    let head = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    let header = |name: &str| {
        head.lines()
            .find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_owned())
            })
            .unwrap_or_default()
    };
    let encoding = header("Content-Transfer-Encoding").to_ascii_lowercase();
    let body = if encoding == "quoted-printable" {
        decode_qp(body)
    } else {
        body.replace("\r\n", "\n")
    };
    let header_names = head
        .lines()
        .filter_map(|l| l.split_once(':').map(|(n, _)| n.trim().to_owned()))
        .collect();
    SentMail {
        to,
        subject: header("Subject"),
        body,
        header_names,
        message_id: header("Message-ID"),
    }
}

fn decode_qp(s: &str) -> String {
    let s = s.replace("=\r\n", "").replace("\r\n", "\n");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
