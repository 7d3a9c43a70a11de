//! The lifecycle through the ledger: every command in every resting state,
//! consent, time, halt, filter, settlement.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use archon_tasks::event::{EventBody, Hold};
use archon_tasks::projection::Verdict;
use archon_tasks::{
    replay, verify_ledger, ClusterRegistry, FilterOutcome, RejectionCode, TaskState, Transition,
};
use common::*;

fn commands() -> Vec<(&'static str, Transition)> {
    vec![
        ("accept", Transition::Accept),
        ("decline", Transition::Decline { reason: None }),
        ("start", Transition::Start),
        ("settle", settle_accept()),
        ("halt", halt()),
        ("reroute", Transition::Reroute),
        ("expire", Transition::Expire),
    ]
}

/// (state, command) → the state after, or the start of the refusal.
/// `report` is covered separately (it needs a result artifact).
fn every_command_in_every_resting_state(backend: Backend) {
    use TaskState::*;
    let table: &[(TaskState, &str, Result<TaskState, &str>)] = &[
        (Activated, "accept", Err("cannot move from activated to accepted; allowed from activated: routed, nullified")),
        (Activated, "decline", Err("cannot move from activated to declined")),
        (Activated, "start", Err("cannot move from activated to in_progress")),
        (Activated, "settle", Err("cannot move from activated to completed")),
        (Activated, "halt", Ok(Nullified)),
        (Activated, "reroute", Err("reroute applies to a task blocked by capability")),
        (Activated, "expire", Err("nothing expires in state activated")),
        (Routed, "accept", Ok(Accepted)),
        (Routed, "decline", Ok(Routed)), // rerouted to the next cluster
        (Routed, "start", Err("cannot move from routed to in_progress; allowed from routed: accepted, declined, nullified")),
        (Routed, "settle", Err("cannot move from routed to completed")),
        (Routed, "halt", Ok(Nullified)),
        (Routed, "reroute", Err("reroute applies to a task blocked by capability")),
        (Routed, "expire", Err("nothing expires: the consent window runs until 2026-02-04T10:00:00Z")),
        (Accepted, "accept", Err("cannot move from accepted to accepted")),
        (Accepted, "decline", Ok(Routed)),
        (Accepted, "start", Ok(InProgress)),
        (Accepted, "settle", Err("cannot move from accepted to completed")),
        (Accepted, "halt", Ok(Quarantined)),
        (Accepted, "reroute", Err("reroute applies")),
        (Accepted, "expire", Err("nothing expires in state accepted")),
        (InProgress, "accept", Err("cannot move from in_progress to accepted; allowed from in_progress: reported, quarantined")),
        (InProgress, "decline", Err("cannot move from in_progress to declined")),
        (InProgress, "start", Err("cannot move from in_progress to in_progress")),
        (InProgress, "settle", Err("cannot move from in_progress to completed")),
        (InProgress, "halt", Ok(Quarantined)),
        (InProgress, "reroute", Err("reroute applies")),
        (InProgress, "expire", Err("nothing expires: in progress with recent activity")),
        (Reported, "accept", Err("cannot move from reported to accepted; allowed from reported: aggregated, completed")),
        (Reported, "decline", Err("cannot move from reported to declined")),
        (Reported, "start", Err("cannot move from reported to in_progress")),
        (Reported, "settle", Ok(Completed)),
        (Reported, "halt", Err("cannot move from reported to quarantined")),
        (Reported, "reroute", Err("reroute applies")),
        (Reported, "expire", Err("nothing expires in state reported")),
        (Completed, "accept", Err("cannot move from completed to accepted; allowed from completed: none (terminal state)")),
        (Completed, "decline", Err("cannot move from completed to declined")),
        (Completed, "start", Err("cannot move from completed to in_progress")),
        (Completed, "settle", Err("cannot move from completed to completed")),
        (Completed, "halt", Err("cannot move from completed to quarantined")),
        (Completed, "reroute", Err("reroute refused: the task is completed (terminal)")),
        (Completed, "expire", Err("nothing expires in state completed")),
        (Declined, "accept", Err("cannot move from declined to accepted; allowed from declined: nullified")),
        (Declined, "decline", Err("cannot move from declined to declined")),
        (Declined, "start", Err("cannot move from declined to in_progress")),
        (Declined, "settle", Err("cannot move from declined to completed")),
        (Declined, "halt", Ok(Nullified)),
        (Declined, "reroute", Err("still no eligible cluster")),
        (Declined, "expire", Err("nothing expires in state declined")),
        (Quarantined, "accept", Err("cannot move from quarantined to accepted")),
        (Quarantined, "decline", Err("cannot move from quarantined to declined")),
        (Quarantined, "start", Err("cannot move from quarantined to in_progress")),
        (Quarantined, "settle", Err("cannot move from quarantined to completed")),
        (Quarantined, "halt", Err("cannot move from quarantined to quarantined")),
        (Quarantined, "reroute", Err("reroute refused: the task is quarantined (terminal)")),
        (Quarantined, "expire", Err("nothing expires in state quarantined")),
        (Nullified, "accept", Err("cannot move from nullified to accepted")),
        (Nullified, "decline", Err("cannot move from nullified to declined")),
        (Nullified, "start", Err("cannot move from nullified to in_progress")),
        (Nullified, "settle", Err("cannot move from nullified to completed")),
        (Nullified, "halt", Err("cannot move from nullified to quarantined")),
        (Nullified, "reroute", Err("reroute refused: the task is nullified (terminal)")),
        (Nullified, "expire", Err("nothing expires in state nullified")),
    ];
    let mut fx = Fixture::new(backend);
    for (n, (state, command, expected)) in table.iter().enumerate() {
        let task = format!("TASK-T-{n:03}");
        fx.task_in(&task, *state);
        let before_events = fx.event_count();
        let transition = commands()
            .into_iter()
            .find(|(name, _)| name == command)
            .map(|(_, t)| t)
            .expect("known command");
        let got = fx.go(&task, transition);
        match (expected, &got) {
            (Ok(want), Ok(after)) => assert_eq!(after, want, "{state} {command}"),
            (Err(want), Err(msg)) => {
                assert!(msg.contains(want), "{state} {command}: {msg}");
                assert!(
                    msg.contains(&task),
                    "{state} {command}: {msg} names the task"
                );
                assert_eq!(fx.event_count(), before_events, "a refusal writes nothing");
                assert_eq!(fx.state(&task), *state);
            }
            _ => panic!("{state} {command}: expected {expected:?}, got {got:?}"),
        }
    }
    assert_eq!(table.len(), 9 * commands().len());
    let report = verify_ledger(fx.path()).expect("verify");
    assert!(report.ok, "{report:?}");
}

