//! Shared fixtures of the backend tests: a tiny question, test archons, and a
//! wiremock server driven from synchronous test code (the backend owns its own
//! runtime, so tests must not run inside one).
#![allow(clippy::unwrap_used)] // tests fail loudly by design
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use archon_agents::{Cassette, LlmBackend, Overrides, RetryPolicy, Transport};
use archon_core::agent_port::{Agents, Ask, Question, SimContext};
use archon_core::roster::Archon;
use archon_core::seed::Seed;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

#[derive(Serialize)]
pub struct Probe {
    pub word: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProbeAnswer {
    pub word: String,
    pub letters: u32,
}

impl Question for Probe {
    type Answer = ProbeAnswer;
    const KIND: &'static str = "probe";
    const TEMPLATE: &'static str = include_str!("probe.j2");
    fn simulate(&self, _ctx: &SimContext<'_>) -> ProbeAnswer {
        ProbeAnswer {
            word: self.word.clone(),
            letters: self.word.len() as u32,
        }
    }
}

pub fn archon(name: &str, provider: &str, base_url: &str) -> Archon {
    serde_json::from_value(json!({
        "id": format!("id-{name}"), "name": name, "rank": "Duke", "aegis_rank": "senior_director",
        "rank_level": 7, "branch": "administrative_senior", "role": "Senior Director - Tests",
        "goal": "test", "backstory": "b", "system_prompt": format!("You are {name}."),
        "llm_config": {"provider": provider, "model": "roster-model", "temperature": 0.5,
                        "max_tokens": 200, "base_url": base_url}
    }))
    .expect("test archon")
}

/// A mock server and the runtime that talks to it.
pub struct Server {
    pub rt: tokio::runtime::Runtime,
    pub mock: MockServer,
}

impl Server {
    pub fn start() -> Server {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let mock = rt.block_on(MockServer::start());
        Server { rt, mock }
    }

    pub fn url(&self) -> String {
        self.mock.uri()
    }

    pub fn mount(&self, mock: Mock) {
        self.rt.block_on(mock.mount(&self.mock));
    }

    pub fn requests(&self) -> Vec<Request> {
        self.rt
            .block_on(self.mock.received_requests())
            .unwrap_or_default()
    }
}

pub fn transport(record: Option<Cassette>) -> Transport {
    Transport {
        overrides: Overrides::default(),
        concurrency: 8,
        per_endpoint_concurrency: 8,
        retry: RetryPolicy {
            max_retries: 4,
            base: Duration::from_millis(10),
            cap: Duration::from_secs(2),
        },
        record,
        progress: archon_agents::Progress::off(),
    }
}

pub fn agents(transport: Transport) -> Agents {
    Agents::new(
        Arc::new(LlmBackend::new(transport).expect("backend")),
        Seed(1),
    )
}

pub fn ask_each<'a>(archons: &'a [Archon], word: &str) -> Vec<Ask<'a, Probe>> {
    archons
        .iter()
        .map(|archon| Ask {
            archon,
            question: Probe { word: word.into() },
        })
        .collect()
}

/// An OpenAI chat completion carrying `content`.
pub fn openai_body(content: &str) -> serde_json::Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "served-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
    })
}

/// An Ollama chat response carrying `content`.
pub fn ollama_body(content: &str) -> serde_json::Value {
    json!({
        "model": "llama-served", "created_at": "2026-01-01T00:00:00Z",
        "message": {"role": "assistant", "content": content},
        "done": true, "done_reason": "stop", "prompt_eval_count": 11, "eval_count": 4
    })
}

/// Answers each probe correctly, from the word quoted in its prompt.
pub struct ProbeResponder {
    pub ollama: bool,
}

impl Respond for ProbeResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: serde_json::Value = request.body_json().unwrap_or_default();
        let prompt = body["messages"][1]["content"].as_str().unwrap_or_default();
        let word = prompt.split('"').nth(1).unwrap_or_default();
        let answer = json!({"word": word, "letters": word.len()}).to_string();
        let body = if self.ollama {
            ollama_body(&answer)
        } else {
            openai_body(&answer)
        };
        ResponseTemplate::new(200).set_body_json(body)
    }
}
