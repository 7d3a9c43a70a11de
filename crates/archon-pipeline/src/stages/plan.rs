//! `plan`: the Executive Planner v2 on a review folder (or one packet), one
//! cycle per ratified motion, each written to `<out>/<motion_id>/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use archon_core::agent_port::Agents;
use archon_core::clock::Clock;
use archon_core::fan_out;
use archon_core::ids::safe_component;
use archon_core::roster::Roster;
use archon_core::seed::sha256_hex;
use archon_plan::assignment::{assign, presidents, Overrides};
use archon_plan::inbox::{has_responses, scaffold};
use archon_plan::io::{read_inbox, read_packet, read_review_dir, write_motion, write_scaffold};
use archon_plan::model::Disposition;
use archon_plan::packet::RatifiedIntentPacket;
use archon_plan::{plan_motion, DraftSource, PlanOutput};
use serde::Serialize;

use super::WithContext;
use crate::fingerprint::roster_sha256;
use crate::{AnswerSource, Fingerprint, Layout, Outcome, PipelineError};

/// Where the Presidents' contributions come from (the CLI's `--mode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Contributions {
    /// Always the agents.
    #[default]
    Agents,
    /// Each motion's inbox, which must exist.
    Manual,
    /// The inbox, and the agents for the portfolios it lacks.
    Hybrid,
    /// The inbox when it holds any file, else the agents.
    Auto,
}

#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Review output directory (ratified_motions.json, aggregations.json, panel_deliberations/).
    pub review_dir: Option<PathBuf>,
    /// One Ratified Intent Packet instead of a review directory.
    pub packet: Option<PathBuf>,
    /// Output directory; default: the default run root's `executive/<session_id>/`.
    pub out: Option<PathBuf>,
    pub motion_id: Option<String>,
    /// A failed gate makes the outcome blocked.
    pub require_gates: bool,
    pub emit_admin_handoff: bool,
    pub emit_conclave_clarifications: bool,
    pub run_exec_clarification_review: bool,
    pub llm_blocker_workup: bool,
    pub owner: Option<String>,
    pub affected: Option<Vec<String>>,
    /// Inbox root (`DIR/<motion_id>/`); default: `<out>/<motion_id>/inbox/`.
    pub inbox: Option<PathBuf>,
    pub contributions: Contributions,
}

/// One planned motion, as `archon plan` shows it (`--json` prints these).
#[derive(Debug, Clone, Serialize)]
pub struct MotionSummary {
    pub motion_id: String,
    pub cycle_id: String,
    /// `manual`, or the agents' backend.
    pub source: String,
    pub plan_owner: String,
    pub affected_portfolios: Vec<String>,
    pub epics: usize,
    pub work_packages: usize,
    pub blockers: usize,
    pub escalated: usize,
    pub deferred: usize,
    pub mitigated: usize,
    pub gates: GateStatuses,
    pub handoff: bool,
    pub dir: String,
    #[serde(skip)]
    pub gates_passed: bool,
    /// Every failed gate, `gate NAME failed: MOTION: FAILURE`.
    #[serde(skip)]
    pub gate_failures: Vec<String>,
}

