//! Boundary tables and properties for the domain value types (`membership::domain`).
//!
//! Each table row is `input → expected canonical form` or `input → expected error code`; every
//! refusal is also checked for a non-empty message. Property tests cover domain matching on
//! label boundaries and the idempotence of parsing.

use std::fmt::Debug;

use membership::domain::*;
use membership::Secret;
use proptest::prelude::*;
use rstest::rstest;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Asserts a parse outcome against `Ok(canonical)` or `Err(code)`; a refusal must carry a
/// message, and `Display` must show `code: message`.
fn check<T: Debug>(
    input: &str,
    got: Result<T, ValidationError>,
    expected: Result<&str, &str>,
    canonical: impl Fn(&T) -> String,
) {
    match (got, expected) {
        (Ok(v), Ok(want)) => assert_eq!(canonical(&v), want, "canonical form of {input:?}"),
        (Err(e), Err(code)) => assert_refusal(input, &e, code),
        (Ok(v), Err(code)) => panic!("{input:?} was accepted as {v:?}; expected refusal {code}"),
        (Err(e), Ok(want)) => panic!("{input:?} was refused ({e}); expected {want:?}"),
    }
}

fn assert_refusal(input: &str, e: &ValidationError, code: &str) {
    assert_eq!(e.code(), code, "error code for {input:?}: {e}");
    assert!(
        !e.message().trim().is_empty(),
        "empty message for {input:?}"
    );
    assert_eq!(e.to_string(), format!("{}: {}", e.code(), e.message()));
}

fn refused<T: Debug>(input: &str, got: Result<T, ValidationError>, code: &str) {
    match got {
        Ok(v) => panic!("{input:?} was accepted as {v:?}; expected refusal {code}"),
        Err(e) => assert_refusal(input, &e, code),
    }
}

fn dn(s: &str) -> DomainName {
    DomainName::parse(s).unwrap_or_else(|e| panic!("{s:?} should be a domain name: {e}"))
}

fn ed(s: &str) -> EmailDomain {
    EmailDomain::parse(s).unwrap_or_else(|e| panic!("{s:?} should be an email domain: {e}"))
}

/// A label of `n` copies of `c`.
fn label(c: char, n: usize) -> String {
    std::iter::repeat_n(c, n).collect()
}

/// A domain name of exactly `len` octets made of labels of at most 63 octets and a letter TLD.
fn name_of_len(len: usize) -> String {
    let mut labels = Vec::new();
    let mut remaining = len;
    let mut c = b'a';
    while remaining > 0 {
        // One label plus its dot; keep at least 2 octets for a final label when more must follow.
        let take = if remaining <= 63 {
            remaining
        } else {
            63.min(remaining - 2)
        };
        labels.push(label(c as char, take));
        remaining -= take;
        remaining = remaining.saturating_sub(1); // the dot
        c += 1;
    }
    let name = labels.join(".");
    assert_eq!(name.len(), len);
    name
}

// ---------------------------------------------------------------------------------------------
// DomainName: boundary table
// ---------------------------------------------------------------------------------------------

#[rstest]
// Canonical form: lower case, no trailing dot, surrounding space trimmed.
#[case("contoso.com", Ok("contoso.com"))]
#[case("CONTOSO.COM", Ok("contoso.com"))]
#[case("Contoso.Com.", Ok("contoso.com"))]
#[case("  contoso.com  ", Ok("contoso.com"))]
#[case("\tsub.Contoso.com.\n", Ok("sub.contoso.com"))]
#[case("con-toso.com", Ok("con-toso.com"))]
#[case("123.com", Ok("123.com"))]
#[case("1.2.3.com", Ok("1.2.3.com"))]
#[case("a.b", Ok("a.b"))]
// IDN to punycode (UTS-46), including its case and width folding.
#[case("bücher.de", Ok("xn--bcher-kva.de"))]
#[case("BÜCHER.DE", Ok("xn--bcher-kva.de"))]
#[case("bücher.de.", Ok("xn--bcher-kva.de"))]
#[case("xn--bcher-kva.de", Ok("xn--bcher-kva.de"))]
#[case("XN--BCHER-KVA.DE", Ok("xn--bcher-kva.de"))]
#[case("münchen.de", Ok("xn--mnchen-3ya.de"))]
#[case("ｃｏｎｔｏｓｏ.com", Ok("contoso.com"))]
#[case("contoso。com", Ok("contoso.com"))]
// Empty input and empty labels.
#[case("", Err("invalid_domain"))]
#[case("   ", Err("invalid_domain"))]
#[case(".", Err("invalid_domain"))]
#[case("..", Err("invalid_domain"))]
#[case(".contoso.com", Err("invalid_domain"))]
#[case("contoso..com", Err("invalid_domain"))]
#[case("contoso.com..", Err("invalid_domain"))]
// Hyphens at the edges of a label.
#[case("-contoso.com", Err("invalid_domain"))]
#[case("contoso-.com", Err("invalid_domain"))]
#[case("contoso.-com", Err("invalid_domain"))]
#[case("contoso.com-", Err("invalid_domain"))]
// Characters that are not in a host name.
#[case("con_toso.com", Err("invalid_domain"))]
#[case("_dmarc.contoso.com", Err("invalid_domain"))]
#[case("con toso.com", Err("invalid_domain"))]
#[case("contoso.com/evil", Err("invalid_domain"))]
#[case("contoso.com:443", Err("invalid_domain"))]
#[case("alice@contoso.com", Err("invalid_domain"))]
#[case("https://contoso.com", Err("invalid_domain"))]
#[case("*.contoso.com", Err("invalid_domain"))]
// IP addresses and single labels.
#[case("1.2.3.4", Err("invalid_domain"))]
#[case("1.2.3.4.", Err("invalid_domain"))]
#[case("[1.2.3.4]", Err("invalid_domain"))]
#[case("contoso.123", Err("invalid_domain"))]
#[case("localhost", Err("invalid_domain"))]
#[case("com", Err("invalid_domain"))]
#[case("com.", Err("invalid_domain"))]
// Invisible and reordering characters anywhere, even where UTS-46 would silently drop them.
#[case("conto\u{200B}so.com", Err("invalid_domain"))] // zero-width space
#[case("contoso\u{200C}.com", Err("invalid_domain"))] // zero-width non-joiner
#[case("\u{200F}contoso.com", Err("invalid_domain"))] // right-to-left mark
#[case("contoso.com\u{200E}", Err("invalid_domain"))] // left-to-right mark
#[case("\u{FEFF}contoso.com", Err("invalid_domain"))] // byte-order mark
#[case("con\u{FEFF}toso.com", Err("invalid_domain"))]
#[case("con\u{00AD}toso.com", Err("invalid_domain"))] // soft hyphen
#[case("\u{202E}moc.osotnoc", Err("invalid_domain"))] // right-to-left override
#[case("contoso\u{0000}.com", Err("invalid_domain"))]
#[case("contoso.com\u{E0041}", Err("invalid_domain"))] // tag character
// Malformed punycode.
#[case("xn--.com", Err("invalid_domain"))]
fn domain_name_is_canonical_or_refused(#[case] input: &str, #[case] expected: Result<&str, &str>) {
    check(input, DomainName::parse(input), expected, |d| {
        d.as_str().to_owned()
    });
}

