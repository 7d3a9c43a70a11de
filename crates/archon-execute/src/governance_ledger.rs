//! The execution stage's ledger port over the `archon-tasks` governance
//! ledger: the real adapter beside [`crate::ledger::MemoryLedger`]; both obey
//! one contract (`tests/ledger_contract.rs`), event names included.
//!
//! Every terminal outcome is a chained ledger event: `complete` is the
//! reported result, `blocked` and `escalated` are `execution_stopped` facts
//! (the task's state is left as the lifecycle has it). Start and report are
//! acts of the steward of the cluster the task is routed to (the one that
//! consented).
//!
//! The execution lease has two parts. Exclusion and liveness are the OS's: the
//! execution holds a [`FolderLock`] on `<ledger>-leases/<TASK>/` while it runs,
//! its note naming the process (`archon pid N on HOST`) for the refusal a
//! second execution gets before it runs anything; the kernel drops the lock
//! with a killed process, so its lease is taken over. The record is the
//! ledger's: `execution_leased` / `execution_released` facts naming a holder
//! derived from the task and the run ([`lease_holder`]), never a pid, a host or
//! a time, so two identical executions write identical ledgers. Only ledger
//! files are leased: the lock must live where every writer of the ledger can
//! see it (one machine); a PostgreSQL ledger's writers may be anywhere.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use archon_core::clock::Clock;
use archon_core::fan_out::Turn;
use archon_core::ids::safe_component;
use archon_core::seed::Seed;
use archon_store::lock::{self, FolderLock, LockError};
use archon_store::LedgerHead;
use archon_tasks::{
    EventBody, ExecutionStop, Ledger, LedgerError as TasksError, LedgerEvent, Location, TaskResult,
    Transition, TransitionReport,
};

use crate::ledger::{
    self, Lease, LedgerEntry, LedgerError, LedgerTask, Move, Stop, TaskLedger, LEASED, RELEASED,
};
use crate::report::Blocker;

/// The governance ledger as the execution stage's port.
pub struct GovernanceLedger<'t> {
    ledger: Ledger,
    turn: Option<&'t Turn<'t>>,
    /// Where the execution leases' locks are (`None` for a database URL).
    lease_root: Option<PathBuf>,
    /// The locks of the leases this adapter holds, by task.
    held: BTreeMap<String, FolderLock>,
}

impl<'t> GovernanceLedger<'t> {
    /// Opens the ledger at `path` with the cluster definitions that name each
    /// cluster's steward. `turn`: when several tasks execute side by side
    /// (`archon run`), each task's ledger writes wait for it, so the ledger
    /// reads the same whatever order the executions finish in.
    pub fn open(
        path: &Path,
        clusters: archon_tasks::ClusterRegistry,
        turn: Option<&'t Turn<'t>>,
    ) -> Result<GovernanceLedger<'t>, TasksError> {
        let ledger = Ledger::open(path)?.with_clusters(clusters);
        Ok(GovernanceLedger {
            lease_root: lease_root(path),
            ledger,
            turn,
            held: BTreeMap::new(),
        })
    }

    /// The execution works for the cluster that consented: the ledger takes its
    /// start and report as acts of that cluster's steward (and refuses them,
    /// naming the cluster, when the task is routed elsewhere or nowhere).
    fn steward_of(&self, task_ref: &str) -> Result<String, LedgerError> {
        let task = self.ledger.task(task_ref).map_err(ledger_error)?;
        Ok(task
            .and_then(|t| self.ledger.steward_of(&t))
            .unwrap_or_else(|| crate::execute::EXECUTION_LEAD.to_string()))
    }

    /// Before every write: wait for the earlier tasks run side by side.
    fn wait_turn(&self) {
        if let Some(turn) = self.turn {
            turn.wait();
        }
    }

    /// After an execution's last ordered write (its result or its stop).
    fn pass_turn(&self) {
        if let Some(turn) = self.turn {
            turn.pass();
        }
    }

    fn move_task(
        &mut self,
        task_ref: &str,
        transition: Transition,
        actor: &str,
        clock: &Clock,
    ) -> Result<TransitionReport, TasksError> {
        self.ledger.transition(task_ref, transition, actor, clock)
    }
}

