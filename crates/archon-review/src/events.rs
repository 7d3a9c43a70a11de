//! The audit trail: the spec's `ReviewPipelineEvent`s, in the order they happen.

use archon_core::seed::Seed;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub event_id: String,
    pub event_type: &'static str,
    pub occurred_at: String,
    pub session_id: String,
    pub attributed_to: Vec<String>,
    pub payload: Value,
}

/// Collects events with ids derived from the seed and their position.
pub struct Trail {
    seed: Seed,
    session_id: String,
    now: String,
    pub events: Vec<Event>,
}

impl Trail {
    pub fn new(seed: Seed, session_id: &str, now: &str) -> Trail {
        Trail {
            seed,
            session_id: session_id.to_string(),
            now: now.to_string(),
            events: Vec::new(),
        }
    }

    pub fn push(&mut self, event_type: &'static str, attributed_to: Vec<String>, payload: Value) {
        let n = self.events.len().to_string();
        self.events.push(Event {
            event_id: self
                .seed
                .uuid(&["review-event", &self.session_id, &n])
                .to_string(),
            event_type,
            occurred_at: self.now.clone(),
            session_id: self.session_id.clone(),
            attributed_to,
            payload,
        });
    }
}
