//! The guide's journeys and API.md's refusals, written against [`Backend`] only.
use serde_json::Value;

use crate::backend::{Backend, Refusal, Session};

pub const DEMO_PASSWORD: &str = "partnerdesk-demo";
pub const ACCEPTED: &str = "Your request to associate with the company has been accepted";
pub const PENDING: &str = "Your request to associate to your organization\u{2019}s account has been sent to your organisation\u{2019}s program administrator";

pub fn refusal(status: u16, code: &str) -> Refusal {
    Refusal {
        status,
        code: code.to_owned(),
    }
}

/// The code in a verification mail's `partnerdesk://` link.
pub fn token_in(body: &str) -> String {
    let marker = "partnerdesk://verify?token=";
    let start = body
        .find(marker)
        .unwrap_or_else(|| panic!("no app link in {body}"))
        + marker.len();
    body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

async fn demo<B: Backend>(b: &B, email: &str) -> Session {
    b.sign_in(email, DEMO_PASSWORD).await.expect("demo sign-in")
}

async fn newcomer<B: Backend>(b: &B, email: &str, name: &str) -> Session {
    b.create_account(email, name, DEMO_PASSWORD)
        .await
        .expect("account created");
    b.sign_in(email, DEMO_PASSWORD)
        .await
        .expect("new account signs in")
}

async fn org<B: Backend>(b: &B, who: &Session, partner_id: &str) -> String {
    let page = b.lookup_partner_id(who, partner_id).await.expect("lookup");
    assert_eq!(
        page["items"].as_array().map(Vec::len),
        Some(1),
        "partner ID {partner_id} names one organisation: {page}"
    );
    let found = &page["items"][0];
    assert!(
        found.get("domains").is_none() && found.get("members").is_none(),
        "lookup never shows domains or members"
    );
    found["organisation_id"].as_str().expect("an id").to_owned()
}

fn str_of<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {v}"))
}

/// Outcome A: the Organisation Email's domain is pre-approved, so the request is accepted at once,
/// the verification mail carries the link, the web link and the code, and the code activates.
pub async fn pre_approved_domain_is_accepted_at_once_and_the_mailed_code_activates<B: Backend>(
    b: &B,
) {
    let ada = newcomer(b, "ada.personal@example.org", "Ada Lovelace").await;
    let contoso = org(b, &ada, "4512345").await;

    let preview = b
        .preview(&ada, &contoso, "ada@contoso.com")
        .await
        .expect("preview");
    assert_eq!(str_of(&preview, "outcome"), "accepted", "{preview}");
    assert_eq!(str_of(&preview, "matched_domain"), "contoso.com");

    let created = b
        .request_association(&ada, &contoso, "Ada", "Lovelace", "ada@contoso.com")
        .await
        .expect("request");
    assert_eq!(str_of(&created, "status"), "accepted");
    assert_eq!(str_of(&created, "message"), ACCEPTED);

    let mail = b.mail_to("ada@contoso.com", 1).await;
    let (subject, body) = mail.last().expect("a verification mail");
    assert!(subject.contains("Contoso"), "{subject}");
    assert!(
        body.contains("https://members.partnerdesk.test/verify?token=") || !body.contains("http"),
        "web link from --public-url: {body}"
    );
    assert!(body.contains("expire in 7 days"), "expiry in words: {body}");
    let token = token_in(body);

    let other = demo(b, "staff@example.net").await;
    assert_eq!(
        b.verify(&other, &token)
            .await
            .expect_err("someone else's link"),
        refusal(403, "token_for_other_account")
    );

    let verified = b.verify(&ada, &token).await.expect("verified");
    assert_eq!(str_of(&verified, "status"), "active");
    let membership = str_of(&verified, "membership_id").to_owned();

    let me = b.me(&ada).await.expect("me");
    let memberships = me["memberships"].as_array().expect("memberships");
    assert!(
        memberships
            .iter()
            .any(|m| m["membership_id"] == membership.as_str()
                && m["organisation"]["organisation_id"] == contoso.as_str()
                && m["status"] == "active"),
        "{me}"
    );
    let profile = b.profile(&ada, &membership).await.expect("own profile");
    assert_eq!(str_of(&profile, "first_name"), "Ada");

    assert_eq!(
        b.verify(&ada, &token).await.expect_err("used twice"),
        refusal(410, "token_used")
    );
    assert_eq!(
        b.request_association(&ada, &contoso, "Ada", "Lovelace", "ada@contoso.com")
            .await
            .expect_err("already in"),
        refusal(409, "already_member")
    );
}

