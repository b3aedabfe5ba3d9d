//! Black-box tests of the membership service: one binary, a fresh database per test.
//!
//! The portable modules (every one but `retries` and `sqlite_only`) reach the store only through
//! `common` and `backend`, so `src-tauri/store-postgres/tests/service.rs` runs these same files
//! on PostgreSQL with a `backend` of its own.
mod authorisation;
mod backend;
mod common;
mod concurrency;
mod delegation;
mod journey;
mod keys;
mod lookup;
mod mcp_id;
mod outbox;
mod pending;
mod proof;
mod sessions;
mod tokens;

// SQLite only.
mod retries;
mod sqlite_only;
