//! The governance ledger: the append-only, hash-chained event log and the
//! projection of every task, in an SQLite file or a PostgreSQL database
//! (see [`crate::store`]; [`Ledger::open`] takes either location).
//!
//! Concurrency: every write is one transaction that excludes every other
//! writer, so several processes (and, on PostgreSQL, machines) share a ledger.
//! An operation is two transactions: the intent (written only if the operation
//! is valid now, else nothing is written), then the outcome, which re-reads the
//! task and commits the facts only if the task's `version` is unchanged since
//! the intent; otherwise it records `failed` (a concurrent change won).
//!
//! Crash recovery: a process killed between the two transactions leaves an
//! intent without outcome (an orphan). Once the store can tell that no live
//! writer is between the phases of that intent (SQLite: no other process has
//! the ledger open for writing and no thread of this one holds it, see
//! [`crate::writers`]; PostgreSQL: the intent's advisory lock is free), the next
//! operation on the same task settles it inside its own intent transaction:
//! the same operation from the same task version (and under the same
//! idempotency key, if any) *adopts* the orphan (writes no new intent; its
//! outcome closes the old one), so a resumed run's ledger holds exactly the
//! events of an uninterrupted run; any other operation first closes it with
//! `failed` (`abandoned: …`) and then writes its own intent.
//! [`Ledger::close_orphans`] (`archon tasks recover`) closes every orphan left
//! that no operation will retry.
//!
//! This module decides what is written (planning, hashing, folding); the
//! store only stores and loads rows.
//!
//! Architecture invariant: rows of `events` are only ever inserted (triggers
//! refuse UPDATE and DELETE); the `tasks` table is only written together with
//! the events it is folded from, in the same transaction.

use std::path::{Path, PathBuf};

use archon_core::clock::{stamp, Clock};
use archon_store::LedgerHead;
use serde::Serialize;

use crate::cluster::ClusterRegistry;
use crate::coercion::{CoercionFilter, FilterOutcome};
use crate::event::{event_hash, EventBody, HashInput, LedgerEvent, RequestRef, GENESIS_HASH};
use crate::idempotency::{rebuild_report, request_of, Applied, RequestKey};
use crate::lifecycle::{self, ActivationRequest, Env, Refusal, Transition};
use crate::projection::{apply, ReplayError, TaskRecord};
use crate::state::TaskState;
use crate::store::{Events, Location, Store, StoreTx};
use archon_artifacts::TaskResult;

