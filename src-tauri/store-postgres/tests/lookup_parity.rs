//! Lookup finds the same organisations, in the same order and pages, on SQLite (FTS5) and on
//! PostgreSQL (the word table): one directory of awkward names, one table of queries and the
//! hits each must give, run through `Programme::lookup` on both stores.
use std::sync::Arc;

use membership::seed::{seed_demo, DEMO_PASSWORD};
use membership::store::Store;
use membership::{
    Caller, Config, ImportedOrganisation, LookupQuery, Mailbox, PageRequest, Programme, Secret,
    SqliteStore, Timestamp,
};
use store_postgres::PgStore;
use testkit::postgres::Cluster;
use time::macros::datetime;

const T0: Timestamp = datetime!(2026-11-27 09:00 UTC);

/// (name, city, country); partner IDs are 7000001, 7000002, … in this order.
const DIRECTORY: &[(&str, &str, &str)] = &[
    ("Zürich Versicherung AG", "Zürich", "Switzerland"),
    ("Zurich Insurance", "Zurich", "Switzerland"),
    ("Straße & Söhne GmbH", "München", "Germany"),
    ("STRASSE Logistik", "Munich", "Germany"),
    ("O'Brien & Sons", "Dublin", "Ireland"),
    ("Jean-Luc Café Société", "Montréal", "Québec"),
    ("東京電力 Holdings", "東京", "Japan"),
    ("Москва Трейд", "Москва", "Россия"),
    ("3M Österreich", "Wien", "Austria"),
    ("R2-D2 Robotics 2000", "Perth", "Scotland"),
    ("ÆØÅ Design", "København", "Denmark"),
    ("İstanbul Bilişim", "İstanbul", "Türkiye"),
    ("Ελληνική Εταιρεία", "Αθήνα", "Greece"),
    ("naïve coöperative", "zürich", "SWITZERLAND"),
    ("Cafe\u{301} Noir", "Lyon", "France"),
    ("Łódź Tech Sp. z o.o.", "Łódź", "Poland"),
    ("ACME Widgets", "paris", "FRANCE"),
    ("Acme widgets 2", "Paris", "France"),
    ("D'Artagnan's Épée", "Gascogne", "France"),
];

struct Case {
    q: Option<&'static str>,
    country: Option<&'static str>,
    city: Option<&'static str>,
    partner_id: Option<&'static str>,
    hits: &'static [&'static str],
}

