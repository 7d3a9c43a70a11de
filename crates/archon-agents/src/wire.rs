//! The two chat protocols on the wire: request bodies, and tolerant decoding
//! of responses (servers that add, omit or null fields still work).

use archon_core::agent_port::Message;
use serde_json::{json, Value};

use crate::binding::{Binding, EndpointKind};

/// What a successful response carried.
#[derive(Debug, Clone, PartialEq)]
pub struct WireAnswer {
    pub text: String,
    /// The model the server says answered; the binding's model when it says nothing.
    pub model: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Whether the counts were estimated because the server reported none.
    pub usage_estimated: bool,
}

/// The JSON body of one chat call. The answer schema is sent where the protocol
/// supports it (llama.cpp and OpenAI take `response_format.json_schema`, Ollama
/// `format`) so the server constrains decoding to it; the port validates
/// answers locally regardless. Answers are streamed, so a slow server that
/// keeps producing is told from a stalled one.
pub fn request_body(binding: &Binding, kind: &str, messages: &[Message], schema: &Value) -> Value {
    let mut body = json!({ "model": binding.model, "messages": messages, "stream": true });
    match binding.kind {
        EndpointKind::OpenAi => {
            // The token counts come in the last chunk only when asked for.
            body["stream_options"] = json!({ "include_usage": true });
            body["response_format"] = json!({
                "type": "json_schema",
                "json_schema": { "name": schema_name(kind), "schema": schema, "strict": false },
            });
            if let Some(t) = binding.temperature {
                body["temperature"] = json!(t);
            }
            if let Some(n) = binding.max_tokens {
                body["max_tokens"] = json!(n);
            }
        }
        EndpointKind::Ollama => {
            body["format"] = schema.clone();
            let mut options = serde_json::Map::new();
            if let Some(t) = binding.temperature {
                options.insert("temperature".into(), json!(t));
            }
            if let Some(n) = binding.max_tokens {
                options.insert("num_predict".into(), json!(n));
            }
            if !options.is_empty() {
                body["options"] = Value::Object(options);
            }
        }
    }
    body
}

/// OpenAI restricts schema names to `[A-Za-z0-9_-]{1,64}`.
fn schema_name(kind: &str) -> String {
    let name: String = kind
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if name.is_empty() {
        "answer".into()
    } else {
        name
    }
}

/// Decodes a 2xx body. An error means the body is not a chat response at all
/// (not JSON, or no answer in it); empty answer text is returned as such, for
/// the port to re-ask.
pub fn decode_response(
    binding: &Binding,
    messages: &[Message],
    body: &[u8],
) -> Result<WireAnswer, String> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| format!("malformed response body (not JSON: {e}): {}", excerpt(body)))?;
    let text = match binding.kind {
        EndpointKind::OpenAi => openai_text(&value),
        EndpointKind::Ollama => ollama_text(&value),
    };
    let Some(text) = text else {
        let why = server_error(&value)
            .map(|m| format!("the server reported an error: {m}"))
            .unwrap_or_else(|| format!("response has no answer: {}", excerpt(body)));
        return Err(why);
    };
    let (prompt, completion) = match binding.kind {
        EndpointKind::OpenAi => (
            count(&value, "/usage/prompt_tokens"),
            count(&value, "/usage/completion_tokens"),
        ),
        EndpointKind::Ollama => (
            count(&value, "/prompt_eval_count"),
            count(&value, "/eval_count"),
        ),
    };
    let model = value.get("model").and_then(Value::as_str).map(String::from);
    Ok(answer(binding, messages, text, model, prompt, completion))
}

/// The answer with its counts: the server's when it reported token counts,
/// else estimates, flagged as such.
fn answer(
    binding: &Binding,
    messages: &[Message],
    text: String,
    model: Option<String>,
    prompt: Option<u64>,
    completion: Option<u64>,
) -> WireAnswer {
    let prompt_chars: usize = messages.iter().map(|m| m.content.chars().count()).sum();
    let estimate = estimate_tokens(text.chars().count());
    // Some proxies report words, not tokens: a count equal to the answer's
    // word count and far below any tokenizer's count is not a token count.
    let words = text.split_whitespace().count() as u64;
    let counts_words = completion.is_some_and(|c| c == words && c * 3 < estimate * 2);
    let (prompt, completion) = match counts_words {
        true => (None, None),
        false => (prompt, completion),
    };
    WireAnswer {
        model: model
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| binding.model.clone()),
        usage_estimated: prompt.is_none() || completion.is_none(),
        prompt_tokens: prompt.unwrap_or_else(|| estimate_tokens(prompt_chars)),
        completion_tokens: completion.unwrap_or(estimate),
        text,
    }
}

