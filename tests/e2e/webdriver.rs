//! A small W3C WebDriver client over plain HTTP on loopback (tauri-driver in front of
//! WebKitWebDriver). Only what the journeys need; every call fails loudly with the driver's answer.
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long a step waits for the window to show what it expects.
pub const WAIT: Duration = Duration::from_secs(20);

/// Sends one HTTP/1.1 request and returns (status, JSON body). tauri-driver sometimes drops a
/// request it could not pass on to WebKitWebDriver (it answers nothing); such a request never
/// reached the window, so it is sent again, a few times at most.
fn http(base: &str, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let mut last_error = String::new();
    for _ in 0..4 {
        match http_once(base, method, path, body) {
            Ok(answer) => return answer,
            Err(e) => last_error = e,
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!("WebDriver {method} {path} got no answer from {base}: {last_error}")
}

fn http_once(
    base: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<(u16, Value), String> {
    let hostport = base
        .strip_prefix("http://")
        .expect("the driver URL must be http://host:port");
    assert!(
        hostport.starts_with("127.0.0.1:")
            || hostport.starts_with("localhost:")
            || hostport.starts_with("[::1]:"),
        "the WebDriver server must be on loopback, not {hostport}"
    );
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let mut stream = TcpStream::connect(hostport).map_err(|e| format!("cannot connect: {e}"))?;
    // Launching the app (POST /session) is the slowest call.
    let timeout = if path == "/session" { 120 } else { 60 };
    stream
        .set_read_timeout(Some(Duration::from_secs(timeout)))
        .map_err(|e| e.to_string())?;
    // Keep-alive (no "Connection: close"): tauri-driver passes the header on to WebKitWebDriver,
    // and a closed upstream connection is what makes it drop requests.
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n{payload}",
        payload.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("cannot send: {e}"))?;

    let mut raw = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    let header_end = loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let n = stream
            .read(&mut buf)
            .map_err(|e| format!("no answer: {e}"))?;
        if n == 0 {
            return Err("the connection closed without an answer".into());
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..header_end]).to_ascii_lowercase();
    let mut body_bytes = raw[header_end + 4..].to_vec();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no status line")?;
    let content_length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    let chunked = head.contains("transfer-encoding: chunked");
    loop {
        let complete = match content_length {
            Some(len) => body_bytes.len() >= len,
            None if chunked => body_bytes.windows(5).any(|w| w == b"0\r\n\r\n"),
            None => false,
        };
        if complete {
            break;
        }
        let n = stream
            .read(&mut buf)
            .map_err(|e| format!("the answer stopped: {e}"))?;
        if n == 0 {
            break;
        }
        body_bytes.extend_from_slice(&buf[..n]);
    }
    if chunked {
        body_bytes = dechunk(&body_bytes);
    }
    let value = if body_bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body_bytes).unwrap_or(Value::Null)
    };
    Ok((status, value))
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..line_end]).trim(), 16)
            .unwrap_or(0);
        if size == 0 || data.len() < line_end + 2 + size {
            break;
        }
        let start = line_end + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}

pub struct Element(String);

/// Refusals that mean "the page changed under us; look again".
fn is_retryable(answer: &Value) -> bool {
    let error = answer["value"]["error"].as_str().unwrap_or_default();
    matches!(
        error,
        "stale element reference"
            | "element not interactable"
            | "element click intercepted"
            | "no such element"
    )
}

/// One WebDriver session, that is one launch of the app. Dropping it (also while a failed test
/// unwinds) deletes the session, which closes the app.
pub struct Session {
    base: String,
    id: String,
    shots: PathBuf,
    step: usize,
}

