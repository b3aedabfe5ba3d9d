//! Against the real server, over its event stream.
use std::sync::Arc;
use std::time::{Duration, Instant};

use alerts::{ClockTime, QuietHours, Settings, Status, Target, DEFAULT_DENY_REASON};
use client::Privilege;
use membership::{RequestStatus, Timestamp};

use crate::bus::{Notifications, PrivateBus};
use crate::desk::{remote, server, verification_token, wait_for, Follower, Session, PPC};

const WITHIN: Duration = Duration::from_secs(20);

fn following(s: &Status) -> bool {
    *s == Status::Following
}

#[test]
fn the_ppc_is_notified_of_a_request_and_approve_deny_and_open_act_on_it() {
    let bus = PrivateBus::start();
    let mock = Notifications::start(&bus);
    let server = server();
    let backend = remote(&server);
    let dir = tempfile::tempdir().unwrap();
    let ppc = Session::sign_in(&backend, PPC);
    let f = Follower::start(
        &backend,
        &ppc,
        &dir.path().join("inbox.sqlite3"),
        &bus.address,
        Settings::default(),
        None,
    );
    f.wait_for_status(following, WITHIN);
    let fabrikam = ppc.organisation("Fabrikam Consulting");

    // A second client, another account, asks to join.
    let bea = Session::new_account(&backend, "bea@example.net", "Bea Baker");
    let asked = bea.ask_to_join(&fabrikam, "Bea", "Baker", "bea@fabrikam.com");
    assert_eq!(asked.status, RequestStatus::PendingApproval);
    let calls = mock.wait_for_notify(1, WITHIN);
    let call = &calls[0];
    assert_eq!(call.app_name, "Partner Desk");
    assert_eq!(
        call.summary, "New request to associate",
        "the summary is the app's own words"
    );
    assert!(
        call.body.contains("Bea Baker (bea@fabrikam.com)")
            && call.body.contains("Fabrikam Consulting"),
        "{}",
        call.body
    );
    assert_eq!(
        call.actions,
        ["approve", "Approve", "deny", "Deny", "default", "Open"]
    );
    let entry = &f.wait_for_entries(1, WITHIN)[0];
    assert!(entry.pending && !entry.read && entry.notified);
    assert_eq!(f.alerts.badge().unwrap().pending, 1);

    // Approve on the notification approves it on the server.
    mock.invoke(mock.server_id(0), "approve");
    wait_for(WITHIN, || {
        (ppc.request(&asked.request_id).status == RequestStatus::Accepted).then_some(())
    })
    .expect("the request is accepted on the server");
    server.mail.wait_for("bea@fabrikam.com", 1);
    let acted = wait_for(WITHIN, || f.heard.acted.lock().unwrap().first().cloned())
        .expect("the acted hook hears the outcome");
    assert_eq!(acted.0, entry.notice.id);
    assert_eq!(
        acted.1.as_deref(),
        Ok("The request from Bea Baker was accepted. A verification email went to bea@fabrikam.com.")
    );
    let settled = f.alerts.entries(10).unwrap().remove(0);
    assert!(!settled.pending && settled.read);
    assert_eq!(settled.outcome.as_deref(), acted.1.as_deref().ok());
    assert!(
        wait_for(WITHIN, || (mock.count("CloseNotification") == 1)
            .then_some(()))
        .is_some(),
        "the acted-on notification is taken back"
    );
    let again = f.alerts.act(entry.notice.id, alerts::Action::Approve);
    assert_eq!(
        again.unwrap_err().code(),
        "already_settled",
        "a second click does nothing twice"
    );

    // Deny, with the default reason the requester will read.
    let cal = Session::new_account(&backend, "cal@example.net", "Cal Cruz");
    let asked = cal.ask_to_join(&fabrikam, "Cal", "Cruz", "cal@fabrikam.com");
    let calls = mock.wait_for_notify(2, WITHIN);
    assert!(calls[1]
        .body
        .starts_with("Cal Cruz (cal@fabrikam.com) asked"));
    mock.invoke(mock.server_id(1), "deny");
    let denied = wait_for(WITHIN, || {
        let r = cal.request(&asked.request_id);
        (r.status == RequestStatus::Denied).then_some(r)
    })
    .expect("the request is denied on the server");
    assert_eq!(denied.decision_reason.as_deref(), Some(DEFAULT_DENY_REASON));

    // Open (a click on the notification itself) shows the request and decides nothing.
    let dee = Session::new_account(&backend, "dee@example.net", "Dee Dunn");
    let asked = dee.ask_to_join(&fabrikam, "Dee", "Dunn", "dee@fabrikam.com");
    mock.wait_for_notify(3, WITHIN);
    mock.invoke(mock.server_id(2), "default");
    let opened = wait_for(WITHIN, || f.heard.opened.lock().unwrap().first().cloned())
        .expect("the open hook is called");
    assert_eq!(
        opened.target,
        Target::AssociationRequest {
            organisation_id: fabrikam.clone(),
            request_id: asked.request_id.clone()
        }
    );
    assert_eq!(
        dee.request(&asked.request_id).status,
        RequestStatus::PendingApproval
    );
    let badge = f.alerts.badge().unwrap();
    assert_eq!(
        (badge.pending, badge.unread),
        (1, 0),
        "Dee's request still waits; all read"
    );
}

