//! `archon decompose`: the Earl Decomposition Bridge. Winning proposal →
//! task drafts → lint → cluster routing → activations in the governance ledger.

use std::path::PathBuf;

use anyhow::Result;
use archon_decompose::{DecomposeError, DecompositionMode, Progress};
use archon_pipeline::stages::decompose::{self, DecomposeOptions};
use clap::Args;

use crate::context::Context;
use crate::outcome::Outcome;

#[derive(Debug, Clone, Args)]
pub struct DecomposeArgs {
    /// Path to selection_result.json; default: the newest under archon-out/rfp/.
    #[arg(long, value_name = "PATH", conflicts_with = "from_selection_dir")]
    pub selection_file: Option<PathBuf>,
    /// Directory containing selection_result.json.
    #[arg(long, value_name = "PATH")]
    pub from_selection_dir: Option<PathBuf>,
    /// Explicit rfp.json; default: <mandate>/rfp.json.
    #[arg(long, value_name = "PATH")]
    pub rfp_file: Option<PathBuf>,
    /// Explicit winning proposal markdown; default: <mandate>/proposals_inbox/proposal_<duke>.md.
    #[arg(long, value_name = "PATH")]
    pub proposal_md: Option<PathBuf>,
    /// Directory of cluster definition JSON files; default: the bundled clusters (data/clusters/).
    #[arg(long, value_name = "PATH")]
    pub cluster_dir: Option<PathBuf>,
    /// Path to earl_routing_table.json; default: the bundled table (data/earl_routing_table.json).
    #[arg(long, value_name = "PATH")]
    pub earl_routing_table: Option<PathBuf>,
    /// Decompose and route only this tactic (e.g. T-GUSI-002).
    #[arg(long, value_name = "STR")]
    pub tactic_id: Option<String>,
    /// Explosion cap: a tactic with more drafts goes to review.
    #[arg(long, value_name = "INT", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_tasks_per_tactic: u32,
    /// TTL of activations in hours.
    #[arg(long, value_name = "INT", default_value_t = 72, value_parser = clap::value_parser!(u32).range(1..=8760))]
    pub ttl_hours: u32,
    /// Route each task to the top K eligible clusters.
    #[arg(long, value_name = "INT", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub route_top_k: u32,
    /// Drafts and routing plan only: no create_activation.
    #[arg(long)]
    pub no_activate: bool,
    /// Decompose, lint and route, but write nothing and activate nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Checkpoint directory; default: <mandate>/execution_bridge/checkpoints.
    #[arg(long, value_name = "PATH")]
    pub checkpoint_dir: Option<PathBuf>,
    /// Neither read nor write checkpoints.
    #[arg(long)]
    pub no_checkpoint: bool,
    /// Delete the checkpoint directory before starting.
    #[arg(long)]
    pub clear_checkpoints: bool,
    /// Governance ledger (SQLite); default: the governance.db of the run root the mandate is in.
    #[arg(long, value_name = "FILE")]
    pub ledger: Option<PathBuf>,
}

pub fn run(ctx: &Context, args: &DecomposeArgs) -> Result<Outcome> {
    match bridge(ctx, args) {
        Ok(outcome) => Ok(outcome),
        Err(DecomposeError::Stop(message)) => {
            eprintln!("ERROR: {message}");
            Ok(Outcome::Blocked)
        }
        Err(e) => Err(e.into()),
    }
}

fn bridge(ctx: &Context, args: &DecomposeArgs) -> Result<Outcome, DecomposeError> {
    let verbose = ctx.global.verbose > 0 && !ctx.global.quiet;
    let usage = |e: anyhow::Error| DecomposeError::Usage(format!("{e:#}"));
    let opts = DecomposeOptions {
        selection_file: args.selection_file.clone(),
        from_selection_dir: args.from_selection_dir.clone(),
        rfp_file: args.rfp_file.clone(),
        proposal_md: args.proposal_md.clone(),
        cluster_dir: args.cluster_dir.clone(),
        earl_routing_table: args.earl_routing_table.clone(),
        tactic_id: args.tactic_id.clone(),
        max_tasks_per_tactic: args.max_tasks_per_tactic,
        ttl_hours: args.ttl_hours,
        route_top_k: args.route_top_k,
        no_activate: args.no_activate,
        dry_run: args.dry_run,
        checkpoint_dir: args.checkpoint_dir.clone(),
        no_checkpoint: args.no_checkpoint,
        clear_checkpoints: args.clear_checkpoints,
        ledger: args.ledger.clone(),
    };
    let roster = ctx.roster().map_err(usage)?;
    // Everything is read and validated before anything is asked or written.
    let input = decompose::read_input(&opts, &roster)?;
    for skipped in &input.skipped_clusters {
        eprintln!("warning: {skipped}");
    }
    let agents = ctx.agents().map_err(usage)?;
    if verbose {
        let winner = &input.bridge.winner;
        println!("Winner: {} ({})", winner.duke_name, winner.proposal_id);
        println!("Found {} tactics in proposal", input.bridge.tactics.len());
        println!(
            "Mode: {}",
            match decompose::mode_of(&agents) {
                DecompositionMode::Simulation => "simulation",
                DecompositionMode::MultiEarl => "LLM (multi-Earl)",
            }
        );
    }
    let mut progress = |p: Progress<'_>| {
        if verbose {
            match p {
                Progress::Event(e) => println!("  [event] {}", e.event_type),
                Progress::Note(n) => println!("{n}"),
            }
        }
    };
    let report = decompose::decompose(
        &input,
        &opts,
        &roster,
        &agents,
        &ctx.clock,
        None,
        &mut progress,
    )?;
    if verbose && !args.dry_run {
        println!(
            "  [bridge] outputs saved to {}",
            report.bridge_dir.display()
        );
    }
    if ctx.global.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report.summary).unwrap_or_default()
        );
    } else if !ctx.global.quiet {
        print!("{}", report.render(args.dry_run));
    }
    Ok(report.outcome)
}
