//! The execution function's return paths, idempotency, the command delegate with
//! a real script, and the report's one shape (snapshots).

#![allow(clippy::unwrap_used)]

use std::cell::RefCell;
use std::path::Path;

use archon_core::agent_port::Agents;
use archon_core::clock::Clock;
use archon_core::roster::Roster;
use archon_core::seed::Seed;
use archon_execute::agent_delegate::AgentDelegate;
use archon_execute::command::CommandDelegate;
use archon_execute::delegate::{Delegate, DelegateFailure, Phase, PhaseRequest, PhaseWork};
use archon_execute::doctrine;
use archon_execute::io::FsFiles;
use archon_execute::report::{BlockerCategory, SECTIONS};
use archon_execute::{
    execute, Execution, HandoffInput, LedgerTask, MemoryLedger, OutcomeValue, Services, TaskState,
};

const TASK: &str = "TASK-GUSI-001a";

fn clock() -> Clock {
    Clock::fixed_from_rfc3339("2026-02-26T12:00:00Z").unwrap()
}

fn ledger(state: TaskState) -> MemoryLedger {
    MemoryLedger::with_task(LedgerTask {
        task_ref: TASK.into(),
        state,
        activation_id: Some("act-0001".into()),
        cluster_id: Some("cluster-42".into()),
        description: Some("Design the threat intelligence schema".into()),
        requirements: vec![
            "Addresses FR-TECH-001".into(),
            "Contributes to deliverable D-001".into(),
        ],
        expected_outcomes: vec![
            "Written specification reviewed and accepted".into(),
            "Test plan with at least 3 acceptance criteria defined".into(),
        ],
    })
}

fn input(ledger: &MemoryLedger, workspace: &Path, report: &Path) -> HandoffInput {
    let task = &ledger.tasks[TASK];
    HandoffInput {
        task_ref: Some(TASK.into()),
        activation_id: task.activation_id.clone(),
        cluster_id: task.cluster_id.clone(),
        description: task.description.clone(),
        requirements: task.requirements.clone(),
        expected_outcomes: task.expected_outcomes.clone(),
        workspace: Some(workspace.display().to_string()),
        report_path: Some(report.display().to_string()),
        input_source: Some("ledger:governance.db".into()),
        handoff_issuer: Some("tech-lead-17".into()),
    }
}

fn roster() -> Roster {
    Roster::from_json("roster", include_str!("../../../data/roster.json")).unwrap()
}

/// The simulated agent delegate, optionally failing validation, counting calls per phase.
struct Counting<'a> {
    inner: AgentDelegate<'a>,
    fail_validation: bool,
    calls: RefCell<Vec<Phase>>,
}

impl Delegate for Counting<'_> {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    fn perform(&self, request: &PhaseRequest<'_>) -> Result<PhaseWork, DelegateFailure> {
        self.calls.borrow_mut().push(request.phase);
        let mut work = self.inner.perform(request)?;
        if self.fail_validation && request.phase == Phase::Validation {
            work.verification.passed = false;
            work.verification.notes = "the test plan falls short".into();
            if let Some(check) = work.outcome_checks.last_mut() {
                check.passed = false;
                check.notes = "the test plan lists 2 acceptance criteria, not 3".into();
            }
        }
        Ok(work)
    }
}

struct Env {
    tmp: tempfile::TempDir,
    agents: Agents,
    roster: Roster,
}

