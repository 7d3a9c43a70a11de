//! Which server, protocol and model answer an archon: its roster binding
//! (`llm_config`) with the global overrides of flags and `archon.toml` applied.

use std::time::Duration;

use archon_core::roster::LlmConfig;
use serde::{Deserialize, Serialize};

use crate::config::LlmSection;

/// Stall timeout (longest wait for the next bytes of an answer, not for the
/// whole answer) when neither the roster nor the config sets one.
pub const DEFAULT_TIMEOUT_MS: u64 = 120_000;

/// The wire protocol of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointKind {
    /// `POST {base_url}/v1/chat/completions`
    OpenAi,
    /// `POST {base_url}/api/chat`
    Ollama,
}

/// Roster providers archon can talk to, with their protocol and default base URL.
const PROVIDERS: [(&str, EndpointKind, Option<&str>); 7] = [
    (
        "ollama",
        EndpointKind::Ollama,
        Some("http://localhost:11434"),
    ),
    (
        "local",
        EndpointKind::Ollama,
        Some("http://localhost:11434"),
    ),
    (
        "ollama_cloud",
        EndpointKind::Ollama,
        Some("https://ollama.com"),
    ),
    (
        "openai",
        EndpointKind::OpenAi,
        Some("https://api.openai.com"),
    ),
    ("openai_compatible", EndpointKind::OpenAi, None),
    ("vllm", EndpointKind::OpenAi, None),
    ("llamacpp", EndpointKind::OpenAi, None),
];

fn provider(name: &str) -> Option<(EndpointKind, Option<&'static str>)> {
    PROVIDERS
        .iter()
        .find(|(p, _, _)| *p == name)
        .map(|(_, kind, url)| (*kind, *url))
}

fn supported() -> String {
    PROVIDERS
        .iter()
        .map(|(p, _, _)| *p)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Global overrides of every archon's binding (flags over `archon.toml`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub provider: Option<String>,
    pub model: Option<String>,
    pub base_url: Option<String>,
    pub api_key_env: Option<String>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u32>,
    pub timeout_ms: Option<u64>,
}

impl From<&LlmSection> for Overrides {
    fn from(s: &LlmSection) -> Overrides {
        Overrides {
            provider: s.provider.clone(),
            model: s.model.clone(),
            base_url: s.base_url.clone(),
            api_key_env: s.api_key_env.clone(),
            temperature: s.temperature,
            max_tokens: s.max_tokens,
            timeout_ms: s.timeout_ms,
        }
    }
}

/// One archon's resolved binding.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub kind: EndpointKind,
    /// Without a trailing `/` (nor `/v1` or `/api`, which the path adds).
    pub base_url: String,
    pub model: String,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u32>,
    pub timeout: Duration,
    /// The environment variable holding the API key, sent as a Bearer token.
    pub api_key_env: Option<String>,
}

impl Binding {
    /// The URL of the chat call.
    pub fn url(&self) -> String {
        match self.kind {
            EndpointKind::OpenAi => format!("{}/v1/chat/completions", self.base_url),
            EndpointKind::Ollama => format!("{}/api/chat", self.base_url),
        }
    }

