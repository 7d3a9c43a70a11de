//! Tampering is detected, concurrent writers neither lose nor double a
//! transition, and the projection always equals a replay of the log.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::collections::BTreeMap;

use archon_tasks::event::{event_hash, EventBody, HashInput};
use archon_tasks::{replay, verify_ledger, Ledger, TaskState, Transition};
use common::*;
use proptest::prelude::*;
use rusqlite::Connection;

/// A small real ledger: three tasks through several states.
fn sample() -> Fixture {
    let mut fx = Fixture::new();
    fx.task_in("TASK-V-001", TaskState::Completed);
    fx.task_in("TASK-V-002", TaskState::Accepted);
    fx.task_in("TASK-V-003", TaskState::Nullified);
    let report = verify_ledger(fx.path()).expect("verify");
    assert!(report.ok, "{report:?}");
    fx
}

/// Opens the file as an attacker would, with the append-only triggers dropped.
fn tamper(fx: &Fixture) -> Connection {
    let conn = Connection::open(fx.path()).expect("open raw");
    conn.execute_batch(
        "DROP TRIGGER events_append_only_update; DROP TRIGGER events_append_only_delete;",
    )
    .expect("drop triggers");
    conn
}

#[test]
fn the_ledger_refuses_updates_and_deletes() {
    let fx = sample();
    let conn = Connection::open(fx.path()).expect("open raw");
    let err = conn
        .execute("UPDATE events SET actor = 'x' WHERE seq = 1", [])
        .expect_err("append-only");
    assert!(err.to_string().contains("append-only"), "{err}");
    assert!(conn
        .execute("DELETE FROM events WHERE seq = 1", [])
        .is_err());
}

#[test]
fn verify_names_a_modified_byte() {
    let fx = sample();
    let conn = tamper(&fx);
    // Flip one byte of the body of event 8 (same length, valid JSON).
    let body: String = conn
        .query_row("SELECT body FROM events WHERE seq = 8", [], |r| r.get(0))
        .expect("row");
    let changed = body.replacen("routed", "rputed", 1);
    assert_ne!(body, changed);
    conn.execute("UPDATE events SET body = ?1 WHERE seq = 8", [&changed])
        .expect("tamper");
    let report = verify_ledger(fx.path()).expect("verify");
    assert!(!report.ok);
    let bad = report.first_bad.expect("found");
    assert_eq!(bad.seq, 8);
    assert!(bad.problem.contains("modified"), "{}", bad.problem);
}

#[test]
fn verify_names_a_deleted_event() {
    let fx = sample();
    let conn = tamper(&fx);
    conn.execute("DELETE FROM events WHERE seq = 12", [])
        .expect("tamper");
    let bad = verify_ledger(fx.path())
        .expect("verify")
        .first_bad
        .expect("found");
    assert_eq!(bad.seq, 12);
    assert!(bad.problem.contains("missing"), "{}", bad.problem);
}

#[test]
fn verify_names_a_deleted_event_even_when_renumbered() {
    let fx = sample();
    let conn = tamper(&fx);
    conn.execute("DELETE FROM events WHERE seq = 12", [])
        .expect("tamper");
    conn.execute("UPDATE events SET seq = seq - 1 WHERE seq > 12", [])
        .expect("renumber");
    let bad = verify_ledger(fx.path())
        .expect("verify")
        .first_bad
        .expect("found");
    assert_eq!(bad.seq, 12);
    assert!(bad.problem.contains("prev_hash"), "{}", bad.problem);
}

#[test]
fn verify_names_a_swapped_pair() {
    let fx = sample();
    let conn = tamper(&fx);
    // Swap the contents of events 5 and 6, keeping their positions.
    conn.execute_batch(
        "UPDATE events SET seq = -5 WHERE seq = 5;
         UPDATE events SET seq = 5 WHERE seq = 6;
         UPDATE events SET seq = 6 WHERE seq = -5;",
    )
    .expect("swap");
    let bad = verify_ledger(fx.path())
        .expect("verify")
        .first_bad
        .expect("found");
    assert_eq!(bad.seq, 5);
}

