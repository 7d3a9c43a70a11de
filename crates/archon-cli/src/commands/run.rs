//! `archon run [SESSION_DIR]`: the whole chain in one command, resumable.
//!
//! The run calls each stage command in turn under one output root:
//!
//! ```text
//! <out>/review/<session>/            archon review
//! <out>/executive/<session>/<motion>/ archon plan
//! <out>/rfp/<rfp_session>/mandates/<mandate>/   archon rfp, proposals, select, decompose
//! <out>/governance.db                the ledger: activations, consent, results
//! <out>/workspaces/<task>/, <out>/execute/<task>/   archon execute
//! <out>/run_state.json               what each stage was made from
//! <out>/cassettes/                   LLM mode: every model exchange (unless --record/--replay)
//! ```
//!
//! Resume rule: a stage is skipped when `run_state.json` records it as done with
//! the same fingerprint (seed, mode, roster, and the manifests of everything it
//! read) and every `stage_manifest.json` it wrote still verifies. Stages that
//! work on the ledger are idempotent by task state instead (an accepted task is
//! not accepted twice, a reported one is not executed again).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{bail, Context as _, Result};
use archon_core::ids::check_file_component;
use archon_core::seed::sha256_hex;
use archon_execute::execute::EXECUTION_LEAD;
use archon_store::artifact_dir::{read_manifest, to_json_bytes, verify_manifest};
use archon_store::{write_atomic, MANIFEST_FILE};
use archon_tasks::{Ledger, TaskRecord, TaskState, Transition};
use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};

use super::status::subdirs;
use super::{decompose, execute, plan, proposals, review, select};
use crate::context::Context;
use crate::outcome::Outcome;
use archon_core::fan_out::{self, Turn};

/// The bundled example session, written out when `archon run` gets no SESSION_DIR.
const EXAMPLE_SESSION_ID: &str = "example-session-001";
const EXAMPLE_MEGA_MOTIONS: &str =
    include_str!("../../../../data/example/consolidator/example-session-001/mega-motions.json");
const EXAMPLE_NOVEL_PROPOSALS: &str =
    include_str!("../../../../data/example/consolidator/example-session-001/novel-proposals.json");

const RUN_STATE_FILE: &str = "run_state.json";
/// Where LLM exchanges are recorded by default, under the run's root.
const CASSETTE_DIR: &str = "cassettes";
/// Rounds of revise → re-select before a mandate is left to select's own escalation.
const MAX_SELECTION_ROUNDS: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
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
    const ALL: [Stage; 8] = [
        Stage::Review,
        Stage::Plan,
        Stage::Rfp,
        Stage::Proposals,
        Stage::Select,
        Stage::Decompose,
        Stage::Tasks,
        Stage::Execute,
    ];

    fn name(self) -> &'static str {
        match self {
            Stage::Review => "review",
            Stage::Plan => "plan",
            Stage::Rfp => "rfp",
            Stage::Proposals => "proposals",
            Stage::Select => "select",
            Stage::Decompose => "decompose",
            Stage::Tasks => "tasks",
            Stage::Execute => "execute",
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Consolidator session directory; default: the bundled example session.
    pub session_dir: Option<PathBuf>,
    /// Root of every stage's output.
    #[arg(long, value_name = "DIR", default_value = "archon-out")]
    pub out: PathBuf,
    /// Stop after this stage.
    #[arg(long, value_enum, value_name = "STAGE")]
    pub until: Option<Stage>,
    /// Redo this stage even when its outputs are up to date (repeatable).
    #[arg(long, value_enum, value_name = "STAGE")]
    pub force: Vec<Stage>,
    /// Cluster definitions for routing and consent; default: the bundled clusters.
    #[arg(long, value_name = "DIR")]
    pub cluster_dir: Option<PathBuf>,
    /// The execute stage's delegate: `--delegate llm` has the model do each
    /// task's work (in LLM mode), `--delegate command` a program.
    #[command(flatten)]
    pub delegate: execute::DelegateArgs,
    /// Do not write OUT/report.html at the end.
    #[arg(long)]
    pub no_report: bool,
}

/// What `run_state.json` records of each completed stage.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct RunState {
    schema_version: String,
    stages: BTreeMap<String, StageRecord>,
    /// The rfp session folder the current plans produced (older ones are not read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rfp_session: Option<PathBuf>,
    /// Items (mandates) of a stage in progress that are done, by "stage:fingerprint":
    /// a resumed stage skips them instead of running them (and appending) twice.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    items: BTreeMap<String, BTreeMap<String, String>>,
}