#[test]
fn a_reconnect_and_a_restart_show_nothing_twice_and_miss_nothing() {
    let bus = PrivateBus::start();
    let mock = Notifications::start(&bus);
    let mut server = server();
    let backend = remote(&server);
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox.sqlite3");
    let ppc = Session::sign_in(&backend, PPC);
    let fabrikam = ppc.organisation("Fabrikam Consulting");
    let staff: Vec<_> = ["ann", "ben", "cat"]
        .iter()
        .map(|n| Session::new_account(&backend, &format!("{n}@example.net"), n))
        .collect();

    let f = Follower::start(
        &backend,
        &ppc,
        &inbox,
        &bus.address,
        Settings::default(),
        None,
    );
    f.wait_for_status(following, WITHIN);
    staff[0].ask_to_join(&fabrikam, "Ann", "Archer", "ann@fabrikam.com");
    mock.wait_for_notify(1, WITHIN);

    // The server dies and comes back on the same database: the stream reconnects and resumes.
    let base = server.base().to_owned();
    server.kill();
    f.wait_for_status(|s| matches!(s, Status::Reconnecting { .. }), WITHIN);
    assert_eq!(
        server.restart(),
        base,
        "the server came back on its old port"
    );
    f.wait_for_status(following, Duration::from_secs(60));
    staff[1].ask_to_join(&fabrikam, "Ben", "Brown", "ben@fabrikam.com");
    f.wait_for_entries(2, WITHIN);
    assert_eq!(mock.wait_for_notify(2, WITHIN).len(), 2);

    // The app stops (closed); a request arrives meanwhile; the app starts again.
    drop(f);
    staff[2].ask_to_join(&fabrikam, "Cat", "Cole", "cat@fabrikam.com");
    let f = Follower::start(
        &backend,
        &ppc,
        &inbox,
        &bus.address,
        Settings::default(),
        None,
    );
    let entries = f.wait_for_entries(3, WITHIN);
    let calls = mock.wait_for_notify(3, WITHIN);
    // Give a duplicate every chance to show up before counting.
    std::thread::sleep(Duration::from_millis(500));
    let entries_after = f.alerts.entries(100).unwrap();
    assert_eq!(entries_after.len(), 3, "{entries_after:#?}");
    // The same notices (the `notified` mark of the last one may have been set meanwhile).
    let notices = |es: &[alerts::Entry]| es.iter().map(|e| e.notice.clone()).collect::<Vec<_>>();
    assert_eq!(notices(&entries), notices(&entries_after));
    wait_for(WITHIN, || {
        let es = f.alerts.entries(100).unwrap();
        es.iter().all(|e| e.notified).then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "every entry is marked notified: {:#?}",
            f.alerts.entries(100)
        )
    });
    let calls_after = mock.notify_calls();
    assert_eq!(calls_after.len(), 3, "{calls_after:#?}");
    let mut names: Vec<_> = calls.iter().map(|c| c.body.clone()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 3, "each request was notified once: {names:?}");
    assert!(names[2].starts_with("Cat Cole"), "{names:?}");
    let mut ids: Vec<_> = entries.iter().map(|e| e.notice.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 3);
}

