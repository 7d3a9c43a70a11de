//! The governance ledger: an SQLite file holding the append-only, hash-chained
//! event log and the projection of every task.
//!
//! Concurrency: WAL journal, a busy timeout, and every write in a
//! `BEGIN IMMEDIATE` transaction, so several processes can share one ledger.
//! An operation is two transactions: the intent (written only if the operation
//! is valid now, else nothing is written), then the outcome, which re-reads the
//! task and commits the facts only if the task's `version` is unchanged since
//! the intent; otherwise it records `failed` (a concurrent change won). A crash
//! between the two leaves an intent without outcome, which `verify` reports.
//!
//! Architecture invariant: rows of `events` are only ever inserted (triggers
//! refuse UPDATE and DELETE); the `tasks` table is only written together with
//! the events it is folded from, in the same transaction.

use std::path::{Path, PathBuf};
use std::time::Duration;

use archon_core::clock::{stamp, Clock};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde::Serialize;

use crate::cluster::ClusterRegistry;
use crate::coercion::{CoercionFilter, FilterOutcome};
use crate::event::{event_hash, EventBody, HashInput, LedgerEvent, GENESIS_HASH};
use crate::lifecycle::{self, ActivationRequest, Env, Refusal, Transition};
use crate::projection::{apply, ReplayError, TaskRecord};
use crate::result::TaskResult;
use crate::state::TaskState;

/// Version of the database layout (the `meta` table's `schema_version`).
pub const LEDGER_SCHEMA_VERSION: &str = "1";
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    op_seq INTEGER NOT NULL,
    task_ref TEXT NOT NULL,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    body TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_task ON events(task_ref, seq);
CREATE TABLE IF NOT EXISTS tasks (
    task_ref TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    version INTEGER NOT NULL,
    record TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the governance ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the governance ledger is append-only'); END;
";

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("{}: {source}", path.display())]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("{}: {message}", path.display())]
    Corrupt { path: PathBuf, message: String },
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("task {task_ref}: changed by another operation since intent {intent_seq} (version {expected} -> {found}); nothing applied")]
    Conflict {
        task_ref: String,
        intent_seq: u64,
        expected: u64,
        found: u64,
    },
}

impl LedgerError {
    /// Whether the request itself was wrong (bad input), as opposed to storage trouble.
    pub fn is_refusal(&self) -> bool {
        matches!(self, LedgerError::Refused(_))
    }
}

/// What `create_activation` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActivationResult {
    pub activation_id: String,
    pub task_ref: String,
    pub state: TaskState,
    pub filter_outcome: FilterOutcome,
    /// One line: routed to which cluster, or why it is held.
    pub message: String,
}

/// What one transition changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransitionReport {
    pub task_ref: String,
    pub transition: String,
    pub before: TaskState,
    pub after: TaskState,
    /// The events written: intent, facts, committed.
    pub events: Vec<LedgerEvent>,
    pub record: TaskRecord,
}

impl TransitionReport {
    /// The facts, one line each.
    pub fn lines(&self) -> Vec<String> {
        self.events
            .iter()
            .filter(|e| e.body.is_fact())
            .map(|e| e.body.describe())
            .collect()
    }
}

/// One requested operation.
enum Op {
    Activate(ActivationRequest),
    Transition(String, Transition),
}

impl Op {
    fn task_ref(&self) -> &str {
        match self {
            Op::Activate(r) => &r.task_ref,
            Op::Transition(t, _) => t,
        }
    }

    fn name(&self) -> String {
        match self {
            Op::Activate(_) => "activate".to_string(),
            Op::Transition(_, t) => t.name().to_string(),
        }
    }

    fn plan(&self, rec: Option<&TaskRecord>, env: &Env<'_>) -> Result<Vec<EventBody>, Refusal> {
        match self {
            Op::Activate(req) => lifecycle::plan_activation(req, rec, env),
            Op::Transition(task_ref, t) => lifecycle::plan_transition(task_ref, t, rec, env),
        }
    }
}

/// An open ledger file.
pub struct Ledger {
    conn: Connection,
    path: PathBuf,
    clusters: ClusterRegistry,
    filter: CoercionFilter,
}

