//! Mail over SMTP with lettre. The membership service composes the mail (verification link, web
//! link, code, expiry in words) and calls [`SmtpMailer::send`] after its change is committed,
//! from a blocking thread, so the synchronous transport is the right one.
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox as Address;
use lettre::{Message, SmtpTransport, Transport};
use membership::{Mail, MailError, Mailer};

pub struct SmtpMailer {
    transport: SmtpTransport,
    from: Address,
}

#[derive(Debug, thiserror::Error)]
pub enum SmtpSetupError {
    #[error("the SMTP address {0:?} is not valid: {1}. Use smtp://HOST:PORT, smtp://HOST:PORT?tls=required or smtps://HOST:PORT")]
    Url(String, String),
    #[error("the sender address {0:?} is not valid: {1}")]
    From(String, String),
}

impl SmtpMailer {
    /// `url`: `smtp://HOST:PORT` (plain), `smtp://HOST:PORT?tls=required|opportunistic`
    /// (STARTTLS) or `smtps://HOST:PORT` (TLS), with optional `USER:PASSWORD@`.
    pub fn new(url: &str, from: &str) -> Result<Self, SmtpSetupError> {
        let transport = SmtpTransport::from_url(url)
            .map_err(|e| SmtpSetupError::Url(redact_url(url), e.to_string()))?
            .timeout(Some(Duration::from_secs(15)))
            .build();
        let from = from
            .parse::<Address>()
            .map_err(|e| SmtpSetupError::From(from.to_owned(), e.to_string()))?;
        Ok(Self { transport, from })
    }
}

/// `text` as one header line: every control character (a typed CR or LF above all, which would
/// end the header and start another) becomes a space. The backend already refuses controls in
/// what people type; this holds whatever a subject is made from.
pub fn header_text(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The URL without credentials, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}<redacted>{}", &url[..s + 3], &url[at..]),
        _ => url.to_owned(),
    }
}

impl Mailer for SmtpMailer {
    fn send(&self, mail: &Mail) -> Result<(), MailError> {
        self.deliver(None, mail)
    }

    fn send_as(&self, key: &str, mail: &Mail) -> Result<(), MailError> {
        self.deliver(Some(key), mail)
    }
}

impl SmtpMailer {
    /// Sends `mail`; with the outbox's `key`, as the Message-ID `<key@host of the sender>`, the
    /// same on every attempt, so a repeat can be recognised.
    fn deliver(&self, key: Option<&str>, mail: &Mail) -> Result<(), MailError> {
        let fail = |reason: String| MailError {
            to: mail.to.clone(),
            reason,
        };
        let to = mail
            .to
            .parse::<Address>()
            .map_err(|e| fail(e.to_string()))?;
        let subject = header_text(&mail.subject);
        let message_id = key.map(|k| format!("<{k}@{}>", self.from.email.domain()));
        let message = Message::builder()
            .message_id(message_id)
            .from(self.from.clone())
            .to(to)
            .subject(subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|e| fail(e.to_string()))?;
        match self.transport.send(&message) {
            Ok(_) => {
                // Never the body: it may hold a verification token. The subject names an
                // organisation, typed by someone: quoted (`?`), so it cannot forge a log line.
                tracing::info!(subject = ?subject, "mail sent");
                Ok(())
            }
            Err(e) => {
                // The relay's answer is quoted too: it may echo what it was sent.
                tracing::warn!(error = ?e.to_string(), "mail delivery failed");
                Err(fail(e.to_string()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_show_in_a_reported_smtp_url() {
        assert_eq!(
            redact_url("smtps://me:hunter2@mail.test:465"),
            "smtps://<redacted>@mail.test:465"
        );
        assert_eq!(redact_url("smtp://127.0.0.1:25"), "smtp://127.0.0.1:25");
    }

    #[test]
    fn plain_starttls_and_tls_urls_are_accepted() {
        for url in [
            "smtp://127.0.0.1:2525",
            "smtp://127.0.0.1:2525?tls=required",
            "smtps://127.0.0.1:465",
        ] {
            assert!(
                SmtpMailer::new(url, "Partner Desk <no-reply@partnerdesk.invalid>").is_ok(),
                "{url}"
            );
        }
        assert!(SmtpMailer::new("http://x", "a@b.test").is_err());
    }

    /// Everything the server logs at `info` while `f` runs, in its text format.
    fn logged(f: impl FnOnce()) -> String {
        #[derive(Clone, Default)]
        struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let bytes = buffer.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn a_typed_line_break_can_neither_add_a_mail_header_nor_forge_a_log_line() {
        let sink = testkit::SmtpSink::start();
        let mailer = SmtpMailer::new(&sink.url(), "Partner Desk <no-reply@partnerdesk.invalid>")
            .expect("the sink's address");
        let subject = "Verify your association with Evil\r\nBcc: victim@evil.invalid\r\n\r\nINFO forged: yes\nX: <b>&amp;</b>";
        let log = logged(|| {
            mailer
                .send(&Mail {
                    to: "sam@contoso.com".into(),
                    subject: subject.into(),
                    body: "Hello".into(),
                    link: None,
                })
                .expect("the sink takes it")
        });
        let mail = sink.wait_for("sam@contoso.com", 1).remove(0);
        assert_eq!(
            mail.header_names
                .iter()
                .filter(|n| n.eq_ignore_ascii_case("subject"))
                .count(),
            1,
            "{:?}",
            mail.header_names
        );
        assert!(
            !mail
                .header_names
                .iter()
                .any(|n| n.eq_ignore_ascii_case("bcc") || n == "X"),
            "a typed line break added a header: {:?}",
            mail.header_names
        );
        assert_eq!(mail.to, ["sam@contoso.com"], "nobody else was sent it");
        assert_eq!(mail.body.trim(), "Hello");
        let lines: Vec<&str> = log.lines().collect();
        assert_eq!(lines.len(), 1, "one event, one line: {log}");
        assert!(
            lines[0].contains("mail sent") && lines[0].contains("Bcc: victim"),
            "{log}"
        );
    }
}
