//! `archon proposals MANDATE_DIR`: the Dukes' proposals (the Administrative pipeline).

use std::path::PathBuf;

use anyhow::Result;
use archon_admin::io::{self, ProposalsOptions};
use clap::Args;

use crate::context::Context;
use crate::outcome::Outcome;

#[derive(Debug, Clone, Args)]
pub struct ProposalsArgs {
    /// A mandate folder holding rfp.json.
    pub mandate_dir: PathBuf,
    /// Only this Duke proposes (the others' proposals are kept).
    #[arg(long, value_name = "NAME")]
    pub duke_name: Option<String>,
    /// Answer the open revision_request.json (only the Dukes it addresses revise).
    #[arg(long)]
    pub revise: bool,
}

pub fn run(ctx: &Context, args: &ProposalsArgs) -> Result<Outcome> {
    let roster = ctx.roster()?;
    let agents = ctx.agents()?;
    let opts = ProposalsOptions {
        duke_name: args.duke_name.clone(),
        revise: args.revise,
    };
    let report = io::proposals(&args.mandate_dir, &opts, &roster, &agents, &ctx.clock)?;
    if ctx.global.json {
        let v = serde_json::json!({"inbox_dir": report.inbox_dir, "iteration": report.iteration, "submitted": report.submitted,
            "failed": report.failed, "total_submitted": report.total_submitted, "reused": report.reused});
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else if ctx.loud() {
        let reused = if report.reused { " (up to date)" } else { "" };
        println!(
            "proposals (iteration {}): {} submitted, {} failed this run; {} in {}{reused}",
            report.iteration,
            report.submitted.len(),
            report.failed.len(),
            report.total_submitted,
            report.inbox_dir.display()
        );
        for (duke, reason) in &report.failed {
            println!("  failed: {duke}: {reason}");
        }
    }
    Ok(if report.total_submitted == 0 {
        Outcome::Blocked
    } else {
        Outcome::Complete
    })
}
