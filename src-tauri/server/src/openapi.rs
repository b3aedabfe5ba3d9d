//! The OpenAPI 3.1 document, generated from the handlers' annotations and the wire types
//! themselves. `partner-desk-server --print-openapi > docs/openapi.json` regenerates the committed
//! copy; a test fails when that copy is stale or misses a served route.
use std::collections::{BTreeMap, BTreeSet};

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
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
        organisations::check_domain,
        organisations::remove_domain,
        organisations::preview,
        organisations::queue,
        organisations::invite,
        organisations::members,
        organisations::privilege_requests,
        organisations::audit,
        organisations::delegation,
        organisations::set_delegation,
        organisations::end_delegation,
        organisations::offer_handover,
        requests::create,
        requests::get_one,
        requests::approve,
        requests::deny,
        requests::withdraw,
        requests::decide_many,
        requests::ask_again,
        requests::resend,
        requests::verify,
        requests::accept_handover,
        requests::decline_handover,
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
    components(schemas(
        crate::error::ErrorBody,
        membership::domain::PersonName,
        membership::domain::OrganisationName,
        membership::domain::City,
        membership::domain::Country,
        membership::domain::JobTitle,
        membership::domain::StreetAddress,
        membership::domain::Website,
        membership::domain::Phone,
        membership::domain::McpId,
        membership::domain::PartnerId,
        membership::domain::Language,
        membership::domain::Password,
        membership::domain::EmailAddress,
        membership::domain::DomainName,
        membership::domain::Privilege,
        membership::RequestStatus,
        membership::domain::rules::schema::Reason,
        membership::domain::rules::schema::Note,
    )),
    modifiers(&BearerAuth, &Parameters, &Refusals, &Journey)
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

/// The formats of the headers and path parameters the handlers parse, from the definitions the
/// parsers use.
struct Parameters;

impl Modify for Parameters {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for ((method, path), op) in operations(openapi) {
            if (method, path.as_str()) == ("GET", "/v1/organisations") {
                lookup_criteria(op);
            }
            for p in op.parameters.iter_mut().flatten() {
                let schema: Option<RefOr<Schema>> = match (&p.parameter_in, p.name.as_str()) {
                    (ParameterIn::Header, "Idempotency-Key") => {
                        Some(patterned(crate::idempotency::KEY_PATTERN))
                    }
                    (ParameterIn::Header, "If-Match") => {
                        Some(patterned(crate::routes::memberships::IF_MATCH_PATTERN))
                    }
                    (ParameterIn::Path, "privilege") => {
                        Some(Ref::from_schema_name("Privilege").into())
                    }
                    (ParameterIn::Query, "cursor") | (ParameterIn::Header, "Last-Event-ID") => {
                        Some(patterned(membership::CURSOR_PATTERN))
                    }
                    (ParameterIn::Query, "limit") => Some(
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .minimum(Some(0))
                            .maximum(Some(u32::MAX))
                            .description(Some(
                                "Items per page: 1 to 100, 20 when absent; a value outside is \
                                 brought within.",
                            ))
                            .into(),
                    ),
                    (ParameterIn::Query, "status") => Some(
                        utoipa::openapi::schema::AnyOfBuilder::new()
                            .item(Ref::from_schema_name("RequestStatus"))
                            .item(
                                ObjectBuilder::new()
                                    .schema_type(Type::String)
                                    .max_length(Some(0)),
                            )
                            .description(Some(
                                "Only requests with this status; empty or absent for all.",
                            ))
                            .into(),
                    ),
                    _ => None,
                };
                if let Some(schema) = schema {
                    p.schema = Some(schema);
                }
            }
        }
    }
}

/// A string that matches `pattern`.
fn patterned(pattern: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .into()
}

