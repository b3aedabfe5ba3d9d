//! API.md's table, one method per row.
use membership::mail::StoredMail;
use membership::{
    Account, AssociationRequest, AuditEntry, BulkDecision, BulkResult, CreatedOrganisation,
    Delegation, DelegationInput, DomainRule, Error, Event, Handover, InvitationResult, LookupQuery,
    Me, Member, NewAssociationRequest, NewOrganisation, OrganisationSummary, Page, PageRequest,
    Preview, PrivilegeRequest, Profile, ProfilePatch, RequestCreated, RequestStatus, Secret,
    SessionTokens, Verified,
};
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::{Call, Remote};
use crate::{Backend, Privilege, MAX_EVENTS};

/// `PATCH /v1/memberships/{id}/profile` with `If-Match`.
fn profile_patch<'a>(
    access: &'a Secret,
    membership: &'a str,
    if_match: u64,
    patch: &ProfilePatch,
) -> Call<'a> {
    let mut call = Call::new(
        Method::PATCH,
        "/v1/memberships/{id}/profile",
        vec!["v1", "memberships", membership, "profile"],
    )
    .by(access)
    .json(json!({
        "first_name": patch.first_name,
        "last_name": patch.last_name,
        "job_title": patch.job_title,
        "phone": patch.phone,
        "preferred_language": patch.preferred_language,
    }));
    call.if_match = Some(if_match);
    call
}

/// `POST /v1/sessions` and `/v1/sessions/refresh` answer with this.
#[derive(Deserialize)]
struct WireSession {
    access_token: Secret,
    refresh_token: Secret,
    expires_in: u64,
    account: Account,
}

impl From<WireSession> for SessionTokens {
    fn from(s: WireSession) -> Self {
        Self {
            access_token: s.access_token,
            refresh_token: s.refresh_token,
            expires_in: s.expires_in,
            account: s.account,
        }
    }
}

#[derive(Deserialize)]
struct CreatedAccount {
    account_id: String,
}

fn paged<'a>(call: Call<'a>, page: &PageRequest) -> Call<'a> {
    call.query("limit", page.limit)
        .query("cursor", page.cursor.as_deref())
}

impl Backend for Remote {
    fn health(&self) -> Result<(), Error> {
        // One attempt only: the settings screen wants a quick answer, not a patient one.
        self.run_empty(Call::get("/healthz", vec!["healthz"]).once())
    }

    fn create_account(
        &self,
        email: &str,
        display_name: &str,
        password: &Secret,
    ) -> Result<String, Error> {
        let created: CreatedAccount = self.run(
            Call::post("/v1/accounts", vec!["v1", "accounts"])
                .json(json!({"email": email, "display_name": display_name, "password": password.expose()}))
                .creating(),
        )?;
        Ok(created.account_id)
    }

    fn sign_in(&self, email: &str, password: &Secret) -> Result<SessionTokens, Error> {
        self.run::<WireSession>(
            Call::post("/v1/sessions", vec!["v1", "sessions"])
                .json(json!({"email": email, "password": password.expose()})),
        )
        .map(Into::into)
    }

    fn refresh(&self, refresh_token: &Secret) -> Result<SessionTokens, Error> {
        self.run::<WireSession>(
            Call::post("/v1/sessions/refresh", vec!["v1", "sessions", "refresh"])
                .json(json!({"refresh_token": refresh_token.expose()})),
        )
        .map(Into::into)
    }

    fn sign_out(&self, access: &Secret) -> Result<(), Error> {
        self.run_empty(
            Call::new(
                Method::DELETE,
                "/v1/sessions/current",
                vec!["v1", "sessions", "current"],
            )
            .by(access),
        )
    }

    fn me(&self, access: &Secret) -> Result<Me, Error> {
        self.run(Call::get("/v1/me", vec!["v1", "me"]).by(access))
    }

    fn create_organisation(
        &self,
        access: &Secret,
        new: &NewOrganisation,
    ) -> Result<CreatedOrganisation, Error> {
        self.run(
            Call::post("/v1/organisations", vec!["v1", "organisations"])
                .by(access)
                .json(json!({
                    "name": new.name, "country": new.country, "city": new.city,
                    "address": new.address, "phone": new.phone, "website": new.website,
                }))
                .creating(),
        )
    }

