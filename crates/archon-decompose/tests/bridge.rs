//! The bridge end to end (without files): the spec's examples, resume after a
//! crash, and multi-Earl decomposition with a scripted backend.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use archon_core::agent_port::{
    Agents, AnswerSource, Backend, Completion, Exchange, SimulatedBackend, TransportFailure,
};
use archon_core::clock::Clock;
use archon_core::roster::Roster;
use archon_core::seed::Seed;
use archon_decompose::checkpoint::CheckpointStore;
use archon_decompose::inputs::{Rfp, RoutingTable, SelectionResult};
use archon_decompose::model::{ActivationStatus, TacticStatus};
use archon_decompose::tactics::parse_tactics;
use archon_decompose::{
    run_bridge, ActivationReceipt, ActivationRequest, ActivationSink, BridgeInputs, BridgeOptions,
    BridgeOutput, DecomposeError, DecompositionMode, Progress, Services,
};
use archon_tasks::ClusterRegistry;

const SELECTION: &str = include_str!("data/selection_result.json");
const PROPOSAL: &str = include_str!("data/proposal_gusion.md");
const RFP: &str = include_str!("data/rfp.json");
const ROSTER: &str = include_str!("../../../data/roster.json");
const TABLE: &str = include_str!("../../../data/earl_routing_table.json");

fn roster() -> Roster {
    Roster::from_json("roster.json", ROSTER).unwrap()
}

fn cluster(n: u32, status: &str, tags: &[&str]) -> (String, String) {
    let json = serde_json::json!({
        "cluster_id": format!("c0000000-0000-4000-8000-0000000000{n:02}"), "version": "1.0.0",
        "name": format!("Cluster {n}"), "status": status,
        "steward": {"steward_id": format!("steward-{n}"), "display_name": "S",
                    "contact": {"channel": "slack", "address": "#c"}, "auth_level": "standard"},
        "capabilities": {"tags": tags},
        "capacity": {"availability_status": "available", "max_concurrent_tasks": 3, "max_weekly_task_load": 10},
        "consent_policy": {"requires_explicit_acceptance": true, "refusal_is_penalty_free": true}
    });
    (format!("cluster-{n}.json"), json.to_string())
}

const ENGINEERING: &[&str] = &["dev_backend", "qa_testing", "design"];
const RESEARCH: &[&str] = &["research", "analysis", "writing"];

fn inputs_with(rfp: &str, proposal: &str, clusters: Vec<(String, String)>) -> BridgeInputs {
    let selection = SelectionResult::parse("selection_result.json", SELECTION).unwrap();
    let winner = selection.winner("selection_result.json").unwrap();
    BridgeInputs {
        selection_file: "selection/selection_result.json".into(),
        selection,
        winner,
        tactics: parse_tactics("proposal_gusion.md", proposal).unwrap(),
        rfp: Rfp::parse("rfp.json", rfp).unwrap(),
        clusters: ClusterRegistry::from_sources(clusters).unwrap(),
        routing_table: RoutingTable::parse("earl_routing_table.json", TABLE).unwrap(),
    }
}

fn inputs(clusters: Vec<(String, String)>) -> BridgeInputs {
    inputs_with(RFP, PROPOSAL, clusters)
}

fn options(mode: DecompositionMode) -> BridgeOptions {
    BridgeOptions {
        mode,
        tactic_id: None,
        max_tasks_per_tactic: 8,
        ttl_hours: 72,
        route_top_k: 1,
        seed: Seed(72),
    }
}

/// Activations kept in memory; refs listed in `refuse` are refused.
#[derive(Default)]
struct MemorySink {
    created: Vec<ActivationRequest>,
    refuse: Vec<String>,
}

impl ActivationSink for MemorySink {
    fn create_activation(&mut self, r: &ActivationRequest) -> Result<ActivationReceipt, String> {
        if self.refuse.contains(&r.task_ref) {
            return Err(format!("coercion filter held {}", r.task_ref));
        }
        self.created.push(r.clone());
        Ok(ActivationReceipt {
            activation_id: format!("act-{}", self.created.len()),
            state: "routed".into(),
        })
    }
}

/// Checkpoints in memory; after `saves_left` saves, saving fails (a crash).
#[derive(Default)]
struct MemoryCheckpoints {
    files: BTreeMap<String, String>,
    saves_left: Option<usize>,
}

impl CheckpointStore for MemoryCheckpoints {
    fn load(&self, name: &str) -> Result<Option<String>, String> {
        Ok(self.files.get(name).cloned())
    }
    fn save(&mut self, name: &str, bytes: &[u8]) -> Result<bool, String> {
        match &mut self.saves_left {
            Some(0) => return Err("disk on fire".into()),
            Some(n) => *n -= 1,
            None => {}
        }
        self.files
            .insert(name.into(), String::from_utf8_lossy(bytes).into_owned());
        Ok(true)
    }
}

struct Run {
    output: Result<BridgeOutput, DecomposeError>,
    lines: Vec<String>,
}