/// Lookup's four criteria as one exploded form object (the same query string: `?q=…&city=…`), so
/// the document can say that at least one must be given.
fn lookup_criteria(op: &mut Operation) {
    use membership::domain::rules::schema::{blank, non_space_class};
    use utoipa::openapi::path::{ParameterBuilder, ParameterStyle};
    use utoipa::openapi::schema::AnyOfBuilder;
    const CRITERIA: [(&str, Option<&str>); 4] = [
        ("q", None),
        ("partner_id", Some("PartnerId")),
        ("country", Some("Country")),
        ("city", Some("City")),
    ];
    let params = op.parameters.get_or_insert_with(Vec::new);
    params.retain(|p| !CRITERIA.iter().any(|(name, _)| p.name == *name));
    let mut object = ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(
            utoipa::openapi::schema::AdditionalProperties::FreeForm(false),
        ));
    let mut at_least_one = AnyOfBuilder::new();
    for (name, schema) in CRITERIA {
        let (value, given): (RefOr<Schema>, RefOr<Schema>) = match schema {
            None => (
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .max_length(Some(membership::LOOKUP_MAX_CHARS))
                    .description(Some(
                        "Words or prefixes of the organisation's name; only punctuation finds \
                         nothing.",
                    ))
                    .into(),
                patterned(&non_space_class()),
            ),
            Some(schema) => (
                Schema::AnyOf(
                    AnyOfBuilder::new()
                        .item(Ref::from_schema_name(schema))
                        .item(blank())
                        .build(),
                )
                .into(),
                Ref::from_schema_name(schema).into(),
            ),
        };
        object = object.property(name, value);
        at_least_one = at_least_one.item(ObjectBuilder::new().property(name, given).required(name));
    }
    let schema = AllOfBuilder::new()
        .item(object)
        .item(Schema::AnyOf(at_least_one.build()));
    params.insert(
        0,
        ParameterBuilder::new()
            .name("criteria")
            .parameter_in(ParameterIn::Query)
            .style(Some(ParameterStyle::Form))
            .explode(Some(true))
            .required(utoipa::openapi::Required::True)
            .description(Some(
                "At least one of `q`, `partner_id`, `country` and `city`, as separate query \
                 parameters; a blank one counts as absent.",
            ))
            .schema(Some(schema))
            .build(),
    );
}

/// Every operation of the document with its method and path.
fn operations(
    openapi: &mut utoipa::openapi::OpenApi,
) -> impl Iterator<Item = ((&'static str, String), &mut Operation)> {
    openapi.paths.paths.iter_mut().flat_map(|(path, item)| {
        [
            ("GET", item.get.as_mut()),
            ("PUT", item.put.as_mut()),
            ("POST", item.post.as_mut()),
            ("DELETE", item.delete.as_mut()),
            ("PATCH", item.patch.as_mut()),
        ]
        .into_iter()
        .filter_map(move |(m, op)| Some(((m, path.clone()), op?)))
    })
}

/// The refusals each operation can answer: those of its shape (signed in, a JSON body, a query,
/// path parameters, an idempotency key) and those of its own rules (the route table's
/// `refuses`). The handlers' annotations name only their successes, so this is the one list.
pub(crate) fn refusals(
    route: &crate::routes::Route,
    op: &Operation,
) -> BTreeMap<u16, BTreeSet<&'static str>> {
    let mut by_status: BTreeMap<u16, BTreeSet<&'static str>> = BTreeMap::new();
    let mut add = |status: u16, codes: &[&'static str]| {
        by_status
            .entry(status)
            .or_default()
            .extend(codes.iter().copied());
    };
    add(500, &["internal"]);
    add(408, &["request_timeout"]);
    if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
        add(401, &["unauthenticated"]);
    }
    if op.request_body.is_some() {
        add(
            400,
            &[
                "content_type_not_json",
                "invalid_body",
                "malformed_json",
                "unreadable_body",
            ],
        );
        add(413, &["payload_too_large"]);
    }
    let params = op.parameters.iter().flatten();
    for p in params {
        match p.parameter_in {
            ParameterIn::Query => add(400, &["invalid_query"]),
            ParameterIn::Path => add(400, &["invalid_path"]),
            _ => {}
        }
    }
    if route.idempotent {
        add(400, &["invalid_idempotency_key"]);
        add(
            409,
            &["idempotency_key_in_progress", "idempotency_key_answer_lost"],
        );
        add(422, &["idempotency_key_reused"]);
    }
    for (status, codes) in route.refuses {
        add(*status, codes);
    }
    by_status
}

struct Refusals;

impl Modify for Refusals {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let table = crate::routes::table();
        for ((method, path), op) in operations(openapi) {
            let Some(route) = table
                .iter()
                .find(|r| r.method.as_str() == method && r.path == path)
            else {
                continue;
            };
            let refusals = refusals(route, op);
            op.responses
                .responses
                .retain(|status, _| !status.starts_with('4') && !status.starts_with('5'));
            for (status, codes) in refusals {
                op.responses
                    .responses
                    .insert(status.to_string(), refusal(status, &codes).into());
            }
        }
    }
}