/// The holder an execution's lease records: the task and the run's seed, so
/// that the same execution, repeated or resumed, records the same holder.
pub fn lease_holder(task_ref: &str, seed: Seed) -> String {
    format!("archon execute {task_ref} (seed {})", seed.0)
}

/// The folder of a ledger file's lease locks, `<ledger>-leases` (beside it,
/// like its writers' lock); the ledger's real path, so every name of it
/// finds the same locks.
fn lease_root(ledger: &Path) -> Option<PathBuf> {
    let Location::File(file) = Location::parse(ledger) else {
        return None;
    };
    let file = std::fs::canonicalize(&file).unwrap_or(file);
    let mut name = file.into_os_string();
    name.push("-leases");
    Some(PathBuf::from(name))
}

/// The file of a lease's folder naming the process that holds it.
const LEASE_NOTE: &str = "holder";

fn ledger_error(e: impl std::fmt::Display) -> LedgerError {
    LedgerError(e.to_string())
}

/// The entry of a ledger move, named `event` (the names both adapters write).
fn entry(event: &str, report: &TransitionReport, clock: &Clock) -> LedgerEntry {
    let moved = if report.before == report.after {
        format!("state {} unchanged", report.before)
    } else {
        format!("{} -> {}", report.before, report.after)
    };
    LedgerEntry {
        event: event.to_string(),
        at: clock.stamp(),
        detail: format!("{moved}: {}", report.lines().join("; ")),
    }
}