    fn lookup(
        &self,
        access: &Secret,
        query: &LookupQuery,
    ) -> Result<Page<OrganisationSummary>, Error> {
        let call = Call::get("/v1/organisations", vec!["v1", "organisations"])
            .by(access)
            .query("q", query.q.as_deref())
            .query("partner_id", query.partner_id.as_deref())
            .query("country", query.country.as_deref())
            .query("city", query.city.as_deref());
        self.run(paged(call, &query.page))
    }

    fn organisation(&self, access: &Secret, org: &str) -> Result<OrganisationSummary, Error> {
        self.run(Call::get("/v1/organisations/{org}", vec!["v1", "organisations", org]).by(access))
    }

    fn domains(&self, access: &Secret, org: &str) -> Result<Vec<DomainRule>, Error> {
        self.run::<Page<DomainRule>>(
            Call::get(
                "/v1/organisations/{org}/domains",
                vec!["v1", "organisations", org, "domains"],
            )
            .by(access),
        )
        .map(|p| p.items)
    }

    fn add_domain(
        &self,
        access: &Secret,
        org: &str,
        domain: &str,
        include_subdomains: bool,
    ) -> Result<DomainRule, Error> {
        self.run(
            Call::post(
                "/v1/organisations/{org}/domains",
                vec!["v1", "organisations", org, "domains"],
            )
            .by(access)
            .json(json!({"domain": domain, "include_subdomains": include_subdomains}))
            .creating(),
        )
    }

    fn check_domain(&self, access: &Secret, org: &str, domain: &str) -> Result<DomainRule, Error> {
        self.run(
            Call::post(
                "/v1/organisations/{org}/domains/{domain}/check",
                vec!["v1", "organisations", org, "domains", domain, "check"],
            )
            .by(access),
        )
    }

    fn remove_domain(&self, access: &Secret, org: &str, domain: &str) -> Result<(), Error> {
        self.run_empty(
            Call::new(
                Method::DELETE,
                "/v1/organisations/{org}/domains/{domain}",
                vec!["v1", "organisations", org, "domains", domain],
            )
            .by(access),
        )
    }

    fn preview_association(
        &self,
        access: &Secret,
        org: &str,
        organisation_email: &str,
    ) -> Result<Preview, Error> {
        self.run(
            Call::post(
                "/v1/organisations/{org}/association-preview",
                vec!["v1", "organisations", org, "association-preview"],
            )
            .by(access)
            .json(json!({"organisation_email": organisation_email}))
            .read_only(),
        )
    }

    fn request_association(
        &self,
        access: &Secret,
        new: &NewAssociationRequest,
    ) -> Result<RequestCreated, Error> {
        self.run(
            Call::post(
                "/v1/association-requests",
                vec!["v1", "association-requests"],
            )
            .by(access)
            .json(json!({
                "organisation_id": new.organisation_id,
                "first_name": new.first_name,
                "last_name": new.last_name,
                "organisation_email": new.organisation_email,
                "phone": new.phone,
                "job_title": new.job_title,
            }))
            .creating(),
        )
    }

    fn association_request(&self, access: &Secret, id: &str) -> Result<AssociationRequest, Error> {
        self.run(
            Call::get(
                "/v1/association-requests/{id}",
                vec!["v1", "association-requests", id],
            )
            .by(access),
        )
    }

    fn association_queue(
        &self,
        access: &Secret,
        org: &str,
        status: Option<RequestStatus>,
        page: &PageRequest,
    ) -> Result<Page<AssociationRequest>, Error> {
        let call = Call::get(
            "/v1/organisations/{org}/association-requests",
            vec!["v1", "organisations", org, "association-requests"],
        )
        .by(access)
        .query("status", status.map(RequestStatus::as_str));
        self.run(paged(call, page))
    }

    fn approve(&self, access: &Secret, id: &str) -> Result<AssociationRequest, Error> {
        self.run(
            Call::post(
                "/v1/association-requests/{id}/approve",
                vec!["v1", "association-requests", id, "approve"],
            )
            .by(access),
        )
    }

    fn deny(&self, access: &Secret, id: &str, reason: &str) -> Result<AssociationRequest, Error> {
        self.run(
            Call::post(
                "/v1/association-requests/{id}/deny",
                vec!["v1", "association-requests", id, "deny"],
            )
            .by(access)
            .json(json!({"reason": reason})),
        )
    }

    fn withdraw(&self, access: &Secret, id: &str) -> Result<AssociationRequest, Error> {
        self.run(
            Call::post(
                "/v1/association-requests/{id}/withdraw",
                vec!["v1", "association-requests", id, "withdraw"],
            )
            .by(access),
        )
    }

