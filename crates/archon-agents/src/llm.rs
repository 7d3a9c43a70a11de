//! The live backend: model servers over HTTP, with bounded concurrency, the
//! one retry loop, and optional recording into a cassette.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use archon_core::agent_port::{AnswerSource, Backend, Completion, Exchange, TransportFailure};
use archon_core::roster::LlmConfig;
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::binding::{Binding, Overrides};
use crate::cassette::{self, Cassette, Entry, RecordedResponse, RequestSummary};
use crate::progress::Progress;
use crate::retry::{is_retryable_status, parse_retry_after, RetryPolicy};
use crate::wire::{self, WireAnswer};
use crate::AgentsError;

/// Transport limits of an [`LlmBackend`].
#[derive(Debug, Clone)]
pub struct Transport {
    pub overrides: Overrides,
    /// Calls in flight at once, over all endpoints.
    pub concurrency: usize,
    /// Calls in flight at once to one base URL.
    pub per_endpoint_concurrency: usize,
    pub retry: RetryPolicy,
    /// Record answered exchanges here, and reuse recorded ones.
    pub record: Option<Cassette>,
    /// Where each batch shows its bar (labelled with its question kinds).
    pub progress: Progress,
    /// The bindings in use, checked against their servers before the first
    /// question (see [`crate::preflight`]); empty to skip the check.
    pub preflight: Vec<Binding>,
    /// Whether `concurrency` was chosen by the user; when not, the slot count
    /// a server reports becomes the limit.
    pub concurrency_set: bool,
}

/// Answers exchanges by calling model servers. `complete` is synchronous: the
/// backend owns a small tokio runtime and blocks on one bounded fan-out per batch.
pub struct LlmBackend {
    runtime: tokio::runtime::Runtime,
    inner: Arc<Inner>,
    progress: Progress,
}

struct Inner {
    client: reqwest::Client,
    overrides: Overrides,
    retry: RetryPolicy,
    global: Arc<Semaphore>,
    per_endpoint_concurrency: usize,
    endpoints: Mutex<BTreeMap<String, Arc<Semaphore>>>,
    record: Option<Recorder>,
}

/// The cassette being recorded, with one lock per key so that two identical
/// exchanges in flight make one call, not two.
struct Recorder {
    cassette: Cassette,
    keys: Mutex<BTreeMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// Why one HTTP attempt produced no answer.
enum AttemptError {
    /// Worth another attempt (429, 5xx, connection error); never a stall,
    /// since the server may still be producing that answer.
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Retrying would fail the same way (other 4xx, malformed body).
    Fatal(String),
}

impl LlmBackend {
    pub fn new(transport: Transport) -> Result<LlmBackend, AgentsError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("archon-llm")
            .enable_all()
            .build()
            .map_err(|e| AgentsError::Runtime(e.to_string()))?;
        let client = reqwest::Client::builder()
            .user_agent(concat!("archon/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| AgentsError::Runtime(e.to_string()))?;
        let servers = runtime.block_on(crate::preflight::check(&client, &transport.preflight))?;
        let mut concurrency = transport.concurrency;
        let mut per_endpoint_concurrency = transport.per_endpoint_concurrency;
        if !transport.concurrency_set {
            if let Some(slots) = servers.iter().filter_map(|s| s.slots).min() {
                tracing::info!("concurrency {slots}: the server's slot count");
                concurrency = slots;
                per_endpoint_concurrency = per_endpoint_concurrency.min(slots);
            }
        }
        let transport = Transport {
            concurrency,
            per_endpoint_concurrency,
            ..transport
        };
        Ok(LlmBackend {
            runtime,
            progress: transport.progress,
            inner: Arc::new(Inner {
                client,
                overrides: transport.overrides,
                retry: transport.retry,
                global: Arc::new(Semaphore::new(transport.concurrency.max(1))),
                per_endpoint_concurrency: transport.per_endpoint_concurrency.max(1),
                endpoints: Mutex::new(BTreeMap::new()),
                record: transport.record.map(|cassette| Recorder {
                    cassette,
                    keys: Mutex::new(BTreeMap::new()),
                }),
            }),
        })
    }
}

impl Backend for LlmBackend {
    fn name(&self) -> &'static str {
        "llm"
    }

    fn is_simulated(&self) -> bool {
        false
    }

    fn answer_budget(&self, binding: &LlmConfig) -> Option<u32> {
        self.inner.overrides.max_tokens(binding)
    }

