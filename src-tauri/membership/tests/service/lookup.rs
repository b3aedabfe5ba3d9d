use membership::LookupQuery;

use crate::common::{code, world};

fn names(w: &crate::common::World, q: LookupQuery) -> Vec<String> {
    let staff = w.sign_in("staff@example.net");
    w.p.lookup(&staff, &q)
        .unwrap()
        .items
        .into_iter()
        .map(|o| o.name)
        .collect()
}

#[test]
fn lookup_finds_by_name_words_prefix_partner_id_and_place() {
    let w = world();
    assert_eq!(
        names(
            &w,
            LookupQuery {
                q: Some("contoso".into()),
                ..Default::default()
            }
        ),
        ["Contoso Pty Ltd", "Contoso Pharmaceuticals"]
    );
    assert_eq!(
        names(
            &w,
            LookupQuery {
                q: Some("cont pharm".into()),
                ..Default::default()
            }
        ),
        ["Contoso Pharmaceuticals"]
    );
    assert_eq!(
        names(
            &w,
            LookupQuery {
                q: Some("FABRIKAM".into()),
                ..Default::default()
            }
        ),
        ["Fabrikam Consulting"]
    );
    assert_eq!(
        names(
            &w,
            LookupQuery {
                partner_id: Some("4598765".into()),
                ..Default::default()
            }
        ),
        ["Fabrikam Consulting"]
    );
    assert_eq!(
        names(
            &w,
            LookupQuery {
                q: Some("auckland".into()),
                ..Default::default()
            }
        ),
        ["Northwind Traders", "Contoso Pharmaceuticals"]
    );
    assert_eq!(
        names(
            &w,
            LookupQuery {
                q: Some("contoso".into()),
                country: Some("new zealand".into()),
                ..Default::default()
            }
        ),
        ["Contoso Pharmaceuticals"]
    );
    assert_eq!(
        names(
            &w,
            LookupQuery {
                city: Some("Sydney".into()),
                ..Default::default()
            }
        ),
        ["Contoso Pty Ltd"]
    );
    assert!(
        names(
            &w,
            LookupQuery {
                q: Some("\"*) OR (".into()),
                ..Default::default()
            }
        )
        .is_empty(),
        "FTS syntax is inert"
    );
}

#[test]
fn lookup_pages_with_a_cursor_and_refuses_an_empty_query() {
    let w = world();
    let staff = w.sign_in("staff@example.net");
    let mut q = LookupQuery {
        country: Some("Australia".into()),
        ..Default::default()
    };
    q.page.limit = Some(2);
    let first = w.p.lookup(&staff, &q).unwrap();
    assert_eq!(first.items.len(), 2);
    q.page.cursor = first.next_cursor.clone();
    let second = w.p.lookup(&staff, &q).unwrap();
    assert_eq!(second.items.len(), 1);
    assert_eq!(second.next_cursor, None);
    assert!(first.items.iter().all(|a| second
        .items
        .iter()
        .all(|b| a.organisation_id != b.organisation_id)));
    assert_eq!(
        code(w.p.lookup(&staff, &LookupQuery::default())),
        "empty_lookup"
    );
    assert_eq!(
        code(w.p.lookup(
            &staff,
            &LookupQuery {
                partner_id: Some("12ab".into()),
                ..Default::default()
            }
        )),
        "invalid_partner_id"
    );
}

#[test]
fn an_imported_directory_is_searchable_and_a_bad_row_is_refused() {
    let w = world();
    let dir = membership::seed::synthetic_directory(2_000);
    assert_eq!(w.p.import_organisations(&dir, w.now).unwrap(), 2_000);
    let staff = w.sign_in("staff@example.net");
    let target = &dir[1234];
    let first_word = target.name.split(' ').next().unwrap();
    let mut q = LookupQuery {
        q: Some(format!("{} {}", &first_word[..3], target.city)),
        ..Default::default()
    };
    q.page.limit = Some(100);
    let mut found = false;
    loop {
        let page = w.p.lookup(&staff, &q).unwrap();
        let prefix = first_word[..3].to_lowercase();
        for o in &page.items {
            let text = format!("{} {} {}", o.name, o.city, o.country).to_lowercase();
            assert!(
                text.split(' ').any(|w| w.starts_with(&prefix)),
                "{text} has no word starting with {prefix}"
            );
            assert_eq!(o.city, target.city, "the city word narrows the search");
        }
        found |= page.items.iter().any(|o| o.partner_id == target.partner_id);
        match page.next_cursor {
            Some(c) => q.page.cursor = Some(c),
            None => break,
        }
    }
    assert!(found, "paging through every match reaches the target");
    let bad = vec![membership::ImportedOrganisation {
        name: "".into(),
        city: "X".into(),
        country: "Y".into(),
        partner_id: "99999999".into(),
    }];
    assert_eq!(
        code(w.p.import_organisations(&bad, w.now)),
        "invalid_organisation_name"
    );
}
