//! Decomposition of a 2,000-tactic proposal end to end on disk: simulation,
//! per-tactic checkpoints written, every task routed and activated in the
//! governance ledger (SQLite, fsynced), the bridge artifacts written. Target:
//! under 5 s. Run: `cargo bench -p archon-decompose --bench decompose`.
#![allow(clippy::unwrap_used)] // benches fail loudly by design

use std::collections::BTreeMap;
use std::time::Duration;

use archon_core::agent_port::Agents;
use archon_core::clock::Clock;
use archon_core::roster::Roster;
use archon_core::seed::Seed;
use archon_decompose::inputs::{Rfp, RoutingTable, SelectionResult};
use archon_decompose::io::{write_outputs, DirCheckpoints};
use archon_decompose::ledger_sink::LedgerSink;
use archon_decompose::tactics::parse_tactics;
use archon_decompose::{
    run_bridge, ActivationSink, BridgeInputs, BridgeOptions, DecompositionMode, Services,
};
use archon_tasks::{ClusterRegistry, Ledger};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

const TACTICS: usize = 2_000;
const SELECTION: &str = include_str!("../tests/data/selection_result.json");
const RFP: &str = include_str!("../tests/data/rfp.json");
const ROSTER: &str = include_str!("../../../data/roster.json");
const TABLE: &str = include_str!("../../../data/earl_routing_table.json");

/// A Duke proposal with `n` tactics in the shape the proposal stage writes.
fn proposal(n: usize) -> String {
    let mut md = String::from("# Proposal from Duke Gusion\n\n## Tactics\n");
    for i in 1..=n {
        md.push_str(&format!(
            "\n### T-GUSI-{i:04}: Build ingestion stage {i}\n\
             - **Description:** Implement automated ingestion of threat feeds, stage {i}\n\
             - **Deliverable:** D-001\n\
             - **Rationale:** Core capability required by FR-TECH-001\n\
             - **Prerequisites:** None\n\
             - **Dependencies:** None\n\
             - **Estimated Duration:** P7D\n\
             - **Owner:** duke_gusion\n"
        ));
    }
    md
}

fn cluster() -> (String, String) {
    let json = serde_json::json!({
        "cluster_id": "c0000000-0000-4000-8000-000000000042", "version": "1.0.0",
        "name": "Cluster 42", "status": "active",
        "steward": {"steward_id": "steward-42", "display_name": "S",
                    "contact": {"channel": "slack", "address": "#c"}, "auth_level": "standard"},
        "capabilities": {"tags": ["dev_backend", "qa_testing", "design"]},
        "capacity": {"availability_status": "available", "max_concurrent_tasks": 3, "max_weekly_task_load": 10},
        "consent_policy": {"requires_explicit_acceptance": true, "refusal_is_penalty_free": true}
    });
    ("cluster-42.json".into(), json.to_string())
}

fn bench(c: &mut Criterion) {
    let markdown = proposal(TACTICS);
    let roster = Roster::from_json("roster.json", ROSTER).unwrap();
    let clock = Clock::fixed_from_rfc3339("2026-01-31T12:00:00Z").unwrap();
    let options = BridgeOptions {
        mode: DecompositionMode::Simulation,
        tactic_id: None,
        max_tasks_per_tactic: 8,
        ttl_hours: 72,
        route_top_k: 1,
        seed: Seed(72),
    };
    let mut group = c.benchmark_group("decompose");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(60));
    group.bench_function("2000_tactics_simulation_activated_on_disk", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |tmp| {
                // Parsing is part of the work measured.
                let selection = SelectionResult::parse("selection_result.json", SELECTION).unwrap();
                let winner = selection.winner("selection_result.json").unwrap();
                let inputs = BridgeInputs {
                    selection_file: "selection/selection_result.json".into(),
                    selection,
                    winner,
                    tactics: parse_tactics("proposal_gusion.md", &markdown).unwrap(),
                    rfp: Rfp::parse("rfp.json", RFP).unwrap(),
                    clusters: ClusterRegistry::from_sources([cluster()]).unwrap(),
                    routing_table: RoutingTable::parse("earl_routing_table.json", TABLE).unwrap(),
                };
                let bridge_dir = tmp.path().join("execution_bridge");
                let mut checkpoints = DirCheckpoints::new(bridge_dir.join("checkpoints"), true);
                let mut sink = LedgerSink {
                    ledger: Ledger::open(tmp.path().join("governance.db"))
                        .unwrap()
                        .with_clusters(inputs.clusters.clone()),
                    clock: &clock,
                    turn: None,
                    anchor: None,
                };
                let agents = Agents::simulated(Seed(72));
                let output = run_bridge(
                    &inputs,
                    &options,
                    Services {
                        agents: &agents,
                        roster: &roster,
                        clock: &clock,
                        checkpoints: &mut checkpoints,
                        activation: Some(&mut sink as &mut dyn ActivationSink),
                        progress: &mut |_| {},
                    },
                )
                .unwrap();
                assert_eq!(output.summary.counters.activations_created, 2 * TACTICS);
                write_outputs(
                    &bridge_dir,
                    &output,
                    "bench".into(),
                    BTreeMap::new(),
                    sink.anchor,
                )
                .unwrap();
                tmp
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
