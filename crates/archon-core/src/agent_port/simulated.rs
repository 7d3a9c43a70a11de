//! The simulated backend: answers with the question's own deterministic answer.
//! Everything else (validation, decoding, re-asks, accounting) is the port's
//! shared path, the same one LLM answers take.

use super::{AnswerSource, Backend, Completion, Exchange, TransportFailure};

pub struct SimulatedBackend;

impl Backend for SimulatedBackend {
    fn name(&self) -> &'static str {
        "simulation"
    }

    fn is_simulated(&self) -> bool {
        true
    }

    fn complete(&self, batch: Vec<Exchange>) -> Vec<Result<Completion, TransportFailure>> {
        batch
            .into_iter()
            .map(|ex| match ex.simulated {
                Some(text) => Ok(Completion {
                    text,
                    model: "simulation".into(),
                    prompt_tokens: 0,
                    completion_tokens: 0,
                    usage_estimated: false,
                    latency_ms: 0,
                    source: AnswerSource::Simulated,
                }),
                None => Err(TransportFailure {
                    message: format!("no simulated answer for {} ({})", ex.kind, ex.archon_name),
                    ..TransportFailure::default()
                }),
            })
            .collect()
    }
}
