//! The agent port: how stages ask archons typed questions.
//!
//! A stage builds [`Ask`]s of one [`Question`] type and calls [`Agents::ask_all`],
//! which returns one `Result` per ask, in the order asked (fan-out returns values;
//! the stage writes them). The port renders prompts, validates every answer against
//! the JSON Schema of its type, re-asks invalid answers a bounded number of times
//! and records each call for accounting. How an answer is obtained is the
//! [`Backend`]'s business: the simulated backend (here), or the LLM and replay
//! backends of the `archon-agents` crate. Stages never see which one runs.

mod answer;
mod prompts;
mod simulated;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use rayon::prelude::*;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::roster::{Archon, LlmConfig};
use crate::seed::Seed;

pub use answer::extract_json;
pub use prompts::{check_template, render_prompt, SYSTEM_TEMPLATE};
pub use simulated::SimulatedBackend;

/// A typed question a stage asks one archon.
pub trait Question: Serialize + Send + Sync {
    /// The answer type; its JSON Schema is what the model must return.
    type Answer: Serialize + DeserializeOwned + JsonSchema + Send;
    /// Stable name of the question (events, accounting, cassettes).
    const KIND: &'static str;
    /// The minijinja template of the user message; it sees `q` (this question),
    /// `archon` and `answer_schema`. Keep it as a file: `include_str!("…/x.j2")`.
    const TEMPLATE: &'static str;
    /// The deterministic answer of the simulated backend.
    fn simulate(&self, ctx: &SimContext<'_>) -> Self::Answer;
}

/// What the simulated backend knows when it answers.
pub struct SimContext<'a> {
    pub seed: Seed,
    pub archon: &'a Archon,
    /// 0 for the first ask, 1.. for re-asks after an invalid answer.
    pub attempt: u32,
}

/// One question to one archon.
pub struct Ask<'a, Q> {
    pub archon: &'a Archon,
    pub question: Q,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

/// What a backend is asked to answer: one model call.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub archon_id: String,
    pub archon_name: String,
    pub kind: &'static str,
    pub binding: LlmConfig,
    /// The conversation; empty when the backend does not use prompts.
    pub messages: Vec<Message>,
    /// JSON Schema of the expected answer.
    pub schema: Arc<serde_json::Value>,
    /// The simulated answer, present only when the backend is simulated.
    pub simulated: Option<String>,
    pub attempt: u32,
}

/// Where an answer came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnswerSource {
    Simulated,
    #[default]
    Live,
    Replayed,
}

/// A backend's answer to one exchange.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub text: String,
    pub model: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub latency_ms: u64,
    pub source: AnswerSource,
}

/// A call that did not produce text (after the backend's own retries).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TransportFailure {
    pub message: String,
}

/// Something that answers exchanges: simulation, an LLM server, a cassette.
pub trait Backend: Send + Sync {
    /// `simulation` or `llm` (a replay is the recording it replays); recorded in events.
    fn name(&self) -> &'static str;
    /// Whether the port must compute simulated answers for this backend.
    fn is_simulated(&self) -> bool;
    /// Answers a batch; the result has one entry per exchange, in order.
    fn complete(&self, batch: Vec<Exchange>) -> Vec<Result<Completion, TransportFailure>>;
}

/// The accounting record of one model call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    pub kind: String,
    pub archon_id: String,
    pub archon_name: String,
    pub model: String,
    pub attempt: u32,
    /// `ok`, `invalid` (answer failed validation) or `failed` (no answer).
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub latency_ms: u64,
    /// Whether this process paid for the answer or read it from a cassette:
    /// accounting of the process, not of the run, so it is not written into
    /// artifacts (a resumed or replayed run writes what the recording wrote).
    #[serde(skip_serializing, default)]
    pub source: AnswerSource,
}

/// An archon that gave no valid answer; the stage applies its own rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{archon_name} gave no valid {kind} answer after {attempts} attempt(s): {reason}")]
pub struct AgentFailure {
    pub archon_id: String,
    pub archon_name: String,
    pub kind: String,
    pub attempts: u32,
    pub reason: String,
}

/// The port itself: a backend plus validation, re-asks and accounting.
pub struct Agents {
    backend: Arc<dyn Backend>,
    seed: Seed,
    max_reasks: u32,
    calls: Mutex<Vec<CallRecord>>,
}

/// Where a stage writes the call records of its model calls (`archon usage`
/// totals every such file below a folder).
pub const CALLS_FILE: &str = "agent_calls.jsonl";

/// How many times an invalid answer is re-asked by default.
pub const DEFAULT_MAX_REASKS: u32 = 2;

