//! Which ledger writers are alive, told by an advisory lock beside the ledger
//! (`governance.db-writers`), so that an intent left open by a dead process can
//! be told from one whose writer is between its two transactions right now.
//!
//! Every [`crate::Ledger`] opened for writing holds a shared `flock` on the file
//! for as long as it is open. Whoever gets the exclusive lock knows that no
//! writer is open anywhere (this process's other ledgers included): every open
//! intent is then an orphan. The kernel drops a lock when its process dies, so
//! a crash never leaves a stale one.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

/// The lock file of the ledger at `ledger`.
pub fn lock_path(ledger: &Path) -> PathBuf {
    let mut name = ledger.as_os_str().to_owned();
    name.push("-writers");
    PathBuf::from(name)
}

/// A live writer's share of the lock.
pub struct WriterLock {
    file: File,
}

impl WriterLock {
    /// Takes a shared lock (creating the file when needed). Waits only while a
    /// check holds the exclusive lock, which lasts one transaction.
    pub fn acquire(ledger: &Path) -> std::io::Result<WriterLock> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(lock_path(ledger))?;
        file.lock_shared()?;
        Ok(WriterLock { file })
    }

    /// Whether this is the only open writer. Call it only while holding the
    /// ledger's write transaction: checks are then one at a time, and no other
    /// writer can be taking its share back meanwhile.
    pub fn is_only_writer(&self) -> std::io::Result<bool> {
        // Converting shared to exclusive drops the shared lock first (flock(2));
        // it is taken back either way before returning.
        let alone = match self.file.try_lock() {
            Ok(()) => true,
            Err(std::fs::TryLockError::WouldBlock) => false,
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        };
        self.file.lock_shared()?;
        Ok(alone)
    }
}

/// What a reader finds of the writers.
pub enum Writers {
    /// No writer is open; the guard (the exclusive lock, when the file exists)
    /// keeps new ones from opening while it is held, so a snapshot read under it
    /// has no operation in flight.
    None { _guard: Option<File> },
    /// A writer is open now: an open intent may be an operation in flight.
    Open,
}

/// Looks at the writers without becoming one (works on read-only media). A
/// ledger without a lock file has never had a writer that could still be alive:
/// the first writer makes it.
pub fn probe(ledger: &Path) -> std::io::Result<Writers> {
    let file = match File::open(lock_path(ledger)) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Writers::None { _guard: None })
        }
        Err(e) => return Err(e),
    };
    match file.try_lock() {
        Ok(()) => Ok(Writers::None { _guard: Some(file) }),
        Err(std::fs::TryLockError::WouldBlock) => Ok(Writers::Open),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}
