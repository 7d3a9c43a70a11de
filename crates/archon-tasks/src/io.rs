//! The I/O edge: cluster directories and result files.

use std::path::Path;

use archon_core::input::parse_json;
use archon_store::{read_text, StoreError};
use serde_json::Value;

use crate::cluster::ClusterRegistry;
use crate::result::TaskResult;

/// Reads every `*.json` in `dir` (sorted by name) as a cluster definition.
/// All problems are reported together, each naming its file and JSON path.
/// The clusters of `dir`, or the bundled ones when no folder is given.
pub fn load_clusters(dir: Option<&Path>) -> Result<ClusterRegistry, StoreError> {
    match dir {
        Some(dir) => load_cluster_dir(dir),
        None => Ok(ClusterRegistry::bundled()?),
    }
}

/// Files that are not cluster definitions (well-formed JSON without a
/// `cluster_id` and a cluster `status`, active, paused or retired: the fields the
/// spec's adapter requires; a task result has a `status` too, `completed`) are
/// skipped, each noted in [`ClusterRegistry::skipped`]; a file that has both is
/// a cluster and must be a valid one.
pub fn load_cluster_dir(dir: &Path) -> Result<ClusterRegistry, StoreError> {
    let entries = std::fs::read_dir(dir).map_err(|e| StoreError::io(dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| StoreError::io(dir, e))?.path();
        if path.extension().is_some_and(|e| e == "json") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    let mut sources = Vec::new();
    let mut skipped = Vec::new();
    for path in files {
        let text = read_text(&path)?;
        // Malformed JSON is not skipped: it is bad input, reported with its position.
        let not_a_cluster = serde_json::from_str::<Value>(&text).is_ok_and(|v| {
            let status = v.get("status").cloned().unwrap_or(Value::Null);
            v.get("cluster_id").is_none()
                || serde_json::from_value::<crate::cluster::ClusterStatus>(status).is_err()
        });
        if !not_a_cluster {
            sources.push((path.display().to_string(), text));
        } else {
            skipped.push(format!(
                "{}: not a cluster definition (no cluster_id, or no cluster status); skipped",
                path.display()
            ));
        }
    }
    if sources.is_empty() {
        return Err(StoreError::Invalid {
            path: dir.to_path_buf(),
            message: "no cluster definition (*.json with cluster_id and status) in this directory"
                .to_string(),
        });
    }
    Ok(ClusterRegistry::from_sources(sources)?.with_skipped(skipped))
}

/// Reads a result artifact (task-result shape).
pub fn read_result(path: &Path) -> Result<TaskResult, StoreError> {
    let source = path.display().to_string();
    let value: Value = parse_json(&source, &read_text(path)?)?;
    Ok(TaskResult::from_json(&source, &value)?)
}
