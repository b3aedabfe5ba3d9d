//! Verification token rules (DESIGN.md): single use even under concurrent consumption, expiry at
//! the boundary, resend rotation, bound to the requesting account, stored only as a hash.
use std::sync::Arc;

use membership::Secret;

use crate::common::{code, world};

#[test]
fn a_token_is_single_use() {
    let w = world();
    let staff = w.sign_in("staff@example.net");
    w.request(&staff, &w.contoso(), "sam@contoso.com").unwrap();
    let token = w.token_for("sam@contoso.com");
    w.p.verify(&staff, &token, w.now).unwrap();
    assert_eq!(code(w.p.verify(&staff, &token, w.now)), "token_used");
}

#[test]
fn a_token_is_single_use_under_concurrent_consumption() {
    let w = Arc::new(world());
    let staff = w.sign_in("staff@example.net");
    w.request(&staff, &w.contoso(), "sam@contoso.com").unwrap();
    let token = w.token_for("sam@contoso.com");
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (w, staff, token) = (w.clone(), staff.clone(), token.clone());
            std::thread::spawn(move || {
                w.p.verify(&staff, &token, w.now)
                    .map(|v| v.membership_id)
                    .map_err(|e| e.code().to_owned())
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let wins = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(wins, 1, "exactly one consumer wins: {results:?}");
    assert!(
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|c| *c == "token_used"),
        "{results:?}"
    );
    assert_eq!(w.p.me(&staff).unwrap().memberships.len(), 1);
}

#[test]
fn a_token_expires_exactly_seven_days_after_it_was_sent() {
    let mut w = world();
    let staff = w.sign_in("staff@example.net");
    w.request(&staff, &w.contoso(), "sam@contoso.com").unwrap();
    let token = w.token_for("sam@contoso.com");
    let seven_days = 7 * 24 * 3600;
    w.advance(seven_days);
    // Sessions last 15 minutes: sign in again at the new time.
    let staff = w.sign_in("staff@example.net");
    assert_eq!(code(w.p.verify(&staff, &token, w.now)), "token_expired");

    let mut w = world();
    let staff0 = w.sign_in("staff@example.net");
    w.request(&staff0, &w.contoso(), "sam@contoso.com").unwrap();
    let token = w.token_for("sam@contoso.com");
    w.advance(seven_days - 1);
    let staff = w.sign_in("staff@example.net");
    assert!(
        w.p.verify(&staff, &token, w.now).is_ok(),
        "one second before expiry it still works"
    );
}

#[test]
fn resend_rotates_the_token_and_has_a_cooldown() {
    let mut w = world();
    let staff = w.sign_in("staff@example.net");
    let req = w.request(&staff, &w.contoso(), "sam@contoso.com").unwrap();
    let old = w.token_for("sam@contoso.com");
    let err =
        w.p.resend_verification(&staff, &req.request_id, w.now)
            .unwrap_err();
    assert_eq!(err.code(), "resend_cooldown");
    assert_eq!(err.retry_after_secs(), Some(60));
    w.advance(60);
    w.p.resend_verification(&staff, &req.request_id, w.now)
        .unwrap();
    let new = w.token_for("sam@contoso.com");
    assert_ne!(old, new);
    assert_eq!(
        code(w.p.verify(&staff, &old, w.now)),
        "token_used",
        "the old token died with the resend"
    );
    assert!(w.p.verify(&staff, &new, w.now).is_ok());
}

#[test]
fn a_token_presented_by_another_account_is_refused_and_stays_usable() {
    let w = world();
    let staff = w.sign_in("staff@example.net");
    w.request(&staff, &w.contoso(), "sam@contoso.com").unwrap();
    let token = w.token_for("sam@contoso.com");
    let other = w.new_account("mallory@example.org", "Mallory");
    assert_eq!(
        code(w.p.verify(&other, &token, w.now)),
        "token_for_other_account"
    );
    assert!(w.p.verify(&staff, &token, w.now).is_ok());
}

#[test]
fn an_unknown_token_is_not_found_and_a_withdrawn_request_kills_its_token() {
    let w = world();
    let staff = w.sign_in("staff@example.net");
    assert_eq!(
        code(w.p.verify(&staff, &Secret::new("not-a-token"), w.now)),
        "invalid_token"
    );
    let req = w.request(&staff, &w.contoso(), "sam@contoso.com").unwrap();
    let token = w.token_for("sam@contoso.com");
    w.p.withdraw(&staff, &req.request_id, w.now).unwrap();
    assert_eq!(code(w.p.verify(&staff, &token, w.now)), "token_used");
}