/// What a stage body sees of the run: its state, and per-item checkpoints.
struct StageScope<'a> {
    state: &'a mut RunState,
    key: String,
    state_path: PathBuf,
}

impl StageScope<'_> {
    fn state(&self) -> &RunState {
        self.state
    }

    /// Runs `f` for every item this stage run has not finished yet (before a
    /// crash), side by side: items are independent and write only their own
    /// folders, or the ledger after their turn. Each is marked done as it
    /// finishes, so a crash costs at most the items in flight. Outcomes in
    /// item order.
    ///
    /// `manifest_dir` names the folder whose manifest an item writes last: an
    /// item killed after writing it but before being marked done is then
    /// recognised as finished (its manifest changed since the item started, and
    /// verifies) instead of being run again, which would append its trails twice.
    fn each_once(
        &mut self,
        items: &[PathBuf],
        manifest_dir: Option<&(dyn Fn(&Path) -> PathBuf + Sync)>,
        f: impl Fn(&Path, &Turn<'_>) -> Result<Outcome> + Sync,
    ) -> Result<Vec<Outcome>> {
        let scope = Mutex::new(self);
        let lock = || scope.lock().unwrap_or_else(|e| e.into_inner());
        let outcomes = fan_out::in_order_with_turns(items, |item, turn| {
            let dir = manifest_dir.map(|dir| dir(item));
            {
                let mut scope = lock();
                match (scope.mark(item), &dir) {
                    (Some(ItemMark::Done(outcome)), _) => return Ok(outcome),
                    (Some(ItemMark::Started(before)), Some(dir)) if manifest_sha(dir) != before => {
                        if let Some(outcome) = finished_outcome(dir) {
                            scope.set_mark(item, outcome_name(outcome).to_string())?;
                            return Ok(outcome);
                        }
                    }
                    _ => {}
                }
                let before = dir.as_deref().map(manifest_sha).unwrap_or_default();
                scope.set_mark(item, format!("{STARTED}{before}"))?;
            }
            let outcome = f(item, turn)?;
            lock().set_mark(item, outcome_name(outcome).to_string())?;
            Ok(outcome)
        });
        outcomes.into_iter().collect()
    }

    fn mark(&self, item: &Path) -> Option<ItemMark> {
        let name = item.display().to_string();
        let mark = self.state.items.get(&self.key)?.get(&name)?;
        Some(match mark.strip_prefix(STARTED) {
            Some(before) => ItemMark::Started(before.to_string()),
            None => ItemMark::Done(parse_outcome(mark)),
        })
    }

    fn set_mark(&mut self, item: &Path, mark: String) -> Result<()> {
        self.state
            .items
            .entry(self.key.clone())
            .or_default()
            .insert(item.display().to_string(), mark);
        save_state(&self.state_path, self.state)
    }
}

/// An item's mark in `run_state.json`: its outcome, or `started:<sha256 of
/// its manifest file when it started>` while it runs.
enum ItemMark {
    Done(Outcome),
    Started(String),
}

const STARTED: &str = "started:";

/// sha256 of `dir`'s manifest file, empty when there is none.
fn manifest_sha(dir: &Path) -> String {
    std::fs::read(dir.join(MANIFEST_FILE))
        .map(|bytes| sha256_hex(&bytes))
        .unwrap_or_default()
}

/// The outcome `dir`'s manifest records, when it is there and verifies.
fn finished_outcome(dir: &Path) -> Option<Outcome> {
    let manifest = read_manifest(dir).ok().flatten()?;
    verify_manifest(dir, &manifest)
        .is_empty()
        .then(|| parse_outcome(&manifest.outcome))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StageRecord {
    fingerprint: String,
    outcome: String,
    completed_at: String,
}

/// The run in progress: where it writes and what it has done.
struct Runner<'a> {
    ctx: &'a Context,
    /// The context the stage commands get: their own console output is off
    /// unless `-v`, the run prints one summary instead.
    stage_ctx: Context,
    args: &'a RunArgs,
    state: RunState,
    /// Fingerprint of everything upstream of the next stage.
    chain: String,
}

