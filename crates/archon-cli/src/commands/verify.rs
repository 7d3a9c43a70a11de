//! `archon verify [DIR] [--ledger PATH]`: the governance ledger's hash chain,
//! two-phase discipline and projection, and every `stage_manifest.json` under
//! DIR against the files it lists. Exit 1 when anything is wrong.

use std::path::PathBuf;

use anyhow::{bail, Result};
use archon_store::artifact_dir::{check_manifests_under, ManifestCheck};
use archon_tasks::{verify_ledger, VerifyReport};
use clap::Args;
use serde::Serialize;

use crate::context::Context;
use crate::outcome::Outcome;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Output directory to check (default: archon-out): its governance.db and
    /// every stage_manifest.json below it.
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Ledger to check; default: DIR/governance.db when present.
    #[arg(long, value_name = "PATH")]
    pub ledger: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
struct Report {
    ok: bool,
    ledger_path: Option<String>,
    ledger: Option<VerifyReport>,
    manifests: Vec<ManifestCheck>,
}

pub fn run(ctx: &Context, args: &VerifyArgs) -> Result<Outcome> {
    let dir = args.dir.clone().or_else(|| {
        let default = PathBuf::from("archon-out");
        (default.is_dir() || args.ledger.is_none()).then_some(default)
    });
    if let Some(d) = &dir {
        if !d.is_dir() {
            bail!("{}: no such directory", d.display());
        }
    }
    let ledger_path = args.ledger.clone().or_else(|| {
        dir.as_ref()
            .map(|d| d.join("governance.db"))
            .filter(|p| p.is_file())
    });
    let ledger = ledger_path.as_deref().map(verify_ledger).transpose()?;
    let manifests = match &dir {
        Some(d) => check_manifests_under(d)?,
        None => Vec::new(),
    };
    let ok =
        ledger.as_ref().is_none_or(|l| l.ok) && manifests.iter().all(|m| m.problems.is_empty());
    let report = Report {
        ok,
        ledger_path: ledger_path.map(|p| p.display().to_string()),
        ledger,
        manifests,
    };
    if ctx.global.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_human(&report);
    }
    Ok(if ok {
        Outcome::Complete
    } else {
        Outcome::Blocked
    })
}

fn print_human(report: &Report) {
    match (&report.ledger_path, &report.ledger) {
        (Some(path), Some(l)) => {
            let verdict = if l.ok { "ok" } else { "PROBLEMS" };
            println!(
                "ledger {path}: {} events, head {}: {verdict}",
                l.events, l.head_hash
            );
            if let Some(bad) = &l.first_bad {
                println!("  first bad event: #{}: {}", bad.seq, bad.problem);
            }
            for o in &l.orphaned_intents {
                println!(
                    "  orphaned intent #{} ({} on {} at {}): no committed/failed outcome",
                    o.seq, o.op, o.task_ref, o.at
                );
            }
            for t in &l.projection_mismatches {
                println!("  task {t}: stored state differs from the replay of the log");
            }
        }
        _ => println!("no ledger checked"),
    }
    for m in &report.manifests {
        let stage = m.stage.as_deref().unwrap_or("?");
        if m.problems.is_empty() {
            println!("manifest {} ({stage}): ok", m.dir);
        } else {
            println!(
                "manifest {} ({stage}): {} problem(s)",
                m.dir,
                m.problems.len()
            );
            for p in &m.problems {
                println!("  {p}");
            }
        }
    }
    println!(
        "{}",
        if report.ok {
            "verify: ok"
        } else {
            "verify: problems found"
        }
    );
}
