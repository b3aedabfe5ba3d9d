//! Tests of the SQLite store itself: they open its file with rusqlite or read the data folder's
//! bytes, so they run here only. The PostgreSQL store's own guarantees are tested in
//! `src-tauri/store-postgres/tests/`.
use std::sync::{Arc, Mutex};

use membership::{Mail, MailError, Mailer, Secret};

/// A mailer that keeps what it was given, for tests that read the database files directly.
#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<Mail>>);

impl Mailer for Recorder {
    fn send(&self, mail: &Mail) -> Result<(), MailError> {
        self.0.lock().unwrap().push(mail.clone());
        Ok(())
    }
}

#[test]
fn audit_log_refuses_changes_to_written_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.sqlite3");
    let mailbox = std::sync::Arc::new(membership::Mailbox::open(&path).unwrap());
    let p = membership::Programme::open(&path, mailbox).unwrap();
    membership::seed::seed_demo(&p, crate::common::T0).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))
        .unwrap();
    assert!(n > 0);
    assert!(conn
        .execute("UPDATE audit_log SET detail = 'forged'", [])
        .is_err());
    assert!(conn.execute("DELETE FROM audit_log", []).is_err());
}

#[test]
fn tokens_are_stored_only_as_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.sqlite3");
    let mailer = Arc::new(Recorder::default());
    let p = membership::Programme::open(&path, mailer.clone()).unwrap();
    membership::seed::seed_demo(&p, crate::common::T0).unwrap();
    let now = crate::common::T0;
    let s = p
        .sign_in(
            "staff@example.net",
            &Secret::new(membership::seed::DEMO_PASSWORD),
            now,
        )
        .unwrap();
    let caller = p.authenticate(&s.access_token, now).unwrap();
    let org = p
        .lookup(
            &caller,
            &membership::LookupQuery {
                partner_id: Some("4512345".into()),
                ..Default::default()
            },
        )
        .unwrap()
        .items[0]
        .organisation_id
        .clone();
    p.request_association(
        &caller,
        &membership::NewAssociationRequest {
            organisation_id: org,
            first_name: "Sam".into(),
            last_name: "Taylor".into(),
            organisation_email: "sam@contoso.com".into(),
            phone: None,
            job_title: None,
        },
        now,
    )
    .unwrap();
    let link = mailer
        .0
        .lock()
        .unwrap()
        .last()
        .unwrap()
        .link
        .clone()
        .unwrap();
    let verification = link.rsplit('=').next().unwrap().to_owned();
    drop(p);
    // Read every byte of the database files: no token and no password in them.
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    for secret in [
        s.access_token.expose(),
        s.refresh_token.expose(),
        verification.as_str(),
        membership::seed::DEMO_PASSWORD,
    ] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "a secret was found at rest"
        );
    }
}

/// A domain pre-approved before domain proof existed (a database at migration 2) becomes
/// `legacy`: it keeps accepting at once through its grace period, with a record of its own to
/// publish, and is an unproven `pending` domain afterwards.
#[test]
fn a_domain_pre_approved_before_domain_proof_accepts_through_its_grace_period_only() {
    use membership::{DomainStatus, RequestStatus};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.sqlite3");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(include_str!("../../src/migrations/0001_initial.sql"))
            .unwrap();
        conn.execute_batch(include_str!(
            "../../src/migrations/0002_idempotency_keys.sql"
        ))
        .unwrap();
        conn.pragma_update(None, "user_version", 2).unwrap();
        conn.execute_batch(
            "INSERT INTO accounts VALUES ('acct_old', 'old@legacy-corp.com', 'Old PPC', 'x', 0);
             INSERT INTO organisations(id, partner_id, name, country, city, created_at)
                 VALUES ('org_old', '4700001', 'Legacy Corp', 'Australia', 'Perth', 0);
             INSERT INTO org_domains VALUES ('legacy-corp.com', 'org_old', 0, 0, 'acct_old');",
        )
        .unwrap();
    }
    let mailbox = Arc::new(membership::Mailbox::open(&path).unwrap());
    let p = membership::Programme::open(&path, mailbox).unwrap();
    let (status, challenge): (String, String) = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT status, challenge FROM org_domains WHERE domain = 'legacy-corp.com'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(status, "legacy");
    assert_eq!(challenge.len(), 40, "160 random bits in hex: {challenge}");

    let now = membership::Timestamp::now_utc();
    let password = Secret::new("partnerdesk-demo");
    p.create_account("sam@example.net", "Sam Taylor", &password, now)
        .unwrap();
    let session = p.sign_in("sam@example.net", &password, now).unwrap();
    let sam = p.authenticate(&session.access_token, now).unwrap();
    let preview = p
        .preview_association(&sam, "org_old", "kim@legacy-corp.com")
        .unwrap();
    assert_eq!(preview.outcome, RequestStatus::Accepted);
    assert_eq!(preview.matched_domain_status, Some(DomainStatus::Legacy));

    // The first scheduled pass asks its PPC to prove it (the audit log records it).
    assert_eq!(p.run_domain_checks(now, 50).unwrap(), 1);
    let asked: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM events WHERE kind = 'domain.proof_requested' AND admins_of = 'org_old'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(asked, 1);
    p.run_domain_checks(now + time::Duration::hours(7), 50)
        .unwrap();
    let asked_again: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM events WHERE kind = 'domain.proof_requested'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(asked_again, 1, "asked once, not at every check");

    let grace = p.config().proof.legacy_grace_secs;
    let later = now + time::Duration::seconds(grace + 60);
    p.run_domain_checks(later, 50).unwrap();
    let session = p.sign_in("sam@example.net", &password, later).unwrap();
    let sam = p.authenticate(&session.access_token, later).unwrap();
    let preview = p
        .preview_association(&sam, "org_old", "kim@legacy-corp.com")
        .unwrap();
    assert_eq!(preview.outcome, RequestStatus::PendingApproval);
    assert_eq!(preview.matched_domain_status, Some(DomainStatus::Pending));
}