#[test]
fn quiet_hours_keep_a_request_in_the_inbox_without_a_notification() {
    let bus = PrivateBus::start();
    let mock = Notifications::start(&bus);
    let server = server();
    let backend = remote(&server);
    let dir = tempfile::tempdir().unwrap();
    let ppc = Session::sign_in(&backend, PPC);
    let fabrikam = ppc.organisation("Fabrikam Consulting");
    let night = Settings {
        notifications: true,
        quiet_hours: Some(QuietHours {
            start: "22:00".parse().unwrap(),
            end: "07:00".parse().unwrap(),
        }),
    };
    // Half past eleven at night, local time.
    let clock: alerts::Clock = Arc::new(|| (Timestamp::now_utc(), ClockTime::new(23, 30).unwrap()));
    let f = Follower::start(
        &backend,
        &ppc,
        &dir.path().join("inbox.sqlite3"),
        &bus.address,
        night,
        Some(clock),
    );
    f.wait_for_status(following, WITHIN);
    let eve = Session::new_account(&backend, "eve@example.net", "Eve");
    eve.ask_to_join(&fabrikam, "Eve", "Evans", "eve@fabrikam.com");
    let entry = f.wait_for_entries(1, WITHIN).remove(0);
    assert!(
        entry.pending && !entry.read && !entry.notified,
        "{entry:#?}"
    );
    assert!(entry.notice.title.starts_with("Eve Evans"));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(mock.count("Notify"), 0, "quiet hours: no notification");
    assert_eq!(f.alerts.badge().unwrap().unread, 1);

    // Notifications off: still only the inbox.
    f.alerts.set_settings(Settings {
        notifications: false,
        quiet_hours: None,
    });
    let fay = Session::new_account(&backend, "fay@example.net", "Fay");
    fay.ask_to_join(&fabrikam, "Fay", "Fox", "fay@fabrikam.com");
    f.wait_for_entries(2, WITHIN);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(mock.count("Notify"), 0, "notifications off: none");

    // Back on, outside quiet hours: the next one is shown.
    f.alerts.set_settings(Settings::default());
    let gus = Session::new_account(&backend, "gus@example.net", "Gus");
    gus.ask_to_join(&fabrikam, "Gus", "Gray", "gus@fabrikam.com");
    let calls = mock.wait_for_notify(1, WITHIN);
    assert!(calls[0].body.starts_with("Gus Gray"), "{calls:#?}");
    assert_eq!(f.wait_for_entries(3, WITHIN).len(), 3);
}

