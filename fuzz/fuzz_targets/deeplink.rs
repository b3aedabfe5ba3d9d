#![no_main]
//! Any text handed over as a deep link: parsing never panics; an accepted link carries a plausible
//! token and its canonical form parses back to the same token; a refusal is one of the two codes.
use libfuzzer_sys::fuzz_target;

// The parser's own file, compiled here on its own: it needs only `membership` and `url`, while
// the client crate around it brings the whole HTTP stack into an instrumented build.
#[path = "../../src-tauri/client/src/deeplink.rs"]
#[allow(dead_code)]
mod deeplink;

use deeplink::{DeepLink, MAX_LINK_LEN, MAX_TOKEN_LEN};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match DeepLink::parse(text) {
        Ok(link) => {
            assert!(text.len() <= MAX_LINK_LEN);
            let DeepLink::Verify { token } = &link;
            let t = token.expose();
            assert!(!t.is_empty() && t.len() <= MAX_TOKEN_LEN);
            assert!(t.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'=')));
            let canonical = link.to_link();
            let DeepLink::Verify { token: again } =
                DeepLink::parse(&canonical).expect("the canonical link parses");
            assert_eq!(again.expose(), t);
            assert_eq!(format!("{link:?}"), "Verify { token: <redacted> }");
        }
        Err(refusal) => {
            assert!(matches!(refusal.code, "invalid_link" | "invalid_token"), "{}", refusal.code);
            if text.len() > MAX_LINK_LEN {
                assert_eq!(refusal.code, "invalid_link");
            }
        }
    }
});
