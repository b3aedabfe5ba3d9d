//! The store the server runs on, chosen by `--database`: SQLite (the membership crate's store) or
//! PostgreSQL (the `store-postgres` crate, which only the server depends on). Both implement the
//! membership crate's storage seam, so every rule is the same code on either.
use membership::store::sqlite::SqliteStore;
use membership::store::{ReadTx, Store, WriteTx};
use membership::Error;
use store_postgres::PgStore;

use crate::config::Database;

pub enum ServerStore {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl ServerStore {
    /// Opens (creating and migrating) the database `--database` names.
    pub fn open(database: &Database) -> Result<Self, Error> {
        Ok(match database {
            Database::Sqlite(path) => Self::Sqlite(SqliteStore::open(path)?),
            Database::Postgres(url) => Self::Postgres(PgStore::connect(url)?),
        })
    }
}

impl Store for ServerStore {
    fn read<T>(&self, f: &mut dyn FnMut(&mut dyn ReadTx) -> Result<T, Error>) -> Result<T, Error> {
        match self {
            Self::Sqlite(s) => s.read(f),
            Self::Postgres(s) => s.read(f),
        }
    }

    fn write<T>(
        &self,
        f: &mut dyn FnMut(&mut dyn WriteTx) -> Result<T, Error>,
    ) -> Result<T, Error> {
        match self {
            Self::Sqlite(s) => s.write(f),
            Self::Postgres(s) => s.write(f),
        }
    }
}
