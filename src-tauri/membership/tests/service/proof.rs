//! Domain proof against a real authoritative DNS server on loopback (`testkit::dns`), whose
//! records the tests publish, change and remove while they run, with time moved by `now`.
use membership::{DomainRule, DomainStatus, RequestStatus, SeenOutcome};
use testkit::dns::DnsServer;

use crate::common::{code, world_with_dns, World};

const NAME: &str = "_partner-desk-challenge.fabrikam.com";

fn dns() -> DnsServer {
    DnsServer::start(&["fabrikam.com", "northwind.com", "other.test"])
}

/// Check now, after waiting out the cooldown of the check before.
fn check_now(w: &mut World, org: &str, domain: &str) -> DomainRule {
    w.advance(31);
    let ppc = w.sign_in("ppc@fabrikam.com");
    w.p.check_domain(&ppc, org, domain, w.now).expect("checked")
}

/// Fabrikam's PPC adds fabrikam.com, publishes its record and checks: verified. The world, the
/// organisation and the domain as added.
fn fabrikam_proves_its_domain(dns: &DnsServer) -> (World, String, DomainRule) {
    let mut w = world_with_dns(dns.addr());
    let fabrikam = w.fabrikam();
    let ppc = w.sign_in("ppc@fabrikam.com");
    let added =
        w.p.add_domain(&ppc, &fabrikam, "fabrikam.com", false, w.now)
            .expect("added");
    dns.set_txt(NAME, &[&[&added.record.value]]);
    let checked = check_now(&mut w, &fabrikam, "fabrikam.com");
    assert_eq!(checked.status, DomainStatus::Verified);
    (w, fabrikam, added)
}

fn seen(rule: &DomainRule) -> (SeenOutcome, String) {
    let l = rule.last_seen.as_ref().expect("a check was made");
    (l.outcome, l.detail.clone())
}

#[test]
fn a_check_joins_strings_within_a_record_ignores_other_records_and_refuses_aliases_and_silence() {
    let dns = dns();
    let mut w = world_with_dns(dns.addr());
    let fabrikam = w.fabrikam();
    let ppc = w.sign_in("ppc@fabrikam.com");
    let added =
        w.p.add_domain(&ppc, &fabrikam, "Fabrikam.com", false, w.now)
            .expect("added");
    assert_eq!(added.status, DomainStatus::Pending);
    assert_eq!(added.record.name, NAME);
    assert_eq!(added.record.record_type, "TXT");
    let value = added.record.value.clone();
    assert!(value.len() >= 32, "at least 128 bits: {value}");
    assert_eq!(added.last_seen, None);
    assert!(added.next_check_at.is_some(), "a first check is planned");

    let rule = check_now(&mut w, &fabrikam, "fabrikam.com");
    assert_eq!(seen(&rule).0, SeenOutcome::Missing, "{:?}", rule.last_seen);
    assert_eq!(rule.status, DomainStatus::Pending);

    dns.set_txt(NAME, &[&["not-the-value"]]);
    let rule = check_now(&mut w, &fabrikam, "fabrikam.com");
    assert_eq!(seen(&rule).0, SeenOutcome::DifferentValue);
    assert!(seen(&rule).1.contains("not-the-value"), "{}", seen(&rule).1);
    assert_eq!(rule.status, DomainStatus::Pending);

    dns.set_txt(NAME, &[&[&format!("\"{value}\"")]]);
    let rule = check_now(&mut w, &fabrikam, "fabrikam.com");
    assert_eq!(seen(&rule).0, SeenOutcome::DifferentValue);
    assert!(
        seen(&rule).1.contains("quotation marks"),
        "{}",
        seen(&rule).1
    );

    // Split across two records is not the value; split within one record is.
    let (a, b) = value.split_at(17);
    dns.set_txt(NAME, &[&[a], &[b]]);
    let rule = check_now(&mut w, &fabrikam, "fabrikam.com");
    assert_eq!(seen(&rule).0, SeenOutcome::DifferentValue);

    // The right value at another domain's name, reached through an alias, proves nothing.
    dns.set_txt("_partner-desk-challenge.other.test", &[&[&value]]);
    dns.set_cname(NAME, "_partner-desk-challenge.other.test");
    let rule = check_now(&mut w, &fabrikam, "fabrikam.com");
    assert_eq!(seen(&rule).0, SeenOutcome::Missing);
    assert!(seen(&rule).1.contains("CNAME"), "{}", seen(&rule).1);
    assert_eq!(rule.status, DomainStatus::Pending);

    // No answer, or a failing server: nothing changes but what was seen.
    dns.set_txt(NAME, &[&[a, b]]);
    dns.silent(true);
    let rule = check_now(&mut w, &fabrikam, "fabrikam.com");
    assert_eq!(seen(&rule).0, SeenOutcome::Error);
    assert_eq!(rule.status, DomainStatus::Pending);
    dns.silent(false);
    dns.fail(true);
    let rule = check_now(&mut w, &fabrikam, "fabrikam.com");
    assert_eq!(seen(&rule).0, SeenOutcome::Error);
    assert_eq!(rule.status, DomainStatus::Pending);
    dns.fail(false);

    // One record of two strings, in other case and with spaces, beside another TXT record.
    let upper = format!("  {}", value.to_uppercase());
    let (a, b) = upper.split_at(20);
    dns.set_txt(NAME, &[&["v=spf1 -all"], &[a, b]]);
    let rule = check_now(&mut w, &fabrikam, "fabrikam.com");
    assert_eq!(seen(&rule).0, SeenOutcome::Found, "{:?}", rule.last_seen);
    assert_eq!(rule.status, DomainStatus::Verified);
    assert_eq!(rule.verified_at, Some(w.now));

    // Check now again at once is refused, with how long to wait.
    let e =
        w.p.check_domain(&ppc, &fabrikam, "fabrikam.com", w.now)
            .unwrap_err();
    assert_eq!(e.code(), "check_too_soon");
    assert!(e.retry_after_secs().is_some_and(|s| s > 0 && s <= 30));
}

