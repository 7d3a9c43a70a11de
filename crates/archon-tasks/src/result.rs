//! A cluster's result artifact (the fixture's `task-result-example.json` shape)
//! and the settlement of results.

use archon_core::ids::safe_component;
use archon_core::input::{from_value, InputError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A result as a cluster submits it. The fields settlement reads are typed;
/// everything else of the artifact is kept verbatim in `rest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskResult {
    pub result_id: String,
    pub cluster_id: String,
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
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deliverable {
    pub name: String,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcceptanceTestResult {
    pub test: String,
    pub passed: bool,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl TaskResult {
    /// Decodes and checks a result artifact; errors name the source and JSON path.
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

/// Why a result is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectionCode {
    OutcomeNotMet,
    ConstraintViolation,
    ProvenanceInsufficient,
    ScopeDrift,
    UnsafeContent,
    Other,
}

impl RejectionCode {
    pub const ALL: [RejectionCode; 6] = [
        RejectionCode::OutcomeNotMet,
        RejectionCode::ConstraintViolation,
        RejectionCode::ProvenanceInsufficient,
        RejectionCode::ScopeDrift,
        RejectionCode::UnsafeContent,
        RejectionCode::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RejectionCode::OutcomeNotMet => "outcome_not_met",
            RejectionCode::ConstraintViolation => "constraint_violation",
            RejectionCode::ProvenanceInsufficient => "provenance_insufficient",
            RejectionCode::ScopeDrift => "scope_drift",
            RejectionCode::UnsafeContent => "unsafe_content",
            RejectionCode::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<RejectionCode> {
        RejectionCode::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// The decision on a task's pending results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Settlement {
    Accept,
    Reject { code: RejectionCode, reason: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_shape_round_trips() {
        let v = serde_json::json!({
            "result_id": "r-1", "request_id": "q", "task_id": "t", "version": "1.0.0",
            "submitted_at": "2026-01-18T16:30:00Z", "cluster_id": "c-1", "steward_id": "steward-17",
            "status": "completed", "completion_summary": "done well",
            "deliverables": [{"name": "a.md", "format": "document"}],
            "acceptance_test_results": [{"test": "t1", "passed": true}, {"test": "t2", "passed": false, "notes": "n"}],
            "issues": [], "audit": {"trace_id": "x"}
        });
        let r = TaskResult::from_json("r.json", &v).expect("valid");
        assert_eq!(r.failed_tests(), ["t2"]);
        assert_eq!(serde_json::to_value(&r).ok(), Some(v));
    }

    #[test]
    fn bad_results_name_the_path() {
        let v = serde_json::json!({"result_id": "r", "cluster_id": "c", "status": "completed",
            "submitted_at": "t", "acceptance_test_results": [{"test": "a", "passed": "yes"}]});
        let err = TaskResult::from_json("r.json", &v).expect_err("must fail");
        assert_eq!(err.path, "$.acceptance_test_results[0].passed");
        let v = serde_json::json!({"result_id": "../r", "cluster_id": "c", "status": "s", "submitted_at": "t"});
        assert_eq!(
            TaskResult::from_json("r.json", &v)
                .expect_err("must fail")
                .path,
            "$.result_id"
        );
    }

    #[test]
    fn codes_round_trip() {
        for c in RejectionCode::ALL {
            assert_eq!(RejectionCode::parse(c.as_str()), Some(c));
        }
        assert_eq!(RejectionCode::parse("meh"), None);
    }
}
