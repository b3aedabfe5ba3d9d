//! End-to-end journeys in the real Partner Desk window (WebKitGTK under Xvfb), driven through
//! tauri-driver and WebKitWebDriver. `scripts/e2e` builds the app, starts the display, D-Bus and the
//! driver, then runs this target by name (`--test e2e`; a plain `cargo test` leaves it out);
//! without the driver's address it fails, never passes silently.
//!
//! Each journey launches the app on a fresh data folder, so the demo data is new every time; each
//! step leaves a screenshot in `test-output/e2e/<journey>/`.
mod accessibility;
mod deeplink;
mod keyboard;
mod notification_server;
mod webdriver;

use std::path::PathBuf;

use webdriver::Session;

const DEMO_PASSWORD: &str = "partnerdesk-demo";
const PPC: &str = "ppc@contoso.com";
const STAFF: &str = "staff@example.net";
const ACCEPTED: &str = "Your request to associate with the company has been accepted";
const PENDING: &str =
    "Your request to associate to your organization\u{2019}s account has been sent to your organisation\u{2019}s program administrator";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the end-to-end tests with scripts/e2e, which starts the display and the WebDriver server")
    })
}

fn output_dir() -> PathBuf {
    let root =
        std::env::var("PARTNER_DESK_E2E_OUTPUT").unwrap_or_else(|_| "test-output/e2e".into());
    PathBuf::from(root)
}

/// The app on a fresh data folder; the folder lives as long as the returned guard.
fn launch(journey: &str) -> (Session, tempfile::TempDir) {
    launch_with(journey, &[])
}

/// [`launch`] with more command-line arguments for the app.
fn launch_with(journey: &str, extra: &[String]) -> (Session, tempfile::TempDir) {
    let data = tempfile::Builder::new()
        .prefix("partner-desk-e2e-")
        .tempdir()
        .expect("a temp folder");
    let session = launch_in(journey, data.path(), extra);
    (session, data)
}

/// The app on the data folder `data` (a second start on the same folder sees what the first kept).
fn launch_in(journey: &str, data: &std::path::Path, extra: &[String]) -> Session {
    let app = PathBuf::from(env("PARTNER_DESK_E2E_APP"));
    assert!(
        app.exists(),
        "the app binary {} is missing: build it with cargo build --bin partner-desk",
        app.display()
    );
    let mut args = vec![format!("--data-dir={}", data.display())];
    args.extend_from_slice(extra);
    let session = Session::start(
        &env("PARTNER_DESK_E2E_DRIVER_URL"),
        &app,
        &args,
        output_dir().join(journey),
    );
    // Journeys run at the window's configured size (1100x760); the tour tries the others.
    session.wait_for_view("signin");
    session
}

fn sign_in(s: &mut Session, email: &str) {
    s.wait_for_view("signin");
    s.type_into("#signin-email", email);
    s.type_into("#signin-password", DEMO_PASSWORD);
    s.click("#signin-submit");
    s.wait_for_view("home");
    s.wait_for_text("#account-name", email);
}

/// Settings → Remote: the server at `base`; waits until it answers, then opens Sign in.
fn use_server(s: &mut Session, base: &str) {
    s.click("#nav-settings");
    s.wait_for_view("settings");
    s.click("#backend-remote");
    s.type_into("#backend-url", base);
    s.click("#settings-save");
    s.wait_for_text("#backend-reachability", "Connected");
    s.click("#nav-signin");
}

fn switch_to(s: &mut Session, email: &str) {
    s.click("#switch-account");
    s.wait_for_view("signin");
    sign_in(s, email);
}

/// The staff member looks Contoso up, ticks it and fills in the contact details; returns the
/// preview's headline once it has appeared.
fn request_to_join_contoso(
    s: &mut Session,
    organisation_email: &str,
    expect_preview: &str,
) -> String {
    s.click("#nav-join");
    s.wait_for_view("join");
    s.type_into("#lookup-name", "Contoso");
    s.click("#lookup-submit");
    s.click_text("#lookup-results label", "Contoso Pty Ltd");
    s.screenshot("lookup-ticked");
    s.type_into("#join-first-name", "Sam");
    s.type_into("#join-last-name", "Staff");
    s.type_into("#join-email", organisation_email);
    s.type_into("#join-job-title", "Consultant");
    let preview = s.wait_for_text("#join-preview", expect_preview);
    s.show("#join-preview");
    s.screenshot("preview");
    s.click("#join-submit");
    preview
}

/// From the Mailbox, follows the newest verification link and completes the profile.
fn verify_from_mailbox_and_complete_profile(s: &mut Session) {
    s.click("#nav-mailbox");
    s.wait_for_view("mailbox");
    s.wait_for_text(
        "[data-testid=mail-subject]",
        "Verify your association with Contoso Pty Ltd",
    );
    s.screenshot("mailbox");
    s.click("[data-testid=mail-open-link]");
    s.wait_for_view("profile");
    s.wait_for_text("h1", "Complete your individual profile");
    s.type_into("#profile-phone", "+61 2 9000 0000");
    s.type_into("#profile-preferred_language", "en-AU");
    s.show("#profile-save");
    s.screenshot("complete-profile");
    s.click("#profile-save");
    s.wait_for_view("home");
    s.wait_for_text(
        "#status",
        "Your individual profile is complete and your association is active.",
    );
}

fn assert_active_member_of_contoso(s: &mut Session) {
    let row = s.wait_for_text("[data-testid=membership-row]", "Contoso Pty Ltd");
    assert!(
        row.contains("Active"),
        "the membership should be active, the row said {row:?}"
    );
    s.screenshot("active");
}

fn open_membership_centre(s: &mut Session) {
    s.click("#nav-centre");
    s.wait_for_view("centre");
}