/// Decodes a streamed answer as it arrives: OpenAI's server-sent events
/// (`data: {chunk}` lines, `data: [DONE]`) or Ollama's NDJSON (one JSON object a
/// line, the last one `done` with the counts).
#[derive(Debug)]
pub struct StreamDecoder {
    kind: EndpointKind,
    pending: Vec<u8>,
    text: String,
    model: Option<String>,
    prompt: Option<u64>,
    completion: Option<u64>,
    error: Option<String>,
    events: usize,
    first_line: Option<String>,
}

impl StreamDecoder {
    pub fn new(kind: EndpointKind) -> StreamDecoder {
        StreamDecoder {
            kind,
            pending: Vec::new(),
            text: String::new(),
            model: None,
            prompt: None,
            completion: None,
            error: None,
            events: 0,
            first_line: None,
        }
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            self.line(&String::from_utf8_lossy(&line));
        }
    }

    fn line(&mut self, line: &str) {
        let line = line.trim();
        if line.is_empty() || line.starts_with(':') {
            return;
        }
        if self.first_line.is_none() {
            self.first_line = Some(line.chars().take(300).collect());
        }
        let payload = match self.kind {
            EndpointKind::OpenAi => match line.strip_prefix("data:") {
                Some(p) => p.trim(),
                // `event:`, `id:` and `retry:` fields carry nothing we use.
                None => return,
            },
            EndpointKind::Ollama => line,
        };
        if payload == "[DONE]" {
            return;
        }
        let Ok(v) = serde_json::from_str::<Value>(payload) else {
            return;
        };
        self.events += 1;
        if let Some(e) = server_error(&v) {
            self.error.get_or_insert(e);
        }
        if let Some(m) = v.get("model").and_then(Value::as_str) {
            self.model.get_or_insert_with(|| m.to_string());
        }
        let piece = match self.kind {
            EndpointKind::OpenAi => v
                .pointer("/choices/0/delta/content")
                .or_else(|| v.pointer("/choices/0/text")),
            EndpointKind::Ollama => v.pointer("/message/content").or_else(|| v.get("response")),
        };
        if let Some(Value::String(piece)) = piece {
            self.text.push_str(piece);
        }
        let (p, c) = match self.kind {
            EndpointKind::OpenAi => ("/usage/prompt_tokens", "/usage/completion_tokens"),
            EndpointKind::Ollama => ("/prompt_eval_count", "/eval_count"),
        };
        self.prompt = count(&v, p).or(self.prompt);
        self.completion = count(&v, c).or(self.completion);
    }

    /// The whole answer, once the stream has ended.
    pub fn finish(mut self, binding: &Binding, messages: &[Message]) -> Result<WireAnswer, String> {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.line(&String::from_utf8_lossy(&rest));
        }
        if let Some(e) = self.error {
            return Err(format!("the server reported an error: {e}"));
        }
        if self.events == 0 {
            return Err(format!(
                "malformed stream (no event in it): {}",
                self.first_line.as_deref().unwrap_or("(empty body)")
            ));
        }
        Ok(answer(
            binding,
            messages,
            self.text,
            self.model,
            self.prompt,
            self.completion,
        ))
    }
}

/// The answer of an OpenAI-style response: `choices[0].message.content` as a
/// string or as a list of text parts, or a legacy `choices[0].text`.
fn openai_text(v: &Value) -> Option<String> {
    let choice = v.get("choices")?.get(0)?;
    match choice.pointer("/message/content") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Array(parts)) => Some(
            parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str).or(p.as_str()))
                .collect(),
        ),
        Some(Value::Null) | None => match choice.get("text") {
            Some(Value::String(s)) => Some(s.clone()),
            // A message without content (a refusal, a tool call): empty text.
            _ => choice.get("message").map(|_| String::new()),
        },
        Some(other) => Some(other.to_string()),
    }
}

/// The answer of an Ollama response: `message.content`, or `response` (generate API).
fn ollama_text(v: &Value) -> Option<String> {
    match v.pointer("/message/content").or_else(|| v.get("response")) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Null) => Some(String::new()),
        Some(other) => Some(other.to_string()),
        None => v.get("message").map(|_| String::new()),
    }
}

