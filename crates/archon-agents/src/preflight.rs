//! The check of every model server before the first question: is it there,
//! does it serve the model asked for, how many requests can it work on at once.
//! A run against a server that is down or lacks the model fails here, in a
//! second, with the URL and the served models, instead of after 72 abstentions.
//!
//! OpenAI-compatible servers list their models at `GET /v1/models`; llama.cpp's
//! server also answers `GET /health` (503 while it loads the model) and
//! `GET /props` (`total_slots`: requests decoded side by side); Ollama lists
//! its models at `GET /api/tags`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::binding::{Binding, EndpointKind};
use crate::AgentsError;

/// How long each preflight request may take: these are cheap listings.
const PREFLIGHT_TIMEOUT: Duration = Duration::from_secs(10);

/// What the preflight learnt of one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub base_url: String,
    /// The models it lists; `None` when it has no listing.
    pub models: Option<Vec<String>>,
    /// Requests it decodes at once, when it says (llama.cpp's `total_slots`).
    pub slots: Option<usize>,
}

/// Checks each distinct server of `bindings`, and that each binding's model is served.
pub async fn check(
    client: &reqwest::Client,
    bindings: &[Binding],
) -> Result<Vec<Server>, AgentsError> {
    // (kind, base URL) → (a binding for its key, models asked of it)
    let mut servers: BTreeMap<(EndpointKind, String), (&Binding, Vec<&str>)> = BTreeMap::new();
    for b in bindings {
        let entry = servers
            .entry((b.kind, b.base_url.clone()))
            .or_insert_with(|| (b, Vec::new()));
        if !entry.1.contains(&b.model.as_str()) {
            entry.1.push(&b.model);
        }
    }
    let mut out = Vec::new();
    for ((kind, base_url), (binding, models)) in servers {
        let api_key = binding
            .api_key("preflight")
            .map_err(|e| AgentsError::Preflight(e.to_string()))?;
        let get = |path: &'static str| get_json(client, &base_url, path, api_key.as_deref());
        let server = match kind {
            EndpointKind::Ollama => {
                let tags = get("/api/tags").await?.ok_or_else(|| {
                    AgentsError::Preflight(format!(
                        "{base_url} is not an Ollama server (GET /api/tags: not found); check --provider"
                    ))
                })?;
                let listed = names(&tags, "/models", &["name", "model"]);
                Server {
                    base_url: base_url.clone(),
                    models: Some(listed),
                    slots: None,
                }
            }
            EndpointKind::OpenAi => {
                let listing = get("/v1/models").await?;
                let listed = listing.as_ref().map(|v| names(v, "/data", &["id"]));
                // llama.cpp: /props tells the slots; /health whether the model is loaded.
                let props = match get("/props").await {
                    Ok(Some(p)) => Some(p),
                    _ => None,
                };
                let slots = props
                    .as_ref()
                    .and_then(|p| p.get("total_slots"))
                    .and_then(Value::as_u64)
                    .and_then(|n| usize::try_from(n).ok())
                    .filter(|n| *n > 0);
                if slots.is_some() {
                    get("/health").await?;
                }
                Server {
                    base_url: base_url.clone(),
                    models: listed,
                    slots,
                }
            }
        };
        if let Some(listed) = &server.models {
            for model in &models {
                if !serves(listed, model) {
                    return Err(AgentsError::Preflight(format!(
                        "model server at {base_url} does not serve model '{model}' (served: {}); set --model",
                        if listed.is_empty() { "none".to_string() } else { listed.join(", ") }
                    )));
                }
            }
        }
        out.push(server);
    }
    Ok(out)
}

/// Ollama names a model `name:tag`; `name` alone means `name:latest`.
fn serves(listed: &[String], model: &str) -> bool {
    listed.iter().any(|m| {
        m == model
            || m.strip_suffix(":latest") == Some(model)
            || model.strip_suffix(":latest") == Some(m.as_str())
    })
}

fn names(v: &Value, list: &str, keys: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = v
        .pointer(list)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| keys.iter().find_map(|k| m.get(*k).and_then(Value::as_str)))
        .map(String::from)
        .collect();
    out.dedup();
    out
}

/// `GET base_url + path` as JSON: `None` for a 404 or 405 (no such listing),
/// an error naming the URL when the server cannot be reached or fails.
async fn get_json(
    client: &reqwest::Client,
    base_url: &str,
    path: &str,
    api_key: Option<&str>,
) -> Result<Option<Value>, AgentsError> {
    let url = format!("{base_url}{path}");
    let mut request = client.get(&url).timeout(PREFLIGHT_TIMEOUT);
    if let Some(key) = api_key {
        request = request.bearer_auth(key);
    }
    let unreachable = |why: String| {
        AgentsError::Preflight(format!("cannot reach model server at {base_url}: {why}"))
    };
    let response = request
        .send()
        .await
        .map_err(|e| unreachable(crate::llm::error_chain(&e)))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| unreachable(crate::llm::error_chain(&e)))?;
    if status.as_u16() == 404 || status.as_u16() == 405 {
        return Ok(None);
    }
    if !status.is_success() {
        return Err(AgentsError::Preflight(format!(
            "model server at {base_url} is not ready: GET {path}: HTTP {status}: {}",
            crate::wire::error_message(&body)
        )));
    }
    Ok(Some(serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ollama_latest_tag_is_the_bare_name() {
        let listed = vec!["qwen3:8b".to_string(), "llama3.1:latest".to_string()];
        assert!(serves(&listed, "qwen3:8b"));
        assert!(serves(&listed, "llama3.1"));
        assert!(!serves(&listed, "qwen3"));
        assert!(!serves(&listed, "llama3.1:8b"));
    }
}
