//! Build script: Tauri's code generation, plus an app manifest that lists the shell's commands so
//! the window may call only those the capabilities in `src-tauri/capabilities/` allow.

/// Every command the shell registers. A command missing here cannot be called from the UI, and
/// `tests/ipc.rs` checks that this list and the registered handlers agree.
const COMMANDS: &[&str] = include!("src/commands/names.in");

fn main() {
    // Cargo.toml sits at the repository root, so the build script runs there; the capabilities
    // live beside the shell's sources.
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    println!("cargo:rerun-if-changed=src-tauri/src/commands/names.in");
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("./src-tauri/capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(error) = tauri_build::try_build(attributes) {
        panic!("tauri-build failed: {error:#}");
    }
}
