//! The chain: every stage in order under one run root, resumable.
//!
//! Artifact stages (review … decompose) are skipped when their fingerprint
//! matches and their manifests verify; ledger stages (tasks, execute) are
//! idempotent by task state and always run. Items of a stage (mandates,
//! tasks) run side by side and write the shared ledger in item order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use archon_artifacts::SelectionOutcome;
use archon_core::clock::Clock;
use archon_core::fan_out::{self, Turn};
use archon_core::ids::check_file_component;
use archon_decompose::model::{ActivationManifestEntry, ActivationStatus};
use archon_execute::execute::EXECUTION_LEAD;
use archon_execute::ledger::Stop;
use archon_store::write_atomic;
use archon_tasks::{ClusterRegistry, EventBody, Ledger, TaskRecord, TaskState, Transition};
use serde::{Deserialize, Serialize};

use crate::error::PipelineError;
use crate::fingerprint::{AnswerSource, Fingerprint};
use crate::layout::{subdirs, Layout};
use crate::lock::RunLock;
use crate::outcome::Outcome;
use crate::policy::{self, MAX_SELECTION_ROUNDS};
use crate::resume::{self, ItemDecision, ItemMark, RunState};
use crate::stage::{ExecutionJob, Stage, StageError, Stages};

/// The bundled example session, written under `<root>/input/` when no session is given.
pub const EXAMPLE_SESSION_ID: &str = "example-session-001";
const EXAMPLE_FILES: [(&str, &str); 2] = [
    (
        "mega-motions.json",
        include_str!("../../../data/example/consolidator/example-session-001/mega-motions.json"),
    ),
    (
        "novel-proposals.json",
        include_str!("../../../data/example/consolidator/example-session-001/novel-proposals.json"),
    ),
];

/// What a run is made from, besides its stages.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Consolidator session directory; `None`: the bundled example session.
    pub session_dir: Option<PathBuf>,
    /// Stop after this stage.
    pub until: Option<Stage>,
    /// Redo these stages even when up to date.
    pub force: Vec<Stage>,
    /// Clusters for routing and the stewards' consent.
    pub clusters: ClusterRegistry,
    pub seed: u64,
    /// sha256 of the roster's content.
    pub roster_sha256: String,
    pub answers: AnswerSource,
}

