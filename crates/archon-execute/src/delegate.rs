//! The delegation port: who does the work of a phase. Delegates are pluggable:
//! the agent port (simulation or LLM, [`crate::agent_delegate`]) or an external
//! program ([`crate::command`]). A delegate either does its work (possibly
//! reporting that it did not pass) or fails to run at all.

use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::handoff::Handoff;

/// The three delegated phases, Steps 1-3 of the process.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    TestImplementation,
    Implementation,
    Validation,
}

impl Phase {
    pub const ALL: [Phase; 3] = [
        Phase::TestImplementation,
        Phase::Implementation,
        Phase::Validation,
    ];

    /// The step number in doctrine/process.md.
    pub fn step(self) -> u8 {
        match self {
            Phase::TestImplementation => 1,
            Phase::Implementation => 2,
            Phase::Validation => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::TestImplementation => "test_implementation",
            Phase::Implementation => "implementation",
            Phase::Validation => "validation",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Phase::TestImplementation => "test implementation",
            Phase::Implementation => "implementation",
            Phase::Validation => "validation",
        }
    }

    /// The team-contract role the phase is delegated to.
    pub fn role(self) -> &'static str {
        match self {
            Phase::TestImplementation => "test-implementer",
            Phase::Implementation => "implementer",
            Phase::Validation => "validator",
        }
    }
}

/// A workspace file by relative path, with its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WorkspaceFile {
    pub path: String,
    pub content: String,
}

/// A delegate's own verdict on its work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Verification {
    pub passed: bool,
    pub notes: String,
}

/// The validator's verdict on one expected outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OutcomeCheck {
    pub expected_outcome: String,
    pub passed: bool,
    pub notes: String,
}

/// What a delegate is asked to do.
pub struct PhaseRequest<'a> {
    pub phase: Phase,
    pub handoff: &'a Handoff,
    pub workspace: &'a Path,
    /// The handoff as JSON in the workspace records, for external programs.
    pub task_file: &'a Path,
    /// The artifacts of the earlier phases.
    pub prior_files: &'a [WorkspaceFile],
}

/// What a delegate did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseWork {
    /// Files the execution function writes on the delegate's behalf (agent delegates);
    /// external programs write their own and leave this empty.
    pub writes: Vec<WorkspaceFile>,
    pub evidence: Vec<String>,
    pub verification: Verification,
    /// The validator's per-outcome verdicts (validation only).
    pub outcome_checks: Vec<OutcomeCheck>,
}

/// A delegate that could not do its work at all (transport failure, crash, no program).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DelegateFailure {
    pub message: String,
    pub evidence: Vec<String>,
}

pub trait Delegate {
    /// `simulation`, `llm` or `command`: recorded in the report.
    fn kind(&self) -> &'static str;
    fn perform(&self, request: &PhaseRequest<'_>) -> Result<PhaseWork, DelegateFailure>;
    /// Why the delegate's model server failed, once it has: the execution
    /// then stops without an outcome (nothing is reported from work that
    /// never came), to be invoked again.
    fn server_failed(&self) -> Option<String> {
        None
    }
}
