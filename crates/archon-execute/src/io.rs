//! The disk edge: [`FsFiles`] implements the file port with atomic writes, and
//! asks `git` (when present) about commits.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use archon_core::seed::sha256_hex;
use archon_store::StoreError;

use crate::doctrine::DoctrineFile;
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

/// The doctrine files under `dir` (every text file but an assembled
/// SKILL.md, sorted by path), and the files skipped as not UTF-8 text.
pub fn read_doctrine_dir(dir: &Path) -> Result<(Vec<DoctrineFile>, Vec<PathBuf>), StoreError> {
    if !dir.is_dir() {
        return Err(StoreError::Invalid {
            path: dir.to_path_buf(),
            message: "doctrine directory does not exist".into(),
        });
    }
    let (mut files, mut skipped) = (Vec::new(), Vec::new());
    walk_doctrine(dir, "", &mut files, &mut skipped)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((files, skipped))
}

fn walk_doctrine(
    dir: &Path,
    prefix: &str,
    out: &mut Vec<DoctrineFile>,
    skipped: &mut Vec<PathBuf>,
) -> Result<(), StoreError> {
    for entry in std::fs::read_dir(dir).map_err(|e| StoreError::io(dir, e))? {
        let entry = entry.map_err(|e| StoreError::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        let path = entry.path();
        if path.is_dir() {
            walk_doctrine(&path, &rel, out, skipped)?;
        } else if path.is_file() && name != "SKILL.md" {
            // Every text file counts (a rule in a .txt is still a rule); binaries do not.
            let bytes = std::fs::read(&path).map_err(|e| StoreError::io(&path, e))?;
            match String::from_utf8(bytes) {
                Ok(text) => out.push(DoctrineFile { path: rel, text }),
                Err(_) => skipped.push(path),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod doctrine_dir_tests {
    use super::*;

    #[test]
    fn reads_every_text_file_but_skill_md_sorted_and_names_the_rest() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path();
        std::fs::create_dir_all(root.join("ethos")).expect("dir");
        std::fs::write(root.join("ethos/rule.txt"), "a rule\n").expect("write");
        std::fs::write(root.join("README.md"), "# doctrine\n").expect("write");
        std::fs::write(root.join("SKILL.md"), "assembled\n").expect("write");
        std::fs::write(root.join("logo.png"), [0xff, 0xfe, 0x00]).expect("write");
        let (files, skipped) = read_doctrine_dir(root).expect("read");
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["README.md", "ethos/rule.txt"]);
        assert_eq!(skipped, [root.join("logo.png")]);
        let err = read_doctrine_dir(&root.join("nowhere")).expect_err("missing");
        assert!(err
            .to_string()
            .ends_with("nowhere: doctrine directory does not exist"));
    }
}
