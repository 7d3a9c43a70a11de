//! `archon review SESSION_DIR`: the Motion Review Pipeline.

use std::path::PathBuf;

use archon_agents::CassetteMode;

use anyhow::Result;
use archon_pipeline::stages::review::{self, ReviewOptions};
use archon_review::pipeline::TriageResults;
use clap::Args;

use crate::context::Context;
use crate::outcome::Outcome;

#[derive(Debug, Clone, Args)]
pub struct ReviewArgs {
    /// Consolidator session directory (mega-motions.json, optional novel-proposals.json).
    pub session_dir: PathBuf,
    /// Output directory; default: archon-out/review/<session_id>/.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print the triage and write nothing.
    #[arg(long)]
    pub triage_only: bool,
    /// Turn each novel proposal into a motion (always HIGH risk).
    #[arg(long)]
    pub include_novel: bool,
    /// Read review responses (review_responses/archon-<id>.json) instead of asking agents.
    #[arg(long, value_name = "DIR")]
    pub responses: Option<PathBuf>,
    /// Supporters missing from the roster become warnings instead of errors.
    #[arg(long)]
    pub allow_unknown_supporters: bool,
}

pub fn run(ctx: &Context, args: &ReviewArgs) -> Result<Outcome> {
    let roster = ctx.roster()?;
    let opts = ReviewOptions {
        session_dir: args.session_dir.clone(),
        out: args.out.clone(),
        include_novel: args.include_novel,
        responses: args.responses.clone(),
        allow_unknown_supporters: args.allow_unknown_supporters,
    };
    let input = review::read_input(&opts, &roster)?;
    for w in &input.warnings {
        eprintln!("warning: {w}");
    }
    if args.triage_only {
        print_triage(ctx, &review::triage(&input, &roster, &ctx.clock))?;
        return Ok(Outcome::Complete);
    }
    let agents = ctx.agents()?;
    let cassette = match agents.mode() {
        "simulation" => CassetteMode::Off,
        _ => ctx.cassette()?,
    };
    let report = review::review(&input, &opts, &roster, &agents, &ctx.clock, &cassette)?;
    if ctx.global.verbose > 0 {
        for e in &report.events {
            eprintln!(
                "event {} {} {}",
                e.event_type,
                e.attributed_to.join(","),
                e.payload
            );
        }
    }
    if ctx.global.json {
        println!("{}", serde_json::to_string_pretty(&report.result)?);
    } else if ctx.loud() {
        print!("{}", report.render());
    }
    Ok(Outcome::Complete)
}

fn print_triage(ctx: &Context, t: &TriageResults) -> Result<()> {
    if ctx.global.json {
        println!("{}", serde_json::to_string_pretty(t)?);
    } else {
        print!("{}", review::render_triage(t));
    }
    Ok(())
}