impl Ledger {
    /// Opens (creating if needed) the ledger at `path`, with the bundled
    /// clusters and coercion patterns (see [`Ledger::with_clusters`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Ledger, LedgerError> {
        let path = path.as_ref().to_path_buf();
        let corrupt = |message: String| LedgerError::Corrupt {
            path: path.clone(),
            message,
        };
        let clusters = ClusterRegistry::bundled().map_err(|e| corrupt(e.to_string()))?;
        let filter = CoercionFilter::bundled().map_err(|e| corrupt(e.to_string()))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| corrupt(format!("cannot create {}: {e}", dir.display())))?;
        }
        let sql = |source| LedgerError::Sqlite {
            path: path.clone(),
            source,
        };
        let mut conn = Connection::open(&path).map_err(sql)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(sql)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(corrupt(format!(
                "cannot switch to WAL journal (got {mode})"
            )));
        }
        // Durable commits: a transition reported as done survives a power loss.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        tx.execute_batch(SCHEMA).map_err(sql)?;
        let version: Option<String> = tx
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql)?;
        match version.as_deref() {
            None => {
                // A new ledger: the schema transaction is its first durable write.
                archon_store::fault::point("ledger schema");
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)",
                    [LEDGER_SCHEMA_VERSION],
                )
                .map_err(sql)?;
            }
            Some(LEDGER_SCHEMA_VERSION) => {}
            Some(other) => {
                return Err(corrupt(format!(
                    "ledger schema_version {other}, this archon reads {LEDGER_SCHEMA_VERSION}"
                )))
            }
        }
        tx.commit().map_err(sql)?;
        Ok(Ledger {
            conn,
            path,
            clusters,
            filter,
        })
    }

    /// Routes with these clusters instead of the bundled ones.
    pub fn with_clusters(mut self, clusters: ClusterRegistry) -> Ledger {
        self.clusters = clusters;
        self
    }

    /// Filters with these patterns instead of the bundled ones.
    pub fn with_filter(mut self, filter: CoercionFilter) -> Ledger {
        self.filter = filter;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn clusters(&self) -> &ClusterRegistry {
        &self.clusters
    }

    /// authorized → activated → coercion filter → routed (or held).
    pub fn create_activation(
        &mut self,
        request: ActivationRequest,
        clock: &Clock,
    ) -> Result<ActivationResult, LedgerError> {
        let actor = format!("earl:{}", request.earl_id);
        self.run(vec![Op::Activate(request)], &actor, clock)
            .pop()
            .unwrap_or_else(|| Err(self.corrupt("no outcome for the activation".into())))
            .and_then(|r| self.activation_result(r))
    }

    /// Several activations in two transactions (intents, then outcomes).
    pub fn create_activations(
        &mut self,
        requests: Vec<ActivationRequest>,
        actor: &str,
        clock: &Clock,
    ) -> Vec<Result<ActivationResult, LedgerError>> {
        self.run(
            requests.into_iter().map(Op::Activate).collect(),
            actor,
            clock,
        )
        .into_iter()
        .map(|r| r.and_then(|r| self.activation_result(r)))
        .collect()
    }

    /// One lifecycle move.
    pub fn transition(
        &mut self,
        task_ref: &str,
        transition: Transition,
        actor: &str,
        clock: &Clock,
    ) -> Result<TransitionReport, LedgerError> {
        self.run(
            vec![Op::Transition(task_ref.to_string(), transition)],
            actor,
            clock,
        )
        .pop()
        .unwrap_or_else(|| Err(self.corrupt("no outcome for the transition".into())))
    }

    /// Several moves (each on a different task) in two transactions.
    pub fn transitions(
        &mut self,
        moves: Vec<(String, Transition)>,
        actor: &str,
        clock: &Clock,
    ) -> Vec<Result<TransitionReport, LedgerError>> {
        let ops = moves
            .into_iter()
            .map(|(t, m)| Op::Transition(t, m))
            .collect();
        self.run(ops, actor, clock)
    }

    /// A cluster reports a result (actor: its steward).
    pub fn report_result(
        &mut self,
        task_ref: &str,
        result: TaskResult,
        clock: &Clock,
    ) -> Result<TransitionReport, LedgerError> {
        let actor = if result.steward_id.is_empty() {
            format!("cluster:{}", result.cluster_id)
        } else {
            format!("steward:{}", result.steward_id)
        };
        self.transition(
            task_ref,
            Transition::Report {
                result: Box::new(result),
            },
            &actor,
            clock,
        )
    }

    /// Expires every routed task past its consent deadline (and reroutes it)
    /// and flags every in-progress task inactive too long.
    pub fn expire_due(&mut self, clock: &Clock) -> Result<Vec<TransitionReport>, LedgerError> {
        let now = clock.now();
        let due: Vec<(String, Transition)> = self
            .tasks()?
            .into_iter()
            .filter(|t| lifecycle::is_due(t, now))
            .map(|t| (t.task_ref, Transition::Expire))
            .collect();
        self.transitions(due, "clock", clock).into_iter().collect()
    }

    pub fn task(&self, task_ref: &str) -> Result<Option<TaskRecord>, LedgerError> {
        load_task(&self.conn, &self.path, task_ref)
    }

    /// All tasks, by task_ref.
    pub fn tasks(&self) -> Result<Vec<TaskRecord>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare("SELECT task_ref, record FROM tasks ORDER BY task_ref")
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(|e| self.sql(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (task_ref, text) = row.map_err(|e| self.sql(e))?;
            out.push(decode_record(&self.path, &task_ref, &text)?);
        }
        Ok(out)
    }

    /// The whole log, in order.
    pub fn events(&self) -> Result<Vec<LedgerEvent>, LedgerError> {
        read_events(&self.conn, &self.path)
    }

    fn sql(&self, source: rusqlite::Error) -> LedgerError {
        LedgerError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn corrupt(&self, message: String) -> LedgerError {
        LedgerError::Corrupt {
            path: self.path.clone(),
            message,
        }
    }

    fn activation_result(&self, r: TransitionReport) -> Result<ActivationResult, LedgerError> {
        let rec = r.record;
        let filter_outcome = rec
            .filter
            .clone()
            .ok_or_else(|| self.corrupt(format!("task {}: no filter outcome", rec.task_ref)))?;
        let message = match (&rec.hold, &rec.cluster_id) {
            (Some(hold), _) => EventBody::Held { hold: hold.clone() }.describe(),
            (None, Some(c)) => format!("routed to cluster {c}"),
            (None, None) => format!("state {}", rec.state),
        };
        Ok(ActivationResult {
            activation_id: rec.activation_id,
            task_ref: rec.task_ref,
            state: rec.state,
            filter_outcome,
            message,
        })
    }

    /// Runs operations as intent transaction + outcome transaction.
    fn run(
        &mut self,
        ops: Vec<Op>,
        actor: &str,
        clock: &Clock,
    ) -> Vec<Result<TransitionReport, LedgerError>> {
        let now = clock.now();
        let at = stamp(now);
        let mut results: Vec<Option<Result<TransitionReport, LedgerError>>> =
            ops.iter().map(|_| None).collect();
        let path = self.path.clone();
        let env = Env {
            now,
            clusters: &self.clusters,
            filter: &self.filter,
        };
        let intents =
            match write_intents(&mut self.conn, &path, &ops, &env, &at, actor, &mut results) {
                Ok(i) => i,
                Err(e) => return vec![Err(e)],
            };
        if let Err(e) = write_outcomes(
            &mut self.conn,
            &path,
            &ops,
            &intents,
            &env,
            &at,
            actor,
            &mut results,
        ) {
            return vec![Err(e)];
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(corrupt_at(&path, "operation without outcome"))))
            .collect()
    }
}

