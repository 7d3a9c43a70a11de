//! `archon roster`: print and validate the roster.

use anyhow::Result;
use archon_core::roster::Archon;

use crate::context::Context;
use crate::outcome::Outcome;

pub fn run(ctx: &Context) -> Result<Outcome> {
    let roster = ctx.roster()?;
    if ctx.global.json {
        let archons: Vec<&Archon> = roster.archons.iter().collect();
        println!("{}", serde_json::to_string_pretty(&archons)?);
        return Ok(Outcome::Complete);
    }
    for ((rank, branch), archons) in roster.grouped() {
        println!("{rank:?} ({}, {})", branch.as_str(), archons.len());
        for a in archons {
            let extra = a
                .portfolio_label
                .as_deref()
                .map(|p| format!("  [{p}]"))
                .unwrap_or_default();
            println!("  {:<16} {}{extra}", a.name, a.role);
        }
    }
    println!("roster valid: {} archons", roster.archons.len());
    Ok(Outcome::Complete)
}
