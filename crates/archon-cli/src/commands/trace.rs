//! `archon trace TASK_REF`: the provenance chain of one task (read by
//! `archon_pipeline::trace`), printed.

use std::path::PathBuf;

use anyhow::Result;
use archon_pipeline::trace::trace;
use archon_pipeline::Layout;
use clap::Args;

use crate::context::Context;
use crate::outcome::Outcome;

#[derive(Debug, Clone, Args)]
pub struct TraceArgs {
    /// The task's ref in the ledger (e.g. TASK-ASTA-001a).
    pub task_ref: String,
    /// Governance ledger; default: OUT/governance.db.
    #[arg(long, value_name = "PATH")]
    pub ledger: Option<PathBuf>,
    /// The run's output root, where the stage artifacts are.
    #[arg(long, value_name = "DIR", default_value = archon_pipeline::layout::DEFAULT_ROOT)]
    pub out: PathBuf,
}

pub fn run(ctx: &Context, args: &TraceArgs) -> Result<Outcome> {
    let layout = Layout::new(&args.out);
    let ledger = args.ledger.clone().unwrap_or_else(|| layout.ledger());
    let trace = trace(&layout, &ledger, &args.task_ref)?;
    if ctx.global.json {
        println!("{}", serde_json::to_string_pretty(&trace)?);
    } else {
        print!("{}", trace.render());
    }
    Ok(Outcome::Complete)
}
