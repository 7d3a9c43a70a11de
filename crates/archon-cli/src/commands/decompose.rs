//! `archon decompose`: the Earl Decomposition Bridge. Winning proposal →
//! task drafts → lint → cluster routing → activations in the governance ledger.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use archon_core::fan_out::Turn;
use archon_core::seed::sha256_hex;
use archon_decompose::checkpoint::{CheckpointStore, NoCheckpoints};
use archon_decompose::inputs::RoutingTable;
use archon_decompose::io::{self, DirCheckpoints, InputPaths, BRIDGE_DIR};
use archon_decompose::ledger_sink::LedgerSink;
use archon_decompose::{
    run_bridge, ActivationSink, BridgeOptions, BridgeSummary, DecomposeError, DecompositionMode,
    Progress, Services,
};
use archon_tasks::Ledger;
use clap::Args;

use archon_pipeline::fingerprint::roster_sha256;
use archon_pipeline::{AnswerSource, Fingerprint, Layout};

use crate::context::Context;
use crate::outcome::Outcome;

/// The bundled Earl routing table (portfolio → Earl of the bundled roster).
const BUNDLED_ROUTING_TABLE: &str = include_str!("../../../../data/earl_routing_table.json");

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
    run_in_turn(ctx, args, None)
}

/// [`run`] as one of several mandates decomposed side by side (`archon run`):
/// the mandate's activations wait for `turn`, so the ledger reads the same (and
/// the same Duke's second mandate gets the qualified refs) whatever order the
/// decompositions finish in.
pub fn run_in_turn(
    ctx: &Context,
    args: &DecomposeArgs,
    turn: Option<&Turn<'_>>,
) -> Result<Outcome> {
    match bridge(ctx, args, turn) {
        Ok(outcome) => Ok(outcome),
        Err(DecomposeError::Stop(message)) => {
            eprintln!("ERROR: {message}");
            Ok(Outcome::Blocked)
        }
        Err(e) => Err(e.into()),
    }
}

const BUNDLED_TABLE_SOURCE: &str = "bundled earl_routing_table.json";

fn load_routing_table(path: Option<&Path>) -> Result<(RoutingTable, String), DecomposeError> {
    let (source, text) = match path {
        Some(p) => (p.display().to_string(), archon_store::read_text(p)?),
        None => (
            BUNDLED_TABLE_SOURCE.to_string(),
            BUNDLED_ROUTING_TABLE.to_string(),
        ),
    };
    Ok((RoutingTable::parse(&source, &text)?, sha256_hex(&text)))
}