#[rstest]
#[case(1, true)]
#[case(62, true)]
#[case(63, true)]
#[case(64, false)]
#[case(100, false)]
fn a_label_of_63_octets_is_accepted_and_64_refused(#[case] len: usize, #[case] ok: bool) {
    for name in [
        format!("{}.com", label('a', len)),
        format!("contoso.{}.com", label('b', len)),
    ] {
        let expected = if ok {
            Ok(name.as_str())
        } else {
            Err("invalid_domain")
        };
        check(&name, DomainName::parse(&name), expected, |d| {
            d.as_str().to_owned()
        });
    }
}

#[rstest]
#[case(252, true)]
#[case(253, true)]
#[case(254, false)]
#[case(255, false)]
#[case(400, false)]
fn a_whole_name_of_253_octets_is_accepted_and_254_refused(#[case] len: usize, #[case] ok: bool) {
    let name = name_of_len(len);
    let expected = if ok {
        Ok(name.as_str())
    } else {
        Err("invalid_domain")
    };
    check(&name, DomainName::parse(&name), expected, |d| {
        d.as_str().to_owned()
    });
    // The trailing dot does not count towards the length.
    let dotted = format!("{name}.");
    check(&dotted, DomainName::parse(&dotted), expected, |d| {
        d.as_str().to_owned()
    });
}

#[test]
fn label_length_is_counted_on_the_punycode_form() {
    // Spread-out CJK characters take several punycode octets each, so a label of far fewer than
    // 63 characters can exceed 63 octets once converted; the limit applies to the ASCII form.
    let cjk = |n: u32| -> String {
        (0..n)
            .map(|i| char::from_u32(0x4E00 + i * 397).unwrap())
            .collect()
    };
    let first_refused = (1..63)
        .find(|&n| DomainName::parse(&format!("{}.com", cjk(n))).is_err())
        .expect("some label length is refused");
    let refused_label = cjk(first_refused);
    assert!(refused_label.chars().count() < 63);
    assert!(idna::domain_to_ascii(&refused_label).unwrap().len() > 63);
    refused(
        &refused_label,
        DomainName::parse(&format!("{refused_label}.com")),
        "invalid_domain",
    );
    let accepted = dn(&format!("{}.com", cjk(first_refused - 1)));
    let first_label = accepted.as_str().split('.').next().unwrap();
    assert!(
        first_label.starts_with("xn--") && first_label.len() <= 63,
        "{accepted}"
    );
}

#[test]
fn very_long_input_is_refused_with_a_shortened_quote() {
    let input = "a".repeat(5000);
    let e = DomainName::parse(&input).unwrap_err();
    assert_refusal("5000 x a", &e, "invalid_domain");
    assert!(
        e.message().len() < 400,
        "message quotes the whole input: {} bytes",
        e.message().len()
    );
    assert!(e.message().contains("..."));
}

#[test]
fn a_refusal_message_quotes_the_domain_that_was_typed() {
    let e = DomainName::parse("con_toso.com").unwrap_err();
    assert!(e.message().contains("con_toso.com"), "{}", e.message());
}

#[test]
fn a_cyrillic_look_alike_is_a_different_domain() {
    // "соntoso.com" with Cyrillic с (U+0441) and о (U+043E).
    let look_alike = "\u{0441}\u{043E}ntoso.com";
    let d = dn(look_alike);
    assert!(d.as_str().starts_with("xn--"), "{d}");
    assert_ne!(d, dn("contoso.com"));
}

#[test]
fn domain_name_display_and_as_ref_show_the_canonical_form() {
    let d = dn("Bücher.DE.");
    assert_eq!(d.to_string(), "xn--bcher-kva.de");
    assert_eq!(d.as_ref(), "xn--bcher-kva.de");
}

// ---------------------------------------------------------------------------------------------
// EmailDomain: boundary table
// ---------------------------------------------------------------------------------------------

#[rstest]
// Organisations' own domains.
#[case("contoso.com", Ok("contoso.com"))]
#[case("Contoso.COM.", Ok("contoso.com"))]
#[case("contoso.co.uk", Ok("contoso.co.uk"))]
#[case("contoso.com.au", Ok("contoso.com.au"))]
#[case("sub.contoso.com", Ok("sub.contoso.com"))]
#[case("bücher.de", Ok("xn--bcher-kva.de"))]
#[case("contoso.github.io", Ok("contoso.github.io"))]
#[case("contoso.test", Ok("contoso.test"))]
// Names that merely resemble a free-mail provider are not one (label boundaries).
#[case("notgmail.com", Ok("notgmail.com"))]
#[case("gmail.co", Ok("gmail.co"))]
#[case("gmail.com.contoso.com", Ok("gmail.com.contoso.com"))]
#[case("outlook.contoso.com", Ok("outlook.contoso.com"))]
// Public suffixes, ICANN and private sections of the list alike.
#[case("co.uk", Err("public_suffix"))]
#[case("CO.UK.", Err("public_suffix"))]
#[case("com.au", Err("public_suffix"))]
#[case("org.au", Err("public_suffix"))]
#[case("github.io", Err("public_suffix"))]
#[case("blogspot.com", Err("public_suffix"))]
#[case("公司.cn", Err("public_suffix"))]
// A single label is not a domain name at all, so it fails before the suffix check.
#[case("com", Err("invalid_domain"))]
#[case("uk", Err("invalid_domain"))]
// Free-mail providers and anything under them.
#[case("gmail.com", Err("freemail_domain"))]
#[case("GMail.com", Err("freemail_domain"))]
#[case("OUTLOOK.COM.", Err("freemail_domain"))]
#[case("mail.gmail.com", Err("freemail_domain"))]
#[case("a.b.outlook.com", Err("freemail_domain"))]
#[case("hotmail.co.uk", Err("freemail_domain"))]
#[case("outlook.com.au", Err("freemail_domain"))]
#[case("proton.me", Err("freemail_domain"))]
#[case("  yahoo.com  ", Err("freemail_domain"))]
// Not a domain name.
#[case("", Err("invalid_domain"))]
#[case("con_toso.com", Err("invalid_domain"))]
#[case("conto\u{200B}so.com", Err("invalid_domain"))]
#[case("1.2.3.4", Err("invalid_domain"))]
fn email_domain_is_canonical_or_refused(#[case] input: &str, #[case] expected: Result<&str, &str>) {
    check(input, EmailDomain::parse(input), expected, |d| {
        d.as_str().to_owned()
    });
}