impl Env {
    fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("ws")).unwrap();
        Env {
            tmp,
            agents: Agents::simulated(Seed(7)),
            roster: roster(),
        }
    }
    fn workspace(&self) -> std::path::PathBuf {
        self.tmp.path().join("ws")
    }
    fn report(&self) -> std::path::PathBuf {
        self.tmp.path().join("out/report.md")
    }
    fn delegate(&self, fail_validation: bool) -> Counting<'_> {
        let skill = doctrine::assemble(&doctrine::shipped()).unwrap();
        Counting {
            inner: AgentDelegate::new(&self.agents, &self.roster.archons[0], skill),
            fail_validation,
            calls: RefCell::new(Vec::new()),
        }
    }
    fn run(
        &self,
        input: &HandoffInput,
        ledger: &mut MemoryLedger,
        delegate: &dyn Delegate,
    ) -> Execution {
        execute(
            input,
            Services {
                clock: &clock(),
                seed: Seed(7),
                files: &FsFiles,
                ledger,
                delegate,
                lease_holder: "test",
            },
        )
        .unwrap()
    }
    /// Markdown and JSON of the report with the temp dir replaced, for snapshots.
    fn redacted(&self, run: &Execution) -> (String, serde_json::Value) {
        let root = self.tmp.path().display().to_string();
        let md = run.report.to_markdown().replace(&root, "[TMP]");
        let json = serde_json::to_string(&run.report)
            .unwrap()
            .replace(&root, "[TMP]");
        (md, serde_json::from_str(&json).unwrap())
    }
}

fn assert_seven_sections(md: &str, json: &serde_json::Value) {
    let headings: Vec<&str> = md.lines().filter_map(|l| l.strip_prefix("## ")).collect();
    assert_eq!(headings, SECTIONS);
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "schema_version",
            "metadata",
            "work_performed",
            "evidence_bundle",
            "issues",
            "scope",
            "outcome",
            "event_ledger"
        ]
    );
    assert_eq!(
        json["work_performed"]["phases"].as_array().unwrap().len(),
        3
    );
}

#[test]
fn missing_fields_return_blocked_naming_them() {
    let env = Env::new();
    let mut ledger = ledger(TaskState::Accepted);
    let mut input = input(&ledger, &env.workspace(), &env.report());
    input.workspace = None;
    input.handoff_issuer = Some(" ".into());
    input.expected_outcomes.clear();
    let delegate = env.delegate(false);
    let run = env.run(&input, &mut ledger, &delegate);

    assert_eq!(run.outcome(), OutcomeValue::Blocked);
    let blocker = &run.report.outcome.blockers[0];
    assert_eq!(blocker.category, BlockerCategory::InputValidation);
    assert_eq!(
        blocker.detail,
        "missing required input fields: expected_outcomes, workspace, handoff_issuer"
    );
    assert_eq!(blocker.owner, "tech-lead");
    assert!(blocker
        .next_action
        .contains("expected_outcomes, workspace, handoff_issuer"));
    assert!(delegate.calls.borrow().is_empty(), "nothing was delegated");
    // Recorded with its ownership; the state follows the lifecycle (unchanged).
    assert_eq!(ledger.tasks[TASK].state, TaskState::Accepted);
    assert_eq!(ledger.events[0].1.event, "task.execution_blocked");

    let (md, json) = env.redacted(&run);
    assert_seven_sections(&md, &json);
    insta::assert_snapshot!("blocked_missing_fields_md", md);
    insta::assert_json_snapshot!("blocked_missing_fields_json", json);
}

#[test]
fn unmet_preconditions_return_blocked_with_owner() {
    let env = Env::new();
    // Routed (no consent yet) and a workspace that does not exist.
    let mut ledger = ledger(TaskState::Routed);
    let input = input(&ledger, &env.tmp.path().join("nowhere"), &env.report());
    let delegate = env.delegate(false);
    let run = env.run(&input, &mut ledger, &delegate);

    assert_eq!(run.outcome(), OutcomeValue::Blocked);
    let owners: Vec<&str> = run
        .report
        .outcome
        .blockers
        .iter()
        .map(|b| b.owner.as_str())
        .collect();
    assert_eq!(owners, ["cluster steward of cluster-42", "tech-lead"]);
    assert!(delegate.calls.borrow().is_empty());
    // Pre-consent: nothing is written to the cluster's record.
    assert!(ledger.events.is_empty());
    assert_eq!(ledger.tasks[TASK].state, TaskState::Routed);

    let (md, json) = env.redacted(&run);
    assert_seven_sections(&md, &json);
    insta::assert_snapshot!("blocked_precondition_md", md);
    insta::assert_json_snapshot!("blocked_precondition_json", json);
}

