//! The file port of the execution stage. Stage logic reads and writes the
//! workspace and the report only through [`Files`]; [`crate::io::FsFiles`] is the
//! disk implementation.

use std::collections::BTreeMap;
use std::path::{Component, Path};

/// Directory inside the workspace where execution keeps its own records; never a deliverable.
pub const RECORDS_DIR: &str = ".archon";

/// A file-system error with the path it concerns.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct FilesError {
    pub path: String,
    pub message: String,
}

impl FilesError {
    pub fn new(path: &Path, message: impl ToString) -> FilesError {
        FilesError {
            path: path.display().to_string(),
            message: message.to_string(),
        }
    }
}

/// Git state of a workspace that lies in a git worktree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitState {
    /// Top level of the worktree.
    pub toplevel: String,
    /// HEAD commit, `None` before the first commit.
    pub head: Option<String>,
}

pub trait Files {
    fn is_dir(&self, path: &Path) -> bool;
    /// The file's bytes, `None` when it does not exist.
    fn read(&self, path: &Path) -> Result<Option<Vec<u8>>, FilesError>;
    /// Writes atomically, creating parent directories.
    fn write(&self, path: &Path, bytes: &[u8]) -> Result<(), FilesError>;
    /// Appends one line to a JSONL trail.
    fn append_line(&self, path: &Path, line: &str) -> Result<(), FilesError>;
    /// sha256 of every file under `root` by relative `/`-separated path, leaving out
    /// `.git` and [`RECORDS_DIR`].
    fn snapshot(&self, root: &Path) -> Result<BTreeMap<String, String>, FilesError>;
    /// The git state of `root`, `None` outside a git worktree or without git.
    fn git_state(&self, root: &Path) -> Option<GitState>;
    /// Commits reachable from `to` and not from `from` (oldest first).
    fn commits_between(&self, root: &Path, from: Option<&str>, to: &str) -> Vec<String>;
}

/// Checks a workspace-relative path given by a delegate: relative, no `..`, no
/// root or prefix, not inside `.git` or [`RECORDS_DIR`].
pub fn check_relative(rel: &str) -> Result<(), String> {
    let path = Path::new(rel);
    if rel.trim().is_empty() {
        return Err("empty path".into());
    }
    if rel.chars().any(char::is_control) {
        return Err(format!("{rel:?} contains a control character"));
    }
    for (i, component) in path.components().enumerate() {
        match component {
            Component::Normal(name) => {
                if i == 0 && (name == ".git" || name == RECORDS_DIR) {
                    return Err(format!("{rel:?} is inside {}", name.to_string_lossy()));
                }
            }
            Component::CurDir => {}
            _ => return Err(format!("{rel:?} is not a plain relative path")),
        }
    }
    Ok(())
}

/// Files added or modified between two snapshots, and files deleted.
pub fn diff(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let changed = after
        .iter()
        .filter(|(path, sha)| before.get(*path) != Some(*sha))
        .map(|(p, s)| (p.clone(), s.clone()))
        .collect();
    let deleted = before
        .keys()
        .filter(|p| !after.contains_key(*p))
        .cloned()
        .collect();
    (changed, deleted)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hostile_relative_paths_are_refused() {
        for bad in [
            "",
            "../x",
            "/etc/passwd",
            "a/../../b",
            ".git/config",
            ".archon/x",
            "a\nb",
        ] {
            assert!(check_relative(bad).is_err(), "{bad:?}");
        }
        for good in ["tests/a.md", "./src/lib.rs", "a/.gitignore"] {
            assert!(check_relative(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn diff_finds_added_modified_deleted() {
        let before: BTreeMap<String, String> = [("a", "1"), ("b", "2")]
            .map(|(k, v)| (k.into(), v.into()))
            .into();
        let after: BTreeMap<String, String> = [("a", "1"), ("b", "3"), ("c", "4")]
            .map(|(k, v)| (k.into(), v.into()))
            .into();
        let (changed, deleted) = diff(&before, &after);
        assert_eq!(changed.keys().collect::<Vec<_>>(), ["b", "c"]);
        assert!(deleted.is_empty());
        let (_, deleted) = diff(&after, &before);
        assert_eq!(deleted, ["c"]);
    }
}
