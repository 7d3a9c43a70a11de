//! The LLM backends against a mock server on 127.0.0.1: protocols, token
//! accounting, faults, retries, concurrency limits, record and replay. Every
//! test counts the server's requests, so a duplicate paid call fails it.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use archon_agents::{
    Cassette, CassetteMode, ConfigFile, LlmFlags, LlmSettings, Overrides, ReplayBackend,
};
use archon_core::agent_port::{Agents, AnswerSource, Backend};
use archon_core::seed::Seed;
use serde_json::json;
use support::*;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, Request, ResponseTemplate};

const ANSWER: &str = r#"{"word":"abc","letters":3}"#;

fn openai_route() -> wiremock::MockBuilder {
    Mock::given(method("POST")).and(path("/v1/chat/completions"))
}

fn ollama_route() -> wiremock::MockBuilder {
    Mock::given(method("POST")).and(path("/api/chat"))
}

#[test]
fn openai_happy_path_with_token_accounting() {
    let server = Server::start();
    server.mount(openai_route().respond_with(ProbeResponder { ollama: false }));
    let archons = [
        archon("Bael", "vllm", &server.url()),
        archon(
            "Agares",
            "openai_compatible",
            &format!("{}/v1/", server.url()),
        ),
    ];
    let agents = agents(transport(None));
    let answers = agents.ask_all(&ask_each(&archons, "abc"));
    for a in &answers {
        assert_eq!(
            a.as_ref().unwrap(),
            &ProbeAnswer {
                word: "abc".into(),
                letters: 3
            }
        );
    }
    let calls = agents.take_calls();
    assert_eq!(calls.len(), 2);
    for c in &calls {
        assert_eq!((c.prompt_tokens, c.completion_tokens), (7, 3));
        assert_eq!(
            (c.model.as_str(), c.outcome.as_str()),
            ("served-model", "ok")
        );
        assert_eq!(c.source, AnswerSource::Live);
    }
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let body: serde_json::Value = requests[0].body_json().unwrap();
    assert_eq!(body["model"], "roster-model");
    assert_eq!(body["temperature"], 0.5);
    assert_eq!(body["max_tokens"], 200);
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(body["response_format"]["json_schema"]["name"], "probe");
    assert!(body["response_format"]["json_schema"]["schema"]["properties"]["letters"].is_object());
    assert_eq!(body["messages"][0]["role"], "system");
    assert!(body["messages"][0]["content"]
        .as_str()
        .unwrap()
        .starts_with("You are "));
    assert!(requests[0].headers.get("authorization").is_none());
}

#[test]
fn ollama_happy_path_with_token_accounting() {
    let server = Server::start();
    server.mount(ollama_route().respond_with(ProbeResponder { ollama: true }));
    let archons = [archon("Paimon", "local", &server.url())];
    let agents = agents(transport(None));
    let answers = agents.ask_all(&ask_each(&archons, "abcd"));
    assert_eq!(answers[0].as_ref().unwrap().letters, 4);
    let calls = agents.take_calls();
    assert_eq!(
        (calls[0].prompt_tokens, calls[0].completion_tokens),
        (11, 4)
    );
    assert_eq!(calls[0].model, "llama-served");
    let body: serde_json::Value = server.requests()[0].body_json().unwrap();
    assert_eq!(body["stream"], true);
    assert_eq!(
        body["options"],
        json!({"temperature": 0.5, "num_predict": 200})
    );
    assert_eq!(body["format"]["type"], "object");
}

#[test]
fn missing_usage_is_estimated_not_zero() {
    let server = Server::start();
    server.mount(ollama_route().respond_with(
        ResponseTemplate::new(200).set_body_json(json!({"message": {"content": ANSWER}})),
    ));
    let archons = [archon("Paimon", "ollama", &server.url())];
    let agents = agents(transport(None));
    assert!(agents.ask_all(&ask_each(&archons, "abc"))[0].is_ok());
    let call = &agents.take_calls()[0];
    assert_eq!(call.completion_tokens, (ANSWER.len() as u64).div_ceil(4));
    assert!(call.prompt_tokens > 10, "{}", call.prompt_tokens);
    assert_eq!(call.model, "roster-model");
}

