//! Where sessions are kept: without a keychain (these tests force the session-only path) the app
//! says so in plain words, keeps tokens in memory only, and remembered accounts can still be
//! switched, signed out of and removed.
use serde_json::{json, Value};

use crate::support::*;

fn emails(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|a| a["email"].as_str().expect("an email"))
        .collect()
}

fn saved(list: &Value, email: &str) -> bool {
    list.as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == email)
        .unwrap_or_else(|| panic!("{email} is remembered: {list}"))["saved_session"]
        .as_bool()
        .unwrap()
}

#[test]
fn without_a_keychain_the_app_says_so_and_stays_usable_for_the_session() {
    let app = app();
    let status = app.ok("keychain_status", json!({}));
    assert_eq!(status["available"], false);
    let message = status["message"].as_str().expect("a message");
    assert!(
        message.starts_with("Your system keychain is not available (")
            && message.contains("You can stay signed in for this session only")
            && message.ends_with("you will need to sign in again next time."),
        "{message}"
    );
    app.sign_in(PPC);
    assert_eq!(app.ok("me", json!({}))["account"]["email"], PPC);
}

#[test]
fn switching_back_to_a_remembered_account_needs_no_password() {
    let app = app();
    app.sign_in(STAFF);
    app.sign_in(PPC);
    // Signing in as PPC kept Staff's session, so switching back needs no password.
    let recent = app.ok("switch_account", json!({}));
    assert_eq!(recent, json!([PPC, STAFF]));
    assert_eq!(app.ok("session", json!({})), Value::Null);
    let list = app.ok("remembered_accounts", json!({}));
    assert_eq!(emails(&list), [PPC, STAFF]);
    assert!(saved(&list, PPC) && saved(&list, STAFF), "{list}");

    let staff = app.ok("use_account", json!({"email": STAFF}));
    assert_eq!(staff["email"], STAFF);
    assert_eq!(app.ok("me", json!({}))["account"]["email"], STAFF);
    let ppc = app.ok("use_account", json!({"email": "PPC@contoso.com"}));
    assert_eq!(ppc["email"], PPC);
    assert_eq!(app.ok("session", json!({}))["email"], PPC);
    assert_eq!(app.ok("recent_accounts", json!({})), json!([PPC, STAFF]));
}

#[test]
fn sign_out_forgets_the_session_but_remembers_the_address() {
    let app = app();
    app.sign_in(STAFF);
    app.ok("sign_out", json!({}));
    let list = app.ok("remembered_accounts", json!({}));
    assert_eq!(emails(&list), [STAFF]);
    assert!(!saved(&list, STAFF), "{list}");
    let e = app.refused("use_account", json!({"email": STAFF}));
    assert_eq!(code(&e), "no_saved_session");
    assert_eq!(app.ok("session", json!({})), Value::Null);
    // The password still works.
    app.sign_in(STAFF);
}

#[test]
fn an_unknown_account_has_no_saved_session() {
    let app = app();
    let e = app.refused("use_account", json!({"email": "nobody@example.org"}));
    assert_eq!(code(&e), "no_saved_session");
    assert!(e["message"].as_str().unwrap().contains("password"), "{e}");
}

#[test]
fn removing_an_account_forgets_it_and_ends_its_session() {
    let app = app();
    app.sign_in(STAFF);
    app.sign_in(PPC);
    // Remove the parked account: it is forgotten, and the current one stays signed in.
    let left = app.ok("remove_account", json!({"email": STAFF}));
    assert_eq!(emails(&left), [PPC]);
    assert_eq!(app.ok("session", json!({}))["email"], PPC);
    assert_eq!(
        code(&app.refused("use_account", json!({"email": STAFF}))),
        "no_saved_session"
    );
    // Remove the current account: signed out and forgotten.
    let left = app.ok("remove_account", json!({"email": PPC}));
    assert_eq!(left, json!([]));
    assert_eq!(app.ok("session", json!({})), Value::Null);
    assert_eq!(code(&app.refused("me", json!({}))), "unauthenticated");
    let settings = std::fs::read_to_string(app.dir.path().join("settings.json")).unwrap();
    assert!(
        !settings.contains(PPC) && !settings.contains(STAFF),
        "{settings}"
    );
}

#[test]
fn signing_in_again_as_the_same_account_replaces_its_session() {
    let app = app();
    app.sign_in(PPC);
    app.sign_in(PPC);
    assert_eq!(app.ok("recent_accounts", json!({})), json!([PPC]));
    assert_eq!(app.ok("me", json!({}))["account"]["email"], PPC);
}

#[test]
fn saving_settings_keeps_the_remembered_accounts() {
    let app = app();
    app.sign_in(STAFF);
    let mut settings = app.ok("settings", json!({}))["settings"].clone();
    settings["accounts"] = json!([]);
    settings["last_account"] = Value::Null;
    app.ok("save_settings", json!({"settings": settings}));
    assert_eq!(app.ok("recent_accounts", json!({})), json!([STAFF]));
    let file = std::fs::read_to_string(app.dir.path().join("settings.json")).unwrap();
    assert!(file.contains(STAFF), "{file}");
    assert!(
        !file.contains("token") && !file.contains(DEMO_PASSWORD),
        "{file}"
    );
}
