//! `archon report [DIR] [--out FILE] [--open]`: one self-contained HTML page of
//! a run root (inline CSS and SVG, no script, nothing fetched when opened).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use archon_pipeline::Layout;
use clap::Args;

use crate::context::Context;
use crate::outcome::Outcome;

#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// A run's output root (what `archon run --out` wrote).
    #[arg(value_name = "DIR", default_value = "archon-out")]
    pub dir: PathBuf,
    /// Where to write the page; default: DIR/report.html.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Open the page in the desktop's browser once written.
    #[arg(long)]
    pub open: bool,
}

pub fn run(ctx: &Context, args: &ReportArgs) -> Result<Outcome> {
    let path = write(&Layout::new(&args.dir), args.out.as_deref())?;
    if !ctx.global.quiet {
        println!("report: {}", path.display());
    }
    if args.open {
        open(&path)?;
    }
    Ok(Outcome::Complete)
}

/// Renders the report of the run root `layout` and writes it (atomically) to
/// `out`, default `<root>/report.html`; returns where it went.
pub fn write(layout: &Layout, out: Option<&Path>) -> Result<PathBuf> {
    let html = archon_report::report(layout)?;
    let path = out.map_or_else(|| layout.html_report(), Path::to_path_buf);
    archon_store::write_atomic(&path, html.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// The platform's "open this file" command.
fn open(path: &Path) -> Result<()> {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    std::process::Command::new(opener)
        .arg(path)
        .spawn()
        .with_context(|| format!("{opener} {}", path.display()))?;
    Ok(())
}
