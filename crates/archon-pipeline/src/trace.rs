//! The provenance chain (`archon trace TASK_REF`) of one task, read back from
//! what each stage recorded:
//!
//! ```text
//! ledger task.provenance  → rfp_id, mandate_id, selection_id, proposal_id, tactic, deliverable, FR/NFR ids
//! <out>/rfp/*/mandates/<mandate_id>/rfp.json → motion_id, deliverable → epic, execution plan (path + sha256)
//! <out>/executive/*/<plan path>           → plan id, epic intent, ratified_motions.json (path + sha256)
//! ratified_motions.json → motion title, vote id → ratification_results.json → the vote
//! ```
//!
//! Every hop follows a recorded id or a recorded sha256; a hop that does not
//! resolve is an error naming the file and what was looked for.

use std::fmt::Display;
use std::path::{Component, Path, PathBuf};

use archon_artifacts::TaskProvenance;
use archon_core::ids::check_file_component;
use archon_core::seed::sha256_hex;
use archon_decompose::qualified_task_ref;
use archon_store::read_json;
use archon_tasks::projection::HistoryEntry;
use archon_tasks::{Ledger, TaskRecord};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::PipelineError;
use crate::layout::{subdirs, Layout};

type Result<T> = std::result::Result<T, PipelineError>;

/// A link of the chain that does not resolve: bad input naming the file and
/// what was looked for.
macro_rules! broken {
    ($($t:tt)*) => { PipelineError::BadInput(format!($($t)*)) };
}

macro_rules! bail {
    ($($t:tt)*) => { return Err(broken!($($t)*)) };
}

/// `with_context` for a missing value or a failed read: the message, then the cause.
trait OrBroken<T> {
    fn with_context<M: Display>(self, message: impl FnOnce() -> M) -> Result<T>;
}

impl<T> OrBroken<T> for Option<T> {
    fn with_context<M: Display>(self, message: impl FnOnce() -> M) -> Result<T> {
        self.ok_or_else(|| broken!("{}", message()))
    }
}

impl<T, E: Display> OrBroken<T> for std::result::Result<T, E> {
    fn with_context<M: Display>(self, message: impl FnOnce() -> M) -> Result<T> {
        self.map_err(|e| broken!("{}: {e}", message()))
    }
}

/// The whole chain, motion first (what `--json` prints).
#[derive(Debug, Serialize)]
pub struct Trace {
    pub task_ref: String,
    pub motion: MotionLink,
    pub ratification: VoteLink,
    pub plan: PlanLink,
    pub dossier: DossierLink,
    pub proposal: ProposalLink,
    pub draft: DraftLink,
    pub ledger: LedgerLink,
}