pub fn run(ctx: &Context, args: &RunArgs) -> Result<Outcome> {
    let session_dir = match &args.session_dir {
        Some(d) => d.clone(),
        None => write_example_session(&args.out)?,
    };
    let session_id = session_dir
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .with_context(|| format!("{}: not a session directory", session_dir.display()))?;
    check_file_component(&session_id)
        .map_err(|m| anyhow::anyhow!("{}: session id: {m}", session_dir.display()))?;
    args.delegate.command(ctx)?;
    let roster_text = match &ctx.global.roster {
        Some(p) => archon_store::read_text(p)?,
        None => String::new(),
    };
    // A killed run may have left temp files mid-write: this run owns the folder.
    archon_store::artifact_dir::remove_stale_temp_files(&args.out)
        .with_context(|| format!("cleaning {}", args.out.display()))?;
    let state_path = args.out.join(RUN_STATE_FILE);
    let state = if state_path.is_file() {
        archon_store::read_json(&state_path)?
    } else {
        RunState {
            schema_version: archon_core::SCHEMA_VERSION.into(),
            ..Default::default()
        }
    };
    let mut stage_global = ctx.global.clone();
    stage_global.quiet = ctx.global.verbose == 0;
    // In LLM mode every exchange is recorded under the run's root unless a
    // cassette is named, so a resumed run asks nothing already answered.
    let llm = &mut stage_global.llm;
    if llm.record.is_none() && llm.replay.is_none() && ctx.answers_from_llm()? {
        llm.record = Some(args.out.join(CASSETTE_DIR));
    }
    let mut runner = Runner {
        ctx,
        stage_ctx: ctx.with_global(stage_global),
        args,
        state,
        chain: sha256_hex(format!(
            "seed={} mode={:?} roster={} session={}",
            ctx.seed.0,
            ctx.global.mode,
            sha256_hex(&roster_text),
            tree_digest(&session_dir)?
        )),
    };
    let paths = RunPaths::new(&args.out, &session_id);

    let mut outcome = Outcome::Complete;
    let bar = ctx.progress.bar("archon run", Stage::ALL.len() as u64);
    for stage in Stage::ALL {
        bar.set_message(stage.name());
        let step = match stage {
            Stage::Review => runner.stage(
                stage,
                |_| vec![paths.review.clone()],
                |c, _: &mut StageScope<'_>| {
                    review::run(
                        c,
                        &review::ReviewArgs {
                            session_dir: session_dir.clone(),
                            out: Some(paths.review.clone()),
                            triage_only: false,
                            include_novel: false,
                            responses: None,
                            allow_unknown_supporters: false,
                        },
                    )
                },
            )?,
            Stage::Plan => runner.stage(
                stage,
                |_| subdirs(&paths.executive),
                |c, _: &mut StageScope<'_>| plan::run(c, &plan_args(&paths)),
            )?,
            Stage::Rfp => runner.stage(stage, mandates, |c, scope: &mut StageScope<'_>| {
                let roster = c.roster()?;
                let agents = c.agents()?;
                let opts = archon_admin::io::RfpOptions {
                    out: paths.rfp.clone(),
                    motion_id: None,
                    retry_failed: false,
                };
                let report =
                    archon_admin::io::rfp(&paths.executive, &opts, &roster, &agents, &c.clock)?;
                scope.state.rfp_session = Some(report.session_dir.clone());
                let blocked = report
                    .mandates
                    .iter()
                    .any(|m| m.status == archon_admin::dossier::DossierStatus::Blocked);
                Ok(if blocked {
                    Outcome::Blocked
                } else {
                    Outcome::Complete
                })
            })?,
            Stage::Proposals => runner.stage(
                stage,
                |st| in_mandates(st, "proposals_inbox"),
                |c, sc: &mut StageScope<'_>| {
                    let inbox = |m: &Path| m.join("proposals_inbox");
                    sc.each_once(&mandates(sc.state()), Some(&inbox), |m, _| {
                        let args = proposals::ProposalsArgs {
                            mandate_dir: m.to_path_buf(),
                            duke_name: None,
                            revise: false,
                        };
                        proposals::run(c, &args)
                    })?;
                    Ok(Outcome::Complete)
                },
            )?,
            Stage::Select => runner.stage(
                stage,
                |st| in_mandates(st, "selection"),
                |c, sc: &mut StageScope<'_>| {
                    let outcomes = sc.each_once(&mandates(sc.state()), None, |m, _| {
                        select_with_revisions(c, m)
                    })?;
                    let any_winner = outcomes.contains(&Outcome::Complete);
                    Ok(if any_winner {
                        Outcome::Complete
                    } else {
                        Outcome::Blocked
                    })
                },
            )?,
            Stage::Decompose => runner.stage(
                stage,
                |st| {
                    let winners = mandates(st).into_iter().filter(|m| has_winner(m));
                    winners.map(|m| m.join("execution_bridge")).collect()
                },
                |c, sc: &mut StageScope<'_>| {
                    let winners: Vec<PathBuf> = mandates(sc.state())
                        .into_iter()
                        .filter(|m| has_winner(m))
                        .collect();
                    let _anchor = ledger_anchor(&paths.ledger, !winners.is_empty())?;
                    let bridge = |m: &Path| m.join("execution_bridge");
                    sc.each_once(&winners, Some(&bridge), |m, turn| {
                        let args = decompose_args(m, &paths.ledger, args.cluster_dir.clone());
                        decompose::run_in_turn(c, &args, Some(turn))
                    })?;
                    Ok(Outcome::Complete)
                },
            )?,
            Stage::Tasks => runner.ledger_stage(stage, |c| {
                consent_by_policy(c, &paths.ledger, args.cluster_dir.as_deref())
            })?,
            Stage::Execute => {
                runner.ledger_stage(stage, |c| execute_accepted(c, &paths, &args.delegate))?
            }
        };
        bar.inc(1);
        if step != Outcome::Complete {
            outcome = step;
            if matches!(stage, Stage::Review | Stage::Plan | Stage::Rfp) {
                break;
            }
        }
        if args.until == Some(stage) {
            break;
        }
    }
    drop(bar);
    if !ctx.global.quiet {
        print_summary(ctx, &paths)?;
    }
    if !args.no_report {
        let report = super::report::write(&args.out, None)?;
        if !ctx.global.quiet && !ctx.global.json {
            println!("report: {}", report.display());
        }
    }
    Ok(outcome)
}

