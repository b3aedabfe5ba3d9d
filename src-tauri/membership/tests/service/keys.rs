//! Idempotency keys in the membership database (`membership::store::keys`): claimed once,
//! replayed, refused for another request, and consumed by the write they guard in that write's
//! own transaction.
use membership::seed::DEMO_PASSWORD;
use membership::store::keys::{
    with_key_guard, IdempotencyKeys, KeyClaim, KeyGuard, KeyPolicy, StoredAnswer,
};
use membership::Secret;

use crate::backend::S;
use crate::common::world;

const POLICY: KeyPolicy = KeyPolicy {
    keep_secs: 24 * 3600,
    stale_after_secs: 60,
};

fn guard(scope: &str, key: &str, holder: u8) -> KeyGuard {
    KeyGuard {
        scope: scope.into(),
        key: key.into(),
        holder: vec![holder; 16],
    }
}

/// Claims `key` in `scope` as a new holder.
fn claim_as(
    keys: &IdempotencyKeys<'_, S>,
    scope: &str,
    key: &str,
    holder: u8,
    fp: &[u8],
    now: i64,
) -> KeyClaim {
    keys.claim(&guard(scope, key, holder), fp, now, POLICY)
        .expect("the key table answers")
}

fn answer(status: u16) -> StoredAnswer {
    StoredAnswer {
        status,
        headers: r#"[["content-type","application/json"]]"#.into(),
        body: b"{\"id\":\"x\"}".to_vec(),
    }
}

#[test]
fn a_key_is_claimed_once_then_replayed_and_refused_for_another_request() {
    let w = world();
    let keys = w.p.idempotency_keys();
    let first = guard("account:a", "k", 1);
    assert_eq!(
        keys.claim(&first, b"fp1", 100, POLICY).unwrap(),
        KeyClaim::Owner
    );
    assert_eq!(
        claim_as(&keys, "account:a", "k", 2, b"fp1", 100),
        KeyClaim::InProgress
    );
    assert_eq!(
        claim_as(&keys, "account:b", "k", 3, b"fp1", 100),
        KeyClaim::Owner,
        "scopes are separate"
    );
    assert!(keys.complete(&first, &answer(201)).unwrap());
    assert_eq!(
        claim_as(&keys, "account:a", "k", 4, b"fp1", 101),
        KeyClaim::Replay(answer(201))
    );
    assert_eq!(
        claim_as(&keys, "account:a", "k", 5, b"fp2", 101),
        KeyClaim::Mismatch
    );
    assert!(
        !keys.complete(&first, &answer(500)).unwrap(),
        "the first answer is never replaced"
    );
}

#[test]
fn a_released_or_stale_claim_is_taken_again_and_old_keys_are_forgotten() {
    let w = world();
    let keys = w.p.idempotency_keys();
    let first = guard("account:a", "k", 1);
    assert_eq!(
        keys.claim(&first, b"fp", 100, POLICY).unwrap(),
        KeyClaim::Owner
    );
    assert!(keys.release(&first).unwrap());
    assert_eq!(
        keys.claim(&first, b"fp", 100, POLICY).unwrap(),
        KeyClaim::Owner
    );
    let second = guard("account:a", "k", 2);
    assert_eq!(
        keys.claim(&second, b"fp", 100 + 61, POLICY).unwrap(),
        KeyClaim::Owner,
        "the holder of a claim this old has died"
    );
    assert!(
        !keys.release(&first).unwrap(),
        "a claim taken over is no longer the first holder's to give up"
    );
    assert!(keys.complete(&second, &answer(201)).unwrap());
    assert_eq!(
        keys.claim(
            &guard("account:a", "k", 3),
            b"other",
            161 + POLICY.keep_secs + 1,
            POLICY
        )
        .unwrap(),
        KeyClaim::Owner,
        "a key is remembered for a day"
    );
}

#[test]
fn a_write_consumes_its_claim_in_its_own_transaction_so_a_lost_answer_never_runs_it_again() {
    let w = world();
    let keys = w.p.idempotency_keys();
    let claim = guard("anonymous", "new-account", 1);
    assert_eq!(
        keys.claim(&claim, b"fp", 100, POLICY).unwrap(),
        KeyClaim::Owner
    );
    with_key_guard(Some(claim.clone()), || {
        w.p.create_account(
            "lost.answer@example.net",
            "Lost Answer",
            &Secret::new(DEMO_PASSWORD),
            w.now,
        )
    })
    .expect("the account is created under the claim");
    assert_eq!(
        claim_as(&keys, "anonymous", "new-account", 2, b"fp", 101),
        KeyClaim::InProgress,
        "while its holder may still record the answer, a repeat waits for it"
    );
    // The server stops here, before it records the answer. Long after, a retry comes.
    assert_eq!(
        keys.claim(
            &guard("anonymous", "new-account", 2),
            b"fp",
            100 + 3600,
            POLICY
        )
        .unwrap(),
        KeyClaim::AnswerLost,
        "the key says the change was made; it is not run again"
    );
    assert!(
        !keys.release(&claim).unwrap(),
        "a key a write was applied under is kept"
    );
    assert!(
        keys.complete(&claim, &answer(201)).unwrap(),
        "the answer can still be recorded by its holder"
    );
}

#[test]
fn a_write_under_a_claim_taken_over_changes_nothing() {
    let w = world();
    let keys = w.p.idempotency_keys();
    let slow = guard("anonymous", "sign-up", 1);
    assert_eq!(
        keys.claim(&slow, b"fp", 100, POLICY).unwrap(),
        KeyClaim::Owner
    );
    // The first holder seemed dead; a retry took the key over.
    let retry = guard("anonymous", "sign-up", 2);
    assert_eq!(
        keys.claim(&retry, b"fp", 100 + 61, POLICY).unwrap(),
        KeyClaim::Owner
    );
    let late = with_key_guard(Some(slow), || {
        w.p.create_account(
            "late.writer@example.net",
            "Late Writer",
            &Secret::new(DEMO_PASSWORD),
            w.now,
        )
    })
    .expect_err("the first holder's write is refused");
    assert_eq!(late.code(), "idempotency_key_in_progress");
    assert!(
        w.p.sign_in(
            "late.writer@example.net",
            &Secret::new(DEMO_PASSWORD),
            w.now
        )
        .is_err(),
        "its transaction was rolled back: no account"
    );
    with_key_guard(Some(retry.clone()), || {
        w.p.create_account(
            "late.writer@example.net",
            "Late Writer",
            &Secret::new(DEMO_PASSWORD),
            w.now,
        )
    })
    .expect("the new holder's write goes through");
    assert!(keys.complete(&retry, &answer(201)).unwrap());
}

#[test]
fn a_refusal_writes_nothing_under_the_claim_so_it_can_be_given_up() {
    let w = world();
    let keys = w.p.idempotency_keys();
    let claim = guard("anonymous", "bad", 1);
    assert_eq!(
        keys.claim(&claim, b"fp", 100, POLICY).unwrap(),
        KeyClaim::Owner
    );
    with_key_guard(Some(claim.clone()), || {
        w.p.create_account("not an address", "X", &Secret::new(DEMO_PASSWORD), w.now)
    })
    .expect_err("refused");
    assert!(keys.release(&claim).unwrap(), "nothing was applied");
}

#[test]
fn every_process_on_one_database_shares_the_first_salt() {
    let w = world();
    let keys = w.p.idempotency_keys();
    let first = keys.salt(&[1; 32]).unwrap();
    assert_eq!(first, vec![1; 32]);
    assert_eq!(keys.salt(&[2; 32]).unwrap(), first);
}
