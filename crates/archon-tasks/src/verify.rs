//! `verify`: the hash chain end to end, the two-phase discipline, and the
//! stored projection against a replay of the log. Opens the file read-only.
//!
//! What a chain cannot show: events removed from the very end (the remaining
//! prefix is a valid chain). Anchor the head hash elsewhere (e.g. a stage
//! manifest) to cover truncation.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use crate::event::{EventBody, LedgerEvent, GENESIS_HASH};
use crate::ledger::{decode_record, read_projection, read_raw_events, LedgerError};
use crate::projection::replay;

/// The first event that breaks the chain or the log's rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadEvent {
    /// The `seq` position where the problem shows (the expected seq when one is missing).
    pub seq: u64,
    pub problem: String,
}

/// An intent with no committed/failed outcome: an operation interrupted between its phases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrphanedIntent {
    pub seq: u64,
    pub task_ref: String,
    pub op: String,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub ok: bool,
    pub events: u64,
    pub head_hash: String,
    pub first_bad: Option<BadEvent>,
    pub orphaned_intents: Vec<OrphanedIntent>,
    /// Tasks whose stored state differs from the replay of the log.
    pub projection_mismatches: Vec<String>,
}

/// Verifies the ledger file at `path` without changing it.
pub fn verify_ledger(path: impl AsRef<Path>) -> Result<VerifyReport, LedgerError> {
    let path = path.as_ref();
    if !path.is_file() {
        return Err(LedgerError::Corrupt {
            path: path.to_path_buf(),
            message: "no ledger file here".to_string(),
        });
    }
    let conn =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(|source| {
            LedgerError::Sqlite {
                path: path.to_path_buf(),
                source,
            }
        })?;
    let raw = read_raw_events(&conn, path, None)?;
    let total = raw.len() as u64;
    let mut first_bad = None;
    let mut prev_hash = GENESIS_HASH.to_string();
    let mut events: Vec<LedgerEvent> = Vec::with_capacity(raw.len());
    for (i, row) in raw.into_iter().enumerate() {
        let expected_seq = i as u64 + 1;
        let problem = if row.seq != expected_seq {
            Some((expected_seq, format!("expected event {expected_seq}, found event {} (an event is missing or out of order)", row.seq)))
        } else if row.prev_hash != prev_hash {
            Some((row.seq, "prev_hash does not match the previous event's hash (an event was removed, inserted or reordered)".to_string()))
        } else if row.computed_hash() != row.hash {
            Some((
                row.seq,
                "hash does not match the event's content (the event was modified)".to_string(),
            ))
        } else {
            None
        };
        if let Some((seq, problem)) = problem {
            first_bad = Some(BadEvent { seq, problem });
            break;
        }
        prev_hash = row.hash.clone();
        let seq = row.seq;
        match row.decode() {
            Ok(ev) => events.push(ev),
            Err(problem) => {
                first_bad = Some(BadEvent { seq, problem });
                break;
            }
        }
    }
    if first_bad.is_none() {
        first_bad = check_operations(&events);
    }
    let orphaned_intents = orphaned_intents(&events);
    let mut projection_mismatches = Vec::new();
    if first_bad.is_none() {
        match replay(&events) {
            Err(e) => {
                first_bad = Some(BadEvent {
                    seq: e.seq,
                    problem: e.message,
                })
            }
            Ok(replayed) => {
                let stored = read_projection(&conn, path)?;
                let mut stored_map = BTreeMap::new();
                for (task_ref, text) in stored {
                    stored_map.insert(task_ref.clone(), decode_record(path, &task_ref, &text)?);
                }
                for task_ref in replayed.keys().chain(stored_map.keys()) {
                    if replayed.get(task_ref) != stored_map.get(task_ref)
                        && !projection_mismatches.contains(task_ref)
                    {
                        projection_mismatches.push(task_ref.clone());
                    }
                }
                projection_mismatches.sort();
            }
        }
    }
    Ok(VerifyReport {
        ok: first_bad.is_none() && orphaned_intents.is_empty() && projection_mismatches.is_empty(),
        events: total,
        head_hash: prev_hash,
        first_bad,
        orphaned_intents,
        projection_mismatches,
    })
}

/// Every non-intent event must belong to an earlier intent of the same task
/// that has not had its outcome yet; an intent gets at most one outcome.
fn check_operations(events: &[LedgerEvent]) -> Option<BadEvent> {
    let mut open: BTreeMap<u64, &str> = BTreeMap::new();
    for ev in events {
        let bad = |problem: String| {
            Some(BadEvent {
                seq: ev.seq,
                problem,
            })
        };
        match &ev.body {
            EventBody::Intent { .. } => {
                if ev.op_seq != ev.seq {
                    return bad("an intent must belong to itself".to_string());
                }
                open.insert(ev.seq, &ev.task_ref);
            }
            body => {
                match open.get(&ev.op_seq) {
                    Some(task) if *task == ev.task_ref => {}
                    Some(task) => {
                        return bad(format!(
                            "belongs to intent {} of task {task}, not {}",
                            ev.op_seq, ev.task_ref
                        ))
                    }
                    None => {
                        return bad(format!(
                            "{} without an open intent {}",
                            body.kind(),
                            ev.op_seq
                        ))
                    }
                }
                if !body.is_fact() {
                    open.remove(&ev.op_seq);
                }
            }
        }
    }
    None
}

fn orphaned_intents(events: &[LedgerEvent]) -> Vec<OrphanedIntent> {
    let closed: std::collections::BTreeSet<u64> = events
        .iter()
        .filter(|e| matches!(e.body, EventBody::Committed | EventBody::Failed { .. }))
        .map(|e| e.op_seq)
        .collect();
    events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Intent { op, .. } if !closed.contains(&e.seq) => Some(OrphanedIntent {
                seq: e.seq,
                task_ref: e.task_ref.clone(),
                op: op.clone(),
                at: e.at.clone(),
            }),
            _ => None,
        })
        .collect()
}