/// A fan-out goes to the backend in rounds of at most this many asks, so the
/// exchanges and answer texts held at once stay bounded however many asks a
/// stage makes (far above any model server's concurrency, so LLM calls still
/// run as concurrently as the backend allows).
const ROUND_SIZE: usize = 4096;

/// What became of one exchange of a round.
enum Answered<A> {
    Failed(TransportFailure),
    /// The completion (its text dropped) and the decoded answer.
    Valid(Completion, A),
    /// The completion and why its answer was rejected.
    Invalid(Completion, Vec<String>),
}

impl Agents {
    pub fn new(backend: Arc<dyn Backend>, seed: Seed) -> Agents {
        Agents {
            backend,
            seed,
            max_reasks: DEFAULT_MAX_REASKS,
            calls: Mutex::new(Vec::new()),
        }
    }

    /// The simulated backend with `seed`.
    pub fn simulated(seed: Seed) -> Agents {
        Agents::new(Arc::new(SimulatedBackend), seed)
    }

    /// Another port over the same backend (so the same concurrency limit), seed
    /// and re-ask bound, with its own call records: for work done side by side
    /// whose records must not mix.
    pub fn fork(&self) -> Agents {
        Agents::new(self.backend.clone(), self.seed).with_max_reasks(self.max_reasks)
    }

    pub fn with_max_reasks(mut self, n: u32) -> Agents {
        self.max_reasks = n;
        self
    }

    pub fn seed(&self) -> Seed {
        self.seed
    }