#[derive(Debug, Serialize)]
pub struct MotionLink {
    pub motion_id: String,
    pub title: String,
    pub session_id: String,
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VoteLink {
    pub vote_id: String,
    pub yeas: u64,
    pub nays: u64,
    pub abstentions: u64,
    pub threshold_type: String,
    pub threshold_required: u64,
    pub threshold_met: bool,
    pub outcome: String,
    #[serde(default)]
    pub source: String,
}

#[derive(Debug, Serialize)]
pub struct PlanLink {
    pub plan_id: String,
    pub epic_id: String,
    pub intent: String,
    pub source: String,
}

#[derive(Debug, Serialize)]
pub struct DossierLink {
    pub rfp_id: String,
    pub mandate_id: String,
    pub deliverable_id: String,
    pub requirements: Vec<RequirementLink>,
    pub source: String,
}

#[derive(Debug, Serialize)]
pub struct RequirementLink {
    pub req_id: String,
    /// `functional` or `non_functional`.
    pub kind: String,
    pub description: String,
}

#[derive(Debug, Serialize)]
pub struct ProposalLink {
    pub selection_id: String,
    pub proposal_id: String,
    pub duke_name: String,
    pub duke_id: String,
    pub tactic_id: String,
    pub tactic_title: String,
    pub source: String,
}

#[derive(Debug, Serialize)]
pub struct DraftLink {
    pub draft: Value,
    pub source: String,
}

#[derive(Debug, Serialize)]
pub struct LedgerLink {
    pub state: Value,
    pub cluster_id: Option<String>,
    pub activation_id: String,
    pub history: Vec<HistoryEntry>,
    pub source: String,
}

/// The provenance chain of `task_ref` in the ledger at `ledger_path`, its
/// artifacts read under `layout`'s root.
pub fn trace(layout: &Layout, ledger_path: &Path, task_ref: &str) -> Result<Trace> {
    let task = Ledger::open_read_only(ledger_path)?
        .task(task_ref)?
        .with_context(|| format!("unknown task {} in {}", task_ref, ledger_path.display()))?;
    trace_task(layout, ledger_path, &task)
}

/// The provenance chain of a task already read from the ledger at
/// `ledger_path` (the report traces every task of one ledger read).
pub fn trace_task(layout: &Layout, ledger_path: &Path, task: &TaskRecord) -> Result<Trace> {
    let out = layout.root();
    let prov: TaskProvenance = serde_json::from_value(task.provenance.clone()).with_context(|| {
        format!(
            "task {} in {}: $.provenance does not name its rfp, mandate, selection, proposal and tactic (not created by archon decompose)",
            task.task_ref,
            ledger_path.display()
        )
    })?;
    let mandate = find_mandate(out, &prov)?;
    let (draft, draft_source) = find_draft(&mandate, task, &prov)?;
    let (dossier, rfp) = read_dossier(&mandate, &prov)?;
    let proposal = read_proposal(&mandate, &prov)?;
    let (plan_file, plan_source) = read_plan(out, &rfp)?;
    let (motion, ratification) = read_ratification(out, &plan_file, &rfp.motion_id)?;
    let epic_id = rfp
        .deliverables
        .iter()
        .find(|d| d.deliverable_id == prov.deliverable_id)
        .map(|d| d.epic_id.clone())
        .with_context(|| format!("{}: no deliverable {}", dossier.source, prov.deliverable_id))?;
    let intent = plan_file
        .epics
        .iter()
        .find(|e| e.epic_id == epic_id)
        .map(|e| e.intent.clone())
        .with_context(|| format!("{plan_source}: no epic {epic_id}"))?;
    let plan = PlanLink {
        plan_id: plan_file.plan_id,
        epic_id,
        intent,
        source: plan_source,
    };
    Ok(Trace {
        task_ref: task.task_ref.clone(),
        motion,
        ratification,
        plan,
        dossier,
        proposal,
        draft: DraftLink {
            draft,
            source: draft_source,
        },
        ledger: LedgerLink {
            state: Value::String(task.state.as_str().to_string()),
            cluster_id: task.cluster_id.clone(),
            activation_id: task.activation_id.clone(),
            history: task.history.clone(),
            source: ledger_path.display().to_string(),
        },
    })
}

#[derive(Debug, Deserialize)]
struct Dossier {
    implementation_dossier_id: String,
    motion_id: String,
    deliverables: Vec<Deliverable>,
    requirements: Requirements,
    provenance: DossierProvenance,
}

#[derive(Debug, Deserialize)]
struct Deliverable {
    deliverable_id: String,
    epic_id: String,
}

#[derive(Debug, Deserialize)]
struct Requirements {
    functional: Vec<Requirement>,
    non_functional: Vec<Requirement>,
}

#[derive(Debug, Deserialize)]
struct Requirement {
    req_id: String,
    description: String,
}

#[derive(Debug, Deserialize)]
struct DossierProvenance {
    execution_plan: FileRef,
}

#[derive(Debug, Deserialize)]
struct FileRef {
    path: String,
    sha256: String,
}

#[derive(Debug, Deserialize)]
struct Selection {
    selection_id: Option<String>,
    winning_proposal_id: Option<String>,
}

/// The mandate folder whose dossier and selection carry the task's ids.
fn find_mandate(out: &Path, prov: &TaskProvenance) -> Result<PathBuf> {
    check_file_component(&prov.mandate_id)
        .map_err(|m| broken!("provenance.mandate_id {:?}: {m}", prov.mandate_id))?;
    let rfp_root = Layout::new(out).rfp();
    for session in subdirs(&rfp_root) {
        let mandate = session.join("mandates").join(&prov.mandate_id);
        let (Some(rfp), Some(sel)) = (
            read_json::<Value>(&mandate.join("rfp.json")).ok(),
            read_json::<Selection>(&Layout::selection_file(&mandate)).ok(),
        ) else {
            continue;
        };
        if rfp["implementation_dossier_id"].as_str() == Some(prov.rfp_id.as_str())
            && sel.selection_id.as_deref() == Some(prov.selection_id.as_str())
        {
            return Ok(mandate);
        }
    }
    bail!(
        "no mandate {} with dossier {} and selection {} under {}",
        prov.mandate_id,
        prov.rfp_id,
        prov.selection_id,
        rfp_root.display()
    )
}

/// The task's draft: a task routed to several clusters is `<draft ref>@<cluster>` in
/// the ledger, and one whose ref another mandate already held is `<draft ref>-<mandate tag>`.
fn find_draft(mandate: &Path, task: &TaskRecord, prov: &TaskProvenance) -> Result<(Value, String)> {
    let path = Layout::execution_bridge(mandate).join("task_drafts.json");
    let drafts: Vec<Value> = read_json(&path)?;
    let is_draft_of = |d: &Value| {
        let Some(r) = d["task_ref"].as_str() else {
            return false;
        };
        let qualified = qualified_task_ref(r, &prov.mandate_id);
        let same_ref = [r, qualified.as_str()].into_iter().any(|c| {
            task.task_ref == c
                || task
                    .task_ref
                    .strip_prefix(c)
                    .is_some_and(|rest| rest.starts_with('@'))
        });
        same_ref
            && d["parent_tactic_id"].as_str() == Some(prov.parent_tactic_id.as_str())
            && d["proposal_id"].as_str() == Some(prov.proposal_id.as_str())
    };
    let draft = drafts.into_iter().find(is_draft_of).with_context(|| {
        format!(
            "{}: no draft of task {} (tactic {}, proposal {})",
            path.display(),
            task.task_ref,
            prov.parent_tactic_id,
            prov.proposal_id
        )
    })?;
    Ok((draft, path.display().to_string()))
}

fn read_dossier(mandate: &Path, prov: &TaskProvenance) -> Result<(DossierLink, Dossier)> {
    let path = mandate.join("rfp.json");
    let rfp: Dossier = read_json(&path)?;
    let source = path.display().to_string();
    let all = [
        ("functional", &rfp.requirements.functional),
        ("non_functional", &rfp.requirements.non_functional),
    ];
    let mut requirements = Vec::new();
    for id in &prov.rfp_requirement_ids {
        let found = all.iter().find_map(|(kind, reqs)| {
            reqs.iter()
                .find(|r| &r.req_id == id)
                .map(|r| RequirementLink {
                    req_id: r.req_id.clone(),
                    kind: kind.to_string(),
                    description: r.description.clone(),
                })
        });
        requirements.push(found.with_context(|| format!("{source}: no requirement {id}"))?);
    }
    let link = DossierLink {
        rfp_id: rfp.implementation_dossier_id.clone(),
        mandate_id: prov.mandate_id.clone(),
        deliverable_id: prov.deliverable_id.clone(),
        requirements,
        source,
    };
    Ok((link, rfp))
}

#[derive(Debug, Deserialize)]
struct InboxManifest {
    entries: Vec<InboxEntry>,
}

#[derive(Debug, Deserialize)]
struct InboxEntry {
    proposal_id: String,
    json: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Proposal {
    proposal_id: String,
    duke_name: String,
    duke_id: String,
    tactics: Vec<Tactic>,
}

#[derive(Debug, Deserialize)]
struct Tactic {
    tactic_id: String,
    title: String,
}

/// The winning proposal (selection → inbox manifest → proposal JSON) and the task's tactic.
fn read_proposal(mandate: &Path, prov: &TaskProvenance) -> Result<ProposalLink> {
    let sel_path = Layout::selection_file(mandate);
    let sel: Selection = read_json(&sel_path)?;
    if sel.winning_proposal_id.as_deref() != Some(prov.proposal_id.as_str()) {
        bail!(
            "{}: winning_proposal_id is {:?}, but the task came from proposal {}",
            sel_path.display(),
            sel.winning_proposal_id,
            prov.proposal_id
        );
    }
    let inbox = Layout::proposals_inbox(mandate);
    let manifest_path = inbox.join("inbox_manifest.json");
    let manifest: InboxManifest = read_json(&manifest_path)?;
    let file = manifest
        .entries
        .iter()
        .find(|e| e.proposal_id == prov.proposal_id)
        .and_then(|e| e.json.clone())
        .with_context(|| {
            format!(
                "{}: no JSON proposal {}",
                manifest_path.display(),
                prov.proposal_id
            )
        })?;
    check_file_component(&file)
        .map_err(|m| broken!("{}: proposal file {file:?}: {m}", manifest_path.display()))?;
    let path = inbox.join(&file);
    let proposal: Proposal = read_json(&path)?;
    let source = path.display().to_string();
    if proposal.proposal_id != prov.proposal_id {
        bail!(
            "{source}: holds proposal {}, not {}",
            proposal.proposal_id,
            prov.proposal_id
        );
    }
    let tactic = proposal
        .tactics
        .iter()
        .find(|t| t.tactic_id == prov.parent_tactic_id)
        .with_context(|| format!("{source}: no tactic {}", prov.parent_tactic_id))?;
    Ok(ProposalLink {
        selection_id: prov.selection_id.clone(),
        proposal_id: proposal.proposal_id.clone(),
        duke_name: proposal.duke_name.clone(),
        duke_id: proposal.duke_id.clone(),
        tactic_id: tactic.tactic_id.clone(),
        tactic_title: tactic.title.clone(),
        source,
    })
}

#[derive(Debug, Deserialize)]
struct PlanFile {
    plan_id: String,
    motion_id: String,
    session_id: String,
    epics: Vec<Epic>,
    provenance: PlanProvenance,
}

#[derive(Debug, Deserialize)]
struct Epic {
    epic_id: String,
    intent: String,
}

#[derive(Debug, Deserialize)]
struct PlanProvenance {
    source_artifacts: Vec<SourceArtifact>,
}

#[derive(Debug, Deserialize)]
struct SourceArtifact {
    name: String,
    path: String,
    sha256: String,
}

/// The plan the dossier was made from: its recorded path (relative to the
/// executive session folder) under `<out>/executive/*/`, with the recorded sha256.
fn read_plan(out: &Path, rfp: &Dossier) -> Result<(PlanFile, String)> {
    let recorded = &rfp.provenance.execution_plan;
    let rel = Path::new(&recorded.path);
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        bail!(
            "rfp.json $.provenance.execution_plan.path {:?}: not a relative path inside the executive folder",
            recorded.path
        );
    }
    let executive = Layout::new(out).executive_root();
    let path = subdirs(&executive)
        .into_iter()
        .map(|session| session.join(rel))
        .find(|p| file_sha256(p).as_deref() == Some(recorded.sha256.as_str()))
        .with_context(|| {
            format!(
                "no {} with sha256 {} under {}/*/ (the plan rfp.json {} was made from)",
                recorded.path,
                recorded.sha256,
                executive.display(),
                rfp.implementation_dossier_id
            )
        })?;
    let plan: PlanFile = read_json(&path)?;
    let source = path.display().to_string();
    if plan.motion_id != rfp.motion_id {
        bail!(
            "{source}: plan of motion {}, but the dossier is for motion {}",
            plan.motion_id,
            rfp.motion_id
        );
    }
    Ok((plan, source))
}

#[derive(Debug, Deserialize)]
struct RatifiedMotions {
    motions: Vec<RatifiedMotion>,
}

#[derive(Debug, Deserialize)]
struct RatifiedMotion {
    mega_motion_id: String,
    title: String,
    provenance: MotionProvenance,
}

#[derive(Debug, Deserialize)]
struct MotionProvenance {
    ratification_vote_id: String,
}

#[derive(Debug, Deserialize)]
struct RatificationResults {
    votes: Vec<VoteLink>,
}

/// The motion and its vote: `ratified_motions.json` as the plan recorded it
/// (its path, or the review folder of the plan's session, with the recorded
/// sha256), then the vote by id in `ratification_results.json` beside it.
fn read_ratification(
    out: &Path,
    plan: &PlanFile,
    motion_id: &str,
) -> Result<(MotionLink, VoteLink)> {
    let recorded = plan
        .provenance
        .source_artifacts
        .iter()
        .find(|a| a.name == "ratified_motions.json")
        .with_context(|| {
            format!(
                "plan {}: $.provenance.source_artifacts names no ratified_motions.json",
                plan.plan_id
            )
        })?;
    check_file_component(&plan.session_id)
        .map_err(|m| broken!("plan {}: session_id: {m}", plan.plan_id))?;
    let in_review = Layout::new(out)
        .review(&plan.session_id)
        .join("ratified_motions.json");
    let path = [out.join(&recorded.path), in_review]
        .into_iter()
        .find(|p| file_sha256(p).as_deref() == Some(recorded.sha256.as_str()))
        .with_context(|| {
            format!(
                "plan {}: ratified_motions.json with sha256 {} not found (recorded at {})",
                plan.plan_id, recorded.sha256, recorded.path
            )
        })?;
    let motions: RatifiedMotions = read_json(&path)?;
    let motion = motions
        .motions
        .iter()
        .find(|m| m.mega_motion_id == motion_id)
        .with_context(|| format!("{}: motion {motion_id} not ratified", path.display()))?;
    let results_path = path.with_file_name("ratification_results.json");
    let results: RatificationResults = read_json(&results_path)?;
    let vote_id = &motion.provenance.ratification_vote_id;
    let vote = results
        .votes
        .into_iter()
        .find(|v| &v.vote_id == vote_id)
        .with_context(|| format!("{}: no vote {vote_id}", results_path.display()))?;
    Ok((
        MotionLink {
            motion_id: motion.mega_motion_id.clone(),
            title: motion.title.clone(),
            session_id: plan.session_id.clone(),
            source: path.display().to_string(),
        },
        VoteLink {
            source: results_path.display().to_string(),
            ..vote
        },
    ))
}

fn file_sha256(path: &Path) -> Option<String> {
    std::fs::read(path).ok().map(sha256_hex)
}

impl Trace {
    /// The chain as `archon trace` prints it, one hop a line.
    pub fn render(&self) -> String {
        let t = self;
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
        let state = name(&t.ledger.state);
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
}

/// An enum's serialized name (`in_progress`, `steward_accepted`).
fn name(v: impl Serialize) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        _ => "?".into(),
    }
}