    fn decide_requests(
        &self,
        access: &Secret,
        org: &str,
        decisions: &[BulkDecision],
    ) -> Result<Vec<BulkResult>, Error> {
        self.run::<Page<BulkResult>>(
            Call::post(
                "/v1/organisations/{org}/association-requests/decisions",
                vec![
                    "v1",
                    "organisations",
                    org,
                    "association-requests",
                    "decisions",
                ],
            )
            .by(access)
            .json(json!({ "decisions": decisions })),
        )
        .map(|p| p.items)
    }

    fn delegation(&self, access: &Secret, org: &str) -> Result<Delegation, Error> {
        self.run(
            Call::get(
                "/v1/organisations/{org}/delegation",
                vec!["v1", "organisations", org, "delegation"],
            )
            .by(access),
        )
    }

    fn set_delegation(
        &self,
        access: &Secret,
        org: &str,
        input: &DelegationInput,
    ) -> Result<Delegation, Error> {
        self.run(
            Call::new(
                Method::PUT,
                "/v1/organisations/{org}/delegation",
                vec!["v1", "organisations", org, "delegation"],
            )
            .by(access)
            .json(serde_json::to_value(input).map_err(Error::internal)?),
        )
    }

    fn end_delegation(&self, access: &Secret, org: &str) -> Result<(), Error> {
        self.run_empty(
            Call::new(
                Method::DELETE,
                "/v1/organisations/{org}/delegation",
                vec!["v1", "organisations", org, "delegation"],
            )
            .by(access),
        )
    }

    fn offer_handover(
        &self,
        access: &Secret,
        org: &str,
        to_membership: &str,
    ) -> Result<Handover, Error> {
        self.run(
            Call::post(
                "/v1/organisations/{org}/ppc-handover",
                vec!["v1", "organisations", org, "ppc-handover"],
            )
            .by(access)
            .json(json!({ "to_membership_id": to_membership }))
            .creating(),
        )
    }

    fn accept_handover(&self, access: &Secret, id: &str) -> Result<Handover, Error> {
        self.run(
            Call::post(
                "/v1/ppc-handovers/{id}/accept",
                vec!["v1", "ppc-handovers", id, "accept"],
            )
            .by(access),
        )
    }

    fn decline_handover(&self, access: &Secret, id: &str) -> Result<Handover, Error> {
        self.run(
            Call::post(
                "/v1/ppc-handovers/{id}/decline",
                vec!["v1", "ppc-handovers", id, "decline"],
            )
            .by(access),
        )
    }

    fn ask_again(&self, access: &Secret, id: &str) -> Result<RequestCreated, Error> {
        self.run(
            Call::post(
                "/v1/association-requests/{id}/ask-again",
                vec!["v1", "association-requests", id, "ask-again"],
            )
            .by(access)
            .creating(),
        )
    }

    fn resend_verification(&self, access: &Secret, id: &str) -> Result<(), Error> {
        self.run_empty(
            Call::post(
                "/v1/association-requests/{id}/resend-verification",
                vec!["v1", "association-requests", id, "resend-verification"],
            )
            .by(access),
        )
    }

    fn verify(&self, access: &Secret, token: &Secret) -> Result<Verified, Error> {
        self.run(
            Call::post("/v1/verifications", vec!["v1", "verifications"])
                .by(access)
                .json(json!({"token": token.expose()})),
        )
    }

    fn invite(
        &self,
        access: &Secret,
        org: &str,
        emails: &[String],
    ) -> Result<Vec<InvitationResult>, Error> {
        self.run::<Page<InvitationResult>>(
            Call::post(
                "/v1/organisations/{org}/invitations",
                vec!["v1", "organisations", org, "invitations"],
            )
            .by(access)
            .json(json!({"emails": emails}))
            .creating(),
        )
        .map(|p| p.items)
    }

    fn profile(&self, access: &Secret, membership: &str) -> Result<Profile, Error> {
        self.run(
            Call::get(
                "/v1/memberships/{id}/profile",
                vec!["v1", "memberships", membership, "profile"],
            )
            .by(access),
        )
    }

    fn update_profile(
        &self,
        access: &Secret,
        membership: &str,
        if_match: u64,
        patch: &ProfilePatch,
    ) -> Result<Profile, Error> {
        self.run(profile_patch(access, membership, if_match, patch))
    }

    fn update_profile_keyed(
        &self,
        access: &Secret,
        membership: &str,
        if_match: u64,
        patch: &ProfilePatch,
        idempotency_key: &str,
    ) -> Result<Profile, Error> {
        let mut call = profile_patch(access, membership, if_match, patch);
        call.key = Some(idempotency_key);
        self.run(call)
    }

