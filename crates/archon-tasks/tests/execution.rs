//! Execution facts in the ledger: the lease that keeps two executions of one
//! task apart, and blocked or escalated outcomes in the hash chain.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use archon_tasks::{verify_ledger, ExecutionStop, TaskState, Transition};
use common::*;

fn lease(holder: &str, replaces: Option<&str>) -> Transition {
    Transition::LeaseExecution {
        holder: holder.into(),
        replaces: replaces.map(String::from),
    }
}

fn stop(outcome: &str) -> Transition {
    Transition::RecordExecution {
        stop: ExecutionStop {
            outcome: outcome.into(),
            owners: vec!["tech-lead".into()],
            blockers: vec!["Step 1 produced no deliverable".into()],
        },
    }
}

fn one_lease_per_task_taken_over_only_from_a_named_dead_holder(backend: Backend) {
    let mut fx = Fixture::new(backend);
    fx.task_in("T-1", TaskState::Accepted);
    assert_eq!(
        fx.go("T-1", lease("archon pid 1 on h", None)),
        Ok(TaskState::Accepted)
    );
    let refused = fx.go("T-1", lease("archon pid 2 on h", None)).unwrap_err();
    assert!(
        refused.contains("lease held by archon pid 1 on h"),
        "{refused}"
    );
    // The same holder may take it again (a retried operation).
    assert!(fx.go("T-1", lease("archon pid 1 on h", None)).is_ok());
    // A caller that found pid 1 gone takes it over, naming it.
    assert!(fx
        .go("T-1", lease("archon pid 2 on h", Some("archon pid 1 on h")))
        .is_ok());
    let not_holder = fx
        .go(
            "T-1",
            Transition::ReleaseExecution {
                holder: "archon pid 1 on h".into(),
            },
        )
        .unwrap_err();
    assert!(
        not_holder.contains("held by archon pid 2 on h"),
        "{not_holder}"
    );
    assert!(fx
        .go(
            "T-1",
            Transition::ReleaseExecution {
                holder: "archon pid 2 on h".into()
            }
        )
        .is_ok());
    assert_eq!(
        fx.ledger.task("T-1").unwrap().unwrap().execution_lease,
        None
    );
    assert!(verify_ledger(fx.path()).unwrap().ok);
}

fn leases_and_outcomes_only_for_a_task_being_executed(backend: Backend) {
    let mut fx = Fixture::new(backend);
    fx.task_in("T-R", TaskState::Routed);
    assert!(fx.go("T-R", lease("archon pid 1 on h", None)).is_err());
    assert!(fx.go("T-R", stop("blocked")).is_err());
    fx.task_in("T-P", TaskState::InProgress);
    let before = fx.event_count();
    assert_eq!(fx.go("T-P", stop("escalated")), Ok(TaskState::InProgress));
    assert_eq!(
        fx.event_count(),
        before + 3,
        "intent, execution_stopped, committed"
    );
    let bad = fx.go("T-P", stop("running")).unwrap_err();
    assert!(bad.contains("not blocked or escalated"), "{bad}");
    assert!(verify_ledger(fx.path()).unwrap().ok);
}

crate::on_both_backends!(
    one_lease_per_task_taken_over_only_from_a_named_dead_holder,
    leases_and_outcomes_only_for_a_task_being_executed,
);
