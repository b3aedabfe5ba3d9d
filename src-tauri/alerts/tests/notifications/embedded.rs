//! Against the embedded backend, in process: the follower wakes on the backend's own writes, and
//! renews an access token that expired while it followed.
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alerts::{Settings, Status};
use client::{Backend, Embedded};
use membership::{RequestStatus, Timestamp};

use crate::bus::{Notifications, PrivateBus};
use crate::desk::{Follower, Session, PPC};

const WITHIN: Duration = Duration::from_secs(20);

#[test]
fn the_embedded_backend_notifies_at_once_and_the_follower_outlives_an_expired_access_token() {
    let bus = PrivateBus::start();
    let mock = Notifications::start(&bus);
    let dir = tempfile::tempdir().unwrap();
    // The backend's clock, which the test moves on to expire access tokens.
    let skew = Arc::new(AtomicI64::new(0));
    let clock_skew = skew.clone();
    let embedded = Embedded::open(
        &dir.path().join("membership.sqlite3"),
        membership::Config::default(),
    )
    .expect("the embedded backend opens")
    .with_clock(Arc::new(move || {
        Timestamp::now_utc() + time::Duration::seconds(clock_skew.load(Ordering::SeqCst))
    }));
    membership::seed::seed_demo(embedded.programme(), Timestamp::now_utc()).unwrap();
    let backend: Arc<dyn Backend> = Arc::new(embedded);
    let ppc = Session::sign_in(&backend, PPC);
    let fabrikam = ppc.organisation("Fabrikam Consulting");
    let f = Follower::start(
        &backend,
        &ppc,
        &dir.path().join("inbox.sqlite3"),
        &bus.address,
        Settings::default(),
        None,
    );
    f.wait_for_status(|s| *s == Status::Following, WITHIN);

    let hal = Session::new_account(&backend, "hal@example.net", "Hal");
    let started = Instant::now();
    let asked = hal.ask_to_join(&fabrikam, "Hal", "Hughes", "hal@fabrikam.com");
    let calls = mock.wait_for_notify(1, WITHIN);
    println!(
        "embedded backend: submission to Notify call in {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    assert_eq!(calls[0].summary, "New request to associate");
    assert!(
        calls[0].body.starts_with(
            "Hal Hughes (hal@fabrikam.com) asked to associate with Fabrikam Consulting."
        ),
        "{}",
        calls[0].body
    );

    // Sixteen minutes later the PPC's access token has expired (15 minutes); the follower renews
    // it with the refresh token and goes on.
    skew.store(16 * 60, Ordering::SeqCst);
    let ivy = Session::new_account(&backend, "ivy@example.net", "Ivy");
    ivy.ask_to_join(&fabrikam, "Ivy", "Irwin", "ivy@fabrikam.com");
    let calls = mock.wait_for_notify(2, WITHIN);
    assert!(
        calls[1]
            .body
            .starts_with("Ivy Irwin (ivy@fabrikam.com) asked"),
        "{}",
        calls[1].body
    );
    assert!(
        !f.heard
            .statuses
            .lock()
            .unwrap()
            .iter()
            .any(|s| matches!(s, Status::SignedOut { .. })),
        "never signed out"
    );

    // Approve from the notification, on the embedded backend (the action renews the token too).
    mock.invoke(mock.server_id(0), "approve");
    crate::desk::wait_for(WITHIN, || {
        (hal.request(&asked.request_id).status == RequestStatus::Accepted).then_some(())
    })
    .expect("Hal's request is accepted");
    // The inbox hears of the decision as an event, a moment after the backend made it.
    crate::desk::wait_for(WITHIN, || {
        (f.alerts.badge().unwrap().pending == 1).then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "Ivy's request still waits, Hal's is decided: the badge says {:?}",
            f.alerts.badge()
        )
    });
}
