//! Offline → online, conflicts on both sides, ended memberships, and what sync may never write.
use std::sync::Mutex;

use client::Backend;
use membership::{PageRequest, Secret};
use offline::{Choice, Connectivity, EditState, Error, Field, Outcome, Progress, SyncedOutcome};

use crate::support::{edit, engine_for, local_store, memberships, now, quiet, Subject};

/// (a) The server goes away; edits save locally at once and the status shows offline with the
/// count; the server comes back on the same database; one sync puts every edit there, in order,
/// and empties the outbox.
#[test]
fn edits_made_while_the_server_is_down_reach_it_when_it_is_back() {
    let mut subject = Subject::remote();
    let token = subject.sign_in("ppc@fabrikam.com");
    let ms = memberships(&subject, &token);
    assert!(
        ms.len() >= 2,
        "the demo PPC has several memberships: {ms:?}"
    );
    let (first, second) = (&ms[0], &ms[1]);
    let before = subject.api().profile(&token, first).expect("profile");
    let (_dir, _path, store) = local_store();
    let engine = engine_for(&subject, &store, &token);
    assert_eq!(engine.status().unwrap().connection, Connectivity::Online);

    subject.kill();
    assert_eq!(
        engine.refresh(subject.api(), &token, now()).unwrap(),
        Outcome::Offline
    );
    let scope = engine.scope().clone();
    store
        .save_edit(
            &scope,
            first,
            &edit(&[
                (Field::JobTitle, "Flying engineer"),
                (Field::Phone, "+61 2 5550 0101"),
            ]),
            now(),
        )
        .expect("saved offline");
    // The same field again: the later value must win.
    let shown = store
        .save_edit(
            &scope,
            first,
            &edit(&[(Field::JobTitle, "Flying architect")]),
            now(),
        )
        .expect("saved offline");
    assert_eq!(shown.profile.job_title.as_deref(), Some("Flying architect"));
    assert_eq!(shown.profile.phone.as_deref(), Some("+61 2 5550 0101"));
    assert_eq!(shown.unsynced, 2);
    store
        .save_edit(
            &scope,
            second,
            &edit(&[(Field::LastName, "Offline")]),
            now(),
        )
        .expect("saved offline");

    let report = engine
        .run(subject.api(), &token, now(), &mut quiet)
        .unwrap();
    assert_eq!(report.outcome, Outcome::Offline, "{report:?}");
    let status = engine.status().unwrap();
    assert_eq!(status.connection, Connectivity::Offline);
    assert_eq!(status.unsynced, 3, "nothing lost while offline");

    subject.restart();
    let progress = Mutex::new(Vec::new());
    let report = engine
        .run(subject.api(), &token, now(), &mut |p: Progress| {
            progress.lock().unwrap().push((p.done, p.total))
        })
        .unwrap();
    assert_eq!(report.outcome, Outcome::Done, "{report:?}");
    assert_eq!(report.applied, 3);
    assert_eq!(progress.into_inner().unwrap(), vec![(1, 3), (2, 3), (3, 3)]);
    let status = engine.status().unwrap();
    assert_eq!(
        (status.connection, status.unsynced),
        (Connectivity::Online, 0)
    );

    let after = subject.api().profile(&token, first).expect("profile");
    assert_eq!(after.job_title.as_deref(), Some("Flying architect"));
    assert_eq!(after.phone.as_deref(), Some("+61 2 5550 0101"));
    assert_eq!(
        after.revision,
        before.revision + 1,
        "two saves queued on one revision go as one update"
    );
    let other = subject.api().profile(&token, second).expect("profile");
    assert_eq!(other.last_name, "Offline");
    assert_eq!(
        store.profile(&scope, first).unwrap().unwrap().profile,
        after,
        "the local copy is the server's"
    );
}

