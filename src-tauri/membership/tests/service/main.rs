//! Black-box tests of the membership service: one binary, a fresh database per test.
mod authorisation;
mod common;
mod concurrency;
mod journey;
mod lookup;
mod mcp_id;
mod retries;
mod sessions;
mod tokens;
