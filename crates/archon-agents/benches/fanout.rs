//! Fan-out against a mock server with a fixed 50 ms latency per call, at the
//! default concurrency (8). The bound is the critical path: N exchanges in
//! ceil(N / 8) dependent waves of 50 ms each. Run: `cargo bench -p archon-agents`.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::sync::Arc;
use std::time::Duration;

use archon_agents::{LlmBackend, Overrides, RetryPolicy, Transport, DEFAULT_CONCURRENCY};
use archon_core::agent_port::{Backend, Exchange, Message, Role};
use archon_core::roster::LlmConfig;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const LATENCY: Duration = Duration::from_millis(50);

fn exchanges(n: usize, base_url: &str) -> Vec<Exchange> {
    let schema = Arc::new(json!({"type": "object"}));
    (0..n)
        .map(|i| Exchange {
            archon_id: format!("id-{i}"),
            archon_name: format!("A{i}"),
            kind: "bench",
            binding: LlmConfig {
                provider: "vllm".into(),
                model: "m".into(),
                temperature: None,
                max_tokens: None,
                timeout_ms: None,
                api_key_env: None,
                base_url: Some(base_url.into()),
            },
            messages: vec![Message {
                role: Role::User,
                content: format!("question {i}"),
            }],
            schema: schema.clone(),
            simulated: None,
            attempt: 0,
        })
        .collect()
}

fn fanout(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let server = rt.block_on(MockServer::start());
    rt.block_on(
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"choices": [{"message": {"content": "{}"}}],
                                          "usage": {"prompt_tokens": 1, "completion_tokens": 1}}))
                    .set_delay(LATENCY),
            )
            .mount(&server),
    );
    let backend = LlmBackend::new(Transport {
        overrides: Overrides::default(),
        concurrency: DEFAULT_CONCURRENCY,
        per_endpoint_concurrency: DEFAULT_CONCURRENCY,
        retry: RetryPolicy {
            max_retries: 0,
            base: Duration::from_millis(10),
            cap: Duration::from_secs(1),
        },
        record: None,
        progress: archon_agents::Progress::off(),
        preflight: Vec::new(),
        concurrency_set: true,
    })
    .expect("backend");
    let mut group = c.benchmark_group("fanout_50ms");
    group.sample_size(10);
    for n in [8usize, 32, 72] {
        let waves = n.div_ceil(DEFAULT_CONCURRENCY) as u32;
        eprintln!("n={n}: critical-path bound {:?}", LATENCY * waves);
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            b.iter_batched(
                || exchanges(n, &server.uri()),
                |batch| {
                    let results = backend.complete(batch);
                    assert!(results.iter().all(Result::is_ok));
                },
                criterion::BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, fanout);
criterion_main!(benches);
