//! `archon status DIR`: where a run stands, stage by stage, read from its artifacts.

use std::path::PathBuf;

use anyhow::Result;
use archon_pipeline::summary::root_summary;
use archon_pipeline::Layout;
use clap::Args;

use crate::context::Context;
use crate::outcome::Outcome;

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// A run's output root (what `archon run --out` wrote); default: archon-out.
    #[arg(default_value = archon_pipeline::layout::DEFAULT_ROOT)]
    pub dir: PathBuf,
}

pub fn run(ctx: &Context, args: &StatusArgs) -> Result<Outcome> {
    let dir = &args.dir;
    if !dir.is_dir() {
        anyhow::bail!("{}: no such run directory", dir.display());
    }
    let summary = root_summary(&Layout::new(dir))?;
    if ctx.global.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{}", summary.render());
    }
    Ok(Outcome::Complete)
}
