//! The governance ledger: an SQLite file holding the append-only, hash-chained
//! event log and the projection of every task.
//!
//! Concurrency: WAL journal, a busy timeout, and every write in a
//! `BEGIN IMMEDIATE` transaction, so several processes can share one ledger.
//! An operation is two transactions: the intent (written only if the operation
//! is valid now, else nothing is written), then the outcome, which re-reads the
//! task and commits the facts only if the task's `version` is unchanged since
//! the intent; otherwise it records `failed` (a concurrent change won).
//!
//! Crash recovery: a process killed between the two transactions leaves an
//! intent without outcome (an orphan). When no other process has the ledger
//! open for writing and no thread of this one is between the phases of that
//! intent (see [`crate::writers`]: a live writer's intent is not an orphan),
//! the next operation on the same task settles it inside its own
//! intent transaction: the same operation from the same task version *adopts*
//! the orphan (writes no new intent; its outcome closes the old one), so a
//! resumed run's ledger holds exactly the events of an uninterrupted run; any
//! other operation first closes it with `failed` (`abandoned: …`) and then
//! writes its own intent. [`Ledger::close_orphans`] (`archon tasks recover`)
//! closes every orphan left that no operation will retry.
//!
//! Architecture invariant: rows of `events` are only ever inserted (triggers
//! refuse UPDATE and DELETE); the `tasks` table is only written together with
//! the events it is folded from, in the same transaction.

use std::path::{Path, PathBuf};
use std::time::Duration;

use archon_core::clock::{stamp, Clock};
use archon_store::LedgerHead;
use rusqlite::{
    params, Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior,
};
use serde::Serialize;

use crate::cluster::ClusterRegistry;
use crate::coercion::{CoercionFilter, FilterOutcome};
use crate::event::{event_hash, EventBody, HashInput, LedgerEvent, RequestRef, GENESIS_HASH};
use crate::idempotency::{rebuild_report, request_of, Applied, RequestKey};
use crate::lifecycle::{self, ActivationRequest, Env, Refusal, Transition};
use crate::projection::{apply, ReplayError, TaskRecord};
use crate::result::TaskResult;
use crate::state::TaskState;
use crate::writers::WriterLock;

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
CREATE INDEX IF NOT EXISTS events_request ON events(actor, json_extract(body, '$.request.key'))
    WHERE kind = 'intent';
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
    // The cause is part of the message, so it is not also the error's
    // `source` (a chain printed with `{:#}` would repeat it).
    #[error("{}: {error}", path.display())]
    Sqlite {
        path: PathBuf,
        error: rusqlite::Error,
    },
    #[error("{}: {message}", path.display())]
    Corrupt { path: PathBuf, message: String },
    #[error("{}: no governance ledger here (a command that only reads a ledger never creates one)", path.display())]
    Missing { path: PathBuf },
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}: another writer has the ledger open; orphaned intents can only be closed while it is the only one", path.display())]
    WritersOpen { path: PathBuf },
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("idempotency key {key:?} was already used by this actor for another request; nothing applied")]
    KeyReused { key: String },
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
        matches!(
            self,
            LedgerError::Refused(_) | LedgerError::KeyReused { .. }
        )
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
    Transition {
        task_ref: String,
        transition: Transition,
        /// The client's idempotency key, when it may send the write again.
        request: Option<RequestRef>,
    },
}

impl Op {
    fn moving(task_ref: String, transition: Transition) -> Op {
        Op::Transition {
            task_ref,
            transition,
            request: None,
        }
    }

    fn task_ref(&self) -> &str {
        match self {
            Op::Activate(r) => &r.task_ref,
            Op::Transition { task_ref, .. } => task_ref,
        }
    }

    fn name(&self) -> String {
        match self {
            Op::Activate(_) => "activate".to_string(),
            Op::Transition { transition, .. } => transition.name().to_string(),
        }
    }

    fn request(&self) -> Option<&RequestRef> {
        match self {
            Op::Activate(_) => None,
            Op::Transition { request, .. } => request.as_ref(),
        }
    }

