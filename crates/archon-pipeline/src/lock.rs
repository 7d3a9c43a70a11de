//! The advisory lock on a run root: one writer at a time.
//!
//! The lock is an exclusive `flock` on the root folder itself, so it leaves no
//! file behind that would make two run trees differ; the holder writes its pid
//! to [`crate::layout::LOCK_PID_FILE`] for the message a second writer gets,
//! and removes it on release. The kernel drops the lock when the holder dies,
//! so a killed run never leaves the root locked.

use std::fs::{File, TryLockError};

use crate::error::PipelineError;
use crate::layout::Layout;

/// Held while a command writes under a run root; released on drop.
#[derive(Debug)]
pub struct RunLock {
    dir: File,
    pid_file: std::path::PathBuf,
}

impl RunLock {
    /// Locks `layout`'s root (creating it), or fails at once with
    /// [`PipelineError::InUse`] when another process holds it.
    pub fn acquire(layout: &Layout) -> Result<RunLock, PipelineError> {
        let root = layout.root();
        std::fs::create_dir_all(root).map_err(|e| PipelineError::io(root, e))?;
        let dir = File::open(root).map_err(|e| PipelineError::io(root, e))?;
        let pid_file = layout.lock_pid_file();
        match dir.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let pid = std::fs::read_to_string(&pid_file)
                    .ok()
                    .and_then(|s| s.trim().parse().ok());
                return Err(PipelineError::InUse {
                    root: root.to_path_buf(),
                    pid,
                });
            }
            Err(TryLockError::Error(e)) => return Err(PipelineError::io(root, e)),
        }
        std::fs::write(&pid_file, format!("{}\n", std::process::id()))
            .map_err(|e| PipelineError::io(&pid_file, e))?;
        Ok(RunLock { dir, pid_file })
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // The pid goes before the lock, so a reader never sees a stale pid
        // while the lock is held by someone else.
        let _ = std::fs::remove_file(&self.pid_file);
        let _ = self.dir.unlock();
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
