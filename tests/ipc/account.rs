use serde_json::json;

use crate::support::*;

#[test]
fn signed_out_the_session_is_empty_and_signed_in_calls_are_refused() {
    let app = app();
    assert_eq!(app.ok("session", json!({})), serde_json::Value::Null);
    let e = app.refused("me", json!({}));
    assert_eq!(code(&e), "unauthenticated");
    assert!(e["message"].as_str().unwrap().contains("Sign in"), "{e}");
}

#[test]
fn demo_ppc_signs_in_and_sees_their_organisation() {
    let app = app();
    let account = app.sign_in(PPC);
    assert_eq!(account["email"], PPC);
    assert_eq!(app.ok("session", json!({}))["email"], PPC);
    let me = app.ok("me", json!({}));
    let contoso = me["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["organisation"]["name"] == "Contoso Pty Ltd");
    let contoso = contoso.expect("the demo PPC belongs to Contoso");
    assert!(
        contoso["roles"].as_array().unwrap().contains(&json!("ppc")),
        "{contoso}"
    );
}

#[test]
fn a_wrong_password_is_refused_without_saying_whether_the_account_exists() {
    let app = app();
    let wrong = app.refused(
        "sign_in",
        json!({"email": PPC, "password": "not-the-password"}),
    );
    let unknown = app.refused(
        "sign_in",
        json!({"email": "nobody@contoso.com", "password": "not-the-password"}),
    );
    assert_eq!(code(&wrong), "invalid_credentials");
    assert_eq!(
        wrong, unknown,
        "unknown email and wrong password must look the same"
    );
    assert_eq!(app.ok("session", json!({})), serde_json::Value::Null);
}

#[test]
fn creating_an_account_signs_in_and_the_same_email_cannot_be_used_twice() {
    let app = app();
    let account = app.sign_in_as_new("alex@example.org", "Alex Example");
    assert_eq!(account["display_name"], "Alex Example");
    assert_eq!(app.ok("session", json!({}))["email"], "alex@example.org");
    let e = app.refused(
        "create_account",
        json!({"email": "alex@example.org", "display_name": "Alex Again", "password": DEMO_PASSWORD}),
    );
    assert_eq!(code(&e), "email_taken");
    let weak = app.refused(
        "create_account",
        json!({"email": "b@example.org", "display_name": "B", "password": "short"}),
    );
    assert_eq!(code(&weak), "weak_password");
}

#[test]
fn sign_out_ends_the_session() {
    let app = app();
    app.sign_in(STAFF);
    app.ok("sign_out", json!({}));
    assert_eq!(app.ok("session", json!({})), serde_json::Value::Null);
    assert_eq!(code(&app.refused("me", json!({}))), "unauthenticated");
    // Signing out twice is harmless.
    app.ok("sign_out", json!({}));
}

#[test]
fn switch_account_signs_out_and_offers_the_recent_addresses_only() {
    let app = app();
    app.sign_in(STAFF);
    app.sign_in(PPC);
    let recent = app.ok("switch_account", json!({}));
    assert_eq!(
        recent,
        json!([PPC, STAFF]),
        "newest first, email addresses only"
    );
    assert_eq!(app.ok("session", json!({})), serde_json::Value::Null);
    assert_eq!(app.ok("recent_accounts", json!({})), json!([PPC, STAFF]));
}
