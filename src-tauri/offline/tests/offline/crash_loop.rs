//! (d) The syncing process is killed with SIGKILL at random moments, over and over: inside its
//! SQLite transactions, between sending an edit and recording the answer, anywhere. Afterwards
//! the local file is sound, every edit it acknowledged is on the server, and none was applied
//! twice.
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use offline::{Field, Outcome, Scope, SyncEngine, SyncedOutcome};

use crate::support::{local_store, now, quiet, Subject};

const KILLS: usize = 120;
/// Kills land this long (at random, in microseconds) after the worker said it is ready: a few
/// edits and syncs in, so each kill falls somewhere in the middle of the work.
const MAX_DELAY_US: u64 = 100_000;

/// A small xorshift generator: the test prints its seed, so a failing run can be repeated with
/// `CRASH_LOOP_SEED`.
struct Random(u64);

impl Random {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn a_process_killed_at_random_points_loses_no_acknowledged_edit_and_applies_none_twice() {
    let seed = std::env::var("CRASH_LOOP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| getrandom::u64().expect("randomness") | 1);
    let mut random = Random(seed);

    let subject = Subject::remote_logged();
    // From here: the server binary is built and running.
    let started = Instant::now();
    let token = subject.sign_in("ppc@fabrikam.com");
    let account = subject.account_id(&token);
    let (_dir, path, store) = local_store();
    let scope = Scope::new("crash-test", account.clone());
    let engine = SyncEngine::new(store.clone(), scope.clone());
    assert_eq!(
        engine.refresh(subject.api(), &token, now()).unwrap(),
        Outcome::Done
    );
    let mut ms: Vec<String> = store
        .memberships(&scope)
        .unwrap()
        .into_iter()
        .map(|m| m.membership_id)
        .collect();
    ms.sort();
    ms.truncate(2);
    let start_revision: BTreeMap<String, u64> = ms
        .iter()
        .map(|m| {
            (
                m.clone(),
                subject.api().profile(&token, m).unwrap().revision,
            )
        })
        .collect();
    drop(engine);
    drop(store);

    let base = match &subject {
        Subject::Remote { server, .. } => server.base().to_owned(),
        Subject::Embedded { .. } => unreachable!(),
    };
    let mut acked: BTreeSet<u64> = BTreeSet::new();
    let mut next = 0u64;
    let mut kills = 0;
    while kills < KILLS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_offline-crash-worker"))
            .arg(&path)
            .arg(&base)
            .arg(next.to_string())
            .env("OFFLINE_WORKER_TOKEN", token.expose())
            .env("OFFLINE_WORKER_ACCOUNT", &account)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the worker starts");
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let ready = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the worker says it is ready");
        assert_eq!(ready, "READY");
        std::thread::sleep(Duration::from_micros(random.below(MAX_DELAY_US)));
        // SIGKILL: no destructor, no flush, no rollback but SQLite's own.
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("the worker is reaped");
        assert!(!status.success(), "the worker died of the kill: {status:?}");
        reader.join().expect("the reader thread");
        kills += 1;
        let mut last = None;
        for line in rx.try_iter() {
            let n: u64 = line
                .strip_prefix("ACK ")
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("unexpected worker line {line:?}"));
            acked.insert(n);
            last = Some(n);
        }
        // The edit after the last ACK may have committed without its ACK: never reuse its number.
        next = last.map_or(next + 1, |n| n + 2);
    }

    // A clean final sync, by a process that was never killed.
    let raw = rusqlite::Connection::open(&path).expect("the local file opens");
    let integrity: String = raw
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity check");
    assert_eq!(integrity, "ok");
    drop(raw);
    let store = std::sync::Arc::new(offline::LocalStore::open(&path).expect("reopens"));
    let engine = SyncEngine::new(store.clone(), scope.clone());
    let unsynced_after_kills = engine.status().unwrap().unsynced;
    let report = engine
        .run(subject.api(), &token, now(), &mut quiet)
        .unwrap();
    assert_eq!(report.outcome, Outcome::Done, "{report:?}");
    let status = engine.status().unwrap();
    assert_eq!(status.unsynced, 0, "{status:?}");
    assert_eq!(store.integrity_check().unwrap(), "ok");

