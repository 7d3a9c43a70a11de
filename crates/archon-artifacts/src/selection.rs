//! `selection_result.json`'s `outcome`.

use serde::{Deserialize, Serialize};

/// How an Executive Review of a mandate's proposals ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SelectionOutcome {
    WinnerSelected,
    RevisionRequested,
    NoViableProposal,
    EscalateToConclave,
}

impl SelectionOutcome {
    pub const ALL: [SelectionOutcome; 4] = [
        SelectionOutcome::WinnerSelected,
        SelectionOutcome::RevisionRequested,
        SelectionOutcome::NoViableProposal,
        SelectionOutcome::EscalateToConclave,
    ];

    /// The name the file records (`WINNER_SELECTED`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            SelectionOutcome::WinnerSelected => "WINNER_SELECTED",
            SelectionOutcome::RevisionRequested => "REVISION_REQUESTED",
            SelectionOutcome::NoViableProposal => "NO_VIABLE_PROPOSAL",
            SelectionOutcome::EscalateToConclave => "ESCALATE_TO_CONCLAVE",
        }
    }

    /// `status` of `selection_result.json`.
    pub fn status(self) -> &'static str {
        match self {
            SelectionOutcome::WinnerSelected => "DECIDED",
            SelectionOutcome::RevisionRequested => "REVISION_PENDING",
            SelectionOutcome::NoViableProposal => "NO_DECISION",
            SelectionOutcome::EscalateToConclave => "ESCALATED",
        }
    }

    /// The stage outcome: complete, blocked or escalated.
    pub fn stage_outcome(self) -> &'static str {
        match self {
            SelectionOutcome::WinnerSelected => "complete",
            SelectionOutcome::RevisionRequested | SelectionOutcome::NoViableProposal => "blocked",
            SelectionOutcome::EscalateToConclave => "escalated",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recorded_name_is_the_serialised_one() {
        for outcome in SelectionOutcome::ALL {
            let json = serde_json::to_string(&outcome).expect("serialise");
            assert_eq!(json, format!("\"{}\"", outcome.as_str()));
            let back: SelectionOutcome = serde_json::from_str(&json).expect("parse");
            assert_eq!(back, outcome);
        }
        assert!(serde_json::from_str::<SelectionOutcome>("\"WINNER\"").is_err());
    }
}
