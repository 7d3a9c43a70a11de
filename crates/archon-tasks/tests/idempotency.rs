//! Writes sent again under one idempotency key: a replay writes nothing and
//! returns the first call's report; a key reused for another request is
//! refused; a retry after a crash between the two phases adopts its intent.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use archon_tasks::{
    verify_ledger, Applied, Ledger, LedgerError, RequestKey, RequestRef, TaskState, Transition,
};
use common::*;
use proptest::prelude::*;

const STEWARD: &str = "steward:steward-42";

fn key<'a>(key: &'a str, sha: &'a str) -> RequestKey<'a> {
    RequestKey {
        key,
        request_sha256: sha,
    }
}

fn a_replay_returns_the_first_report_and_writes_nothing(backend: Backend) {
    let mut fx = Fixture::new(backend);
    fx.activate("TASK-I-001");
    let accept = key("k-accept", "sha-a");
    let first = fx
        .ledger
        .transition_once(&accept, "TASK-I-001", Transition::Accept, STEWARD, &t0())
        .unwrap();
    let Applied::New(first) = first else {
        panic!("the first call applies")
    };
    assert_eq!(first.after, TaskState::Accepted);
    fx.go("TASK-I-001", Transition::Start).unwrap();
    let count = fx.event_count();
    // Later moves do not change what the replay of the accept reports.
    let again = fx
        .ledger
        .transition_once(&accept, "TASK-I-001", Transition::Accept, STEWARD, &t0())
        .unwrap();
    assert_eq!(again, Applied::Replayed(first));
    assert_eq!(fx.event_count(), count);
    assert_eq!(fx.state("TASK-I-001"), TaskState::InProgress);
    assert!(verify_ledger(fx.path()).unwrap().ok);
}

fn a_key_reused_for_another_request_is_refused(backend: Backend) {
    let mut fx = Fixture::new(backend);
    fx.activate("TASK-I-002");
    fx.activate("TASK-I-003");
    fx.ledger
        .transition_once(
            &key("k", "sha-1"),
            "TASK-I-002",
            Transition::Accept,
            STEWARD,
            &t0(),
        )
        .unwrap();
    let count = fx.event_count();
    // Another task, same key: the key is the actor's, not the task's.
    let err = fx
        .ledger
        .transition_once(
            &key("k", "sha-2"),
            "TASK-I-003",
            Transition::Accept,
            STEWARD,
            &t0(),
        )
        .unwrap_err();
    assert!(
        matches!(&err, LedgerError::KeyReused { key } if key == "k"),
        "{err}"
    );
    assert!(err.is_refusal());
    assert_eq!(fx.event_count(), count);
    assert_eq!(fx.state("TASK-I-003"), TaskState::Routed);
}

fn keys_are_scoped_to_the_actor(backend: Backend) {
    let mut fx = Fixture::new(backend);
    fx.activate("TASK-I-004");
    fx.ledger
        .transition_once(
            &key("shared", "sha-1"),
            "TASK-I-004",
            Transition::Accept,
            STEWARD,
            &t0(),
        )
        .unwrap();
    // The same key from another actor is that actor's own first request (here
    // refused by the lifecycle: only the steward acts), not a replay.
    let err = fx
        .ledger
        .transition_once(
            &key("shared", "sha-1"),
            "TASK-I-004",
            Transition::Start,
            "steward:someone-else",
            &t0(),
        )
        .unwrap_err();
    assert!(matches!(err, LedgerError::Refused(_)), "{err}");
}

fn a_refused_attempt_records_no_key_and_the_retry_applies(backend: Backend) {
    let mut fx = Fixture::new(backend);
    fx.activate("TASK-I-005");
    let start = key("k-start", "sha-s");
    let count = fx.event_count();
    let err = fx
        .ledger
        .transition_once(&start, "TASK-I-005", Transition::Start, STEWARD, &t0())
        .unwrap_err();
    assert!(matches!(err, LedgerError::Refused(_)), "{err}");
    assert_eq!(fx.event_count(), count);
    fx.go("TASK-I-005", Transition::Accept).unwrap();
    let retried = fx
        .ledger
        .transition_once(&start, "TASK-I-005", Transition::Start, STEWARD, &t0())
        .unwrap();
    assert!(matches!(retried, Applied::New(ref r) if r.after == TaskState::InProgress));
}

fn a_reported_result_is_not_reported_twice(backend: Backend) {
    let mut fx = Fixture::new(backend);
    fx.task_in("TASK-I-006", TaskState::InProgress);
    let cluster = fx.cluster("TASK-I-006").unwrap();
    let report = key("result-r-1", "sha-r");
    let first = fx
        .ledger
        .report_result_once(&report, "TASK-I-006", result_for(&cluster, "r-1"), &t0())
        .unwrap();
    assert!(!first.is_replayed());
    let count = fx.event_count();
    let again = fx
        .ledger
        .report_result_once(&report, "TASK-I-006", result_for(&cluster, "r-1"), &t0())
        .unwrap();
    assert_eq!(again, Applied::Replayed(first.into_inner()));
    assert_eq!(fx.event_count(), count);
    let task = fx.ledger.task("TASK-I-006").unwrap().unwrap();
    assert_eq!(task.results.len(), 1);
}