/// (a) on the embedded backend, with *Work offline* as the reason: nothing is sent while it is
/// on, everything when it is turned off.
#[test]
fn work_offline_holds_edits_until_it_is_turned_off() {
    let subject = Subject::embedded();
    let token = subject.sign_in("ppc@contoso.com");
    let m = &memberships(&subject, &token)[0];
    let (_dir, _path, store) = local_store();
    let engine = engine_for(&subject, &store, &token);
    let scope = engine.scope().clone();
    store.set_work_offline(&scope, true).unwrap();
    store
        .save_edit(
            &scope,
            m,
            &edit(&[(Field::JobTitle, "Offline by choice")]),
            now(),
        )
        .unwrap();
    let report = engine
        .run(subject.api(), &token, now(), &mut quiet)
        .unwrap();
    assert_eq!(report.outcome, Outcome::WorkingOffline);
    let status = engine.status().unwrap();
    assert_eq!(
        (status.connection, status.unsynced),
        (Connectivity::WorkingOffline, 1)
    );
    assert_eq!(subject.api().profile(&token, m).unwrap().job_title, None);

    store.set_work_offline(&scope, false).unwrap();
    let report = engine
        .run(subject.api(), &token, now(), &mut quiet)
        .unwrap();
    assert_eq!((report.outcome, report.applied), (Outcome::Done, 1));
    assert_eq!(
        subject
            .api()
            .profile(&token, m)
            .unwrap()
            .job_title
            .as_deref(),
        Some("Offline by choice")
    );
    assert_eq!(engine.status().unwrap().unsynced, 0);
}

/// (b) Someone else edits the same profile while this computer is offline.
fn conflicting_edits_merge_or_wait_for_the_person(subject: &Subject) {
    let token = subject.sign_in("ppc@contoso.com");
    let m = memberships(subject, &token)[0].clone();
    let api = subject.api();
    let (_dir, _path, store) = local_store();
    let engine = engine_for(subject, &store, &token);
    let scope = engine.scope().clone();
    let elsewhere = |fields: &[(Field, &str)]| {
        let current = api.profile(&token, &m).expect("profile");
        api.update_profile(&token, &m, current.revision, &edit(fields).to_patch())
            .expect("the other device saves")
    };
    let sync = || engine.run(api, &token, now(), &mut quiet).unwrap();

    // Different fields: merged silently.
    store
        .save_edit(&scope, &m, &edit(&[(Field::JobTitle, "Engineer")]), now())
        .unwrap();
    elsewhere(&[(Field::Phone, "+61 2 5550 0202")]);
    let report = sync();
    assert_eq!((report.applied, report.conflicts), (1, 0), "{report:?}");
    let server = api.profile(&token, &m).unwrap();
    assert_eq!(server.job_title.as_deref(), Some("Engineer"));
    assert_eq!(server.phone.as_deref(), Some("+61 2 5550 0202"));

    // The same change on both sides: not a conflict, nothing sent again.
    store
        .save_edit(
            &scope,
            &m,
            &edit(&[(Field::PreferredLanguage, "en-AU")]),
            now(),
        )
        .unwrap();
    elsewhere(&[(Field::PreferredLanguage, "en-AU")]);
    let revision = api.profile(&token, &m).unwrap().revision;
    let report = sync();
    assert_eq!(
        (report.applied, report.already_there, report.conflicts),
        (0, 1, 0)
    );
    assert_eq!(api.profile(&token, &m).unwrap().revision, revision);

    // The same field, differently: parked with all three values, nothing sent.
    let conflict = |mine: &str, theirs: &str| {
        store
            .save_edit(&scope, &m, &edit(&[(Field::JobTitle, mine)]), now())
            .unwrap();
        let before = elsewhere(&[(Field::JobTitle, theirs)]);
        let report = sync();
        assert_eq!((report.applied, report.conflicts), (0, 1), "{report:?}");
        assert_eq!(api.profile(&token, &m).unwrap(), before, "nothing was sent");
        let status = engine.status().unwrap();
        assert_eq!((status.counts.conflicts, status.unsynced), (1, 1));
        let conflicts = store.conflicts(&scope).unwrap();
        assert_eq!(conflicts.len(), 1);
        let c = &conflicts[0];
        assert_eq!(c.fields.len(), 1);
        let f = &c.fields[0];
        assert_eq!(
            (f.field, f.local.as_str(), f.remote.as_str()),
            (Field::JobTitle, mine, theirs)
        );
        assert_eq!(c.remote_revision, before.revision);
        c.edit
    };

    // Keep mine.
    let id = conflict("Architect", "Manager");
    assert!(matches!(
        store.resolve(&scope, id, &[], now()),
        Err(Error::Unresolved { .. })
    ));
    store
        .resolve(&scope, id, &[(Field::JobTitle, Choice::Local)], now())
        .unwrap();
    let report = sync();
    assert_eq!((report.applied, report.counts.unsynced()), (1, 0));
    assert_eq!(
        api.profile(&token, &m).unwrap().job_title.as_deref(),
        Some("Architect")
    );

    // Keep theirs: the edit leaves the outbox, the server is untouched.
    let id = conflict("Director", "Lead");
    let revision = api.profile(&token, &m).unwrap().revision;
    let shown = store
        .resolve(&scope, id, &[(Field::JobTitle, Choice::Remote)], now())
        .unwrap()
        .expect("a cached profile");
    assert_eq!(shown.profile.job_title.as_deref(), Some("Lead"));
    assert_eq!(shown.unsynced, 0);
    let report = sync();
    assert_eq!(report.applied, 0);
    assert_eq!(api.profile(&token, &m).unwrap().revision, revision);
    let log = store.synced(&scope, &m).unwrap();
    assert_eq!(log.last().unwrap().outcome, SyncedOutcome::Discarded);

    // Type a third value.
    let id = conflict("Chief", "Head");
    store
        .resolve(
            &scope,
            id,
            &[(Field::JobTitle, Choice::Value(" Chief and head ".into()))],
            now(),
        )
        .unwrap();
    sync();
    assert_eq!(
        api.profile(&token, &m).unwrap().job_title.as_deref(),
        Some("Chief and head")
    );
    assert_eq!(engine.status().unwrap().unsynced, 0);
}