#[test]
fn email_domain_exposes_its_domain_name() {
    let d = ed("Sub.Contoso.com.");
    assert_eq!(d.name(), &dn("sub.contoso.com"));
    assert_eq!(d.to_string(), "sub.contoso.com");
    assert_eq!(d.as_ref(), "sub.contoso.com");
}

#[test]
fn public_suffix_and_freemail_messages_name_the_domain() {
    let e = EmailDomain::parse("Co.UK").unwrap_err();
    assert!(e.message().contains("co.uk"), "{}", e.message());
    let e = EmailDomain::parse("GMAIL.com").unwrap_err();
    assert!(e.message().contains("gmail.com"), "{}", e.message());
}

// ---------------------------------------------------------------------------------------------
// Matching: table
// ---------------------------------------------------------------------------------------------

#[rstest]
// Exact match, normalised for case, trailing dot and IDN form on both sides.
#[case("contoso.com", false, "contoso.com", true)]
#[case("contoso.com", true, "contoso.com", true)]
#[case("contoso.com", false, "CONTOSO.COM.", true)]
#[case("Contoso.COM.", false, "contoso.com", true)]
#[case("contoso.com", true, "Sub.CONTOSO.com.", true)]
#[case("bücher.de", false, "xn--bcher-kva.de", true)]
#[case("xn--bcher-kva.de", false, "BÜCHER.de", true)]
#[case("contoso.com", false, "ｃｏｎｔｏｓｏ.com", true)]
// Subdomains only with include_subdomains.
#[case("contoso.com", false, "sub.contoso.com", false)]
#[case("contoso.com", true, "sub.contoso.com", true)]
#[case("contoso.com", true, "a.b.c.contoso.com", true)]
#[case("contoso.com", false, "a.b.c.contoso.com", false)]
#[case("contoso.co.uk", true, "mail.contoso.co.uk", true)]
// Label boundaries: a suffix of the characters is not a subdomain.
#[case("contoso.com", true, "evilcontoso.com", false)]
#[case("contoso.com", true, "xcontoso.com", false)]
#[case("contoso.com", true, "evil-contoso.com", false)]
#[case("contoso.com", true, "sub.evilcontoso.com", false)]
#[case("contoso.com", true, "contoso.com.evil.test", false)]
#[case("contoso.com", true, "contoso-com.evil.test", false)]
#[case("contoso.com", true, "ontoso.com", false)]
#[case("contoso.com", true, "contoso.co", false)]
#[case("contoso.com", true, "contoso.comx", false)]
#[case("contoso.co.uk", true, "contoso.uk", false)]
// A parent or a sibling never falls under a subdomain rule.
#[case("sub.contoso.com", true, "contoso.com", false)]
#[case("sub.contoso.com", true, "other.contoso.com", false)]
#[case("sub.contoso.com", true, "a.sub.contoso.com", true)]
// Look-alikes: Cyrillic с and о.
#[case("contoso.com", false, "\u{0441}\u{043E}ntoso.com", false)]
#[case("contoso.com", true, "\u{0441}\u{043E}ntoso.com", false)]
#[case("contoso.com", true, "sub.\u{0441}\u{043E}ntoso.com", false)]
#[case("contoso.com", true, "contos\u{043E}.com", false)]
fn email_domain_matches_on_label_boundaries(
    #[case] rule: &str,
    #[case] include_subdomains: bool,
    #[case] address_domain: &str,
    #[case] expected: bool,
) {
    let rule = ed(rule);
    let address = dn(address_domain);
    assert_eq!(
        rule.matches(&address, include_subdomains),
        expected,
        "rule {rule} (include_subdomains: {include_subdomains}) against {address}"
    );
    if include_subdomains {
        assert_eq!(
            address.is_within(rule.name()),
            expected,
            "{address} within {rule}"
        );
    }
}

#[test]
fn subdomain_never_matches_without_include_subdomains() {
    let rule = ed("contoso.com");
    for sub in [
        "sub.contoso.com",
        "www.contoso.com",
        "a.b.contoso.com",
        "contoso.contoso.com",
    ] {
        let sub = dn(sub);
        assert!(!rule.matches(&sub, false), "{sub}");
        assert!(rule.matches(&sub, true), "{sub}");
    }
}

#[test]
fn is_within_is_reflexive_and_one_way() {
    let parent = dn("contoso.com");
    let child = dn("sub.contoso.com");
    assert!(parent.is_within(&parent));
    assert!(child.is_within(&parent));
    assert!(!parent.is_within(&child));
}

#[test]
fn an_address_domain_matches_through_the_email_address() {
    let rule = ed("contoso.com");
    let address = EmailAddress::parse("Alice@Sales.Contoso.COM").unwrap();
    assert!(rule.matches(&address.domain(), true));
    assert!(!rule.matches(&address.domain(), false));
    let evil = EmailAddress::parse("alice@evilcontoso.com").unwrap();
    assert!(!rule.matches(&evil.domain(), true));
}

// ---------------------------------------------------------------------------------------------
// Matching and parsing: properties
// ---------------------------------------------------------------------------------------------

/// A host-name label without positional hyphen trouble: alphanumerics with at most one inner hyphen.
fn label_strategy() -> impl Strategy<Value = String> {
    "[a-z0-9]{1,6}(-[a-z0-9]{1,6})?"
}

/// A rule domain: one to three labels under a letter TLD or a common public suffix.
fn rule_strategy() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(label_strategy(), 1..=3),
        prop::sample::select(vec!["com", "co.uk", "com.au", "de", "test", "xn--p1ai"]),
    )
        .prop_map(|(labels, tld)| format!("{}.{}", labels.join("."), tld))
}

