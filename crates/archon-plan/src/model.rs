//! The Executive artifacts of schema 2.0: blockers, contributions, attestations,
//! work packages, epics, discovery stubs, queue items, the plan and its handoff.
//!
//! Objects a President authors keep unknown fields (`extra`) so that what was
//! submitted is what is judged: a `story_points` key survives into the artifact
//! and the Legibility gate names it, instead of being silently dropped.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Schema version of every Executive v2 artifact.
pub const PLAN_SCHEMA_VERSION: &str = "2.0";
/// The versions the Legibility gate accepts (v1 files are converted on input).
pub const KNOWN_SCHEMA_VERSIONS: [&str; 1] = [PLAN_SCHEMA_VERSION];

/// Fields that belong to Administration (Dukes), never to an Executive artifact.
pub const FORBIDDEN_FIELDS: [&str; 6] = [
    "story_points",
    "estimate",
    "hours",
    "FR",
    "NFR",
    "detailed_requirements",
];

pub fn v2() -> String {
    PLAN_SCHEMA_VERSION.to_string()
}

pub type Extra = BTreeMap<String, Value>;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BlockerClass {
    /// The motion's WHAT is unclear or contradictory.
    IntentAmbiguity,
    /// Feasibility unknown; needs discovery.
    ExecutionUncertainty,
    /// Scarcity, contention, sequencing.
    CapacityConflict,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Disposition {
    EscalateNow,
    MitigateInExecutive,
    DeferDownstream,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl BlockerClass {
    pub fn as_str(self) -> &'static str {
        match self {
            BlockerClass::IntentAmbiguity => "INTENT_AMBIGUITY",
            BlockerClass::ExecutionUncertainty => "EXECUTION_UNCERTAINTY",
            BlockerClass::CapacityConflict => "CAPACITY_CONFLICT",
        }
    }
}

impl Disposition {
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::EscalateNow => "ESCALATE_NOW",
            Disposition::MitigateInExecutive => "MITIGATE_IN_EXECUTIVE",
            Disposition::DeferDownstream => "DEFER_DOWNSTREAM",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VerificationTask {
    /// `discovery_<blocker>_<n>`, numbered by the engine
    /// ([`crate::drafting::number_blockers`]): not asked of a model.
    #[serde(default)]
    #[schemars(skip)]
    pub task_id: String,
    pub description: String,
    pub success_signal: String,
    #[serde(flatten, default)]
    pub extra: Extra,
}

/// A v2 blocker. The fields the Legibility gate requires are optional here so a
/// missing one is reported by the gate, naming it, rather than refused as input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Blocker {
    /// Optional on input so that a missing version fails Legibility rule 1 by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub blocker_class: Option<BlockerClass>,
    #[serde(default)]
    pub severity: Option<Severity>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub owner_portfolio_id: Option<String>,
    #[serde(default)]
    pub disposition: Option<Disposition>,
    #[serde(default)]
    pub ttl: Option<String>,
    #[serde(default)]
    pub escalation_conditions: Option<Vec<String>>,
    #[serde(default)]
    pub verification_tasks: Vec<VerificationTask>,
    #[serde(default)]
    pub mitigation_notes: Option<String>,
    /// The motion clause the blocker is about (`4.1.2`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clause_ref: Option<String>,
    /// For intent ambiguity: the questions for the Conclave.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub questions: Vec<String>,
    /// For intent ambiguity: readings of the text (not decisions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interpretations: Vec<String>,
    /// Set when the v1 conversion rule produced this blocker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converted_from_v1: Option<Value>,
    #[serde(flatten, default)]
    pub extra: Extra,
}

impl Blocker {
    pub fn id_or_unnamed(&self) -> &str {
        self.id.as_deref().unwrap_or("<blocker without id>")
    }
}

/// A coarse capacity claim: how much of the portfolio the work needs, not hours.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CapacityClaim {
    /// `COARSE` (units of portfolio capacity) or `NONE`.
    #[schemars(extend("enum" = ["COARSE", "NONE"]))]
    pub claim_type: String,
    /// Portfolio capacity units (coarse; 0 for NONE).
    #[serde(default)]
    pub units: Option<u32>,
    /// `LOW`, `MEDIUM` or `HIGH`.
    #[serde(default)]
    #[schemars(extend("enum" = ["LOW", "MEDIUM", "HIGH", null]))]
    pub confidence: Option<String>,
    #[serde(default)]
    pub notes: String,
    #[serde(flatten, default)]
    pub extra: Extra,
}

