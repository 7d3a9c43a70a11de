//! `archon run [SESSION_DIR]`: the whole chain in one command, resumable.
//!
//! Flags → [`archon_pipeline::RunOptions`] → [`archon_pipeline::run_chain`] →
//! summary. The chain (resume, consent policy, revise loop, execution
//! batching, the run root's lock) and its stages ([`ChainStages`]) live in
//! `archon-pipeline`; this file gives them the CLI's context.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use archon_execute::ledger::Stop;
use archon_pipeline::chain::RunReport;
use archon_pipeline::fingerprint::roster_sha256;
use archon_pipeline::stages::chain_stages::ChainStages;
use archon_pipeline::{run_chain, AnswerSource, Layout, RunOptions, Stage};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Args;

use super::execute;
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
    let delegate = args.delegate.choice(ctx)?;
    let layout = Layout::new(&args.out);
    let roster = ctx.roster()?;
    let llm = ctx.answers_from_llm()?;
    let mut stage_global = ctx.global.clone();
    // In LLM mode every exchange is recorded under the run's root unless a
    // cassette is named, so a resumed run asks nothing already answered.
    let flags = &mut stage_global.llm;
    if flags.record.is_none() && flags.replay.is_none() && llm {
        flags.record = Some(layout.cassettes());
    }
    let clusters = archon_tasks::io::load_clusters(args.cluster_dir.as_deref())?;
    // As `archon decompose` does: a file of the folder that is not a cluster
    // (the spec's examples folder holds four) is named, not skipped silently.
    for skipped in clusters.skipped() {
        eprintln!("warning: {skipped}");
    }
    let options = RunOptions {
        session_dir: args.session_dir.clone(),
        until: args.until,
        force: args.force.clone(),
        clusters,
        seed: ctx.seed.0,
        roster_sha256: roster_sha256(&roster),
        answers: if llm {
            AnswerSource::Model
        } else {
            AnswerSource::Simulation
        },
    };
    let stages = ChainStages {
        ctx: ctx.with_global(stage_global),
        cluster_dir: args.cluster_dir.clone(),
        delegate,
        contributions: super::plan::contributions(ctx.global.mode),
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

/// One summary of the whole cycle, read back from the artifacts, then what
/// the chain could not hand on.
fn print_summary(ctx: &Context, layout: &Layout, report: &RunReport) -> Result<()> {
    let summary = archon_pipeline::summary::cycle_summary(layout, &report.session_id)
        .context("reading the run's artifacts")?;
    if ctx.global.json {
        let mut v = serde_json::to_value(&summary)?;
        v["outcome"] = report.outcome.as_str().into();
        v["unroutable"] = serde_json::to_value(&report.unroutable)?;
        v["stopped"] = serde_json::to_value(&report.stopped)?;
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