#[test]
fn a_pre_approved_domain_lets_a_staff_member_join_at_once_and_become_active() {
    let dns = testkit::dns::DnsServer::start(&["contoso.com.au"]);
    let (mut s, _data) = launch_with(
        "a-pre-approved-domain",
        &[format!("--dns-resolver={}", dns.addr())],
    );
    s.screenshot("sign-in");

    // The PPC pre-approves a domain: Organisation Information → Manage Organisation Profile →
    // Your Organisation email domains → Update.
    sign_in(&mut s, PPC);
    open_membership_centre(&mut s);
    s.click("#centre-tab-info");
    s.click("#manage-profile");
    s.wait_for_text(
        "#manage-organisation-profile",
        "Your Organisation email domains",
    );
    // A refusal is shown as a sentence that says what to do.
    s.type_into("#domain-input", "gmail.com");
    s.click("#domain-update");
    s.wait_for_text("#alert", "Add your organisation's own domain instead.");
    s.screenshot("free-mail-domain-refused");
    s.type_into("#domain-input", "contoso.com.au");
    s.click("#domain-update");
    s.wait_for_text("[data-testid=domains]", "contoso.com.au");
    s.wait_for_text("#status", "contoso.com.au is added. Publish its DNS record");
    // Not proven yet: the policy tester says requests go to the PPC, and why.
    s.type_into("#policy-address", "someone@contoso.com.au");
    s.click("#policy-test");
    s.wait_for_text("#policy-result", "not proven");
    prove_domain(&mut s, &dns, "contoso.com.au");
    s.type_into("#policy-address", "someone@contoso.com.au");
    s.click("#policy-test");
    s.wait_for_text("#policy-result", "Accepted at once");
    s.show("#policy-result");
    s.screenshot("domain-pre-approved");

    // A staff member joins with an address at it: accepted at once, in the guide's words.
    switch_to(&mut s, STAFF);
    request_to_join_contoso(&mut s, "sam.staff@contoso.com.au", "accepted at once");
    let outcome = s.wait_for_text("#join-outcome", ACCEPTED);
    assert_eq!(
        outcome.trim(),
        ACCEPTED,
        "the outcome must be the guide's sentence, verbatim"
    );
    s.screenshot("accepted");

    verify_from_mailbox_and_complete_profile(&mut s);
    assert_active_member_of_contoso(&mut s);
}

#[test]
fn a_request_outside_the_approved_domains_waits_for_the_ppc_then_verifies() {
    let (mut s, _data) = launch("b-accepted-by-the-ppc");

    sign_in(&mut s, STAFF);
    request_to_join_contoso(
        &mut s,
        "sam@staff-contoso.net",
        "sent to your organisation's program administrator",
    );
    let outcome = s.wait_for_text("#join-outcome", PENDING);
    assert_eq!(
        outcome.trim(),
        PENDING,
        "the outcome must be the guide's sentence, verbatim"
    );
    s.screenshot("pending");
    s.click("#outcome-home");
    s.wait_for_text(
        "[data-testid=request-row]",
        "Sent to your organisation's program administrator",
    );
    s.screenshot("home-pending");

    // The PPC accepts it in the queue.
    switch_to(&mut s, PPC);
    open_membership_centre(&mut s);
    s.click("#centre-tab-requests");
    s.wait_for_text("[data-testid=queue-row]", "sam@staff-contoso.net");
    s.screenshot("queue");
    s.click("[data-testid=queue-accept]");
    s.wait_for_text("#status", "was accepted");
    s.screenshot("accepted-in-queue");

    // The staff member verifies and becomes active.
    switch_to(&mut s, STAFF);
    s.wait_for_text("[data-testid=request-row]", "Accepted");
    verify_from_mailbox_and_complete_profile(&mut s);
    assert_active_member_of_contoso(&mut s);
}

#[test]
fn a_denial_with_a_reason_is_shown_to_the_requester() {
    let (mut s, _data) = launch("c-denied");
    let reason = "Please use your contoso.com work address";

    sign_in(&mut s, STAFF);
    request_to_join_contoso(
        &mut s,
        "sam@staff-contoso.net",
        "sent to your organisation's program administrator",
    );
    s.wait_for_text("#join-outcome", PENDING);
    s.screenshot("pending");

    switch_to(&mut s, PPC);
    open_membership_centre(&mut s);
    s.click("#centre-tab-requests");
    s.wait_for_text("[data-testid=queue-row]", "sam@staff-contoso.net");
    s.type_into("[data-testid=queue-deny-reason]", reason);
    s.screenshot("deny-with-reason");
    s.click("[data-testid=queue-deny]");
    s.wait_for_text("#status", "was denied");

    switch_to(&mut s, STAFF);
    let row = s.wait_for_text("[data-testid=request-row]", "Denied");
    assert!(
        row.contains(reason),
        "the requester should see the reason; the row said {row:?}"
    );
    s.screenshot("denied-seen-by-requester");
}

/// The README's pictures of the main screens, at a small window size so the files stay small.
/// Takes the step's screenshot in the light theme and in the dark one (`<step>-light`,
/// `<step>-dark`), then puts the person's theme back.
fn screenshot_in_both_themes(s: &mut Session, step: &str) {
    let before = s.script(
        "return document.documentElement.dataset.theme ?? null;",
        serde_json::json!([]),
    );
    for theme in ["light", "dark"] {
        s.script_async(
            "const done = arguments[arguments.length - 1]; document.documentElement.dataset.theme = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done(null)));",
            serde_json::json!([theme]),
        );
        s.screenshot(&format!("{step}-{theme}"));
    }
    s.script(
        "const t = arguments[0]; if (t === null) delete document.documentElement.dataset.theme; else document.documentElement.dataset.theme = t; return null;",
        serde_json::json!([before]),
    );
}

/// The README's pictures (`scripts/e2e --readme-screenshots` copies them): Join with its preview,
/// the PPC's Inbox and Membership Centre queue, each in light and dark, and Home in a small window.
#[test]
fn readme_screenshots_of_the_main_screens() {
    let (mut s, _data) = launch("readme");
    sign_in(&mut s, STAFF);
    // Resizing before the first screen has painted leaves WebKitWebDriver with stale screenshots.
    s.set_window_size(1000, 680);
    s.click("#nav-join");
    s.wait_for_view("join");
    s.type_into("#lookup-name", "Contoso");
    s.click("#lookup-submit");
    s.click_text("#lookup-results label", "Contoso Pty Ltd");
    s.type_into("#join-job-title", "Consultant");
    s.type_into("#join-email", "sam.taylor@staff-contoso.net");
    s.wait_for_text("#join-preview", "program administrator");
    s.show("#join-preview");
    screenshot_in_both_themes(&mut s, "join-preview");
    s.click("#join-submit");
    s.wait_for_text("#join-outcome", PENDING);

    switch_to(&mut s, PPC);
    s.click("#nav-inbox");
    s.wait_for_view("inbox");
    s.wait_for_text(
        "[data-testid=inbox-entry][data-pending=true]",
        "Sam Taylor asks to associate with Contoso Pty Ltd",
    );
    s.show("#view h1");
    screenshot_in_both_themes(&mut s, "inbox");
    open_membership_centre(&mut s);
    s.click("#centre-tab-requests");
    s.wait_for_text("[data-testid=queue]", "sam.taylor@staff-contoso.net");
    s.show("[data-testid=queue-row]");
    screenshot_in_both_themes(&mut s, "membership-centre");

    s.set_window_size(800, 600);
    s.click("#nav-home");
    s.wait_for_view("home");
    s.screenshot("home-800x600");
}