#[test]
fn rate_limit_honours_retry_after_then_succeeds() {
    let server = Server::start();
    server.mount(
        openai_route()
            .respond_with(
                ResponseTemplate::new(429)
                    .insert_header("retry-after", "1")
                    .set_body_json(json!({"error": {"message": "slow down"}})),
            )
            .up_to_n_times(1),
    );
    server.mount(
        openai_route().respond_with(ResponseTemplate::new(200).set_body_json(openai_body(ANSWER))),
    );
    let archons = [archon("Bael", "vllm", &server.url())];
    let agents = agents(transport(None));
    let started = Instant::now();
    assert!(agents.ask_all(&ask_each(&archons, "abc"))[0].is_ok());
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After ignored"
    );
    assert_eq!(server.requests().len(), 2);
    let calls = agents.take_calls();
    assert_eq!(calls.len(), 1, "a retried call is one call");
    assert!(calls[0].latency_ms >= 1000);
}

#[test]
fn server_errors_are_retried_then_succeed() {
    let server = Server::start();
    server.mount(
        openai_route()
            .respond_with(ResponseTemplate::new(500))
            .up_to_n_times(2),
    );
    server.mount(
        openai_route().respond_with(ResponseTemplate::new(200).set_body_json(openai_body(ANSWER))),
    );
    let archons = [archon("Bael", "vllm", &server.url())];
    let agents = agents(transport(None));
    assert!(agents.ask_all(&ask_each(&archons, "abc"))[0].is_ok());
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn persistent_server_errors_end_in_a_bounded_failure() {
    let server = Server::start();
    server.mount(
        openai_route().respond_with(ResponseTemplate::new(503).set_body_string("upstream down")),
    );
    let archons = [archon("Bael", "vllm", &server.url())];
    let mut t = transport(None);
    t.retry.max_retries = 2;
    let agents = agents(t);
    let failure = agents
        .ask_all(&ask_each(&archons, "abc"))
        .remove(0)
        .unwrap_err();
    assert_eq!(server.requests().len(), 3);
    assert_eq!(failure.attempts, 1, "transport failures are not re-asked");
    assert!(failure.reason.contains("HTTP 503"), "{}", failure.reason);
    assert!(
        failure.reason.contains("upstream down"),
        "{}",
        failure.reason
    );
    assert!(
        failure.reason.contains("gave up after 3 attempts"),
        "{}",
        failure.reason
    );
    assert_eq!(agents.take_calls()[0].outcome, "failed");
}

/// The timeout is a stall timeout: a stream that stops producing is cut
/// once it has been silent that long, and not retried (the server may still
/// be working on it; a retry would queue a second copy behind it).
#[test]
fn a_stalled_stream_is_cut_after_the_stall_timeout_and_not_retried() {
    let mut chunks = sse_chunks(ANSWER, 2, Duration::ZERO);
    chunks[1].0 = Duration::from_secs(4);
    let server = StreamServer::start(chunks, 3);
    let archons = [archon("Paimon", "llamacpp", &server.url)];
    let mut t = transport(None);
    t.overrides.timeout_ms = Some(1000);
    t.retry.max_retries = 2;
    let agents = agents(t);
    let started = Instant::now();
    let failure = agents
        .ask_all(&ask_each(&archons, "abc"))
        .remove(0)
        .unwrap_err();
    let took = started.elapsed();
    assert!(
        failure.reason.contains("stalled: no data for 1000 ms"),
        "{}",
        failure.reason
    );
    assert!(
        took >= Duration::from_millis(1000) && took < Duration::from_millis(3500),
        "{took:?}"
    );
    assert_eq!(server.requests(), 1);
    let calls = agents.take_calls();
    assert_eq!(calls[0].outcome, "failed");
    assert_eq!(
        calls[0].model, "roster-model",
        "the model the call was addressed to"
    );
    assert!(
        calls[0].latency_ms >= 1000,
        "a failed call's latency is what it cost: {}",
        calls[0].latency_ms
    );
}

/// A slow server that keeps producing (a CPU model: a token every few hundred
/// ms, the whole answer far longer than the timeout) is never cut off.
#[test]
fn a_slow_steady_stream_is_not_cut() {
    let server = StreamServer::start(sse_chunks(ANSWER, 6, Duration::from_millis(400)), 1);
    let archons = [archon("Paimon", "llamacpp", &server.url)];
    let mut t = transport(None);
    t.overrides.timeout_ms = Some(1000);
    let agents = agents(t);
    let started = Instant::now();
    let answer = agents
        .ask_all(&ask_each(&archons, "abc"))
        .remove(0)
        .unwrap();
    assert!(started.elapsed() > Duration::from_millis(2000));
    assert_eq!(
        answer,
        ProbeAnswer {
            word: "abc".into(),
            letters: 3
        }
    );
    let calls = agents.take_calls();
    assert_eq!(
        (
            calls[0].model.as_str(),
            calls[0].prompt_tokens,
            calls[0].completion_tokens
        ),
        ("smol", 12, 6)
    );
    assert!(!calls[0].usage_estimated);
    assert_eq!(server.requests(), 1);
}

#[test]
fn malformed_body_fails_fast() {
    let server = Server::start();
    server.mount(
        openai_route().respond_with(ResponseTemplate::new(200).set_body_string("<html>oops")),
    );
    let archons = [archon("Bael", "vllm", &server.url())];
    let agents = agents(transport(None));
    let failure = agents
        .ask_all(&ask_each(&archons, "abc"))
        .remove(0)
        .unwrap_err();
    assert!(
        failure.reason.contains("malformed response body"),
        "{}",
        failure.reason
    );
    assert!(
        failure
            .reason
            .starts_with("Bael (probe): model roster-model at http://127.0.0.1:"),
        "{}",
        failure.reason
    );
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn empty_content_is_reasked_by_the_port() {
    let server = Server::start();
    server.mount(
        openai_route()
            .respond_with(ResponseTemplate::new(200).set_body_json(openai_body("")))
            .up_to_n_times(1),
    );
    server.mount(
        openai_route().respond_with(ResponseTemplate::new(200).set_body_json(openai_body(ANSWER))),
    );
    let archons = [archon("Bael", "vllm", &server.url())];
    let agents = agents(transport(None));
    assert!(agents.ask_all(&ask_each(&archons, "abc"))[0].is_ok());
    let outcomes: Vec<_> = agents.take_calls().into_iter().map(|c| c.outcome).collect();
    assert_eq!(outcomes, ["invalid", "ok"]);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let reask: serde_json::Value = requests[1].body_json().unwrap();
    assert_eq!(reask["messages"].as_array().unwrap().len(), 4);
    assert!(reask["messages"][3]["content"]
        .as_str()
        .unwrap()
        .contains("no JSON object"));
}

#[test]
fn schema_invalid_answers_are_reasked_a_bounded_number_of_times() {
    let server = Server::start();
    server.mount(
        openai_route().respond_with(
            ResponseTemplate::new(200)
                .set_body_json(openai_body(r#"{"word":"abc","letters":"three"}"#)),
        ),
    );
    let archons = [archon("Bael", "vllm", &server.url())];
    let agents = agents(transport(None)).with_max_reasks(2);
    let failure = agents
        .ask_all(&ask_each(&archons, "abc"))
        .remove(0)
        .unwrap_err();
    assert_eq!(failure.attempts, 3);
    assert!(failure.reason.contains("/letters"), "{}", failure.reason);
    assert_eq!(server.requests().len(), 3);
    let calls = agents.take_calls();
    assert_eq!(calls.len(), 3);
    assert!(calls
        .iter()
        .all(|c| c.outcome == "invalid" && c.prompt_tokens == 7));
}

#[test]
fn wrong_model_fails_fast_with_the_server_message() {
    let server = Server::start();
    server.mount(
        ollama_route().respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": "model \"nope\" not found, try pulling it first"})),
        ),
    );
    let archons = [archon("Paimon", "ollama", &server.url())];
    let mut t = transport(None);
    t.overrides.model = Some("nope".into());
    let agents = agents(t);
    let failure = agents
        .ask_all(&ask_each(&archons, "abc"))
        .remove(0)
        .unwrap_err();
    assert!(failure.reason.contains("HTTP 404"), "{}", failure.reason);
    assert!(
        failure.reason.contains("model \"nope\" not found"),
        "{}",
        failure.reason
    );
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn connection_refused_is_retried_then_reported() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let archons = [archon("Bael", "vllm", &format!("http://127.0.0.1:{port}"))];
    let mut t = transport(None);
    t.retry.max_retries = 1;
    let failure = agents(t)
        .ask_all(&ask_each(&archons, "abc"))
        .remove(0)
        .unwrap_err();
    assert!(
        failure.reason.contains("cannot connect"),
        "{}",
        failure.reason
    );
    assert!(
        failure.reason.contains("gave up after 2 attempts"),
        "{}",
        failure.reason
    );
}