#[test]
fn conflicting_edits_merge_or_wait_for_the_person_remote() {
    conflicting_edits_merge_or_wait_for_the_person(&Subject::remote());
}

#[test]
fn conflicting_edits_merge_or_wait_for_the_person_embedded() {
    conflicting_edits_merge_or_wait_for_the_person(&Subject::embedded());
}

/// A membership removed while offline: the edits are kept with a clear message and the text to
/// copy, never dropped; nothing more can be saved to it; only the person discards them.
fn edits_of_a_removed_membership_are_kept_for_the_person(subject: &Subject) {
    let (member, m) = subject.new_contoso_member("leaver");
    let ppc = subject.sign_in("ppc@contoso.com");
    let (_dir, _path, store) = local_store();
    let engine = engine_for(subject, &store, &member);
    let scope = engine.scope().clone();
    store
        .save_edit(
            &scope,
            &m,
            &edit(&[
                (Field::JobTitle, "Consultant"),
                (Field::Phone, "+61 3 5550 0303"),
            ]),
            now(),
        )
        .unwrap();
    subject
        .api()
        .remove_membership(&ppc, &m)
        .expect("the PPC removes the member");

    let report = engine
        .run(subject.api(), &member, now(), &mut quiet)
        .unwrap();
    assert_eq!(
        (report.outcome.clone(), report.kept),
        (Outcome::Done, 1),
        "{report:?}"
    );
    let message = report.message.expect("a message");
    assert!(message.contains("copy"), "{message}");
    let edits = store.edits(&scope).unwrap();
    assert_eq!(edits.len(), 1);
    assert_eq!(edits[0].state, EditState::Orphaned);
    assert_eq!(
        edits[0].text,
        "Job title: Consultant\nPhone: +61 3 5550 0303"
    );
    assert_eq!(engine.status().unwrap().counts.orphaned, 1);
    assert!(matches!(
        store.save_edit(&scope, &m, &edit(&[(Field::JobTitle, "More")]), now()),
        Err(Error::MembershipEnded)
    ));
    // Another run keeps it too.
    engine
        .run(subject.api(), &member, now(), &mut quiet)
        .unwrap();
    assert_eq!(store.edits(&scope).unwrap().len(), 1);

    store.discard(&scope, edits[0].id, now()).unwrap();
    assert_eq!(engine.status().unwrap().unsynced, 0);
}

