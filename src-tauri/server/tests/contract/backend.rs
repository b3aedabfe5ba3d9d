//! The contract, as operations: the scenarios in `scenarios.rs` are written against this trait
//! only, so the same scenarios can run against any backend — the real server over HTTP here, and
//! the desktop app's embedded backend once it implements [`Backend`] too. Answers are JSON values
//! with API.md's field names; refusals are the status and code API.md names.
use reqwest::Method;
use serde_json::{json, Value};

use crate::server::TestServer;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub code: String,
}

pub type Outcome = Result<Value, Refusal>;

/// A session is the access token, whatever the backend.
pub type Session = String;

#[allow(async_fn_in_trait)]
pub trait Backend {
    async fn create_account(&self, email: &str, display_name: &str, password: &str) -> Outcome;
    async fn sign_in(&self, email: &str, password: &str) -> Result<Session, Refusal>;
    async fn me(&self, who: &Session) -> Outcome;
    async fn lookup_partner_id(&self, who: &Session, partner_id: &str) -> Outcome;
    async fn preview(&self, who: &Session, org: &str, organisation_email: &str) -> Outcome;
    async fn request_association(
        &self,
        who: &Session,
        org: &str,
        first: &str,
        last: &str,
        organisation_email: &str,
    ) -> Outcome;
    async fn association_request(&self, who: &Session, id: &str) -> Outcome;
    async fn queue(&self, who: &Session, org: &str, status: &str) -> Outcome;
    async fn approve(&self, who: &Session, id: &str) -> Outcome;
    async fn deny(&self, who: &Session, id: &str, reason: &str) -> Outcome;
    async fn withdraw(&self, who: &Session, id: &str) -> Outcome;
    async fn verify(&self, who: &Session, token: &str) -> Outcome;
    async fn profile(&self, who: &Session, membership: &str) -> Outcome;
    async fn add_domain(
        &self,
        who: &Session,
        org: &str,
        domain: &str,
        include_subdomains: bool,
    ) -> Outcome;
    async fn members(&self, who: &Session, org: &str) -> Outcome;
    /// Mail delivered to `address` so far, as (subject, body), after waiting for at least
    /// `at_least` of them.
    async fn mail_to(&self, address: &str, at_least: usize) -> Vec<(String, String)>;
}

fn outcome(status: reqwest::StatusCode, body: Value) -> Outcome {
    if status.is_success() {
        Ok(body)
    } else {
        Err(Refusal {
            status: status.as_u16(),
            code: body["error"]["code"]
                .as_str()
                .unwrap_or("<no code>")
                .to_owned(),
        })
    }
}

impl TestServer {
    async fn op(
        &self,
        method: Method,
        path: &str,
        who: Option<&Session>,
        body: Option<Value>,
    ) -> Outcome {
        let (status, body) = self.call(method, path, who.map(String::as_str), body).await;
        outcome(status, body)
    }
}

impl Backend for TestServer {
    async fn create_account(&self, email: &str, display_name: &str, password: &str) -> Outcome {
        self.op(
            Method::POST,
            "/v1/accounts",
            None,
            Some(json!({"email": email, "display_name": display_name, "password": password})),
        )
        .await
    }

    async fn sign_in(&self, email: &str, password: &str) -> Result<Session, Refusal> {
        let body = self
            .op(
                Method::POST,
                "/v1/sessions",
                None,
                Some(json!({"email": email, "password": password})),
            )
            .await?;
        Ok(body["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned())
    }

    async fn me(&self, who: &Session) -> Outcome {
        self.op(Method::GET, "/v1/me", Some(who), None).await
    }

    async fn lookup_partner_id(&self, who: &Session, partner_id: &str) -> Outcome {
        self.op(
            Method::GET,
            &format!("/v1/organisations?partner_id={partner_id}"),
            Some(who),
            None,
        )
        .await
    }

    async fn preview(&self, who: &Session, org: &str, organisation_email: &str) -> Outcome {
        self.op(
            Method::POST,
            &format!("/v1/organisations/{org}/association-preview"),
            Some(who),
            Some(json!({"organisation_email": organisation_email})),
        )
        .await
    }

    async fn request_association(
        &self,
        who: &Session,
        org: &str,
        first: &str,
        last: &str,
        organisation_email: &str,
    ) -> Outcome {
        self.op(
            Method::POST,
            "/v1/association-requests",
            Some(who),
            Some(json!({"organisation_id": org, "first_name": first, "last_name": last, "organisation_email": organisation_email})),
        )
        .await
    }

    async fn association_request(&self, who: &Session, id: &str) -> Outcome {
        self.op(
            Method::GET,
            &format!("/v1/association-requests/{id}"),
            Some(who),
            None,
        )
        .await
    }

    async fn queue(&self, who: &Session, org: &str, status: &str) -> Outcome {
        self.op(
            Method::GET,
            &format!("/v1/organisations/{org}/association-requests?status={status}"),
            Some(who),
            None,
        )
        .await
    }

    async fn approve(&self, who: &Session, id: &str) -> Outcome {
        self.op(
            Method::POST,
            &format!("/v1/association-requests/{id}/approve"),
            Some(who),
            None,
        )
        .await
    }

    async fn deny(&self, who: &Session, id: &str, reason: &str) -> Outcome {
        self.op(
            Method::POST,
            &format!("/v1/association-requests/{id}/deny"),
            Some(who),
            Some(json!({"reason": reason})),
        )
        .await
    }

    async fn withdraw(&self, who: &Session, id: &str) -> Outcome {
        self.op(
            Method::POST,
            &format!("/v1/association-requests/{id}/withdraw"),
            Some(who),
            None,
        )
        .await
    }

    async fn verify(&self, who: &Session, token: &str) -> Outcome {
        self.op(
            Method::POST,
            "/v1/verifications",
            Some(who),
            Some(json!({"token": token})),
        )
        .await
    }

    async fn profile(&self, who: &Session, membership: &str) -> Outcome {
        self.op(
            Method::GET,
            &format!("/v1/memberships/{membership}/profile"),
            Some(who),
            None,
        )
        .await
    }

    async fn add_domain(
        &self,
        who: &Session,
        org: &str,
        domain: &str,
        include_subdomains: bool,
    ) -> Outcome {
        self.op(
            Method::POST,
            &format!("/v1/organisations/{org}/domains"),
            Some(who),
            Some(json!({"domain": domain, "include_subdomains": include_subdomains})),
        )
        .await
    }

    async fn members(&self, who: &Session, org: &str) -> Outcome {
        self.op(
            Method::GET,
            &format!("/v1/organisations/{org}/members"),
            Some(who),
            None,
        )
        .await
    }

    async fn mail_to(&self, address: &str, at_least: usize) -> Vec<(String, String)> {
        let sink = self.mail.clone();
        let address = address.to_owned();
        tokio::task::spawn_blocking(move || {
            if at_least > 0 {
                sink.wait_for(&address, at_least);
            }
            sink.to(&address)
                .into_iter()
                .map(|m| (m.subject, m.body))
                .collect()
        })
        .await
        .expect("the mail reader ran")
    }
}
