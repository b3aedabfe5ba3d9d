use serde_json::json;

use crate::support::*;

#[test]
fn the_member_completes_the_profile_and_a_stale_edit_gets_the_current_profile_back() {
    let app = app();
    let membership = app.staff_member_of_contoso();
    let profile = app.ok("profile", json!({"membership_id": membership}));
    assert_eq!(profile["first_name"], "Sam");
    let revision = profile["revision"].as_u64().unwrap();

    let saved = app.ok(
        "update_profile",
        json!({"membership_id": membership, "revision": revision, "patch": {"job_title": "Architect", "preferred_language": "en-AU"}}),
    );
    assert_eq!(saved["job_title"], "Architect");
    assert!(saved["revision"].as_u64().unwrap() > revision);

    let stale = app.refused("update_profile", json!({"membership_id": membership, "revision": revision, "patch": {"phone": "+61 2 9000 0000"}}));
    assert_eq!(code(&stale), "revision_mismatch");
    assert_eq!(
        stale["current"]["job_title"], "Architect",
        "the current profile comes with the refusal: {stale}"
    );

    let invalid = app.refused("update_profile", json!({"membership_id": membership, "revision": saved["revision"], "patch": {"preferred_language": "English please"}}));
    assert_eq!(code(&invalid), "invalid_language");
}

#[test]
fn someone_else_cannot_read_or_change_a_members_profile() {
    let app = app();
    let membership = app.staff_member_of_contoso();
    app.sign_in_as_new("stranger@example.org", "Stranger Danger");
    let e = app.refused("profile", json!({"membership_id": membership}));
    assert_eq!(code(&e), "not_found");
    let e = app.refused(
        "update_profile",
        json!({"membership_id": membership, "revision": 1, "patch": {"job_title": "x"}}),
    );
    assert!(matches!(code(&e), "not_found" | "forbidden"), "{e}");
    let e = app.refused(
        "link_mcp_id",
        json!({"membership_id": membership, "mcp_id": "1234567"}),
    );
    assert!(matches!(code(&e), "not_found" | "forbidden"), "{e}");
}

#[test]
fn an_mcp_id_linked_to_the_users_other_organisation_names_it_and_can_be_unlinked_there() {
    let app = app();
    let contoso_membership = app.staff_member_of_contoso();
    app.ok(
        "link_mcp_id",
        json!({"membership_id": contoso_membership, "mcp_id": "1234567"}),
    );
    assert_eq!(
        app.ok("profile", json!({"membership_id": contoso_membership}))["mcp_id"],
        "1234567"
    );
    assert_eq!(
        code(&app.refused(
            "link_mcp_id",
            json!({"membership_id": contoso_membership, "mcp_id": "12ab"})
        )),
        "invalid_mcp_id"
    );

    // The same person founds a second organisation and tries to link the same MCP ID there.
    let created = app.ok("create_organisation", json!({"organisation": {"name": "Sam's Side Co", "country": "Australia", "city": "Sydney"}}));
    let me = app.ok("me", json!({}));
    let second = me["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["organisation"]["organisation_id"] == created["organisation_id"])
        .unwrap()["membership_id"]
        .clone();
    let e = app.refused(
        "link_mcp_id",
        json!({"membership_id": second, "mcp_id": "1234567"}),
    );
    assert_eq!(code(&e), "mcp_id_linked_elsewhere");
    assert_eq!(
        e["details"]["membership_id"],
        contoso_membership.as_str(),
        "{e}"
    );
    assert_eq!(e["details"]["organisation_name"], "Contoso Pty Ltd");

    app.ok(
        "unlink_mcp_id",
        json!({"membership_id": e["details"]["membership_id"]}),
    );
    let linked = app.ok(
        "link_mcp_id",
        json!({"membership_id": second, "mcp_id": "1234567"}),
    );
    assert_eq!(linked["mcp_id"], "1234567");
}

#[test]
fn an_mcp_id_of_someone_else_is_refused_without_naming_their_organisation() {
    let app = app();
    let membership = app.staff_member_of_contoso();
    app.ok(
        "link_mcp_id",
        json!({"membership_id": membership, "mcp_id": "7654321"}),
    );
    app.sign_in(PPC);
    let me = app.ok("me", json!({}));
    let own = me["memberships"][0]["membership_id"].clone();
    let e = app.refused(
        "link_mcp_id",
        json!({"membership_id": own, "mcp_id": "7654321"}),
    );
    assert_eq!(code(&e), "mcp_id_linked_elsewhere");
    assert!(
        e.get("details").is_none(),
        "another person's organisation is never named: {e}"
    );
}

#[test]
fn the_privilege_catalogue_names_each_privilege_and_its_benefits() {
    let app = app();
    let catalogue = app.ok("privilege_catalogue", json!({}));
    let titles: Vec<&str> = catalogue
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        ["Global Administrator", "Action Pack", "Competency benefits"]
    );
    assert!(catalogue[2]["benefits"]
        .as_str()
        .unwrap()
        .contains("Internal Use Rights"));
}
