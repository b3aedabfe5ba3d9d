//! Every administrative operation, tried by people who must not do it: a member of the same
//! organisation, a PPC of another organisation, a non-member and the requester. All refused,
//! and nothing changed.
use membership::{Caller, Error, ErrorKind, PageRequest, RequestStatus, Timestamp};

use crate::common::{code, world, P};

type Op = Box<dyn Fn(&P, &Caller, Timestamp) -> Result<(), Error>>;

fn admin_operations(org: String, request: String, member: String) -> Vec<(&'static str, Op)> {
    let (o, r, m) = (org, request, member);
    vec![
        (
            "domains",
            Box::new({
                let o = o.clone();
                move |p, c, _| p.domains(c, &o).map(drop)
            }),
        ),
        (
            "add_domain",
            Box::new({
                let o = o.clone();
                move |p, c, t| p.add_domain(c, &o, "attacker.example", true, t).map(drop)
            }),
        ),
        (
            "remove_domain",
            Box::new({
                let o = o.clone();
                move |p, c, t| p.remove_domain(c, &o, "contoso.com", t)
            }),
        ),
        (
            "association_queue",
            Box::new({
                let o = o.clone();
                move |p, c, _| {
                    p.association_queue(c, &o, None, &PageRequest::default())
                        .map(drop)
                }
            }),
        ),
        (
            "approve",
            Box::new({
                let r = r.clone();
                move |p, c, t| p.approve(c, &r, t).map(drop)
            }),
        ),
        (
            "deny",
            Box::new({
                let r = r.clone();
                move |p, c, t| p.deny(c, &r, "no", t).map(drop)
            }),
        ),
        (
            "invite",
            Box::new({
                let o = o.clone();
                move |p, c, t| {
                    p.invite(c, &o, &["friend@attacker.example".into()], t)
                        .map(drop)
                }
            }),
        ),
        (
            "members",
            Box::new({
                let o = o.clone();
                move |p, c, _| p.members(c, &o, &PageRequest::default()).map(drop)
            }),
        ),
        (
            "set_delegation",
            Box::new({
                let (o, m) = (o.clone(), m.clone());
                move |p, c, t| {
                    let input = membership::DelegationInput {
                        delegate_membership_id: m.clone(),
                        starts_at: t,
                        ends_at: t + time::Duration::days(3),
                    };
                    p.set_delegation(c, &o, &input, t).map(drop)
                }
            }),
        ),
        (
            "delegation",
            Box::new({
                let o = o.clone();
                move |p, c, _| p.delegation(c, &o).map(drop)
            }),
        ),
        (
            "end_delegation",
            Box::new({
                let o = o.clone();
                move |p, c, t| p.end_delegation(c, &o, t)
            }),
        ),
        (
            "offer_handover",
            Box::new({
                let (o, m) = (o.clone(), m.clone());
                move |p, c, t| p.offer_handover(c, &o, &m, t).map(drop)
            }),
        ),
        (
            "grant_privilege",
            Box::new({
                let m = m.clone();
                move |p, c, t| p.grant_privilege(c, &m, "global_admin", t).map(drop)
            }),
        ),
        (
            "revoke_privilege",
            Box::new({
                let m = m.clone();
                move |p, c, t| p.revoke_privilege(c, &m, "action_pack", t)
            }),
        ),
        (
            "privilege_requests",
            Box::new({
                let o = o.clone();
                move |p, c, _| p.privilege_requests(c, &o).map(drop)
            }),
        ),
        (
            "audit",
            Box::new({
                let o = o.clone();
                move |p, c, _| p.audit(c, &o, &PageRequest::default()).map(drop)
            }),
        ),
        (
            "remove_member",
            Box::new({
                let m = m.clone();
                move |p, c, t| p.remove_membership(c, &m, t)
            }),
        ),
        (
            "read_members_profile",
            Box::new({
                let m = m.clone();
                move |p, c, _| p.profile(c, &m).map(drop)
            }),
        ),
    ]
}