pub use crate::store::LEDGER_SCHEMA_VERSION;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    // The cause is part of the message, so it is not also the error's
    // `source` (a chain printed with `{:#}` would repeat it).
    #[error("{}: {error}", path.display())]
    Sqlite {
        path: PathBuf,
        error: rusqlite::Error,
    },
    #[error("{}: {}", path.display(), with_causes(error))]
    Postgres {
        path: PathBuf,
        error: postgres::Error,
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

/// An error's message followed by its causes' (the PostgreSQL client's own
/// message is only its kind, "db error", the server's words are its cause).
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
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

/// An open ledger.
pub struct Ledger {
    store: Store,
    /// The location as errors name it (a URL without its password).
    path: PathBuf,
    clusters: ClusterRegistry,
    filter: CoercionFilter,
}

impl Ledger {
    /// Opens (creating if needed) the ledger at `location`, a file path or a
    /// `postgres://` URL, with the bundled clusters and coercion patterns
    /// (see [`Ledger::with_clusters`]).
    pub fn open(location: impl AsRef<Path>) -> Result<Ledger, LedgerError> {
        let location = Location::parse(location.as_ref());
        let path = location.display_name();
        let (clusters, filter) = bundled_rules(&path)?;
        Ok(Ledger {
            store: Store::open(&location)?,
            path,
            clusters,
            filter,
        })
    }

    /// Opens an existing ledger for reading only: a missing one is an error
    /// (nothing is created), and a ledger file on read-only media opens too.
    pub fn open_read_only(location: impl AsRef<Path>) -> Result<Ledger, LedgerError> {
        let location = Location::parse(location.as_ref());
        let path = location.display_name();
        let (clusters, filter) = bundled_rules(&path)?;
        Ok(Ledger {
            store: Store::open_read_only(&location)?,
            path,
            clusters,
            filter,
        })
    }

    /// The last event (seq and hash), `None` while the log is empty.
    pub fn head(&self) -> Result<Option<LedgerHead>, LedgerError> {
        let tail = self.store.read(|tx| tx.tail())?;
        Ok(tail.map(|(seq, hash)| LedgerHead { seq, hash }))
    }

    /// The `committed` event of the task's last `activate` operation: where a
    /// stage that activated it anchors its writes (the same event whether the
    /// stage made the activation now or found it made by an earlier run).
    pub fn activation_commit(&self, task_ref: &str) -> Result<Option<LedgerHead>, LedgerError> {
        self.last_commit(task_ref, &["activate"])
    }

    /// The `committed` event of the task's last operation named one of `ops`
    /// (`Transition::name`, `activate`): an anchor that stays the same
    /// whatever other tasks write meanwhile.
    pub fn last_commit(
        &self,
        task_ref: &str,
        ops: &[&str],
    ) -> Result<Option<LedgerHead>, LedgerError> {
        let events = self
            .store
            .read(|tx| read_events(tx, &self.path, Events::Task(task_ref)))?;
        let operations: std::collections::BTreeSet<u64> = events
            .iter()
            .filter(
                |e| matches!(&e.body, EventBody::Intent { op, .. } if ops.contains(&op.as_str())),
            )
            .map(|e| e.seq)
            .collect();
        Ok(events
            .iter()
            .rev()
            .find(|e| e.body == EventBody::Committed && operations.contains(&e.op_seq))
            .map(|e| LedgerHead {
                seq: e.seq,
                hash: e.hash.clone(),
            }))
    }

    /// Closes every orphaned intent (see the module doc) with a chained
    /// `failed` outcome naming `reason`; returns the intents closed. Refused
    /// while the store cannot tell orphans from intents in flight.
    pub fn close_orphans(
        &mut self,
        reason: &str,
        actor: &str,
        clock: &Clock,
    ) -> Result<Vec<u64>, LedgerError> {
        let path = self.path.clone();
        let at = clock.stamp();
        self.store.write(|tx| {
            let Some(orphans) = orphans(tx, &path)? else {
                return Err(LedgerError::WritersOpen { path: path.clone() });
            };
            let mut tail = read_tail(tx)?;
            let mut closed = Vec::new();
            for orphan in orphans {
                let body = EventBody::Failed {
                    error: format!("abandoned: {reason}"),
                };
                let at_orphan = Append {
                    op_seq: Some(orphan.seq),
                    task_ref: &orphan.task_ref,
                    at: &at,
                    actor,
                };
                append(tx, &path, &mut tail, &at_orphan, &body)?;
                closed.push(orphan.seq);
            }
            archon_store::fault::point("ledger recovery");
            Ok(closed)
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

    /// Where the ledger is, as messages name it (a database URL without its
    /// password).
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
    pub fn create_activation<P: Serialize>(
        &mut self,
        request: ActivationRequest<P>,
        clock: &Clock,
    ) -> Result<ActivationResult, LedgerError> {
        let actor = format!("earl:{}", request.earl_id);
        let request = recorded(request)?;
        self.run(vec![Op::Activate(request)], &actor, clock)
            .pop()
            .unwrap_or_else(|| Err(self.corrupt("no outcome for the activation".into())))
            .and_then(|r| self.activation_result(r.into_inner()))
    }

    /// Several activations in two transactions (intents, then outcomes).
    pub fn create_activations<P: Serialize>(
        &mut self,
        requests: Vec<ActivationRequest<P>>,
        actor: &str,
        clock: &Clock,
    ) -> Vec<Result<ActivationResult, LedgerError>> {
        let count = requests.len();
        let requests: Vec<ActivationRequest> =
            match requests.into_iter().map(|r| r.recorded()).collect() {
                Ok(requests) => requests,
                // Nothing of the batch is applied: every request gets the refusal.
                Err(e) => {
                    let refusal = not_json(&e);
                    return (0..count)
                        .map(|_| Err(LedgerError::Refused(refusal.clone())))
                        .collect();
                }
            };
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
        self.store.read(|tx| load_task(tx, &self.path, task_ref))
    }

    /// All tasks, by task_ref.
    pub fn tasks(&self) -> Result<Vec<TaskRecord>, LedgerError> {
        let rows = self.store.read(|tx| tx.projection())?;
        rows.iter()
            .map(|(task_ref, text)| decode_record(&self.path, task_ref, text))
            .collect()
    }

    /// The whole log, in order.
    pub fn events(&self) -> Result<Vec<LedgerEvent>, LedgerError> {
        self.store
            .read(|tx| read_events(tx, &self.path, Events::All))
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
        // A stop (SIGINT/SIGTERM) waits for the outcome of an intent written here.
        let _in_flight = archon_store::stop::operation();
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
        let mut marked = Vec::new();
        let intents = self.store.write(|tx| {
            let intents = write_intents(tx, &path, &ops, &env, &at, actor, &mut results)?;
            // In flight from before the commit: no other writer may take
            // them for orphans.
            marked = intents.iter().map(|i| i.seq).collect();
            tx.mark_in_flight(&marked)?;
            Ok(intents)
        });
        let intents = match intents {
            Ok(i) => i,
            Err(e) => {
                self.store.settled(&marked);
                return vec![Err(e)];
            }
        };
        let outcomes = self
            .store
            .write(|tx| write_outcomes(tx, &path, &ops, &intents, &env, &at, actor, &mut results));
        self.store.settled(&marked);
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
fn write_intents(
    tx: &mut dyn StoreTx,
    path: &Path,
    ops: &[Op],
    env: &Env<'_>,
    at: &str,
    actor: &str,
    results: &mut [Option<Outcome>],
) -> Result<Vec<Intent>, LedgerError> {
    let mut tail = read_tail(tx)?;
    // Looked for once, at the first valid operation.
    let mut orphans: Option<Vec<OpenIntent>> = None;
    let mut intents = Vec::new();
    for (index, op) in ops.iter().enumerate() {
        if let Some(request) = op.request() {
            if let Some(done) = replay_request(tx, path, actor, request)? {
                results[index] = Some(done);
                continue;
            }
        }
        let rec = load_task(tx, path, op.task_ref())?;
        if let Err(refusal) = op.plan(rec.as_ref(), env) {
            results[index] = Some(Err(refusal.into()));
            continue;
        }
        let expected_version = rec.as_ref().map_or(0, |r| r.version);
        let before = rec.map(|r| r.state);
        let orphans = match &mut orphans {
            Some(o) => o,
            None => orphans.insert(self::orphans(tx, path)?.unwrap_or_default()),
        };
        let mut adopted = None;
        let here = Append {
            op_seq: None,
            task_ref: op.task_ref(),
            at,
            actor,
        };
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
            let closing = Append {
                op_seq: Some(orphan.seq),
                ..here
            };
            append(tx, path, &mut tail, &closing, &body)?;
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
                append(tx, path, &mut tail, &here, &body)?.seq
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
    Ok(intents)
}

/// Phase 2: re-read each task; commit its facts if nobody changed it since the
/// intent, else record the failure.
#[allow(clippy::too_many_arguments)]
fn write_outcomes(
    tx: &mut dyn StoreTx,
    path: &Path,
    ops: &[Op],
    intents: &[Intent],
    env: &Env<'_>,
    at: &str,
    actor: &str,
    results: &mut [Option<Outcome>],
) -> Result<(), LedgerError> {
    let mut tail = read_tail(tx)?;
    for intent in intents {
        let Some(op) = ops.get(intent.index) else {
            continue;
        };
        let task_ref = op.task_ref();
        let here = Append {
            op_seq: Some(intent.seq),
            task_ref,
            at,
            actor,
        };
        let rec = load_task(tx, path, task_ref)?;
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
                append(tx, path, &mut tail, &here, &body)?;
                results[intent.index] = Some(Err(e));
                continue;
            }
        };
        let intent_event = read_events(tx, path, Events::Seq(intent.seq))?
            .pop()
            .ok_or_else(|| corrupt_at(path, &format!("event {} is missing", intent.seq)))?;
        let mut events = vec![intent_event];
        let mut record = rec;
        for body in facts.iter().chain([&EventBody::Committed]) {
            let ev = append(tx, path, &mut tail, &here, body)?;
            record = apply(record, &ev).map_err(|e| replay_corrupt(path, e))?;
            events.push(ev);
        }
        let record =
            record.ok_or_else(|| corrupt_at(path, &format!("task {task_ref} vanished")))?;
        save_task(tx, path, &record)?;
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
    Ok(())
}

/// A keyed write already made: the committed operation `actor` made under
/// `request.key` (its report rebuilt), or the refusal of a key reused for
/// another request; `None` when the write is to be made now.
fn replay_request(
    tx: &mut dyn StoreTx,
    path: &Path,
    actor: &str,
    request: &RequestRef,
) -> Result<Option<Outcome>, LedgerError> {
    let keyed = Events::Keyed {
        actor,
        key: &request.key,
    };
    let mut committed = None;
    for intent in read_events(tx, path, keyed)? {
        if request_of(&intent).map(|r| &r.request_sha256) != Some(&request.request_sha256) {
            return Ok(Some(Err(LedgerError::KeyReused {
                key: request.key.clone(),
            })));
        }
        if committed.is_none() && tx.is_committed(intent.seq)? {
            committed = Some(intent);
        }
    }
    let Some(intent) = committed else {
        return Ok(None);
    };
    let task_events = read_events(tx, path, Events::Task(&intent.task_ref))?;
    let report = rebuild_report(&task_events, intent.seq).map_err(|e| replay_corrupt(path, e))?;
    Ok(Some(Ok(Applied::Replayed(report))))
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

/// An intent without outcome.
pub(crate) struct OpenIntent {
    pub seq: u64,
    pub task_ref: String,
    pub op: String,
    pub expected_version: u64,
    pub request: Option<RequestRef>,
}

/// The open intents no live writer is working on, in log order; `None` while
/// the store cannot tell (see the module doc).
fn orphans(tx: &mut dyn StoreTx, path: &Path) -> Result<Option<Vec<OpenIntent>>, LedgerError> {
    let open = read_events(tx, path, Events::OpenIntents)?;
    let seqs: Vec<u64> = open.iter().map(|e| e.seq).collect();
    let Some(dead) = tx.dead_intents(&seqs)? else {
        return Ok(None);
    };
    open.into_iter()
        .filter(|ev| dead.contains(&ev.seq))
        .map(|ev| match ev.body {
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
                &format!("event {}: kind intent but body is not", ev.seq),
            )),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The last event's (seq, hash), or (0, genesis).
fn read_tail(tx: &mut dyn StoreTx) -> Result<(u64, String), LedgerError> {
    Ok(tx.tail()?.unwrap_or_else(|| (0, GENESIS_HASH.to_string())))
}

/// Where an appended event goes. `op_seq` `None`: the event is an intent and
/// belongs to itself.
#[derive(Clone, Copy)]
struct Append<'a> {
    op_seq: Option<u64>,
    task_ref: &'a str,
    at: &'a str,
    actor: &'a str,
}

/// Appends one event after `tail` and advances it.
fn append(
    tx: &mut dyn StoreTx,
    path: &Path,
    tail: &mut (u64, String),
    to: &Append<'_>,
    body: &EventBody,
) -> Result<LedgerEvent, LedgerError> {
    let seq = tail.0 + 1;
    let op_seq = to.op_seq.unwrap_or(seq);
    let text = serde_json::to_string(body)
        .map_err(|e| corrupt_at(path, &format!("cannot encode event: {e}")))?;
    let mut row = RawEvent {
        seq,
        op_seq,
        task_ref: to.task_ref.to_string(),
        kind: body.kind().to_string(),
        at: to.at.to_string(),
        actor: to.actor.to_string(),
        body: text,
        prev_hash: tail.1.clone(),
        hash: String::new(),
    };
    row.hash = row.computed_hash();
    tx.insert_event(&row)?;
    *tail = (seq, row.hash.clone());
    Ok(LedgerEvent {
        seq,
        op_seq,
        task_ref: row.task_ref,
        at: row.at,
        actor: row.actor,
        body: body.clone(),
        prev_hash: row.prev_hash,
        hash: row.hash,
    })
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

fn read_events(
    tx: &mut dyn StoreTx,
    path: &Path,
    which: Events<'_>,
) -> Result<Vec<LedgerEvent>, LedgerError> {
    tx.events(which)?
        .into_iter()
        .map(|r| r.decode().map_err(|m| corrupt_at(path, &m)))
        .collect()
}

fn load_task(
    tx: &mut dyn StoreTx,
    path: &Path,
    task_ref: &str,
) -> Result<Option<TaskRecord>, LedgerError> {
    tx.task(task_ref)?
        .map(|t| decode_record(path, task_ref, &t))
        .transpose()
}

fn save_task(tx: &mut dyn StoreTx, path: &Path, rec: &TaskRecord) -> Result<(), LedgerError> {
    let text = serde_json::to_string(rec)
        .map_err(|e| corrupt_at(path, &format!("cannot encode task: {e}")))?;
    tx.save_task(&rec.task_ref, rec.state.as_str(), rec.version, &text)
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

/// A request with its provenance as the JSON the ledger records.
fn recorded<P: Serialize>(request: ActivationRequest<P>) -> Result<ActivationRequest, LedgerError> {
    request
        .recorded()
        .map_err(|e| LedgerError::Refused(not_json(&e)))
}

fn not_json(error: &serde_json::Error) -> Refusal {
    Refusal::InvalidRequest(format!("provenance is not JSON: {error}"))
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
