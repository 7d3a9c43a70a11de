//! Snapshots of output trees, for comparing the artifacts of two runs.
#![allow(dead_code)] // each test file uses part of the support

use std::collections::BTreeMap;
use std::path::Path;

/// Every file below `root` with its bytes, keyed by its path relative to `root`.
pub fn files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    files_where(root, |_| true)
}

/// Every file below `root` whose relative path `keep` accepts, with its bytes.
pub fn files_where(root: &Path, keep: impl Fn(&str) -> bool) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            if keep(&rel) {
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}
