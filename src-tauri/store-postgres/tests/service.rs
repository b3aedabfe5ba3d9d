//! The membership service's black-box suite (`src-tauri/membership/tests/service/`) on
//! PostgreSQL: the very files the SQLite binary runs, with a `backend` that hands each test a
//! fresh database of the throwaway cluster. Only the SQLite-only modules are left out.
#[path = "service/backend.rs"]
mod backend;

#[path = "../../membership/tests/service/common.rs"]
mod common;

#[path = "../../membership/tests/service/authorisation.rs"]
mod authorisation;
#[path = "../../membership/tests/service/concurrency.rs"]
mod concurrency;
#[path = "../../membership/tests/service/delegation.rs"]
mod delegation;
#[path = "../../membership/tests/service/journey.rs"]
mod journey;
#[path = "../../membership/tests/service/keys.rs"]
mod keys;
#[path = "../../membership/tests/service/lookup.rs"]
mod lookup;
#[path = "../../membership/tests/service/mcp_id.rs"]
mod mcp_id;
#[path = "../../membership/tests/service/outbox.rs"]
mod outbox;
#[path = "../../membership/tests/service/pending.rs"]
mod pending;
#[path = "../../membership/tests/service/proof.rs"]
mod proof;
#[path = "../../membership/tests/service/sessions.rs"]
mod sessions;
#[path = "../../membership/tests/service/tokens.rs"]
mod tokens;
