//! The settlement of a cluster's results. The result artifact itself is the
//! cross-stage contract [`archon_artifacts::task_result::TaskResult`].

use serde::{Deserialize, Serialize};

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
    fn codes_round_trip() {
        for c in RejectionCode::ALL {
            assert_eq!(RejectionCode::parse(c.as_str()), Some(c));
        }
        assert_eq!(RejectionCode::parse("meh"), None);
    }
}