struct RunPaths {
    review: PathBuf,
    executive: PathBuf,
    rfp: PathBuf,
    ledger: PathBuf,
    workspaces: PathBuf,
    execute: PathBuf,
}

impl RunPaths {
    fn new(out: &Path, session_id: &str) -> RunPaths {
        RunPaths {
            review: out.join("review").join(session_id),
            executive: out.join("executive").join(session_id),
            rfp: out.join("rfp"),
            ledger: out.join("governance.db"),
            workspaces: out.join("workspaces"),
            execute: out.join("execute"),
        }
    }
}

/// The mandate folders of the current rfp session, in path order.
fn mandates(state: &RunState) -> Vec<PathBuf> {
    let Some(session) = &state.rfp_session else {
        return Vec::new();
    };
    subdirs(&session.join("mandates"))
        .into_iter()
        .filter(|m| m.join("rfp.json").is_file())
        .collect()
}

/// One sub-folder of every mandate of the current rfp session.
fn in_mandates(state: &RunState, sub: &str) -> Vec<PathBuf> {
    mandates(state).into_iter().map(|m| m.join(sub)).collect()
}

impl Runner<'_> {
    /// Runs one artifact stage unless its outputs are up to date.
    /// `manifests` lists the folders whose `stage_manifest.json` this stage writes.
    fn stage(
        &mut self,
        stage: Stage,
        manifests: impl Fn(&RunState) -> Vec<PathBuf>,
        body: impl FnOnce(&Context, &mut StageScope<'_>) -> Result<Outcome>,
    ) -> Result<Outcome> {
        let fingerprint = sha256_hex(format!("{}|{}", self.chain, stage.name()));
        let done = self.state.stages.get(stage.name());
        let forced = self.args.force.contains(&stage);
        if let Some(rec) = done.filter(|r| r.fingerprint == fingerprint && !forced) {
            let outcome = parse_outcome(&rec.outcome);
            let dirs = manifests(&self.state);
            if outputs_verify(&dirs)? {
                self.note(stage, "up to date, verified and skipped");
                self.chain = sha256_hex(format!("{fingerprint}|{}", outputs_digest(&dirs)?));
                return Ok(outcome);
            }
        }
        // Whatever ran after this stage was made from its old outputs.
        self.forget_from(stage)?;
        self.note(stage, "running");
        let mut scope = StageScope {
            state: &mut self.state,
            key: format!("{}:{fingerprint}", stage.name()),
            state_path: self.args.out.join(RUN_STATE_FILE),
        };
        let outcome =
            body(&self.stage_ctx, &mut scope).with_context(|| format!("stage {}", stage.name()))?;
        self.record(stage, &fingerprint, outcome)?;
        let dirs = manifests(&self.state);
        self.chain = sha256_hex(format!("{fingerprint}|{}", outputs_digest(&dirs)?));
        Ok(outcome)
    }

    /// Ledger stages are idempotent by task state, so they always run.
    fn ledger_stage(
        &mut self,
        stage: Stage,
        body: impl FnOnce(&Context) -> Result<Outcome>,
    ) -> Result<Outcome> {
        self.note(stage, "running");
        let outcome = body(&self.stage_ctx).with_context(|| format!("stage {}", stage.name()))?;
        let fingerprint = sha256_hex(format!("{}|{}", self.chain, stage.name()));
        self.record(stage, &fingerprint, outcome)?;
        Ok(outcome)
    }

    fn note(&self, stage: Stage, what: &str) {
        if self.ctx.global.verbose > 0 {
            let line = format!("[{}] {what}", stage.name());
            self.ctx.progress.suspend(|| eprintln!("{line}"));
        }
        tracing::info!(stage = stage.name(), "{what}");
    }

    fn forget_from(&mut self, stage: Stage) -> Result<()> {
        let before = self.state.stages.len();
        self.state.stages.retain(|name, _| {
            Stage::ALL
                .iter()
                .find(|s| s.name() == name)
                .is_some_and(|s| *s < stage)
        });
        if self.state.stages.len() != before {
            self.save()?;
        }
        Ok(())
    }

    fn record(&mut self, stage: Stage, fingerprint: &str, outcome: Outcome) -> Result<()> {
        self.note(stage, &format!("done ({})", outcome_name(outcome)));
        let prefix = format!("{}:", stage.name());
        self.state.items.retain(|k, _| !k.starts_with(&prefix));
        self.state.stages.insert(
            stage.name().to_string(),
            StageRecord {
                fingerprint: fingerprint.to_string(),
                outcome: outcome_name(outcome).to_string(),
                completed_at: self.ctx.clock.stamp(),
            },
        );
        self.save()
    }

    fn save(&self) -> Result<()> {
        save_state(&self.args.out.join(RUN_STATE_FILE), &self.state)
    }
}