struct Intent {
    index: usize,
    seq: u64,
    expected_version: u64,
    before: Option<TaskState>,
}

/// Phase 1: validate each operation against the current task; write an intent
/// for the valid ones. Refused operations write nothing.
fn write_intents(
    conn: &mut Connection,
    path: &Path,
    ops: &[Op],
    env: &Env<'_>,
    at: &str,
    actor: &str,
    results: &mut [Option<Result<TransitionReport, LedgerError>>],
) -> Result<Vec<Intent>, LedgerError> {
    let sql = |source| LedgerError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql)?;
    let mut tail = read_tail(&tx, path)?;
    let mut intents = Vec::new();
    for (index, op) in ops.iter().enumerate() {
        let rec = load_task(&tx, path, op.task_ref())?;
        if let Err(refusal) = op.plan(rec.as_ref(), env) {
            results[index] = Some(Err(refusal.into()));
            continue;
        }
        let expected_version = rec.as_ref().map_or(0, |r| r.version);
        let body = EventBody::Intent {
            op: op.name(),
            expected_version,
        };
        let ev = append(&tx, path, &mut tail, None, op.task_ref(), at, actor, &body)?;
        intents.push(Intent {
            index,
            seq: ev.seq,
            expected_version,
            before: rec.map(|r| r.state),
        });
    }
    archon_store::fault::point("ledger intents");
    tx.commit().map_err(sql)?;
    Ok(intents)
}

