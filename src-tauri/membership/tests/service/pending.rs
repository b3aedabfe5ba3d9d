//! Pending work with time moved by `now`: deadlines, reminders once each, escalation, expiry
//! exactly at the boundary, the scheduler run twice, digests and bulk decisions.
use membership::{ApproverRole, BulkDecision, BulkVerdict, RequestStatus};

use crate::common::{code, world, World};

const DAY: i64 = 86_400;

/// Sam asks to join Fabrikam (no pre-approved domain): pending. The world and the request id.
fn pending_request() -> (World, String) {
    let w = world();
    let sam = w.new_account("sam@example.org", "Sam Taylor");
    let created = w
        .request(&sam, &w.fabrikam(), "sam@fabrikam.com")
        .expect("sent");
    assert_eq!(created.status, RequestStatus::PendingApproval);
    (w, created.request_id)
}

fn events_of(w: &World, email: &str, kind: &str) -> usize {
    let c = w.sign_in(email);
    w.p.events(&c, None, 500)
        .expect("events")
        .iter()
        .filter(|e| e.kind == kind)
        .count()
}

#[test]
fn a_request_carries_its_deadline_is_reminded_once_each_and_expires_exactly_at_it() {
    let (mut w, id) = pending_request();
    let sam = w.sign_in("sam@example.org");
    let r = w.p.association_request(&sam, &id).expect("seen");
    assert_eq!(r.expires_at, Some(w.now + time::Duration::days(14)));
    assert_eq!(r.waiting_on, vec![ApproverRole::Ppc]);

    let start = w.now;
    // Every hour for 14 days, and each moment twice: nothing happens twice.
    let mut work = membership::DueWork::default();
    while w.now < start + time::Duration::days(14) - time::Duration::seconds(1) {
        w.advance(3600);
        let at = w
            .now
            .min(start + time::Duration::days(14) - time::Duration::seconds(1));
        w.now = at;
        for _ in 0..2 {
            let once = w.p.run_due_work(w.now, 50).expect("ran");
            work.reminders += once.reminders;
            work.escalations += once.escalations;
            work.expired += once.expired;
        }
    }
    assert_eq!(
        (work.reminders, work.escalations, work.expired),
        (2, 1, 0),
        "{work:?}"
    );
    assert_eq!(
        events_of(&w, "ppc@fabrikam.com", "association_request.expiring"),
        2
    );
    let r = w.p.association_request(&sam, &id).expect("seen");
    assert_eq!(
        r.status,
        RequestStatus::PendingApproval,
        "one second before its deadline"
    );
    assert_eq!(
        r.waiting_on,
        vec![ApproverRole::Ppc, ApproverRole::GlobalAdmin]
    );

    w.now = start + time::Duration::days(14);
    assert_eq!(w.p.run_due_work(w.now, 50).expect("ran").expired, 1);
    assert_eq!(w.p.run_due_work(w.now, 50).expect("ran").expired, 0, "once");
    let r = w.p.association_request(&sam, &id).expect("seen");
    assert_eq!(r.status, RequestStatus::Expired);
    assert!(r.waiting_on.is_empty() && r.expires_at.is_none());
    assert_eq!(
        events_of(&w, "sam@example.org", "association_request.expired"),
        1
    );
    let told = w
        .mailbox
        .list_for(&["sam@fabrikam.com".to_owned()])
        .expect("mail");
    assert!(
        told.iter().any(|m| m.mail.subject.contains("expired")),
        "the requester is told by mail"
    );

    // The PPC can no longer decide it; the requester asks again in one step, answers kept.
    let ppc = w.sign_in("ppc@fabrikam.com");
    assert_eq!(code(w.p.approve(&ppc, &id, w.now)), "not_pending");
    let again = w.p.ask_again(&sam, &id, w.now).expect("asked again");
    assert_eq!(again.status, RequestStatus::PendingApproval);
    let new =
        w.p.association_request(&sam, &again.request_id)
            .expect("seen");
    assert_eq!(
        (new.first_name.as_str(), new.organisation_email.as_str()),
        ("Sam", "sam@fabrikam.com")
    );
    assert_eq!(
        code(w.p.ask_again(&sam, &again.request_id, w.now)),
        "not_expired"
    );
}

