//! Deep links: `partnerdesk://verify?token=…`, the link in a verification mail.
//!
//! Only the parsing lives here, free of Tauri, so the fuzz target (`fuzz/fuzz_targets/deeplink.rs`)
//! can reach it; the desktop shell (`src-tauri/src/deeplink.rs`) receives links from the OS and
//! hands the outcome to the window. This file needs nothing but `membership` and `url`: the fuzz
//! target compiles it on its own, without the HTTP stack of the rest of this crate.
use membership::Secret;

/// The app's URL scheme (also in `tauri.conf.json`, `plugins.deep-link.desktop.schemes`).
pub const SCHEME: &str = "partnerdesk";
/// No real link comes near this; longer input is refused before it is parsed.
pub const MAX_LINK_LEN: usize = 1024;
/// Verification tokens are 43 characters of base64url; this leaves room, no more.
pub const MAX_TOKEN_LEN: usize = 256;

/// A link the app understands.
#[derive(Debug)]
pub enum DeepLink {
    /// Verify an Organisation Email with the token from the mail.
    Verify { token: Secret },
}

/// Why a link was refused: a stable code and a sentence for the window. It never carries any
/// part of the link, which may hold a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkRefusal {
    pub code: &'static str,
    pub message: &'static str,
}

impl std::fmt::Display for LinkRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for LinkRefusal {}

impl DeepLink {
    /// Parses a link the OS handed over. Anything but a well-formed verification link is refused
    /// with a sentence for the window.
    pub fn parse(input: &str) -> Result<Self, LinkRefusal> {
        if input.len() > MAX_LINK_LEN {
            return Err(REFUSED);
        }
        let url = url::Url::parse(input).map_err(|_| REFUSED)?;
        if url.scheme() != SCHEME
            || !url.username().is_empty()
            || url.password().is_some()
            || url.port().is_some()
            || url.fragment().is_some()
        {
            return Err(REFUSED);
        }
        let host = url.host_str().unwrap_or_default();
        if !host.eq_ignore_ascii_case("verify") || !matches!(url.path(), "" | "/") {
            return Err(REFUSED);
        }
        // Exactly one parameter, `token`: a link with anything else was not written by us.
        let mut pairs = url.query_pairs();
        let token = match (pairs.next(), pairs.next()) {
            (Some((key, value)), None) if key == "token" => value.into_owned(),
            _ => return Err(BAD_TOKEN),
        };
        let plausible = !token.is_empty()
            && token.len() <= MAX_TOKEN_LEN
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'='));
        if !plausible {
            return Err(BAD_TOKEN);
        }
        Ok(Self::Verify {
            token: Secret::new(token),
        })
    }

    /// The link in its one canonical form, for the verification screen (the `verify` command
    /// takes it as it takes a pasted link).
    pub fn to_link(&self) -> String {
        match self {
            Self::Verify { token } => format!("{SCHEME}://verify?token={}", token.expose()),
        }
    }
}

const REFUSED: LinkRefusal = LinkRefusal {
    code: "invalid_link",
    message: "Partner Desk does not know that link, so nothing was changed. Open the verification link from your email again, or paste the code from it on the Verify screen.",
};

const BAD_TOKEN: LinkRefusal = LinkRefusal {
    code: "invalid_token",
    message: "That verification link is incomplete or damaged, so nothing was changed. Copy the whole link from the email, or the code in it, and paste it on the Verify screen.",
};

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "q3Jz0_Abc-DEF1234567890abcdefghijklmnopqrst";

    #[test]
    fn verification_links_give_the_token() {
        for (link, token) in [
            (format!("partnerdesk://verify?token={TOKEN}"), TOKEN),
            (format!("partnerdesk://verify/?token={TOKEN}"), TOKEN),
            (format!("PartnerDesk://VERIFY?token={TOKEN}"), TOKEN),
            ("partnerdesk://verify?token=abc%2D_%3D".to_owned(), "abc-_="),
            ("partnerdesk://verify?token=x".to_owned(), "x"),
        ] {
            match DeepLink::parse(&link) {
                Ok(DeepLink::Verify { token: got }) => {
                    assert_eq!(got.expose(), token, "link {link:?}")
                }
                Err(e) => panic!("{link:?} was refused: {e:?}"),
            }
        }
    }

    #[test]
    fn the_canonical_link_parses_back_to_the_same_token() {
        let link = DeepLink::parse(&format!("partnerdesk://verify/?token={TOKEN}")).unwrap();
        let again = DeepLink::parse(&link.to_link()).unwrap();
        let DeepLink::Verify { token } = again;
        assert_eq!(token.expose(), TOKEN);
        assert_eq!(
            link.to_link(),
            format!("partnerdesk://verify?token={TOKEN}")
        );
    }

    #[test]
    fn other_and_malformed_links_are_refused() {
        let long_token = "a".repeat(MAX_TOKEN_LEN + 1);
        let long_link = format!("partnerdesk://verify?token={TOKEN}&{}", "x".repeat(1100));
        for (link, code) in [
            ("", "invalid_link"),
            ("partnerdesk", "invalid_link"),
            ("not a link", "invalid_link"),
            ("https://members.example/verify?token=abc", "invalid_link"),
            ("http://verify?token=abc", "invalid_link"),
            ("file:///verify?token=abc", "invalid_link"),
            ("partnerdesk:verify?token=abc", "invalid_link"),
            ("partnerdesk://login?token=abc", "invalid_link"),
            ("partnerdesk://verify/extra?token=abc", "invalid_link"),
            ("partnerdesk://verify.evil.test?token=abc", "invalid_link"),
            ("partnerdesk://user@verify?token=abc", "invalid_link"),
            ("partnerdesk://verify:1234?token=abc", "invalid_link"),
            ("partnerdesk://verify?token=abc#frag", "invalid_link"),
            ("partnerdesk://verify", "invalid_token"),
            ("partnerdesk://verify?", "invalid_token"),
            ("partnerdesk://verify?token=", "invalid_token"),
            ("partnerdesk://verify?t=abc", "invalid_token"),
            ("partnerdesk://verify?token=abc&token=def", "invalid_token"),
            ("partnerdesk://verify?token=abc&next=home", "invalid_token"),
            ("partnerdesk://verify?token=ab%20c", "invalid_token"),
            ("partnerdesk://verify?token=ab+c", "invalid_token"),
            ("partnerdesk://verify?token=ab<script>", "invalid_token"),
            (
                "partnerdesk://verify?token=%22%29%3Balert(1)",
                "invalid_token",
            ),
            ("partnerdesk://verify?token=%C3%A9t%C3%A9", "invalid_token"),
            ("partnerdesk://verify?token=%00", "invalid_token"),
        ] {
            let e = DeepLink::parse(link).expect_err(link);
            assert_eq!(e.code, code, "link {link:?}");
            assert!(e.message.contains("nothing was changed"), "link {link:?}");
        }
        let e = DeepLink::parse(&format!("partnerdesk://verify?token={long_token}")).unwrap_err();
        assert_eq!(e.code, "invalid_token");
        let e = DeepLink::parse(&long_link).unwrap_err();
        assert_eq!(
            e.code, "invalid_link",
            "over-long links are refused unparsed"
        );
    }

    #[test]
    fn refusals_never_carry_the_token() {
        let e = DeepLink::parse("partnerdesk://verify?token=secret%20value").unwrap_err();
        assert!(!format!("{e:?}{e}").contains("secret"));
        let link = DeepLink::parse("partnerdesk://verify?token=s3cret").unwrap();
        assert!(!format!("{link:?}").contains("s3cret"));
    }
}
