#![no_main]
//! Any text: the MCP ID, partner ID, name, phone, language and privilege parsers never panic, and
//! what they accept parses again to the same value.
use libfuzzer_sys::fuzz_target;
use membership::domain::{Language, McpId, OrganisationName, PartnerId, PersonName, Phone, Privilege};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(id) = McpId::parse(text) {
        assert!(id.as_str().bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(McpId::parse(id.as_str()).as_ref(), Ok(&id));
    }
    if let Ok(id) = PartnerId::parse(text) {
        assert!(id.as_str().bytes().all(|b| b.is_ascii_digit()));
    }
    if let Ok(n) = PersonName::parse(text) {
        assert_eq!(PersonName::parse(n.as_str()).as_ref(), Ok(&n));
    }
    if let Ok(n) = OrganisationName::parse(text) {
        assert_eq!(OrganisationName::parse(n.as_str()).as_ref(), Ok(&n));
    }
    if let Ok(p) = Phone::parse(text) {
        assert_eq!(Phone::parse(p.as_str()).as_ref(), Ok(&p));
    }
    let _ = Language::parse(text);
    if let Ok(p) = Privilege::parse(text) {
        assert_eq!(Privilege::parse(p.as_str()), Ok(p));
    }
});
