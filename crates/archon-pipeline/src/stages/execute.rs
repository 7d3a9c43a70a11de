//! `execute`: the execution stage for one accepted task of a governance
//! ledger. The handoff is assembled from the ledger's task and the options;
//! paths are recorded relative to the run root (the ledger's folder).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use archon_core::agent_port::Agents;
use archon_core::clock::Clock;
use archon_core::fan_out::Turn;
use archon_core::ids::check_file_component;
use archon_core::roster::{Archon, Rank, Roster};
use archon_core::seed::Seed;
use archon_execute::agent_delegate::AgentDelegate;
use archon_execute::command::CommandDelegate;
use archon_execute::delegate::Delegate;
use archon_execute::execute::json_report_path;
use archon_execute::governance_ledger::{lease_holder, GovernanceLedger};
use archon_execute::io::FsFiles;
use archon_execute::workspace::{Files, FilesError, GitState};
use archon_execute::{doctrine, Execution, HandoffInput, OutcomeValue, Services, TaskLedger};
use archon_store::recorded_path;

use super::WithContext;
use crate::{Layout, Outcome, PipelineError};

/// Who does a task's work. An agent delegate answers as an Earl of the roster.
pub enum Delegation<'a> {
    /// The deterministic delegate of the agent port's simulated backend.
    Simulation(&'a Roster),
    /// A model through these agents.
    Agents(&'a Agents, &'a Roster),
    /// An external program.
    Command(CommandDelegate),
}

pub struct ExecuteOptions {
    pub task_ref: String,
    /// Default: the default run root's governance.db.
    pub ledger: Option<PathBuf>,
    /// Where the work is done (the handoff requires it; it must exist).
    pub workspace: Option<PathBuf>,
    /// The Execution Stage Report (markdown, the JSON beside it); default:
    /// `execute/<TASK_REF>/execution-stage-report.md` of the ledger's run root.
    pub report: Option<PathBuf>,
    /// Who issues the handoff (the handoff requires it).
    pub issuer: Option<String>,
    /// Cluster definitions naming each cluster's steward; default: the bundled ones.
    pub cluster_dir: Option<PathBuf>,
}

/// The task, read from its ledger before any delegate is built.
pub struct OpenedTask<'t> {
    task_ref: String,
    ledger_path: PathBuf,
    ledger: GovernanceLedger<'t>,
    task: archon_execute::LedgerTask,
}

/// What an execution did, for the caller to print.
pub struct ExecuteReport {
    pub outcome: Outcome,
    pub execution: Execution,
    /// The ledger's folder, which the report's recorded paths are relative to.
    pub run_root: PathBuf,
}

impl ExecuteReport {
    /// The execution as `archon execute` prints it: each step, the blockers,
    /// the outcome and where the report is.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut o = String::new();
        let (report, execution, run_root) =
            (&self.execution.report, &self.execution, &self.run_root);
        let item = report
            .metadata
            .item_id
            .as_deref()
            .unwrap_or("(no task ref)");
        for p in &report.work_performed.phases {
            let reason = p
                .reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "  Step {} {}: {}{reason}{}",
                p.step,
                p.phase.label(),
                p.status.as_str(),
                p.verification
                    .as_deref()
                    .map(|v| format!(" — {v}"))
                    .unwrap_or_default()
            );
        }
        let _ = writeln!(
            o,
            "  delegations: {}, verified without delegation: {}",
            report.work_performed.delegations, report.work_performed.verified_without_delegation
        );
        for b in &report.outcome.blockers {
            let _ = writeln!(
                o,
                "  blocker ({}): {} — owner: {}",
                b.category.as_str(),
                b.detail,
                b.owner
            );
        }
        let _ = writeln!(o, "{item}: {}", report.outcome.outcome.as_str());
        if let Some(owner) = &report.outcome.blocker_ownership {
            let _ = writeln!(o, "blocker ownership: {owner}");
        }
        let _ = writeln!(o, "next action: {}", report.outcome.recommended_next_action);
        if let Some((md, json)) = &execution.written {
            let (md, json) = (run_root.join(md), run_root.join(json));
            let _ = writeln!(o, "report: {} ({})", md.display(), json.display());
        }
        o
    }
}

