//! Three-way merge per field: the value the person started from (base), theirs (local) and the
//! server's now (remote). Pure functions, so every rule is tested without a server.
use membership::Profile;

use crate::fields::{Field, ProfileEdit};

/// What to do with one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldMerge {
    /// Both sides agree (neither changed it, or both changed it to the same value).
    Same,
    /// Only this side changed it: its value wins without asking.
    TakeLocal,
    TakeRemote,
    /// Both changed it, differently: the person decides.
    Conflict,
}

/// The rule itself.
pub fn merge_field(base: &str, local: &str, remote: &str) -> FieldMerge {
    if local == remote {
        FieldMerge::Same
    } else if remote == base {
        FieldMerge::TakeLocal
    } else if local == base {
        FieldMerge::TakeRemote
    } else {
        FieldMerge::Conflict
    }
}

/// A field changed on both sides, for a side-by-side resolver.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldConflict {
    pub field: Field,
    /// The value before either change.
    pub base: String,
    /// This computer's value.
    pub local: String,
    /// The server's value.
    pub remote: String,
}

/// Three whole profiles merged: the result (remote where a field conflicts) and the conflicts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileMerge {
    pub merged: Profile,
    pub conflicts: Vec<FieldConflict>,
}

/// Merges every individual field of three profiles. The revision and the MCP ID are the
/// remote's: neither is the member's to edit here.
pub fn merge_profiles(base: &Profile, local: &Profile, remote: &Profile) -> ProfileMerge {
    let mut merged = remote.clone();
    let mut conflicts = Vec::new();
    for field in Field::ALL {
        let (b, l, r) = (field.of(base), field.of(local), field.of(remote));
        match merge_field(b, l, r) {
            FieldMerge::Same | FieldMerge::TakeRemote => {}
            FieldMerge::TakeLocal => field.set_in(&mut merged, l),
            FieldMerge::Conflict => conflicts.push(FieldConflict {
                field,
                base: b.to_owned(),
                local: l.to_owned(),
                remote: r.to_owned(),
            }),
        }
    }
    ProfileMerge { merged, conflicts }
}

/// An outbox edit merged onto the server's profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditMerge {
    /// What still has to be sent: fields only this side changed.
    pub send: ProfileEdit,
    pub conflicts: Vec<FieldConflict>,
}