#[test]
fn only_a_proven_domain_accepts_at_once_and_the_preview_says_why_not() {
    let dns = dns();
    let mut w = world_with_dns(dns.addr());
    let fabrikam = w.fabrikam();
    let ppc = w.sign_in("ppc@fabrikam.com");
    let added =
        w.p.add_domain(&ppc, &fabrikam, "fabrikam.com", true, w.now)
            .expect("added");
    let staff = w.sign_in("staff@example.net");

    let preview =
        w.p.preview_association(&staff, &fabrikam, "sam@sales.fabrikam.com")
            .expect("preview");
    assert_eq!(preview.outcome, RequestStatus::PendingApproval);
    assert_eq!(preview.matched_domain.as_deref(), Some("fabrikam.com"));
    assert_eq!(preview.matched_domain_status, Some(DomainStatus::Pending));
    assert!(preview.reason.contains("not proven"), "{}", preview.reason);
    let asked = w
        .request(&staff, &fabrikam, "sam@sales.fabrikam.com")
        .expect("request");
    assert_eq!(
        asked.status,
        RequestStatus::PendingApproval,
        "a pending domain sends it to the PPC"
    );
    w.p.withdraw(&staff, &asked.request_id, w.now)
        .expect("withdrawn");

    dns.set_txt(NAME, &[&[&added.record.value]]);
    // The scheduled check comes on its own, soon after adding.
    w.advance(w.p.config().proof.first_check_secs);
    assert_eq!(w.p.run_domain_checks(w.now, 50).expect("ran"), 1);
    assert_eq!(
        w.p.run_domain_checks(w.now, 50).expect("ran"),
        0,
        "nothing is due twice"
    );
    let preview =
        w.p.preview_association(&staff, &fabrikam, "sam@sales.fabrikam.com")
            .expect("preview");
    assert_eq!(preview.outcome, RequestStatus::Accepted);
    assert_eq!(preview.matched_domain_status, Some(DomainStatus::Verified));
    assert_eq!(
        w.request(&staff, &fabrikam, "sam@sales.fabrikam.com")
            .expect("request")
            .status,
        RequestStatus::Accepted
    );
    let events = w.p.events(&ppc, None, 500).expect("events");
    assert!(events
        .iter()
        .any(|e| e.kind == "domain.verified" && e.data["domain"] == "fabrikam.com"));
}

