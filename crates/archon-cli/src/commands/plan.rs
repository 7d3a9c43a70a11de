//! `archon plan REVIEW_DIR`: the Execution Planner v2, one Executive cycle per
//! ratified motion, each written to `<out>/<motion_id>/`.
//!
//! `--mode manual` (a value of the global `--mode`) reads each motion's inbox,
//! which must exist; `--mode hybrid` reads it and asks the agents for the
//! portfolios without a file; `--mode auto` reads it when it holds any file,
//! else asks the agents (LLM when configured, else simulation); `simulation`
//! and `llm` always ask the agents.

use std::path::PathBuf;

use anyhow::Result;
use archon_pipeline::stages::plan::{self, Contributions, MotionSummary, PlanOptions};
use clap::Args;

use crate::cli::Mode;
use crate::context::Context;
use crate::outcome::Outcome;

#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// Review output directory (ratified_motions.json, aggregations.json, panel_deliberations/).
    #[arg(required_unless_present_any = ["packet", "input"], conflicts_with_all = ["packet", "input"])]
    pub review_dir: Option<PathBuf>,
    /// The review output directory, as the flow spec names it (same as REVIEW_DIR).
    #[arg(long, value_name = "DIR", conflicts_with = "packet")]
    pub input: Option<PathBuf>,
    /// Plan from one Ratified Intent Packet instead of a review directory.
    #[arg(long, value_name = "FILE")]
    pub packet: Option<PathBuf>,
    /// Output directory; default: archon-out/executive/<session_id>/ (one folder per motion).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Plan only this motion.
    #[arg(long, value_name = "ID")]
    pub motion_id: Option<String>,
    /// Exit 1 when any gate fails, listing every failure.
    #[arg(long)]
    pub require_gates: bool,
    /// Write execution_plan_handoff.json even when a gate fails (default: only when all pass).
    #[arg(long)]
    pub emit_admin_handoff: bool,
    /// Accepted from the flow spec's CLI: intent_clarification_queue_item.json is now always
    /// written for every escalation.
    #[arg(long)]
    pub emit_conclave_clarifications: bool,
    /// Executive Clarification Review of every INTENT_AMBIGUITY candidate.
    #[arg(long)]
    pub run_exec_clarification_review: bool,
    /// E2.5: a peer President reviews every blocker's disposition through the agents.
    #[arg(long)]
    pub llm_blocker_workup: bool,
    /// Plan Owner portfolio id (overrides the scoring).
    #[arg(long, value_name = "PORTFOLIO")]
    pub owner: Option<String>,
    /// Affected portfolio ids, comma-separated (overrides the scoring).
    #[arg(long, value_name = "P1,P2", value_delimiter = ',')]
    pub affected: Option<Vec<String>>,
    /// Write contribution templates into each motion's inbox and stop.
    #[arg(long)]
    pub scaffold_inbox: bool,
    /// Inbox root: responses are read from DIR/<motion_id>/; default: <out>/<motion_id>/inbox/.
    #[arg(long, value_name = "DIR")]
    pub inbox: Option<PathBuf>,
}

pub fn run(ctx: &Context, args: &PlanArgs) -> Result<Outcome> {
    let roster = ctx.roster()?;
    let opts = PlanOptions {
        review_dir: args.review_dir.clone().or(args.input.clone()),
        packet: args.packet.clone(),
        out: args.out.clone(),
        motion_id: args.motion_id.clone(),
        require_gates: args.require_gates,
        emit_admin_handoff: args.emit_admin_handoff,
        emit_conclave_clarifications: args.emit_conclave_clarifications,
        run_exec_clarification_review: args.run_exec_clarification_review,
        llm_blocker_workup: args.llm_blocker_workup,
        owner: args.owner.clone(),
        affected: args.affected.clone(),
        inbox: args.inbox.clone(),
        contributions: contributions(ctx.global.mode),
    };
    let input = plan::read_input(&opts, &ctx.clock)?;
    if args.scaffold_inbox {
        for s in plan::scaffold_inboxes(&input, &opts, &roster, &ctx.clock)? {
            if ctx.loud() {
                println!(
                    "{}: {} template(s) in {} (cycle {})",
                    s.motion_id,
                    s.written,
                    s.dir.display(),
                    s.cycle_id
                );
            }
        }
        return Ok(Outcome::Complete);
    }
    if let Some(why) = input.nothing_to_plan() {
        eprintln!("blocked: {why}");
        return Ok(Outcome::Blocked);
    }
    let agents = ctx.agents()?;
    let report = plan::plan(&input, &opts, &roster, &agents, &ctx.clock)?;
    if args.require_gates {
        for line in report.motions.iter().flat_map(|m| &m.gate_failures) {
            eprintln!("{line}");
        }
    }
    print_summaries(ctx, &report.motions)?;
    let failing = report.failing();
    if args.require_gates && !failing.is_empty() {
        eprintln!("blocked: gates failed for {}", failing.join(", "));
    }
    Ok(report.outcome)
}

/// Where `--mode` has the Presidents' contributions come from.
pub fn contributions(mode: Mode) -> Contributions {
    match mode {
        Mode::Manual => Contributions::Manual,
        Mode::Hybrid => Contributions::Hybrid,
        Mode::Auto => Contributions::Auto,
        Mode::Simulation | Mode::Llm => Contributions::Agents,
    }
}

fn print_summaries(ctx: &Context, summaries: &[MotionSummary]) -> Result<()> {
    if ctx.global.json {
        println!("{}", serde_json::to_string_pretty(summaries)?);
        return Ok(());
    }
    if !ctx.loud() {
        return Ok(());
    }
    for s in summaries {
        println!("{}", s.render());
    }
    Ok(())
}