/// One refusal answer: the error body whose `code` is one of `codes`, and the headers the status
/// carries.
fn refusal(status: u16, codes: &BTreeSet<&'static str>) -> utoipa::openapi::Response {
    let code = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(codes.iter().copied()));
    let narrowed = ObjectBuilder::new().property(
        "error",
        ObjectBuilder::new().property("code", code).required("code"),
    );
    let schema = AllOfBuilder::new()
        .item(Ref::from_schema_name("ErrorBody"))
        .item(narrowed);
    let list = codes
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let what = match status {
        400 => "The request is malformed",
        401 => "Not signed in, or the session has ended: sign in again",
        403 => "Signed in, but not allowed to do this",
        404 => "Not found, or not visible to the caller",
        408 => "The server took too long; check whether a write was made before sending it again",
        409 => "Conflicts with the current state",
        410 => "The token was used or has expired",
        412 => "The profile changed since it was read; `error.current` holds it as it is now",
        413 => "The body is larger than the server takes",
        422 => "A value is not valid",
        428 => "A precondition header is required",
        429 => "Too many attempts; wait `Retry-After` seconds",
        503 => "The database does not answer",
        _ => "Something went wrong on the server; nothing was changed",
    };
    let mut response = ResponseBuilder::new()
        .description(format!("{what}. `error.code`: {list}."))
        .content(
            "application/json",
            ContentBuilder::new().schema(Some(schema)).build(),
        );
    if status == 429 {
        response = response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(1)),
                )
                .description(Some("Seconds to wait before trying again"))
                .build(),
        );
    }
    if status == 401 {
        response = response.header(
            "WWW-Authenticate",
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::String))
                .description(Some("`Bearer`"))
                .build(),
        );
    }
    response.build()
}

/// Links from each answer of the journey to the operations that follow it (create organisation
/// → add domain → preview → request → approve → verify → profile), so a stateful client can walk
/// it.
struct Journey;

impl Modify for Journey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        // (operation, its success status, [(link name, next operation, [(parameter, value)])])
        type Next = (
            &'static str,
            &'static str,
            &'static [(&'static str, &'static str)],
        );
        const ORG: &[(&str, &str)] = &[("org", "$response.body#/organisation_id")];
        const REQ: &[(&str, &str)] = &[("id", "$response.body#/request_id")];
        const MEMBERSHIP: &[(&str, &str)] = &[("id", "$response.body#/membership_id")];
        let journey: &[(&str, &str, &[Next])] = &[
            (
                "create_organisation",
                "201",
                &[
                    ("GetOrganisation", "get_organisation", ORG),
                    ("AddDomain", "add_domain", ORG),
                    ("ListDomains", "domains", ORG),
                    ("Preview", "preview", ORG),
                    ("Queue", "queue", ORG),
                    ("Invite", "invite", ORG),
                    ("Members", "members", ORG),
                    ("Audit", "audit", ORG),
                ],
            ),
            (
                "add_domain",
                "201",
                &[
                    (
                        "CheckDomain",
                        "check_domain",
                        &[
                            ("org", "$request.path.org"),
                            ("domain", "$response.body#/domain"),
                        ],
                    ),
                    (
                        "RemoveDomain",
                        "remove_domain",
                        &[
                            ("org", "$request.path.org"),
                            ("domain", "$response.body#/domain"),
                        ],
                    ),
                ],
            ),
            (
                "create_association_request",
                "201",
                &[
                    ("GetRequest", "get_association_request", REQ),
                    ("Approve", "approve", REQ),
                    ("Deny", "deny", REQ),
                    ("Withdraw", "withdraw", REQ),
                    ("ResendVerification", "resend", REQ),
                ],
            ),
            (
                "approve",
                "200",
                &[("GetRequest", "get_association_request", REQ)],
            ),
            (
                "verify",
                "200",
                &[
                    ("Profile", "profile", MEMBERSHIP),
                    ("LinkMcpId", "link_mcp_id", MEMBERSHIP),
                    ("RequestPrivilege", "request_privilege", MEMBERSHIP),
                ],
            ),
        ];
        for (_, op) in operations(openapi) {
            let Some((_, status, next)) = journey
                .iter()
                .find(|(id, _, _)| op.operation_id.as_deref() == Some(*id))
            else {
                continue;
            };
            let Some(RefOr::T(response)) = op.responses.responses.get_mut(*status) else {
                continue;
            };
            for (name, target, params) in *next {
                let mut link = LinkBuilder::new().operation_id(*target);
                for (param, value) in *params {
                    link = link.parameter(*param, *value);
                }
                response
                    .links
                    .insert((*name).to_owned(), link.build().into());
            }
        }
    }
}

