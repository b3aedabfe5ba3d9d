use super::{hidden_in_text, hidden_text_message, string_newtype, ValidationError};
use crate::Secret;

/// Trims, then refuses empty or over-long text (`None`) and text with a control, invisible or
/// text-direction character (an error that names it, under `code`).
fn clean_text(
    input: &str,
    max_chars: usize,
    code: &'static str,
    what: &str,
) -> Result<Option<String>, ValidationError> {
    let t = input.trim();
    if let Some(c) = hidden_in_text(t) {
        return Err(ValidationError::new(code, hidden_text_message(what, c)));
    }
    let n = t.chars().count();
    Ok((n != 0 && n <= max_chars).then(|| t.to_owned()))
}

fn digits(input: &str, min: usize, max: usize) -> Option<String> {
    let t = input.trim();
    (t.len() >= min && t.len() <= max && t.bytes().all(|b| b.is_ascii_digit()))
        .then(|| t.to_owned())
}

/// A Microsoft Certified Professional ID: digits only, 4 to 12 of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct McpId(String);
string_newtype!(McpId);

impl McpId {
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        digits(input, 4, 12).map(Self).ok_or_else(|| {
            ValidationError::new("invalid_mcp_id", "An MCP ID is 4 to 12 digits with no letters or spaces, for example 1234567. Check your certification profile and try again.")
        })
    }
}

/// The programme's number for an organisation: digits only, 4 to 10 of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PartnerId(String);
string_newtype!(PartnerId);

impl PartnerId {
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        digits(input, 4, 10).map(Self).ok_or_else(|| {
            ValidationError::new(
                "invalid_partner_id",
                "A partner ID is 4 to 10 digits, for example 4512345.",
            )
        })
    }
}

/// A first, last or display name: 1 to 100 characters with at least one letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PersonName(String);
string_newtype!(PersonName);

impl PersonName {
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        clean_text(input, 100, "invalid_name", "A name")?
            .filter(|s| s.chars().any(char::is_alphabetic))
            .map(Self)
            .ok_or_else(|| {
                ValidationError::new(
                    "invalid_name",
                    "Enter a name of 1 to 100 characters, with at least one letter.",
                )
            })
    }
}

/// An organisation's name: 1 to 200 characters with at least one letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrganisationName(String);
string_newtype!(OrganisationName);

impl OrganisationName {
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        clean_text(
            input,
            200,
            "invalid_organisation_name",
            "An organisation's name",
        )?
        .filter(|s| s.chars().any(char::is_alphanumeric))
        .map(Self)
        .ok_or_else(|| {
            ValidationError::new(
                "invalid_organisation_name",
                "Enter the organisation's name: 1 to 200 characters.",
            )
        })
    }
}

/// A phone number as people write it: digits with optional +, spaces, dashes, dots and brackets;
/// 3 to 20 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);
string_newtype!(Phone);

impl Phone {
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let err = || {
            ValidationError::new(
                "invalid_phone",
                "Enter a phone number using digits, spaces, + - ( ), for example +61 2 9876 5432.",
            )
        };
        let t = clean_text(input, 40, "invalid_phone", "A phone number")?.ok_or_else(err)?;
        let digits = t.bytes().filter(u8::is_ascii_digit).count();
        let allowed = t
            .bytes()
            .all(|b| b.is_ascii_digit() || b" +-().".contains(&b));
        let plus_ok = t
            .find('+')
            .is_none_or(|i| i == 0 && t.matches('+').count() == 1);
        if allowed && plus_ok && (3..=20).contains(&digits) {
            Ok(Self(t))
        } else {
            Err(err())
        }
    }
}

macro_rules! plain_text {
    ($name:ident, $max:expr, $code:literal, $what:literal, $msg:literal) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);
        string_newtype!($name);

        impl $name {
            pub fn parse(input: &str) -> Result<Self, ValidationError> {
                clean_text(input, $max, $code, $what)?
                    .map(Self)
                    .ok_or_else(|| ValidationError::new($code, $msg))
            }
        }
    };
}

plain_text!(
    City,
    100,
    "invalid_city",
    "A city",
    "Enter a city of 1 to 100 characters."
);
plain_text!(
    Country,
    100,
    "invalid_country",
    "A country",
    "Enter a country of 1 to 100 characters."
);
plain_text!(
    JobTitle,
    100,
    "invalid_job_title",
    "A job title",
    "Enter a job title of 1 to 100 characters, or leave it empty."
);

/// A preferred language as a BCP 47 tag such as `en`, `en-AU` or `zh-Hant-TW`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Language(String);
string_newtype!(Language);

impl Language {
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let t = input.trim();
        let mut parts = t.split('-');
        let primary_ok = parts.next().is_some_and(|p| {
            (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic())
        });
        let rest_ok = parts
            .all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
        if primary_ok && rest_ok && t.len() <= 35 {
            Ok(Self(t.to_owned()))
        } else {
            Err(ValidationError::new(
                "invalid_language",
                "Choose a language such as en, en-AU or fr.",
            ))
        }
    }
}

/// A new password: 10 to 1024 characters. Kept in a [`Secret`] so it never prints.
#[derive(Debug, Clone)]
pub struct Password(Secret);

impl Password {
    pub fn parse(input: &Secret) -> Result<Self, ValidationError> {
        let n = input.expose().chars().count();
        if (10..=1024).contains(&n) {
            Ok(Self(input.clone()))
        } else {
            Err(ValidationError::new(
                "weak_password",
                "Choose a password of at least 10 characters; a short phrase is easy to remember.",
            ))
        }
    }

    pub fn secret(&self) -> &Secret {
        &self.0
    }
}

plain_text!(
    StreetAddress,
    200,
    "invalid_address",
    "An address",
    "Enter an address of up to 200 characters."
);
plain_text!(
    Website,
    200,
    "invalid_website",
    "A website address",
    "Enter a website address of up to 200 characters, for example https://contoso.com."
);