#[test]
fn a_verified_domain_is_suspended_after_two_misses_lapses_after_a_week_and_needs_a_new_record() {
    let dns = dns();
    let (mut w, fabrikam, added) = fabrikam_proves_its_domain(&dns);
    let ppc = w.sign_in("ppc@fabrikam.com");
    let s = w.p.config().proof.clone();
    let first_value = added.record.value.clone();

    let status = |w: &World| {
        let ppc = w.sign_in("ppc@fabrikam.com");
        w.p.domains(&ppc, &fabrikam).expect("domains")[0].clone()
    };
    // The daily re-check finds it gone: still verified until a second check an hour later.
    dns.remove(NAME);
    w.advance(s.recheck_secs);
    w.p.run_domain_checks(w.now, 50).expect("ran");
    let d = status(&w);
    assert_eq!(d.status, DomainStatus::Verified);
    assert_eq!(
        d.last_seen.as_ref().map(|l| l.outcome),
        Some(SeenOutcome::Missing)
    );
    assert_eq!(w.p.run_domain_checks(w.now, 50).expect("ran"), 0);
    w.advance(s.confirm_secs);
    w.p.run_domain_checks(w.now, 50).expect("ran");
    assert_eq!(status(&w).status, DomainStatus::Suspended);
    let staff = w.sign_in("staff@example.net");
    let preview =
        w.p.preview_association(&staff, &fabrikam, "kim@fabrikam.com")
            .expect("preview");
    assert_eq!(preview.outcome, RequestStatus::PendingApproval);
    assert_eq!(preview.matched_domain_status, Some(DomainStatus::Suspended));

    // Seen again: verified again.
    dns.set_txt(NAME, &[&[&first_value]]);
    assert_eq!(
        check_now(&mut w, &fabrikam, "fabrikam.com").status,
        DomainStatus::Verified
    );
    dns.remove(NAME);
    for _ in 0..3 {
        let due = status(&w).next_check_at.expect("planned");
        w.now = w.now.max(due);
        w.p.run_domain_checks(w.now, 50).expect("ran");
    }
    assert_eq!(status(&w).status, DomainStatus::Suspended);
    let ends = status(&w).status_ends_at.expect("a suspension ends");
    while status(&w).status == DomainStatus::Suspended {
        let due = status(&w).next_check_at.expect("planned");
        assert!(due <= ends, "no check is planned after the suspension ends");
        w.now = due;
        w.p.run_domain_checks(w.now, 50).expect("ran");
    }
    let d = status(&w);
    assert_eq!(d.status, DomainStatus::Lapsed);
    assert_eq!(w.now, ends, "lapses exactly when the suspension ends");
    assert_eq!(d.next_check_at, None);
    w.advance(60);
    assert_eq!(
        code(w.p.check_domain(&ppc, &fabrikam, "fabrikam.com", w.now)),
        "challenge_ended"
    );
    let kinds: Vec<String> =
        w.p.events(&ppc, None, 500)
            .expect("events")
            .into_iter()
            .map(|e| e.kind)
            .collect();
    for kind in ["domain.verified", "domain.suspended", "domain.lapsed"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }

    // Adding it again gives a new record; left alone for a week, the challenge expires.
    let again =
        w.p.add_domain(&ppc, &fabrikam, "fabrikam.com", false, w.now)
            .expect("added again");
    assert_eq!(again.status, DomainStatus::Pending);
    assert_ne!(again.record.value, first_value);
    let ends = again.status_ends_at.expect("a challenge ends");
    assert_eq!(ends, w.now + time::Duration::seconds(s.pending_secs));
    let mut checks = 0;
    while status(&w).status == DomainStatus::Pending {
        w.now = status(&w).next_check_at.expect("planned");
        w.p.run_domain_checks(w.now, 50).expect("ran");
        checks += 1;
    }
    assert_eq!(status(&w).status, DomainStatus::Expired);
    assert_eq!(w.now, ends);
    assert!(
        checks < 60,
        "checks of a pending challenge slow down: {checks} in a week"
    );
}