fn report_is_refused_before_consent_and_after_settlement(backend: Backend) {
    use TaskState::*;
    let mut fx = Fixture::new(backend);
    for (n, state) in [
        Activated,
        Routed,
        Accepted,
        Completed,
        Declined,
        Quarantined,
        Nullified,
    ]
    .into_iter()
    .enumerate()
    {
        let task = format!("TASK-R-{n:03}");
        fx.task_in(&task, state);
        let before = fx.event_count();
        let err = fx
            .ledger
            .report_result(&task, result_for(C42, "r-late"), &t0())
            .expect_err("refused");
        let msg = err.to_string();
        assert!(err.is_refusal(), "{msg}");
        assert!(msg.contains(&task), "{msg}");
        if matches!(state, Activated | Routed) {
            assert!(msg.contains("never accepted"), "{msg}");
        }
        assert_eq!(fx.event_count(), before, "{state}: ledger unchanged");
    }
}

fn decline_reroutes_in_cluster_order_and_never_back(backend: Backend) {
    let mut fx = Fixture::new(backend);
    fx.activate("TASK-D-001");
    assert_eq!(fx.cluster("TASK-D-001").as_deref(), Some(C42));
    let first = fx.ledger.task("TASK-D-001").expect("read").expect("task");
    fx.go("TASK-D-001", Transition::Decline { reason: None })
        .expect("decline");
    let rec = fx.ledger.task("TASK-D-001").expect("read").expect("task");
    assert_eq!(rec.cluster_id.as_deref(), Some(C43));
    assert_eq!(rec.attempt, 2);
    assert_ne!(rec.activation_id, first.activation_id);
    fx.go("TASK-D-001", Transition::Accept).expect("accept");
    fx.go(
        "TASK-D-001",
        Transition::Decline {
            reason: Some("capacity".into()),
        },
    )
    .expect("withdraw consent before start");
    assert_eq!(fx.cluster("TASK-D-001").as_deref(), Some(C44));
    fx.go("TASK-D-001", Transition::Decline { reason: None })
        .expect("decline");
    let rec = fx.ledger.task("TASK-D-001").expect("read").expect("task");
    assert_eq!(rec.state, TaskState::Declined);
    let Some(Hold::BlockedByCapability { reason }) = &rec.hold else {
        panic!("blocked by capability expected: {rec:?}")
    };
    for c in [C42, C43, C44] {
        assert!(reason.contains(c), "{reason}");
    }
    assert!(reason.contains("status is paused"), "{reason}");
    let excluded: Vec<&str> = rec
        .excluded_clusters
        .iter()
        .map(|e| e.cluster_id.as_str())
        .collect();
    assert_eq!(excluded, [C42, C43, C44]);

    // A new cluster appears: reroute goes there, never to a decliner.
    let mut sources: Vec<(String, String)> = fx
        .ledger
        .clusters()
        .all()
        .map(|c| {
            (
                c.cluster_id.clone(),
                serde_json::to_string(c).unwrap_or_default(),
            )
        })
        .collect();
    let extra = sources[1]
        .1
        .replace(C42, "0a0b0c0d-0046-4f46-8f46-000000000046");
    sources.push(("new.json".into(), extra));
    let reg = ClusterRegistry::from_sources(sources).expect("valid");
    let path = fx.path();
    let mut ledger = archon_tasks::Ledger::open(&path)
        .expect("open")
        .with_clusters(reg);
    let r = ledger
        .transition("TASK-D-001", Transition::Reroute, "earl", &t0())
        .expect("reroute");
    assert_eq!(r.after, TaskState::Routed);
    assert_eq!(
        r.record.cluster_id.as_deref(),
        Some("0a0b0c0d-0046-4f46-8f46-000000000046")
    );
    assert_eq!(r.record.attempt, 4);
}