    pub fn backend_name(&self) -> &'static str {
        self.backend.name()
    }

    /// What kind of answers a run gets: `simulation`, or `llm` for model
    /// answers whether live or replayed from a recording. Artifacts record
    /// this, not the backend, so a replay reproduces its recording byte for
    /// byte; the backend shows only in each call record's `source`.
    pub fn mode(&self) -> &'static str {
        if self.backend.is_simulated() {
            "simulation"
        } else {
            "llm"
        }
    }

    /// Takes the call records made since the last call (for a stage's events).
    pub fn take_calls(&self) -> Vec<CallRecord> {
        std::mem::take(&mut *lock(&self.calls))
    }

    /// The answer schema of `Q`, compiled once per process: compiling one
    /// (regexes included) costs milliseconds, and every stage, motion and
    /// tactic has its own port.
    fn schema_of<Q: Question>(&self) -> Arc<answer::Schema> {
        static SCHEMAS: LazyLock<Mutex<HashMap<&'static str, Arc<answer::Schema>>>> =
            LazyLock::new(Mutex::default);
        lock(&SCHEMAS)
            .entry(std::any::type_name::<Q::Answer>())
            .or_insert_with(|| Arc::new(answer::Schema::of::<Q::Answer>()))
            .clone()
    }

    /// Asks every archon its question; one result per ask, in order.
    pub fn ask_all<Q: Question>(
        &self,
        asks: &[Ask<'_, Q>],
    ) -> Vec<Result<Q::Answer, AgentFailure>> {
        let schema = self.schema_of::<Q>();
        let mut results = Vec::with_capacity(asks.len());
        let mut records = Vec::with_capacity(asks.len());
        std::thread::scope(|scope| {
            // A model takes far longer to answer than the validator takes to
            // compile: compiling it meanwhile keeps it off the critical path.
            if !self.backend.is_simulated() && !schema.is_compiled() {
                scope.spawn(|| schema.validator());
            }
            for round in asks.chunks(ROUND_SIZE) {
                results.extend(self.ask_round(round, &schema, &mut records));
            }
        });
        let mut calls = lock(&self.calls);
        if calls.is_empty() {
            *calls = records;
        } else {
            calls.extend(records);
        }
        drop(calls);
        results
    }

    /// One round of [`Agents::ask_all`]: asks, validation and re-asks.
    fn ask_round<Q: Question>(
        &self,
        asks: &[Ask<'_, Q>],
        schema: &answer::Schema,
        records: &mut Vec<CallRecord>,
    ) -> Vec<Result<Q::Answer, AgentFailure>> {
        let mut results: Vec<Option<Result<Q::Answer, AgentFailure>>> =
            asks.iter().map(|_| None).collect();
        // (index into asks, conversation so far)
        let mut pending: Vec<(usize, Vec<Message>)> = Vec::with_capacity(asks.len());
        for (i, ask) in asks.iter().enumerate() {
            let messages = if self.backend.is_simulated() {
                Vec::new()
            } else {
                match render_prompt(
                    Q::KIND,
                    Q::TEMPLATE,
                    ask.archon,
                    &ask.question,
                    &schema.json,
                ) {
                    Ok(m) => m,
                    Err(e) => {
                        results[i] = Some(Err(failure::<Q>(ask.archon, 0, e)));
                        continue;
                    }
                }
            };
            pending.push((i, messages));
        }
        for attempt in 0..=self.max_reasks {
            if pending.is_empty() {
                break;
            }
            // Simulated answers and decoding are pure CPU work: spread them over the cores.
            let batch: Vec<Exchange> = pending
                .par_iter()
                .map(|(i, messages)| self.exchange(&asks[*i], messages.clone(), schema, attempt))
                .collect();
            // A valid answer's text is dropped as soon as it is decoded; only an
            // invalid one is kept, for the re-ask.
            let answered: Vec<Answered<Q::Answer>> = self
                .backend
                .complete(batch)
                .into_par_iter()
                .map(|completion| match completion {
                    Err(e) => Answered::Failed(e),
                    Ok(mut c) => match schema.decode::<Q::Answer>(&c.text) {
                        Ok(answer) => {
                            c.text = String::new();
                            Answered::Valid(c, answer)
                        }
                        Err(errors) => Answered::Invalid(c, errors),
                    },
                })
                .collect();
            let mut next = Vec::new();
            for ((i, messages), answered) in pending.into_iter().zip(answered) {
                let archon = asks[i].archon;
                let record =
                    |c: Option<&Completion>, outcome: &str, error: Option<String>| CallRecord {
                        kind: Q::KIND.to_string(),
                        archon_id: archon.id.clone(),
                        archon_name: archon.name.clone(),
                        model: c
                            .map_or_else(|| archon.llm_config.model.clone(), |c| c.model.clone()),
                        attempt,
                        outcome: outcome.into(),
                        error,
                        prompt_tokens: c.map_or(0, |c| c.prompt_tokens),
                        completion_tokens: c.map_or(0, |c| c.completion_tokens),
                        latency_ms: c.map_or(0, |c| c.latency_ms),
                        source: c.map_or(AnswerSource::Live, |c| c.source),
                    };
                match answered {
                    Answered::Failed(e) => {
                        records.push(record(None, "failed", Some(e.message.clone())));
                        results[i] = Some(Err(failure::<Q>(archon, attempt + 1, e.message)));
                    }
                    Answered::Valid(c, answer) => {
                        records.push(record(Some(&c), "ok", None));
                        results[i] = Some(Ok(answer));
                    }
                    Answered::Invalid(c, errors) => {
                        let joined = errors.join("; ");
                        records.push(record(Some(&c), "invalid", Some(joined.clone())));
                        if attempt < self.max_reasks {
                            let mut messages = messages;
                            messages.push(Message {
                                role: Role::Assistant,
                                content: c.text,
                            });
                            messages.push(Message {
                                role: Role::User,
                                content: answer::reask_message(&errors),
                            });
                            next.push((i, messages));
                        } else {
                            results[i] = Some(Err(failure::<Q>(archon, attempt + 1, joined)));
                        }
                    }
                }
            }
            pending = next;
        }
        results
            .into_iter()
            .zip(asks)
            .map(|(r, ask)| {
                r.unwrap_or_else(|| Err(failure::<Q>(ask.archon, 0, "not answered".into())))
            })
            .collect()
    }

    fn exchange<Q: Question>(
        &self,
        ask: &Ask<'_, Q>,
        messages: Vec<Message>,
        schema: &answer::Schema,
        attempt: u32,
    ) -> Exchange {
        let simulated = self.backend.is_simulated().then(|| {
            let ctx = SimContext {
                seed: self.seed,
                archon: ask.archon,
                attempt,
            };
            serde_json::to_string(&ask.question.simulate(&ctx))
                .unwrap_or_else(|e| format!("<unserializable simulated answer: {e}>"))
        });
        Exchange {
            archon_id: ask.archon.id.clone(),
            archon_name: ask.archon.name.clone(),
            kind: Q::KIND,
            binding: ask.archon.llm_config.clone(),
            messages,
            schema: schema.json.clone(),
            simulated,
            attempt,
        }
    }
}

fn failure<Q: Question>(archon: &Archon, attempts: u32, reason: String) -> AgentFailure {
    AgentFailure {
        archon_id: archon.id.clone(),
        archon_name: archon.name.clone(),
        kind: Q::KIND.to_string(),
        attempts,
        reason,
    }
}

/// Locks a mutex, recovering the data if another thread panicked while holding it.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests;
