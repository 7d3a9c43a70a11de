//! `archon status DIR`: where a run stands, stage by stage, read from its artifacts.
//! Also the cycle summary `archon run` prints at the end.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;
use archon_store::artifact_dir::{read_manifest, verify_manifest};
use archon_tasks::Ledger;
use clap::Args;
use serde::Serialize;
use serde_json::Value;

use crate::context::Context;
use crate::outcome::Outcome;

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// A run's output root (what `archon run --out` wrote); default: archon-out.
    #[arg(default_value = "archon-out")]
    pub dir: PathBuf,
}

/// What one cycle produced, stage by stage.
#[derive(Debug, Default, Serialize)]
pub struct CycleSummary {
    pub sessions: Vec<String>,
    pub motions: BTreeMap<String, u64>,
    pub plans: Vec<PlanLine>,
    pub clarification_items: usize,
    pub mandates: Vec<MandateLine>,
    pub tasks: BTreeMap<String, usize>,
    pub outcomes: BTreeMap<String, usize>,
    /// Stage directories whose manifest is missing files or does not verify.
    pub incomplete: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct PlanLine {
    pub motion_id: String,
    pub title: String,
    pub gates: String,
}

#[derive(Debug, Serialize)]
pub struct MandateLine {
    pub mandate_id: String,
    pub outcome: String,
    pub winner: Option<String>,
}

pub fn run(ctx: &Context, args: &StatusArgs) -> Result<Outcome> {
    let dir = &args.dir;
    if !dir.is_dir() {
        anyhow::bail!("{}: no such run directory", dir.display());
    }
    let mut summary = CycleSummary::default();
    for session in subdirs(&dir.join("review")) {
        let id = name_of(&session);
        let executive = dir.join("executive").join(&id);
        summary.merge(cycle_summary(
            &session,
            &executive,
            &dir.join("rfp"),
            &dir.join("governance.db"),
            &dir.join("execute"),
        )?);
    }
    if ctx.global.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{}", summary.render());
    }
    Ok(Outcome::Complete)
}

/// Reads one cycle's artifacts. Missing stages are simply absent from the summary.
pub fn cycle_summary(
    review: &Path,
    executive: &Path,
    rfp: &Path,
    ledger: &Path,
    execute: &Path,
) -> Result<CycleSummary> {
    let mut s = CycleSummary {
        sessions: vec![name_of(review)],
        ..Default::default()
    };
    check_manifest(review, &mut s.incomplete);
    if let Some(v) = read(review.join("ratification_results.json")) {
        for key in ["total_motions", "ratified", "rejected", "deferred"] {
            if let Some(n) = v["summary"][key].as_u64() {
                s.motions.insert(key.into(), n);
            }
        }
    }
    for motion in subdirs(executive) {
        check_manifest(&motion, &mut s.incomplete);
        let gates = read(motion.join("executive_gates.json"))
            .map(|g| gate_verdict(&g))
            .unwrap_or_else(|| "not planned".into());
        let title = read(motion.join("execution_plan_v2.json"))
            .and_then(|p| p["motion_title"].as_str().map(str::to_string))
            .unwrap_or_default();
        s.plans.push(PlanLine {
            motion_id: name_of(&motion),
            title,
            gates,
        });
        s.clarification_items += subdirs_files(&motion.join("conclave_queue_items"));
    }
    for session in subdirs(rfp) {
        for mandate in subdirs(&session.join("mandates")) {
            for d in [
                mandate.clone(),
                mandate.join("selection"),
                mandate.join("execution_bridge"),
            ] {
                check_manifest(&d, &mut s.incomplete);
            }
            let sel = read(mandate.join("selection").join("selection_result.json"));
            let outcome = sel
                .as_ref()
                .and_then(|v| v["outcome"].as_str().map(str::to_string))
                .unwrap_or_else(|| "not selected".into());
            let winner = sel.as_ref().and_then(|v| {
                let id = v["winning_proposal_id"].as_str()?;
                let duke = v["rankings"]
                    .as_array()?
                    .iter()
                    .find(|r| r["proposal_id"].as_str() == Some(id))
                    .and_then(|r| r["duke_name"].as_str())
                    .unwrap_or("?");
                Some(format!("{id} (Duke {duke})"))
            });
            s.mandates.push(MandateLine {
                mandate_id: name_of(&mandate),
                outcome,
                winner,
            });
        }
    }
    if ledger.is_file() {
        for task in Ledger::open(ledger)?.tasks()? {
            let state = serde_json::to_value(task.state)?;
            *s.tasks
                .entry(state.as_str().unwrap_or("?").to_string())
                .or_default() += 1;
        }
    }
    for task in subdirs(execute) {
        if let Some(r) = read(task.join("execution-stage-report.json")) {
            let outcome = find_outcome(&r).unwrap_or_else(|| "unknown".into());
            *s.outcomes.entry(outcome).or_default() += 1;
        }
    }
    Ok(s)
}