fn ttl_expiry_reroutes_without_penalty_and_inactivity_is_flagged(backend: Backend) {
    let mut fx = Fixture::new(backend);
    fx.activate("TASK-E-001");
    fx.activate("TASK-E-002");
    fx.go("TASK-E-002", Transition::Accept).expect("accept");
    fx.go("TASK-E-002", Transition::Start).expect("start");

    // Before 48 h of inactivity and 72 h of silence nothing is due.
    let before = clock("2026-02-03T09:59:59Z");
    assert!(fx.ledger.expire_due(&before).expect("sweep").is_empty());

    // At 72 h the routed task expires; at 48 h+ the in-progress one is flagged.
    let later = clock("2026-02-04T10:00:00Z");
    let err = fx
        .ledger
        .transition("TASK-E-001", Transition::Accept, "steward-42", &later)
        .expect_err("consent window closed");
    assert!(
        err.to_string()
            .contains("consent window closed at 2026-02-04T10:00:00Z"),
        "{err}"
    );
    let reports = fx.ledger.expire_due(&later).expect("sweep");
    assert_eq!(reports.len(), 2);
    let rec = fx.ledger.task("TASK-E-001").expect("read").expect("task");
    assert_eq!(rec.state, TaskState::Routed);
    assert_eq!(rec.cluster_id.as_deref(), Some(C43));
    assert_eq!(rec.excluded_clusters[0].cluster_id, C42);
    assert_eq!(rec.routed_at.as_deref(), Some("2026-02-04T10:00:00Z"));
    assert_eq!(
        rec.consent_deadline.as_deref(),
        Some("2026-02-07T10:00:00Z")
    );
    let flagged = fx.ledger.task("TASK-E-002").expect("read").expect("task");
    assert_eq!(flagged.state, TaskState::InProgress);
    assert_eq!(flagged.flags.len(), 1);
    // Flagged once per stretch of inactivity.
    assert!(fx
        .ledger
        .expire_due(&clock("2026-02-05T10:00:00Z"))
        .expect("sweep")
        .is_empty());
}

fn halt_nullifies_before_consent_and_quarantines_after(backend: Backend) {
    use TaskState::*;
    let mut fx = Fixture::new(backend);
    for (n, (state, after)) in [
        (Activated, Ok(Nullified)),
        (Routed, Ok(Nullified)),
        (Accepted, Ok(Quarantined)),
        (InProgress, Ok(Quarantined)),
        (Declined, Ok(Nullified)),
        (Reported, Err(())),
    ]
    .into_iter()
    .enumerate()
    {
        let task = format!("TASK-H-{n}");
        fx.task_in(&task, state);
        let got = fx.go(&task, halt()).map_err(|_| ());
        assert_eq!(got, after, "{state}");
    }
    let err = fx
        .go("TASK-H-1", Transition::Halt { reason: " ".into() })
        .expect_err("reason required");
    assert!(err.contains("needs a reason"), "{err}");
}

