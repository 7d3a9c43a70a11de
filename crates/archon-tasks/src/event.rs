//! Ledger events and their hash chain.
//!
//! Every operation writes an `intent`, then either `committed` (preceded by the
//! facts it established) or `failed`. Facts are the only events that change a
//! task; intents and outcomes make an interrupted operation visible.
//!
//! Canonical encoding (what `hash` covers): the bytes `archon-ledger/v1`, then
//! for each of `seq`, `op_seq`, `task_ref`, `kind`, `at`, `actor`, `body`,
//! `prev_hash`, in that order, its length as a little-endian u64 followed by its
//! UTF-8 bytes (numbers in decimal). `body` is the compact JSON text exactly as
//! stored. `hash = sha256(encoding)` in lower-case hex; the first event's
//! `prev_hash` is 64 zeros.

use archon_artifacts::TaskResult;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::cluster::Sensitivity;
use crate::coercion::{FilterOutcome, TaskContent};
use crate::lifecycle::ExecutionStop;
use crate::result::Settlement;
use crate::state::TaskState;

/// `prev_hash` of the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One row of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEvent {
    pub seq: u64,
    /// The intent this event belongs to (an intent's own `seq`).
    pub op_seq: u64,
    pub task_ref: String,
    pub at: String,
    pub actor: String,
    pub body: EventBody,
    pub prev_hash: String,
    pub hash: String,
}

/// The idempotency key an intent was written under, with the digest of the
/// request it came with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRef {
    pub key: String,
    pub request_sha256: String,
}

/// Why a state changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    Activation,
    Routing,
    StewardAccepted,
    StewardDeclined,
    Started,
    ResultReported,
    ResultsMerged,
    Settled,
    Halted,
    TtlExpired,
    SupersededByRewrite,
}

/// Why a task is waiting instead of moving.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "hold", rename_all = "snake_case")]
pub enum Hold {
    /// The coercion filter rejected the text; a rewritten activation supersedes it.
    PendingRewrite { reason: String },
    /// A hard violation; never routed (halt to nullify).
    CoercionBlocked { violation: String },
    /// No eligible cluster is left; `reroute` retries with the current clusters.
    BlockedByCapability { reason: String },
}