#[test]
fn edits_of_a_removed_membership_are_kept_for_the_person_remote() {
    edits_of_a_removed_membership_are_kept_for_the_person(&Subject::remote());
}

#[test]
fn edits_of_a_removed_membership_are_kept_for_the_person_embedded() {
    edits_of_a_removed_membership_are_kept_for_the_person(&Subject::embedded());
}

/// An edit sent, applied, and its answer lost (the crash window): the next run sends it again
/// and it is not applied twice — replayed by its key on the server, refused by `If-Match` and
/// merged away on the embedded backend.
fn an_edit_whose_answer_was_lost_is_applied_once(subject: &Subject, replayed: bool) {
    let token = subject.sign_in("ppc@contoso.com");
    let m = memberships(subject, &token)[0].clone();
    let api = subject.api();
    let (_dir, _path, store) = local_store();
    let engine = engine_for(subject, &store, &token);
    let scope = engine.scope().clone();
    let before = api.profile(&token, &m).unwrap();
    store
        .save_edit(&scope, &m, &edit(&[(Field::JobTitle, "Sent once")]), now())
        .unwrap();
    let queued = store.edits(&scope).unwrap().remove(0);
    // What the crashed process sent before it could record the answer.
    let first = api
        .update_profile_keyed(
            &token,
            &m,
            queued.base_revision,
            &queued.edit.to_patch(),
            &queued.idempotency_key,
        )
        .expect("applied");
    assert_eq!(first.revision, before.revision + 1);

    let report = engine.run(api, &token, now(), &mut quiet).unwrap();
    assert_eq!(report.outcome, Outcome::Done);
    let after = api.profile(&token, &m).unwrap();
    assert_eq!(after.revision, before.revision + 1, "applied once");
    assert_eq!(after.job_title.as_deref(), Some("Sent once"));
    let log = store.synced(&scope, &m).unwrap();
    assert_eq!(log.len(), 1);
    if replayed {
        assert_eq!(
            (report.applied, report.already_there),
            (1, 0),
            "the key replayed"
        );
        assert_eq!(log[0].revision, Some(first.revision));
        assert_eq!(log[0].outcome, SyncedOutcome::Applied);
    } else {
        assert_eq!(
            (report.applied, report.already_there),
            (0, 1),
            "merged away"
        );
        assert_eq!(log[0].outcome, SyncedOutcome::AlreadyThere);
    }
    assert_eq!(store.profile(&scope, &m).unwrap().unwrap().profile, after);
}

#[test]
fn an_edit_whose_answer_was_lost_is_applied_once_remote() {
    an_edit_whose_answer_was_lost_is_applied_once(&Subject::remote(), true);
}

#[test]
fn an_edit_whose_answer_was_lost_is_applied_once_embedded() {
    an_edit_whose_answer_was_lost_is_applied_once(&Subject::embedded(), false);
}

