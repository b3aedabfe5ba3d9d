//! The Membership Centre commands: allowed for the PPC, refused for everyone else.
use serde_json::{json, Value};

use crate::support::*;

#[test]
fn the_ppc_adds_tests_and_removes_email_domains() {
    let app = app();
    app.sign_in(PPC);
    let org = app.contoso();
    let before = app.ok("domains", json!({"org_id": org}));
    assert!(
        before
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["domain"] == "contoso.com"),
        "{before}"
    );

    let added = app.ok(
        "add_domain",
        json!({"org_id": org, "domain": "Contoso.COM.au.", "include_subdomains": true}),
    );
    assert_eq!(
        added["domain"], "contoso.com.au",
        "stored in canonical form"
    );
    assert_eq!(added["include_subdomains"], true);
    assert_eq!(
        added["status"], "pending",
        "unproven until its record is seen"
    );
    assert_eq!(
        added["record"]["name"], "_partner-desk-challenge.contoso.com.au",
        "{added}"
    );
    assert_eq!(added["record"]["type"], "TXT");

    // The policy tester says a pending domain does not accept at once yet, and why.
    let tested = app.ok(
        "test_policy",
        json!({"org_id": org, "address": "kim@sales.contoso.com.au"}),
    );
    assert_eq!(tested["outcome"], "pending_approval");
    assert_eq!(tested["matched_domain"], "contoso.com.au");
    assert_eq!(tested["matched_domain_status"], "pending");
    assert!(
        tested["reason"].as_str().unwrap().contains("not proven"),
        "{tested}"
    );
    let proven = app.ok(
        "test_policy",
        json!({"org_id": org, "address": "kim@sales.contoso.com"}),
    );
    assert_eq!(
        proven["outcome"], "accepted",
        "the demo's contoso.com is verified"
    );
    assert_eq!(proven["matched_domain_status"], "verified");
    let lookalike = app.ok(
        "test_policy",
        json!({"org_id": org, "address": "kim@evilcontoso.com"}),
    );
    assert_eq!(lookalike["outcome"], "pending_approval");

    for (domain, expected) in [
        ("gmail.com", "freemail_domain"),
        ("co.uk", "public_suffix"),
        ("not a domain", "invalid_domain"),
    ] {
        let e = app.refused(
            "add_domain",
            json!({"org_id": org, "domain": domain, "include_subdomains": false}),
        );
        assert_eq!(code(&e), expected, "{domain}: {e}");
    }

    app.ok(
        "remove_domain",
        json!({"org_id": org, "domain": "contoso.com.au"}),
    );
    let after = app.ok("domains", json!({"org_id": org}));
    assert!(
        after
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["domain"] != "contoso.com.au"),
        "{after}"
    );
}

#[test]
fn a_member_who_is_not_an_admin_is_refused_every_membership_centre_command() {
    let app = app();
    let membership = app.staff_member_of_contoso();
    let org = app.contoso();
    let calls: Vec<(&str, Value)> = vec![
        ("domains", json!({"org_id": org})),
        (
            "add_domain",
            json!({"org_id": org, "domain": "contoso.net", "include_subdomains": false}),
        ),
        (
            "remove_domain",
            json!({"org_id": org, "domain": "contoso.com"}),
        ),
        (
            "test_policy",
            json!({"org_id": org, "address": "a@contoso.com"}),
        ),
        (
            "queue",
            json!({"org_id": org, "status": "pending_approval"}),
        ),
        (
            "invite",
            json!({"org_id": org, "emails": ["x@contoso.com"]}),
        ),
        ("members", json!({"org_id": org})),
        ("privilege_requests", json!({"org_id": org})),
        ("audit", json!({"org_id": org})),
        (
            "grant_privilege",
            json!({"membership_id": membership, "privilege": "global_admin"}),
        ),
        (
            "revoke_privilege",
            json!({"membership_id": membership, "privilege": "action_pack"}),
        ),
    ];
    for (cmd, args) in calls {
        let e = app.refused(cmd, args);
        assert!(
            matches!(code(&e), "forbidden" | "not_found"),
            "{cmd} must be refused as not allowed: {e}"
        );
    }
    // The domains are still as they were.
    app.sign_in(PPC);
    assert!(app
        .ok("domains", json!({"org_id": org}))
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["domain"] == "contoso.com"));
}