fn bridge(
    ctx: &Context,
    args: &DecomposeArgs,
    turn: Option<&Turn<'_>>,
) -> Result<Outcome, DecomposeError> {
    let verbose = ctx.global.verbose > 0 && !ctx.global.quiet;
    // Everything is read and validated before anything is written.
    let located = io::locate(&InputPaths {
        selection_file: args.selection_file.clone(),
        from_selection_dir: args.from_selection_dir.clone(),
        rfp_file: args.rfp_file.clone(),
        proposal_md: args.proposal_md.clone(),
        out_root: Layout::default().root().to_path_buf(),
    })?;
    let clusters = archon_tasks::io::load_clusters(args.cluster_dir.as_deref())?;
    for skipped in clusters.skipped() {
        eprintln!("warning: {skipped}");
    }
    let (routing_table, table_hash) = load_routing_table(args.earl_routing_table.as_deref())?;
    let inputs = io::bridge_inputs(&located, clusters, routing_table)?;
    let roster = ctx
        .roster()
        .map_err(|e| DecomposeError::Usage(format!("{e:#}")))?;
    // A table the user gives must name Earls of the roster. The bundled table
    // names the bundled roster's Earls: with another roster its facilitator is
    // resolved as the bridge documents (the roster's first Earl).
    if let Some(table) = args.earl_routing_table.as_deref() {
        inputs
            .routing_table
            .check_earls(&table.display().to_string(), &roster)?;
    }
    let agents = ctx
        .agents()
        .map_err(|e| DecomposeError::Usage(format!("{e:#}")))?;
    let mode = if agents.backend_name() == "simulation" {
        DecompositionMode::Simulation
    } else {
        DecompositionMode::MultiEarl
    };
    let options = BridgeOptions {
        mode,
        tactic_id: args.tactic_id.clone(),
        max_tasks_per_tactic: args.max_tasks_per_tactic as usize,
        ttl_hours: args.ttl_hours,
        route_top_k: args.route_top_k as usize,
        seed: ctx.seed,
    };
    if verbose {
        println!(
            "Winner: {} ({})",
            inputs.winner.duke_name, inputs.winner.proposal_id
        );
        println!("Found {} tactics in proposal", inputs.tactics.len());
        println!(
            "Mode: {}",
            match mode {
                DecompositionMode::Simulation => "simulation",
                DecompositionMode::MultiEarl => "LLM (multi-Earl)",
            }
        );
    }

    let bridge_dir = located.mandate_dir.join(BRIDGE_DIR);
    let checkpoint_dir = args
        .checkpoint_dir
        .clone()
        .unwrap_or_else(|| bridge_dir.join("checkpoints"));
    if args.clear_checkpoints && !args.dry_run {
        DirCheckpoints::clear(&checkpoint_dir)?;
    }
    let mut checkpoints: Box<dyn CheckpointStore> = if args.no_checkpoint {
        Box::new(NoCheckpoints)
    } else {
        Box::new(DirCheckpoints::new(checkpoint_dir, !args.dry_run))
    };
    let mut ledger = if args.no_activate || args.dry_run {
        None
    } else {
        // The ledger of the run the mandate belongs to, wherever the command runs from.
        let path = args.ledger.clone().unwrap_or_else(|| {
            Layout::containing(&located.mandate_dir)
                .unwrap_or_default()
                .ledger()
        });
        let ledger = Ledger::open(&path)
            .map_err(|e| DecomposeError::Usage(format!("governance ledger: {e}")))?
            .with_clusters(inputs.clusters.clone());
        Some(LedgerSink {
            ledger,
            clock: &ctx.clock,
            turn,
            anchor: None,
        })
    };
    let mut progress = |p: Progress<'_>| {
        if verbose {
            match p {
                Progress::Event(e) => println!("  [event] {}", e.event_type),
                Progress::Note(n) => println!("{n}"),
            }
        }
    };
    let output = run_bridge(
        &inputs,
        &options,
        Services {
            agents: &agents,
            roster: &roster,
            clock: &ctx.clock,
            checkpoints: checkpoints.as_mut(),
            activation: ledger.as_mut().map(|l| l as &mut dyn ActivationSink),
            progress: &mut progress,
        },
    )?;

    if !args.dry_run {
        let mut hashes = located.hashes.clone();
        hashes.insert("earl_routing_table".into(), table_hash);
        hashes.insert("roster".into(), roster_sha256(&roster));
        let clusters: Vec<_> = inputs.clusters.all().collect();
        hashes.insert(
            "clusters".into(),
            sha256_hex(serde_json::to_vec(&clusters).unwrap_or_default()),
        );
        let input_hash = input_hash(&hashes, &options, args);
        let ledger_head = ledger.and_then(|sink| sink.anchor);
        io::write_outputs(&bridge_dir, &output, input_hash, hashes, ledger_head)?;
        if verbose {
            println!("  [bridge] outputs saved to {}", bridge_dir.display());
        }
    }
    if ctx.global.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&output.summary).unwrap_or_default()
        );
    } else if !ctx.global.quiet {
        print_summary(&output.summary, args.dry_run);
    }
    Ok(if output.is_complete() {
        Outcome::Complete
    } else {
        Outcome::Blocked
    })
}

fn input_hash(
    hashes: &BTreeMap<String, String>,
    o: &BridgeOptions,
    args: &DecomposeArgs,
) -> String {
    let answers = match o.mode {
        DecompositionMode::Simulation => AnswerSource::Simulation,
        DecompositionMode::MultiEarl => AnswerSource::Model,
    };
    Fingerprint::new("decompose")
        .inputs(hashes)
        .seed(o.seed.0)
        .answers(answers)
        .option("tactic_id", o.tactic_id.as_deref().unwrap_or(""))
        .option("max_tasks_per_tactic", o.max_tasks_per_tactic)
        .option("ttl_hours", o.ttl_hours)
        .option("route_top_k", o.route_top_k)
        .option("activate", !args.no_activate)
        .finish()
}

/// The summary block of spec section 6; rarer counters only when non-zero.
fn print_summary(s: &BridgeSummary, dry_run: bool) {
    let c = &s.counters;
    println!();
    println!("Earl Decomposition Bridge Summary");
    let line = |label: &str, n: usize| println!("  {:<23}{n}", format!("{label}:"));
    line("Tactics processed", c.total_tactics);
    line("Task drafts created", c.total_task_drafts);
    line("Activations created", c.activations_created);
    line("Activations failed", c.activations_failed);
    line("No eligible cluster", c.no_eligible_cluster);
    for (label, n) in [
        ("Capacity blocked", c.capacity_blocked),
        ("Ambiguous tactics", c.ambiguous_tactics),
        ("Explosion review", c.explosion_review),
        ("Overlap review", c.overlap_review),
        ("Weak provenance", c.weak_provenance),
    ] {
        if n > 0 {
            line(label, n);
        }
    }
    if dry_run {
        println!("  (dry run: nothing written, nothing activated)");
    }
}
