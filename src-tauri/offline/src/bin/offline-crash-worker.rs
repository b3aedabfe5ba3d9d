//! The crash-loop test's victim (`tests/offline/crash_loop.rs`): opens the local store, then
//! forever saves a profile edit, prints `ACK <n>` once its transaction committed, and syncs
//! against the server, until the test kills it with SIGKILL at a random moment.
//!
//! Usage: `offline-crash-worker STORE SERVER_URL START` with `OFFLINE_WORKER_TOKEN` (an access
//! token) and `OFFLINE_WORKER_ACCOUNT` (the account id) in the environment; the store must hold
//! the account's cached memberships. Edit `n` sets one field of one membership to a value unique
//! to `n` (see [`edit_for`]), so the test can find every acknowledged edit on the server.
#![forbid(unsafe_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use membership::{Secret, Timestamp};
use offline::{Field, LocalStore, ProfileEdit, Scope, SyncEngine};

/// The field and value of edit `n`, on membership `n % memberships`.
fn edit_for(n: u64) -> (Field, String) {
    if (n / 2).is_multiple_of(2) {
        (Field::JobTitle, format!("Crash {n}"))
    } else {
        (Field::Phone, format!("+61 {n:010}"))
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, store, server, start] = args.as_slice() else {
        eprintln!("usage: offline-crash-worker STORE SERVER_URL START");
        return ExitCode::FAILURE;
    };
    let (Ok(token), Ok(account), Ok(start)) = (
        std::env::var("OFFLINE_WORKER_TOKEN"),
        std::env::var("OFFLINE_WORKER_ACCOUNT"),
        start.parse::<u64>(),
    ) else {
        eprintln!("offline-crash-worker: OFFLINE_WORKER_TOKEN, OFFLINE_WORKER_ACCOUNT and a numeric START are needed");
        return ExitCode::FAILURE;
    };
    match run(
        PathBuf::from(store),
        server,
        Secret::new(token),
        account,
        start,
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("offline-crash-worker: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(
    path: PathBuf,
    server: &str,
    token: Secret,
    account: String,
    start: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let store = Arc::new(LocalStore::open(&path)?);
    let backend = client::Remote::new(server)?;
    let scope = Scope::new("crash-test", account);
    let mut memberships: Vec<String> = store
        .memberships(&scope)?
        .into_iter()
        .map(|m| m.membership_id)
        .collect();
    memberships.sort();
    memberships.truncate(2);
    if memberships.is_empty() {
        return Err("no cached memberships in the store".into());
    }
    let engine = SyncEngine::new(store.clone(), scope.clone());
    let mut out = std::io::stdout().lock();
    writeln!(out, "READY")?;
    out.flush()?;
    // Never outlive a test that forgot to kill us.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut n = start;
    while Instant::now() < deadline {
        let membership = &memberships[(n % memberships.len() as u64) as usize];
        let (field, value) = edit_for(n);
        let mut edit = ProfileEdit::new();
        edit.set(field, &value)?;
        store.save_edit(&scope, membership, &edit, Timestamp::now_utc())?;
        writeln!(out, "ACK {n}")?;
        out.flush()?;
        engine.run(&backend, &token, Timestamp::now_utc(), &mut |_| {})?;
        n += 1;
    }
    Ok(())
}
