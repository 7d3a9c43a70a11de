//! The I/O edge: reads a run root's artifacts into a [`RunReport`]. A stage that
//! has not run is `NotRun`; a file that cannot be read is `Unreadable` with the
//! error (file and JSON path), so a partial or damaged run still gets a page.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use archon_pipeline::layout::{files, plan_files, review_files};
use archon_pipeline::trace::trace_task;
use archon_pipeline::verify::{ledger_of, verify_run};
use archon_pipeline::Layout;
use archon_store::read_json;
use archon_tasks::Ledger;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::diff::mark_amendments;
use crate::model::*;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{0}: no such run directory")]
    NoRunRoot(PathBuf),
    #[error(transparent)]
    Render(#[from] crate::render::RenderError),
}

/// Reads everything the report shows from the run root `run`.
pub fn read_run(run: &Layout) -> Result<RunReport, ReportError> {
    if !run.root().is_dir() {
        return Err(ReportError::NoRunRoot(run.root().to_path_buf()));
    }
    let tasks = read_tasks(run);
    let mut executions = BTreeMap::new();
    for task in tasks.as_read().into_iter().flatten() {
        if let Some(outcome) = task.execution.as_read() {
            *executions.entry(outcome.clone()).or_insert(0) += 1;
        }
    }
    Ok(RunReport {
        review: read_review(run),
        plans: read_plans(run),
        mandates: read_mandates(run),
        tasks,
        executions,
        usage: match archon_agents::usage::scan(run.root(), &BTreeMap::new()) {
            Ok(u) if u.total.calls == 0 => Part::NotRun,
            Ok(u) => Part::Read(u.total),
            Err(e) => Part::Unreadable(e.to_string()),
        },
        verification: read_verification(run),
    })
}

/// `Read` when every part was read, else the first failure.
fn all<T>(parts: impl IntoIterator<Item = Result<T, String>>) -> Part<Vec<T>> {
    match parts.into_iter().collect::<Result<Vec<T>, String>>() {
        Ok(v) if v.is_empty() => Part::NotRun,
        Ok(v) => Part::Read(v),
        Err(e) => Part::Unreadable(e),
    }
}

/// A JSON file: `NotRun` when absent.
fn part<T: DeserializeOwned>(path: &Path) -> Part<T> {
    if !path.exists() {
        return Part::NotRun;
    }
    match read_json(path) {
        Ok(v) => Part::Read(v),
        Err(e) => Part::Unreadable(e.to_string()),
    }
}

/// A JSON file the section cannot do without.
fn required<T: DeserializeOwned>(path: &Path) -> Result<T, String> {
    read_json(path).map_err(|e| e.to_string())
}

