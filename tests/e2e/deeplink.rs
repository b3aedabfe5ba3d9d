//! Deep links in the real window: a second start of the app with a `partnerdesk://` link hands
//! the link to the running one (tauri-plugin-single-instance over D-Bus) and exits; the running
//! window shows the verification screen. `scripts/e2e` runs these against the debug build and
//! `scripts/deb-test` against the binary the `.deb` installed (`PARTNER_DESK_E2E_APP`).
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{
    env, launch, request_to_join_contoso, sign_in, switch_to, Session, ACCEPTED, DEMO_PASSWORD,
    PPC, STAFF,
};

/// Starts the app a second time with `link` as its only argument, as the desktop does for
/// `Exec=partner-desk %u`, and waits for that second start to hand it over and exit.
fn open_link(link: &str) {
    let app = env("PARTNER_DESK_E2E_APP");
    let mut second = Command::new(&app)
        .arg(link)
        .env_remove("PARTNER_DESK_DATA_DIR")
        .spawn()
        .unwrap_or_else(|e| panic!("{app} could not be started a second time: {e}"));
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = second
            .try_wait()
            .expect("the second start can be waited for")
        {
            assert!(
                status.success(),
                "the second start should hand the link over and exit cleanly: {status}"
            );
            return;
        }
        if Instant::now() > until {
            let _ = second.kill();
            let _ = second.wait();
            panic!(
                "the second start did not hand the link to the running app and exit within 60 s"
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The verification link in the newest mail in the Mailbox.
fn link_from_mailbox(s: &Session) -> String {
    s.click("#nav-mailbox");
    s.wait_for_view("mailbox");
    let body = s.wait_for_text("[data-testid=mail-body]", "partnerdesk://verify?token=");
    let start = body.find("partnerdesk://").expect("the mail has a link");
    body[start..]
        .split(|c: char| c.is_whitespace())
        .next()
        .expect("the link ends")
        .to_owned()
}

fn verify_input(s: &Session) -> String {
    s.script(
        "return document.getElementById('verify-input').value;",
        json!([]),
    )
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

fn sign_in_without_landing_home(s: &Session, email: &str) {
    s.type_into("#signin-email", email);
    s.type_into("#signin-password", DEMO_PASSWORD);
    s.click("#signin-submit");
}

#[test]
fn deep_link_to_the_running_app_opens_the_verification_screen() {
    let (mut s, _data) = launch("deep-link");
    // The first screen of a new install.
    s.wait_for_text("#view h1", "");
    s.screenshot("first-screen");

    sign_in(&mut s, STAFF);
    request_to_join_contoso(&mut s, "sam.staff@contoso.com", "accepted at once");
    s.wait_for_text("#join-outcome", ACCEPTED);
    let link = link_from_mailbox(&s);

    // Malformed or unknown links are refused with a sentence and change nothing.
    for (bad, code) in [
        ("partnerdesk://verify?token=<script>", "invalid_token"),
        ("partnerdesk://login?token=abc", "invalid_link"),
        ("partnerdesk://verify?token=a b", "invalid_token"),
    ] {
        open_link(bad);
        s.wait_for_text(&format!("#alert[data-code={code}]"), "nothing was changed");
        s.wait_for_view("mailbox");
    }
    s.screenshot("malformed-link-refused");

    // A link for another account than the one signed in says so.
    switch_to(&mut s, PPC);
    open_link(&link);
    s.wait_for_view("verify");
    s.wait_for_text(
        "#alert[data-code=token_for_other_account]",
        "belongs to a different account",
    );
    assert_eq!(verify_input(&s), link, "the link is filled in");
    s.screenshot("link-for-another-account");

    // The right account: verified, on to completing the profile.
    switch_to(&mut s, STAFF);
    open_link(&link);
    s.wait_for_view("profile");
    s.wait_for_text("h1", "Complete your individual profile");
    s.screenshot("verified-by-deep-link");

    // Signed out: the link waits for the sign-in, then the verification screen uses it.
    s.click("#sign-out");
    s.wait_for_view("signin");
    open_link(&link);
    s.wait_for_text("#status", "Sign in to finish verifying");
    s.screenshot("signed-out-link-waits");
    sign_in_without_landing_home(&s, STAFF);
    s.wait_for_view("verify");
    assert_eq!(verify_input(&s), link);
    s.wait_for_text("#alert[data-code=token_used]", "already been used");
    s.screenshot("after-sign-in");
}

#[test]
fn deep_link_on_the_command_line_at_first_start_waits_for_sign_in() {
    let data = tempfile::Builder::new()
        .prefix("partner-desk-e2e-")
        .tempdir()
        .expect("a temp folder");
    let app = std::path::PathBuf::from(env("PARTNER_DESK_E2E_APP"));
    let args = vec![
        format!("--data-dir={}", data.path().display()),
        "partnerdesk://verify?token=AbC_123-xyz".to_owned(),
    ];
    let mut s = Session::start(
        &env("PARTNER_DESK_E2E_DRIVER_URL"),
        &app,
        &args,
        super::output_dir().join("deep-link-first-start"),
    );
    s.wait_for_view("signin");
    s.wait_for_text("#status", "Sign in to finish verifying");
    s.screenshot("first-start-with-link");
    sign_in_without_landing_home(&s, STAFF);
    s.wait_for_view("verify");
    assert_eq!(verify_input(&s), "partnerdesk://verify?token=AbC_123-xyz");
    s.wait_for_text("#alert[data-code=invalid_token]", "not one we sent");
    s.screenshot("unknown-token");
}
