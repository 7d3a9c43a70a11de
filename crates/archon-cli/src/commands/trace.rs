//! `archon trace TASK_REF`: the provenance chain of one task (motion → vote →
//! plan and epic → requirements → proposal and tactic → draft → ledger states),
//! followed by `archon_report::provenance`, which the report shares.

use std::path::PathBuf;

use anyhow::Result;
use archon_report::provenance::{self, Trace};
use archon_report::RunLayout;
use clap::Args;
use serde::Serialize;
use serde_json::Value;

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
    #[arg(long, value_name = "DIR", default_value = "archon-out")]
    pub out: PathBuf,
}

pub fn run(ctx: &Context, args: &TraceArgs) -> Result<Outcome> {
    let run = RunLayout::new(&args.out);
    let ledger = args.ledger.clone().unwrap_or_else(|| run.ledger());
    let trace = provenance::trace(&run, &ledger, &args.task_ref)?;
    if ctx.global.json {
        println!("{}", serde_json::to_string_pretty(&trace)?);
    } else {
        print!("{}", render(&trace));
    }
    Ok(Outcome::Complete)
}

fn render(t: &Trace) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let v = &t.ratification;
    let p = &t.proposal;
    let d = &t.draft.draft;
    let text = |k: &str| d[k].as_str().unwrap_or("").to_string();
    let list = |k: &str| {
        let items: Vec<&str> = d[k]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if items.is_empty() {
            "none".to_string()
        } else {
            items.join(", ")
        }
    };
    let _ = writeln!(o, "task {}", t.task_ref);
    let _ = writeln!(
        o,
        "  motion        {}: {}",
        t.motion.motion_id, t.motion.title
    );
    let _ = writeln!(
        o,
        "  ratification  vote {}: {} yea, {} nay, {} abstain; {} needs {}: {} ({})",
        v.vote_id,
        v.yeas,
        v.nays,
        v.abstentions,
        v.threshold_type,
        v.threshold_required,
        if v.threshold_met { "met" } else { "not met" },
        v.outcome
    );
    let _ = writeln!(
        o,
        "  plan          {}, epic {}: {}",
        t.plan.plan_id, t.plan.epic_id, t.plan.intent
    );
    let _ = writeln!(
        o,
        "  dossier       {} ({}), deliverable {}",
        t.dossier.rfp_id, t.dossier.mandate_id, t.dossier.deliverable_id
    );
    for r in &t.dossier.requirements {
        let _ = writeln!(o, "    {}: {}", r.req_id, r.description);
    }
    let _ = writeln!(
        o,
        "  proposal      {} by Duke {}, winner of selection {}",
        p.proposal_id, p.duke_name, p.selection_id
    );
    let _ = writeln!(o, "    tactic      {}: {}", p.tactic_id, p.tactic_title);
    let _ = writeln!(
        o,
        "  draft         {}: {} ({} h; tags {}; depends on {})",
        text("task_ref"),
        text("description"),
        d["effort_hours"].as_f64().unwrap_or(0.0),
        list("capability_tags"),
        list("dependencies")
    );
    let state = name(t.ledger.state);
    let cluster = t.ledger.cluster_id.as_deref().unwrap_or("no cluster");
    let _ = writeln!(o, "  ledger        {state} on {cluster}");
    for h in &t.ledger.history {
        let _ = writeln!(
            o,
            "    #{} {} {}: {} → {} ({})",
            h.seq,
            h.at,
            h.actor,
            name(h.from),
            name(h.to),
            name(h.cause)
        );
    }
    o
}

/// An enum's serialized name (`in_progress`, `steward_accepted`).
fn name(v: impl Serialize) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        _ => "?".into(),
    }
}