/// Opens the ledger and finds `opts.task_ref` in it; its ledger writes will
/// wait for `turn` when several tasks execute side by side.
pub fn open<'t>(
    opts: &ExecuteOptions,
    turn: Option<&'t Turn<'t>>,
) -> Result<OpenedTask<'t>, PipelineError> {
    let task_ref = opts.task_ref.trim();
    check_file_component(task_ref)
        .map_err(|m| PipelineError::BadInput(format!("TASK_REF: {m}")))?;
    let ledger_path = opts
        .ledger
        .clone()
        .unwrap_or_else(|| Layout::default().ledger());
    if !ledger_path.is_file() {
        return Err(PipelineError::BadInput(format!(
            "governance ledger {} does not exist",
            ledger_path.display()
        )));
    }
    let clusters = archon_tasks::io::load_clusters(opts.cluster_dir.as_deref()).or_fail()?;
    let ledger = GovernanceLedger::open(&ledger_path, clusters, turn).or_fail()?;
    let task = ledger.load_task(task_ref).or_fail()?.ok_or_else(|| {
        PipelineError::BadInput(format!(
            "unknown task {task_ref} in {}",
            ledger_path.display()
        ))
    })?;
    Ok(OpenedTask {
        task_ref: task_ref.to_string(),
        ledger_path,
        ledger,
        task,
    })
}

/// Executes an opened task through `delegation`.
pub fn execute(
    opened: OpenedTask<'_>,
    opts: &ExecuteOptions,
    delegation: Delegation<'_>,
    clock: &Clock,
    seed: Seed,
) -> Result<ExecuteReport, PipelineError> {
    let OpenedTask {
        task_ref,
        ledger_path,
        mut ledger,
        task,
    } = opened;
    let task_ref = task_ref.as_str();
    // The handoff, the report and the ledger's result record paths relative to
    // the run root (the ledger's folder), so they do not depend on where it is;
    // every file access resolves them against it.
    let run_root = ledger_path.parent().unwrap_or(Path::new(""));
    let report = opts
        .report
        .clone()
        .unwrap_or_else(|| Layout::new(run_root).execution_report(task_ref));
    let recorded = |p: &Path| recorded_path(Some(run_root), p);
    let recorded_report = recorded(&report);
    let input = HandoffInput {
        task_ref: Some(task_ref.to_string()),
        activation_id: task.activation_id,
        cluster_id: task.cluster_id,
        description: task.description,
        requirements: task.requirements,
        expected_outcomes: task.expected_outcomes,
        workspace: opts.workspace.as_deref().map(recorded),
        report_path: Some(recorded_report.clone()),
        input_source: Some(format!("governance ledger {}", recorded(&ledger_path))),
        handoff_issuer: opts.issuer.clone(),
    };

    let simulated;
    let (agents, command_delegate) = match delegation {
        Delegation::Command(d) => (None, Some(d.rooted_at(run_root))),
        Delegation::Agents(agents, roster) => (Some((agents, roster)), None),
        Delegation::Simulation(roster) => {
            simulated = Agents::simulated(seed);
            (Some((&simulated, roster)), None)
        }
    };
    let agent_delegate = match agents {
        None => None,
        Some((agents, roster)) => {
            let archon = execution_archon(&roster.archons, seed, task_ref)?;
            let skill = doctrine::assemble(&doctrine::shipped()).or_fail()?;
            Some(AgentDelegate::new(agents, archon, skill))
        }
    };
    let delegate: &dyn Delegate = match (&agent_delegate, &command_delegate) {
        (Some(d), _) => d,
        (None, Some(d)) => d,
        (None, None) => return Err(PipelineError::BadInput("no delegate".into())),
    };

    // The delegate's model calls, for `archon usage`, beside the report.
    let write_calls = || -> Result<(), FilesError> {
        let calls = agent_delegate.as_ref().map(|d| d.call_records());
        match calls.filter(|c| !c.is_empty()) {
            Some(calls) => {
                let path = report.with_file_name(archon_agents::usage::CALLS_FILE);
                let bytes = archon_store::artifact_dir::to_jsonl_bytes(&calls);
                FsFiles.write(&path, &bytes)
            }
            None => Ok(()),
        }
    };
    let execution = archon_execute::execute(
        &input,
        Services {
            clock,
            seed,
            files: &CallsBeforeReport {
                root: run_root,
                report_json: run_root.join(json_report_path(Path::new(&recorded_report))),
                write_calls: &write_calls,
            },
            ledger: &mut ledger,
            delegate,
            lease_holder: &lease_holder(task_ref, seed),
        },
    )
    .or_fail()?;
    Ok(ExecuteReport {
        outcome: match execution.outcome() {
            OutcomeValue::Complete => Outcome::Complete,
            OutcomeValue::Blocked => Outcome::Blocked,
            OutcomeValue::Escalated => Outcome::Escalated,
        },
        execution,
        run_root: run_root.to_path_buf(),
    })
}