impl TaskLedger for GovernanceLedger<'_> {
    fn load_task(&self, task_ref: &str) -> Result<Option<LedgerTask>, LedgerError> {
        let Some(rec) = self.ledger.task(task_ref).map_err(ledger_error)? else {
            return Ok(None);
        };
        Ok(Some(LedgerTask {
            task_ref: rec.task_ref,
            state: rec.state,
            activation_id: Some(rec.activation_id).filter(|a| !a.is_empty()),
            cluster_id: rec.cluster_id,
            description: Some(rec.content.description),
            requirements: rec.content.requirements,
            expected_outcomes: rec.content.expected_outcomes,
        }))
    }

    fn take_lease(
        &mut self,
        task_ref: &str,
        holder: &str,
        clock: &Clock,
    ) -> Result<Lease, LedgerError> {
        // Within `archon run` the run owns its tasks: its root's lock keeps
        // other writers out, and its ledger records no lease.
        if self.turn.is_some() {
            return Ok(Lease::Granted(LedgerEntry {
                event: LEASED.into(),
                at: clock.stamp(),
                detail: "held by the run".into(),
            }));
        }
        let Some(root) = &self.lease_root else {
            return Err(LedgerError(format!(
                "task {task_ref}: execution leases need a ledger file, not a database URL"
            )));
        };
        // The task ref names the lock's folder.
        safe_component(task_ref, "task", "$.task_ref").map_err(ledger_error)?;
        let dir = root.join(task_ref);
        let held = match FolderLock::acquire(&dir, &dir.join(LEASE_NOTE), &lock::this_process()) {
            Ok(held) => held,
            Err(LockError::Held(by)) => {
                return Ok(Lease::HeldBy(
                    by.unwrap_or_else(|| "another process".into()),
                ))
            }
            Err(e) => return Err(ledger_error(e)),
        };
        // The lock is ours: a lease the ledger still records is a dead
        // execution's. The same holder resumes it as it stands, so a resumed
        // execution writes the ledger an uninterrupted one does.
        let current = self
            .ledger
            .task(task_ref)
            .map_err(ledger_error)?
            .and_then(|t| t.execution_lease);
        let entry = match current {
            Some(current) if current == holder => LedgerEntry {
                event: LEASED.into(),
                at: clock.stamp(),
                detail: format!("execution lease held by {holder}"),
            },
            replaces => {
                let transition = Transition::LeaseExecution {
                    holder: holder.into(),
                    replaces,
                };
                let report = self
                    .move_task(task_ref, transition, holder, clock)
                    .map_err(ledger_error)?;
                entry(LEASED, &report, clock)
            }
        };
        self.held.insert(task_ref.to_string(), held);
        Ok(Lease::Granted(entry))
    }

    fn release_lease(
        &mut self,
        task_ref: &str,
        holder: &str,
        clock: &Clock,
    ) -> Result<LedgerEntry, LedgerError> {
        if self.turn.is_some() {
            return Ok(LedgerEntry {
                event: RELEASED.into(),
                at: clock.stamp(),
                detail: "held by the run".into(),
            });
        }
        let transition = Transition::ReleaseExecution {
            holder: holder.into(),
        };
        let report = self
            .move_task(task_ref, transition, holder, clock)
            .map_err(ledger_error)?;
        // Unlocked once the ledger says so: no other execution starts before.
        self.held.remove(task_ref);
        Ok(entry(RELEASED, &report, clock))
    }

    fn mark_in_progress(
        &mut self,
        task_ref: &str,
        _actor: &str,
        clock: &Clock,
    ) -> Result<LedgerEntry, LedgerError> {
        self.wait_turn();
        let steward = self.steward_of(task_ref)?;
        let report = self
            .move_task(task_ref, Transition::Start, &steward, clock)
            .map_err(ledger_error)?;
        Ok(entry(ledger::STARTED, &report, clock))
    }

    fn earlier_entry(
        &self,
        task_ref: &str,
        step: Move,
    ) -> Result<Option<LedgerEntry>, LedgerError> {
        let (name, event, moved) = match step {
            Move::Start => ("start", ledger::STARTED, "accepted -> in_progress"),
            Move::Report => ("report", ledger::REPORTED, "in_progress -> reported"),
        };
        let events = self.ledger.events().map_err(ledger_error)?;
        // The last committed move of this task: its intent, facts and commit share an op_seq.
        let Some(op_seq) = events
            .iter()
            .rev()
            .filter(|e| e.task_ref == task_ref)
            .find(|e| matches!(&e.body, EventBody::Intent { op, .. } if op == name))
            .map(|e| e.op_seq)
        else {
            return Ok(None);
        };
        let group: Vec<&LedgerEvent> = events.iter().filter(|e| e.op_seq == op_seq).collect();
        if !group.iter().any(|e| matches!(e.body, EventBody::Committed)) {
            return Ok(None);
        }
        let facts: Vec<String> = group
            .iter()
            .filter(|e| e.body.is_fact())
            .map(|e| e.body.describe())
            .collect();
        let at = group.last().map(|e| e.at.clone()).unwrap_or_default();
        Ok(Some(LedgerEntry {
            event: event.to_string(),
            at,
            detail: format!("{moved}: {}", facts.join("; ")),
        }))
    }

    fn outcome_head(&self, task_ref: &str) -> Result<Option<LedgerHead>, LedgerError> {
        // `Transition::name` of `Report` and `RecordExecution`.
        self.ledger
            .last_commit(task_ref, &["report", "record_execution"])
            .map_err(ledger_error)
    }

    fn report_result(
        &mut self,
        task_ref: &str,
        result: &TaskResult,
        clock: &Clock,
    ) -> Result<LedgerEntry, LedgerError> {
        self.wait_turn();
        let steward = self.steward_of(task_ref)?;
        let report = self
            .move_task(
                task_ref,
                Transition::Report {
                    result: Box::new(result.clone()),
                },
                &steward,
                clock,
            )
            .map_err(ledger_error)?;
        self.pass_turn();
        Ok(entry(ledger::REPORTED, &report, clock))
    }

    fn record_stop(
        &mut self,
        task_ref: &str,
        stop: Stop,
        blockers: &[Blocker],
        actor: &str,
        clock: &Clock,
    ) -> Result<LedgerEntry, LedgerError> {
        let mut owners: Vec<String> = blockers.iter().map(|b| b.owner.clone()).collect();
        owners.dedup();
        let event = ledger::stop_event(stop);
        let stop = ExecutionStop {
            outcome: match stop {
                Stop::Blocked => "blocked",
                Stop::Escalated => "escalated",
            }
            .into(),
            owners,
            blockers: blockers.iter().map(|b| b.detail.clone()).collect(),
        };
        self.wait_turn();
        let report = self
            .move_task(task_ref, Transition::RecordExecution { stop }, actor, clock)
            .map_err(ledger_error)?;
        self.pass_turn();
        Ok(LedgerEntry {
            event: event.to_string(),
            at: clock.stamp(),
            detail: ledger::stop_detail(report.before, blockers, actor),
        })
    }
}