const fn q(q: &'static str, hits: &'static [&'static str]) -> Case {
    Case {
        q: Some(q),
        country: None,
        city: None,
        partner_id: None,
        hits,
    }
}

fn cases() -> Vec<Case> {
    vec![
        // Diacritics are removed on both sides; case never matters in words.
        q(
            "zurich",
            &[
                "Zürich Versicherung AG",
                "Zurich Insurance",
                "naïve coöperative",
            ],
        ),
        q(
            "Zürich",
            &[
                "Zürich Versicherung AG",
                "Zurich Insurance",
                "naïve coöperative",
            ],
        ),
        q("ZÜRICH versich", &["Zürich Versicherung AG"]),
        q("munchen", &["Straße & Söhne GmbH"]),
        q("MÜNCHEN", &["Straße & Söhne GmbH"]),
        q("naive", &["naïve coöperative"]),
        q("cooperative", &["naïve coöperative"]),
        q("montreal societe", &["Jean-Luc Café Société"]),
        // A decomposed é (e + U+0301) is the same word as a composed one.
        q("cafe", &["Jean-Luc Café Société", "Cafe\u{301} Noir"]),
        q("café", &["Jean-Luc Café Société", "Cafe\u{301} Noir"]),
        q("epee", &["D'Artagnan's Épée"]),
        q("istanbul bilisim", &["İstanbul Bilişim"]),
        // Ł, like Ø, is a letter of its own (no decomposition); ó and ź lose their marks.
        q("lodz", &[]),
        q("ŁÓDŹ", &["Łódź Tech Sp. z o.o."]),
        q("łodz", &["Łódź Tech Sp. z o.o."]),
        q("osterreich", &["3M Österreich"]),
        // ß is a letter of its own, not "ss"; Æ and Ø keep their letters, Å loses its ring.
        q("strasse", &["STRASSE Logistik"]),
        q("straß", &["Straße & Söhne GmbH"]),
        q("stra", &["Straße & Söhne GmbH", "STRASSE Logistik"]),
        q("æøa", &["ÆØÅ Design"]),
        q("aeo", &[]),
        q("kobenhavn", &[]),
        q("københavn", &["ÆØÅ Design"]),
        // Punctuation splits words: apostrophes, hyphens, ampersands, dots.
        q("o'brien", &["O'Brien & Sons"]),
        q("brien", &["O'Brien & Sons"]),
        q("obrien", &[]),
        q("jean-luc", &["Jean-Luc Café Société"]),
        q("d artagnan", &["D'Artagnan's Épée"]),
        q("sp z o", &["Łódź Tech Sp. z o.o."]),
        q("& - '", &[]),
        // Digits are word characters, alone or with letters.
        q("3m", &["3M Österreich"]),
        q("r2 d2", &["R2-D2 Robotics 2000"]),
        q("2", &["R2-D2 Robotics 2000", "Acme widgets 2"]),
        q("200", &["R2-D2 Robotics 2000"]),
        // Scripts without case folding in SQLite's table stay as they are; those with it fold.
        q("東京", &["東京電力 Holdings"]),
        q("電力", &[]),
        q("москва", &["Москва Трейд"]),
        q("МОСКВА ТР", &["Москва Трейд"]),
        q("ελληνική", &["Ελληνική Εταιρεία"]),
        q("ΕΛΛΗΝΙΚΉ", &["Ελληνική Εταιρεία"]),
        q("ελληνικη", &[]),
        q("αθ", &["Ελληνική Εταιρεία"]),
        // Every word must match, each as a prefix of some word of name, city or country.
        q("acme wid", &["ACME Widgets", "Acme widgets 2"]),
        q("acme paris 2", &["Acme widgets 2"]),
        q("acme london", &[]),
        q("holdings japan", &["東京電力 Holdings"]),
        // Country and city compare as SQLite's NOCASE does: A-Z only.
        Case {
            q: None,
            country: Some("switzerland"),
            city: None,
            partner_id: None,
            hits: &[
                "Zürich Versicherung AG",
                "Zurich Insurance",
                "naïve coöperative",
            ],
        },
        Case {
            q: None,
            country: None,
            city: Some("zürich"),
            partner_id: None,
            hits: &["Zürich Versicherung AG", "naïve coöperative"],
        },
        Case {
            q: None,
            country: None,
            city: Some("ZÜRICH"),
            partner_id: None,
            hits: &[],
        },
        Case {
            q: None,
            country: Some("France"),
            city: Some("PARIS"),
            partner_id: None,
            hits: &["ACME Widgets", "Acme widgets 2"],
        },
        Case {
            q: Some("widgets"),
            country: Some("france"),
            city: None,
            partner_id: None,
            hits: &["ACME Widgets", "Acme widgets 2"],
        },
        Case {
            q: None,
            country: Some("FRANCE"),
            city: None,
            partner_id: None,
            hits: &[
                "Cafe\u{301} Noir",
                "ACME Widgets",
                "Acme widgets 2",
                "D'Artagnan's Épée",
            ],
        },
        // Partner ID is exact.
        Case {
            q: None,
            country: None,
            city: None,
            partner_id: Some("7000005"),
            hits: &["O'Brien & Sons"],
        },
        Case {
            q: Some("brien"),
            country: None,
            city: None,
            partner_id: Some("7000006"),
            hits: &[],
        },
        Case {
            q: None,
            country: None,
            city: None,
            partner_id: Some("700000"),
            hits: &[],
        },
    ]
}

struct Setup<S: Store> {
    p: Programme<S>,
    staff: Caller,
    _dir: tempfile::TempDir,
}

fn setup<S: Store>(store: impl FnOnce(&std::path::Path) -> S) -> Setup<S> {
    let dir = tempfile::tempdir().unwrap();
    let mailbox = Arc::new(Mailbox::open(&dir.path().join("membership.sqlite3")).unwrap());
    let p = Programme::with_store(store(dir.path()), mailbox, Config::default());
    assert!(seed_demo(&p, T0).unwrap());
    let directory: Vec<ImportedOrganisation> = DIRECTORY
        .iter()
        .enumerate()
        .map(|(i, (name, city, country))| ImportedOrganisation {
            name: (*name).into(),
            city: (*city).into(),
            country: (*country).into(),
            partner_id: (7_000_001 + i).to_string(),
        })
        .collect();
    assert_eq!(
        p.import_organisations(&directory, T0).unwrap(),
        DIRECTORY.len()
    );
    let s = p
        .sign_in("staff@example.net", &Secret::new(DEMO_PASSWORD), T0)
        .unwrap();
    let staff = p.authenticate(&s.access_token, T0).unwrap();
    Setup {
        p,
        staff,
        _dir: dir,
    }
}

/// Every hit of `case`, following the cursor through pages of `limit`.
fn hits<S: Store>(s: &Setup<S>, case: &Case, limit: u32) -> Vec<String> {
    let mut names = Vec::new();
    let mut cursor = None;
    loop {
        let query = LookupQuery {
            q: case.q.map(Into::into),
            country: case.country.map(Into::into),
            city: case.city.map(Into::into),
            partner_id: case.partner_id.map(Into::into),
            page: PageRequest {
                limit: Some(limit),
                cursor: cursor.take(),
            },
        };
        let page = s.p.lookup(&s.staff, &query).unwrap();
        assert!(page.items.len() <= limit as usize);
        names.extend(page.items.into_iter().map(|o| o.name));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return names,
        }
    }
}