#[test]
fn only_an_admin_of_the_organisation_decides_its_requests() {
    let app = app();
    app.sign_in(STAFF);
    let org = app.contoso();
    let created = app.request_to_join(&org, "sam@staff-contoso.net");
    let id = created["request_id"].clone();
    for (cmd, args) in [
        ("approve", json!({"request_id": id})),
        ("deny", json!({"request_id": id, "reason": "no"})),
    ] {
        let e = app.refused(cmd, args);
        assert!(matches!(code(&e), "forbidden" | "not_found"), "{cmd}: {e}");
    }
    // Another organisation's PPC cannot decide it either.
    app.sign_in_as_new("other@example.org", "Other Founder");
    app.ok(
        "create_organisation",
        json!({"organisation": {"name": "Other Co", "country": "Australia", "city": "Hobart"}}),
    );
    let e = app.refused("approve", json!({"request_id": id}));
    assert!(matches!(code(&e), "forbidden" | "not_found"), "{e}");
    assert!(matches!(
        code(&app.refused("queue", json!({"org_id": org}))),
        "forbidden"
    ));
}

#[test]
fn the_queue_filters_by_status_and_refuses_unknown_ones() {
    let app = app();
    app.sign_in(STAFF);
    let org = app.contoso();
    app.request_to_join(&org, "sam@staff-contoso.net");
    app.sign_in(PPC);
    let pending = app.ok(
        "queue",
        json!({"org_id": org, "status": "pending_approval", "page": {"limit": 5}}),
    );
    assert_eq!(pending["items"].as_array().unwrap().len(), 1);
    let all = app.ok("queue", json!({"org_id": org, "status": null}));
    assert!(!all["items"].as_array().unwrap().is_empty());
    assert_eq!(
        code(&app.refused("queue", json!({"org_id": org, "status": "maybe"}))),
        "invalid_status"
    );
}

#[test]
fn the_ppc_invites_several_people_at_once_and_each_address_gets_an_answer() {
    let app = app();
    app.sign_in(PPC);
    let org = app.contoso();
    let results = app.ok("invite", json!({"org_id": org, "emails": ["kim@contoso.com", " ", "not-an-address", "lee@contoso.com"]}));
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), 3, "blank lines are skipped: {results:?}");
    assert_eq!(results[0]["status"], "invited");
    assert_eq!(results[1]["status"], "invalid_email");
}

#[test]
fn the_ppc_grants_and_revokes_privileges_and_sees_requests_for_them() {
    let app = app();
    let membership = app.staff_member_of_contoso();
    let asked = app.ok("request_privilege", json!({"membership_id": membership, "privilege": "action_pack", "note": "for our demo lab"}));
    assert_eq!(asked["privilege"], "action_pack");
    let bad = app.refused(
        "request_privilege",
        json!({"membership_id": membership, "privilege": "root", "note": null}),
    );
    assert_eq!(code(&bad), "invalid_privilege");

    app.sign_in(PPC);
    let org = app.contoso();
    let requests = app.ok("privilege_requests", json!({"org_id": org}));
    assert!(requests
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["membership_id"] == membership.as_str() && r["note"] == "for our demo lab"));

    let member = app.ok(
        "grant_privilege",
        json!({"membership_id": membership, "privilege": "action_pack"}),
    );
    assert!(member["privileges"]
        .as_array()
        .unwrap()
        .contains(&json!("action_pack")));
    let members = app.ok("members", json!({"org_id": org, "page": null}));
    let row = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["membership_id"] == membership.as_str())
        .unwrap();
    assert!(row["privileges"]
        .as_array()
        .unwrap()
        .contains(&json!("action_pack")));
    app.ok(
        "revoke_privilege",
        json!({"membership_id": membership, "privilege": "action_pack"}),
    );

    let audit = app.ok("audit", json!({"org_id": org, "page": {"limit": 50}}));
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.len() >= 3, "{actions:?}");
}

