//! `archon verify [DIR] [--ledger PATH]`: the governance ledger's hash chain,
//! two-phase discipline and projection, and every `stage_manifest.json` under
//! DIR against the files it lists; in a review directory, every sealed
//! ratification vote and tally; the ledger must still hold the head each
//! manifest anchored (and each `--anchor`). Exit 1 when anything is wrong.
//! `--head` prints the verified head for someone to keep.

use std::path::PathBuf;

use anyhow::{bail, Result};
use archon_pipeline::verify::{ledger_of, verify_run, RunVerification};
use archon_store::LedgerHead;
use archon_tasks::{Anchor, Location};
use clap::Args;

use crate::context::Context;
use crate::outcome::Outcome;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Output directory to check (default: archon-out): its governance.db and
    /// every stage_manifest.json below it; or a `postgres://` ledger URL.
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Ledger to check (a file or a `postgres://` URL); default:
    /// DIR/governance.db when present.
    #[arg(long, value_name = "PATH|URL")]
    pub ledger: Option<PathBuf>,
    /// Print only the ledger's head (`SEQ:HASH`) once it verifies.
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

pub fn run(ctx: &Context, args: &VerifyArgs) -> Result<Outcome> {
    // `archon verify postgres://…`: that ledger alone, no output folder.
    let url = args
        .dir
        .clone()
        .filter(|d| matches!(Location::parse(d), Location::Postgres(_)));
    if url.is_some() && args.ledger.is_some() {
        bail!("give the ledger URL as DIR or as --ledger, not both");
    }
    let dir = match url {
        Some(_) => None,
        None => args.dir.clone().or_else(|| {
            let default = PathBuf::from(archon_pipeline::layout::DEFAULT_ROOT);
            (default.is_dir() || args.ledger.is_none()).then_some(default)
        }),
    };
    if let Some(d) = &dir {
        if !d.is_dir() {
            bail!("{}: no such directory", d.display());
        }
    }
    let ledger_path = url
        .or_else(|| args.ledger.clone())
        .or_else(|| dir.as_deref().and_then(ledger_of));
    if ledger_path.is_none() && !args.anchor.is_empty() {
        bail!("--anchor: no ledger to check (give --ledger)");
    }
    let kept: Vec<Anchor> = args
        .anchor
        .iter()
        .map(|head| Anchor {
            source: "--anchor".into(),
            head: head.clone(),
        })
        .collect();
    let report = verify_run(dir.as_deref(), ledger_path.as_deref(), &kept)?;
    let ok = report.ok;
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

fn print_human(report: &RunVerification) {
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
                    "  intent #{} ({} on {}): in flight (its writer may still be working)",
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
