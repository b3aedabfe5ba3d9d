//! The individual-profile fields, and an edit of some of them. These are the only things an
//! offline edit can hold: privileges, roles, membership status and the MCP ID have no [`Field`],
//! so no outbox row can carry them and sync can never write them (a stored row naming any other
//! key does not even parse; see `tests/sync.rs`).
use std::collections::BTreeMap;

use membership::domain::{JobTitle, Language, PersonName, Phone};
use membership::{Profile, ProfilePatch};
use serde::{Deserialize, Serialize};

use crate::Error;

/// One field of the individual profile the member edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    FirstName,
    LastName,
    JobTitle,
    Phone,
    PreferredLanguage,
}

impl Field {
    pub const ALL: [Field; 5] = [
        Field::FirstName,
        Field::LastName,
        Field::JobTitle,
        Field::Phone,
        Field::PreferredLanguage,
    ];

    /// The API's name of the field (`first_name`, …), as in [`ProfilePatch`].
    pub fn name(self) -> &'static str {
        match self {
            Field::FirstName => "first_name",
            Field::LastName => "last_name",
            Field::JobTitle => "job_title",
            Field::Phone => "phone",
            Field::PreferredLanguage => "preferred_language",
        }
    }

    /// The field's label for people.
    pub fn label(self) -> &'static str {
        match self {
            Field::FirstName => "First name",
            Field::LastName => "Last name",
            Field::JobTitle => "Job title",
            Field::Phone => "Phone",
            Field::PreferredLanguage => "Preferred language",
        }
    }

    /// The field's value in `profile`; an empty optional field is `""`.
    pub fn of(self, profile: &Profile) -> &str {
        match self {
            Field::FirstName => &profile.first_name,
            Field::LastName => &profile.last_name,
            Field::JobTitle => profile.job_title.as_deref().unwrap_or(""),
            Field::Phone => profile.phone.as_deref().unwrap_or(""),
            Field::PreferredLanguage => profile.preferred_language.as_deref().unwrap_or(""),
        }
    }

    /// Sets the field in `profile` (`""` clears an optional one).
    pub fn set_in(self, profile: &mut Profile, value: &str) {
        let optional = || (!value.is_empty()).then(|| value.to_owned());
        match self {
            Field::FirstName => profile.first_name = value.to_owned(),
            Field::LastName => profile.last_name = value.to_owned(),
            Field::JobTitle => profile.job_title = optional(),
            Field::Phone => profile.phone = optional(),
            Field::PreferredLanguage => profile.preferred_language = optional(),
        }
    }

    /// The value as the server will store it (trimmed), or why the server would refuse it. The
    /// membership crate's own parsers, so an edit made offline is checked at once, not hours
    /// later when it syncs.
    pub fn normalise(self, raw: &str) -> Result<String, Error> {
        let invalid = |e: membership::domain::ValidationError| Error::Invalid {
            field: self,
            code: e.code(),
            message: e.message().to_owned(),
        };
        let trimmed = raw.trim();
        let optional = |parse: fn(&str) -> Result<String, membership::domain::ValidationError>| {
            if trimmed.is_empty() {
                Ok(String::new())
            } else {
                parse(trimmed).map_err(invalid)
            }
        };
        match self {
            Field::FirstName | Field::LastName => PersonName::parse(trimmed)
                .map(|v| v.as_str().to_owned())
                .map_err(invalid),
            Field::JobTitle => optional(|v| JobTitle::parse(v).map(|v| v.as_str().to_owned())),
            Field::Phone => optional(|v| Phone::parse(v).map(|v| v.as_str().to_owned())),
            Field::PreferredLanguage => {
                optional(|v| Language::parse(v).map(|v| v.as_str().to_owned()))
            }
        }
    }
}

/// New values for some individual-profile fields; `""` clears an optional field. Built only
/// through [`ProfileEdit::set`] (or from a [`ProfilePatch`]), so every value is one the server
/// accepts, in the form it stores.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProfileEdit(BTreeMap<Field, String>);

impl ProfileEdit {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `field` to `value`, checked and trimmed as the server would.
    pub fn set(&mut self, field: Field, value: &str) -> Result<&mut Self, Error> {
        let value = field.normalise(value)?;
        self.0.insert(field, value);
        Ok(self)
    }

    /// [`ProfileEdit::set`] for building in one expression.
    pub fn with(mut self, field: Field, value: &str) -> Result<Self, Error> {
        self.set(field, value)?;
        Ok(self)
    }

    pub fn get(&self, field: Field) -> Option<&str> {
        self.0.get(&field).map(String::as_str)
    }

