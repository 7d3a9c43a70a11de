//! Model backends behind the agent port: OpenAI-compatible chat completions,
//! Ollama's native chat API, and replay from recorded exchanges.
//!
//! The port (`archon_core::agent_port`) renders prompts, validates answers and
//! re-asks; this crate owns everything between a prompt and its text: binding
//! resolution (roster, `archon.toml`, flags), HTTP, concurrency limits, the one
//! retry loop, token accounting, and record/replay cassettes. [`usage`] totals
//! the call records that stages write.
//!
//! Architecture invariant: API keys are read from the environment variable a
//! binding names, placed in the `Authorization` header, and nowhere else — not in
//! cassettes, errors, logs or call records.

pub mod binding;
pub mod cassette;
pub mod config;
mod llm;
pub mod preflight;
pub mod progress;
mod replay;
pub mod retry;
pub mod usage;
pub mod wire;

use std::sync::Arc;

use archon_core::agent_port::{Agents, Backend};
use archon_core::roster::Archon;
use archon_core::seed::Seed;

pub use binding::{Binding, BindingError, EndpointKind, Overrides};
pub use cassette::Cassette;
pub use config::{
    CassetteMode, ConfigError, ConfigFile, LlmFlags, LlmSettings, Price, DEFAULT_CONCURRENCY,
};
pub use llm::{LlmBackend, Transport};
pub use progress::{Progress, ProgressMode};
pub use replay::ReplayBackend;
pub use retry::RetryPolicy;

#[derive(Debug, thiserror::Error)]
pub enum AgentsError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{} archon binding(s) unusable:\n  {}", .0.len(), .0.join("\n  "))]
    Bindings(Vec<String>),
    #[error("cassette {path}: {message}")]
    Cassette { path: String, message: String },
    /// The model server is down, not ready, or lacks the model.
    #[error("{0}")]
    Preflight(String),
    #[error("cannot start the HTTP client: {0}")]
    Runtime(String),
}

/// The backend the settings describe: replay from a cassette, or live HTTP
/// (recording when asked). Every archon's binding is checked first, so a bad
/// provider or a missing API key variable is one clear error before any call.
/// Live batches show a bar on `progress`.
pub fn backend(
    settings: &LlmSettings,
    archons: &[Archon],
    progress: &Progress,
) -> Result<Arc<dyn Backend>, AgentsError> {
    let replaying = matches!(settings.cassette, CassetteMode::Replay(_));
    let mut bindings = Vec::new();
    let problems: Vec<String> = archons
        .iter()
        .filter_map(|a| {
            let binding = settings.overrides.resolve(&a.name, &a.llm_config);
            let checked = binding.and_then(|b| {
                if !replaying {
                    b.api_key(&a.name)?;
                }
                bindings.push(b);
                Ok(())
            });
            checked.err().map(|e| e.to_string())
        })
        .collect();
    if !problems.is_empty() {
        return Err(AgentsError::Bindings(problems));
    }
    let cassette_error = |dir: &std::path::Path, e: std::io::Error| AgentsError::Cassette {
        path: dir.display().to_string(),
        message: e.to_string(),
    };
    let record = match &settings.cassette {
        CassetteMode::Replay(dir) => {
            let cassette = Cassette::for_replay(dir).map_err(|e| cassette_error(dir, e))?;
            return Ok(Arc::new(ReplayBackend::new(
                settings.overrides.clone(),
                cassette,
            )));
        }
        CassetteMode::Record(dir) => {
            Some(Cassette::for_recording(dir).map_err(|e| cassette_error(dir, e))?)
        }
        CassetteMode::Off => None,
    };
    Ok(Arc::new(LlmBackend::new(Transport {
        overrides: settings.overrides.clone(),
        concurrency: settings.concurrency,
        per_endpoint_concurrency: settings.per_endpoint_concurrency,
        retry: RetryPolicy {
            max_retries: settings.max_retries,
            base: settings.retry_base,
            cap: settings.retry_cap,
        },
        record,
        progress: progress.clone(),
        preflight: bindings,
        concurrency_set: settings.concurrency_set,
    })?))
}

/// The agent port over [`backend`], with the configured re-ask bound.
pub fn agents(
    settings: &LlmSettings,
    archons: &[Archon],
    seed: Seed,
    progress: &Progress,
) -> Result<Agents, AgentsError> {
    Ok(Agents::new(backend(settings, archons, progress)?, seed)
        .with_max_reasks(settings.max_reasks))
}