/// A noticed condition that does not change state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "flag", rename_all = "snake_case")]
pub enum Flag {
    Inactive {
        last_activity_at: String,
        timeout_hours: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody {
    Intent {
        op: String,
        /// The task's `version` when the intent was written; the outcome is
        /// committed only if it is still the same (no lost or doubled update).
        expected_version: u64,
        /// The client's key of a write it may send again (see
        /// [`crate::RequestKey`]); absent from intents written without one, so
        /// their bytes (and hashes) are unchanged.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<RequestRef>,
    },
    Committed,
    Failed {
        error: String,
    },
    ActivationOpened {
        activation_id: String,
        attempt: u32,
        earl_id: String,
        requested_cluster_id: String,
        /// The text as requested, before the coercion filter.
        content: TaskContent,
        required_tags: Vec<String>,
        sensitivity: Sensitivity,
        ttl_hours: u32,
        provenance: Value,
    },
    StateChanged {
        activation_id: String,
        from: TaskState,
        to: TaskState,
        cause: Cause,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cluster_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    FilterApplied {
        outcome: FilterOutcome,
    },
    Held {
        #[serde(flatten)]
        hold: Hold,
    },
    ResultReported {
        result: Box<TaskResult>,
    },
    Settled {
        settlement: Settlement,
        result_ids: Vec<String>,
    },
    Flagged {
        #[serde(flatten)]
        flag: Flag,
    },
    /// An execution holds the task's lease; a second one is refused until release.
    ExecutionLeased {
        holder: String,
        /// A dead holder whose lease this one took over.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replaced: Option<String>,
    },
    ExecutionReleased {
        holder: String,
    },
    /// An execution ended blocked or escalated (state unchanged).
    ExecutionStopped {
        #[serde(flatten)]
        stop: ExecutionStop,
    },
}

impl EventBody {
    /// The `type` tag, stored in the `kind` column.
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::Intent { .. } => "intent",
            EventBody::Committed => "committed",
            EventBody::Failed { .. } => "failed",
            EventBody::ActivationOpened { .. } => "activation_opened",
            EventBody::StateChanged { .. } => "state_changed",
            EventBody::FilterApplied { .. } => "filter_applied",
            EventBody::Held { .. } => "held",
            EventBody::ResultReported { .. } => "result_reported",
            EventBody::Settled { .. } => "settled",
            EventBody::Flagged { .. } => "flagged",
            EventBody::ExecutionLeased { .. } => "execution_leased",
            EventBody::ExecutionReleased { .. } => "execution_released",
            EventBody::ExecutionStopped { .. } => "execution_stopped",
        }
    }

    /// Whether the event changes a task (intents and outcomes do not).
    pub fn is_fact(&self) -> bool {
        !matches!(
            self,
            EventBody::Intent { .. } | EventBody::Committed | EventBody::Failed { .. }
        )
    }

    /// One line for people: what this event changed.
    pub fn describe(&self) -> String {
        match self {
            EventBody::Intent { op, .. } => format!("intent {op}"),
            EventBody::Committed => "committed".to_string(),
            EventBody::Failed { error } => format!("failed: {error}"),
            EventBody::ActivationOpened {
                activation_id,
                attempt,
                ..
            } => format!("activation {activation_id} opened (attempt {attempt})"),
            EventBody::StateChanged {
                from,
                to,
                cause,
                cluster_id,
                reason,
                ..
            } => {
                let mut line = format!("{from} -> {to} ({})", serde_plain(cause));
                if let Some(c) = cluster_id {
                    line.push_str(&format!(" cluster {c}"));
                }
                if let Some(r) = reason {
                    line.push_str(&format!(": {r}"));
                }
                line
            }
            EventBody::FilterApplied { outcome } => {
                let summary = outcome.summary();
                if summary.is_empty() {
                    format!("coercion filter: {}", outcome.kind())
                } else {
                    format!("coercion filter: {} ({summary})", outcome.kind())
                }
            }
            EventBody::Held { hold } => match hold {
                Hold::PendingRewrite { reason } => format!("pending rewrite: {reason}"),
                Hold::CoercionBlocked { violation } => format!("blocked by coercion filter: {violation}"),
                Hold::BlockedByCapability { reason } => format!("blocked by capability: {reason}"),
            },
            EventBody::ResultReported { result } => format!(
                "result {} reported by cluster {} ({})",
                result.result_id, result.cluster_id, result.status
            ),
            EventBody::Settled {
                settlement,
                result_ids,
            } => match settlement {
                Settlement::Accept => format!("settled: accepted {}", result_ids.join(", ")),
                Settlement::Reject { code, reason } => format!(
                    "settled: rejected {} ({}: {reason})",
                    result_ids.join(", "),
                    code.as_str()
                ),
            },
            EventBody::Flagged { flag } => match flag {
                Flag::Inactive {
                    last_activity_at,
                    timeout_hours,
                } => format!("flagged inactive: no activity since {last_activity_at} (timeout {timeout_hours} h)"),
            },
            EventBody::ExecutionLeased { holder, replaced } => match replaced {
                Some(dead) => format!("execution lease taken by {holder} (over {dead}, no longer running)"),
                None => format!("execution lease taken by {holder}"),
            },
            EventBody::ExecutionReleased { holder } => format!("execution lease released by {holder}"),
            EventBody::ExecutionStopped { stop } => format!(
                "execution {}: owner {}; {}",
                stop.outcome,
                stop.owners.join(", "),
                stop.blockers.join("; ")
            ),
        }
    }
}

fn serde_plain<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}

/// The fields of an event that the hash covers, in canonical order.
pub struct HashInput<'a> {
    pub seq: u64,
    pub op_seq: u64,
    pub task_ref: &'a str,
    pub kind: &'a str,
    pub at: &'a str,
    pub actor: &'a str,
    pub body: &'a str,
    pub prev_hash: &'a str,
}

/// sha256 over the canonical encoding (see the module doc).
pub fn event_hash(input: &HashInput<'_>) -> String {
    let mut h = Sha256::new();
    h.update(b"archon-ledger/v1");
    let seq = input.seq.to_string();
    let op_seq = input.op_seq.to_string();
    for field in [
        seq.as_str(),
        op_seq.as_str(),
        input.task_ref,
        input.kind,
        input.at,
        input.actor,
        input.body,
        input.prev_hash,
    ] {
        h.update((field.len() as u64).to_le_bytes());
        h.update(field.as_bytes());
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_field_separated() {
        let base = HashInput {
            seq: 1,
            op_seq: 1,
            task_ref: "ab",
            kind: "intent",
            at: "t",
            actor: "c",
            body: "{}",
            prev_hash: GENESIS_HASH,
        };
        let shifted = HashInput {
            task_ref: "a",
            kind: "bintent",
            ..base
        };
        assert_ne!(event_hash(&base), event_hash(&shifted));
        assert_eq!(event_hash(&base).len(), 64);
    }

    #[test]
    fn bodies_are_tagged_by_kind() {
        let body = EventBody::Held {
            hold: Hold::PendingRewrite { reason: "r".into() },
        };
        let json = serde_json::to_string(&body).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"type":"held","hold":"pending_rewrite","reason":"r"}"#
        );
        let back: EventBody = serde_json::from_str(&json).expect("round trip");
        assert_eq!(back, body);
        assert_eq!(back.kind(), "held");
    }
}