#[test]
fn verify_reports_an_orphaned_intent() {
    let fx = sample();
    let path = fx.path();
    let steward = fx.steward_of("TASK-V-002");
    // A crashed writer's lock is gone with its process.
    let dir = fx.close();
    let conn = Connection::open(&path).expect("open raw");
    // What a crash between the two phases leaves: a well-chained intent, no outcome.
    let (seq, prev): (i64, String) = conn
        .query_row(
            "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("tail");
    let seq = seq as u64 + 1;
    let body = serde_json::to_string(&EventBody::Intent {
        op: "accept".into(),
        expected_version: 0,
        request: None,
    })
    .expect("encode");
    let hash = event_hash(&HashInput {
        seq,
        op_seq: seq,
        task_ref: "TASK-V-002",
        kind: "intent",
        at: "2026-02-01T10:00:00Z",
        actor: "crashed",
        body: &body,
        prev_hash: &prev,
    });
    conn.execute(
        "INSERT INTO events VALUES (?1, ?1, 'TASK-V-002', 'intent', '2026-02-01T10:00:00Z', 'crashed', ?2, ?3, ?4)",
        rusqlite::params![seq as i64, body, prev, hash],
    )
    .expect("insert");
    drop(conn);
    let report = verify_ledger(&path).expect("verify");
    assert!(!report.ok);
    assert_eq!(report.first_bad, None, "the chain itself is intact");
    assert_eq!(report.orphaned_intents.len(), 1);
    assert_eq!(report.orphaned_intents[0].seq, seq);
    assert_eq!(report.orphaned_intents[0].task_ref, "TASK-V-002");
    // While a writer is open, an open intent may be in flight: not a fault.
    let mut ledger = Ledger::open(&path).expect("open");
    let report = verify_ledger(&path).expect("verify");
    assert!(report.ok, "{report:?}");
    assert_eq!(report.in_flight_intents.len(), 1);
    // The ledger keeps working after a crash: another operation on the task
    // closes the orphan (abandoned) before its own intent, and verify is green.
    ledger
        .transition("TASK-V-002", Transition::Start, &steward, &t0())
        .expect("start");
    let events = ledger.events().expect("events");
    let closing = events
        .iter()
        .find(|e| e.op_seq == seq && e.seq != seq)
        .expect("the orphan is closed");
    assert!(
        matches!(&closing.body, EventBody::Failed { error } if error.starts_with("abandoned")),
        "{closing:?}"
    );
    drop(ledger);
    let report = verify_ledger(&path).expect("verify");
    assert!(report.ok, "{report:?}");
    drop(dir);
}

#[test]
fn verify_reports_a_tampered_projection() {
    let fx = sample();
    let conn = Connection::open(fx.path()).expect("open raw");
    conn.execute(
        "UPDATE tasks SET record = replace(record, '\"state\":\"accepted\"', '\"state\":\"completed\"') WHERE task_ref = 'TASK-V-002'",
        [],
    )
    .expect("tamper");
    let report = verify_ledger(fx.path()).expect("verify");
    assert_eq!(report.projection_mismatches, ["TASK-V-002"]);
    assert!(!report.ok);
}

#[test]
fn verify_refuses_a_missing_file_and_garbage() {
    let dir = tempfile::tempdir().expect("tmp");
    assert!(verify_ledger(dir.path().join("none.db")).is_err());
    let junk = dir.path().join("junk.db");
    std::fs::write(
        &junk,
        b"this is not a database at all, not even close......",
    )
    .expect("write");
    let err = verify_ledger(&junk).expect_err("garbage");
    assert!(err.to_string().contains("junk.db"), "{err}");
    assert!(Ledger::open(&junk).is_err());
}

/// Two writers with their own connections race on the same tasks: every
/// state change is recorded exactly once, and every call either applied its
/// change or was told why not.
#[test]
fn concurrent_writers_neither_lose_nor_double_transitions() {
    let mut fx = Fixture::new();
    let tasks: Vec<String> = (0..12).map(|i| format!("TASK-C-{i:03}")).collect();
    for t in &tasks {
        fx.activate(t);
    }
    let path = fx.path();
    let steps = [Transition::Accept, Transition::Start];
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let path = path.clone();
            let tasks = tasks.clone();
            let steps = steps.clone();
            std::thread::spawn(move || {
                let mut ledger = Ledger::open(&path).expect("open");
                let mut applied = 0usize;
                for step in &steps {
                    for t in &tasks {
                        let steward = steward(&ledger, t);
                        if ledger.transition(t, step.clone(), &steward, &t0()).is_ok() {
                            applied += 1;
                        }
                    }
                }
                applied
            })
        })
        .collect();
    let applied: usize = handles.into_iter().map(|h| h.join().expect("thread")).sum();
    assert_eq!(
        applied,
        tasks.len() * 2,
        "each accept and start applied exactly once"
    );
    let events = fx.ledger.events().expect("events");
    let mut changes: BTreeMap<(String, TaskState), usize> = BTreeMap::new();
    for ev in &events {
        if let EventBody::StateChanged { to, .. } = ev.body {
            *changes.entry((ev.task_ref.clone(), to)).or_default() += 1;
        }
    }
    for t in &tasks {
        assert_eq!(
            changes.get(&(t.clone(), TaskState::Accepted)),
            Some(&1),
            "{t}"
        );
        assert_eq!(
            changes.get(&(t.clone(), TaskState::InProgress)),
            Some(&1),
            "{t}"
        );
        assert_eq!(fx.state(t), TaskState::InProgress);
    }
    let report = verify_ledger(&path).expect("verify");
    assert!(report.ok, "{report:?}");
}

