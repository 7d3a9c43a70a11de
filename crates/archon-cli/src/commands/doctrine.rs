//! `archon doctrine assemble|check`: the execution lead's doctrine. Without a
//! directory, the doctrine compiled into the binary (data/doctrine) is used.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use archon_execute::doctrine::{self, DoctrineFile, CRITERIA};
use clap::{Args, Subcommand};

use crate::context::Context;
use crate::outcome::Outcome;

#[derive(Debug, Args)]
pub struct DoctrineArgs {
    #[command(subcommand)]
    pub command: DoctrineCommand,
}

#[derive(Debug, Subcommand)]
pub enum DoctrineCommand {
    /// Assemble the doctrine into SKILL.md, the prompt document of the LLM delegate
    /// (refused, exit 1, when the doctrine fails its check).
    Assemble {
        /// Doctrine directory (ethos/, doctrine/, references/); default: the bundled doctrine.
        dir: Option<PathBuf>,
        /// Print SKILL.md instead of writing it.
        #[arg(long)]
        dry_run: bool,
        /// Where to write SKILL.md; default: archon-out/doctrine/SKILL.md.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Check the spec's eight verification criteria; each violation with file and line, exit 1 on any.
    Check {
        /// Doctrine directory; default: the bundled doctrine.
        dir: Option<PathBuf>,
    },
}

pub fn run(ctx: &Context, args: &DoctrineArgs) -> Result<Outcome> {
    match &args.command {
        DoctrineCommand::Assemble { dir, dry_run, out } => {
            let files = load(dir.as_deref())?;
            if report_violations(&files, ctx) {
                eprintln!("error: the doctrine fails its check; SKILL.md not assembled");
                return Ok(Outcome::Blocked);
            }
            let skill = doctrine::assemble(&files)?;
            if *dry_run {
                print!("{skill}");
                return Ok(Outcome::Complete);
            }
            let out = out
                .clone()
                .unwrap_or_else(|| archon_pipeline::Layout::default().doctrine_skill());
            archon_store::write_atomic(&out, skill.as_bytes())
                .with_context(|| format!("writing {}", out.display()))?;
            if ctx.loud() {
                println!("wrote {} ({} files)", out.display(), files.len());
            }
            Ok(Outcome::Complete)
        }
        DoctrineCommand::Check { dir } => {
            let files = load(dir.as_deref())?;
            if report_violations(&files, ctx) {
                return Ok(Outcome::Blocked);
            }
            if ctx.loud() {
                println!(
                    "doctrine check: all {} criteria hold ({} files)",
                    CRITERIA.len(),
                    files.len()
                );
            }
            Ok(Outcome::Complete)
        }
    }
}

/// Prints every violation (stdout) and a summary; true when there were any.
fn report_violations(files: &[DoctrineFile], ctx: &Context) -> bool {
    let violations = doctrine::check(files);
    if ctx.global.json {
        let list: Vec<serde_json::Value> = violations
            .iter()
            .map(|v| {
                serde_json::json!({"criterion": v.criterion, "file": v.file, "line": v.line, "message": v.message})
            })
            .collect();
        println!("{}", serde_json::Value::Array(list));
    } else {
        for v in &violations {
            println!("{v}");
        }
    }
    if !violations.is_empty() {
        let mut broken: Vec<u8> = violations.iter().map(|v| v.criterion).collect();
        broken.dedup();
        eprintln!(
            "doctrine check: {} violation(s) of criteria {}",
            violations.len(),
            broken
                .iter()
                .map(u8::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    !violations.is_empty()
}

/// The doctrine files under `dir`, or the bundled ones.
fn load(dir: Option<&Path>) -> Result<Vec<DoctrineFile>> {
    let Some(dir) = dir else {
        return Ok(doctrine::shipped());
    };
    let (files, skipped) = archon_execute::io::read_doctrine_dir(dir)?;
    for path in skipped {
        eprintln!("warning: {}: not UTF-8 text; not checked", path.display());
    }
    Ok(files)
}
