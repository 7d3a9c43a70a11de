//! Content-addressed cassettes: one JSON file per answered exchange, named by
//! the sha256 of everything that determines the answer (protocol, base URL,
//! model, messages, schema, temperature, max tokens). The same question asked
//! again, by a resumed run or a replay, finds its answer by key.

use std::path::{Path, PathBuf};

use archon_core::agent_port::Message;
use archon_core::seed::sha256_hex;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::binding::{Binding, EndpointKind};
use crate::wire::WireAnswer;

/// Version of the cassette entry format.
pub const CASSETTE_SCHEMA_VERSION: &str = "1.0";

/// The cassette key of an exchange.
pub fn key(binding: &Binding, messages: &[Message], schema: &Value) -> String {
    let identity = json!({
        "endpoint": binding.kind,
        "base_url": binding.base_url,
        "model": binding.model,
        "messages": messages,
        "schema": schema,
        "temperature": binding.temperature,
        "max_tokens": binding.max_tokens,
    });
    sha256_hex(canonical(&identity).to_string())
}

/// The value with every object's keys sorted, so the key does not depend on
/// the order in which a schema or a message happened to be built.
fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), canonical(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// One recorded exchange. Holds no secret: the API key is never part of a request summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub schema_version: String,
    pub key: String,
    pub request: RequestSummary,
    pub response: RecordedResponse,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestSummary {
    pub endpoint: EndpointKind,
    pub base_url: String,
    pub model: String,
    pub archon_id: String,
    pub archon_name: String,
    pub kind: String,
    pub attempt: u32,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u32>,
    pub messages: Vec<Message>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedResponse {
    pub text: String,
    pub model: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// True when the server reported no usage and the counts are estimates.
    #[serde(default)]
    pub usage_estimated: bool,
    pub latency_ms: u64,
}

impl RecordedResponse {
    pub fn new(answer: WireAnswer, latency_ms: u64) -> RecordedResponse {
        RecordedResponse {
            text: answer.text,
            model: answer.model,
            prompt_tokens: answer.prompt_tokens,
            completion_tokens: answer.completion_tokens,
            usage_estimated: answer.usage_estimated,
            latency_ms,
        }
    }
}

/// A cassette directory.
#[derive(Debug, Clone)]
pub struct Cassette {
    dir: PathBuf,
}

impl Cassette {
    /// A cassette to record into (created when missing).
    pub fn for_recording(dir: &Path) -> std::io::Result<Cassette> {
        std::fs::create_dir_all(dir)?;
        Ok(Cassette {
            dir: dir.to_path_buf(),
        })
    }

    /// A cassette to replay from; it must exist.
    pub fn for_replay(dir: &Path) -> std::io::Result<Cassette> {
        if !dir.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such cassette directory",
            ));
        }
        Ok(Cassette {
            dir: dir.to_path_buf(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    /// The recorded entry of `key`, if any. A damaged entry is an error naming
    /// its file, never silently re-asked (that could pay twice).
    pub fn load(&self, key: &str) -> Result<Option<Entry>, String> {
        let path = self.path(key);
        if !path.exists() {
            return Ok(None);
        }
        let entry: Entry = archon_store::read_json(&path).map_err(|e| e.to_string())?;
        if entry.key != key {
            return Err(format!(
                "{}: $.key: entry is recorded under key {}",
                path.display(),
                entry.key
            ));
        }
        Ok(Some(entry))
    }

    pub fn store(&self, entry: &Entry) -> Result<(), String> {
        let path = self.path(&entry.key);
        archon_store::write_atomic(&path, &archon_store::artifact_dir::to_json_bytes(entry))
            .map_err(|e| format!("{}: {e}", path.display()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use archon_core::agent_port::Role;
    use std::time::Duration;

    fn binding() -> Binding {
        Binding {
            kind: EndpointKind::Ollama,
            base_url: "http://h".into(),
            model: "m".into(),
            temperature: Some(0.5),
            max_tokens: None,
            timeout: Duration::from_secs(1),
            api_key_env: Some("SECRET_VAR".into()),
        }
    }

    fn messages(text: &str) -> Vec<Message> {
        vec![Message {
            role: Role::User,
            content: text.into(),
        }]
    }

    #[test]
    fn key_covers_what_determines_the_answer_and_ignores_key_order() {
        let schema_a: Value =
            serde_json::from_str(r#"{"type":"object","required":["a"]}"#).unwrap();
        let schema_b: Value =
            serde_json::from_str(r#"{"required":["a"],"type":"object"}"#).unwrap();
        let k = key(&binding(), &messages("q"), &schema_a);
        assert_eq!(k.len(), 64);
        assert_eq!(k, key(&binding(), &messages("q"), &schema_b));
        assert_ne!(k, key(&binding(), &messages("q2"), &schema_a));
        let mut other = binding();
        other.temperature = Some(0.6);
        assert_ne!(k, key(&other, &messages("q"), &schema_a));
        let mut other = binding();
        other.timeout = Duration::from_secs(9);
        other.api_key_env = None;
        assert_eq!(
            k,
            key(&other, &messages("q"), &schema_a),
            "transport details are not identity"
        );
    }

    #[test]
    fn damaged_entries_are_errors_naming_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let c = Cassette::for_recording(tmp.path()).unwrap();
        assert_eq!(c.load("abc").unwrap(), None);
        std::fs::write(tmp.path().join("abc.json"), "{\"schema_version\":").unwrap();
        let e = c.load("abc").unwrap_err();
        assert!(e.contains("abc.json"), "{e}");
        assert!(Cassette::for_replay(&tmp.path().join("missing")).is_err());
    }
}