#[test]
fn complete_reports_the_result_to_the_ledger() {
    let env = Env::new();
    let mut ledger = ledger(TaskState::Accepted);
    let input = input(&ledger, &env.workspace(), &env.report());
    let delegate = env.delegate(false);
    let run = env.run(&input, &mut ledger, &delegate);

    assert_eq!(run.outcome(), OutcomeValue::Complete);
    assert_eq!(
        *delegate.calls.borrow(),
        [
            Phase::TestImplementation,
            Phase::Implementation,
            Phase::Validation
        ]
    );
    assert_eq!(ledger.tasks[TASK].state, TaskState::Reported);
    let events: Vec<&str> = ledger
        .events
        .iter()
        .map(|(_, e)| e.event.as_str())
        .collect();
    assert_eq!(events, ["task.started", "task.reported"]);
    let result = &ledger.results[0];
    assert_eq!(result.request_id.as_deref(), Some("act-0001"));
    assert_eq!(result.acceptance_test_results.len(), 2);
    assert!(result.acceptance_test_results.iter().all(|t| t.passed));
    assert_eq!(result.deliverables.len(), 2);
    assert!(env
        .workspace()
        .join("work/task-gusi-001a/implementation.md")
        .is_file());
    let (md_path, json_path) = run.written.clone().unwrap();
    assert_eq!(
        std::fs::read_to_string(md_path).unwrap(),
        run.report.to_markdown()
    );
    assert!(json_path.ends_with("report.json"));
    assert!(env
        .workspace()
        .join(".archon/execution/TASK-GUSI-001a/events.jsonl")
        .is_file());

    let (md, json) = env.redacted(&run);
    assert_seven_sections(&md, &json);
    insta::assert_snapshot!("complete_md", md);
    insta::assert_json_snapshot!("complete_json", json);
}

#[test]
fn failed_validation_escalates_then_reinvocation_verifies_instead_of_delegating() {
    let env = Env::new();
    let mut ledger = ledger(TaskState::Accepted);
    let input = input(&ledger, &env.workspace(), &env.report());

    let failing = env.delegate(true);
    let first = env.run(&input, &mut ledger, &failing);
    assert_eq!(first.outcome(), OutcomeValue::Escalated);
    let blocker = &first.report.outcome.blockers[0];
    assert_eq!(blocker.category, BlockerCategory::ValidationFailure);
    assert!(blocker.detail.contains("Test plan with at least 3"));
    assert_eq!(ledger.tasks[TASK].state, TaskState::InProgress);
    assert_eq!(ledger.events[1].1.event, "task.execution_escalated");
    let (md, json) = env.redacted(&first);
    assert_seven_sections(&md, &json);
    insta::assert_snapshot!("escalated_md", md);
    insta::assert_json_snapshot!("escalated_json", json);

    // The caller retries: Steps 1-2 are verified by sha256, only Step 3 is delegated.
    let passing = env.delegate(false);
    let second = env.run(&input, &mut ledger, &passing);
    assert_eq!(second.outcome(), OutcomeValue::Complete);
    assert_eq!(*passing.calls.borrow(), [Phase::Validation]);
    assert_eq!(second.report.work_performed.verified_without_delegation, 2);
    assert_eq!(second.report.work_performed.delegations, 1);
    assert_eq!(ledger.tasks[TASK].state, TaskState::Reported);
}