/// The server side of the key: a repeat of a keyed profile edit gets the first answer; the same
/// key on another revision or with another body is refused, not applied.
#[test]
fn the_server_replays_a_keyed_profile_edit_instead_of_applying_it_again() {
    let subject = Subject::remote();
    let token = subject.sign_in("ppc@contoso.com");
    let m = memberships(&subject, &token)[0].clone();
    let api = subject.api();
    let r = api.profile(&token, &m).unwrap().revision;
    let patch = edit(&[(Field::JobTitle, "Keyed")]).to_patch();
    let key = "5d7c2a7e-6f7b-4c43-9a55-2f3e6f0c1a01";
    let first = api
        .update_profile_keyed(&token, &m, r, &patch, key)
        .unwrap();
    let again = api
        .update_profile_keyed(&token, &m, r, &patch, key)
        .unwrap();
    assert_eq!(first, again, "the first answer, replayed");
    assert_eq!(api.profile(&token, &m).unwrap().revision, r + 1);

    let other = edit(&[(Field::JobTitle, "Other")]).to_patch();
    for refused in [
        api.update_profile_keyed(&token, &m, r, &other, key),
        api.update_profile_keyed(&token, &m, r + 1, &patch, key),
    ] {
        let e = refused.expect_err("the key belongs to another request");
        assert_eq!(e.code(), "idempotency_key_reused");
    }
    assert_eq!(
        api.profile(&token, &m).unwrap().revision,
        r + 1,
        "nothing applied"
    );
}

/// Privileges, roles, status and the MCP ID are never written by sync: an outbox row that names
/// them (a hand-edited file) is not sent at all, and is kept for the person as rejected.
#[test]
fn sync_never_writes_what_the_ppc_controls() {
    let subject = Subject::remote();
    let token = subject.sign_in("ppc@contoso.com");
    let m = memberships(&subject, &token)[0].clone();
    let api = subject.api();
    let (_dir, path, store) = local_store();
    let engine = engine_for(&subject, &store, &token);
    let scope = engine.scope().clone();
    let before = api.profile(&token, &m).unwrap();
    let me_before = api.me(&token).unwrap();
    let audit_before = audit(api, &token, &me_before);

    store
        .save_edit(
            &scope,
            &m,
            &edit(&[(Field::JobTitle, "Honest edit")]),
            now(),
        )
        .unwrap();
    let raw = rusqlite::Connection::open(&path).unwrap();
    for (i, forged) in [
        r#"{"mcp_id":"12345678"}"#,
        r#"{"job_title":"x","privileges":["global_administrator"]}"#,
        r#"{"roles":["ppc"],"status":"active"}"#,
    ]
    .iter()
    .enumerate()
    {
        raw.execute(
            "INSERT INTO outbox(backend, account, membership_id, idempotency_key, base_revision,
                                base, patch, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, '{}', ?6, 0)",
            rusqlite::params![
                scope.backend,
                scope.account,
                m,
                format!("forged-{i}"),
                before.revision as i64,
                forged
            ],
        )
        .unwrap();
    }
    drop(raw);

    let report = engine.run(api, &token, now(), &mut quiet).unwrap();
    assert_eq!(report.applied, 1, "only the honest edit: {report:?}");
    let after = api.profile(&token, &m).unwrap();
    assert_eq!(after.revision, before.revision + 1);
    assert_eq!(after.mcp_id, before.mcp_id);
    assert_eq!(after.job_title.as_deref(), Some("Honest edit"));
    let me_after = api.me(&token).unwrap();
    assert_eq!(
        me_after.memberships, me_before.memberships,
        "roles, status, privileges"
    );
    let kept = store.edits(&scope).unwrap();
    assert_eq!(kept.len(), 3);
    assert!(kept
        .iter()
        .all(|e| e.state == EditState::Rejected && e.message.is_some()));
    assert!(
        kept[0].text.contains("mcp_id"),
        "the raw text to copy: {}",
        kept[0].text
    );
    for e in &kept {
        store
            .discard(&scope, e.id, now())
            .expect("the person can discard it");
    }
    assert_eq!(engine.status().unwrap().unsynced, 0);
    // Nothing in the audit but the one honest profile update since the start.
    let audit_after = audit(api, &token, &me_after);
    assert_eq!(audit_after.len(), audit_before.len() + 1, "{audit_after:?}");
    assert_eq!(
        (
            audit_after[0].action.as_str(),
            audit_after[0].subject.as_str()
        ),
        ("profile.updated", m.as_str())
    );
}

