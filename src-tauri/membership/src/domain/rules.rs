//! What each kind of typed text accepts, stated once. The parsers of this module check a
//! [`TextRule`]; with the `openapi` feature, [`schema`] states the same rule as JSON Schema (a
//! length and a pattern built from the very predicates the parsers call), so the API document and
//! the validators cannot drift.
use super::{hidden_in_text, hidden_text_message, ValidationError};

/// What the trimmed text must hold besides being free of hidden characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Something other than white space.
    Content,
    /// At least one letter (`char::is_alphabetic`).
    Letter,
    /// At least one letter or digit (`char::is_alphanumeric`).
    LetterOrDigit,
    /// Nothing: empty (or only space) is taken, as "none".
    Nothing,
}

impl Needs {
    fn holds(self, c: char) -> bool {
        match self {
            Needs::Content => !c.is_whitespace(),
            Needs::Letter => c.is_alphabetic(),
            Needs::LetterOrDigit => c.is_alphanumeric(),
            Needs::Nothing => true,
        }
    }
}

/// Free text people type: at most `max_chars` characters as sent (white space around it
/// included; it is trimmed before it is kept), no control, invisible or text-direction character
/// inside it, and something it [`Needs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextRule {
    pub max_chars: usize,
    pub needs: Needs,
}

/// The reason a PPC gives when denying a request (the requester reads it).
pub const REASON: TextRule = TextRule::new(500, Needs::Content);
/// The note a member may add to a privilege request; empty means none.
pub const NOTE: TextRule = TextRule::new(500, Needs::Nothing);

impl TextRule {
    pub const fn new(max_chars: usize, needs: Needs) -> Self {
        Self { max_chars, needs }
    }

    /// The trimmed text when it meets the rule; `None` when it is empty, too long or lacks what
    /// it needs; an error under `code` naming the character when it holds a hidden one (`what`
    /// is "A name", "The reason", …).
    pub fn clean(
        &self,
        input: &str,
        code: &'static str,
        what: &str,
    ) -> Result<Option<String>, ValidationError> {
        let t = input.trim();
        if let Some(c) = hidden_in_text(t) {
            return Err(ValidationError::new(code, hidden_text_message(what, c)));
        }
        let fits = input.chars().count() <= self.max_chars;
        let has = self.needs == Needs::Nothing || t.chars().any(|c| self.needs.holds(c));
        Ok((fits && has).then(|| t.to_owned()))
    }
}

/// The same rules as JSON Schema (OpenAPI 3.1). Patterns use only what ECMA-262 (with the `u`
/// flag), Python's `re` and Rust's `regex` read alike: character classes of `\xHH`, `\uXXXX` and,
/// above the Basic Multilingual Plane, the characters themselves.
#[cfg(feature = "openapi")]
pub mod schema {
    use std::fmt::Write as _;
    use std::sync::OnceLock;

    use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

    use super::{Needs, TextRule};