#[test]
fn the_ppc_removes_a_member_and_cannot_remove_the_last_approver() {
    let app = app();
    let membership = app.staff_member_of_contoso();
    app.sign_in(PPC);
    let org = app.contoso();
    app.ok("remove_member", json!({"membership_id": membership}));
    let members = app.ok("members", json!({"org_id": org}));
    assert!(members["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["membership_id"] != membership.as_str() || m["status"] == "removed"));
    let me = app.ok("me", json!({}));
    let own = me["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["organisation"]["organisation_id"] == org.as_str())
        .unwrap();
    let e = app.refused(
        "remove_member",
        json!({"membership_id": own["membership_id"]}),
    );
    assert_eq!(code(&e), "last_approver");
}

#[test]
fn the_ppc_names_a_delegate_decides_in_bulk_and_offers_the_role_through_the_window_commands() {
    let app = app();
    let sam = app.staff_member_of_contoso();
    let org = app.contoso();
    // Two requests from outside the pre-approved domains wait for the PPC.
    let mut ids = Vec::new();
    for n in 0..2 {
        app.sign_in_as_new(&format!("w{n}@example.org"), "Will Wait");
        ids.push(
            app.request_to_join(&org, &format!("w{n}@elsewhere-partner.net"))["request_id"].clone(),
        );
    }

    app.sign_in(PPC);
    assert_eq!(
        app.ok("delegation", json!({"org_id": org})),
        Value::Null,
        "none yet"
    );
    let now = time::OffsetDateTime::now_utc();
    let rfc = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let bad = app.refused(
        "set_delegation",
        json!({"org_id": org, "delegate_membership_id": sam, "starts_at": "3 March", "ends_at": rfc(now)}),
    );
    assert_eq!(code(&bad), "invalid_period");
    let d = app.ok(
        "set_delegation",
        json!({"org_id": org, "delegate_membership_id": sam,
               "starts_at": rfc(now - time::Duration::minutes(1)), "ends_at": rfc(now + time::Duration::days(7))}),
    );
    assert_eq!(d["active"], true, "{d}");
    assert_eq!(
        app.ok("delegation", json!({"org_id": org}))["delegate_membership_id"],
        sam
    );

    // The delegate decides both at once, one reason for all.
    app.sign_in(STAFF);
    let me = app.ok("me", json!({}));
    assert!(
        me["memberships"][0]["roles"]
            .as_array()
            .unwrap()
            .contains(&json!("delegate")),
        "{me}"
    );
    let results = app.ok(
        "decide_requests",
        json!({"org_id": org, "request_ids": ids, "approve": false, "reason": "Not one of ours"}),
    );
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert!(
        results
            .iter()
            .all(|r| r["status"] == "denied" && r["error"].is_null()),
        "{results:?}"
    );
    let again = app.ok(
        "decide_requests",
        json!({"org_id": org, "request_ids": ids, "approve": true}),
    );
    assert_eq!(
        again[0]["error"]["code"], "not_pending",
        "already decided: {again}"
    );

    // The PPC ends it and offers the role; Sam accepts it from Home.
    app.sign_in(PPC);
    app.ok("end_delegation", json!({"org_id": org}));
    assert_eq!(app.ok("delegation", json!({"org_id": org})), Value::Null);
    let offer = app.ok(
        "offer_handover",
        json!({"org_id": org, "to_membership_id": sam}),
    );
    assert_eq!(offer["status"], "offered");
    app.sign_in(STAFF);
    let me = app.ok("me", json!({}));
    assert_eq!(me["handovers"][0]["handover_id"], offer["handover_id"]);
    let taken = app.ok(
        "accept_handover",
        json!({"handover_id": offer["handover_id"]}),
    );
    assert_eq!(taken["status"], "accepted");
    let me = app.ok("me", json!({}));
    assert!(
        me["memberships"][0]["roles"]
            .as_array()
            .unwrap()
            .contains(&json!("ppc")),
        "{me}"
    );
    let closed = app.refused(
        "decline_handover",
        json!({"handover_id": offer["handover_id"]}),
    );
    assert_eq!(code(&closed), "handover_closed");
}