/// The document as committed in docs/openapi.json (pretty, with a final newline).
pub fn document() -> String {
    let mut doc = ApiDoc::openapi();
    // The version comes from the workspace, so a release bump shows up in the document.
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let mut value = serde_json::to_value(&doc).expect("the OpenAPI document serialises");
    camel_case_links(&mut value);
    let json = serde_json::to_string_pretty(&value).expect("the OpenAPI document serialises");
    ascii_only(&json)
}

/// utoipa 5.5 writes a link's fields in snake case (`operation_id`); OpenAPI spells them
/// `operationId`, `operationRef` and `requestBody`, and clients ignore a link without them.
fn camel_case_links(doc: &mut serde_json::Value) {
    let operations = doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(|item| item.as_object_mut())
        .flat_map(|item| item.values_mut());
    for op in operations {
        let links = op["responses"]
            .as_object_mut()
            .into_iter()
            .flat_map(|r| r.values_mut())
            .filter_map(|r| r.get_mut("links")?.as_object_mut())
            .flat_map(|links| links.values_mut())
            .filter_map(|l| l.as_object_mut());
        for link in links {
            for (from, to) in [
                ("operation_id", "operationId"),
                ("operation_ref", "operationRef"),
                ("request_body", "requestBody"),
            ] {
                if let Some(v) = link.remove(from) {
                    link.insert(to.to_owned(), v);
                }
            }
        }
    }
}

/// `json` with every character outside ASCII written as a JSON escape (`\uXXXX`, a surrogate
/// pair above the BMP), so the invisible and text-direction characters the patterns name are
/// visible in the file, and a final newline. Outside strings JSON is ASCII already.
fn ascii_only(json: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(json.len() + 1);
    for c in json.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        }
    }
    out.push('\n');
    out
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

/// The document and the validators agree on a table of edge values: each constraint the document
/// states is read here as a client reads it (the patterns with a regex engine, lengths in
/// characters) and checked against what the server's own parsers decide.
#[cfg(test)]
mod edges {
    use membership::domain::{
        rules, City, DomainName, EmailAddress, JobTitle, Language, McpId, OrganisationName,
        PartnerId, Password, PersonName, Phone, Privilege,
    };
    use membership::Secret;
    use serde_json::Value;

    fn document() -> Value {
        serde_json::from_str(&super::document()).expect("the document is JSON")
    }