/// Domain-ish text for parse properties: mostly well-formed names with mixed case, Unicode
/// letters, ideographic full stops and a trailing dot; sometimes free-form noise.
fn domainish_strategy() -> impl Strategy<Value = String> {
    let structured = (
        prop::collection::vec("[a-zA-Z0-9äöüßéçÅЖж]{1,10}", 2..=4),
        prop::sample::select(vec![".", "\u{3002}"]),
        prop::sample::select(vec!["", ".", " "]),
    )
        .prop_map(|(labels, sep, end)| format!("{}{end}", labels.join(sep)));
    prop_oneof![3 => structured, 1 => "[a-zA-Z0-9äöüßéçÅЖж.。_ -]{0,40}\\.?"]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_domain_built_by_prefixing_labels_is_within_the_rule(
        rule in rule_strategy(),
        prefix in prop::collection::vec(label_strategy(), 1..=4),
    ) {
        let rule_name = dn(&rule);
        let sub = dn(&format!("{}.{}", prefix.join("."), rule));
        prop_assert!(sub.is_within(&rule_name), "{} within {}", sub, rule_name);
        prop_assert!(!rule_name.is_within(&sub), "{} within {}", rule_name, sub);
        if let Ok(rule_domain) = EmailDomain::parse(&rule) {
            prop_assert!(rule_domain.matches(&sub, true));
            prop_assert!(!rule_domain.matches(&sub, false));
        }
    }

    #[test]
    fn a_domain_formed_by_prefixing_characters_to_the_first_label_is_never_within(
        rule in rule_strategy(),
        glued in "[a-z0-9-]{1,8}",
        outer in prop::collection::vec(label_strategy(), 0..=2),
    ) {
        let rule_name = dn(&rule);
        let mut candidate = format!("{glued}{rule}");
        if !outer.is_empty() {
            candidate = format!("{}.{}", outer.join("."), candidate);
        }
        // Some glued prefixes (a leading hyphen) are not host names; those cannot match anything.
        if let Ok(d) = DomainName::parse(&candidate) {
            prop_assert!(!d.is_within(&rule_name), "{} within {}", d, rule_name);
            if let Ok(rule_domain) = EmailDomain::parse(&rule) {
                prop_assert!(!rule_domain.matches(&d, true));
                prop_assert!(!rule_domain.matches(&d, false));
            }
        }
    }

    #[test]
    fn a_domain_with_labels_appended_after_the_rule_is_never_within(
        rule in rule_strategy(),
        suffix in prop::collection::vec(label_strategy(), 1..=2),
        tld in "[a-z]{2,5}",
    ) {
        let rule_name = dn(&rule);
        let candidate = dn(&format!("{}.{}.{}", rule, suffix.join("."), tld));
        prop_assert!(!candidate.is_within(&rule_name), "{} within {}", candidate, rule_name);
    }

    #[test]
    fn matches_without_include_subdomains_is_exactly_equality(
        rule in ("[ab]{1,2}", prop::sample::select(vec!["com", "test"])).prop_map(|(l, t)| format!("{l}.{t}")),
        address in (prop::collection::vec("[ab]{1,2}", 1..=3), prop::sample::select(vec!["com", "test"]))
            .prop_map(|(ls, t)| format!("{}.{t}", ls.join("."))),
    ) {
        let rule = ed(&rule);
        let address = dn(&address);
        prop_assert_eq!(rule.matches(&address, false), address == *rule.name());
        prop_assert_eq!(rule.matches(&address, true), address.is_within(rule.name()));
        // Matching with subdomains is never narrower than without.
        prop_assert!(!rule.matches(&address, false) || rule.matches(&address, true));
    }

    #[test]
    fn is_within_agrees_with_a_label_by_label_comparison(
        a in prop::collection::vec("[ab]{1,2}", 2..=4),
        b in prop::collection::vec("[ab]{1,2}", 2..=4),
    ) {
        let da = dn(&a.join("."));
        let db = dn(&b.join("."));
        let expected = a.len() >= b.len() && a[a.len() - b.len()..] == b[..];
        prop_assert_eq!(da.is_within(&db), expected, "{} within {}", da, db);
        // Antisymmetry: mutual containment only for equal names.
        if da.is_within(&db) && db.is_within(&da) {
            prop_assert_eq!(&da, &db);
        }
    }

    #[test]
    fn case_and_a_trailing_dot_do_not_change_the_canonical_form(rule in rule_strategy()) {
        let canonical = dn(&rule);
        prop_assert_eq!(dn(&rule.to_uppercase()), canonical.clone());
        prop_assert_eq!(dn(&format!("{rule}.")), canonical.clone());
        prop_assert_eq!(dn(&format!("  {}.  ", rule.to_uppercase())), canonical);
    }

    #[test]
    fn domain_name_parse_is_idempotent(input in domainish_strategy()) {
        if let Ok(d) = DomainName::parse(&input) {
            prop_assert_eq!(DomainName::parse(d.as_str()), Ok(d.clone()));
            prop_assert!(d.as_str().is_ascii());
            prop_assert_eq!(d.as_str().to_ascii_lowercase(), d.as_str());
            prop_assert!(!d.as_str().ends_with('.'));
            prop_assert!(d.as_str().len() <= 253);
            prop_assert!(d.as_str().split('.').all(|l| !l.is_empty() && l.len() <= 63));
        }
    }

    #[test]
    fn email_domain_parse_is_idempotent(input in domainish_strategy()) {
        if let Ok(d) = EmailDomain::parse(&input) {
            prop_assert_eq!(EmailDomain::parse(d.as_str()), Ok(d.clone()));
            prop_assert_eq!(DomainName::parse(&input), Ok(d.name().clone()));
        }
    }

    #[test]
    fn parsing_arbitrary_text_never_panics_and_refuses_with_a_known_code(input in any::<String>()) {
        if let Err(e) = DomainName::parse(&input) {
            prop_assert_eq!(e.code(), "invalid_domain");
            prop_assert!(!e.message().is_empty());
        }
        if let Err(e) = EmailDomain::parse(&input) {
            prop_assert!(["invalid_domain", "public_suffix", "freemail_domain"].contains(&e.code()));
            prop_assert!(!e.message().is_empty());
        }
        if let Err(e) = EmailAddress::parse(&input) {
            prop_assert_eq!(e.code(), "invalid_email");
            prop_assert!(!e.message().is_empty());
        }
    }

    #[test]
    fn email_address_parse_is_idempotent_and_splits_at_the_last_at(
        local in "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,10}(\\.[a-zA-Z0-9_-]{1,10}){0,2}",
        domain in domainish_strategy(),
    ) {
        let input = format!("{local}@{domain}");
        if let Ok(a) = EmailAddress::parse(&input) {
            prop_assert_eq!(EmailAddress::parse(a.as_str()), Ok(a.clone()));
            prop_assert_eq!(a.local_part(), local.to_ascii_lowercase());
            prop_assert_eq!(Ok(a.domain()), DomainName::parse(&domain));
            prop_assert_eq!(format!("{}@{}", a.local_part(), a.domain()), a.as_str());
            prop_assert!(a.as_str().len() <= 254);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// EmailAddress: boundary table
// ---------------------------------------------------------------------------------------------

#[rstest]
// Canonical form: lower case, trimmed, canonical domain.
#[case("alice@contoso.com", Ok("alice@contoso.com"))]
#[case("Alice@Contoso.COM", Ok("alice@contoso.com"))]
#[case("  alice@contoso.com  ", Ok("alice@contoso.com"))]
#[case("\talice@contoso.com\n", Ok("alice@contoso.com"))]
#[case("alice@contoso.com.", Ok("alice@contoso.com"))]
#[case("alice@bücher.de", Ok("alice@xn--bcher-kva.de"))]
#[case("ALICE@BÜCHER.DE", Ok("alice@xn--bcher-kva.de"))]
#[case("first.last+tag@sub.contoso.com", Ok("first.last+tag@sub.contoso.com"))]
#[case("o'brien@contoso.com", Ok("o'brien@contoso.com"))]
#[case("a@contoso.com", Ok("a@contoso.com"))]
#[case(
    "x_y-z!#$%&*/=?^`{|}~@contoso.com",
    Ok("x_y-z!#$%&*/=?^`{|}~@contoso.com")
)]
// Free-mail addresses are valid addresses; only pre-approving their domain is refused.
#[case("alice@gmail.com", Ok("alice@gmail.com"))]
// The @.
#[case("", Err("invalid_email"))]
#[case("   ", Err("invalid_email"))]
#[case("alicecontoso.com", Err("invalid_email"))]
#[case("@", Err("invalid_email"))]
#[case("@contoso.com", Err("invalid_email"))]
#[case("alice@", Err("invalid_email"))]
#[case("a@b@contoso.com", Err("invalid_email"))]
#[case("alice@contoso.com@", Err("invalid_email"))]
#[case("alice@@contoso.com", Err("invalid_email"))]
// Dots in the local part.
#[case(".alice@contoso.com", Err("invalid_email"))]
#[case("alice.@contoso.com", Err("invalid_email"))]
#[case("al..ice@contoso.com", Err("invalid_email"))]
#[case(".@contoso.com", Err("invalid_email"))]
// Spaces, quotes, comments and display names.
#[case("al ice@contoso.com", Err("invalid_email"))]
#[case("alice @contoso.com", Err("invalid_email"))]
#[case("alice@ contoso.com", Err("invalid_email"))]
#[case("alice@\u{3000}contoso.com", Err("invalid_email"))]
#[case("alice@con toso.com", Err("invalid_email"))]
#[case("\"alice\"@contoso.com", Err("invalid_email"))]
#[case("\"a b\"@contoso.com", Err("invalid_email"))]
#[case("alice(work)@contoso.com", Err("invalid_email"))]
#[case("Alice <alice@contoso.com>", Err("invalid_email"))]
#[case("alice,bob@contoso.com", Err("invalid_email"))]
#[case("alice;@contoso.com", Err("invalid_email"))]
#[case("a\\b@contoso.com", Err("invalid_email"))]
// Unicode in the local part.
#[case("josé@contoso.com", Err("invalid_email"))]
#[case("\u{0430}lice@contoso.com", Err("invalid_email"))] // Cyrillic а
#[case("алиса@contoso.com", Err("invalid_email"))]
#[case("ａｌｉｃｅ@contoso.com", Err("invalid_email"))]
// Invisible and control characters.
#[case("ali\u{200B}ce@contoso.com", Err("invalid_email"))]
#[case("alice@contoso.com\u{200F}", Err("invalid_email"))]
#[case("\u{FEFF}alice@contoso.com", Err("invalid_email"))]
#[case("alice\n@contoso.com", Err("invalid_email"))]
#[case("alice@contoso.com\r\nBcc: eve@evil.test", Err("invalid_email"))]
// Invalid domains.
#[case("alice@localhost", Err("invalid_email"))]
#[case("alice@1.2.3.4", Err("invalid_email"))]
#[case("alice@[1.2.3.4]", Err("invalid_email"))]
#[case("alice@contoso..com", Err("invalid_email"))]
#[case("alice@-contoso.com", Err("invalid_email"))]
#[case("alice@con_toso.com", Err("invalid_email"))]
#[case("alice@contoso.com..", Err("invalid_email"))]
fn email_address_is_canonical_or_refused(
    #[case] input: &str,
    #[case] expected: Result<&str, &str>,
) {
    check(input, EmailAddress::parse(input), expected, |a| {
        a.as_str().to_owned()
    });
}

#[rstest]
#[case(1, true)]
#[case(63, true)]
#[case(64, true)]
#[case(65, false)]
#[case(200, false)]
fn a_local_part_of_64_octets_is_accepted_and_65_refused(#[case] len: usize, #[case] ok: bool) {
    let input = format!("{}@contoso.com", label('A', len));
    let want = format!("{}@contoso.com", label('a', len));
    let expected = if ok {
        Ok(want.as_str())
    } else {
        Err("invalid_email")
    };
    check(&input, EmailAddress::parse(&input), expected, |a| {
        a.as_str().to_owned()
    });
}

#[rstest]
#[case(253, true)]
#[case(254, true)]
#[case(255, false)]
#[case(256, false)]
fn a_whole_address_of_254_octets_is_accepted_and_255_refused(#[case] len: usize, #[case] ok: bool) {
    // A 64-octet local part, the @, and a domain that makes up the rest.
    let input = format!("{}@{}", label('x', 64), name_of_len(len - 65));
    assert_eq!(input.len(), len);
    let expected = if ok {
        Ok(input.as_str())
    } else {
        Err("invalid_email")
    };
    check(&input, EmailAddress::parse(&input), expected, |a| {
        a.as_str().to_owned()
    });
}

#[test]
fn whole_address_length_is_counted_on_the_canonical_ascii_form() {
    // Find a Unicode label whose punycode form is 62 octets: the domain is then 190 octets and
    // the address 255, although the Unicode text typed is well under 254 octets.
    let (unicode_label, ascii_label) = (0..80)
        .map(|n| {
            let l = format!("bücher{}", label('a', n));
            let a = dn(&format!("{l}.de"))
                .as_str()
                .trim_end_matches(".de")
                .to_owned();
            (l, a)
        })
        .find(|(_, a)| a.len() == 62)
        .expect("a label with a 62-octet punycode form");
    let domain = format!("{}.{}.{}", label('a', 63), label('b', 63), unicode_label);
    let input = format!("{}@{}", label('x', 64), domain);
    assert!(input.len() < 254, "typed address is {} octets", input.len());
    assert_eq!(64 + 1 + 63 + 1 + 63 + 1 + ascii_label.len(), 255);
    refused(&input, EmailAddress::parse(&input), "invalid_email");
}

#[rstest]
#[case("Alice.Smith@Contoso.COM", "alice.smith", "contoso.com")]
#[case("  bob@Sub.Contoso.com.  ", "bob", "sub.contoso.com")]
#[case("carol+tag@bücher.de", "carol+tag", "xn--bcher-kva.de")]
#[case("d@a.b", "d", "a.b")]
fn email_address_splits_into_local_part_and_domain(
    #[case] input: &str,
    #[case] local: &str,
    #[case] domain: &str,
) {
    let a = EmailAddress::parse(input).unwrap();
    assert_eq!(a.local_part(), local);
    assert_eq!(a.domain(), dn(domain));
    assert_eq!(a.domain().as_str(), domain);
    assert_eq!(a.to_string(), format!("{local}@{domain}"));
    assert_eq!(a.as_ref(), a.as_str());
}

#[test]
fn addresses_differing_only_in_case_are_equal() {
    assert_eq!(
        EmailAddress::parse("ALICE@CONTOSO.COM").unwrap(),
        EmailAddress::parse("alice@contoso.com").unwrap()
    );
}

#[test]
fn an_email_refusal_quotes_the_trimmed_input() {
    let e = EmailAddress::parse("  not-an-address  ").unwrap_err();
    assert_refusal("not-an-address", &e, "invalid_email");
    assert!(
        e.message().contains("\u{201c}not-an-address\u{201d}"),
        "{}",
        e.message()
    );
}

// ---------------------------------------------------------------------------------------------
// McpId and PartnerId
// ---------------------------------------------------------------------------------------------

#[rstest]
#[case("1234", Ok("1234"))]
#[case("1234567", Ok("1234567"))]
#[case("123456789012", Ok("123456789012"))]
#[case("0001", Ok("0001"))]
#[case("  1234567  ", Ok("1234567"))]
#[case("", Err("invalid_mcp_id"))]
#[case("123", Err("invalid_mcp_id"))]
#[case("1234567890123", Err("invalid_mcp_id"))]
#[case("12a4", Err("invalid_mcp_id"))]
#[case("12 34", Err("invalid_mcp_id"))]
#[case("-1234", Err("invalid_mcp_id"))]
#[case("+1234", Err("invalid_mcp_id"))]
#[case("1234.0", Err("invalid_mcp_id"))]
#[case("１２３４", Err("invalid_mcp_id"))] // full-width digits
#[case("١٢٣٤", Err("invalid_mcp_id"))] // Arabic-Indic digits
#[case("12\u{200B}34", Err("invalid_mcp_id"))]
fn mcp_id_is_4_to_12_digits(#[case] input: &str, #[case] expected: Result<&str, &str>) {
    check(input, McpId::parse(input), expected, |v| {
        v.as_str().to_owned()
    });
}

#[rstest]
#[case("4512", Ok("4512"))]
#[case("4512345", Ok("4512345"))]
#[case("1234567890", Ok("1234567890"))]
#[case(" 4512345 ", Ok("4512345"))]
#[case("", Err("invalid_partner_id"))]
#[case("451", Err("invalid_partner_id"))]
#[case("12345678901", Err("invalid_partner_id"))]
#[case("45l2345", Err("invalid_partner_id"))]
#[case("4512 345", Err("invalid_partner_id"))]
#[case("４５１２", Err("invalid_partner_id"))]
fn partner_id_is_4_to_10_digits(#[case] input: &str, #[case] expected: Result<&str, &str>) {
    check(input, PartnerId::parse(input), expected, |v| {
        v.as_str().to_owned()
    });
}

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

#[rstest]
#[case("Alice", Ok("Alice"))]
#[case("  Alice  ", Ok("Alice"))]
#[case("Zoë", Ok("Zoë"))]
#[case("O'Brien-Smith", Ok("O'Brien-Smith"))]
#[case("Mary Jane", Ok("Mary Jane"))]
#[case("李", Ok("李"))]
#[case("A", Ok("A"))]
#[case("R2", Ok("R2"))]
#[case("", Err("invalid_name"))]
#[case("   ", Err("invalid_name"))]
#[case("1234", Err("invalid_name"))]
#[case("---", Err("invalid_name"))]
#[case("Ali\u{200B}ce", Err("invalid_name"))]
#[case("Alice\nBob", Err("invalid_name"))]
#[case("\u{202E}ecilA", Err("invalid_name"))]
#[case("Alice\u{FEFF}", Err("invalid_name"))]
#[case("<b>Eve</b> & \"Sons\"", Ok("<b>Eve</b> & \"Sons\""))] // markup is text, kept as typed
#[case("\u{2067}Eve\u{2069}", Err("invalid_name"))] // right-to-left isolate
#[case("Eve\u{200E}", Err("invalid_name"))] // left-to-right mark
#[case("Eve\u{2028}Bob", Err("invalid_name"))] // line separator
#[case("Eve\u{0085}Bob", Err("invalid_name"))] // next line (C1 control)
#[case("Eve\u{E0041}", Err("invalid_name"))] // tag character
#[case("Con\u{200C}toso", Err("invalid_name"))] // zero-width non-joiner between Latin letters
#[case("\u{200D}Eve", Err("invalid_name"))] // zero-width joiner with nothing to join
#[case("محمدی\u{200C}نژاد", Ok("محمدی\u{200C}نژاد"))] // Persian: the non-joiner is spelling
#[case("क्\u{200D}ष", Ok("क्\u{200D}ष"))] // Devanagari: a joiner after the virama
#[case("محمدی\u{200C}", Err("invalid_name"))] // a non-joiner at the end joins nothing
fn person_name_has_a_letter_and_no_invisible_characters(
    #[case] input: &str,
    #[case] expected: Result<&str, &str>,
) {
    check(input, PersonName::parse(input), expected, |v| {
        v.as_str().to_owned()
    });
}

#[rstest]
#[case(1, true)]
#[case(100, true)]
#[case(101, false)]
fn person_name_is_at_most_100_characters_not_octets(#[case] len: usize, #[case] ok: bool) {
    // Two-octet characters: the limit counts characters.
    let input = label('é', len);
    let expected = if ok {
        Ok(input.as_str())
    } else {
        Err("invalid_name")
    };
    check(&input, PersonName::parse(&input), expected, |v| {
        v.as_str().to_owned()
    });
}

#[rstest]
#[case("Contoso Pty Ltd", Ok("Contoso Pty Ltd"))]
#[case("  Contoso  ", Ok("Contoso"))]
#[case("3M", Ok("3M"))]
#[case("123", Ok("123"))]
#[case("Müller & Söhne GmbH", Ok("Müller & Söhne GmbH"))]
#[case("", Err("invalid_organisation_name"))]
#[case("   ", Err("invalid_organisation_name"))]
#[case("!!!", Err("invalid_organisation_name"))]
#[case("Con\u{200B}toso", Err("invalid_organisation_name"))]
#[case("Contoso\tLtd", Err("invalid_organisation_name"))]
fn organisation_name_has_a_letter_or_digit(
    #[case] input: &str,
    #[case] expected: Result<&str, &str>,
) {
    check(input, OrganisationName::parse(input), expected, |v| {
        v.as_str().to_owned()
    });
}

#[rstest]
#[case(200, true)]
#[case(201, false)]
fn organisation_name_is_at_most_200_characters(#[case] len: usize, #[case] ok: bool) {
    let input = label('ö', len);
    let expected = if ok {
        Ok(input.as_str())
    } else {
        Err("invalid_organisation_name")
    };
    check(&input, OrganisationName::parse(&input), expected, |v| {
        v.as_str().to_owned()
    });
}

// ---------------------------------------------------------------------------------------------
// Phone
// ---------------------------------------------------------------------------------------------

#[rstest]
#[case("13 20 58", Ok("13 20 58"))]
#[case("+61 2 9876 5432", Ok("+61 2 9876 5432"))]
#[case("  +61 2 9876 5432  ", Ok("+61 2 9876 5432"))]
#[case("(02) 9876-5432", Ok("(02) 9876-5432"))]
#[case("02.9876.5432", Ok("02.9876.5432"))]
#[case("000", Ok("000"))]
#[case("12345678901234567890", Ok("12345678901234567890"))] // 20 digits
#[case("", Err("invalid_phone"))]
#[case("12", Err("invalid_phone"))]
#[case("+", Err("invalid_phone"))]
#[case("1+2", Err("invalid_phone"))]
#[case("61 2+", Err("invalid_phone"))]
#[case("++61 2 9876 5432", Err("invalid_phone"))]
#[case("+61 +2 9876", Err("invalid_phone"))]
#[case("123456789012345678901", Err("invalid_phone"))] // 21 digits
#[case("call me", Err("invalid_phone"))]
#[case("0400 ABC 123", Err("invalid_phone"))]
#[case("1300 FLOWERS", Err("invalid_phone"))]
#[case("13 20 58, options 2,5,1", Err("invalid_phone"))]
#[case("02 9876 5432 ext 12", Err("invalid_phone"))]
#[case("02/9876/5432", Err("invalid_phone"))]
#[case("02\u{200B}98765432", Err("invalid_phone"))]
#[case("٠٢ ٩٨٧٦ ٥٤٣٢", Err("invalid_phone"))] // Arabic-Indic digits
fn phone_is_digits_with_separators(#[case] input: &str, #[case] expected: Result<&str, &str>) {
    check(input, Phone::parse(input), expected, |v| {
        v.as_str().to_owned()
    });
}

#[rstest]
#[case(40, true)]
#[case(41, false)]
fn phone_text_is_at_most_40_characters(#[case] len: usize, #[case] ok: bool) {
    // Ten digits padded with spaces to the length under test.
    let input = format!("0{}123456789", " ".repeat(len - 10));
    assert_eq!(input.chars().count(), len);
    let expected = if ok {
        Ok(input.as_str())
    } else {
        Err("invalid_phone")
    };
    check(&input, Phone::parse(&input), expected, |v| {
        v.as_str().to_owned()
    });
}

// ---------------------------------------------------------------------------------------------
// City, Country, JobTitle
// ---------------------------------------------------------------------------------------------

fn parse_plain(kind: &str, input: &str) -> Result<String, ValidationError> {
    match kind {
        "city" => City::parse(input).map(|v| v.as_str().to_owned()),
        "country" => Country::parse(input).map(|v| v.as_str().to_owned()),
        "job_title" => JobTitle::parse(input).map(|v| v.as_str().to_owned()),
        _ => unreachable!("{kind}"),
    }
}

#[rstest]
fn plain_text_is_trimmed_and_1_to_100_characters(
    #[values("city", "country", "job_title")] kind: &str,
    #[values(
        ("Sydney", Some("Sydney")),
        ("  São Paulo  ", Some("São Paulo")),
        ("Partner Technical Consultant (M365)", Some("Partner Technical Consultant (M365)")),
        ("42", Some("42")),
        ("", None),
        ("   ", None),
        ("Syd\u{200B}ney", None),
        ("Syd\nney", None),
        ("\u{202E}yendyS", None),
    )]
    case: (&str, Option<&str>),
) {
    let (input, want) = case;
    let code = format!("invalid_{kind}");
    let expected = want.ok_or(code.as_str());
    check(input, parse_plain(kind, input), expected, String::clone);
}