    /// The edited fields and their values, in [`Field::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Field, &str)> {
        self.0.iter().map(|(f, v)| (*f, v.as_str()))
    }

    pub fn fields(&self) -> impl Iterator<Item = Field> + '_ {
        self.0.keys().copied()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Without the fields whose value already is `profile`'s.
    pub(crate) fn changes_to(&self, profile: &Profile) -> ProfileEdit {
        Self(
            self.0
                .iter()
                .filter(|(f, v)| f.of(profile) != v.as_str())
                .map(|(f, v)| (*f, v.clone()))
                .collect(),
        )
    }

    /// `profile`'s values of the fields this edit changes.
    pub(crate) fn values_in(&self, profile: &Profile) -> ProfileEdit {
        Self(
            self.0
                .keys()
                .map(|f| (*f, f.of(profile).to_owned()))
                .collect(),
        )
    }

    /// Only from values already checked (the merge moves them between edits).
    pub(crate) fn insert_checked(&mut self, field: Field, value: String) {
        self.0.insert(field, value);
    }

    pub(crate) fn remove(&mut self, field: Field) {
        self.0.remove(&field);
    }

    /// `profile` with this edit applied.
    pub fn apply_to(&self, profile: &mut Profile) {
        for (f, v) in &self.0 {
            f.set_in(profile, v);
        }
    }

    /// The edit as the backend's patch: the edited fields, nothing else.
    pub fn to_patch(&self) -> ProfilePatch {
        let get = |f: Field| self.get(f).map(str::to_owned);
        ProfilePatch {
            first_name: get(Field::FirstName),
            last_name: get(Field::LastName),
            job_title: get(Field::JobTitle),
            phone: get(Field::Phone),
            preferred_language: get(Field::PreferredLanguage),
        }
    }

    /// The edit as text a person can copy ("Job title: Engineer", one field a line).
    pub fn to_text(&self) -> String {
        self.iter()
            .map(|(f, v)| format!("{}: {v}", f.label()))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl TryFrom<&ProfilePatch> for ProfileEdit {
    type Error = Error;

    fn try_from(patch: &ProfilePatch) -> Result<Self, Error> {
        let mut edit = ProfileEdit::new();
        for (field, value) in [
            (Field::FirstName, &patch.first_name),
            (Field::LastName, &patch.last_name),
            (Field::JobTitle, &patch.job_title),
            (Field::Phone, &patch.phone),
            (Field::PreferredLanguage, &patch.preferred_language),
        ] {
            if let Some(v) = value {
                edit.set(field, v)?;
            }
        }
        Ok(edit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_and_trimmed_as_the_server_stores_them() {
        assert_eq!(Field::FirstName.normalise("  Ana ").unwrap(), "Ana");
        assert_eq!(Field::JobTitle.normalise("   ").unwrap(), "", "clears");
        assert_eq!(
            Field::Phone.normalise("+61 2 9876 5432").unwrap(),
            "+61 2 9876 5432"
        );
        for (field, bad, code) in [
            (Field::FirstName, "", "invalid_name"),
            (Field::LastName, "123", "invalid_name"),
            (Field::Phone, "call me", "invalid_phone"),
            (
                Field::PreferredLanguage,
                "english please",
                "invalid_language",
            ),
        ] {
            match field.normalise(bad) {
                Err(Error::Invalid {
                    field: f, code: c, ..
                }) => {
                    assert_eq!((f, c), (field, code), "{bad:?}")
                }
                other => panic!("{bad:?} was accepted: {other:?}"),
            }
        }
    }

    #[test]
    fn the_fields_are_exactly_the_patchable_ones_of_the_api() {
        let full = ProfilePatch {
            first_name: Some("a".into()),
            last_name: Some("b".into()),
            job_title: Some("c".into()),
            phone: Some("123".into()),
            preferred_language: Some("en".into()),
        };
        let wire = serde_json::to_value(&full).expect("serialises");
        let keys: Vec<&str> = wire
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        let mut ours: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
        ours.sort_unstable();
        assert_eq!(keys, ours, "a new ProfilePatch field needs a decision here");
        let edit = ProfileEdit::try_from(&full).expect("valid");
        assert_eq!(edit.to_patch(), full, "round trip");
    }

    #[test]
    fn an_edit_naming_anything_but_an_individual_field_does_not_parse() {
        for forbidden in [
            r#"{"mcp_id": "1234567"}"#,
            r#"{"privileges": ["action_pack"]}"#,
            r#"{"roles": ["ppc"]}"#,
            r#"{"status": "active"}"#,
            r#"{"job_title": "x", "privileges": []}"#,
            r#"{"revision": 3}"#,
        ] {
            assert!(
                serde_json::from_str::<ProfileEdit>(forbidden).is_err(),
                "{forbidden} parsed"
            );
        }
        let ok: ProfileEdit = serde_json::from_str(r#"{"job_title": "x"}"#).expect("parses");
        assert_eq!(ok.get(Field::JobTitle), Some("x"));
    }
}
