//! The store's guarantees as properties of a real PostgreSQL server (and, where the property is
//! the seam's, of SQLite too): event ids visible in commit order, serialization failures retried
//! out of sight, the audit log and domain ownership enforced by the database, migrations that
//! two instances can run at once.
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use membership::store::{
    Audience, AuditRecord, DomainProof, DomainRow, Insert, NewAccount, NewEvent, NewOrganisation,
    Store,
};
use membership::{DomainStatus, SqliteStore, Timestamp};
use store_postgres::PgStore;
use testkit::postgres::Cluster;
use time::macros::datetime;

const T0: Timestamp = datetime!(2026-11-27 09:00 UTC);

fn fresh() -> (PgStore, String) {
    let url = Cluster::shared().fresh_database();
    let store = PgStore::connect(&url).expect("connects and migrates");
    (store, database_of(&url))
}

fn database_of(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_owned()
}

/// An account and an organisation `org-<n>`, written through the seam.
fn organisation<S: Store>(store: &S, n: u32) {
    store
        .write(&mut |tx| {
            let id = format!("acct-{n}");
            let email = format!("owner{n}@example.com");
            let _ = tx.insert_account(&NewAccount {
                id: &id,
                email: &email,
                display_name: "Owner",
                password_hash: "x",
                created_at: T0,
            })?;
            let org = format!("org-{n}");
            let partner = format!("{}", 5_000_000 + n);
            assert_eq!(
                tx.insert_organisation(&NewOrganisation {
                    id: &org,
                    partner_id: &partner,
                    name: "Org",
                    country: "Australia",
                    city: "Perth",
                    address: None,
                    phone: None,
                    website: None,
                    created_at: T0,
                })?,
                Insert::Done
            );
            Ok(())
        })
        .unwrap();
}