#[rstest]
fn plain_text_is_at_most_100_characters(
    #[values("city", "country", "job_title")] kind: &str,
    #[values((100, true), (101, false))] case: (usize, bool),
) {
    let (len, ok) = case;
    let input = label('ü', len);
    let code = format!("invalid_{kind}");
    let expected = if ok {
        Ok(input.as_str())
    } else {
        Err(code.as_str())
    };
    check(&input, parse_plain(kind, &input), expected, String::clone);
}

// ---------------------------------------------------------------------------------------------
// Language
// ---------------------------------------------------------------------------------------------

#[rstest]
#[case("en", Ok("en"))]
#[case("fil", Ok("fil"))]
#[case("en-AU", Ok("en-AU"))]
#[case(" en-AU ", Ok("en-AU"))]
#[case("zh-Hant-TW", Ok("zh-Hant-TW"))]
#[case("sr-Latn-RS", Ok("sr-Latn-RS"))]
#[case("de-CH-1996", Ok("de-CH-1996"))]
#[case("es-419", Ok("es-419"))]
#[case("", Err("invalid_language"))]
#[case("e", Err("invalid_language"))]
#[case("english", Err("invalid_language"))]
#[case("english!", Err("invalid_language"))]
#[case("12", Err("invalid_language"))]
#[case("en-", Err("invalid_language"))]
#[case("-en", Err("invalid_language"))]
#[case("en--AU", Err("invalid_language"))]
#[case("en_AU", Err("invalid_language"))]
#[case("en AU", Err("invalid_language"))]
#[case("en-abcdefgh", Ok("en-abcdefgh"))] // 8-character subtag
#[case("en-abcdefghi", Err("invalid_language"))] // 9-character subtag
#[case("en-a1b2c3d4e", Err("invalid_language"))]
#[case("ën", Err("invalid_language"))]
#[case("en-AU\u{200B}", Err("invalid_language"))]
fn language_is_a_bcp47_like_tag(#[case] input: &str, #[case] expected: Result<&str, &str>) {
    check(input, Language::parse(input), expected, |v| {
        v.as_str().to_owned()
    });
}