/// Phase 2: re-read each task; commit its facts if nobody changed it since the
/// intent, else record the failure.
#[allow(clippy::too_many_arguments)]
fn write_outcomes(
    conn: &mut Connection,
    path: &Path,
    ops: &[Op],
    intents: &[Intent],
    env: &Env<'_>,
    at: &str,
    actor: &str,
    results: &mut [Option<Result<TransitionReport, LedgerError>>],
) -> Result<(), LedgerError> {
    let sql = |source| LedgerError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql)?;
    let mut tail = read_tail(&tx, path)?;
    for intent in intents {
        let Some(op) = ops.get(intent.index) else {
            continue;
        };
        let task_ref = op.task_ref();
        let rec = load_task(&tx, path, task_ref)?;
        let found = rec.as_ref().map_or(0, |r| r.version);
        let planned = if found != intent.expected_version {
            Err(LedgerError::Conflict {
                task_ref: task_ref.to_string(),
                intent_seq: intent.seq,
                expected: intent.expected_version,
                found,
            })
        } else {
            op.plan(rec.as_ref(), env).map_err(LedgerError::from)
        };
        let facts = match planned {
            Ok(facts) => facts,
            Err(e) => {
                let body = EventBody::Failed {
                    error: e.to_string(),
                };
                append(
                    &tx,
                    path,
                    &mut tail,
                    Some(intent.seq),
                    task_ref,
                    at,
                    actor,
                    &body,
                )?;
                results[intent.index] = Some(Err(e));
                continue;
            }
        };
        let intent_event = read_event(&tx, path, intent.seq)?;
        let mut events = vec![intent_event];
        let mut record = rec;
        for body in facts.iter().chain([&EventBody::Committed]) {
            let ev = append(
                &tx,
                path,
                &mut tail,
                Some(intent.seq),
                task_ref,
                at,
                actor,
                body,
            )?;
            record = apply(record, &ev).map_err(|e| replay_corrupt(path, e))?;
            events.push(ev);
        }
        let record =
            record.ok_or_else(|| corrupt_at(path, &format!("task {task_ref} vanished")))?;
        save_task(&tx, path, &record)?;
        results[intent.index] = Some(Ok(TransitionReport {
            task_ref: task_ref.to_string(),
            transition: op.name(),
            before: intent.before.unwrap_or(TaskState::Authorized),
            after: record.state,
            events,
            record,
        }));
    }
    archon_store::fault::point("ledger outcomes");
    tx.commit().map_err(sql)
}

/// The last event's (seq, hash), or (0, genesis).
fn read_tail(conn: &Connection, path: &Path) -> Result<(u64, String), LedgerError> {
    conn.query_row(
        "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1",
        [],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?)),
    )
    .optional()
    .map(|t| t.unwrap_or((0, GENESIS_HASH.to_string())))
    .map_err(|source| LedgerError::Sqlite {
        path: path.to_path_buf(),
        source,
    })
}

/// Appends one event after `tail` and advances it. `op_seq` `None`: the event
/// is an intent and belongs to itself.
#[allow(clippy::too_many_arguments)]
fn append(
    tx: &Transaction<'_>,
    path: &Path,
    tail: &mut (u64, String),
    op_seq: Option<u64>,
    task_ref: &str,
    at: &str,
    actor: &str,
    body: &EventBody,
) -> Result<LedgerEvent, LedgerError> {
    let seq = tail.0 + 1;
    let op_seq = op_seq.unwrap_or(seq);
    let text = serde_json::to_string(body)
        .map_err(|e| corrupt_at(path, &format!("cannot encode event: {e}")))?;
    let kind = body.kind();
    let hash = event_hash(&HashInput {
        seq,
        op_seq,
        task_ref,
        kind,
        at,
        actor,
        body: &text,
        prev_hash: &tail.1,
    });
    tx.execute(
        "INSERT INTO events (seq, op_seq, task_ref, kind, at, actor, body, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            seq as i64,
            op_seq as i64,
            task_ref,
            kind,
            at,
            actor,
            text,
            tail.1,
            hash
        ],
    )
    .map_err(|source| LedgerError::Sqlite {
        path: path.to_path_buf(),
        source,
    })?;
    let ev = LedgerEvent {
        seq,
        op_seq,
        task_ref: task_ref.to_string(),
        at: at.to_string(),
        actor: actor.to_string(),
        body: body.clone(),
        prev_hash: std::mem::replace(&mut tail.1, hash.clone()),
        hash,
    };
    tail.0 = seq;
    Ok(ev)
}

/// A stored row, before its body is decoded (what `verify` hashes).
pub(crate) struct RawEvent {
    pub seq: u64,
    pub op_seq: u64,
    pub task_ref: String,
    pub kind: String,
    pub at: String,
    pub actor: String,
    pub body: String,
    pub prev_hash: String,
    pub hash: String,
}

impl RawEvent {
    pub(crate) fn computed_hash(&self) -> String {
        event_hash(&HashInput {
            seq: self.seq,
            op_seq: self.op_seq,
            task_ref: &self.task_ref,
            kind: &self.kind,
            at: &self.at,
            actor: &self.actor,
            body: &self.body,
            prev_hash: &self.prev_hash,
        })
    }

