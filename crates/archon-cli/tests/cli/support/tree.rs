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

/// Files whose bytes hold LLM-mode ratification salts and commitments.
pub const SALTED_FILES: [&str; 2] = ["ratification_results.json", "full_audit_trail.json"];

/// A JSON text with every `salt` and `commitment` value blanked: in LLM mode
/// the engine draws salts from the OS random source, so two runs agree on
/// everything but those (each run's own commitments are checked by `archon verify`).
pub fn unsalted(text: &str) -> String {
    fn blank(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if k == "salt" || k == "commitment" {
                        *x = serde_json::Value::String("<drawn>".into());
                    } else {
                        blank(x);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(blank),
            _ => {}
        }
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(mut v) => {
            blank(&mut v);
            v.to_string()
        }
        Err(_) => text.to_string(),
    }
}