/// Merges an outbox edit (`local`, with `base`, the values its fields had when it was made) onto
/// `remote`. Fields the edit does not touch are the remote's already, so only its own fields
/// are looked at; a field the server already has at the edit's value needs nothing sent.
pub fn merge_edit(base: &ProfileEdit, local: &ProfileEdit, remote: &Profile) -> EditMerge {
    let mut send = ProfileEdit::new();
    let mut conflicts = Vec::new();
    for (field, l) in local.iter() {
        let r = field.of(remote);
        // A base missing for a field (never written so) counts as unknown: only equal values
        // avoid asking the person.
        let b = base.get(field).unwrap_or(r);
        match merge_field(b, l, r) {
            FieldMerge::Same | FieldMerge::TakeRemote => {}
            FieldMerge::TakeLocal => send.insert_checked(field, l.to_owned()),
            FieldMerge::Conflict => conflicts.push(FieldConflict {
                field,
                base: b.to_owned(),
                local: l.to_owned(),
                remote: r.to_owned(),
            }),
        }
    }
    EditMerge { send, conflicts }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn profile(first: &str, job: Option<&str>, phone: Option<&str>, revision: u64) -> Profile {
        Profile {
            first_name: first.into(),
            last_name: "Lee".into(),
            job_title: job.map(Into::into),
            phone: phone.map(Into::into),
            preferred_language: None,
            mcp_id: None,
            revision,
        }
    }

    #[test]
    fn the_rule_for_one_field() {
        use FieldMerge::*;
        for (base, local, remote, want) in [
            ("a", "a", "a", Same),
            ("a", "b", "a", TakeLocal),
            ("a", "a", "b", TakeRemote),
            ("a", "b", "b", Same),
            ("a", "b", "c", Conflict),
            ("", "b", "", TakeLocal),
            ("a", "", "a", TakeLocal),
            ("a", "", "c", Conflict),
        ] {
            assert_eq!(
                merge_field(base, local, remote),
                want,
                "{base}/{local}/{remote}"
            );
        }
    }

    #[test]
    fn changes_to_different_fields_merge_silently() {
        let base = profile("Ana", Some("Engineer"), None, 1);
        let local = profile("Ana", Some("Architect"), None, 1);
        let remote = profile("Ana", Some("Engineer"), Some("+61 2 1234 5678"), 2);
        let m = merge_profiles(&base, &local, &remote);
        assert!(m.conflicts.is_empty());
        assert_eq!(m.merged.job_title.as_deref(), Some("Architect"));
        assert_eq!(m.merged.phone.as_deref(), Some("+61 2 1234 5678"));
        assert_eq!(m.merged.revision, 2);
    }

    #[test]
    fn the_same_field_changed_differently_is_a_conflict_with_all_three_values() {
        let base = profile("Ana", Some("Engineer"), None, 1);
        let local = profile("Ana", Some("Architect"), None, 1);
        let remote = profile("Anna", Some("Manager"), None, 2);
        let m = merge_profiles(&base, &local, &remote);
        assert_eq!(
            m.conflicts,
            vec![FieldConflict {
                field: Field::JobTitle,
                base: "Engineer".into(),
                local: "Architect".into(),
                remote: "Manager".into(),
            }]
        );
        assert_eq!(m.merged.first_name, "Anna", "their one-side change is kept");
        assert_eq!(m.merged.job_title.as_deref(), Some("Manager"), "undecided");
    }

    #[test]
    fn the_same_change_on_both_sides_is_not_a_conflict() {
        let base = profile("Ana", Some("Engineer"), None, 1);
        let both = profile("Ana", Some("Architect"), None, 2);
        let m = merge_profiles(&base, &both, &both);
        assert!(m.conflicts.is_empty());
        assert_eq!(m.merged, both);
    }

    #[test]
    fn an_edit_sends_only_what_the_server_lacks() {
        let base = ProfileEdit::new()
            .with(Field::JobTitle, "Engineer")
            .and_then(|e| e.with(Field::Phone, ""))
            .and_then(|e| e.with(Field::FirstName, "Ana"))
            .unwrap();
        let local = ProfileEdit::new()
            .with(Field::JobTitle, "Architect")
            .and_then(|e| e.with(Field::Phone, "123 456"))
            .and_then(|e| e.with(Field::FirstName, "Anna"))
            .unwrap();
        // The server already has our phone, changed the first name its own way.
        let remote = profile("Annie", Some("Engineer"), Some("123 456"), 7);
        let m = merge_edit(&base, &local, &remote);
        assert_eq!(
            m.send,
            ProfileEdit::new()
                .with(Field::JobTitle, "Architect")
                .unwrap()
        );
        assert_eq!(m.conflicts.len(), 1);
        assert_eq!(m.conflicts[0].field, Field::FirstName);
        assert_eq!(
            (
                &*m.conflicts[0].base,
                &*m.conflicts[0].local,
                &*m.conflicts[0].remote
            ),
            ("Ana", "Anna", "Annie")
        );
    }

    proptest! {
        /// Whatever the values: a side that did not change a field never overrides the other,
        /// and a conflict happens exactly when both changed it to different values.
        #[test]
        fn merge_keeps_every_one_sided_change(b in "[ab]", l in "[abc]", r in "[abd]") {
            let m = merge_field(&b, &l, &r);
            let conflict = l != b && r != b && l != r;
            prop_assert_eq!(m == FieldMerge::Conflict, conflict);
            if l == b { prop_assert!(matches!(m, FieldMerge::TakeRemote | FieldMerge::Same)); }
            if r == b { prop_assert!(matches!(m, FieldMerge::TakeLocal | FieldMerge::Same)); }
        }
    }
}