#[rstest]
#[case(35, true)]
#[case(36, false)]
fn language_tag_is_at_most_35_characters(#[case] len: usize, #[case] ok: bool) {
    // "en" followed by "-xxxxxxx" subtags, trimmed to the length under test.
    let mut tag = String::from("en");
    while tag.len() < len {
        let room = len - tag.len() - 1;
        tag.push('-');
        tag.push_str(&label('x', room.clamp(1, 8)));
    }
    assert_eq!(tag.len(), len, "{tag}");
    let expected = if ok {
        Ok(tag.as_str())
    } else {
        Err("invalid_language")
    };
    check(&tag, Language::parse(&tag), expected, |v| {
        v.as_str().to_owned()
    });
}

// ---------------------------------------------------------------------------------------------
// Password
// ---------------------------------------------------------------------------------------------

#[rstest]
#[case("", false)]
#[case("123456789", false)] // 9 characters
#[case("ééééééééé", false)] // 9 characters, 18 octets
#[case("1234567890", true)] // 10 characters
#[case("éééééééééé", true)]
#[case("correct horse battery staple", true)]
#[case("          ", true)] // ten spaces: length is the only rule
fn password_is_at_least_10_characters(#[case] input: &str, #[case] ok: bool) {
    let got = Password::parse(&Secret::new(input));
    if ok {
        assert_eq!(got.expect("accepted").secret().expose(), input);
    } else {
        refused(input, got, "weak_password");
    }
}