    fn plan(&self, rec: Option<&TaskRecord>, env: &Env<'_>) -> Result<Vec<EventBody>, Refusal> {
        match self {
            Op::Activate(req) => lifecycle::plan_activation(req, rec, env),
            Op::Transition {
                task_ref,
                transition,
                ..
            } => lifecycle::plan_transition(task_ref, transition, rec, env),
        }
    }
}

/// An open ledger file.
pub struct Ledger {
    conn: Connection,
    path: PathBuf,
    clusters: ClusterRegistry,
    filter: CoercionFilter,
    /// This writer's share of the liveness lock; `None` when opened read-only.
    writer: Option<WriterLock>,
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
        let (clusters, filter) = bundled_rules(&path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| corrupt(format!("cannot create {}: {e}", dir.display())))?;
        }
        let sql = |source| LedgerError::Sqlite {
            path: path.clone(),
            error: source,
        };
        let writer = WriterLock::acquire(&path).map_err(|source| LedgerError::Io {
            path: crate::writers::lock_path(&path),
            error: source,
        })?;
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
            writer: Some(writer),
        })
    }

    /// Opens an existing ledger for reading only: a missing file is an error
    /// (nothing is created), and a ledger on read-only media opens too.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Ledger, LedgerError> {
        let path = path.as_ref().to_path_buf();
        let (clusters, filter) = bundled_rules(&path)?;
        let conn = open_read_connection(&path)?;
        Ok(Ledger {
            conn,
            path,
            clusters,
            filter,
            writer: None,
        })
    }

    /// The last event (seq and hash), `None` while the log is empty.
    pub fn head(&self) -> Result<Option<LedgerHead>, LedgerError> {
        let (seq, hash) = read_tail(&self.conn, &self.path)?;
        Ok((seq > 0).then_some(LedgerHead { seq, hash }))
    }

    /// The `committed` event of the task's last `activate` operation: where a
    /// stage that activated it anchors its writes (the same event whether the
    /// stage made the activation now or found it made by an earlier run).
    pub fn activation_commit(&self, task_ref: &str) -> Result<Option<LedgerHead>, LedgerError> {
        self.conn
            .query_row(
                "SELECT c.seq, c.hash FROM events c JOIN events i
                   ON i.seq = c.op_seq AND i.task_ref = c.task_ref
                 WHERE c.task_ref = ?1 AND c.kind = 'committed' AND i.kind = 'intent'
                   AND json_extract(i.body, '$.op') = 'activate'
                 ORDER BY c.seq DESC LIMIT 1",
                [task_ref],
                |r| {
                    Ok(LedgerHead {
                        seq: r.get::<_, i64>(0)? as u64,
                        hash: r.get(1)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.sql(e))
    }

    /// Closes every orphaned intent (see the module doc) with a chained
    /// `failed` outcome naming `reason`; returns the intents closed. Refused
    /// while another writer is open, whose intents may be in flight.
    pub fn close_orphans(
        &mut self,
        reason: &str,
        actor: &str,
        clock: &Clock,
    ) -> Result<Vec<u64>, LedgerError> {
        let path = self.path.clone();
        let sql = |source| LedgerError::Sqlite {
            path: path.clone(),
            error: source,
        };
        let at = clock.stamp();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        if !only_process(self.writer.as_ref(), &path)? {
            return Err(LedgerError::WritersOpen { path });
        }
        let mut tail = read_tail(&tx, &path)?;
        let mut closed = Vec::new();
        for orphan in orphans(&tx, &path, self.writer.as_ref())? {
            let body = EventBody::Failed {
                error: format!("abandoned: {reason}"),
            };
            append(
                &tx,
                &path,
                &mut tail,
                Some(orphan.seq),
                &orphan.task_ref,
                &at,
                actor,
                &body,
            )?;
            closed.push(orphan.seq);
        }
        archon_store::fault::point("ledger recovery");
        tx.commit().map_err(sql)?;
        Ok(closed)
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

    /// `steward:<id>` of the cluster `task` is routed to now, as this ledger's
    /// cluster definitions name it: the one actor whose accept, decline, start
    /// and report the ledger takes.
    pub fn steward_of(&self, task: &TaskRecord) -> Option<String> {
        let cluster = self.clusters.get(task.cluster_id.as_deref()?)?;
        Some(format!("steward:{}", cluster.steward.steward_id))
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
            .and_then(|r| self.activation_result(r.into_inner()))
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
        .map(|r| r.and_then(|r| self.activation_result(r.into_inner())))
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
        self.run_one(Op::moving(task_ref.to_string(), transition), actor, clock)
            .map(Applied::into_inner)
    }

    /// [`Ledger::transition`] that a client may send again under the same
    /// key: a replay writes nothing and returns the first call's report (see
    /// [`crate::idempotency`]).
    pub fn transition_once(
        &mut self,
        request: &RequestKey<'_>,
        task_ref: &str,
        transition: Transition,
        actor: &str,
        clock: &Clock,
    ) -> Result<Applied<TransitionReport>, LedgerError> {
        let op = Op::Transition {
            task_ref: task_ref.to_string(),
            transition,
            request: Some(request.to_ref()),
        };
        self.run_one(op, actor, clock)
    }

    fn run_one(
        &mut self,
        op: Op,
        actor: &str,
        clock: &Clock,
    ) -> Result<Applied<TransitionReport>, LedgerError> {
        self.run(vec![op], actor, clock)
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
        let ops = moves.into_iter().map(|(t, m)| Op::moving(t, m)).collect();
        self.run(ops, actor, clock)
            .into_iter()
            .map(|r| r.map(Applied::into_inner))
            .collect()
    }

    /// A cluster reports a result (actor: its steward).
    pub fn report_result(
        &mut self,
        task_ref: &str,
        result: TaskResult,
        clock: &Clock,
    ) -> Result<TransitionReport, LedgerError> {
        let actor = reporter(&result);
        self.transition(
            task_ref,
            Transition::Report {
                result: Box::new(result),
            },
            &actor,
            clock,
        )
    }

    /// [`Ledger::report_result`] that a client may send again under the same key.
    pub fn report_result_once(
        &mut self,
        request: &RequestKey<'_>,
        task_ref: &str,
        result: TaskResult,
        clock: &Clock,
    ) -> Result<Applied<TransitionReport>, LedgerError> {
        let actor = reporter(&result);
        self.transition_once(
            request,
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
            error: source,
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
    fn run(&mut self, ops: Vec<Op>, actor: &str, clock: &Clock) -> Vec<Outcome> {
        let now = clock.now();
        let at = stamp(now);
        let mut results: Vec<Option<Outcome>> = ops.iter().map(|_| None).collect();
        let path = self.path.clone();
        let env = Env {
            now,
            actor,
            clusters: &self.clusters,
            filter: &self.filter,
        };
        let writer = self.writer.as_ref();
        let intents = match write_intents(
            &mut self.conn,
            &path,
            writer,
            &ops,
            &env,
            &at,
            actor,
            &mut results,
        ) {
            Ok(i) => i,
            Err(e) => return vec![Err(e)],
        };
        let outcomes = write_outcomes(
            &mut self.conn,
            &path,
            &ops,
            &intents,
            &env,
            &at,
            actor,
            &mut results,
        );
        settled(writer, &intents);
        if let Err(e) = outcomes {
            return vec![Err(e)];
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(corrupt_at(&path, "operation without outcome"))))
            .collect()
    }
}

/// What one operation of a [`Ledger::run`] came to.
type Outcome = Result<Applied<TransitionReport>, LedgerError>;

struct Intent {
    index: usize,
    seq: u64,
    expected_version: u64,
    before: Option<TaskState>,
}

/// Phase 1: validate each operation against the current task; write an intent
/// for the valid ones (or adopt the orphan of the same operation, see the
/// module doc). Refused operations write nothing.
#[allow(clippy::too_many_arguments)]
fn write_intents(
    conn: &mut Connection,
    path: &Path,
    writer: Option<&WriterLock>,
    ops: &[Op],
    env: &Env<'_>,
    at: &str,
    actor: &str,
    results: &mut [Option<Outcome>],
) -> Result<Vec<Intent>, LedgerError> {
    let sql = |source| LedgerError::Sqlite {
        path: path.to_path_buf(),
        error: source,
    };
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql)?;
    let mut tail = read_tail(&tx, path)?;
    // Orphans are settled only when no other writer could be between its phases.
    let mut orphans = None;
    let mut intents = Vec::new();
    for (index, op) in ops.iter().enumerate() {
        if let Some(request) = op.request() {
            if let Some(done) = replay_request(&tx, path, actor, request)? {
                results[index] = Some(done);
                continue;
            }
        }
        let rec = load_task(&tx, path, op.task_ref())?;
        if let Err(refusal) = op.plan(rec.as_ref(), env) {
            results[index] = Some(Err(refusal.into()));
            continue;
        }
        let expected_version = rec.as_ref().map_or(0, |r| r.version);
        let before = rec.map(|r| r.state);
        let orphans = match &mut orphans {
            Some(o) => o,
            None => orphans.insert(if only_process(writer, path)? {
                self::orphans(&tx, path, writer)?
            } else {
                Vec::new()
            }),
        };
        let mut adopted = None;
        for orphan in orphans.iter().filter(|o| o.task_ref == op.task_ref()) {
            if adopted.is_none()
                && orphan.op == op.name()
                && orphan.expected_version == expected_version
                && orphan.request.as_ref() == op.request()
            {
                adopted = Some(orphan.seq);
                continue;
            }
            let body = EventBody::Failed {
                error: format!(
                    "abandoned: interrupted before its outcome; superseded by {}",
                    op.name()
                ),
            };
            append(
                &tx,
                path,
                &mut tail,
                Some(orphan.seq),
                op.task_ref(),
                at,
                actor,
                &body,
            )?;
        }
        orphans.retain(|o| o.task_ref != op.task_ref());
        let seq = match adopted {
            Some(seq) => seq,
            None => {
                let body = EventBody::Intent {
                    op: op.name(),
                    expected_version,
                    request: op.request().cloned(),
                };
                append(&tx, path, &mut tail, None, op.task_ref(), at, actor, &body)?.seq
            }
        };
        intents.push(Intent {
            index,
            seq,
            expected_version,
            before,
        });
    }
    archon_store::fault::point("ledger intents");
    // In flight from before the commit: no other thread may take them for orphans.
    if let Some(w) = writer {
        w.in_flight().extend(intents.iter().map(|i| i.seq));
    }
    if let Err(e) = tx.commit() {
        settled(writer, &intents);
        return Err(sql(e));
    }
    Ok(intents)
}

/// A keyed write already made: the committed operation `actor` made under
/// `request.key` (its report rebuilt), or the refusal of a key reused for
/// another request; `None` when the write is to be made now.
fn replay_request(
    conn: &Connection,
    path: &Path,
    actor: &str,
    request: &RequestRef,
) -> Result<Option<Outcome>, LedgerError> {
    let mut committed = None;
    for intent in read_keyed_intents(conn, path, actor, &request.key)? {
        if request_of(&intent).map(|r| &r.request_sha256) != Some(&request.request_sha256) {
            return Ok(Some(Err(LedgerError::KeyReused {
                key: request.key.clone(),
            })));
        }
        if committed.is_none() && is_committed(conn, path, intent.seq)? {
            committed = Some(intent);
        }
    }
    let Some(intent) = committed else {
        return Ok(None);
    };
    let task_events = read_task_events(conn, path, &intent.task_ref)?;
    let report = rebuild_report(&task_events, intent.seq).map_err(|e| replay_corrupt(path, e))?;
    Ok(Some(Ok(Applied::Replayed(report))))
}

/// The intents' operations are over (closed, or left as orphans by an error).
fn settled(writer: Option<&WriterLock>, intents: &[Intent]) {
    if let Some(w) = writer {
        let mut in_flight = w.in_flight();
        for i in intents {
            in_flight.remove(&i.seq);
        }
    }
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
    results: &mut [Option<Outcome>],
) -> Result<(), LedgerError> {
    let sql = |source| LedgerError::Sqlite {
        path: path.to_path_buf(),
        error: source,
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
        results[intent.index] = Some(Ok(Applied::New(TransitionReport {
            task_ref: task_ref.to_string(),
            transition: op.name(),
            before: intent.before.unwrap_or(TaskState::Authorized),
            after: record.state,
            events,
            record,
        })));
    }
    archon_store::fault::point("ledger outcomes");
    tx.commit().map_err(sql)
}

/// The actor a result is reported as: its steward, else its cluster.
fn reporter(result: &TaskResult) -> String {
    if result.steward_id.is_empty() {
        format!("cluster:{}", result.cluster_id)
    } else {
        format!("steward:{}", result.steward_id)
    }
}

/// The bundled clusters and coercion patterns (errors are the build's, named
/// against the ledger being opened).
fn bundled_rules(path: &Path) -> Result<(ClusterRegistry, CoercionFilter), LedgerError> {
    let corrupt = |e: &dyn std::fmt::Display| corrupt_at(path, &e.to_string());
    let clusters = ClusterRegistry::bundled().map_err(|e| corrupt(&e))?;
    let filter = CoercionFilter::bundled().map_err(|e| corrupt(&e))?;
    Ok((clusters, filter))
}

/// Whether no other process has the ledger open for writing (a read-only
/// ledger never settles orphans).
fn only_process(writer: Option<&WriterLock>, path: &Path) -> Result<bool, LedgerError> {
    match writer {
        None => Ok(false),
        Some(w) => w.is_only_process().map_err(|source| LedgerError::Io {
            path: crate::writers::lock_path(path),
            error: source,
        }),
    }
}

/// The open intents no thread of this process is working on: the orphans, once
/// [`only_process`] holds.
fn orphans(
    conn: &Connection,
    path: &Path,
    writer: Option<&WriterLock>,
) -> Result<Vec<OpenIntent>, LedgerError> {
    let mut open = open_intents(conn, path)?;
    if let Some(w) = writer {
        let in_flight = w.in_flight();
        open.retain(|o| !in_flight.contains(&o.seq));
    }
    Ok(open)
}

/// An intent without outcome.
pub(crate) struct OpenIntent {
    pub seq: u64,
    pub task_ref: String,
    pub op: String,
    pub expected_version: u64,
    pub request: Option<RequestRef>,
}

/// The intents without a `committed` or `failed` outcome, in log order.
fn open_intents(conn: &Connection, path: &Path) -> Result<Vec<OpenIntent>, LedgerError> {
    let sql = |source| LedgerError::Sqlite {
        path: path.to_path_buf(),
        error: source,
    };
    let mut stmt = conn
        .prepare(
            "SELECT e.seq FROM events e WHERE e.kind = 'intent'
               AND NOT EXISTS (SELECT 1 FROM events o
                   WHERE o.task_ref = e.task_ref AND o.op_seq = e.seq
                     AND o.kind IN ('committed', 'failed'))
             ORDER BY e.seq",
        )
        .map_err(sql)?;
    let seqs = stmt
        .query_map([], |r| r.get::<_, i64>(0))
        .map_err(sql)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sql)?;
    seqs.into_iter()
        .map(|seq| {
            let ev = read_event(conn, path, seq as u64)?;
            match ev.body {
                EventBody::Intent {
                    op,
                    expected_version,
                    request,
                } => Ok(OpenIntent {
                    seq: ev.seq,
                    task_ref: ev.task_ref,
                    op,
                    expected_version,
                    request,
                }),
                _ => Err(corrupt_at(
                    path,
                    &format!("event {seq}: kind intent but body is not"),
                )),
            }
        })
        .collect()
}

/// Opens an existing ledger read-only. SQLite needs the `-shm` file of a WAL
/// ledger; where it cannot be made (read-only media, no writer open) the file
/// is opened as immutable, which is what it is there.
pub(crate) fn open_read_connection(path: &Path) -> Result<Connection, LedgerError> {
    if !path.is_file() {
        return Err(LedgerError::Missing {
            path: path.to_path_buf(),
        });
    }
    let sql = |source| LedgerError::Sqlite {
        path: path.to_path_buf(),
        error: source,
    };
    let check = |conn: Connection| -> Result<Connection, rusqlite::Error> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })?;
        Ok(conn)
    };
    // Where the ledger can be written, a read-write connection (never creating
    // the file) with `query_only` reads it: as the last connection to close it
    // checkpoints and removes the WAL files, as a writer would, so a read leaves
    // the run's folder as it found it. A read-only connection cannot, so it is
    // kept for read-only media.
    let query_only = |conn: Connection| -> Result<Connection, rusqlite::Error> {
        conn.pragma_update(None, "query_only", true)?;
        check(conn)
    };
    let read_only = || Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY);
    let writable = |p: &Path| std::fs::metadata(p).is_ok_and(|m| !m.permissions().readonly());
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let first_try = if writable(path) && writable(dir.unwrap_or(Path::new("."))) {
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
            .and_then(query_only)
            .or_else(|_| read_only().and_then(check))
    } else {
        read_only().and_then(check)
    };
    let conn = match first_try {
        Ok(conn) => conn,
        Err(first) => {
            let uri = format!("file:{}?immutable=1", uri_path(path));
            Connection::open_with_flags(
                uri,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
            )
            .and_then(check)
            .map_err(|_| sql(first))?
        }
    };
    let version: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| corrupt_at(path, &format!("not a governance ledger: {e}")))?;
    match version.as_deref() {
        Some(LEDGER_SCHEMA_VERSION) => Ok(conn),
        Some(other) => Err(corrupt_at(
            path,
            &format!("ledger schema_version {other}, this archon reads {LEDGER_SCHEMA_VERSION}"),
        )),
        None => Err(corrupt_at(
            path,
            "not a governance ledger: no schema_version",
        )),
    }
}

