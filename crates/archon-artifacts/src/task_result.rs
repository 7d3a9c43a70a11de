//! The result a cluster reports for a task, in the shape of the governance
//! example `task-result-example.json`: produced by `archon-execute` for the
//! executions it runs, submitted by outside clusters through `archon tasks
//! report` and `archon serve`, recorded and settled by the ledger of
//! `archon-tasks`.
//!
//! One type for every producer and consumer. Each field of the example is
//! typed; what an outside cluster may leave out is optional (the execution
//! stage fills every field); whatever else a cluster sends is kept verbatim in
//! `extra`, so the ledger records a submitted result without losing a key.
//! Field order is the order the ledger stores (and hashes): the fields
//! settlement reads first, then the rest in the example's order.

use archon_core::ids::safe_component;
use archon_core::input::{from_value, InputError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

/// Version of the task-result shape (the example's `version` field).
pub const TASK_RESULT_VERSION: &str = "1.0.0";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskResult {
    pub result_id: String,
    pub cluster_id: String,
    /// `completed` for an execution that met every expected outcome.
    pub status: String,
    pub submitted_at: String,
    #[serde(default)]
    pub steward_id: String,
    #[serde(default)]
    pub completion_summary: String,
    #[serde(default)]
    pub deliverables: Vec<Deliverable>,
    #[serde(default)]
    pub acceptance_test_results: Vec<AcceptanceTestResult>,
    /// The activation the result answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Kept as sent: the example gives no shape for an issue or a blocker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issues: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blockers: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<Effort>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// The cluster's feedback on the request, kept as sent (the engine does not read it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<Audit>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deliverable {
    pub name: String,
    /// `document`, `data` or `code` ([`deliverable_format`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<Checksum>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
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
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Effort {
    pub started_at: String,
    pub completed_at: String,
    /// Numbers as sent (`8` stays `8`, not `8.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_hours: Option<Number>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual_hours: Option<Number>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contributors_count: Option<u32>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Audit {
    pub created_at: String,
    pub trace_id: String,
    /// E.g. the example's `steward_attestation`.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl TaskResult {
    /// Decodes and checks a submitted result; errors name the source and JSON path.
    pub fn from_json(source: &str, value: &Value) -> Result<TaskResult, InputError> {
        let result: TaskResult = from_value(source, "$", value)?;
        safe_component(&result.result_id, source, "$.result_id")?;
        safe_component(&result.cluster_id, source, "$.cluster_id")?;
        Ok(result)
    }

    /// Names of the acceptance tests that did not pass.
    pub fn failed_tests(&self) -> Vec<&str> {
        self.acceptance_test_results
            .iter()
            .filter(|t| !t.passed)
            .map(|t| t.test.as_str())
            .collect()
    }
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
mod tests {
    use super::*;

    const EXAMPLE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/archon72/docs/governance/examples/task-result-example.json"
    );

    /// The real example decodes with every field typed, loses nothing, and
    /// stores its fields in the order the ledger always stored them: the
    /// settlement fields first, the rest as the example lists them.
    #[test]
    fn the_governance_example_decodes_typed_and_keeps_every_key() {
        let text = std::fs::read_to_string(EXAMPLE).expect("the shared fixture");
        let sent: Value = serde_json::from_str(&text).expect("json");
        let result = TaskResult::from_json("example", &sent).expect("valid");
        assert_eq!(
            result.request_id.as_deref(),
            Some(sent["request_id"].as_str().unwrap_or(""))
        );
        let checksum = result.deliverables[0].checksum.as_ref().expect("checksum");
        assert_eq!(checksum.algorithm, "sha256");
        let effort = result.effort.as_ref().expect("effort");
        assert_eq!(effort.contributors_count, Some(2));
        let audit = result.audit.as_ref().expect("audit");
        assert!(audit.extra.contains_key("steward_attestation"));
        assert!(result.extra.is_empty(), "{:?}", result.extra);
        assert!(result.failed_tests().is_empty());

        let stored = serde_json::to_value(&result).expect("serialise");
        assert_eq!(stored, sent, "a key was lost or a value changed");
        let keys: Vec<&str> = stored
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(
            keys,
            [
                "result_id",
                "cluster_id",
                "status",
                "submitted_at",
                "steward_id",
                "completion_summary",
                "deliverables",
                "acceptance_test_results",
                "request_id",
                "task_id",
                "version",
                "issues",
                "blockers",
                "effort",
                "notes",
                "feedback",
                "audit",
            ]
        );
        // Whole hours stay integers: re-encoding must not turn `8` into `8.0`.
        let text = serde_json::to_string(&result).expect("serialise");
        assert!(text.contains("\"estimated_hours\":8,"), "{text}");
    }

    #[test]
    fn a_minimal_result_keeps_unknown_keys_and_adds_none() {
        let sent = serde_json::json!({"result_id": "r", "cluster_id": "c", "status": "completed",
            "submitted_at": "t", "acceptance_test_results": [{"test": "a", "passed": false, "by": "qa"}],
            "x-cluster-tag": {"k": 1}});
        let result = TaskResult::from_json("r.json", &sent).expect("valid");
        assert_eq!(result.failed_tests(), ["a"]);
        assert_eq!(result.extra["x-cluster-tag"], serde_json::json!({"k": 1}));
        // The defaults of the fields settlement reads are written out; unknown keys come last.
        let expected = serde_json::json!({"result_id": "r", "cluster_id": "c", "status": "completed",
            "submitted_at": "t", "steward_id": "", "completion_summary": "", "deliverables": [],
            "acceptance_test_results": [{"test": "a", "passed": false, "by": "qa"}],
            "x-cluster-tag": {"k": 1}});
        let stored = serde_json::to_string(&result).expect("serialise");
        assert_eq!(stored, expected.to_string());
    }

    #[test]
    fn bad_results_name_the_json_path() {
        let cases = [
            (
                serde_json::json!({"result_id": "r", "cluster_id": "c", "status": "completed",
                    "submitted_at": "t", "acceptance_test_results": [{"test": "a", "passed": "yes"}]}),
                "$.acceptance_test_results[0].passed",
            ),
            (
                serde_json::json!({"result_id": "../r", "cluster_id": "c", "status": "s", "submitted_at": "t"}),
                "$.result_id",
            ),
            (
                serde_json::json!({"result_id": "r", "cluster_id": "c", "status": "s", "submitted_at": "t",
                    "effort": {"started_at": "a", "completed_at": "b", "contributors_count": "two"}}),
                "$.effort.contributors_count",
            ),
            (
                serde_json::json!({"result_id": "r", "cluster_id": "c", "status": "s", "submitted_at": "t",
                    "request_id": 7}),
                "$.request_id",
            ),
        ];
        for (value, path) in cases {
            let err = TaskResult::from_json("r.json", &value).expect_err("must fail");
            assert_eq!(err.path, path, "{err:?}");
        }
    }

    #[test]
    fn formats_by_extension() {
        assert_eq!(deliverable_format("a/b.MD"), "document");
        assert_eq!(deliverable_format("x.csv"), "data");
        assert_eq!(deliverable_format("src/lib.rs"), "code");
    }
}
