//! Which ledger writers are alive, so that an intent left open by a dead
//! process can be told from one whose writer is between its two transactions
//! right now.
//!
//! Between processes: every process with a [`crate::Ledger`] open for writing
//! holds a shared `flock` on `governance.db-writers` (one per process, however
//! many ledgers it opens). Whoever gets the exclusive lock knows no other
//! process is writing. The kernel drops a lock when its process dies, so a
//! crash never leaves a stale one.
//!
//! Within a process: the intents this process has committed and not yet
//! closed are kept in memory ([`WriterLock::in_flight`]); they are never taken
//! for orphans by the process's other ledgers (threads).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// The lock file of the ledger at `ledger`.
pub fn lock_path(ledger: &Path) -> PathBuf {
    let mut name = ledger.as_os_str().to_owned();
    name.push("-writers");
    PathBuf::from(name)
}

struct ProcessShare {
    file: File,
    in_flight: Mutex<BTreeSet<u64>>,
}

/// This process's share of a ledger's lock, common to all its open ledgers.
#[derive(Clone)]
pub struct WriterLock {
    share: Arc<ProcessShare>,
}

/// Each lock file's share in this process, by canonical path.
fn shares() -> MutexGuard<'static, BTreeMap<PathBuf, Weak<ProcessShare>>> {
    static SHARES: Mutex<BTreeMap<PathBuf, Weak<ProcessShare>>> = Mutex::new(BTreeMap::new());
    SHARES.lock().unwrap_or_else(|e| e.into_inner())
}

impl WriterLock {
    /// Takes (or joins) this process's shared lock, creating the file when
    /// needed. Waits only while a check holds the exclusive lock, which lasts
    /// one transaction.
    pub fn acquire(ledger: &Path) -> std::io::Result<WriterLock> {
        let path = lock_path(ledger);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        let key = path.canonicalize()?;
        let mut shares = shares();
        if let Some(share) = shares.get(&key).and_then(Weak::upgrade) {
            return Ok(WriterLock { share });
        }
        file.lock_shared()?;
        let share = Arc::new(ProcessShare {
            file,
            in_flight: Mutex::new(BTreeSet::new()),
        });
        shares.insert(key, Arc::downgrade(&share));
        Ok(WriterLock { share })
    }

    /// Whether no other process has the ledger open for writing. Call it only
    /// while holding the ledger's write transaction: checks are then one at a
    /// time, and no other writer can be taking its share back meanwhile.
    pub fn is_only_process(&self) -> std::io::Result<bool> {
        // Converting shared to exclusive drops the shared lock first (flock(2));
        // it is taken back either way before returning.
        let alone = match self.share.file.try_lock() {
            Ok(()) => true,
            Err(std::fs::TryLockError::WouldBlock) => false,
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        };
        self.share.file.lock_shared()?;
        Ok(alone)
    }

    /// The intents this process committed and has not closed yet.
    pub fn in_flight(&self) -> MutexGuard<'_, BTreeSet<u64>> {
        self.share
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
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