fn count(v: &Value, pointer: &str) -> Option<u64> {
    let n = v.pointer(pointer)?;
    n.as_u64()
        .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f.round() as u64))
}

/// About four characters per token: used only when a server reports no usage,
/// so totals are approximate instead of silently zero.
pub fn estimate_tokens(chars: usize) -> u64 {
    (chars as u64).div_ceil(4)
}

/// The message of a JSON error body: `{"error": "…"}` (Ollama) or
/// `{"error": {"message": "…"}}` (OpenAI), else a plain excerpt.
pub fn error_message(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| server_error(&v))
        .unwrap_or_else(|| excerpt(body))
}

fn server_error(v: &Value) -> Option<String> {
    match v.get("error")? {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o
            .get("message")
            .and_then(Value::as_str)
            .map(String::from)
            .or_else(|| Some(Value::Object(o.clone()).to_string())),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// The start of a body, for error messages.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".into();
    }
    let short: String = text.chars().take(300).collect();
    if short.len() < text.len() {
        format!("{short}…")
    } else {
        short
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use archon_core::agent_port::Role;
    use std::time::Duration;

    fn binding(kind: EndpointKind) -> Binding {
        Binding {
            kind,
            base_url: "http://h".into(),
            model: "bound".into(),
            temperature: Some(0.5),
            max_tokens: Some(100),
            timeout: Duration::from_secs(1),
            api_key_env: None,
        }
    }

    fn messages() -> Vec<Message> {
        vec![Message {
            role: Role::User,
            content: "12345678".into(),
        }]
    }

    #[test]
    fn request_bodies_carry_schema_and_parameters() {
        let schema = json!({"type": "object"});
        let o = request_body(
            &binding(EndpointKind::OpenAi),
            "review.vote",
            &messages(),
            &schema,
        );
        assert_eq!(o["response_format"]["json_schema"]["name"], "review_vote");
        assert_eq!(o["response_format"]["json_schema"]["strict"], false);
        assert_eq!(o["max_tokens"], 100);
        assert_eq!(o["messages"][0]["role"], "user");
        let l = request_body(&binding(EndpointKind::Ollama), "k", &messages(), &schema);
        assert_eq!(l["format"], schema);
        assert_eq!(l["stream"], true);
        assert_eq!(
            l["options"],
            json!({"temperature": 0.5, "num_predict": 100})
        );
    }

    /// Response variants seen from real servers: extra fields, missing usage,
    /// content as parts, null content, the generate API's `response`.
    #[test]
    fn decodes_response_variants() {
        // (protocol, body, expected (text, model, prompt, completion, estimated))
        type Case = (
            EndpointKind,
            Value,
            Option<(&'static str, &'static str, u64, u64, bool)>,
        );
        let cases: &[Case] = &[
            (
                EndpointKind::OpenAi,
                json!({"id":"x","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"{}","reasoning_content":"hm"},"finish_reason":"stop"}],"usage":{"prompt_tokens":7,"completion_tokens":2,"total_tokens":9},"system_fingerprint":null}),
                Some(("{}", "m", 7, 2, false)),
            ),
            (
                EndpointKind::OpenAi,
                json!({"choices":[{"message":{"content":[{"type":"text","text":"{\"a\""},{"type":"text","text":":1}"}]}}]}),
                Some(("{\"a\":1}", "bound", 2, 2, true)),
            ),
            (
                EndpointKind::OpenAi,
                json!({"choices":[{"message":{"role":"assistant","content":null}}],"usage":null}),
                Some(("", "bound", 2, 0, true)),
            ),
            (
                EndpointKind::OpenAi,
                json!({"choices":[{"text":"{}"}],"usage":{"prompt_tokens":3.0,"completion_tokens":1}}),
                Some(("{}", "bound", 3, 1, false)),
            ),
            (EndpointKind::OpenAi, json!({"choices":[]}), None),
            (
                EndpointKind::OpenAi,
                json!({"error":{"message":"overloaded"}}),
                None,
            ),
            (
                EndpointKind::Ollama,
                json!({"model":"llama3","created_at":"t","message":{"role":"assistant","content":"{}","thinking":"…"},"done":true,"done_reason":"stop","total_duration":1,"prompt_eval_count":26,"eval_count":5}),
                Some(("{}", "llama3", 26, 5, false)),
            ),
            (
                EndpointKind::Ollama,
                json!({"model":"llama3","message":{"role":"assistant","content":"{}"},"eval_count":5}),
                Some(("{}", "llama3", 2, 5, true)),
            ),
            (
                EndpointKind::Ollama,
                json!({"response":"{}","prompt_eval_count":1,"eval_count":1}),
                Some(("{}", "bound", 1, 1, false)),
            ),
            (EndpointKind::Ollama, json!({"done":true}), None),
        ];
        for (kind, body, want) in cases {
            let got = decode_response(&binding(*kind), &messages(), body.to_string().as_bytes());
            match want {
                Some((text, model, p, c, est)) => {
                    let a = got.unwrap_or_else(|e| panic!("{body}: {e}"));
                    assert_eq!(
                        (
                            a.text.as_str(),
                            a.model.as_str(),
                            a.prompt_tokens,
                            a.completion_tokens,
                            a.usage_estimated
                        ),
                        (*text, *model, *p, *c, *est),
                        "{body}"
                    );
                }
                None => assert!(got.is_err(), "{body}"),
            }
        }
    }

    /// Streams cut at every byte boundary decode to the same answer.
    #[test]
    fn streams_decode_whatever_their_chunking() {
        let sse = concat!(
            ": ping\n\n",
            "data: {\"model\":\"smol\",\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"content\":\"{\\\"a\\\"\"}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"content\":\":1}\"}}]}\n\n",
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":4}}\n\n",
            "data: [DONE]\n\n"
        );
        let ndjson = concat!(
            "{\"model\":\"llama\",\"message\":{\"content\":\"{\\\"a\\\"\"},\"done\":false}\n",
            "{\"model\":\"llama\",\"message\":{\"content\":\":1}\"},\"done\":false}\n",
            "{\"model\":\"llama\",\"message\":{\"content\":\"\"},\"done\":true,\"prompt_eval_count\":9,\"eval_count\":4}"
        );
        for (kind, body, model) in [
            (EndpointKind::OpenAi, sse, "smol"),
            (EndpointKind::Ollama, ndjson, "llama"),
        ] {
            for cut in 1..body.len() {
                let mut d = StreamDecoder::new(kind);
                d.feed(&body.as_bytes()[..cut]);
                d.feed(&body.as_bytes()[cut..]);
                let a = d.finish(&binding(kind), &messages()).unwrap();
                assert_eq!(
                    (
                        a.text.as_str(),
                        a.model.as_str(),
                        a.prompt_tokens,
                        a.completion_tokens,
                        a.usage_estimated
                    ),
                    ("{\"a\":1}", model, 9, 4, false),
                    "{kind:?} cut at {cut}"
                );
            }
        }
        let mut d = StreamDecoder::new(EndpointKind::Ollama);
        d.feed(b"{\"error\":\"model 'x' not found\"}\n");
        let e = d
            .finish(&binding(EndpointKind::Ollama), &messages())
            .unwrap_err();
        assert!(e.contains("model 'x' not found"), "{e}");
        let d = StreamDecoder::new(EndpointKind::OpenAi);
        assert!(d
            .finish(&binding(EndpointKind::OpenAi), &messages())
            .is_err());
    }

    #[test]
    fn word_counts_are_not_taken_for_tokens() {
        let text = r#"{"summary": "the plan covers the budget", "risks": ["late delivery"]}"#;
        let words = text.split_whitespace().count() as u64;
        let b = binding(EndpointKind::OpenAi);
        let a = answer(&b, &messages(), text.into(), None, Some(30), Some(words));
        assert!(a.usage_estimated);
        assert_eq!(a.completion_tokens, estimate_tokens(text.len()));
        let a = answer(&b, &messages(), text.into(), None, Some(30), Some(21));
        assert!(!a.usage_estimated);
        assert_eq!((a.prompt_tokens, a.completion_tokens), (30, 21));
    }

    #[test]
    fn malformed_and_error_bodies_explain_themselves() {
        let b = binding(EndpointKind::OpenAi);
        let e = decode_response(&b, &messages(), b"<html>bad gateway").unwrap_err();
        assert!(e.starts_with("malformed response body"), "{e}");
        assert!(e.contains("<html>bad gateway"), "{e}");
        assert_eq!(
            error_message(
                br#"{"error":{"message":"model 'x' not found","type":"invalid_request_error"}}"#
            ),
            "model 'x' not found"
        );
        assert_eq!(
            error_message(br#"{"error":"model \"x\" not found"}"#),
            "model \"x\" not found"
        );
        assert_eq!(error_message(b""), "(empty body)");
    }
}
