//! The same contract, in process: the membership service behind the desktop app's embedded
//! backend, with its mailbox. Running the scenarios here too is what keeps the server and the
//! embedded backend from drifting apart.
use std::sync::Arc;

use membership::{
    LookupQuery, Mailbox, NewAssociationRequest, PageRequest, Programme, RequestStatus, Secret,
    Timestamp,
};
use serde::Serialize;
use tempfile::TempDir;

use crate::backend::{Backend, Outcome, Refusal, Session};

pub struct Embedded {
    p: Programme,
    mailbox: Arc<Mailbox>,
    _dir: TempDir,
}

impl Embedded {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("membership.sqlite3");
        let mailbox = Arc::new(Mailbox::open(&path).expect("the mailbox opens"));
        let config = membership::Config {
            public_url: Some("https://members.partnerdesk.test".into()),
            ..Default::default()
        };
        let p = Programme::with_config(&path, mailbox.clone(), config).expect("the service opens");
        membership::seed::seed_demo(&p, Timestamp::now_utc()).expect("demo data");
        Self {
            p,
            mailbox,
            _dir: dir,
        }
    }

    fn caller(&self, who: &Session) -> Result<membership::Caller, Refusal> {
        self.p
            .authenticate(&Secret::new(who.as_str()), Timestamp::now_utc())
            .map_err(refusal)
    }
}

fn refusal(e: membership::Error) -> Refusal {
    Refusal {
        status: e.kind().http_status(),
        code: e.code().to_owned(),
    }
}

fn answer<T: Serialize>(r: Result<T, membership::Error>) -> Outcome {
    r.map(|v| serde_json::to_value(v).expect("serialisable"))
        .map_err(refusal)
}

fn now() -> Timestamp {
    Timestamp::now_utc()
}

impl Backend for Embedded {
    async fn create_account(&self, email: &str, display_name: &str, password: &str) -> Outcome {
        answer(
            self.p
                .create_account(email, display_name, &Secret::new(password), now())
                .map(|id| serde_json::json!({"account_id": id})),
        )
    }

    async fn sign_in(&self, email: &str, password: &str) -> Result<Session, Refusal> {
        self.p
            .sign_in(email, &Secret::new(password), now())
            .map(|s| s.access_token.expose().to_owned())
            .map_err(refusal)
    }

    async fn me(&self, who: &Session) -> Outcome {
        answer(self.p.me(&self.caller(who)?))
    }

    async fn lookup_partner_id(&self, who: &Session, partner_id: &str) -> Outcome {
        let q = LookupQuery {
            partner_id: Some(partner_id.into()),
            ..Default::default()
        };
        answer(self.p.lookup(&self.caller(who)?, &q))
    }

    async fn preview(&self, who: &Session, org: &str, organisation_email: &str) -> Outcome {
        answer(
            self.p
                .preview_association(&self.caller(who)?, org, organisation_email),
        )
    }

    async fn request_association(
        &self,
        who: &Session,
        org: &str,
        first: &str,
        last: &str,
        organisation_email: &str,
    ) -> Outcome {
        let new = NewAssociationRequest {
            organisation_id: org.into(),
            first_name: first.into(),
            last_name: last.into(),
            organisation_email: organisation_email.into(),
            phone: None,
            job_title: None,
        };
        answer(self.p.request_association(&self.caller(who)?, &new, now()))
    }

    async fn association_request(&self, who: &Session, id: &str) -> Outcome {
        answer(self.p.association_request(&self.caller(who)?, id))
    }

    async fn queue(&self, who: &Session, org: &str, status: &str) -> Outcome {
        answer(self.p.association_queue(
            &self.caller(who)?,
            org,
            RequestStatus::parse(status),
            &PageRequest::default(),
        ))
    }

    async fn approve(&self, who: &Session, id: &str) -> Outcome {
        answer(self.p.approve(&self.caller(who)?, id, now()))
    }

    async fn deny(&self, who: &Session, id: &str, reason: &str) -> Outcome {
        answer(self.p.deny(&self.caller(who)?, id, reason, now()))
    }

    async fn withdraw(&self, who: &Session, id: &str) -> Outcome {
        answer(self.p.withdraw(&self.caller(who)?, id, now()))
    }

    async fn verify(&self, who: &Session, token: &str) -> Outcome {
        answer(
            self.p
                .verify(&self.caller(who)?, &Secret::new(token), now()),
        )
    }

    async fn profile(&self, who: &Session, membership: &str) -> Outcome {
        answer(self.p.profile(&self.caller(who)?, membership))
    }

    async fn add_domain(
        &self,
        who: &Session,
        org: &str,
        domain: &str,
        include_subdomains: bool,
    ) -> Outcome {
        answer(
            self.p
                .add_domain(&self.caller(who)?, org, domain, include_subdomains, now()),
        )
    }

    async fn members(&self, who: &Session, org: &str) -> Outcome {
        answer(
            self.p
                .members(&self.caller(who)?, org, &PageRequest::default()),
        )
    }

    async fn mail_to(&self, address: &str, at_least: usize) -> Vec<(String, String)> {
        // Delivery is synchronous here: the mail is in the mailbox when the call returns.
        let mut mail: Vec<(String, String)> = self
            .mailbox
            .list_for(&[address.to_owned()])
            .expect("the mailbox reads")
            .into_iter()
            .map(|m| (m.mail.subject, m.mail.body))
            .collect();
        mail.reverse(); // oldest first, like the SMTP sink
        assert!(
            mail.len() >= at_least,
            "expected {at_least} mail(s) to {address}, got {}",
            mail.len()
        );
        mail
    }
}