/// Outcome B: no pre-approved domain, so the request goes to the PPC, who approves it; then the
/// verification mail goes out and the code activates.
pub async fn unlisted_domain_goes_to_the_ppc_who_approves_it<B: Backend>(b: &B) {
    let sam = demo(b, "staff@example.net").await;
    let fabrikam = org(b, &sam, "4598765").await;

    let preview = b
        .preview(&sam, &fabrikam, "sam@fabrikam.com")
        .await
        .expect("preview");
    assert_eq!(str_of(&preview, "outcome"), "pending_approval");
    assert!(preview["matched_domain"].is_null());

    let created = b
        .request_association(&sam, &fabrikam, "Sam", "Taylor", "sam@fabrikam.com")
        .await
        .expect("request");
    assert_eq!(str_of(&created, "status"), "pending_approval");
    assert_eq!(str_of(&created, "message"), PENDING);
    let id = str_of(&created, "request_id").to_owned();
    assert!(
        b.mail_to("sam@fabrikam.com", 0).await.is_empty(),
        "no mail before approval"
    );
    assert_eq!(
        b.request_association(&sam, &fabrikam, "Sam", "Taylor", "sam@fabrikam.com")
            .await
            .expect_err("one open request"),
        refusal(409, "request_open")
    );
    assert_eq!(
        b.approve(&sam, &id).await.expect_err("own request"),
        refusal(403, "forbidden")
    );

    let ppc = demo(b, "ppc@fabrikam.com").await;
    let queue = b
        .queue(&ppc, &fabrikam, "pending_approval")
        .await
        .expect("queue");
    assert!(
        queue["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|r| r["request_id"] == id.as_str()),
        "{queue}"
    );

    let approved = b.approve(&ppc, &id).await.expect("approved");
    assert_eq!(str_of(&approved, "status"), "accepted");
    assert_eq!(
        b.approve(&ppc, &id).await.expect_err("decided"),
        refusal(409, "not_pending")
    );

    let mail = b.mail_to("sam@fabrikam.com", 1).await;
    let token = token_in(&mail.last().expect("verification mail").1);
    let verified = b.verify(&sam, &token).await.expect("verified");
    assert_eq!(str_of(&verified, "status"), "active");
    let members = b.members(&ppc, &fabrikam).await.expect("members");
    assert!(
        members["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|m| m["membership_id"] == verified["membership_id"]),
        "{members}"
    );
}

/// The PPC denies with a reason; the requester sees it and cannot ask again for 30 days.
pub async fn denied_request_carries_the_reason_and_blocks_a_new_one<B: Backend>(b: &B) {
    let sam = demo(b, "staff@example.net").await;
    let fabrikam = org(b, &sam, "4598765").await;
    let created = b
        .request_association(&sam, &fabrikam, "Sam", "Taylor", "sam@fabrikam.com")
        .await
        .expect("request");
    let id = str_of(&created, "request_id").to_owned();
    let ppc = demo(b, "ppc@fabrikam.com").await;

    assert_eq!(
        b.deny(&ppc, &id, "   ").await.expect_err("empty reason"),
        refusal(422, "invalid_reason")
    );
    let denied = b
        .deny(&ppc, &id, "We do not know you yet")
        .await
        .expect("denied");
    assert_eq!(str_of(&denied, "status"), "denied");
    let seen = b.association_request(&sam, &id).await.expect("own request");
    assert_eq!(str_of(&seen, "decision_reason"), "We do not know you yet");
    assert_eq!(
        b.request_association(&sam, &fabrikam, "Sam", "Taylor", "sam@fabrikam.com")
            .await
            .expect_err("too soon"),
        refusal(409, "recently_denied")
    );
    assert_eq!(
        b.withdraw(&sam, &id).await.expect_err("closed"),
        refusal(409, "not_open")
    );
}

/// Sign-in and account refusals.
pub async fn account_refusals_name_their_codes<B: Backend>(b: &B) {
    assert_eq!(
        b.create_account("ppc@contoso.com", "Someone", DEMO_PASSWORD)
            .await
            .expect_err("taken"),
        refusal(409, "email_taken")
    );
    assert_eq!(
        b.create_account("not an email", "Someone", DEMO_PASSWORD)
            .await
            .expect_err("bad email"),
        refusal(422, "invalid_email")
    );
    assert_eq!(
        b.sign_in("ppc@contoso.com", "wrong password!")
            .await
            .expect_err("wrong password"),
        refusal(401, "invalid_credentials")
    );
    assert_eq!(
        b.sign_in("nobody@contoso.com", DEMO_PASSWORD)
            .await
            .expect_err("unknown email"),
        refusal(401, "invalid_credentials")
    );
}

/// Domain rules: canonical form, public suffixes, free mail, one owner.
pub async fn domain_refusals_name_their_codes<B: Backend>(b: &B) {
    let ppc = demo(b, "ppc@fabrikam.com").await;
    let fabrikam = org(b, &ppc, "4598765").await;
    let added = b
        .add_domain(&ppc, &fabrikam, "Fabrikam.COM.", true)
        .await
        .expect("added");
    assert_eq!(str_of(&added, "domain"), "fabrikam.com", "canonical form");
    assert_eq!(added["include_subdomains"], true);
    for (domain, code) in [
        ("gmail.com", "freemail_domain"),
        ("co.uk", "public_suffix"),
        ("not a domain", "invalid_domain"),
    ] {
        assert_eq!(
            b.add_domain(&ppc, &fabrikam, domain, false)
                .await
                .expect_err(domain),
            refusal(422, code),
            "{domain}"
        );
    }
    assert_eq!(
        b.add_domain(&ppc, &fabrikam, "contoso.com", false)
            .await
            .expect_err("Contoso's"),
        refusal(409, "domain_claimed")
    );
}

/// Deny by default: 403 for a signed-in outsider on admin operations, 404 for what they may not
/// know exists.
pub async fn outsiders_are_refused<B: Backend>(b: &B) {
    let sam = demo(b, "staff@example.net").await;
    let contoso = org(b, &sam, "4512345").await;
    assert_eq!(
        b.members(&sam, &contoso).await.expect_err("not an admin"),
        refusal(403, "forbidden")
    );
    assert_eq!(
        b.add_domain(&sam, &contoso, "example.org", false)
            .await
            .expect_err("not an admin"),
        refusal(403, "forbidden")
    );
    assert_eq!(
        b.members(&sam, "org_does_not_exist")
            .await
            .expect_err("unknown"),
        refusal(404, "not_found")
    );
    assert_eq!(
        b.association_request(&sam, "req_does_not_exist")
            .await
            .expect_err("unknown"),
        refusal(404, "not_found")
    );
    assert_eq!(
        b.verify(&sam, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
            .await
            .expect_err("never sent"),
        refusal(404, "invalid_token")
    );

    // Another person's request is invisible, not forbidden.
    let ppc = demo(b, "ppc@fabrikam.com").await;
    let fabrikam = org(b, &sam, "4598765").await;
    let created = b
        .request_association(&sam, &fabrikam, "Sam", "Taylor", "sam@fabrikam.com")
        .await
        .expect("request");
    let id = str_of(&created, "request_id");
    let contoso_ppc = demo(b, "ppc@contoso.com").await;
    assert_eq!(
        b.association_request(&contoso_ppc, id)
            .await
            .expect_err("other org"),
        refusal(404, "not_found")
    );
    assert_eq!(
        b.approve(&contoso_ppc, id).await.expect_err("other org"),
        refusal(404, "not_found")
    );
    b.association_request(&ppc, id)
        .await
        .expect("its own PPC sees it");
}
