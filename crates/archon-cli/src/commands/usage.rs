//! `archon usage DIR`: totals of the model calls recorded under DIR.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Result;
use archon_agents::usage::{self, Totals};
use clap::Args;

use crate::context::Context;
use crate::outcome::Outcome;

#[derive(Debug, Args)]
pub struct UsageArgs {
    /// Directory to scan for agent_calls.jsonl files (e.g. archon-out).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

pub fn run(ctx: &Context, args: &UsageArgs) -> Result<Outcome> {
    let prices = ctx.config_file()?.prices;
    let report = usage::scan(&args.dir, &prices)?;
    if ctx.global.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(Outcome::Complete);
    }
    println!(
        "{}: {} call file(s) ({})",
        args.dir.display(),
        report.files.len(),
        usage::CALLS_FILE
    );
    let priced = !prices.is_empty();
    println!("{}", header(priced));
    println!("{}", row("total", &report.total, priced));
    for (title, groups) in [
        ("stage", &report.by_stage),
        ("archon", &report.by_archon),
        ("model", &report.by_model),
    ] {
        print_group(title, groups, priced);
    }
    if !report.unpriced_models.is_empty() {
        let names: Vec<&str> = report.unpriced_models.iter().map(String::as_str).collect();
        println!("no price configured for: {}", names.join(", "));
    }
    Ok(Outcome::Complete)
}

fn print_group(title: &str, groups: &BTreeMap<String, Totals>, priced: bool) {
    println!("by {title}:");
    for (name, totals) in groups {
        println!("{}", row(&format!("  {name}"), totals, priced));
    }
}

fn header(priced: bool) -> String {
    let cost = if priced {
        format!(" {:>10}", "cost")
    } else {
        String::new()
    };
    format!(
        "{:<28} {:>6} {:>6} {:>7} {:>6} {:>12} {:>12} {:>11}{cost}",
        "", "calls", "ok", "invalid", "failed", "prompt_tok", "complet_tok", "latency_s"
    )
}

fn row(name: &str, t: &Totals, priced: bool) -> String {
    let cost = match (priced, t.cost) {
        (false, _) => String::new(),
        (true, Some(c)) => format!(" {c:>10.4}"),
        (true, None) => format!(" {:>10}", "-"),
    };
    format!(
        "{name:<28} {:>6} {:>6} {:>7} {:>6} {:>12} {:>12} {:>11.1}{cost}",
        t.calls,
        t.ok,
        t.invalid,
        t.failed,
        t.prompt_tokens,
        t.completion_tokens,
        t.latency_ms as f64 / 1000.0
    )
}
