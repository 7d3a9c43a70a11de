//! An exclusive advisory lock on a folder, for one process at a time, with a
//! note naming the holder for whoever is refused.
//!
//! The lock is a `flock` on the folder itself, so it leaves no file behind
//! that would make two output trees differ: the note is written once the lock
//! is held and removed before it is released. The kernel drops the lock when
//! its process dies, so a killed holder never leaves the folder locked (only
//! its stale note, which the next holder overwrites). `flock` locks belong to
//! the open file: a second [`FolderLock::acquire`] in the same process
//! contends like another process would.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

/// Held while the folder is locked; released on drop.
#[derive(Debug)]
pub struct FolderLock {
    dir: File,
    note: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another holder has the lock; its note, when it could be read.
    #[error("held by {}", .0.as_deref().unwrap_or("another process"))]
    Held(Option<String>),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl FolderLock {
    /// Locks `dir` (creating it) without waiting, then writes `holder` to
    /// `note`; fails with [`LockError::Held`] and the current note when
    /// another holder has it.
    pub fn acquire(dir: &Path, note: &Path, holder: &str) -> Result<FolderLock, LockError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| LockError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let file = File::open(dir).map_err(io(dir))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let by = std::fs::read_to_string(note)
                    .ok()
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty());
                return Err(LockError::Held(by));
            }
            Err(TryLockError::Error(e)) => return Err(io(dir)(e)),
        }
        std::fs::write(note, format!("{holder}\n")).map_err(io(note))?;
        Ok(FolderLock {
            dir: file,
            note: note.to_path_buf(),
        })
    }
}

impl Drop for FolderLock {
    fn drop(&mut self) {
        // The note goes before the lock, so a reader never sees a stale note
        // while the lock is held by someone else.
        let _ = std::fs::remove_file(&self.note);
        let _ = self.dir.unlock();
    }
}

/// This process as a lock note names it: `archon pid N on HOST`.
pub fn this_process() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("archon pid {} on {host}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_note_and_nothing_is_left() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("locked");
        let note = dir.join("holder");
        let first = FolderLock::acquire(&dir, &note, "first").expect("first");
        match FolderLock::acquire(&dir, &note, "second") {
            Err(LockError::Held(by)) => assert_eq!(by.as_deref(), Some("first")),
            other => panic!("expected Held, got {other:?}"),
        }
        drop(first);
        assert!(!note.exists(), "the note is removed");
        // A stale note (a killed holder's) does not keep the folder locked.
        std::fs::write(&note, "dead\n").expect("stale note");
        let again = FolderLock::acquire(&dir, &note, "third").expect("free again");
        assert_eq!(std::fs::read_to_string(&note).expect("note"), "third\n");
        drop(again);
        let left: Vec<_> = std::fs::read_dir(&dir).expect("dir").collect();
        assert!(left.is_empty(), "nothing is left in the folder");
    }
}
