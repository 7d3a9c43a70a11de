//! The event lines of the administrative trails (`rfp_events.jsonl`,
//! `duke_proposal_events.jsonl`, `selection_events.jsonl`), shaped like the
//! bridge's: `{event_type, timestamp, payload}`.

use serde::{Deserialize, Serialize};

use archon_core::agent_port::CallRecord;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub event_type: String,
    pub timestamp: String,
    pub payload: serde_json::Value,
}

impl Event {
    pub fn new(event_type: &str, timestamp: &str, payload: serde_json::Value) -> Event {
        Event {
            event_type: event_type.to_string(),
            timestamp: timestamp.to_string(),
            payload,
        }
    }

    /// The accounting of one `ask_all` round (tokens, latency, model, outcome per call).
    pub fn calls(prefix: &str, timestamp: &str, round: &str, calls: Vec<CallRecord>) -> Event {
        Event::new(
            &format!("{prefix}.agent_calls"),
            timestamp,
            serde_json::json!({ "round": round, "calls": calls }),
        )
    }

    /// The call records an accounting event carries (none for other events).
    pub fn call_records(&self) -> Vec<CallRecord> {
        if !self.event_type.ends_with(".agent_calls") {
            return Vec::new();
        }
        Vec::<CallRecord>::deserialize(&self.payload["calls"]).unwrap_or_default()
    }
}