/// Killed between intent and outcome, then retried under the same key: one
/// operation in the ledger, event for event what an uninterrupted keyed call
/// writes, and verify green; a further retry is a replay.
fn a_retry_after_a_crash_adopts_the_keyed_intent(backend: Backend) {
    let accept = key("k-crash", "sha-c");
    let mut whole = Fixture::new(backend);
    whole.activate("TASK-I-007");
    whole
        .ledger
        .transition_once(&accept, "TASK-I-007", Transition::Accept, STEWARD, &t0())
        .unwrap();
    let whole_events = whole.ledger.events().unwrap();

    let mut crashed = Fixture::new(backend);
    crashed.activate("TASK-I-007");
    let path = crashed.path();
    let dir = crashed.close();
    let request = RequestRef {
        key: "k-crash".into(),
        request_sha256: "sha-c".into(),
    };
    crash_after_intent(&dir, "TASK-I-007", "accept", STEWARD, Some(request));
    let mut ledger = Ledger::open(&path).unwrap();
    let retried = ledger
        .transition_once(&accept, "TASK-I-007", Transition::Accept, STEWARD, &t0())
        .unwrap();
    assert!(!retried.is_replayed());
    assert_eq!(ledger.events().unwrap(), whole_events);
    let replay = ledger
        .transition_once(&accept, "TASK-I-007", Transition::Accept, STEWARD, &t0())
        .unwrap();
    assert_eq!(replay, Applied::Replayed(retried.into_inner()));
    drop(ledger);
    let report = verify_ledger(&path).unwrap();
    assert!(report.ok, "{report:?}");
    drop(dir);
}

/// Each request (a key with its move) sent any number of times, in any
/// order: every answer under a key after the first applied one is that
/// first report, replayed; the log holds one committed operation per
/// applied key, and verifies.
fn every_request_applies_at_most_once(
    backend: Backend,
    sends: Vec<usize>,
) -> Result<(), TestCaseError> {
    let mut fx = Fixture::new(backend);
    let tasks = ["TASK-IP-0", "TASK-IP-1"];
    for t in tasks {
        fx.activate(t);
    }
    let moves: Vec<Transition> = (0..6)
        .map(|i| match i % 4 {
            0 => Transition::Accept,
            1 => Transition::Start,
            2 => Transition::Decline { reason: None },
            _ => halt(),
        })
        .collect();
    let mut applied: std::collections::BTreeMap<usize, archon_tasks::TransitionReport> =
        Default::default();
    for request in sends {
        let (name, sha) = (format!("k{request}"), format!("sha-{request}"));
        let task = tasks[request % 2];
        // A resent request comes from the actor that sent it first.
        let actor = applied
            .get(&request)
            .map_or_else(|| fx.steward_of(task), |r| r.events[0].actor.clone());
        let before = fx.event_count();
        let answer = fx.ledger.transition_once(
            &key(&name, &sha),
            task,
            moves[request].clone(),
            &actor,
            &t0(),
        );
        match (answer, applied.get(&request)) {
            (Ok(Applied::Replayed(r)), Some(first)) => {
                prop_assert_eq!(&r, first);
                prop_assert_eq!(fx.event_count(), before);
            }
            (Ok(Applied::New(r)), None) => {
                applied.insert(request, r);
            }
            (Err(LedgerError::Refused(_)), None) => prop_assert_eq!(fx.event_count(), before),
            (other, first) => prop_assert!(false, "{:?} after {:?}", other, first),
        }
    }
    let events = fx.ledger.events().unwrap();
    let committed = events
        .iter()
        .filter(|e| e.body == archon_tasks::EventBody::Committed)
        .count();
    prop_assert_eq!(committed, tasks.len() + applied.len());
    let report = verify_ledger(fx.path()).unwrap();
    prop_assert!(report.ok, "{:?}", report);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn every_request_applies_at_most_once_on_sqlite(sends in proptest::collection::vec(0usize..6, 1..30)) {
        every_request_applies_at_most_once(Backend::Sqlite, sends)?;
    }

    #[test]
    fn every_request_applies_at_most_once_on_postgres(sends in proptest::collection::vec(0usize..6, 1..30)) {
        every_request_applies_at_most_once(Backend::Postgres, sends)?;
    }
}

crate::on_both_backends!(
    a_replay_returns_the_first_report_and_writes_nothing,
    a_key_reused_for_another_request_is_refused,
    keys_are_scoped_to_the_actor,
    a_refused_attempt_records_no_key_and_the_retry_applies,
    a_reported_result_is_not_reported_twice,
    a_retry_after_a_crash_adopts_the_keyed_intent,
);
