//! Tampering is detected, concurrent writers neither lose nor double a
//! transition, and the projection always equals a replay of the log.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::collections::BTreeMap;

use archon_tasks::event::EventBody;
use archon_tasks::{replay, verify_ledger, Ledger, TaskState, Transition};
use common::*;
use proptest::prelude::*;

/// A small real ledger: three tasks through several states.
fn sample(backend: Backend) -> Fixture {
    let mut fx = Fixture::new(backend);
    fx.task_in("TASK-V-001", TaskState::Completed);
    fx.task_in("TASK-V-002", TaskState::Accepted);
    fx.task_in("TASK-V-003", TaskState::Nullified);
    let report = verify_ledger(fx.path()).expect("verify");
    assert!(report.ok, "{report:?}");
    fx
}

/// Opens the rows as an attacker would, with the append-only guard lifted.
fn tamper(fx: &Fixture) -> Raw {
    let mut raw = fx.storage.raw();
    raw.unguard();
    raw
}

fn the_ledger_refuses_updates_and_deletes(backend: Backend) {
    let fx = sample(backend);
    let mut raw = fx.storage.raw();
    let err = raw
        .execute("UPDATE events SET actor = 'x' WHERE seq = 1")
        .expect_err("append-only");
    assert!(err.contains("append-only"), "{err}");
    let err = raw
        .execute("DELETE FROM events WHERE seq = 1")
        .expect_err("append-only");
    assert!(err.contains("append-only"), "{err}");
}

fn verify_names_a_modified_byte(backend: Backend) {
    let fx = sample(backend);
    let mut raw = tamper(&fx);
    // Flip one byte of the body of event 8 (same length, valid JSON).
    let body = raw.text("SELECT body FROM events WHERE seq = 8");
    let changed = body.replacen("routed", "rputed", 1);
    assert_ne!(body, changed);
    raw.execute(&format!(
        "UPDATE events SET body = {} WHERE seq = 8",
        quoted(&changed)
    ))
    .expect("tamper");
    let report = verify_ledger(fx.path()).expect("verify");
    assert!(!report.ok);
    let bad = report.first_bad.expect("found");
    assert_eq!(bad.seq, 8);
    assert!(bad.problem.contains("modified"), "{}", bad.problem);
}

fn verify_names_a_deleted_event(backend: Backend) {
    let fx = sample(backend);
    tamper(&fx)
        .execute("DELETE FROM events WHERE seq = 12")
        .expect("tamper");
    let bad = verify_ledger(fx.path())
        .expect("verify")
        .first_bad
        .expect("found");
    assert_eq!(bad.seq, 12);
    assert!(bad.problem.contains("missing"), "{}", bad.problem);
}

fn verify_names_a_deleted_event_even_when_renumbered(backend: Backend) {
    let fx = sample(backend);
    let mut raw = tamper(&fx);
    raw.execute("DELETE FROM events WHERE seq = 12")
        .expect("tamper");
    // One row at a time, upwards, so the key stays unique at every step.
    let last = raw.int("SELECT max(seq) FROM events");
    for seq in 13..=last {
        raw.execute(&format!(
            "UPDATE events SET seq = {} WHERE seq = {seq}",
            seq - 1
        ))
        .expect("renumber");
    }
    let bad = verify_ledger(fx.path())
        .expect("verify")
        .first_bad
        .expect("found");
    assert_eq!(bad.seq, 12);
    assert!(bad.problem.contains("prev_hash"), "{}", bad.problem);
}

fn verify_names_a_swapped_pair(backend: Backend) {
    let fx = sample(backend);
    // Swap the contents of events 5 and 6, keeping their positions.
    tamper(&fx)
        .execute(
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

fn verify_reports_an_orphaned_intent(backend: Backend) {
    let fx = sample(backend);
    let path = fx.path();
    let steward = fx.steward_of("TASK-V-002");
    // A crashed writer's lock is gone with its process.
    let storage = fx.close();
    // What a crash between the two phases leaves: a well-chained intent, no outcome.
    let seq = crash_after_intent(&storage, "TASK-V-002", "accept", "crashed", None);
    let report = verify_ledger(&path).expect("verify");
    assert!(!report.ok);
    assert_eq!(report.first_bad, None, "the chain itself is intact");
    assert_eq!(report.orphaned_intents.len(), 1);
    assert_eq!(report.orphaned_intents[0].seq, seq);
    assert_eq!(report.orphaned_intents[0].task_ref, "TASK-V-002");
    let mut ledger = Ledger::open(&path).expect("open");
    let report = verify_ledger(&path).expect("verify");
    match backend {
        // While a writer is open, an open intent may be in flight: not a fault.
        Backend::Sqlite => {
            assert!(report.ok, "{report:?}");
            assert_eq!(report.in_flight_intents.len(), 1);
        }
        // Each intent's writer is known alive or dead: still an orphan.
        Backend::Postgres => {
            assert!(!report.ok);
            assert_eq!(report.orphaned_intents.len(), 1, "{report:?}");
        }
    }
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
    drop(storage);
}

fn verify_reports_a_tampered_projection(backend: Backend) {
    let fx = sample(backend);
    fx.storage
        .raw()
        .execute(
            "UPDATE tasks SET record = replace(record, '\"state\":\"accepted\"', '\"state\":\"completed\"') WHERE task_ref = 'TASK-V-002'",
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
fn concurrent_writers_neither_lose_nor_double_transitions(backend: Backend) {
    let mut fx = Fixture::new(backend);
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

/// Whatever sequence of moves is attempted (most are refused), the stored
/// projection equals a replay of the log, and the log verifies.
fn projection_equals_replay(
    backend: Backend,
    moves: Vec<(usize, Transition, i64)>,
) -> Result<(), TestCaseError> {
    let mut fx = Fixture::new(backend);
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
    prop_assert_eq!(
        replayed.into_values().collect::<Vec<_>>(),
        fx.ledger.tasks().expect("tasks")
    );
    let report = verify_ledger(fx.path()).expect("verify");
    prop_assert!(report.ok, "{:?}", report);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn projection_equals_replay_on_sqlite(moves in proptest::collection::vec((0usize..3, transition_strategy(), 0i64..100), 1..25)) {
        projection_equals_replay(Backend::Sqlite, moves)?;
    }

    #[test]
    fn projection_equals_replay_on_postgres(moves in proptest::collection::vec((0usize..3, transition_strategy(), 0i64..100), 1..25)) {
        projection_equals_replay(Backend::Postgres, moves)?;
    }
}

crate::on_both_backends!(
    the_ledger_refuses_updates_and_deletes,
    verify_names_a_modified_byte,
    verify_names_a_deleted_event,
    verify_names_a_deleted_event_even_when_renumbered,
    verify_names_a_swapped_pair,
    verify_reports_an_orphaned_intent,
    verify_reports_a_tampered_projection,
    concurrent_writers_neither_lose_nor_double_transitions,
);
