//! Mail off the request path: a change keeps its mail in the outbox in its own transaction; the
//! mail worker sends each mail once, a failing relay never fails the change, a failed attempt is
//! tried again with backoff and given up on after `MAIL_ATTEMPTS`, and a run that dies mid-send
//! leaves its mail to the next run once its lease is over, and a resend while the first mail
//! still waits sends only the newer one.
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use membership::{Mail, MailError, Mailer, MAIL_ATTEMPTS};

use crate::common::*;

/// A mail relay under the test's control: it can refuse the first few mails, or die (panic) in
/// the middle of the first one, as an instance killed mid-send would.
#[derive(Default)]
struct Relay {
    /// (key, to) of every mail it took.
    took: Mutex<Vec<(String, String)>>,
    /// The link of every mail it took that had one.
    links: Mutex<Vec<String>>,
    refuse: AtomicUsize,
    die_once: AtomicBool,
}

impl Relay {
    fn took(&self) -> Vec<(String, String)> {
        self.took.lock().unwrap().clone()
    }
}

impl Mailer for Relay {
    fn send(&self, mail: &Mail) -> Result<(), MailError> {
        self.send_as("", mail)
    }

    fn send_as(&self, key: &str, mail: &Mail) -> Result<(), MailError> {
        if self.die_once.swap(false, Ordering::SeqCst) {
            panic!("the instance died in the middle of sending");
        }
        if self
            .refuse
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(MailError {
                to: mail.to.clone(),
                reason: "421 the relay is busy".into(),
            });
        }
        self.took
            .lock()
            .unwrap()
            .push((key.to_owned(), mail.to.clone()));
        self.links.lock().unwrap().extend(mail.link.clone());
        Ok(())
    }
}

/// A world whose mail goes through `relay`, with a mail worker that only counts its wake-ups
/// (the test runs the deliveries itself).
fn world_with_worker(relay: Arc<Relay>) -> (World, Arc<AtomicUsize>) {
    let woken = Arc::new(AtomicUsize::new(0));
    let w = woken.clone();
    let world = world_with_relay(relay, move |p| {
        p.with_mail_worker(Arc::new(move || {
            w.fetch_add(1, Ordering::SeqCst);
        }))
    });
    (world, woken)
}

/// `n` staff members ask to join Contoso with a contoso.com address: each request is accepted at
/// once and causes one verification mail.
fn accepted_requests(w: &World, n: usize) -> Vec<String> {
    let contoso = w.contoso();
    (0..n)
        .map(|i| {
            let who = w.new_account(&format!("outbox{i}@example.net"), &format!("Outbox {i}"));
            let address = format!("outbox{i}@contoso.com");
            let created = w.request(&who, &contoso, &address).expect("the request");
            assert_eq!(created.status.as_str(), "accepted");
            address
        })
        .collect()
}

#[test]
fn a_change_keeps_its_mail_in_the_outbox_and_two_workers_at_once_send_each_mail_exactly_once() {
    let relay = Arc::new(Relay::default());
    let (w, woken) = world_with_worker(relay.clone());
    let woken_before = woken.load(Ordering::SeqCst);
    let addresses = accepted_requests(&w, 12);
    assert!(
        relay.took().is_empty(),
        "with a mail worker, no change sends mail itself"
    );
    assert_eq!(
        woken.load(Ordering::SeqCst) - woken_before,
        12,
        "each change that kept mail woke the worker"
    );

    // Two workers (two instances) deliver at the same moment, in small batches.
    let p = &w.p;
    let now = w.now;
    let runs: Vec<membership::MailRun> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(move || {
                    let mut total = membership::MailRun::default();
                    loop {
                        let run = p.deliver_mail(now, 3).expect("a delivery run");
                        total.sent += run.sent;
                        if run.is_idle() {
                            return total;
                        }
                    }
                })
            })
            .collect();
        workers.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let took = relay.took();
    let mut per_key: BTreeMap<&str, usize> = BTreeMap::new();
    for (key, _) in &took {
        *per_key.entry(key.as_str()).or_default() += 1;
    }
    assert_eq!(took.len(), 12, "every mail was sent: {took:?}");
    assert!(
        per_key.values().all(|n| *n == 1) && per_key.len() == 12,
        "no mail was sent twice: {per_key:?}"
    );
    assert_eq!(runs.iter().map(|r| r.sent).sum::<usize>(), 12);
    for address in &addresses {
        assert!(
            took.iter().any(|(_, to)| to == address),
            "{address} got its mail"
        );
    }
    assert!(
        took.iter().all(|(key, _)| key.starts_with("outbox-")),
        "each mail is sent under its outbox key: {took:?}"
    );
    assert!(
        w.p.deliver_mail(now, 10).unwrap().is_idle(),
        "a sent mail is gone from the outbox"
    );
}