#[test]
fn every_admin_operation_is_refused_to_everyone_but_the_organisations_admins() {
    let w = world();
    let contoso = w.contoso();
    let ppc = w.sign_in("ppc@contoso.com");

    // A member of the same organisation, and the member everyone tries to change, who holds a
    // privilege to revoke.
    let member = w.new_account("member@example.org", "Morgan Member");
    w.request(&member, &contoso, "morgan@contoso.com").unwrap();
    w.p.verify(&member, &w.token_for("morgan@contoso.com"), w.now)
        .unwrap();
    let target = w.new_account("target@example.org", "Tara Target");
    w.request(&target, &contoso, "tara@contoso.com").unwrap();
    let member_m =
        w.p.verify(&target, &w.token_for("tara@contoso.com"), w.now)
            .unwrap()
            .membership_id;
    w.p.grant_privilege(&ppc, &member_m, "action_pack", w.now)
        .unwrap();

    // A requester whose request is pending.
    let requester = w.new_account("req@example.org", "Rita Requester");
    let pending = w
        .request(&requester, &contoso, "rita@contoso-partner.example")
        .unwrap();
    assert_eq!(pending.status, RequestStatus::PendingApproval);

    let other_ppc = w.sign_in("ppc@fabrikam.com");
    let outsider = w.new_account("outsider@example.org", "Oscar Outsider");

    let actors = [
        ("member of the same organisation", &member),
        ("PPC of another organisation", &other_ppc),
        ("non-member", &outsider),
        ("requester", &requester),
    ];
    let ops = admin_operations(
        contoso.clone(),
        pending.request_id.clone(),
        member_m.clone(),
    );
    let audit_before =
        w.p.audit(
            &ppc,
            &contoso,
            &PageRequest {
                limit: Some(100),
                cursor: None,
            },
        )
        .unwrap()
        .items
        .len();
    for (who, caller) in actors {
        for (name, op) in &ops {
            match op(&w.p, caller, w.now) {
                Ok(()) => panic!("{name} succeeded for a {who}"),
                Err(e) => assert!(
                    matches!(e.kind(), ErrorKind::Forbidden | ErrorKind::NotFound),
                    "{name} by a {who}: expected a refusal, got {}",
                    e.code()
                ),
            }
        }
    }
    // Nothing changed.
    assert_eq!(
        code(w.p.delegation(&ppc, &contoso)),
        "not_found",
        "no delegation was set"
    );
    assert_eq!(
        w.p.association_request(&ppc, &pending.request_id)
            .unwrap()
            .status,
        RequestStatus::PendingApproval
    );
    assert_eq!(
        w.p.domains(&ppc, &contoso)
            .unwrap()
            .iter()
            .map(|d| d.domain.as_str())
            .collect::<Vec<_>>(),
        ["contoso.com"]
    );
    let members =
        w.p.members(&ppc, &contoso, &PageRequest::default())
            .unwrap();
    let m = members
        .items
        .iter()
        .find(|x| x.membership_id == member_m)
        .expect("still a member");
    assert_eq!(
        m.privileges,
        vec![membership::domain::Privilege::ActionPack]
    );
    assert_eq!(
        w.p.audit(
            &ppc,
            &contoso,
            &PageRequest {
                limit: Some(100),
                cursor: None
            }
        )
        .unwrap()
        .items
        .len(),
        audit_before
    );

    // And the organisation's own PPC may do them.
    for (name, op) in &ops {
        if matches!(*name, "remove_domain" | "remove_member" | "deny") {
            continue; // destructive, or needs the request still pending after approve
        }
        op(&w.p, &ppc, w.now).unwrap_or_else(|e| panic!("{name} by the PPC failed: {e}"));
    }
}

#[test]
fn a_ppc_cannot_decide_their_own_request_and_requests_are_hidden_from_others() {
    let w = world();
    let contoso = w.contoso();
    let fabrikam_ppc = w.sign_in("ppc@fabrikam.com");
    let req = w
        .request(&fabrikam_ppc, &contoso, "felix@fabrikam.com")
        .unwrap();
    // The Fabrikam PPC is not an admin of Contoso: their own Contoso request is not theirs to decide.
    assert_eq!(
        w.p.approve(&fabrikam_ppc, &req.request_id, w.now)
            .unwrap_err()
            .kind(),
        ErrorKind::Forbidden
    );
    let outsider = w.new_account("outsider@example.org", "Oscar Outsider");
    assert_eq!(
        w.p.association_request(&outsider, &req.request_id)
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    assert!(w
        .p
        .association_request(&fabrikam_ppc, &req.request_id)
        .is_ok());
}

#[test]
fn a_member_cannot_edit_someone_elses_profile_and_events_stay_private() {
    let w = world();
    let contoso = w.contoso();
    let staff = w.sign_in("staff@example.net");
    w.request(&staff, &contoso, "sam@contoso.com").unwrap();
    let m =
        w.p.verify(&staff, &w.token_for("sam@contoso.com"), w.now)
            .unwrap()
            .membership_id;
    let ppc = w.sign_in("ppc@contoso.com");
    let patch = membership::ProfilePatch {
        first_name: Some("Hacked".into()),
        ..Default::default()
    };
    assert_eq!(
        w.p.update_profile(&ppc, &m, 1, &patch, w.now)
            .unwrap_err()
            .kind(),
        ErrorKind::Forbidden
    );
    let outsider = w.new_account("outsider@example.org", "Oscar Outsider");
    assert_eq!(
        w.p.update_profile(&outsider, &m, 1, &patch, w.now)
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    assert!(
        w.p.events(&outsider, None, 500).unwrap().is_empty(),
        "an outsider sees no events"
    );
    let fab_ppc = w.sign_in("ppc@fabrikam.com");
    assert!(w
        .p
        .events(&fab_ppc, None, 500)
        .unwrap()
        .iter()
        .all(|e| e.data["organisation_id"] != contoso.as_str()));
}

#[test]
fn an_identifier_holding_a_nul_character_is_not_found_on_every_store() {
    let w = world();
    let sam = w.new_account("sam@example.org", "Sam Taylor");
    let nul = format!("{}\u{0}", w.fabrikam());
    assert_eq!(code(w.request(&sam, &nul, "sam@fabrikam.com")), "not_found");
    assert_eq!(
        code(w.p.association_request(&sam, "req\u{0}x")),
        "not_found"
    );
    let ppc = w.sign_in("ppc@fabrikam.com");
    assert_eq!(code(w.p.approve(&ppc, "req\u{0}x", w.now)), "not_found");
    assert_eq!(code(w.p.delegation(&ppc, &nul)), "not_found");
}
