//! `executive_events.jsonl`: the cycle's event trail, in the order things happened.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use archon_core::agent_port::CallRecord;

use crate::model::v2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutiveEvent {
    pub schema_version: String,
    pub event_type: String,
    pub cycle_id: String,
    pub motion_id: String,
    pub timestamp: String,
    pub payload: Value,
}

/// Collects the events of one cycle.
pub struct EventTrail {
    cycle_id: String,
    motion_id: String,
    timestamp: String,
    pub events: Vec<ExecutiveEvent>,
}

impl EventTrail {
    pub fn new(cycle_id: &str, motion_id: &str, timestamp: &str) -> EventTrail {
        EventTrail {
            cycle_id: cycle_id.into(),
            motion_id: motion_id.into(),
            timestamp: timestamp.into(),
            events: Vec::new(),
        }
    }

    pub fn push(&mut self, event_type: &str, payload: Value) {
        self.events.push(ExecutiveEvent {
            schema_version: v2(),
            event_type: event_type.into(),
            cycle_id: self.cycle_id.clone(),
            motion_id: self.motion_id.clone(),
            timestamp: self.timestamp.clone(),
            payload,
        });
    }

    /// Records the agent calls of a phase (tokens, latency, model, outcome).
    pub fn calls(&mut self, phase: &str, calls: &[CallRecord]) {
        if calls.is_empty() {
            return;
        }
        self.push(
            "executive.agent.calls",
            serde_json::json!({
                "phase": phase,
                "calls": calls,
                "failed": calls.iter().filter(|c| c.outcome == "failed").count(),
                "invalid": calls.iter().filter(|c| c.outcome == "invalid").count(),
            }),
        );
    }
}
