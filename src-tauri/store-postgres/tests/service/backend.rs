//! The store the portable service tests run on in this binary: PostgreSQL, a fresh database of
//! the throwaway cluster per test (`testkit::postgres::Cluster`).
use std::path::Path;

pub type S = store_postgres::PgStore;

pub fn fresh_store(_dir: &Path) -> S {
    let url = testkit::postgres::Cluster::shared().fresh_database();
    S::connect(&url).expect("the PostgreSQL store connects and migrates")
}
