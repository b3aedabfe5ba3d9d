//! The guide's whole journey through the service, both outcomes.
use membership::{
    MembershipStatus, PageRequest, ProfilePatch, RequestStatus, ACCEPTED_MESSAGE, PENDING_MESSAGE,
};

use crate::common::{code, world};

#[test]
fn pre_approved_domain_is_accepted_at_once_and_verification_activates_the_membership() {
    let w = world();
    let contoso = w.contoso();
    let staff = w.sign_in("staff@example.net");

    let preview =
        w.p.preview_association(&staff, &contoso, "Sam.Taylor@Contoso.com")
            .unwrap();
    assert_eq!(preview.outcome, RequestStatus::Accepted);
    assert_eq!(preview.matched_domain.as_deref(), Some("contoso.com"));

    let created = w
        .request(&staff, &contoso, "Sam.Taylor@Contoso.com")
        .unwrap();
    assert_eq!(created.status, RequestStatus::Accepted);
    assert_eq!(created.message, ACCEPTED_MESSAGE);

    // Mail goes to the stored canonical address only.
    let token = w.token_for("sam.taylor@contoso.com");
    assert!(w
        .mailbox
        .list_for(&["Sam.Taylor@Contoso.com".into()])
        .unwrap()
        .is_empty());

    let verified = w.p.verify(&staff, &token, w.now).unwrap();
    assert_eq!(verified.status, MembershipStatus::Active);

    // Complete your individual profile.
    let profile = w.p.profile(&staff, &verified.membership_id).unwrap();
    let patch = ProfilePatch {
        job_title: Some("Solution Architect".into()),
        preferred_language: Some("en-AU".into()),
        ..Default::default()
    };
    let updated =
        w.p.update_profile(
            &staff,
            &verified.membership_id,
            profile.revision,
            &patch,
            w.now,
        )
        .unwrap();
    assert_eq!(updated.job_title.as_deref(), Some("Solution Architect"));
    assert_eq!(updated.revision, profile.revision + 1);

    let me = w.p.me(&staff).unwrap();
    assert_eq!(me.memberships.len(), 1);
    assert_eq!(me.memberships[0].organisation.organisation_id, contoso);
    assert_eq!(me.requests[0].status, RequestStatus::Active);
}

#[test]
fn other_address_goes_to_the_ppc_who_accepts_then_verification_activates() {
    let w = world();
    let fabrikam = w.fabrikam();
    let staff = w.sign_in("staff@example.net");
    let ppc = w.sign_in("ppc@fabrikam.com");

    let preview =
        w.p.preview_association(&staff, &fabrikam, "sam@fabrikam.com")
            .unwrap();
    assert_eq!(preview.outcome, RequestStatus::PendingApproval);
    assert!(
        preview.reason.contains("fabrikam.com"),
        "{}",
        preview.reason
    );

    let created = w.request(&staff, &fabrikam, "sam@fabrikam.com").unwrap();
    assert_eq!(created.status, RequestStatus::PendingApproval);
    assert_eq!(created.message, PENDING_MESSAGE);
    assert!(
        w.mailbox
            .list_for(&["sam@fabrikam.com".into()])
            .unwrap()
            .is_empty(),
        "no mail before the PPC accepts"
    );

    let queue =
        w.p.association_queue(
            &ppc,
            &fabrikam,
            Some(RequestStatus::PendingApproval),
            &PageRequest::default(),
        )
        .unwrap();
    assert_eq!(queue.items.len(), 1);
    assert_eq!(queue.items[0].request_id, created.request_id);

    let events = w.p.events(&ppc, None, 100).unwrap();
    assert!(events
        .iter()
        .any(|e| e.kind == "association_request.created"
            && e.data["request_id"] == created.request_id.as_str()));

    let approved = w.p.approve(&ppc, &created.request_id, w.now).unwrap();
    assert_eq!(approved.status, RequestStatus::Accepted);
    let staff_events = w.p.events(&staff, None, 100).unwrap();
    assert!(staff_events
        .iter()
        .any(|e| e.kind == "association_request.decided" && e.data["status"] == "accepted"));

    let verified =
        w.p.verify(&staff, &w.token_for("sam@fabrikam.com"), w.now)
            .unwrap();
    assert_eq!(verified.status, MembershipStatus::Active);
    let members =
        w.p.members(&ppc, &fabrikam, &PageRequest::default())
            .unwrap();
    assert!(members
        .items
        .iter()
        .any(|m| m.membership_id == verified.membership_id));

    let audit = w.p.audit(&ppc, &fabrikam, &PageRequest::default()).unwrap();
    let actions: Vec<&str> = audit.items.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        &actions[..3],
        [
            "membership.activated",
            "association_request.approved",
            "association_request.created"
        ],
        "newest first"
    );
}

