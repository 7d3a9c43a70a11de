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
    if files.is_empty() {
        return Err(StoreError::Invalid {
            path: dir.to_path_buf(),
            message: "no cluster definition (*.json) in this directory".to_string(),
        });
    }
    let mut sources = Vec::new();
    for path in files {
        sources.push((path.display().to_string(), read_text(&path)?));
    }
    Ok(ClusterRegistry::from_sources(sources)?)
}

/// Reads a result artifact (task-result shape).
pub fn read_result(path: &Path) -> Result<TaskResult, StoreError> {
    let source = path.display().to_string();
    let value: Value = parse_json(&source, &read_text(path)?)?;
    Ok(TaskResult::from_json(&source, &value)?)
}