fn run(
    inputs: &BridgeInputs,
    options: &BridgeOptions,
    agents: &Agents,
    checkpoints: &mut (dyn CheckpointStore + 'static),
    sink: Option<&mut (dyn ActivationSink + 'static)>,
) -> Run {
    let roster = roster();
    let clock = Clock::fixed_from_rfc3339("2026-01-31T12:00:00Z").unwrap();
    let mut lines = Vec::new();
    let mut progress = |p: Progress<'_>| match p {
        Progress::Event(e) => lines.push(format!("  [event] {}", e.event_type)),
        Progress::Note(n) => lines.push(n.to_string()),
    };
    let output = run_bridge(
        inputs,
        options,
        Services {
            agents,
            roster: &roster,
            clock: &clock,
            checkpoints: &mut *checkpoints,
            activation: sink.map(|s| s as &mut dyn ActivationSink),
            progress: &mut progress,
        },
    );
    Run { output, lines }
}

fn simulate(
    inputs: &BridgeInputs,
    options: &BridgeOptions,
    sink: Option<&mut (dyn ActivationSink + 'static)>,
) -> BridgeOutput {
    let agents = Agents::simulated(Seed(72));
    run(
        inputs,
        options,
        &agents,
        &mut MemoryCheckpoints::default(),
        sink,
    )
    .output
    .unwrap()
}

fn statuses(out: &BridgeOutput) -> Vec<ActivationStatus> {
    out.activation_manifest.iter().map(|r| r.status).collect()
}

#[test]
fn gusion_proposal_gives_six_routed_and_activated_tasks() {
    let inputs = inputs(vec![
        cluster(17, "active", RESEARCH),
        cluster(42, "active", ENGINEERING),
    ]);
    let mut sink = MemorySink::default();
    let out = simulate(
        &inputs,
        &options(DecompositionMode::Simulation),
        Some(&mut sink),
    );
    let refs: Vec<&str> = out
        .task_drafts
        .iter()
        .map(|d| d.task_ref.as_str())
        .collect();
    assert_eq!(
        refs,
        [
            "TASK-GUSI-001a",
            "TASK-GUSI-001b",
            "TASK-GUSI-002a",
            "TASK-GUSI-002b",
            "TASK-GUSI-003a",
            "TASK-GUSI-003b"
        ]
    );
    for pair in out.task_drafts.chunks(2) {
        assert_eq!((pair[0].effort_hours, pair[1].effort_hours), (8.0, 16.0));
        assert!(pair[0].dependencies.is_empty());
        assert_eq!(pair[1].dependencies, [pair[0].task_ref.clone()]);
        assert_eq!(pair[0].capability_tags, ["dev_backend", "qa_testing"]);
    }
    assert_eq!(statuses(&out), vec![ActivationStatus::Routed; 6]);
    assert_eq!(sink.created.len(), 6);
    assert_eq!(sink.created[0].earl_id, "archon-bifrons-070");
    assert_eq!(
        sink.created[0].provenance.rfp_requirement_ids,
        ["FR-TECH-001"]
    );
    assert!(out.is_complete());
    // T-GUSI-003 names NFR-AUDIT-01, which is not of the FR/NFR-{ABBREV}-{NNN} form.
    assert_eq!(out.summary.counters.weak_provenance, 2);
    assert_eq!(
        out.routing_plan[2].events,
        ["bridge.provenance.weak_mapping"]
    );
    insta::assert_json_snapshot!("gusion_task_drafts", out.task_drafts);
    insta::assert_json_snapshot!("gusion_routing_plan", out.routing_plan);
    insta::assert_json_snapshot!("gusion_activation_manifest", out.activation_manifest);
    insta::assert_json_snapshot!("gusion_bridge_summary", out.summary);
    insta::assert_json_snapshot!("gusion_bridge_events", out.events);
}

#[test]
fn clusters_without_the_tags_block_every_task_by_capability() {
    let inputs = inputs(vec![cluster(17, "active", RESEARCH)]);
    let out = simulate(
        &inputs,
        &options(DecompositionMode::Simulation),
        Some(&mut MemorySink::default()),
    );
    assert_eq!(
        statuses(&out),
        vec![ActivationStatus::BlockedByCapability; 6]
    );
    assert!(out
        .activation_manifest
        .iter()
        .all(|r| r.routing_block_reason == "No eligible cluster"));
    let c = &out.summary.counters;
    assert_eq!((c.no_eligible_cluster, c.activations_attempted), (6, 0));
    assert!(!out.is_complete());
    let blocked = out
        .events
        .iter()
        .filter(|e| e.event_type == "bridge.routing.no_eligible_cluster")
        .count();
    assert_eq!(blocked, 6);
}

#[test]
fn a_paused_cluster_with_matching_tags_is_never_chosen() {
    // The paused cluster sorts first and would win the top-1 slot if it counted.
    let paused = cluster(1, "paused", ENGINEERING);
    let out = simulate(
        &inputs(vec![paused.clone(), cluster(42, "active", ENGINEERING)]),
        &options(DecompositionMode::Simulation),
        None,
    );
    assert!(out
        .activation_manifest
        .iter()
        .all(|r| r.cluster_id.ends_with("42")));
    assert_eq!(statuses(&out), vec![ActivationStatus::PendingActivation; 6]);
    let out = simulate(
        &inputs(vec![paused, cluster(2, "retired", ENGINEERING)]),
        &options(DecompositionMode::Simulation),
        None,
    );
    assert_eq!(
        statuses(&out),
        vec![ActivationStatus::BlockedByCapability; 6]
    );
}

#[test]
fn an_explosion_cap_of_one_sends_every_tactic_to_review() {
    let mut opts = options(DecompositionMode::Simulation);
    opts.max_tasks_per_tactic = 1;
    let out = simulate(
        &inputs(vec![cluster(42, "active", ENGINEERING)]),
        &opts,
        None,
    );
    assert!(out
        .routing_plan
        .iter()
        .all(|e| e.status == TacticStatus::ReviewRequired));
    assert_eq!(out.summary.counters.explosion_review, 3);
    assert_eq!(out.summary.counters.total_task_drafts, 6);
    assert!(out.activation_manifest.is_empty());
    assert_eq!(out.summary.outcome, "blocked");
}

#[test]
fn an_rfp_without_requirement_ids_gives_weak_provenance_for_every_draft() {
    let rfp: serde_json::Value = serde_json::from_str(RFP).unwrap();
    let mut rfp = rfp;
    rfp["requirements"] = serde_json::json!({"functional": [], "non_functional": []});
    let inputs = inputs_with(
        &rfp.to_string(),
        PROPOSAL,
        vec![cluster(42, "active", ENGINEERING)],
    );
    let out = simulate(&inputs, &options(DecompositionMode::Simulation), None);
    assert_eq!(out.summary.counters.weak_provenance, 6);
    assert_eq!(
        out.task_drafts[0].requirements,
        ["Contributes to deliverable D-001"]
    );
    assert!(out
        .routing_plan
        .iter()
        .all(|e| e.status == TacticStatus::Completed));
    assert!(out
        .routing_plan
        .iter()
        .all(|e| e.events == ["bridge.provenance.weak_mapping"]));
}

#[test]
fn top_k_two_activates_each_task_on_both_eligible_clusters() {
    let mut opts = options(DecompositionMode::Simulation);
    opts.route_top_k = 2;
    let inputs = inputs(vec![
        cluster(42, "active", ENGINEERING),
        cluster(44, "active", ENGINEERING),
        cluster(17, "active", RESEARCH),
    ]);
    let mut sink = MemorySink::default();
    let out = simulate(&inputs, &opts, Some(&mut sink));
    assert_eq!(out.activation_manifest.len(), 12);
    assert_eq!(sink.created.len(), 12);
    assert_eq!(out.summary.counters.activations_created, 12);
    assert_eq!(
        sink.created[0].task_ref,
        "TASK-GUSI-001a@c0000000-0000-4000-8000-000000000042"
    );
    assert_eq!(
        sink.created[1].task_ref,
        "TASK-GUSI-001a@c0000000-0000-4000-8000-000000000044"
    );
}

#[test]
fn a_refused_activation_is_recorded_as_failed() {
    let mut sink = MemorySink {
        refuse: vec!["TASK-GUSI-002b".into()],
        ..MemorySink::default()
    };
    let out = simulate(
        &inputs(vec![cluster(42, "active", ENGINEERING)]),
        &options(DecompositionMode::Simulation),
        Some(&mut sink),
    );
    let row = &out.activation_manifest[3];
    assert_eq!(row.status, ActivationStatus::ActivationFailed);
    assert!(row.activation_error.contains("coercion filter"));
    let c = &out.summary.counters;
    assert_eq!(
        (
            c.activations_attempted,
            c.activations_created,
            c.activations_failed
        ),
        (6, 5, 1)
    );
    assert_eq!(out.summary.outcome, "blocked");
}

#[test]
fn single_tactic_and_unknown_tactic() {
    let mut opts = options(DecompositionMode::Simulation);
    opts.tactic_id = Some("T-GUSI-002".into());
    let out = simulate(&inputs(vec![]), &opts, None);
    assert_eq!(out.summary.counters.total_tactics, 1);
    assert_eq!(out.task_drafts.len(), 2);
    opts.tactic_id = Some("T-GUSI-009".into());
    let agents = Agents::simulated(Seed(72));
    let r = run(
        &inputs(vec![]),
        &opts,
        &agents,
        &mut MemoryCheckpoints::default(),
        None,
    );
    let e = r.output.unwrap_err().to_string();
    assert!(
        e.contains("T-GUSI-009") && e.contains("T-GUSI-001, T-GUSI-002, T-GUSI-003"),
        "{e}"
    );
}

/// A simulated backend that counts the exchanges it answers.
struct Counting(AtomicUsize);

impl Backend for Counting {
    fn name(&self) -> &'static str {
        "simulation"
    }
    fn is_simulated(&self) -> bool {
        true
    }
    fn complete(&self, batch: Vec<Exchange>) -> Vec<Result<Completion, TransportFailure>> {
        self.0.fetch_add(batch.len(), Ordering::SeqCst);
        SimulatedBackend.complete(batch)
    }
}

#[test]
fn a_crashed_run_resumes_from_checkpoints_without_redoing_tactics() {
    let inputs = inputs(vec![cluster(42, "active", ENGINEERING)]);
    let opts = options(DecompositionMode::Simulation);
    let mut checkpoints = MemoryCheckpoints {
        saves_left: Some(2),
        ..MemoryCheckpoints::default()
    };
    let backend = Arc::new(Counting(AtomicUsize::new(0)));
    let agents = Agents::new(backend.clone(), Seed(72));
    let crashed = run(&inputs, &opts, &agents, &mut checkpoints, None);
    assert!(matches!(
        crashed.output,
        Err(DecomposeError::Checkpoint { .. })
    ));
    // Tactics are decomposed side by side: all three were asked, two saved
    // before the "crash" (which two depends on timing).
    assert_eq!(backend.0.load(Ordering::SeqCst), 3);
    let saved: Vec<String> = checkpoints.files.keys().cloned().collect();
    assert_eq!(saved.len(), 2, "{saved:?}");
    let lost = ["T-GUSI-001", "T-GUSI-002", "T-GUSI-003"]
        .into_iter()
        .find(|t| !saved.contains(&format!("{t}.task_drafts.json")))
        .unwrap();

    checkpoints.saves_left = None;
    let backend = Arc::new(Counting(AtomicUsize::new(0)));
    let agents = Agents::new(backend.clone(), Seed(72));
    let resumed = run(&inputs, &opts, &agents, &mut checkpoints, None);
    let out = resumed.output.unwrap();
    assert_eq!(
        backend.0.load(Ordering::SeqCst),
        1,
        "only {lost} is decomposed again"
    );
    for kept in saved {
        assert!(resumed
            .lines
            .contains(&format!("    [checkpoint] loaded {kept}")));
    }
    assert!(resumed
        .lines
        .contains(&format!("    [checkpoint] saved {lost}.task_drafts.json")));
    // The resumed run gives what an uninterrupted run gives.
    let fresh = simulate(&inputs, &opts, None);
    assert_eq!(out.task_drafts, fresh.task_drafts);
    assert_eq!(out.activation_manifest, fresh.activation_manifest);
}

#[test]
fn a_checkpoint_whose_drafts_fail_lint_is_asked_again_and_only_that_tactic() {
    let inputs = inputs(vec![cluster(42, "active", ENGINEERING)]);
    let opts = options(DecompositionMode::Simulation);
    let mut checkpoints = MemoryCheckpoints::default();
    let agents = Agents::simulated(Seed(72));
    let first = run(&inputs, &opts, &agents, &mut checkpoints, None)
        .output
        .unwrap();
    let name = "T-GUSI-001.task_drafts.json";
    let edited =
        checkpoints.files[name].replacen("Code reviewed and merged to target branch", "Done", 1);
    assert_ne!(edited, checkpoints.files[name]);
    checkpoints.files.insert(name.into(), edited);
    let out = run(&inputs, &opts, &agents, &mut checkpoints, None)
        .output
        .unwrap();
    // The edited tactic was asked again (one call), the other one came from its checkpoint.
    let calls_of = |tactic: &str| {
        out.events
            .iter()
            .find(|e| {
                e.event_type == "bridge.tactic.decomposition_completed"
                    && e.payload["tactic_id"] == tactic
            })
            .map(|e| {
                (
                    e.payload["from_checkpoint"].as_bool().unwrap(),
                    e.payload["agent_calls"].as_array().unwrap().len(),
                )
            })
            .unwrap()
    };
    assert_eq!(calls_of("T-GUSI-001"), (false, 1));
    assert_eq!(calls_of("T-GUSI-002"), (true, 0));
    assert_eq!(out.routing_plan[0].status, TacticStatus::Completed);
    assert!(out.routing_plan[0].lint_rejections.is_empty());
    assert_eq!(
        out.summary.counters.total_task_drafts,
        first.summary.counters.total_task_drafts
    );
    // The re-asked drafts pass lint, so they are checkpointed again.
    assert!(!checkpoints.files[name].contains("\"Done\""));
}

#[test]
fn same_inputs_give_identical_outputs() {
    let inputs = inputs(vec![cluster(42, "active", ENGINEERING)]);
    let a = simulate(&inputs, &options(DecompositionMode::Simulation), None);
    let b = simulate(&inputs, &options(DecompositionMode::Simulation), None);
    assert_eq!(
        serde_json::to_string(&a.events).unwrap(),
        serde_json::to_string(&b.events).unwrap()
    );
    assert_eq!(
        serde_json::to_string(&a.summary).unwrap(),
        serde_json::to_string(&b.summary).unwrap()
    );
}

// ---- multi-Earl mode with a scripted backend ----

/// Answers by (archon name, question kind); records every batch.
#[derive(Default)]
struct Scripted {
    answers: BTreeMap<(String, String), Result<String, String>>,
    batches: Mutex<Vec<Vec<(String, String)>>>,
    prompts: Mutex<Vec<String>>,
}

impl Scripted {
    fn answer(mut self, archon: &str, kind: &str, a: Result<String, &str>) -> Self {
        self.answers
            .insert((archon.into(), kind.into()), a.map_err(String::from));
        self
    }
}

impl Backend for Scripted {
    fn name(&self) -> &'static str {
        "llm"
    }
    fn is_simulated(&self) -> bool {
        false
    }
    fn complete(&self, batch: Vec<Exchange>) -> Vec<Result<Completion, TransportFailure>> {
        let seen: Vec<(String, String)> = batch
            .iter()
            .map(|e| (e.archon_name.clone(), e.kind.to_string()))
            .collect();
        self.batches.lock().unwrap().push(seen.clone());
        for e in &batch {
            if let Some(m) = e.messages.last() {
                self.prompts.lock().unwrap().push(m.content.clone());
            }
        }
        seen.into_iter()
            .map(|key| match self.answers.get(&key) {
                Some(Ok(text)) => Ok(Completion {
                    text: text.clone(),
                    model: "scripted".into(),
                    prompt_tokens: 100,
                    completion_tokens: 50,
                    usage_estimated: false,
                    latency_ms: 7,
                    source: AnswerSource::Live,
                }),
                Some(Err(m)) => Err(TransportFailure::new(m.clone())),
                None => Err(TransportFailure::new(format!("no script for {key:?}"))),
            })
            .collect()
    }
}

