//! The execution function `f(input) -> complete | blocked | escalated`
//! (doctrine/process.md): the Input Validation and Preconditions preambles,
//! Steps 1-3 delegated with idempotent reuse, Step 4 publication, and the
//! Escalation return path. Exactly one outcome per invocation; the function does
//! not count its invocations (retry policy belongs to the caller).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use archon_artifacts::task_result::{
    self, AcceptanceTestResult, Audit, Checksum, Deliverable, Effort, TaskResult,
};
use archon_core::clock::Clock;
use archon_core::ids::safe_component;
use archon_core::input::InputError;
use archon_core::seed::{sha256_hex, Seed};
use archon_store::artifact_dir::to_json_bytes;

use crate::delegate::{
    Delegate, DelegateFailure, OutcomeCheck, Phase, PhaseRequest, PhaseWork, Verification,
    WorkspaceFile,
};
use crate::handoff::{Handoff, HandoffInput};
use crate::ledger::{
    Lease, LedgerEntry, LedgerError, LedgerTask, Move, Stop, TaskLedger, TaskState,
};
use crate::phase::{self, PhaseRecord, Reuse};
use crate::report::{
    ArtifactRef, Blocker, BlockerCategory, EventLedger, EvidenceBundle, ExecutionStageReport,
    Issues, Metadata, OutcomeSection, OutcomeValue, PhaseEntry, PhaseEvidence, PhaseStatus,
    RoutedDefect, Scope, ScopeItem, ScopeStatus, WorkPerformed,
};
use crate::workspace::{check_relative, diff, Files, FilesError};

/// The role that runs this function.
pub const EXECUTION_LEAD: &str = "execution-lead";
/// The caller: owner of input problems and of the retry policy.
pub const CALLER: &str = "tech-lead";
/// Largest prior artifact passed to a delegate as text.
const MAX_PRIOR_FILE_BYTES: usize = 256 * 1024;

/// Everything injected into the function.
pub struct Services<'a> {
    pub clock: &'a Clock,
    pub seed: Seed,
    pub files: &'a dyn Files,
    pub ledger: &'a mut dyn TaskLedger,
    pub delegate: &'a dyn Delegate,
    /// Who holds the task's execution lease while this runs, as the ledger
    /// records it: derived from the task and the run, never naming a process
    /// ([`crate::governance_ledger::lease_holder`]).
    pub lease_holder: &'a str,
}

/// The function's return value: one report, and the reported result when complete.
#[derive(Debug, Clone)]
pub struct Execution {
    pub report: ExecutionStageReport,
    pub task_result: Option<TaskResult>,
    /// Markdown and JSON paths the report was written to; `None` when the report path was missing.
    pub written: Option<(PathBuf, PathBuf)>,
}

impl Execution {
    pub fn outcome(&self) -> OutcomeValue {
        self.report.outcome.outcome
    }
}

/// Errors that are not outcomes: hostile input and I/O that could not be done.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Files(#[from] FilesError),
    /// Another execution of the task is running; nothing was done.
    #[error("task {task_ref} is being executed by {holder}: refused before running anything")]
    Leased { task_ref: String, holder: String },
    /// The delegate's model server failed: no outcome, no report.
    #[error("the model server failed: {0}")]
    ServerFailed(String),
}

/// How the body ended, before publication.
enum Ending {
    Complete,
    Blocked(Vec<Blocker>),
    Escalated(Vec<Blocker>),
}

/// The JSON report path beside the markdown one.
pub fn json_report_path(report_path: &Path) -> PathBuf {
    match report_path.extension() {
        Some(ext) if ext == "md" => report_path.with_extension("json"),
        _ => PathBuf::from(format!("{}.json", report_path.display())),
    }
}

/// Runs the execution stage for one handoff.
pub fn execute(input: &HandoffInput, services: Services<'_>) -> Result<Execution, ExecuteError> {
    if let Some(task_ref) = input.task_ref.as_deref() {
        // The task ref names the records directory in the workspace.
        safe_component(task_ref.trim(), "handoff", "$.task_ref")?;
    }
    let mut run = Run {
        started_at: services.clock.stamp(),
        s: services,
        entries: Vec::new(),
        records: Vec::new(),
        evidence: Vec::new(),
        item: Vec::new(),
        project: Vec::new(),
        delegations: 0,
        verified: 0,
        task_state: None,
        leased: None,
    };
    let handoff = input.validate();
    let ending = match &handoff {
        Err(missing) => {
            run.load_state(input.task_ref.as_deref())?;
            let names: Vec<&str> = missing.iter().map(|f| f.as_str()).collect();
            Ending::Blocked(vec![Blocker {
                category: BlockerCategory::InputValidation,
                detail: format!("missing required input fields: {}", names.join(", ")),
                owner: CALLER.into(),
                next_action: format!(
                    "supply {} in the handoff and invoke again",
                    names.join(", ")
                ),
            }])
        }
        Ok(handoff) => match run.body(handoff) {
            Err(e @ ExecuteError::ServerFailed(_)) => {
                run.release_lease()?;
                return Err(e);
            }
            ending => ending?,
        },
    };
    run.publish(input, handoff.as_ref().ok(), ending)
}

