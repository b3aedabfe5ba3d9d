//! The people and the backend of a test: the real server (testkit), accounts signed in through the
//! app's own client, and an [`Alerts`] wired to a [`DbusNotifier`] on the test's private bus.
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alerts::{
    Acted, Alerts, AppIdentity, Clock, Config, DbusNotifier, Entry, Hooks, Inbox, Notice, Scope,
    Settings, Status,
};
use client::{Backend, Remote};
use membership::{
    AssociationRequest, LookupQuery, NewAssociationRequest, RequestCreated, Secret, SessionTokens,
};

pub const PASSWORD: &str = testkit::DEMO_PASSWORD;
pub const PPC: &str = "ppc@fabrikam.com";

/// The real server, with limits high enough for a test that makes many accounts and requests.
pub fn server() -> testkit::TestServer {
    testkit::TestServer::start_with(&["--limit-requests", "1000", "--limit-sign-in", "1000"])
}

pub fn remote(server: &testkit::TestServer) -> Arc<dyn Backend> {
    Arc::new(Remote::new(server.base()).expect("the test server's address is valid"))
}

/// A signed-in account whose access token renews itself when the backend refuses it, as the
/// shell's session does.
pub struct Session {
    backend: Arc<dyn Backend>,
    tokens: Mutex<SessionTokens>,
    pub account_id: String,
    pub email: String,
}

impl Session {
    pub fn sign_in(backend: &Arc<dyn Backend>, email: &str) -> Arc<Self> {
        let tokens = backend
            .sign_in(email, &Secret::new(PASSWORD))
            .unwrap_or_else(|e| panic!("{email} signs in: {e:?}"));
        Arc::new(Self {
            backend: backend.clone(),
            account_id: tokens.account.account_id.clone(),
            email: email.to_owned(),
            tokens: Mutex::new(tokens),
        })
    }

    /// A new account, signed in.
    pub fn new_account(backend: &Arc<dyn Backend>, email: &str, name: &str) -> Arc<Self> {
        backend
            .create_account(email, name, &Secret::new(PASSWORD))
            .unwrap_or_else(|e| panic!("{email} gets an account: {e:?}"));
        Self::sign_in(backend, email)
    }

    pub fn access(&self) -> Secret {
        self.tokens.lock().unwrap().access_token.clone()
    }

    fn renew(&self, refused: Option<&Secret>) -> Result<Secret, membership::Error> {
        let mut tokens = self.tokens.lock().unwrap();
        if refused.is_some_and(|r| *r == tokens.access_token) {
            *tokens = self.backend.refresh(&tokens.refresh_token)?;
        }
        Ok(tokens.access_token.clone())
    }

    /// Asks to join `org` as `first last <email>`.
    pub fn ask_to_join(&self, org: &str, first: &str, last: &str, email: &str) -> RequestCreated {
        self.backend
            .request_association(
                &self.access(),
                &NewAssociationRequest {
                    organisation_id: org.to_owned(),
                    first_name: first.to_owned(),
                    last_name: last.to_owned(),
                    organisation_email: email.to_owned(),
                    phone: None,
                    job_title: None,
                },
            )
            .unwrap_or_else(|e| panic!("the request to join is made: {e:?}"))
    }

    /// The request as it is now (renewing the session if the test moved the clock past it).
    pub fn request(&self, id: &str) -> AssociationRequest {
        let access = self.access();
        match self.backend.association_request(&access, id) {
            Err(e) if e.kind() == membership::ErrorKind::Unauthenticated => {
                let renewed = self.renew(Some(&access)).expect("the session renews");
                self.backend.association_request(&renewed, id)
            }
            other => other,
        }
        .expect("the request reads")
    }

    /// The id of the organisation named exactly `name`.
    pub fn organisation(&self, name: &str) -> String {
        let page = self
            .backend
            .lookup(
                &self.access(),
                &LookupQuery {
                    q: Some(name.to_owned()),
                    ..LookupQuery::default()
                },
            )
            .expect("lookup answers");
        page.items
            .into_iter()
            .find(|o| o.name == name)
            .unwrap_or_else(|| panic!("{name} is a demo organisation"))
            .organisation_id
    }
}

/// What the hooks heard.
#[derive(Default)]
pub struct Heard {
    pub opened: Mutex<Vec<Notice>>,
    pub acted: Mutex<Vec<(i64, Result<String, String>)>>,
    pub statuses: Mutex<Vec<Status>>,
}

/// A follower for `session`, its inbox at `inbox`, showing notifications on `bus_address`.
pub struct Follower {
    pub alerts: Alerts,
    pub heard: Arc<Heard>,
}

impl Follower {
    pub fn start(
        backend: &Arc<dyn Backend>,
        session: &Arc<Session>,
        inbox: &Path,
        bus_address: &str,
        settings: Settings,
        clock: Option<Clock>,
    ) -> Self {
        let heard = Arc::new(Heard::default());
        let (h1, h2, h3) = (heard.clone(), heard.clone(), heard.clone());
        let hooks = Hooks {
            changed: None,
            open: Some(Arc::new(move |n: &Notice| {
                h1.opened.lock().unwrap().push(n.clone())
            })),
            acted: Some(Arc::new(move |a: &Acted| {
                h2.acted.lock().unwrap().push((
                    a.notice_id,
                    a.result.clone().map_err(|e| e.code().to_owned()),
                ))
            })),
            status: Some(Arc::new(move |s: &Status| {
                h3.statuses.lock().unwrap().push(s.clone())
            })),
        };
        let tokens = session.clone();
        let alerts = Alerts::new(Config {
            backend: backend.clone(),
            tokens: Arc::new(move |refused: Option<&Secret>| tokens.renew(refused)),
            inbox: Arc::new(Inbox::open(inbox).expect("the inbox opens")),
            scope: Scope {
                backend: "test-backend".into(),
                account_id: session.account_id.clone(),
            },
            settings,
            hooks,
            clock,
        });
        let notifier =
            DbusNotifier::connect(bus_address, AppIdentity::default(), alerts.action_handler())
                .expect("the notifier reaches the mock notification server");
        assert!(notifier.supports_actions());
        alerts.set_notifier(Some(Arc::new(notifier)));
        alerts.start();
        Self { alerts, heard }
    }

    /// Waits until the inbox holds `n` notices; returns them, newest first.
    pub fn wait_for_entries(&self, n: usize, within: Duration) -> Vec<Entry> {
        wait_for(within, || {
            let entries = self.alerts.entries(100).expect("the inbox reads");
            (entries.len() >= n).then_some(entries)
        })
        .unwrap_or_else(|| {
            panic!(
                "expected {n} notices; the inbox has {:#?}; status {:?}",
                self.alerts.entries(100),
                self.alerts.status()
            )
        })
    }

    pub fn wait_for_status(&self, want: impl Fn(&Status) -> bool, within: Duration) {
        wait_for(within, || want(&self.alerts.status()).then_some(()))
            .unwrap_or_else(|| panic!("status stayed {:?}", self.alerts.status()));
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.alerts.stop();
    }
}

/// Polls `f` every 20 ms until it gives a value or `within` passes.
pub fn wait_for<T>(within: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The verification token in the latest mail to `address`.
pub fn verification_token(server: &testkit::TestServer, address: &str) -> Secret {
    let mail = server.mail.wait_for(address, 1);
    let body = &mail.last().expect("a verification mail").body;
    let marker = "partnerdesk://verify?token=";
    let start = body.find(marker).expect("the mail has the app link") + marker.len();
    let token: String = body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    Secret::new(token)
}