/// `steward:<id>` of the cluster `task` is routed to now.
fn steward(ledger: &Ledger, task: &str) -> String {
    let cluster = ledger
        .task(task)
        .expect("read")
        .and_then(|t| t.cluster_id)
        .expect("routed");
    let c = ledger.clusters().get(&cluster).expect("known cluster");
    format!("steward:{}", c.steward.steward_id)
}

fn transition_strategy() -> impl Strategy<Value = Transition> {
    prop_oneof![
        Just(Transition::Accept),
        Just(Transition::Decline { reason: None }),
        Just(Transition::Start),
        Just(settle_accept()),
        Just(settle_reject(archon_tasks::RejectionCode::ScopeDrift)),
        Just(halt()),
        Just(Transition::Reroute),
        Just(Transition::Expire),
        Just(Transition::Report {
            result: Box::new(result_for(C42, "r-p"))
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Whatever sequence of moves is attempted (most are refused), the stored
    /// projection equals a replay of the log, and the log verifies.
    #[test]
    fn projection_equals_replay(moves in proptest::collection::vec((0usize..3, transition_strategy(), 0i64..100), 1..25)) {
        let mut fx = Fixture::new();
        let tasks = ["TASK-P-0", "TASK-P-1", "TASK-P-2"];
        for t in tasks {
            fx.activate(t);
        }
        let mut hours = 0;
        for (task, transition, dt) in moves {
            hours += dt;
            let now = archon_core::clock::Clock::Fixed(t0().now() + chrono::Duration::hours(hours));
            let before = fx.event_count();
            let actor = fx.steward_of(tasks[task]);
            let result = fx.ledger.transition(tasks[task], transition, &actor, &now);
            if let Err(e) = &result {
                prop_assert_eq!(fx.event_count(), before, "{}", e);
            }
        }
        let replayed = replay(&fx.ledger.events().expect("events")).expect("replay");
        prop_assert_eq!(replayed.into_values().collect::<Vec<_>>(), fx.ledger.tasks().expect("tasks"));
        let report = verify_ledger(fx.path()).expect("verify");
        prop_assert!(report.ok, "{:?}", report);
    }
}