#[rstest]
#[case(1024, true)]
#[case(1025, false)]
fn password_is_at_most_1024_characters(#[case] len: usize, #[case] ok: bool) {
    let input = label('p', len);
    let got = Password::parse(&Secret::new(input.as_str()));
    if ok {
        assert!(got.is_ok());
    } else {
        refused("long password", got, "weak_password");
    }
}

#[test]
fn password_debug_never_shows_the_password() {
    let text = "hunter2-very-secret";
    let pw = Password::parse(&Secret::new(text)).unwrap();
    for shown in [
        format!("{pw:?}"),
        format!("{pw:#?}"),
        format!("{:?}", Some(&pw)),
        format!("{:?}", pw.secret()),
    ] {
        assert!(!shown.contains(text), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
    let e = Password::parse(&Secret::new("hunter2")).unwrap_err();
    assert!(!e.to_string().contains("hunter2"));
    assert!(!format!("{e:?}").contains("hunter2"));
}

// ---------------------------------------------------------------------------------------------
// Privilege
// ---------------------------------------------------------------------------------------------

#[rstest]
#[case("global_admin", Ok("global_admin"))]
#[case("action_pack", Ok("action_pack"))]
#[case("competency_benefits", Ok("competency_benefits"))]
#[case(" action_pack ", Err("invalid_privilege"))] // exact: the API document states three spellings
#[case("", Err("invalid_privilege"))]
#[case("Global_Admin", Err("invalid_privilege"))]
#[case("GLOBAL_ADMIN", Err("invalid_privilege"))]
#[case("global admin", Err("invalid_privilege"))]
#[case("GlobalAdmin", Err("invalid_privilege"))]
#[case("admin", Err("invalid_privilege"))]
#[case("ppc", Err("invalid_privilege"))]
#[case("global_admin\u{200B}", Err("invalid_privilege"))]
fn privilege_parses_its_snake_case_name(#[case] input: &str, #[case] expected: Result<&str, &str>) {
    check(input, Privilege::parse(input), expected, |p| {
        p.as_str().to_owned()
    });
}

#[test]
fn privilege_round_trips_through_as_str_and_serde() {
    assert_eq!(Privilege::ALL.len(), 3);
    for p in Privilege::ALL {
        assert_eq!(Privilege::parse(p.as_str()), Ok(p));
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            format!("\"{}\"", p.as_str())
        );
        assert!(!p.title().is_empty());
        assert!(!p.benefits().is_empty());
    }
    let mut names: Vec<_> = Privilege::ALL.iter().map(|p| p.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), Privilege::ALL.len(), "names are distinct");
}