#[test]
fn all_outputs_present_means_zero_delegations_and_tampering_means_redo() {
    let env = Env::new();
    let mut first_ledger = ledger(TaskState::Accepted);
    let input = input(&first_ledger, &env.workspace(), &env.report());
    let delegate = env.delegate(false);
    assert_eq!(
        env.run(&input, &mut first_ledger, &delegate).outcome(),
        OutcomeValue::Complete
    );

    // Re-invoked on an in-progress record of the same task (e.g. the ledger write was lost).
    let again = env.delegate(false);
    let run = env.run(&input, &mut ledger(TaskState::InProgress), &again);
    assert_eq!(run.outcome(), OutcomeValue::Complete);
    assert!(again.calls.borrow().is_empty());
    assert_eq!(run.report.work_performed.verified_without_delegation, 3);

    // An edited implementation invalidates Step 2; the deterministic redo restores the
    // same bytes, so Step 3's basis is unchanged and it is verified, not delegated.
    std::fs::write(
        env.workspace()
            .join("work/task-gusi-001a/implementation.md"),
        "edited",
    )
    .unwrap();
    let redo = env.delegate(false);
    let run = env.run(&input, &mut ledger(TaskState::InProgress), &redo);
    assert_eq!(run.outcome(), OutcomeValue::Complete);
    assert_eq!(*redo.calls.borrow(), [Phase::Implementation]);
    assert_eq!(run.report.work_performed.verified_without_delegation, 2);
    assert!(run.report.event_ledger.item.iter().any(|e| e.event
        == "execution.phase.record_invalid"
        && e.detail.contains("sha256 differs")));
}

/// A real shell script as the delegate: writes tests and code, validates by exit status.
fn script(dir: &Path, validation_exit: u8, test_exit: u8) -> String {
    let path = dir.join("delegate.sh");
    let body = format!(
        r#"#!/bin/sh
phase="$1"; workspace="$2"; task="$3"
cd "$workspace" || exit 9
case "$phase" in
  test_implementation)
    mkdir -p tests && printf 'check: %s\n' "$task" > tests/acceptance.txt
    echo "wrote tests/acceptance.txt"; exit {test_exit} ;;
  implementation)
    mkdir -p src && echo 'fn main() {{}}' > src/main.rs
    echo "wrote src/main.rs" ;;
  validation)
    test -f src/main.rs || exit 1
    echo "validated against tests/acceptance.txt" >&2; exit {validation_exit} ;;
esac
"#
    );
    std::fs::write(&path, body).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path.display().to_string()
}

