//! Help, Settings, and the access control around the command list.
use serde_json::{json, Value};

use crate::support::*;

#[test]
fn help_names_the_regional_service_centre_for_australia_by_default() {
    let app = app();
    let contacts = app.ok("help_contacts", json!({}));
    assert_eq!(contacts[0]["region"], "Australia");
    assert_eq!(contacts[0]["name"], "Regional Service Centre");
    assert_eq!(contacts[0]["phone"], "13 20 58 (Options 2,5,1)");
}

#[test]
fn settings_switch_to_a_server_say_whether_it_answers_and_survive_a_restart() {
    let app = app();
    let view = app.ok("settings", json!({}));
    assert_eq!(view["settings"]["backend"], "embedded");
    assert_eq!(view["active_backend"], "embedded");
    let status = app.ok("backend_status", json!({}));
    assert_eq!(status["reachable"], true, "{status}");

    // Nothing listens on the discard port of loopback: the server is chosen, but does not answer.
    let mut settings = view["settings"].clone();
    settings["backend"] = json!("remote");
    settings["remote_url"] = json!("http://127.0.0.1:9");
    settings["help_contacts"] = json!([
        {"region": "Australia", "name": "Regional Service Centre", "phone": "13 20 58 (Options 2,5,1)"},
        {"region": "New Zealand", "name": "Regional Service Centre", "phone": "0800 000 000"}
    ]);
    let saved = app.ok("save_settings", json!({"settings": settings}));
    assert_eq!(saved["active_backend"], "remote", "{saved}");
    assert_eq!(saved["location"], "http://127.0.0.1:9");
    let status = app.ok("backend_status", json!({}));
    assert_eq!(status["reachable"], false, "{status}");
    let why = status["message"].as_str().unwrap();
    assert!(why.contains("127.0.0.1:9") && why.ends_with('.'), "{why}");
    let e = app.refused("sign_in", json!({"email": PPC, "password": DEMO_PASSWORD}));
    assert_eq!(code(&e), "backend_unreachable");

    let file = std::fs::read_to_string(app.dir.path().join("settings.json"))
        .expect("settings are saved as JSON");
    let on_disk: Value = serde_json::from_str(&file).unwrap();
    assert_eq!(on_disk["remote_url"], "http://127.0.0.1:9");
    assert_eq!(on_disk["backend"], "remote");
    assert_eq!(
        app.ok("help_contacts", json!({}))[1]["region"],
        "New Zealand"
    );

    let bad = app.refused(
        "save_settings",
        json!({"settings": {"backend": "remote", "remote_url": "ftp://x", "help_contacts": []}}),
    );
    assert_eq!(code(&bad), "invalid_url");
    let incomplete = app.refused("save_settings", json!({"settings": {"backend": "embedded", "help_contacts": [{"region": "Fiji", "name": "", "phone": ""}]}}));
    assert_eq!(code(&incomplete), "invalid_help_contact");
    let no_port = app.refused(
        "save_settings",
        json!({"settings": {"backend": "embedded", "dns_resolver": "192.0.2.53", "help_contacts": []}}),
    );
    assert_eq!(code(&no_port), "invalid_dns_resolver");
    assert_eq!(
        app.ok("settings", json!({}))["active_backend"],
        "remote",
        "a refused save changes nothing"
    );

    let back = app.ok(
        "save_settings",
        json!({"settings": {"backend": "embedded", "remote_url": "http://127.0.0.1:9", "help_contacts": []}}),
    );
    assert_eq!(back["active_backend"], "embedded");
    assert_eq!(
        back["settings"]["remote_url"], "http://127.0.0.1:9",
        "the address is kept for next time"
    );
    // The DNS server of domain checks: kept trimmed; empty means this computer's settings.
    let dns = app.ok(
        "save_settings",
        json!({"settings": {"backend": "embedded", "dns_resolver": " 127.0.0.1:9 ", "help_contacts": []}}),
    );
    assert_eq!(dns["settings"]["dns_resolver"], "127.0.0.1:9");
    let cleared = app.ok(
        "save_settings",
        json!({"settings": {"backend": "embedded", "dns_resolver": "", "help_contacts": []}}),
    );
    assert_eq!(cleared["settings"]["dns_resolver"], Value::Null);
    app.sign_in(PPC);
}