#[test]
fn a_year_after_proof_a_new_value_is_asked_for_and_the_old_one_counts_for_a_while() {
    let dns = dns();
    let (mut w, fabrikam, added) = fabrikam_proves_its_domain(&dns);
    let ppc = w.sign_in("ppc@fabrikam.com");
    let s = w.p.config().proof.clone();

    w.advance(s.reproof_secs);
    w.p.run_domain_checks(w.now, 50).expect("ran");
    let d = &w.p.domains(&ppc, &fabrikam).expect("domains")[0];
    assert_eq!(
        d.status,
        DomainStatus::Verified,
        "the old value still counts"
    );
    assert_ne!(d.record.value, added.record.value, "a new value to publish");
    assert!(d
        .last_seen
        .as_ref()
        .is_some_and(|l| l.detail.contains("last year")));
    assert!(w
        .p
        .events(&ppc, None, 500)
        .expect("events")
        .iter()
        .any(|e| e.kind == "domain.proof_requested"));

    dns.set_txt(NAME, &[&[&added.record.value], &[&d.record.value]]);
    let renewed = check_now(&mut w, &fabrikam, "fabrikam.com");
    assert_eq!(renewed.status, DomainStatus::Verified);
    assert_eq!(
        renewed.verified_at,
        Some(w.now),
        "the new value starts a new year"
    );
}

#[test]
fn an_unproven_claim_blocks_nobody_and_the_first_to_prove_a_domain_holds_it() {
    let dns = dns();
    let mut w = world_with_dns(dns.addr());
    // A squatter names an organisation after Northwind and claims its domain first.
    let squatter = w.new_account("mallory@example.net", "Mallory Squat");
    let fake =
        w.p.create_organisation(
            &squatter,
            &membership::NewOrganisation {
                name: "Northwind Traders Ltd".into(),
                country: "New Zealand".into(),
                city: "Auckland".into(),
                address: None,
                phone: None,
                website: None,
            },
            w.now,
        )
        .expect("created")
        .organisation_id;
    let claimed =
        w.p.add_domain(&squatter, &fake, "northwind.com", false, w.now)
            .expect("a claim");
    assert_eq!(claimed.status, DomainStatus::Pending);

    // The real Northwind's PPC is not blocked, and gets a record of its own.
    let northwind = w.org("4620001");
    let ppc = w.sign_in("ppc@fabrikam.com");
    let real =
        w.p.add_domain(&ppc, &northwind, "northwind.com", false, w.now)
            .expect("not blocked");
    assert_ne!(
        real.record.value, claimed.record.value,
        "each organisation's value is its own"
    );

    // The squatter cannot publish in northwind.com; publishing its value there would not help
    // it anyway once the real owner proves first.
    dns.set_txt(
        "_partner-desk-challenge.northwind.com",
        &[&[&real.record.value]],
    );
    w.advance(31);
    let verified =
        w.p.check_domain(&ppc, &northwind, "northwind.com", w.now)
            .expect("checked");
    assert_eq!(verified.status, DomainStatus::Verified);
    assert!(
        w.p.domains(&squatter, &fake).expect("domains").is_empty(),
        "the squatter's claim moved"
    );
    let told = w.p.events(&squatter, None, 500).expect("events");
    assert!(told
        .iter()
        .any(|e| e.kind == "domain.moved" && e.data["domain"] == "northwind.com"));
    assert_eq!(
        code(w.p.add_domain(&squatter, &fake, "northwind.com", false, w.now)),
        "domain_claimed"
    );
}
