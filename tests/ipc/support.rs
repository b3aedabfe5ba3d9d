//! Runs the shell's real command list on Tauri's mock runtime, with the real `tauri.conf.json` and
//! capabilities (so the access control is the app's own), over a fresh embedded backend per test.
use partner_desk::{build_app, context, DataDirs};
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;

pub const DEMO_PASSWORD: &str = "partnerdesk-demo";
pub const PPC: &str = "ppc@contoso.com";
pub const STAFF: &str = "staff@example.net";
pub const ACCEPTED: &str = "Your request to associate with the company has been accepted";
pub const PENDING: &str =
    "Your request to associate to your organization\u{2019}s account has been sent to your organisation\u{2019}s program administrator";

pub struct TestApp {
    pub dir: tempfile::TempDir,
    _app: tauri::App<MockRuntime>,
    webview: tauri::WebviewWindow<MockRuntime>,
}

pub fn app() -> TestApp {
    // Sessions in memory only: the IPC tests never touch the machine's real keychain, and take
    // the no-keychain path deterministically (scripts/keychain-test covers the real one).
    std::env::set_var(partner_desk::keychain::KEYCHAIN_ENV, "off");
    let dir = tempfile::tempdir().expect("a temp folder");
    let app = build_app(mock_builder(), DataDirs::Fixed(dir.path().to_owned()))
        .build(context())
        .expect("the app builds on the mock runtime");
    // The mock runtime does not open the configured windows; open the main one as configured.
    let config = app
        .config()
        .app
        .windows
        .iter()
        .find(|w| w.label == "main")
        .expect("tauri.conf.json declares the main window")
        .clone();
    let webview = tauri::WebviewWindowBuilder::from_config(&app, &config)
        .and_then(|b| b.build())
        .expect("the main window opens on the mock runtime");
    TestApp {
        dir,
        _app: app,
        webview,
    }
}

impl TestApp {
    /// The app itself, for state no command shows.
    pub fn handle(&self) -> &tauri::AppHandle<MockRuntime> {
        self._app.handle()
    }

    /// Invokes `cmd` as the main window's page would (on Linux its origin is tauri://localhost).
    pub fn call(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        self.call_from("tauri://localhost", cmd, args)
    }

    /// Invokes `cmd` as a page loaded from `origin` would.
    pub fn call_from(&self, origin: &str, cmd: &str, args: Value) -> Result<Value, Value> {
        get_ipc_response(
            &self.webview,
            InvokeRequest {
                cmd: cmd.into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                url: origin.parse().expect("a valid URL"),
                body: InvokeBody::Json(args),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .map(|body| body.deserialize::<Value>().expect("commands answer JSON"))
    }

    #[track_caller]
    pub fn ok(&self, cmd: &str, args: Value) -> Value {
        match self.call(cmd, args) {
            Ok(v) => v,
            Err(e) => panic!("{cmd} was refused: {e}"),
        }
    }

    /// Calls a command that must be refused, and checks the refusal is a sentence with a code.
    #[track_caller]
    pub fn refused(&self, cmd: &str, args: Value) -> Value {
        match self.call(cmd, args) {
            Ok(v) => panic!("{cmd} should have been refused, but answered {v}"),
            Err(e) => {
                let code = e["code"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{cmd}: a refusal has a code: {e}"));
                let message = e["message"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{cmd}: a refusal has a message: {e}"));
                assert!(
                    !code.is_empty() && message.ends_with('.'),
                    "{cmd}: {e} should be a code and a sentence"
                );
                e
            }
        }
    }

    pub fn sign_in(&self, email: &str) -> Value {
        self.ok(
            "sign_in",
            json!({"email": email, "password": DEMO_PASSWORD}),
        )
    }

    pub fn sign_in_as_new(&self, email: &str, name: &str) -> Value {
        self.ok(
            "create_account",
            json!({"email": email, "display_name": name, "password": DEMO_PASSWORD}),
        )
    }

    /// The demo organisation Contoso Pty Ltd, looked up by name.
    pub fn contoso(&self) -> String {
        let page = self.ok("lookup", json!({"query": {"q": "Contoso"}}));
        page["items"]
            .as_array()
            .and_then(|items| items.iter().find(|o| o["name"] == "Contoso Pty Ltd"))
            .and_then(|o| o["organisation_id"].as_str())
            .expect("the demo data has Contoso Pty Ltd")
            .to_owned()
    }

    pub fn request_to_join(&self, org: &str, email: &str) -> Value {
        self.ok(
            "request_association",
            json!({"request": {"organisation_id": org, "first_name": "Sam", "last_name": "Staff",
                   "organisation_email": email, "phone": "", "job_title": "Consultant"}}),
        )
    }

    /// The link of the newest verification mail in the signed-in account's Mailbox.
    pub fn newest_link(&self) -> String {
        let mails = self.ok("my_mail", json!({}));
        mails
            .as_array()
            .and_then(|m| m.iter().find_map(|mail| mail["link"].as_str()))
            .expect("a verification mail with a link")
            .to_owned()
    }

    /// Staff joins Contoso at a pre-approved address and verifies; returns the membership id.
    pub fn staff_member_of_contoso(&self) -> String {
        self.sign_in(STAFF);
        let org = self.contoso();
        let created = self.request_to_join(&org, "sam.staff@contoso.com");
        assert_eq!(created["status"], "accepted");
        let link = self.newest_link();
        let verified = self.ok("verify", json!({"input": link}));
        verified["membership_id"]
            .as_str()
            .expect("a membership id")
            .to_owned()
    }
}

pub fn code(e: &Value) -> &str {
    e["code"].as_str().unwrap_or_default()
}
