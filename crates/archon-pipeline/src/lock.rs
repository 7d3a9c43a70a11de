//! The advisory lock on a run root: one writer at a time.
//!
//! An [`archon_store::lock::FolderLock`] on the root folder itself, so it
//! leaves no file behind that would make two run trees differ; the holder's
//! pid is its note, in [`crate::layout::LOCK_PID_FILE`], for the message a
//! second writer gets. The kernel drops the lock when the holder dies, so a
//! killed run never leaves the root locked.

use archon_store::lock::{FolderLock, LockError};

use crate::error::PipelineError;
use crate::layout::Layout;

/// Held while a command writes under a run root; released on drop.
#[derive(Debug)]
pub struct RunLock {
    _held: FolderLock,
}

impl RunLock {
    /// Locks `layout`'s root (creating it), or fails at once with
    /// [`PipelineError::InUse`] when another process holds it.
    pub fn acquire(layout: &Layout) -> Result<RunLock, PipelineError> {
        let pid = std::process::id().to_string();
        match FolderLock::acquire(layout.root(), &layout.lock_pid_file(), &pid) {
            Ok(held) => Ok(RunLock { _held: held }),
            Err(LockError::Held(by)) => Err(PipelineError::InUse {
                root: layout.root().to_path_buf(),
                pid: by.and_then(|pid| pid.parse().ok()),
            }),
            Err(LockError::Io { path, source }) => Err(PipelineError::io(path, source)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_pid() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let layout = Layout::new(tmp.path().join("run"));
        let first = RunLock::acquire(&layout).expect("first");
        // flock locks belong to the open file: a second open in the same
        // process contends like another process would.
        match RunLock::acquire(&layout) {
            Err(PipelineError::InUse { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("expected InUse, got {other:?}"),
        }
        drop(first);
        assert!(!layout.lock_pid_file().exists(), "the pid file is removed");
        let again = RunLock::acquire(&layout).expect("free again");
        drop(again);
        let left: Vec<_> = std::fs::read_dir(layout.root()).expect("dir").collect();
        assert!(left.is_empty(), "nothing is left in the root");
    }
}
