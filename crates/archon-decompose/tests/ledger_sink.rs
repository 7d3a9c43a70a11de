//! The governance ledger as the bridge's activation sink: batches, and reruns
//! that find their earlier activations (routed or held) instead of minting refs.
#![allow(clippy::unwrap_used)]

use archon_core::clock::Clock;
use archon_decompose::ledger_sink::LedgerSink;
use archon_decompose::model::Sensitivity;
use archon_decompose::{ActivationRequest, ActivationSink, Provenance};
use archon_tasks::{EventBody, Ledger};

const CLUSTER: &str = "6e2f3a41-0042-4b42-9b42-000000000042";

fn request(task_ref: &str, description: &str) -> ActivationRequest {
    ActivationRequest {
        task_ref: task_ref.into(),
        earl_id: "earl-raum".into(),
        cluster_id: CLUSTER.into(),
        description: description.into(),
        requirements: vec!["Addresses FR-TECH-001".into()],
        expected_outcomes: vec!["Schema reviewed by two peers".into()],
        sensitivity: Sensitivity::Standard,
        ttl_hours: 72,
        provenance: Provenance {
            rfp_id: "rfp-1".into(),
            mandate_id: "mandate-80b8d82e".into(),
            proposal_id: "dprop-gusi".into(),
            selection_id: "sel-1".into(),
            parent_tactic_id: "T-GUSI-001".into(),
            deliverable_id: "D-001".into(),
            rfp_requirement_ids: vec!["FR-TECH-001".into()],
            capability_tags: vec!["dev_backend".into()],
        },
    }
}

fn sink<'a>(path: &std::path::Path, clock: &'a Clock) -> LedgerSink<'a> {
    LedgerSink {
        ledger: Ledger::open(path).unwrap(),
        clock,
        turn: None,
        anchor: None,
    }
}

#[test]
fn a_rerun_after_a_coercion_blocked_activation_reuses_the_task() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("governance.db");
    let clock = Clock::fixed_from_rfc3339("2026-01-31T12:00:00Z").unwrap();
    let blocked = request("TASK-GUSI-001a", "URGENT: last chance, do it or else.");
    let first = sink(&path, &clock).create_activation(&blocked).unwrap_err();
    let again = sink(&path, &clock).create_activation(&blocked).unwrap_err();
    assert!(first.contains("coercion"), "{first}");
    assert_eq!(first, again);
    let ledger = Ledger::open(&path).unwrap();
    let refs: Vec<String> = ledger
        .tasks()
        .unwrap()
        .into_iter()
        .map(|t| t.task_ref)
        .collect();
    assert_eq!(refs, ["TASK-GUSI-001a"], "no second ref minted");
}

#[test]
fn a_batch_of_activations_is_one_intent_and_one_outcome_transaction() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("governance.db");
    let clock = Clock::fixed_from_rfc3339("2026-01-31T12:00:00Z").unwrap();
    let requests: Vec<ActivationRequest> = (0..50)
        .map(|i| {
            request(
                &format!("TASK-GUSI-{i:03}a"),
                &format!("Build part {i} of the schema"),
            )
        })
        .collect();
    let results = sink(&path, &clock).create_activations(&requests);
    assert_eq!(results.len(), 50);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let events = Ledger::open(&path).unwrap().events().unwrap();
    let intents: Vec<u64> = events
        .iter()
        .filter(|e| matches!(e.body, EventBody::Intent { .. }))
        .map(|e| e.seq)
        .collect();
    // All 50 intents come before the first fact: they were written together.
    let first_fact = events.iter().position(|e| e.body.is_fact()).unwrap();
    assert_eq!(intents.len(), 50);
    assert_eq!(first_fact, 50);
    // A rerun finds every activation and writes nothing.
    let again = sink(&path, &clock).create_activations(&requests);
    assert_eq!(
        again
            .iter()
            .map(|r| r.as_ref().unwrap().activation_id.clone())
            .collect::<Vec<_>>(),
        results
            .iter()
            .map(|r| r.as_ref().unwrap().activation_id.clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        Ledger::open(&path).unwrap().events().unwrap().len(),
        events.len()
    );
}
