//! Offline profile editing that never loses an edit, without Tauri: the desktop shell wires it in.
//!
//! - [`LocalStore`]: the app's own SQLite file (WAL, `synchronous=FULL`) with cached memberships
//!   and profiles, the outbox of profile edits (each with its idempotency key, the revision it is
//!   based on and the values it started from), conflicts waiting for the person, and a log of
//!   what was synced. An edit and its outbox row are one transaction.
//! - [`ProfileEdit`] over [`Field`]: the individual-profile fields and nothing else. Privileges,
//!   roles, membership status and the MCP ID have no `Field`, so sync cannot write them.
//! - [`merge`]: the three-way merge per field (base, local, remote), pure.
//! - [`SyncEngine`]: sends the outbox over any [`client::Backend`] with `If-Match` and the row's
//!   `Idempotency-Key`, merges on 412, parks real conflicts for [`LocalStore::resolve`], keeps
//!   edits of ended memberships for the person to copy, stops when the backend is unreachable;
//!   [`AutoSync`] is the pure retry policy (backoff with jitter) the shell drives.
//!
//! Every call blocks (SQLite and the blocking backend): call from a thread that may block.
#![forbid(unsafe_code)]

mod error;
mod fields;
pub mod merge;
mod store;
mod sync;

pub use error::Error;
pub use fields::{Field, ProfileEdit};
pub use merge::FieldConflict;
pub use store::{
    Choice, Conflict, Counts, EditId, EditState, LocalProfile, LocalStore, QueuedEdit, Scope,
    SyncedEdit, SyncedOutcome,
};
pub use sync::{Access, AutoSync, Connectivity, Outcome, Progress, Report, Status, SyncEngine};