    fn component<'a>(doc: &'a Value, name: &str) -> &'a Value {
        &doc["components"]["schemas"][name]
    }

    /// Whether `schema` takes the string `v` (the parts of JSON Schema the document uses for
    /// strings: `$ref`, `anyOf`, `oneOf`, `enum`, lengths and patterns).
    fn accepts(doc: &Value, schema: &Value, v: &str) -> bool {
        if let Some(r) = schema["$ref"].as_str() {
            let name = r.rsplit('/').next().expect("a component name");
            return accepts(doc, component(doc, name), v);
        }
        if let Some(any) = schema["anyOf"].as_array().or(schema["oneOf"].as_array()) {
            return any.iter().any(|s| accepts(doc, s, v));
        }
        if schema["type"] == "null" {
            return false;
        }
        let n = v.chars().count() as u64;
        schema["enum"]
            .as_array()
            .is_none_or(|e| e.iter().any(|x| x == v))
            && schema["minLength"].as_u64().is_none_or(|min| n >= min)
            && schema["maxLength"].as_u64().is_none_or(|max| n <= max)
            && schema["pattern"].as_str().is_none_or(|p| {
                regex::Regex::new(p)
                    .unwrap_or_else(|e| panic!("the pattern compiles: {e}"))
                    .is_match(v)
            })
    }

    fn long(c: char, n: usize) -> String {
        std::iter::repeat_n(c, n).collect()
    }

    /// Each value against one component and one parser: both say yes, or both say no.
    fn agree(name: &str, parse: impl Fn(&str) -> bool, values: &[String]) {
        let doc = document();
        let schema = component(&doc, name);
        assert!(schema.is_object(), "the document has {name}");
        for v in values {
            assert_eq!(
                accepts(&doc, schema, v),
                parse(v),
                "{name}: the document and the parser disagree on {v:?}"
            );
        }
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn names_and_text_fields() {
        let mut names = strings(&[
            "A",
            "  Ana  ",
            "",
            "   ",
            "1234",
            "محمد",
            "Ana\u{202E}",
            "\nAna\n",
            "Ana\nB",
            "\u{115F}",
            "Ana\u{200B}",
            "O'Brien-Smith",
        ]);
        names.extend([
            long('A', 100),
            long('A', 101),
            format!(" {}", long('A', 100)),
        ]);
        agree("PersonName", |v| PersonName::parse(v).is_ok(), &names);

        let mut orgs = strings(&["Contoso", "123", "!!!", "", "Contoso\u{0007}"]);
        orgs.extend([long('x', 200), long('x', 201)]);
        agree(
            "OrganisationName",
            |v| OrganisationName::parse(v).is_ok(),
            &orgs,
        );

        let mut text = strings(&["Sydney", "", " ", "a\u{0007}b", "\tSydney", "!"]);
        text.extend([long('x', 100), long('x', 101)]);
        agree("City", |v| City::parse(v).is_ok(), &text);
        agree("JobTitle", |v| JobTitle::parse(v).is_ok(), &text);

        let mut reasons = strings(&["Not staff", "", "  ", "line\nbreak"]);
        reasons.extend([long('r', 500), long('r', 501)]);
        agree(
            "Reason",
            |v| matches!(rules::REASON.clean(v, "c", "w"), Ok(Some(_))),
            &reasons,
        );
        agree(
            "Note",
            |v| matches!(rules::NOTE.clean(v, "c", "w"), Ok(Some(_))),
            &reasons,
        );
    }

    #[test]
    fn formats() {
        let mut phones = strings(&[
            "+61 2 9876 5432",
            "12",
            "123",
            "+1+2",
            "1+23",
            "(02) 9876-5432",
            " 123 ",
            "12a3",
            "+",
            "1.2.3",
        ]);
        phones.extend([long('1', 20), long('1', 21)]);
        agree("Phone", |v| Phone::parse(v).is_ok(), &phones);
        let ids = strings(&[
            "1234",
            "123",
            "123456789012",
            "1234567890123",
            " 1234 ",
            "12a4",
            "",
            "4512345",
            "12345678901",
        ]);
        agree("McpId", |v| McpId::parse(v).is_ok(), &ids);
        agree("PartnerId", |v| PartnerId::parse(v).is_ok(), &ids);
        let mut langs = strings(&[
            "en",
            "en-AU",
            "zh-Hant-TW",
            "e",
            "english",
            "en_AU",
            " en ",
            "en-",
            "-en",
            "",
        ]);
        langs.extend([
            format!("en{}", "-abcdefgh".repeat(4)),
            format!("en{}", "-abcdefgh".repeat(3)),
        ]);
        agree("Language", |v| Language::parse(v).is_ok(), &langs);
        let passwords = [
            long('p', 9),
            long('p', 10),
            long('p', 1024),
            long('p', 1025),
        ];
        agree(
            "Password",
            |v| Password::parse(&Secret::new(v)).is_ok(),
            &passwords,
        );
        agree(
            "Privilege",
            |v| Privilege::parse(v).is_ok(),
            &strings(&[
                "global_admin",
                "action_pack",
                "competency_benefits",
                " global_admin",
                "GLOBAL_ADMIN",
                "",
            ]),
        );
    }

    /// Addresses and domains also need IDNA and a registrable domain, which no pattern states:
    /// every value the parser takes matches the document, and the refusals the document states
    /// are refused.
    #[test]
    fn addresses_and_domains_match_whenever_the_parser_takes_them() {
        let doc = document();
        for (name, values, parse) in [
            (
                "EmailAddress",
                strings(&[
                    "a@contoso.com",
                    " A.B@Contoso.COM ",
                    "a@b",
                    "a..b@contoso.com",
                    "a b@contoso.com",
                    ".a@contoso.com",
                    "a@contoso.com\u{202E}",
                    "@contoso.com",
                    "a@",
                    "a@münchen.de",
                ]),
                (|v: &str| EmailAddress::parse(v).is_ok()) as fn(&str) -> bool,
            ),
            (
                "DomainName",
                strings(&[
                    "contoso.com",
                    " Contoso.COM. ",
                    "münchen.de",
                    "contoso",
                    "con toso.com",
                    "a\u{200B}.com",
                    "",
                ]),
                |v: &str| DomainName::parse(v).is_ok(),
            ),
        ] {
            for v in &values {
                let documented = accepts(&doc, component(&doc, name), v);
                if parse(v) {
                    assert!(
                        documented,
                        "{name}: the parser takes {v:?} but the document refuses it"
                    );
                }
            }
            for refused in ["a b", "x\u{202E}y", ""] {
                assert!(
                    !accepts(&doc, component(&doc, name), refused),
                    "{name}: {refused:?}"
                );
            }
        }
    }

    /// The one place the document is stricter than the server, and why: a zero-width joiner
    /// between two letters of a script that needs it.
    #[test]
    fn the_joiner_in_persian_is_taken_by_the_parser_and_left_out_by_the_pattern() {
        let doc = document();
        let word = "می\u{200C}خواهم";
        assert!(PersonName::parse(word).is_ok());
        assert!(!accepts(&doc, component(&doc, "PersonName"), word));
    }

    fn parameter<'a>(doc: &'a Value, path: &str, method: &str, name: &str) -> &'a Value {
        doc["paths"][path][method]["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == name))
            .map(|p| &p["schema"])
            .unwrap_or_else(|| panic!("{method} {path} documents {name}"))
    }

    #[test]
    fn headers_and_cursors() {
        let doc = document();
        let if_match = parameter(&doc, "/v1/memberships/{id}/profile", "patch", "If-Match");
        for v in strings(&[
            "\"3\"", "W/\"3\"", "3", "*", "\"3", "3\"", "+3", "\"\"", "abc", "W/3", "\"-1\"",
        ])
        .into_iter()
        .chain([
            long('1', 19),
            long('1', 20),
            format!("\"{}\"", long('9', 19)),
        ]) {
            let mut headers = axum::http::HeaderMap::new();
            headers.insert(
                axum::http::header::IF_MATCH,
                v.parse().expect("a header value"),
            );
            assert_eq!(
                accepts(&doc, if_match, &v),
                crate::routes::memberships::if_match(&headers).is_ok(),
                "If-Match {v:?}"
            );
        }
        let key = parameter(&doc, "/v1/accounts", "post", "Idempotency-Key");
        for v in strings(&["a", "a b", "é", "", "0"])
            .into_iter()
            .chain([long('k', 255), long('k', 256)])
        {
            assert_eq!(
                accepts(&doc, key, &v),
                crate::idempotency::valid_key(&v),
                "Idempotency-Key {v:?}"
            );
        }
        let cursor = parameter(&doc, "/v1/organisations/{org}/members", "get", "cursor");
        let last_event = parameter(&doc, "/v1/events", "get", "Last-Event-ID");
        for v in strings(&["", "0", "123", "-1", "+1", "abc", " 1"])
            .into_iter()
            .chain([long('1', 18), long('1', 19)])
        {
            let parsed =
                membership::Programme::<membership::SqliteStore>::parse_event_cursor(Some(&v))
                    .is_ok();
            assert_eq!(accepts(&doc, cursor, &v), parsed, "cursor {v:?}");
            assert_eq!(accepts(&doc, last_event, &v), parsed, "Last-Event-ID {v:?}");
        }
    }

    /// The document's `security` and the route table's `signed_in` say the same of every route,
    /// and every pattern in the document compiles.
    #[test]
    fn security_follows_the_route_table_and_every_pattern_compiles() {
        let doc = document();
        for route in crate::routes::table() {
            let op = &doc["paths"][route.path][route.method.as_str().to_lowercase()];
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            assert_eq!(secured, route.signed_in, "{} {}", route.method, route.path);
            let codes_401 = op["responses"]["401"]["content"]["application/json"]["schema"]
                ["allOf"][1]["properties"]["error"]["properties"]["code"]["enum"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            assert_eq!(
                codes_401.iter().any(|c| c == "unauthenticated"),
                route.signed_in,
                "{} {} documents 401 `unauthenticated` exactly when it needs a token",
                route.method,
                route.path
            );
        }
        fn patterns(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(p)) = m.get("pattern") {
                        out.push(p.clone());
                    }
                    m.values().for_each(|v| patterns(v, out));
                }
                Value::Array(a) => a.iter().for_each(|v| patterns(v, out)),
                _ => {}
            }
        }
        let mut all = Vec::new();
        patterns(&doc, &mut all);
        assert!(all.len() > 20, "{} patterns", all.len());
        for p in all {
            regex::Regex::new(&p).unwrap_or_else(|e| panic!("{p:.80}: {e}"));
        }
        assert!(
            super::document().is_ascii(),
            "the file is ASCII: other characters are escaped"
        );
    }
}