fn save_state(path: &Path, state: &RunState) -> Result<()> {
    write_atomic(path, &to_json_bytes(state)).with_context(|| format!("writing {}", path.display()))
}

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Complete => "complete",
        Outcome::Blocked => "blocked",
        Outcome::Escalated => "escalated",
    }
}

fn parse_outcome(s: &str) -> Outcome {
    match s {
        "blocked" => Outcome::Blocked,
        "escalated" => Outcome::Escalated,
        _ => Outcome::Complete,
    }
}

fn plan_args(paths: &RunPaths) -> plan::PlanArgs {
    plan::PlanArgs {
        review_dir: Some(paths.review.clone()),
        packet: None,
        out: Some(paths.executive.clone()),
        motion_id: None,
        require_gates: false,
        emit_admin_handoff: true,
        emit_conclave_clarifications: true,
        run_exec_clarification_review: true,
        llm_blocker_workup: false,
        owner: None,
        affected: None,
        scaffold_inbox: false,
        inbox: None,
    }
}

fn decompose_args(
    mandate: &Path,
    ledger: &Path,
    cluster_dir: Option<PathBuf>,
) -> decompose::DecomposeArgs {
    decompose::DecomposeArgs {
        selection_file: Some(mandate.join("selection").join("selection_result.json")),
        from_selection_dir: None,
        rfp_file: None,
        proposal_md: None,
        cluster_dir,
        earl_routing_table: None,
        tactic_id: None,
        max_tasks_per_tactic: 8,
        ttl_hours: 72,
        route_top_k: 1,
        no_activate: false,
        dry_run: false,
        checkpoint_dir: None,
        // A decomposition interrupted by a crash is redone whole, so its events read
        // as if it had never been interrupted; activations it already made are found
        // in the ledger, and LLM answers in the cassette.
        no_checkpoint: false,
        clear_checkpoints: true,
        ledger: Some(ledger.to_path_buf()),
    }
}

