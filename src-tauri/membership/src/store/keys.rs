//! `Idempotency-Key`s, stored beside the data they guard, in the same database.
//!
//! The server's idempotency layer (fingerprints, which answers are final) claims a key before it
//! runs a request and records the first answer after. What this module adds is the part that
//! must be the store's: a write that runs while a key is claimed **consumes** the key in its own
//! transaction. The key row is marked applied by the same commit as the change it guards, and
//! only while the claim is still the writer's own:
//!
//! - a claim taken over (its first holder seemed dead) can never let the first holder's write
//!   commit as well: that write finds the claim gone and rolls back;
//! - a server that dies after the commit and before recording the answer leaves a key that says
//!   the change happened, so a retry is told so ([`KeyClaim::AnswerLost`]) instead of running the
//!   change a second time.
//!
//! The claim travels to the store's `write` on the thread that runs the rule
//! ([`with_key_guard`]), so the rules themselves never see it.
use std::cell::RefCell;

use super::{Insert, Store, WriteTx};
use crate::Error;

/// A claim on a key: the scope (the caller's account or `anonymous`), the key, and the random
/// holder the claim was made with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyGuard {
    pub scope: String,
    pub key: String,
    pub holder: Vec<u8>,
}

/// The first answer given for a key, as the server recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    /// The replayed headers, as the server serialised them.
    pub headers: String,
    pub body: Vec<u8>,
}

/// A key's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub fingerprint: Vec<u8>,
    pub created_at: i64,
    /// A write under the claim committed.
    pub applied: bool,
    pub answer: Option<StoredAnswer>,
}

pub struct NewKey<'a> {
    pub scope: &'a str,
    pub key: &'a str,
    pub fingerprint: &'a [u8],
    pub holder: &'a [u8],
    pub created_at: i64,
}

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyClaim {
    /// The key is the caller's now: run the request, then [`IdempotencyKeys::complete`].
    Owner,
    /// The first request with this key is still running.
    InProgress,
    /// The key was used for a different request.
    Mismatch,
    /// The first answer.
    Replay(StoredAnswer),
    /// The first request's change was committed, but its answer was never recorded and its
    /// claim is stale (the server stopped in between): the change must not run again.
    AnswerLost,
}

/// How long keys are kept and when an unanswered claim is taken to be dead.
#[derive(Debug, Clone, Copy)]
pub struct KeyPolicy {
    /// A key older than this (seconds) is forgotten.
    pub keep_secs: i64,
    /// A claim with no answer older than this (seconds) belongs to a request that died: it is
    /// taken over if nothing was written under it, and answers [`KeyClaim::AnswerLost`] if
    /// something was. Until then a repeat waits ([`KeyClaim::InProgress`]).
    pub stale_after_secs: i64,
}

/// The key operations over one store.
pub struct IdempotencyKeys<'s, S: Store> {
    pub(crate) store: &'s S,
}

impl<S: Store> IdempotencyKeys<'_, S> {
    /// The fingerprint salt every process on this database shares: `fresh` if none was chosen.
    pub fn salt(&self, fresh: &[u8]) -> Result<Vec<u8>, Error> {
        unguarded(|| self.store.write(&mut |tx| tx.idempotency_salt(fresh)))
    }

    /// Claims `key` in `scope` for a request with `fingerprint` as `holder`, at `now` (unix
    /// seconds).
    pub fn claim(
        &self,
        guard: &KeyGuard,
        fingerprint: &[u8],
        now: i64,
        policy: KeyPolicy,
    ) -> Result<KeyClaim, Error> {
        unguarded(|| {
            self.store.write(&mut |tx| {
                tx.forget_idempotency_keys(now - policy.keep_secs)?;
                let new = NewKey {
                    scope: &guard.scope,
                    key: &guard.key,
                    fingerprint,
                    holder: &guard.holder,
                    created_at: now,
                };
                if tx.insert_idempotency_key(&new)? == Insert::Done {
                    return Ok(KeyClaim::Owner);
                }
                Ok(match tx.idempotency_key(&guard.scope, &guard.key)? {
                    // Released since the insert found it: free again, unless someone else took it.
                    None => match tx.insert_idempotency_key(&new)? {
                        Insert::Done => KeyClaim::Owner,
                        Insert::Duplicate => KeyClaim::InProgress,
                    },
                    Some(row) if row.fingerprint != fingerprint => KeyClaim::Mismatch,
                    Some(KeyRecord {
                        answer: Some(answer),
                        ..
                    }) => KeyClaim::Replay(answer),
                    // Its holder may still be recording the answer (or still writing).
                    Some(row) if row.created_at >= now - policy.stale_after_secs => {
                        KeyClaim::InProgress
                    }
                    // The holder died after its change committed.
                    Some(row) if row.applied => KeyClaim::AnswerLost,
                    // The holder died before its change: the key is free for a retry.
                    Some(_) => {
                        tx.take_over_idempotency_key(&guard.scope, &guard.key, &guard.holder, now)?;
                        KeyClaim::Owner
                    }
                })
            })
        })
    }

    /// Records the first answer of the request that holds the claim. False when the claim is no
    /// longer `guard`'s (it was taken over), and nothing was recorded.
    pub fn complete(&self, guard: &KeyGuard, answer: &StoredAnswer) -> Result<bool, Error> {
        unguarded(|| {
            self.store
                .write(&mut |tx| tx.record_idempotent_answer(guard, answer))
        })
    }

    /// Gives the key up after an answer worth retrying (a 5xx, a 429), so a repeat runs the
    /// request again, but only if nothing was written under it: a change that committed must
    /// not run twice. False when the key was kept (a write was applied, or the claim is no
    /// longer `guard`'s).
    pub fn release(&self, guard: &KeyGuard) -> Result<bool, Error> {
        unguarded(|| {
            self.store
                .write(&mut |tx| tx.release_idempotency_key(guard))
        })
    }
}

/// The key operations' own writes never consume a claim.
fn unguarded<T>(f: impl FnOnce() -> T) -> T {
    with_key_guard(None, f)
}

thread_local! {
    static GUARD: RefCell<Option<KeyGuard>> = const { RefCell::new(None) };
}

/// Runs `f` with `guard` as the claim that every store write on this thread consumes (see the
/// module documentation); `None` runs it unguarded. The previous guard comes back afterwards,
/// also when `f` panics.
pub fn with_key_guard<T>(guard: Option<KeyGuard>, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<KeyGuard>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            GUARD.with(|g| *g.borrow_mut() = previous);
        }
    }
    let previous = GUARD.with(|g| g.replace(guard));
    let _restore = Restore(previous);
    f()
}

/// For a store's `write`, just before it commits: consumes the claim this thread runs under, in
/// the write's own transaction. A claim that is no longer the writer's refuses the write, which
/// the store then rolls back.
pub fn consume_key_guard(tx: &mut dyn WriteTx) -> Result<(), Error> {
    let Some(guard) = GUARD.with(|g| g.borrow().clone()) else {
        return Ok(());
    };
    if tx.consume_idempotency_key(&guard)? {
        Ok(())
    } else {
        Err(Error::conflict(
            "idempotency_key_in_progress",
            "Another request with this Idempotency-Key took it over, so this one changed nothing. Try again in a moment to get its answer.",
        ))
    }
}
