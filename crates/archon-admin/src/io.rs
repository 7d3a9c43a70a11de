//! The file edge of the administrative stages: find and read inputs, decide
//! what to reuse, run the pure stage, write the artifact directories.
//!
//! Layout (one mandate per planned motion):
//! ```text
//! <out>/<rfp_session>/mandates/<mandate_id>/
//!   rfp.json rfp.md contributions/<portfolio_id>.json rfp_events.jsonl stage_manifest.json
//!   proposals_inbox/  proposal_<duke>.md|.json inbox_manifest.json proposal_summary.json
//!                     duke_proposal_events.jsonl stage_manifest.json
//!   selection/        selection_result.json|.md scores/<president>.json selection_events.jsonl
//!                     plan_acceptance.json | revision_request.json | conclave_escalation.json
//!                     stage_manifest.json
//! ```
//! Each stage owns one directory with its own manifest, so re-running one stage
//! never touches another's files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use archon_core::agent_port::Agents;
use archon_core::clock::Clock;
use archon_core::fan_out;
use archon_core::ids::{check_file_component, safe_component};
use archon_core::input::{InputError, InputErrors};
use archon_core::roster::{Rank, Roster};
use archon_core::seed::sha256_hex;
use archon_store::artifact_dir::{read_manifest, verify_manifest};
use archon_store::{read_json, ArtifactDir, StoreError};

use crate::dossier::{Dossier, DossierStatus, FileRef};
use crate::error::AdminError;
use crate::events::Event;
use crate::markdown;
use crate::plan_input::{ExecutionPlan, Handoff};
use crate::proposal::Proposal;
use crate::proposals::{self, DukeSlot, ProposalFeatures};
use crate::rfp::{self, Contribution, PlanInput};
use crate::select::{
    self, IterationRecord, RevisionRequest, SelectOptions, SelectionOutcome, SelectionResult,
};

pub const PLAN_FILE: &str = "execution_plan_v2.json";
pub const HANDOFF_FILE: &str = "execution_plan_handoff.json";
pub const RFP_FILE: &str = "rfp.json";
pub const INBOX_DIR: &str = "proposals_inbox";
pub const INBOX_MANIFEST: &str = "inbox_manifest.json";
pub const SELECTION_DIR: &str = "selection";
pub const SELECTION_FILE: &str = "selection_result.json";
pub const REVISION_FILE: &str = "revision_request.json";

fn bytes_of(path: &Path) -> Result<Vec<u8>, AdminError> {
    std::fs::read(path).map_err(|e| StoreError::io(path, e).into())
}

/// Appends a run's events to their trail, and writes the call records they
/// carry to the folder's `agent_calls.jsonl` (what `archon usage` totals).
/// The events trail keeps every run's; the call records are this run's only,
/// like every stage's, so `archon usage` never counts a rerun's calls twice
/// nor mixes a simulated run's with an LLM run's.
fn append_events(dir: &mut ArtifactDir, rel: &str, events: &[Event]) -> Result<(), AdminError> {
    dir.append_jsonl(rel, events)?;
    let calls: Vec<_> = events.iter().flat_map(Event::call_records).collect();
    if !calls.is_empty() {
        dir.write_jsonl(archon_core::agent_port::CALLS_FILE, &calls)?;
    }
    Ok(())
}

/// The stored manifest of `dir` when it is complete, made from `input_hash`, and intact.
fn reusable(dir: &Path, input_hash: &str) -> Option<archon_store::StageManifest> {
    let m = read_manifest(dir).ok().flatten()?;
    (m.input_hash == input_hash && verify_manifest(dir, &m).is_empty()).then_some(m)
}

// ------------------------------------------------------------------------ rfp

pub struct RfpOptions {
    /// Root of rfp sessions (`archon-out/rfp`).
    pub out: PathBuf,
    pub motion_id: Option<String>,
    pub retry_failed: bool,
}

#[derive(Debug, Clone)]
pub struct MandateReport {
    pub mandate_dir: PathBuf,
    pub mandate_id: String,
    pub motion_id: String,
    pub status: DossierStatus,
    pub blocked_reasons: Vec<String>,
    pub reused: bool,
}