    /// Every character the parsers' `hidden` predicate refuses, as a class body. The
    /// zero-width joiners are in it: the backend takes them only between two letters of a
    /// script that needs them, which a pattern cannot say, so the document is the stricter there.
    fn hidden_body() -> &'static str {
        static BODY: OnceLock<String> = OnceLock::new();
        BODY.get_or_init(|| class_body(super::super::hidden))
    }

    fn space_body() -> &'static str {
        static BODY: OnceLock<String> = OnceLock::new();
        BODY.get_or_init(|| class_body(char::is_whitespace))
    }

    /// The letters (or letters and digits) a text must hold one of, less the hidden ones.
    fn letters_body(needs: Needs) -> &'static str {
        static LETTERS: OnceLock<String> = OnceLock::new();
        static LETTERS_OR_DIGITS: OnceLock<String> = OnceLock::new();
        let cell = if needs == Needs::LetterOrDigit {
            &LETTERS_OR_DIGITS
        } else {
            &LETTERS
        };
        cell.get_or_init(|| class_body(|c| needs.holds(c) && !super::super::hidden(c)))
    }

    /// White space the parsers trim from either end, as a class (`[…]`).
    pub fn space_class() -> String {
        format!("[{}]", space_body())
    }

    /// Any character but a hidden one, as a class (`[^…]`).
    pub fn visible_class() -> String {
        format!("[^{}]", hidden_body())
    }

    /// The pattern of a [`TextRule`]: trimmable space, visible characters around one it needs,
    /// trimmable space.
    pub fn text_pattern(rule: &TextRule) -> String {
        let space = space_class();
        let visible = visible_class();
        let needed = match rule.needs {
            Needs::Nothing => return format!("^{space}*{visible}*{space}*$"),
            // Written as what it is not (short): a generator draws from it far faster than
            // from a positive class of most of Unicode.
            Needs::Content => format!("[^{}{}]", hidden_body(), space_body()),
            needs @ (Needs::Letter | Needs::LetterOrDigit) => format!("[{}]", letters_body(needs)),
        };
        format!("^{space}*{visible}*{needed}{visible}*{space}*$")
    }

    /// A string schema for a [`TextRule`].
    pub fn text(rule: &TextRule, description: &str) -> Object {
        let needs = match rule.needs {
            Needs::Content => "something other than spaces",
            Needs::Letter => "at least one letter",
            Needs::LetterOrDigit => "at least one letter or digit",
            Needs::Nothing => "nothing else required (empty means none)",
        };
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(format!(
                "{description} At most {} characters as sent, with {needs}; spaces around it are \
                 trimmed. Control, invisible and text-direction characters are refused (a \
                 zero-width joiner only between two letters of a script that needs it, which \
                 the pattern leaves out).",
                rule.max_chars
            )))
            .min_length((rule.needs != Needs::Nothing).then_some(1))
            .max_length(Some(rule.max_chars))
            .pattern(Some(text_pattern(rule)))
            .build()
    }

    /// A string schema for a format the parser checks after trimming space: `core` is the
    /// pattern of the trimmed value, without anchors.
    pub fn trimmed_format(core: &str, max_chars: Option<usize>, description: &str) -> Object {
        let space = space_class();
        string(description, format!("^{space}*{core}{space}*$"), max_chars)
    }

    /// Any character but white space, as a class (`[^…]`): text with this somewhere is not blank.
    pub fn non_space_class() -> String {
        format!("[^{}]", space_body())
    }

    /// Empty or only space: what an optional field takes to mean "none".
    pub fn blank() -> Object {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("Empty (or only spaces): none.".to_owned()))
            .pattern(Some(format!("^{}*$", space_class())))
            .build()
    }

    /// An optional field: the value, blank, or null (both of which mean none).
    pub fn blank_or<T: utoipa::ToSchema>() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>
    {
        utoipa::openapi::schema::Schema::AnyOf(
            utoipa::openapi::schema::AnyOfBuilder::new()
                .item(utoipa::openapi::Ref::from_schema_name(T::name()))
                .item(blank())
                .item(ObjectBuilder::new().schema_type(Type::Null))
                .build(),
        )
        .into()
    }

    /// The characters for which `pred` holds, as the inside of a character class.
    pub fn class_body(pred: impl Fn(char) -> bool) -> String {
        let mut out = String::new();
        let mut start: Option<char> = None;
        let mut last = '\0';
        let flush = |out: &mut String, a: char, b: char| {
            push_escaped(out, a);
            if b != a {
                if b as u32 > a as u32 + 1 {
                    out.push('-');
                }
                push_escaped(out, b);
            }
        };
        for c in (0..=0x10FFFF_u32).filter_map(char::from_u32) {
            if pred(c) {
                match start {
                    Some(_) if c as u32 == last as u32 + 1 => {}
                    Some(a) => {
                        flush(&mut out, a, last);
                        start = Some(c);
                    }
                    None => start = Some(c),
                }
                last = c;
            }
        }
        if let Some(a) = start {
            flush(&mut out, a, last);
        }
        out
    }

    fn push_escaped(out: &mut String, c: char) {
        match c as u32 {
            n if c.is_ascii_alphanumeric() => out.push(char::from_u32(n).unwrap_or(c)),
            n if n < 0x80 => {
                let _ = write!(out, "\\x{n:02X}");
            }
            n if n <= 0xFFFF => {
                let _ = write!(out, "\\u{n:04X}");
            }
            // Above the BMP the three dialects spell escapes differently; the character itself
            // (escaped in the JSON file as a surrogate pair) reads the same in all of them.
            _ => out.push(c),
        }
    }

    /// The local part of an address: dot-atom characters (what `EmailAddress::parse` takes).
    fn local_char(c: char) -> bool {
        c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c)
    }

    /// What every address the parser takes looks like (the domain must also pass IDNA and be
    /// registrable, which no pattern can say).
    pub fn email_pattern() -> String {
        let atom = format!("[{}]+", class_body(local_char));
        let space = space_class();
        let domain = format!("[^{}{}\\x40]+", hidden_body(), space_body());
        format!("^{space}*(?:{atom}\\.)*{atom}\\x40{domain}{space}*$")
    }

    fn string(description: &str, pattern: String, max_chars: Option<usize>) -> Object {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(description.to_owned()))
            .max_length(max_chars)
            .pattern(Some(pattern))
            .build()
    }

    macro_rules! schema_of {
        ($ty:ty, $body:expr) => {
            impl utoipa::PartialSchema for $ty {
                fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                    utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Object($body))
                }
            }
            impl utoipa::ToSchema for $ty {}
        };
    }

    use crate::domain::{
        City, Country, DomainName, EmailAddress, JobTitle, Language, McpId, OrganisationName,
        PartnerId, Password, PersonName, Phone, StreetAddress, Website,
    };

    schema_of!(
        PersonName,
        text(&PersonName::RULE, "A first, last or display name.")
    );
    schema_of!(
        OrganisationName,
        text(&OrganisationName::RULE, "An organisation's name.")
    );
    schema_of!(City, text(&City::RULE, "A city."));
    schema_of!(Country, text(&Country::RULE, "A country."));
    schema_of!(JobTitle, text(&JobTitle::RULE, "A job title."));
    schema_of!(
        StreetAddress,
        text(&StreetAddress::RULE, "A street address.")
    );
    schema_of!(Website, text(&Website::RULE, "A website address."));
    schema_of!(
        Phone,
        trimmed_format(
            &format!("\\+?{sep}*(?:[0-9]{sep}*){{3,20}}", sep = "[\\x20\\x28\\x29\\x2D\\x2E]"),
            Some(Phone::RULE.max_chars),
            "A phone number: 3 to 20 digits with spaces, dots, dashes and brackets, and + only first."
        )
    );
    schema_of!(
        McpId,
        trimmed_format(
            &format!("[0-9]{{{},{}}}", McpId::DIGITS.0, McpId::DIGITS.1),
            None,
            "A Microsoft Certified Professional ID: 4 to 12 digits."
        )
    );
    schema_of!(
        PartnerId,
        trimmed_format(
            &format!("[0-9]{{{},{}}}", PartnerId::DIGITS.0, PartnerId::DIGITS.1),
            None,
            "The programme's number for an organisation: 4 to 10 digits."
        )
    );
    schema_of!(
        Language,
        trimmed_format(
            Language::PATTERN,
            Some(Language::MAX_CHARS),
            "A preferred language as a BCP 47 tag such as en, en-AU or zh-Hant-TW."
        )
    );
    schema_of!(
        Password,
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Password
            )))
            .description(Some(format!(
                "{} to {} characters.",
                Password::CHARS.0,
                Password::CHARS.1
            )))
            .min_length(Some(Password::CHARS.0))
            .max_length(Some(Password::CHARS.1))
            .build()
    );
    schema_of!(
        EmailAddress,
        string(
            "An email address such as yourname@contoso.com. Its domain must be a valid, \
             registrable DNS name (IDNA); the address in canonical form is at most 254 characters.",
            email_pattern(),
            None
        )
    );
    schema_of!(
        DomainName,
        string(
            "A domain in any spelling (Unicode or A-label, any case); it must be a valid DNS \
             name under a public suffix.",
            format!(
                "^{space}*[^{}{}]+{space}*$",
                hidden_body(),
                space_body(),
                space = space_class()
            ),
            None
        )
    );

    /// The reason a PPC gives when denying a request.
    pub struct Reason;
    schema_of!(Reason, text(&super::REASON, "Why; shown to the requester."));
    /// The note of a privilege request.
    pub struct Note;
    schema_of!(Note, text(&super::NOTE, "A note for the administrators."));

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_class_body_joins_runs_into_ranges_and_escapes_what_a_class_would_read() {
            assert_eq!(class_body(|c| c.is_ascii_digit()), "0-9");
            assert_eq!(class_body(|c| matches!(c, 'a' | 'b')), "ab");
            assert_eq!(
                class_body(|c| matches!(c, '-' | ']' | '^')),
                "\\x2D\\x5D\\x5E"
            );
            assert_eq!(class_body(|c| c == '\u{202E}'), "\\u202E");
            assert_eq!(class_body(|c| c == '\u{E0001}'), "\u{E0001}");
        }
    }
}
