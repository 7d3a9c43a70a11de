//! The console text of tasks and transitions (`archon tasks list`, `show`,
//! and every move), so each front end prints the same lines.

use std::fmt::Write as _;

use crate::event::EventBody;
use crate::ledger::TransitionReport;
use crate::projection::TaskRecord;

impl TaskRecord {
    /// One line of `archon tasks list`.
    pub fn list_line(&self) -> String {
        let hold = self
            .hold
            .as_ref()
            .map(|h| format!("  [{}]", EventBody::Held { hold: h.clone() }.describe()))
            .unwrap_or_default();
        format!(
            "{:<24} {:<12} {:<38} attempt {}{hold}",
            self.task_ref,
            self.state.as_str(),
            self.cluster_id.as_deref().unwrap_or("-"),
            self.attempt
        )
    }

    /// `archon tasks show`: the record and its history, one fact a line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let mut line = |text: String| {
            let _ = writeln!(out, "{text}");
        };
        line(format!(
            "{}  {}  (activation {}, attempt {})",
            self.task_ref, self.state, self.activation_id, self.attempt
        ));
        line(format!("  earl: {}", self.earl_id));
        line(format!(
            "  cluster: {}",
            self.cluster_id.as_deref().unwrap_or("-")
        ));
        line(format!("  description: {}", self.content.description));
        line(format!(
            "  required tags: [{}], sensitivity {}",
            self.required_tags.join(", "),
            self.sensitivity.as_str()
        ));
        if let Some(deadline) = &self.consent_deadline {
            line(format!("  consent deadline: {deadline}"));
        }
        if let Some(hold) = &self.hold {
            line(format!(
                "  hold: {}",
                EventBody::Held { hold: hold.clone() }.describe()
            ));
        }
        for e in &self.excluded_clusters {
            line(format!("  excluded: {} ({:?})", e.cluster_id, e.cause));
        }
        for r in &self.results {
            line(format!(
                "  result {} from {}: {} ({:?})",
                r.result_id, r.cluster_id, r.status, r.settlement
            ));
        }
        if let Some(v) = &self.verdict {
            let verdict = serde_json::to_string(v).unwrap_or_default();
            line(format!("  verdict: {verdict}"));
        }
        line("  history:".to_string());
        for h in &self.history {
            line(format!(
                "    #{} {} {} -> {} ({:?}) by {}",
                h.seq, h.at, h.from, h.to, h.cause, h.actor
            ));
        }
        out
    }
}

impl TransitionReport {
    /// The move, then its facts indented.
    pub fn render(&self) -> String {
        let mut out = format!(
            "{}: {} {} -> {}\n",
            self.task_ref, self.transition, self.before, self.after
        );
        for line in self.lines() {
            let _ = writeln!(out, "  {line}");
        }
        out
    }
}
