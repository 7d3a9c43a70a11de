//! The provenance every activation carries into the governance ledger.

use serde::{Deserialize, Serialize};

/// Where a task came from: every link of its provenance chain, written by
/// `archon-decompose` into each activation, read back by `archon trace` and
/// the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskProvenance {
    pub rfp_id: String,
    pub mandate_id: String,
    pub proposal_id: String,
    pub selection_id: String,
    pub parent_tactic_id: String,
    pub deliverable_id: String,
    pub rfp_requirement_ids: Vec<String>,
    /// The tags a cluster must have (the ledger re-checks them when routing).
    #[serde(default)]
    pub capability_tags: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_in_declaration_order_and_tags_may_be_absent() {
        let text = r#"{"rfp_id":"r","mandate_id":"m","proposal_id":"p","selection_id":"s","parent_tactic_id":"t","deliverable_id":"d","rfp_requirement_ids":["FR-1"]}"#;
        let p: TaskProvenance = serde_json::from_str(text).expect("parse");
        assert!(p.capability_tags.is_empty());
        let again = serde_json::to_string(&p).expect("serialise");
        assert_eq!(again, text.replace('}', r#","capability_tags":[]}"#));
    }
}