#[test]
fn command_delegate_runs_a_real_script_in_the_workspace() {
    // (validation exit, test exit) → outcome
    let cases = [
        (0, 0, OutcomeValue::Complete),
        (1, 0, OutcomeValue::Escalated),
        (0, 3, OutcomeValue::Blocked),
    ];
    for (validation_exit, test_exit, want) in cases {
        let env = Env::new();
        let script = script(env.tmp.path(), validation_exit, test_exit);
        let delegate =
            CommandDelegate::parse(&format!("'{script}' {{phase}} {{workspace}} {{task_json}}"))
                .unwrap();
        let mut ledger = ledger(TaskState::Accepted);
        let input = input(&ledger, &env.workspace(), &env.report());
        let run = env.run(&input, &mut ledger, &delegate);
        assert_eq!(run.outcome(), want, "{validation_exit} {test_exit}");

        let step1 = &run.report.work_performed.phases[0];
        assert_eq!(step1.delegate.as_deref(), Some("command"));
        assert_eq!(step1.files_changed, ["tests/acceptance.txt"]);
        // The task JSON arrived as one argument, whole.
        let written =
            std::fs::read_to_string(env.workspace().join("tests/acceptance.txt")).unwrap();
        assert!(
            written.contains(r#""task_ref":"TASK-GUSI-001a""#),
            "{written}"
        );
        let evidence = &run.report.evidence_bundle.delegate_evidence;
        match want {
            OutcomeValue::Complete => {
                let validation = &evidence[2].lines;
                assert!(validation.contains(&"exit status 0".to_string()));
                assert!(validation
                    .iter()
                    .any(|l| l.contains("validated against tests/acceptance.txt")));
                assert_eq!(ledger.tasks[TASK].state, TaskState::Reported);
            }
            OutcomeValue::Escalated => {
                assert!(run
                    .report
                    .scope
                    .must_have
                    .iter()
                    .all(|m| m.status == archon_execute::report::ScopeStatus::NotMet));
            }
            OutcomeValue::Blocked => {
                let blocker = &run.report.outcome.blockers[0];
                assert_eq!(blocker.category, BlockerCategory::DelegateFailure);
                assert!(
                    blocker.detail.contains("exit status 3"),
                    "{}",
                    blocker.detail
                );
                assert_eq!(
                    run.report.work_performed.phases[1].reason.as_deref(),
                    Some("an earlier step did not pass")
                );
            }
        }
    }
}

#[test]
fn hostile_task_ref_is_an_error_not_an_outcome() {
    let env = Env::new();
    let mut ledger = ledger(TaskState::Accepted);
    let mut input = input(&ledger, &env.workspace(), &env.report());
    input.task_ref = Some("../escape".into());
    let delegate = env.delegate(false);
    let err = execute(
        &input,
        Services {
            clock: &clock(),
            seed: Seed(7),
            files: &FsFiles,
            ledger: &mut ledger,
            delegate: &delegate,
            lease_holder: "test",
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("$.task_ref"), "{err}");
}

/// An executable shell script at `dir/name`.
fn shell_script(dir: &Path, name: &str, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

#[test]
fn a_delegate_that_exits_0_and_writes_nothing_is_blocked_naming_the_missing_deliverable() {
    let env = Env::new();
    let script = shell_script(env.tmp.path(), "idle.sh", "echo \"did $1\"\n");
    let delegate = CommandDelegate::parse(&format!("'{script}' {{phase}}")).unwrap();
    let mut ledger = ledger(TaskState::Accepted);
    let input = input(&ledger, &env.workspace(), &env.report());
    let run = env.run(&input, &mut ledger, &delegate);

    assert_eq!(run.outcome(), OutcomeValue::Blocked);
    let blocker = &run.report.outcome.blockers[0];
    assert_eq!(blocker.category, BlockerCategory::MissingEvidence);
    assert!(
        blocker.detail.contains("Step 1 (test-implementer)")
            && blocker.detail.contains("produced no deliverable"),
        "{}",
        blocker.detail
    );
    assert!(run.task_result.is_none());
    assert_eq!(
        ledger.events.last().unwrap().1.event,
        "task.execution_blocked"
    );
}

#[test]
fn a_deliverable_the_task_names_must_exist_and_is_hashed_into_the_result() {
    let env = Env::new();
    // Writes the tests and `src/main.rs`, but the task asks for `out/implementation.txt`.
    let script = script(env.tmp.path(), 0, 0);
    let delegate =
        CommandDelegate::parse(&format!("'{script}' {{phase}} {{workspace}} {{task_ref}}"))
            .unwrap();
    let mut ledger = ledger(TaskState::Accepted);
    let mut input = input(&ledger, &env.workspace(), &env.report());
    input
        .requirements
        .push("Writes `out/implementation.txt` with the schema".into());
    let run = env.run(&input, &mut ledger, &delegate);
    assert_eq!(run.outcome(), OutcomeValue::Blocked);
    let blocker = &run.report.outcome.blockers[0];
    assert_eq!(blocker.category, BlockerCategory::MissingEvidence);
    assert!(
        blocker.detail.contains("out/implementation.txt"),
        "{}",
        blocker.detail
    );

    // Once the file is there, the rerun verifies every step and hashes it into the result.
    std::fs::create_dir_all(env.workspace().join("out")).unwrap();
    std::fs::write(env.workspace().join("out/implementation.txt"), "schema\n").unwrap();
    let run = env.run(&input, &mut ledger, &delegate);
    assert_eq!(run.outcome(), OutcomeValue::Complete);
    let result = run.task_result.unwrap();
    let named = result
        .deliverables
        .iter()
        .find(|d| d.name == "out/implementation.txt")
        .unwrap();
    assert_eq!(
        named.checksum.as_ref().unwrap().value,
        archon_core::seed::sha256_hex(b"schema\n")
    );
}

#[test]
fn a_validator_that_prints_nothing_gives_no_evidence() {
    let env = Env::new();
    let script = shell_script(
        env.tmp.path(),
        "quiet.sh",
        "cd \"$2\" && case \"$1\" in\n  test_implementation) echo t > t.txt ;;\n  implementation) echo i > i.txt ;;\n  validation) : ;;\nesac\n",
    );
    let delegate = CommandDelegate::parse(&format!("'{script}' {{phase}} {{workspace}}")).unwrap();
    let mut ledger = ledger(TaskState::Accepted);
    let input = input(&ledger, &env.workspace(), &env.report());
    let run = env.run(&input, &mut ledger, &delegate);
    assert_ne!(run.outcome(), OutcomeValue::Complete);
    let checks = &run.report.evidence_bundle.verification_results;
    assert_eq!(checks.len(), 2);
    assert!(checks
        .iter()
        .all(|c| !c.passed && c.notes.contains("printed nothing")));
}

#[test]
fn a_hanging_delegate_is_killed_at_its_timeout_with_its_children_and_the_step_is_blocked() {
    let env = Env::new();
    let pgid_file = env.tmp.path().join("pgid");
    let script = shell_script(
        env.tmp.path(),
        "hang.sh",
        &format!(
            "echo $$ > '{}'\nsleep 120 &\nsleep 120\n",
            pgid_file.display()
        ),
    );
    let delegate = CommandDelegate::parse(&format!("'{script}'"))
        .unwrap()
        .with_timeout(std::time::Duration::from_secs(2));
    let mut ledger = ledger(TaskState::Accepted);
    let input = input(&ledger, &env.workspace(), &env.report());
    let started = std::time::Instant::now();
    let run = env.run(&input, &mut ledger, &delegate);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(run.outcome(), OutcomeValue::Blocked);
    let blocker = &run.report.outcome.blockers[0];
    assert_eq!(blocker.category, BlockerCategory::DelegateFailure);
    assert!(
        blocker.detail.contains("2s delegate timeout"),
        "{}",
        blocker.detail
    );
    let pgid: u32 = std::fs::read_to_string(&pgid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Killed orphans are reaped by init, shortly after.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while archon_execute::process::group_alive(pgid) && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        !archon_execute::process::group_alive(pgid),
        "a delegate process is left"
    );
}

/// The script delegate, crashing (a panic, as a kill would) after Step 2's
/// program ran and before its record was written.
struct CrashInStep2<'a>(&'a CommandDelegate);

impl Delegate for CrashInStep2<'_> {
    fn kind(&self) -> &'static str {
        self.0.kind()
    }
    fn perform(&self, request: &PhaseRequest<'_>) -> Result<PhaseWork, DelegateFailure> {
        let work = self.0.perform(request)?;
        if request.phase == Phase::Implementation {
            panic!("killed during step 2");
        }
        Ok(work)
    }
}

