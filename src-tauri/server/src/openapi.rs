//! The OpenAPI 3.1 document, generated from the handlers' annotations and the wire types
//! themselves. `partner-desk-server --print-openapi > docs/openapi.json` regenerates the committed
//! copy; a test fails when that copy is stale or misses a served route.
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{accounts, events, memberships, organisations, requests};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Partner Desk membership API",
        description = "The remote membership backend of Partner Desk (API.md, v1). Errors are `{\"error\": {\"code\", \"message\"}}`; creating writes and profile edits accept `Idempotency-Key`; lists take `limit` and `cursor`.",
        license(name = "MIT OR Apache-2.0")
    ),
    paths(
        crate::routes::health,
        crate::routes::verify_page,
        accounts::create_account,
        accounts::sign_in,
        accounts::refresh,
        accounts::sign_out,
        accounts::me,
        organisations::create,
        organisations::lookup,
        organisations::get_one,
        organisations::domains,
        organisations::add_domain,
        organisations::remove_domain,
        organisations::preview,
        organisations::queue,
        organisations::invite,
        organisations::members,
        organisations::privilege_requests,
        organisations::audit,
        requests::create,
        requests::get_one,
        requests::approve,
        requests::deny,
        requests::withdraw,
        requests::resend,
        requests::verify,
        memberships::profile,
        memberships::update_profile,
        memberships::link_mcp_id,
        memberships::unlink_mcp_id,
        memberships::grant_privilege,
        memberships::revoke_privilege,
        memberships::request_privilege,
        memberships::remove,
        events::events,
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document as committed in docs/openapi.json (pretty, with a final newline).
pub fn document() -> String {
    let mut doc = ApiDoc::openapi();
    // The version comes from the workspace, so a release bump shows up in the document.
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let mut json = doc
        .to_pretty_json()
        .expect("the OpenAPI document serialises");
    json.push('\n');
    json
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");

    #[test]
    fn committed_openapi_document_is_up_to_date() {
        let generated = document();
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            std::fs::write(COMMITTED, &generated).expect("docs/openapi.json is writable");
        }
        let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/openapi.json is stale. Regenerate it with \
             `cargo run -p partner-desk-server -- --print-openapi > docs/openapi.json` \
             (or run this test with UPDATE_OPENAPI=1) and commit it."
        );
    }

    #[test]
    fn every_served_route_is_in_the_document_and_nothing_else_is() {
        let doc: serde_json::Value =
            serde_json::from_str(&document()).expect("the document is JSON");
        let documented: BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .expect("paths")
            .iter()
            .flat_map(|(path, ops)| {
                ops.as_object()
                    .expect("operations")
                    .keys()
                    .map(move |m| (m.to_uppercase(), path.clone()))
            })
            .collect();
        let served: BTreeSet<(String, String)> = crate::routes::table()
            .iter()
            .map(|r| (r.method.as_str().to_owned(), r.path.to_owned()))
            .collect();
        let undocumented: Vec<_> = served.difference(&documented).collect();
        let unserved: Vec<_> = documented.difference(&served).collect();
        assert!(
            undocumented.is_empty(),
            "served but missing from the OpenAPI document: {undocumented:?}"
        );
        assert!(
            unserved.is_empty(),
            "documented but not served: {unserved:?}"
        );
    }

    #[test]
    fn creating_writes_document_the_idempotency_key_header() {
        let doc: serde_json::Value =
            serde_json::from_str(&document()).expect("the document is JSON");
        for r in crate::routes::table().iter().filter(|r| r.idempotent) {
            let op = &doc["paths"][r.path][r.method.as_str().to_lowercase()];
            let has = op["parameters"].as_array().is_some_and(|ps| {
                ps.iter()
                    .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header")
            });
            assert!(has, "{} {} documents Idempotency-Key", r.method, r.path);
        }
    }
}