/// The theme and the zoom keys are kept at once, in the settings file the next start reads, and
/// saving the settings form leaves them as they are.
#[test]
fn the_theme_and_the_zoom_level_are_kept_and_the_settings_form_leaves_them_alone() {
    let app = app();
    let view = app.ok("settings", json!({}));
    assert_eq!(
        view["settings"]["appearance"],
        json!({"theme": "system", "zoom_percent": 100})
    );
    let dark = app.ok("set_theme", json!({"theme": "dark"}));
    assert_eq!(dark["theme"], "dark");
    let bad = app.call("set_theme", json!({"theme": "sepia"}));
    assert!(bad.is_err(), "an unknown theme is refused: {bad:?}");

    for expected in [110, 125] {
        let zoomed = app.ok("zoom", json!({"step": "in"}));
        assert_eq!(zoomed["zoom_percent"], expected);
        assert_eq!(zoomed["theme"], "dark", "zooming keeps the theme");
    }
    assert_eq!(app.ok("zoom", json!({"step": "out"}))["zoom_percent"], 110);

    let on_disk = || -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(app.dir.path().join("settings.json")).expect("saved"),
        )
        .expect("JSON")
    };
    assert_eq!(
        on_disk()["appearance"],
        json!({"theme": "dark", "zoom_percent": 110})
    );

    // The form sends what it shows, without the appearance (or with an old copy of it).
    let mut form = view["settings"].clone();
    form["appearance"] = json!({"theme": "light", "zoom_percent": 400});
    let saved = app.ok("save_settings", json!({"settings": form}));
    assert_eq!(
        saved["settings"]["appearance"],
        json!({"theme": "dark", "zoom_percent": 110})
    );
    assert_eq!(on_disk()["appearance"]["theme"], "dark");

    assert_eq!(
        app.ok("zoom", json!({"step": "reset"}))["zoom_percent"],
        100
    );
    app.ok("set_theme", json!({"theme": "system"}));
    assert_eq!(
        app.ok("settings", json!({}))["settings"]["appearance"],
        json!({"theme": "system", "zoom_percent": 100})
    );
}

#[test]
fn session_tokens_are_never_written_to_the_data_folder_outside_the_database() {
    let app = app();
    app.sign_in(PPC);
    app.ok(
        "save_settings",
        json!({"settings": {"backend": "embedded", "help_contacts": []}}),
    );
    for entry in std::fs::read_dir(app.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            name.starts_with("membership.sqlite3")
                || name.starts_with(partner_desk::notifications::INBOX_FILE)
                || name.starts_with(partner_desk::sync::LOCAL_FILE)
                || name == "settings.json",
            "unexpected file {name}"
        );
        if name == "settings.json" {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(!text.contains("token"), "{text}");
        }
    }
}

#[test]
fn every_command_in_the_app_manifest_is_registered_and_allowed_by_the_capability() {
    let capability: Value =
        serde_json::from_str(include_str!("../../src-tauri/capabilities/main.json")).unwrap();
    let allowed: Vec<String> = capability["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = partner_desk::commands::NAMES
        .iter()
        .map(|n| format!("allow-{}", n.replace('_', "-")))
        .collect();
    assert_eq!(
        allowed, expected,
        "the capability allows exactly the app's own commands"
    );

    let app = app();
    for name in partner_desk::commands::NAMES {
        // Signed out and without arguments, every command answers, though most refuse: what
        // matters is that none is unknown to the handler or blocked by the access control.
        if let Err(e) = app.call(name, json!({})) {
            let text = e.to_string();
            assert!(
                !text.contains("not found") && !text.contains("not allowed"),
                "{name}: {text}"
            );
        }
    }
}

#[test]
fn commands_outside_the_capability_are_refused() {
    let app = app();
    for cmd in [
        "plugin:event|listen",
        "plugin:window|close",
        "plugin:shell|open",
        "plugin:fs|read_file",
        "no_such_command",
    ] {
        let e = app.call(cmd, json!({})).expect_err(cmd);
        assert!(
            e.is_string(),
            "{cmd}: Tauri refuses it before any command runs: {e}"
        );
    }
}

#[test]
fn a_page_from_anywhere_but_the_app_itself_cannot_call_the_commands() {
    let app = app();
    assert!(app.call("help_contacts", json!({})).is_ok());
    let e = app
        .call_from("https://evil.example", "help_contacts", json!({}))
        .expect_err("a remote page is refused");
    assert!(e.as_str().is_some_and(|t| t.contains("not allowed")), "{e}");
}
