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
mod budget;
mod prompts;
mod simulated;
mod tally;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use rayon::prelude::*;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::roster::{Archon, LlmConfig};
use crate::seed::Seed;

pub use answer::{
    answer_schema, extract_json, unbounded_paths, DEFAULT_MAX_ITEMS, DEFAULT_MAX_STRING,
};
pub use budget::{fit_to_budget, listed_items_that_fit, longest_answer_tokens, LISTED};
pub use prompts::{check_template, render_prompt, SYSTEM_TEMPLATE};
pub use simulated::SimulatedBackend;
pub use tally::{AnswerTally, TallyCounts};

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
    /// How many entries the answer's listed array (see [`LISTED`]) must hold
    /// when the question lists its items and the engine matches the entries
    /// by position: the schema then asks for exactly that many, so a model's
    /// grammar cannot stop short or run on, and an answer with another count
    /// is invalid and asked again. `None`: the array's own bounds.
    fn listed_items(&self) -> Option<usize> {
        None
    }
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
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Completion {
    pub text: String,
    pub model: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// The server reported no token counts (or counts that are not tokens):
    /// the counts are estimates.
    pub usage_estimated: bool,
    pub latency_ms: u64,
    pub source: AnswerSource,
}

/// A call that did not produce text (after the backend's own retries).
#[derive(Debug, Clone, PartialEq, Eq, Default, thiserror::Error)]
#[error("{message}")]
pub struct TransportFailure {
    pub message: String,
    /// The model the call was addressed to, when the backend got that far.
    pub model: Option<String>,
    /// Time spent on the call, every attempt and wait included.
    pub latency_ms: u64,
}

impl TransportFailure {
    pub fn new(message: impl Into<String>) -> TransportFailure {
        TransportFailure {
            message: message.into(),
            ..TransportFailure::default()
        }
    }
}

/// Something that answers exchanges: simulation, an LLM server, a cassette.
pub trait Backend: Send + Sync {
    /// `simulation` or `llm` (a replay is the recording it replays); recorded in events.
    fn name(&self) -> &'static str;
    /// Whether the port must compute simulated answers for this backend.
    fn is_simulated(&self) -> bool;
    /// The most tokens an answer under `binding` may take (its `max_tokens`
    /// with the backend's overrides applied), to which the port sizes the
    /// answer schema; `None` (the default, and the simulation's) leaves the
    /// schema's own bounds.
    fn answer_budget(&self, _binding: &LlmConfig) -> Option<u32> {
        None
    }
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
    /// The counts are estimates (the server reported none, or not tokens).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub usage_estimated: bool,
    pub latency_ms: u64,
    /// Whether this process paid for the answer or read it from a cassette:
    /// accounting of the process, not of the run, so it is not written into
    /// artifacts (a resumed or replayed run writes what the recording wrote).
    #[serde(skip_serializing, default)]
    pub source: AnswerSource,
}

