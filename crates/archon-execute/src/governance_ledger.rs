//! The execution stage's ledger port over the `archon-tasks` governance
//! ledger: the real adapter beside [`crate::ledger::MemoryLedger`]; both obey
//! one contract (`tests/ledger_contract.rs`), event names included.
//!
//! Every terminal outcome is a chained ledger event: `complete` is the
//! reported result, `blocked` and `escalated` are `execution_stopped` facts
//! (the task's state is left as the lifecycle has it). The execution lease is
//! a ledger fact too, so two `archon execute` of one task, in any processes,
//! cannot both run: the second is refused before anything runs. Start and
//! report are acts of the steward of the cluster the task is routed to (the
//! one that consented).

use archon_core::clock::Clock;
use archon_core::fan_out::Turn;
use archon_tasks::{
    EventBody, ExecutionStop, Ledger, LedgerError as TasksError, LedgerEvent, TaskResult,
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
}

impl<'t> GovernanceLedger<'t> {
    /// Opens the ledger at `path` with the cluster definitions that name each
    /// cluster's steward. `turn`: when several tasks execute side by side
    /// (`archon run`), each task's ledger writes wait for it, so the ledger
    /// reads the same whatever order the executions finish in.
    pub fn open(
        path: &std::path::Path,
        clusters: archon_tasks::ClusterRegistry,
        turn: Option<&'t Turn<'t>>,
    ) -> Result<GovernanceLedger<'t>, TasksError> {
        Ok(GovernanceLedger {
            ledger: Ledger::open(path)?.with_clusters(clusters),
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

/// The holder name of this process: `archon pid N on HOST`.
pub fn this_holder() -> String {
    format!("archon pid {} on {}", std::process::id(), host())
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// Whether a holder named by [`this_holder`] is known to be gone: same host, and
/// no process with its pid. A holder on another host is assumed alive.
fn holder_is_dead(holder: &str) -> bool {
    let Some((pid, on)) = holder
        .strip_prefix("archon pid ")
        .and_then(|rest| rest.split_once(" on "))
    else {
        return false;
    };
    on == host()
        && pid
            .parse::<i32>()
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            .is_some_and(|pid| rustix::process::test_kill_process(pid).is_err())
}

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
        // Within `archon run` the run owns its tasks (and its root's lock keeps
        // other writers out); a lease naming a pid would make its ledger differ
        // from run to run.
        if self.turn.is_some() {
            return Ok(Lease::Granted(LedgerEntry {
                event: LEASED.into(),
                at: clock.stamp(),
                detail: "held by the run".into(),
            }));
        }
        let current = |l: &Ledger| -> Result<Option<String>, LedgerError> {
            Ok(l.task(task_ref)
                .map_err(ledger_error)?
                .and_then(|t| t.execution_lease))
        };
        let replaces = match current(&self.ledger)? {
            Some(other) if other != holder && !holder_is_dead(&other) => {
                return Ok(Lease::HeldBy(other))
            }
            other => other.filter(|o| o != holder),
        };
        let transition = Transition::LeaseExecution {
            holder: holder.into(),
            replaces,
        };
        match self.move_task(task_ref, transition, holder, clock) {
            Ok(report) => Ok(Lease::Granted(entry(LEASED, &report, clock))),
            // Another process took it between our read and our write.
            Err(TasksError::Conflict { .. } | TasksError::Refused(_)) => {
                match current(&self.ledger)? {
                    Some(other) if other != holder => Ok(Lease::HeldBy(other)),
                    _ => Err(LedgerError(format!(
                        "task {task_ref}: the execution lease could not be taken"
                    ))),
                }
            }
            Err(e) => Err(ledger_error(e)),
        }
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
