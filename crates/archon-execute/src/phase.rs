//! Phase records: the output artifacts of a delegated phase with their sha256 and
//! the basis they were produced from. They make the stage idempotent: before
//! delegating a phase, a valid record is verified and reused instead.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use archon_core::seed::sha256_hex;
use serde::{Deserialize, Serialize};

use crate::delegate::{OutcomeCheck, Phase, Verification};
use crate::handoff::Handoff;
use crate::workspace::{Files, FilesError, RECORDS_DIR};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseRecord {
    pub schema_version: String,
    pub task_ref: String,
    pub phase: Phase,
    /// sha256 of the task's fields, the phase and the previous phase's artifacts.
    pub basis: String,
    pub delegate: String,
    /// Files added or modified by the phase → sha256.
    pub files: BTreeMap<String, String>,
    pub deleted: Vec<String>,
    pub commits: Vec<String>,
    pub evidence: Vec<String>,
    pub verification: Verification,
    pub outcome_checks: Vec<OutcomeCheck>,
    pub recorded_at: String,
}

/// `<workspace>/.archon/execution/<task_ref>/`.
pub fn records_dir(workspace: &Path, task_ref: &str) -> PathBuf {
    workspace.join(RECORDS_DIR).join("execution").join(task_ref)
}

/// The workspace snapshot taken before a phase first ran on a basis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    pub basis: String,
    pub files: BTreeMap<String, String>,
}

pub fn baseline_path(workspace: &Path, task_ref: &str, phase: Phase) -> PathBuf {
    records_dir(workspace, task_ref).join(format!("{}.baseline.json", phase.as_str()))
}

/// sha256 of the task's own fields (no path): the execute stage's input hash.
pub fn task_hash(handoff: &Handoff) -> String {
    sha256_hex(serde_json::Value::Object(task_fields(handoff)).to_string())
}

pub fn record_path(workspace: &Path, task_ref: &str, phase: Phase) -> PathBuf {
    records_dir(workspace, task_ref).join(format!("{}.json", phase.as_str()))
}

/// What a phase's output depends on: the task and the previous phase's artifacts.
pub fn basis(handoff: &Handoff, phase: Phase, previous: Option<&PhaseRecord>) -> String {
    let mut canonical = task_fields(handoff);
    canonical.insert("phase".into(), serde_json::json!(phase));
    canonical.insert(
        "previous".into(),
        serde_json::json!(previous.map(|r| (&r.basis, &r.files))),
    );
    sha256_hex(serde_json::Value::Object(canonical).to_string())
}

/// The task's own fields (no path), in a fixed order.
fn task_fields(handoff: &Handoff) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::json;
    [
        ("task_ref", json!(handoff.task_ref)),
        ("activation_id", json!(handoff.activation_id)),
        ("cluster_id", json!(handoff.cluster_id)),
        ("description", json!(handoff.description)),
        ("requirements", json!(handoff.requirements)),
        ("expected_outcomes", json!(handoff.expected_outcomes)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Whether a phase's earlier output can be reused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reuse {
    Valid(Box<PhaseRecord>),
    Absent,
    /// A record exists but cannot be reused; the reason goes to the item events.
    Invalid(String),
}

/// Verifies the record of `phase`: it decodes, has this basis, passed, and every
/// artifact it lists still has its recorded sha256.
pub fn check_record(
    files: &dyn Files,
    workspace: &Path,
    task_ref: &str,
    phase: Phase,
    basis: &str,
) -> Result<Reuse, FilesError> {
    let path = record_path(workspace, task_ref, phase);
    let Some(bytes) = files.read(&path)? else {
        return Ok(Reuse::Absent);
    };
    let text = String::from_utf8_lossy(&bytes);
    let record: PhaseRecord =
        match archon_core::input::parse_json(&path.display().to_string(), &text) {
            Ok(r) => r,
            Err(e) => return Ok(Reuse::Invalid(e.to_string())),
        };
    if record.phase != phase || record.task_ref != task_ref {
        return Ok(Reuse::Invalid(format!(
            "{}: records {} of {}, not {} of {task_ref}",
            path.display(),
            record.phase.as_str(),
            record.task_ref,
            phase.as_str()
        )));
    }
    if record.basis != basis {
        return Ok(Reuse::Invalid(
            "the task or an earlier phase's artifacts changed since it was recorded".into(),
        ));
    }
    if !record.verification.passed {
        return Ok(Reuse::Invalid("the recorded phase did not pass".into()));
    }
    for (rel, want) in &record.files {
        match files.read(&workspace.join(rel))? {
            None => return Ok(Reuse::Invalid(format!("{rel} is missing"))),
            Some(bytes) if &sha256_hex(&bytes) != want => {
                return Ok(Reuse::Invalid(format!(
                    "{rel}: sha256 differs from the record"
                )))
            }
            Some(_) => {}
        }
    }
    Ok(Reuse::Valid(Box::new(record)))
}
