//! Shared helpers of the ledger tests.
#![allow(dead_code)]

use archon_core::clock::Clock;
use archon_tasks::event::{event_hash, EventBody, HashInput};
use archon_tasks::{
    ActivationRequest, Ledger, RejectionCode, RequestRef, Sensitivity, Settlement, TaskResult,
    TaskState, Transition,
};

pub const C42: &str = "6e2f3a41-0042-4b42-9b42-000000000042";
pub const C43: &str = "7f3a4b52-0043-4c43-ac43-000000000043";
pub const C44: &str = "8a4b5c63-0044-4d44-bd44-000000000044";

pub fn clock(stamp: &str) -> Clock {
    Clock::fixed_from_rfc3339(stamp).expect("test clock")
}

pub fn t0() -> Clock {
    clock("2026-02-01T10:00:00Z")
}

pub fn request(task_ref: &str, description: &str) -> ActivationRequest {
    ActivationRequest {
        task_ref: task_ref.to_string(),
        earl_id: "earl-raum".to_string(),
        cluster_id: C42.to_string(),
        description: description.to_string(),
        requirements: vec!["Addresses FR-TECH-001".to_string()],
        expected_outcomes: vec![
            "Schema reviewed and accepted".to_string(),
            "Test plan with 3 acceptance criteria".to_string(),
        ],
        sensitivity: Sensitivity::Standard,
        ttl_hours: 72,
        provenance: serde_json::json!({
            "capability_tags": ["dev_backend", "qa_testing"],
            "parent_tactic_id": "T-GUSI-001"
        }),
    }
}

pub fn result_for(cluster_id: &str, result_id: &str) -> TaskResult {
    TaskResult::from_json(
        "test result",
        &serde_json::json!({
            "result_id": result_id,
            "request_id": "req-1",
            "task_id": "task-1",
            "version": "1.0.0",
            "submitted_at": "2026-02-02T10:00:00Z",
            "cluster_id": cluster_id,
            "steward_id": "steward-42",
            "status": "completed",
            "completion_summary": "done",
            "deliverables": [{"name": "schema.md", "format": "document"}],
            "acceptance_test_results": [{"test": "schema reviewed", "passed": true}]
        }),
    )
    .expect("valid result")
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub ledger: Ledger,
}

