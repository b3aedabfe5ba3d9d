//! The guide's journeys and API.md's refusals, written against `client::Backend` only, so each
//! runs unchanged against the remote backend (the real server) and the embedded one. Refusals are
//! compared as (HTTP status of their kind, code): both backends must give the same.
use std::fmt::Debug;

use client::Privilege;
use membership::{
    DomainStatus, Error, ErrorKind, LookupQuery, MembershipStatus, NewAssociationRequest,
    PageRequest, ProfilePatch, RequestStatus, Secret, SeenOutcome,
};

use crate::backends::Subject;

pub const DEMO_PASSWORD: &str = "partnerdesk-demo";
pub const ACCEPTED: &str = "Your request to associate with the company has been accepted";
pub const PENDING: &str = "Your request to associate to your organization\u{2019}s account has been sent to your organisation\u{2019}s program administrator";

/// A refusal as the scenarios compare it.
pub fn refusal(status: u16, code: &str) -> (u16, String) {
    (status, code.to_owned())
}

/// The refusal `r` must be, as (status, code).
#[track_caller]
fn refused<T: Debug>(r: Result<T, Error>) -> (u16, String) {
    match r {
        Ok(v) => panic!("expected a refusal, got {v:?}"),
        Err(e) => (e.kind().http_status(), e.code().to_owned()),
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

fn password() -> Secret {
    Secret::new(DEMO_PASSWORD)
}

pub fn demo(b: &Subject, email: &str) -> Secret {
    b.sign_in(email, &password())
        .expect("demo sign-in")
        .access_token
}

pub fn newcomer(b: &Subject, email: &str, name: &str) -> Secret {
    b.create_account(email, name, &password())
        .expect("account created");
    b.sign_in(email, &password())
        .expect("new account signs in")
        .access_token
}

pub fn org(b: &Subject, who: &Secret, partner_id: &str) -> String {
    let query = LookupQuery {
        partner_id: Some(partner_id.into()),
        ..Default::default()
    };
    let page = b.lookup(who, &query).expect("lookup");
    assert_eq!(
        page.items.len(),
        1,
        "partner ID {partner_id} names one organisation: {page:?}"
    );
    page.items[0].organisation_id.clone()
}

pub fn ask(
    b: &Subject,
    who: &Secret,
    org: &str,
    first: &str,
    organisation_email: &str,
) -> Result<membership::RequestCreated, Error> {
    b.request_association(
        who,
        &NewAssociationRequest {
            organisation_id: org.into(),
            first_name: first.into(),
            last_name: "Taylor".into(),
            organisation_email: organisation_email.into(),
            phone: None,
            job_title: None,
        },
    )
}

/// Outcome A: the Organisation Email's domain is pre-approved, so the request is accepted at once,
/// the verification mail carries the link, the web link and the code, and the code activates.
pub fn pre_approved_domain_is_accepted_at_once_and_the_mailed_code_activates(b: &Subject) {
    let ada = newcomer(b, "ada.personal@example.org", "Ada Lovelace");
    let contoso = org(b, &ada, "4512345");

    let preview = b
        .preview_association(&ada, &contoso, "ada@contoso.com")
        .expect("preview");
    assert_eq!(preview.outcome, RequestStatus::Accepted, "{preview:?}");
    assert_eq!(preview.matched_domain.as_deref(), Some("contoso.com"));

    let created = ask(b, &ada, &contoso, "Ada", "ada@contoso.com").expect("request");
    assert_eq!(created.status, RequestStatus::Accepted);
    assert_eq!(created.message, ACCEPTED);

    let mail = b.mail_to(&ada, "ada@contoso.com", 1);
    let (subject, body) = mail.last().expect("a verification mail");
    assert!(subject.contains("Contoso"), "{subject}");
    assert!(
        body.contains("https://members.partnerdesk.test/verify?token="),
        "web link from the public URL: {body}"
    );
    assert!(body.contains("expire in 7 days"), "expiry in words: {body}");
    let token = Secret::new(token_in(body));

    let other = demo(b, "staff@example.net");
    assert_eq!(
        refused(b.verify(&other, &token)),
        refusal(403, "token_for_other_account")
    );

    let verified = b.verify(&ada, &token).expect("verified");
    assert_eq!(verified.status, MembershipStatus::Active);

    let me = b.me(&ada).expect("me");
    assert!(
        me.memberships
            .iter()
            .any(|m| m.membership_id == verified.membership_id
                && m.organisation.organisation_id == contoso
                && m.status == MembershipStatus::Active),
        "{me:?}"
    );
    let profile = b
        .profile(&ada, &verified.membership_id)
        .expect("own profile");
    assert_eq!(profile.first_name, "Ada");

    assert_eq!(refused(b.verify(&ada, &token)), refusal(410, "token_used"));
    assert_eq!(
        refused(ask(b, &ada, &contoso, "Ada", "ada@contoso.com")),
        refusal(409, "already_member")
    );
}

/// Outcome B: no pre-approved domain, so the request goes to the PPC, who approves it; then the
/// verification mail goes out and the code activates.
pub fn unlisted_domain_goes_to_the_ppc_who_approves_it(b: &Subject) {
    let sam = demo(b, "staff@example.net");
    let fabrikam = org(b, &sam, "4598765");

    let preview = b
        .preview_association(&sam, &fabrikam, "sam@fabrikam.com")
        .expect("preview");
    assert_eq!(preview.outcome, RequestStatus::PendingApproval);
    assert_eq!(preview.matched_domain, None);

    let created = ask(b, &sam, &fabrikam, "Sam", "sam@fabrikam.com").expect("request");
    assert_eq!(created.status, RequestStatus::PendingApproval);
    assert_eq!(created.message, PENDING);
    let id = created.request_id;
    assert!(
        b.mail_to(&sam, "sam@fabrikam.com", 0).is_empty(),
        "no mail before approval"
    );
    assert_eq!(
        refused(ask(b, &sam, &fabrikam, "Sam", "sam@fabrikam.com")),
        refusal(409, "request_open")
    );
    assert_eq!(refused(b.approve(&sam, &id)), refusal(403, "forbidden"));

    let ppc = demo(b, "ppc@fabrikam.com");
    let queue = b
        .association_queue(
            &ppc,
            &fabrikam,
            Some(RequestStatus::PendingApproval),
            &PageRequest::default(),
        )
        .expect("queue");
    assert!(queue.items.iter().any(|r| r.request_id == id), "{queue:?}");
    let events = b.events(&ppc, None, 100).expect("the PPC's events");
    assert!(
        events
            .iter()
            .any(|e| e.kind == "association_request.created" && e.data.to_string().contains(&id)),
        "the PPC hears of the request: {events:?}"
    );

    let approved = b.approve(&ppc, &id).expect("approved");
    assert_eq!(approved.status, RequestStatus::Accepted);
    assert_eq!(refused(b.approve(&ppc, &id)), refusal(409, "not_pending"));

    let mail = b.mail_to(&sam, "sam@fabrikam.com", 1);
    let token = Secret::new(token_in(&mail.last().expect("verification mail").1));
    let verified = b.verify(&sam, &token).expect("verified");
    assert_eq!(verified.status, MembershipStatus::Active);
    let members = b
        .members(&ppc, &fabrikam, &PageRequest::default())
        .expect("members");
    assert!(
        members
            .items
            .iter()
            .any(|m| m.membership_id == verified.membership_id),
        "{members:?}"
    );
}

/// The PPC denies with a reason; the requester sees it and cannot ask again for 30 days.
pub fn denied_request_carries_the_reason_and_blocks_a_new_one(b: &Subject) {
    let sam = demo(b, "staff@example.net");
    let fabrikam = org(b, &sam, "4598765");
    let id = ask(b, &sam, &fabrikam, "Sam", "sam@fabrikam.com")
        .expect("request")
        .request_id;
    let ppc = demo(b, "ppc@fabrikam.com");

    assert_eq!(
        refused(b.deny(&ppc, &id, "   ")),
        refusal(422, "invalid_reason")
    );
    let denied = b.deny(&ppc, &id, "We do not know you yet").expect("denied");
    assert_eq!(denied.status, RequestStatus::Denied);
    let seen = b.association_request(&sam, &id).expect("own request");
    assert_eq!(
        seen.decision_reason.as_deref(),
        Some("We do not know you yet")
    );
    assert_eq!(
        refused(ask(b, &sam, &fabrikam, "Sam", "sam@fabrikam.com")),
        refusal(409, "recently_denied")
    );
    assert_eq!(refused(b.withdraw(&sam, &id)), refusal(409, "not_open"));
}

/// Sign-in and account refusals.
pub fn account_refusals_name_their_codes(b: &Subject) {
    assert_eq!(
        refused(b.create_account("ppc@contoso.com", "Someone", &password())),
        refusal(409, "email_taken")
    );
    assert_eq!(
        refused(b.create_account("not an email", "Someone", &password())),
        refusal(422, "invalid_email")
    );
    assert_eq!(
        refused(b.sign_in("ppc@contoso.com", &Secret::new("wrong password!"))),
        refusal(401, "invalid_credentials")
    );
    assert_eq!(
        refused(b.sign_in("nobody@contoso.com", &password())),
        refusal(401, "invalid_credentials")
    );
}

/// Domain rules: canonical form, public suffixes, free mail, one owner.
pub fn domain_refusals_name_their_codes(b: &Subject) {
    let ppc = demo(b, "ppc@fabrikam.com");
    let fabrikam = org(b, &ppc, "4598765");
    let added = b
        .add_domain(&ppc, &fabrikam, "Fabrikam.COM.", true)
        .expect("added");
    assert_eq!(added.domain, "fabrikam.com", "canonical form");
    assert!(added.include_subdomains);
    for (domain, code) in [
        ("gmail.com", "freemail_domain"),
        ("co.uk", "public_suffix"),
        ("not a domain", "invalid_domain"),
    ] {
        assert_eq!(
            refused(b.add_domain(&ppc, &fabrikam, domain, false)),
            refusal(422, code),
            "{domain}"
        );
    }
    assert_eq!(
        refused(b.add_domain(&ppc, &fabrikam, "contoso.com", false)),
        refusal(409, "domain_claimed")
    );
    assert!(b
        .domains(&ppc, &fabrikam)
        .expect("domains")
        .iter()
        .any(|d| d.domain == "fabrikam.com"));
    b.remove_domain(&ppc, &fabrikam, "fabrikam.com")
        .expect("removed");
    assert!(!b
        .domains(&ppc, &fabrikam)
        .expect("domains")
        .iter()
        .any(|d| d.domain == "fabrikam.com"));
}

/// Deny by default: 403 for a signed-in outsider on admin operations, 404 for what they may not
/// know exists.
pub fn outsiders_are_refused(b: &Subject) {
    let sam = demo(b, "staff@example.net");
    let contoso = org(b, &sam, "4512345");
    assert_eq!(
        refused(b.members(&sam, &contoso, &PageRequest::default())),
        refusal(403, "forbidden")
    );
    assert_eq!(
        refused(b.add_domain(&sam, &contoso, "example.org", false)),
        refusal(403, "forbidden")
    );
    assert_eq!(
        refused(b.members(&sam, "org_does_not_exist", &PageRequest::default())),
        refusal(404, "not_found")
    );
    assert_eq!(
        refused(b.association_request(&sam, "req_does_not_exist")),
        refusal(404, "not_found")
    );
    assert_eq!(
        refused(b.verify(
            &sam,
            &Secret::new("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        )),
        refusal(404, "invalid_token")
    );
    assert_eq!(
        refused(b.me(&Secret::new("not-a-token"))),
        refusal(401, "unauthenticated")
    );

    // Another person's request is invisible, not forbidden.
    let ppc = demo(b, "ppc@fabrikam.com");
    let fabrikam = org(b, &sam, "4598765");
    let id = ask(b, &sam, &fabrikam, "Sam", "sam@fabrikam.com")
        .expect("request")
        .request_id;
    let contoso_ppc = demo(b, "ppc@contoso.com");
    assert_eq!(
        refused(b.association_request(&contoso_ppc, &id)),
        refusal(404, "not_found")
    );
    assert_eq!(
        refused(b.approve(&contoso_ppc, &id)),
        refusal(404, "not_found")
    );
    b.association_request(&ppc, &id)
        .expect("its own PPC sees it");
}

/// A member's profile: a stale revision is refused with the profile as it is now; the MCP ID has
/// its own rules; a resend inside the cooldown says how long to wait.
pub fn a_stale_profile_edit_gets_412_with_the_current_profile(b: &Subject) {
    let ada = newcomer(b, "ada.personal@example.org", "Ada Lovelace");
    let contoso = org(b, &ada, "4512345");
    let id = ask(b, &ada, &contoso, "Ada", "ada@contoso.com")
        .expect("accepted at once")
        .request_id;

    let resend = b.resend_verification(&ada, &id).expect_err("too soon");
    assert_eq!(
        (resend.kind(), resend.code()),
        (ErrorKind::RateLimited, "resend_cooldown")
    );
    assert!(
        resend.retry_after_secs().is_some_and(|s| s > 0),
        "{resend:?}"
    );

    let mail = b.mail_to(&ada, "ada@contoso.com", 1);
    let token = Secret::new(token_in(&mail.last().expect("verification mail").1));
    let membership = b.verify(&ada, &token).expect("verified").membership_id;

    let read = b.profile(&ada, &membership).expect("profile");
    let first = b
        .update_profile(
            &ada,
            &membership,
            read.revision,
            &ProfilePatch {
                job_title: Some("Analyst".into()),
                ..Default::default()
            },
        )
        .expect("the first edit");
    assert_eq!(first.job_title.as_deref(), Some("Analyst"));
    assert!(first.revision > read.revision);

    let stale = b
        .update_profile(
            &ada,
            &membership,
            read.revision,
            &ProfilePatch {
                phone: Some("+44 20 7946 0000".into()),
                ..Default::default()
            },
        )
        .expect_err("edited since it was read");
    assert_eq!(
        (stale.kind().http_status(), stale.code()),
        (412, "revision_mismatch")
    );
    assert_eq!(stale.current(), Some(&first), "the profile as it is now");

    assert_eq!(
        refused(b.link_mcp_id(&ada, &membership, "12ab")),
        refusal(422, "invalid_mcp_id")
    );
    let linked = b
        .link_mcp_id(&ada, &membership, " 1234567 ")
        .expect("linked");
    assert_eq!(linked.mcp_id.as_deref(), Some("1234567"));
    b.unlink_mcp_id(&ada, &membership).expect("unlinked");
    assert_eq!(b.profile(&ada, &membership).expect("profile").mcp_id, None);
}

/// Sessions, privileges, invitations and the audit trail through the same trait.
pub fn sessions_privileges_and_audit_behave_the_same(b: &Subject) {
    b.health().expect("the backend answers");

    let first = b
        .sign_in("ppc@contoso.com", &password())
        .expect("signed in");
    let second = b.refresh(&first.refresh_token).expect("a new pair");
    assert_eq!(second.account, first.account);
    assert_eq!(
        refused(b.refresh(&first.refresh_token)),
        refusal(401, "invalid_refresh_token")
    );
    b.sign_out(&second.access_token).expect("signed out");
    assert_eq!(
        refused(b.me(&second.access_token)),
        refusal(401, "unauthenticated")
    );

    let ppc = demo(b, "ppc@contoso.com");
    let contoso = org(b, &ppc, "4512345");
    assert_eq!(
        b.organisation(&ppc, &contoso)
            .expect("public fields")
            .partner_id,
        "4512345"
    );
    let invited = b
        .invite(
            &ppc,
            &contoso,
            &["kim@contoso.com".to_owned(), "not an email".to_owned()],
        )
        .expect("invited");
    assert_eq!(invited.len(), 2);
    assert_eq!(invited[0].status, "invited");
    assert_eq!(invited[1].status, "invalid_email");

    let ada = newcomer(b, "ada.personal@example.org", "Ada Lovelace");
    ask(b, &ada, &contoso, "Ada", "ada@contoso.com").expect("accepted at once");
    let mail = b.mail_to(&ada, "ada@contoso.com", 1);
    let token = Secret::new(token_in(&mail.last().expect("verification mail").1));
    let membership = b.verify(&ada, &token).expect("verified").membership_id;

    let asked = b
        .request_privilege(
            &ada,
            &membership,
            Privilege::ActionPack,
            Some("For our demos"),
        )
        .expect("asked");
    assert_eq!(asked.privilege, Privilege::ActionPack);
    assert!(b
        .privilege_requests(&ppc, &contoso)
        .expect("the PPC's list")
        .iter()
        .any(|r| r.privilege_request_id == asked.privilege_request_id));
    assert_eq!(
        refused(b.grant_privilege(&ada, &membership, Privilege::GlobalAdmin)),
        refusal(403, "forbidden")
    );
    let member = b
        .grant_privilege(&ppc, &membership, Privilege::ActionPack)
        .expect("granted");
    assert_eq!(member.privileges, vec![Privilege::ActionPack]);
    b.revoke_privilege(&ppc, &membership, Privilege::ActionPack)
        .expect("revoked");

    let audit = b
        .audit(&ppc, &contoso, &PageRequest::default())
        .expect("audit");
    assert!(!audit.items.is_empty());
    assert!(
        audit.items.windows(2).all(|w| w[0].at >= w[1].at),
        "newest first"
    );

    b.remove_membership(&ada, &membership).expect("left");
    assert!(b
        .me(&ada)
        .expect("me")
        .memberships
        .iter()
        .all(|m| m.membership_id != membership || m.status != MembershipStatus::Active));

    let events = b.events(&ada, None, 1).expect("events");
    assert!(events.len() <= 1, "the limit holds");
}

/// The free-text rule (ARCHITECTURE.md): markup characters are ordinary text, kept as typed;
/// controls, text-direction controls and invisible characters are refused, with the field's code
/// and a message naming the character, wherever a name or other free text is taken.
pub fn typed_text_keeps_markup_as_text_and_refuses_hidden_characters(b: &Subject) {
    let ppc = demo(b, "ppc@fabrikam.com");
    let fabrikam = org(b, &ppc, "4598765");
    let mine = b.me(&ppc).expect("me").memberships[0].membership_id.clone();
    let sam = demo(b, "staff@example.net");

    // Markup is text: kept exactly as typed and read back the same.
    let eve = newcomer(b, "eve@example.org", "<b>Eve</b> & \"Sons\"");
    let first = "<img src=x onerror=alert(1)>";
    let asked = ask(b, &eve, &fabrikam, first, "o'neil&co@fabrikam.com").expect("request");
    let seen = b
        .association_request(&ppc, &asked.request_id)
        .expect("read");
    assert_eq!(seen.first_name, first);
    assert_eq!(seen.organisation_email, "o'neil&co@fabrikam.com");

    for hidden in [
        '\u{202E}', '\u{2067}', '\u{200B}', '\u{FEFF}', '\u{2028}', '\n', '\u{7}', '\u{0}',
    ] {
        let typed = format!("Ev{hidden}e");
        let named = format!("U+{:04X}", hidden as u32);
        let check = |r: Result<(), Error>, code: &str| {
            let e = r.expect_err(&format!("{typed:?} refused as {code}"));
            assert_eq!((e.kind().http_status(), e.code()), (422, code), "{typed:?}");
            assert!(e.message().contains(&named), "{code}: {}", e.message());
        };
        check(
            b.create_account("new@example.org", &typed, &password())
                .map(drop),
            "invalid_name",
        );
        check(
            ask(b, &sam, &fabrikam, &typed, "sam@fabrikam.com").map(drop),
            "invalid_name",
        );
        let with_title = NewAssociationRequest {
            organisation_id: fabrikam.clone(),
            first_name: "Sam".into(),
            last_name: "Taylor".into(),
            organisation_email: "sam@fabrikam.com".into(),
            phone: None,
            job_title: Some(typed.clone()),
        };
        check(
            b.request_association(&sam, &with_title).map(drop),
            "invalid_job_title",
        );
        let organisation = |name: &str, city: &str| membership::NewOrganisation {
            name: name.into(),
            country: "Australia".into(),
            city: city.into(),
            address: None,
            phone: None,
            website: None,
        };
        check(
            b.create_organisation(&sam, &organisation(&typed, "Perth"))
                .map(drop),
            "invalid_organisation_name",
        );
        check(
            b.create_organisation(&sam, &organisation("Woodgrove", &typed))
                .map(drop),
            "invalid_city",
        );
        check(
            b.deny(&ppc, &asked.request_id, &typed).map(drop),
            "invalid_reason",
        );
        check(
            b.request_privilege(&ppc, &mine, Privilege::ActionPack, Some(&typed))
                .map(drop),
            "invalid_note",
        );
        let revision = b.profile(&ppc, &mine).expect("profile").revision;
        let patch = ProfilePatch {
            first_name: Some(typed.clone()),
            ..ProfilePatch::default()
        };
        check(
            b.update_profile(&ppc, &mine, revision, &patch).map(drop),
            "invalid_name",
        );
    }
    // Nothing refused changed anything: the request still waits.
    assert_eq!(
        b.association_request(&ppc, &asked.request_id)
            .expect("read")
            .status,
        RequestStatus::PendingApproval
    );
}

/// A PPC adds a domain, which waits for its DNS record; Check now sees what is published; once
/// the record is seen, requests from the domain are accepted at once.
pub fn a_domain_accepts_at_once_only_once_its_dns_record_is_seen(
    b: &Subject,
    dns: &testkit::dns::DnsServer,
) {
    let ppc = demo(b, "ppc@fabrikam.com");
    let fabrikam = org(b, &ppc, "4598765");
    let staff = demo(b, "staff@example.net");
    let added = b
        .add_domain(&ppc, &fabrikam, "fabrikam.com", false)
        .expect("added");
    assert_eq!(added.status, DomainStatus::Pending);
    assert_eq!(added.record.name, "_partner-desk-challenge.fabrikam.com");
    assert_eq!(added.record.record_type, "TXT");

    let checked = b
        .check_domain(&ppc, &fabrikam, "fabrikam.com")
        .expect("checked");
    assert_eq!(checked.status, DomainStatus::Pending);
    assert_eq!(
        checked.last_seen.as_ref().map(|l| l.outcome),
        Some(SeenOutcome::Missing)
    );
    let preview = b
        .preview_association(&staff, &fabrikam, "sam@fabrikam.com")
        .expect("preview");
    assert_eq!(preview.outcome, RequestStatus::PendingApproval);
    assert_eq!(preview.matched_domain_status, Some(DomainStatus::Pending));

    dns.set_txt(&added.record.name, &[&[&added.record.value]]);
    let checked = b
        .check_domain(&ppc, &fabrikam, "Fabrikam.COM")
        .expect("checked");
    assert_eq!(checked.status, DomainStatus::Verified, "{checked:?}");
    assert!(checked.verified_at.is_some());
    let listed = b.domains(&ppc, &fabrikam).expect("domains");
    assert_eq!(listed, vec![checked]);
    let preview = b
        .preview_association(&staff, &fabrikam, "sam@fabrikam.com")
        .expect("preview");
    assert_eq!(preview.outcome, RequestStatus::Accepted);

    assert_eq!(
        refused(b.check_domain(&ppc, &fabrikam, "example.org")),
        refusal(404, "not_found")
    );
    assert_eq!(
        refused(b.check_domain(&staff, &fabrikam, "fabrikam.com")),
        refusal(403, "forbidden")
    );
}

/// `email` joins Fabrikam (its PPC approves the request) and verifies: the member's token and
/// membership id.
fn fabrikam_member(b: &Subject, personal: &str, work: &str) -> (Secret, String) {
    let who = newcomer(b, personal, "Dana Delegate");
    let ppc = demo(b, "ppc@fabrikam.com");
    let fabrikam = org(b, &who, "4598765");
    let id = ask(b, &who, &fabrikam, "Dana", work)
        .expect("request")
        .request_id;
    b.approve(&ppc, &id).expect("approved");
    let mail = b.mail_to(&who, work, 1);
    let token = Secret::new(token_in(&mail.last().expect("verification mail").1));
    let membership = b.verify(&who, &token).expect("verified").membership_id;
    (who, membership)
}

/// Delegation and handover: the delegate decides for the PPC while the period runs (and the
/// decision says so), then the queue is back; the PPC role moves only when accepted, and the last
/// approver cannot leave.
pub fn a_delegate_decides_for_the_ppc_and_the_role_moves_only_when_accepted(b: &Subject) {
    let ppc = demo(b, "ppc@fabrikam.com");
    let ppc_account = b.me(&ppc).expect("me").account.account_id;
    let fabrikam = org(b, &ppc, "4598765");
    let (dana, dana_m) = fabrikam_member(b, "dana.personal@example.org", "dana@fabrikam.com");

    let now = time::OffsetDateTime::now_utc();
    let away = membership::DelegationInput {
        delegate_membership_id: dana_m.clone(),
        starts_at: now - time::Duration::minutes(1),
        ends_at: now + time::Duration::days(7),
    };
    assert_eq!(
        refused(b.set_delegation(&dana, &fabrikam, &away)),
        refusal(403, "forbidden")
    );
    assert_eq!(
        refused(b.set_delegation(
            &ppc,
            &fabrikam,
            &membership::DelegationInput {
                ends_at: now - time::Duration::days(1),
                ..away.clone()
            }
        )),
        refusal(422, "invalid_period")
    );
    assert_eq!(
        refused(b.delegation(&ppc, &fabrikam)),
        refusal(404, "not_found")
    );
    let d = b.set_delegation(&ppc, &fabrikam, &away).expect("delegated");
    assert!(d.active, "a period that has begun starts at once: {d:?}");
    assert_eq!(d.delegate_membership_id, dana_m);
    assert_eq!(b.delegation(&ppc, &fabrikam).expect("read"), d);

    // A new request while the PPC is away: Dana sees it, decides it, and it says for whom.
    let lou = newcomer(b, "lou.personal@example.org", "Lou Late");
    let id = ask(b, &lou, &fabrikam, "Lou", "lou@fabrikam.com")
        .expect("request")
        .request_id;
    let mine = b.association_request(&lou, &id).expect("own");
    assert_eq!(
        mine.waiting_on,
        vec![
            membership::ApproverRole::Ppc,
            membership::ApproverRole::Delegate
        ]
    );
    let queue = b
        .association_queue(
            &dana,
            &fabrikam,
            Some(RequestStatus::PendingApproval),
            &PageRequest::default(),
        )
        .expect("the delegate's queue");
    assert!(queue.items.iter().any(|r| r.request_id == id), "{queue:?}");
    assert!(b
        .me(&dana)
        .expect("me")
        .memberships
        .iter()
        .any(|m| m.roles.contains(&membership::Role::Delegate)));
    let decided = b.approve(&dana, &id).expect("the delegate approves");
    assert_eq!(decided.on_behalf_of.as_deref(), Some(ppc_account.as_str()));
    assert_eq!(
        refused(b.members(&dana, &fabrikam, &PageRequest::default())),
        refusal(403, "forbidden"),
        "a delegate decides requests, nothing else"
    );

    b.end_delegation(&ppc, &fabrikam).expect("ended");
    assert_eq!(
        refused(b.delegation(&ppc, &fabrikam)),
        refusal(404, "not_found")
    );
    assert_eq!(
        refused(b.association_queue(&dana, &fabrikam, None, &PageRequest::default())),
        refusal(403, "forbidden")
    );

    // Handover: declined, then accepted.
    let in_fabrikam = |who: &Secret| {
        b.me(who)
            .expect("me")
            .memberships
            .into_iter()
            .find(|m| m.organisation.organisation_id == fabrikam)
            .expect("a member of Fabrikam")
    };
    let ppc_m = in_fabrikam(&ppc).membership_id;
    assert_eq!(
        refused(b.remove_membership(&ppc, &ppc_m)),
        refusal(409, "last_approver")
    );
    let offer = b.offer_handover(&ppc, &fabrikam, &dana_m).expect("offered");
    assert_eq!(offer.status, membership::HandoverStatus::Offered);
    assert_eq!(b.me(&dana).expect("me").handovers.len(), 1);
    assert_eq!(
        refused(b.accept_handover(&ppc, &offer.handover_id)),
        refusal(403, "forbidden")
    );
    let no = b
        .decline_handover(&dana, &offer.handover_id)
        .expect("declined");
    assert_eq!(no.status, membership::HandoverStatus::Declined);
    assert_eq!(
        refused(b.accept_handover(&dana, &offer.handover_id)),
        refusal(409, "handover_closed")
    );
    let again = b
        .offer_handover(&ppc, &fabrikam, &dana_m)
        .expect("offered again");
    let yes = b
        .accept_handover(&dana, &again.handover_id)
        .expect("accepted");
    assert_eq!(yes.status, membership::HandoverStatus::Accepted);
    assert!(in_fabrikam(&dana).roles.contains(&membership::Role::Ppc));
    assert!(in_fabrikam(&ppc)
        .privileges
        .contains(&Privilege::GlobalAdmin));
    b.remove_membership(&ppc, &ppc_m)
        .expect("the old PPC may leave now");
    assert_eq!(
        refused(b.remove_membership(&dana, &dana_m)),
        refusal(409, "last_approver")
    );
}