#[test]
fn denial_carries_the_reason_and_blocks_a_new_request_for_thirty_days() {
    let mut w = world();
    let fabrikam = w.fabrikam();
    let staff = w.sign_in("staff@example.net");
    let ppc = w.sign_in("ppc@fabrikam.com");
    let created = w
        .request(&staff, &fabrikam, "sam@elsewhere.example")
        .unwrap();

    assert_eq!(
        code(w.p.deny(&ppc, &created.request_id, "   ", w.now)),
        "invalid_reason"
    );
    let denied =
        w.p.deny(
            &ppc,
            &created.request_id,
            "We do not know this address; use your fabrikam.com one.",
            w.now,
        )
        .unwrap();
    assert_eq!(denied.status, RequestStatus::Denied);
    let seen =
        w.p.association_request(&staff, &created.request_id)
            .unwrap();
    assert_eq!(
        seen.decision_reason.as_deref(),
        Some("We do not know this address; use your fabrikam.com one.")
    );
    assert_eq!(
        code(w.p.approve(&ppc, &created.request_id, w.now)),
        "not_pending"
    );

    assert_eq!(
        code(w.request(&staff, &fabrikam, "sam@fabrikam.com")),
        "recently_denied"
    );
    w.advance(30 * 24 * 3600 - 1);
    assert_eq!(
        code(w.request(&staff, &fabrikam, "sam@fabrikam.com")),
        "recently_denied"
    );
    w.advance(1);
    assert_eq!(
        w.request(&staff, &fabrikam, "sam@fabrikam.com")
            .unwrap()
            .status,
        RequestStatus::PendingApproval
    );
}

#[test]
fn one_open_request_per_person_and_organisation_and_withdraw_reopens() {
    let w = world();
    let fabrikam = w.fabrikam();
    let staff = w.sign_in("staff@example.net");
    let first = w.request(&staff, &fabrikam, "sam@fabrikam.com").unwrap();
    assert_eq!(
        code(w.request(&staff, &fabrikam, "sam@fabrikam.com")),
        "request_open"
    );
    w.p.withdraw(&staff, &first.request_id, w.now).unwrap();
    assert_eq!(
        code(w.p.withdraw(&staff, &first.request_id, w.now)),
        "not_open"
    );
    w.request(&staff, &fabrikam, "sam@fabrikam.com").unwrap();
}

#[test]
fn an_invited_person_is_accepted_at_once_and_active_after_verifying() {
    let w = world();
    let fabrikam = w.fabrikam();
    let ppc = w.sign_in("ppc@fabrikam.com");
    let results =
        w.p.invite(
            &ppc,
            &fabrikam,
            &["Sam@Fabrikam.com".into(), "not an address".into()],
            w.now,
        )
        .unwrap();
    assert_eq!(results[0].status, "invited");
    assert_eq!(results[0].email, "sam@fabrikam.com");
    assert_eq!(results[1].status, "invalid_email");
    assert!(w.mailbox.list_for(&["sam@fabrikam.com".into()]).unwrap()[0]
        .mail
        .body
        .contains("Join an existing organisation"));

    let staff = w.sign_in("staff@example.net");
    let preview =
        w.p.preview_association(&staff, &fabrikam, "sam@fabrikam.com")
            .unwrap();
    assert_eq!(preview.outcome, RequestStatus::Accepted);
    let created = w.request(&staff, &fabrikam, "sam@fabrikam.com").unwrap();
    assert_eq!(created.status, RequestStatus::Accepted);
    let v =
        w.p.verify(&staff, &w.token_for("sam@fabrikam.com"), w.now)
            .unwrap();
    assert_eq!(v.status, MembershipStatus::Active);
    assert_eq!(
        code(w.request(&staff, &fabrikam, "sam@fabrikam.com")),
        "already_member"
    );
}