const EARLS: [&str; 6] = [
    "Raum",
    "Furfur",
    "Marax",
    "Halphas",
    "Bifrons",
    "Andromalius",
];

fn task_json(desc: &str, outcomes: [&str; 2], deps: &[&str]) -> serde_json::Value {
    serde_json::json!({
        "description": desc, "requirements": ["Addresses FR-TECH-001"],
        "expected_outcomes": outcomes, "capability_tags": ["dev_backend"],
        "effort_hours": 6.0, "dependencies": deps
    })
}

fn earl_answer(n: usize) -> String {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            task_json(
                &format!("Step {i} of the schema work"),
                ["Schema drafted", "Schema reviewed by two peers"],
                &[],
            )
        })
        .collect();
    serde_json::json!({ "tasks": tasks }).to_string()
}

fn synthesis(tasks: Vec<serde_json::Value>) -> String {
    serde_json::json!({ "tasks": tasks }).to_string()
}

fn with_credits(mut t: serde_json::Value, earls: &[&str]) -> serde_json::Value {
    t["contributing_earls"] = serde_json::json!(earls);
    t
}

fn one_tactic() -> BridgeOptions {
    let mut o = options(DecompositionMode::MultiEarl);
    o.tactic_id = Some("T-GUSI-001".into());
    o
}

