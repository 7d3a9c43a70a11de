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
        preflight: Vec::new(),
        concurrency_set: true,
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

/// A model server that streams one scripted answer as server-sent events,
/// each chunk after its own pause: the shape of a slow CPU server (steady
/// pauses) or a stalled one (one long pause). Plain blocking sockets on
/// 127.0.0.1; it serves at most `max_requests` requests, then stops.
pub struct StreamServer {
    pub url: String,
    pub requests: Arc<std::sync::atomic::AtomicUsize>,
}

impl StreamServer {
    pub fn start(chunks: Vec<(Duration, String)>, max_requests: usize) -> StreamServer {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(max_requests) {
                let Ok(mut stream) = stream else { return };
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
                if stream.write_all(head.as_bytes()).is_err() {
                    continue;
                }
                for (pause, chunk) in &chunks {
                    std::thread::sleep(*pause);
                    let framed = format!("{:x}\r\n{chunk}\r\n", chunk.len());
                    if stream.write_all(framed.as_bytes()).is_err() {
                        break;
                    }
                    let _ = stream.flush();
                }
                let _ = stream.write_all(b"0\r\n\r\n");
            }
        });
        StreamServer { url, requests }
    }

    pub fn requests(&self) -> usize {
        self.requests.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// `answer` as SSE chunks of OpenAI's streaming format, a few characters
/// each, every one after `pause`; the last carries the token counts.
pub fn sse_chunks(answer: &str, pieces: usize, pause: Duration) -> Vec<(Duration, String)> {
    let chars: Vec<char> = answer.chars().collect();
    let size = chars.len().div_ceil(pieces.max(1));
    let mut out: Vec<(Duration, String)> = chars
        .chunks(size.max(1))
        .map(|piece| {
            let piece: String = piece.iter().collect();
            let event =
                json!({"model": "smol", "choices": [{"index": 0, "delta": {"content": piece}}]});
            (pause, format!("data: {event}\n\n"))
        })
        .collect();
    let usage = json!({"choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 6}});
    out.push((Duration::ZERO, format!("data: {usage}\n\ndata: [DONE]\n\n")));
    out
}