#[test]
fn staff_hear_when_their_request_is_decided_and_when_a_privilege_is_granted() {
    let bus = PrivateBus::start();
    let mock = Notifications::start(&bus);
    let server = server();
    let backend = remote(&server);
    let dir = tempfile::tempdir().unwrap();
    let ppc = Session::sign_in(&backend, PPC);
    let fabrikam = ppc.organisation("Fabrikam Consulting");
    let northwind = ppc.organisation("Northwind Traders");
    let dana = Session::new_account(&backend, "dana@example.net", "Dana Diaz");

    let staff = Follower::start(
        &backend,
        &dana,
        &dir.path().join("dana.sqlite3"),
        &bus.address,
        Settings::default(),
        None,
    );
    let admin = Follower::start(
        &backend,
        &ppc,
        &dir.path().join("ppc.sqlite3"),
        &bus.address,
        Settings::default(),
        None,
    );
    staff.wait_for_status(following, WITHIN);
    admin.wait_for_status(following, WITHIN);
    // The summary is the app's own words; the body says who and which organisation.
    let find = |summary: &str, body: &str| {
        let deadline = Instant::now() + WITHIN;
        loop {
            let calls = mock.notify_calls();
            if let Some(i) = calls
                .iter()
                .position(|c| c.summary == summary && c.body.contains(body))
            {
                return (i, calls[i].clone());
            }
            assert!(
                Instant::now() < deadline,
                "no Notify {summary:?} saying {body:?} in {calls:#?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };

    // Accepted.
    let asked = dana.ask_to_join(&fabrikam, "Dana", "Diaz", "dana@fabrikam.com");
    find(
        "New request to associate",
        "Dana Diaz (dana@fabrikam.com) asked to associate with Fabrikam Consulting",
    );
    backend
        .approve(&ppc.access(), &asked.request_id)
        .expect("the PPC accepts");
    let (_, accepted) = find(
        "Your request to associate has been accepted",
        "Your request to associate with Fabrikam Consulting has been accepted",
    );
    assert!(
        accepted.body.contains("dana@fabrikam.com")
            && accepted.body.contains("complete your individual profile"),
        "{}",
        accepted.body
    );
    assert_eq!(accepted.actions, ["default", "Open"]);
    let verified = backend
        .verify(
            &dana.access(),
            &verification_token(&server, "dana@fabrikam.com"),
        )
        .expect("Dana verifies");

    // A privilege granted by the PPC.
    backend
        .grant_privilege(
            &ppc.access(),
            &verified.membership_id,
            Privilege::ActionPack,
        )
        .expect("the PPC grants Action Pack");
    let (_, granted) = find("You have been granted Action Pack", "Fabrikam Consulting");
    assert!(
        granted.body.contains("Fabrikam Consulting"),
        "{}",
        granted.body
    );

    // A privilege Dana asks for: the PPC is told and grants it from the notification.
    backend
        .request_privilege(
            &dana.access(),
            &verified.membership_id,
            Privilege::CompetencyBenefits,
            Some("For our lab licences"),
        )
        .expect("Dana asks for Competency benefits");
    let (i, asks) = find("New privilege request", "Dana Diaz of Fabrikam Consulting");
    assert!(
        asks.body.contains("Fabrikam Consulting") && asks.body.contains("For our lab licences"),
        "{}",
        asks.body
    );
    assert_eq!(asks.actions, ["approve", "Grant", "default", "Open"]);
    mock.invoke(mock.server_id(i), "approve");
    find(
        "You have been granted Competency benefits",
        "Fabrikam Consulting",
    );
    let me = backend.me(&dana.access()).unwrap();
    let membership = me
        .memberships
        .iter()
        .find(|m| m.membership_id == verified.membership_id)
        .unwrap();
    assert!(membership
        .privileges
        .contains(&Privilege::CompetencyBenefits));

    // Denied, with the reason the PPC typed.
    let asked = dana.ask_to_join(&northwind, "Dana", "Diaz", "dana@northwind.example");
    find(
        "New request to associate",
        "Dana Diaz (dana@northwind.example) asked to associate with Northwind Traders",
    );
    backend
        .deny(
            &ppc.access(),
            &asked.request_id,
            "Use the address Northwind gave you.",
        )
        .expect("the PPC denies");
    let (_, denied) = find(
        "Your request to associate was not accepted",
        "Northwind Traders\u{2019}s program administrator did not accept your request.",
    );
    assert!(
        denied
            .body
            .contains("Reason: Use the address Northwind gave you."),
        "{}",
        denied.body
    );
    let own: Vec<_> = staff
        .wait_for_entries(4, WITHIN)
        .into_iter()
        .map(|e| e.notice.title)
        .collect();
    assert_eq!(
        own,
        [
            "Your request to associate with Northwind Traders was not accepted",
            "You have been granted Competency benefits",
            "You have been granted Action Pack",
            "Your request to associate with Fabrikam Consulting has been accepted",
        ]
    );
}

#[test]
fn latency_from_submission_to_the_notify_call_over_21_requests() {
    let bus = PrivateBus::start();
    let mock = Notifications::start(&bus);
    let server = server();
    let backend = remote(&server);
    let dir = tempfile::tempdir().unwrap();
    let ppc = Session::sign_in(&backend, PPC);
    // Seven organisations with Fabrikam's PPC and no pre-approved domain, three people: 21
    // requests, each waiting for the PPC.
    let orgs: Vec<String> = [
        "Fabrikam Consulting",
        "Northwind Traders",
        "Adventure Works Cycles",
        "Tailspin Toys",
        "Woodgrove Bank",
        "Litware Systems",
        "Contoso Pharmaceuticals",
    ]
    .iter()
    .map(|n| ppc.organisation(n))
    .collect();
    let people: Vec<_> = ["kim", "lee", "max"]
        .iter()
        .map(|n| Session::new_account(&backend, &format!("{n}@example.net"), n))
        .collect();
    let f = Follower::start(
        &backend,
        &ppc,
        &dir.path().join("inbox.sqlite3"),
        &bus.address,
        Settings::default(),
        None,
    );
    f.wait_for_status(following, WITHIN);
    let notified = mock.watch_notify();
    let mut latencies = Vec::new();
    for person in &people {
        for org in &orgs {
            let started = Instant::now();
            person.ask_to_join(org, "Pat", "Park", &format!("pat.{}", person.email));
            let at = notified
                .recv_timeout(WITHIN)
                .expect("the Notify call comes");
            latencies.push(at.saturating_duration_since(started));
        }
    }
    assert_eq!(mock.count("Notify"), 21);
    latencies.sort();
    let pick = |p: f64| latencies[((p * latencies.len() as f64).ceil() as usize).saturating_sub(1)];
    let (p50, p95) = (pick(0.50), pick(0.95));
    println!(
        "notification latency, submission to Notify call, over {} requests: p50 = {:.1} ms, p95 = {:.1} ms, max = {:.1} ms",
        latencies.len(),
        p50.as_secs_f64() * 1e3,
        p95.as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3
    );
    assert!(
        p95 < Duration::from_secs(5),
        "a sanity bound, not a target: {p95:?}"
    );
}

/// The client's follow on its own, without the inbox's de-duplication to hide a repeat: across a
/// server restart every event arrives once, in order.
#[test]
fn the_event_stream_resumes_after_the_last_event_it_delivered() {
    use std::ops::ControlFlow;
    use std::sync::mpsc;

    let mut server = server();
    let backend = remote(&server);
    let ppc = Session::sign_in(&backend, PPC);
    let fabrikam = ppc.organisation("Fabrikam Consulting");
    let people: Vec<_> = ["nia", "oli", "pam", "quin"]
        .iter()
        .map(|n| Session::new_account(&backend, &format!("{n}@example.net"), n))
        .collect();
    let stop = client::Stop::new();
    let (tx, rx) = mpsc::channel();
    let follow = {
        let (backend, access, stop) = (backend.clone(), ppc.access(), stop.clone());
        std::thread::spawn(move || {
            backend.follow_events(&access, None, &stop, &mut |heard| {
                let _ = tx.send(heard);
                ControlFlow::Continue(())
            })
        })
    };
    let next_event = || loop {
        match rx.recv_timeout(WITHIN).expect("the follow reports") {
            client::Heard::Event(e) => return e,
            _ => continue,
        }
    };
    people[0].ask_to_join(&fabrikam, "Nia", "Ng", "nia@fabrikam.com");
    people[1].ask_to_join(&fabrikam, "Oli", "Ortiz", "oli@fabrikam.com");
    let mut ids = vec![next_event().id, next_event().id];

    let base = server.base().to_owned();
    server.kill();
    assert_eq!(server.restart(), base);
    people[2].ask_to_join(&fabrikam, "Pam", "Price", "pam@fabrikam.com");
    people[3].ask_to_join(&fabrikam, "Quin", "Quinn", "quin@fabrikam.com");
    ids.push(next_event().id);
    ids.push(next_event().id);
    // Anything more would be a repeat.
    let extra: Vec<_> = rx
        .try_iter()
        .chain(std::iter::from_fn(|| {
            rx.recv_timeout(Duration::from_millis(500)).ok()
        }))
        .filter_map(|h| match h {
            client::Heard::Event(e) => Some(e.id),
            _ => None,
        })
        .collect();
    assert!(extra.is_empty(), "repeated events: {extra:?}");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    stop.stop();
    let started = Instant::now();
    assert!(follow.join().unwrap().is_ok());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "a stop ends the follow at once"
    );
}

/// What a requester types reaches the approver's desktop as text: to a notification server that
/// reads markup in the body (`body-markup`), names, an address and a denial reason full of tags,
/// entities and quotes arrive escaped — no live tag, every character shown as typed — and the
/// summary holds only the app's own words.
#[test]
fn text_someone_typed_reaches_a_markup_reading_notification_server_as_text() {
    let bus = PrivateBus::start();
    let mock = Notifications::reading_markup(&bus);
    let server = server();
    let backend = remote(&server);
    let dir = tempfile::tempdir().unwrap();
    let ppc = Session::sign_in(&backend, PPC);
    let fabrikam = ppc.organisation("Fabrikam Consulting");
    let admin = Follower::start(
        &backend,
        &ppc,
        &dir.path().join("ppc.sqlite3"),
        &bus.address,
        Settings::default(),
        None,
    );
    admin.wait_for_status(following, WITHIN);

    let first = r#"<b>Eve</b> <a href="https://evil.invalid/x">click</a>"#;
    // A very long last name: exactly the 100 characters a name may have.
    let last = format!(
        "&amp; \"Q\" 'S' <img src=x onerror=alert(1)> {}",
        "W".repeat(100 - 43)
    );
    assert_eq!(last.chars().count(), 100);
    let email = "o'neil&co@fabrikam.com";
    let eve = Session::new_account(&backend, "eve@example.net", "Eve <i>Evil</i>");
    let asked = eve.ask_to_join(&fabrikam, first, &last, email);
    assert_eq!(asked.status, RequestStatus::PendingApproval);

    let call = mock.wait_for_notify(1, WITHIN).remove(0);
    assert_eq!(call.summary, "New request to associate");
    let typed = format!("{first} {last} ({email}) asked to associate with Fabrikam Consulting.");
    assert!(
        call.body.starts_with(&alerts::text::markup_escape(&typed)),
        "the body is the typed text, escaped: {}",
        call.body
    );
    for escaped in [
        "&lt;b&gt;Eve&lt;/b&gt; &lt;a href=\"https://evil.invalid/x\"&gt;click&lt;/a&gt;",
        "&amp;amp; \"Q\" 'S' &lt;img src=x onerror=alert(1)&gt;",
        "o'neil&amp;co@fabrikam.com",
    ] {
        assert!(call.body.contains(escaped), "{escaped:?} in {}", call.body);
    }
    assert!(
        !call.body.contains('<') && !call.body.contains('>'),
        "no tag can reach a markup-reading server: {}",
        call.body
    );
    // The inbox keeps the plain text; the window shows it as text.
    let entry = admin.wait_for_entries(1, WITHIN).remove(0);
    assert!(
        entry.notice.title.starts_with(first),
        "{}",
        entry.notice.title
    );

    // The requester hears the denial, with the reason the PPC typed, on the same server.
    let staff = Follower::start(
        &backend,
        &eve,
        &dir.path().join("eve.sqlite3"),
        &bus.address,
        Settings::default(),
        None,
    );
    staff.wait_for_status(following, WITHIN);
    let reason = r#"Use your <u>work</u> address & "try" again"#;
    backend
        .deny(&ppc.access(), &asked.request_id, reason)
        .expect("the PPC denies");
    let denied = wait_for(WITHIN, || {
        mock.notify_calls()
            .into_iter()
            .find(|c| c.summary == "Your request to associate was not accepted")
    })
    .expect("the requester is told");
    assert!(
        denied
            .body
            .contains("Reason: Use your &lt;u&gt;work&lt;/u&gt; address &amp; \"try\" again"),
        "{}",
        denied.body
    );
    assert!(!denied.body.contains('<'), "{}", denied.body);
}
