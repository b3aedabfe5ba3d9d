//! Sessions in the real OS keychain. Needs a running, unlocked Secret Service (scripts/keychain-test
//! starts gnome-keyring inside `dbus-run-session`); run only by name (`--test keychain`; a plain
//! `cargo test` leaves it out), and then it FAILS, never skips, when no keychain answers.
//!
//! "A new process" is this same test binary run again as a child (`child_process` below, which
//! does nothing unless `PD_KEYCHAIN_CHILD` is set): it opens the app on Tauri's mock runtime over
//! the same data folder, as a restarted app would, and reports what it finds on stdout.
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

use membership::Secret;
use partner_desk::backend::Backend;
use partner_desk::keychain::{self, KeyStore, StoredTokens, SERVICE};
use partner_desk::{build_app, context, DataDirs};
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;

const DEMO_PASSWORD: &str = "partnerdesk-demo";
const PPC: &str = "ppc@contoso.com";
const STAFF: &str = "staff@example.net";
const CHILD_MODE: &str = "PD_KEYCHAIN_CHILD";
const CHILD_DIR: &str = "PD_KEYCHAIN_CHILD_DIR";

/// The tests share one keychain and the demo accounts' entries: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

struct App {
    _app: tauri::App<MockRuntime>,
    webview: tauri::WebviewWindow<MockRuntime>,
}

impl App {
    fn open(dir: &Path) -> Self {
        let app = build_app(mock_builder(), DataDirs::Fixed(dir.to_owned()))
            .build(context())
            .expect("the app builds on the mock runtime");
        let config = app
            .config()
            .app
            .windows
            .iter()
            .find(|w| w.label == "main")
            .expect("the main window")
            .clone();
        let webview = tauri::WebviewWindowBuilder::from_config(&app, &config)
            .and_then(|b| b.build())
            .expect("the main window opens");
        Self { _app: app, webview }
    }