#[test]
fn lookup_gives_the_same_hits_in_the_same_order_and_pages_on_sqlite_and_postgresql() {
    let sqlite = setup(|dir| SqliteStore::open(&dir.join("membership.sqlite3")).unwrap());
    let pg = setup(|_| PgStore::connect(&Cluster::shared().fresh_database()).unwrap());
    let mut wrong = Vec::new();
    for case in cases() {
        for limit in [100, 2, 1] {
            let on_sqlite = hits(&sqlite, &case, limit);
            let on_pg = hits(&pg, &case, limit);
            if on_sqlite != case.hits || on_pg != case.hits {
                wrong.push(format!(
                    "q={:?} country={:?} city={:?} partner={:?} limit={limit}: expected {:?}, SQLite {:?}, PostgreSQL {:?}",
                    case.q, case.country, case.city, case.partner_id, case.hits, on_sqlite, on_pg
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn pages_of_a_broad_query_are_the_same_on_both_stores() {
    // One letter matches most of the directory and the demo organisations: many pages.
    let sqlite = setup(|dir| SqliteStore::open(&dir.join("membership.sqlite3")).unwrap());
    let pg = setup(|_| PgStore::connect(&Cluster::shared().fresh_database()).unwrap());
    for letter in ["a", "s", "c"] {
        let case = q(letter, &[]);
        let all = hits(&sqlite, &case, 100);
        assert!(all.len() >= 5, "{letter}: {all:?}");
        for limit in [1, 3] {
            assert_eq!(
                hits(&sqlite, &case, limit),
                all,
                "{letter}, SQLite, pages of {limit}"
            );
            assert_eq!(
                hits(&pg, &case, limit),
                all,
                "{letter}, PostgreSQL, pages of {limit}"
            );
        }
        assert_eq!(hits(&pg, &case, 100), all, "{letter}");
    }
}
