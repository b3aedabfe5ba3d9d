//! The app against the real server binary on a loopback port: the settings screen points it at
//! the server, and the guide's journey runs through the same commands as on the embedded backend.
use serde_json::json;
use testkit::TestServer;

use crate::support::*;

fn use_server(app: &TestApp, server: &TestServer) {
    let saved = app.ok(
        "save_settings",
        json!({"settings": {"backend": "remote", "remote_url": server.base(), "help_contacts": []}}),
    );
    assert_eq!(saved["active_backend"], "remote", "{saved}");
    let status = app.ok("backend_status", json!({}));
    assert_eq!(status["reachable"], true, "{status}");
}

#[test]
fn the_guides_journey_runs_against_the_server() {
    let server = TestServer::start();
    let app = app();
    use_server(&app, &server);

    // A new staff member joins Contoso with a pre-approved address: accepted at once, and the
    // verification mail goes out over SMTP (not to the embedded Mailbox).
    app.sign_in_as_new("kim@example.net", "Kim Staff");
    let org = app.contoso();
    let created = app.request_to_join(&org, "kim.staff@contoso.com");
    assert_eq!(created["status"], "accepted");
    assert_eq!(created["message"], ACCEPTED);
    assert!(
        app.ok("my_mail", json!({})).is_null(),
        "a server's mail goes to real inboxes"
    );
    let mail = server.mail.wait_for("kim.staff@contoso.com", 1);
    let link = mail[0]
        .body
        .split_whitespace()
        .find(|w| w.starts_with("partnerdesk://verify?token="))
        .expect("the mail carries the app link")
        .to_owned();
    let verified = app.ok("verify", json!({"input": link}));
    assert_eq!(verified["status"], "active");
    let membership = verified["membership_id"].as_str().unwrap().to_owned();

    let profile = app.ok("profile", json!({"membership_id": membership}));
    let updated = app.ok(
        "update_profile",
        json!({"membership_id": membership, "revision": profile["revision"], "patch": {"job_title": "Engineer"}}),
    );
    assert_eq!(updated["job_title"], "Engineer");
    let stale = app.refused(
        "update_profile",
        json!({"membership_id": membership, "revision": profile["revision"], "patch": {"job_title": "Lead"}}),
    );
    assert_eq!(code(&stale), "revision_mismatch");
    assert_eq!(stale["current"]["job_title"], "Engineer", "{stale}");

    // The PPC sees the new member and the audit history on the server.
    app.sign_in(PPC);
    let members = app.ok("members", json!({"org_id": org}));
    assert!(
        members["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["membership_id"] == membership.as_str()),
        "{members}"
    );
}

#[test]
fn a_server_that_stops_answering_is_said_in_words_and_sessions_survive_it() {
    let mut server = TestServer::start();
    let app = app();
    use_server(&app, &server);
    app.sign_in(PPC);
    server.kill();
    let status = app.ok("backend_status", json!({}));
    assert_eq!(status["reachable"], false);
    let e = app.refused("events", json!({"after": null, "limit": 50}));
    assert_eq!(code(&e), "backend_unreachable", "{e}");
    // Home still opens: the memberships kept on this computer, marked as such.
    let me = app.ok("me", json!({}));
    assert_eq!(me["offline"], true, "{me}");
    assert_eq!(me["account"]["email"], PPC, "{me}");
    assert_eq!(
        app.ok("session", json!({}))["email"],
        PPC,
        "not answering is not signing out"
    );
    server.restart();
    if server.base() != app.ok("settings", json!({}))["settings"]["remote_url"] {
        use_server(&app, &server);
        app.sign_in(PPC);
    }
    let me = app.ok("me", json!({}));
    assert_eq!(me["account"]["email"], PPC, "{me}");
    assert_eq!(me["offline"], false, "{me}");
}