/// The most requests that arrived within any window shorter than the mock's
/// latency: with every call taking `delay`, that is the number in flight.
fn max_in_flight(arrivals: &[Instant], window: Duration) -> usize {
    arrivals
        .iter()
        .map(|a| {
            arrivals
                .iter()
                .filter(|b| **b >= *a && **b - *a < window)
                .count()
        })
        .max()
        .unwrap_or(0)
}

fn timed_server(delay: Duration) -> (Server, Arc<Mutex<Vec<Instant>>>) {
    let server = Server::start();
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let seen = arrivals.clone();
    server.mount(openai_route().respond_with(move |_: &Request| {
        seen.lock().unwrap().push(Instant::now());
        ResponseTemplate::new(200)
            .set_body_json(openai_body(ANSWER))
            .set_delay(delay)
    }));
    (server, arrivals)
}

#[test]
fn global_concurrency_limit_is_respected_and_order_kept() {
    let delay = Duration::from_millis(120);
    let (server, arrivals) = timed_server(delay);
    let archons: Vec<_> = (0..9)
        .map(|i| archon(&format!("A{i}"), "vllm", &server.url()))
        .collect();
    let mut t = transport(None);
    t.concurrency = 3;
    let agents = agents(t);
    let answers = agents.ask_all(&ask_each(&archons, "abc"));
    assert!(answers.iter().all(Result::is_ok));
    let names: Vec<_> = agents
        .take_calls()
        .into_iter()
        .map(|c| c.archon_name)
        .collect();
    assert_eq!(names, (0..9).map(|i| format!("A{i}")).collect::<Vec<_>>());
    assert_eq!(max_in_flight(&arrivals.lock().unwrap(), delay * 3 / 4), 3);
    assert_eq!(server.requests().len(), 9);
}

