//! `archon run [SESSION_DIR]`: the whole chain in one command, resumable.
//!
//! Flags → [`archon_pipeline::RunOptions`] → [`archon_pipeline::run_chain`] →
//! summary. The chain (resume, consent policy, revise loop, execution
//! batching, the run root's lock) lives in `archon-pipeline`; this file only
//! gives it the stages, through [`CliStages`], with the CLI's context.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use archon_admin::select::SelectionOutcome;
use archon_core::fan_out::Turn;
use archon_execute::ledger::Stop;
use archon_pipeline::chain::RunReport;
use archon_pipeline::fingerprint::roster_sha256;
use archon_pipeline::stage::{ExecutionJob, RfpRun, StageResult};
use archon_pipeline::{run_chain, AnswerSource, Layout, RunOptions, Stage, Stages};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Args;

use archon_decompose::DecomposeError;
use archon_pipeline::stages::decompose::{self, DecomposeOptions};

use super::{execute, plan, review};
use crate::context::Context;
use crate::outcome::Outcome;

fn stage_parser() -> impl TypedValueParser<Value = Stage> {
    PossibleValuesParser::new(Stage::NAMES)
        .map(|name| Stage::from_name(&name).expect("clap checked the name"))
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Consolidator session directory; default: the bundled example session.
    pub session_dir: Option<PathBuf>,
    /// Root of every stage's output.
    #[arg(long, value_name = "DIR", default_value = archon_pipeline::layout::DEFAULT_ROOT)]
    pub out: PathBuf,
    /// Stop after this stage.
    #[arg(long, value_name = "STAGE", value_parser = stage_parser())]
    pub until: Option<Stage>,
    /// Redo this stage even when its outputs are up to date (repeatable).
    #[arg(long, value_name = "STAGE", value_parser = stage_parser())]
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

pub fn run(ctx: &Context, args: &RunArgs) -> Result<Outcome> {
    args.delegate.command(ctx)?;
    let layout = Layout::new(&args.out);
    let roster = ctx.roster()?;
    let llm = ctx.answers_from_llm()?;
    let mut stage_global = ctx.global.clone();
    // The stages' own console output is off unless -v: the run prints one summary.
    stage_global.quiet = ctx.global.verbose == 0;
    // With --json, stdout carries the run's one summary, not each stage's.
    stage_global.json = false;
    // In LLM mode every exchange is recorded under the run's root unless a
    // cassette is named, so a resumed run asks nothing already answered.
    let flags = &mut stage_global.llm;
    if flags.record.is_none() && flags.replay.is_none() && llm {
        flags.record = Some(layout.cassettes());
    }
    let options = RunOptions {
        session_dir: args.session_dir.clone(),
        until: args.until,
        force: args.force.clone(),
        clusters: archon_tasks::io::load_clusters(args.cluster_dir.as_deref())?,
        seed: ctx.seed.0,
        roster_sha256: roster_sha256(&roster),
        answers: if llm {
            AnswerSource::Model
        } else {
            AnswerSource::Simulation
        },
    };
    let stages = CliStages {
        ctx: ctx.with_global(stage_global),
        cluster_dir: args.cluster_dir.clone(),
        delegate: args.delegate.clone(),
    };
    let bar = ctx.progress.bar("archon run", Stage::ALL.len() as u64);
    let verbose = ctx.global.verbose > 0;
    let note = |stage: Stage, what: &str| {
        if what == "running" {
            bar.set_message(stage.name());
        } else {
            bar.inc(1);
        }
        if verbose {
            let line = format!("[{}] {what}", stage.name());
            ctx.progress.suspend(|| eprintln!("{line}"));
        }
        tracing::info!(stage = stage.name(), "{what}");
    };
    let report = run_chain(&layout, &options, &stages, &ctx.clock, &note)?;
    drop(bar);
    if !ctx.global.quiet {
        print_summary(ctx, &layout, &report)?;
    }
    if !args.no_report {
        let page = super::report::write(&layout, None)?;
        if !ctx.global.quiet && !ctx.global.json {
            println!("report: {}", page.display());
        }
    }
    Ok(report.outcome)
}

/// The stages as the CLI runs them: its context (agents, clock, seed), and
/// the run's cluster dir and delegate.
struct CliStages {
    ctx: Context,
    cluster_dir: Option<PathBuf>,
    delegate: execute::DelegateArgs,
}

impl Stages for CliStages {
    fn answers_failed(&self) -> Option<String> {
        self.ctx.tally.transport_failure()
    }

    fn review(&self, session_dir: &Path, out: &Path) -> StageResult<Outcome> {
        let args = review::ReviewArgs {
            session_dir: session_dir.to_path_buf(),
            out: Some(out.to_path_buf()),
            triage_only: false,
            include_novel: false,
            responses: None,
            allow_unknown_supporters: false,
        };
        Ok(review::run(&self.ctx, &args)?)
    }

    fn plan(&self, review: &Path, out: &Path) -> StageResult<Outcome> {
        let args = plan::PlanArgs {
            review_dir: Some(review.to_path_buf()),
            input: None,
            packet: None,
            out: Some(out.to_path_buf()),
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
        };
        Ok(plan::run(&self.ctx, &args)?)
    }

    fn rfp(&self, executive: &Path, rfp_root: &Path) -> StageResult<RfpRun> {
        let opts = archon_admin::io::RfpOptions {
            out: rfp_root.to_path_buf(),
            motion_id: None,
            retry_failed: false,
        };
        let (roster, agents) = (self.ctx.roster()?, self.ctx.agents()?);
        let report = archon_admin::io::rfp(executive, &opts, &roster, &agents, &self.ctx.clock)?;
        let blocked = report
            .mandates
            .iter()
            .any(|m| m.status == archon_admin::dossier::DossierStatus::Blocked);
        Ok(RfpRun {
            session_dir: report.session_dir,
            outcome: if blocked {
                Outcome::Blocked
            } else {
                Outcome::Complete
            },
        })
    }

    fn proposals(&self, mandate: &Path, revise: bool) -> StageResult<Outcome> {
        let opts = archon_admin::io::ProposalsOptions {
            duke_name: None,
            revise,
        };
        let (roster, agents) = (self.ctx.roster()?, self.ctx.agents()?);
        let report =
            archon_admin::io::proposals(mandate, &opts, &roster, &agents, &self.ctx.clock)?;
        Ok(if report.total_submitted == 0 {
            Outcome::Blocked
        } else {
            Outcome::Complete
        })
    }

    fn select(&self, mandate: &Path) -> StageResult<SelectionOutcome> {
        let opts = archon_admin::io::SelectCliOptions {
            max_iterations: archon_admin::select::DEFAULT_MAX_ITERATIONS,
            top_n: archon_admin::select::DEFAULT_TOP_N,
        };
        let (roster, agents) = (self.ctx.roster()?, self.ctx.agents()?);
        let report = archon_admin::io::select(mandate, &opts, &roster, &agents, &self.ctx.clock)?;
        Ok(report.result.outcome)
    }

    fn decompose(&self, mandate: &Path, ledger: &Path, turn: &Turn<'_>) -> StageResult<Outcome> {
        let opts = DecomposeOptions {
            selection_file: Some(Layout::selection_file(mandate)),
            cluster_dir: self.cluster_dir.clone(),
            // A decomposition interrupted by a crash is redone whole, so its events read
            // as if it had never been interrupted; activations it already made are found
            // in the ledger, and LLM answers in the cassette.
            clear_checkpoints: true,
            ledger: Some(ledger.to_path_buf()),
            ..DecomposeOptions::default()
        };
        let roster = self.ctx.roster()?;
        let input = match decompose::read_input(&opts, &roster) {
            Err(DecomposeError::Stop(message)) => {
                tracing::warn!("{message}");
                return Ok(Outcome::Blocked);
            }
            input => input?,
        };
        let agents = self.ctx.agents()?;
        let clock = &self.ctx.clock;
        let report = decompose::decompose(
            &input,
            &opts,
            &roster,
            &agents,
            clock,
            Some(turn),
            &mut |_| {},
        )?;
        Ok(report.outcome)
    }

    fn execute(&self, job: &ExecutionJob, turn: &Turn<'_>) -> StageResult<Outcome> {
        let args = execute::ExecuteArgs {
            task_ref: job.task_ref.clone(),
            ledger: Some(job.ledger.clone()),
            workspace: Some(job.workspace.clone()),
            report: Some(job.report.clone()),
            delegate: self.delegate.clone(),
            issuer: Some("archon run".into()),
            cluster_dir: self.cluster_dir.clone(),
        };
        Ok(execute::run_in_turn(&self.ctx, &args, Some(turn))?)
    }
}

/// One summary of the whole cycle, read back from the artifacts, then what
/// the chain could not hand on.
fn print_summary(ctx: &Context, layout: &Layout, report: &RunReport) -> Result<()> {
    let summary = archon_pipeline::summary::cycle_summary(layout, &report.session_id)
        .context("reading the run's artifacts")?;
    if ctx.global.json {
        let mut v = serde_json::to_value(&summary)?;
        v["outcome"] = report.outcome.as_str().into();
        v["unroutable"] = report
            .unroutable
            .iter()
            .map(|u| serde_json::json!({"mandate_id": u.mandate_id, "task_ref": u.task_ref, "status": u.status, "reason": u.reason}))
            .collect();
        v["stopped"] = report
            .stopped
            .iter()
            .map(|s| serde_json::json!({"task_ref": s.task_ref, "outcome": s.outcome}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    print!("{}", summary.render());
    if !report.unroutable.is_empty() {
        println!("unroutable tasks ({}):", report.unroutable.len());
        for u in &report.unroutable {
            let status = serde_json::to_value(u.status)?;
            println!(
                "  {} ({}): {} — {}",
                u.task_ref,
                u.mandate_id,
                status.as_str().unwrap_or(""),
                u.reason
            );
        }
    }
    for (label, wanted) in [("escalated", Stop::Escalated), ("blocked", Stop::Blocked)] {
        let tasks: Vec<&str> = report
            .stopped
            .iter()
            .filter(|s| s.outcome == wanted)
            .map(|s| s.task_ref.as_str())
            .collect();
        if !tasks.is_empty() {
            println!("{label} executions ({}): {}", tasks.len(), tasks.join(", "));
        }
    }
    println!("outcome: {}", report.outcome.as_str());
    Ok(())
}
