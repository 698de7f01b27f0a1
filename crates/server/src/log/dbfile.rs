//! The SQLite database file: private to its owner, held by one server, and
//! watched so that a file removed or replaced under the server stops it
//! from acknowledging sends.
//!
//! - Created `0600` in a folder created `0700`: messages are nobody else's
//!   to read (SQLite gives its `-wal` and `-shm` files the database file's
//!   permissions).
//! - Locked (`flock`, exclusively) for as long as the server runs: a second
//!   server on the same file would keep its own in-memory window and
//!   numbering, see none of the first one's messages, and store a retried
//!   `client_id` twice. It refuses to start instead. The lock is on the
//!   database file itself, not a file beside it that could be removed;
//!   SQLite's own locks are `fcntl` locks, which `flock` does not touch.
//! - Watched: SQLite keeps writing to the file it opened even after that
//!   file was deleted or renamed away, and a restart would then find
//!   none of it. The writer checks, after every commit and before anyone
//!   is answered, that the path still names the file it opened.

use std::{
    fs::{DirBuilder, File, OpenOptions},
    io,
    os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt},
    path::{Path, PathBuf},
    sync::atomic::{AtomicBool, Ordering},
};

/// Why the database file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error(
        "another server is using {0}; SQLite serves one server at a time (use PostgreSQL for several)"
    )]
    InUse(PathBuf),
    #[error("cannot open the database file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The database file this server opened, locked for as long as it lives.
#[derive(Debug)]
pub struct DatabaseFile {
    path: PathBuf,
    /// Holds the lock; closing it releases it.
    _lock: File,
    /// The file's device and inode when it was opened.
    identity: (u64, u64),
    /// Set once the path named another file or none: never cleared.
    lost: AtomicBool,
}

/// The database file was removed or replaced while the server ran.
#[derive(Debug, thiserror::Error)]
#[error("the database file {0} was removed or replaced while the server ran; restart the server")]
pub struct FileLost(pub PathBuf);

impl DatabaseFile {
    /// Creates the file (and its folder) if needed, with owner-only
    /// permissions, and locks it.
    pub fn claim(path: &Path) -> Result<Self, ClaimError> {
        let io_error = |source| ClaimError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(folder) = path.parent()
            && !folder.as_os_str().is_empty()
            && !folder.exists()
        {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(folder)
                .map_err(io_error)?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(io_error)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(ClaimError::InUse(path.to_owned()));
            }
            Err(std::fs::TryLockError::Error(err)) => return Err(io_error(err)),
        }
        let metadata = file.metadata().map_err(io_error)?;
        Ok(Self {
            path: path.to_owned(),
            _lock: file,
            identity: (metadata.dev(), metadata.ino()),
            lost: AtomicBool::new(false),
        })
    }

    /// Whether the file was found removed or replaced before (no I/O).
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }

    /// Whether the path still names the file that was opened. Once it did
    /// not, it never does again: messages committed to the lost file are
    /// gone at the next start, so nothing more may be acknowledged.
    pub fn check(&self) -> Result<(), FileLost> {
        if !self.is_lost() {
            let same = std::fs::metadata(&self.path)
                .is_ok_and(|now| (now.dev(), now.ino()) == self.identity);
            if same {
                return Ok(());
            }
            if !self.lost.swap(true, Ordering::Relaxed) {
                tracing::error!(path = %self.path.display(), "the database file was removed or replaced; no send will be acknowledged until the server restarts");
            }
        }
        Err(FileLost(self.path.clone()))
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn the_file_and_its_folder_are_private() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("data").join("chat.db");
        let _file = DatabaseFile::claim(&path).expect("claims");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().expect("folder")), 0o700);
    }

    #[test]
    fn a_second_claim_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("chat.db");
        let first = DatabaseFile::claim(&path).expect("claims");
        assert!(matches!(
            DatabaseFile::claim(&path),
            Err(ClaimError::InUse(_))
        ));
        drop(first);
        DatabaseFile::claim(&path).expect("free again");
    }

    #[test]
    fn a_removed_or_replaced_file_is_lost_for_good() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("chat.db");
        let file = DatabaseFile::claim(&path).expect("claims");
        file.check().expect("still there");

        std::fs::remove_file(&path).expect("removes");
        assert!(file.check().is_err());
        // A new file at the same path is not the one the server wrote to.
        std::fs::write(&path, b"").expect("recreates");
        assert!(file.check().is_err());

        let other = dir.path().join("other.db");
        let file = DatabaseFile::claim(&other).expect("claims");
        std::fs::rename(&other, dir.path().join("moved.db")).expect("renames");
        std::fs::write(&other, b"").expect("replaces");
        assert!(file.check().is_err());
    }
}
