//! The inbox commands and the follower behind them, on the embedded backend: a request made by
//! another client reaches the PPC's inbox while they are signed in, Approve and Deny act on it,
//! the requester hears the decision, nothing appears twice after signing out and in, and the
//! notification settings round-trip and apply at once.
use std::time::{Duration, Instant};

use client::{Backend, Embedded};
use membership::{NewAssociationRequest, Secret};
use partner_desk::notifications::Notifications;
use serde_json::{json, Value};
use tauri::Manager;

use crate::support::*;

/// Long enough for the embedded backend's poll for writes made elsewhere (every 2 s) on a loaded
/// machine; a passing run takes a fraction of it.
const WITHIN: Duration = Duration::from_secs(20);

/// Another client of the app's own database, as a second Partner Desk on this computer would be:
/// the app hears its writes by polling, not through its own change signal.
fn second_client(app: &TestApp) -> Embedded {
    Embedded::open(
        &app.dir.path().join("membership.sqlite3"),
        membership::Config::default(),
    )
    .expect("a second client opens the app's database")
}

/// Asks the inbox until `found` picks something out of it.
#[track_caller]
fn wait_for<T>(app: &TestApp, found: impl Fn(&Value) -> Option<T>) -> T {
    let deadline = Instant::now() + WITHIN;
    loop {
        let view = app.ok("inbox", json!({}));
        if let Some(t) = found(&view) {
            return t;
        }
        assert!(
            Instant::now() < deadline,
            "not in the inbox within {WITHIN:?}: {view:#}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn entries(view: &Value) -> &Vec<Value> {
    view["entries"].as_array().expect("entries is a list")
}

/// The entry about request `request_id`.
fn about(view: &Value, request_id: &str) -> Option<Value> {
    entries(view)
        .iter()
        .find(|e| e["notice"]["target"]["request_id"] == request_id)
        .cloned()
}

fn labels(entry: &Value) -> Vec<&str> {
    entry["buttons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["label"].as_str().unwrap())
        .collect()
}

fn ask_to_join(client: &Embedded, email: &str, name: &str, org: &str, address: &str) -> String {
    client
        .create_account(email, name, &Secret::new(DEMO_PASSWORD))
        .expect("a new account");
    let tokens = client
        .sign_in(email, &Secret::new(DEMO_PASSWORD))
        .expect("the new account signs in");
    let (first, last) = name.split_once(' ').unwrap();
    let created = client
        .request_association(
            &tokens.access_token,
            &NewAssociationRequest {
                organisation_id: org.to_owned(),
                first_name: first.to_owned(),
                last_name: last.to_owned(),
                organisation_email: address.to_owned(),
                phone: None,
                job_title: None,
            },
        )
        .expect("the request is made");
    assert_eq!(created.status.as_str(), "pending_approval");
    created.request_id
}

#[test]
fn a_request_made_elsewhere_reaches_the_ppcs_inbox_and_is_approved_from_it() {
    let app = app();
    app.sign_in(PPC);
    let org = app.contoso();
    let before = app.ok("inbox", json!({}));
    assert_eq!(
        before["badge"],
        json!({"unread": 0, "pending": 0}),
        "{before}"
    );

    let other = second_client(&app);
    let request = ask_to_join(
        &other,
        "ada@example.net",
        "Ada Lovelace",
        &org,
        "ada@lovelace-contoso.net",
    );

    let (view, entry) = wait_for(&app, |v| about(v, &request).map(|e| (v.clone(), e)));
    assert_eq!(
        entry["notice"]["title"],
        "Ada Lovelace asks to associate with Contoso Pty Ltd"
    );
    let body = entry["notice"]["body"].as_str().unwrap();
    assert!(
        body.contains("Ada Lovelace (ada@lovelace-contoso.net)"),
        "{body}"
    );
    assert_eq!(entry["pending"], true);
    assert_eq!(entry["read"], false);
    assert_eq!(labels(&entry), ["Approve", "Deny", "Open"]);
    assert_eq!(view["badge"], json!({"unread": 1, "pending": 1}));

    let id = entry["notice"]["id"].clone();
    let sentence = app.ok("inbox_act", json!({"id": id, "action": "approve"}));
    assert_eq!(
        sentence,
        "The request from Ada Lovelace was accepted. A verification email went to ada@lovelace-contoso.net."
    );
    let decided = app.ok("association_request", json!({"request_id": request}));
    assert_eq!(decided["status"], "accepted", "{decided}");

    let after = app.ok("inbox", json!({}));
    let entry = about(&after, &request).unwrap();
    assert_eq!(entry["pending"], false);
    assert_eq!(entry["outcome"], sentence);
    assert_eq!(labels(&entry), ["Open"], "nothing left to decide");
    assert_eq!(after["badge"], json!({"unread": 0, "pending": 0}));

    // Refusals are a code and a sentence.
    let again = app.refused("inbox_act", json!({"id": id, "action": "deny"}));
    assert_eq!(code(&again), "already_settled", "{again}");
    let gone = app.refused("inbox_act", json!({"id": 987_654_321, "action": "approve"}));
    assert_eq!(code(&gone), "notice_not_found", "{gone}");

    // Decided elsewhere (in the Membership Centre): the inbox says so and offers no Approve.
    let second = ask_to_join(
        &other,
        "bob@example.net",
        "Bob Babbage",
        &org,
        "bob@babbage-contoso.net",
    );
    let entry = wait_for(&app, |v| about(v, &second));
    app.ok("approve", json!({"request_id": second}));
    let view = app.ok("inbox", json!({}));
    let settled = about(&view, &second).unwrap();
    assert_eq!(settled["pending"], false, "{settled}");
    assert_eq!(
        settled["outcome"],
        "Dealt with elsewhere: the request is now accepted."
    );
    let late = app.refused(
        "inbox_act",
        json!({"id": entry["notice"]["id"], "action": "approve"}),
    );
    assert_eq!(code(&late), "already_settled", "{late}");
}

#[test]
fn nothing_appears_twice_after_signing_out_and_in_and_the_requester_hears_the_decision() {
    let app = app();
    // The PPC's follower starts, and has read past the demo data, before the request is made.
    app.sign_in(PPC);
    let org = app.contoso();
    app.ok("inbox", json!({}));
    app.sign_in(STAFF);
    let created = app.request_to_join(&org, "sam@staff-contoso.net");
    assert_eq!(created["status"], "pending_approval");
    let request = created["request_id"].as_str().unwrap().to_owned();

    // Back as the PPC: the follower resumes after what it had read and finds the request.
    app.sign_in(PPC);
    let entry = wait_for(&app, |v| about(v, &request));
    assert_eq!(
        entry["notice"]["title"],
        "Sam Staff asks to associate with Contoso Pty Ltd"
    );
    let sentence = app.ok(
        "inbox_act",
        json!({"id": entry["notice"]["id"], "action": "deny"}),
    );
    assert_eq!(
        sentence,
        "The request from Sam Staff was denied. They will see your reason."
    );
    let seen = app.ok("inbox", json!({}));

    for _ in 0..2 {
        app.ok("sign_out", json!({}));
        app.refused("inbox", json!({}));
        app.sign_in(PPC);
        // Once following again, anything it would add has been added.
        wait_for(&app, |v| {
            (v["status"]["state"] == "following").then_some(())
        });
        std::thread::sleep(Duration::from_millis(300));
        let view = app.ok("inbox", json!({}));
        assert_eq!(
            view["entries"], seen["entries"],
            "the same notices, once each"
        );
    }
    let ids: Vec<i64> = entries(&seen)
        .iter()
        .map(|e| e["notice"]["id"].as_i64().unwrap())
        .collect();
    let unique: std::collections::HashSet<i64> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len(), "{ids:?}");

    // The requester is told, with only Open to choose.
    app.sign_in(STAFF);
    let told = wait_for(&app, |v| {
        entries(v)
            .iter()
            .find(|e| e["notice"]["kind"] == "association_request.decided")
            .cloned()
    });
    assert_eq!(
        told["notice"]["title"],
        "Your request to associate with Contoso Pty Ltd was not accepted"
    );
    assert!(
        told["notice"]["body"]
            .as_str()
            .unwrap()
            .contains(alerts::DEFAULT_DENY_REASON),
        "{told}"
    );
    assert_eq!(labels(&told), ["Open"]);
    let badge = app.ok("inbox_mark_read", json!({"id": told["notice"]["id"]}));
    assert_eq!(badge["unread"], 0, "{badge}");
}

#[test]
fn notification_settings_round_trip_and_apply_to_the_follower_at_once() {
    let app = app();
    app.sign_in(PPC);
    let notifications = app.handle().state::<Notifications>();
    let view = app.ok("settings", json!({}));
    assert_eq!(
        view["settings"]["alerts"],
        json!({"notifications": true, "quiet_hours": null}),
        "on, with no quiet hours, by default"
    );
    assert_eq!(
        notifications.running_settings(),
        Some(alerts::Settings::default())
    );

    let mut settings = view["settings"].clone();
    let quiet = json!({"notifications": false, "quiet_hours": {"start": "22:00", "end": "07:00"}});
    settings["alerts"] = quiet.clone();
    let saved = app.ok("save_settings", json!({"settings": settings}));
    assert_eq!(saved["settings"]["alerts"], quiet);
    assert_eq!(app.ok("settings", json!({}))["settings"]["alerts"], quiet);
    let on_disk: Value = serde_json::from_str(
        &std::fs::read_to_string(app.dir.path().join("settings.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(on_disk["alerts"], quiet, "kept for the next start");
    let applied = notifications.running_settings().expect("a follower runs");
    assert!(!applied.notifications);
    let hours = applied.quiet_hours.expect("quiet hours");
    assert_eq!(
        (hours.start.to_string(), hours.end.to_string()),
        ("22:00".into(), "07:00".into())
    );

    // A time of day that does not exist is refused before anything is saved.
    settings["alerts"] =
        json!({"notifications": true, "quiet_hours": {"start": "24:00", "end": "07:00"}});
    let refused = app
        .call("save_settings", json!({"settings": settings}))
        .expect_err("24:00 is not a time of day");
    assert!(refused.to_string().contains("such as 22:00"), "{refused}");
    assert_eq!(app.ok("settings", json!({}))["settings"]["alerts"], quiet);

    // The next follower (after signing out and in) starts with them too.
    app.ok("sign_out", json!({}));
    assert_eq!(notifications.running_settings(), None);
    app.sign_in(PPC);
    assert_eq!(notifications.running_settings(), Some(applied));
}

#[test]
fn signed_out_every_inbox_command_is_refused_with_a_sentence() {
    let app = app();
    for (cmd, args) in [
        ("inbox", json!({})),
        ("inbox_act", json!({"id": 1, "action": "approve"})),
        ("inbox_mark_read", json!({"id": 1})),
        ("inbox_mark_all_read", json!({})),
    ] {
        let e = app.refused(cmd, args);
        assert_eq!(code(&e), "unauthenticated", "{cmd}: {e}");
    }
    // An action the inbox does not know is refused by the arguments' type.
    app.sign_in(PPC);
    let e = app
        .call("inbox_act", json!({"id": 1, "action": "delete"}))
        .expect_err("no such action");
    assert!(e.to_string().contains("delete"), "{e}");
}