fn filter_transforms_rejects_and_blocks(backend: Backend) {
    let mut fx = Fixture::new(backend);
    let r = fx
        .ledger
        .create_activation(
            request("TASK-F-001", "URGENT: build the schema ASAP."),
            &t0(),
        )
        .expect("activation");
    assert_eq!(r.state, TaskState::Routed);
    assert!(
        matches!(r.filter_outcome, FilterOutcome::Accepted { ref transformations, .. } if transformations.len() == 2)
    );
    let rec = fx.ledger.task("TASK-F-001").expect("read").expect("task");
    assert_eq!(rec.content.description, "build the schema when possible.");

    let r = fx
        .ledger
        .create_activation(request("TASK-F-002", "Last chance to help."), &t0())
        .expect("activation");
    assert_eq!(r.state, TaskState::Activated);
    assert!(r.message.contains("pending rewrite"), "{}", r.message);
    assert!(r.message.contains("false_scarcity"), "{}", r.message);
    // A rewrite supersedes it: the old activation is nullified, the new one routed.
    let r2 = fx
        .ledger
        .create_activation(request("TASK-F-002", "Please help if you can."), &t0())
        .expect("rewrite");
    assert_eq!(r2.state, TaskState::Routed);
    assert_ne!(r2.activation_id, r.activation_id);
    let rec = fx.ledger.task("TASK-F-002").expect("read").expect("task");
    assert_eq!(
        rec.history
            .iter()
            .filter(|h| h.to == TaskState::Nullified)
            .count(),
        1
    );
    // A routed task takes no new request.
    let err = fx
        .ledger
        .create_activation(request("TASK-F-002", "Again"), &t0())
        .expect_err("exists");
    assert!(err.to_string().contains("already activated"), "{err}");

    let r = fx
        .ledger
        .create_activation(request("TASK-F-003", "Do it or else."), &t0())
        .expect("activation");
    assert_eq!(r.state, TaskState::Activated);
    assert_eq!(r.filter_outcome.kind(), "blocked");
    let err = fx
        .ledger
        .create_activation(request("TASK-F-003", "Do it."), &t0())
        .expect_err("blocked is not rewritable");
    assert!(err.to_string().contains("already activated"), "{err}");
    assert_eq!(fx.go("TASK-F-003", halt()), Ok(TaskState::Nullified));
}

fn settlement_paths(backend: Backend) {
    let mut fx = Fixture::new(backend);
    // One result accepted: reported -> completed.
    fx.task_in("TASK-S-001", TaskState::Reported);
    fx.go("TASK-S-001", settle_accept()).expect("settle");
    let rec = fx.ledger.task("TASK-S-001").expect("read").expect("task");
    assert_eq!(rec.verdict, Some(Verdict::Accepted { results: 1 }));
    assert!(!rec.history.iter().any(|h| h.to == TaskState::Aggregated));

    // Two results merged: reported -> aggregated -> completed.
    fx.task_in("TASK-S-002", TaskState::Reported);
    fx.ledger
        .report_result("TASK-S-002", result_for(C42, "r-second"), &t0())
        .expect("second result");
    let dup = fx
        .ledger
        .report_result("TASK-S-002", result_for(C42, "r-second"), &t0())
        .expect_err("duplicate");
    assert!(dup.to_string().contains("already reported"), "{dup}");
    let wrong = fx
        .ledger
        .report_result("TASK-S-002", result_for(C43, "r-third"), &t0())
        .expect_err("other cluster");
    assert!(wrong.to_string().contains("routed to"), "{wrong}");
    fx.go("TASK-S-002", settle_accept()).expect("settle");
    let rec = fx.ledger.task("TASK-S-002").expect("read").expect("task");
    let path: Vec<TaskState> = rec.history.iter().map(|h| h.to).collect();
    assert_eq!(
        &path[path.len() - 2..],
        [TaskState::Aggregated, TaskState::Completed]
    );
    assert_eq!(rec.verdict, Some(Verdict::Accepted { results: 2 }));

    // Every rejection code: reported -> completed, verdict rejected, results rejected.
    for (n, code) in RejectionCode::ALL.into_iter().enumerate() {
        let task = format!("TASK-S-1{n}");
        fx.task_in(&task, TaskState::Reported);
        fx.go(&task, settle_reject(code)).expect("reject");
        let rec = fx.ledger.task(&task).expect("read").expect("task");
        assert_eq!(rec.state, TaskState::Completed);
        assert!(matches!(rec.verdict, Some(Verdict::Rejected { code: c, .. }) if c == code));
        assert!(rec
            .results
            .iter()
            .all(|r| r.settlement == archon_tasks::projection::ResultStatus::Rejected));
    }
    fx.task_in("TASK-S-020", TaskState::Reported);
    let err = fx
        .go(
            "TASK-S-020",
            Transition::Settle {
                settlement: archon_tasks::Settlement::Reject {
                    code: RejectionCode::Other,
                    reason: String::new(),
                },
            },
        )
        .expect_err("other needs a reason");
    assert!(err.contains("needs a reason"), "{err}");
}