/// What the run did, stage by stage, and what it could not hand on.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    pub outcome: Outcome,
    pub session_id: String,
    pub stages: Vec<StageRun>,
    /// Tasks the decomposition could not hand to any cluster.
    pub unroutable: Vec<Unroutable>,
    /// Executions that stopped blocked or escalated.
    pub stopped: Vec<StoppedExecution>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageRun {
    pub stage: Stage,
    /// False: up to date, verified and skipped.
    pub ran: bool,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unroutable {
    pub mandate_id: String,
    pub task_ref: String,
    pub status: ActivationStatus,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoppedExecution {
    pub task_ref: String,
    pub outcome: Stop,
}

/// Runs the chain under `layout`'s root, holding its lock. `note` hears what
/// each stage does (`running`, `done (…)`, `up to date, verified and skipped`).
pub fn run_chain(
    layout: &Layout,
    options: &RunOptions,
    stages: &dyn Stages,
    clock: &Clock,
    note: &(dyn Fn(Stage, &str) + Sync),
) -> Result<RunReport, PipelineError> {
    if let Some(dir) = options.session_dir.as_deref().filter(|d| !d.is_dir()) {
        // Before the lock, which creates the root: bad input leaves nothing behind.
        return Err(PipelineError::BadInput(format!(
            "{}: session directory not found",
            dir.display()
        )));
    }
    let _lock = RunLock::acquire(layout)?;
    // A killed run may have left temp files mid-write: this run owns the root.
    archon_store::artifact_dir::remove_stale_temp_files(layout.root())
        .map_err(|e| PipelineError::io(layout.root(), e))?;
    let session_dir = match &options.session_dir {
        Some(d) => d.clone(),
        None => write_example_session(layout)?,
    };
    let session_id = session_dir
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| {
            PipelineError::BadInput(format!(
                "{}: not a session directory",
                session_dir.display()
            ))
        })?;
    check_file_component(&session_id).map_err(|m| {
        PipelineError::BadInput(format!("{}: session id: {m}", session_dir.display()))
    })?;
    let chain = Fingerprint::new("run")
        .seed(options.seed)
        .answers(options.answers)
        .input("roster", options.roster_sha256.clone())
        .input("session", resume::tree_digest(&session_dir)?)
        .finish();
    let mut runner = Runner {
        layout,
        options,
        clock,
        note,
        stages_impl: stages,
        state: RunState::load(layout)?,
        chain,
        stages: Vec::new(),
    };
    let review = layout.review(&session_id);
    let executive = layout.executive(&session_id);
    let ledger = layout.ledger();
    let mut outcome = Outcome::Complete;
    for stage in Stage::ALL {
        let step = match stage {
            Stage::Review => runner.stage(
                stage,
                |_| vec![review.clone()],
                |_| stages.review(&session_dir, &review),
            )?,
            Stage::Plan => runner.stage(
                stage,
                |_| subdirs(&executive),
                |_| stages.plan(&review, &executive),
            )?,
            Stage::Rfp => runner.stage(
                stage,
                |r| r.mandates(),
                |scope| {
                    let run = stages.rfp(&executive, &layout.rfp())?;
                    let session = layout.relative(&run.session_dir).ok_or_else(|| {
                        format!(
                            "rfp session {} is outside the run root {}",
                            run.session_dir.display(),
                            layout.root().display()
                        )
                    })?;
                    scope.state.rfp_session = Some(session);
                    Ok(run.outcome)
                },
            )?,
            Stage::Proposals => runner.stage(
                stage,
                |r| r.mandates_sub(Layout::proposals_inbox),
                |scope| {
                    let mandates = scope.mandates();
                    let inbox: &(dyn Fn(&Path) -> PathBuf + Sync) = &Layout::proposals_inbox;
                    scope.each_once(&mandates, Some(inbox), |m, _| stages.proposals(m, false))?;
                    Ok(Outcome::Complete)
                },
            )?,
            Stage::Select => runner.stage(
                stage,
                |r| r.mandates_sub(Layout::selection),
                |scope| {
                    let mandates = scope.mandates();
                    let outcomes = scope.each_once(&mandates, None, |m, _| {
                        let chosen = policy::select_with_revisions(
                            MAX_SELECTION_ROUNDS,
                            || stages.select(m),
                            || stages.proposals(m, true).map(drop),
                        )?;
                        Ok(policy::selection_outcome(chosen))
                    })?;
                    Ok(if outcomes.contains(&Outcome::Complete) {
                        Outcome::Complete
                    } else {
                        Outcome::Blocked
                    })
                },
            )?,
            Stage::Decompose => runner.stage(
                stage,
                |r| {
                    r.winners()
                        .iter()
                        .map(|m| Layout::execution_bridge(m))
                        .collect()
                },
                |scope| {
                    let winners = scope.winners();
                    let _anchor = ledger_anchor(&ledger, !winners.is_empty())?;
                    let bridge: &(dyn Fn(&Path) -> PathBuf + Sync) = &Layout::execution_bridge;
                    let outcomes = scope.each_once(&winners, Some(bridge), |m, turn| {
                        stages.decompose(m, &ledger, turn)
                    })?;
                    Ok(outcomes.into_iter().fold(Outcome::Complete, Outcome::worst))
                },
            )?,
            Stage::Tasks => runner.ledger_stage(stage, || {
                policy::consent_by_policy(&ledger, &options.clusters, clock)?;
                Ok(Outcome::Complete)
            })?,
            Stage::Execute => runner.ledger_stage(stage, || {
                execute_accepted(layout, &options.clusters, stages, clock)
            })?,
        };
        if step != Outcome::Complete {
            outcome = outcome.worst(step);
            if stage.stops_the_chain_when_not_complete() {
                break;
            }
        }
        if options.until == Some(stage) {
            break;
        }
    }
    let winners = runner.winners();
    Ok(RunReport {
        outcome,
        session_id,
        stages: runner.stages,
        unroutable: unroutable(&winners)?,
        stopped: stopped_executions(layout)?,
    })
}

/// The run in progress: its state and the fingerprint of everything upstream.
struct Runner<'a> {
    layout: &'a Layout,
    options: &'a RunOptions,
    clock: &'a Clock,
    note: &'a (dyn Fn(Stage, &str) + Sync),
    stages_impl: &'a dyn Stages,
    state: RunState,
    /// Fingerprint of everything upstream of the next stage.
    chain: String,
    stages: Vec<StageRun>,
}

/// What a stage body sees of the run: its state, and per-item checkpoints.
struct StageScope<'a> {
    layout: &'a Layout,
    state: &'a mut RunState,
    key: String,
}

