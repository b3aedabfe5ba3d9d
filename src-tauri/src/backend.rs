//! Where the membership service lives. Today only in-process (`Embedded`); a `Remote` variant, a
//! client of the HTTP API in API.md, comes with its own issue.
use std::path::{Path, PathBuf};
use std::sync::Arc;

use membership::{Mailbox, Programme};

/// The database file of the embedded backend, in the app's data folder.
pub const DATABASE_FILE: &str = "membership.sqlite3";

pub enum Backend {
    /// The membership service in-process over a SQLite file, with the mailbox in the same file.
    Embedded {
        programme: Arc<Programme>,
        mailbox: Arc<Mailbox>,
        path: PathBuf,
    },
}

impl Backend {
    /// Opens (creating and seeding on first start) the embedded backend in `data_dir`.
    pub fn open_embedded(data_dir: &Path) -> Result<Self, membership::Error> {
        std::fs::create_dir_all(data_dir).map_err(|_| {
            membership::Error::new(
                membership::ErrorKind::Internal,
                "data_dir_unavailable",
                format!(
                    "Partner Desk could not create its data folder {}. Check that you may write there, then start the app again.",
                    data_dir.display()
                ),
            )
        })?;
        let path = data_dir.join(DATABASE_FILE);
        let mailbox = Arc::new(Mailbox::open(&path)?);
        let programme = Arc::new(Programme::open(&path, mailbox.clone())?);
        // A no-op on a database that already holds the demo data.
        membership::seed::seed_demo(&programme, time::OffsetDateTime::now_utc())?;
        Ok(Self::Embedded {
            programme,
            mailbox,
            path,
        })
    }

    pub fn programme(&self) -> &Arc<Programme> {
        match self {
            Self::Embedded { programme, .. } => programme,
        }
    }

    /// The embedded mailbox; `None` for a backend whose mail goes to real inboxes.
    pub fn mailbox(&self) -> Option<&Arc<Mailbox>> {
        match self {
            Self::Embedded { mailbox, .. } => Some(mailbox),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Embedded { .. } => "embedded",
        }
    }

    pub fn location(&self) -> String {
        match self {
            Self::Embedded { path, .. } => path.display().to_string(),
        }
    }
}
