//! The Implementation Dossier (`rfp.json`): what must be delivered, stated by the
//! Presidents, in the shape the decomposition bridge reads (spec section 1c)
//! plus provenance back to the Executive plan.

use serde::{Deserialize, Serialize};

use archon_core::input::InputError;

use crate::plan_input::DiscoveryStub;
use crate::scoring::Dimension;

pub const ARTIFACT_TYPE: &str = "implementation_dossier";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dossier {
    pub schema_version: String,
    pub artifact_type: String,
    pub implementation_dossier_id: String,
    pub mandate_id: String,
    pub status: DossierStatus,
    /// Why the dossier is blocked (one line per failed President); empty when final.
    #[serde(default)]
    pub blocked_reasons: Vec<String>,
    pub motion_id: String,
    #[serde(default)]
    pub cycle_id: String,
    #[serde(default)]
    pub plan_owner_portfolio_id: String,
    pub deliverables: Vec<Deliverable>,
    pub requirements: Requirements,
    #[serde(default)]
    pub constraints: Vec<Constraint>,
    #[serde(default)]
    pub evaluation_criteria: Vec<EvaluationCriterion>,
    #[serde(default)]
    pub discovery_tasks: Vec<DiscoveryStub>,
    #[serde(default)]
    pub stop_conditions: Vec<String>,
    #[serde(default)]
    pub escalation_conditions: Vec<String>,
    /// Intent questions escalated to the Conclave that a deliverable depends on.
    #[serde(default)]
    pub open_intent_questions: Vec<String>,
    /// Conclave queue items still open (informational; not to be pre-empted).
    #[serde(default)]
    pub pending_conclave_items: Vec<String>,
    #[serde(default)]
    pub contributions: Vec<ContributionRecord>,
    #[serde(default)]
    pub provenance: Provenance,
    pub created_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DossierStatus {
    Final,
    Blocked,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deliverable {
    pub deliverable_id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub epic_id: String,
    pub acceptance_criteria: Vec<String>,
    #[serde(default)]
    pub constraints: Vec<String>,
    #[serde(default)]
    pub assumptions: Vec<String>,
    #[serde(default)]
    pub discovery_required: Vec<String>,
    #[serde(default)]
    pub mapped_motion_clauses: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Requirements {
    #[serde(default)]
    pub functional: Vec<FunctionalRequirement>,
    #[serde(default)]
    pub non_functional: Vec<NonFunctionalRequirement>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionalRequirement {
    pub req_id: String,
    pub description: String,
    #[serde(default)]
    pub deliverable_id: String,
    #[serde(default)]
    pub priority: String,
    #[serde(default)]
    pub source_president: String,
    #[serde(default)]
    pub portfolio_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NonFunctionalRequirement {
    pub req_id: String,
    pub description: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub measurement: String,
    #[serde(default)]
    pub source_president: String,
    #[serde(default)]
    pub portfolio_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Constraint {
    pub constraint_id: String,
    pub description: String,
    /// `plan` (hard constraints spotlight) or the President's portfolio id.
    #[serde(default)]
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluationCriterion {
    pub criterion_id: String,
    pub dimension: Dimension,
    pub weight: f64,
    pub description: String,
    /// Presidents who named this dimension their emphasis.
    #[serde(default)]
    pub emphasised_by: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContributionRecord {
    pub president_name: String,
    pub president_id: String,
    pub portfolio_id: String,
    /// `contributed` or `failed`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    #[serde(default)]
    pub execution_plan: Option<FileRef>,
    #[serde(default)]
    pub execution_plan_handoff: Option<FileRef>,
    #[serde(default)]
    pub plan_schema_version: String,
    #[serde(default)]
    pub epic_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRef {
    pub path: String,
    pub sha256: String,
}

impl Dossier {
    /// Checks what proposals and selection rely on; errors name JSON paths.
    pub fn validate(&self, source: &str) -> Vec<InputError> {
        let mut errors = Vec::new();
        let mut err = |path: String, msg: String| errors.push(InputError::new(source, path, msg));
        if let Err(m) = archon_core::ids::check_file_component(&self.mandate_id) {
            err("$.mandate_id".into(), m);
        }
        if self.deliverables.is_empty() {
            err(
                "$.deliverables".into(),
                "the Implementation Dossier has no deliverables; nothing can be proposed".into(),
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, d) in self.deliverables.iter().enumerate() {
            if d.deliverable_id.trim().is_empty() {
                err(
                    format!("$.deliverables[{i}].deliverable_id"),
                    "deliverable_id is empty".into(),
                );
            } else if !seen.insert(d.deliverable_id.as_str()) {
                err(
                    format!("$.deliverables[{i}].deliverable_id"),
                    format!("duplicate deliverable_id {:?}", d.deliverable_id),
                );
            }
        }
        errors
    }

    pub fn deliverable_ids(&self) -> Vec<&str> {
        self.deliverables
            .iter()
            .map(|d| d.deliverable_id.as_str())
            .collect()
    }

    /// Every FR and NFR id, in dossier order.
    pub fn requirement_ids(&self) -> Vec<&str> {
        self.requirements
            .functional
            .iter()
            .map(|r| r.req_id.as_str())
            .chain(
                self.requirements
                    .non_functional
                    .iter()
                    .map(|r| r.req_id.as_str()),
            )
            .collect()
    }
}
