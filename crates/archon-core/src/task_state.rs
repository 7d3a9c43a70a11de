//! The eleven task states and exactly the transitions allowed between them.
//!
//! Architecture invariant: every state change the ledger records passes
//! [`check_transition`]; nothing else decides which move is legal.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a task is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    Authorized,
    Activated,
    Routed,
    Accepted,
    InProgress,
    Reported,
    Aggregated,
    Completed,
    Declined,
    Quarantined,
    Nullified,
}

/// Whether a cluster has consented to the task yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    PreConsent,
    PostConsent,
    Terminal,
}

impl TaskState {
    pub const ALL: [TaskState; 11] = [
        TaskState::Authorized,
        TaskState::Activated,
        TaskState::Routed,
        TaskState::Accepted,
        TaskState::InProgress,
        TaskState::Reported,
        TaskState::Aggregated,
        TaskState::Completed,
        TaskState::Declined,
        TaskState::Quarantined,
        TaskState::Nullified,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Authorized => "authorized",
            TaskState::Activated => "activated",
            TaskState::Routed => "routed",
            TaskState::Accepted => "accepted",
            TaskState::InProgress => "in_progress",
            TaskState::Reported => "reported",
            TaskState::Aggregated => "aggregated",
            TaskState::Completed => "completed",
            TaskState::Declined => "declined",
            TaskState::Quarantined => "quarantined",
            TaskState::Nullified => "nullified",
        }
    }

    pub fn parse(text: &str) -> Option<TaskState> {
        TaskState::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn phase(self) -> Phase {
        match self {
            // A task rests in declined only when no eligible cluster is left; it
            // waits for a reroute, and no cluster has consented.
            TaskState::Authorized
            | TaskState::Activated
            | TaskState::Routed
            | TaskState::Declined => Phase::PreConsent,
            TaskState::Accepted
            | TaskState::InProgress
            | TaskState::Reported
            | TaskState::Aggregated => Phase::PostConsent,
            TaskState::Completed | TaskState::Quarantined | TaskState::Nullified => Phase::Terminal,
        }
    }

    /// The states this one may move to, in lifecycle order.
    pub fn allowed_next(self) -> &'static [TaskState] {
        use TaskState::*;
        match self {
            Authorized => &[Activated, Nullified],
            Activated => &[Routed, Nullified],
            Routed => &[Accepted, Declined, Nullified],
            Accepted => &[InProgress, Declined, Quarantined],
            InProgress => &[Reported, Quarantined],
            Reported => &[Aggregated, Completed],
            Aggregated => &[Completed],
            // Halted while waiting for a cluster; a reroute starts a new activation.
            Declined => &[Nullified],
            Completed | Quarantined | Nullified => &[],
        }
    }

    pub fn can_move_to(self, to: TaskState) -> bool {
        self.allowed_next().contains(&to)
    }

    /// Accepted or in progress: the cluster has consented and the work is its own.
    pub fn is_executable(self) -> bool {
        matches!(self, TaskState::Accepted | TaskState::InProgress)
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A move the state machine does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("task {task_ref}: cannot move from {from} to {to}; allowed from {from}: {}", allowed_list(*from))]
pub struct TransitionRefused {
    pub task_ref: String,
    pub from: TaskState,
    pub to: TaskState,
}

fn allowed_list(from: TaskState) -> String {
    let next = from.allowed_next();
    if next.is_empty() {
        "none (terminal state)".to_string()
    } else {
        next.iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Checks one move against the machine.
pub fn check_transition(
    task_ref: &str,
    from: TaskState,
    to: TaskState,
) -> Result<(), TransitionRefused> {
    if from.can_move_to(to) {
        Ok(())
    } else {
        Err(TransitionRefused {
            task_ref: task_ref.to_string(),
            from,
            to,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table, written out independently of `allowed_next`.
    const ALLOWED: &[(&str, &str)] = &[
        ("authorized", "activated"),
        ("authorized", "nullified"),
        ("activated", "routed"),
        ("activated", "nullified"),
        ("routed", "accepted"),
        ("routed", "declined"),
        ("routed", "nullified"),
        ("accepted", "in_progress"),
        ("accepted", "declined"),
        ("accepted", "quarantined"),
        ("in_progress", "reported"),
        ("in_progress", "quarantined"),
        ("reported", "aggregated"),
        ("reported", "completed"),
        ("aggregated", "completed"),
        ("declined", "nullified"),
    ];

    #[test]
    fn every_pair_is_allowed_exactly_when_listed() {
        let mut allowed = 0;
        for from in TaskState::ALL {
            for to in TaskState::ALL {
                let listed = ALLOWED.contains(&(from.as_str(), to.as_str()));
                let result = check_transition("TASK-T-001a", from, to);
                assert_eq!(result.is_ok(), listed, "{from} -> {to}");
                if listed {
                    allowed += 1;
                } else {
                    let msg = result.err().map(|e| e.to_string()).unwrap_or_default();
                    assert!(msg.contains("TASK-T-001a"), "{msg}");
                    assert!(msg.contains(&format!("from {from} to {to}")), "{msg}");
                    for next in from.allowed_next() {
                        assert!(msg.contains(next.as_str()), "{msg}");
                    }
                }
            }
        }
        assert_eq!(allowed, ALLOWED.len());
        assert_eq!(TaskState::ALL.len() * TaskState::ALL.len() - allowed, 105);
    }

    #[test]
    fn refusal_message_names_terminal_states() {
        let err = check_transition("T1", TaskState::Completed, TaskState::Routed)
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("task T1: cannot move from completed to routed; allowed from completed: none (terminal state)")
        );
        let err = check_transition("T1", TaskState::Routed, TaskState::Reported)
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("task T1: cannot move from routed to reported; allowed from routed: accepted, declined, nullified")
        );
    }

    #[test]
    fn phases_and_names_round_trip() {
        for s in TaskState::ALL {
            assert_eq!(TaskState::parse(s.as_str()), Some(s));
            assert_eq!(s.phase() == Phase::Terminal, s.allowed_next().is_empty());
            let json = serde_json::to_string(&s).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
    }
}
