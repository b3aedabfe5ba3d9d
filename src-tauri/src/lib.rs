//! The Partner Desk desktop shell: a thin layer of Tauri commands over a [`backend::Backend`].
//!
//! [`build_app`] holds the whole setup (state and the command list) so that `run()` and the IPC
//! tests on Tauri's mock runtime exercise exactly the same commands.
#![forbid(unsafe_code)]

pub mod appearance;
pub mod backend;
pub mod commands;
pub mod deeplink;
pub mod error;
pub mod keychain;
pub mod notifications;
#[cfg(not(target_os = "linux"))]
mod plugin_notifier;
pub mod settings;
pub mod startup;
pub mod state;
pub mod sync;
pub mod tray;

use tauri::{Manager, Runtime};

pub use error::UiError;
pub use state::{DataDirs, Shell};

/// Adds the shell's state and commands to `builder`.
pub fn build_app<R: Runtime>(builder: tauri::Builder<R>, dirs: DataDirs) -> tauri::Builder<R> {
    let builder = builder.manage(startup::Startup::from_args(std::time::Instant::now()));
    let builder = match dirs {
        // Known up front (tests, `--data-dir`): managed now, so the state exists before any call
        // (the backend opens on the shell's own thread; calls wait for it).
        DataDirs::Fixed(dir) => builder.manage(Shell::open(&dir, &dir)),
        // The platform's folders are known once the app exists.
        DataDirs::App => builder.setup(|app| {
            let shell = Shell::open(&app.path().app_data_dir()?, &app.path().app_config_dir()?);
            app.manage(shell);
            notifications::follow(app.handle());
            sync::follow(app.handle());
            Ok(())
        }),
    };
    // Follows new requests for whoever is signed in and keeps the inbox (on the mock runtime too).
    let builder = builder.plugin(notifications::init());
    // Offline profile editing: the local store and the sync of whoever is signed in.
    let builder = builder.plugin(sync::init());
    builder.invoke_handler(tauri::generate_handler![
        commands::account::session,
        commands::account::sign_in,
        commands::account::create_account,
        commands::account::sign_out,
        commands::account::switch_account,
        commands::account::recent_accounts,
        commands::account::remembered_accounts,
        commands::account::use_account,
        commands::account::remove_account,
        commands::account::keychain_status,
        commands::account::me,
        commands::join::lookup,
        commands::join::organisation,
        commands::join::preview,
        commands::join::request_association,
        commands::join::association_request,
        commands::join::withdraw,
        commands::join::resend_verification,
        commands::join::ask_again,
        commands::join::accept_handover,
        commands::join::decline_handover,
        commands::join::my_mail,
        commands::join::verify,
        commands::join::create_organisation,
        commands::join::events,
        commands::profile::profile,
        commands::profile::update_profile,
        commands::profile::link_mcp_id,
        commands::profile::unlink_mcp_id,
        commands::profile::privilege_catalogue,
        commands::profile::request_privilege,
        commands::profile::sync_status,
        commands::profile::sync_now,
        commands::profile::set_work_offline,
        commands::profile::unsynced_edits,
        commands::profile::conflicts,
        commands::profile::resolve_conflict,
        commands::profile::discard_edit,
        commands::admin::domains,
        commands::admin::add_domain,
        commands::admin::check_domain,
        commands::admin::remove_domain,
        commands::admin::test_policy,
        commands::admin::queue,
        commands::admin::approve,
        commands::admin::deny,
        commands::admin::decide_requests,
        commands::admin::delegation,
        commands::admin::set_delegation,
        commands::admin::end_delegation,
        commands::admin::offer_handover,
        commands::admin::invite,
        commands::admin::members,
        commands::admin::grant_privilege,
        commands::admin::revoke_privilege,
        commands::admin::remove_member,
        commands::admin::privilege_requests,
        commands::admin::audit,
        commands::app::help_contacts,
        commands::app::settings,
        commands::app::save_settings,
        commands::app::backend_status,
        commands::app::set_theme,
        commands::app::zoom,
        startup::app_ready,
        commands::inbox::inbox,
        commands::inbox::inbox_act,
        commands::inbox::inbox_mark_read,
        commands::inbox::inbox_mark_all_read,
    ])
}

/// The app's configuration, assets and access control (from `tauri.conf.json` and the
/// capabilities), for the real window and for the tests.
pub fn context<R: Runtime>() -> tauri::Context<R> {
    tauri::generate_context!()
}

pub fn run() {
    let dirs = DataDirs::from_env();
    // Single-instance first: a second start hands its arguments (a deep link) to the running app
    // and exits before anything else starts.
    let builder = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(
            deeplink::on_second_instance,
        ))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(deeplink::init())
        .plugin(tauri_plugin_window_state::Builder::new().build())
        // The chosen theme and zoom are in place before the first paint.
        .plugin(appearance::init(dirs.clone()))
        // The tray icon, and closing the window to it while signed in.
        .plugin(tray::init())
        // Notices are shown on the desktop too (never in the tests on the mock runtime).
        .manage(notifications::OsNotifications);
    // macOS and Windows show them through the plugin; Linux talks to the notification server
    // itself (alerts::DbusNotifier). The window is granted none of the plugin's commands.
    #[cfg(not(target_os = "linux"))]
    let builder = builder.plugin(tauri_plugin_notification::init());
    build_app(builder, dirs)
        .run(context())
        .expect("the Partner Desk window could not start");
}
