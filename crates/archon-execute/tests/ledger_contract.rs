//! One contract for both ledger adapters of the execution stage: the
//! in-memory `MemoryLedger` and the real `GovernanceLedger` over the
//! `archon-tasks` SQLite ledger. Every scenario runs against both; the
//! entries they write (event names included) must be the same.

#![allow(clippy::unwrap_used)]

use archon_core::agent_port::Agents;
use archon_core::clock::Clock;
use archon_core::roster::Roster;
use archon_core::seed::Seed;
use archon_execute::agent_delegate::AgentDelegate;
use archon_execute::governance_ledger::GovernanceLedger;
use archon_execute::io::FsFiles;
use archon_execute::ledger::{Move, Stop};
use archon_execute::report::{Blocker, BlockerCategory};
use archon_execute::{
    doctrine, execute, HandoffInput, LedgerTask, MemoryLedger, OutcomeValue, Services, TaskLedger,
    TaskState,
};

const TASK: &str = "TASK-GUSI-001a";
const DESCRIPTION: &str = "Design the threat intelligence schema";
const REQUIREMENTS: [&str; 2] = ["Addresses FR-TECH-001", "Contributes to deliverable D-001"];
const OUTCOMES: [&str; 2] = [
    "Written specification reviewed and accepted",
    "Test plan with at least 3 acceptance criteria defined",
];

fn clock() -> Clock {
    Clock::fixed_from_rfc3339("2026-02-26T12:00:00Z").unwrap()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Where a scenario runs: a temp folder, and each adapter holding one accepted task.
struct Subjects {
    tmp: tempfile::TempDir,
    memory: MemoryLedger,
}

impl Subjects {
    fn new() -> Subjects {
        let tmp = tempfile::tempdir().unwrap();
        // The real ledger: activated, routed and accepted through its own lifecycle.
        let mut ledger = archon_tasks::Ledger::open(tmp.path().join("governance.db")).unwrap();
        let routed = ledger
            .create_activation(
                archon_tasks::ActivationRequest {
                    task_ref: TASK.into(),
                    earl_id: "earl-1".into(),
                    cluster_id: String::new(),
                    description: DESCRIPTION.into(),
                    requirements: strings(&REQUIREMENTS),
                    expected_outcomes: strings(&OUTCOMES),
                    sensitivity: archon_tasks::Sensitivity::Standard,
                    ttl_hours: 72,
                    provenance: serde_json::json!({ "capability_tags": ["design"] }),
                },
                &clock(),
            )
            .unwrap();
        assert_eq!(routed.state, TaskState::Routed, "{}", routed.message);
        let task = ledger.task(TASK).unwrap().unwrap();
        let clusters = archon_tasks::ClusterRegistry::bundled().unwrap();
        let steward = &clusters
            .get(task.cluster_id.as_deref().unwrap())
            .unwrap()
            .steward
            .steward_id;
        ledger
            .transition(
                TASK,
                archon_tasks::Transition::Accept,
                &format!("steward:{steward}"),
                &clock(),
            )
            .unwrap();
        let memory = MemoryLedger::with_task(LedgerTask {
            task_ref: TASK.into(),
            state: TaskState::Accepted,
            activation_id: Some(task.activation_id.clone()),
            cluster_id: task.cluster_id.clone(),
            description: Some(DESCRIPTION.into()),
            requirements: strings(&REQUIREMENTS),
            expected_outcomes: strings(&OUTCOMES),
        });
        Subjects { tmp, memory }
    }

    fn governance(&self) -> GovernanceLedger<'static> {
        GovernanceLedger::open(
            &self.tmp.path().join("governance.db"),
            archon_tasks::ClusterRegistry::bundled().unwrap(),
            None,
        )
        .unwrap()
    }

    /// Runs `scenario` against both adapters and returns both results.
    fn both<R>(&mut self, scenario: impl Fn(&mut dyn TaskLedger) -> R) -> [R; 2] {
        self.each(|l, _| scenario(l))
    }

    /// [`Subjects::both`], telling the scenario which run it is (0, 1), for
    /// folders of its own.
    fn each<R>(&mut self, scenario: impl Fn(&mut dyn TaskLedger, usize) -> R) -> [R; 2] {
        let mut governance = self.governance();
        [scenario(&mut self.memory, 0), scenario(&mut governance, 1)]
    }
}

fn blocker() -> Blocker {
    Blocker {
        category: BlockerCategory::Precondition,
        detail: "the schema repository is read-only".into(),
        owner: "tech-lead".into(),
        next_action: "grant write access".into(),
    }
}

#[test]
fn both_load_the_same_task_and_no_unknown_one() {
    let mut s = Subjects::new();
    let [memory, governance] = s.both(|l| {
        (
            l.load_task(TASK).unwrap(),
            l.load_task("TASK-NONE").unwrap(),
        )
    });
    assert_eq!(memory, governance);
    let (task, unknown) = memory;
    assert_eq!(unknown, None);
    let task = task.unwrap();
    assert_eq!(task.state, TaskState::Accepted);
    assert_eq!(task.expected_outcomes, strings(&OUTCOMES));
}

