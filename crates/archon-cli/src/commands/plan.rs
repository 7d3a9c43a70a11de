//! `archon plan REVIEW_DIR`: the Execution Planner v2, one Executive cycle per
//! ratified motion, each written to `<out>/<motion_id>/`.
//!
//! `--mode manual` (a value of the global `--mode`) reads each motion's inbox,
//! which must exist; `--mode hybrid` reads it and asks the agents for the
//! portfolios without a file; `--mode auto` reads it when it holds any file,
//! else asks the agents (LLM when configured, else simulation); `simulation`
//! and `llm` always ask the agents.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use clap::Args;
use serde_json::{json, Value};

use archon_core::ids::safe_component;
use archon_core::seed::sha256_hex;
use archon_plan::assignment::{assign, presidents, Overrides};
use archon_plan::inbox::{has_responses, scaffold};
use archon_plan::io::{read_inbox, read_packet, read_review_dir, write_motion, write_scaffold};
use archon_plan::model::Disposition;
use archon_plan::packet::RatifiedIntentPacket;
use archon_plan::{plan_motion, DraftSource, PlanOptions, PlanOutput};

use archon_pipeline::fingerprint::roster_sha256;
use archon_pipeline::{AnswerSource, Fingerprint, Layout};

use crate::cli::Mode;
use crate::context::Context;
use crate::outcome::Outcome;
use archon_core::fan_out;

#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// Review output directory (ratified_motions.json, aggregations.json, panel_deliberations/).
    #[arg(required_unless_present_any = ["packet", "input"], conflicts_with_all = ["packet", "input"])]
    pub review_dir: Option<PathBuf>,
    /// The review output directory, as the flow spec names it (same as REVIEW_DIR).
    #[arg(long, value_name = "DIR", conflicts_with = "packet")]
    pub input: Option<PathBuf>,
    /// Plan from one Ratified Intent Packet instead of a review directory.
    #[arg(long, value_name = "FILE")]
    pub packet: Option<PathBuf>,
    /// Output directory; default: archon-out/executive/<session_id>/ (one folder per motion).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Plan only this motion.
    #[arg(long, value_name = "ID")]
    pub motion_id: Option<String>,
    /// Exit 1 when any gate fails, listing every failure.
    #[arg(long)]
    pub require_gates: bool,
    /// Write execution_plan_handoff.json even when a gate fails (default: only when all pass).
    #[arg(long)]
    pub emit_admin_handoff: bool,
    /// Accepted from the flow spec's CLI: intent_clarification_queue_item.json is now always
    /// written for every escalation.
    #[arg(long)]
    pub emit_conclave_clarifications: bool,
    /// Executive Clarification Review of every INTENT_AMBIGUITY candidate.
    #[arg(long)]
    pub run_exec_clarification_review: bool,
    /// E2.5: a peer President reviews every blocker's disposition through the agents.
    #[arg(long)]
    pub llm_blocker_workup: bool,
    /// Plan Owner portfolio id (overrides the scoring).
    #[arg(long, value_name = "PORTFOLIO")]
    pub owner: Option<String>,
    /// Affected portfolio ids, comma-separated (overrides the scoring).
    #[arg(long, value_name = "P1,P2", value_delimiter = ',')]
    pub affected: Option<Vec<String>>,
    /// Write contribution templates into each motion's inbox and stop.
    #[arg(long)]
    pub scaffold_inbox: bool,
    /// Inbox root: responses are read from DIR/<motion_id>/; default: <out>/<motion_id>/inbox/.
    #[arg(long, value_name = "DIR")]
    pub inbox: Option<PathBuf>,
}

