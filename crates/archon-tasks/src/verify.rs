//! `verify`: the hash chain end to end, the two-phase discipline, the stored
//! projection against a replay of the log, and the anchors kept elsewhere.
//! Opens the ledger (file or database) read-only and reads one snapshot (one
//! read transaction), so writers working meanwhile never make a healthy ledger
//! look broken.
//!
//! What a chain cannot show: events removed from the very end (the remaining
//! prefix is a valid chain), or a rewritten event whose successors were all
//! rehashed. Anchors cover both: the head (seq and hash) recorded after a
//! stage's writes in its manifest, or kept by a person (`archon verify --head`),
//! must still be an event of the ledger.
//!
//! Open intents: one whose writer may be alive (SQLite: while any writer is
//! open, see [`crate::writers`]; PostgreSQL: while its advisory lock is held)
//! may be an operation between its two transactions; it is listed as in
//! flight, not as a fault. Otherwise it is an orphan.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use archon_store::LedgerHead;

use crate::event::{EventBody, LedgerEvent, GENESIS_HASH};
use crate::ledger::{decode_record, LedgerError};
use crate::projection::replay;
use crate::store::{Location, Store};

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

/// A head recorded elsewhere, and where (e.g. a manifest's path).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Anchor {
    pub source: String,
    pub head: LedgerHead,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub ok: bool,
    pub events: u64,
    /// The last event's seq (0 when the log is empty) and hash.
    pub head_seq: u64,
    pub head_hash: String,
    /// The first break of the chain or of the log's rules; nothing after it is
    /// trusted, so open intents are only looked for in a whole log.
    pub first_bad: Option<BadEvent>,
    pub orphaned_intents: Vec<OrphanedIntent>,
    /// Open intents seen while a writer had the ledger open (not a fault).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub in_flight_intents: Vec<OrphanedIntent>,
    /// Tasks whose stored state differs from the replay of the log.
    pub projection_mismatches: Vec<String>,
    /// Anchors the ledger no longer holds (a rewritten or truncated chain).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub anchor_problems: Vec<String>,
}

/// Verifies the ledger at `path` (a file or a `postgres://` URL) without
/// changing it.
pub fn verify_ledger(path: impl AsRef<Path>) -> Result<VerifyReport, LedgerError> {
    verify_ledger_anchored(path, &[])
}

/// [`verify_ledger`], and each anchor must still be an event of the ledger.
pub fn verify_ledger_anchored(
    path: impl AsRef<Path>,
    anchors: &[Anchor],
) -> Result<VerifyReport, LedgerError> {
    let location = Location::parse(path.as_ref());
    let name = location.display_name();
    let path = name.as_path();
    let snapshot = Store::open_read_only(&location)?.verify_snapshot()?;
    let (raw, stored, in_flight) = (snapshot.events, snapshot.projection, snapshot.in_flight);
    let total = raw.len() as u64;
    let head_seq = raw.last().map_or(0, |r| r.seq);
    let stored_hashes: BTreeMap<u64, String> =
        raw.iter().map(|r| (r.seq, r.hash.clone())).collect();
    let anchor_problems = anchors
        .iter()
        .filter_map(|a| anchor_problem(a, &stored_hashes, head_seq))
        .collect::<Vec<_>>();
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
    let open = if first_bad.is_none() {
        orphaned_intents(&events)
    } else {
        Vec::new()
    };
    let (in_flight_intents, orphaned_intents): (Vec<_>, Vec<_>) =
        open.into_iter().partition(|o| in_flight.contains(&o.seq));
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
    let head_hash = stored_hashes
        .get(&head_seq)
        .cloned()
        .unwrap_or_else(|| GENESIS_HASH.to_string());
    Ok(VerifyReport {
        ok: first_bad.is_none()
            && orphaned_intents.is_empty()
            && projection_mismatches.is_empty()
            && anchor_problems.is_empty(),
        events: total,
        head_seq,
        head_hash,
        first_bad,
        orphaned_intents,
        in_flight_intents,
        projection_mismatches,
        anchor_problems,
    })
}

fn anchor_problem(
    anchor: &Anchor,
    stored: &BTreeMap<u64, String>,
    head_seq: u64,
) -> Option<String> {
    let LedgerHead { seq, hash } = &anchor.head;
    match stored.get(seq) {
        Some(found) if found == hash => None,
        Some(found) => Some(format!(
            "{}: anchored event #{seq} has hash {found}, the anchor recorded {hash} (the chain was rewritten)",
            anchor.source
        )),
        None => Some(format!(
            "{}: anchored event #{seq} is missing; the ledger ends at #{head_seq} (truncated)",
            anchor.source
        )),
    }
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
