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

/// The URL without credentials, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}<redacted>{}", &url[..s + 3], &url[at..]),
        _ => url.to_owned(),
    }
}

impl Mailer for SmtpMailer {
    fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let fail = |reason: String| MailError {
            to: mail.to.clone(),
            reason,
        };
        let to = mail
            .to
            .parse::<Address>()
            .map_err(|e| fail(e.to_string()))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|e| fail(e.to_string()))?;
        match self.transport.send(&message) {
            Ok(_) => {
                // Never the body: it may hold a verification token.
                tracing::info!(subject = %mail.subject, "mail sent");
                Ok(())
            }
            Err(e) => {
                tracing::warn!(error = %e, "mail delivery failed");
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
}