#[derive(Debug, Clone)]
pub struct RfpReport {
    pub session_dir: PathBuf,
    pub mandates: Vec<MandateReport>,
    /// Motions whose plan has no epics (nothing to deliver), given no mandate.
    pub without_epics: Vec<String>,
}

/// The motion folders of an executive dir: the dir itself when it holds a plan,
/// else its sub-folders that do, sorted by name.
pub fn motion_dirs(executive_dir: &Path) -> Result<Vec<PathBuf>, AdminError> {
    if executive_dir.join(PLAN_FILE).is_file() {
        return Ok(vec![executive_dir.to_path_buf()]);
    }
    let entries = std::fs::read_dir(executive_dir).map_err(|e| StoreError::io(executive_dir, e))?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join(PLAN_FILE).is_file())
        .collect();
    dirs.sort();
    if dirs.is_empty() {
        return Err(AdminError::input(
            executive_dir.display().to_string(),
            "$",
            format!("no {PLAN_FILE} here or in any motion folder below"),
        ));
    }
    Ok(dirs)
}

fn read_plan(motion_dir: &Path) -> Result<(PlanInput, String, String), AdminError> {
    let plan_path = motion_dir.join(PLAN_FILE);
    let plan_bytes = bytes_of(&plan_path)?;
    let plan: ExecutionPlan = read_json(&plan_path)?;
    let errors = plan.validate(&plan_path.display().to_string());
    if !errors.is_empty() {
        return Err(InputErrors(errors).into());
    }
    let plan_sha = sha256_hex(&plan_bytes);
    let content_sha256 = match serde_json::from_slice(&plan_bytes) {
        Ok(serde_json::Value::Object(mut plan)) => {
            plan.remove("trace_metadata");
            sha256_hex(serde_json::Value::Object(plan).to_string())
        }
        // Decoded as a plan above, so an object; the file's hash otherwise.
        _ => plan_sha.clone(),
    };
    let handoff_path = motion_dir.join(HANDOFF_FILE);
    let (handoff, handoff_ref, handoff_sha) = if handoff_path.is_file() {
        let sha = sha256_hex(bytes_of(&handoff_path)?);
        let h: Handoff = read_json(&handoff_path)?;
        let r = FileRef {
            path: format!("{}/{HANDOFF_FILE}", plan.motion_id),
            sha256: sha.clone(),
        };
        (h, Some(r), sha)
    } else {
        (Handoff::default(), None, String::new())
    };
    let plan_ref = FileRef {
        path: format!("{}/{PLAN_FILE}", plan.motion_id),
        sha256: plan_sha.clone(),
    };
    Ok((
        PlanInput {
            plan,
            handoff,
            plan_ref,
            handoff_ref,
            content_sha256,
        },
        plan_sha,
        handoff_sha,
    ))
}