#[test]
fn reminders_reach_each_approver_in_one_digest_a_day_and_a_bulk_decision_answers_per_item() {
    let mut w = world();
    let fabrikam = w.fabrikam();
    let mut ids = Vec::new();
    for n in 0..3 {
        let who = w.new_account(&format!("p{n}@example.org"), "Pat Person");
        ids.push(
            w.request(&who, &fabrikam, &format!("p{n}@fabrikam.com"))
                .expect("sent")
                .request_id,
        );
    }
    // Halfway: three reminders, one digest for the PPC.
    w.advance(7 * DAY);
    let work = w.p.run_due_work(w.now, 50).expect("ran");
    assert_eq!((work.reminders, work.digests), (3, 1), "{work:?}");
    let digests = |w: &World| {
        w.mailbox
            .list_for(&["ppc@fabrikam.com".to_owned()])
            .expect("mail")
            .into_iter()
            .filter(|m| m.mail.subject.contains("waiting for you"))
            .collect::<Vec<_>>()
    };
    let first = digests(&w);
    assert_eq!(first.len(), 1);
    assert!(
        first[0].mail.subject.starts_with("3 requests"),
        "{}",
        first[0].mail.subject
    );
    // The last-day reminders come 6 days later: a new digest (more than a day since the first).
    w.advance(6 * DAY);
    let work = w.p.run_due_work(w.now, 50).expect("ran");
    assert_eq!((work.reminders, work.digests), (3, 1));
    assert_eq!(w.p.run_due_work(w.now, 50).expect("ran").digests, 0);
    assert_eq!(digests(&w).len(), 2, "never one mail per request");

    // Bulk: approve two and deny one that someone else already decided.
    let ppc = w.sign_in("ppc@fabrikam.com");
    w.p.deny(&ppc, &ids[2], "Not one of ours", w.now)
        .expect("denied");
    let decisions: Vec<BulkDecision> = ids
        .iter()
        .map(|id| BulkDecision {
            request_id: id.clone(),
            decision: BulkVerdict::Approve,
            reason: None,
        })
        .collect();
    let results =
        w.p.decide_requests(&ppc, &fabrikam, &decisions, w.now)
            .expect("decided");
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].status, Some(RequestStatus::Accepted));
    assert_eq!(results[1].status, Some(RequestStatus::Accepted));
    assert_eq!(results[2].status, Some(RequestStatus::Denied));
    assert_eq!(
        results[2].error.as_ref().map(|e| e.code.as_str()),
        Some("not_pending")
    );
    let decided = w.p.association_request(&ppc, &ids[0]).expect("seen");
    assert_eq!(decided.decided_by.as_deref(), Some(ppc.account_id()));
    assert_eq!(decided.on_behalf_of, None);
    // Outside the organisation, or too many: refused per item or as a whole.
    let contoso_ppc = w.sign_in("ppc@contoso.com");
    assert_eq!(
        code(w.p.decide_requests(&contoso_ppc, &w.contoso(), &[], w.now)),
        "invalid_decisions"
    );
    let other =
        w.p.decide_requests(&contoso_ppc, &w.contoso(), &decisions[..1], w.now)
            .expect("answered");
    assert_eq!(
        other[0].error.as_ref().map(|e| e.code.as_str()),
        Some("not_found")
    );
}

/// A member of Contoso (Sam, joined through its pre-approved domain) and their membership id.
fn contoso_member(w: &World) -> (membership::Caller, String) {
    let sam = w.new_account("sam@example.org", "Sam Taylor");
    let req = w
        .request(&sam, &w.contoso(), "sam@contoso.com")
        .expect("sent");
    assert_eq!(req.status, RequestStatus::Accepted);
    let token = w.token_for("sam@contoso.com");
    let member =
        w.p.verify(&sam, &token, w.now)
            .expect("verified")
            .membership_id;
    (sam, member)
}