    fn complete(&self, batch: Vec<Exchange>) -> Vec<Result<Completion, TransportFailure>> {
        let n = batch.len();
        let kinds: BTreeSet<&str> = batch.iter().map(|ex| ex.kind).collect();
        let bar = self
            .progress
            .bar(&kinds.into_iter().collect::<Vec<_>>().join(", "), n as u64);
        let handles: Vec<_> = batch
            .into_iter()
            .map(|ex| {
                let inner = self.inner.clone();
                let done = bar.handle();
                self.runtime.spawn(async move {
                    let answer = inner.answer(ex).await;
                    done.inc(1);
                    answer
                })
            })
            .collect();
        // Awaiting the handles in order commits results in input order,
        // whatever order the calls finish in.
        let collect = || {
            self.runtime.block_on(async {
                let mut out = Vec::with_capacity(n);
                for handle in handles {
                    out.push(handle.await.unwrap_or_else(|e| {
                        Err(TransportFailure {
                            message: format!("model call task failed: {e}"),
                            ..TransportFailure::default()
                        })
                    }));
                }
                out
            })
        };
        // Blocking inside a runtime would panic; a caller that is itself async
        // gets the wait on a helper thread instead.
        if tokio::runtime::Handle::try_current().is_err() {
            return collect();
        }
        std::thread::scope(|s| s.spawn(collect).join()).unwrap_or_else(|_| {
            (0..n)
                .map(|_| {
                    Err(TransportFailure {
                        message: "model call batch panicked".into(),
                        ..TransportFailure::default()
                    })
                })
                .collect()
        })
    }
}

impl Inner {
    async fn answer(&self, ex: Exchange) -> Result<Completion, TransportFailure> {
        let binding = self
            .overrides
            .resolve(&ex.archon_name, &ex.binding)
            .map_err(|e| TransportFailure {
                message: e.to_string(),
                ..TransportFailure::default()
            })?;
        let key = cassette::key(&binding, &ex.messages, &ex.schema);
        let Some(recorder) = &self.record else {
            let (answer, latency_ms) = self.call(&ex, &binding, &key).await?;
            return Ok(completion(answer, latency_ms));
        };
        let key_lock = {
            let mut keys = recorder.keys.lock().unwrap_or_else(|e| e.into_inner());
            keys.entry(key.clone()).or_default().clone()
        };
        let _held = key_lock.lock().await;
        let fail = |message: String| TransportFailure {
            message: format!("{} ({}): {message}", ex.archon_name, ex.kind),
            ..TransportFailure::default()
        };
        if let Some(entry) = recorder.cassette.load(&key).map_err(fail)? {
            return Ok(replayed(entry));
        }
        let (answer, latency_ms) = self.call(&ex, &binding, &key).await?;
        let entry = Entry {
            schema_version: cassette::CASSETTE_SCHEMA_VERSION.into(),
            key,
            request: RequestSummary {
                endpoint: binding.kind,
                base_url: binding.base_url.clone(),
                model: binding.model.clone(),
                archon_id: ex.archon_id.clone(),
                archon_name: ex.archon_name.clone(),
                kind: ex.kind.to_string(),
                attempt: ex.attempt,
                temperature: binding.temperature,
                max_tokens: binding.max_tokens,
                messages: ex.messages.clone(),
            },
            response: RecordedResponse::new(answer, latency_ms),
        };
        // The entry is synced to disk before the answer is used, on the blocking
        // pool: a runtime worker waiting on the disk would hold up other calls.
        let cassette = recorder.cassette.clone();
        let (entry, stored) = tokio::task::spawn_blocking(move || {
            let stored = cassette.store(&entry);
            (entry, stored)
        })
        .await
        .map_err(|e| fail(format!("recording the answer failed: {e}")))?;
        // The answer is good even if it cannot be stored; losing it would pay twice.
        if let Err(e) = stored {
            tracing::warn!(archon = %ex.archon_name, kind = ex.kind, "cannot record exchange: {e}");
        }
        Ok(live(entry.response))
    }

