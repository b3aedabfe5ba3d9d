//! The whole guide with the keyboard alone: Tab, Shift+Tab, Enter, Space and typing, sent as key
//! actions to whatever has the focus (nothing is clicked, nothing is aimed at an element). The
//! test only reads where the focus is, and fails if Tab cannot reach a control (a key trap, or a
//! control left out of the tab order), or if focus is not where a person expects after a step.
use serde_json::json;

use super::webdriver::Session;
use super::*;

const TAB: &str = "\u{E004}";
const SHIFT_TAB: &str = "\u{E008}\u{E004}";
const ENTER: &str = "\u{E007}";
const SPACE: &str = "\u{E00D}";
/// More Tab presses than any screen has stops before a control.
const MOST_TABS: usize = 80;

/// What has the focus, as a person would describe it: its tag, id or test id, and its text.
fn focused(s: &Session) -> String {
    s.script(
        r#"
const el = document.activeElement;
if (!el || el === document.body) return 'nothing (the page itself)';
const id = el.id ? `#${el.id}` : el.dataset.testid ? `[${el.dataset.testid}]` : '';
const text = (el.getAttribute('aria-label') || el.textContent || el.value || '').trim().slice(0, 40);
return `${el.tagName.toLowerCase()}${id} "${text}"`;
"#,
        json!([]),
    )
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

fn focus_matches(s: &Session, css: &str) -> bool {
    s.script(
        "return document.activeElement !== null && document.activeElement.matches(arguments[0]);",
        json!([css]),
    ) == true
}

/// Asserts the focus is on `css` after `step`.
fn assert_focus(s: &Session, css: &str, step: &str) {
    // The screen may still be rendering: give it the same time as any other wait.
    let until = std::time::Instant::now() + webdriver::WAIT;
    while !focus_matches(s, css) {
        assert!(
            std::time::Instant::now() < until,
            "after {step}, focus should be on `{css}`; it is on {}",
            focused(s)
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Presses Tab (or Shift+Tab) until the focus is on `css`. Fails when the focus stops moving (a
/// key trap) or never gets there, and says where it went.
fn tab_to_with(s: &Session, css: &str, key: &str) {
    s.find(css);
    let mut path = vec![focused(s)];
    for _ in 0..MOST_TABS {
        if focus_matches(s, css) {
            return;
        }
        s.press_keys(key);
        let now = focused(s);
        let stuck = path.len() >= 3 && path[path.len() - 2..].iter().all(|p| *p == now);
        path.push(now);
        assert!(
            !stuck,
            "the focus is trapped: Tab left it on {}; on the way to `{css}` it went:\n  {}",
            path.last().unwrap(),
            path.join("\n  ")
        );
    }
    panic!(
        "{MOST_TABS} presses of Tab did not reach `{css}`; the focus went:\n  {}",
        path.join("\n  ")
    );
}

fn tab_to(s: &Session, css: &str) {
    tab_to_with(s, css, TAB);
}

fn back_tab_to(s: &Session, css: &str) {
    tab_to_with(s, css, SHIFT_TAB);
}

/// Signs in by keys: Tab to the email, type, Tab to the password, type, Enter.
fn sign_in_by_keys(s: &mut Session, email: &str) {
    s.wait_for_view("signin");
    tab_to(s, "#signin-email");
    s.press_keys(email);
    s.press_keys(TAB);
    assert_focus(s, "#signin-password", "Tab from the email");
    s.press_keys(&format!("{DEMO_PASSWORD}{ENTER}"));
    s.wait_for_view("home");
    s.wait_for_text("#account-name", email);
    assert_focus(s, "#view h1", "signing in");
}

/// Switch account is in the header, before the screen: Shift+Tab goes back to it.
fn switch_by_keys(s: &mut Session, email: &str) {
    back_tab_to(s, "#switch-account");
    s.press_keys(ENTER);
    sign_in_by_keys(s, email);
}

/// Opens a screen from the navigation: Shift+Tab back to its button (the navigation comes before
/// the screen), Enter; focus lands on the new screen's heading.
fn open_by_keys(s: &mut Session, nav: &str, view: &str) {
    back_tab_to(s, &format!("#nav-{nav}"));
    s.press_keys(ENTER);
    s.wait_for_view(view);
    assert_focus(s, "#view h1", &format!("opening {view}"));
}

/// Join an existing organisation → Lookup → tick → Organisation Email → Submit, by keys.
fn request_to_join_by_keys(s: &mut Session, address: &str) {
    open_by_keys(s, "join", "join");
    tab_to(s, "#lookup-name");
    s.press_keys(&format!("Contoso{ENTER}"));
    s.wait_for_text("#status", "organisations found");
    assert_focus(
        s,
        "#lookup-name",
        "Lookup (the focus stays where the person typed)",
    );
    tab_to(s, "[data-testid=org-pick][data-name=\"Contoso Pty Ltd\"]");
    s.press_keys(SPACE);
    s.find("#join-contact:not([hidden])");
    assert_focus(
        s,
        "[data-testid=org-pick][data-name=\"Contoso Pty Ltd\"]:checked",
        "ticking Contoso with Space",
    );
    // First and last name come from the account; the person adds the Organisation Email.
    tab_to(s, "#join-email");
    s.press_keys(address);
    s.wait_for_text("#join-preview", "program administrator");
    tab_to(s, "#join-submit");
    s.screenshot("join-by-keys");
    s.press_keys(ENTER);
    s.wait_for_text("#join-outcome", PENDING);
    assert_focus(s, "#outcome-heading", "submitting the request");
}

/// The whole guide by keyboard: a staff member signs in, joins Contoso (Lookup, tick, Organisation
/// Email, submit); the PPC accepts the request from the Membership Centre's queue; the staff member
/// verifies from the Mailbox and completes their profile; someone new creates an account and asks
/// too, and the PPC accepts that request from the Inbox.
#[test]
fn the_whole_guide_works_with_the_keyboard_alone() {
    let (mut s, _data) = launch("keyboard-guide");
    assert_focus(&s, "#view h1", "the app opens");

    sign_in_by_keys(&mut s, STAFF);
    request_to_join_by_keys(&mut s, "sam.taylor@staff-contoso.net");

    // The PPC accepts it from the queue; focus stays in the list.
    switch_by_keys(&mut s, PPC);
    open_by_keys(&mut s, "centre", "centre");
    tab_to(&s, "#centre-tab-requests");
    s.press_keys(ENTER);
    s.find("#centre-tab-requests[aria-current=page]");
    tab_to(
        &s,
        "[data-testid=queue-row][data-email=\"sam.taylor@staff-contoso.net\"] [data-testid=queue-accept]",
    );
    s.screenshot("queue-by-keys");
    s.press_keys(ENTER);
    s.wait_for_text("#status", "was accepted");
    assert_focus(
        &s,
        "#queue-heading, [data-testid=queue-accept]",
        "accepting from the queue (the next request, or the list's heading when none is left)",
    );

    // The staff member verifies from the Mailbox and completes the profile.
    switch_by_keys(&mut s, STAFF);
    open_by_keys(&mut s, "mailbox", "mailbox");
    tab_to(&s, "[data-testid=mail-open-link]");
    s.press_keys(ENTER);
    s.wait_for_view("profile");
    s.wait_for_text("h1", "Complete your individual profile");
    assert_focus(&s, "#view h1", "following the verification link");
    tab_to(&s, "#profile-phone");
    s.press_keys("+61 2 9000 0000");
    tab_to(&s, "#profile-preferred_language");
    s.press_keys(&format!("en-AU{ENTER}"));
    s.wait_for_view("home");
    s.wait_for_text(
        "#status",
        "Your individual profile is complete and your association is active.",
    );
    assert_focus(&s, "#view h1", "completing the profile");
    assert_active_member_of_contoso(&mut s);

    // Someone new creates an account by keys and asks to join.
    back_tab_to(&s, "#sign-out");
    s.press_keys(ENTER);
    s.wait_for_view("signin");
    tab_to(&s, "#create-name");
    s.press_keys("Kim Keys");
    s.press_keys(TAB);
    assert_focus(&s, "#create-email", "Tab from the name");
    s.press_keys("kim@example.org");
    tab_to(&s, "#create-password");
    s.press_keys(&format!("kim-keyboard-only-1{ENTER}"));
    s.wait_for_view("home");
    s.wait_for_text("#account-name", "kim@example.org");
    request_to_join_by_keys(&mut s, "kim@kim-contoso.org");

    // The PPC accepts that one from the Inbox; focus stays on the notice.
    switch_by_keys(&mut s, PPC);
    open_by_keys(&mut s, "inbox", "inbox");
    tab_to(
        &s,
        "[data-testid=inbox-entry][data-pending=true] [data-testid=inbox-approve]",
    );
    s.screenshot("inbox-by-keys");
    s.press_keys(ENTER);
    s.wait_for_text("#status", "The request from Kim Keys was accepted.");
    assert_focus(
        &s,
        "[data-testid=inbox-entry] button",
        "approving from the inbox (the notice's next button: it stays where the person was)",
    );
    s.screenshot("accepted-from-inbox");
}
