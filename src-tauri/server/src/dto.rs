//! Wire shapes that only the server has: request bodies and a few answers. Everything else on the
//! wire is the membership crate's own model type, so the two cannot drift.
use membership::{Account, Secret, SessionTokens};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewAccount {
    #[schema(value_type = membership::domain::EmailAddress)]
    pub email: String,
    #[schema(value_type = membership::domain::PersonName)]
    pub display_name: String,
    #[schema(value_type = membership::domain::Password)]
    pub password: Secret,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedAccount {
    pub account_id: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Credentials {
    pub email: String,
    #[schema(value_type = String, format = Password)]
    pub password: Secret,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshBody {
    #[schema(value_type = String)]
    pub refresh_token: Secret,
}

/// A new pair of session tokens.
#[derive(Debug, Serialize, ToSchema)]
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub account: Account,
}

impl From<SessionTokens> for Session {
    fn from(s: SessionTokens) -> Self {
        Self {
            // The one place tokens leave the process: the answer to the person who signed in.
            access_token: s.access_token.expose().to_owned(),
            refresh_token: s.refresh_token.expose().to_owned(),
            token_type: "Bearer",
            expires_in: s.expires_in,
            account: s.account,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewDomain {
    /// Any spelling (Unicode or A-label, any case); the answer gives the canonical form.
    #[schema(value_type = membership::domain::DomainName)]
    pub domain: String,
    #[serde(default)]
    pub include_subdomains: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PreviewBody {
    #[schema(value_type = membership::domain::EmailAddress)]
    pub organisation_email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DenyBody {
    /// Shown to the requester.
    #[schema(value_type = membership::domain::rules::schema::Reason)]
    pub reason: String,
}

/// Several decisions at once (one reason may serve them all).
#[derive(Debug, Deserialize, ToSchema)]
pub struct DecisionsBody {
    /// 1 to 100 requests of the organisation.
    #[schema(min_items = 1, max_items = 100)]
    pub decisions: Vec<membership::BulkDecision>,
}

/// One result per decision, in the order given.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionsAnswer {
    pub items: Vec<membership::BulkResult>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct VerificationBody {
    /// The code from the verification mail (the `token` of its link).
    #[schema(value_type = String)]
    pub token: Secret,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct InvitationBody {
    /// Each is checked on its own: the answer gives a result per address.
    #[schema(schema_with = invitation_emails)]
    pub emails: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct McpIdBody {
    #[schema(value_type = membership::domain::McpId)]
    pub mcp_id: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewPrivilegeRequest {
    pub privilege: membership::domain::Privilege,
    #[schema(value_type = Option<membership::domain::rules::schema::Note>)]
    pub note: Option<String>,
}

/// A partial profile: absent fields stay as they are, `""` clears an optional one. The MCP ID
/// has its own operations and is refused here.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ProfilePatchBody {
    #[schema(value_type = Option<membership::domain::PersonName>)]
    pub first_name: Option<String>,
    #[schema(value_type = Option<membership::domain::PersonName>)]
    pub last_name: Option<String>,
    #[schema(schema_with = membership::domain::rules::schema::blank_or::<membership::domain::JobTitle>)]
    pub job_title: Option<String>,
    #[schema(schema_with = membership::domain::rules::schema::blank_or::<membership::domain::Phone>)]
    pub phone: Option<String>,
    #[schema(schema_with = membership::domain::rules::schema::blank_or::<membership::domain::Language>)]
    pub preferred_language: Option<String>,
    #[schema(ignore)]
    #[serde(default)]
    pub mcp_id: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1 to 100; 20 when absent.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    pub fn page(&self) -> membership::PageRequest {
        membership::PageRequest {
            limit: self.limit,
            cursor: self.cursor.clone(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LookupParams {
    /// Words or prefixes of the organisation's name.
    pub q: Option<String>,
    pub partner_id: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    /// 1 to 100; 20 when absent.
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueParams {
    /// `pending_approval`, `accepted`, `denied`, `withdrawn`, `active`, `removed` or `expired`.
    pub status: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventParams {
    /// Start after this event id; `Last-Event-ID` wins when both are given. Without either the
    /// stream starts at the oldest event the caller may see.
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerifyPageParams {
    pub token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` when the database answers.
    pub status: &'static str,
    pub version: &'static str,
}

fn invitation_emails() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(
            utoipa::openapi::schema::ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::Type::String),
        )
        .min_items(Some(1))
        .max_items(Some(membership::MAX_INVITATIONS))
        .build()
}

/// One event of the `text/event-stream` answer, as an event-stream parser reads it.
#[derive(Debug, Serialize, ToSchema)]
pub struct StreamEvent {
    /// The event's id: the cursor to resume after it (`Last-Event-ID`).
    #[schema(pattern = "^[0-9]{1,18}$")]
    pub id: Option<String>,
    /// The event's kind (`association_request.created`, …).
    pub event: Option<String>,
    /// The event as JSON (an `Event`).
    #[schema(content_media_type = "application/json")]
    pub data: String,
}
