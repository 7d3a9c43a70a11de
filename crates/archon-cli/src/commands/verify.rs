//! `archon verify [DIR] [--ledger PATH]`: the governance ledger's hash chain,
//! two-phase discipline and projection, and every `stage_manifest.json` under
//! DIR against the files it lists; in a review directory, every sealed
//! ratification vote and tally. Exit 1 when anything is wrong.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use archon_store::artifact_dir::{read_manifest, verify_manifest};
use archon_store::MANIFEST_FILE;
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
struct ManifestCheck {
    dir: String,
    stage: Option<String>,
    problems: Vec<String>,
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
        let default = PathBuf::from(archon_pipeline::layout::DEFAULT_ROOT);
        (default.is_dir() || args.ledger.is_none()).then_some(default)
    });
    if let Some(d) = &dir {
        if !d.is_dir() {
            bail!("{}: no such directory", d.display());
        }
    }
    let ledger_path = args.ledger.clone().or_else(|| {
        dir.as_ref()
            .map(|d| archon_pipeline::Layout::new(d).ledger())
            .filter(|p| p.is_file())
    });
    let ledger = ledger_path.as_deref().map(verify_ledger).transpose()?;
    let mut manifests = Vec::new();
    if let Some(d) = &dir {
        let mut found = Vec::new();
        find_manifests(d, &mut found)?;
        found.sort();
        manifests = found.iter().map(|root| check_manifest(root)).collect();
        for m in manifests
            .iter_mut()
            .filter(|m| m.stage.as_deref() == Some("review"))
        {
            m.problems.extend(check_review_votes(Path::new(&m.dir)));
        }
    }
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

fn check_manifest(root: &Path) -> ManifestCheck {
    let dir = root.display().to_string();
    match read_manifest(root) {
        Ok(Some(m)) => ManifestCheck {
            dir,
            stage: Some(m.stage.clone()),
            problems: verify_manifest(root, &m),
        },
        Ok(None) => ManifestCheck {
            dir,
            stage: None,
            problems: vec!["manifest vanished while checking".to_string()],
        },
        Err(e) => ManifestCheck {
            dir,
            stage: None,
            problems: vec![e.to_string()],
        },
    }
}

/// Directories holding a stage manifest, below `dir` (symlinks not followed).
fn find_manifests(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if dir.join(MANIFEST_FILE).is_file() {
        out.push(dir.to_path_buf());
    }
    let entries = std::fs::read_dir(dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            find_manifests(&entry.path(), out)?;
        }
    }
    Ok(())
}

/// A review directory's sealed votes: every commitment and every tally of
/// `ratification_results.json` recomputed; the problem names the first vote
/// (archon and motion) that does not match.
fn check_review_votes(dir: &Path) -> Vec<String> {
    let path = dir.join("ratification_results.json");
    // A file the manifest lists but that is gone is the manifest check's finding.
    if !path.is_file() {
        return Vec::new();
    }
    let results: archon_review::ratify::RecordedResults = match archon_store::read_json(&path) {
        Ok(r) => r,
        Err(e) => return vec![e.to_string()],
    };
    match archon_review::ratify::verify_recorded(&results) {
        Ok(_) => Vec::new(),
        Err(e) => vec![format!("{}: {e}", path.display())],
    }
}
