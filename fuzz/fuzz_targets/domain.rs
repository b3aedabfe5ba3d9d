#![no_main]
//! Any text: domain parsing never panics; accepted domains are canonical, idempotent, and match
//! only on label boundaries.
use libfuzzer_sys::fuzz_target;
use membership::domain::{DomainName, EmailDomain};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (rule, address) = text.split_once('\n').unwrap_or((text, ""));
    if let Ok(d) = DomainName::parse(rule) {
        let s = d.as_str();
        assert!(s.len() <= 253 && s.split('.').all(|l| !l.is_empty() && l.len() <= 63));
        assert!(s.is_ascii() && s == s.to_ascii_lowercase() && !s.ends_with('.'));
        assert_eq!(DomainName::parse(s).as_ref(), Ok(&d));
    }
    if let (Ok(rule), Ok(addr)) = (EmailDomain::parse(rule), DomainName::parse(address)) {
        let r = rule.as_str();
        let a = addr.as_str();
        assert_eq!(rule.matches(&addr, false), a == r);
        assert_eq!(rule.matches(&addr, true), a == r || a.ends_with(&format!(".{r}")));
    }
});