pub fn run(ctx: &Context, args: &PlanArgs) -> Result<Outcome> {
    let roster = ctx.roster()?;
    let now = ctx.clock.stamp();
    let (session_id, mut packets, inputs, source_label) = load_packets(args, &now)?;
    if let Some(id) = &args.motion_id {
        safe_component(id, "--motion-id", "$").map_err(anyhow::Error::msg)?;
        let known: Vec<String> = packets.iter().map(|p| p.motion_id.clone()).collect();
        packets.retain(|p| &p.motion_id == id);
        if packets.is_empty() {
            anyhow::bail!(
                "--motion-id {id}: no such ratified motion in {source_label} (ratified: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            );
        }
    }
    if packets.is_empty() {
        eprintln!("blocked: no ratified motions in {source_label}: nothing to plan");
        return Ok(Outcome::Blocked);
    }
    let out_root = args
        .out
        .clone()
        .unwrap_or_else(|| Layout::default().executive(&session_id));
    let overrides = Overrides {
        owner: args.owner.clone(),
        affected: args.affected.clone(),
    };
    let inbox_of = |motion_id: &str| match &args.inbox {
        Some(root) => root.join(motion_id),
        None => out_root.join(motion_id).join("inbox"),
    };
    if args.scaffold_inbox {
        let presidents = presidents(&roster);
        for p in &packets {
            let record = assign(p, &presidents, &overrides, &now)?;
            let dir = inbox_of(&p.motion_id);
            let templates = scaffold(
                &record.cycle_id,
                &p.motion_id,
                &record.affected_portfolios,
                &presidents,
            );
            let written = write_scaffold(&dir, &templates)?;
            if ctx.loud() {
                println!(
                    "{}: {} template(s) in {} (cycle {})",
                    p.motion_id,
                    written.len(),
                    dir.display(),
                    record.cycle_id
                );
            }
        }
        return Ok(Outcome::Complete);
    }
    let opts = PlanOptions {
        overrides,
        llm_blocker_workup: args.llm_blocker_workup,
        clarification_review: args.run_exec_clarification_review,
        emit_admin_handoff: args.emit_admin_handoff,
    };
    let agents = ctx.agents()?;
    // Motions are independent: planned side by side (each with its own call
    // records), each written when done (into its own folder), reported in
    // packet order.
    let planned = fan_out::in_order(&packets, |packet| -> Result<(PlanOutput, Value)> {
        let inbox_dir = inbox_of(&packet.motion_id);
        if ctx.global.mode == Mode::Manual && !inbox_dir.is_dir() {
            anyhow::bail!(
                "--mode manual: no inbox folder {} for motion {} (write one with --scaffold-inbox)",
                inbox_dir.display(),
                packet.motion_id
            );
        }
        let inbox = read_inbox(&inbox_dir)?;
        let manual = match ctx.global.mode {
            Mode::Manual | Mode::Hybrid => true,
            Mode::Auto => has_responses(&inbox),
            Mode::Simulation | Mode::Llm => false,
        };
        let label = inbox_dir.display().to_string();
        let source = match ctx.global.mode {
            Mode::Hybrid => DraftSource::Hybrid {
                files: &inbox,
                label: &label,
            },
            _ if manual => DraftSource::Manual {
                files: &inbox,
                label: &label,
            },
            _ => DraftSource::Agents,
        };
        let agents = agents.fork();
        let output = plan_motion(packet, &roster, &agents, &ctx.clock, source, &opts)
            .with_context(|| format!("planning motion {}", packet.motion_id))?;
        // Contributions the server failed to give are not planned around.
        if let Some(failure) = agents.tally().transport_failure() {
            anyhow::bail!("the model server failed: {failure}");
        }
        let blocked = args.require_gates && !output.gates.all_passed;
        let outcome = if blocked { "blocked" } else { "complete" };
        let dir = out_root.join(&packet.motion_id);
        let mut motion_inputs = inputs.clone();
        motion_inputs.insert("roster".into(), roster_sha256(&roster));
        if manual {
            for f in &inbox {
                motion_inputs.insert(format!("inbox/{}", f.name), sha256_hex(&f.text));
            }
        }
        let answers = if manual {
            AnswerSource::Manual
        } else {
            AnswerSource::of_mode(agents.mode())
        };
        let hash = input_hash(&motion_inputs, ctx.seed.0, answers, args);
        write_motion(
            &dir,
            &output,
            outcome,
            hash,
            motion_inputs,
            ctx.clock.stamp(),
        )?;
        let source = if manual {
            "manual"
        } else {
            agents.backend_name()
        };
        let summary = summary(&output, &dir, source);
        Ok((output, summary))
    });
    let mut summaries = Vec::new();
    let mut failing = Vec::new();
    for planned in planned {
        let (output, summary) = planned?;
        if !output.gates.all_passed {
            failing.push(output.motion_id.clone());
            if args.require_gates {
                for (gate, f) in output.gates.failures() {
                    eprintln!("gate {gate} failed: {}: {f}", output.motion_id);
                }
            }
        }
        summaries.push(summary);
    }
    print_summaries(ctx, &summaries)?;
    if args.require_gates && !failing.is_empty() {
        eprintln!("blocked: gates failed for {}", failing.join(", "));
        return Ok(Outcome::Blocked);
    }
    Ok(Outcome::Complete)
}

type Loaded = (
    String,
    Vec<RatifiedIntentPacket>,
    BTreeMap<String, String>,
    String,
);

fn load_packets(args: &PlanArgs, now: &str) -> Result<Loaded> {
    if let Some(path) = &args.packet {
        let (packet, sha) = read_packet(path)?;
        let inputs = [("packet".to_string(), sha)].into_iter().collect();
        return Ok((
            packet.session_id.clone(),
            vec![packet],
            inputs,
            path.display().to_string(),
        ));
    }
    let dir = args
        .review_dir
        .as_deref()
        .or(args.input.as_deref())
        .context("give REVIEW_DIR (or --input DIR) or --packet FILE")?;
    let review = read_review_dir(dir, now)?;
    let label = dir
        .join(archon_plan::io::RATIFIED_MOTIONS)
        .display()
        .to_string();
    Ok((review.session_id, review.packets, review.inputs, label))
}

/// What the run depends on, so a later run can tell whether it saw the same inputs.
fn input_hash(
    inputs: &BTreeMap<String, String>,
    seed: u64,
    answers: AnswerSource,
    args: &PlanArgs,
) -> String {
    let list = |v: &Option<Vec<String>>| v.as_ref().map(|v| v.join(",")).unwrap_or_default();
    Fingerprint::new("plan")
        .inputs(inputs)
        .seed(seed)
        .answers(answers)
        .option("owner", args.owner.as_deref().unwrap_or(""))
        .option("affected", list(&args.affected))
        .option("llm_blocker_workup", args.llm_blocker_workup)
        .option("clarification_review", args.run_exec_clarification_review)
        .option("emit_admin_handoff", args.emit_admin_handoff)
        .option(
            "emit_conclave_clarifications",
            args.emit_conclave_clarifications,
        )
        .finish()
}

fn summary(out: &PlanOutput, dir: &Path, source: &str) -> Value {
    let count = |d: Disposition| {
        out.plan
            .blockers
            .iter()
            .filter(|b| b.disposition == Some(d))
            .count()
    };
    json!({
        "motion_id": out.motion_id,
        "cycle_id": out.cycle_id,
        "source": source,
        "plan_owner": out.plan.plan_owner.portfolio_id,
        "affected_portfolios": out.plan.affected_portfolios,
        "epics": out.plan.epics.len(),
        "work_packages": out.plan.work_packages.len(),
        "blockers": out.plan.blockers.len(),
        "escalated": count(Disposition::EscalateNow),
        "deferred": count(Disposition::DeferDownstream),
        "mitigated": count(Disposition::MitigateInExecutive),
        "gates": {
            "completeness": out.gates.completeness.status,
            "visibility": out.gates.visibility.status,
            "legibility": out.gates.legibility.status,
        },
        "handoff": out.handoff_written,
        "dir": dir.display().to_string(),
    })
}

fn print_summaries(ctx: &Context, summaries: &[serde_json::Value]) -> Result<()> {
    if ctx.global.json {
        println!("{}", serde_json::to_string_pretty(summaries)?);
        return Ok(());
    }
    if !ctx.loud() {
        return Ok(());
    }
    for s in summaries {
        let g = &s["gates"];
        println!(
            "{} ({}): owner {}, {} epic(s), {} work package(s), {} blocker(s) [{} escalated, {} deferred, {} mitigated]; gates C:{} V:{} L:{}{} → {}",
            s["motion_id"].as_str().unwrap_or(""),
            s["source"].as_str().unwrap_or(""),
            s["plan_owner"].as_str().unwrap_or(""),
            s["epics"],
            s["work_packages"],
            s["blockers"],
            s["escalated"],
            s["deferred"],
            s["mitigated"],
            g["completeness"].as_str().unwrap_or(""),
            g["visibility"].as_str().unwrap_or(""),
            g["legibility"].as_str().unwrap_or(""),
            if s["handoff"].as_bool() == Some(true) { "" } else { " (no handoff)" },
            s["dir"].as_str().unwrap_or(""),
        );
    }
    Ok(())
}