pub fn rfp(
    executive_dir: &Path,
    opts: &RfpOptions,
    roster: &Roster,
    agents: &Agents,
    clock: &Clock,
) -> Result<RfpReport, AdminError> {
    if let Some(m) = &opts.motion_id {
        safe_component(m, "--motion-id", "$")?;
    }
    // A plan every portfolio answered with "no action" has nothing to deliver:
    // in a whole executive session it gets no mandate and the others go on;
    // asked for by itself (its folder, or --motion-id) it is refused by read_plan.
    let whole_session = opts.motion_id.is_none() && !executive_dir.join(PLAN_FILE).is_file();
    let mut inputs = Vec::new();
    let mut without_epics = Vec::new();
    for dir in motion_dirs(executive_dir)? {
        if whole_session {
            let plan: ExecutionPlan = read_json(&dir.join(PLAN_FILE))?;
            if plan.epics.is_empty() {
                without_epics.push(plan.motion_id);
                continue;
            }
        }
        inputs.push(read_plan(&dir)?);
    }
    let session_key: String = inputs
        .iter()
        .map(|(i, _, _)| format!("{}:{}\n", i.plan.motion_id, i.content_sha256))
        .collect();
    let session = format!(
        "rfp_{}",
        &sha256_hex(format!("{}|{session_key}", agents.seed().0))[..12]
    );
    let session_dir = opts.out.join(session);
    let selected: Vec<&(PlanInput, String, String)> = inputs
        .iter()
        .filter(|(i, _, _)| {
            opts.motion_id
                .as_ref()
                .is_none_or(|m| &i.plan.motion_id == m)
        })
        .collect();
    if selected.is_empty() && !without_epics.is_empty() {
        return Ok(RfpReport {
            session_dir,
            mandates: Vec::new(),
            without_epics,
        });
    }
    if selected.is_empty() {
        return Err(AdminError::Usage(format!(
            "--motion-id {}: no such motion in {} (motions: {})",
            opts.motion_id.as_deref().unwrap_or(""),
            executive_dir.display(),
            inputs
                .iter()
                .map(|(i, _, _)| i.plan.motion_id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    // Mandates are independent: drafted side by side, each into its own folder
    // with its own call records, reported in plan order.
    let mandates = fan_out::in_order(&selected, |(input, plan_sha, handoff_sha)| {
        rfp_mandate(
            &session_dir,
            input,
            plan_sha,
            handoff_sha,
            opts.retry_failed,
            roster,
            &agents.fork(),
            clock,
        )
    })
    .into_iter()
    .collect::<Result<Vec<_>, _>>()?;
    Ok(RfpReport {
        session_dir,
        mandates,
        without_epics,
    })
}

#[allow(clippy::too_many_arguments)]
fn rfp_mandate(
    session_dir: &Path,
    input: &PlanInput,
    plan_sha: &str,
    handoff_sha: &str,
    retry_failed: bool,
    roster: &Roster,
    agents: &Agents,
    clock: &Clock,
) -> Result<MandateReport, AdminError> {
    let identity =
        rfp::mandate_identity(agents.seed(), &input.plan.motion_id, &input.content_sha256);
    let dir = session_dir.join("mandates").join(&identity.mandate_id);
    let input_hash = sha256_hex(format!(
        "rfp|{plan_sha}|{handoff_sha}|{}|{}",
        agents.seed().0,
        agents.backend_name()
    ));
    let report = |d: &Dossier, reused| MandateReport {
        mandate_dir: dir.clone(),
        mandate_id: d.mandate_id.clone(),
        motion_id: d.motion_id.clone(),
        status: d.status,
        blocked_reasons: d.blocked_reasons.clone(),
        reused,
    };
    let mut kept = BTreeMap::new();
    if let Some(m) = reusable(&dir, &input_hash) {
        let stored: Dossier = read_json(&dir.join(RFP_FILE))?;
        if m.outcome == "complete" || !retry_failed {
            return Ok(report(&stored, true));
        }
        for rel in m.files.keys().filter(|r| r.starts_with("contributions/")) {
            let c: Contribution = read_json(&dir.join(rel))?;
            if c.succeeded() {
                kept.insert(c.portfolio_id.clone(), c);
            }
        }
    }
    let now = clock.stamp();
    let run = rfp::run(input, roster, agents, &identity, &kept, &now);
    agents.server_failed()?;
    let mut out = ArtifactDir::begin(&dir)?;
    for c in &run.contributions {
        safe_component(&c.portfolio_id, "roster", "portfolio_id")?;
        out.write_json(&format!("contributions/{}.json", c.portfolio_id), c)?;
    }
    out.write_json(RFP_FILE, &run.dossier)?;
    out.write_text("rfp.md", &rfp::render_markdown(&run.dossier))?;
    append_events(&mut out, "rfp_events.jsonl", &run.events)?;
    let mut inputs = BTreeMap::from([(PLAN_FILE.to_string(), plan_sha.to_string())]);
    if !handoff_sha.is_empty() {
        inputs.insert(HANDOFF_FILE.to_string(), handoff_sha.to_string());
    }
    let outcome = if run.dossier.status == DossierStatus::Final {
        "complete"
    } else {
        "blocked"
    };
    out.finish("rfp", outcome, input_hash, inputs, now)?;
    Ok(report(&run.dossier, false))
}

/// Reads and checks a mandate's dossier; a blocked dossier cannot be proposed on.
pub fn read_dossier(mandate_dir: &Path) -> Result<(Dossier, String), AdminError> {
    let path = mandate_dir.join(RFP_FILE);
    let sha = sha256_hex(bytes_of(&path)?);
    let dossier: Dossier = read_json(&path)?;
    let source = path.display().to_string();
    let errors = dossier.validate(&source);
    if !errors.is_empty() {
        return Err(InputErrors(errors).into());
    }
    if dossier.status == DossierStatus::Blocked {
        return Err(AdminError::input(
            source,
            "$.status",
            format!(
                "the dossier is blocked ({}); run `archon rfp --retry-failed` first",
                dossier.blocked_reasons.join("; ")
            ),
        ));
    }
    Ok((dossier, sha))
}

// ------------------------------------------------------------------ proposals

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboxEntry {
    pub duke_name: String,
    pub duke_id: String,
    pub duke_abbreviation: String,
    /// `submitted` or `failed`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal_id: Option<String>,
    #[serde(default)]
    pub iteration: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub markdown: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboxManifest {
    pub schema_version: String,
    pub artifact_type: String,
    pub rfp_id: String,
    pub mandate_id: String,
    /// sha256 of the `rfp.json` the proposals answer.
    pub rfp_sha256: String,
    pub entries: Vec<InboxEntry>,
    /// Revision requests answered by `--revise` runs, oldest first.
    #[serde(default)]
    pub answered_revision_requests: Vec<String>,
    pub updated_at: String,
}

pub struct ProposalsOptions {
    pub duke_name: Option<String>,
    pub revise: bool,
}

#[derive(Debug, Clone)]
pub struct ProposalsReport {
    pub inbox_dir: PathBuf,
    pub submitted: Vec<String>,
    pub failed: Vec<(String, String)>,
    pub total_submitted: usize,
    pub iteration: u32,
    pub reused: bool,
}

/// Resolves `--duke-name` to a Duke of the roster.
pub fn resolve_duke<'a>(
    slots: &'a [DukeSlot<'a>],
    roster: &Roster,
    name: &str,
) -> Result<&'a DukeSlot<'a>, AdminError> {
    check_file_component(name).map_err(|m| AdminError::Usage(format!("--duke-name: {m}")))?;
    let Some(archon) = roster.by_name(name) else {
        return Err(AdminError::Usage(format!(
            "--duke-name {name:?} is not an archon of the roster"
        )));
    };
    if archon.rank != Rank::Duke {
        return Err(AdminError::Usage(format!(
            "--duke-name {name:?} is a {:?}, not a Duke",
            archon.rank
        )));
    }
    slots
        .iter()
        .find(|s| s.archon.id == archon.id)
        .ok_or_else(|| {
            AdminError::Usage(format!("--duke-name {name:?} is not a Duke of the roster"))
        })
}

fn read_inbox(inbox: &Path) -> Result<Option<InboxManifest>, AdminError> {
    let path = inbox.join(INBOX_MANIFEST);
    if !path.is_file() {
        return Ok(None);
    }
    Ok(Some(read_json(&path)?))
}

/// The open revision request: the last selection asked for one and no `--revise` answered it.
fn open_revision(
    mandate_dir: &Path,
    inbox: Option<&InboxManifest>,
) -> Result<Option<RevisionRequest>, AdminError> {
    let path = mandate_dir.join(SELECTION_DIR).join(REVISION_FILE);
    if !path.is_file() {
        return Ok(None);
    }
    let r: RevisionRequest = read_json(&path)?;
    let answered = inbox.is_some_and(|m| {
        m.answered_revision_requests
            .contains(&r.revision_request_id)
    });
    Ok((!answered).then_some(r))
}

pub fn proposals(
    mandate_dir: &Path,
    opts: &ProposalsOptions,
    roster: &Roster,
    agents: &Agents,
    clock: &Clock,
) -> Result<ProposalsReport, AdminError> {
    let (dossier, rfp_sha) = read_dossier(mandate_dir)?;
    let slots = proposals::duke_slots(roster);
    let only = opts
        .duke_name
        .as_deref()
        .map(|n| resolve_duke(&slots, roster, n))
        .transpose()?;
    let inbox_dir = mandate_dir.join(INBOX_DIR);
    let previous_manifest = read_inbox(&inbox_dir)?.filter(|m| m.rfp_sha256 == rfp_sha);
    let revision = if opts.revise {
        let Some(r) = open_revision(mandate_dir, previous_manifest.as_ref())? else {
            return Err(AdminError::Usage(format!(
                "--revise: no open revision request in {}",
                mandate_dir
                    .join(SELECTION_DIR)
                    .join(REVISION_FILE)
                    .display()
            )));
        };
        Some(r)
    } else {
        None
    };
    let mut previous: BTreeMap<String, Proposal> = BTreeMap::new();
    if let Some(m) = &previous_manifest {
        for e in m.entries.iter().filter(|e| e.status == "submitted") {
            if let Some(json) = &e.json {
                safe_component(json, INBOX_MANIFEST, "$.entries[].json")?;
                previous.insert(e.duke_name.clone(), read_json(&inbox_dir.join(json))?);
            }
        }
    }
    let targets: Vec<DukeSlot> = slots
        .iter()
        .filter(|s| only.is_none_or(|o| o.archon.id == s.archon.id))
        .filter(|s| {
            revision
                .as_ref()
                .is_none_or(|r| r.addressed_to.iter().any(|a| a.duke_name == s.archon.name))
        })
        .cloned()
        .collect();
    if let (Some(r), Some(o)) = (&revision, only) {
        if targets.is_empty() {
            return Err(AdminError::Usage(format!(
                "--duke-name {}: the revision request {} is not addressed to this Duke",
                o.archon.name, r.revision_request_id
            )));
        }
    }
    let input_hash = sha256_hex(format!(
        "proposals|{rfp_sha}|{}|{}|{}|{}",
        agents.seed().0,
        agents.backend_name(),
        targets
            .iter()
            .map(|t| t.archon.name.as_str())
            .collect::<Vec<_>>()
            .join(","),
        revision
            .as_ref()
            .map_or("", |r| r.revision_request_id.as_str())
    ));
    if let (Some(_), Some(m)) = (reusable(&inbox_dir, &input_hash), &previous_manifest) {
        let submitted: Vec<String> = m
            .entries
            .iter()
            .filter(|e| e.status == "submitted")
            .map(|e| e.duke_name.clone())
            .collect();
        return Ok(ProposalsReport {
            inbox_dir,
            total_submitted: submitted.len(),
            submitted,
            failed: Vec::new(),
            iteration: m.entries.iter().map(|e| e.iteration).max().unwrap_or(1),
            reused: true,
        });
    }
    let now = clock.stamp();
    let run = proposals::run(
        &dossier,
        &targets,
        agents,
        revision.as_ref(),
        &previous,
        &now,
    );
    agents.server_failed()?;
    let iteration = revision.as_ref().map_or(1, |r| r.iteration + 1);

    // Merge: fresh results replace a Duke's entry; on a failed revision the
    // previous proposal stays (never lose work).
    let mut entries: BTreeMap<String, InboxEntry> = previous_manifest
        .as_ref()
        .map(|m| {
            m.entries
                .iter()
                .map(|e| (e.duke_name.clone(), e.clone()))
                .collect()
        })
        .unwrap_or_default();
    let mut out = ArtifactDir::begin(&inbox_dir)?;
    let mut fresh: BTreeSet<String> = BTreeSet::new();
    for p in &run.submitted {
        let stem = archon_core::ids::slug(&p.duke_name);
        let (md, json) = (
            format!("proposal_{stem}.md"),
            format!("proposal_{stem}.json"),
        );
        out.write_text(&md, &markdown::render(p))?;
        out.write_json(&json, p)?;
        fresh.insert(p.duke_name.clone());
        entries.insert(
            p.duke_name.clone(),
            InboxEntry {
                duke_name: p.duke_name.clone(),
                duke_id: p.duke_id.clone(),
                duke_abbreviation: p.duke_abbreviation.clone(),
                status: "submitted".into(),
                proposal_id: Some(p.proposal_id.clone()),
                iteration: p.iteration,
                markdown: Some(md),
                json: Some(json),
                reason: None,
            },
        );
        previous.insert(p.duke_name.clone(), p.clone());
    }
    for f in &run.failed {
        let keep_previous = revision.is_some() && previous.contains_key(&f.duke_name);
        if !keep_previous {
            previous.remove(&f.duke_name);
            entries.insert(
                f.duke_name.clone(),
                InboxEntry {
                    duke_name: f.duke_name.clone(),
                    duke_id: f.duke_id.clone(),
                    duke_abbreviation: f.duke_abbreviation.clone(),
                    status: "failed".into(),
                    proposal_id: None,
                    iteration,
                    markdown: None,
                    json: None,
                    reason: Some(f.reason.clone()),
                },
            );
        }
    }
    for e in entries
        .values()
        .filter(|e| e.status == "submitted" && !fresh.contains(&e.duke_name))
    {
        for rel in [&e.markdown, &e.json].into_iter().flatten() {
            safe_component(rel, INBOX_MANIFEST, "$.entries[]")?;
            out.adopt(rel)?;
        }
    }
    // Canonical order: roster order of the Dukes.
    let ordered: Vec<InboxEntry> = slots
        .iter()
        .filter_map(|s| entries.remove(&s.archon.name))
        .collect();
    let mut answered = previous_manifest
        .as_ref()
        .map(|m| m.answered_revision_requests.clone())
        .unwrap_or_default();
    if let Some(r) = &revision {
        answered.push(r.revision_request_id.clone());
    }
    let manifest = InboxManifest {
        schema_version: archon_core::SCHEMA_VERSION.into(),
        artifact_type: "proposal_inbox_manifest".into(),
        rfp_id: dossier.implementation_dossier_id.clone(),
        mandate_id: dossier.mandate_id.clone(),
        rfp_sha256: rfp_sha.clone(),
        entries: ordered,
        answered_revision_requests: answered,
        updated_at: now.clone(),
    };
    let all: Vec<&Proposal> = slots
        .iter()
        .filter_map(|s| previous.get(&s.archon.name))
        .collect();
    out.write_json(INBOX_MANIFEST, &manifest)?;
    out.write_json(
        "proposal_summary.json",
        &summary(&dossier, &all, &manifest, &now),
    )?;
    append_events(&mut out, "duke_proposal_events.jsonl", &run.events)?;
    let outcome = if all.is_empty() {
        "blocked"
    } else {
        "complete"
    };
    out.finish(
        "proposals",
        outcome,
        input_hash,
        BTreeMap::from([(RFP_FILE.to_string(), rfp_sha)]),
        now,
    )?;
    Ok(ProposalsReport {
        inbox_dir,
        submitted: run.submitted.iter().map(|p| p.duke_name.clone()).collect(),
        failed: run
            .failed
            .iter()
            .map(|f| (f.duke_name.clone(), f.reason.clone()))
            .collect(),
        total_submitted: all.len(),
        iteration,
        reused: false,
    })
}

fn summary(
    dossier: &Dossier,
    all: &[&Proposal],
    manifest: &InboxManifest,
    now: &str,
) -> serde_json::Value {
    let mut by_approach: BTreeMap<&str, usize> = BTreeMap::new();
    let mut coverage: BTreeMap<&str, usize> = dossier
        .deliverable_ids()
        .into_iter()
        .map(|d| (d, 0))
        .collect();
    let rows: Vec<serde_json::Value> = all
        .iter()
        .map(|p| {
            *by_approach.entry(&p.content.approach).or_default() += 1;
            for d in dossier.deliverable_ids() {
                if p.content.tactics.iter().any(|t| t.deliverable_id == d) {
                    *coverage.entry(d).or_default() += 1;
                }
            }
            let f = ProposalFeatures::of(&p.content, dossier);
            serde_json::json!({
                "proposal_id": p.proposal_id, "duke_name": p.duke_name, "iteration": p.iteration,
                "approach": p.content.approach, "features": f,
            })
        })
        .collect();
    serde_json::json!({
        "schema_version": archon_core::SCHEMA_VERSION,
        "artifact_type": "proposal_summary",
        "rfp_id": dossier.implementation_dossier_id,
        "mandate_id": dossier.mandate_id,
        "submitted": all.len(),
        "failed": manifest.entries.iter().filter(|e| e.status == "failed").count(),
        "by_approach": by_approach,
        "deliverable_coverage": coverage,
        "proposals": rows,
        "created_at": now,
    })
}

/// Reads every submitted proposal of the inbox and checks it (JSON against the
/// dossier; the markdown must carry the same tactic ids, as the bridge will read it).
pub fn read_proposals(
    mandate_dir: &Path,
    dossier: &Dossier,
    rfp_sha: &str,
    roster: &Roster,
) -> Result<(InboxManifest, Vec<Proposal>), AdminError> {
    let inbox_dir = mandate_dir.join(INBOX_DIR);
    let manifest_path = inbox_dir.join(INBOX_MANIFEST);
    if !manifest_path.is_file() {
        return Err(AdminError::Usage(format!(
            "{} is missing; run `archon proposals` first",
            manifest_path.display()
        )));
    }
    let manifest: InboxManifest = read_json(&manifest_path)?;
    if manifest.rfp_sha256 != rfp_sha {
        return Err(AdminError::input(
            manifest_path.display().to_string(),
            "$.rfp_sha256",
            "the proposals answer a different rfp.json; run `archon proposals` again",
        ));
    }
    let dukes = proposals::duke_slots(roster);
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, e) in manifest
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.status == "submitted")
    {
        let at = format!("$.entries[{i}]");
        let src = manifest_path.display().to_string();
        let (Some(json), Some(md)) = (&e.json, &e.markdown) else {
            errors.push(InputError::new(
                &src,
                &at,
                "a submitted entry needs json and markdown",
            ));
            continue;
        };
        safe_component(json, &src, &format!("{at}.json"))?;
        safe_component(md, &src, &format!("{at}.markdown"))?;
        let path = inbox_dir.join(json);
        let p: Proposal = read_json(&path)?;
        let source = path.display().to_string();
        let Some(duke) = dukes.iter().find(|d| d.archon.name == p.duke_name) else {
            errors.push(InputError::new(
                &source,
                "$.duke_name",
                format!("{:?} is not a Duke of the roster", p.duke_name),
            ));
            continue;
        };
        if p.duke_abbreviation != duke.abbreviation {
            errors.push(InputError::new(
                &source,
                "$.duke_abbreviation",
                format!(
                    "expected {:?} for Duke {}",
                    duke.abbreviation, duke.archon.name
                ),
            ));
        }
        errors.extend(p.content.validate(&source, &duke.abbreviation, dossier));
        let md_path = inbox_dir.join(md);
        let parsed = markdown::parse(&archon_store::read_text(&md_path)?);
        let md_ids: Vec<&str> = parsed
            .tactics
            .iter()
            .map(|t| t.tactic_id.as_str())
            .collect();
        let json_ids: Vec<&str> = p
            .content
            .tactics
            .iter()
            .map(|t| t.tactic_id.as_str())
            .collect();
        if md_ids != json_ids {
            errors.push(InputError::new(
                md_path.display().to_string(),
                "## Tactics",
                format!("tactic ids {md_ids:?} differ from {json}'s {json_ids:?}"),
            ));
        }
        out.push(p);
    }
    if !errors.is_empty() {
        return Err(InputErrors(errors).into());
    }
    Ok((manifest, out))
}

// --------------------------------------------------------------------- select

pub struct SelectCliOptions {
    pub max_iterations: u32,
    pub top_n: usize,
}

#[derive(Debug, Clone)]
pub struct SelectReport {
    pub selection_dir: PathBuf,
    pub result: SelectionResult,
    pub reused: bool,
}

pub fn select(
    mandate_dir: &Path,
    opts: &SelectCliOptions,
    roster: &Roster,
    agents: &Agents,
    clock: &Clock,
) -> Result<SelectReport, AdminError> {
    if opts.max_iterations == 0 {
        return Err(AdminError::Usage(
            "--max-iterations must be at least 1".into(),
        ));
    }
    if opts.top_n == 0 {
        return Err(AdminError::Usage("--top-n must be at least 1".into()));
    }
    let (dossier, rfp_sha) = read_dossier(mandate_dir)?;
    let (inbox, proposals) = read_proposals(mandate_dir, &dossier, &rfp_sha, roster)?;
    let inbox_sha = sha256_hex(bytes_of(&mandate_dir.join(INBOX_DIR).join(INBOX_MANIFEST))?);
    let selection_dir = mandate_dir.join(SELECTION_DIR);
    let previous_path = selection_dir.join(SELECTION_FILE);
    let previous: Option<SelectionResult> = if previous_path.is_file() {
        Some(read_json(&previous_path)?)
    } else {
        None
    };
    let (iteration, previous_iterations) = match &previous {
        Some(p)
            if p.outcome == SelectionOutcome::RevisionRequested
                && p.revision_request_id
                    .as_ref()
                    .is_some_and(|r| inbox.answered_revision_requests.contains(r)) =>
        {
            let mut history = p.previous_iterations.clone();
            history.push(IterationRecord {
                iteration: p.iteration,
                selection_id: p.selection_id.clone(),
                outcome: p.outcome,
                revision_request_id: p.revision_request_id.clone(),
            });
            (p.iteration + 1, history)
        }
        Some(p) => (p.iteration, p.previous_iterations.clone()),
        None => (1, Vec::new()),
    };
    let input_hash = sha256_hex(format!(
        "select|{rfp_sha}|{inbox_sha}|{}|{}|{}|{}|{iteration}",
        agents.seed().0,
        agents.backend_name(),
        opts.max_iterations,
        opts.top_n
    ));
    if let (Some(_), Some(p)) = (reusable(&selection_dir, &input_hash), &previous) {
        return Ok(SelectReport {
            selection_dir,
            result: p.clone(),
            reused: true,
        });
    }
    let presidents: Vec<_> = roster.of_rank(Rank::President).collect();
    let now = clock.stamp();
    let run = select::run(
        &dossier,
        &proposals,
        &presidents,
        agents,
        &SelectOptions {
            iteration,
            max_iterations: opts.max_iterations,
            top_n: opts.top_n,
            previous_iterations,
        },
        &now,
    );
    agents.server_failed()?;
    let mut out = ArtifactDir::begin(&selection_dir)?;
    out.write_json(SELECTION_FILE, &run.result)?;
    out.write_text("selection_result.md", &select::render_markdown(&run.result))?;
    for s in &run.scores {
        out.write_json(
            &format!("scores/{}.json", archon_core::ids::slug(&s.president_name)),
            s,
        )?;
    }
    if let Some(a) = &run.acceptance {
        out.write_json("plan_acceptance.json", a)?;
    }
    if let Some(r) = &run.revision {
        out.write_json(REVISION_FILE, r)?;
    }
    if let Some(e) = &run.escalation {
        out.write_json("conclave_escalation.json", e)?;
    }
    append_events(&mut out, "selection_events.jsonl", &run.events)?;
    let inputs = BTreeMap::from([
        (RFP_FILE.to_string(), rfp_sha),
        (format!("{INBOX_DIR}/{INBOX_MANIFEST}"), inbox_sha),
    ]);
    out.finish(
        "select",
        run.result.outcome.stage_outcome(),
        input_hash,
        inputs,
        now,
    )?;
    Ok(SelectReport {
        selection_dir,
        result: run.result,
        reused: false,
    })
}