/// The model server failed during a stage (after the backend's retries):
/// nothing may be written from the answers that did not come.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the model server failed: {0}")]
pub struct ServerFailed(pub String);

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
    /// What became of every ask, shared by forks (the CLI reads it after a stage).
    tally: Arc<AnswerTally>,
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
            tally: Arc::default(),
        }
    }

    /// Counts this port's asks (and its forks') into `tally`.
    pub fn with_tally(mut self, tally: Arc<AnswerTally>) -> Agents {
        self.tally = tally;
        self
    }

    /// An error once a call of this port (or of a port sharing its tally)
    /// failed on transport, when the tally stops on transport failures (the
    /// CLI's does; otherwise a failed call is that archon's failure and the
    /// stage applies its own rule). A stage checks it before writing, so that
    /// no artifact is made from answers that never came.
    pub fn server_failed(&self) -> Result<(), ServerFailed> {
        match self.tally.transport_failure() {
            Some(failure) if self.tally.stops_on_transport_failure() => Err(ServerFailed(failure)),
            _ => Ok(()),
        }
    }

    /// What became of the asks so far (shared with forks).
    pub fn tally(&self) -> &Arc<AnswerTally> {
        &self.tally
    }

    /// The simulated backend with `seed`.
    pub fn simulated(seed: Seed) -> Agents {
        Agents::new(Arc::new(SimulatedBackend), seed)
    }

    /// Another port over the same backend (so the same concurrency limit), seed
    /// and re-ask bound, with its own call records: for work done side by side
    /// whose records must not mix.
    pub fn fork(&self) -> Agents {
        Agents::new(self.backend.clone(), self.seed)
            .with_max_reasks(self.max_reasks)
            .with_tally(self.tally.clone())
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

    /// How many items `archon` can be asked about in one answer of `Q`, whose
    /// answer lists one entry per item (see [`listed_items_that_fit`]);
    /// `None` when the backend sets no token budget (the simulation), so one
    /// question holds every item.
    pub fn items_per_answer<Q: Question>(&self, archon: &Archon) -> Option<usize> {
        let budget = self.backend.answer_budget(&archon.llm_config)?;
        Some(listed_items_that_fit(&answer_schema::<Q::Answer>(), budget))
    }

    /// Takes the call records made since the last call (for a stage's events).
    pub fn take_calls(&self) -> Vec<CallRecord> {
        std::mem::take(&mut *lock(&self.calls))
    }

    /// The answer schema of `Q` for a token budget (see [`fit_to_budget`]),
    /// compiled once per process: compiling one (regexes included) costs
    /// milliseconds, and every stage, motion and tactic has its own port.
    fn schema_of<Q: Question>(
        &self,
        budget: Option<u32>,
        listed: Option<usize>,
    ) -> Arc<answer::Schema> {
        type Key = (&'static str, Option<u32>, Option<usize>);
        static SCHEMAS: LazyLock<Mutex<HashMap<Key, Arc<answer::Schema>>>> =
            LazyLock::new(Mutex::default);
        lock(&SCHEMAS)
            .entry((std::any::type_name::<Q::Answer>(), budget, listed))
            .or_insert_with(|| Arc::new(answer::Schema::of::<Q::Answer>(budget, listed)))
            .clone()
    }

    /// Asks every archon its question; one result per ask, in order.
    pub fn ask_all<Q: Question>(
        &self,
        asks: &[Ask<'_, Q>],
    ) -> Vec<Result<Q::Answer, AgentFailure>> {
        // Each ask's schema is sized to its archon's token budget; asks
        // share the schema of one budget.
        type Sizing = (Option<u32>, Option<usize>);
        let mut distinct: Vec<(Sizing, Arc<answer::Schema>)> = Vec::new();
        let schemas: Vec<Arc<answer::Schema>> = asks
            .iter()
            .map(|ask| {
                let sizing = (
                    self.backend.answer_budget(&ask.archon.llm_config),
                    ask.question.listed_items(),
                );
                if let Some((_, s)) = distinct.iter().find(|(b, _)| *b == sizing) {
                    return s.clone();
                }
                let schema = self.schema_of::<Q>(sizing.0, sizing.1);
                distinct.push((sizing, schema.clone()));
                schema
            })
            .collect();
        let mut results = Vec::with_capacity(asks.len());
        let mut records = Vec::with_capacity(asks.len());
        std::thread::scope(|scope| {
            // A model takes far longer to answer than the validator takes to
            // compile: compiling it meanwhile keeps it off the critical path.
            if !self.backend.is_simulated() {
                for (_, schema) in distinct.iter().filter(|(_, s)| !s.is_compiled()) {
                    scope.spawn(|| schema.validator());
                }
            }
            for (round, schemas) in asks.chunks(ROUND_SIZE).zip(schemas.chunks(ROUND_SIZE)) {
                results.extend(self.ask_round(round, schemas, &mut records));
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
        schemas: &[Arc<answer::Schema>],
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
                    &schemas[i].json,
                ) {
                    Ok(m) => m,
                    Err(e) => {
                        self.tally.invalid(ask.archon, &e);
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
                .map(|(i, messages)| {
                    self.exchange(&asks[*i], messages.clone(), &schemas[*i], attempt)
                })
                .collect();
            // After a transport failure the stage cannot complete: the rest of
            // its questions fail at once instead of waiting on a dead server.
            let completions = match self.tally.transport_failure() {
                Some(broken) if self.tally.stops_on_transport_failure() => batch
                    .iter()
                    .map(|_| Err(TransportFailure::new(format!("not asked: {broken}"))))
                    .collect(),
                _ => self.backend.complete(batch),
            };
            // A valid answer's text is dropped as soon as it is decoded; only an
            // invalid one is kept, for the re-ask.
            let asked: Vec<usize> = pending.iter().map(|(i, _)| *i).collect();
            let answered: Vec<Answered<Q::Answer>> = completions
                .into_par_iter()
                .zip(asked)
                .map(|(completion, i)| match completion {
                    Err(e) => Answered::Failed(e),
                    Ok(mut c) => match schemas[i].decode::<Q::Answer>(&c.text) {
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
                let record = |c: &Completion, outcome: &str, error: Option<String>| CallRecord {
                    kind: Q::KIND.to_string(),
                    archon_id: archon.id.clone(),
                    archon_name: archon.name.clone(),
                    model: c.model.clone(),
                    attempt,
                    outcome: outcome.into(),
                    error,
                    prompt_tokens: c.prompt_tokens,
                    completion_tokens: c.completion_tokens,
                    usage_estimated: c.usage_estimated,
                    latency_ms: c.latency_ms,
                    source: c.source,
                };
                match answered {
                    Answered::Failed(e) => {
                        // The model the call was addressed to (flags applied),
                        // and the time it cost, even though nothing came back.
                        let spent = Completion {
                            model: e.model.clone().unwrap_or_else(|| "unknown".into()),
                            latency_ms: e.latency_ms,
                            source: AnswerSource::Live,
                            ..Completion::default()
                        };
                        records.push(record(&spent, "failed", Some(e.message.clone())));
                        self.tally.failed(&e.message);
                        results[i] = Some(Err(failure::<Q>(archon, attempt + 1, e.message)));
                    }
                    Answered::Valid(c, answer) => {
                        records.push(record(&c, "ok", None));
                        self.tally.valid(attempt);
                        results[i] = Some(Ok(answer));
                    }
                    Answered::Invalid(c, errors) => {
                        let joined = errors.join("; ");
                        records.push(record(&c, "invalid", Some(joined.clone())));
                        if attempt < self.max_reasks {
                            self.tally.reasked();
                            // The re-ask replaces the previous one: the prompt,
                            // the last answer (cut) and its errors, so the
                            // conversation does not grow with every attempt.
                            let mut messages = messages;
                            messages.truncate(2);
                            messages.push(Message {
                                role: Role::Assistant,
                                content: answer::cut(&c.text, answer::REASK_ANSWER_CHARS),
                            });
                            messages.push(Message {
                                role: Role::User,
                                content: answer::reask_message(&errors),
                            });
                            next.push((i, messages));
                        } else {
                            self.tally.invalid(archon, &joined);
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