    fn endpoint(&self, base_url: &str) -> Arc<Semaphore> {
        let mut endpoints = self.endpoints.lock().unwrap_or_else(|e| e.into_inner());
        endpoints
            .entry(base_url.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_endpoint_concurrency)))
            .clone()
    }

    /// One exchange with its retries, holding an endpoint and a global permit
    /// throughout (so backoff also slows the pressure on a rate-limited server).
    /// The latency covers every attempt and wait.
    async fn call(
        &self,
        ex: &Exchange,
        binding: &Binding,
        key: &str,
    ) -> Result<(WireAnswer, u64), TransportFailure> {
        let api_key = binding
            .api_key(&ex.archon_name)
            .map_err(|e| TransportFailure {
                message: e.to_string(),
                ..TransportFailure::default()
            })?;
        let url = binding.url();
        let queued = Instant::now();
        // A failed call is recorded with the model it was addressed to and
        // the time it cost, like an answered one.
        let fail = |message: String| TransportFailure {
            message: redact(
                format!(
                    "{} ({}): model {} at {url}: {message}",
                    ex.archon_name, ex.kind, binding.model
                ),
                api_key.as_deref(),
            ),
            model: Some(binding.model.clone()),
            latency_ms: u64::try_from(queued.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        let body = wire::request_body(binding, ex.kind, &ex.messages, &ex.schema);
        // Closed semaphores are impossible here (never closed); treat as a failure anyway.
        let _endpoint = self
            .endpoint(&binding.base_url)
            .acquire_owned()
            .await
            .map_err(|e| fail(e.to_string()))?;
        let _global = self
            .global
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| fail(e.to_string()))?;
        let started = Instant::now();
        let mut retries = 0;
        loop {
            match self
                .attempt(&url, &body, api_key.as_deref(), binding, &ex.messages)
                .await
            {
                Ok(answer) => {
                    let latency = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                    return Ok((answer, latency));
                }
                Err(AttemptError::Fatal(message)) => return Err(fail(message)),
                Err(AttemptError::Transient {
                    reason,
                    retry_after,
                }) => {
                    if retries >= self.retry.max_retries {
                        return Err(fail(format!(
                            "{reason} (gave up after {} attempts)",
                            retries + 1
                        )));
                    }
                    retries += 1;
                    let wait = self.retry.delay(retries, key, retry_after);
                    tracing::info!(
                        archon = %ex.archon_name,
                        kind = ex.kind,
                        retry = retries,
                        wait_ms = wait.as_millis() as u64,
                        "retrying model call: {}",
                        redact(reason, api_key.as_deref())
                    );
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// One HTTP attempt. The answer is streamed (SSE or NDJSON, as the
    /// protocol has it) and the binding's timeout applies to each wait for the
    /// next bytes, not to the whole answer: a slow CPU server that keeps
    /// producing tokens is never cut off, a stalled one is.
    async fn attempt(
        &self,
        url: &str,
        body: &Value,
        api_key: Option<&str>,
        binding: &Binding,
        messages: &[archon_core::agent_port::Message],
    ) -> Result<WireAnswer, AttemptError> {
        let mut request = self.client.post(url).json(body);
        if let Some(key) = api_key {
            request = request.bearer_auth(key);
        }
        let stall = binding.timeout;
        let stalled = || {
            AttemptError::Fatal(format!(
                "stalled: no data for {} ms (the timeout applies between tokens); not retried, as the server may still be working on it",
                stall.as_millis()
            ))
        };
        let transport_error = |e: reqwest::Error| {
            let reason = if e.is_connect() {
                format!("cannot connect: {}", error_chain(&e))
            } else {
                error_chain(&e)
            };
            AttemptError::Transient {
                reason,
                retry_after: None,
            }
        };
        let mut response = tokio::time::timeout(stall, request.send())
            .await
            .map_err(|_| stalled())?
            .map_err(transport_error)?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let streamed = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/event-stream") || t.contains("ndjson"));
        let mut bytes = Vec::new();
        let mut stream = wire::StreamDecoder::new(binding.kind);
        loop {
            let chunk = tokio::time::timeout(stall, response.chunk())
                .await
                .map_err(|_| stalled())?
                .map_err(transport_error)?;
            let Some(chunk) = chunk else { break };
            if streamed && status.is_success() {
                stream.feed(&chunk);
            } else {
                bytes.extend_from_slice(&chunk);
            }
        }
        if status.is_success() {
            return if streamed {
                stream.finish(binding, messages)
            } else {
                wire::decode_response(binding, messages, &bytes)
            }
            .map_err(AttemptError::Fatal);
        }
        let reason = format!("HTTP {status}: {}", wire::error_message(&bytes));
        if is_retryable_status(status.as_u16()) {
            Err(AttemptError::Transient {
                reason,
                retry_after,
            })
        } else {
            Err(AttemptError::Fatal(reason))
        }
    }
}

fn completion(answer: WireAnswer, latency_ms: u64) -> Completion {
    live(RecordedResponse::new(answer, latency_ms))
}

fn live(r: RecordedResponse) -> Completion {
    Completion {
        text: r.text,
        model: r.model,
        prompt_tokens: r.prompt_tokens,
        completion_tokens: r.completion_tokens,
        usage_estimated: r.usage_estimated,
        latency_ms: r.latency_ms,
        source: AnswerSource::Live,
    }
}

/// The recorded answer, as the port sees it: same text, tokens and latency as
/// when it was live, so a replayed run accounts exactly like the recorded one.
pub(crate) fn replayed(entry: Entry) -> Completion {
    Completion {
        source: AnswerSource::Replayed,
        ..live(entry.response)
    }
}

/// reqwest's message with its causes ("connection refused" is in a source).
pub(crate) fn error_chain(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Belt and braces: a server that echoes the key back never gets it into a message.
fn redact(text: String, api_key: Option<&str>) -> String {
    match api_key {
        Some(key) if !key.is_empty() => text.replace(key, "[redacted]"),
        _ => text,
    }
}