#[test]
fn a_failing_relay_never_fails_the_change_and_its_mail_is_retried_with_backoff_until_it_goes() {
    let relay = Arc::new(Relay::default());
    relay.refuse.store(3, Ordering::SeqCst);
    // No worker: as in the embedded backend, the change tries its mail itself after the commit.
    let mut w = world_with_relay(relay.clone(), |p| p);
    accepted_requests(&w, 1);
    assert!(relay.took().is_empty(), "the first attempt was refused");
    // Tried again 15 s, then 30 s, then 60 s after each failure; not before.
    for (wait, expect_sent) in [(14, 0), (1, 0), (29, 0), (1, 0), (59, 0), (1, 1)] {
        w.advance(wait);
        let run = w.p.deliver_mail(w.now, 10).expect("a delivery run");
        assert_eq!(run.sent, expect_sent, "after {wait} more seconds: {run:?}");
    }
    assert_eq!(relay.took().len(), 1, "sent once, on the fourth attempt");
}

#[test]
fn a_mail_the_relay_always_refuses_is_given_up_on_after_its_attempts() {
    let relay = Arc::new(Relay::default());
    relay.refuse.store(usize::MAX, Ordering::SeqCst);
    let mut w = world_with_relay(relay.clone(), |p| p);
    accepted_requests(&w, 1);
    let mut attempts = 1;
    let mut given_up = 0;
    for _ in 0..20 {
        w.advance(31 * 60);
        let run = w.p.deliver_mail(w.now, 10).expect("a delivery run");
        attempts += run.retried + run.given_up;
        given_up += run.given_up;
    }
    assert_eq!(
        attempts, MAIL_ATTEMPTS as usize,
        "tried {MAIL_ATTEMPTS} times in all"
    );
    assert_eq!(given_up, 1, "then given up on, once");
    assert!(relay.took().is_empty());
}

#[test]
fn a_run_that_dies_mid_send_leaves_its_mail_to_the_next_run_once_its_lease_is_over() {
    let relay = Arc::new(Relay::default());
    let (mut w, _) = world_with_worker(relay.clone());
    accepted_requests(&w, 1);
    relay.die_once.store(true, Ordering::SeqCst);
    let died =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| w.p.deliver_mail(w.now, 10)));
    assert!(died.is_err(), "the first run died mid-send");
    w.advance(29);
    assert!(
        w.p.deliver_mail(w.now, 10).unwrap().is_idle(),
        "while the dead run's lease lasts, nobody else sends its mail"
    );
    w.advance(1);
    assert_eq!(w.p.deliver_mail(w.now, 10).unwrap().sent, 1);
    assert_eq!(relay.took().len(), 1, "the mail went once");
}

#[test]
fn a_resend_while_the_first_mail_still_waits_sends_only_the_newer_mail_and_its_token_works() {
    let relay = Arc::new(Relay::default());
    let (mut w, _) = world_with_worker(relay.clone());
    let contoso = w.contoso();
    let who = w.new_account("early@example.net", "Early Resender");
    let created = w
        .request(&who, &contoso, "early@contoso.com")
        .expect("the request");
    w.advance(60);
    w.p.resend_verification(&who, &created.request_id, w.now)
        .expect("the resend after the cooldown");
    let run = w.p.deliver_mail(w.now, 10).expect("a delivery run");
    assert_eq!(
        (run.sent, run.dropped),
        (1, 1),
        "the first mail, whose token the resend replaced, is not sent: {run:?}"
    );
    let links = relay.links.lock().unwrap().clone();
    assert_eq!(links.len(), 1, "{links:?}");
    let token = links[0]
        .strip_prefix("partnerdesk://verify?token=")
        .expect("a partnerdesk link");
    w.p.verify(&who, &membership::Secret::new(token), w.now)
        .expect("the token of the mail that went works");
}
