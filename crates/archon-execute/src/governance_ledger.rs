//! The execution stage's ledger port over the `archon-tasks` governance
//! ledger: the real adapter beside [`crate::ledger::MemoryLedger`]; both obey
//! one contract (`tests/ledger_contract.rs`), event names included.
//!
//! That ledger has no event for an execution that stops short (blocked or
//! escalated), so those are appended as [`StopRecord`]s to a JSONL file beside
//! it, and the task's state is left as the lifecycle has it.

use std::path::{Path, PathBuf};

use archon_core::clock::Clock;
use archon_core::fan_out::Turn;
use archon_store::EventLog;
use archon_tasks::{EventBody, Ledger, LedgerEvent, Transition, TransitionReport};
use serde::{Deserialize, Serialize};

use crate::ledger::{self, LedgerEntry, LedgerError, LedgerTask, Move, Stop, TaskLedger};
use crate::report::Blocker;
use crate::task_result::TaskResult;

/// One line of the stop log: an execution that ended blocked or escalated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StopRecord {
    pub schema_version: String,
    pub task_ref: String,
    pub outcome: Stop,
    /// The task's state, unchanged by the stop.
    pub state: String,
    pub blockers: Vec<Blocker>,
    pub actor: String,
    pub at: String,
}

pub struct GovernanceLedger<'t> {
    ledger: Ledger,
    stops: PathBuf,
    turn: Option<&'t Turn<'t>>,
}

impl<'t> GovernanceLedger<'t> {
    /// Opens the ledger at `path` with the cluster definitions that name each
    /// cluster's steward, with stops appended to `stops`. With a `turn`, every
    /// write waits for the earlier items run side by side.
    pub fn open(
        path: &Path,
        clusters: archon_tasks::ClusterRegistry,
        stops: PathBuf,
        turn: Option<&'t Turn<'t>>,
    ) -> Result<GovernanceLedger<'t>, archon_tasks::LedgerError> {
        Ok(GovernanceLedger {
            ledger: Ledger::open(path)?.with_clusters(clusters),
            stops,
            turn,
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

    /// After an execution's last write (its report, or its stop): later tasks
    /// may write while this one finishes its report files.
    fn pass_turn(&self) {
        if let Some(turn) = self.turn {
            turn.pass();
        }
    }
}

fn ledger_error(e: impl std::fmt::Display) -> LedgerError {
    LedgerError(e.to_string())
}

fn entry(event: &str, report: &TransitionReport, clock: &Clock) -> LedgerEntry {
    LedgerEntry {
        event: event.to_string(),
        at: clock.stamp(),
        detail: format!(
            "{} -> {}: {}",
            report.before,
            report.after,
            report.lines().join("; ")
        ),
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

    fn mark_in_progress(
        &mut self,
        task_ref: &str,
        _actor: &str,
        clock: &Clock,
    ) -> Result<LedgerEntry, LedgerError> {
        self.wait_turn();
        let steward = self.steward_of(task_ref)?;
        let report = self
            .ledger
            .transition(task_ref, Transition::Start, &steward, clock)
            .map_err(ledger_error)?;
        Ok(entry(ledger::STARTED, &report, clock))
    }

    fn earlier_entry(
        &self,
        task_ref: &str,
        step: Move,
    ) -> Result<Option<LedgerEntry>, LedgerError> {
        let (op, event, moved) = match step {
            Move::Start => ("start", ledger::STARTED, "accepted -> in_progress"),
            Move::Report => ("report", ledger::REPORTED, "in_progress -> reported"),
        };
        let events = self.ledger.events().map_err(ledger_error)?;
        // The last committed move of this task: its intent, facts and commit share an op_seq.
        let Some(op_seq) = events
            .iter()
            .rev()
            .filter(|e| e.task_ref == task_ref)
            .find(|e| matches!(&e.body, EventBody::Intent { op: o, .. } if o == op))
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

    fn report_result(
        &mut self,
        task_ref: &str,
        result: &TaskResult,
        clock: &Clock,
    ) -> Result<LedgerEntry, LedgerError> {
        // The two crates' result types are one contract: the ledger checks it.
        let value = serde_json::to_value(result).map_err(ledger_error)?;
        let result = archon_tasks::TaskResult::from_json("execution result", &value)
            .map_err(ledger_error)?;
        self.wait_turn();
        let steward = self.steward_of(task_ref)?;
        let report = self
            .ledger
            .transition(
                task_ref,
                Transition::Report {
                    result: Box::new(result),
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
        self.wait_turn();
        let state = self
            .ledger
            .task(task_ref)
            .map_err(ledger_error)?
            .map(|t| t.state)
            .ok_or_else(|| LedgerError(format!("unknown task {task_ref}")))?;
        let record = StopRecord {
            schema_version: archon_core::SCHEMA_VERSION.to_string(),
            task_ref: task_ref.to_string(),
            outcome: stop,
            state: state.to_string(),
            blockers: blockers.to_vec(),
            actor: actor.to_string(),
            at: clock.stamp(),
        };
        EventLog::open(&self.stops)
            .and_then(|mut log| log.append(&record))
            .map_err(ledger_error)?;
        self.pass_turn();
        Ok(LedgerEntry {
            event: ledger::stop_event(stop).to_string(),
            at: record.at,
            detail: ledger::stop_detail(state, blockers, actor),
        })
    }
}
