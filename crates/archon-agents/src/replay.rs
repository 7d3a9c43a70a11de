//! The replay backend: answers only from a cassette, never from a server.

use archon_core::agent_port::{Backend, Completion, Exchange, TransportFailure};
use archon_core::roster::LlmConfig;

use crate::binding::Overrides;
use crate::cassette::{self, Cassette};
use crate::llm::replayed;

pub struct ReplayBackend {
    overrides: Overrides,
    cassette: Cassette,
}

impl ReplayBackend {
    /// Replays with the same binding overrides as the recording run, so every
    /// exchange computes the key it was recorded under.
    pub fn new(overrides: Overrides, cassette: Cassette) -> ReplayBackend {
        ReplayBackend {
            overrides,
            cassette,
        }
    }

    fn answer(&self, ex: &Exchange) -> Result<Completion, TransportFailure> {
        let fail = |message: String| TransportFailure {
            message: format!("{} ({}): {message}", ex.archon_name, ex.kind),
            ..TransportFailure::default()
        };
        let binding = self
            .overrides
            .resolve(&ex.archon_name, &ex.binding)
            .map_err(|e| TransportFailure {
                message: e.to_string(),
                ..TransportFailure::default()
            })?;
        let key = cassette::key(&binding, &ex.messages, &ex.schema);
        match self.cassette.load(&key).map_err(fail)? {
            Some(entry) => Ok(replayed(entry)),
            None => Err(fail(format!(
                "no recorded answer (attempt {}, model {}) in cassette {} under key {key}; \
                 replay uses the model bindings of the recording run (--model, --base-url, \
                 --provider, archon.toml)",
                ex.attempt,
                binding.model,
                self.cassette.dir().display()
            ))),
        }
    }
}

impl Backend for ReplayBackend {
    /// A replay counts as the recording it replays (made by the LLM backend),
    /// so its artifacts equal the recorded run's byte for byte.
    fn name(&self) -> &'static str {
        "llm"
    }

    fn is_simulated(&self) -> bool {
        false
    }

    fn answer_budget(&self, binding: &LlmConfig) -> Option<u32> {
        self.overrides.max_tokens(binding)
    }

    fn complete(&self, batch: Vec<Exchange>) -> Vec<Result<Completion, TransportFailure>> {
        batch.iter().map(|ex| self.answer(ex)).collect()
    }
}
