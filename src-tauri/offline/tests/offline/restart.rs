//! (c) The server is killed in the middle of a long sync and started again on the same database.
use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use offline::{Field, Outcome, SyncedOutcome};

use crate::support::{edit, engine_for, local_store, memberships, now, quiet, report, Subject};

const EDITS: usize = 200;

/// The value edit `i` gives its field: unique, and valid for the field.
fn value(field: Field, i: usize) -> String {
    match field {
        Field::Phone => format!("+61 2 5550 {i:04}"),
        Field::FirstName => format!("Ana {i}"),
        _ => format!("Title {i}"),
    }
}

#[test]
fn a_server_killed_mid_sync_ends_up_with_every_edit_exactly_once() {
    // A short request timeout lets the server take over, within seconds, an idempotency key whose
    // request the kill cut off (it waits four timeouts before deciding the holder died).
    let mut subject = Subject::remote_with(&["--request-timeout-secs", "1"]);
    let token = subject.sign_in("ppc@fabrikam.com");
    let ms = memberships(&subject, &token);
    let (_dir, _path, store) = local_store();
    // Four edits of a profile a request at most: many requests, so the kill lands among them.
    let engine = engine_for(&subject, &store, &token).with_batch_limit(4);
    let scope = engine.scope().clone();
    let start: BTreeMap<String, u64> = ms
        .iter()
        .map(|m| {
            (
                m.clone(),
                subject.api().profile(&token, m).unwrap().revision,
            )
        })
        .collect();

    let fields = [Field::JobTitle, Field::Phone, Field::FirstName];
    let mut last: BTreeMap<(String, Field), String> = BTreeMap::new();
    let mut per_membership: BTreeMap<String, u64> = BTreeMap::new();
    for i in 0..EDITS {
        let m = &ms[i % ms.len()];
        let field = fields[(i / ms.len()) % fields.len()];
        let v = value(field, i);
        store
            .save_edit(&scope, m, &edit(&[(field, &v)]), now())
            .expect("queued");
        last.insert((m.clone(), field), v);
        *per_membership.entry(m.clone()).or_default() += 1;
    }
    assert_eq!(engine.status().unwrap().unsynced, EDITS);

    // Sync on another thread; kill the server once a quarter has been acknowledged.
    let (tx, rx) = mpsc::channel();
    let killed_at = std::thread::scope(|s| {
        let worker = s.spawn(|| {
            engine.run(subject.api(), &token, now(), &mut |p| {
                let _ = tx.send(p.done);
            })
        });
        while rx.recv().expect("progress") < EDITS / 4 {}
        // `api()` borrows the subject; the kill needs it mutably, so go through the server's pid.
        let pid = match &subject {
            crate::support::Subject::Remote { server, .. } => server.pid().expect("running"),
            _ => unreachable!(),
        };
        std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .expect("kill runs");
        let report = worker
            .join()
            .expect("the sync thread")
            .expect("the store works");
        assert_eq!(report.outcome, Outcome::Offline, "{report:?}");
        report.applied
    });
    assert!(
        (EDITS / 4..EDITS).contains(&killed_at),
        "killed mid-sync after {killed_at}"
    );
    assert!(engine.status().unwrap().unsynced > 0);

    subject.restart();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut runs = 0;
    loop {
        runs += 1;
        let report = engine
            .run(subject.api(), &token, now(), &mut quiet)
            .unwrap();
        match report.outcome {
            Outcome::Done => break,
            // A key the kill left claimed is busy until the server takes it over.
            Outcome::Busy { .. } if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(500))
            }
            _ => panic!("unexpected outcome: {report:?}"),
        }
    }
    let status = engine.status().unwrap();
    assert_eq!(status.unsynced, 0, "{status:?}");

    let mut logged = 0;
    for m in &ms {
        let server = subject.api().profile(&token, m).unwrap();
        for field in fields {
            if let Some(v) = last.get(&(m.clone(), field)) {
                assert_eq!(field.of(&server), v, "{m} {field:?}: the last edit wins");
            }
        }
        let increments = server.revision - start[m];
        let log = store.synced(&scope, m).unwrap();
        assert_eq!(log.len() as u64, per_membership[m]);
        // Each key in the log (one edit's, or one batch's) is one update on the server.
        let updates = crate::support::server_updates(&log);
        assert_eq!(increments, updates, "{m}: every edit applied, none twice");
        assert!(
            (updates as usize) < log.len(),
            "{m}: some edits went together"
        );
        assert!(log.iter().all(|e| e.outcome != SyncedOutcome::Discarded));
        logged += log.len();
    }
    assert_eq!(logged, EDITS);
    report(&format!(
        "server killed after {killed_at} of {EDITS} acknowledged; {runs} run(s) after the restart; every edit applied once"
    ));
}
