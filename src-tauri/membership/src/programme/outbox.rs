//! Sending what is in the mail outbox: each mail is leased (so two runs, on one instance or
//! several, never hold it at once), handed to the mailer, and forgotten once it is sent. A failed
//! attempt is tried again later, backing off, and given up on after [`MAIL_ATTEMPTS`] with an
//! audit entry, as a failed send always was: the requester can ask for the mail again.
use std::time::{Duration as StdDuration, Instant};

use time::Duration;

use super::{Programme, TOKEN_SLOT};
use crate::store::{AuditRecord, OutboxMail, Store};
use crate::tokens::{new_token, token_hash};
use crate::{Error, Mail, Timestamp};

/// Attempts before a mail is given up on: about an hour of trying.
pub const MAIL_ATTEMPTS: u32 = 8;

/// How long a run holds the mail it took. A run stops taking on more of its batch at half of
/// this and gives the rest back, so a slow relay cannot keep mail past its lease (when another
/// run would send it too).
const LEASE: Duration = Duration::seconds(30);

/// What one delivery run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MailRun {
    pub sent: usize,
    /// Failed attempts that will be tried again.
    pub retried: usize,
    /// Mails given up on after [`MAIL_ATTEMPTS`].
    pub given_up: usize,
    /// Mails taken but not tried in this run (it ran out of time), handed back at once.
    pub handed_back: usize,
    /// Verification mails not sent because their token can no longer be used (a newer mail for
    /// the same request replaced it, or the request was decided or ended meanwhile).
    pub dropped: usize,
}

impl MailRun {
    pub fn is_idle(&self) -> bool {
        *self == Self::default()
    }
}

/// The wait before attempt `failures + 1`: 15 seconds, doubling, at most 30 minutes.
fn backoff(failures: u32) -> Duration {
    let secs = 15_i64.saturating_mul(1_i64 << failures.saturating_sub(1).min(20));
    Duration::seconds(secs.min(30 * 60))
}

impl<S: Store> Programme<S> {
    /// Sends up to `limit` mails of the outbox that are due by `now`.
    pub fn deliver_mail(&self, now: Timestamp, limit: u32) -> Result<MailRun, Error> {
        let mut run = MailRun::default();
        let due = self
            .store
            .write(&mut |tx| tx.lease_mail(now, now + LEASE, limit))?;
        let started = Instant::now();
        let half_lease = StdDuration::from_secs((LEASE.whole_seconds() / 2).unsigned_abs());
        for (i, m) in due.iter().enumerate() {
            if started.elapsed() >= half_lease {
                let rest = &due[i..];
                self.store.write(&mut |tx| {
                    for m in rest {
                        tx.retry_mail(m.id, m.attempts, now)?;
                    }
                    Ok(())
                })?;
                run.handed_back = rest.len();
                break;
            }
            // The same key on every attempt of one mail: a receiver can tell a repeat (an
            // instance that died after the relay took the mail but before forgetting it).
            let key = format!("outbox-{}-{}", m.id, m.created_at.unix_timestamp());
            let Some(mail) = self.ready(m, now)? else {
                self.store.write(&mut |tx| tx.remove_mail(m.id))?;
                run.dropped += 1;
                continue;
            };
            match self.mailer.send_as(&key, &mail) {
                Ok(()) => {
                    self.store.write(&mut |tx| tx.remove_mail(m.id))?;
                    run.sent += 1;
                }
                Err(_) if m.attempts + 1 < MAIL_ATTEMPTS => {
                    let failures = m.attempts + 1;
                    self.store
                        .write(&mut |tx| tx.retry_mail(m.id, failures, now + backoff(failures)))?;
                    run.retried += 1;
                }
                Err(_) => {
                    // Recorded without the mail's body, which may hold a token.
                    self.store.write(&mut |tx| {
                        tx.remove_mail(m.id)?;
                        tx.append_audit(&AuditRecord {
                            at: now,
                            organisation_id: None,
                            actor_account_id: None,
                            action: "mail.failed",
                            subject: &m.mail.to,
                            detail: "delivery failed; the sender may resend",
                        })
                    })?;
                    run.given_up += 1;
                }
            }
        }
        Ok(run)
    }

    /// The mail as it is sent. A verification mail gets its token now: a new one on every
    /// attempt, whose hash replaces the token row's in the database before the mail leaves, so the
    /// token itself is never stored and only the last mail sent works. `None` when the row can no
    /// longer be used.
    fn ready(&self, m: &OutboxMail, now: Timestamp) -> Result<Option<Mail>, Error> {
        let Some(old) = &m.token_hash else {
            return Ok(Some(m.mail.clone()));
        };
        let token = new_token();
        let new = token_hash(&token);
        if !self
            .store
            .write(&mut |tx| tx.rekey_mail_token(m.id, old, &new, now))?
        {
            return Ok(None);
        }
        let fill = |text: &str| text.replace(TOKEN_SLOT, token.expose());
        Ok(Some(Mail {
            to: m.mail.to.clone(),
            subject: m.mail.subject.clone(),
            body: fill(&m.mail.body),
            link: m.mail.link.as_deref().map(fill),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_from_fifteen_seconds_to_half_an_hour() {
        let waits: Vec<i64> = (1..=MAIL_ATTEMPTS)
            .map(|n| backoff(n).whole_seconds())
            .collect();
        assert_eq!(waits, [15, 30, 60, 120, 240, 480, 960, 1800]);
        assert_eq!(
            backoff(60).whole_seconds(),
            1800,
            "never more than 30 minutes"
        );
    }
}