#[test]
fn per_endpoint_limit_is_respected() {
    let delay = Duration::from_millis(120);
    let (server, arrivals) = timed_server(delay);
    let archons: Vec<_> = (0..6)
        .map(|i| archon(&format!("A{i}"), "vllm", &server.url()))
        .collect();
    let mut t = transport(None);
    t.per_endpoint_concurrency = 2;
    agents(t).ask_all(&ask_each(&archons, "abc"));
    assert_eq!(max_in_flight(&arrivals.lock().unwrap(), delay * 3 / 4), 2);
}

#[test]
fn record_then_replay_offline_gives_identical_answers_and_no_requests() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start();
    server.mount(openai_route().respond_with(ProbeResponder { ollama: false }));
    let archons = [
        archon("Bael", "vllm", &server.url()),
        archon("Agares", "vllm", &server.url()),
    ];
    let words = ["abc", "hello"];
    let run = |agents: &Agents| {
        let answers: Vec<_> = words
            .iter()
            .flat_map(|w| agents.ask_all(&ask_each(&archons, w)))
            .map(Result::unwrap)
            .collect();
        (answers, agents.take_calls())
    };

    let recorder = agents(transport(Some(
        Cassette::for_recording(tmp.path()).unwrap(),
    )));
    let (recorded, recorded_calls) = run(&recorder);
    assert_eq!(server.requests().len(), 4);
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 4);

    // A resumed recording run answers from the cassette: no new paid call.
    let resumed = agents(transport(Some(
        Cassette::for_recording(tmp.path()).unwrap(),
    )));
    assert_eq!(run(&resumed).0, recorded);
    assert_eq!(server.requests().len(), 4);

    let replay = ReplayBackend::new(
        Overrides::default(),
        Cassette::for_replay(tmp.path()).unwrap(),
    );
    assert_eq!(replay.name(), "llm", "a replay counts as the recording");
    let replayer = Agents::new(Arc::new(replay), Seed(1));
    let (replayed, replayed_calls) = run(&replayer);
    assert_eq!(replayed, recorded);
    assert_eq!(server.requests().len(), 4);
    for (r, l) in replayed_calls.iter().zip(&recorded_calls) {
        assert_eq!(r.source, AnswerSource::Replayed);
        assert_eq!(
            (&r.model, r.prompt_tokens, r.completion_tokens, r.latency_ms),
            (&l.model, l.prompt_tokens, l.completion_tokens, l.latency_ms)
        );
    }

    // An exchange that was never recorded is a clear failure, not a network call.
    let failure = replayer
        .ask_all(&ask_each(&archons[..1], "other"))
        .remove(0)
        .unwrap_err();
    assert!(
        failure
            .reason
            .starts_with("Bael (probe): no recorded answer"),
        "{}",
        failure.reason
    );
    assert!(failure.reason.contains("under key "), "{}", failure.reason);
    assert_eq!(server.requests().len(), 4);
}