impl MotionSummary {
    /// One line, as `archon plan` prints each motion.
    pub fn render(&self) -> String {
        let (s, g) = (self, &self.gates);
        format!(
            "{} ({}): owner {}, {} epic(s), {} work package(s), {} blocker(s) [{} escalated, {} deferred, {} mitigated]; gates C:{} V:{} L:{}{} → {}",
            s.motion_id,
            s.source,
            s.plan_owner,
            s.epics,
            s.work_packages,
            s.blockers,
            s.escalated,
            s.deferred,
            s.mitigated,
            g.completeness,
            g.visibility,
            g.legibility,
            if s.handoff { "" } else { " (no handoff)" },
            s.dir,
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct GateStatuses {
    pub completeness: String,
    pub visibility: String,
    pub legibility: String,
}

/// What a plan run did.
#[derive(Debug, Clone)]
pub struct PlanReport {
    /// Blocked when nothing was planned, or a gate failed under `require_gates`.
    pub outcome: Outcome,
    /// In packet order.
    pub motions: Vec<MotionSummary>,
}

impl PlanReport {
    /// The motions whose gates did not all pass.
    pub fn failing(&self) -> Vec<&str> {
        let failing = self.motions.iter().filter(|m| !m.gates_passed);
        failing.map(|m| m.motion_id.as_str()).collect()
    }
}

/// One motion's contribution templates, written into its inbox.
#[derive(Debug, Clone)]
pub struct Scaffolded {
    pub motion_id: String,
    pub cycle_id: String,
    pub dir: PathBuf,
    pub written: usize,
}

/// Plans every ratified motion (or `opts.motion_id`) side by side, each
/// written to its own folder when done.
pub fn plan(
    loaded: &PlanInput,
    opts: &PlanOptions,
    roster: &Roster,
    agents: &Agents,
    clock: &Clock,
) -> Result<PlanReport, PipelineError> {
    if loaded.packets.is_empty() {
        return Ok(PlanReport {
            outcome: Outcome::Blocked,
            motions: Vec::new(),
        });
    }
    let out_root = out_root(opts, loaded);
    let motion_opts = archon_plan::PlanOptions {
        overrides: overrides(opts),
        llm_blocker_workup: opts.llm_blocker_workup,
        clarification_review: opts.run_exec_clarification_review,
        emit_admin_handoff: opts.emit_admin_handoff,
    };
    // Motions are independent: planned side by side (each with its own call
    // records), each written when done (into its own folder), reported in
    // packet order.
    let planned = fan_out::in_order(&loaded.packets, |packet| {
        let inbox_dir = inbox_of(opts, &out_root, &packet.motion_id);
        if opts.contributions == Contributions::Manual && !inbox_dir.is_dir() {
            return Err(PipelineError::BadInput(format!(
                "--mode manual: no inbox folder {} for motion {} (write one with --scaffold-inbox)",
                inbox_dir.display(),
                packet.motion_id
            )));
        }
        let inbox = read_inbox(&inbox_dir).or_fail()?;
        let manual = match opts.contributions {
            Contributions::Manual | Contributions::Hybrid => true,
            Contributions::Auto => has_responses(&inbox),
            Contributions::Agents => false,
        };
        let label = inbox_dir.display().to_string();
        let source = match opts.contributions {
            Contributions::Hybrid => DraftSource::Hybrid {
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
        let output = plan_motion(packet, roster, &agents, clock, source, &motion_opts)
            .context_with(|| format!("planning motion {}", packet.motion_id))?;
        // Contributions the server failed to give are not planned around.
        agents.server_failed()?;
        let blocked = opts.require_gates && !output.gates.all_passed;
        let outcome = if blocked { "blocked" } else { "complete" };
        let dir = out_root.join(&packet.motion_id);
        let mut motion_inputs = loaded.inputs.clone();
        motion_inputs.insert("roster".into(), roster_sha256(roster));
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
        let hash = input_hash(&motion_inputs, agents.seed().0, answers, opts);
        write_motion(&dir, &output, outcome, hash, motion_inputs, clock.stamp()).or_fail()?;
        let source = if manual {
            "manual"
        } else {
            agents.backend_name()
        };
        Ok(summary(&output, &dir, source))
    });
    let motions = planned.into_iter().collect::<Result<Vec<_>, _>>()?;
    let mut report = PlanReport {
        outcome: Outcome::Complete,
        motions,
    };
    if opts.require_gates && !report.failing().is_empty() {
        report.outcome = Outcome::Blocked;
    }
    Ok(report)
}

/// Writes contribution templates into each motion's inbox, and plans nothing.
pub fn scaffold_inboxes(
    loaded: &PlanInput,
    opts: &PlanOptions,
    roster: &Roster,
    clock: &Clock,
) -> Result<Vec<Scaffolded>, PipelineError> {
    let now = clock.stamp();
    let out_root = out_root(opts, loaded);
    let presidents = presidents(roster);
    let overrides = overrides(opts);
    let mut done = Vec::new();
    for p in &loaded.packets {
        let record = assign(p, &presidents, &overrides, &now).or_fail()?;
        let dir = inbox_of(opts, &out_root, &p.motion_id);
        let templates = scaffold(
            &record.cycle_id,
            &p.motion_id,
            &record.affected_portfolios,
            &presidents,
        );
        let written = write_scaffold(&dir, &templates).or_fail()?;
        done.push(Scaffolded {
            motion_id: p.motion_id.clone(),
            cycle_id: record.cycle_id,
            dir,
            written: written.len(),
        });
    }
    Ok(done)
}

/// The packets to plan, with the content hashes of the files they came from,
/// read and checked before anything is asked.
#[derive(Debug, Clone)]
pub struct PlanInput {
    session_id: String,
    packets: Vec<RatifiedIntentPacket>,
    inputs: BTreeMap<String, String>,
    /// The file the packets came from, for messages.
    label: String,
}

impl PlanInput {
    /// Why there is nothing to plan (no ratified motion), when so.
    pub fn nothing_to_plan(&self) -> Option<String> {
        let label = &self.label;
        let why = format!("no ratified motions in {label}: nothing to plan");
        self.packets.is_empty().then_some(why)
    }
}

/// Reads the packets to plan: `opts.packet`, or the review folder's
/// ratified motions (only `opts.motion_id` when given).
pub fn read_input(opts: &PlanOptions, clock: &Clock) -> Result<PlanInput, PipelineError> {
    let now = clock.stamp();
    let mut loaded = if let Some(path) = &opts.packet {
        let (packet, sha) = read_packet(path).or_fail()?;
        PlanInput {
            session_id: packet.session_id.clone(),
            packets: vec![packet],
            inputs: [("packet".to_string(), sha)].into_iter().collect(),
            label: path.display().to_string(),
        }
    } else {
        let dir = opts.review_dir.as_deref().ok_or_else(|| {
            PipelineError::BadInput("give REVIEW_DIR (or --input DIR) or --packet FILE".into())
        })?;
        let review = read_review_dir(dir, &now).or_fail()?;
        PlanInput {
            session_id: review.session_id,
            packets: review.packets,
            inputs: review.inputs,
            label: dir
                .join(archon_plan::io::RATIFIED_MOTIONS)
                .display()
                .to_string(),
        }
    };
    if let Some(id) = &opts.motion_id {
        safe_component(id, "--motion-id", "$").or_fail()?;
        let known: Vec<String> = loaded.packets.iter().map(|p| p.motion_id.clone()).collect();
        loaded.packets.retain(|p| &p.motion_id == id);
        if loaded.packets.is_empty() {
            return Err(PipelineError::BadInput(format!(
                "--motion-id {id}: no such ratified motion in {} (ratified: {})",
                loaded.label,
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )));
        }
    }
    Ok(loaded)
}

fn out_root(opts: &PlanOptions, loaded: &PlanInput) -> PathBuf {
    opts.out
        .clone()
        .unwrap_or_else(|| Layout::default().executive(&loaded.session_id))
}

fn inbox_of(opts: &PlanOptions, out_root: &Path, motion_id: &str) -> PathBuf {
    match &opts.inbox {
        Some(root) => root.join(motion_id),
        None => out_root.join(motion_id).join("inbox"),
    }
}

fn overrides(opts: &PlanOptions) -> Overrides {
    Overrides {
        owner: opts.owner.clone(),
        affected: opts.affected.clone(),
    }
}

/// What the run depends on, so a later run can tell whether it saw the same inputs.
fn input_hash(
    inputs: &BTreeMap<String, String>,
    seed: u64,
    answers: AnswerSource,
    opts: &PlanOptions,
) -> String {
    let list = |v: &Option<Vec<String>>| v.as_ref().map(|v| v.join(",")).unwrap_or_default();
    Fingerprint::new("plan")
        .inputs(inputs)
        .seed(seed)
        .answers(answers)
        .option("owner", opts.owner.as_deref().unwrap_or(""))
        .option("affected", list(&opts.affected))
        .option("llm_blocker_workup", opts.llm_blocker_workup)
        .option("clarification_review", opts.run_exec_clarification_review)
        .option("emit_admin_handoff", opts.emit_admin_handoff)
        .option(
            "emit_conclave_clarifications",
            opts.emit_conclave_clarifications,
        )
        .finish()
}

fn summary(out: &PlanOutput, dir: &Path, source: &str) -> MotionSummary {
    let count = |d: Disposition| {
        out.plan
            .blockers
            .iter()
            .filter(|b| b.disposition == Some(d))
            .count()
    };
    let gates = &out.gates;
    MotionSummary {
        motion_id: out.motion_id.clone(),
        cycle_id: out.cycle_id.clone(),
        source: source.to_string(),
        plan_owner: out.plan.plan_owner.portfolio_id.clone(),
        affected_portfolios: out.plan.affected_portfolios.clone(),
        epics: out.plan.epics.len(),
        work_packages: out.plan.work_packages.len(),
        blockers: out.plan.blockers.len(),
        escalated: count(Disposition::EscalateNow),
        deferred: count(Disposition::DeferDownstream),
        mitigated: count(Disposition::MitigateInExecutive),
        gates: GateStatuses {
            completeness: gates.completeness.status.clone(),
            visibility: gates.visibility.status.clone(),
            legibility: gates.legibility.status.clone(),
        },
        handoff: out.handoff_written,
        dir: dir.display().to_string(),
        gates_passed: gates.all_passed,
        gate_failures: gates
            .failures()
            .map(|(gate, f)| format!("gate {gate} failed: {}: {f}", out.motion_id))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::test_support::{self, clock, roster};
    use archon_core::seed::Seed;

    fn reviewed(root: &Path) -> PathBuf {
        test_support::reviewed(root, &root.join("review")).out
    }

    #[test]
    fn plans_each_ratified_motion_and_names_an_unknown_one() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let opts = PlanOptions {
            review_dir: Some(reviewed(tmp.path())),
            out: Some(tmp.path().join("executive")),
            emit_admin_handoff: true,
            ..PlanOptions::default()
        };
        let input = read_input(&opts, &clock()).expect("input");
        assert!(input.nothing_to_plan().is_none());
        let agents = Agents::simulated(Seed(7));
        let report = plan(&input, &opts, &roster(), &agents, &clock()).expect("plan");
        assert_eq!(report.outcome, Outcome::Complete);
        assert_eq!(report.motions.len(), input.packets.len());
        for m in &report.motions {
            let dir = Path::new(&m.dir);
            assert!(dir.join("stage_manifest.json").is_file(), "{}", m.dir);
            assert_eq!(m.gates_passed, m.gate_failures.is_empty());
        }
        let unknown = PlanOptions {
            motion_id: Some("no-such-motion".into()),
            ..opts
        };
        let err = read_input(&unknown, &clock()).expect_err("unknown motion");
        assert!(
            err.to_string()
                .starts_with("--motion-id no-such-motion: no such ratified motion"),
            "{err}"
        );
    }

    #[test]
    fn manual_contributions_need_the_inbox() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let opts = PlanOptions {
            review_dir: Some(reviewed(tmp.path())),
            out: Some(tmp.path().join("executive")),
            contributions: Contributions::Manual,
            ..PlanOptions::default()
        };
        let input = read_input(&opts, &clock()).expect("input");
        let agents = Agents::simulated(Seed(7));
        let err = plan(&input, &opts, &roster(), &agents, &clock()).expect_err("no inbox");
        assert!(
            err.to_string()
                .starts_with("--mode manual: no inbox folder"),
            "{err}"
        );
        let scaffolded = scaffold_inboxes(&input, &opts, &roster(), &clock()).expect("scaffold");
        assert_eq!(scaffolded.len(), input.packets.len());
        assert!(scaffolded.iter().all(|s| s.written > 0 && s.dir.is_dir()));
    }
}