/// Every screen of the navigation (its button, its view) and every tab of the Membership Centre.
const SCREENS: &[(&str, &str)] = &[
    ("home", "home"),
    ("join", "join"),
    ("mailbox", "mailbox"),
    ("verify", "verify"),
    ("privileges", "privileges"),
    ("inbox", "inbox"),
    ("help", "help"),
    ("settings", "settings"),
];
const CENTRE_TABS: &[&str] = &[
    "info",
    "requests",
    "invite",
    "members",
    "approvers",
    "privilege-requests",
    "audit",
];

/// Every screen opens without an error and has its heading, at 1280x800 and at 800x600.
#[test]
fn every_screen_opens_at_both_window_sizes() {
    let (mut s, _data) = launch("tour");
    sign_in(&mut s, PPC);
    for (width, height) in [(1280, 800), (800, 600)] {
        s.set_window_size(width, height);
        let size = format!("{width}x{height}");
        for &(nav, view) in SCREENS {
            s.click(&format!("#nav-{nav}"));
            s.wait_for_view(view);
            assert_no_error_and_a_heading(&s, view);
            s.screenshot(&format!("{view}-{size}"));
        }
        s.click("#nav-home");
        s.wait_for_view("home");
        s.click("[data-testid=open-profile]");
        s.wait_for_view("profile");
        assert_no_error_and_a_heading(&s, "profile");
        s.screenshot(&format!("profile-{size}"));
        open_membership_centre(&mut s);
        for tab in CENTRE_TABS {
            s.click(&format!("#centre-tab-{tab}"));
            s.wait_for_text(&format!("#centre-tab-{tab}[aria-current=page]"), "");
            s.wait_for_view("centre");
            assert_no_error_and_a_heading(&s, tab);
            s.screenshot(&format!("centre-{tab}-{size}"));
        }
    }
}

/// The dark theme's background (`--bg`), as the page computes it.
const DARK_BG: &str = "rgb(21, 23, 26)";
const LIGHT_BG: &str = "rgb(246, 247, 249)";