impl CycleSummary {
    /// Adds another review session of the same root. Mandates, tasks and outcomes
    /// come from the root's shared rfp folder, ledger and execute folder, so every
    /// session's summary already holds all of them: one copy is kept.
    fn merge(&mut self, other: CycleSummary) {
        self.sessions.extend(other.sessions);
        for (k, v) in other.motions {
            *self.motions.entry(k).or_default() += v;
        }
        self.plans.extend(other.plans);
        self.clarification_items += other.clarification_items;
        self.mandates = other.mandates;
        self.tasks = other.tasks;
        self.outcomes = other.outcomes;
        self.incomplete.extend(other.incomplete);
        self.incomplete.sort();
        self.incomplete.dedup();
    }

    pub fn render(&self) -> String {
        let mut o = String::new();
        let n = |k: &str| self.motions.get(k).copied().unwrap_or(0);
        let _ = writeln!(o, "cycle {}", self.sessions.join(", "));
        let _ = writeln!(
            o,
            "  review:     {} motions: {} ratified, {} rejected, {} deferred",
            n("total_motions"),
            n("ratified"),
            n("rejected"),
            n("deferred")
        );
        let _ = writeln!(o, "  plan:       {} plan(s)", self.plans.len());
        for p in &self.plans {
            let title: String = p.title.chars().take(60).collect();
            let _ = writeln!(o, "    {} {title}: gates {}", short(&p.motion_id), p.gates);
        }
        let _ = writeln!(
            o,
            "  conclave:   {} clarification item(s) sent back",
            self.clarification_items
        );
        let _ = writeln!(o, "  selection:  {} mandate(s)", self.mandates.len());
        for m in &self.mandates {
            let winner = m
                .winner
                .as_deref()
                .map(|w| format!(" → {w}"))
                .unwrap_or_default();
            let _ = writeln!(o, "    {}: {}{winner}", m.mandate_id, m.outcome);
        }
        let _ = writeln!(o, "  tasks:      {}", counts(&self.tasks));
        let _ = writeln!(o, "  execution:  {}", counts(&self.outcomes));
        for d in &self.incomplete {
            let _ = writeln!(o, "  INCOMPLETE: {d}");
        }
        o
    }
}

/// The first block of a UUID-like id, enough to tell motions apart on a console.
fn short(id: &str) -> &str {
    id.split('-').next().unwrap_or(id)
}

fn counts(m: &BTreeMap<String, usize>) -> String {
    if m.is_empty() {
        return "none".into();
    }
    m.iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// PASS, or FAIL with the gates that failed (`executive_gates.json`).
fn gate_verdict(g: &Value) -> String {
    let failed: Vec<&str> = ["completeness", "visibility", "legibility"]
        .into_iter()
        .filter(|k| g[*k]["status"].as_str().is_some_and(|s| s != "PASS"))
        .collect();
    if failed.is_empty() {
        "PASS".into()
    } else {
        format!("FAIL ({})", failed.join(", "))
    }
}

/// The report's outcome field, wherever its section puts it.
fn find_outcome(r: &Value) -> Option<String> {
    let o = &r["outcome"];
    o.as_str()
        .or_else(|| o["outcome"].as_str())
        .or_else(|| o["value"].as_str())
        .map(str::to_string)
}

fn check_manifest(dir: &Path, incomplete: &mut Vec<String>) {
    if !dir.is_dir() {
        return;
    }
    match read_manifest(dir) {
        Ok(Some(m)) if verify_manifest(dir, &m).is_empty() => {}
        _ => incomplete.push(dir.display().to_string()),
    }
}

fn read(path: PathBuf) -> Option<Value> {
    archon_store::read_json(&path).ok()
}

fn name_of(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

pub(crate) use archon_report::layout::subdirs;

fn subdirs_files(dir: &Path) -> usize {
    archon_report::layout::files(dir).len()
}