    // What the server did, against what the worker acknowledged.
    let mut logged: BTreeMap<u64, SyncedOutcome> = BTreeMap::new();
    let mut increments = 0;
    let mut duplicates = 0;
    let mut already_there = 0;
    // Edits that reached the server in a request with others.
    let mut batched = 0;
    // Keys whose update the sync found on the server instead of an answer (it was killed before
    // the answer came; the next run's merge found the values there).
    let mut found_there: BTreeSet<String> = BTreeSet::new();
    for m in &ms {
        let server = subject.api().profile(&token, m).unwrap();
        let increase = server.revision - start_revision[m];
        let log = store.synced(&scope, m).unwrap();
        for entry in &log {
            let (field, value) = entry.edit.iter().next().expect("one field an edit");
            let n = number_in(field, value);
            if logged.insert(n, entry.outcome).is_some() {
                duplicates += 1;
            }
            if entry.outcome == SyncedOutcome::AlreadyThere {
                already_there += 1;
                found_there.insert(entry.idempotency_key.clone());
            }
            assert_ne!(entry.outcome, SyncedOutcome::Discarded);
        }
        // Every key in the log is one server update: more updates would be edits applied twice,
        // fewer some the log claims but the server never saw.
        let updates = crate::support::server_updates(&log);
        assert_eq!(increase, updates, "membership {m}");
        batched += log.len() - updates as usize;
        increments += increase;
        for field in [Field::JobTitle, Field::Phone] {
            if let Some(e) = log.iter().rev().find(|e| e.edit.get(field).is_some()) {
                assert_eq!(
                    field.of(&server),
                    e.edit.get(field).unwrap(),
                    "{m}: the server holds the last edit"
                );
            }
        }
    }
    let lost: Vec<&u64> = acked.iter().filter(|n| !logged.contains_key(n)).collect();
    assert!(lost.is_empty(), "acknowledged edits missing: {lost:?}");
    assert_eq!(duplicates, 0);
    let unacked_commits = logged.len() - acked.len();
    // Each profile edit the server answered 200, from its request log. An update whose client
    // was killed before the answer is logged only when a resend under its key is replayed; when
    // the next run sent it in a batch instead, the 412 and the merge found it already there.
    let logs = match &subject {
        Subject::Remote { server, .. } => server.logs(),
        Subject::Embedded { .. } => unreachable!(),
    };
    let answered = logs
        .lines()
        .filter(|l| l.contains("method=PATCH") && l.contains("status=200"))
        .count() as u64;
    let found_there = found_there.len() as u64;
    assert!(
        answered + found_there >= increments,
        "the log lists every update: {answered} answered 200, {found_there} found already there, {increments} updates"
    );
    assert!(
        unacked_commits <= kills,
        "{unacked_commits} commits without ACK"
    );
    crate::support::report(&format!(
        "crash loop (seed {seed}): kills={kills} acked={} synced={} (PATCH answered 200: {answered}, merged away as already there: {already_there} under {found_there} key(s), sent together with an earlier edit of the same profile: {batched}, committed without ACK: {unacked_commits}, unsynced after the last kill: {unsynced_after_kills}) server updates={increments} duplicates={duplicates} integrity=ok in {:.1} s",
        acked.len(),
        logged.len(),
        started.elapsed().as_secs_f64()
    ));
}

/// The edit number in a worker value (`Crash 17`, `+61 0000000017`).
fn number_in(field: Field, value: &str) -> u64 {
    let digits = match field {
        Field::JobTitle => value.strip_prefix("Crash "),
        Field::Phone => value.strip_prefix("+61 "),
        _ => None,
    };
    digits
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("not a worker value: {field:?} {value:?}"))
}
