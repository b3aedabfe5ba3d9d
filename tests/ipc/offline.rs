//! Offline profile editing through the app's commands, against the real server binary: edits made
//! while the server is down are kept on this computer and synced once it is back; the same field
//! changed on the server meanwhile goes to the resolver; *Work offline* keeps edits here.
use serde_json::{json, Value};
use testkit::TestServer;

use crate::support::*;

fn use_server(app: &TestApp, server: &TestServer) {
    let saved = app.ok(
        "save_settings",
        json!({"settings": {"backend": "remote", "remote_url": server.base(), "help_contacts": []}}),
    );
    assert_eq!(saved["active_backend"], "remote", "{saved}");
}

/// An app on `server`, signed in as the PPC, and the PPC's active membership.
fn ppc_on(server: &TestServer) -> (TestApp, String) {
    let app = app();
    use_server(&app, server);
    app.sign_in(PPC);
    let me = app.ok("me", json!({}));
    let membership = me["memberships"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["status"] == "active"))
        .and_then(|m| m["membership_id"].as_str())
        .unwrap_or_else(|| panic!("the demo PPC has an active membership: {me}"))
        .to_owned();
    // Opened once while connected, so this computer has a copy to edit offline.
    app.ok("profile", json!({"membership_id": membership}));
    (app, membership)
}

fn save(app: &TestApp, membership: &str, patch: Value) -> Value {
    let shown = app.ok("profile", json!({"membership_id": membership}));
    app.ok(
        "update_profile",
        json!({"membership_id": membership, "revision": shown["revision"], "patch": patch}),
    )
}

#[test]
fn an_edit_made_while_the_server_is_down_is_kept_here_and_synced_when_it_is_back() {
    let mut server = TestServer::start();
    let (app, membership) = ppc_on(&server);
    let before = app.ok("profile", json!({"membership_id": membership}));
    assert_eq!(before["unsynced"], 0, "{before}");

    server.kill();
    let saved = app.ok(
        "update_profile",
        json!({"membership_id": membership, "revision": before["revision"], "patch": {"job_title": "Engineer on a train"}}),
    );
    assert_eq!(saved["job_title"], "Engineer on a train", "{saved}");
    assert_eq!(saved["saved_offline"], true, "{saved}");
    assert_eq!(saved["unsynced"], 1, "{saved}");
    let status = app.ok("sync_status", json!({}));
    assert_eq!(status["connection"], "offline", "{status}");
    assert_eq!(status["unsynced"], 1, "{status}");
    let invalid = app.refused(
        "update_profile",
        json!({"membership_id": membership, "revision": before["revision"], "patch": {"preferred_language": "English please"}}),
    );
    assert_eq!(
        code(&invalid),
        "invalid_language",
        "checked here as the server would: {invalid}"
    );
    let offline_view = app.ok("profile", json!({"membership_id": membership}));
    assert_eq!(
        offline_view["job_title"], "Engineer on a train",
        "served from this computer's copy: {offline_view}"
    );

    let base = server.base().to_owned();
    assert_eq!(
        server.restart(),
        base,
        "the server came back at the same address (the edit belongs to that server)"
    );
    let report = app.ok("sync_now", json!({}));
    assert_eq!(report["outcome"]["kind"], "done", "{report}");
    let status = app.ok("sync_status", json!({}));
    assert_eq!(status["connection"], "online", "{status}");
    assert_eq!(status["unsynced"], 0, "{status}");
    assert!(app
        .ok("unsynced_edits", json!({}))
        .as_array()
        .unwrap()
        .is_empty());

    // Another computer signed in to the same account sees it on the server.
    let (other, _) = ppc_on(&server);
    let on_server = other.ok("profile", json!({"membership_id": membership}));
    assert_eq!(on_server["job_title"], "Engineer on a train", "{on_server}");
    assert!(
        on_server["revision"].as_u64() > before["revision"].as_u64(),
        "{on_server}"
    );
}

#[test]
fn work_offline_keeps_edits_here_and_a_field_changed_on_both_sides_is_resolved_by_the_person() {
    let server = TestServer::start();
    let (app, membership) = ppc_on(&server);
    let (other, _) = ppc_on(&server);

    let status = app.ok("set_work_offline", json!({"offline": true}));
    assert_eq!(status["connection"], "working_offline", "{status}");
    let saved = save(
        &app,
        &membership,
        json!({"job_title": "Title from the laptop", "phone": "+61 2 9000 1234"}),
    );
    assert_eq!(saved["saved_offline"], true, "{saved}");
    let report = app.ok("sync_now", json!({}));
    assert_eq!(report["outcome"]["kind"], "working_offline", "{report}");
    let later = app.ok("sync_status", json!({}));
    assert_eq!(later["unsynced"], 1, "{later}");
    // Numbered, so the page keeps the newest of answers and events that cross on the way.
    let (first, then) = (status["seq"].as_u64(), later["seq"].as_u64());
    assert!(
        matches!((first, then), (Some(a), Some(b)) if b > a),
        "each status reading has a larger number than the one before: {status} then {later}"
    );
    let elsewhere = save(
        &other,
        &membership,
        json!({"job_title": "Title from the office"}),
    );
    assert_eq!(elsewhere["unsynced"], 0, "{elsewhere}");
    assert_ne!(
        elsewhere["phone"], "+61 2 9000 1234",
        "nothing of the laptop's edit reached the server while it worked offline: {elsewhere}"
    );

    app.ok("set_work_offline", json!({"offline": false}));
    let report = app.ok("sync_now", json!({}));
    assert_eq!(report["outcome"]["kind"], "done", "{report}");
    let conflicts = app.ok("conflicts", json!({}));
    let list = conflicts.as_array().unwrap();
    assert_eq!(list.len(), 1, "{conflicts}");
    let fields = list[0]["fields"].as_array().unwrap();
    assert_eq!(
        fields.len(),
        1,
        "only the field changed on both sides: {conflicts}"
    );
    assert_eq!(fields[0]["field"], "job_title");
    assert_eq!(fields[0]["local"], "Title from the laptop");
    assert_eq!(fields[0]["remote"], "Title from the office");
    let status = app.ok("sync_status", json!({}));
    assert_eq!(status["counts"]["conflicts"], 1, "{status}");

    let edit = list[0]["edit"].clone();
    let missing = app.refused("resolve_conflict", json!({"edit_id": edit, "choices": []}));
    assert_eq!(code(&missing), "conflict_unresolved", "{missing}");
    app.ok(
        "resolve_conflict",
        json!({"edit_id": edit, "choices": [{"field": "job_title", "keep": "value", "value": "Title we agreed"}]}),
    );
    let status = app.ok("sync_status", json!({}));
    assert_eq!(status["unsynced"], 0, "{status}");
    let on_server = other.ok("profile", json!({"membership_id": membership}));
    assert_eq!(on_server["job_title"], "Title we agreed", "{on_server}");
    assert_eq!(
        on_server["phone"], "+61 2 9000 1234",
        "the field changed on one side only merged without asking: {on_server}"
    );
}
