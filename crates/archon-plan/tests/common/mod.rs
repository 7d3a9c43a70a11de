//! Shared fixtures of the planner's tests.
#![allow(dead_code)]

use std::path::PathBuf;

use archon_core::agent_port::Agents;
use archon_core::clock::Clock;
use archon_core::roster::Roster;
use archon_core::seed::Seed;
use archon_plan::io::read_review_dir;
use archon_plan::packet::RatifiedIntentPacket;
use archon_plan::{plan_motion, DraftSource, PlanOptions, PlanOutput};

pub const NOW: &str = "2026-01-21T09:00:00Z";

/// A test input, by a path relative to the crate (cargo runs tests there), so
/// that the paths plans record as provenance do not depend on the checkout's place.
pub fn data(rel: &str) -> PathBuf {
    PathBuf::from("tests/data").join(rel)
}

pub fn roster() -> Roster {
    Roster::from_json("roster.json", include_str!("../../../../data/roster.json"))
        .expect("bundled roster")
}

pub fn clock() -> Clock {
    Clock::fixed_from_rfc3339(NOW).expect("fixed clock")
}

pub fn packets(dir: &str) -> Vec<RatifiedIntentPacket> {
    read_review_dir(&data(dir), NOW)
        .expect("review dir")
        .packets
}

pub fn simulate(packet: &RatifiedIntentPacket, opts: &PlanOptions) -> PlanOutput {
    let agents = Agents::simulated(Seed(72));
    plan_motion(
        packet,
        &roster(),
        &agents,
        &clock(),
        DraftSource::Agents,
        opts,
    )
    .expect("plans")
}

pub fn file<'a>(out: &'a PlanOutput, rel: &str) -> Option<&'a serde_json::Value> {
    out.files.iter().find(|(n, _)| n == rel).map(|(_, v)| v)
}

use std::sync::Arc;

use archon_core::agent_port::{AnswerSource, Backend, Completion, Exchange, TransportFailure};

/// A stand-in LLM server: answers each exchange with `answer(kind, archon_name)`
/// (`None` = transport failure), as a live backend would.
pub struct ScriptedLlm<F: Fn(&str, &str) -> Option<String> + Send + Sync>(pub F);

impl<F: Fn(&str, &str) -> Option<String> + Send + Sync> Backend for ScriptedLlm<F> {
    fn name(&self) -> &'static str {
        "llm"
    }
    fn is_simulated(&self) -> bool {
        false
    }
    fn complete(&self, batch: Vec<Exchange>) -> Vec<Result<Completion, TransportFailure>> {
        batch
            .iter()
            .map(|ex| match (self.0)(ex.kind, &ex.archon_name) {
                Some(text) => Ok(Completion {
                    text,
                    model: "test-model-1".into(),
                    prompt_tokens: 100,
                    completion_tokens: 40,
                    usage_estimated: false,
                    latency_ms: 7,
                    source: AnswerSource::Live,
                }),
                None => Err(TransportFailure::new("HTTP 503: overloaded")),
            })
            .collect()
    }
}

pub fn scripted(
    packet: &RatifiedIntentPacket,
    opts: &PlanOptions,
    answer: impl Fn(&str, &str) -> Option<String> + Send + Sync + 'static,
) -> PlanOutput {
    let agents = Agents::new(Arc::new(ScriptedLlm(answer)), Seed(72)).with_max_reasks(0);
    plan_motion(
        packet,
        &roster(),
        &agents,
        &clock(),
        DraftSource::Agents,
        opts,
    )
    .expect("plans")
}

pub fn event_types(out: &PlanOutput) -> Vec<String> {
    out.events.iter().map(|e| e.event_type.clone()).collect()
}