    fn link_mcp_id(
        &self,
        access: &Secret,
        membership: &str,
        mcp_id: &str,
    ) -> Result<Profile, Error> {
        self.run(
            Call::new(
                Method::PUT,
                "/v1/memberships/{id}/mcp-id",
                vec!["v1", "memberships", membership, "mcp-id"],
            )
            .by(access)
            .json(json!({"mcp_id": mcp_id})),
        )
    }

    fn unlink_mcp_id(&self, access: &Secret, membership: &str) -> Result<(), Error> {
        self.run_empty(
            Call::new(
                Method::DELETE,
                "/v1/memberships/{id}/mcp-id",
                vec!["v1", "memberships", membership, "mcp-id"],
            )
            .by(access),
        )
    }

    fn members(
        &self,
        access: &Secret,
        org: &str,
        page: &PageRequest,
    ) -> Result<Page<Member>, Error> {
        let call = Call::get(
            "/v1/organisations/{org}/members",
            vec!["v1", "organisations", org, "members"],
        )
        .by(access);
        self.run(paged(call, page))
    }

    fn grant_privilege(
        &self,
        access: &Secret,
        membership: &str,
        privilege: Privilege,
    ) -> Result<Member, Error> {
        self.run(
            Call::new(
                Method::PUT,
                "/v1/memberships/{id}/privileges/{privilege}",
                vec![
                    "v1",
                    "memberships",
                    membership,
                    "privileges",
                    privilege.as_str(),
                ],
            )
            .by(access),
        )
    }

    fn revoke_privilege(
        &self,
        access: &Secret,
        membership: &str,
        privilege: Privilege,
    ) -> Result<(), Error> {
        self.run_empty(
            Call::new(
                Method::DELETE,
                "/v1/memberships/{id}/privileges/{privilege}",
                vec![
                    "v1",
                    "memberships",
                    membership,
                    "privileges",
                    privilege.as_str(),
                ],
            )
            .by(access),
        )
    }

    fn request_privilege(
        &self,
        access: &Secret,
        membership: &str,
        privilege: Privilege,
        note: Option<&str>,
    ) -> Result<PrivilegeRequest, Error> {
        self.run(
            Call::post(
                "/v1/memberships/{id}/privilege-requests",
                vec!["v1", "memberships", membership, "privilege-requests"],
            )
            .by(access)
            .json(json!({"privilege": privilege.as_str(), "note": note}))
            .creating(),
        )
    }

    fn privilege_requests(
        &self,
        access: &Secret,
        org: &str,
    ) -> Result<Vec<PrivilegeRequest>, Error> {
        self.run::<Page<PrivilegeRequest>>(
            Call::get(
                "/v1/organisations/{org}/privilege-requests",
                vec!["v1", "organisations", org, "privilege-requests"],
            )
            .by(access),
        )
        .map(|p| p.items)
    }

    fn remove_membership(&self, access: &Secret, membership: &str) -> Result<(), Error> {
        self.run_empty(
            Call::new(
                Method::DELETE,
                "/v1/memberships/{id}",
                vec!["v1", "memberships", membership],
            )
            .by(access),
        )
    }

    fn audit(
        &self,
        access: &Secret,
        org: &str,
        page: &PageRequest,
    ) -> Result<Page<AuditEntry>, Error> {
        let call = Call::get(
            "/v1/organisations/{org}/audit",
            vec!["v1", "organisations", org, "audit"],
        )
        .by(access);
        self.run(paged(call, page))
    }

    fn events(&self, access: &Secret, after: Option<i64>, limit: u32) -> Result<Vec<Event>, Error> {
        // `Accept: application/json` (always sent) asks for one page instead of the stream.
        let page: Page<Event> = self.run(
            Call::get("/v1/events", vec!["v1", "events"])
                .by(access)
                .query("cursor", after),
        )?;
        let mut items = page.items;
        items.truncate(limit.clamp(1, MAX_EVENTS) as usize);
        Ok(items)
    }

    fn follow_events(
        &self,
        access: &Secret,
        after: Option<i64>,
        stop: &crate::follow::Stop,
        on: &mut dyn FnMut(crate::follow::Heard) -> std::ops::ControlFlow<()>,
    ) -> Result<(), Error> {
        self.follow_stream(access, after, stop, on)
    }

    fn mailbox(&self, _access: &Secret) -> Result<Option<Vec<StoredMail>>, Error> {
        Ok(None)
    }
}
