//! The store the portable service tests run on in this binary: SQLite, the file the embedded
//! backend uses, in the test's own folder (beside the mailbox, as in the app).
use std::path::Path;

pub type S = membership::SqliteStore;

pub fn fresh_store(dir: &Path) -> S {
    S::open(&dir.join("membership.sqlite3")).expect("the SQLite store opens")
}
