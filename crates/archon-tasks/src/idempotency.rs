//! Writes a client may send again (an HTTP `Idempotency-Key`, a retried CLI
//! call): the key travels in the operation's intent, so it is hash-chained and
//! written in the same transaction as the intent, and the first call's report
//! can be rebuilt from the log alone.
//!
//! A keyed write looks for the intents of the same actor under the same key:
//! - one of them committed: the write is a replay; nothing is written and the
//!   report of that operation is rebuilt from its events;
//! - one came with another request digest: [`crate::LedgerError::KeyReused`];
//! - none committed (none at all, only failed ones, or one left open by a
//!   crash): the write runs as a new attempt, and an orphan left by the same
//!   request is adopted as any orphan is (see [`crate::ledger`]).

use crate::event::{EventBody, LedgerEvent, RequestRef};
use crate::ledger::TransitionReport;
use crate::projection::{apply, ReplayError, TaskRecord};
use crate::state::TaskState;

/// A write a client may send again (HTTP `Idempotency-Key`): the key is the
/// client's, scoped to the actor; `request_sha256` is the digest of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestKey<'a> {
    pub key: &'a str,
    pub request_sha256: &'a str,
}

impl RequestKey<'_> {
    pub(crate) fn to_ref(self) -> RequestRef {
        RequestRef {
            key: self.key.to_string(),
            request_sha256: self.request_sha256.to_string(),
        }
    }
}

/// What a keyed write did: applied now, or found applied by an earlier call
/// with the same key (and nothing written).
#[derive(Debug, Clone, PartialEq)]
pub enum Applied<T> {
    New(T),
    Replayed(T),
}

impl<T> Applied<T> {
    pub fn into_inner(self) -> T {
        match self {
            Applied::New(t) | Applied::Replayed(t) => t,
        }
    }

    pub fn get(&self) -> &T {
        match self {
            Applied::New(t) | Applied::Replayed(t) => t,
        }
    }

    pub fn is_replayed(&self) -> bool {
        matches!(self, Applied::Replayed(_))
    }
}

/// The request an intent event was written under, if any.
pub(crate) fn request_of(ev: &LedgerEvent) -> Option<&RequestRef> {
    match &ev.body {
        EventBody::Intent { request, .. } => request.as_ref(),
        _ => None,
    }
}

/// The report of the committed operation of intent `intent_seq`, rebuilt
/// from `task_events` (every event of its task, in log order): the same report
/// the call that made it returned.
pub(crate) fn rebuild_report(
    task_events: &[LedgerEvent],
    intent_seq: u64,
) -> Result<TransitionReport, ReplayError> {
    let missing = |message: String| ReplayError {
        seq: intent_seq,
        message,
    };
    let intent = task_events
        .iter()
        .find(|e| e.seq == intent_seq)
        .ok_or_else(|| missing(format!("intent {intent_seq} is missing")))?;
    let EventBody::Intent { op, .. } = &intent.body else {
        return Err(missing(format!("event {intent_seq} is not an intent")));
    };
    let committed = task_events
        .iter()
        .find(|e| e.op_seq == intent_seq && e.body == EventBody::Committed)
        .ok_or_else(|| missing(format!("intent {intent_seq} has no committed outcome")))?;
    let mut before: Option<TaskRecord> = None;
    let mut after: Option<TaskRecord> = None;
    for ev in task_events.iter().take_while(|e| e.seq <= committed.seq) {
        if ev.seq == intent_seq {
            before = after.clone();
        }
        after = apply(after, ev)?;
    }
    let record = after.ok_or_else(|| missing(format!("task {} vanished", intent.task_ref)))?;
    Ok(TransitionReport {
        task_ref: intent.task_ref.clone(),
        transition: op.clone(),
        before: before.map_or(TaskState::Authorized, |r| r.state),
        after: record.state,
        events: task_events
            .iter()
            .filter(|e| e.op_seq == intent_seq)
            .cloned()
            .collect(),
        record,
    })
}
