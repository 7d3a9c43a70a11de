//! The I/O edge: cluster directories and result files.

use std::path::Path;

use archon_core::input::parse_json;
use archon_store::{read_text, StoreError};
use serde_json::Value;

use crate::cluster::ClusterRegistry;
use archon_artifacts::TaskResult;

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
/// `cluster_id` or a cluster `status`, active, paused or retired: the fields the
/// spec's adapter validates; a task result has a `status` too, `completed`) are
/// skipped, each noted in [`ClusterRegistry::skipped`]; a file with both is a
/// cluster and must be valid in every other field. When no file is a cluster,
/// the error says why each was skipped.
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
        match serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| not_a_cluster(&v))
        {
            Some(why) => skipped.push(format!(
                "{}: {why}: not a cluster definition; skipped",
                path.display()
            )),
            None => sources.push((path.display().to_string(), text)),
        }
    }
    if sources.is_empty() {
        let mut message =
            "no cluster definition (*.json with a cluster_id and a cluster status) in this directory"
                .to_string();
        for why in &skipped {
            message.push_str("; ");
            message.push_str(why);
        }
        return Err(StoreError::Invalid {
            path: dir.to_path_buf(),
            message,
        });
    }
    Ok(ClusterRegistry::from_sources(sources)?.with_skipped(skipped))
}

/// Why a well-formed JSON document is not a cluster definition, if it is not:
/// no `cluster_id`, or a `status` that is not a cluster status (a task result's
/// `completed`, a motion's).
fn not_a_cluster(v: &Value) -> Option<String> {
    if v.get("cluster_id").is_none() {
        return Some("$.cluster_id: absent".into());
    }
    let status = v.get("status").cloned().unwrap_or(Value::Null);
    match serde_json::from_value::<crate::cluster::ClusterStatus>(status.clone()) {
        Ok(_) => None,
        Err(_) => Some(format!(
            "$.status: {status} is not a cluster status (active, paused, retired)"
        )),
    }
}

/// Reads a result artifact (task-result shape).
pub fn read_result(path: &Path) -> Result<TaskResult, StoreError> {
    let source = path.display().to_string();
    let value: Value = parse_json(&source, &read_text(path)?)?;
    Ok(TaskResult::from_json(&source, &value)?)
}
