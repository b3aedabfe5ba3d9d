//! No organisation is stuck without a working approver, with time moved by `now`: a delegation
//! moves the waiting queue to the delegate and gives it back, records on whose behalf each
//! decision was made; the PPC role moves only when accepted; the last approver cannot go.
use membership::{ApproverRole, DelegationInput, HandoverStatus, RequestStatus, Role};

use crate::common::{code, world, World};

const DAY: i64 = 86_400;

/// `email` (whose personal address is `<local part>@example.org`) joins Fabrikam (the PPC approves) and verifies: its membership id.
fn join_fabrikam(w: &World, email: &str, name: &str) -> String {
    let local = email.split('@').next().expect("an address");
    let who = w.new_account(&format!("{local}@example.org"), name);
    let req = w.request(&who, &w.fabrikam(), email).expect("sent");
    let ppc = w.sign_in("ppc@fabrikam.com");
    w.p.approve(&ppc, &req.request_id, w.now).expect("approved");
    w.p.verify(&who, &w.token_for(email), w.now)
        .expect("verified")
        .membership_id
}

fn kinds(w: &World, email: &str) -> Vec<String> {
    let c = w.sign_in(email);
    w.p.events(&c, None, 500)
        .expect("events")
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

fn count(kinds: &[String], kind: &str) -> usize {
    kinds.iter().filter(|k| *k == kind).count()
}

/// `email`'s membership of `org`.
fn membership_in(w: &World, email: &str, org: &str) -> String {
    let c = w.sign_in(email);
    w.p.me(&c)
        .expect("me")
        .memberships
        .into_iter()
        .find(|m| m.organisation.organisation_id == org)
        .expect("a member of it")
        .membership_id
}

#[test]
fn a_delegation_moves_the_waiting_queue_to_the_delegate_and_gives_it_back_at_its_end() {
    let mut w = world();
    let fabrikam = w.fabrikam();
    let dana = join_fabrikam(&w, "dana@fabrikam.com", "Dana Delegate");
    let dana_home = "dana@example.org";
    // Two requests wait before the PPC goes away.
    let mut waiting = Vec::new();
    for n in 0..2 {
        let who = w.new_account(&format!("w{n}@example.org"), "Will Wait");
        waiting.push(
            w.request(&who, &fabrikam, &format!("w{n}@fabrikam.com"))
                .expect("sent")
                .request_id,
        );
    }
    let ppc = w.sign_in("ppc@fabrikam.com");
    let dana_c = w.sign_in(dana_home);
    assert_eq!(
        code(w.p.association_queue(&dana_c, &fabrikam, None, &Default::default())),
        "forbidden",
        "not before the delegation"
    );

    // "I am away from tomorrow for two weeks."
    let away = DelegationInput {
        delegate_membership_id: dana.clone(),
        starts_at: w.now + time::Duration::days(1),
        ends_at: w.now + time::Duration::days(10),
    };
    let d =
        w.p.set_delegation(&ppc, &fabrikam, &away, w.now)
            .expect("set");
    assert!(!d.active, "it starts tomorrow");
    assert_eq!(w.p.delegation(&ppc, &fabrikam).expect("read"), d);
    assert_eq!(
        code(w.p.approve(&dana_c, &waiting[0], w.now)),
        "not_found",
        "no powers before the period"
    );
    w.advance(DAY);
    let work = w.p.run_due_work(w.now, 50).expect("ran");
    assert_eq!(work.delegations, 1, "{work:?}");
    assert_eq!(
        w.p.run_due_work(w.now, 50).expect("ran").delegations,
        0,
        "started once"
    );
    // The waiting queue is Dana's: each waiting request was handed to her, and she hears it.
    let dk = kinds(&w, dana_home);
    assert_eq!(count(&dk, "association_request.delegated"), 2, "{dk:?}");
    assert_eq!(count(&dk, "delegation.started"), 1);
    assert_eq!(
        count(&kinds(&w, "ppc@fabrikam.com"), "delegation.started"),
        1
    );
    let me = w.p.me(&dana_c).expect("me");
    assert!(me.memberships[0].roles.contains(&Role::Delegate));
    assert_eq!(me.delegations.len(), 1);
    let queue =
        w.p.association_queue(
            &dana_c,
            &fabrikam,
            Some(RequestStatus::PendingApproval),
            &Default::default(),
        )
        .expect("the delegate sees the queue");
    assert_eq!(queue.items.len(), 2);
    assert_eq!(
        queue.items[0].waiting_on,
        vec![ApproverRole::Ppc, ApproverRole::Delegate]
    );
    // The requester sees whom it waits on, by role.
    let will = w.sign_in("w0@example.org");
    assert_eq!(
        w.p.association_request(&will, &waiting[0])
            .expect("own")
            .waiting_on,
        vec![ApproverRole::Ppc, ApproverRole::Delegate]
    );
    // A delegate is no administrator.
    assert_eq!(
        code(w.p.members(&dana_c, &fabrikam, &Default::default())),
        "forbidden"
    );

    // New requests reach her too.
    let late = w.new_account("late@example.org", "Lou Late");
    let new_id = w
        .request(&late, &fabrikam, "late@fabrikam.com")
        .expect("sent")
        .request_id;
    assert_eq!(
        count(&kinds(&w, dana_home), "association_request.created"),
        1
    );

    // Reminders go to the delegate instead of the PPC who is away.
    w.advance(6 * DAY); // halfway for the first two (7 days after they were made)
    let work = w.p.run_due_work(w.now, 50).expect("ran");
    assert_eq!(work.reminders, 2, "{work:?}");
    assert_eq!(
        count(&kinds(&w, dana_home), "association_request.expiring"),
        2
    );
    assert_eq!(
        count(
            &kinds(&w, "ppc@fabrikam.com"),
            "association_request.expiring"
        ),
        0,
        "the PPC is away"
    );

    // Her decision records on whose behalf; the PPC hears who decided.
    let decided = w.p.approve(&dana_c, &waiting[0], w.now).expect("approved");
    assert_eq!(decided.decided_by.as_deref(), Some(dana_c.account_id()));
    assert_eq!(decided.on_behalf_of.as_deref(), Some(ppc.account_id()));
    let denied =
        w.p.deny(&dana_c, &waiting[1], "Not one of ours", w.now)
            .expect("denied");
    assert_eq!(denied.on_behalf_of.as_deref(), Some(ppc.account_id()));

    // At the end of the period it all comes back.
    w.advance(3 * DAY);
    let work = w.p.run_due_work(w.now, 50).expect("ran");
    assert_eq!(work.delegations, 1, "{work:?}");
    assert_eq!(count(&kinds(&w, dana_home), "delegation.ended"), 1);
    assert_eq!(code(w.p.delegation(&ppc, &fabrikam)), "not_found");
    assert_eq!(
        code(w.p.approve(&dana_c, &new_id, w.now)),
        "not_found",
        "her powers ended"
    );
    assert!(!w.p.me(&dana_c).expect("me").memberships[0]
        .roles
        .contains(&Role::Delegate));
    let back =
        w.p.approve(&ppc, &new_id, w.now)
            .expect("the PPC decides again");
    assert_eq!(back.on_behalf_of, None);
}

#[test]
fn a_delegation_that_has_begun_starts_at_once_and_ends_early_or_when_its_delegate_leaves() {
    let w = world();
    let fabrikam = w.fabrikam();
    let ppc = w.sign_in("ppc@fabrikam.com");
    let dana = join_fabrikam(&w, "dana@fabrikam.com", "Dana Delegate");
    let dana_c = w.sign_in("dana@example.org");
    let now = DelegationInput {
        delegate_membership_id: dana.clone(),
        starts_at: w.now,
        ends_at: w.now + time::Duration::days(3),
    };
    assert!(
        w.p.set_delegation(&ppc, &fabrikam, &now, w.now)
            .expect("set")
            .active
    );
    // Refusals: herself, someone from elsewhere, a bad period, a delegate who is not an admin.
    let mine = membership_in(&w, "ppc@fabrikam.com", &fabrikam);
    let bad = |input: DelegationInput| code(w.p.set_delegation(&ppc, &fabrikam, &input, w.now));
    assert_eq!(
        bad(DelegationInput {
            delegate_membership_id: mine,
            ..now.clone()
        }),
        "delegate_is_you"
    );
    assert_eq!(
        bad(DelegationInput {
            delegate_membership_id: membership_in(&w, "ppc@contoso.com", &w.contoso()),
            ..now.clone()
        }),
        "not_found"
    );
    assert_eq!(
        bad(DelegationInput {
            ends_at: w.now,
            ..now.clone()
        }),
        "invalid_period"
    );
    assert_eq!(
        bad(DelegationInput {
            ends_at: w.now + time::Duration::days(200),
            ..now.clone()
        }),
        "invalid_period"
    );
    assert_eq!(
        code(w.p.set_delegation(&dana_c, &fabrikam, &now, w.now)),
        "forbidden"
    );
    assert_eq!(
        code(w.p.end_delegation(&dana_c, &fabrikam, w.now)),
        "forbidden"
    );

    w.p.end_delegation(&ppc, &fabrikam, w.now)
        .expect("ended early");
    assert_eq!(code(w.p.delegation(&ppc, &fabrikam)), "not_found");
    assert_eq!(
        code(w.p.end_delegation(&ppc, &fabrikam, w.now)),
        "not_found"
    );

    // A delegate who leaves takes the delegation with her.
    w.p.set_delegation(&ppc, &fabrikam, &now, w.now)
        .expect("set again");
    w.p.remove_membership(&dana_c, &dana, w.now).expect("left");
    assert_eq!(code(w.p.delegation(&ppc, &fabrikam)), "not_found");
    assert_eq!(
        count(&kinds(&w, "ppc@fabrikam.com"), "delegation.ended"),
        2,
        "ended early, then when she left"
    );
}

#[test]
fn the_ppc_role_moves_only_when_accepted_and_the_last_approver_cannot_go() {
    let w = world();
    let fabrikam = w.fabrikam();
    let ppc = w.sign_in("ppc@fabrikam.com");
    let ppc_m = membership_in(&w, "ppc@fabrikam.com", &fabrikam);
    // The only PPC cannot leave or be removed: they hand over first.
    assert_eq!(
        code(w.p.remove_membership(&ppc, &ppc_m, w.now)),
        "last_approver"
    );

    let ana = join_fabrikam(&w, "ana@fabrikam.com", "Ana Next");
    let bo = join_fabrikam(&w, "bo@fabrikam.com", "Bo Other");
    let ana_c = w.sign_in("ana@example.org");
    let bo_c = w.sign_in("bo@example.org");
    // Only the PPC offers it, and only to a colleague.
    assert_eq!(
        code(w.p.offer_handover(&ana_c, &fabrikam, &bo, w.now)),
        "forbidden"
    );
    assert_eq!(
        code(w.p.offer_handover(&ppc, &fabrikam, &ppc_m, w.now)),
        "already_ppc"
    );

    // Offered to Bo, then to Ana instead: Bo's offer is replaced.
    let to_bo =
        w.p.offer_handover(&ppc, &fabrikam, &bo, w.now)
            .expect("offered");
    assert_eq!(to_bo.status, HandoverStatus::Offered);
    assert_eq!(w.p.me(&bo_c).expect("me").handovers.len(), 1);
    let to_ana =
        w.p.offer_handover(&ppc, &fabrikam, &ana, w.now)
            .expect("offered");
    assert!(w.p.me(&bo_c).expect("me").handovers.is_empty(), "replaced");
    assert_eq!(
        code(w.p.accept_handover(&bo_c, &to_bo.handover_id, w.now)),
        "handover_closed"
    );
    // Nobody but the nominee answers it.
    assert_eq!(
        code(w.p.accept_handover(&ppc, &to_ana.handover_id, w.now)),
        "forbidden"
    );
    assert_eq!(
        code(w.p.accept_handover(&bo_c, &to_ana.handover_id, w.now)),
        "not_found"
    );
    assert_eq!(
        count(&kinds(&w, "ana@example.org"), "ppc_handover.offered"),
        1
    );

    // Declined: nothing moves, and the PPC hears it.
    let declined =
        w.p.decline_handover(&ana_c, &to_ana.handover_id, w.now)
            .expect("declined");
    assert_eq!(declined.status, HandoverStatus::Declined);
    assert_eq!(
        count(&kinds(&w, "ppc@fabrikam.com"), "ppc_handover.declined"),
        1
    );
    assert!(!w.p.me(&ana_c).expect("me").memberships[0]
        .roles
        .contains(&Role::Ppc));

    // Accepted: Ana is the PPC, and the old PPC stays an approver as a Global Administrator.
    let again =
        w.p.offer_handover(&ppc, &fabrikam, &ana, w.now)
            .expect("offered again");
    let accepted =
        w.p.accept_handover(&ana_c, &again.handover_id, w.now)
            .expect("accepted");
    assert_eq!(accepted.status, HandoverStatus::Accepted);
    assert_eq!(
        code(w.p.accept_handover(&ana_c, &again.handover_id, w.now)),
        "handover_closed"
    );
    let ana_me = w.p.me(&ana_c).expect("me");
    assert!(ana_me.memberships[0].roles.contains(&Role::Ppc));
    let old = w.p.me(&ppc).expect("me");
    let old = old
        .memberships
        .iter()
        .find(|m| m.organisation.organisation_id == fabrikam)
        .expect("still a member");
    assert!(!old.roles.contains(&Role::Ppc));
    assert!(old
        .privileges
        .contains(&membership::domain::Privilege::GlobalAdmin));
    assert_eq!(
        count(&kinds(&w, "ppc@fabrikam.com"), "ppc_handover.accepted"),
        1
    );
    // Ana can now decide requests; the old PPC can still, as a Global Administrator.
    w.p.members(&ana_c, &fabrikam, &Default::default())
        .expect("an administrator now");

    // The old PPC may now leave; then Ana is the only approver and cannot.
    w.p.remove_membership(&ppc, &ppc_m, w.now)
        .expect("left after handing over");
    assert_eq!(
        code(w.p.remove_membership(&ana_c, &ana, w.now)),
        "last_approver"
    );
    // A Global Administrator's right can go while another approver remains.
    w.p.grant_privilege(&ana_c, &bo, "global_admin", w.now)
        .expect("granted");
    w.p.revoke_privilege(&ana_c, &bo, "global_admin", w.now)
        .expect("revoked: Ana remains");
}

#[test]
fn invitations_sent_by_an_administrator_who_leaves_stay_valid() {
    let w = world();
    let fabrikam = w.fabrikam();
    let ppc = w.sign_in("ppc@fabrikam.com");
    let gia = join_fabrikam(&w, "gia@fabrikam.com", "Gia Admin");
    w.p.grant_privilege(&ppc, &gia, "global_admin", w.now)
        .expect("granted");
    let gia_c = w.sign_in("gia@example.org");
    w.p.invite(&gia_c, &fabrikam, &["ivy@fabrikam.com".into()], w.now)
        .expect("invited");
    w.p.remove_membership(&gia_c, &gia, w.now).expect("left");
    let ivy = w.new_account("ivy@example.org", "Ivy Invited");
    assert_eq!(
        w.request(&ivy, &fabrikam, "ivy@fabrikam.com")
            .expect("sent")
            .status,
        RequestStatus::Accepted,
        "the invitation outlived its sender's membership"
    );
}