impl Session {
    /// Launches `application` with `args` through tauri-driver at `base`.
    pub fn start(base: &str, application: &Path, args: &[String], shots: PathBuf) -> Self {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "tauri:options": {"application": application, "args": args}
        }}});
        let (status, answer) = http(base, "POST", "/session", Some(&caps));
        assert_eq!(
            status, 200,
            "the app could not be launched through tauri-driver: {answer}"
        );
        let id = answer["value"]["sessionId"]
            .as_str()
            .expect("a new session has an id")
            .to_owned();
        std::fs::create_dir_all(&shots).expect("the screenshot folder can be created");
        Self {
            base: base.to_owned(),
            id,
            shots,
            step: 0,
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, Value> {
        let (status, answer) = http(
            &self.base,
            method,
            &format!("/session/{}{path}", self.id),
            body.as_ref(),
        );
        if status == 200 {
            Ok(answer.get("value").cloned().unwrap_or(Value::Null))
        } else {
            Err(answer)
        }
    }

    fn must(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.call(method, path, body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path} was refused: {e}"))
    }

    pub fn set_window_size(&self, width: u32, height: u32) {
        self.must(
            "POST",
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        );
    }

    /// Runs `script` (a function body) in the page and returns what it returns.
    pub fn script(&self, script: &str, args: Value) -> Value {
        self.must(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// Runs `script` (a function body whose last argument is a callback) in the page and returns
    /// what it passes to the callback: for work that finishes later, such as a promise.
    pub fn script_async(&self, script: &str, args: Value) -> Value {
        self.must(
            "POST",
            "/execute/async",
            Some(json!({"script": script, "args": args})),
        )
    }

    fn find_now(&self, css: &str) -> Option<Element> {
        let found = self
            .call(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .ok()?;
        found
            .get(ELEMENT_KEY)
            .and_then(Value::as_str)
            .map(|id| Element(id.to_owned()))
    }

    fn displayed(&self, el: &Element) -> bool {
        self.call("GET", &format!("/element/{}/displayed", el.0), None)
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    }

    /// Waits until an element matching `css` is on screen.
    pub fn find(&self, css: &str) -> Element {
        let until = Instant::now() + WAIT;
        loop {
            if let Some(el) = self.find_now(css) {
                if self.displayed(&el) {
                    return el;
                }
            }
            if Instant::now() > until {
                self.screenshot_named("timeout");
                panic!(
                    "nothing matching `{css}` appeared within {WAIT:?}; the page said: {}",
                    self.page_text()
                );
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// Clicks the element matching `css`. The window re-renders parts of itself, so an element
    /// that went stale between finding and clicking is looked up again.
    pub fn click(&self, css: &str) {
        let until = Instant::now() + WAIT;
        loop {
            let el = self.find(css);
            match self.call("POST", &format!("/element/{}/click", el.0), Some(json!({}))) {
                Ok(_) => return,
                Err(e) if Instant::now() < until && is_retryable(&e) => {
                    std::thread::sleep(Duration::from_millis(150))
                }
                Err(e) => panic!("clicking `{css}` was refused: {e}"),
            }
        }
    }

    /// Clicks the first visible element matching `css` whose text contains `text`.
    pub fn click_text(&self, css: &str, text: &str) {
        let until = Instant::now() + WAIT;
        loop {
            let found = self
                .call(
                    "POST",
                    "/elements",
                    Some(json!({"using": "css selector", "value": css})),
                )
                .ok()
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default();
            for v in found {
                let Some(id) = v.get(ELEMENT_KEY).and_then(Value::as_str) else {
                    continue;
                };
                let el = Element(id.to_owned());
                if self.displayed(&el) && self.text_of(&el).contains(text) {
                    self.must("POST", &format!("/element/{}/click", el.0), Some(json!({})));
                    return;
                }
            }
            if Instant::now() > until {
                self.screenshot_named("timeout");
                panic!(
                    "no `{css}` with text {text:?} appeared within {WAIT:?}; the page said: {}",
                    self.page_text()
                );
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let until = Instant::now() + WAIT;
        loop {
            let el = self.find(css);
            let typed = self
                .call("POST", &format!("/element/{}/clear", el.0), Some(json!({})))
                .and_then(|_| {
                    self.call(
                        "POST",
                        &format!("/element/{}/value", el.0),
                        Some(json!({"text": text})),
                    )
                });
            match typed {
                Ok(_) => return,
                Err(e) if Instant::now() < until && is_retryable(&e) => {
                    std::thread::sleep(Duration::from_millis(150))
                }
                Err(e) => panic!("typing into `{css}` was refused: {e}"),
            }
        }
    }

    /// Presses the keys of `text` (WebDriver key codes included) as a person at the keyboard would:
    /// key actions, aimed at no element, so they go wherever the focus is. Shift, Control and Alt
    /// stay down until the end of `text`.
    pub fn press_keys(&self, text: &str) {
        const MODIFIERS: [char; 3] = ['\u{E008}', '\u{E009}', '\u{E00A}'];
        let mut actions = Vec::new();
        let mut held = Vec::new();
        for c in text.chars() {
            let key = c.to_string();
            actions.push(json!({"type": "keyDown", "value": key}));
            if MODIFIERS.contains(&c) {
                held.push(key);
            } else {
                actions.push(json!({"type": "keyUp", "value": key}));
            }
        }
        for key in held.into_iter().rev() {
            actions.push(json!({"type": "keyUp", "value": key}));
        }
        self.must(
            "POST",
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})),
        );
    }

    /// Types `text` (WebDriver key codes included) into whatever has the focus.
    pub fn keys(&self, text: &str) {
        let active = self.must("GET", "/element/active", None);
        let id = active
            .get(ELEMENT_KEY)
            .and_then(Value::as_str)
            .expect("something has the focus");
        self.must(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({"text": text})),
        );
    }

    fn text_of(&self, el: &Element) -> String {
        self.call("GET", &format!("/element/{}/text", el.0), None)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// The accessible name the browser computes for the element matching `css` (what a screen
    /// reader says for it).
    pub fn accessible_name(&self, css: &str) -> String {
        let el = self.find(css);
        self.must("GET", &format!("/element/{}/computedlabel", el.0), None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub fn text(&self, css: &str) -> String {
        let el = self.find(css);
        self.text_of(&el)
    }

    /// Waits until the element matching `css` shows `expected` somewhere in its text.
    pub fn wait_for_text(&self, css: &str, expected: &str) -> String {
        let until = Instant::now() + WAIT;
        loop {
            let text = self
                .find_now(css)
                .map(|el| self.text_of(&el))
                .unwrap_or_default();
            if text.contains(expected) {
                return text;
            }
            if Instant::now() > until {
                self.screenshot_named("timeout");
                panic!("`{css}` did not show {expected:?} within {WAIT:?}; it showed {text:?}; the page said: {}", self.page_text());
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// Waits until the screen in view is `name` (the `data-view` of `#view`).
    pub fn wait_for_view(&self, name: &str) {
        let css = format!("#view[data-view=\"{name}\"]:not([aria-busy])");
        self.find(&css);
    }

    pub fn page_text(&self) -> String {
        self.find_now("body")
            .map(|el| self.text_of(&el))
            .unwrap_or_default()
    }

    /// Scrolls the element matching `css` to the middle of the window, for the next screenshot.
    pub fn show(&self, css: &str) {
        self.find(css);
        self.script(
            "document.activeElement?.blur(); const el = document.querySelector(arguments[0]); if (el) el.scrollIntoView({block: 'center'}); return null;",
            json!([css]),
        );
    }

    /// Saves a numbered screenshot of the window for this step.
    pub fn screenshot(&mut self, step: &str) -> PathBuf {
        self.step += 1;
        let name = format!("{:02}-{step}", self.step);
        self.screenshot_named(&name)
    }

    /// Waits until the page has painted two more frames, so a screenshot shows the screen as it
    /// is now (after a resize WebKit otherwise may hand back the previous frame).
    fn settle(&self) {
        let _ = self.call(
            "POST",
            "/execute/async",
            Some(json!({
                "script": "const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => done(null)));",
                "args": []
            })),
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    fn screenshot_named(&self, name: &str) -> PathBuf {
        self.settle();
        let path = self.shots.join(format!("{name}.png"));
        if let Ok(Value::String(b64)) = self.call("GET", "/screenshot", None) {
            if let Ok(png) = base64::engine::general_purpose::STANDARD.decode(b64) {
                let _ = std::fs::write(&path, png);
            }
        }
        path
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = http(&self.base, "DELETE", &format!("/session/{}", self.id), None);
    }
}