/// `path` with the characters a SQLite URI gives meaning to percent-encoded.
fn uri_path(path: &Path) -> String {
    let text = path.to_string_lossy();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' | '?' | '#' => out.push_str(&format!("%{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out
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
        error: source,
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
        error: source,
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
        error: source,
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

/// The intents `actor` wrote under idempotency key `key`, in log order.
fn read_keyed_intents(
    conn: &Connection,
    path: &Path,
    actor: &str,
    key: &str,
) -> Result<Vec<LedgerEvent>, LedgerError> {
    let seqs = query_seqs(
        conn,
        path,
        "SELECT seq FROM events WHERE kind = 'intent' AND actor = ?1
           AND json_extract(body, '$.request.key') = ?2 ORDER BY seq",
        params![actor, key],
    )?;
    seqs.into_iter()
        .map(|seq| read_event(conn, path, seq))
        .collect()
}

/// Whether the operation of intent `seq` has committed.
fn is_committed(conn: &Connection, path: &Path, seq: u64) -> Result<bool, LedgerError> {
    let found = query_seqs(
        conn,
        path,
        "SELECT seq FROM events WHERE op_seq = ?1 AND kind = 'committed'",
        params![seq as i64],
    )?;
    Ok(!found.is_empty())
}

/// Every event of `task_ref`, in log order.
fn read_task_events(
    conn: &Connection,
    path: &Path,
    task_ref: &str,
) -> Result<Vec<LedgerEvent>, LedgerError> {
    let seqs = query_seqs(
        conn,
        path,
        "SELECT seq FROM events WHERE task_ref = ?1 ORDER BY seq",
        params![task_ref],
    )?;
    seqs.into_iter()
        .map(|seq| read_event(conn, path, seq))
        .collect()
}

fn query_seqs(
    conn: &Connection,
    path: &Path,
    query: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<u64>, LedgerError> {
    let sql = |source| LedgerError::Sqlite {
        path: path.to_path_buf(),
        error: source,
    };
    let mut stmt = conn.prepare(query).map_err(sql)?;
    let rows = stmt
        .query_map(args, |r| r.get::<_, i64>(0))
        .map_err(sql)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sql)?;
    Ok(rows.into_iter().map(|s| s as u64).collect())
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
            error: source,
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
        error: source,
    })
}

pub(crate) fn read_projection(
    conn: &Connection,
    path: &Path,
) -> Result<Vec<(String, String)>, LedgerError> {
    let sql = |source| LedgerError::Sqlite {
        path: path.to_path_buf(),
        error: source,
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