#[test]
fn six_earls_decompose_concurrently_and_the_facilitator_synthesises() {
    let backend = Scripted::default()
        .answer("Raum", "earl_decomposition", Ok(earl_answer(3)))
        .answer(
            "Furfur",
            "earl_decomposition",
            Err("HTTP 500: model crashed"),
        )
        .answer("Marax", "earl_decomposition", Ok(r#"{"tasks": []}"#.into()))
        .answer("Halphas", "earl_decomposition", Ok(earl_answer(2)))
        .answer("Bifrons", "earl_decomposition", Ok(earl_answer(4)))
        .answer("Andromalius", "earl_decomposition", Ok(earl_answer(1)))
        .answer(
            "Furfur",
            "earl_synthesis",
            Ok(synthesis(vec![
                with_credits(
                    task_json(
                        "Design the schema",
                        ["Schema v1 published", "Three feeds validated against it"],
                        &[],
                    ),
                    &["Raum", "Earl Bifrons", "Furfur", "Zagan"],
                ),
                with_credits(
                    task_json(
                        "Migrate existing data",
                        ["All records migrated", "Zero validation errors"],
                        &["TASK-GUSI-001a", "TASK-GUSI-001z", "T-GUSI-002"],
                    ),
                    &["Halphas"],
                ),
            ])),
        );
    let backend = Arc::new(backend);
    let agents = Agents::new(backend.clone(), Seed(72));
    let inputs = inputs(vec![cluster(42, "active", ENGINEERING)]);
    let mut checkpoints = MemoryCheckpoints::default();
    let r = run(&inputs, &one_tactic(), &agents, &mut checkpoints, None);
    let out = r.output.unwrap();

    let batches = backend.batches.lock().unwrap().clone();
    // The six Earls are asked side by side, one ask each (so each answer is
    // checkpointed as it arrives), then the facilitator.
    let mut asked: Vec<&str> = batches[..6]
        .iter()
        .map(|b| {
            assert_eq!(b.len(), 1);
            assert_eq!(b[0].1, "earl_decomposition");
            b[0].0.as_str()
        })
        .collect();
    asked.sort();
    let mut all = EARLS.to_vec();
    all.sort();
    assert_eq!(asked, all);
    // Furfur's transport failure is final; Marax's empty answer is valid JSON.
    // The deliverable "Threat Intelligence Platform" matches Furfur's platform portfolio:
    // a failed decomposer still facilitates.
    assert_eq!(
        batches[6],
        [("Furfur".to_string(), "earl_synthesis".to_string())]
    );
    assert!(backend
        .prompts
        .lock()
        .unwrap()
        .iter()
        .any(|p| p.contains("4 of 6 Earls decomposed it")));

    let drafts = &out.task_drafts;
    assert_eq!(drafts.len(), 2);
    assert_eq!(
        drafts[0].contributing_earls.as_deref(),
        Some(&["Raum".to_string(), "Bifrons".to_string()][..])
    );
    assert_eq!(drafts[0].vote_count, Some(2));
    assert_eq!(drafts[1].dependencies, ["TASK-GUSI-001a"]);
    let votes = &out.routing_plan[0].earl_votes;
    let failed: Vec<(&str, &str)> = votes
        .iter()
        .filter(|v| !v.succeeded)
        .map(|v| (v.earl_name.as_str(), v.failure_reason.as_str()))
        .collect();
    assert_eq!(
        failed,
        [
            ("Furfur", "HTTP 500: model crashed"),
            ("Marax", "empty response")
        ]
    );
    assert_eq!(
        votes.iter().map(|v| v.task_count).collect::<Vec<_>>(),
        [3, 0, 0, 2, 4, 1]
    );

    let names: Vec<&str> = checkpoints.files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "T-GUSI-001.earl_andromalius.json",
            "T-GUSI-001.earl_bifrons.json",
            "T-GUSI-001.earl_halphas.json",
            "T-GUSI-001.earl_raum.json",
            "T-GUSI-001.earl_votes.json",
            "T-GUSI-001.task_drafts.json",
        ]
    );
    assert!(r
        .lines
        .contains(&"  [earl] Furfur decomposing T-GUSI-001 (llama3.1:8b)...".to_string()));
    assert!(r
        .lines
        .contains(&"    [earl] Furfur: HTTP 500: model crashed (skipping)".to_string()));
    assert!(r.lines.contains(&"  [synthesis] Facilitator: Earl Furfur (domain match: portfolio_infrastructure_platform_reliability)".to_string()));
    assert!(r
        .lines
        .contains(&"  [synthesis] Merging 4/6 Earl decompositions...".to_string()));
    let completed = out
        .events
        .iter()
        .find(|e| e.event_type == "bridge.tactic.decomposition_completed")
        .unwrap();
    assert_eq!(
        completed.payload["agent_calls"].as_array().unwrap().len(),
        7
    );

    // Resume: the tactic's final checkpoint means no call at all.
    let again = run(&inputs, &one_tactic(), &agents, &mut checkpoints, None)
        .output
        .unwrap();
    assert_eq!(backend.batches.lock().unwrap().len(), 7);
    assert_eq!(again.task_drafts, out.task_drafts);
    assert_eq!(again.routing_plan[0].earl_votes, *votes);

    // Partial resume: without the final drafts only the missing Earls are asked again.
    checkpoints.files.remove("T-GUSI-001.task_drafts.json");
    run(&inputs, &one_tactic(), &agents, &mut checkpoints, None)
        .output
        .unwrap();
    let batches = backend.batches.lock().unwrap().clone();
    let mut again: Vec<&str> = batches[7..9].iter().map(|b| b[0].0.as_str()).collect();
    again.sort();
    assert_eq!(again, ["Furfur", "Marax"]);
    assert_eq!(batches[9][0].1, "earl_synthesis");
}

