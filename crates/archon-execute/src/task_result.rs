//! The task-result artifact a cluster reports to the governance ledger, in the
//! shape of the governance example `task-result-example.json`.

use serde::{Deserialize, Serialize};

/// Version of the task-result shape (the fixture's `version` field).
pub const TASK_RESULT_VERSION: &str = "1.0.0";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskResult {
    pub result_id: String,
    pub request_id: String,
    pub task_id: String,
    pub version: String,
    pub submitted_at: String,
    pub cluster_id: String,
    pub steward_id: String,
    /// `completed` for an execution that met every expected outcome.
    pub status: String,
    pub completion_summary: String,
    pub deliverables: Vec<Deliverable>,
    pub acceptance_test_results: Vec<AcceptanceTestResult>,
    pub issues: Vec<String>,
    pub blockers: Vec<String>,
    pub effort: Effort,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    pub audit: Audit,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deliverable {
    pub name: String,
    /// `document`, `data` or `code`.
    pub format: String,
    pub location: String,
    pub checksum: Checksum,
    pub size_bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checksum {
    pub algorithm: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcceptanceTestResult {
    pub test: String,
    pub passed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Effort {
    pub started_at: String,
    pub completed_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_hours: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual_hours: Option<f64>,
    pub contributors_count: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Audit {
    pub created_at: String,
    pub trace_id: String,
}

/// The format label of a deliverable, from its file extension.
pub fn deliverable_format(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("md" | "txt" | "rst" | "adoc" | "pdf") => "document",
        Some("json" | "jsonl" | "csv" | "tsv" | "yaml" | "yml" | "toml") => "data",
        _ => "code",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The fixture shape (minus its optional feedback block) decodes as a TaskResult.
    #[test]
    fn decodes_the_governance_example_shape() {
        let text = r#"{
          "result_id": "a1", "request_id": "f4", "task_id": "7c", "version": "1.0.0",
          "submitted_at": "2026-01-18T16:30:00Z", "cluster_id": "9c", "steward_id": "steward-17",
          "status": "completed", "completion_summary": "done",
          "deliverables": [{"name": "s.md", "format": "document", "location": "https://x/s.md",
            "checksum": {"algorithm": "sha256", "value": "e3"}, "size_bytes": 15234, "notes": "main"}],
          "acceptance_test_results": [{"test": "t", "passed": true, "notes": "ok"}],
          "issues": [], "blockers": [],
          "effort": {"started_at": "2026-01-17T09:00:00Z", "completed_at": "2026-01-18T15:00:00Z",
            "estimated_hours": 8, "actual_hours": 10, "contributors_count": 2},
          "notes": "n", "audit": {"created_at": "2026-01-18T16:30:00Z", "trace_id": "trace-1"}
        }"#;
        let r: TaskResult = archon_core::input::parse_json("example", text).unwrap();
        assert_eq!(r.deliverables[0].checksum.algorithm, "sha256");
        assert_eq!(r.effort.actual_hours, Some(10.0));
    }

    #[test]
    fn formats_by_extension() {
        assert_eq!(deliverable_format("a/b.MD"), "document");
        assert_eq!(deliverable_format("x.csv"), "data");
        assert_eq!(deliverable_format("src/lib.rs"), "code");
    }
}
