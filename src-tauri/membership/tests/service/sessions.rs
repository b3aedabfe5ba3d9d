use membership::Secret;

use crate::common::{code, world};

#[test]
fn unknown_email_and_wrong_password_get_the_same_answer() {
    let w = world();
    let a =
        w.p.sign_in(
            "nobody@example.net",
            &Secret::new("partnerdesk-demo"),
            w.now,
        )
        .unwrap_err();
    let b =
        w.p.sign_in("staff@example.net", &Secret::new("wrong-password"), w.now)
            .unwrap_err();
    assert_eq!((a.code(), a.message()), (b.code(), b.message()));
    assert_eq!(a.code(), "invalid_credentials");
}

#[test]
fn email_is_unique_in_any_spelling() {
    let w = world();
    assert_eq!(
        code(w.p.create_account(
            "STAFF@Example.NET ",
            "Sam",
            &Secret::new("long enough password"),
            w.now
        )),
        "email_taken"
    );
    assert_eq!(
        code(w.p.create_account("x@example.net", "X", &Secret::new("short"), w.now)),
        "weak_password"
    );
}

#[test]
fn refresh_rotates_and_the_old_refresh_token_stops_working() {
    let mut w = world();
    let s =
        w.p.sign_in("staff@example.net", &Secret::new("partnerdesk-demo"), w.now)
            .unwrap();
    w.advance(16 * 60);
    assert_eq!(
        code(w.p.authenticate(&s.access_token, w.now)),
        "session_expired"
    );
    let s2 = w.p.refresh(&s.refresh_token, w.now).unwrap();
    assert!(w.p.authenticate(&s2.access_token, w.now).is_ok());
    assert_eq!(
        code(w.p.refresh(&s.refresh_token, w.now)),
        "invalid_refresh_token"
    );
}

#[test]
fn sign_out_kills_both_tokens() {
    let w = world();
    let s =
        w.p.sign_in("staff@example.net", &Secret::new("partnerdesk-demo"), w.now)
            .unwrap();
    let caller = w.p.authenticate(&s.access_token, w.now).unwrap();
    w.p.sign_out(&caller, w.now).unwrap();
    assert_eq!(
        code(w.p.authenticate(&s.access_token, w.now)),
        "unauthenticated"
    );
    assert_eq!(
        code(w.p.refresh(&s.refresh_token, w.now)),
        "invalid_refresh_token"
    );
}

#[test]
fn session_tokens_never_print() {
    let w = world();
    let s =
        w.p.sign_in("staff@example.net", &Secret::new("partnerdesk-demo"), w.now)
            .unwrap();
    let printed = format!("{s:?}");
    assert!(
        !printed.contains(s.access_token.expose()) && !printed.contains(s.refresh_token.expose()),
        "{printed}"
    );
}