#[test]
fn all_six_earls_failing_makes_the_tactic_ambiguous() {
    let mut backend = Scripted::default();
    for e in EARLS {
        backend = backend.answer(e, "earl_decomposition", Err("connection refused"));
    }
    let backend = Arc::new(backend);
    let agents = Agents::new(backend.clone(), Seed(72));
    let mut checkpoints = MemoryCheckpoints::default();
    let out = run(
        &inputs(vec![]),
        &one_tactic(),
        &agents,
        &mut checkpoints,
        None,
    )
    .output
    .unwrap();
    let entry = &out.routing_plan[0];
    assert_eq!(entry.status, TacticStatus::Ambiguous);
    assert_eq!(entry.failure_reason, "all 6 Earls failed or answered empty");
    assert!(entry
        .earl_votes
        .iter()
        .all(|v| !v.succeeded && v.failure_reason == "connection refused"));
    assert_eq!(out.summary.counters.ambiguous_tactics, 1);
    assert_eq!(
        backend.batches.lock().unwrap().len(),
        6,
        "no synthesis without decompositions"
    );
    assert_eq!(
        checkpoints.files.keys().collect::<Vec<_>>(),
        ["T-GUSI-001.earl_votes.json"]
    );
    assert!(out
        .events
        .iter()
        .any(|e| e.event_type == "bridge.decomposition.ambiguous_tactic"));
}