/// A JSON file a section shows when present.
fn optional<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, String> {
    match part(path) {
        Part::NotRun => Ok(None),
        Part::Read(v) => Ok(Some(v)),
        Part::Unreadable(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct Triage {
    motions: Vec<TriagedMotion>,
}

#[derive(Deserialize)]
struct Aggregations {
    aggregations: Vec<Aggregation>,
}

#[derive(Deserialize)]
struct Ratification {
    #[serde(default)]
    summary: RatificationSummary,
    #[serde(default)]
    votes: Vec<Vote>,
}

#[derive(Deserialize)]
struct Decided {
    motions: Vec<DecidedMotion>,
}

fn read_review(run: &Layout) -> Part<Vec<ReviewSession>> {
    all(run.review_sessions().iter().map(|dir| read_session(dir)))
}

fn read_session(dir: &Path) -> Result<ReviewSession, String> {
    use review_files::*;
    let triage: Triage = required(&dir.join(TRIAGE))?;
    let aggregations: Vec<Aggregation> = optional::<Aggregations>(&dir.join(AGGREGATIONS))?
        .map(|a| a.aggregations)
        .unwrap_or_default();
    let ratification: Option<Ratification> = optional(&dir.join(RATIFICATION))?;
    let mut decided = BTreeMap::new();
    for (file, outcome) in [
        (RATIFIED, "ratified"),
        (REJECTED, "rejected"),
        (DEFERRED, "deferred"),
    ] {
        for m in optional::<Decided>(&dir.join(file))?
            .map(|d| d.motions)
            .unwrap_or_default()
        {
            decided.insert(m.mega_motion_id.clone(), (outcome, m));
        }
    }
    let mut panels: Vec<Panel> = Vec::new();
    for file in files(&dir.join(PANELS)) {
        panels.push(required(&file)?);
    }
    let votes = ratification
        .as_ref()
        .map(|r| r.votes.as_slice())
        .unwrap_or_default();
    let motions = triage
        .motions
        .into_iter()
        .map(|t| {
            let aggregation = aggregations
                .iter()
                .find(|a| a.mega_motion_id == t.mega_motion_id);
            let synthesis = aggregation.and_then(|a| a.amendment_synthesis.as_ref());
            let (outcome, decision) = match decided.remove(&t.mega_motion_id) {
                Some((o, m)) => (o.to_string(), Some(m)),
                None => ("undecided".to_string(), None),
            };
            MotionView {
                title: t.title,
                risk_tier: t.risk_tier,
                outcome,
                decided_at: decision.as_ref().and_then(|d| d.decided_at.clone()),
                reason: decision.as_ref().and_then(|d| d.reason.clone()),
                review_path: decision.as_ref().and_then(|d| d.review_path.clone()),
                stances: aggregation.map(Aggregation::stances),
                stances_before: synthesis.and_then(|s| s.before.as_ref().map(|b| b.stances())),
                route: aggregation.and_then(|a| a.route.clone()),
                amendments: synthesis
                    .map(|s| s.incorporated.clone())
                    .unwrap_or_default(),
                panel: panels
                    .iter()
                    .find(|p| p.mega_motion_id == t.mega_motion_id)
                    .cloned(),
                vote: votes
                    .iter()
                    .find(|v| v.mega_motion_id == t.mega_motion_id)
                    .cloned(),
                text: decision
                    .map(|d| mark_amendments(d.original_text.trim(), d.final_text.trim()))
                    .unwrap_or_default(),
                motion_id: t.mega_motion_id,
            }
        })
        .collect();
    Ok(ReviewSession {
        session_id: name_of(dir),
        summary: ratification.map(|r| r.summary).unwrap_or_default(),
        motions,
    })
}

fn read_plans(run: &Layout) -> Part<Vec<PlanView>> {
    let plans = run.executive_sessions().into_iter().flat_map(|session| {
        run.plans(&name_of(&session))
            .into_iter()
            .map(|dir| {
                Ok(PlanView {
                    motion_id: name_of(&dir),
                    plan: part(&dir.join(plan_files::PLAN)),
                    gates: part(&dir.join(plan_files::GATES)),
                })
            })
            .collect::<Vec<_>>()
    });
    all(plans)
}

fn read_mandates(run: &Layout) -> Part<Vec<MandateView>> {
    all(run.current_mandates().into_iter().map(|dir| {
        Ok(MandateView {
            mandate_id: name_of(&dir),
            selection: part(&Layout::selection_file(&dir)),
            decomposition: part(
                &Layout::execution_bridge(&dir).join(archon_decompose::io::SUMMARY_FILE),
            ),
        })
    }))
}

#[derive(Deserialize)]
struct ExecutionReport {
    outcome: ExecutionOutcome,
}

#[derive(Deserialize)]
struct ExecutionOutcome {
    outcome: String,
}

fn read_tasks(run: &Layout) -> Part<Vec<TaskView>> {
    let path = run.ledger();
    if !path.is_file() {
        return Part::NotRun;
    }
    let tasks = match Ledger::open_read_only(&path).and_then(|l| l.tasks()) {
        Ok(t) => t,
        Err(e) => return Part::Unreadable(format!("{}: {e}", path.display())),
    };
    all(tasks.into_iter().map(|task| {
        let execution = match part::<ExecutionReport>(&run.execution_report_json(&task.task_ref)) {
            Part::Read(r) => Part::Read(r.outcome.outcome),
            Part::NotRun => Part::NotRun,
            Part::Unreadable(e) => Part::Unreadable(e),
        };
        Ok(TaskView {
            provenance: match trace_task(run, &path, &task) {
                Ok(t) => Part::Read(t),
                Err(e) => Part::Unreadable(e.to_string()),
            },
            state: state_name(&task.state),
            task_ref: task.task_ref,
            cluster_id: task.cluster_id,
            history: task.history,
            execution,
        })
    }))
}

fn read_verification(run: &Layout) -> Verification {
    match verify_run(Some(run.root()), ledger_of(run.root()).as_deref(), &[]) {
        Ok(v) => Verification {
            ok: v.ok,
            ledger: v.ledger.map_or(Part::NotRun, Part::Read),
            manifests: v.manifests,
        },
        // The ledger could not be read at all: `archon verify` fails the same way.
        Err(e) => Verification {
            ok: false,
            ledger: Part::Unreadable(e.to_string()),
            manifests: Vec::new(),
        },
    }
}

/// A task state's serialized name (`in_progress`).
pub fn state_name(state: &archon_tasks::TaskState) -> String {
    match serde_json::to_value(state) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{state:?}"),
    }
}

fn name_of(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