/// Select, and while the Presidents ask for revisions, let the Dukes revise and select again.
fn select_with_revisions(ctx: &Context, mandate: &Path) -> Result<Outcome> {
    let select_args = select::SelectArgs {
        mandate_dir: mandate.to_path_buf(),
        max_iterations: archon_admin::select::DEFAULT_MAX_ITERATIONS,
        top_n: archon_admin::select::DEFAULT_TOP_N,
    };
    let mut outcome = select::run(ctx, &select_args)?;
    for _ in 1..MAX_SELECTION_ROUNDS {
        if outcome == Outcome::Complete
            || selection_outcome(mandate).as_deref() != Some("REVISION_REQUESTED")
        {
            break;
        }
        proposals::run(
            ctx,
            &proposals::ProposalsArgs {
                mandate_dir: mandate.to_path_buf(),
                duke_name: None,
                revise: true,
            },
        )?;
        outcome = select::run(ctx, &select_args)?;
    }
    Ok(outcome)
}

fn selection_outcome(mandate: &Path) -> Option<String> {
    let path = mandate.join("selection").join("selection_result.json");
    let v: serde_json::Value = archon_store::read_json(&path).ok()?;
    v.get("outcome")
        .and_then(|o| o.as_str())
        .map(str::to_string)
}

fn has_winner(mandate: &Path) -> bool {
    selection_outcome(mandate).as_deref() == Some("WINNER_SELECTED")
}

/// The simulated stewards' consent policy: a steward accepts a routed task when
/// its cluster has every tag the task needs; otherwise it declines (penalty-free)
/// and the ledger reroutes the task to the next eligible cluster, never back.
fn consent_by_policy(
    ctx: &Context,
    ledger_path: &Path,
    cluster_dir: Option<&Path>,
) -> Result<Outcome> {
    if !ledger_path.is_file() {
        return Ok(Outcome::Complete);
    }
    let clusters = archon_tasks::io::load_clusters(cluster_dir)?;
    let mut ledger = Ledger::open(ledger_path)?.with_clusters(clusters.clone());
    // A decline reroutes, so answer rounds until nothing waits for consent;
    // each round excludes one more cluster per task, so clusters + 1 rounds suffice.
    for _ in 0..=clusters.len() {
        let tasks = ledger.tasks()?;
        let routed: Vec<_> = tasks
            .iter()
            .filter(|t| t.state == TaskState::Routed)
            .collect();
        if routed.is_empty() {
            break;
        }
        // One pair of transactions per steward and round, not per task.
        let mut answers: BTreeMap<String, Vec<(String, Transition)>> = BTreeMap::new();
        for task in routed {
            let Some(cluster) = task.cluster_id.as_deref().and_then(|c| clusters.get(c)) else {
                continue;
            };
            let steward = format!("steward:{}", cluster.steward.steward_id);
            let fits = task
                .required_tags
                .iter()
                .all(|t| cluster.capabilities.tags.contains(t));
            let answer = if fits {
                Transition::Accept
            } else {
                Transition::Decline { reason: None }
            };
            answers
                .entry(steward)
                .or_default()
                .push((task.task_ref.clone(), answer));
        }
        for (steward, moves) in answers {
            for result in ledger.transitions(moves, &steward, &ctx.clock) {
                result?;
            }
        }
    }
    Ok(Outcome::Complete)
}