impl Runner<'_> {
    /// Runs one artifact stage unless its outputs are up to date.
    /// `outputs` lists the folders whose `stage_manifest.json` this stage writes.
    fn stage(
        &mut self,
        stage: Stage,
        outputs: impl Fn(&Runner<'_>) -> Vec<PathBuf>,
        body: impl FnOnce(&mut StageScope<'_>) -> Result<Outcome, StageError>,
    ) -> Result<Outcome, PipelineError> {
        let fingerprint = self.fingerprint(stage);
        let forced = self.options.force.contains(&stage);
        if let Some(outcome) = self
            .state
            .done_with(stage, &fingerprint)
            .filter(|_| !forced)
        {
            let dirs = outputs(self);
            if resume::outputs_verify(&dirs) {
                (self.note)(stage, "up to date, verified and skipped");
                self.advance(&fingerprint, &dirs)?;
                self.stages.push(StageRun {
                    stage,
                    ran: false,
                    outcome,
                });
                return Ok(outcome);
            }
        }
        if self.state.forget_from(stage) {
            self.state.save(self.layout)?;
        }
        (self.note)(stage, "running");
        let mut scope = StageScope {
            layout: self.layout,
            state: &mut self.state,
            key: format!("{}:{fingerprint}", stage.name()),
        };
        let outcome = body(&mut scope).map_err(|source| stage_error(stage, source))?;
        if let Some(failure) = self.stages_impl.answers_failed() {
            let source = format!("the model server failed: {failure}").into();
            return Err(stage_error(stage, source));
        }
        self.record(stage, &fingerprint, outcome)?;
        let dirs = outputs(self);
        self.advance(&fingerprint, &dirs)?;
        Ok(outcome)
    }

    /// Ledger stages are idempotent by task state, so they always run.
    fn ledger_stage(
        &mut self,
        stage: Stage,
        body: impl FnOnce() -> Result<Outcome, PipelineError>,
    ) -> Result<Outcome, PipelineError> {
        (self.note)(stage, "running");
        let outcome = body().map_err(|e| match e {
            PipelineError::Stage { .. } => e,
            other => stage_error(stage, Box::new(other)),
        })?;
        let fingerprint = self.fingerprint(stage);
        self.record(stage, &fingerprint, outcome)?;
        Ok(outcome)
    }

    fn fingerprint(&self, stage: Stage) -> String {
        Fingerprint::new(stage.name())
            .input("upstream", self.chain.clone())
            .finish()
    }

    /// The next stage's upstream: this stage and the manifests it wrote.
    fn advance(&mut self, fingerprint: &str, outputs: &[PathBuf]) -> Result<(), PipelineError> {
        self.chain = Fingerprint::new("outputs")
            .input("stage", fingerprint)
            .input("manifests", resume::outputs_digest(outputs)?)
            .finish();
        Ok(())
    }

    fn record(
        &mut self,
        stage: Stage,
        fingerprint: &str,
        outcome: Outcome,
    ) -> Result<(), PipelineError> {
        (self.note)(stage, &format!("done ({})", outcome.as_str()));
        self.state
            .record(stage, fingerprint, outcome, self.clock.stamp());
        self.stages.push(StageRun {
            stage,
            ran: true,
            outcome,
        });
        self.state.save(self.layout)
    }

    fn mandates(&self) -> Vec<PathBuf> {
        current_mandates(self.layout, &self.state)
    }

    fn mandates_sub(&self, sub: fn(&Path) -> PathBuf) -> Vec<PathBuf> {
        self.mandates().iter().map(|m| sub(m)).collect()
    }

    fn winners(&self) -> Vec<PathBuf> {
        winners(self.mandates())
    }
}

impl StageScope<'_> {
    fn mandates(&self) -> Vec<PathBuf> {
        current_mandates(self.layout, self.state)
    }

    fn winners(&self) -> Vec<PathBuf> {
        winners(self.mandates())
    }

    /// Runs `f` for every item this stage run has not finished yet (before a
    /// crash), side by side: items are independent and write only their own
    /// folders, or the ledger after their turn. Each is marked done as it
    /// finishes, so a crash costs at most the items in flight. Outcomes in
    /// item order.
    ///
    /// `manifest_dir` names the folder whose manifest an item writes last
    /// (see [`resume::item_decision`]).
    fn each_once(
        &mut self,
        items: &[PathBuf],
        manifest_dir: Option<&(dyn Fn(&Path) -> PathBuf + Sync)>,
        f: impl Fn(&Path, &Turn<'_>) -> Result<Outcome, StageError> + Sync,
    ) -> Result<Vec<Outcome>, StageError> {
        let layout = self.layout;
        let key = self.key.clone();
        let state = Mutex::new(&mut *self.state);
        let lock = || state.lock().unwrap_or_else(|e| e.into_inner());
        let mark = |item: &Path, mark: ItemMark| -> Result<(), PipelineError> {
            let mut st = lock();
            st.set_mark(&key, &relative(layout, item), &mark);
            st.save(layout)
        };
        let outcomes = fan_out::in_order_with_turns(items, |item, turn| {
            let dir = manifest_dir.map(|dir| dir(item));
            let decision = {
                let st = lock();
                resume::item_decision(
                    st.mark(&key, &relative(layout, item)).as_ref(),
                    || dir.as_deref().map(resume::manifest_sha).unwrap_or_default(),
                    || dir.as_deref().and_then(resume::finished_outcome),
                )
            };
            match decision {
                ItemDecision::Skip(outcome) => return Ok(outcome),
                ItemDecision::Finished(outcome) => {
                    mark(item, ItemMark::Done(outcome))?;
                    return Ok(outcome);
                }
                ItemDecision::Run => {}
            }
            let before = dir.as_deref().map(resume::manifest_sha).unwrap_or_default();
            mark(item, ItemMark::Started(before))?;
            let outcome = f(item, turn)?;
            mark(item, ItemMark::Done(outcome))?;
            Ok(outcome)
        });
        outcomes.into_iter().collect()
    }
}

fn stage_error(stage: Stage, source: StageError) -> PipelineError {
    PipelineError::Stage { stage, source }
}

fn relative(layout: &Layout, item: &Path) -> PathBuf {
    layout.relative(item).unwrap_or_else(|| item.to_path_buf())
}

/// The mandate folders of the current rfp session, in path order.
fn current_mandates(layout: &Layout, state: &RunState) -> Vec<PathBuf> {
    match &state.rfp_session {
        Some(session) => Layout::mandates(&layout.resolve(session)),
        None => Vec::new(),
    }
}

/// The mandates whose selection chose a winner.
fn winners(mandates: Vec<PathBuf>) -> Vec<PathBuf> {
    #[derive(Deserialize)]
    struct Selected {
        outcome: SelectionOutcome,
    }
    mandates
        .into_iter()
        .filter(|m| {
            archon_store::read_json::<Selected>(&Layout::selection_file(m))
                .is_ok_and(|s| s.outcome == SelectionOutcome::WinnerSelected)
        })
        .collect()
}

/// A connection to the ledger held while items open and close their own side
/// by side. SQLite checkpoints the log into the file whenever its last
/// connection closes; the anchor is always the last, so the file's bytes do not
/// depend on the order in which the items' connections closed.
fn ledger_anchor(path: &Path, needed: bool) -> Result<Option<Ledger>, PipelineError> {
    Ok(if needed {
        Some(Ledger::open(path)?)
    } else {
        None
    })
}

/// Executes every accepted (or interrupted in-progress) task.
fn execute_accepted(
    layout: &Layout,
    clusters: &ClusterRegistry,
    stages: &dyn Stages,
    clock: &Clock,
) -> Result<Outcome, PipelineError> {
    let ledger_path = layout.ledger();
    if !ledger_path.is_file() {
        return Ok(Outcome::Complete);
    }
    let mut ledger = Ledger::open(&ledger_path)?.with_clusters(clusters.clone());
    let tasks = ledger.tasks()?;
    // The report folder's stage manifest is an execution's last write: a folder
    // without it is an execution to finish.
    let pending = pending_executions(&tasks, |t| {
        layout
            .execution_report(t)
            .with_file_name(archon_store::artifact_dir::MANIFEST_FILE)
            .is_file()
    });
    for task in &pending {
        let workspace = layout.workspace(&task.task_ref);
        if task.state != TaskState::Accepted && workspace.is_dir() {
            // An execution interrupted by a crash is redone from a fresh workspace (the
            // run made it), so its report reads as if it had never been interrupted:
            // files changed, delegated rather than verified. Delegates are
            // deterministic in simulation, and recorded in LLM mode.
            std::fs::remove_dir_all(&workspace).map_err(|e| PipelineError::io(&workspace, e))?;
        }
        std::fs::create_dir_all(&workspace).map_err(|e| PipelineError::io(&workspace, e))?;
    }
    // Executions are independent and run side by side, but the ledger must read
    // the same whatever order they finish in: every accepted task is started
    // here, in task order and in one batch (an execution then finds its start
    // made, as after a crash), and each execution's report waits its turn.
    // Each start is its cluster steward's act: one batch per steward.
    let mut starts: BTreeMap<String, Vec<(String, Transition)>> = BTreeMap::new();
    for t in pending.iter().filter(|t| t.state == TaskState::Accepted) {
        let steward = ledger
            .steward_of(t)
            .unwrap_or_else(|| EXECUTION_LEAD.into());
        starts
            .entry(steward)
            .or_default()
            .push((t.task_ref.clone(), Transition::Start));
    }
    for (steward, moves) in starts {
        for started in ledger.transitions(moves, &steward, clock) {
            started?;
        }
    }
    // `ledger` stays open as the anchor (see `ledger_anchor`).
    let steps = fan_out::in_order_with_turns(&pending, |task, turn| {
        let job = ExecutionJob {
            task_ref: task.task_ref.clone(),
            ledger: ledger_path.clone(),
            workspace: layout.workspace(&task.task_ref),
            report: layout.execution_report(&task.task_ref),
        };
        stages
            .execute(&job, turn)
            .map_err(|source| stage_error(Stage::Execute, source))
    });
    drop(ledger);
    let mut outcome = Outcome::Complete;
    for step in steps {
        outcome = outcome.worst(step?);
    }
    Ok(outcome)
}

/// The tasks the execute stage takes: accepted ones, interrupted ones (in
/// progress), and reported ones whose report a crash kept from being written
/// (their phases verify and their publish is idempotent, so only the report
/// is new).
pub fn pending_executions(
    tasks: &[TaskRecord],
    has_report: impl Fn(&str) -> bool,
) -> Vec<&TaskRecord> {
    tasks
        .iter()
        .filter(|t| match t.state {
            TaskState::Accepted | TaskState::InProgress => true,
            TaskState::Reported => !has_report(&t.task_ref),
            _ => false,
        })
        .collect()
}

/// Writes the bundled example session under `<root>/input/` and returns its folder.
pub(crate) fn write_example_session(layout: &Layout) -> Result<PathBuf, PipelineError> {
    let dir = layout.input().join(EXAMPLE_SESSION_ID);
    for (name, text) in EXAMPLE_FILES {
        let path = dir.join(name);
        if archon_store::read_text(&path).ok().as_deref() != Some(text) {
            write_atomic(&path, text.as_bytes()).map_err(|e| PipelineError::io(&path, e))?;
        }
    }
    Ok(dir)
}

/// Tasks of the winners' decompositions that found no cluster or failed to activate.
fn unroutable(winners: &[PathBuf]) -> Result<Vec<Unroutable>, PipelineError> {
    let mut out = Vec::new();
    for mandate in winners {
        let path = Layout::execution_bridge(mandate).join("activation_manifest.json");
        if !path.is_file() {
            continue;
        }
        let entries: Vec<ActivationManifestEntry> = archon_store::read_json(&path)?;
        let mandate_id = mandate
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for e in entries {
            if matches!(
                e.status,
                ActivationStatus::BlockedByCapability
                    | ActivationStatus::BlockedByCapacity
                    | ActivationStatus::ActivationFailed
            ) {
                let reason = if e.activation_error.is_empty() {
                    e.routing_block_reason
                } else {
                    e.activation_error
                };
                out.push(Unroutable {
                    mandate_id: mandate_id.clone(),
                    task_ref: e.task_ref,
                    status: e.status,
                    reason,
                });
            }
        }
    }
    Ok(out)
}

/// The last recorded stop (an `execution_stopped` ledger event) of every task
/// still waiting after it (in progress).
fn stopped_executions(layout: &Layout) -> Result<Vec<StoppedExecution>, PipelineError> {
    if !layout.ledger().is_file() {
        return Ok(Vec::new());
    }
    let ledger = Ledger::open_read_only(layout.ledger())?;
    let mut last: BTreeMap<String, Stop> = BTreeMap::new();
    for event in ledger.events()? {
        if let EventBody::ExecutionStopped { stop } = event.body {
            // The lifecycle records no other outcome.
            let outcome = match stop.outcome.as_str() {
                "blocked" => Stop::Blocked,
                "escalated" => Stop::Escalated,
                _ => continue,
            };
            last.insert(event.task_ref, outcome);
        }
    }
    let mut out = Vec::new();
    for (task_ref, outcome) in last {
        if ledger
            .task(&task_ref)?
            .is_some_and(|t| t.state == TaskState::InProgress)
        {
            out.push(StoppedExecution { task_ref, outcome });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::{RfpRun, StageResult};
    use archon_store::ArtifactDir;
    use std::collections::BTreeMap;

    /// Stages that write small real stage folders (files and a manifest), count
    /// their calls, and answer selections from a script.
    #[derive(Default)]
    struct FakeStages {
        calls: Mutex<BTreeMap<String, usize>>,
        /// Selection answers per mandate name, in order (the last one repeats).
        selections: BTreeMap<&'static str, Vec<SelectionOutcome>>,
        /// The mandate whose proposals fail (once) with an error.
        failing_proposals: Mutex<Option<&'static str>>,
    }

    fn write_stage(dir: &Path, stage: &str, files: &[(&str, String)]) -> StageResult<()> {
        let mut out = ArtifactDir::begin(dir)?;
        for (name, body) in files {
            out.write_text(name, body)?;
        }
        out.finish(stage, "complete", "h".into(), BTreeMap::new(), "t".into())?;
        Ok(())
    }

    fn name(p: &Path) -> String {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    impl FakeStages {
        fn count(&self, what: String) {
            *self.calls.lock().expect("calls").entry(what).or_default() += 1;
        }

        fn calls(&self) -> BTreeMap<String, usize> {
            self.calls.lock().expect("calls").clone()
        }
    }

    impl Stages for FakeStages {
        fn review(&self, session_dir: &Path, out: &Path) -> StageResult<Outcome> {
            self.count("review".into());
            let digest = resume::tree_digest(session_dir)?;
            write_stage(out, "review", &[("ratified.txt", digest)])?;
            Ok(Outcome::Complete)
        }

        fn plan(&self, review: &Path, out: &Path) -> StageResult<Outcome> {
            self.count("plan".into());
            let ratified = std::fs::read_to_string(review.join("ratified.txt"))?;
            write_stage(&out.join("motion-1"), "plan", &[("plan.txt", ratified)])?;
            Ok(Outcome::Complete)
        }

        fn rfp(&self, _executive: &Path, rfp_root: &Path) -> StageResult<RfpRun> {
            self.count("rfp".into());
            let session = rfp_root.join("rfp-session-1");
            for m in ["m1", "m2"] {
                write_stage(
                    &session.join("mandates").join(m),
                    "rfp",
                    &[(archon_admin::io::RFP_FILE, "{}".into())],
                )?;
            }
            Ok(RfpRun {
                session_dir: session,
                outcome: Outcome::Complete,
            })
        }

        fn proposals(&self, mandate: &Path, revise: bool) -> StageResult<Outcome> {
            let m = name(mandate);
            self.count(format!("proposals:{m}:{revise}"));
            let mut failing = self.failing_proposals.lock().expect("failing");
            if failing.as_deref() == Some(m.as_str()) {
                *failing = None;
                return Err("the Duke's server went away".into());
            }
            write_stage(
                &Layout::proposals_inbox(mandate),
                "proposals",
                &[("p.md", m)],
            )?;
            Ok(Outcome::Complete)
        }

        fn select(&self, mandate: &Path) -> StageResult<SelectionOutcome> {
            let m = name(mandate);
            let round = self
                .calls()
                .get(&format!("select:{m}"))
                .copied()
                .unwrap_or(0);
            self.count(format!("select:{m}"));
            let script = &self.selections[m.as_str()];
            let outcome = script[round.min(script.len() - 1)];
            let json = serde_json::json!({ "outcome": outcome }).to_string();
            write_stage(
                &Layout::selection(mandate),
                "select",
                &[(archon_admin::io::SELECTION_FILE, json)],
            )?;
            Ok(outcome)
        }

        fn decompose(
            &self,
            mandate: &Path,
            _ledger: &Path,
            turn: &Turn<'_>,
        ) -> StageResult<Outcome> {
            self.count(format!("decompose:{}", name(mandate)));
            turn.wait();
            write_stage(
                &Layout::execution_bridge(mandate),
                "decompose",
                &[("activation_manifest.json", "[]".into())],
            )?;
            turn.pass();
            Ok(Outcome::Complete)
        }

        fn execute(&self, job: &ExecutionJob, _turn: &Turn<'_>) -> StageResult<Outcome> {
            self.count(format!("execute:{}", job.task_ref));
            Ok(Outcome::Complete)
        }
    }

    fn stages() -> FakeStages {
        use SelectionOutcome::*;
        FakeStages {
            selections: [
                ("m1", vec![WinnerSelected]),
                ("m2", vec![RevisionRequested]),
            ]
            .into_iter()
            .collect(),
            ..Default::default()
        }
    }

    struct Fixture {
        tmp: tempfile::TempDir,
        options: RunOptions,
        clock: Clock,
    }

    fn fixture() -> Fixture {
        let tmp = tempfile::tempdir().expect("tempdir");
        let session = tmp.path().join("sessions/s-1");
        std::fs::create_dir_all(&session).expect("mkdir");
        std::fs::write(session.join("mega-motions.json"), "[]").expect("write");
        Fixture {
            options: RunOptions {
                session_dir: Some(session),
                until: None,
                force: Vec::new(),
                clusters: ClusterRegistry::bundled().expect("clusters"),
                seed: 72,
                roster_sha256: "r".into(),
                answers: AnswerSource::Simulation,
            },
            clock: Clock::fixed_from_rfc3339("2026-01-15T12:00:00Z").expect("clock"),
            tmp,
        }
    }

    impl Fixture {
        fn run(&self, root: &str, stages: &FakeStages) -> Result<RunReport, PipelineError> {
            self.run_with(root, stages, &self.options)
        }

        fn run_with(
            &self,
            root: &str,
            stages: &FakeStages,
            options: &RunOptions,
        ) -> Result<RunReport, PipelineError> {
            let layout = Layout::new(self.tmp.path().join(root));
            run_chain(&layout, options, stages, &self.clock, &|_, _| {})
        }
    }

    fn ran(report: &RunReport) -> Vec<&'static str> {
        report
            .stages
            .iter()
            .filter(|s| s.ran)
            .map(|s| s.stage.name())
            .collect()
    }

    const LEDGER_STAGES: [&str; 2] = ["tasks", "execute"];

    #[test]
    fn the_first_run_runs_every_stage_and_the_revise_loop_is_bounded() {
        let f = fixture();
        let s = stages();
        let report = f.run("a", &s).expect("run");
        assert_eq!(ran(&report), Stage::NAMES);
        // m2 is asked to revise every time: three selections, two revisions,
        // and no decomposition; m1 has its winner at once.
        let calls = s.calls();
        assert_eq!(calls["select:m2"], 3);
        assert_eq!(calls["proposals:m2:true"], 2);
        assert_eq!(calls["select:m1"], 1);
        assert!(!calls.contains_key("proposals:m1:true"));
        assert_eq!(calls["decompose:m1"], 1);
        assert!(!calls.contains_key("decompose:m2"));
        assert_eq!(report.outcome, Outcome::Complete);
    }

    #[test]
    fn a_second_run_skips_every_artifact_stage() {
        let f = fixture();
        let s = stages();
        f.run("a", &s).expect("first");
        let calls = s.calls();
        let again = f.run("a", &s).expect("second");
        assert_eq!(ran(&again), LEDGER_STAGES);
        assert_eq!(s.calls(), calls, "a stage was called again");
    }

    #[test]
    fn a_moved_root_skips_every_artifact_stage() {
        let f = fixture();
        let s = stages();
        f.run("a", &s).expect("first");
        let calls = s.calls();
        std::fs::create_dir(f.tmp.path().join("elsewhere")).expect("mkdir");
        std::fs::rename(f.tmp.path().join("a"), f.tmp.path().join("elsewhere/b")).expect("mv");
        let moved = f.run("elsewhere/b", &s).expect("moved");
        assert_eq!(ran(&moved), LEDGER_STAGES);
        assert_eq!(s.calls(), calls);
    }

    #[test]
    fn another_seed_runs_everything_again() {
        let f = fixture();
        let s = stages();
        f.run("a", &s).expect("first");
        let options = RunOptions {
            seed: 73,
            ..f.options.clone()
        };
        let again = f.run_with("a", &s, &options).expect("reseeded");
        assert_eq!(ran(&again), Stage::NAMES);
    }

    #[test]
    fn a_tampered_output_reruns_its_stage_and_every_later_one() {
        let f = fixture();
        let s = stages();
        f.run("a", &s).expect("first");
        let ratified = f.tmp.path().join("a/review/s-1/ratified.txt");
        std::fs::write(&ratified, "tampered").expect("tamper");
        let again = f.run("a", &s).expect("second");
        // Whatever ran after review was made from its old outputs.
        assert_eq!(ran(&again), Stage::NAMES);
        assert_eq!(s.calls()["review"], 2);
        assert_eq!(s.calls()["plan"], 2);
        assert_eq!(
            std::fs::read_to_string(&ratified).expect("read"),
            resume::tree_digest(f.options.session_dir.as_deref().expect("session"))
                .expect("digest")
        );
    }

    #[test]
    fn a_forced_stage_reruns_and_so_do_the_later_ones_it_invalidates() {
        let f = fixture();
        let s = stages();
        f.run("a", &s).expect("first");
        let options = RunOptions {
            force: vec![Stage::Select],
            ..f.options.clone()
        };
        let again = f.run_with("a", &s, &options).expect("forced");
        assert_eq!(ran(&again), ["select", "decompose", "tasks", "execute"]);
        assert_eq!(s.calls()["select:m1"], 2);
        assert_eq!(
            s.calls()["proposals:m1:false"],
            1,
            "stages before it are kept"
        );
    }

    #[test]
    fn items_finished_before_a_failure_are_not_run_again() {
        let f = fixture();
        let s = stages();
        *s.failing_proposals.lock().expect("failing") = Some("m2");
        let err = f.run("a", &s).expect_err("m2's proposals fail");
        assert!(
            matches!(
                err,
                PipelineError::Stage {
                    stage: Stage::Proposals,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(s.calls()["proposals:m1:false"], 1);
        let report = f.run("a", &s).expect("resumed");
        let calls = s.calls();
        assert_eq!(calls["proposals:m1:false"], 1, "m1 was marked done");
        assert_eq!(calls["proposals:m2:false"], 2, "m2 ran again");
        assert_eq!(calls["review"], 1);
        assert_eq!(report.outcome, Outcome::Complete);
        let state = RunState::load(&Layout::new(f.tmp.path().join("a"))).expect("state");
        assert!(
            state.items.is_empty(),
            "marks outlive their stage: {:?}",
            state.items
        );
    }

    #[test]
    fn until_stops_after_its_stage() {
        let f = fixture();
        let s = stages();
        let options = RunOptions {
            until: Some(Stage::Rfp),
            ..f.options.clone()
        };
        let report = f.run_with("a", &s, &options).expect("run");
        assert_eq!(ran(&report), ["review", "plan", "rfp"]);
    }

    /// A ledger under `layout` with `n` tasks routed and accepted.
    fn accepted_tasks(layout: &Layout, n: usize, clock: &Clock) -> Vec<String> {
        std::fs::create_dir_all(layout.root()).expect("root");
        let clusters = ClusterRegistry::bundled().expect("clusters");
        let mut ledger = Ledger::open(layout.ledger()).expect("ledger");
        let refs: Vec<String> = (1..=n).map(|i| format!("TASK-TEST-00{i}a")).collect();
        for task_ref in &refs {
            let request = crate::policy::tests::activation(task_ref, &["dev_backend"]);
            ledger.create_activation(request, clock).expect("activate");
        }
        drop(ledger);
        policy::consent_by_policy(&layout.ledger(), &clusters, clock).expect("consent");
        refs
    }

    #[test]
    fn execution_starts_every_accepted_task_in_one_batch_then_executes_each() {
        let f = fixture();
        let layout = Layout::new(f.tmp.path().join("a"));
        let refs = accepted_tasks(&layout, 3, &f.clock);
        let s = stages();
        let clusters = ClusterRegistry::bundled().expect("clusters");
        let outcome = execute_accepted(&layout, &clusters, &s, &f.clock).expect("execute");
        assert_eq!(outcome, Outcome::Complete);
        let calls = s.calls();
        let ledger = Ledger::open(layout.ledger()).expect("ledger");
        for task_ref in &refs {
            assert_eq!(calls[&format!("execute:{task_ref}")], 1);
            assert!(
                layout.workspace(task_ref).is_dir(),
                "{task_ref}: no workspace"
            );
            let task = ledger.task(task_ref).expect("read").expect("there");
            assert_eq!(task.state, TaskState::InProgress, "{task_ref}");
        }
        // The starts are one batch by the execution lead, in task order.
        let starts: Vec<String> = ledger
            .events()
            .expect("events")
            .into_iter()
            .filter(
                |e| matches!(&e.body, archon_tasks::EventBody::Intent { op, .. } if op == "start"),
            )
            .map(|e| e.task_ref)
            .collect();
        assert_eq!(starts, refs);
    }

    #[test]
    fn only_unfinished_executions_are_pending() {
        let f = fixture();
        let layout = Layout::new(f.tmp.path().join("a"));
        let refs = accepted_tasks(&layout, 2, &f.clock);
        let mut tasks = Ledger::open(layout.ledger())
            .expect("ledger")
            .tasks()
            .expect("tasks");
        tasks[1].state = TaskState::Reported;
        let mut more = tasks.clone();
        more[0].state = TaskState::Declined;
        let pending = |tasks: &[TaskRecord], reported: bool| -> Vec<String> {
            pending_executions(tasks, |_| reported)
                .into_iter()
                .map(|t| t.task_ref.clone())
                .collect()
        };
        // A reported task whose report a crash kept from being written is redone.
        assert_eq!(pending(&tasks, false), refs);
        assert_eq!(pending(&tasks, true), refs[..1]);
        assert!(pending(&more, true).is_empty());
    }

    #[test]
    fn a_locked_root_is_refused_before_anything_is_written() {
        let f = fixture();
        let s = stages();
        let layout = Layout::new(f.tmp.path().join("a"));
        let _held = RunLock::acquire(&layout).expect("lock");
        let err = f.run("a", &s).expect_err("in use");
        assert!(matches!(err, PipelineError::InUse { .. }), "{err}");
        assert!(s.calls().is_empty());
        assert!(!layout.run_state().exists());
    }
}
