//! The world every portable test starts from: the demo directory seeded into a fresh store of
//! `crate::backend` (SQLite here; the PostgreSQL crate's `tests/service.rs` includes these very
//! files with a backend of its own). Tests name the service `P`, never a store.
use std::sync::Arc;

use membership::seed::{seed_demo, DEMO_PASSWORD};
use membership::{
    Caller, Config, Error, Mailbox, NewAssociationRequest, Programme, Secret, Timestamp,
};
use tempfile::TempDir;
use time::macros::datetime;

use crate::backend;

pub const T0: Timestamp = datetime!(2026-11-27 09:00 UTC);

/// The membership service over the store under test.
pub type P = Programme<backend::S>;

pub struct World {
    pub p: P,
    pub mailbox: Arc<Mailbox>,
    pub now: Timestamp,
    _dir: TempDir,
}

pub fn world() -> World {
    world_with(|p| p)
}

/// The demo world with domain proof asking the DNS server at `dns` (a `testkit::dns::DnsServer`),
/// with a short timeout.
pub fn world_with_dns(dns: std::net::SocketAddr) -> World {
    let resolver = membership::dns::Resolver::new(Some(dns), std::time::Duration::from_millis(400))
        .expect("a resolver");
    world_with(move |p| p.with_dns(Arc::new(resolver)))
}

fn world_with(f: impl FnOnce(P) -> P) -> World {
    world_of(None, f)
}

/// The demo world sending its mail through `relay` instead of the embedded mailbox.
pub fn world_with_relay(relay: Arc<dyn membership::Mailer>, f: impl FnOnce(P) -> P) -> World {
    world_of(Some(relay), f)
}

fn world_of(relay: Option<Arc<dyn membership::Mailer>>, f: impl FnOnce(P) -> P) -> World {
    let dir = tempfile::tempdir().expect("a temp dir");
    // The embedded backend's mailbox is a table of the desktop's SQLite file whatever the store.
    let mailbox =
        Arc::new(Mailbox::open(&dir.path().join("membership.sqlite3")).expect("mailbox opens"));
    let p = Programme::with_store(
        backend::fresh_store(dir.path()),
        relay.unwrap_or_else(|| mailbox.clone()),
        Config::default(),
    );
    let p = f(p);
    assert!(seed_demo(&p, T0).expect("seed"), "a new database is seeded");
    World {
        p,
        mailbox,
        now: T0,
        _dir: dir,
    }
}

impl World {
    pub fn sign_in(&self, email: &str) -> Caller {
        let s = self
            .p
            .sign_in(email, &Secret::new(DEMO_PASSWORD), self.now)
            .expect("demo sign-in");
        self.p
            .authenticate(&s.access_token, self.now)
            .expect("fresh token authenticates")
    }

    pub fn new_account(&self, email: &str, name: &str) -> Caller {
        self.p
            .create_account(email, name, &Secret::new(DEMO_PASSWORD), self.now)
            .expect("account created");
        self.sign_in(email)
    }

    pub fn org(&self, partner_id: &str) -> String {
        let caller = self.sign_in("staff@example.net");
        let q = membership::LookupQuery {
            partner_id: Some(partner_id.into()),
            ..Default::default()
        };
        let page = self.p.lookup(&caller, &q).expect("lookup");
        assert_eq!(
            page.items.len(),
            1,
            "partner ID {partner_id} names one organisation"
        );
        page.items[0].organisation_id.clone()
    }

    pub fn contoso(&self) -> String {
        self.org("4512345")
    }

    pub fn fabrikam(&self) -> String {
        self.org("4598765")
    }

    pub fn request(
        &self,
        who: &Caller,
        org: &str,
        email: &str,
    ) -> Result<membership::RequestCreated, Error> {
        self.p.request_association(
            who,
            &NewAssociationRequest {
                organisation_id: org.into(),
                first_name: "Sam".into(),
                last_name: "Taylor".into(),
                organisation_email: email.into(),
                phone: Some("+61 2 9876 5432".into()),
                job_title: Some("Engineer".into()),
            },
            self.now,
        )
    }

    /// The token in the newest verification mail to `address`, as the user would copy it.
    pub fn token_for(&self, address: &str) -> Secret {
        let mails = self
            .mailbox
            .list_for(&[address.to_owned()])
            .expect("mailbox lists");
        let link = mails
            .iter()
            .find_map(|m| m.mail.link.clone())
            .unwrap_or_else(|| panic!("no verification mail to {address}"));
        Secret::new(
            link.strip_prefix("partnerdesk://verify?token=")
                .expect("a partnerdesk link"),
        )
    }

    pub fn advance(&mut self, secs: i64) {
        self.now += time::Duration::seconds(secs);
    }
}

pub fn code(r: Result<impl std::fmt::Debug, Error>) -> String {
    match r {
        Ok(v) => panic!("expected a refusal, got {v:?}"),
        Err(e) => e.code().to_owned(),
    }
}
