//! Accessibility checked in the real window, not hoped for:
//! - axe-core (from npm, pinned in package.json, installed by `scripts/setup --test`) runs inside
//!   the page on every screen and its main states, in the light and the dark theme, with the WCAG
//!   2.2 A and AA rules; one violation fails the journey;
//! - the window's accessibility tree, read over AT-SPI as Orca reads it (python3-gi with
//!   gir1.2-atspi-2.0), gives the main controls the roles and names a person hears.
use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;

use serde_json::{json, Value};

use super::webdriver::Session;
use super::*;

/// axe-core's tags for WCAG 2.0, 2.1 and 2.2 at levels A and AA.
const WCAG_22_AA: &[&str] = &["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

/// The pinned axe-core that `npm install` put next to package.json.
fn axe_source() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "axe-core is missing at {} ({e}): run scripts/setup --test, which installs it from npm",
            path.display()
        )
    })
}

/// Writes straight to the test's stderr, which the test harness does not capture: the figures
/// reach CI's log even when the journey passes.
fn report(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

/// Every state checked so far and what axe-core found in it.
pub struct Audit {
    source: String,
    version: String,
    states: usize,
    rules_passed: usize,
    violations: Vec<String>,
}

impl Audit {
    pub fn new() -> Self {
        Self {
            source: axe_source(),
            version: String::new(),
            states: 0,
            rules_passed: 0,
            violations: Vec::new(),
        }
    }

    /// Runs axe-core on what the window shows now, in the light theme and in the dark one (the
    /// stylesheet's own `data-theme` switch, as Settings → Appearance sets it), then puts the
    /// person's theme back.
    pub fn check(&mut self, s: &mut Session, state: &str) {
        let before = s.script(
            "return document.documentElement.dataset.theme ?? null;",
            json!([]),
        );
        for theme in ["light", "dark"] {
            s.script(
                "document.documentElement.dataset.theme = arguments[0]; return null;",
                json!([theme]),
            );
            // Two frames: the new colours are painted before axe-core reads them.
            s.script_async(
                "const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => done(null)));",
                json!([]),
            );
            let loaded = s.script("return typeof window.axe;", json!([]));
            if loaded != "object" {
                s.script(&format!("{}\nreturn null;", self.source), json!([]));
            }
            self.version = s
                .script("return window.axe.version;", json!([]))
                .as_str()
                .unwrap_or("?")
                .to_owned();
            let found = s.script_async(
                r#"
const done = arguments[arguments.length - 1];
window.axe
  .run(document, { runOnly: { type: 'tag', values: arguments[0] }, resultTypes: ['violations'] })
  .then((r) => done({
    passes: r.passes.length,
    violations: r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary}`),
    })),
  }))
  .catch((e) => done({ error: String(e) }));
"#,
                json!([WCAG_22_AA]),
            );
            assert!(
                found.get("error").is_none(),
                "axe-core could not run on {state}: {found}"
            );
            self.states += 1;
            self.rules_passed += found["passes"].as_u64().unwrap_or(0) as usize;
            let violations = found["violations"].as_array().cloned().unwrap_or_default();
            if !violations.is_empty() {
                s.screenshot(&format!("axe-{state}-{theme}").replace([' ', ','], "-"));
            }
            for v in violations {
                let nodes: Vec<&str> = v["nodes"]
                    .as_array()
                    .map(|n| n.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                self.violations.push(format!(
                    "{state} ({theme}): {} [{}] {}\n      {}",
                    v["id"].as_str().unwrap_or("?"),
                    v["impact"].as_str().unwrap_or("?"),
                    v["help"].as_str().unwrap_or(""),
                    nodes.join("\n      ")
                ));
            }
        }
        s.script(
            "const t = arguments[0]; if (t === null) delete document.documentElement.dataset.theme; else document.documentElement.dataset.theme = t; return null;",
            json!([before]),
        );
    }

    /// Prints what was checked and fails on any violation.
    pub fn finish(self) {
        report(&format!(
            "axe-core {}: {} screen states x themes checked with the WCAG 2.2 AA rules; {} rule passes, {} violations\n",
            self.version,
            self.states,
            self.rules_passed,
            self.violations.len()
        ));
        assert!(
            self.violations.is_empty(),
            "axe-core found {} violations:\n  {}",
            self.violations.len(),
            self.violations.join("\n  ")
        );
    }
}

/// Every screen and its main states pass axe-core in both themes: empty and full lists, errors
/// shown, lookup results, the preview, the outcome, the conflict resolver, every Membership Centre
/// tab.
#[test]
fn every_screen_and_its_main_states_pass_axe_core_in_both_themes() {
    let (mut s, _data) = launch("axe");
    let mut audit = Audit::new();
    audit.check(&mut s, "sign in");

    // A wrong password: the error is shown.
    s.type_into("#signin-email", STAFF);
    s.type_into("#signin-password", "not-the-password");
    s.click("#signin-submit");
    s.wait_for_text("#alert", "");
    s.find("#alert:not(:empty)");
    audit.check(&mut s, "sign in, error shown");

    // A staff member with nothing yet: empty lists.
    s.type_into("#signin-password", DEMO_PASSWORD);
    s.click("#signin-submit");
    s.wait_for_view("home");
    audit.check(&mut s, "home, no memberships");
    for (nav, view) in [
        ("inbox", "inbox"),
        ("mailbox", "mailbox"),
        ("verify", "verify"),
        ("help", "help"),
        ("settings", "settings"),
    ] {
        s.click(&format!("#nav-{nav}"));
        s.wait_for_view(view);
        audit.check(&mut s, &format!("{view}, empty"));
    }

    // Join: no match, results, an address the preview refuses, the preview, the outcome.
    s.click("#nav-join");
    s.wait_for_view("join");
    audit.check(&mut s, "join");
    s.type_into("#lookup-name", "No such organisation anywhere");
    s.click("#lookup-submit");
    s.find("[data-testid=lookup-empty]");
    audit.check(&mut s, "join, no match");
    s.type_into("#lookup-name", "Contoso");
    s.click("#lookup-submit");
    s.click_text("#lookup-results label", "Contoso Pty Ltd");
    audit.check(&mut s, "join, results, one ticked");
    s.type_into("#join-first-name", "Sam");
    s.type_into("#join-last-name", "Staff");
    s.type_into("#join-email", "sam@");
    s.find("[data-testid=preview-error]");
    audit.check(&mut s, "join, preview refuses the address");
    s.type_into("#join-email", "sam.staff@staff-contoso.net");
    s.wait_for_text("#join-preview", "program administrator");
    audit.check(&mut s, "join, preview shown");
    s.click("#join-submit");
    s.wait_for_text("#join-outcome", PENDING);
    audit.check(&mut s, "join, request sent");
    s.click("#nav-home");
    s.wait_for_view("home");
    audit.check(&mut s, "home, a request waiting");

    // The PPC: full lists, every Membership Centre tab, the profile and its conflict resolver.
    switch_to(&mut s, PPC);
    audit.check(&mut s, "home, memberships");
    s.click("#nav-inbox");
    s.wait_for_view("inbox");
    s.find("[data-testid=inbox-entry]");
    audit.check(&mut s, "inbox, a new request");
    s.click("#nav-mailbox");
    s.wait_for_view("mailbox");
    audit.check(&mut s, "mailbox");
    s.click("#nav-privileges");
    s.wait_for_view("privileges");
    audit.check(&mut s, "privileges");
    open_membership_centre(&mut s);
    for tab in CENTRE_TABS {
        s.click(&format!("#centre-tab-{tab}"));
        s.wait_for_text(&format!("#centre-tab-{tab}[aria-current=page]"), "");
        s.wait_for_view("centre");
        audit.check(&mut s, &format!("centre, {tab}"));
    }
    s.click("#centre-tab-info");
    s.click("#manage-profile");
    s.wait_for_text(
        "#manage-organisation-profile",
        "Your Organisation email domains",
    );
    audit.check(&mut s, "centre, manage organisation profile");
    s.type_into("#domain-input", "gmail.com");
    s.click("#domain-update");
    s.wait_for_text("#alert", "Add your organisation's own domain instead.");
    audit.check(&mut s, "centre, a domain refused");

    s.click("#nav-home");
    s.wait_for_view("home");
    s.click("[data-testid=open-profile]");
    s.wait_for_view("profile");
    audit.check(&mut s, "profile");

    audit.finish();
}

/// The conflict resolver (a profile field changed on this computer while it worked offline and on
/// the server meanwhile) passes axe-core in both themes.
#[test]
fn the_conflict_resolver_passes_axe_core_in_both_themes() {
    let server = testkit::TestServer::start();
    let (mut s, _data) = launch("axe-conflict");
    let mut audit = Audit::new();
    use_server(&mut s, server.base());
    sign_in(&mut s, PPC);
    let membership = s
        .script(
            "return document.querySelector('[data-testid=membership-row]').dataset.membershipId;",
            json!([]),
        )
        .as_str()
        .expect("a membership row")
        .to_owned();

    s.click("#work-offline");
    s.wait_for_text("#sync-connection", "Working offline");
    s.click("[data-testid=open-profile]");
    s.wait_for_view("profile");
    s.type_into("#profile-job_title", "Title from the laptop");
    s.click("#profile-save");
    s.wait_for_text("#status", "Saved on this computer");
    change_job_title_on_the_server(server.base(), &membership, "Title from the office");
    s.click("#work-offline");
    s.wait_for_text("#sync-connection", "Online");
    s.click("#nav-home");
    s.wait_for_view("home");
    s.click("[data-testid=open-profile]");
    s.wait_for_view("profile");
    s.wait_for_text("[data-testid=resolver]", "Title from the office");
    s.show("[data-testid=resolver]");
    s.screenshot("conflict-resolver");
    audit.check(&mut s, "profile, conflict resolver");
    audit.finish();
}

/// One HTTP/1.1 request to the test server on loopback; returns (status, headers, body).
fn server_http(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> (u16, String, Value) {
    use std::io::Read as _;
    let hostport = base.strip_prefix("http://").expect("an http:// server");
    assert!(
        hostport.starts_with("127.0.0.1:"),
        "the test server is on loopback"
    );
    let payload = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {hostport}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        payload.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let mut stream = std::net::TcpStream::connect(hostport).expect("the test server answers");
    stream
        .write_all(format!("{head}\r\n{payload}").as_bytes())
        .expect("the request is sent");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("an answer");
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status");
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        // One chunk is all these small answers take.
        body.split_once("\r\n")
            .map(|(_, rest)| rest)
            .unwrap_or_default()
    } else {
        body
    };
    let json = serde_json::Deserializer::from_str(body)
        .into_iter::<Value>()
        .next()
        .and_then(Result::ok)
        .unwrap_or(Value::Null);
    (status, head.to_owned(), json)
}

/// Another device (plain HTTP, as the API contract describes) changes the job title.
fn change_job_title_on_the_server(base: &str, membership: &str, title: &str) {
    let (status, _, signed) = server_http(
        base,
        "POST",
        "/v1/sessions",
        &[],
        &json!({"email": PPC, "password": DEMO_PASSWORD}),
    );
    assert_eq!(status, 200, "signing in elsewhere: {signed}");
    let bearer = format!("Bearer {}", signed["access_token"].as_str().unwrap());
    let path = format!("/v1/memberships/{membership}/profile");
    let (status, _, profile) = server_http(
        base,
        "GET",
        &path,
        &[("Authorization", &bearer)],
        &Value::Null,
    );
    assert_eq!(status, 200, "reading the profile elsewhere: {profile}");
    let revision = format!("\"{}\"", profile["revision"]);
    let (status, _, changed) = server_http(
        base,
        "PATCH",
        &path,
        &[("Authorization", &bearer), ("If-Match", &revision)],
        &json!({"job_title": title}),
    );
    assert_eq!(status, 200, "changing the profile elsewhere: {changed}");
}

/// One node of the accessibility tree as AT-SPI gives it.
#[derive(Debug, serde::Deserialize)]
struct Node {
    role: String,
    name: String,
}

/// The window's accessibility tree, read over AT-SPI by `tests/e2e/atspi_tree.py` (Debian's
/// python3-gi, not a virtual environment's Python, which has no `gi`).
fn accessibility_tree() -> Vec<Node> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/atspi_tree.py");
    let out = Command::new("/usr/bin/python3")
        .arg(&script)
        .arg("partner-desk")
        .output()
        .expect("python3 runs (scripts/setup --test installs python3-gi)");
    assert!(
        out.status.success(),
        "reading the accessibility tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the tree as JSON")
}

/// Waits until the tree holds each (role, name) pair, as AT-SPI reports the page after it changes.
fn assert_tree_has(state: &str, expected: &[(&str, &str)]) -> usize {
    let until = std::time::Instant::now() + webdriver::WAIT;
    loop {
        let tree = accessibility_tree();
        let missing: Vec<_> = expected
            .iter()
            .filter(|(role, name)| !tree.iter().any(|n| n.role == *role && n.name == *name))
            .collect();
        if missing.is_empty() {
            return tree.len();
        }
        if std::time::Instant::now() > until {
            let seen: Vec<String> = tree
                .iter()
                .filter(|n| !n.name.is_empty())
                .map(|n| format!("{}: {:?}", n.role, n.name))
                .collect();
            panic!(
                "{state}: the accessibility tree lacks {missing:?}; it has:\n  {}",
                seen.join("\n  ")
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}

/// What Orca would read: the main controls of sign-in, Home, Join and the Membership Centre have
/// their roles and names in the accessibility tree.
#[test]
fn the_main_controls_have_their_roles_and_names_in_the_accessibility_tree() {
    let (mut s, _data) = launch("atspi");
    let mut sizes = vec![assert_tree_has(
        "sign in",
        &[
            ("frame", "Partner Desk"),
            ("link", "Skip to content"),
            ("heading", "Sign in"),
            ("entry", "Email address"),
            ("password text", "Password"),
            ("push button", "Sign in"),
            ("push button", "Create account"),
            ("push button", "Help"),
        ],
    )];
    sign_in(&mut s, STAFF);
    sizes.push(assert_tree_has(
        "home",
        &[
            ("heading", "Home"),
            ("push button", "Join an existing organisation"),
            ("push button", "Switch account"),
        ],
    ));
    s.click("#nav-join");
    s.wait_for_view("join");
    s.type_into("#lookup-name", "Contoso");
    s.click("#lookup-submit");
    s.find("#lookup-results label");
    sizes.push(assert_tree_has(
        "join",
        &[
            ("heading", "Join an existing organisation"),
            ("entry", "Organisation name"),
            ("push button", "Lookup"),
            (
                "check box",
                "Contoso Pty Ltd \u{2014} partner ID 4512345, Sydney, Australia",
            ),
        ],
    ));
    switch_to(&mut s, PPC);
    open_membership_centre(&mut s);
    sizes.push(assert_tree_has(
        "membership centre",
        &[
            ("heading", "Membership Centre"),
            ("push button", "Organisation Information"),
            ("push button", "Requests"),
            ("push button", "Manage Organisation Profile"),
        ],
    ));
    s.screenshot("centre");
    report(&format!(
        "AT-SPI: the accessibility tree had {} nodes on sign in, {} on Home, {} on Join, {} in the Membership Centre; every expected role and name was there\n",
        sizes[0], sizes[1], sizes[2], sizes[3]
    ));
}
