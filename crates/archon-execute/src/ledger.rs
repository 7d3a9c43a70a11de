//! What the execution stage needs from the governance ledger, as a port: load a
//! task, take and give back its execution lease, start it, report a result,
//! record a blocked or escalated outcome.
//! [`crate::governance_ledger::GovernanceLedger`] implements it over the
//! `archon-tasks` ledger (every outcome a chained event); [`MemoryLedger`]
//! implements it in memory with the lifecycle's rules, for tests. Both write
//! the same entries (the event names below), one contract test suite runs
//! against both.

use std::collections::BTreeMap;

use archon_core::clock::Clock;
use archon_core::seed::sha256_hex;
use archon_store::LedgerHead;
use serde::{Deserialize, Serialize};

use crate::report::Blocker;
use archon_artifacts::TaskResult;

/// The task lifecycle's states, shared with the governance ledger.
pub use archon_core::task_state::TaskState;

/// A task as the ledger knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerTask {
    pub task_ref: String,
    pub state: TaskState,
    pub activation_id: Option<String>,
    pub cluster_id: Option<String>,
    pub description: Option<String>,
    pub requirements: Vec<String>,
    pub expected_outcomes: Vec<String>,
}

/// One event the ledger recorded for this execution (for the report's Event Ledger).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub event: String,
    pub at: String,
    pub detail: String,
}

/// The lifecycle moves execution makes, for [`TaskLedger::earlier_entry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// accepted → in_progress
    Start,
    /// in_progress → reported
    Report,
}

/// The entry of accepted → in_progress.
pub const STARTED: &str = "task.started";
/// The entry of in_progress → reported.
pub const REPORTED: &str = "task.reported";

/// The entry of a taken execution lease.
pub const LEASED: &str = "task.lease_execution";
/// The entry of a given-back execution lease.
pub const RELEASED: &str = "task.release_execution";

/// The entry of a stopped execution (an `execution_stopped` ledger event).
pub fn stop_event(stop: Stop) -> &'static str {
    match stop {
        Stop::Blocked => "task.execution_blocked",
        Stop::Escalated => "task.execution_escalated",
    }
}

/// The detail of a stopped execution's entry.
pub fn stop_detail(state: TaskState, blockers: &[Blocker], actor: &str) -> String {
    let owners: Vec<&str> = blockers.iter().map(|b| b.owner.as_str()).collect();
    format!(
        "state {} unchanged; owner {}; by {actor}",
        state.as_str(),
        owners.join(", ")
    )
}

/// A blocked or escalated outcome as recorded in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    Blocked,
    Escalated,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("governance ledger: {0}")]
pub struct LedgerError(pub String);

/// The answer to a lease request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lease {
    Granted(LedgerEntry),
    /// Another execution, still running, holds the task.
    HeldBy(String),
}

/// The governance ledger operations of the execution stage.
pub trait TaskLedger {
    fn load_task(&self, task_ref: &str) -> Result<Option<LedgerTask>, LedgerError>;
    /// Takes the task's execution lease for `holder`, before anything runs; a
    /// lease whose holder is no longer running is taken over.
    fn take_lease(
        &mut self,
        task_ref: &str,
        holder: &str,
        clock: &Clock,
    ) -> Result<Lease, LedgerError>;
    /// Gives the lease back once the outcome is published.
    fn release_lease(
        &mut self,
        task_ref: &str,
        holder: &str,
        clock: &Clock,
    ) -> Result<LedgerEntry, LedgerError>;
    /// accepted → in_progress.
    fn mark_in_progress(
        &mut self,
        task_ref: &str,
        actor: &str,
        clock: &Clock,
    ) -> Result<LedgerEntry, LedgerError>;
    /// The entry of a move an earlier invocation (interrupted, or repeated by the
    /// caller) already made: `Move::Start` or `Move::Report`. The report's Event
    /// Ledger then reads the same as if this invocation had made it.
    fn earlier_entry(&self, task_ref: &str, step: Move)
        -> Result<Option<LedgerEntry>, LedgerError>;
    /// The ledger event that holds the task's last execution outcome (its
    /// reported result or its recorded stop), `None` before any: the anchor of
    /// the execution's manifest. Not the ledger's head: tasks executed side by
    /// side write meanwhile, and a re-verified task's outcome is the earlier one.
    fn outcome_head(&self, task_ref: &str) -> Result<Option<LedgerHead>, LedgerError>;
    /// in_progress → reported, with the result artifact.
    fn report_result(
        &mut self,
        task_ref: &str,
        result: &TaskResult,
        clock: &Clock,
    ) -> Result<LedgerEntry, LedgerError>;
    /// Records a blocked or escalated outcome with its ownership; the state is unchanged
    /// (the lifecycle has no blocked state: the task stays in progress for the caller's retry).
    fn record_stop(
        &mut self,
        task_ref: &str,
        stop: Stop,
        blockers: &[Blocker],
        actor: &str,
        clock: &Clock,
    ) -> Result<LedgerEntry, LedgerError>;
}

/// An in-memory ledger that enforces the transitions execution uses.
#[derive(Debug, Default, Clone)]
pub struct MemoryLedger {
    pub tasks: BTreeMap<String, LedgerTask>,
    /// (task_ref, entry) in the order recorded.
    pub events: Vec<(String, LedgerEntry)>,
    pub results: Vec<TaskResult>,
    /// task_ref → holder of its execution lease (kept apart from `events`, the
    /// lifecycle's record).
    pub leases: BTreeMap<String, String>,
}