/// The workspace and report files on disk, paths resolved against the run
/// root, with one rule of order: the delegate's call records are written before
/// the report's JSON, which `archon run` takes as the mark of a finished
/// execution, so a crash between the two cannot lose the records.
struct CallsBeforeReport<'a> {
    root: &'a Path,
    report_json: PathBuf,
    write_calls: &'a dyn Fn() -> Result<(), FilesError>,
}

impl Files for CallsBeforeReport<'_> {
    fn is_dir(&self, path: &Path) -> bool {
        FsFiles.is_dir(&self.root.join(path))
    }
    fn read(&self, path: &Path) -> Result<Option<Vec<u8>>, FilesError> {
        FsFiles.read(&self.root.join(path))
    }
    fn write(&self, path: &Path, bytes: &[u8]) -> Result<(), FilesError> {
        let path = self.root.join(path);
        if path == self.report_json {
            (self.write_calls)()?;
        }
        FsFiles.write(&path, bytes)
    }
    fn append_line(&self, path: &Path, line: &str) -> Result<(), FilesError> {
        FsFiles.append_line(&self.root.join(path), line)
    }
    fn snapshot(&self, root: &Path) -> Result<BTreeMap<String, String>, FilesError> {
        FsFiles.snapshot(&self.root.join(root))
    }
    fn git_state(&self, root: &Path) -> Option<GitState> {
        FsFiles.git_state(&self.root.join(root))
    }
    fn commits_between(&self, root: &Path, from: Option<&str>, to: &str) -> Vec<String> {
        FsFiles.commits_between(&self.root.join(root), from, to)
    }
}

