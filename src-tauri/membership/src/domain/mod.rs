//! Values that are valid by construction: each has private fields and one fallible `parse`.
//! A refusal carries the stable code of API.md, so nothing downstream checks them again.

mod directory;
mod email;
mod names;
mod privilege;
pub mod rules;

pub use directory::directory_words;
pub use email::{DomainName, EmailAddress, EmailDomain};
pub use names::{
    City, Country, JobTitle, Language, McpId, OrganisationName, PartnerId, Password, PersonName,
    Phone, StreetAddress, Website,
};
pub use privilege::Privilege;

use std::fmt;

/// Why a value was refused: API.md's stable code and a sentence that says what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    code: &'static str,
    message: String,
}

impl ValidationError {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ValidationError {}

/// Characters that are invisible or reorder text: refused everywhere people type identifiers,
/// because they make one string look like another.
pub(crate) fn has_invisible_or_control(s: &str) -> bool {
    s.chars().any(hidden)
}

/// Whether `c` is a control character, a format character (bidi embeddings, overrides and
/// isolates, zero-width characters, soft hyphen, tags), a line or paragraph separator, or a
/// filler that draws nothing.
fn hidden(c: char) -> bool {
    use icu_properties::props::GeneralCategory as Gc;
    c.is_control()
        || matches!(
            icu_properties::CodePointMapData::<Gc>::new().get(c),
            Gc::Format | Gc::LineSeparator | Gc::ParagraphSeparator
        )
        || matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
            | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
            | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFB}' | '\u{E0000}'..='\u{E0FFF}')
}

/// The first character of typed text (a name, a reason, a note, a title, an address) that the
/// backend refuses: every [`hidden`] character, except a zero-width non-joiner or joiner inside a
/// word of a script that needs them (Persian, Arabic, the Indic scripts: "می‌خواهم"), that is,
/// between two letters or marks of which the first is not Latin — so "Con\u{200C}toso" still
/// cannot pass for "Contoso".
pub(crate) fn hidden_in_text(s: &str) -> Option<char> {
    use icu_properties::props::{GeneralCategory as Gc, GeneralCategoryGroup, Script};
    let letter_or_mark = |c: char| {
        let gc = icu_properties::CodePointMapData::<Gc>::new().get(c);
        GeneralCategoryGroup::Letter.contains(gc) || GeneralCategoryGroup::Mark.contains(gc)
    };
    let joins = |before: Option<char>, after: Option<char>| {
        matches!((before, after), (Some(b), Some(a))
        if letter_or_mark(b)
            && letter_or_mark(a)
            && !hidden(b)
            && !hidden(a)
            && !matches!(
                icu_properties::CodePointMapData::<Script>::new().get(b),
                Script::Latin | Script::Common | Script::Inherited
            ))
    };
    // Walks the text once with the characters on either side, allocating nothing (every name
    // and reason a backend takes passes through here).
    let mut before = None;
    let mut rest = s.chars().peekable();
    while let Some(c) = rest.next() {
        let allowed = matches!(c, '\u{200C}' | '\u{200D}') && joins(before, rest.peek().copied());
        if hidden(c) && !allowed {
            return Some(c);
        }
        before = Some(c);
    }
    None
}

/// What a person is told when `what` ("A name", "The reason") held a refused character.
pub(crate) fn hidden_text_message(what: &str, c: char) -> String {
    let kind = match c {
        '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{061C}' => "a text-direction control",
        c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') => {
            "a control character or line break"
        }
        _ => "an invisible character",
    };
    format!(
        "{what} cannot contain {kind} (U+{:04X}). Type it again without it; copying text from another program sometimes brings one along.",
        c as u32
    )
}

macro_rules! string_newtype {
    ($name:ident) => {
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
pub(crate) use string_newtype;
