//! An MCP ID is linked to at most one organisation at a time; only its owner links or unlinks it.
use crate::common::{code, world};

#[test]
fn an_mcp_id_linked_to_another_organisation_must_be_removed_there_first() {
    let w = world();
    let staff = w.sign_in("staff@example.net");
    let (contoso, fabrikam) = (w.contoso(), w.fabrikam());
    let fab_ppc = w.sign_in("ppc@fabrikam.com");

    w.request(&staff, &contoso, "sam@contoso.com").unwrap();
    let at_contoso =
        w.p.verify(&staff, &w.token_for("sam@contoso.com"), w.now)
            .unwrap()
            .membership_id;
    let req = w.request(&staff, &fabrikam, "sam@fabrikam.com").unwrap();
    w.p.approve(&fab_ppc, &req.request_id, w.now).unwrap();
    let at_fabrikam =
        w.p.verify(&staff, &w.token_for("sam@fabrikam.com"), w.now)
            .unwrap()
            .membership_id;

    assert_eq!(
        w.p.link_mcp_id(&staff, &at_contoso, " 1234567 ", w.now)
            .unwrap()
            .mcp_id
            .as_deref(),
        Some("1234567")
    );
    // Linking again where it already is changes nothing.
    assert!(w
        .p
        .link_mcp_id(&staff, &at_contoso, "1234567", w.now)
        .is_ok());

    let err =
        w.p.link_mcp_id(&staff, &at_fabrikam, "1234567", w.now)
            .unwrap_err();
    assert_eq!(err.code(), "mcp_id_linked_elsewhere");
    assert!(
        err.message().contains("Contoso Pty Ltd"),
        "the caller's own other organisation is named: {}",
        err.message()
    );
    assert_eq!(err.details().unwrap()["membership_id"], at_contoso.as_str());

    w.p.unlink_mcp_id(&staff, &at_contoso, w.now).unwrap();
    assert_eq!(
        w.p.link_mcp_id(&staff, &at_fabrikam, "1234567", w.now)
            .unwrap()
            .mcp_id
            .as_deref(),
        Some("1234567")
    );
    assert_eq!(w.p.profile(&staff, &at_contoso).unwrap().mcp_id, None);
}

#[test]
fn another_persons_mcp_id_is_refused_without_naming_their_organisation() {
    let w = world();
    let contoso = w.contoso();
    let staff = w.sign_in("staff@example.net");
    w.request(&staff, &contoso, "sam@contoso.com").unwrap();
    let m =
        w.p.verify(&staff, &w.token_for("sam@contoso.com"), w.now)
            .unwrap()
            .membership_id;
    w.p.link_mcp_id(&staff, &m, "7654321", w.now).unwrap();

    let ppc = w.sign_in("ppc@fabrikam.com");
    let own = w.p.me(&ppc).unwrap().memberships[0].membership_id.clone();
    let err = w.p.link_mcp_id(&ppc, &own, "7654321", w.now).unwrap_err();
    assert_eq!(err.code(), "mcp_id_linked_elsewhere");
    assert!(!err.message().contains("Contoso"), "{}", err.message());
    assert!(err.details().is_none());

    // Nobody but the owner changes it, not even the organisation's PPC.
    let contoso_ppc = w.sign_in("ppc@contoso.com");
    assert_eq!(
        code(w.p.unlink_mcp_id(&contoso_ppc, &m, w.now)),
        "forbidden"
    );
    assert_eq!(
        code(w.p.link_mcp_id(&staff, &m, "12ab", w.now)),
        "invalid_mcp_id"
    );
}

#[test]
fn leaving_an_organisation_releases_the_mcp_id() {
    let w = world();
    let staff = w.sign_in("staff@example.net");
    w.request(&staff, &w.contoso(), "sam@contoso.com").unwrap();
    let m =
        w.p.verify(&staff, &w.token_for("sam@contoso.com"), w.now)
            .unwrap()
            .membership_id;
    w.p.link_mcp_id(&staff, &m, "5555555", w.now).unwrap();
    w.p.remove_membership(&staff, &m, w.now).unwrap();
    let ppc = w.sign_in("ppc@fabrikam.com");
    let own = w.p.me(&ppc).unwrap().memberships[0].membership_id.clone();
    assert!(w.p.link_mcp_id(&ppc, &own, "5555555", w.now).is_ok());
}
