//! The Tauri configuration is part of the security boundary: a strict CSP, no remote content, no
//! shell/fs/opener/http permissions, and commands restricted by the app manifest in build.rs.
//! These checks read the files the build uses, so loosening any of them fails the test run.
use std::path::Path;

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn json(rel: &str) -> Value {
    serde_json::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel} is not JSON: {e}"))
}

fn csp_directives() -> Vec<(String, Vec<String>)> {
    let conf = json("tauri.conf.json");
    let csp = conf["app"]["security"]["csp"]
        .as_str()
        .expect("a CSP is set as one string");
    csp.split(';')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| {
            let mut parts = d.split_whitespace().map(str::to_owned);
            (parts.next().unwrap(), parts.collect())
        })
        .collect()
}

#[test]
fn csp_is_set_and_strict() {
    let d = csp_directives();
    let get = |name: &str| d.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    assert_eq!(
        get("default-src"),
        Some(vec!["'self'".to_owned()]),
        "default-src is 'self' only"
    );
    assert_eq!(get("object-src"), Some(vec!["'none'".to_owned()]));
    assert_eq!(get("base-uri"), Some(vec!["'none'".to_owned()]));
    assert_eq!(get("frame-ancestors"), Some(vec!["'none'".to_owned()]));
    for (name, sources) in &d {
        for s in sources {
            let loose = matches!(
                s.as_str(),
                "'unsafe-inline'"
                    | "'unsafe-eval'"
                    | "'wasm-unsafe-eval'"
                    | "*"
                    | "http:"
                    | "https:"
                    | "blob:"
            ) || (s == "data:" && name != "img-src");
            assert!(!loose, "{name} allows {s}");
            let remote =
                (s.starts_with("http://") || s.starts_with("https://") || s.starts_with("ws"))
                    && s != "http://ipc.localhost";
            assert!(!remote, "{name} allows the remote source {s}");
        }
    }
    let script = get("script-src").unwrap_or_else(|| vec!["'self'".into()]);
    assert_eq!(
        script,
        vec!["'self'".to_owned()],
        "scripts come only from the app"
    );
}

#[test]
fn no_remote_content_is_loaded() {
    let conf = json("tauri.conf.json");
    let dist = conf["build"]["frontendDist"]
        .as_str()
        .expect("frontendDist is a local folder");
    assert!(
        !dist.contains("://"),
        "frontendDist must be local, not {dist}"
    );
    assert!(root().join(dist).join("index.html").exists());
    assert!(
        conf["build"].get("devUrl").is_none(),
        "no dev server URL in the shipped config"
    );
    for w in conf["app"]["windows"].as_array().expect("windows") {
        if let Some(url) = w.get("url").and_then(Value::as_str) {
            assert!(!url.contains("://"), "window loads a remote URL: {url}");
        }
    }
    assert_eq!(
        conf["app"]["withGlobalTauri"],
        Value::Bool(false),
        "no global Tauri object for injected scripts"
    );
    // No page of the UI pulls anything from the network.
    for entry in std::fs::read_dir(root().join("ui"))
        .unwrap()
        .chain(std::fs::read_dir(root().join("ui/views")).unwrap())
    {
        let path = entry.unwrap().path();
        if path.is_file() {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                !text.contains("http://") && !text.contains("https://"),
                "{} refers to a remote URL",
                path.display()
            );
        }
    }
}

#[test]
fn capabilities_grant_no_shell_fs_opener_or_http_and_no_remote_origins() {
    let dir = root().join("src-tauri/capabilities");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let cap: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        seen += 1;
        assert!(
            cap.get("remote").is_none(),
            "{}: no remote origins may call the app",
            path.display()
        );
        for p in cap["permissions"].as_array().expect("permissions") {
            let id = p
                .as_str()
                .or_else(|| p["identifier"].as_str())
                .unwrap_or_default();
            for banned in ["shell:", "fs:", "opener:", "http:", "process:", "updater:"] {
                assert!(!id.starts_with(banned), "{}: grants {id}", path.display());
            }
        }
    }
    assert!(seen > 0, "at least one capability file exists");
    let manifest = read("Cargo.toml");
    for banned in [
        "tauri-plugin-shell",
        "tauri-plugin-fs",
        "tauri-plugin-opener",
        "tauri-plugin-http",
    ] {
        assert!(!manifest.contains(banned), "Cargo.toml depends on {banned}");
    }
}

