#![no_main]
//! Any text: `EmailAddress::parse` never panics, and what it accepts is canonical and stable.
use libfuzzer_sys::fuzz_target;
use membership::domain::EmailAddress;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(email) = EmailAddress::parse(text) {
        let s = email.as_str();
        assert!(s.len() <= 254 && email.local_part().len() <= 64);
        assert!(s.is_ascii() && s == s.to_ascii_lowercase(), "canonical form is lower-case ASCII: {s}");
        assert_eq!(EmailAddress::parse(s).as_ref(), Ok(&email), "parsing the canonical form gives it back");
        assert_eq!(format!("{}@{}", email.local_part(), email.domain()), s);
    }
});
