//! `archon verify [DIR] [--ledger PATH]`: the governance ledger's hash chain,
//! two-phase discipline and projection, and every `stage_manifest.json` under
//! DIR against the files it lists; in a review directory, every sealed
//! ratification vote and tally; the ledger must still hold the head each
//! manifest anchored (and each `--anchor`). Exit 1 when anything is wrong.
//! `--head` prints the verified head for someone to keep.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use archon_store::artifact_dir::{read_manifest, verify_manifest};
use archon_store::LedgerHead;
use archon_store::MANIFEST_FILE;
use archon_tasks::{verify_ledger_anchored, Anchor, VerifyReport};
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
    /// Print only the ledger's head (`<seq> <hash>`) once it verifies.
    #[arg(long)]
    pub head: bool,
    /// A head kept elsewhere (`SEQ:HASH`, as `--head` printed it) that the
    /// ledger must still hold (repeatable).
    #[arg(long, value_name = "SEQ:HASH", value_parser = parse_anchor)]
    pub anchor: Vec<LedgerHead>,
}

fn parse_anchor(text: &str) -> Result<LedgerHead, String> {
    let (seq, hash) = text
        .split_once([':', ' '])
        .ok_or_else(|| "expected SEQ:HASH".to_string())?;
    let seq = seq
        .parse()
        .map_err(|_| format!("{}: SEQ is not a number", archon_core::ids::quoted(seq)))?;
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "{}: HASH is not 64 hex digits",
            archon_core::ids::quoted(hash)
        ));
    }
    Ok(LedgerHead {
        seq,
        hash: hash.to_ascii_lowercase(),
    })
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
    let mut manifests = Vec::new();
    let mut anchors: Vec<Anchor> = args
        .anchor
        .iter()
        .map(|head| Anchor {
            source: "--anchor".into(),
            head: head.clone(),
        })
        .collect();
    if let Some(d) = &dir {
        let mut found = Vec::new();
        find_manifests(d, &mut found)?;
        found.sort();
        for root in &found {
            let (check, head) = check_manifest(root);
            if let Some(head) = head {
                anchors.push(Anchor {
                    source: root.join(MANIFEST_FILE).display().to_string(),
                    head,
                });
            }
            manifests.push(check);
        }
        for m in manifests
            .iter_mut()
            .filter(|m| m.stage.as_deref() == Some("review"))
        {
            m.problems.extend(check_review_votes(Path::new(&m.dir)));
        }
    }
    let ledger = match &ledger_path {
        Some(path) => Some(verify_ledger_anchored(path, &anchors)?),
        None if !args.anchor.is_empty() => bail!("--anchor: no ledger to check (give --ledger)"),
        None => {
            // A ledger deleted outright is the last truncation.
            for anchor in &anchors {
                let dir = Path::new(&anchor.source).parent().map(Path::to_path_buf);
                if let Some(check) = manifests
                    .iter_mut()
                    .find(|m| Some(PathBuf::from(&m.dir)) == dir)
                {
                    check.problems.push(format!(
                        "anchors ledger head #{}, but there is no ledger to check it against",
                        anchor.head.seq
                    ));
                }
            }
            None
        }
    };
    let ok =
        ledger.as_ref().is_none_or(|l| l.ok) && manifests.iter().all(|m| m.problems.is_empty());
    let report = Report {
        ok,
        ledger_path: ledger_path.map(|p| p.display().to_string()),
        ledger,
        manifests,
    };
    if args.head {
        let Some(l) = &report.ledger else {
            bail!("--head: no ledger to check (give DIR or --ledger)");
        };
        if ctx.global.json {
            let head = serde_json::json!({"seq": l.head_seq, "hash": l.head_hash, "ok": ok});
            println!("{head}");
        } else if ok {
            println!("{}:{}", l.head_seq, l.head_hash);
        } else {
            print_human(&report);
        }
    } else if ctx.global.json {
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
                "ledger {path}: {} events, head {}:{}: {verdict}",
                l.events, l.head_seq, l.head_hash
            );
            if let Some(bad) = &l.first_bad {
                println!("  first bad event: #{}: {}", bad.seq, bad.problem);
            }
            for p in &l.anchor_problems {
                println!("  anchor {p}");
            }
            for o in &l.orphaned_intents {
                println!(
                    "  orphaned intent #{} ({} on {} at {}): no committed/failed outcome",
                    o.seq, o.op, o.task_ref, o.at
                );
            }
            for o in &l.in_flight_intents {
                println!(
                    "  intent #{} ({} on {}): in flight (a writer has the ledger open)",
                    o.seq, o.op, o.task_ref
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

/// The manifest's own check, and the ledger head it anchored.
fn check_manifest(root: &Path) -> (ManifestCheck, Option<LedgerHead>) {
    let dir = root.display().to_string();
    match read_manifest(root) {
        Ok(Some(m)) => (
            ManifestCheck {
                dir,
                stage: Some(m.stage.clone()),
                problems: verify_manifest(root, &m),
            },
            m.ledger_head,
        ),
        Ok(None) => (
            ManifestCheck {
                dir,
                stage: None,
                problems: vec!["manifest vanished while checking".to_string()],
            },
            None,
        ),
        Err(e) => (
            ManifestCheck {
                dir,
                stage: None,
                problems: vec![e.to_string()],
            },
            None,
        ),
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
