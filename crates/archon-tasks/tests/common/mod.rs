//! Shared helpers of the ledger tests.
#![allow(dead_code)]

use std::path::PathBuf;

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

/// Where a test's ledger lives: the same suite runs on each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates `sqlite::NAME` and `postgres::NAME` tests from each `fn NAME(Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name($crate::common::Backend::Sqlite) } )*
        }
        mod postgres {
            $( #[test] fn $name() { super::$name($crate::common::Backend::Postgres) } )*
        }
    };
}

/// A ledger's storage, kept while the value lives: a temp folder holding
/// `governance.db`, or a database on the test server.
pub struct Storage {
    /// What `Ledger::open` and `verify_ledger` take: a path or a URL.
    pub location: PathBuf,
    keep: Keep,
}

enum Keep {
    Dir(tempfile::TempDir),
    Db(archon_testkit::PgDatabase),
}

impl Storage {
    pub fn new(backend: Backend) -> Storage {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("tempdir");
                Storage {
                    location: dir.path().join("governance.db"),
                    keep: Keep::Dir(dir),
                }
            }
            Backend::Postgres => {
                let db = archon_testkit::postgres_database();
                Storage {
                    location: PathBuf::from(db.url()),
                    keep: Keep::Db(db),
                }
            }
        }
    }

    pub fn backend(&self) -> Backend {
        match self.keep {
            Keep::Dir(_) => Backend::Sqlite,
            Keep::Db(_) => Backend::Postgres,
        }
    }

    /// A connection of its own to the rows, as another process (or an
    /// attacker) would have.
    pub fn raw(&self) -> Raw {
        match &self.keep {
            Keep::Dir(_) => {
                Raw::Sqlite(rusqlite::Connection::open(&self.location).expect("open raw"))
            }
            Keep::Db(db) => Raw::Postgres(db.connect()),
        }
    }
}

/// Plain SQL on a ledger's rows (the statements the tests use read the same
/// in both dialects).
pub enum Raw {
    Sqlite(rusqlite::Connection),
    Postgres(postgres::Client),
}

impl Raw {
    /// Runs statements; the error's text on failure.
    pub fn execute(&mut self, sql: &str) -> Result<(), String> {
        match self {
            Raw::Sqlite(c) => c.execute_batch(sql).map_err(|e| e.to_string()),
            Raw::Postgres(c) => c.batch_execute(sql).map_err(|e| {
                let cause = std::error::Error::source(&e).map(|c| c.to_string());
                format!("{e}: {}", cause.unwrap_or_default())
            }),
        }
    }

    /// The first column of the one row `sql` returns, as text.
    pub fn text(&mut self, sql: &str) -> String {
        match self {
            Raw::Sqlite(c) => c.query_row(sql, [], |r| r.get(0)).expect(sql),
            Raw::Postgres(c) => c.query_one(sql, &[]).expect(sql).get(0),
        }
    }

    /// Every row of `sql`, each column cast to text by the query.
    pub fn text_rows(&mut self, sql: &str) -> Vec<Vec<String>> {
        match self {
            Raw::Sqlite(c) => {
                let mut stmt = c.prepare(sql).expect(sql);
                let n = stmt.column_count();
                stmt.query_map([], |r| (0..n).map(|i| r.get(i)).collect())
                    .expect(sql)
                    .collect::<Result<_, _>>()
                    .expect(sql)
            }
            Raw::Postgres(c) => c
                .query(sql, &[])
                .expect(sql)
                .iter()
                .map(|r| (0..r.len()).map(|i| r.get(i)).collect())
                .collect(),
        }
    }

    pub fn int(&mut self, sql: &str) -> i64 {
        match self {
            Raw::Sqlite(c) => c.query_row(sql, [], |r| r.get(0)).expect(sql),
            Raw::Postgres(c) => c.query_one(sql, &[]).expect(sql).get(0),
        }
    }

    /// Lifts the append-only guard, as an attacker with the database would.
    pub fn unguard(&mut self) {
        let sql = match self {
            Raw::Sqlite(_) => {
                "DROP TRIGGER events_append_only_update; DROP TRIGGER events_append_only_delete;"
            }
            Raw::Postgres(_) => "ALTER TABLE events DISABLE TRIGGER USER;",
        };
        self.execute(sql).expect("drop the append-only guard");
    }
}

/// `text` as an SQL string literal.
pub fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

pub struct Fixture {
    pub storage: Storage,
    pub ledger: Ledger,
}

impl Fixture {
    pub fn new(backend: Backend) -> Fixture {
        let storage = Storage::new(backend);
        let ledger = Ledger::open(&storage.location).expect("open ledger");
        Fixture { storage, ledger }
    }

    /// The ledger's location (path or URL).
    pub fn path(&self) -> PathBuf {
        self.storage.location.clone()
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

    /// Closes the ledger (its writer lock and connection too) and keeps the storage.
    pub fn close(self) -> Storage {
        self.storage
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
    storage: &Storage,
    task_ref: &str,
    op: &str,
    actor: &str,
    request: Option<RequestRef>,
) -> u64 {
    let mut raw = storage.raw();
    let seq = raw.int("SELECT seq FROM events ORDER BY seq DESC LIMIT 1") as u64 + 1;
    let prev = raw.text("SELECT hash FROM events ORDER BY seq DESC LIMIT 1");
    let version = raw.int(&format!(
        "SELECT version FROM tasks WHERE task_ref = {}",
        quoted(task_ref)
    ));
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
    let values = [task_ref, "intent", at, actor, &body, &prev, &hash]
        .map(quoted)
        .join(", ");
    raw.execute(&format!(
        "INSERT INTO events VALUES ({seq}, {seq}, {values})"
    ))
    .expect("insert");
    seq
}
