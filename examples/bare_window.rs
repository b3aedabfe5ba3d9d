//! The floor for the start-up benchmark (`scripts/bench-app`): a bare Tauri window with the app's
//! own configuration, showing a page with one line of text that makes the same `app_ready` call as
//! Partner Desk's first screen. Whatever Partner Desk costs beyond this is its own.
use tauri::WebviewUrl;

fn main() {
    let mut context = partner_desk::context();
    for window in &mut context.config_mut().app.windows {
        window.url = WebviewUrl::App("bench/bare.html".into());
    }
    tauri::Builder::default()
        .manage(partner_desk::startup::Startup::from_args(
            std::time::Instant::now(),
        ))
        .invoke_handler(tauri::generate_handler![partner_desk::startup::app_ready])
        .run(context)
        .expect("the bare window could not start");
}