#[test]
fn privileges_requested_granted_and_revoked_reach_the_member() {
    let w = world();
    let contoso = w.contoso();
    let staff = w.sign_in("staff@example.net");
    let ppc = w.sign_in("ppc@contoso.com");
    w.request(&staff, &contoso, "sam@contoso.com").unwrap();
    let m =
        w.p.verify(&staff, &w.token_for("sam@contoso.com"), w.now)
            .unwrap()
            .membership_id;

    let req =
        w.p.request_privilege(&staff, &m, "action_pack", Some("For our lab"), w.now)
            .unwrap();
    let open = w.p.privilege_requests(&ppc, &contoso).unwrap();
    assert_eq!(
        open.iter()
            .map(|r| &r.privilege_request_id)
            .collect::<Vec<_>>(),
        vec![&req.privilege_request_id]
    );
    assert!(w
        .p
        .events(&ppc, None, 100)
        .unwrap()
        .iter()
        .any(|e| e.kind == "privilege_request.created"));

    let member = w.p.grant_privilege(&ppc, &m, "action_pack", w.now).unwrap();
    assert_eq!(
        member.privileges,
        vec![membership::domain::Privilege::ActionPack]
    );
    assert!(
        w.p.privilege_requests(&ppc, &contoso).unwrap().is_empty(),
        "a granted request leaves the list"
    );
    assert_eq!(
        code(w.p.request_privilege(&staff, &m, "action_pack", None, w.now)),
        "already_granted"
    );
    assert!(w
        .p
        .events(&staff, None, 100)
        .unwrap()
        .iter()
        .any(|e| e.kind == "membership.privileges_changed"));

    // A Global Administrator can run the organisation too.
    w.p.grant_privilege(&ppc, &m, "global_admin", w.now)
        .unwrap();
    assert!(w.p.domains(&staff, &contoso).is_ok());
    w.p.revoke_privilege(&ppc, &m, "global_admin", w.now)
        .unwrap();
    assert_eq!(code(w.p.domains(&staff, &contoso)), "forbidden");
}

#[test]
fn leaving_and_removal_end_membership_and_the_last_approver_stays() {
    let w = world();
    let contoso = w.contoso();
    let staff = w.sign_in("staff@example.net");
    let ppc = w.sign_in("ppc@contoso.com");
    w.request(&staff, &contoso, "sam@contoso.com").unwrap();
    let m =
        w.p.verify(&staff, &w.token_for("sam@contoso.com"), w.now)
            .unwrap()
            .membership_id;
    w.p.remove_membership(&ppc, &m, w.now).unwrap();
    assert!(w.p.me(&staff).unwrap().memberships.is_empty());
    assert_eq!(
        code(w.p.remove_membership(&ppc, &m, w.now)),
        "membership_removed"
    );

    let ppc_membership = w.p.me(&ppc).unwrap().memberships[0].membership_id.clone();
    assert_eq!(
        code(w.p.remove_membership(&ppc, &ppc_membership, w.now)),
        "last_approver"
    );
}

#[test]
fn profile_update_with_a_stale_revision_returns_the_current_profile() {
    let w = world();
    let contoso = w.contoso();
    let staff = w.sign_in("staff@example.net");
    w.request(&staff, &contoso, "sam@contoso.com").unwrap();
    let m =
        w.p.verify(&staff, &w.token_for("sam@contoso.com"), w.now)
            .unwrap()
            .membership_id;
    let r0 = w.p.profile(&staff, &m).unwrap().revision;
    let patch = ProfilePatch {
        phone: Some("13 20 58".into()),
        ..Default::default()
    };
    w.p.update_profile(&staff, &m, r0, &patch, w.now).unwrap();
    let err =
        w.p.update_profile(
            &staff,
            &m,
            r0,
            &ProfilePatch {
                job_title: Some("x".into()),
                ..Default::default()
            },
            w.now,
        )
        .unwrap_err();
    assert_eq!(err.code(), "revision_mismatch");
    assert_eq!(err.current().unwrap().phone.as_deref(), Some("13 20 58"));
    assert_eq!(err.current().unwrap().revision, r0 + 1);
    // Empty clears an optional field; invalid values are refused with their code.
    let cleared =
        w.p.update_profile(
            &staff,
            &m,
            r0 + 1,
            &ProfilePatch {
                phone: Some(String::new()),
                ..Default::default()
            },
            w.now,
        )
        .unwrap();
    assert_eq!(cleared.phone, None);
    assert_eq!(
        code(w.p.update_profile(
            &staff,
            &m,
            r0 + 2,
            &ProfilePatch {
                phone: Some("abc".into()),
                ..Default::default()
            },
            w.now
        )),
        "invalid_phone"
    );
}