#[test]
fn a_run_killed_during_step_2_and_rerun_reports_the_same_evidence_as_an_uninterrupted_run() {
    let evidence = |run: &Execution| {
        let artifacts: Vec<(String, String)> = run
            .report
            .evidence_bundle
            .artifacts
            .iter()
            .map(|a| (a.path.clone(), a.sha256.clone()))
            .collect();
        let deliverables: Vec<(String, String)> = run
            .task_result
            .as_ref()
            .unwrap()
            .deliverables
            .iter()
            .map(|d| (d.name.clone(), d.checksum.as_ref().unwrap().value.clone()))
            .collect();
        (artifacts, deliverables)
    };
    let delegate_in = |env: &Env| {
        let script = script(env.tmp.path(), 0, 0);
        CommandDelegate::parse(&format!("'{script}' {{phase}} {{workspace}} {{task_ref}}")).unwrap()
    };

    let straight = Env::new();
    let mut ledger_a = ledger(TaskState::Accepted);
    let input_a = input(&ledger_a, &straight.workspace(), &straight.report());
    let uninterrupted = straight.run(&input_a, &mut ledger_a, &delegate_in(&straight));
    assert_eq!(uninterrupted.outcome(), OutcomeValue::Complete);

    let env = Env::new();
    let delegate = delegate_in(&env);
    let mut ledger_b = ledger(TaskState::Accepted);
    let input_b = input(&ledger_b, &env.workspace(), &env.report());
    let crashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        env.run(&input_b, &mut ledger_b, &CrashInStep2(&delegate))
    }));
    assert!(crashed.is_err());
    assert!(env.workspace().join("src/main.rs").is_file());
    // The lease of the dead run is held by "test" again: the same holder resumes.
    let resumed = env.run(&input_b, &mut ledger_b, &delegate);
    assert_eq!(resumed.outcome(), OutcomeValue::Complete);
    assert_eq!(evidence(&resumed), evidence(&uninterrupted));
    assert!(evidence(&resumed)
        .1
        .iter()
        .any(|(name, _)| name == "src/main.rs"));
}