/// A thin unit of scope; points, estimates and requirements are Administration's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkPackage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<String>,
    pub package_id: String,
    /// Assigned by the Plan Owner in E3; absent in contributions.
    #[serde(default)]
    pub epic_id: Option<String>,
    pub scope_description: String,
    #[serde(default)]
    pub portfolio_id: String,
    /// Motion clause references (`2.1`, `4.1.2`) the package serves.
    #[serde(default)]
    pub mapped_clauses: Vec<String>,
    #[serde(default)]
    pub dependencies: Vec<String>,
    #[serde(default)]
    pub constraints_respected: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_signal: Option<String>,
    #[serde(flatten, default)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortfolioIdentity {
    pub portfolio_id: String,
    pub president_id: String,
    pub president_name: String,
}

/// Where a response came from and what it cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseTrace {
    pub model: String,
    pub attempts: u32,
    pub latency_ms: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortfolioContribution {
    /// Optional on input so that a missing version fails Legibility rule 1 by name.
    #[serde(default)]
    pub schema_version: Option<String>,
    pub cycle_id: String,
    pub motion_id: String,
    pub portfolio: PortfolioIdentity,
    #[serde(default)]
    pub work_packages: Vec<WorkPackage>,
    #[serde(default)]
    pub capacity_claim: Option<CapacityClaim>,
    #[serde(default)]
    pub blockers: Vec<Blocker>,
    /// `simulation`, `llm` or `manual`.
    #[serde(default)]
    pub generated_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<ResponseTrace>,
    #[serde(flatten, default)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoActionAttestation {
    #[serde(default)]
    pub schema_version: Option<String>,
    pub cycle_id: String,
    pub motion_id: String,
    pub portfolio: PortfolioIdentity,
    pub reason: String,
    #[serde(default)]
    pub capacity_claim: Option<CapacityClaim>,
    /// True when the engine recorded it because the President gave no valid answer.
    #[serde(default)]
    pub fallback: bool,
    #[serde(default)]
    pub generated_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<ResponseTrace>,
    #[serde(flatten, default)]
    pub extra: Extra,
}

/// One affected portfolio's answer in E2.
#[derive(Debug, Clone, PartialEq)]
pub enum PortfolioResponse {
    Contribution(PortfolioContribution),
    Attestation(NoActionAttestation),
}

impl PortfolioResponse {
    pub fn portfolio_id(&self) -> &str {
        match self {
            PortfolioResponse::Contribution(c) => &c.portfolio.portfolio_id,
            PortfolioResponse::Attestation(a) => &a.portfolio.portfolio_id,
        }
    }

    pub fn capacity_claim(&self) -> Option<&CapacityClaim> {
        match self {
            PortfolioResponse::Contribution(c) => c.capacity_claim.as_ref(),
            PortfolioResponse::Attestation(a) => a.capacity_claim.as_ref(),
        }
    }

