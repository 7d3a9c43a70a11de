//! The artifacts of the bridge (spec section 5) and the vocabulary they share.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The capability tags of the cluster schema (spec section 10).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CapabilityTag {
    Research,
    Analysis,
    Writing,
    Review,
    Design,
    DevBackend,
    DevFrontend,
    Devops,
    Security,
    DataEngineering,
    QaTesting,
    ProductOps,
    CommunityOps,
    IncidentResponse,
    ComplianceOps,
    Other,
}

impl CapabilityTag {
    pub fn as_str(self) -> &'static str {
        match self {
            CapabilityTag::Research => "research",
            CapabilityTag::Analysis => "analysis",
            CapabilityTag::Writing => "writing",
            CapabilityTag::Review => "review",
            CapabilityTag::Design => "design",
            CapabilityTag::DevBackend => "dev_backend",
            CapabilityTag::DevFrontend => "dev_frontend",
            CapabilityTag::Devops => "devops",
            CapabilityTag::Security => "security",
            CapabilityTag::DataEngineering => "data_engineering",
            CapabilityTag::QaTesting => "qa_testing",
            CapabilityTag::ProductOps => "product_ops",
            CapabilityTag::CommunityOps => "community_ops",
            CapabilityTag::IncidentResponse => "incident_response",
            CapabilityTag::ComplianceOps => "compliance_ops",
            CapabilityTag::Other => "other",
        }
    }
}

/// A task's sensitivity (a cross-stage contract: the ledger enforces it).
pub use archon_artifacts::Sensitivity;

/// One activation-ready task (spec 5a). `vote_count` and `contributing_earls`
/// exist only for multi-Earl decompositions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskDraft {
    pub task_ref: String,
    pub parent_tactic_id: String,
    pub rfp_id: String,
    pub mandate_id: String,
    pub proposal_id: String,
    pub description: String,
    pub requirements: Vec<String>,
    pub expected_outcomes: Vec<String>,
    pub capability_tags: Vec<String>,
    pub effort_hours: f64,
    pub deliverable_id: String,
    pub dependencies: Vec<String>,
    /// Gate for the steward auth level of the cluster that may take the task.
    #[serde(default)]
    pub sensitivity: Sensitivity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vote_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contributing_earls: Option<Vec<String>>,
}

/// How one Earl fared on one tactic (multi-Earl mode).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EarlVote {
    pub earl_name: String,
    pub earl_id: String,
    pub task_count: usize,
    pub succeeded: bool,
    pub failure_reason: String,
}

/// Status of a tactic's decomposition (spec 5b).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TacticStatus {
    Completed,
    Ambiguous,
    ReviewRequired,
    OverlapReview,
    Failed,
}

/// A draft that failed hard lint, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LintRejection {
    pub task_ref: String,
    pub violations: Vec<String>,
}

/// One row of `routing_plan.json` (spec 5b).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoutingPlanEntry {
    pub tactic_id: String,
    pub tactic_title: String,
    pub status: TacticStatus,
    pub task_refs: Vec<String>,
    pub failure_reason: String,
    pub events: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lint_rejections: Vec<LintRejection>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earl_votes: Vec<EarlVote>,
}

/// Routing and activation status of a task (spec 5c).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActivationStatus {
    PendingActivation,
    Routed,
    ActivationFailed,
    BlockedByCapability,
    BlockedByCapacity,
    RoutedWithCapacityDebt,
}

/// One row of `activation_manifest.json`: a task and one cluster it was routed
/// to (top-K routing gives K rows), or the task alone when it could not be routed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivationManifestEntry {
    pub task_ref: String,
    pub parent_tactic_id: String,
    pub deliverable_id: String,
    pub rfp_requirement_ids: Vec<String>,
    pub cluster_id: String,
    pub activation_id: String,
    pub status: ActivationStatus,
    pub routing_block_reason: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub activation_error: String,
}

/// `bridge_summary.json` (spec 5d).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BridgeSummary {
    pub schema_version: String,
    pub artifact_type: String,
    pub rfp_id: String,
    pub mandate_id: String,
    pub proposal_id: String,
    pub winning_duke_name: String,
    pub created_at: String,
    /// `simulation` or `multi_earl`.
    pub mode: String,
    /// `complete` or `blocked` (a tactic or a task could not be handed on).
    pub outcome: String,
    #[serde(flatten)]
    pub counters: Counters,
}

/// The eleven counters of the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub total_tactics: usize,
    pub total_task_drafts: usize,
    pub activations_attempted: usize,
    pub activations_created: usize,
    pub activations_failed: usize,
    pub ambiguous_tactics: usize,
    pub no_eligible_cluster: usize,
    pub capacity_blocked: usize,
    pub explosion_review: usize,
    pub overlap_review: usize,
    pub weak_provenance: usize,
}

/// The event types of the trail (spec section 9, plus `capacity_unknown` of section 7).
pub mod event {
    pub const STARTED: &str = "bridge.started";
    pub const LOADED_SELECTION: &str = "bridge.loaded_selection";
    pub const LOADED_PROPOSAL: &str = "bridge.loaded_proposal";
    pub const DECOMPOSITION_STARTED: &str = "bridge.tactic.decomposition_started";
    pub const DECOMPOSITION_COMPLETED: &str = "bridge.tactic.decomposition_completed";
    pub const DECOMPOSITION_FAILED: &str = "bridge.tactic.decomposition_failed";
    pub const AMBIGUOUS_TACTIC: &str = "bridge.decomposition.ambiguous_tactic";
    pub const EXCESSIVE_SCOPE: &str = "bridge.decomposition.excessive_scope";
    pub const OVERLAP_DETECTED: &str = "bridge.decomposition.overlap_detected";
    pub const WEAK_MAPPING: &str = "bridge.provenance.weak_mapping";
    pub const NO_ELIGIBLE_CLUSTER: &str = "bridge.routing.no_eligible_cluster";
    pub const CAPACITY_UNKNOWN: &str = "bridge.routing.capacity_unknown";
    pub const ROUTING_COMPLETED: &str = "bridge.task.routing_completed";
    pub const ACTIVATION_CREATED: &str = "bridge.task.activation_created";
    pub const ACTIVATION_FAILED: &str = "bridge.task.activation_failed";
    pub const COMPLETE: &str = "bridge.complete";
}

/// One line of `bridge_events.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BridgeEvent {
    pub event_type: String,
    pub timestamp: String,
    pub payload: BTreeMap<String, serde_json::Value>,
}
