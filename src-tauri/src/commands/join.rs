//! Join an existing organisation: Lookup, the live preview, the request, the Mailbox and the
//! verification that activates the membership.
use membership::mail::StoredMail;
use membership::{
    AssociationRequest, CreatedOrganisation, Event, Handover, LookupQuery, NewAssociationRequest,
    NewOrganisation, OrganisationSummary, Page, Preview, RequestCreated, Secret, Verified,
};
use tauri::State;

use super::{given, signed_in};
use crate::error::UiError;
use crate::state::Shell;

#[tauri::command(rename_all = "snake_case")]
pub async fn lookup(
    shell: State<'_, Shell>,
    query: LookupQuery,
) -> Result<Page<OrganisationSummary>, UiError> {
    let query = LookupQuery {
        q: given(query.q),
        partner_id: given(query.partner_id),
        country: given(query.country),
        city: given(query.city),
        page: query.page,
    };
    signed_in(&shell, move |api, access| api.lookup(access, &query)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn organisation(
    shell: State<'_, Shell>,
    org_id: String,
) -> Result<OrganisationSummary, UiError> {
    signed_in(&shell, move |api, access| api.organisation(access, &org_id)).await
}

/// What a request with this Organisation Email would get now, and why.
#[tauri::command(rename_all = "snake_case")]
pub async fn preview(
    shell: State<'_, Shell>,
    org_id: String,
    organisation_email: String,
) -> Result<Preview, UiError> {
    signed_in(&shell, move |api, access| {
        api.preview_association(access, &org_id, &organisation_email)
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn request_association(
    shell: State<'_, Shell>,
    request: NewAssociationRequest,
) -> Result<RequestCreated, UiError> {
    let request = NewAssociationRequest {
        phone: given(request.phone),
        job_title: given(request.job_title),
        ..request
    };
    signed_in(&shell, move |api, access| {
        api.request_association(access, &request)
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn association_request(
    shell: State<'_, Shell>,
    request_id: String,
) -> Result<AssociationRequest, UiError> {
    signed_in(&shell, move |api, access| {
        api.association_request(access, &request_id)
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn withdraw(
    shell: State<'_, Shell>,
    request_id: String,
) -> Result<AssociationRequest, UiError> {
    signed_in(&shell, move |api, access| api.withdraw(access, &request_id)).await
}

/// Ask again: sends an expired request again with the answers it had.
#[tauri::command(rename_all = "snake_case")]
pub async fn ask_again(
    shell: State<'_, Shell>,
    request_id: String,
) -> Result<RequestCreated, UiError> {
    signed_in(&shell, move |api, access| {
        api.ask_again(access, &request_id)
    })
    .await
}

/// Takes the PPC role offered to the caller.
#[tauri::command(rename_all = "snake_case")]
pub async fn accept_handover(
    shell: State<'_, Shell>,
    handover_id: String,
) -> Result<Handover, UiError> {
    signed_in(&shell, move |api, access| {
        api.accept_handover(access, &handover_id)
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn decline_handover(
    shell: State<'_, Shell>,
    handover_id: String,
) -> Result<Handover, UiError> {
    signed_in(&shell, move |api, access| {
        api.decline_handover(access, &handover_id)
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn resend_verification(
    shell: State<'_, Shell>,
    request_id: String,
) -> Result<(), UiError> {
    signed_in(&shell, move |api, access| {
        api.resend_verification(access, &request_id)
    })
    .await
}

/// The embedded Mailbox: mail sent to the caller's account address and Organisation Emails.
/// `None` with a server, whose mail goes to real inboxes.
#[tauri::command(rename_all = "snake_case")]
pub async fn my_mail(shell: State<'_, Shell>) -> Result<Option<Vec<StoredMail>>, UiError> {
    signed_in(&shell, |api, access| api.mailbox(access)).await
}

/// Verifies with the link from the mail, or the code in it.
#[tauri::command(rename_all = "snake_case")]
pub async fn verify(shell: State<'_, Shell>, input: String) -> Result<Verified, UiError> {
    let token = token_from_input(&input)?;
    signed_in(&shell, move |api, access| api.verify(access, &token)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn create_organisation(
    shell: State<'_, Shell>,
    organisation: NewOrganisation,
) -> Result<CreatedOrganisation, UiError> {
    let organisation = NewOrganisation {
        address: given(organisation.address),
        phone: given(organisation.phone),
        website: given(organisation.website),
        ..organisation
    };
    signed_in(&shell, move |api, access| {
        api.create_organisation(access, &organisation)
    })
    .await
}

/// What happened that the caller may see, after the cursor `after`.
#[tauri::command(rename_all = "snake_case")]
pub async fn events(
    shell: State<'_, Shell>,
    after: Option<i64>,
    limit: Option<u32>,
) -> Result<Vec<Event>, UiError> {
    let limit = limit.unwrap_or(50).clamp(1, 100);
    signed_in(&shell, move |api, access| api.events(access, after, limit)).await
}

/// The token in what a person pasted: the whole verification link, or the code. The backend alone
/// decides whether it is valid; this only finds it.
pub fn token_from_input(input: &str) -> Result<Secret, UiError> {
    let refused = || {
        UiError::new(
            "invalid_token",
            "That is not a verification link or code. Copy the whole link from the email, or the code in it, and try again.",
        )
    };
    let input = input.trim();
    // A link: the app's own `partnerdesk://verify?token=…`, or the web page the mail may also name.
    let token = if let Some((target, query)) = input
        .split_once("://")
        .map(|(_, rest)| rest.split_once('?').unwrap_or((rest, "")))
    {
        if !target.trim_end_matches('/').ends_with("verify") {
            return Err(refused());
        }
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix("token="))
            .ok_or_else(refused)?
    } else {
        input
    };
    // Codes are base64url; a code broken over lines or copied with spaces is still the same code.
    let token: String = token.chars().filter(|c| !c.is_whitespace()).collect();
    let plausible = !token.is_empty()
        && token.len() <= 256
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '=');
    if plausible {
        Ok(Secret::new(token))
    } else {
        Err(refused())
    }
}

#[cfg(test)]
mod tests {
    use super::token_from_input;

    #[test]
    fn the_link_the_code_and_a_spaced_code_give_the_same_token() {
        for input in [
            "partnerdesk://verify?token=abc_DEF-123",
            "  partnerdesk://verify/?token=abc_DEF-123&x=1 ",
            "abc_DEF-123",
            "abc_DEF\n-123",
            "https://members.example/verify?token=abc_DEF-123",
        ] {
            assert_eq!(
                token_from_input(input).unwrap().expose(),
                "abc_DEF-123",
                "input {input:?}"
            );
        }
    }

    #[test]
    fn other_links_and_junk_are_refused_with_a_sentence() {
        for input in [
            "",
            "https://evil.test/login?token=abc",
            "partnerdesk://verify",
            "not a code!",
            "partnerdesk://verify?t=1",
        ] {
            let e = token_from_input(input).unwrap_err();
            assert_eq!(e.code, "invalid_token", "input {input:?}");
        }
    }
}