// ---------------------------------------------------------------------------------------------
// Every refusal carries a code and a message
// ---------------------------------------------------------------------------------------------

#[test]
fn every_type_refuses_with_its_own_code_and_a_message() {
    let refusals: Vec<(&str, ValidationError)> = vec![
        ("invalid_domain", DomainName::parse("x").unwrap_err()),
        ("invalid_domain", EmailDomain::parse("x").unwrap_err()),
        ("public_suffix", EmailDomain::parse("co.uk").unwrap_err()),
        (
            "freemail_domain",
            EmailDomain::parse("gmail.com").unwrap_err(),
        ),
        ("invalid_email", EmailAddress::parse("x").unwrap_err()),
        ("invalid_mcp_id", McpId::parse("x").unwrap_err()),
        ("invalid_partner_id", PartnerId::parse("x").unwrap_err()),
        ("invalid_name", PersonName::parse("").unwrap_err()),
        (
            "invalid_organisation_name",
            OrganisationName::parse("").unwrap_err(),
        ),
        ("invalid_phone", Phone::parse("x").unwrap_err()),
        ("invalid_city", City::parse("").unwrap_err()),
        ("invalid_country", Country::parse("").unwrap_err()),
        ("invalid_job_title", JobTitle::parse("").unwrap_err()),
        ("invalid_language", Language::parse("x").unwrap_err()),
        (
            "weak_password",
            Password::parse(&Secret::new("x")).unwrap_err(),
        ),
        ("invalid_privilege", Privilege::parse("x").unwrap_err()),
    ];
    for (code, e) in &refusals {
        assert_refusal(code, e, code);
        // A message is a sentence people can act on.
        assert!(e.message().ends_with('.'), "{code}: {}", e.message());
        let err: &dyn std::error::Error = e;
        assert_eq!(err.to_string(), format!("{code}: {}", e.message()));
    }
}

// ---------------------------------------------------------------------------------------------
// The free-text rule: every parser of typed text refuses the same characters, with a message
// that names the character
// ---------------------------------------------------------------------------------------------

type TextParser = fn(&str) -> Result<(), ValidationError>;

fn free_text_parsers() -> Vec<(&'static str, TextParser)> {
    vec![
        ("invalid_name", |s| PersonName::parse(s).map(drop)),
        ("invalid_organisation_name", |s| {
            OrganisationName::parse(s).map(drop)
        }),
        ("invalid_city", |s| City::parse(s).map(drop)),
        ("invalid_country", |s| Country::parse(s).map(drop)),
        ("invalid_job_title", |s| JobTitle::parse(s).map(drop)),
        ("invalid_address", |s| StreetAddress::parse(s).map(drop)),
        ("invalid_website", |s| Website::parse(s).map(drop)),
    ]
}

/// Characters the rule refuses wherever they stand: controls, bidi embeddings, overrides,
/// isolates and marks, zero-width and other invisible characters, line separators, tags.
fn refused_char() -> impl Strategy<Value = char> {
    prop_oneof![
        (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap()),
        (0x7Fu32..0xA0).prop_map(|c| char::from_u32(c).unwrap()),
        (0x202Au32..=0x202E).prop_map(|c| char::from_u32(c).unwrap()),
        (0x2066u32..=0x2069).prop_map(|c| char::from_u32(c).unwrap()),
        prop::sample::select(vec![
            '\u{00AD}',
            '\u{061C}',
            '\u{180E}',
            '\u{200B}',
            '\u{200E}',
            '\u{200F}',
            '\u{2028}',
            '\u{2029}',
            '\u{2060}',
            '\u{2061}',
            '\u{FEFF}',
            '\u{FFF9}',
            '\u{E0001}',
            '\u{E0041}',
        ]),
    ]
}

proptest! {
    #[test]
    fn typed_text_with_a_refused_character_is_refused_by_every_parser_and_named(
        before in "[A-Za-z]{1,20}",
        bad in refused_char(),
        after in "[A-Za-z]{1,20}",
    ) {
        let input = format!("{before}{bad}{after}");
        for (code, parse) in free_text_parsers() {
            let e = parse(&input).expect_err("refused");
            prop_assert_eq!(e.code(), code);
            let named = format!("U+{:04X}", bad as u32);
            prop_assert!(e.message().contains(&named), "{}: {}", code, e.message());
        }
    }

    #[test]
    fn markup_and_punctuation_are_ordinary_text_to_every_parser(
        text in "[A-Za-z][A-Za-z <>&\"'/=;#]{0,60}",
    ) {
        for (code, parse) in free_text_parsers() {
            prop_assert!(parse(&text).is_ok(), "{} refused {:?}", code, text);
        }
    }
}