#[test]
fn the_report_folder_has_a_manifest_that_notices_an_edited_report() {
    use archon_store::artifact_dir::{read_manifest, verify_manifest};
    let env = Env::new();
    let mut ledger = ledger(TaskState::Accepted);
    let input = input(&ledger, &env.workspace(), &env.report());
    let run = env.run(&input, &mut ledger, &env.delegate(false));
    let dir = env.report().parent().unwrap().to_path_buf();
    let manifest = read_manifest(&dir).unwrap().unwrap();
    assert_eq!(manifest.stage, "execute");
    assert_eq!(manifest.outcome, "complete");
    // Anchored at the reported result.
    assert_eq!(
        manifest.ledger_head.as_ref().map(|h| h.seq),
        Some(ledger.events.len() as u64)
    );
    assert_eq!(
        manifest.files.keys().collect::<Vec<_>>(),
        ["report.json", "report.md"]
    );
    assert!(verify_manifest(&dir, &manifest).is_empty());
    let (md, _) = run.written.unwrap();
    std::fs::write(&md, "# all fine, trust me\n").unwrap();
    let problems = verify_manifest(&dir, &manifest);
    assert_eq!(problems.len(), 1);
    assert!(problems[0].contains("report.md"), "{problems:?}");
}

#[test]
fn a_task_leased_by_a_running_execution_is_refused_before_anything_runs() {
    let env = Env::new();
    let mut ledger = ledger(TaskState::Accepted);
    ledger
        .leases
        .insert(TASK.into(), "archon pid 4242 on elsewhere".into());
    let input = input(&ledger, &env.workspace(), &env.report());
    let delegate = env.delegate(false);
    let err = execute(
        &input,
        Services {
            clock: &clock(),
            seed: Seed(7),
            files: &FsFiles,
            ledger: &mut ledger,
            delegate: &delegate,
            lease_holder: "test",
        },
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("archon pid 4242 on elsewhere"),
        "{err}"
    );
    assert!(delegate.calls.borrow().is_empty());
    assert!(ledger.events.is_empty(), "the task was not started");
    assert!(!env.report().exists());
}

#[test]
fn delegate_output_with_nul_and_escape_bytes_reaches_the_report_escaped() {
    let env = Env::new();
    let script = shell_script(
        env.tmp.path(),
        "noisy.sh",
        "cd \"$2\" && printf 'bad\\000byte \\033[31mred\\n' && echo \"$1\" > \"$1.txt\"\n",
    );
    let delegate = CommandDelegate::parse(&format!("'{script}' {{phase}} {{workspace}}")).unwrap();
    let mut ledger = ledger(TaskState::Accepted);
    let input = input(&ledger, &env.workspace(), &env.report());
    let run = env.run(&input, &mut ledger, &delegate);
    let (md, _) = run.written.unwrap();
    let text = std::fs::read_to_string(md).unwrap();
    assert!(
        !text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'),
        "raw control bytes in the report"
    );
    assert!(text.contains("bad\\u{0}byte \\u{1b}[31mred"), "{text}");
}
