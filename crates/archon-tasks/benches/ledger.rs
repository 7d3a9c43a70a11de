//! Ledger throughput: 100,000 lifecycle events appended in batches, and
//! `verify` of a 100,000-event ledger. Targets: > 20,000 events/s appended,
//! verify < 2 s. Run: `cargo bench -p archon-tasks --bench ledger`.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::time::Duration;

use archon_core::clock::Clock;
use archon_tasks::{verify_ledger, ActivationRequest, Ledger, Sensitivity, Transition};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

const EVENTS: usize = 100_000;
const BATCH: usize = 1_000;
/// An activation writes 6 events (intent, opened, activated, filter, routed, committed),
/// an accept 3 (intent, state change, committed).
const EVENTS_PER_TASK: usize = 6 + 3;

fn request(i: usize) -> ActivationRequest {
    ActivationRequest {
        task_ref: format!("TASK-BENCH-{i:06}"),
        earl_id: "earl-raum".into(),
        cluster_id: "6e2f3a41-0042-4b42-9b42-000000000042".into(),
        description: format!("Implement part {i} of the ingestion pipeline."),
        requirements: vec!["Addresses FR-TECH-001".into()],
        expected_outcomes: vec!["Tests pass".into(), "Reviewed".into()],
        sensitivity: Sensitivity::Standard,
        ttl_hours: 72,
        provenance: serde_json::json!({"capability_tags": ["dev_backend"]}),
    }
}

/// Appends about `EVENTS` events: batches of activations, then batches of accepts.
fn fill(ledger: &mut Ledger, clock: &Clock) -> usize {
    let tasks = EVENTS.div_ceil(EVENTS_PER_TASK);
    for start in (0..tasks).step_by(BATCH) {
        let end = (start + BATCH).min(tasks);
        let requests = (start..end).map(request).collect();
        for r in ledger.create_activations(requests, "earl:bench", clock) {
            r.expect("activation");
        }
        let moves = (start..end)
            .map(|i| (format!("TASK-BENCH-{i:06}"), Transition::Accept))
            .collect();
        for r in ledger.transitions(moves, "steward:bench", clock) {
            r.expect("accept");
        }
    }
    tasks * EVENTS_PER_TASK
}

fn bench(c: &mut Criterion) {
    let clock = Clock::fixed_from_rfc3339("2026-02-01T10:00:00Z").expect("clock");
    let mut group = c.benchmark_group("ledger");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("append_100k_events_in_batches", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("tmp");
                let ledger = Ledger::open(dir.path().join("governance.db")).expect("open");
                (dir, ledger)
            },
            |(dir, mut ledger)| {
                fill(&mut ledger, &clock);
                dir
            },
            BatchSize::PerIteration,
        )
    });

    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("governance.db");
    let mut ledger = Ledger::open(&path).expect("open");
    let written = fill(&mut ledger, &clock);
    let events = ledger.events().expect("events").len();
    assert_eq!(events, written);
    group.bench_function("verify_100k_events", |b| {
        b.iter(|| {
            let report = verify_ledger(&path).expect("verify");
            assert!(report.ok);
            report.events
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