#[test]
fn synthesis_lint_overlap_and_facilitator_failures() {
    let mut base = Scripted::default();
    for e in EARLS {
        base = base.answer(e, "earl_decomposition", Ok(earl_answer(2)));
    }
    // A "Done" outcome is rejected; the two remaining drafts overlap.
    let overlapping = base.answer(
        "Furfur",
        "earl_synthesis",
        Ok(synthesis(vec![
            with_credits(
                task_json("Write the schema", ["Schema drafted", "Done"], &[]),
                &["Raum"],
            ),
            with_credits(
                task_json(
                    "Draft the schema",
                    ["Schema reviewed.", "schema DRAFTED"],
                    &[],
                ),
                &["Raum"],
            ),
            with_credits(
                task_json(
                    "Document the schema",
                    ["Schema drafted", "Schema reviewed"],
                    &[],
                ),
                &["Marax"],
            ),
        ])),
    );
    let agents = Agents::new(Arc::new(overlapping), Seed(72));
    let out = run(
        &inputs(vec![]),
        &one_tactic(),
        &agents,
        &mut MemoryCheckpoints::default(),
        None,
    )
    .output
    .unwrap();
    let entry = &out.routing_plan[0];
    assert_eq!(entry.status, TacticStatus::OverlapReview);
    assert_eq!(entry.lint_rejections[0].task_ref, "TASK-GUSI-001a");
    assert_eq!(
        entry.failure_reason,
        "overlapping task drafts: TASK-GUSI-001b ~ TASK-GUSI-001c"
    );
    assert_eq!(out.summary.counters.overlap_review, 1);
    assert!(out.activation_manifest.is_empty());

    let mut failing = Scripted::default();
    for e in EARLS {
        failing = failing.answer(e, "earl_decomposition", Ok(earl_answer(1)));
    }
    let failing = failing.answer(
        "Furfur",
        "earl_synthesis",
        Ok("I refuse to answer in JSON".into()),
    );
    let agents = Agents::new(Arc::new(failing), Seed(72));
    let mut checkpoints = MemoryCheckpoints::default();
    let out = run(
        &inputs(vec![]),
        &one_tactic(),
        &agents,
        &mut checkpoints,
        None,
    )
    .output
    .unwrap();
    let entry = &out.routing_plan[0];
    assert_eq!(entry.status, TacticStatus::Failed);
    assert!(
        entry
            .failure_reason
            .starts_with("synthesis by Earl Furfur failed"),
        "{}",
        entry.failure_reason
    );
    assert!(out
        .events
        .iter()
        .any(|e| e.event_type == "bridge.tactic.decomposition_failed"));
    assert!(!checkpoints
        .files
        .contains_key("T-GUSI-001.task_drafts.json"));
    assert!(checkpoints.files.contains_key("T-GUSI-001.earl_raum.json"));
}

