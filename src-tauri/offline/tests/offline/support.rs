//! The backends the tests sync against, both through the app's own client crate: the real
//! server binary (testkit, random loopback port, temp database) through `client::Remote`, and the
//! membership service in process through `client::Embedded`.
use std::path::PathBuf;
use std::sync::Arc;

use client::{Backend, Embedded, Remote};
use membership::{NewAssociationRequest, Secret, Timestamp};
use offline::{Field, LocalStore, ProfileEdit, Scope, SyncEngine};
use tempfile::TempDir;
use testkit::{TestServer, DEMO_PASSWORD};

pub enum Subject {
    Remote {
        server: Box<TestServer>,
        remote: Box<Remote>,
    },
    Embedded {
        embedded: Box<Embedded>,
        _dir: TempDir,
    },
}

impl Subject {
    pub fn remote() -> Self {
        Self::remote_with(&[])
    }

    pub fn remote_with(extra: &[&str]) -> Self {
        Self::around(TestServer::start_with(extra))
    }

    /// The server with its request log kept (`TestServer::logs`).
    pub fn remote_logged() -> Self {
        Self::around(TestServer::start_logged("info"))
    }

    fn around(server: TestServer) -> Self {
        let remote = Remote::new(server.base()).expect("the test server's URL is valid");
        Self::Remote {
            server: Box::new(server),
            remote: Box::new(remote),
        }
    }

    pub fn embedded() -> Self {
        let dir = tempfile::tempdir().expect("a temp dir");
        let embedded = Embedded::open(
            &dir.path().join("membership.sqlite3"),
            membership::Config::default(),
        )
        .expect("the embedded backend opens");
        membership::seed::seed_demo(embedded.programme(), now()).expect("demo data");
        Self::Embedded {
            embedded: Box::new(embedded),
            _dir: dir,
        }
    }

    pub fn api(&self) -> &dyn Backend {
        match self {
            Self::Remote { remote, .. } => remote.as_ref(),
            Self::Embedded { embedded, .. } => embedded.as_ref(),
        }
    }

    pub fn server(&mut self) -> &mut TestServer {
        match self {
            Self::Remote { server, .. } => server,
            Self::Embedded { .. } => panic!("only the remote backend has a server"),
        }
    }

    /// SIGKILL to the server: the backend becomes unreachable.
    pub fn kill(&mut self) {
        self.server().kill();
    }

    /// The server again on the same database; a new client if it came back on another port.
    pub fn restart(&mut self) {
        if let Self::Remote { server, remote } = self {
            let base = server.restart().to_owned();
            if remote.base_url() != base {
                **remote = Remote::new(&base).expect("valid URL");
            }
        }
    }

    pub fn sign_in(&self, email: &str) -> Secret {
        self.api()
            .sign_in(email, &Secret::new(DEMO_PASSWORD))
            .expect("demo sign-in")
            .access_token
    }

    pub fn account_id(&self, token: &Secret) -> String {
        self.api().me(token).expect("me").account.account_id
    }

    /// A new account that joins Contoso (pre-approved domain) and verifies: its token and its
    /// active membership's id.
    pub fn new_contoso_member(&self, local_part: &str) -> (Secret, String) {
        let api = self.api();
        let email = format!("{local_part}.personal@example.org");
        api.create_account(&email, "Test Member", &Secret::new(DEMO_PASSWORD))
            .expect("account created");
        let token = self.sign_in(&email);
        let query = membership::LookupQuery {
            partner_id: Some("4512345".into()),
            ..Default::default()
        };
        let contoso = api.lookup(&token, &query).expect("lookup").items[0]
            .organisation_id
            .clone();
        let address = format!("{local_part}@contoso.com");
        api.request_association(
            &token,
            &NewAssociationRequest {
                organisation_id: contoso,
                first_name: "Test".into(),
                last_name: "Member".into(),
                organisation_email: address.clone(),
                phone: None,
                job_title: None,
            },
        )
        .expect("request accepted");
        let body = match self {
            Self::Remote { server, .. } => server.mail.wait_for(&address, 1)[0].body.clone(),
            Self::Embedded { embedded, .. } => {
                embedded
                    .mailbox(&token)
                    .expect("mailbox")
                    .expect("the embedded backend keeps mail")
                    .into_iter()
                    .find(|m| m.mail.to == address)
                    .expect("a verification mail")
                    .mail
                    .body
            }
        };
        let code = token_in(&body);
        let verified = api.verify(&token, &Secret::new(code)).expect("verified");
        (token, verified.membership_id)
    }
}

fn token_in(body: &str) -> String {
    let marker = "partnerdesk://verify?token=";
    let start = body.find(marker).expect("an app link") + marker.len();
    body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

pub fn now() -> Timestamp {
    Timestamp::now_utc()
}

/// A local store in a temp dir, and its path.
pub fn local_store() -> (TempDir, PathBuf, Arc<LocalStore>) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("local.sqlite3");
    let store = Arc::new(LocalStore::open(&path).expect("the local store opens"));
    (dir, path, store)
}

/// An engine for `token`'s account, with its memberships and profiles cached.
pub fn engine_for(subject: &Subject, store: &Arc<LocalStore>, token: &Secret) -> SyncEngine {
    let scope = Scope::new("test-backend", subject.account_id(token));
    let engine = SyncEngine::new(store.clone(), scope);
    let outcome = engine
        .refresh(subject.api(), token, now())
        .expect("the refresh stores");
    assert_eq!(outcome, offline::Outcome::Done);
    engine
}

pub fn edit(pairs: &[(Field, &str)]) -> ProfileEdit {
    let mut e = ProfileEdit::new();
    for (f, v) in pairs {
        e.set(*f, v).expect("a valid value");
    }
    e
}

/// The active memberships of the account, in a stable order.
pub fn memberships(subject: &Subject, token: &Secret) -> Vec<String> {
    let mut ids: Vec<String> = subject
        .api()
        .me(token)
        .expect("me")
        .memberships
        .into_iter()
        .filter(|m| m.status == membership::MembershipStatus::Active)
        .map(|m| m.membership_id)
        .collect();
    ids.sort();
    ids
}

/// A sync run that reports nothing.
pub fn quiet(_: offline::Progress) {}

/// Writes a line straight to the test's stderr, which the test harness does not capture (it
/// captures only the print macros): the figures reach CI's log when the test passes too.
pub fn report(line: &str) {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
    let _ = err.flush();
}

/// The server updates one membership's log of synced edits stands for: one per key (an edit's
/// own, or the batch's it went in). Checks that edits which went together share the revision they
/// made and that each request made a later revision than the one before.
pub fn server_updates(log: &[offline::SyncedEdit]) -> u64 {
    let applied: Vec<(&str, u64)> = log
        .iter()
        .filter_map(|e| Some((e.idempotency_key.as_str(), e.revision?)))
        .collect();
    assert!(
        applied
            .windows(2)
            .all(|w| (w[0].0 == w[1].0 && w[0].1 == w[1].1) || w[0].1 < w[1].1),
        "each request made its own revision: {applied:?}"
    );
    let keys: std::collections::BTreeSet<&str> =
        log.iter().map(|e| e.idempotency_key.as_str()).collect();
    keys.len() as u64
}