impl MemoryLedger {
    pub fn with_task(task: LedgerTask) -> MemoryLedger {
        let mut ledger = MemoryLedger::default();
        ledger.tasks.insert(task.task_ref.clone(), task);
        ledger
    }

    fn move_task(
        &mut self,
        task_ref: &str,
        from: TaskState,
        to: TaskState,
    ) -> Result<(), LedgerError> {
        let task = self
            .tasks
            .get_mut(task_ref)
            .ok_or_else(|| LedgerError(format!("unknown task {task_ref}")))?;
        if task.state != from {
            return Err(LedgerError(format!(
                "task {task_ref} is {}, not {} (allowed: {} -> {})",
                task.state.as_str(),
                from.as_str(),
                from.as_str(),
                to.as_str()
            )));
        }
        task.state = to;
        Ok(())
    }

    fn push(&mut self, task_ref: &str, event: &str, clock: &Clock, detail: String) -> LedgerEntry {
        let entry = LedgerEntry {
            event: event.to_string(),
            at: clock.stamp(),
            detail,
        };
        self.events.push((task_ref.to_string(), entry.clone()));
        entry
    }
}

impl TaskLedger for MemoryLedger {
    fn load_task(&self, task_ref: &str) -> Result<Option<LedgerTask>, LedgerError> {
        Ok(self.tasks.get(task_ref).cloned())
    }

    fn take_lease(
        &mut self,
        task_ref: &str,
        holder: &str,
        clock: &Clock,
    ) -> Result<Lease, LedgerError> {
        if !self.tasks.contains_key(task_ref) {
            return Err(LedgerError(format!("unknown task {task_ref}")));
        }
        match self.leases.get(task_ref) {
            Some(current) if current != holder => Ok(Lease::HeldBy(current.clone())),
            _ => {
                self.leases.insert(task_ref.into(), holder.into());
                Ok(Lease::Granted(LedgerEntry {
                    event: LEASED.into(),
                    at: clock.stamp(),
                    detail: format!("execution lease taken by {holder}"),
                }))
            }
        }
    }

    fn release_lease(
        &mut self,
        task_ref: &str,
        holder: &str,
        clock: &Clock,
    ) -> Result<LedgerEntry, LedgerError> {
        match self.leases.get(task_ref) {
            Some(current) if current == holder => {
                self.leases.remove(task_ref);
                Ok(LedgerEntry {
                    event: RELEASED.into(),
                    at: clock.stamp(),
                    detail: format!("execution lease released by {holder}"),
                })
            }
            other => Err(LedgerError(format!(
                "{holder} does not hold the lease of {task_ref} (held by {other:?})"
            ))),
        }
    }

    fn mark_in_progress(
        &mut self,
        task_ref: &str,
        actor: &str,
        clock: &Clock,
    ) -> Result<LedgerEntry, LedgerError> {
        self.move_task(task_ref, TaskState::Accepted, TaskState::InProgress)?;
        Ok(self.push(
            task_ref,
            STARTED,
            clock,
            format!("accepted -> in_progress by {actor}"),
        ))
    }

    fn earlier_entry(
        &self,
        task_ref: &str,
        step: Move,
    ) -> Result<Option<LedgerEntry>, LedgerError> {
        let name = match step {
            Move::Start => STARTED,
            Move::Report => REPORTED,
        };
        Ok(self
            .events
            .iter()
            .rev()
            .find(|(t, e)| t == task_ref && e.event == name)
            .map(|(_, e)| e.clone()))
    }

    /// Entries stand for events: the seq is the entry's position (from 1),
    /// the hash its JSON's sha256.
    fn outcome_head(&self, task_ref: &str) -> Result<Option<LedgerHead>, LedgerError> {
        let is_outcome = |e: &LedgerEntry| {
            e.event == REPORTED
                || [Stop::Blocked, Stop::Escalated]
                    .map(stop_event)
                    .contains(&e.event.as_str())
        };
        Ok(self
            .events
            .iter()
            .enumerate()
            .rev()
            .find(|(_, (t, e))| t == task_ref && is_outcome(e))
            .map(|(i, (_, e))| LedgerHead {
                seq: i as u64 + 1,
                hash: sha256_hex(serde_json::to_vec(e).unwrap_or_default()),
            }))
    }

    fn report_result(
        &mut self,
        task_ref: &str,
        result: &TaskResult,
        clock: &Clock,
    ) -> Result<LedgerEntry, LedgerError> {
        self.move_task(task_ref, TaskState::InProgress, TaskState::Reported)?;
        self.results.push(result.clone());
        Ok(self.push(
            task_ref,
            REPORTED,
            clock,
            format!("in_progress -> reported, result {}", result.result_id),
        ))
    }

    fn record_stop(
        &mut self,
        task_ref: &str,
        stop: Stop,
        blockers: &[Blocker],
        actor: &str,
        clock: &Clock,
    ) -> Result<LedgerEntry, LedgerError> {
        let state = self
            .tasks
            .get(task_ref)
            .map(|t| t.state)
            .ok_or_else(|| LedgerError(format!("unknown task {task_ref}")))?;
        // The lifecycle records these only for a task being executed.
        if !state.is_executable() {
            return Err(LedgerError(format!(
                "task {task_ref} is {}: no execution outcome to record",
                state.as_str()
            )));
        }
        Ok(self.push(
            task_ref,
            stop_event(stop),
            clock,
            stop_detail(state, blockers, actor),
        ))
    }
}