fn page_background(s: &Session) -> String {
    s.script(
        "return getComputedStyle(document.documentElement).backgroundColor;",
        serde_json::json!([]),
    )
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

fn css_width(s: &Session) -> f64 {
    s.script("return window.innerWidth;", serde_json::json!([]))
        .as_f64()
        .expect("a width")
}

/// Waits until the page is `expected` CSS pixels wide (give or take 3): the zoom has applied.
fn wait_for_css_width(s: &Session, expected: f64) {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let now = css_width(s);
        if (now - expected).abs() <= 3.0 {
            return;
        }
        assert!(
            std::time::Instant::now() < until,
            "the page stayed {now} CSS pixels wide, not {expected}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

const CTRL_PLUS: &str = "\u{E009}=\u{E000}";

/// Activates the control matching `css` from the page itself.
fn press(s: &Session, css: &str) {
    s.find(css);
    s.script(
        "document.querySelector(arguments[0]).click(); return null;",
        serde_json::json!([css]),
    );
}

/// Nothing on the screen reaches past the window's right edge: no scrolling sideways.
fn assert_reflows(s: &Session, screen: &str) {
    let found = s.script(
        "const w = document.documentElement.clientWidth;
         const wide = [...document.querySelectorAll('body *')].filter((el) => {
           const r = el.getBoundingClientRect();
           return r.width > 0 && r.right > w + 1 && el.closest('.skip-link, .visually-hidden') === null;
         }).slice(0, 5).map((el) => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${el.className} (${Math.round(el.getBoundingClientRect().right)} px)`);
         return {scroll: document.documentElement.scrollWidth, width: w, wide};",
        serde_json::json!([]),
    );
    let (scroll, width) = (
        found["scroll"].as_f64().unwrap(),
        found["width"].as_f64().unwrap(),
    );
    assert!(
        scroll <= width + 1.0 && found["wide"].as_array().is_some_and(Vec::is_empty),
        "{screen} scrolls sideways at 400 %: {scroll} CSS pixels of content in {width}; too wide: {}",
        found["wide"]
    );
}

/// Settings, Appearance: Dark applies at once and the next start paints dark from its first
/// frame; Ctrl + / Ctrl − / Ctrl 0 zoom the window and the level is kept; at 400 % (a 1280-pixel
/// window showing 320 CSS pixels) every screen reflows without scrolling sideways.
#[test]
fn the_theme_and_the_zoom_apply_at_once_are_kept_and_every_screen_reflows_at_400_percent() {
    let data = tempfile::Builder::new()
        .prefix("partner-desk-e2e-")
        .tempdir()
        .expect("a temp folder");
    let mut s = launch_in("appearance", data.path(), &[]);
    let desktop_dark = s.script(
        "return matchMedia('(prefers-color-scheme: dark)').matches;",
        serde_json::json!([]),
    );
    assert_eq!(
        page_background(&s),
        if desktop_dark == true {
            DARK_BG
        } else {
            LIGHT_BG
        },
        "System follows the desktop's light or dark setting"
    );
    // Dates follow the desktop's language and region (scripts/e2e runs as en_AU).
    let locale = partner_desk::appearance::desktop_locale(|name| std::env::var(name).ok());
    assert_eq!(
        s.script(
            "return window.__partnerdeskLocale ?? null;",
            serde_json::json!([])
        )
        .as_str(),
        locale.as_deref(),
        "the window is told the desktop's locale"
    );
    s.click("#nav-settings");
    s.wait_for_view("settings");
    s.click("#theme-dark");
    s.find("html[data-theme=dark]");
    assert_eq!(page_background(&s), DARK_BG, "Dark applies at once");
    s.wait_for_text("#status", "Dark theme.");
    s.screenshot("settings-dark");

    s.set_window_size(1280, 800);
    let full = css_width(&s);
    s.keys(CTRL_PLUS);
    s.wait_for_text("#zoom-level", "110 %");
    wait_for_css_width(&s, full / 1.1);
    s.keys("\u{E009}-\u{E000}");
    s.wait_for_text("#zoom-level", "100 %");
    wait_for_css_width(&s, full);

    s.click("#nav-signin");
    sign_in(&mut s, PPC);
    for level in ["110", "125", "150", "175", "200", "250", "300", "400"] {
        s.keys(CTRL_PLUS);
        s.wait_for_text("#status", &format!("Zoom {level} %."));
    }
    wait_for_css_width(&s, full / 4.0);
    // WebKitWebDriver aims its clicks as if the page were not zoomed: the page clicks for it.
    for &(nav, view) in SCREENS {
        press(&s, &format!("#nav-{nav}"));
        s.wait_for_view(view);
        assert_reflows(&s, view);
        s.screenshot(&format!("{view}-400-percent"));
    }
    press(&s, "#nav-centre");
    s.wait_for_view("centre");
    for tab in CENTRE_TABS {
        press(&s, &format!("#centre-tab-{tab}"));
        s.wait_for_text(&format!("#centre-tab-{tab}[aria-current=page]"), "");
        s.wait_for_view("centre");
        assert_reflows(&s, &format!("centre {tab}"));
        s.screenshot(&format!("centre-{tab}-400-percent"));
    }

    // Ctrl 0, then Ctrl + twice: 125 % is what the next start opens at.
    s.keys("\u{E009}0\u{E000}");
    s.wait_for_text("#status", "Zoom 100 %.");
    wait_for_css_width(&s, full);
    s.keys(CTRL_PLUS);
    s.keys(CTRL_PLUS);
    s.wait_for_text("#status", "Zoom 125 %.");
    wait_for_css_width(&s, full / 1.25);
    press(&s, "#sign-out");
    s.wait_for_view("signin");
    drop(s);

    let s = launch_in("appearance-again", data.path(), &[]);
    assert_eq!(
        s.script(
            "return document.documentElement.dataset.theme ?? null;",
            serde_json::json!([])
        ),
        "dark",
        "the next start is dark before its first screen"
    );
    assert_eq!(page_background(&s), DARK_BG);
    s.set_window_size(1280, 800);
    wait_for_css_width(&s, full / 1.25);
}

fn assert_no_error_and_a_heading(s: &Session, screen: &str) {
    let alert = s.script(
        "return document.getElementById('alert').textContent;",
        serde_json::json!([]),
    );
    assert_eq!(alert, "", "{screen} showed an error");
    let h1 = s.text("#view h1");
    assert!(!h1.trim().is_empty(), "{screen} has a heading");
}

/// Review privileges → request one → the PPC grants it → the member sees it; and the MCP ID.
#[test]
fn a_member_links_an_mcp_id_asks_for_a_privilege_and_the_ppc_grants_it() {
    let (mut s, _data) = launch("d-privileges-and-mcp-id");
    sign_in(&mut s, STAFF);
    request_to_join_contoso(&mut s, "sam.staff@contoso.com", "accepted at once");
    s.wait_for_text("#join-outcome", ACCEPTED);
    verify_from_mailbox_and_complete_profile(&mut s);

    s.click("[data-testid=open-profile]");
    s.wait_for_view("profile");
    s.type_into("#profile-mcp-id", "1234567");
    s.click("#mcp-link");
    s.wait_for_text("#status", "Your MCP ID was added");
    s.show("#mcp-heading");
    s.screenshot("mcp-id-linked");

    s.click("#nav-privileges");
    s.wait_for_view("privileges");
    s.type_into("#privilege-note-action_pack", "For our demo lab");
    s.click("[data-testid=privilege-request-action_pack]");
    s.wait_for_text("#status", "Your request for Action Pack was sent");
    s.screenshot("privilege-requested");

    switch_to(&mut s, PPC);
    open_membership_centre(&mut s);
    s.click("#centre-tab-privilege-requests");
    s.wait_for_text("[data-testid=privilege-request-row]", "For our demo lab");
    s.screenshot("privilege-requests");
    s.click("[data-testid=privilege-request-grant]");
    s.wait_for_text("#status", "Action Pack was granted");
    s.click("#centre-tab-members");
    s.wait_for_text(
        "[data-testid=member-row][data-email=\"sam.staff@contoso.com\"]",
        "Action Pack",
    );
    s.screenshot("members");

    switch_to(&mut s, STAFF);
    s.click("#nav-privileges");
    s.wait_for_view("privileges");
    s.wait_for_text(
        "[data-testid=privilege][data-privilege=action_pack]",
        "You have this privilege.",
    );
    s.screenshot("privilege-held");
}

/// Settings point the window at the real server binary on a loopback port: the screen says it
/// answers, and signing in and looking up organisations then go to the server.
#[test]
fn settings_point_the_app_at_a_server() {
    let mut server = testkit::TestServer::start();
    let (mut s, _data) = launch("server");
    s.click("#nav-settings");
    s.wait_for_view("settings");
    s.wait_for_text("#backend-reachability", "Ready");
    s.click("#backend-remote");
    s.type_into("#backend-url", server.base());
    s.click("#settings-save");
    s.wait_for_text("#backend-reachability", "Connected");
    s.wait_for_text("[data-testid=settings-active]", server.base());
    s.screenshot("settings-server");
    s.click("#nav-signin");
    sign_in(&mut s, PPC);
    s.click("#nav-join");
    s.wait_for_view("join");
    s.type_into("#lookup-name", "Fabrikam");
    s.click("#lookup-submit");
    s.wait_for_text("#lookup-results", "Fabrikam");
    s.screenshot("lookup-on-server");

    // The server goes away: Home still opens, from what this computer kept, and says so.
    server.kill();
    s.click("#nav-home");
    s.wait_for_text(
        "[data-testid=home-offline]",
        "The server cannot be reached, so this is what this computer kept",
    );
    s.wait_for_text("[data-testid=memberships]", "Contoso Pty Ltd");
    s.wait_for_text("#sync-connection", "Offline");
    s.screenshot("home-offline");
    server.restart();
    s.click("#nav-help");
    s.wait_for_view("help");
    s.click("#nav-home");
    s.wait_for_text("#sync-connection", "Online");
    s.wait_for_text("#view", "You have no open association requests.");
}

/// A request that waits for the PPC reaches them on the desktop — a Notify call to the session
/// bus's notification server (python3-dbusmock) whose body names the requester, with Approve, Deny and
/// Open — and in the Inbox with a badge; Approve in the Inbox accepts it and takes the desktop
/// notification back.
#[test]
fn the_ppc_is_notified_of_a_request_and_approves_it_from_the_inbox() {
    let server = notification_server::NotificationServer::start();
    let (mut s, _data) = launch("e-notified");

    sign_in(&mut s, STAFF);
    request_to_join_contoso(
        &mut s,
        "sam@staff-contoso.net",
        "sent to your organisation's program administrator",
    );
    s.wait_for_text("#join-outcome", PENDING);

    switch_to(&mut s, PPC);
    let call = server.wait_for_notify("Sam Staff", std::time::Duration::from_secs(30));
    assert_eq!(call.app_name, "Partner Desk");
    assert_eq!(call.summary, "New request to associate");
    assert!(
        call.body.contains("Sam Staff") && call.body.contains("sam@staff-contoso.net"),
        "{call:?}"
    );
    assert_eq!(
        call.actions,
        ["approve", "Approve", "deny", "Deny", "default", "Open"]
    );
    s.wait_for_text("[data-testid=inbox-badge]", "1");
    assert_eq!(
        s.accessible_name("#nav-inbox"),
        "Inbox 1 unread, 1 waiting for your decision"
    );
    s.screenshot("badge");

    s.click("#nav-inbox");
    s.wait_for_view("inbox");
    s.wait_for_text(
        "[data-testid=inbox-entry][data-pending=true]",
        "Sam Staff asks to associate with Contoso Pty Ltd",
    );
    s.screenshot("inbox");
    s.click("[data-testid=inbox-approve]");
    s.wait_for_text("#status", "The request from Sam Staff was accepted.");
    s.wait_for_text("[data-testid=inbox-outcome]", "was accepted");
    server.wait_for_call("CloseNotification", std::time::Duration::from_secs(10));
    let badge_gone = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while s.script(
        "return document.querySelector('[data-testid=inbox-badge]') !== null;",
        serde_json::json!([]),
    ) == serde_json::json!(true)
    {
        assert!(
            std::time::Instant::now() < badge_gone,
            "the badge should go once nothing is unread"
        );
        std::thread::sleep(std::time::Duration::from_millis(150));
    }
    s.screenshot("approved");

    // The Membership Centre agrees: nothing waits any more.
    open_membership_centre(&mut s);
    s.click("#centre-tab-requests");
    s.wait_for_text("[data-testid=queue-empty]", "No requests in this list.");
}

/// Text a requester typed, made of markup, entities, quotes and an `<img>` with a handler.
const HOSTILE_FIRST: &str = r#"<b>Eve</b> <a href="https://evil.invalid/x">click</a>"#;
/// The hostile part of the last name; the whole name pads it to the longest a name may be (100).
const HOSTILE_LAST: &str = r#"&amp; "Q" 'S' <img src=x onerror=alert(1)>"#;
const HOSTILE_EMAIL: &str = "o'neil&eve@staff-contoso.net";

fn hostile_last_name() -> String {
    let name = format!("{HOSTILE_LAST} Featherstonehaugh-Cholmondeley-Marjoribanks-Wolfeschlegel");
    assert_eq!(
        name.chars().count(),
        100,
        "the longest name a person may have"
    );
    name
}

/// What the element matching `css` holds as text (its `textContent`), and every live element
/// inside it that markup in the data could have made: a `b`, `i`, `u`, `img`, `a` with an
/// `href`, `script`, `iframe`, `object`, `embed` or `svg`, or anything with an `on…` attribute.
fn text_and_live_markup(s: &Session, css: &str) -> (String, Vec<String>) {
    let found = s.script(
        r#"const root = document.querySelector(arguments[0]);
if (!root) return null;
const tags = ['B', 'I', 'U', 'IMG', 'SCRIPT', 'IFRAME', 'OBJECT', 'EMBED', 'SVG'];
const live = [...root.querySelectorAll('*')].filter((el) =>
  tags.includes(el.tagName.toUpperCase())
  || (el.matches('a[href]'))
  || [...el.attributes].some((a) => a.name.toLowerCase().startsWith('on')));
return {
  text: root.textContent,
  live: live.map((el) => `<${el.tagName.toLowerCase()} ${[...el.attributes].map((a) => `${a.name}="${a.value}"`).join(' ')}>`),
};"#,
        serde_json::json!([css]),
    );
    assert!(!found.is_null(), "nothing matches `{css}`");
    let text = found["text"].as_str().unwrap_or_default().to_owned();
    let live = found["live"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    (text, live)
}

/// The element matching `css` shows every one of `texts` as text, and nothing in it is markup.
fn assert_shows_as_text(s: &Session, css: &str, place: &str, texts: &[&str]) {
    let (text, live) = text_and_live_markup(s, css);
    for t in texts {
        assert!(
            text.contains(t),
            "{place} should show {t:?} literally; it showed {text:?}"
        );
    }
    assert!(
        live.is_empty(),
        "{place} has live elements made from typed text: {live:?}"
    );
}

/// Markup entities decoded, the way a notification server that reads `body-markup` shows them.
fn unescape_markup(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let end = tail
            .find(';')
            .unwrap_or_else(|| panic!("a bare & in the body: {body:?}"));
        let entity = &tail[1..end];
        let decoded = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32)
                .unwrap_or_else(|| panic!("&{entity}; is not an entity of the markup: {body:?}")),
        };
        out.push(decoded);
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Names and an address made of markup reach the PPC as text everywhere: the desktop
/// notification (from a server that reads `body-markup`) has only the app's words in its summary
/// and the typed text escaped in its body, and the Inbox, the Membership Centre's queue, the
/// announcement after denying and the audit history show it literally, with no element made
/// from it.
#[test]
fn text_other_people_typed_shows_as_text_in_the_notification_the_inbox_the_queue_and_the_audit() {
    let server = notification_server::NotificationServer::start();
    let (mut s, _data) = launch("f-hostile-text");
    let last = hostile_last_name();
    let name = format!("{HOSTILE_FIRST} {last}");

    sign_in(&mut s, STAFF);
    s.click("#nav-join");
    s.wait_for_view("join");
    s.type_into("#lookup-name", "Contoso");
    s.click("#lookup-submit");
    s.click_text("#lookup-results label", "Contoso Pty Ltd");
    s.type_into("#join-first-name", HOSTILE_FIRST);
    s.type_into("#join-last-name", &last);
    s.type_into("#join-email", HOSTILE_EMAIL);
    s.wait_for_text(
        "#join-preview",
        "sent to your organisation's program administrator",
    );
    s.show("#join-preview");
    s.screenshot("hostile-request");
    s.click("#join-submit");
    s.wait_for_text("#join-outcome", PENDING);

    // The desktop notification: the summary is the app's own words, the body the typed text
    // escaped, so a server that reads markup shows it as it was typed.
    switch_to(&mut s, PPC);
    let call = server.wait_for_notify("staff-contoso.net", std::time::Duration::from_secs(30));
    assert_eq!(call.summary, "New request to associate", "{call:#?}");
    for escaped in [
        "&lt;b&gt;Eve&lt;/b&gt;",
        "&lt;a href=",
        "&amp;amp;",
        "&lt;img src=x",
        "&amp;eve@staff-contoso.net",
    ] {
        assert!(
            call.body.contains(escaped),
            "the body should carry {escaped:?}: {call:#?}"
        );
    }
    assert!(
        !call.body.contains('<') && !call.body.contains('>'),
        "no tag may reach the notification server: {:?}",
        call.body
    );
    let shown = unescape_markup(&call.body);
    for typed in [HOSTILE_FIRST, HOSTILE_LAST, HOSTILE_EMAIL] {
        assert!(
            shown.contains(typed),
            "the notification should show {typed:?} as typed; it shows {shown:?}"
        );
    }
    assert_eq!(
        call.actions,
        ["approve", "Approve", "deny", "Deny", "default", "Open"]
    );

    // The Inbox.
    s.wait_for_text("[data-testid=inbox-badge]", "1");
    s.click("#nav-inbox");
    s.wait_for_view("inbox");
    s.wait_for_text(
        "[data-testid=inbox-entry][data-pending=true]",
        "staff-contoso.net",
    );
    s.screenshot("inbox");
    let view = s.script(
        "return document.getElementById('view').textContent;",
        serde_json::json!([]),
    );
    assert!(
        !view.as_str().unwrap_or_default().contains("null"),
        "no empty note shows as \"null\": {view}"
    );
    assert_shows_as_text(
        &s,
        "[data-testid=inbox-list]",
        "the Inbox",
        &[HOSTILE_FIRST, &last, HOSTILE_EMAIL],
    );

    // The Membership Centre's queue; the PPC denies it, quoting the name in the reason, which
    // the audit history keeps.
    open_membership_centre(&mut s);
    s.click("#centre-tab-requests");
    s.wait_for_text("[data-testid=queue-row]", "staff-contoso.net");
    s.screenshot("queue");
    assert_shows_as_text(
        &s,
        "[data-testid=queue]",
        "the queue",
        &[&name, HOSTILE_EMAIL],
    );
    let reason = format!("Please use your contoso.com address, {name}");
    s.type_into("[data-testid=queue-deny-reason]", &reason);
    s.click("[data-testid=queue-deny]");
    s.wait_for_text("#status", "was denied");
    assert_shows_as_text(&s, "#status", "the announcement", &[&name]);
    s.click("#queue-status option[value=denied]");
    s.wait_for_text("[data-testid=queue-row][data-status=denied]", "Denied");
    s.screenshot("denied-in-queue");
    let overflow = s.script(
        "const d = document.documentElement; return d.scrollWidth - d.clientWidth;",
        serde_json::json!([]),
    );
    assert!(
        overflow.as_i64().is_some_and(|px| px <= 0),
        "a long name wraps instead of widening the page ({overflow} px too wide)"
    );
    assert_shows_as_text(
        &s,
        "[data-testid=queue]",
        "the denied requests",
        &[&name, HOSTILE_EMAIL, &reason],
    );

    // The audit history.
    s.click("#centre-tab-audit");
    s.wait_for_text("[data-testid=audit]", "association request: denied");
    s.screenshot("audit");
    assert_shows_as_text(&s, "[data-testid=audit]", "the audit history", &[&reason]);

    let alert = s.script(
        "return document.getElementById('alert').textContent;",
        serde_json::json!([]),
    );
    assert_eq!(alert, "", "no step showed an error");
}

/// *Work offline* in the header keeps a profile edit on this computer — the header counts it —
/// until it is turned off, when it syncs by itself.
#[test]
fn working_offline_keeps_an_edit_here_until_it_is_turned_off() {
    let (mut s, _data) = launch("offline");
    sign_in(&mut s, PPC);
    s.wait_for_text("#sync-connection", "Online");
    s.wait_for_text("#sync-unsynced", "All changes synced");
    s.click("#work-offline");
    s.wait_for_text("#sync-connection", "Working offline");
    s.click("[data-testid=open-profile]");
    s.wait_for_view("profile");
    s.type_into("#profile-job_title", "Consultant on a plane");
    s.click("#profile-save");
    s.wait_for_text(
        "#status",
        "Saved on this computer; it will sync when you are back online.",
    );
    s.wait_for_text("#sync-unsynced", "1 change not yet synced");
    s.screenshot("saved-offline");
    s.click("#work-offline");
    s.wait_for_text("#sync-connection", "Online");
    s.wait_for_text("#sync-unsynced", "All changes synced");
    s.screenshot("synced");
}

/// In the Membership Centre's open domain list: reads the record shown for `domain`, publishes it
/// on `dns` as the PPC would at their DNS provider, chooses Check now and waits for Verified.
fn prove_domain(s: &mut Session, dns: &testkit::dns::DnsServer, domain: &str) {
    let card = format!("[data-testid=domain-proof][data-domain=\"{domain}\"]");
    s.wait_for_text(
        &format!("{card} [data-testid=domain-status]"),
        "Waiting for its DNS record",
    );
    s.show(&card);
    s.screenshot("domain-pending");
    let read = |field: &str| {
        s.script(
            "return document.querySelector(arguments[0]).value",
            serde_json::json!([format!("{card} [data-testid={field}]")]),
        )
        .as_str()
        .expect("the record field holds text")
        .to_owned()
    };
    let (name, value) = (read("record-name"), read("record-value"));
    assert_eq!(name, format!("_partner-desk-challenge.{domain}"));
    assert!(value.len() >= 32, "{value}");

    dns.set_txt(&name, &[&[&value]]);
    s.click(&format!("{card} [data-testid=domain-check]"));
    s.wait_for_text("#status", &format!("Checked {domain}: Verified"));
    s.wait_for_text(&format!("{card} [data-testid=domain-status]"), "Verified");
    s.wait_for_text(&format!("{card} [data-testid=domain-seen]"), "Found");
    s.show(&card);
    s.screenshot("domain-verified");
}

#[test]
fn the_ppc_proves_a_domain_by_publishing_its_dns_record_and_checking_now() {
    // The app's domain proof asks this authoritative server on loopback, where the test
    // publishes the record as the PPC would at their DNS provider.
    let dns = testkit::dns::DnsServer::start(&["contoso.net"]);
    let (mut s, _data) = launch_with("domain-proof", &[format!("--dns-resolver={}", dns.addr())]);
    sign_in(&mut s, PPC);
    open_membership_centre(&mut s);
    s.click("#manage-profile");
    s.find("#domain-input");
    s.type_into("#domain-input", "contoso.net");
    s.click("#domain-update");
    s.wait_for_text("#status", "Publish its DNS record");
    prove_domain(&mut s, &dns, "contoso.net");

    // The policy tester now accepts an address at the domain at once, and the inbox has the news.
    s.type_into("#policy-address", "kim@contoso.net");
    s.click("#policy-test");
    s.wait_for_text("#policy-result", "Accepted at once");
    s.wait_for_text("#nav-inbox", "1");
}

#[test]
fn the_ppc_names_a_delegate_who_approves_a_new_request_from_their_inbox() {
    let server = notification_server::NotificationServer::start();
    let (mut s, _data) = launch("e-delegate");

    // Sam joins Contoso (pre-approved) and becomes an active member.
    sign_in(&mut s, STAFF);
    request_to_join_contoso(&mut s, "sam@contoso.com", "accepted");
    s.wait_for_text("#join-outcome", ACCEPTED);
    verify_from_mailbox_and_complete_profile(&mut s);

    // The PPC is away from today for a week, and names Sam.
    switch_to(&mut s, PPC);
    open_membership_centre(&mut s);
    s.wait_for_text(
        "[data-testid=lone-approver-warning]",
        "is the only person who can approve",
    );
    s.click("#centre-tab-approvers");
    s.wait_for_text("#approvers-heading", "Approvers");
    s.script(
        "const pick = document.getElementById('delegate-member');
         pick.value = [...pick.options].find((o) => o.text.includes('sam@contoso.com')).value;
         const until = new Date(); until.setDate(until.getDate() + 7);
         const pad = (n) => String(n).padStart(2, '0');
         document.getElementById('delegate-until').value =
           `${until.getFullYear()}-${pad(until.getMonth() + 1)}-${pad(until.getDate())}`;",
        serde_json::json!([]),
    );
    s.show("[data-testid=delegation-form]");
    s.screenshot("delegation-form");
    s.click("[data-testid=delegate-save]");
    s.wait_for_text("#status", "now decides Contoso Pty Ltd\u{2019}s requests");
    s.wait_for_text("[data-testid=delegation-current]", "decides requests for");
    s.screenshot("delegation-set");

    // A new request arrives while the PPC is away.
    switch_to(&mut s, "ppc@fabrikam.com");
    request_to_join_contoso(
        &mut s,
        "fab@partner-fabrikam.net",
        "sent to your organisation's program administrator",
    );
    s.wait_for_text("#join-outcome", PENDING);

    // Sam, the delegate, is told and approves it from the inbox.
    switch_to(&mut s, STAFF);
    s.wait_for_text(
        "[data-testid=delegation-note]",
        "You decide Contoso Pty Ltd\u{2019}s association requests",
    );
    let call = server.wait_for_notify(
        "fab@partner-fabrikam.net",
        std::time::Duration::from_secs(30),
    );
    assert_eq!(call.summary, "New request to associate");
    s.click("#nav-inbox");
    s.wait_for_view("inbox");
    s.wait_for_text(
        "[data-testid=inbox-entry][data-pending=true]",
        "asks to associate with Contoso Pty Ltd",
    );
    s.screenshot("delegate-inbox");
    s.click("[data-testid=inbox-approve]");
    s.wait_for_text("[data-testid=inbox-outcome]", "was accepted");

    // The decision records on whose behalf it was made: the PPC's audit shows who decided.
    open_membership_centre(&mut s);
    s.wait_for_text("[data-testid=centre-delegate-note]", "as a delegate");
    s.click("#centre-tab-requests");
    s.wait_for_text("[data-testid=queue-empty]", "No requests in this list.");
    switch_to(&mut s, PPC);
    open_membership_centre(&mut s);
    s.click("#centre-tab-requests");
    s.click("#queue-status");
    s.script(
        "const f = document.getElementById('queue-status'); f.value = 'accepted'; f.dispatchEvent(new Event('change'));",
        serde_json::json!([]),
    );
    s.wait_for_text("[data-testid=queue-row]", "fab@partner-fabrikam.net");
    s.wait_for_text("[data-testid=queue-decided-by]", "for Priya Patel");
    s.screenshot("decided-on-behalf");
}

/// Asks to join `organisation` as the signed-in person, with `address` as the Organisation Email.
fn request_to_join(s: &mut Session, organisation: &str, address: &str) {
    s.click("#nav-join");
    s.wait_for_view("join");
    s.type_into("#lookup-name", organisation);
    s.click("#lookup-submit");
    s.click_text("#lookup-results label", organisation);
    s.type_into("#join-email", address);
    s.wait_for_text("#join-preview", "program administrator");
    s.click("#join-submit");
    s.wait_for_text("#join-outcome", PENDING);
}

/// The text of each option of the select matching `css`.
fn options(s: &Session, css: &str) -> Vec<String> {
    let found = s.script(
        "return [...document.querySelector(arguments[0]).options].map((o) => o.text);",
        serde_json::json!([css]),
    );
    found
        .as_array()
        .expect("a list of options")
        .iter()
        .map(|o| o.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Waits until the focus is in the queue row of the request from `address`.
fn wait_for_focus_on_request(s: &Session, address: &str, step: &str) {
    let until = std::time::Instant::now() + webdriver::WAIT;
    loop {
        let focused = s.script(
            "return document.activeElement.closest('[data-testid=queue-row]')?.dataset.email ?? document.activeElement.tagName;",
            serde_json::json!([]),
        );
        if focused == address {
            return;
        }
        assert!(
            std::time::Instant::now() < until,
            "after {step}, focus should be on the request from {address}; it is on {focused}"
        );
        std::thread::sleep(std::time::Duration::from_millis(150));
    }
}

/// A PPC of seven organisations sees where requests wait: counts in the picker, one queue of them
/// all (where the Membership Centre opens), a decision there keeps their place, and the Inbox's
/// Open lands on the right organisation and request.
#[test]
fn a_ppc_of_several_organisations_sees_where_requests_wait_and_decides_them_in_one_queue() {
    let (mut s, _data) = launch("several-organisations");
    sign_in(&mut s, STAFF);
    request_to_join(&mut s, "Fabrikam Consulting", "sam@sam-fabrikam.net");
    request_to_join(&mut s, "Northwind Traders", "sam@sam-northwind.net");

    switch_to(&mut s, "ppc@fabrikam.com");
    open_membership_centre(&mut s);
    s.wait_for_text(
        "#queue-heading",
        "Requests waiting in all your organisations",
    );
    let picker = options(&s, "#centre-org");
    for expected in [
        "All organisations (2 waiting)",
        "Fabrikam Consulting (1 waiting)",
        "Northwind Traders (1 waiting)",
        "Tailspin Toys (none waiting)",
    ] {
        assert!(
            picker.iter().any(|o| o == expected),
            "the picker should offer {expected:?}; it offers {picker:?}"
        );
    }
    let rows = s.text("[data-testid=queue]");
    assert!(
        rows.contains("Fabrikam Consulting") && rows.contains("Northwind Traders"),
        "the combined queue names each request's organisation: {rows}"
    );
    s.screenshot("combined-queue");
    let mut audit = accessibility::Audit::new();
    audit.check(&mut s, "centre, every organisation's queue");
    audit.finish();

    // Accepting one from the combined queue keeps the person's place: the other is next.
    s.click(
        "[data-testid=queue-row][data-email=\"sam@sam-fabrikam.net\"] [data-testid=queue-accept]",
    );
    s.wait_for_text("#status", "The request from Sam Taylor was accepted.");
    wait_for_focus_on_request(&s, "sam@sam-northwind.net", "accepting the other one");
    let picker = options(&s, "#centre-org");
    assert!(
        picker.iter().any(|o| o == "All organisations (1 waiting)")
            && picker
                .iter()
                .any(|o| o == "Fabrikam Consulting (none waiting)"),
        "the counts follow the decision: {picker:?}"
    );

    // The Inbox's Open lands on Northwind's own queue, on that request.
    s.click("#nav-inbox");
    s.wait_for_view("inbox");
    s.wait_for_text(
        "[data-testid=inbox-entry][data-pending=true]",
        "asks to associate with Northwind Traders",
    );
    s.click("[data-testid=inbox-entry][data-pending=true] [data-testid=inbox-open]");
    s.wait_for_view("centre");
    s.find("#centre-tab-requests[aria-current=page]");
    let selected = s.script(
        "const p = document.getElementById('centre-org'); return p.options[p.selectedIndex].text;",
        serde_json::json!([]),
    );
    assert_eq!(selected, "Northwind Traders (1 waiting)");
    wait_for_focus_on_request(&s, "sam@sam-northwind.net", "Open in the Inbox");
    s.screenshot("opened-from-inbox");
}

/// The whole guide with the app pointed at haproxy in front of two server instances on one
/// PostgreSQL database (as `scripts/cluster` starts them): the request, the PPC's inbox (its event
/// stream held on either instance), approval, the verification mail (sent once, by whichever
/// instance's worker), verification and the profile.
#[test]
fn the_whole_guide_works_through_a_balancer_in_front_of_two_instances() {
    let a = testkit::TestServer::start_on_postgres(&["--trust-forwarded-for"]);
    let b = a.another_instance();
    let balancer = testkit::balancer::Balancer::start(&[a.addr(), b.addr()]);
    let (mut s, _data) = launch("cluster");
    use_server(&mut s, &balancer.base());
    sign_in(&mut s, STAFF);
    request_to_join_contoso(
        &mut s,
        "sam.staff@staff-contoso.net",
        "program administrator",
    );
    s.wait_for_text("#join-outcome", PENDING);

    switch_to(&mut s, PPC);
    s.click("#nav-inbox");
    s.wait_for_view("inbox");
    s.wait_for_text(
        "[data-testid=inbox-entry][data-pending=true]",
        "asks to associate with Contoso Pty Ltd",
    );
    s.screenshot("inbox-through-the-balancer");
    s.click("[data-testid=inbox-entry][data-pending=true] [data-testid=inbox-approve]");
    s.wait_for_text("#status", "was accepted");

    switch_to(&mut s, STAFF);
    let mail = a.mail.wait_for("sam.staff@staff-contoso.net", 1);
    let body = &mail[0].body;
    let marker = "partnerdesk://verify?token=";
    let code: String = body[body.find(marker).expect("a verification link") + marker.len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    s.click("#nav-verify");
    s.wait_for_view("verify");
    s.type_into("#verify-input", &code);
    s.click("#verify-submit");
    s.wait_for_view("profile");
    s.wait_for_text("h1", "Complete your individual profile");
    s.type_into("#profile-phone", "+61 2 9000 0000");
    s.type_into("#profile-preferred_language", "en-AU");
    s.click("#profile-save");
    s.wait_for_view("home");
    s.wait_for_text(
        "#status",
        "Your individual profile is complete and your association is active.",
    );
    assert_active_member_of_contoso(&mut s);
    assert_eq!(
        a.mail.all().len(),
        1,
        "one verification mail, sent once by one of the two instances"
    );
}