fn audit(api: &dyn Backend, token: &Secret, me: &membership::Me) -> Vec<membership::AuditEntry> {
    let org = &me.memberships[0].organisation.organisation_id;
    let page = api
        .audit(
            token,
            org,
            &PageRequest {
                limit: Some(100),
                cursor: None,
            },
        )
        .unwrap();
    assert!(page.next_cursor.is_none(), "one page holds it all");
    page.items
}

/// A token that expired is renewed once through [`offline::Access`], and the run goes on.
#[test]
fn an_expired_token_is_renewed_once_and_the_sync_goes_on() {
    struct Renewing {
        stale: Secret,
        fresh: Secret,
        renewals: Mutex<u32>,
    }
    impl offline::Access for Renewing {
        fn token(&self) -> Result<Secret, membership::Error> {
            Ok(self.stale.clone())
        }
        fn renew(&self, refused: &Secret) -> Result<Secret, membership::Error> {
            assert_eq!(refused, &self.stale);
            *self.renewals.lock().unwrap() += 1;
            Ok(self.fresh.clone())
        }
    }
    let subject = Subject::embedded();
    let token = subject.sign_in("ppc@contoso.com");
    let m = memberships(&subject, &token)[0].clone();
    let (_dir, _path, store) = local_store();
    let engine = engine_for(&subject, &store, &token);
    let scope = engine.scope().clone();
    for title in ["One", "Two"] {
        store
            .save_edit(&scope, &m, &edit(&[(Field::JobTitle, title)]), now())
            .unwrap();
    }
    let stale = subject.sign_in("ppc@contoso.com");
    subject.api().sign_out(&stale).unwrap();
    let access = Renewing {
        stale,
        fresh: token.clone(),
        renewals: Mutex::new(0),
    };
    let report = engine
        .run(subject.api(), &access, now(), &mut quiet)
        .unwrap();
    assert_eq!((report.outcome, report.applied), (Outcome::Done, 2));
    assert_eq!(*access.renewals.lock().unwrap(), 1);

    // A session that cannot be renewed stops the run and keeps the edit.
    store
        .save_edit(&scope, &m, &edit(&[(Field::JobTitle, "Three")]), now())
        .unwrap();
    subject.api().sign_out(&token).unwrap();
    let report = engine
        .run(subject.api(), &token, now(), &mut quiet)
        .unwrap();
    assert_eq!(report.outcome, Outcome::SignedOut);
    assert_eq!(report.counts.pending, 1);
}

/// Edits of one profile queued on one revision go as one request, their values laid over one
/// another oldest first. A batch whose answer was lost (the crash window between the server's
/// commit and ours) is sent again as the same request under the same key: replayed by the
/// server, or refused by `If-Match` and found already there on the embedded backend. Either way
/// one update, and the log lists every edit under the batch's key.
fn a_batch_whose_answer_was_lost_is_applied_once(subject: &Subject, replayed: bool) {
    let token = subject.sign_in("ppc@contoso.com");
    let m = memberships(subject, &token)[0].clone();
    let api = subject.api();
    let (_dir, path, store) = local_store();
    let engine = engine_for(subject, &store, &token);
    let scope = engine.scope().clone();
    let before = api.profile(&token, &m).unwrap();
    for pairs in [
        &[(Field::JobTitle, "First title")][..],
        &[(Field::Phone, "+61 2 5550 0199")],
        &[(Field::JobTitle, "Last title")],
    ] {
        store.save_edit(&scope, &m, &edit(pairs), now()).unwrap();
    }
    // What a process that died after sending the batch had written and sent.
    let key = "0b7f1c52-9d1e-4b8a-8f41-6a0d2c9e7b13";
    let raw = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(
        raw.execute("UPDATE outbox SET batch = ?1", [key]).unwrap(),
        3
    );
    drop(raw);
    let combined = edit(&[
        (Field::JobTitle, "Last title"),
        (Field::Phone, "+61 2 5550 0199"),
    ]);
    let first = api
        .update_profile_keyed(&token, &m, before.revision, &combined.to_patch(), key)
        .expect("applied");
    assert_eq!(first.revision, before.revision + 1);

    let report = engine.run(api, &token, now(), &mut quiet).unwrap();
    assert_eq!(report.outcome, Outcome::Done, "{report:?}");
    let after = api.profile(&token, &m).unwrap();
    assert_eq!(after.revision, before.revision + 1, "applied once");
    assert_eq!(after.job_title.as_deref(), Some("Last title"));
    let log = store.synced(&scope, &m).unwrap();
    assert_eq!(log.len(), 3, "every edit is in the log: {log:?}");
    assert!(log.iter().all(|e| e.idempotency_key == key), "{log:?}");
    let (applied, there) = if replayed { (3, 0) } else { (0, 3) };
    assert_eq!((report.applied, report.already_there), (applied, there));
    assert_eq!(engine.status().unwrap().unsynced, 0);
    assert_eq!(store.profile(&scope, &m).unwrap().unwrap().profile, after);
}