#[test]
fn identical_exchanges_in_one_batch_are_paid_once_when_recording() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start();
    server.mount(openai_route().respond_with(ProbeResponder { ollama: false }));
    let bael = archon("Bael", "vllm", &server.url());
    let archons = [bael.clone(), bael];
    let agents = agents(transport(Some(
        Cassette::for_recording(tmp.path()).unwrap(),
    )));
    let answers = agents.ask_all(&ask_each(&archons, "abc"));
    assert!(answers.iter().all(Result::is_ok));
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn api_key_is_sent_as_bearer_and_never_stored_or_echoed() {
    const SECRET: &str = "sk-test-ARCHON-SECRET-7f3a";
    std::env::set_var("ARCHON_TEST_KEY_SECRET_CHECK", SECRET);
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start();
    server.mount(
        openai_route()
            .and(header("authorization", format!("Bearer {SECRET}").as_str()))
            .and(wiremock::matchers::body_string_contains("abc"))
            .respond_with(ResponseTemplate::new(200).set_body_json(openai_body(ANSWER))),
    );
    // A server that echoes the key in an error must not get it into a message.
    server.mount(
        openai_route().respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"error": {"message": format!("bad key {SECRET}")}})),
        ),
    );
    let archons = [archon("Bael", "openai", &server.url())];
    let mut t = transport(Some(Cassette::for_recording(tmp.path()).unwrap()));
    t.overrides.api_key_env = Some("ARCHON_TEST_KEY_SECRET_CHECK".into());
    let agents = agents(t);
    assert!(agents.ask_all(&ask_each(&archons, "abc"))[0].is_ok());
    let failure = agents
        .ask_all(&ask_each(&archons, "xyz"))
        .remove(0)
        .unwrap_err();
    assert!(failure.reason.contains("HTTP 401"), "{}", failure.reason);
    assert!(
        failure.reason.contains("bad key [redacted]"),
        "{}",
        failure.reason
    );
    assert_eq!(server.requests().len(), 2);
    let calls = serde_json::to_string(&agents.take_calls()).unwrap();
    assert!(!calls.contains(SECRET));
    for entry in std::fs::read_dir(tmp.path()).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(text.contains("\"archon_name\": \"Bael\""));
        assert!(!text.contains(SECRET), "secret in cassette: {text}");
    }
}

