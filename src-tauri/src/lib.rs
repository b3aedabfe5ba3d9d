//! The Partner Desk desktop shell: a thin layer of Tauri commands over a `Backend`.

pub fn run() {
    tauri::Builder::default()
        .run(tauri::generate_context!())
        .expect("the Partner Desk window could not start");
}