struct Run<'a> {
    s: Services<'a>,
    started_at: String,
    entries: Vec<PhaseEntry>,
    /// Records of the phases that passed, in order.
    records: Vec<PhaseRecord>,
    evidence: Vec<PhaseEvidence>,
    item: Vec<LedgerEntry>,
    project: Vec<LedgerEntry>,
    delegations: u32,
    verified: u32,
    /// The task's state in the ledger as last known.
    task_state: Option<TaskState>,
    /// The task whose execution lease this run holds.
    leased: Option<String>,
}

impl Run<'_> {
    fn item_event(&mut self, event: &str, detail: String) {
        self.item.push(LedgerEntry {
            event: event.into(),
            at: self.s.clock.stamp(),
            detail,
        });
    }

    fn load_state(&mut self, task_ref: Option<&str>) -> Result<Option<LedgerTask>, ExecuteError> {
        let Some(task_ref) = task_ref.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        let task = self.s.ledger.load_task(task_ref)?;
        self.task_state = task.as_ref().map(|t| t.state);
        Ok(task)
    }

    /// Preconditions, then Steps 1-3.
    fn body(&mut self, handoff: &Handoff) -> Result<Ending, ExecuteError> {
        let task = self.load_state(Some(&handoff.task_ref))?;
        let blockers = preconditions(handoff, task.as_ref(), self.s.files);
        if !blockers.is_empty() {
            return Ok(Ending::Blocked(blockers));
        }
        // A task being executed is leased, so a second execution is refused before
        // it runs anything. A reported task is only re-verified (its publication is
        // idempotent) and leaves the ledger untouched. The lease is not in the
        // report's Event Ledger: it guards the execution, it is no lifecycle move.
        if self.task_state.is_some_and(TaskState::is_executable) {
            match self
                .s
                .ledger
                .take_lease(&handoff.task_ref, self.s.lease_holder, self.s.clock)?
            {
                Lease::Granted(_) => self.leased = Some(handoff.task_ref.clone()),
                Lease::HeldBy(holder) => {
                    return Err(ExecuteError::Leased {
                        task_ref: handoff.task_ref.clone(),
                        holder,
                    })
                }
            }
        }
        if self.task_state == Some(TaskState::Accepted) {
            let entry =
                self.s
                    .ledger
                    .mark_in_progress(&handoff.task_ref, EXECUTION_LEAD, self.s.clock)?;
            self.project.push(entry);
            self.task_state = Some(TaskState::InProgress);
        } else if let Some(entry) = self
            .s
            .ledger
            .earlier_entry(&handoff.task_ref, Move::Start)?
        {
            self.project.push(entry);
        }
        let workspace = Path::new(&handoff.workspace);
        let task_file = phase::records_dir(workspace, &handoff.task_ref).join("task.json");
        self.s.files.write(&task_file, &to_json_bytes(handoff))?;

        for phase in Phase::ALL {
            let basis = phase::basis(handoff, phase, self.records.last());
            match phase::check_record(self.s.files, workspace, &handoff.task_ref, phase, &basis)? {
                Reuse::Valid(record) => {
                    self.reuse(*record);
                    continue;
                }
                Reuse::Invalid(reason) => self.item_event(
                    "execution.phase.record_invalid",
                    format!("{}: {reason}; delegating again", phase.label()),
                ),
                Reuse::Absent => {}
            }
            if let Some(ending) = self.delegate(handoff, phase, basis, &task_file)? {
                return Ok(ending);
            }
        }
        let missing = self.missing_deliverables(handoff)?;
        if !missing.is_empty() {
            return Ok(Ending::Blocked(vec![missing_evidence(format!(
                "deliverables the task names are not in the workspace: {}",
                missing.join(", ")
            ))]));
        }
        Ok(Ending::Complete)
    }

    /// The task's named deliverables (see [`named_deliverables`]) absent from the workspace.
    fn missing_deliverables(&self, handoff: &Handoff) -> Result<Vec<String>, ExecuteError> {
        let workspace = Path::new(&handoff.workspace);
        let mut missing = Vec::new();
        for rel in named_deliverables(handoff) {
            if self.s.files.read(&workspace.join(&rel))?.is_none() {
                missing.push(rel);
            }
        }
        Ok(missing)
    }

    /// Verifies instead of delegating: the record's artifacts matched their sha256.
    fn reuse(&mut self, record: PhaseRecord) {
        self.verified += 1;
        let phase = record.phase;
        self.item_event(
            "execution.phase.verified",
            format!(
                "{}: {} artifact(s) match their recorded sha256; not delegated again",
                phase.label(),
                record.files.len()
            ),
        );
        self.entries.push(PhaseEntry {
            step: phase.step(),
            phase,
            delegate: Some(record.delegate.clone()),
            status: PhaseStatus::Verified,
            files_changed: record.files.keys().cloned().collect(),
            commits: record.commits.clone(),
            verification: Some(format!(
                "verified {} artifact(s) by sha256; recorded verdict: {}",
                record.files.len(),
                record.verification.notes
            )),
            reason: None,
        });
        self.evidence.push(PhaseEvidence {
            phase,
            lines: record.evidence.clone(),
        });
        self.records.push(record);
    }

    /// Delegates one phase; `Some(ending)` when the function must return early.
    fn delegate(
        &mut self,
        handoff: &Handoff,
        phase: Phase,
        basis: String,
        task_file: &Path,
    ) -> Result<Option<Ending>, ExecuteError> {
        let workspace = Path::new(&handoff.workspace);
        let prior_files = self.prior_files(workspace)?;
        let baseline = self.before_phase(workspace, &handoff.task_ref, phase, &basis)?;
        let before = self.s.files.snapshot(workspace)?;
        let git_before = self.s.files.git_state(workspace);
        let request = PhaseRequest {
            phase,
            handoff,
            workspace,
            task_file,
            prior_files: &prior_files,
        };
        self.delegations += 1;
        let kind = self.s.delegate.kind();
        let outcome = self
            .s
            .delegate
            .perform(&request)
            .and_then(|work| self.write_delegate_files(workspace, work));
        let after = self.s.files.snapshot(workspace)?;
        let (mut changed, deleted) = diff(&before, &after);
        // What an interrupted earlier attempt of this phase wrote is this phase's
        // too; what another phase's record claims is not.
        let claimed = self.claimed_by_other_phases(workspace, &handoff.task_ref, phase)?;
        for (rel, sha) in diff(&baseline, &after).0 {
            if !claimed.contains(&rel) {
                changed.entry(rel).or_insert(sha);
            }
        }
        let mut files_changed: Vec<String> = changed.keys().cloned().collect();
        files_changed.extend(deleted.iter().map(|d| format!("{d} (deleted)")));
        let work = match outcome {
            Ok(work) => work,
            Err(failure) => {
                if let Some(why) = self.s.delegate.server_failed() {
                    return Err(ExecuteError::ServerFailed(why));
                }
                self.item_event(
                    "execution.phase.failed",
                    format!(
                        "{}: {} delegate failed: {}",
                        phase.label(),
                        kind,
                        failure.message
                    ),
                );
                self.entries.push(PhaseEntry {
                    step: phase.step(),
                    phase,
                    delegate: Some(kind.into()),
                    status: PhaseStatus::Failed,
                    files_changed,
                    commits: Vec::new(),
                    verification: Some(format!("delegate failed: {}", failure.message)),
                    reason: None,
                });
                self.evidence.push(PhaseEvidence {
                    phase,
                    lines: failure.evidence,
                });
                return Ok(Some(Ending::Blocked(vec![Blocker {
                    category: BlockerCategory::DelegateFailure,
                    detail: format!(
                        "Step {} ({}): the {kind} delegate failed: {}",
                        phase.step(),
                        phase.role(),
                        failure.message
                    ),
                    owner: CALLER.into(),
                    next_action: "inspect the delegate evidence, fix the delegate or its environment, and invoke again (verified steps are reused)".into(),
                }])));
            }
        };
        let commits = match (&git_before, self.s.files.git_state(workspace)) {
            (Some(b), Some(a)) => match a.head.as_deref() {
                Some(head) if a.head != b.head => {
                    self.s
                        .files
                        .commits_between(workspace, b.head.as_deref(), head)
                }
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        let (mut verification, outcome_checks) = match phase {
            Phase::Validation => judge_outcomes(&handoff.expected_outcomes, &work),
            _ => (work.verification.clone(), Vec::new()),
        };
        // A step that says it passed but left no artifact has shown nothing.
        let no_artifact = phase != Phase::Validation && verification.passed && changed.is_empty();
        if no_artifact {
            verification = Verification {
                passed: false,
                notes: format!(
                    "{}; but no file in the workspace was added or changed",
                    verification.notes
                ),
            };
        }
        let record = PhaseRecord {
            schema_version: archon_core::SCHEMA_VERSION.into(),
            task_ref: handoff.task_ref.clone(),
            phase,
            basis,
            delegate: kind.into(),
            files: changed,
            deleted,
            commits,
            evidence: work.evidence,
            verification,
            outcome_checks,
            recorded_at: self.s.clock.stamp(),
        };
        // Failed records are kept as evidence; check_record never reuses them.
        self.s.files.write(
            &phase::record_path(workspace, &handoff.task_ref, phase),
            &to_json_bytes(&record),
        )?;
        let passed = record.verification.passed;
        self.item_event(
            if passed {
                "execution.phase.delegated"
            } else {
                "execution.phase.failed"
            },
            format!(
                "{}: {kind} delegate, {} file(s) changed, verification {}",
                phase.label(),
                files_changed.len(),
                if passed { "passed" } else { "failed" }
            ),
        );
        self.entries.push(PhaseEntry {
            step: phase.step(),
            phase,
            delegate: Some(kind.into()),
            status: if passed {
                PhaseStatus::Delegated
            } else {
                PhaseStatus::Failed
            },
            files_changed,
            commits: record.commits.clone(),
            verification: Some(format!(
                "{}: {}",
                if passed { "passed" } else { "failed" },
                record.verification.notes
            )),
            reason: None,
        });
        self.evidence.push(PhaseEvidence {
            phase,
            lines: record.evidence.clone(),
        });
        if passed {
            self.records.push(record);
            return Ok(None);
        }
        if no_artifact {
            return Ok(Some(Ending::Blocked(vec![missing_evidence(format!(
                "Step {} ({}) exited as passed but produced no deliverable: no file in the workspace was added or changed",
                phase.step(),
                phase.role()
            ))])));
        }
        if phase == Phase::Validation {
            let failed: Vec<&OutcomeCheck> =
                record.outcome_checks.iter().filter(|c| !c.passed).collect();
            let blockers = failed
                .iter()
                .map(|c| Blocker {
                    category: BlockerCategory::ValidationFailure,
                    detail: format!("expected outcome not met: {} ({})", c.expected_outcome, c.notes),
                    owner: CALLER.into(),
                    next_action: "decide: correct the task or the implementation and invoke again, or route the outcome to its owner".into(),
                })
                .collect();
            self.records.push(record);
            return Ok(Some(Ending::Escalated(blockers)));
        }
        Ok(Some(Ending::Blocked(vec![Blocker {
            category: BlockerCategory::DelegateFailure,
            detail: format!(
                "Step {} ({}) did not pass: {}",
                phase.step(),
                phase.role(),
                record.verification.notes
            ),
            owner: CALLER.into(),
            next_action: format!(
                "review the {} evidence, clarify the task if needed, and invoke again",
                phase.role()
            ),
        }])))
    }

    /// Files the records of the other phases list (whatever their basis).
    fn claimed_by_other_phases(
        &self,
        workspace: &Path,
        task_ref: &str,
        phase: Phase,
    ) -> Result<BTreeSet<String>, ExecuteError> {
        let mut claimed = BTreeSet::new();
        for other in Phase::ALL.into_iter().filter(|p| *p != phase) {
            if let Some(bytes) = self
                .s
                .files
                .read(&phase::record_path(workspace, task_ref, other))?
            {
                if let Ok(record) = serde_json::from_slice::<PhaseRecord>(&bytes) {
                    claimed.extend(record.files.into_keys());
                }
            }
        }
        Ok(claimed)
    }

    /// The workspace as it was before `phase` first ran on this basis. Kept in the
    /// records before the delegate runs, so a phase interrupted after its delegate
    /// wrote files and delegated again still counts those files as its own.
    fn before_phase(
        &self,
        workspace: &Path,
        task_ref: &str,
        phase: Phase,
        basis: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, ExecuteError> {
        let path = phase::baseline_path(workspace, task_ref, phase);
        if let Some(bytes) = self.s.files.read(&path)? {
            let text = String::from_utf8_lossy(&bytes);
            if let Ok(kept) = serde_json::from_str::<phase::Baseline>(&text) {
                if kept.basis == basis {
                    return Ok(kept.files);
                }
            }
        }
        let files = self.s.files.snapshot(workspace)?;
        let baseline = phase::Baseline {
            basis: basis.to_string(),
            files,
        };
        self.s.files.write(&path, &to_json_bytes(&baseline))?;
        Ok(baseline.files)
    }

    /// Writes the files an agent delegate answered with; an unsafe path is the delegate's failure.
    fn write_delegate_files(
        &self,
        workspace: &Path,
        work: PhaseWork,
    ) -> Result<PhaseWork, DelegateFailure> {
        for file in &work.writes {
            check_relative(&file.path).map_err(|m| DelegateFailure {
                message: format!("the delegate answered an unsafe path: {m}"),
                evidence: work.evidence.clone(),
            })?;
        }
        for file in &work.writes {
            self.s
                .files
                .write(&workspace.join(&file.path), file.content.as_bytes())
                .map_err(|e| DelegateFailure {
                    message: format!("writing the delegate's file: {e}"),
                    evidence: work.evidence.clone(),
                })?;
        }
        Ok(work)
    }

    /// The artifacts of the phases done so far, as text for the next delegate.
    fn prior_files(&self, workspace: &Path) -> Result<Vec<WorkspaceFile>, ExecuteError> {
        let mut out = Vec::new();
        for record in &self.records {
            for rel in record.files.keys() {
                if let Some(bytes) = self.s.files.read(&workspace.join(rel))? {
                    let content = if bytes.len() > MAX_PRIOR_FILE_BYTES {
                        format!("({} bytes, too large to include)", bytes.len())
                    } else {
                        String::from_utf8_lossy(&bytes).into_owned()
                    };
                    out.push(WorkspaceFile {
                        path: rel.clone(),
                        content,
                    });
                }
            }
        }
        Ok(out)
    }

    /// Step 4: record the outcome in the ledger, append the item trail, write the report.
    fn publish(
        mut self,
        input: &HandoffInput,
        handoff: Option<&Handoff>,
        ending: Ending,
    ) -> Result<Execution, ExecuteError> {
        let (outcome, blockers) = match ending {
            Ending::Complete => (OutcomeValue::Complete, Vec::new()),
            Ending::Blocked(b) => (OutcomeValue::Blocked, b),
            Ending::Escalated(b) => (OutcomeValue::Escalated, b),
        };
        let reason = match outcome {
            OutcomeValue::Complete => "not reached",
            _ if self.entries.is_empty() => match blockers.first().map(|b| b.category) {
                Some(BlockerCategory::InputValidation) => "input validation failed",
                _ => "preconditions not met",
            },
            _ => "an earlier step did not pass",
        };
        for phase in Phase::ALL.into_iter().skip(self.entries.len()) {
            self.entries.push(PhaseEntry {
                step: phase.step(),
                phase,
                delegate: None,
                status: PhaseStatus::NotAttempted,
                files_changed: Vec::new(),
                commits: Vec::new(),
                verification: None,
                reason: Some(reason.into()),
            });
        }
        let checks: Vec<OutcomeCheck> = self
            .records
            .iter()
            .find(|r| r.phase == Phase::Validation)
            .map(|r| r.outcome_checks.clone())
            .unwrap_or_default();

        let task_ref = input.task_ref.as_deref().map(str::trim).unwrap_or_default();
        let task_result = match (outcome, handoff) {
            (OutcomeValue::Complete, Some(h)) => Some(self.task_result(h, &checks)?),
            _ => None,
        };
        if let Some(result) = &task_result {
            // Publishing is idempotent too: a result already reported is verified, not sent twice.
            let earlier = match self.task_state {
                Some(TaskState::Reported) => self.s.ledger.earlier_entry(task_ref, Move::Report)?,
                _ => None,
            };
            let entry = match earlier {
                Some(entry) => entry,
                None => self
                    .s
                    .ledger
                    .report_result(task_ref, result, self.s.clock)?,
            };
            self.project.push(entry);
        } else if self.task_state.is_some_and(TaskState::is_executable) {
            let stop = match outcome {
                OutcomeValue::Escalated => Stop::Escalated,
                _ => Stop::Blocked,
            };
            let entry = self.s.ledger.record_stop(
                task_ref,
                stop,
                &blockers,
                EXECUTION_LEAD,
                self.s.clock,
            )?;
            self.project.push(entry);
        }
        self.item_event("execution.outcome", outcome.as_str().to_string());

        let workspace = handoff.map(|h| PathBuf::from(&h.workspace));
        if let Some(ws) = workspace.as_deref().filter(|ws| self.s.files.is_dir(ws)) {
            let trail = phase::records_dir(ws, task_ref).join("events.jsonl");
            for entry in &self.item {
                let line = serde_json::to_string(entry).unwrap_or_default();
                self.s.files.append_line(&trail, &line)?;
            }
        }
        let worktree_path = workspace
            .as_deref()
            .filter(|ws| self.s.files.is_dir(ws))
            .and_then(|ws| self.s.files.git_state(ws))
            .map(|g| g.toplevel);
        let report = self.report(input, worktree_path, outcome, blockers, checks);
        let written = match report.metadata.report_path.as_deref() {
            Some(path) => {
                let md = PathBuf::from(path);
                let json = json_report_path(&md);
                self.s.files.write(&md, report.to_markdown().as_bytes())?;
                self.s.files.write(&json, &to_json_bytes(&report))?;
                self.write_manifest(handoff, &md, &json, outcome)?;
                Some((md, json))
            }
            None => None,
        };
        self.release_lease()?;
        Ok(Execution {
            report,
            task_result,
            written,
        })
    }

    fn release_lease(&mut self) -> Result<(), ExecuteError> {
        if let Some(task_ref) = self.leased.take() {
            self.s
                .ledger
                .release_lease(&task_ref, self.s.lease_holder, self.s.clock)?;
        }
        Ok(())
    }

    /// The report folder's stage manifest: `archon verify DIR` then notices a report
    /// (or the delegate's call records beside it) edited or deleted, and a
    /// ledger that no longer holds the outcome it anchors.
    fn write_manifest(
        &self,
        handoff: Option<&Handoff>,
        md: &Path,
        json: &Path,
        outcome: OutcomeValue,
    ) -> Result<(), ExecuteError> {
        let (Some(dir), Some(handoff)) = (md.parent(), handoff) else {
            return Ok(());
        };
        if json.parent() != Some(dir) {
            return Ok(());
        }
        let mut files = std::collections::BTreeMap::new();
        let calls = dir.join(archon_core::agent_port::CALLS_FILE);
        for path in [md, json, calls.as_path()] {
            if let (Some(name), Some(bytes)) = (path.file_name(), self.s.files.read(path)?) {
                files.insert(name.to_string_lossy().into_owned(), sha256_hex(&bytes));
            }
        }
        let task_hash = phase::task_hash(handoff);
        let manifest = archon_store::artifact_dir::StageManifest {
            schema_version: archon_core::SCHEMA_VERSION.into(),
            stage: "execute".into(),
            outcome: outcome.as_str().into(),
            input_hash: task_hash.clone(),
            inputs: [("task".to_string(), task_hash)].into(),
            files,
            trails: Default::default(),
            completed_at: self.s.clock.stamp(),
            // `archon verify` checks the ledger still holds the outcome.
            ledger_head: self.s.ledger.outcome_head(&handoff.task_ref)?,
        };
        self.s.files.write(
            &dir.join(archon_store::artifact_dir::MANIFEST_FILE),
            &to_json_bytes(&manifest),
        )?;
        Ok(())
    }

    fn task_result(
        &self,
        handoff: &Handoff,
        checks: &[OutcomeCheck],
    ) -> Result<TaskResult, ExecuteError> {
        let workspace = Path::new(&handoff.workspace);
        let mut deliverables = Vec::new();
        for record in self.records.iter().filter(|r| r.phase != Phase::Validation) {
            for (rel, sha) in &record.files {
                let path = workspace.join(rel);
                let size = self.s.files.read(&path)?.map_or(0, |b| b.len() as u64);
                deliverables.push(deliverable(
                    rel,
                    &path,
                    sha.clone(),
                    size,
                    format!("Step {} {}", record.phase.step(), record.phase.label()),
                ));
            }
        }
        for rel in named_deliverables(handoff) {
            if deliverables.iter().any(|d| d.name == rel) {
                continue;
            }
            let path = workspace.join(&rel);
            if let Some(bytes) = self.s.files.read(&path)? {
                deliverables.push(deliverable(
                    &rel,
                    &path,
                    sha256_hex(&bytes),
                    bytes.len() as u64,
                    "named by the task; present before the steps ran".into(),
                ));
            }
        }
        let basis = self.records.last().map(|r| r.basis.as_str()).unwrap_or("");
        let now = self.s.clock.stamp();
        Ok(TaskResult {
            result_id: self
                .s
                .seed
                .uuid(&["execute", "result", &handoff.task_ref, basis])
                .to_string(),
            request_id: Some(handoff.activation_id.clone()),
            task_id: Some(handoff.task_ref.clone()),
            version: Some(task_result::TASK_RESULT_VERSION.into()),
            submitted_at: now.clone(),
            cluster_id: handoff.cluster_id.clone(),
            steward_id: handoff.handoff_issuer.clone(),
            status: "completed".into(),
            completion_summary: format!(
                "{}: all {} expected outcome(s) met; {} step(s) delegated, {} verified without delegation. {}",
                handoff.task_ref,
                checks.len(),
                self.delegations,
                self.verified,
                handoff.description
            ),
            deliverables,
            acceptance_test_results: checks
                .iter()
                .map(|c| AcceptanceTestResult {
                    test: c.expected_outcome.clone(),
                    passed: c.passed,
                    notes: Some(c.notes.clone()),
                    extra: Default::default(),
                })
                .collect(),
            issues: Some(Vec::new()),
            blockers: Some(Vec::new()),
            effort: Some(Effort {
                started_at: self.started_at.clone(),
                completed_at: now.clone(),
                estimated_hours: None,
                actual_hours: None,
                contributors_count: Some(Phase::ALL.len() as u32),
                extra: Default::default(),
            }),
            notes: None,
            feedback: None,
            audit: Some(Audit {
                created_at: now,
                trace_id: format!(
                    "exec-{}-{}",
                    handoff.task_ref,
                    basis.get(..12).unwrap_or(basis)
                ),
                extra: Default::default(),
            }),
            extra: Default::default(),
        })
    }

    fn report(
        &self,
        input: &HandoffInput,
        worktree_path: Option<String>,
        outcome: OutcomeValue,
        blockers: Vec<Blocker>,
        checks: Vec<OutcomeCheck>,
    ) -> ExecutionStageReport {
        let text = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let mut artifacts = Vec::new();
        let mut commits = Vec::new();
        for record in &self.records {
            for (path, sha) in &record.files {
                artifacts.push(ArtifactRef {
                    path: path.clone(),
                    sha256: sha.clone(),
                    phase: record.phase,
                });
            }
            commits.extend(record.commits.iter().cloned());
        }
        let must_have = input
            .expected_outcomes
            .iter()
            .map(|o| o.trim())
            .filter(|o| !o.is_empty())
            .map(|o| ScopeItem {
                expected_outcome: o.to_string(),
                status: match checks.iter().find(|c| c.expected_outcome == o) {
                    Some(c) if c.passed => ScopeStatus::Met,
                    Some(_) => ScopeStatus::NotMet,
                    None => ScopeStatus::NotChecked,
                },
            })
            .collect();
        let mut accepted_risks = Vec::new();
        if self.s.delegate.kind() == "command" && self.delegations > 0 {
            accepted_risks.push(
                "the delegate command ran unsandboxed in the workspace with the invoking user's permissions".to_string(),
            );
        }
        if self.verified > 0 {
            accepted_risks.push(format!(
                "{} step(s) reused from earlier output verified by sha256, not re-run",
                self.verified
            ));
        }
        let (critical, upstream): (Vec<&Blocker>, Vec<&Blocker>) = blockers.iter().partition(|b| {
            matches!(
                b.category,
                BlockerCategory::DelegateFailure
                    | BlockerCategory::ValidationFailure
                    | BlockerCategory::MissingEvidence
            )
        });
        let unresolved_decisions = match outcome {
            OutcomeValue::Escalated => vec![format!(
                "{} expected outcome(s) not met: correct and invoke again, or re-scope the task",
                checks.iter().filter(|c| !c.passed).count()
            )],
            _ => Vec::new(),
        };
        let owners: BTreeSet<&str> = blockers.iter().map(|b| b.owner.as_str()).collect();
        let mut next_actions: Vec<&str> = Vec::new();
        for b in &blockers {
            if !next_actions.contains(&b.next_action.as_str()) {
                next_actions.push(&b.next_action);
            }
        }
        let recommended_next_action = match outcome {
            OutcomeValue::Complete => format!(
                "settle the reported result of {} in the governance ledger",
                text(&input.task_ref).unwrap_or_default()
            ),
            _ => next_actions.join("; "),
        };
        ExecutionStageReport {
            schema_version: archon_core::SCHEMA_VERSION.into(),
            metadata: Metadata {
                date: self.started_at.clone(),
                item_id: text(&input.task_ref),
                workspace: text(&input.workspace),
                worktree_path,
                report_path: text(&input.report_path),
                input_source: text(&input.input_source),
                handoff_issuer: text(&input.handoff_issuer),
            },
            work_performed: WorkPerformed {
                phases: self.entries.clone(),
                delegations: self.delegations,
                verified_without_delegation: self.verified,
            },
            evidence_bundle: EvidenceBundle {
                artifacts,
                commits,
                delegate_evidence: self.evidence.clone(),
                verification_results: checks,
            },
            issues: Issues {
                critical: critical.iter().map(|b| b.detail.clone()).collect(),
                unresolved_decisions,
                upstream_defects: upstream
                    .iter()
                    .map(|b| RoutedDefect {
                        defect: b.detail.clone(),
                        owner: b.owner.clone(),
                    })
                    .collect(),
            },
            scope: Scope {
                must_have,
                nice_to_have_deferrals: Vec::new(),
                accepted_risks,
            },
            outcome: OutcomeSection {
                outcome,
                blocker_ownership: (!owners.is_empty())
                    .then(|| owners.into_iter().collect::<Vec<_>>().join(", ")),
                recommended_next_action,
                blockers,
            },
            event_ledger: EventLedger {
                project: self.project.clone(),
                item: self.item.clone(),
            },
        }
    }
}

/// The Preconditions preamble: every unmet precondition with its owner and next action.
fn preconditions(handoff: &Handoff, task: Option<&LedgerTask>, files: &dyn Files) -> Vec<Blocker> {
    let mut blockers = Vec::new();
    let blocker = |detail: String, owner: &str, next_action: String| Blocker {
        category: BlockerCategory::Precondition,
        detail,
        owner: owner.into(),
        next_action,
    };
    match task {
        None => blockers.push(blocker(
            format!("task {} is not in the governance ledger", handoff.task_ref),
            CALLER,
            "correct the task ref, or activate and route the task before invoking".into(),
        )),
        Some(task) => {
            // A reported task is re-verified (idempotent publish), not re-executed.
            if !task.state.is_executable() && task.state != TaskState::Reported {
                let (owner, next) = match task.state {
                    TaskState::Routed => (
                        format!("cluster steward of {}", handoff.cluster_id),
                        format!("accept or decline task {}", handoff.task_ref),
                    ),
                    TaskState::Authorized | TaskState::Activated => (
                        CALLER.to_string(),
                        "route the task to a cluster and obtain its consent".to_string(),
                    ),
                    _ => (
                        CALLER.to_string(),
                        format!(
                            "task is {}: nothing to execute; settle or reroute it instead",
                            task.state.as_str()
                        ),
                    ),
                };
                blockers.push(blocker(
                    format!(
                        "task {} is {}, not accepted or in_progress",
                        handoff.task_ref,
                        task.state.as_str()
                    ),
                    &owner,
                    next,
                ));
            }
            let mismatch = |field: &str, given: &str, known: &Option<String>| {
                known
                    .as_deref()
                    .filter(|k| *k != given)
                    .map(|k| format!("{field} {given} differs from the ledger's {k}"))
            };
            let mismatches: Vec<String> = [
                mismatch("activation_id", &handoff.activation_id, &task.activation_id),
                mismatch("cluster_id", &handoff.cluster_id, &task.cluster_id),
            ]
            .into_iter()
            .flatten()
            .collect();
            if !mismatches.is_empty() {
                blockers.push(blocker(
                    mismatches.join("; "),
                    CALLER,
                    "invoke with the task's activation id and cluster id from the ledger".into(),
                ));
            }
        }
    }
    if !files.is_dir(Path::new(&handoff.workspace)) {
        blockers.push(blocker(
            format!("workspace {} does not exist", handoff.workspace),
            CALLER,
            "create the workspace or pass an existing one, and invoke again".into(),
        ));
    }
    blockers
}

/// Step 3's verdict: every expected outcome must have a passing check, in the task's order.
fn judge_outcomes(expected: &[String], work: &PhaseWork) -> (Verification, Vec<OutcomeCheck>) {
    let checks: Vec<OutcomeCheck> = expected
        .iter()
        .map(|outcome| {
            work.outcome_checks
                .iter()
                .find(|c| c.expected_outcome.trim() == outcome)
                .cloned()
                .unwrap_or_else(|| OutcomeCheck {
                    expected_outcome: outcome.clone(),
                    passed: false,
                    notes: "not checked by the validator".into(),
                })
        })
        .collect();
    let met = checks.iter().filter(|c| c.passed).count();
    let passed = work.verification.passed && met == checks.len();
    let notes = format!(
        "{met}/{} expected outcome(s) met; validator: {}",
        checks.len(),
        work.verification.notes
    );
    (Verification { passed, notes }, checks)
}

/// A blocker for evidence that "complete" would need and the run did not produce.
fn missing_evidence(detail: String) -> Blocker {
    Blocker {
        category: BlockerCategory::MissingEvidence,
        detail,
        owner: CALLER.into(),
        next_action: "make the delegate produce the missing evidence (files in the workspace, checks with output) and invoke again (verified steps are reused)".into(),
    }
}

/// The workspace files a task names as deliverables: each `` `path` `` in its
/// description, requirements or expected outcomes that is a plain relative path
/// to a file (it has a `/` or an extension), in order, without repeats.
pub fn named_deliverables(handoff: &Handoff) -> Vec<String> {
    let texts = std::iter::once(&handoff.description)
        .chain(&handoff.requirements)
        .chain(&handoff.expected_outcomes);
    let mut out: Vec<String> = Vec::new();
    for text in texts {
        for (i, span) in text.split('`').enumerate() {
            let looks_like_file = span.contains('/')
                || span.rsplit_once('.').is_some_and(|(stem, ext)| {
                    !stem.is_empty()
                        && !ext.is_empty()
                        && ext.chars().all(|c| c.is_ascii_alphanumeric())
                });
            if i % 2 == 1
                && looks_like_file
                && !span.contains(char::is_whitespace)
                && !span.ends_with('/')
                && check_relative(span).is_ok()
                && !out.iter().any(|o| o == span)
            {
                out.push(span.to_string());
            }
        }
    }
    out
}

/// A file the execution produced or found, as the result lists it.
fn deliverable(rel: &str, path: &Path, sha256: String, size: u64, notes: String) -> Deliverable {
    Deliverable {
        name: rel.to_string(),
        format: Some(task_result::deliverable_format(rel).into()),
        location: Some(path.display().to_string()),
        checksum: Some(Checksum {
            algorithm: "sha256".into(),
            value: sha256,
        }),
        size_bytes: Some(size),
        notes: Some(notes),
        extra: Default::default(),
    }
}