impl Fixture {
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let ledger = Ledger::open(dir.path().join("governance.db")).expect("open ledger");
        Fixture { dir, ledger }
    }

    pub fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("governance.db")
    }

    pub fn activate(&mut self, task_ref: &str) {
        let r = self
            .ledger
            .create_activation(request(task_ref, "Design the threat schema."), &t0())
            .expect("activation");
        assert_eq!(r.state, TaskState::Routed, "{}", r.message);
    }

    /// Moves the task, acting as the steward of the cluster it is routed to now.
    pub fn go(&mut self, task_ref: &str, t: Transition) -> Result<TaskState, String> {
        let actor = self.steward_of(task_ref);
        self.ledger
            .transition(task_ref, t, &actor, &t0())
            .map(|r| r.after)
            .map_err(|e| e.to_string())
    }

    /// `steward:<id>` of the cluster the task is routed to now (`nobody` when none).
    pub fn steward_of(&self, task_ref: &str) -> String {
        self.ledger
            .task(task_ref)
            .expect("read")
            .and_then(|t| t.cluster_id)
            .and_then(|c| self.ledger.clusters().get(&c).cloned())
            .map_or_else(
                || "nobody".to_string(),
                |c| format!("steward:{}", c.steward.steward_id),
            )
    }

    /// Closes the ledger (its writer lock too) and keeps the folder.
    pub fn close(self) -> tempfile::TempDir {
        self.dir
    }

    pub fn state(&self, task_ref: &str) -> TaskState {
        self.ledger
            .task(task_ref)
            .expect("read")
            .expect("task exists")
            .state
    }

    pub fn cluster(&self, task_ref: &str) -> Option<String> {
        self.ledger
            .task(task_ref)
            .expect("read")
            .expect("task")
            .cluster_id
    }

    pub fn event_count(&self) -> usize {
        self.ledger.events().expect("events").len()
    }

    /// Drives a fresh task into `state` (a resting state reachable by commands).
    pub fn task_in(&mut self, task_ref: &str, state: TaskState) {
        use TaskState::*;
        if state == Activated {
            let r = self
                .ledger
                .create_activation(request(task_ref, "Do it, you owe us."), &t0())
                .expect("activation");
            assert_eq!(r.state, Activated);
            return;
        }
        self.activate(task_ref);
        let steps: &[Transition] = match state {
            Routed => &[],
            Accepted => &[Transition::Accept],
            InProgress => &[Transition::Accept, Transition::Start],
            Reported | Completed => &[Transition::Accept, Transition::Start],
            Declined => &[Transition::Accept],
            Quarantined => &[Transition::Accept],
            Nullified => &[],
            Authorized | Activated | Aggregated => panic!("{state} is not a resting state"),
        };
        for s in steps {
            self.go(task_ref, s.clone()).expect("step");
        }
        match state {
            Reported | Completed => {
                let cluster = self.cluster(task_ref).expect("routed");
                self.ledger
                    .report_result(
                        task_ref,
                        result_for(&cluster, &format!("r-{task_ref}")),
                        &t0(),
                    )
                    .expect("report");
                if state == Completed {
                    self.go(task_ref, settle_accept()).expect("settle");
                }
            }
            Declined => {
                // Decline at every eligible cluster so it stays declined.
                while self.state(task_ref) != Declined {
                    self.go(task_ref, Transition::Decline { reason: None })
                        .expect("decline");
                }
            }
            Quarantined => {
                self.go(task_ref, halt()).expect("halt");
            }
            Nullified => {
                self.go(task_ref, halt()).expect("halt");
            }
            _ => {}
        }
        assert_eq!(self.state(task_ref), state);
    }
}

pub fn halt() -> Transition {
    Transition::Halt {
        reason: "mandate withdrawn".to_string(),
    }
}

pub fn settle_accept() -> Transition {
    Transition::Settle {
        settlement: Settlement::Accept,
    }
}

pub fn settle_reject(code: RejectionCode) -> Transition {
    Transition::Settle {
        settlement: Settlement::Reject {
            code,
            reason: "acceptance tests failed".to_string(),
        },
    }
}

/// Writes by hand what a writer killed between its two transactions leaves:
/// the intent, chained and committed, and no outcome.
pub fn crash_after_intent(
    path: &std::path::Path,
    task_ref: &str,
    op: &str,
    actor: &str,
    request: Option<RequestRef>,
) -> u64 {
    let conn = rusqlite::Connection::open(path).expect("open raw");
    let (seq, prev): (i64, String) = conn
        .query_row(
            "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("tail");
    let version: i64 = conn
        .query_row(
            "SELECT version FROM tasks WHERE task_ref = ?1",
            [task_ref],
            |r| r.get(0),
        )
        .expect("task");
    let seq = seq as u64 + 1;
    let body = serde_json::to_string(&EventBody::Intent {
        op: op.into(),
        expected_version: version as u64,
        request,
    })
    .expect("encode");
    let at = "2026-02-01T10:00:00Z";
    let hash = event_hash(&HashInput {
        seq,
        op_seq: seq,
        task_ref,
        kind: "intent",
        at,
        actor,
        body: &body,
        prev_hash: &prev,
    });
    conn.execute(
        "INSERT INTO events VALUES (?1, ?1, ?2, 'intent', ?3, ?4, ?5, ?6, ?7)",
        rusqlite::params![seq as i64, task_ref, at, actor, body, prev, hash],
    )
    .expect("insert");
    seq
}