/// The archon whose persona answers as delegate: an Earl (the rank that turns
/// tactics into tasks), chosen by the seed and the task.
fn execution_archon<'r>(
    archons: &'r [Archon],
    seed: Seed,
    task_ref: &str,
) -> Result<&'r Archon, PipelineError> {
    let earls: Vec<&Archon> = archons.iter().filter(|a| a.rank == Rank::Earl).collect();
    if earls.is_empty() {
        return Err(PipelineError::BadInput(
            "the roster has no Earl to act as execution delegate".into(),
        ));
    }
    Ok(*seed.pick(&earls, &["execute", "delegate", task_ref]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::test_support::{clock, roster};
    use archon_tasks::{ActivationRequest, Ledger, Sensitivity, Transition};

    const TASK: &str = "TASK-GUSI-001a";

    /// A run root with TASK accepted by cluster 42's steward, and a workspace.
    fn accepted_task(root: &Path) {
        let mut ledger = Ledger::open(Layout::new(root).ledger()).expect("ledger");
        let request = ActivationRequest {
            task_ref: TASK.into(),
            earl_id: "earl-raum".into(),
            cluster_id: "6e2f3a41-0042-4b42-9b42-000000000042".into(),
            description: "Design the threat intelligence schema".into(),
            requirements: vec!["Addresses FR-TECH-001".into()],
            expected_outcomes: vec!["Schema reviewed".into()],
            sensitivity: Sensitivity::Standard,
            ttl_hours: 72,
            provenance: serde_json::json!({"capability_tags": ["dev_backend"]}),
        };
        ledger
            .create_activation(request, &clock())
            .expect("activate");
        let accept = Transition::Accept;
        ledger
            .transition(TASK, accept, "steward-42", &clock())
            .expect("accept");
        std::fs::create_dir_all(root.join("ws")).expect("workspace");
    }

    fn options(root: &Path) -> ExecuteOptions {
        ExecuteOptions {
            task_ref: TASK.into(),
            ledger: Some(Layout::new(root).ledger()),
            workspace: Some(root.join("ws")),
            report: Some(root.join("reports/report.md")),
            issuer: Some("tl-1".into()),
            cluster_dir: None,
        }
    }

    #[test]
    fn records_paths_relative_to_the_ledgers_run_root() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let report = |root: &Path| {
            accepted_task(root);
            let opts = options(root);
            let task = open(&opts, None).expect("open");
            let roster = roster();
            let delegation = Delegation::Simulation(&roster);
            let done = execute(task, &opts, delegation, &clock(), Seed(9)).expect("execute");
            assert_eq!(
                done.outcome,
                Outcome::Complete,
                "{:?}",
                done.execution.report
            );
            assert_eq!(done.run_root, root);
            std::fs::read(root.join("reports/report.json")).expect("report json")
        };
        // The same task in two run roots: the same report, byte for byte.
        let (a, b) = (
            report(&tmp.path().join("a")),
            report(&tmp.path().join("b/c")),
        );
        assert_eq!(a, b);
        let text = String::from_utf8(a).expect("utf-8");
        assert!(text.contains("\"reports/report.md\""), "{text}");
    }

    #[test]
    fn the_report_defaults_to_the_ledgers_run_root() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("elsewhere/run");
        accepted_task(&root);
        let opts = ExecuteOptions {
            report: None,
            ..options(&root)
        };
        let roster = roster();
        let task = open(&opts, None).expect("open");
        let done = execute(
            task,
            &opts,
            Delegation::Simulation(&roster),
            &clock(),
            Seed(9),
        )
        .expect("execute");
        let (md, json) = done.execution.written.expect("written");
        assert_eq!(
            md,
            Layout::new("").execution_report(TASK).display().to_string()
        );
        assert!(root.join(&json).is_file(), "{}", json.display());
    }

    #[test]
    fn a_missing_ledger_or_task_is_bad_input() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let Err(err) = open(&options(tmp.path()), None) else {
            panic!("opened a missing ledger");
        };
        assert!(
            err.to_string().ends_with("governance.db does not exist"),
            "{err}"
        );
        accepted_task(tmp.path());
        let opts = ExecuteOptions {
            task_ref: "TASK-NOPE".into(),
            ..options(tmp.path())
        };
        let Err(err) = open(&opts, None) else {
            panic!("opened an unknown task");
        };
        assert!(
            err.to_string().starts_with("unknown task TASK-NOPE in "),
            "{err}"
        );
        assert_eq!(err.kind(), crate::error::ErrorKind::BadInput);
        let bad = ExecuteOptions {
            task_ref: "../x".into(),
            ..options(tmp.path())
        };
        assert!(open(&bad, None).is_err_and(|e| e.to_string().starts_with("TASK_REF: ")));
    }
}