/// Executes every accepted (or interrupted in-progress) task with `delegate`.
fn execute_accepted(
    ctx: &Context,
    paths: &RunPaths,
    delegate: &execute::DelegateArgs,
) -> Result<Outcome> {
    if !paths.ledger.is_file() {
        return Ok(Outcome::Complete);
    }
    let mut ledger = Ledger::open(&paths.ledger)?;
    let tasks = ledger.tasks()?;
    let report_of = |t: &str| paths.execute.join(t).join("execution-stage-report.md");
    // A task reported by a run killed before its report was written is executed
    // again: its phases verify and its publish is idempotent, so only the report is new.
    let pending: Vec<&TaskRecord> = tasks
        .iter()
        .filter(|t| match t.state {
            TaskState::Accepted | TaskState::InProgress => true,
            TaskState::Reported => !report_of(&t.task_ref).with_extension("json").is_file(),
            _ => false,
        })
        .collect();
    let workspace_of = |t: &str| paths.workspaces.join(t);
    for task in &pending {
        let workspace = workspace_of(&task.task_ref);
        if task.state != TaskState::Accepted && workspace.is_dir() {
            // An execution interrupted by a crash is redone from a fresh workspace (the
            // run made it), so its report reads as if it had never been interrupted:
            // files changed, delegated rather than verified. Delegates are
            // deterministic in simulation, and recorded in LLM mode.
            std::fs::remove_dir_all(&workspace)
                .with_context(|| format!("removing {}", workspace.display()))?;
        }
        std::fs::create_dir_all(&workspace)
            .with_context(|| format!("creating {}", workspace.display()))?;
    }
    // Executions are independent and run side by side, but the ledger must read
    // the same whatever order they finish in: every accepted task is started
    // here, in task order and in one batch (an execution then finds its start
    // made, as after a crash), and each execution's report waits its turn.
    let starts: Vec<(String, Transition)> = pending
        .iter()
        .filter(|t| t.state == TaskState::Accepted)
        .map(|t| (t.task_ref.clone(), Transition::Start))
        .collect();
    for started in ledger.transitions(starts, EXECUTION_LEAD, &ctx.clock) {
        started?;
    }
    // `ledger` stays open as the anchor (see `ledger_anchor`).
    let steps = fan_out::in_order_with_turns(&pending, |task, turn| {
        let args = execute::ExecuteArgs {
            task_ref: task.task_ref.clone(),
            ledger: Some(paths.ledger.clone()),
            workspace: Some(workspace_of(&task.task_ref)),
            report: Some(report_of(&task.task_ref)),
            delegate: delegate.clone(),
            issuer: Some("archon run".into()),
        };
        execute::run_in_turn(ctx, &args, Some(turn))
    });
    let mut outcome = Outcome::Complete;
    for step in steps {
        let step = step?;
        if step != Outcome::Complete {
            outcome = step;
        }
    }
    Ok(outcome)
}

/// A connection to the ledger held while items open and close their own side
/// by side. SQLite checkpoints the log into the file whenever its last
/// connection closes; the anchor is always the last, so the file's bytes do not
/// depend on the order in which the items' connections closed.
fn ledger_anchor(path: &Path, needed: bool) -> Result<Option<Ledger>> {
    Ok(if needed {
        Some(Ledger::open(path)?)
    } else {
        None
    })
}

/// Writes the bundled example session under `<out>/input/` and returns its folder.
fn write_example_session(out: &Path) -> Result<PathBuf> {
    let dir = out.join("input").join(EXAMPLE_SESSION_ID);
    for (name, text) in [
        ("mega-motions.json", EXAMPLE_MEGA_MOTIONS),
        ("novel-proposals.json", EXAMPLE_NOVEL_PROPOSALS),
    ] {
        let path = dir.join(name);
        if archon_store::read_text(&path).ok().as_deref() != Some(text) {
            write_atomic(&path, text.as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
        }
    }
    Ok(dir)
}

/// True when every folder holds a manifest and every manifest verifies.
fn outputs_verify(dirs: &[PathBuf]) -> Result<bool> {
    if dirs.is_empty() {
        return Ok(false);
    }
    for dir in dirs {
        match read_manifest(dir) {
            Ok(Some(m)) if verify_manifest(dir, &m).is_empty() => {}
            _ => return Ok(false),
        }
    }
    Ok(true)
}

/// sha256 over the manifests of the folders: what the next stage reads.
fn outputs_digest(dirs: &[PathBuf]) -> Result<String> {
    let mut all = String::new();
    for dir in dirs {
        let path = dir.join(MANIFEST_FILE);
        if path.is_file() {
            all.push_str(&sha256_hex(archon_store::read_text(&path)?));
        }
    }
    Ok(sha256_hex(all))
}

/// sha256 over the files of an input folder (names and bytes, in name order).
fn tree_digest(dir: &Path) -> Result<String> {
    if !dir.is_dir() {
        bail!("{}: session directory not found", dir.display());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    entries.sort();
    let mut all = String::new();
    for p in entries {
        let bytes = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
        all.push_str(&format!(
            "{}:{}\n",
            p.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default(),
            sha256_hex(bytes)
        ));
    }
    Ok(sha256_hex(all))
}

/// One summary of the whole cycle, read back from the artifacts.
fn print_summary(ctx: &Context, paths: &RunPaths) -> Result<()> {
    let summary = super::status::cycle_summary(
        &paths.review,
        &paths.executive,
        &paths.rfp,
        &paths.ledger,
        &paths.execute,
    )?;
    if ctx.global.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{}", summary.render());
    }
    Ok(())
}