#[test]
fn commands_are_restricted_by_the_app_manifest() {
    let build = read("src-tauri/build.rs");
    assert!(
        build.contains("app_manifest") && build.contains(".commands("),
        "build.rs restricts the app's commands"
    );
}

/// `source` with its comments blanked out, line for line: `//` and `/* */` in JavaScript (not
/// inside a string, template or regular expression literal), `<!-- -->` in HTML. What is left is
/// the code, strings included, so a banned call cannot hide in a comment and a comment that
/// mentions one in prose ("never innerHTML") is not taken for code.
fn code_lines(source: &str, html: bool) -> Vec<String> {
    #[derive(Clone, Copy, PartialEq)]
    enum S {
        Code,
        Line,
        Block,
        Str(char),
        Regex { class: bool },
        HtmlComment,
    }
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut state = S::Code;
    // Brace depth of each `${` inside a template literal, so its closing `}` goes back to it.
    let mut templates: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    // The last character of code that was not whitespace: decides whether `/` starts a regex.
    let mut last = '\n';
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied().unwrap_or('\0');
        let keep = |out: &mut String, c: char| out.push(c);
        let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
        match state {
            S::Code if html => {
                if chars[i..].starts_with(&['<', '!', '-', '-']) {
                    state = S::HtmlComment;
                    blank(&mut out, c);
                } else {
                    keep(&mut out, c);
                }
            }
            S::HtmlComment => {
                if chars[i..].starts_with(&['-', '-', '>']) {
                    out.push_str("   ");
                    i += 3;
                    state = S::Code;
                    continue;
                }
                blank(&mut out, c);
            }
            S::Code => {
                if c == '/' && next == '/' {
                    state = S::Line;
                    blank(&mut out, c);
                } else if c == '/' && next == '*' {
                    state = S::Block;
                    out.push_str("  ");
                    i += 2;
                    continue;
                } else if c == '/' && "(,=:[!&|?{};+-*%<>~^\n".contains(last) {
                    state = S::Regex { class: false };
                    keep(&mut out, c);
                } else {
                    if c == '\'' || c == '"' || c == '`' {
                        state = S::Str(c);
                    } else if c == '{' {
                        depth += 1;
                    } else if c == '}' {
                        if templates.last() == Some(&depth) {
                            templates.pop();
                            state = S::Str('`');
                        } else {
                            depth = depth.saturating_sub(1);
                        }
                    }
                    keep(&mut out, c);
                }
                if !c.is_whitespace() {
                    last = c;
                }
            }
            S::Line => {
                if c == '\n' {
                    state = S::Code;
                    last = '\n';
                }
                blank(&mut out, c);
            }
            S::Block => {
                if c == '*' && next == '/' {
                    out.push_str("  ");
                    i += 2;
                    state = S::Code;
                    continue;
                }
                blank(&mut out, c);
            }
            S::Str(q) => {
                keep(&mut out, c);
                if c == '\\' {
                    if let Some(&n) = chars.get(i + 1) {
                        out.push(n);
                    }
                    i += 2;
                    continue;
                }
                if c == q {
                    state = S::Code;
                    last = c;
                } else if q == '`' && c == '$' && next == '{' {
                    out.push('{');
                    i += 2;
                    depth += 1;
                    templates.push(depth);
                    state = S::Code;
                    last = '{';
                    continue;
                } else if c == '\n' && q != '`' {
                    // An unterminated string ends with its line, as it does for the parser.
                    state = S::Code;
                }
            }
            S::Regex { class } => {
                keep(&mut out, c);
                if c == '\\' {
                    if let Some(&n) = chars.get(i + 1) {
                        out.push(n);
                    }
                    i += 2;
                    continue;
                }
                state = match c {
                    '[' => S::Regex { class: true },
                    ']' => S::Regex { class: false },
                    '/' if !class => {
                        last = '/';
                        S::Code
                    }
                    '\n' => S::Code,
                    _ => state,
                };
            }
        }
        i += 1;
    }
    out.lines().map(str::to_owned).collect()
}

