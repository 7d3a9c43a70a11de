//! `archon select MANDATE_DIR`: Executive Review (E4) of the Dukes' proposals.

use std::path::PathBuf;

use anyhow::Result;
use archon_admin::io::{self, SelectCliOptions};
use archon_artifacts::SelectionOutcome;
// Re-exported for `archon run`, which drives the same review with its defaults.
pub(crate) use archon_admin::select::{DEFAULT_MAX_ITERATIONS, DEFAULT_TOP_N};
use clap::Args;

use crate::context::Context;
use crate::outcome::Outcome;

#[derive(Debug, Clone, Args)]
pub struct SelectArgs {
    /// A mandate folder holding rfp.json and proposals_inbox/.
    pub mandate_dir: PathBuf,
    /// Bound of the revise → re-select loop; when reached with revisions open, the review escalates.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_ITERATIONS)]
    pub max_iterations: u32,
    /// At most this many finalists (and contenders asked to revise).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_TOP_N)]
    pub top_n: usize,
}

pub fn run(ctx: &Context, args: &SelectArgs) -> Result<Outcome> {
    let roster = ctx.roster()?;
    let agents = ctx.agents()?;
    let opts = SelectCliOptions {
        max_iterations: args.max_iterations,
        top_n: args.top_n,
    };
    let report = io::select(&args.mandate_dir, &opts, &roster, &agents, &ctx.clock)?;
    let r = &report.result;
    if ctx.global.json {
        println!("{}", serde_json::to_string_pretty(r)?);
    } else if ctx.loud() {
        let reused = if report.reused { " (up to date)" } else { "" };
        println!(
            "selection {} (iteration {} of {}){reused}",
            r.selection_id, r.iteration, r.max_iterations
        );
        for k in r.rankings.iter().take(args.top_n.max(3)) {
            println!(
                "  #{} {} ({}) mean {:.2} {:?}",
                k.rank, k.proposal_id, k.duke_name, k.statistics.mean, k.tier
            );
        }
        match r.outcome {
            SelectionOutcome::WinnerSelected => {
                println!("{}: {}", r.outcome.as_str(), r.winning_proposal_id.as_deref().unwrap_or(""))
            }
            SelectionOutcome::RevisionRequested => println!(
                "blocked: REVISION_REQUESTED ({}); run `archon proposals --revise` then `archon select` again",
                r.reason
            ),
            SelectionOutcome::NoViableProposal => println!("blocked: NO_VIABLE_PROPOSAL ({})", r.reason),
            SelectionOutcome::EscalateToConclave => println!("escalated: ESCALATE_TO_CONCLAVE ({})", r.reason),
        }
        println!("written to {}", report.selection_dir.display());
    }
    Ok(match r.outcome {
        SelectionOutcome::WinnerSelected => Outcome::Complete,
        SelectionOutcome::RevisionRequested | SelectionOutcome::NoViableProposal => {
            Outcome::Blocked
        }
        SelectionOutcome::EscalateToConclave => Outcome::Escalated,
    })
}