fn unknown_tasks_and_bad_requests_change_nothing(backend: Backend) {
    let mut fx = Fixture::new(backend);
    fx.activate("TASK-U-001");
    let before = fx.event_count();
    let err = fx.go("TASK-NOPE", Transition::Accept).expect_err("unknown");
    assert_eq!(err, "unknown task TASK-NOPE");
    for bad in [
        {
            let mut r = request("../x", "d");
            r.task_ref = "../x".into();
            r
        },
        request("TASK-U-002", "  "),
        {
            let mut r = request("TASK-U-003", "d");
            r.ttl_hours = 0;
            r
        },
        {
            let mut r = request("TASK-U-004", "d");
            r.provenance = serde_json::json!({"capability_tags": ["juggling"]});
            r
        },
        {
            let mut r = request("TASK-U-005", "d");
            r.provenance = serde_json::json!({});
            r.cluster_id = "nope".into();
            r
        },
    ] {
        let err = fx
            .ledger
            .create_activation(bad, &t0())
            .expect_err("invalid");
        assert!(
            err.to_string().contains("invalid activation request"),
            "{err}"
        );
    }
    assert_eq!(fx.event_count(), before);
}

fn unknown_preferred_cluster_falls_back_and_sensitivity_gates(backend: Backend) {
    let mut fx = Fixture::new(backend);
    let mut req = request("TASK-P-001", "Harden the ledger.");
    req.cluster_id = String::new();
    req.sensitivity = archon_tasks::Sensitivity::Restricted;
    let r = fx.ledger.create_activation(req, &t0()).expect("activation");
    assert_eq!(r.message, format!("routed to cluster {C43}"));
    let mut req = request("TASK-P-002", "Build the UI.");
    req.provenance = serde_json::json!({"capability_tags": ["dev_frontend"]});
    let r = fx.ledger.create_activation(req, &t0()).expect("activation");
    assert_eq!(r.state, TaskState::Activated);
    assert!(r.message.contains("blocked by capability"), "{}", r.message);
    assert!(r.message.contains("status is paused"), "{}", r.message);
}

fn activation_ids_are_deterministic(backend: Backend) {
    let a = {
        let mut fx = Fixture::new(backend);
        fx.ledger
            .create_activation(request("TASK-I-001", "Same."), &t0())
            .expect("a")
    };
    let b = {
        let mut fx = Fixture::new(backend);
        fx.ledger
            .create_activation(request("TASK-I-001", "Same."), &t0())
            .expect("b")
    };
    assert_eq!(a.activation_id, b.activation_id);
    assert!(a.activation_id.starts_with("act-"));
}

fn events_replay_to_the_stored_projection(backend: Backend) {
    let mut fx = Fixture::new(backend);
    fx.task_in("TASK-X-001", TaskState::Completed);
    fx.task_in("TASK-X-002", TaskState::Declined);
    let events = fx.ledger.events().expect("events");
    let kinds: Vec<&str> = events.iter().take(6).map(|e| e.body.kind()).collect();
    assert_eq!(
        kinds,
        [
            "intent",
            "activation_opened",
            "state_changed",
            "filter_applied",
            "state_changed",
            "committed"
        ]
    );
    assert!(matches!(events[0].body, EventBody::Intent { .. }));
    let replayed = replay(&events).expect("replay");
    let stored: Vec<_> = fx.ledger.tasks().expect("tasks");
    assert_eq!(replayed.into_values().collect::<Vec<_>>(), stored);
}