#[test]
fn starting_writes_one_entry_and_only_an_accepted_task_starts() {
    let mut s = Subjects::new();
    let results = s.both(|l| {
        assert_eq!(l.earlier_entry(TASK, Move::Start).unwrap(), None);
        let entry = l
            .mark_in_progress(TASK, "execution-lead", &clock())
            .unwrap();
        let earlier = l.earlier_entry(TASK, Move::Start).unwrap().unwrap();
        let again = l.mark_in_progress(TASK, "execution-lead", &clock());
        let state = l.load_task(TASK).unwrap().unwrap().state;
        (entry.event, earlier.event, again.is_err(), state)
    });
    for (event, earlier, refused, state) in &results {
        assert_eq!(event, archon_execute::ledger::STARTED);
        assert_eq!(earlier, archon_execute::ledger::STARTED);
        assert!(refused, "a started task was started again");
        assert_eq!(*state, TaskState::InProgress);
    }
    assert_eq!(results[0], results[1]);
}

#[test]
fn a_stop_leaves_the_state_and_names_its_owner() {
    let mut s = Subjects::new();
    let results = s.both(|l| {
        l.mark_in_progress(TASK, "execution-lead", &clock())
            .unwrap();
        let blocked = l
            .record_stop(
                TASK,
                Stop::Blocked,
                &[blocker()],
                "execution-lead",
                &clock(),
            )
            .unwrap();
        let escalated = l
            .record_stop(
                TASK,
                Stop::Escalated,
                &[blocker()],
                "execution-lead",
                &clock(),
            )
            .unwrap();
        let unknown = l.record_stop("TASK-NONE", Stop::Blocked, &[], "execution-lead", &clock());
        let state = l.load_task(TASK).unwrap().unwrap().state;
        (blocked, escalated, unknown.is_err(), state)
    });
    assert_eq!(results[0], results[1], "the adapters' entries differ");
    let (blocked, escalated, unknown_refused, state) = &results[0];
    assert_eq!(blocked.event, "task.execution_blocked");
    assert_eq!(escalated.event, "task.execution_escalated");
    assert!(
        blocked.detail.contains("state in_progress unchanged"),
        "{}",
        blocked.detail
    );
    assert!(
        blocked.detail.contains("owner tech-lead"),
        "{}",
        blocked.detail
    );
    assert!(unknown_refused);
    assert_eq!(*state, TaskState::InProgress);
    // The real adapter's stops are chained ledger events, and nothing else.
    let ledger = archon_tasks::Ledger::open_read_only(s.tmp.path().join("governance.db")).unwrap();
    let outcomes: Vec<String> = ledger
        .events()
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.body {
            archon_tasks::EventBody::ExecutionStopped { stop } => Some(stop.outcome),
            _ => None,
        })
        .collect();
    assert_eq!(outcomes, ["blocked", "escalated"]);
    assert!(!s.tmp.path().join("execution_outcomes.jsonl").exists());
}

#[test]
fn a_whole_execution_reads_the_same_on_both() {
    let mut s = Subjects::new();
    let roster = Roster::from_json("roster", include_str!("../../../data/roster.json")).unwrap();
    let agents = Agents::simulated(Seed(7));
    let skill = doctrine::assemble(&doctrine::shipped()).unwrap();
    let root = s.tmp.path().to_path_buf();
    let runs = s.each(|ledger, run| {
        let task = ledger.load_task(TASK).unwrap().unwrap();
        let workspace = root.join(format!("ws{run}"));
        std::fs::create_dir(&workspace).unwrap();
        let delegate = AgentDelegate::new(&agents, &roster.archons[0], skill.clone());
        let input = HandoffInput {
            task_ref: Some(TASK.into()),
            activation_id: task.activation_id.clone(),
            cluster_id: task.cluster_id.clone(),
            description: task.description.clone(),
            requirements: task.requirements.clone(),
            expected_outcomes: task.expected_outcomes.clone(),
            workspace: Some(workspace.display().to_string()),
            report_path: Some(root.join(format!("report{run}.md")).display().to_string()),
            input_source: Some("ledger:governance.db".into()),
            handoff_issuer: Some("tech-lead-17".into()),
        };
        let execution = execute(
            &input,
            Services {
                clock: &clock(),
                seed: Seed(7),
                files: &FsFiles,
                ledger,
                delegate: &delegate,
                lease_holder: "test",
            },
        )
        .unwrap();
        let reported = ledger
            .earlier_entry(TASK, Move::Report)
            .unwrap()
            .map(|e| e.event);
        let state = ledger.load_task(TASK).unwrap().unwrap().state;
        let events: Vec<String> = execution
            .report
            .event_ledger
            .project
            .iter()
            .map(|e| e.event.clone())
            .collect();
        (execution.outcome(), events, reported, state)
    });
    assert_eq!(runs[0], runs[1], "the adapters disagree");
    let (outcome, events, reported, state) = &runs[0];
    assert_eq!(*outcome, OutcomeValue::Complete);
    assert_eq!(
        events,
        &[
            archon_execute::ledger::STARTED,
            archon_execute::ledger::REPORTED
        ]
    );
    assert_eq!(reported.as_deref(), Some(archon_execute::ledger::REPORTED));
    assert_eq!(*state, TaskState::Reported);
}
