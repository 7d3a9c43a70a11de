//! The current state of every task, as a fold of the event log. The ledger
//! stores this projection for fast reads and updates it with the same
//! [`apply`] in the same transaction as the events; `verify` replays the log
//! and compares.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cluster::Sensitivity;
use crate::coercion::{FilterOutcome, TaskContent};
use crate::event::{Cause, EventBody, Flag, Hold, LedgerEvent};
use crate::result::{RejectionCode, Settlement};
use crate::state::{check_transition, TaskState};

/// A task as it stands now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    pub task_ref: String,
    pub state: TaskState,
    /// The current activation (one per routing attempt).
    pub activation_id: String,
    pub attempt: u32,
    pub earl_id: String,
    /// The cluster the current activation is routed to.
    pub cluster_id: Option<String>,
    /// The text the cluster reads (after the coercion filter once it ran).
    pub content: TaskContent,
    pub required_tags: Vec<String>,
    pub sensitivity: Sensitivity,
    pub ttl_hours: u32,
    pub provenance: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<FilterOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold: Option<Hold>,
    pub routed_at: Option<String>,
    /// When an unanswered routing expires (routed_at + ttl).
    pub consent_deadline: Option<String>,
    pub last_activity_at: String,
    /// Clusters that declined or let the TTL pass: never routed to again.
    pub excluded_clusters: Vec<Exclusion>,
    pub results: Vec<ResultEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    pub flags: Vec<Flag>,
    /// The execution holding the task's lease, if one is running (or died holding it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_lease: Option<String>,
    pub history: Vec<HistoryEntry>,
    /// `seq` of the last event that changed this task.
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exclusion {
    pub cluster_id: String,
    pub activation_id: String,
    pub cause: Cause,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultStatus {
    Pending,
    Accepted,
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultEntry {
    pub result_id: String,
    pub cluster_id: String,
    pub status: String,
    pub submitted_at: String,
    pub failed_tests: Vec<String>,
    pub settlement: ResultStatus,
    /// `seq` of the event holding the full result artifact.
    pub seq: u64,
}

/// How a settled task ended. `completed` always carries one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Accepted { results: usize },
    Rejected { code: RejectionCode, reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub seq: u64,
    pub at: String,
    pub actor: String,
    pub activation_id: String,
    pub from: TaskState,
    pub to: TaskState,
    pub cause: Cause,
}

/// A log that cannot be folded: an event that contradicts the tasks so far.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {seq}: {message}")]
pub struct ReplayError {
    pub seq: u64,
    pub message: String,
}

impl TaskRecord {
    pub fn pending_results(&self) -> impl Iterator<Item = &ResultEntry> {
        self.results
            .iter()
            .filter(|r| r.settlement == ResultStatus::Pending)
    }

    /// Whether an inactivity flag was already raised for the current stretch of inactivity.
    pub fn flagged_since_last_activity(&self) -> bool {
        self.flags.iter().any(|f| match f {
            Flag::Inactive {
                last_activity_at, ..
            } => *last_activity_at == self.last_activity_at,
        })
    }
}

/// Folds a whole log into tasks.
pub fn replay(events: &[LedgerEvent]) -> Result<BTreeMap<String, TaskRecord>, ReplayError> {
    let mut tasks = BTreeMap::new();
    for ev in events {
        let current = tasks.remove(&ev.task_ref);
        if let Some(rec) = apply(current, ev)? {
            tasks.insert(ev.task_ref.clone(), rec);
        }
    }
    Ok(tasks)
}

/// Applies one event to one task (`None`: the task does not exist yet).
pub fn apply(
    record: Option<TaskRecord>,
    ev: &LedgerEvent,
) -> Result<Option<TaskRecord>, ReplayError> {
    let fail = |message: String| ReplayError {
        seq: ev.seq,
        message,
    };
    if !ev.body.is_fact() {
        return Ok(record);
    }
    if let EventBody::ActivationOpened {
        activation_id,
        attempt,
        earl_id,
        content,
        required_tags,
        sensitivity,
        ttl_hours,
        provenance,
        ..
    } = &ev.body
    {
        let mut rec = match record {
            None if *attempt == 1 => new_record(ev),
            None => {
                return Err(fail(format!(
                    "attempt {attempt} of unknown task {}",
                    ev.task_ref
                )))
            }
            // The earlier activation ended (a declined one can still be halted).
            Some(rec)
                if rec.attempt + 1 == *attempt
                    && (rec.state == TaskState::Declined
                        || rec.state.allowed_next().is_empty()) =>
            {
                rec
            }
            Some(rec) => {
                return Err(fail(format!(
                    "task {}: new activation while activation {} is {}",
                    ev.task_ref, rec.activation_id, rec.state
                )))
            }
        };
        rec.state = TaskState::Authorized;
        rec.activation_id = activation_id.clone();
        rec.attempt = *attempt;
        rec.earl_id = earl_id.clone();
        rec.cluster_id = None;
        rec.content = content.clone();
        rec.required_tags = required_tags.clone();
        rec.sensitivity = *sensitivity;
        rec.ttl_hours = *ttl_hours;
        rec.provenance = provenance.clone();
        rec.hold = None;
        rec.routed_at = None;
        rec.consent_deadline = None;
        rec.last_activity_at = ev.at.clone();
        rec.version = ev.seq;
        return Ok(Some(rec));
    }
    let mut rec = record.ok_or_else(|| fail(format!("unknown task {}", ev.task_ref)))?;
    rec.version = ev.seq;
    match &ev.body {
        EventBody::StateChanged {
            activation_id,
            from,
            to,
            cause,
            cluster_id,
            ..
        } => {
            if *activation_id != rec.activation_id || *from != rec.state {
                return Err(fail(format!(
                    "task {}: change {from} -> {to} of activation {activation_id}, but activation {} is {}",
                    ev.task_ref, rec.activation_id, rec.state
                )));
            }
            check_transition(&ev.task_ref, *from, *to).map_err(|e| fail(e.to_string()))?;
            rec.state = *to;
            rec.last_activity_at = ev.at.clone();
            // A hold explains why a state is resting; any move ends it (a new
            // hold, if any, follows as its own fact).
            rec.hold = None;
            match to {
                TaskState::Routed => {
                    let cluster = cluster_id
                        .clone()
                        .ok_or_else(|| fail("routed without a cluster_id".to_string()))?;
                    rec.cluster_id = Some(cluster);
                    rec.routed_at = Some(ev.at.clone());
                    rec.consent_deadline = Some(add_hours(&ev.at, rec.ttl_hours).map_err(fail)?);
                }
                TaskState::Declined => {
                    if let Some(c) = &rec.cluster_id {
                        rec.excluded_clusters.push(Exclusion {
                            cluster_id: c.clone(),
                            activation_id: activation_id.clone(),
                            cause: *cause,
                        });
                    }
                }
                _ => {}
            }
            rec.history.push(HistoryEntry {
                seq: ev.seq,
                at: ev.at.clone(),
                actor: ev.actor.clone(),
                activation_id: activation_id.clone(),
                from: *from,
                to: *to,
                cause: *cause,
            });
        }
        EventBody::FilterApplied { outcome } => {
            if let FilterOutcome::Accepted { content, .. } = outcome {
                rec.content = content.clone();
            }
            rec.filter = Some(outcome.clone());
        }
        EventBody::Held { hold } => rec.hold = Some(hold.clone()),
        EventBody::ResultReported { result } => {
            if !matches!(rec.state, TaskState::Reported | TaskState::InProgress) {
                return Err(fail(format!(
                    "task {}: result while {}",
                    ev.task_ref, rec.state
                )));
            }
            rec.results.push(ResultEntry {
                result_id: result.result_id.clone(),
                cluster_id: result.cluster_id.clone(),
                status: result.status.clone(),
                submitted_at: result.submitted_at.clone(),
                failed_tests: result
                    .failed_tests()
                    .iter()
                    .map(|t| t.to_string())
                    .collect(),
                settlement: ResultStatus::Pending,
                seq: ev.seq,
            });
            rec.last_activity_at = ev.at.clone();
        }
        EventBody::Settled {
            settlement,
            result_ids,
        } => {
            let status = match settlement {
                Settlement::Accept => ResultStatus::Accepted,
                Settlement::Reject { .. } => ResultStatus::Rejected,
            };
            for r in rec
                .results
                .iter_mut()
                .filter(|r| result_ids.contains(&r.result_id))
            {
                r.settlement = status.clone();
            }
            rec.verdict = Some(match settlement {
                Settlement::Accept => Verdict::Accepted {
                    results: result_ids.len(),
                },
                Settlement::Reject { code, reason } => Verdict::Rejected {
                    code: *code,
                    reason: reason.clone(),
                },
            });
        }
        EventBody::Flagged { flag } => rec.flags.push(flag.clone()),
        EventBody::ExecutionLeased { holder, .. } => rec.execution_lease = Some(holder.clone()),
        EventBody::ExecutionReleased { .. } => rec.execution_lease = None,
        EventBody::ExecutionStopped { .. } => rec.last_activity_at = ev.at.clone(),
        EventBody::Intent { .. }
        | EventBody::Committed
        | EventBody::Failed { .. }
        | EventBody::ActivationOpened { .. } => {}
    }
    Ok(Some(rec))
}

fn new_record(ev: &LedgerEvent) -> TaskRecord {
    TaskRecord {
        task_ref: ev.task_ref.clone(),
        state: TaskState::Authorized,
        activation_id: String::new(),
        attempt: 0,
        earl_id: String::new(),
        cluster_id: None,
        content: TaskContent {
            description: String::new(),
            requirements: vec![],
            expected_outcomes: vec![],
        },
        required_tags: vec![],
        sensitivity: Sensitivity::Standard,
        ttl_hours: 0,
        provenance: Value::Null,
        filter: None,
        hold: None,
        routed_at: None,
        consent_deadline: None,
        last_activity_at: ev.at.clone(),
        excluded_clusters: vec![],
        results: vec![],
        verdict: None,
        flags: vec![],
        execution_lease: None,
        history: vec![],
        version: ev.seq,
    }
}

/// Parses a ledger time stamp.
pub fn parse_time(stamp: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(stamp)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("bad time {stamp:?}: {e}"))
}

fn add_hours(stamp: &str, hours: u32) -> Result<String, String> {
    Ok(archon_core::clock::stamp(
        parse_time(stamp)? + Duration::hours(i64::from(hours)),
    ))
}
