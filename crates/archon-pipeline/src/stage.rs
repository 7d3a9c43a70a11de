//! The stage contract: what the chain asks of each stage.
//!
//! Every stage reads input folders, writes output folders (each closed by a
//! `stage_manifest.json`) and ends in an [`Outcome`]. The chain owns the rest
//! of the contract: the input fingerprint ([`crate::fingerprint`]), whether a
//! stage runs at all ([`crate::resume`]), and in which order items run and
//! write. A [`Stages`] implementation only runs one stage on one item: the CLI
//! implements it over the stage crates with its console; tests implement it
//! with fakes.

use std::path::{Path, PathBuf};

use archon_artifacts::SelectionOutcome;
use archon_core::fan_out::Turn;

use crate::outcome::Outcome;

/// Any error a stage reports; the chain adds which stage it was.
pub type StageError = Box<dyn std::error::Error + Send + Sync>;
pub type StageResult<T> = Result<T, StageError>;

/// The stages of the chain, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    Review,
    Plan,
    Rfp,
    Proposals,
    Select,
    Decompose,
    Tasks,
    Execute,
}

impl Stage {
    pub const ALL: [Stage; 8] = [
        Stage::Review,
        Stage::Plan,
        Stage::Rfp,
        Stage::Proposals,
        Stage::Select,
        Stage::Decompose,
        Stage::Tasks,
        Stage::Execute,
    ];

    pub const NAMES: [&'static str; 8] = [
        "review",
        "plan",
        "rfp",
        "proposals",
        "select",
        "decompose",
        "tasks",
        "execute",
    ];

    pub fn name(self) -> &'static str {
        Stage::NAMES[self as usize]
    }

    pub fn from_name(name: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Stages that work on the ledger: idempotent by task state, so they
    /// always run instead of being skipped by fingerprint.
    pub fn works_on_ledger(self) -> bool {
        matches!(self, Stage::Tasks | Stage::Execute)
    }

    /// A stage whose failure leaves nothing for the next one to do.
    pub fn stops_the_chain_when_not_complete(self) -> bool {
        matches!(self, Stage::Review | Stage::Plan | Stage::Rfp)
    }
}

/// What the rfp stage made: the rfp session folder and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RfpRun {
    pub session_dir: PathBuf,
    pub outcome: Outcome,
}

/// One task for the execute stage, with every path the run gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionJob {
    pub task_ref: String,
    pub ledger: PathBuf,
    pub workspace: PathBuf,
    pub report: PathBuf,
}

/// One stage run on one item. Items run side by side call the methods that
/// take a [`Turn`] concurrently: their ledger writes must wait for it.
pub trait Stages: Sync {
    /// Whether the answer source failed (a model server that could not be
    /// reached or broke off) while a stage ran: such a stage is not done, is not
    /// recorded, and a rerun redoes it. Simulated answers never fail.
    fn answers_failed(&self) -> Option<String> {
        None
    }
    /// Motion review of a consolidator session into `out`.
    fn review(&self, session_dir: &Path, out: &Path) -> StageResult<Outcome>;
    /// Executive plans of a review folder into `out` (one folder per motion).
    fn plan(&self, review: &Path, out: &Path) -> StageResult<Outcome>;
    /// The Implementation Dossier: one mandate per planned motion under `rfp_root`.
    fn rfp(&self, executive: &Path, rfp_root: &Path) -> StageResult<RfpRun>;
    /// The Dukes' proposals for a mandate (`revise`: answer its open revision request).
    fn proposals(&self, mandate: &Path, revise: bool) -> StageResult<Outcome>;
    /// Executive Review of a mandate's proposals.
    fn select(&self, mandate: &Path) -> StageResult<SelectionOutcome>;
    /// Decomposition of a mandate's winner into the ledger at `ledger`.
    fn decompose(&self, mandate: &Path, ledger: &Path, turn: &Turn<'_>) -> StageResult<Outcome>;
    /// Execution of one started task.
    fn execute(&self, job: &ExecutionJob, turn: &Turn<'_>) -> StageResult<Outcome>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_in_stage_order() {
        for (i, s) in Stage::ALL.into_iter().enumerate() {
            assert_eq!(s as usize, i);
            assert_eq!(Stage::from_name(s.name()), Some(s));
        }
        assert_eq!(Stage::from_name("deploy"), None);
    }
}