/// The case: after a TTL expiry rerouted the task from cluster 42 to
/// 43, a late accept by 42's steward is consent for an earlier routing.
fn a_stale_accept_after_reroute_is_refused(backend: Backend) {
    let mut fx = Fixture::new(backend);
    fx.activate("TASK-K-001");
    let later = clock("2026-02-04T10:00:00Z");
    fx.ledger.expire_due(&later).expect("sweep");
    assert_eq!(fx.cluster("TASK-K-001").as_deref(), Some(C43));
    let before = fx.event_count();
    let err = fx
        .ledger
        .transition("TASK-K-001", Transition::Accept, "steward-42", &later)
        .expect_err("stale consent");
    let msg = err.to_string();
    for part in [
        "TASK-K-001",
        C43,
        "steward-43",
        "accept refused",
        "attempt 2",
    ] {
        assert!(msg.contains(part), "{msg} names {part}");
    }
    assert!(err.is_refusal());
    assert_eq!(fx.event_count(), before, "nothing written");
    assert_eq!(fx.state("TASK-K-001"), TaskState::Routed);
    fx.ledger
        .transition(
            "TASK-K-001",
            Transition::Accept,
            "steward:steward-43",
            &later,
        )
        .expect("the current steward accepts");
}

fn only_the_current_steward_accepts_declines_starts_and_reports(backend: Backend) {
    let mut fx = Fixture::new(backend);
    fx.activate("TASK-K-002");
    for (name, t) in [
        ("accept", Transition::Accept),
        ("decline", Transition::Decline { reason: None }),
    ] {
        for actor in ["cli", "steward-43", "steward:steward-4", "earl:steward-42"] {
            let err = fx
                .ledger
                .transition("TASK-K-002", t.clone(), actor, &t0())
                .expect_err("wrong actor");
            assert!(
                err.to_string().contains(&format!("{name} refused")),
                "{err}"
            );
        }
    }
    fx.go("TASK-K-002", Transition::Accept).expect("accept");
    let before = fx.event_count();
    let err = fx
        .ledger
        .transition("TASK-K-002", Transition::Start, "execution-lead", &t0())
        .expect_err("start by another");
    assert!(err.to_string().contains("start refused"), "{err}");
    fx.go("TASK-K-002", Transition::Start).expect("start");
    let err = fx
        .ledger
        .transition(
            "TASK-K-002",
            Transition::Report {
                result: Box::new(result_for(C42, "r-k")),
            },
            "steward-44",
            &t0(),
        )
        .expect_err("report by another");
    assert!(err.to_string().contains("report refused"), "{err}");
    assert_eq!(fx.event_count(), before + 3, "only the start was written");
}

/// A task left declined with no cluster can be halted, and a halted task is
/// never revived by a reroute.
fn halt_from_declined_and_no_reroute_after_halt(backend: Backend) {
    let mut fx = Fixture::new(backend);
    fx.task_in("TASK-K-003", TaskState::Declined);
    fx.go("TASK-K-003", halt()).expect("halt");
    assert_eq!(fx.state("TASK-K-003"), TaskState::Nullified);
    let err = fx
        .go("TASK-K-003", Transition::Reroute)
        .expect_err("no revival");
    assert!(err.contains("never routed again"), "{err}");
    assert_eq!(fx.state("TASK-K-003"), TaskState::Nullified);
    let report = verify_ledger(fx.path()).expect("verify");
    assert!(report.ok, "{report:?}");
}

crate::on_both_backends!(
    every_command_in_every_resting_state,
    report_is_refused_before_consent_and_after_settlement,
    decline_reroutes_in_cluster_order_and_never_back,
    ttl_expiry_reroutes_without_penalty_and_inactivity_is_flagged,
    halt_nullifies_before_consent_and_quarantines_after,
    filter_transforms_rejects_and_blocks,
    settlement_paths,
    unknown_tasks_and_bad_requests_change_nothing,
    unknown_preferred_cluster_falls_back_and_sensitivity_gates,
    activation_ids_are_deterministic,
    events_replay_to_the_stored_projection,
    a_stale_accept_after_reroute_is_refused,
    only_the_current_steward_accepts_declines_starts_and_reports,
    halt_from_declined_and_no_reroute_after_halt,
);
