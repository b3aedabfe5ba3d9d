use super::rules::{Needs, TextRule};
use super::{string_newtype, ValidationError};
use crate::Secret;

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
    /// How many digits, at least and at most.
    pub const DIGITS: (usize, usize) = (4, 12);

    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        digits(input, Self::DIGITS.0, Self::DIGITS.1).map(Self).ok_or_else(|| {
            ValidationError::new("invalid_mcp_id", "An MCP ID is 4 to 12 digits with no letters or spaces, for example 1234567. Check your certification profile and try again.")
        })
    }
}

/// The programme's number for an organisation: digits only, 4 to 10 of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PartnerId(String);
string_newtype!(PartnerId);

impl PartnerId {
    /// How many digits, at least and at most.
    pub const DIGITS: (usize, usize) = (4, 10);

    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        digits(input, Self::DIGITS.0, Self::DIGITS.1)
            .map(Self)
            .ok_or_else(|| {
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
    pub const RULE: TextRule = TextRule::new(100, Needs::Letter);

    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        Self::RULE
            .clean(input, "invalid_name", "A name")?
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
    pub const RULE: TextRule = TextRule::new(200, Needs::LetterOrDigit);

    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        Self::RULE
            .clean(input, "invalid_organisation_name", "An organisation's name")?
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
    /// The text rule the number passes first (its own format is checked after).
    pub const RULE: TextRule = TextRule::new(40, Needs::Content);

    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let err = || {
            ValidationError::new(
                "invalid_phone",
                "Enter a phone number using digits, spaces, + - ( ), for example +61 2 9876 5432.",
            )
        };
        let t = Self::RULE
            .clean(input, "invalid_phone", "A phone number")?
            .ok_or_else(err)?;
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
            pub const RULE: TextRule = TextRule::new($max, Needs::Content);

            pub fn parse(input: &str) -> Result<Self, ValidationError> {
                Self::RULE
                    .clean(input, $code, $what)?
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
    /// As sent, spaces around it included.
    pub const MAX_CHARS: usize = 35;
    /// The trimmed tag (unanchored): a primary language of 2 or 3 letters, then subtags of 1 to
    /// 8 letters or digits.
    pub const PATTERN: &'static str = "[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*";

    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let t = input.trim();
        let mut parts = t.split('-');
        let primary_ok = parts.next().is_some_and(|p| {
            (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic())
        });
        let rest_ok = parts
            .all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
        if primary_ok && rest_ok && input.chars().count() <= Self::MAX_CHARS {
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
    /// How many characters, at least and at most (not trimmed: every character counts).
    pub const CHARS: (usize, usize) = (10, 1024);

    pub fn parse(input: &Secret) -> Result<Self, ValidationError> {
        let n = input.expose().chars().count();
        if (Self::CHARS.0..=Self::CHARS.1).contains(&n) {
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