/// Why `line` (code only, comments blanked) turns a string into markup or code, if it does.
fn string_to_markup(line: &str) -> Option<&'static str> {
    const BANNED: &[(&str, &str)] = &[
        ("innerHTML", "innerHTML parses a string as markup"),
        ("outerHTML", "outerHTML parses a string as markup"),
        (
            "insertAdjacentHTML",
            "insertAdjacentHTML parses a string as markup",
        ),
        ("setHTMLUnsafe", "setHTMLUnsafe parses a string as markup"),
        (
            "parseHTMLUnsafe",
            "parseHTMLUnsafe parses a string as markup",
        ),
        ("document.write", "document.write parses a string as markup"),
        ("DOMParser", "DOMParser parses a string as markup"),
        (
            "createContextualFragment",
            "createContextualFragment parses a string as markup",
        ),
        ("srcdoc", "srcdoc makes a document from a string"),
        ("javascript:", "a javascript: URL runs a string as code"),
    ];
    for (needle, why) in BANNED {
        if line.contains(needle) {
            return Some(why);
        }
    }
    let word_at = |at: usize| {
        !line[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
    };
    for (at, _) in line.match_indices("eval") {
        if word_at(at) && line[at + 4..].trim_start().starts_with('(') {
            return Some("eval runs a string as code");
        }
    }
    for (at, _) in line.match_indices("Function") {
        let before = line[..at].trim_end();
        if word_at(at)
            && (before.ends_with("new") || line[at + 8..].trim_start().starts_with('('))
            && !line[at + 8..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
        {
            return Some("the Function constructor runs a string as code");
        }
    }
    for timer in ["setTimeout", "setInterval"] {
        for (at, _) in line.match_indices(timer) {
            let rest = line[at + timer.len()..].trim_start();
            if let Some(args) = rest.strip_prefix('(') {
                if args.trim_start().starts_with(['\'', '"', '`']) {
                    return Some("a timer given a string runs it as code");
                }
            }
        }
    }
    None
}

fn ui_sources(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            ui_sources(&path, found);
        } else if path
            .extension()
            .is_some_and(|e| e == "js" || e == "mjs" || e == "html" || e == "htm")
        {
            found.push(path);
        }
    }
}

/// Other people's text reaches the window only as text nodes and attribute values: no file of
/// the UI parses a string as markup or runs one as code.
#[test]
fn the_ui_never_turns_strings_into_markup() {
    let mut files = Vec::new();
    ui_sources(&root().join("ui"), &mut files);
    files.sort();
    assert!(
        files.iter().any(|f| f.ends_with("ui/dom.js")) && files.len() > 10,
        "the UI's files are found: {files:?}"
    );
    let mut offences = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(file).unwrap();
        let html = file.extension().is_some_and(|e| e == "html" || e == "htm");
        for (n, code) in code_lines(&source, html).iter().enumerate() {
            if let Some(why) = string_to_markup(code) {
                let rel = file.strip_prefix(root()).unwrap_or(file);
                let line = source.lines().nth(n).unwrap_or_default().trim();
                offences.push(format!("{}:{}: {why}: {line}", rel.display(), n + 1));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "build DOM with h() and text nodes (ui/dom.js) instead:\n{}",
        offences.join("\n")
    );
}

#[test]
fn the_markup_check_sees_code_and_skips_comments() {
    let js = "// never innerHTML\n/* el.innerHTML = x\n * outerHTML */ const a = 1;\nconst u = 'https://x'; el.innerHTML = u;\nsetTimeout(() => go(), 0); setTimeout('go()', 0);\nconst r = /\\/\\//; const s = \"//\"; eval (s);\nconst t = `${a ? `//` : ''}`; new Function('x');\nretrieval(1); myFunction(2);";
    let lines = code_lines(js, false);
    let found: Vec<Option<&str>> = lines.iter().map(|l| string_to_markup(l)).collect();
    assert_eq!(found[0], None, "a // comment is skipped");
    assert_eq!(found[1], None, "a /* comment is skipped");
    assert_eq!(found[2], None, "the rest of a block comment is skipped");
    assert!(
        found[3].is_some_and(|w| w.contains("innerHTML")),
        "{lines:?}"
    );
    assert!(found[4].is_some_and(|w| w.contains("timer")), "{lines:?}");
    assert!(found[5].is_some_and(|w| w.contains("eval")), "{lines:?}");
    assert!(
        found[6].is_some_and(|w| w.contains("Function")),
        "{lines:?}"
    );
    assert_eq!(
        found[7], None,
        "words that only contain eval or Function are fine"
    );
    let html = "<!-- innerHTML in a comment -->\n<a href=\"javascript:go()\">x</a>";
    let found: Vec<_> = code_lines(html, true)
        .iter()
        .map(|l| string_to_markup(l))
        .collect();
    assert_eq!(
        found,
        [None, Some("a javascript: URL runs a string as code")]
    );
}