#[test]
fn a_privilege_requests_approvers_are_reminded_once_each_and_it_expires_exactly_at_its_deadline() {
    let mut w = world();
    let (sam, member) = contoso_member(&w);
    let asked =
        w.p.request_privilege(&sam, &member, "action_pack", None, w.now)
            .expect("asked");
    let start = w.now;
    let deadline = start + time::Duration::days(14);
    assert_eq!(asked.expires_at, Some(deadline));

    // Every hour for 14 days, and each moment twice: two reminders, nothing twice, no expiry.
    let mut reminders = Vec::new();
    while w.now < deadline - time::Duration::seconds(1) {
        w.advance(3600);
        w.now = w.now.min(deadline - time::Duration::seconds(1));
        for _ in 0..2 {
            let once = w.p.run_due_work(w.now, 50).expect("ran");
            assert_eq!(
                once.privilege_requests, 0,
                "nothing expires before the deadline"
            );
            if once.reminders > 0 {
                reminders.push((w.now - start).whole_hours());
            }
        }
    }
    assert_eq!(
        reminders,
        [7 * 24, 13 * 24],
        "halfway and one day before, once each"
    );
    assert_eq!(
        events_of(&w, "ppc@contoso.com", "privilege_request.expiring"),
        2
    );
    assert_eq!(
        events_of(&w, "sam@example.org", "privilege_request.expiring"),
        0,
        "the member who asked is not reminded of their own request"
    );
    let ppc = w.sign_in("ppc@contoso.com");
    assert_eq!(
        w.p.privilege_requests(&ppc, &w.contoso())
            .expect("listed")
            .len(),
        1,
        "one second before its deadline it still waits"
    );

    w.now = deadline;
    assert_eq!(
        w.p.run_due_work(w.now, 50).expect("ran").privilege_requests,
        1
    );
    assert_eq!(
        w.p.run_due_work(w.now, 50).expect("ran").privilege_requests,
        0,
        "once"
    );
    assert!(w
        .p
        .privilege_requests(&ppc, &w.contoso())
        .expect("listed")
        .is_empty());
    assert_eq!(
        events_of(&w, "sam@example.org", "privilege_request.expired"),
        1
    );
}

#[test]
fn a_privilege_request_granted_before_its_reminder_is_never_reminded() {
    let mut w = world();
    let (sam, member) = contoso_member(&w);
    w.p.request_privilege(&sam, &member, "action_pack", None, w.now)
        .expect("asked");
    let ppc = w.sign_in("ppc@contoso.com");
    w.p.grant_privilege(&ppc, &member, "action_pack", w.now)
        .expect("granted");
    w.advance(15 * DAY);
    let work = w.p.run_due_work(w.now, 50).expect("ran");
    assert_eq!(
        (work.reminders, work.privilege_requests),
        (0, 0),
        "{work:?}"
    );
    assert_eq!(
        events_of(&w, "ppc@contoso.com", "privilege_request.expiring"),
        0
    );
}

#[test]
fn a_privilege_request_expires_and_ends_when_its_member_leaves() {
    let mut w = world();
    let contoso = w.contoso();
    let (sam, member) = contoso_member(&w);
    let asked =
        w.p.request_privilege(&sam, &member, "action_pack", None, w.now)
            .expect("asked");
    assert_eq!(asked.expires_at, Some(w.now + time::Duration::days(14)));
    let ppc = w.sign_in("ppc@contoso.com");
    assert_eq!(
        w.p.privilege_requests(&ppc, &contoso)
            .expect("listed")
            .len(),
        1
    );
    w.advance(14 * DAY);
    assert_eq!(
        w.p.run_due_work(w.now, 50).expect("ran").privilege_requests,
        1
    );
    assert!(w
        .p
        .privilege_requests(&ppc, &contoso)
        .expect("listed")
        .is_empty());
    assert_eq!(
        events_of(&w, "sam@example.org", "privilege_request.expired"),
        1
    );

    w.p.request_privilege(&sam, &member, "action_pack", None, w.now)
        .expect("asked again");
    w.p.remove_membership(&sam, &member, w.now).expect("left");
    assert!(
        w.p.privilege_requests(&ppc, &contoso)
            .expect("listed")
            .is_empty(),
        "it ended with the membership"
    );
}
