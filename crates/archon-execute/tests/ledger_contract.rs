//! One contract for both ledger adapters of the execution stage: the
//! in-memory `MemoryLedger` and the real `GovernanceLedger` over the
//! `archon-tasks` SQLite ledger. Every scenario runs against both; the
//! entries they write (event names included) must be the same. Where the two
//! stand for a situation differently (another execution holding the lease: a
//! holder in memory, a process on the real ledger), each is set up its own way.

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
    doctrine, execute, HandoffInput, Lease, LedgerEntry, LedgerTask, MemoryLedger, OutcomeValue,
    Services, TaskLedger, TaskState,
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

const HOLDER: &str = "archon execute TASK-GUSI-001a (seed 7)";

fn granted(lease: Lease) -> LedgerEntry {
    match lease {
        Lease::Granted(entry) => entry,
        Lease::HeldBy(by) => panic!("refused: held by {by}"),
    }
}

/// The real ledger's events, as `describe` tells them.
fn described(s: &Subjects) -> Vec<String> {
    archon_tasks::Ledger::open_read_only(s.tmp.path().join("governance.db"))
        .unwrap()
        .events()
        .unwrap()
        .iter()
        .map(|e| e.body.describe())
        .collect()
}

#[test]
fn a_lease_is_taken_given_back_once_and_taken_again() {
    let mut s = Subjects::new();
    let results = s.both(|l| {
        let taken = granted(l.take_lease(TASK, HOLDER, &clock()).unwrap()).event;
        let released = l.release_lease(TASK, HOLDER, &clock()).unwrap().event;
        let twice = l.release_lease(TASK, HOLDER, &clock()).is_err();
        let again = granted(l.take_lease(TASK, "another holder", &clock()).unwrap()).event;
        (taken, released, twice, again)
    });
    assert_eq!(results[0], results[1], "the adapters disagree");
    let (taken, released, twice, again) = &results[0];
    assert_eq!(taken, archon_execute::ledger::LEASED);
    assert_eq!(released, archon_execute::ledger::RELEASED);
    assert!(twice, "a lease was given back twice");
    assert_eq!(again, archon_execute::ledger::LEASED);
}

#[test]
fn a_lease_held_by_a_running_execution_refuses_another_naming_its_process() {
    let mut s = Subjects::new();
    // In memory, another execution is another holder.
    s.memory
        .leases
        .insert(TASK.into(), "archon pid 4242 on elsewhere".into());
    assert_eq!(
        s.memory.take_lease(TASK, HOLDER, &clock()).unwrap(),
        Lease::HeldBy("archon pid 4242 on elsewhere".into())
    );
    // On the real ledger it is another process (or adapter: the lock belongs
    // to the open file), even one whose execution records the same holder:
    // exclusion is the OS lock's, the ledger only records.
    let mut first = s.governance();
    granted(first.take_lease(TASK, HOLDER, &clock()).unwrap());
    let before = described(&s);
    let mut second = s.governance();
    assert_eq!(
        second.take_lease(TASK, HOLDER, &clock()).unwrap(),
        Lease::HeldBy(archon_store::lock::this_process())
    );
    assert_eq!(described(&s), before, "the refused execution wrote");
    first.release_lease(TASK, HOLDER, &clock()).unwrap();
    granted(second.take_lease(TASK, HOLDER, &clock()).unwrap());
    second.release_lease(TASK, HOLDER, &clock()).unwrap();
    // The ledger names the holder, never a process.
    let events = described(&s);
    assert!(events.iter().all(|e| !e.contains("pid")), "{events:?}");
    assert!(
        events.contains(&format!("execution lease taken by {HOLDER}")),
        "{events:?}"
    );
}

#[test]
fn a_dead_executions_lease_is_resumed_by_its_holder_and_taken_over_by_another() {
    let s = Subjects::new();
    let leases = || {
        described(&s)
            .into_iter()
            .filter(|e| e.starts_with("execution lease"))
            .collect::<Vec<_>>()
    };
    // An execution that ends without giving its lease back (killed: the
    // kernel drops its lock, the ledger still records its lease).
    let mut dead = s.governance();
    granted(dead.take_lease(TASK, HOLDER, &clock()).unwrap());
    drop(dead);
    // Resumed by the same execution: the ledger reads as if uninterrupted.
    let mut resumed = s.governance();
    granted(resumed.take_lease(TASK, HOLDER, &clock()).unwrap());
    assert_eq!(leases(), [format!("execution lease taken by {HOLDER}")]);
    drop(resumed);
    // Another execution takes it over, naming the holder it replaces.
    let mut other = s.governance();
    granted(other.take_lease(TASK, "another holder", &clock()).unwrap());
    other
        .release_lease(TASK, "another holder", &clock())
        .unwrap();
    assert_eq!(
        leases(),
        [
            format!("execution lease taken by {HOLDER}"),
            format!("execution lease taken by another holder (over {HOLDER}, no longer running)"),
            "execution lease released by another holder".to_string(),
        ]
    );
}

#[test]
fn the_outcome_head_is_the_last_outcome_and_lease_moves_leave_it() {
    let mut s = Subjects::new();
    let heads = s.both(|l| {
        let before = l.outcome_head(TASK).unwrap();
        l.mark_in_progress(TASK, "execution-lead", &clock())
            .unwrap();
        let started = l.outcome_head(TASK).unwrap();
        let stop = |l: &mut dyn TaskLedger, stop| {
            l.record_stop(TASK, stop, &[blocker()], "execution-lead", &clock())
                .unwrap();
            l.outcome_head(TASK).unwrap().unwrap()
        };
        let blocked = stop(l, Stop::Blocked);
        let escalated = stop(l, Stop::Escalated);
        granted(l.take_lease(TASK, HOLDER, &clock()).unwrap());
        l.release_lease(TASK, HOLDER, &clock()).unwrap();
        let after_lease = l.outcome_head(TASK).unwrap().unwrap();
        let other = l.outcome_head("TASK-NONE").unwrap();
        assert_eq!((before, started, other), (None, None, None));
        assert!(blocked.seq < escalated.seq, "{blocked:?} {escalated:?}");
        assert_eq!(after_lease, escalated, "a lease move is no outcome");
        escalated
    });
    // The real adapter's head is the committed event of the stop.
    let ledger = archon_tasks::Ledger::open_read_only(s.tmp.path().join("governance.db")).unwrap();
    let events = ledger.events().unwrap();
    let anchored = events.iter().find(|e| e.seq == heads[1].seq).unwrap();
    assert_eq!(anchored.hash, heads[1].hash);
    assert_eq!(anchored.body, archon_tasks::EventBody::Committed);
    let intent = events.iter().find(|e| e.seq == anchored.op_seq).unwrap();
    assert!(
        matches!(&intent.body, archon_tasks::EventBody::Intent { op, .. } if op == "record_execution"),
        "{intent:?}"
    );
}
