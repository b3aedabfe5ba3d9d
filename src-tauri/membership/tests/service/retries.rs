//! The seam lets a store run a write again (PostgreSQL does after a serialization failure): the
//! rule's first run is rolled back and only the committed run's mail is sent.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use membership::seed::{seed_demo, DEMO_PASSWORD};
use membership::store::sqlite::SqliteStore;
use membership::store::{ReadTx, Store, WriteTx};
use membership::{Config, Error, LookupQuery, Mailbox, NewAssociationRequest, Programme, Secret};

use crate::common::T0;

/// SQLite, but every write's first run is rolled back as if the database had refused to
/// serialise it, and the write is run again.
struct RetryOnce {
    inner: SqliteStore,
    runs: Arc<AtomicUsize>,
}

impl Store for RetryOnce {
    fn read<T>(&self, f: &mut dyn FnMut(&mut dyn ReadTx) -> Result<T, Error>) -> Result<T, Error> {
        self.inner.read(f)
    }

    fn write<T>(
        &self,
        f: &mut dyn FnMut(&mut dyn WriteTx) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let first = self.inner.write(&mut |tx| {
            self.runs.fetch_add(1, Ordering::SeqCst);
            f(tx)?;
            Err::<(), _>(Error::new(
                membership::ErrorKind::Internal,
                "simulated_serialization_failure",
                "rolled back",
            ))
        });
        match first {
            Err(e) if e.code() == "simulated_serialization_failure" => {}
            other => return other.map(|_| unreachable!("the first run always rolls back")),
        }
        self.inner.write(&mut |tx| {
            self.runs.fetch_add(1, Ordering::SeqCst);
            f(tx)
        })
    }
}

#[test]
fn a_write_run_twice_by_its_store_changes_once_and_sends_its_mail_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("membership.sqlite3");
    let mailbox = Arc::new(Mailbox::open(&path).unwrap());
    let runs = Arc::new(AtomicUsize::new(0));
    let store = RetryOnce {
        inner: SqliteStore::open(&path).unwrap(),
        runs: runs.clone(),
    };
    // With a mail worker, a change only keeps its mail in the outbox: the runs counted below are
    // the approval's own; the test then delivers the outbox itself.
    let p = Programme::with_store(store, mailbox.clone(), Config::default())
        .with_mail_worker(Arc::new(|| {}));
    assert!(seed_demo(&p, T0).unwrap(), "a new database is seeded");

    let s = p
        .sign_in("staff@example.net", &Secret::new(DEMO_PASSWORD), T0)
        .unwrap();
    let staff = p.authenticate(&s.access_token, T0).unwrap();
    let q = LookupQuery {
        partner_id: Some("4598765".into()),
        ..Default::default()
    };
    let fabrikam = p.lookup(&staff, &q).unwrap().items[0]
        .organisation_id
        .clone();
    let req = p
        .request_association(
            &staff,
            &NewAssociationRequest {
                organisation_id: fabrikam.clone(),
                first_name: "Sam".into(),
                last_name: "Taylor".into(),
                organisation_email: "sam@fabrikam.com".into(),
                phone: None,
                job_title: None,
            },
            T0,
        )
        .unwrap();
    let s = p
        .sign_in("ppc@fabrikam.com", &Secret::new(DEMO_PASSWORD), T0)
        .unwrap();
    let ppc = p.authenticate(&s.access_token, T0).unwrap();

    let before = p
        .audit(&ppc, &fabrikam, &Default::default())
        .unwrap()
        .items
        .len();
    let runs_before = runs.load(Ordering::SeqCst);
    p.approve(&ppc, &req.request_id, T0).unwrap();
    assert_eq!(
        runs.load(Ordering::SeqCst) - runs_before,
        2,
        "the approval ran twice"
    );

    p.deliver_mail(T0, 10).unwrap();
    assert!(
        p.deliver_mail(T0, 10).unwrap().is_idle(),
        "the outbox held one mail"
    );
    let mails = mailbox.list_for(&["sam@fabrikam.com".into()]).unwrap();
    assert_eq!(
        mails.len(),
        1,
        "one verification mail, from the run that committed"
    );
    let after = p
        .audit(&ppc, &fabrikam, &Default::default())
        .unwrap()
        .items
        .len();
    assert_eq!(after - before, 1, "one audit entry for one approval");

    // The mailed token is the one the committed run stored.
    let link = mails[0].mail.link.clone().expect("a verification link");
    let token = Secret::new(link.strip_prefix("partnerdesk://verify?token=").unwrap());
    let verified = p.verify(&staff, &token, T0).unwrap();
    assert!(!verified.membership_id.is_empty());
}