/// Many writers emit events at once, each holding its transaction open a little after taking
/// its id, while a reader follows the cursor as the events feed does (`events_for` after the
/// last id seen). The reader must see every event exactly once: none skipped because a smaller
/// id committed after a larger one.
fn a_follower_sees_every_event_exactly_once<S: Store>(store: S) {
    const WRITERS: usize = 8;
    const EACH: usize = 40;
    let store = Arc::new(store);
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (store, done) = (store.clone(), done.clone());
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            let mut after = 0;
            loop {
                let finished = done.load(Ordering::SeqCst);
                let page = store
                    .read(&mut |tx| tx.events_for("follower", after, 500))
                    .unwrap();
                if let Some(last) = page.last() {
                    after = last.id;
                }
                seen.extend(page.iter().map(|e| e.id));
                if finished && page.is_empty() {
                    return seen;
                }
            }
        })
    };
    let start = Arc::new(Barrier::new(WRITERS));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (store, start) = (store.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                for i in 0..EACH {
                    let data = serde_json::json!({ "writer": w, "i": i });
                    store
                        .write(&mut |tx| {
                            tx.emit_event(&NewEvent {
                                at: T0,
                                kind: "test.event",
                                audience: Audience::Account("follower"),
                                data: &data,
                            })?;
                            // Widen the window between taking an id and committing.
                            std::thread::sleep(Duration::from_micros(
                                ((w * 37 + i * 11) % 7) as u64 * 150,
                            ));
                            Ok(())
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    done.store(true, Ordering::SeqCst);
    let seen = reader.join().unwrap();
    let mut all = store
        .read(&mut |tx| tx.events_for("follower", 0, 500))
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect::<Vec<_>>();
    all.sort();
    assert_eq!(all.len(), WRITERS * EACH);
    assert_eq!(
        seen,
        all,
        "the follower saw {} of {} events, in this order",
        seen.len(),
        all.len()
    );
}

#[test]
fn event_ids_become_visible_in_commit_order_on_postgresql() {
    a_follower_sees_every_event_exactly_once(fresh().0);
}

#[test]
fn event_ids_become_visible_in_commit_order_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    a_follower_sees_every_event_exactly_once(
        SqliteStore::open(&dir.path().join("m.sqlite3")).unwrap(),
    );
}

#[test]
fn a_serialization_failure_is_retried_and_both_writers_succeed() {
    let (store, _) = fresh();
    organisation(&store, 1);
    let store = Arc::new(store);
    // Both read the row, wait for each other, then change it: under SERIALIZABLE the second
    // to write gets a serialization failure, which the store must retry out of sight.
    let both_read = Arc::new(Barrier::new(2));
    let handles: Vec<_> = (0..2u32)
        .map(|n| {
            let (store, both_read) = (store.clone(), both_read.clone());
            std::thread::spawn(move || {
                let first_run = AtomicBool::new(true);
                store.write_counting(&mut |tx| {
                    let name = tx.organisation_name("org-1")?;
                    assert_eq!(name.as_deref(), Some("Org"));
                    if first_run.swap(false, Ordering::SeqCst) {
                        both_read.wait();
                    }
                    let partner = format!("{}", 6_000_000 + n);
                    assert_eq!(tx.set_partner_id("org-1", &partner)?, Insert::Done);
                    tx.append_audit(&AuditRecord {
                        at: T0,
                        organisation_id: Some("org-1"),
                        actor_account_id: None,
                        action: "test.partner_id",
                        subject: &partner,
                        detail: "",
                    })
                })
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let runs: Vec<u32> = results
        .iter()
        .map(|r| r.as_ref().expect("no error is shown to either writer").1)
        .collect();
    assert!(
        runs.iter().sum::<u32>() >= 3,
        "one of the writers ran again: {runs:?}"
    );
    // Each committed exactly once.
    let audits = store
        .read(&mut |tx| tx.audit_page("org-1", i64::MAX, 10))
        .unwrap();
    assert_eq!(audits.len(), 2, "one audit entry per writer");
}

#[test]
fn a_taken_partner_id_is_a_duplicate_and_the_transaction_goes_on() {
    let (store, _) = fresh();
    organisation(&store, 1);
    organisation(&store, 2);
    let partner_of_2 = store
        .write(&mut |tx| {
            // The refused update must not abort the transaction: the next statements run.
            assert_eq!(tx.set_partner_id("org-1", "5000002")?, Insert::Duplicate);
            assert_eq!(tx.set_partner_id("org-1", "5000009")?, Insert::Done);
            tx.partner_id_taken("5000002")
        })
        .unwrap();
    assert!(partner_of_2);
    assert!(store
        .read(&mut |tx| tx.partner_id_taken("5000009"))
        .unwrap());
}

#[test]
fn the_audit_log_refuses_update_delete_and_truncate_in_the_database() {
    let (store, db) = fresh();
    organisation(&store, 1);
    store
        .write(&mut |tx| {
            tx.append_audit(&AuditRecord {
                at: T0,
                organisation_id: Some("org-1"),
                actor_account_id: None,
                action: "test",
                subject: "s",
                detail: "d",
            })
        })
        .unwrap();
    let cluster = Cluster::shared();
    for sql in [
        "UPDATE audit_log SET detail = 'forged'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
        // Even a change that touches no row is refused.
        "DELETE FROM audit_log WHERE false",
    ] {
        let out = cluster.try_psql(&db, sql);
        assert!(!out.status.success(), "{sql} was allowed");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("append-only"),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        cluster.psql(&db, "SELECT count(*) FROM audit_log WHERE detail = 'd'"),
        "1"
    );
    // Appending still works.
    cluster.psql(
        &db,
        "INSERT INTO audit_log(at, action, subject, detail) VALUES (0, 'a', 's', 'd')",
    );
}

#[test]
fn a_domain_is_held_proven_by_at_most_one_organisation() {
    let (store, db) = fresh();
    organisation(&store, 1);
    organisation(&store, 2);
    let domain = |org: &str, status: DomainStatus| DomainRow {
        domain: "example.org".into(),
        organisation_id: org.into(),
        include_subdomains: false,
        added_at: T0,
        proof: DomainProof {
            status,
            challenge: format!("value-of-{org}"),
            previous_challenge: None,
            previous_until: None,
            status_since: T0,
            verified_at: None,
            last_checked_at: None,
            last_seen: None,
            next_check_at: None,
            missing_since: None,
            checks: 0,
        },
    };
    let answers = store
        .write(&mut |tx| {
            Ok((
                tx.insert_domain(&domain("org-1", DomainStatus::Pending), "acct-1")?,
                tx.insert_domain(&domain("org-2", DomainStatus::Pending), "acct-2")?,
                tx.insert_domain(&domain("org-2", DomainStatus::Pending), "acct-2")?,
                tx.update_domain(&domain("org-1", DomainStatus::Verified))?,
                tx.update_domain(&domain("org-2", DomainStatus::Verified))?,
                tx.domain_holders("example.org")?
                    .into_iter()
                    .map(|h| (h.organisation_id, h.proof.status))
                    .collect::<Vec<_>>(),
            ))
        })
        .unwrap();
    assert_eq!(
        answers,
        (
            Insert::Done,
            Insert::Done,
            Insert::Duplicate,
            Insert::Done,
            Insert::Duplicate,
            vec![
                ("org-1".to_owned(), DomainStatus::Verified),
                ("org-2".to_owned(), DomainStatus::Pending)
            ]
        ),
        "two unproven holds, one proven"
    );
    // The database itself refuses a second proven hold, whoever writes.
    let out = Cluster::shared().try_psql(
        &db,
        "UPDATE org_domains SET status = 'suspended' WHERE organisation_id = 'org-2'",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("duplicate key"));
}

/// "1,2,…,n" for the n migration files the crate ships.
fn every_migration() -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
    let n = std::fs::read_dir(dir)
        .expect("the migrations folder")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
        })
        .count();
    assert!(n >= 3, "migrations found in {dir}");
    (1..=n).map(|v| v.to_string()).collect::<Vec<_>>().join(",")
}

#[test]
fn instances_starting_at_once_on_an_empty_database_migrate_it_once() {
    for _ in 0..3 {
        let url = Cluster::shared().fresh_database();
        const INSTANCES: usize = 4;
        let start = Arc::new(Barrier::new(INSTANCES));
        let connected = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..INSTANCES)
            .map(|_| {
                let (url, start, connected) = (url.clone(), start.clone(), connected.clone());
                std::thread::spawn(move || {
                    start.wait();
                    let store = PgStore::connect(&url).map_err(|e| format!("{e:?}"))?;
                    connected.fetch_add(1, Ordering::SeqCst);
                    store
                        .read(&mut |tx| tx.has_accounts())
                        .map_err(|e| format!("{e:?}"))
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), Ok(false));
        }
        assert_eq!(connected.load(Ordering::SeqCst), INSTANCES);
        let db = database_of(&url);
        assert_eq!(
            Cluster::shared().psql(
                &db,
                "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations"
            ),
            every_migration(),
            "each migration ran once"
        );
    }
}

#[test]
fn a_database_written_by_newer_code_is_refused() {
    let (store, db) = fresh();
    drop(store);
    Cluster::shared().psql(
        &db,
        "INSERT INTO schema_migrations(version, applied_at) VALUES (999, now())",
    );
    let err = PgStore::connect(&Cluster::shared().url(&db))
        .map(drop)
        .unwrap_err();
    assert_eq!(err.code(), "database_too_new");
}

#[test]
fn an_unreachable_database_is_a_clear_error_without_the_password() {
    // A port nothing listens on (the cluster's own port plus one is not guaranteed free, so
    // bind one and close it).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = PgStore::connect(&format!(
        "postgres://someone:hunter2@127.0.0.1:{port}/nothing?sslmode=disable"
    ))
    .map(drop)
    .unwrap_err();
    assert_eq!(err.code(), "database_unreachable");
    assert!(!format!("{err} {:?}", err.cause()).contains("hunter2"));
    assert!(
        err.cause().is_some(),
        "the driver's reason is kept for the log"
    );
}