    fn call(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        get_ipc_response(
            &self.webview,
            InvokeRequest {
                cmd: cmd.into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                url: "tauri://localhost".parse().unwrap(),
                body: InvokeBody::Json(args),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .map(|body| body.deserialize::<Value>().unwrap())
    }

    #[track_caller]
    fn ok(&self, cmd: &str, args: Value) -> Value {
        self.call(cmd, args)
            .unwrap_or_else(|e| panic!("{cmd} was refused: {e}"))
    }
}

/// A keychain must answer whenever this target is built; a missing one is a failure.
fn require_keychain() {
    if let Err(reason) = keychain::probe() {
        panic!(
            "the keychain tests run but no usable keychain answered ({reason}). Run scripts/keychain-test, which starts an unlocked gnome-keyring inside dbus-run-session."
        );
    }
}

fn system_tokens(email: &str) -> Option<StoredTokens> {
    KeyStore::System.load(email).expect("the keychain answers")
}

/// Whether the keychain holds an entry for `email`, asked from outside the app with secret-tool.
fn secret_tool_has(email: &str) -> bool {
    let out = Command::new("secret-tool")
        .args(["search", "--all", "service", SERVICE, "username", email])
        .output()
        .expect("secret-tool runs (Debian package libsecret-tools)");
    // secret-tool prints the attributes (and the secret) of each match; keep it out of the output.
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    text.contains(&format!("attribute.username = {email}"))
}

/// Runs this binary again as the app's next process over `dir`; answers its report lines.
fn child(mode: &str, dir: &Path, env: &[(&str, &str)]) -> Vec<String> {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    cmd.args([
        "child_process",
        "--exact",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_MODE, mode)
    .env(CHILD_DIR, dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the child process runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the child process failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .filter(|l| l.starts_with("report:"))
        .map(|l| l.trim_start_matches("report:").to_owned())
        .collect()
}

fn line<'a>(report: &'a [String], key: &str) -> &'a str {
    report
        .iter()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("the child reported no {key}: {report:?}"))
}

/// The child side: does nothing in a normal run.
#[test]
fn child_process() {
    let Ok(mode) = std::env::var(CHILD_MODE) else {
        return;
    };
    let dir = std::env::var_os(CHILD_DIR).expect("a data folder");
    let app = App::open(Path::new(&dir));
    let status = app.ok("keychain_status", json!({}));
    // The test harness's own "test child_process ... " may share the first line.
    println!();
    println!("report:keychain_available={}", status["available"]);
    println!(
        "report:message={}",
        status["message"].as_str().unwrap_or("")
    );
    println!("report:notice={}", status["notice"].as_str().unwrap_or(""));
    if mode == "sign-in" {
        app.ok(
            "sign_in",
            json!({"email": STAFF, "password": DEMO_PASSWORD}),
        );
    }
    let session = app.ok("session", json!({}));
    println!(
        "report:signed_in={}",
        session["email"].as_str().unwrap_or("none")
    );
    if !session.is_null() {
        // The restored session works for a real call.
        let me = app.ok("me", json!({}));
        println!("report:me={}", me["account"]["email"].as_str().unwrap());
    }
}

#[test]
fn a_new_process_restores_the_session_silently_and_sign_out_removes_the_entry() {
    let _one = serial();
    require_keychain();
    let dir = tempfile::tempdir().unwrap();
    {
        let app = App::open(dir.path());
        assert_eq!(app.ok("keychain_status", json!({}))["available"], true);
        app.ok("sign_in", json!({"email": PPC, "password": DEMO_PASSWORD}));
    }
    assert!(secret_tool_has(PPC), "the entry is in the keychain");

    // A restarted app signs in silently from the keychain.
    let report = child("restore", dir.path(), &[]);
    assert_eq!(line(&report, "signed_in"), PPC, "{report:?}");
    assert_eq!(line(&report, "me"), PPC);
    assert_eq!(line(&report, "keychain_available"), "true");

    // An access token that has expired (issued an hour ago, it lives 15 minutes) is renewed
    // silently in the new process, and the new pair replaces the kept one.
    let issued = {
        let backend = Backend::open_embedded(dir.path()).unwrap();
        let hour_ago = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
        backend
            .programme()
            .unwrap()
            .sign_in(PPC, &Secret::new(DEMO_PASSWORD), hour_ago)
            .unwrap()
    };
    KeyStore::System
        .store(
            PPC,
            &StoredTokens {
                access_token: issued.access_token.clone(),
                refresh_token: issued.refresh_token.clone(),
            },
        )
        .unwrap();
    let report = child("restore", dir.path(), &[]);
    assert_eq!(line(&report, "signed_in"), PPC, "{report:?}");
    assert_eq!(line(&report, "notice"), "");
    let renewed = system_tokens(PPC).expect("still kept");
    assert_ne!(renewed.access_token, issued.access_token, "renewed");
    assert_ne!(renewed.refresh_token, issued.refresh_token, "renewed");

    // Sign out (in yet another run) deletes the entry and revokes the tokens at the backend.
    {
        let app = App::open(dir.path());
        assert_eq!(app.ok("session", json!({}))["email"], PPC);
        app.ok("sign_out", json!({}));
    }
    assert!(!secret_tool_has(PPC), "sign out removed the entry");
    assert!(system_tokens(PPC).is_none());
    let backend = Backend::open_embedded(dir.path()).unwrap();
    let refused = backend
        .programme()
        .unwrap()
        .refresh(&renewed.refresh_token, time::OffsetDateTime::now_utc())
        .unwrap_err();
    assert_eq!(refused.code(), "invalid_refresh_token", "revoked");
    let report = child("restore", dir.path(), &[]);
    assert_eq!(line(&report, "signed_in"), "none");
}

#[test]
fn a_refused_refresh_deletes_the_entry_and_sends_the_user_to_sign_in() {
    let _one = serial();
    require_keychain();
    let dir = tempfile::tempdir().unwrap();
    {
        let app = App::open(dir.path());
        app.ok(
            "sign_in",
            json!({"email": STAFF, "password": DEMO_PASSWORD}),
        );
    }
    // Tokens the backend no longer accepts (as after the refresh token expired or was revoked).
    KeyStore::System
        .store(
            STAFF,
            &StoredTokens {
                access_token: Secret::new("no-longer-valid-access"),
                refresh_token: Secret::new("no-longer-valid-refresh"),
            },
        )
        .unwrap();
    let report = child("restore", dir.path(), &[]);
    assert_eq!(line(&report, "signed_in"), "none", "{report:?}");
    let notice = line(&report, "notice");
    assert!(
        notice.contains(STAFF) && notice.contains("has ended") && notice.contains("Sign in again"),
        "{notice}"
    );
    assert!(!secret_tool_has(STAFF), "the dead entry is deleted");
}

#[test]
fn several_accounts_are_kept_and_switched_across_restarts() {
    let _one = serial();
    require_keychain();
    let dir = tempfile::tempdir().unwrap();
    {
        let app = App::open(dir.path());
        app.ok(
            "sign_in",
            json!({"email": STAFF, "password": DEMO_PASSWORD}),
        );
        app.ok("sign_in", json!({"email": PPC, "password": DEMO_PASSWORD}));
    }
    assert!(secret_tool_has(STAFF) && secret_tool_has(PPC));
    {
        // After a restart: PPC (last used) is signed in; switching to Staff needs no password.
        let app = App::open(dir.path());
        assert_eq!(app.ok("session", json!({}))["email"], PPC);
        app.ok("switch_account", json!({}));
        let staff = app.ok("use_account", json!({"email": STAFF}));
        assert_eq!(staff["email"], STAFF);
        // Remove PPC from this app: entry and remembered address gone.
        let left = app.ok("remove_account", json!({"email": PPC}));
        assert_eq!(left, json!([{"email": STAFF, "saved_session": true}]));
        app.ok("sign_out", json!({}));
    }
    assert!(!secret_tool_has(PPC) && !secret_tool_has(STAFF));
    let settings = std::fs::read_to_string(dir.path().join("settings.json")).unwrap();
    assert!(!settings.contains(PPC), "{settings}");
}

/// On a plane: the app starts while its server cannot be reached. The kept session is taken as
/// it was, Home shows the memberships kept on this computer, and a profile edit is saved here;
/// when the server is back, the edit reaches it.
#[test]
fn an_app_started_while_its_server_is_down_opens_the_kept_copy_and_syncs_later() {
    let _one = serial();
    require_keychain();
    let dir = tempfile::tempdir().unwrap();
    let mut server = testkit::TestServer::start();
    let membership = {
        let app = App::open(dir.path());
        app.ok(
            "save_settings",
            json!({"settings": {"backend": "remote", "remote_url": server.base(), "help_contacts": []}}),
        );
        app.ok("sign_in", json!({"email": PPC, "password": DEMO_PASSWORD}));
        let me = app.ok("me", json!({}));
        assert_eq!(me["offline"], false, "{me}");
        let membership = me["memberships"]
            .as_array()
            .and_then(|m| m.iter().find(|m| m["status"] == "active"))
            .and_then(|m| m["membership_id"].as_str())
            .unwrap_or_else(|| panic!("the demo PPC has an active membership: {me}"))
            .to_owned();
        app.ok("profile", json!({"membership_id": membership}));
        membership
    };

    server.kill();
    {
        let app = App::open(dir.path());
        let session = app.ok("session", json!({}));
        assert_eq!(
            session["email"], PPC,
            "restored without the server: {session}"
        );
        let me = app.ok("me", json!({}));
        assert_eq!(me["offline"], true, "{me}");
        assert_eq!(me["account"]["email"], PPC, "{me}");
        assert!(
            me["memberships"]
                .as_array()
                .is_some_and(|m| m.iter().any(|m| m["membership_id"] == membership.as_str())),
            "the memberships kept on this computer: {me}"
        );
        let shown = app.ok("profile", json!({"membership_id": membership}));
        let saved = app.ok(
            "update_profile",
            json!({"membership_id": membership, "revision": shown["revision"], "patch": {"job_title": "Consultant on a plane"}}),
        );
        assert_eq!(saved["saved_offline"], true, "{saved}");
        assert_eq!(app.ok("sync_status", json!({}))["unsynced"], 1);

        server.restart();
        let report = app.ok("sync_now", json!({}));
        assert_eq!(report["outcome"]["kind"], "done", "{report}");
        let me = app.ok("me", json!({}));
        assert_eq!(me["offline"], false, "{me}");
        assert_eq!(app.ok("sync_status", json!({}))["unsynced"], 0);
        // Fetched from the server again: it confirmed the edit in a newer revision.
        let on_server = app.ok("profile", json!({"membership_id": membership}));
        assert_eq!(
            on_server["job_title"], "Consultant on a plane",
            "{on_server}"
        );
        assert!(
            on_server["revision"].as_u64() > shown["revision"].as_u64(),
            "{shown} then {on_server}"
        );
        app.ok("sign_out", json!({}));
    }
}

#[test]
fn without_a_keychain_the_app_says_so_and_stays_usable_for_the_session() {
    let _one = serial();
    require_keychain();
    let dir = tempfile::tempdir().unwrap();
    let report = child(
        "sign-in",
        dir.path(),
        &[(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/partner-desk-test-bus",
        )],
    );
    assert_eq!(line(&report, "keychain_available"), "false", "{report:?}");
    let message = line(&report, "message");
    assert!(
        message.starts_with("Your system keychain is not available (")
            && message.contains("for this session only"),
        "{message}"
    );
    assert_eq!(line(&report, "signed_in"), STAFF);
    assert_eq!(line(&report, "me"), STAFF);
    // Nothing reached the real keychain, and the next run is signed out.
    assert!(!secret_tool_has(STAFF));
    let report = child("restore", dir.path(), &[]);
    assert_eq!(line(&report, "signed_in"), "none");
}

/// After a whole journey, no token and no password is anywhere in the data folder: not in the
/// settings, not in the SQLite database or its WAL/SHM files, not in any log (the app writes none;
/// any file there is scanned whatever its name).
///
/// Excluded on purpose: the verification token. It arrives as mail, and the embedded backend's
/// Mailbox stores delivered mail (link included) as a real mailbox would; it is single use and
/// spent by the journey. Session tokens and passwords are never stored.
#[test]
fn no_token_or_password_is_left_in_the_data_folder_after_a_journey() {
    let _one = serial();
    require_keychain();
    let dir = tempfile::tempdir().unwrap();
    let created_password = "scan-created-Passw0rd!";
    let mut needles: Vec<String> = vec![DEMO_PASSWORD.into(), created_password.into()];
    let mut keep = |email: &str| {
        let t = system_tokens(email).expect("the session is in the keychain");
        needles.push(t.access_token.expose().to_owned());
        needles.push(t.refresh_token.expose().to_owned());
    };
    {
        let app = App::open(dir.path());
        // Staff: sign in, ask to join Contoso, verify, edit the profile, sign out.
        app.ok(
            "sign_in",
            json!({"email": STAFF, "password": DEMO_PASSWORD}),
        );
        keep(STAFF);
        let page = app.ok("lookup", json!({"query": {"q": "Contoso"}}));
        let org = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == "Contoso Pty Ltd")
            .unwrap()["organisation_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let created = app.ok(
            "request_association",
            json!({"request": {"organisation_id": org, "first_name": "Sam", "last_name": "Staff",
                   "organisation_email": "sam.staff@contoso.com", "phone": "", "job_title": "Consultant"}}),
        );
        assert_eq!(created["status"], "accepted");
        let mails = app.ok("my_mail", json!({}));
        let link = mails
            .as_array()
            .unwrap()
            .iter()
            .find_map(|m| m["link"].as_str())
            .unwrap()
            .to_owned();
        let verified = app.ok("verify", json!({"input": link}));
        let membership = verified["membership_id"].as_str().unwrap().to_owned();
        let profile = app.ok("profile", json!({"membership_id": membership}));
        app.ok(
            "update_profile",
            json!({"membership_id": membership, "revision": profile["revision"],
                   "patch": {"job_title": "Architect"}}),
        );
        keep(STAFF);
        app.ok("sign_out", json!({}));

        // A new account with its own password, then the demo PPC; both sign out.
        app.ok(
            "create_account",
            json!({"email": "scan.new@example.org", "display_name": "Scan New", "password": created_password}),
        );
        keep("scan.new@example.org");
        app.ok("me", json!({}));
        app.ok("sign_out", json!({}));
        app.ok("sign_in", json!({"email": PPC, "password": DEMO_PASSWORD}));
        keep(PPC);
        app.ok("queue", json!({"org_id": org}));
        app.ok("sign_out", json!({}));
    }
    assert!(needles.len() >= 8);

    let mut files = Vec::new();
    walk(dir.path(), &mut files);
    assert!(
        files.iter().any(|f| f.ends_with("membership.sqlite3")),
        "the database is scanned: {files:?}"
    );
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        for needle in &needles {
            let found = bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
            // Never print the needle itself.
            assert!(
                !found,
                "a secret ({} characters) was found in {}",
                needle.len(),
                file.display()
            );
        }
    }
}

fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, files);
        } else {
            files.push(path);
        }
    }
}