#[test]
fn a_batch_whose_answer_was_lost_is_applied_once_remote() {
    a_batch_whose_answer_was_lost_is_applied_once(&Subject::remote(), true);
}

#[test]
fn a_batch_whose_answer_was_lost_is_applied_once_embedded() {
    a_batch_whose_answer_was_lost_is_applied_once(&Subject::embedded(), false);
}

/// A value the server refuses among queued edits (here one written into the file by hand, past
/// the app's own checks): the batch is refused whole, nothing of it applied, and its edits then
/// go one by one, so only the refused edit is kept for the person and the others reach the
/// server in order.
fn a_refused_value_in_a_batch_keeps_only_its_own_edit(subject: &Subject) {
    let token = subject.sign_in("ppc@contoso.com");
    let m = memberships(subject, &token)[0].clone();
    let api = subject.api();
    let (_dir, path, store) = local_store();
    let engine = engine_for(subject, &store, &token);
    let scope = engine.scope().clone();
    let before = api.profile(&token, &m).unwrap();
    store
        .save_edit(&scope, &m, &edit(&[(Field::JobTitle, "Kept apart")]), now())
        .unwrap();
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute(
        "INSERT INTO outbox(backend, account, membership_id, idempotency_key, base_revision,
                            base, patch, created_at)
         VALUES (?1, ?2, ?3, 'hand-written', ?4, '{}', '{\"phone\":\"call me maybe\"}', 0)",
        rusqlite::params![scope.backend, scope.account, m, before.revision as i64],
    )
    .unwrap();
    drop(raw);
    store
        .save_edit(&scope, &m, &edit(&[(Field::LastName, "Apart")]), now())
        .unwrap();

    let report = engine.run(api, &token, now(), &mut quiet).unwrap();
    assert_eq!(report.outcome, Outcome::Done, "{report:?}");
    assert_eq!((report.applied, report.kept), (2, 1), "{report:?}");
    let after = api.profile(&token, &m).unwrap();
    assert_eq!(after.job_title.as_deref(), Some("Kept apart"));
    assert_eq!(after.last_name, "Apart");
    assert_eq!(after.phone, before.phone, "the refused value is not there");
    assert_eq!(after.revision, before.revision + 2, "one by one");
    let kept = store.edits(&scope).unwrap();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0].state, EditState::Rejected);
    assert!(kept[0].text.contains("call me maybe"), "{}", kept[0].text);
}

#[test]
fn a_refused_value_in_a_batch_keeps_only_its_own_edit_remote() {
    a_refused_value_in_a_batch_keeps_only_its_own_edit(&Subject::remote());
}

#[test]
fn a_refused_value_in_a_batch_keeps_only_its_own_edit_embedded() {
    a_refused_value_in_a_batch_keeps_only_its_own_edit(&Subject::embedded());
}
