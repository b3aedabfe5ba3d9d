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