    /// `contribution`, `no_action` or `fallback_attestation`.
    pub fn kind(&self) -> &'static str {
        match self {
            PortfolioResponse::Contribution(_) => "contribution",
            PortfolioResponse::Attestation(a) if a.fallback => "fallback_attestation",
            PortfolioResponse::Attestation(_) => "no_action",
        }
    }

    /// The artifact path under the motion folder.
    pub fn artifact_path(&self) -> String {
        match self {
            PortfolioResponse::Contribution(c) => {
                format!(
                    "contributions/contribution_{}.json",
                    c.portfolio.portfolio_id
                )
            }
            PortfolioResponse::Attestation(a) => {
                format!(
                    "contributions/attestation_{}.json",
                    a.portfolio.portfolio_id
                )
            }
        }
    }

    pub fn to_value(&self) -> Value {
        match self {
            PortfolioResponse::Contribution(c) => serde_json::to_value(c),
            PortfolioResponse::Attestation(a) => serde_json::to_value(a),
        }
        .unwrap_or(Value::Null)
    }

    pub fn generated_by(&self) -> &str {
        match self {
            PortfolioResponse::Contribution(c) => &c.generated_by,
            PortfolioResponse::Attestation(a) => &a.generated_by,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Epic {
    pub schema_version: String,
    pub epic_id: String,
    pub intent: String,
    pub success_signals: Vec<String>,
    pub constraints: Vec<String>,
    pub assumptions: Vec<String>,
    pub discovery_required: Vec<String>,
    pub mapped_motion_clauses: Vec<String>,
    /// Work packages grouped under this epic.
    pub work_package_ids: Vec<String>,
    pub contributing_portfolios: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscoveryTaskStub {
    pub schema_version: String,
    pub task_id: String,
    pub origin_blocker_id: String,
    pub question: String,
    pub deliverable: String,
    pub max_effort: String,
    pub stop_conditions: Vec<String>,
    pub ttl: String,
    pub escalation_conditions: Vec<String>,
    pub suggested_tools: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConclaveQueueItem {
    pub schema_version: String,
    pub queue_item_id: String,
    pub cycle_id: String,
    pub motion_id: String,
    pub blocker_id: String,
    pub blocker_class: BlockerClass,
    pub questions: Vec<String>,
    pub options: Vec<String>,
    pub source_citations: Vec<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanOwner {
    pub president_id: String,
    pub president_name: String,
    pub portfolio_id: String,
    pub portfolio_label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseRecord {
    pub portfolio_id: String,
    /// `contribution`, `no_action` or `fallback_attestation`.
    pub response_type: String,
    pub generated_by: String,
    pub artifact: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceMetadata {
    /// `simulation`, `llm`, `manual`, or several joined by `+`.
    pub generated_by: String,
    pub models: Vec<String>,
    pub started_at: String,
    pub completed_at: String,
    /// Sum of model latencies (0 in simulation and manual mode).
    pub duration_ms: u64,
    pub agent_calls: usize,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceArtifact {
    pub name: String,
    pub path: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanProvenance {
    pub packet_id: String,
    pub packet_sha256: String,
    pub source_artifacts: Vec<SourceArtifact>,
}

/// `execution_plan_v2.json`: what Administration receives (via the handoff).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionPlanV2 {
    pub schema_version: String,
    pub plan_id: String,
    pub motion_id: String,
    pub motion_title: String,
    pub session_id: String,
    pub cycle_id: String,
    pub plan_owner: PlanOwner,
    pub affected_portfolios: Vec<String>,
    pub portfolio_responses: Vec<ResponseRecord>,
    pub epics: Vec<Epic>,
    pub work_packages: Vec<WorkPackage>,
    pub blockers: Vec<Blocker>,
    pub discovery_task_stubs: Vec<DiscoveryTaskStub>,
    pub conclave_queue_items: Vec<String>,
    pub hard_constraints: Vec<String>,
    pub provenance: PlanProvenance,
    pub trace_metadata: TraceMetadata,
    pub created_at: String,
}

/// `execution_plan_handoff.json`: the minimal wrapper for Administration intake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionPlanHandoff {
    pub schema_version: String,
    pub handoff_id: String,
    pub motion_id: String,
    pub motion_title: String,
    pub session_id: String,
    pub cycle_id: String,
    pub plan_owner: PlanOwner,
    pub epics: Vec<Epic>,
    pub work_packages: Vec<WorkPackage>,
    pub discovery_task_stubs: Vec<DiscoveryTaskStub>,
    pub hard_constraints_spotlight: Vec<String>,
    pub stop_conditions: Vec<String>,
    pub escalation_conditions: Vec<String>,
    /// Conclave queue items still open: Administration must not pre-empt them.
    pub pending_conclave_items: Vec<String>,
    pub gates_passed: bool,
    pub source_plan: SourceArtifact,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerReviewFinding {
    pub kind: String,
    pub ids: Vec<String>,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerReviewSummary {
    pub schema_version: String,
    pub cycle_id: String,
    pub motion_id: String,
    pub plan_owner_portfolio_id: String,
    pub duplicates_detected: Vec<PeerReviewFinding>,
    pub conflicts_detected: Vec<PeerReviewFinding>,
    pub coverage_gaps: Vec<String>,
    pub blocker_disposition_rationale: BTreeMap<String, String>,
    /// Blockers whose disposition a peer revised in E2.5 (`--llm-blocker-workup`).
    pub revisions: Vec<PeerReviewFinding>,
    /// Who reviewed each blocker, in E2.5 and in the Clarification Review.
    pub blocker_reviews: Vec<BlockerReview>,
    pub created_at: String,
}

/// One review of a blocker: never by the portfolio that raised it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockerReview {
    pub blocker_id: String,
    /// `E2.5` or `clarification_review`.
    pub stage: String,
    pub raised_by: String,
    pub reviewed_by: Vec<String>,
}
