//! What the report shows, as read from a run root. Artifact views are lenient
//! (`#[serde(default)]`): the report shows what a file has and never fails on
//! a field it does not need.

use std::collections::BTreeMap;

use archon_agents::usage::Totals;
use archon_store::artifact_dir::ManifestCheck;
use archon_tasks::projection::HistoryEntry;
use archon_tasks::VerifyReport;
use serde::{Deserialize, Serialize};

use archon_pipeline::trace::{Trace, VoteLink};

/// A part of the run: not run yet, unreadable (the error names the file), or read.
#[derive(Debug, Serialize)]
#[serde(tag = "status", content = "value", rename_all = "snake_case")]
pub enum Part<T> {
    NotRun,
    Unreadable(String),
    Read(T),
}

impl<T> Part<T> {
    pub fn as_read(&self) -> Option<&T> {
        match self {
            Part::Read(v) => Some(v),
            _ => None,
        }
    }
}

/// Everything the page shows. Nothing names the run root: the page is the
/// same wherever the run is.
#[derive(Debug, Serialize)]
pub struct RunReport {
    pub review: Part<Vec<ReviewSession>>,
    pub plans: Part<Vec<PlanView>>,
    pub mandates: Part<Vec<MandateView>>,
    pub tasks: Part<Vec<TaskView>>,
    /// Execution outcomes (`complete`, `blocked`, …) by count, from the stage reports.
    pub executions: BTreeMap<String, usize>,
    pub usage: Part<Totals>,
    pub verification: Verification,
}

#[derive(Debug, Serialize)]
pub struct ReviewSession {
    pub session_id: String,
    pub summary: RatificationSummary,
    pub motions: Vec<MotionView>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RatificationSummary {
    pub total_motions: u64,
    pub ratified: u64,
    pub rejected: u64,
    pub deferred: u64,
}

/// One motion through review, triage to outcome.
#[derive(Debug, Serialize)]
pub struct MotionView {
    pub motion_id: String,
    pub title: String,
    pub risk_tier: String,
    /// `ratified`, `rejected`, `deferred`, or `undecided`.
    pub outcome: String,
    pub decided_at: Option<String>,
    pub reason: Option<String>,
    pub review_path: Option<String>,
    pub stances: Option<Stances>,
    /// Stances before the amendment synthesis, when one re-reviewed the motion.
    pub stances_before: Option<Stances>,
    pub route: Option<String>,
    pub amendments: Vec<Amendment>,
    pub panel: Option<Panel>,
    pub vote: Option<Vote>,
    /// The final text, line by line, marked against the original.
    pub text: Vec<TextLine>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Stances {
    pub endorse: u64,
    pub oppose: u64,
    pub amend: u64,
    pub abstain: u64,
    pub no_response: u64,
}

/// An aggregation record of `aggregations.json` (fields the report shows).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct Aggregation {
    pub mega_motion_id: String,
    pub total_endorsements: u64,
    pub oppositions: u64,
    pub amendments_proposed: u64,
    pub abstentions: u64,
    pub no_response: u64,
    pub route: Option<String>,
    pub amendment_synthesis: Option<AmendmentSynthesis>,
}

impl Aggregation {
    pub fn stances(&self) -> Stances {
        Stances {
            endorse: self.total_endorsements,
            oppose: self.oppositions,
            amend: self.amendments_proposed,
            abstain: self.abstentions,
            no_response: self.no_response,
        }
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct AmendmentSynthesis {
    pub incorporated: Vec<Amendment>,
    pub before: Option<Box<Aggregation>>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Amendment {
    pub archon_name: String,
    pub amendment_type: String,
    pub amendment_text: String,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Panel {
    pub panel_id: String,
    pub mega_motion_id: String,
    pub transcript: Vec<PanelLine>,
    pub votes: Vec<PanelVote>,
    pub pass_votes: u64,
    pub fail_votes: u64,
    pub amend_votes: u64,
    pub defer_votes: u64,
    pub panel_recommendation: String,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PanelLine {
    pub phase: String,
    pub speaker_name: String,
    pub text: String,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PanelVote {
    pub archon_id: String,
    pub role: String,
    pub vote: String,
    pub rationale: String,
}

/// A ratification vote of `ratification_results.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Vote {
    pub mega_motion_id: String,
    #[serde(flatten)]
    pub tally: VoteLink,
}

/// A line of a motion's final text: `same`, `added` or `removed` against the original.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TextLine {
    pub change: &'static str,
    pub text: String,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct DecidedMotion {
    pub mega_motion_id: String,
    pub title: String,
    pub final_text: String,
    pub original_text: String,
    pub risk_tier: Option<String>,
    pub review_path: Option<String>,
    pub decided_at: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct TriagedMotion {
    pub mega_motion_id: String,
    pub title: String,
    pub risk_tier: String,
}

/// One Executive plan and its gates.
#[derive(Debug, Serialize)]
pub struct PlanView {
    pub motion_id: String,
    pub plan: Part<Plan>,
    pub gates: Part<Gates>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Plan {
    pub plan_id: String,
    pub motion_title: String,
    pub plan_owner: PlanOwner,
    pub affected_portfolios: Vec<String>,
    pub epics: Vec<Epic>,
    pub blockers: Vec<Blocker>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PlanOwner {
    pub president_name: String,
    pub portfolio_label: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Epic {
    pub epic_id: String,
    pub intent: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Blocker {
    pub id: String,
    pub blocker_class: String,
    pub severity: String,
    pub description: String,
    pub disposition: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Gates {
    pub completeness: Gate,
    pub visibility: Gate,
    pub legibility: Gate,
    pub all_passed: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Gate {
    pub status: String,
    pub failures: Vec<serde_json::Value>,
}

/// One mandate's selection.
#[derive(Debug, Serialize)]
pub struct MandateView {
    pub mandate_id: String,
    pub selection: Part<Selection>,
    /// The bridge's `bridge_summary.json`: a task no cluster can take never
    /// reaches the ledger, so only this says it was drafted.
    pub decomposition: Part<Decomposition>,
}

/// The counters of `bridge_summary.json` the page shows.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Decomposition {
    pub outcome: String,
    pub total_task_drafts: usize,
    pub activations_created: usize,
    pub no_eligible_cluster: usize,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Selection {
    pub selection_id: String,
    pub status: String,
    pub outcome: String,
    pub winning_proposal_id: Option<String>,
    pub iteration: u64,
    pub max_iterations: u64,
    pub reason: String,
    pub rankings: Vec<Ranking>,
    pub previous_iterations: Vec<serde_json::Value>,
}

impl Selection {
    pub fn winner(&self) -> Option<&Ranking> {
        let id = self.winning_proposal_id.as_deref()?;
        self.rankings.iter().find(|r| r.proposal_id == id)
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Ranking {
    pub proposal_id: String,
    pub rank: u64,
    pub duke_name: String,
    pub statistics: Statistics,
    pub tier: String,
    pub dimension_means: BTreeMap<String, f64>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Statistics {
    pub mean: f64,
    pub median: f64,
    pub stddev: f64,
}

/// One task of the ledger: where it went and why.
#[derive(Debug, Serialize)]
pub struct TaskView {
    pub task_ref: String,
    pub state: String,
    pub cluster_id: Option<String>,
    pub history: Vec<HistoryEntry>,
    pub provenance: Part<Trace>,
    /// The execution stage report's outcome.
    pub execution: Part<String>,
}

/// `archon verify`'s result for the run.
#[derive(Debug, Serialize)]
pub struct Verification {
    pub ok: bool,
    pub ledger: Part<VerifyReport>,
    pub manifests: Vec<ManifestCheck>,
}
