use std::sync::Arc;

use crate::common::world;

#[test]
fn two_concurrent_approvals_of_one_request_exactly_one_wins() {
    for _ in 0..5 {
        let w = Arc::new(world());
        let fabrikam = w.fabrikam();
        let staff = w.sign_in("staff@example.net");
        let req = w.request(&staff, &fabrikam, "sam@fabrikam.com").unwrap();
        let ppc = w.sign_in("ppc@fabrikam.com");
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (w, ppc, id, barrier) = (
                    w.clone(),
                    ppc.clone(),
                    req.request_id.clone(),
                    barrier.clone(),
                );
                std::thread::spawn(move || {
                    barrier.wait();
                    w.p.approve(&ppc, &id, w.now)
                        .map(drop)
                        .map_err(|e| e.code().to_owned())
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "{results:?}"
        );
        assert!(
            results.contains(&Err("not_pending".to_owned())),
            "{results:?}"
        );
        assert_eq!(
            w.mailbox
                .list_for(&["sam@fabrikam.com".into()])
                .unwrap()
                .len(),
            1,
            "exactly one verification mail"
        );
    }
}

#[test]
fn a_domain_is_pre_approved_by_at_most_one_organisation() {
    let w = world();
    let fab_ppc = w.sign_in("ppc@fabrikam.com");
    let err =
        w.p.add_domain(&fab_ppc, &w.fabrikam(), "CONTOSO.com.", false, w.now)
            .unwrap_err();
    assert_eq!(err.code(), "domain_claimed");
    let rule =
        w.p.add_domain(&fab_ppc, &w.fabrikam(), "Fabrikam.COM.", false, w.now)
            .unwrap();
    assert_eq!(rule.domain, "fabrikam.com");
    assert_eq!(
        w.p.add_domain(&fab_ppc, &w.fabrikam(), "gmail.com", false, w.now)
            .unwrap_err()
            .code(),
        "freemail_domain"
    );
    assert_eq!(
        w.p.add_domain(&fab_ppc, &w.fabrikam(), "co.uk", false, w.now)
            .unwrap_err()
            .code(),
        "public_suffix"
    );
}
