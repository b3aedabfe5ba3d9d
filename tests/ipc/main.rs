//! IPC tests: every command of the shell, called the way the window calls it, on Tauri's mock
//! runtime with the app's real configuration and access control.
mod account;
mod app;
mod centre;
mod inbox;
mod join;
mod offline;
mod profile;
mod remote;
mod sessions;
mod support;
