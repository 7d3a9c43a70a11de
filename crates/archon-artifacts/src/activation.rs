//! The activation request: what `archon-decompose` (and `archon tasks
//! activate`) hands to the governance ledger of `archon-tasks`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::sensitivity::Sensitivity;

/// The arguments of `create_activation`. `P` is the provenance: the typed
/// chain ([`crate::TaskProvenance`]) of a decomposed task, or any JSON the
/// ledger records as given (`archon tasks activate`). A `capability_tags`
/// array in it, when present, names the tags a cluster must have; otherwise
/// the preferred cluster's tags are required.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivationRequest<P = Value> {
    /// The draft's ref; `<ref>@<cluster_id>` when the task is routed to several clusters.
    pub task_ref: String,
    pub earl_id: String,
    /// The preferred cluster (from capability matching); empty: no preference.
    pub cluster_id: String,
    pub description: String,
    pub requirements: Vec<String>,
    pub expected_outcomes: Vec<String>,
    pub sensitivity: Sensitivity,
    pub ttl_hours: u32,
    pub provenance: P,
}

impl<P: Serialize> ActivationRequest<P> {
    /// The request with its provenance as the JSON the ledger records.
    pub fn recorded(self) -> Result<ActivationRequest<Value>, serde_json::Error> {
        Ok(ActivationRequest {
            provenance: serde_json::to_value(&self.provenance)?,
            task_ref: self.task_ref,
            earl_id: self.earl_id,
            cluster_id: self.cluster_id,
            description: self.description,
            requirements: self.requirements,
            expected_outcomes: self.expected_outcomes,
            sensitivity: self.sensitivity,
            ttl_hours: self.ttl_hours,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TaskProvenance;

    #[test]
    fn a_typed_request_records_the_same_bytes_as_its_json() {
        let provenance = TaskProvenance {
            rfp_id: "r".into(),
            mandate_id: "m".into(),
            proposal_id: "p".into(),
            selection_id: "s".into(),
            parent_tactic_id: "t".into(),
            deliverable_id: "d".into(),
            rfp_requirement_ids: vec!["FR-1".into()],
            capability_tags: vec!["writing".into()],
        };
        let typed = ActivationRequest {
            task_ref: "TASK-1".into(),
            earl_id: "earl".into(),
            cluster_id: "c".into(),
            description: "do".into(),
            requirements: vec![],
            expected_outcomes: vec!["done".into()],
            sensitivity: Sensitivity::Sensitive,
            ttl_hours: 72,
            provenance,
        };
        let text = serde_json::to_string(&typed).expect("serialise");
        let recorded = typed.recorded().expect("record");
        assert_eq!(serde_json::to_string(&recorded).expect("serialise"), text);
        assert_eq!(recorded.provenance["capability_tags"][0], "writing");
    }
}