    pub(crate) fn decode(self) -> Result<LedgerEvent, String> {
        let body: EventBody = serde_json::from_str(&self.body)
            .map_err(|e| format!("event {}: body does not decode: {e}", self.seq))?;
        if body.kind() != self.kind {
            return Err(format!(
                "event {}: kind {} but body is {}",
                self.seq,
                self.kind,
                body.kind()
            ));
        }
        Ok(LedgerEvent {
            seq: self.seq,
            op_seq: self.op_seq,
            task_ref: self.task_ref,
            at: self.at,
            actor: self.actor,
            body,
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

pub(crate) fn read_raw_events(
    conn: &Connection,
    path: &Path,
    where_seq: Option<u64>,
) -> Result<Vec<RawEvent>, LedgerError> {
    let sql = |source| LedgerError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    let query = "SELECT seq, op_seq, task_ref, kind, at, actor, body, prev_hash, hash FROM events";
    let mut stmt = match where_seq {
        Some(_) => conn.prepare(&format!("{query} WHERE seq = ?1")),
        None => conn.prepare(&format!("{query} ORDER BY seq")),
    }
    .map_err(sql)?;
    let map = |r: &rusqlite::Row<'_>| {
        Ok(RawEvent {
            seq: r.get::<_, i64>(0)? as u64,
            op_seq: r.get::<_, i64>(1)? as u64,
            task_ref: r.get(2)?,
            kind: r.get(3)?,
            at: r.get(4)?,
            actor: r.get(5)?,
            body: r.get(6)?,
            prev_hash: r.get(7)?,
            hash: r.get(8)?,
        })
    };
    let rows = match where_seq {
        Some(seq) => stmt.query_map([seq as i64], map),
        None => stmt.query_map([], map),
    }
    .map_err(sql)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(sql)
}

fn read_events(conn: &Connection, path: &Path) -> Result<Vec<LedgerEvent>, LedgerError> {
    read_raw_events(conn, path, None)?
        .into_iter()
        .map(|r| r.decode().map_err(|m| corrupt_at(path, &m)))
        .collect()
}

fn read_event(conn: &Connection, path: &Path, seq: u64) -> Result<LedgerEvent, LedgerError> {
    read_raw_events(conn, path, Some(seq))?
        .pop()
        .ok_or_else(|| corrupt_at(path, &format!("event {seq} is missing")))?
        .decode()
        .map_err(|m| corrupt_at(path, &m))
}

fn load_task(
    conn: &Connection,
    path: &Path,
    task_ref: &str,
) -> Result<Option<TaskRecord>, LedgerError> {
    let text: Option<String> = conn
        .query_row(
            "SELECT record FROM tasks WHERE task_ref = ?1",
            [task_ref],
            |r| r.get(0),
        )
        .optional()
        .map_err(|source| LedgerError::Sqlite {
            path: path.to_path_buf(),
            source,
        })?;
    text.map(|t| decode_record(path, task_ref, &t)).transpose()
}

fn save_task(tx: &Transaction<'_>, path: &Path, rec: &TaskRecord) -> Result<(), LedgerError> {
    let text = serde_json::to_string(rec)
        .map_err(|e| corrupt_at(path, &format!("cannot encode task: {e}")))?;
    tx.execute(
        "INSERT INTO tasks (task_ref, state, version, record) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(task_ref) DO UPDATE SET state = ?2, version = ?3, record = ?4",
        params![rec.task_ref, rec.state.as_str(), rec.version as i64, text],
    )
    .map(|_| ())
    .map_err(|source| LedgerError::Sqlite {
        path: path.to_path_buf(),
        source,
    })
}

pub(crate) fn read_projection(
    conn: &Connection,
    path: &Path,
) -> Result<Vec<(String, String)>, LedgerError> {
    let sql = |source| LedgerError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    let mut stmt = conn
        .prepare("SELECT task_ref, record FROM tasks ORDER BY task_ref")
        .map_err(sql)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(sql)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(sql)
}

pub(crate) fn decode_record(
    path: &Path,
    task_ref: &str,
    text: &str,
) -> Result<TaskRecord, LedgerError> {
    serde_json::from_str(text).map_err(|e| {
        corrupt_at(
            path,
            &format!("task {task_ref}: stored record does not decode: {e}"),
        )
    })
}

fn corrupt_at(path: &Path, message: &str) -> LedgerError {
    LedgerError::Corrupt {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

fn replay_corrupt(path: &Path, e: ReplayError) -> LedgerError {
    corrupt_at(path, &e.to_string())
}