#[test]
fn settings_build_the_right_backend_and_reject_unusable_bindings() {
    let tmp = tempfile::tempdir().unwrap();
    let settings = |flags: LlmFlags| LlmSettings::merge(&ConfigFile::default(), &flags).unwrap();
    let archons = [
        archon("Bael", "anthropic", "http://127.0.0.1:9"),
        archon("Agares", "google", ""),
    ];
    let off = archon_agents::Progress::off();
    let e = archon_agents::backend(&settings(LlmFlags::default()), &archons, &off)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("archon Bael: provider 'anthropic' is not supported"),
        "{e}"
    );
    assert!(
        e.contains("archon Agares: provider 'google' is not supported"),
        "{e}"
    );

    let overridden = settings(LlmFlags {
        provider: Some("ollama".into()),
        ..LlmFlags::default()
    });
    // Every binding resolves now; the preflight finds nothing listening.
    let e = archon_agents::backend(&overridden, &archons, &off)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.starts_with("cannot reach model server at http://127.0.0.1:9: "),
        "{e}"
    );

    let keyed = settings(LlmFlags {
        provider: Some("ollama".into()),
        api_key_env: Some("ARCHON_TEST_SURELY_UNSET_KEY".into()),
        ..LlmFlags::default()
    });
    let e = archon_agents::backend(&keyed, &archons, &off)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("ARCHON_TEST_SURELY_UNSET_KEY (api_key_env) is not set"),
        "{e}"
    );

    let replay = settings(LlmFlags {
        provider: Some("ollama".into()),
        api_key_env: Some("ARCHON_TEST_SURELY_UNSET_KEY".into()),
        replay: Some(tmp.path().to_path_buf()),
        ..LlmFlags::default()
    });
    assert!(matches!(replay.cassette, CassetteMode::Replay(_)));
    let agents = archon_agents::agents(&replay, &archons, Seed(1), &off).unwrap();
    assert_eq!(agents.backend_name(), "llm", "replay needs no key");
}

fn preflight_transport(archons: &[archon_core::roster::Archon]) -> archon_agents::Transport {
    let mut t = transport(None);
    t.concurrency_set = false;
    t.preflight = archons
        .iter()
        .map(|a| t.overrides.resolve(&a.name, &a.llm_config).unwrap())
        .collect();
    t
}

/// Before the first question: the model must be one the server lists, and a
/// llama.cpp server's slot count becomes the concurrency limit.
#[test]
fn preflight_checks_the_model_and_takes_the_slot_count() {
    let server = Server::start();
    server.mount(
        Mock::given(method("GET"))
            .and(path("/v1/models"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"object": "list", "data": [{"id": "smollm2", "owned_by": "llamacpp"}]}),
            )),
    );
    server.mount(
        Mock::given(method("GET"))
            .and(path("/props"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"total_slots": 2}))),
    );
    server.mount(
        Mock::given(method("GET"))
            .and(path("/health"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "ok"}))),
    );
    let archons = [archon("Paimon", "llamacpp", &server.url())];
    let e = archon_agents::LlmBackend::new(preflight_transport(&archons))
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        e,
        format!(
            "model server at {} does not serve model 'roster-model' (served: smollm2); set --model",
            server.url()
        )
    );
    let mut t = preflight_transport(&archons);
    for b in &mut t.preflight {
        b.model = "smollm2".into();
    }
    // Four calls to a 2-slot server: never more than two in flight.
    server.mount(
        openai_route().respond_with(
            ResponseTemplate::new(200)
                .set_body_json(openai_body(ANSWER))
                .set_delay(Duration::from_millis(300)),
        ),
    );
    let agents = Agents::new(
        Arc::new(archon_agents::LlmBackend::new(t).unwrap()),
        Seed(1),
    );
    let many: Vec<_> = (0..4)
        .map(|i| archon(&format!("A{i}"), "llamacpp", &server.url()))
        .collect();
    let started = Instant::now();
    let answers = agents.ask_all(&ask_each(&many, "abc"));
    assert!(answers.iter().all(Result::is_ok));
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "two waves of two: {:?}",
        started.elapsed()
    );
}