#[test]
fn the_facilitator_follows_the_deliverable_domain() {
    let proposal = PROPOSAL.replace(
        "Design and validate schema for threat intelligence data",
        "Harden the security of the adversarial risk register",
    );
    let mut backend = Scripted::default();
    for e in EARLS {
        backend = backend.answer(e, "earl_decomposition", Ok(earl_answer(1)));
    }
    let backend = Arc::new(backend.answer(
        "Halphas",
        "earl_synthesis",
        Ok(synthesis(vec![with_credits(
            task_json(
                "Harden it",
                ["Threat model published", "Pen test passed"],
                &[],
            ),
            &["Halphas"],
        )])),
    ));
    let agents = Agents::new(backend.clone(), Seed(72));
    let r = run(
        &inputs_with(RFP, &proposal, vec![]),
        &one_tactic(),
        &agents,
        &mut MemoryCheckpoints::default(),
        None,
    );
    r.output.unwrap();
    assert!(r.lines.contains(&"  [synthesis] Facilitator: Earl Halphas (domain match: portfolio_adversarial_risk_security)".to_string()), "{:#?}", r.lines);

    // "Implement Audit Trail" (deliverable D-002, not in the RFP) matches no portfolio.
    let mut opts = one_tactic();
    opts.tactic_id = Some("T-GUSI-003".into());
    let backend = Arc::new(
        Scripted {
            answers: backend.answers.clone(),
            ..Scripted::default()
        }
        .answer(
            "Bifrons",
            "earl_synthesis",
            Ok(synthesis(vec![with_credits(
                task_json("Log it", ["Audit log written", "Audit log queried"], &[]),
                &["Raum"],
            )])),
        ),
    );
    let agents = Agents::new(backend, Seed(72));
    let r = run(
        &inputs(vec![]),
        &opts,
        &agents,
        &mut MemoryCheckpoints::default(),
        None,
    );
    assert_eq!(r.output.unwrap().task_drafts.len(), 1);
    assert!(
        r.lines.contains(
            &"  [synthesis] Facilitator: Earl Bifrons (default — no domain match)".to_string()
        ),
        "{:#?}",
        r.lines
    );
}

/// A scripted backend whose `hung` Earl does not answer until released; then its
/// call fails, as the call of a killed run would.
struct OneEarlHangs {
    script: Scripted,
    hung: &'static str,
    released: Arc<(Mutex<bool>, std::sync::Condvar)>,
}

impl Backend for OneEarlHangs {
    fn name(&self) -> &'static str {
        "llm"
    }
    fn is_simulated(&self) -> bool {
        false
    }
    fn complete(&self, batch: Vec<Exchange>) -> Vec<Result<Completion, TransportFailure>> {
        if batch.iter().any(|e| e.archon_name == self.hung) {
            let (lock, cvar) = &*self.released;
            let mut released = lock.lock().unwrap();
            while !*released {
                released = cvar.wait(released).unwrap();
            }
            return batch
                .iter()
                .map(|_| Err(TransportFailure::new("killed")))
                .collect();
        }
        self.script.complete(batch)
    }
}

