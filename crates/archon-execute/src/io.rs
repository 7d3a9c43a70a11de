//! The disk edge: [`FsFiles`] implements the file port with atomic writes, and
//! asks `git` (when present) about commits.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::process::Command;

use archon_core::seed::sha256_hex;

use crate::workspace::{Files, FilesError, GitState, RECORDS_DIR};

/// The real file system.
pub struct FsFiles;

impl Files for FsFiles {
    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }

    fn read(&self, path: &Path) -> Result<Option<Vec<u8>>, FilesError> {
        match std::fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(FilesError::new(path, e)),
        }
    }

    fn write(&self, path: &Path, bytes: &[u8]) -> Result<(), FilesError> {
        // Not synced: the durable commit point is the ledger, and every phase
        // record is verified by sha256 before reuse, so a file a power loss ate
        // only means that phase is delegated again.
        archon_store::write_atomic_unsynced(path, bytes).map_err(|e| FilesError::new(path, e))
    }

    fn append_line(&self, path: &Path, line: &str) -> Result<(), FilesError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| FilesError::new(dir, e))?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| FilesError::new(path, e))?;
        archon_store::fault::point("workspace trail line");
        file.write_all(format!("{line}\n").as_bytes())
            .and_then(|_| file.flush())
            .map_err(|e| FilesError::new(path, e))
    }

    fn snapshot(&self, root: &Path) -> Result<BTreeMap<String, String>, FilesError> {
        let mut out = BTreeMap::new();
        walk(root, "", &mut out)?;
        Ok(out)
    }

    fn git_state(&self, root: &Path) -> Option<GitState> {
        // Spawning git costs milliseconds; outside any worktree the answer is known.
        let abs = std::fs::canonicalize(root).ok()?;
        if !abs.ancestors().any(|a| a.join(".git").exists()) {
            return None;
        }
        let toplevel = git(root, &["rev-parse", "--show-toplevel"])?;
        let head = git(root, &["rev-parse", "--verify", "-q", "HEAD"]);
        Some(GitState { toplevel, head })
    }

    fn commits_between(&self, root: &Path, from: Option<&str>, to: &str) -> Vec<String> {
        let range = match from {
            Some(from) => format!("{from}..{to}"),
            None => to.to_string(),
        };
        git(root, &["rev-list", "--reverse", &range])
            .map(|out| out.lines().map(str::to_string).collect())
            .unwrap_or_default()
    }
}

/// Runs git in `root`; its trimmed stdout on success.
fn git(root: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(root)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, String>) -> Result<(), FilesError> {
    let entries = std::fs::read_dir(dir).map_err(|e| FilesError::new(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| FilesError::new(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if prefix.is_empty() && (name == ".git" || name == RECORDS_DIR) {
            continue;
        }
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| FilesError::new(&path, e))?;
        if kind.is_dir() {
            walk(&path, &rel, out)?;
        } else if kind.is_file() {
            let bytes = std::fs::read(&path).map_err(|e| FilesError::new(&path, e))?;
            out.insert(rel, sha256_hex(bytes));
        }
    }
    Ok(())
}