    /// The API key from the named environment variable; `None` when no variable
    /// is named. The key is only ever placed in the `Authorization` header.
    pub fn api_key(&self, archon: &str) -> Result<Option<String>, BindingError> {
        let Some(var) = &self.api_key_env else {
            return Ok(None);
        };
        match std::env::var(var) {
            Ok(key) if !key.trim().is_empty() => Ok(Some(key.trim().to_string())),
            _ => Err(BindingError::MissingApiKey {
                archon: archon.to_string(),
                var: var.clone(),
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindingError {
    #[error("archon {archon}: provider '{provider}' is not supported (supported: {supported}); set --provider or [llm] provider in archon.toml", supported = supported())]
    UnsupportedProvider { archon: String, provider: String },
    #[error("archon {archon}: provider '{provider}' needs a base URL; set --base-url or [llm] base_url in archon.toml")]
    NoBaseUrl { archon: String, provider: String },
    #[error("archon {archon}: base URL '{url}' must start with http:// or https://")]
    BadBaseUrl { archon: String, url: String },
    #[error("archon {archon}: the API key variable {var} (api_key_env) is not set")]
    MissingApiKey { archon: String, var: String },
}

impl Overrides {
    /// Checks the override values themselves; the error is (key, message).
    pub fn check(&self) -> Result<(), (String, String)> {
        let bad = |key: &str, message: String| Err((key.to_string(), message));
        if let Some(p) = &self.provider {
            if provider(p).is_none() {
                return bad(
                    "provider",
                    format!("'{p}' is not supported (supported: {})", supported()),
                );
            }
        }
        if let Some(url) = &self.base_url {
            if !is_http_url(url) {
                return bad(
                    "base_url",
                    format!("'{url}' must start with http:// or https://"),
                );
            }
        }
        if let Some(var) = &self.api_key_env {
            let valid =
                !var.is_empty() && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return bad(
                    "api_key_env",
                    "must name an environment variable (letters, digits, _), not hold a key".into(),
                );
            }
        }
        if let Some(m) = &self.model {
            if m.trim().is_empty() {
                return bad("model", "must not be empty".into());
            }
        }
        if let Some(t) = self.temperature {
            if !t.is_finite() || !(0.0..=2.0).contains(&t) {
                return bad("temperature", "must be between 0 and 2".into());
            }
        }
        if self.max_tokens == Some(0) {
            return bad("max_tokens", "must be at least 1".into());
        }
        if self.timeout_ms == Some(0) {
            return bad("timeout_ms", "must be at least 1".into());
        }
        Ok(())
    }

    /// The token budget of an archon's answers: `max_tokens` override over the roster's.
    pub fn max_tokens(&self, config: &LlmConfig) -> Option<u32> {
        self.max_tokens.or(config.max_tokens)
    }

    /// The binding of one archon: each override replaces the roster's value.
    pub fn resolve(&self, archon: &str, config: &LlmConfig) -> Result<Binding, BindingError> {
        let provider_name = self.provider.as_deref().unwrap_or(&config.provider);
        let (kind, default_url) =
            provider(provider_name).ok_or_else(|| BindingError::UnsupportedProvider {
                archon: archon.to_string(),
                provider: provider_name.to_string(),
            })?;
        let url = self
            .base_url
            .as_deref()
            .or(config.base_url.as_deref())
            .filter(|u| !u.trim().is_empty())
            .or(default_url)
            .ok_or_else(|| BindingError::NoBaseUrl {
                archon: archon.to_string(),
                provider: provider_name.to_string(),
            })?;
        if !is_http_url(url) {
            return Err(BindingError::BadBaseUrl {
                archon: archon.to_string(),
                url: url.to_string(),
            });
        }
        Ok(Binding {
            kind,
            base_url: normalize_base_url(kind, url),
            model: self.model.clone().unwrap_or_else(|| config.model.clone()),
            temperature: self.temperature.or(config.temperature),
            max_tokens: self.max_tokens(config),
            timeout: Duration::from_millis(
                self.timeout_ms
                    .or(config.timeout_ms)
                    .filter(|ms| *ms > 0)
                    .unwrap_or(DEFAULT_TIMEOUT_MS),
            ),
            api_key_env: self
                .api_key_env
                .clone()
                .or_else(|| config.api_key_env.clone())
                .filter(|v| !v.is_empty()),
        })
    }
}

fn is_http_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    rest.is_some_and(|host| !host.is_empty() && !host.starts_with('/'))
}

/// Users paste base URLs with or without the API prefix (`…:8000/v1`,
/// `…:11434/api`); the call path adds it, so it is dropped here.
fn normalize_base_url(kind: EndpointKind, url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    let prefix = match kind {
        EndpointKind::OpenAi => "/v1",
        EndpointKind::Ollama => "/api",
    };
    url.strip_suffix(prefix).unwrap_or(url).to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn roster_binding(provider: &str, base_url: Option<&str>) -> LlmConfig {
        LlmConfig {
            provider: provider.into(),
            model: "roster-model".into(),
            temperature: Some(0.6),
            max_tokens: Some(3000),
            timeout_ms: Some(180_000),
            api_key_env: None,
            base_url: base_url.map(String::from),
        }
    }

    #[test]
    fn providers_map_to_protocols_and_default_urls() {
        let none = Overrides::default();
        for (p, kind, url) in [
            ("ollama", EndpointKind::Ollama, "http://localhost:11434"),
            ("local", EndpointKind::Ollama, "http://localhost:11434"),
            ("ollama_cloud", EndpointKind::Ollama, "https://ollama.com"),
            ("openai", EndpointKind::OpenAi, "https://api.openai.com"),
        ] {
            let b = none.resolve("Paimon", &roster_binding(p, None)).unwrap();
            assert_eq!((b.kind, b.base_url.as_str()), (kind, url), "{p}");
        }
        for p in ["vllm", "llamacpp", "openai_compatible"] {
            let e = none
                .resolve("Paimon", &roster_binding(p, None))
                .unwrap_err();
            assert!(matches!(e, BindingError::NoBaseUrl { .. }), "{p}");
            let b = none
                .resolve("Paimon", &roster_binding(p, Some("http://gpu:8000/v1/")))
                .unwrap();
            assert_eq!(b.url(), "http://gpu:8000/v1/chat/completions");
        }
    }

    #[test]
    fn unsupported_provider_names_archon_and_provider() {
        let e = Overrides::default()
            .resolve("Bael", &roster_binding("anthropic", None))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("archon Bael: provider 'anthropic' is not supported"),
            "{e}"
        );
    }

    #[test]
    fn overrides_replace_roster_values() {
        let o = Overrides {
            provider: Some("vllm".into()),
            model: Some("qwen".into()),
            base_url: Some("http://127.0.0.1:9/".into()),
            api_key_env: Some("KEY_VAR".into()),
            temperature: Some(0.0),
            max_tokens: None,
            timeout_ms: Some(5),
        };
        let b = o
            .resolve("Bael", &roster_binding("google", Some("https://x")))
            .unwrap();
        assert_eq!(
            b,
            Binding {
                kind: EndpointKind::OpenAi,
                base_url: "http://127.0.0.1:9".into(),
                model: "qwen".into(),
                temperature: Some(0.0),
                max_tokens: Some(3000),
                timeout: Duration::from_millis(5),
                api_key_env: Some("KEY_VAR".into()),
            }
        );
    }

    #[test]
    fn missing_key_variable_is_named_not_guessed() {
        let b = Overrides {
            api_key_env: Some("ARCHON_TEST_SURELY_UNSET_VAR".into()),
            ..Overrides::default()
        }
        .resolve("Bael", &roster_binding("ollama", None))
        .unwrap();
        let e = b.api_key("Bael").unwrap_err().to_string();
        assert_eq!(
            e,
            "archon Bael: the API key variable ARCHON_TEST_SURELY_UNSET_VAR (api_key_env) is not set"
        );
    }

    #[test]
    fn override_values_are_checked() {
        let bad = Overrides {
            api_key_env: Some("sk-live abc".into()),
            ..Overrides::default()
        };
        assert_eq!(bad.check().unwrap_err().0, "api_key_env");
    }
}