/// Checkpoints the test can read while the run is still going.
struct SharedCheckpoints(Arc<Mutex<BTreeMap<String, String>>>);

impl CheckpointStore for SharedCheckpoints {
    fn load(&self, name: &str) -> Result<Option<String>, String> {
        Ok(self.0.lock().unwrap().get(name).cloned())
    }
    fn save(&mut self, name: &str, bytes: &[u8]) -> Result<bool, String> {
        self.0
            .lock()
            .unwrap()
            .insert(name.into(), String::from_utf8_lossy(bytes).into_owned());
        Ok(true)
    }
}

#[test]
fn while_one_earl_hangs_the_other_answers_are_already_checkpointed() {
    let mut script = Scripted::default();
    for e in EARLS {
        script = script.answer(e, "earl_decomposition", Ok(earl_answer(1)));
    }
    let released = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
    let backend = OneEarlHangs {
        script,
        hung: "Halphas",
        released: released.clone(),
    };
    let agents = Agents::new(Arc::new(backend), Seed(72));
    let files = Arc::new(Mutex::new(BTreeMap::new()));
    let store_files = files.clone();
    let runner = std::thread::spawn(move || {
        let mut store = SharedCheckpoints(store_files);
        run(&inputs(vec![]), &one_tactic(), &agents, &mut store, None).lines
    });
    let others: Vec<String> = EARLS
        .iter()
        .filter(|e| **e != "Halphas")
        .map(|e| format!("T-GUSI-001.earl_{}.json", e.to_lowercase()))
        .collect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let saved = loop {
        let saved: Vec<String> = files.lock().unwrap().keys().cloned().collect();
        if others.iter().all(|o| saved.contains(o)) || std::time::Instant::now() > deadline {
            break saved;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    // Halphas still hangs, and the five answers received are on disk: a kill now loses none.
    let mut want = others.clone();
    want.sort();
    assert_eq!(saved, want);
    let (lock, cvar) = &*released;
    *lock.lock().unwrap() = true;
    cvar.notify_all();
    let lines = runner.join().unwrap();
    assert!(lines.contains(&"    [earl] Halphas: killed (skipping)".to_string()));
}

/// Every call fails at once, except a call about `hung`, which waits until released.
struct TacticHangs {
    hung: &'static str,
    released: Arc<(Mutex<bool>, std::sync::Condvar)>,
}

impl Backend for TacticHangs {
    fn name(&self) -> &'static str {
        "llm"
    }
    fn is_simulated(&self) -> bool {
        false
    }
    fn complete(&self, batch: Vec<Exchange>) -> Vec<Result<Completion, TransportFailure>> {
        let about_hung = batch
            .iter()
            .any(|e| e.messages.iter().any(|m| m.content.contains(self.hung)));
        if about_hung {
            let (lock, cvar) = &*self.released;
            let mut released = lock.lock().unwrap();
            while !*released {
                released = cvar.wait(released).unwrap();
            }
        }
        batch
            .iter()
            .map(|_| Err(TransportFailure::new("connection refused")))
            .collect()
    }
}

#[test]
fn progress_of_a_finished_tactic_is_shown_while_a_later_one_still_runs() {
    let released = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
    let backend = TacticHangs {
        hung: "T-GUSI-002",
        released: released.clone(),
    };
    let agents = Agents::new(Arc::new(backend), Seed(72));
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = lines.clone();
    let runner = std::thread::spawn(move || {
        let roster = roster();
        let clock = Clock::fixed_from_rfc3339("2026-01-31T12:00:00Z").unwrap();
        let mut progress = |p: Progress<'_>| {
            if let Progress::Event(e) = p {
                let tactic = e
                    .payload
                    .get("tactic_id")
                    .and_then(|t| t.as_str())
                    .unwrap_or("");
                seen.lock()
                    .unwrap()
                    .push(format!("{} {tactic}", e.event_type));
            }
        };
        run_bridge(
            &inputs(vec![]),
            &options(DecompositionMode::MultiEarl),
            Services {
                agents: &agents,
                roster: &roster,
                clock: &clock,
                checkpoints: &mut MemoryCheckpoints::default(),
                activation: None,
                progress: &mut progress,
            },
        )
        .unwrap()
    });
    let first_done = "bridge.decomposition.ambiguous_tactic T-GUSI-001".to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !lines.lock().unwrap().contains(&first_done) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let shown = lines.lock().unwrap().clone();
    // T-GUSI-002 still hangs: T-GUSI-001 is shown, nothing of the later tactics yet.
    assert!(shown.contains(&first_done), "{shown:?}");
    assert!(
        !shown
            .iter()
            .any(|l| l.contains("T-GUSI-002") || l.contains("T-GUSI-003")),
        "{shown:?}"
    );
    let (lock, cvar) = &*released;
    *lock.lock().unwrap() = true;
    cvar.notify_all();
    let out = runner.join().unwrap();
    assert_eq!(out.summary.counters.ambiguous_tactics, 3);
}
