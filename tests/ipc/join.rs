use serde_json::json;

use crate::support::*;

#[test]
fn lookup_finds_organisations_by_name_partner_id_and_location_without_showing_domains() {
    let app = app();
    app.sign_in(STAFF);
    let org = app.contoso();
    let found = app.ok("organisation", json!({"org_id": org}));
    assert_eq!(found["name"], "Contoso Pty Ltd");
    let by_partner = app.ok(
        "lookup",
        json!({"query": {"partner_id": found["partner_id"]}}),
    );
    assert_eq!(by_partner["items"][0]["organisation_id"], org.as_str());
    let by_city = app.ok(
        "lookup",
        json!({"query": {"city": found["city"], "country": found["country"], "q": ""}}),
    );
    assert!(by_city["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["organisation_id"] == org.as_str()));
    assert!(
        found.get("domains").is_none(),
        "lookup never shows domains: {found}"
    );
    let e = app.refused("organisation", json!({"org_id": "no-such-organisation"}));
    assert_eq!(code(&e), "not_found");
}

#[test]
fn the_preview_says_why_before_the_request_is_sent() {
    let app = app();
    app.sign_in(STAFF);
    let org = app.contoso();
    let at_once = app.ok(
        "preview",
        json!({"org_id": org, "organisation_email": "sam@contoso.com"}),
    );
    assert_eq!(at_once["outcome"], "accepted");
    assert_eq!(at_once["matched_domain"], "contoso.com");
    let to_ppc = app.ok(
        "preview",
        json!({"org_id": org, "organisation_email": "sam@contoso.com.evil.test"}),
    );
    assert_eq!(to_ppc["outcome"], "pending_approval");
    assert!(!to_ppc["reason"].as_str().unwrap().is_empty());
    let bad = app.refused(
        "preview",
        json!({"org_id": org, "organisation_email": "not an address"}),
    );
    assert_eq!(code(&bad), "invalid_email");
}

#[test]
fn a_pre_approved_address_is_accepted_verified_from_the_mailbox_and_active() {
    let app = app();
    app.sign_in(STAFF);
    let org = app.contoso();
    let created = app.request_to_join(&org, "sam.staff@contoso.com");
    assert_eq!(created["status"], "accepted");
    assert_eq!(
        created["message"], ACCEPTED,
        "the guide's sentence, verbatim"
    );

    let request = app.ok(
        "association_request",
        json!({"request_id": created["request_id"]}),
    );
    assert_eq!(request["status"], "accepted");

    let mails = app.ok("my_mail", json!({}));
    let mail = &mails[0];
    assert_eq!(mail["to"], "sam.staff@contoso.com");
    let link = mail["link"]
        .as_str()
        .expect("the verification mail has its link");
    assert!(link.starts_with("partnerdesk://verify?token="), "{link}");

    let verified = app.ok("verify", json!({"input": link}));
    assert_eq!(verified["status"], "active");
    let me = app.ok("me", json!({}));
    assert!(me["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["membership_id"] == verified["membership_id"] && m["status"] == "active"));

    let again = app.refused("verify", json!({"input": link}));
    assert_eq!(code(&again), "token_used");
}

#[test]
fn the_code_in_the_mail_verifies_as_well_as_the_link() {
    let app = app();
    app.sign_in(STAFF);
    let org = app.contoso();
    app.request_to_join(&org, "sam.staff@contoso.com");
    let link = app.newest_link();
    let code_only = link.split("token=").nth(1).unwrap().to_owned();
    let verified = app.ok("verify", json!({"input": format!("  {code_only}\n")}));
    assert_eq!(verified["status"], "active");
}

#[test]
fn verification_refuses_junk_unknown_codes_and_other_accounts() {
    let app = app();
    app.sign_in(STAFF);
    assert_eq!(
        code(&app.refused(
            "verify",
            json!({"input": "https://evil.test/login?token=x"})
        )),
        "invalid_token"
    );
    assert_eq!(
        code(&app.refused(
            "verify",
            json!({"input": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"})
        )),
        "invalid_token"
    );

    let org = app.contoso();
    app.request_to_join(&org, "sam.staff@contoso.com");
    let link = app.newest_link();
    app.sign_in(PPC);
    let e = app.refused("verify", json!({"input": link}));
    assert_eq!(code(&e), "token_for_other_account");
}

#[test]
fn an_address_outside_the_domains_waits_for_the_ppc_who_accepts_it() {
    let app = app();
    app.sign_in(STAFF);
    let org = app.contoso();
    let created = app.request_to_join(&org, "sam@staff-contoso.net");
    assert_eq!(created["status"], "pending_approval");
    assert_eq!(
        created["message"], PENDING,
        "the guide's sentence, verbatim"
    );
    assert!(
        app.ok("my_mail", json!({}))
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["link"].is_null()),
        "no link before the PPC accepts"
    );
    let duplicate = app.refused(
        "request_association",
        json!({"request": {"organisation_id": org, "first_name": "Sam", "last_name": "Staff", "organisation_email": "sam@staff-contoso.net"}}),
    );
    assert_eq!(code(&duplicate), "request_open");

    app.sign_in(PPC);
    let queue = app.ok(
        "queue",
        json!({"org_id": org, "status": "pending_approval"}),
    );
    let item = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["request_id"] == created["request_id"])
        .expect("in the queue");
    assert_eq!(item["organisation_email"], "sam@staff-contoso.net");
    let approved = app.ok("approve", json!({"request_id": created["request_id"]}));
    assert_eq!(approved["status"], "accepted");

    app.sign_in(STAFF);
    let verified = app.ok("verify", json!({"input": app.newest_link()}));
    assert_eq!(verified["status"], "active");
}

#[test]
fn a_denial_reaches_the_requester_with_its_reason() {
    let app = app();
    app.sign_in(STAFF);
    let org = app.contoso();
    let created = app.request_to_join(&org, "sam@staff-contoso.net");
    app.sign_in(PPC);
    let denied = app.ok(
        "deny",
        json!({"request_id": created["request_id"], "reason": "Use your contoso.com address"}),
    );
    assert_eq!(denied["status"], "denied");

    app.sign_in(STAFF);
    let me = app.ok("me", json!({}));
    let mine = me["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["request_id"] == created["request_id"])
        .unwrap();
    assert_eq!(mine["status"], "denied");
    assert_eq!(mine["decision_reason"], "Use your contoso.com address");
    let again = app.refused(
        "request_association",
        json!({"request": {"organisation_id": org, "first_name": "Sam", "last_name": "Staff", "organisation_email": "sam@staff-contoso.net"}}),
    );
    assert_eq!(code(&again), "recently_denied");
}

#[test]
fn the_requester_withdraws_and_resends_but_not_within_the_cooldown() {
    let app = app();
    app.sign_in(STAFF);
    let org = app.contoso();
    let created = app.request_to_join(&org, "sam.staff@contoso.com");
    let first = app.newest_link();
    let e = app.refused(
        "resend_verification",
        json!({"request_id": created["request_id"]}),
    );
    assert_eq!(code(&e), "resend_cooldown");
    assert!(e["retry_after_secs"].as_u64().is_some(), "{e}");
    let withdrawn = app.ok("withdraw", json!({"request_id": created["request_id"]}));
    assert_eq!(withdrawn["status"], "withdrawn");
    assert_eq!(
        code(&app.refused("verify", json!({"input": first}))),
        "token_used"
    );
}

#[test]
fn creating_an_organisation_makes_the_creator_its_ppc() {
    let app = app();
    app.sign_in_as_new("founder@example.org", "Fran Founder");
    let created = app.ok(
        "create_organisation",
        json!({"organisation": {"name": "Tailspin Toys", "country": "Australia", "city": "Perth", "address": "", "phone": "", "website": ""}}),
    );
    let me = app.ok("me", json!({}));
    let m = &me["memberships"][0];
    assert_eq!(
        m["organisation"]["organisation_id"],
        created["organisation_id"]
    );
    assert!(m["roles"].as_array().unwrap().contains(&json!("ppc")));
    let bad = app.refused(
        "create_organisation",
        json!({"organisation": {"name": "", "country": "Australia", "city": "Perth"}}),
    );
    assert_eq!(code(&bad), "invalid_organisation_name");
}

#[test]
fn events_tell_the_ppc_about_new_requests() {
    let app = app();
    app.sign_in(STAFF);
    let org = app.contoso();
    app.request_to_join(&org, "sam@staff-contoso.net");
    app.sign_in(PPC);
    let events = app.ok("events", json!({"after": null, "limit": 50}));
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "association_request.created"),
        "{events}"
    );
}
