//! Turning a model's text into a typed answer: JSON extraction, schema
//! validation, decoding, and the message that asks again.

use std::sync::{Arc, OnceLock};

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

/// The JSON Schema of an answer type with its validator, compiled on first use.
pub(crate) struct Schema {
    pub json: Arc<serde_json::Value>,
    validator: OnceLock<Option<jsonschema::Validator>>,
}

/// The longest string an answer may hold where its type sets no `maxLength`
/// (a field's own `#[schemars(length(max = …))]` wins).
pub const DEFAULT_MAX_STRING: u64 = 1000;
/// The most items an answer's list may hold where its type sets no `maxItems`.
pub const DEFAULT_MAX_ITEMS: u64 = 32;

/// The JSON Schema the model must answer with: the type's schema with every
/// string and array bounded. Grammar-constrained decoding (llama.cpp's
/// `json_schema`, Ollama's `format`) follows these bounds, so even a small
/// model closes its JSON object within its token budget instead of running on
/// inside an unbounded string.
pub fn answer_schema<T: JsonSchema>() -> serde_json::Value {
    let mut json = serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default();
    bound(&mut json);
    json
}

/// Adds `maxLength` to every free string schema and `maxItems` to every array
/// schema that lacks one (enums, constants and formatted strings are bounded already).
fn bound(schema: &mut serde_json::Value) {
    use serde_json::Value;
    match schema {
        Value::Object(map) => {
            let types: Vec<&str> = match map.get("type") {
                Some(Value::String(t)) => vec![t.as_str()],
                Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            let (string, array) = (types.contains(&"string"), types.contains(&"array"));
            let fixed = ["enum", "const", "format"]
                .iter()
                .any(|k| map.contains_key(*k));
            if string && !fixed && !map.contains_key("maxLength") {
                map.insert("maxLength".into(), DEFAULT_MAX_STRING.into());
            }
            if array && !map.contains_key("maxItems") {
                map.insert("maxItems".into(), DEFAULT_MAX_ITEMS.into());
            }
            map.values_mut().for_each(bound);
        }
        Value::Array(items) => items.iter_mut().for_each(bound),
        _ => {}
    }
}

/// The JSON paths of string and array schemas in `schema` that have no bound:
/// empty for every schema [`answer_schema`] makes.
pub fn unbounded_paths(schema: &serde_json::Value) -> Vec<String> {
    fn walk(v: &serde_json::Value, at: &str, out: &mut Vec<String>) {
        use serde_json::Value;
        match v {
            Value::Object(map) => {
                let has = |t: &str| match map.get("type") {
                    Some(Value::String(s)) => s == t,
                    Some(Value::Array(ts)) => ts.iter().any(|x| x == t),
                    _ => false,
                };
                let fixed = ["enum", "const", "format"]
                    .iter()
                    .any(|k| map.contains_key(*k));
                if has("string") && !fixed && !map.contains_key("maxLength") {
                    out.push(format!("{at} (string without maxLength)"));
                }
                if has("array") && !map.contains_key("maxItems") {
                    out.push(format!("{at} (array without maxItems)"));
                }
                for (k, x) in map {
                    walk(x, &format!("{at}/{k}"), out);
                }
            }
            Value::Array(items) => {
                for (i, x) in items.iter().enumerate() {
                    walk(x, &format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(schema, "#", &mut out);
    out
}

impl Schema {
    /// The answer schema of `T`, its listed arrays holding exactly `listed`
    /// entries when given, sized to `budget` tokens when one is given.
    pub fn of<T: JsonSchema>(budget: Option<u32>, listed: Option<usize>) -> Schema {
        let mut bounded = answer_schema::<T>();
        if let Some(n) = listed {
            super::budget::pin_listed(&mut bounded, n as u64);
        }
        let json = match budget {
            Some(max_tokens) => super::budget::fit_to_budget(&bounded, max_tokens),
            None => bounded,
        };
        Schema {
            json: Arc::new(json),
            validator: OnceLock::new(),
        }
    }

    pub fn is_compiled(&self) -> bool {
        self.validator.get().is_some()
    }

    /// Compiles the validator the first time (milliseconds for a process's
    /// first schemas). A schema that does not compile is a programming error
    /// caught by tests; without a validator, decoding still checks the shape.
    pub fn validator(&self) -> Option<&jsonschema::Validator> {
        self.validator
            .get_or_init(|| jsonschema::validator_for(&self.json).ok())
            .as_ref()
    }

    /// Validates and decodes; the errors are what the model is told on a re-ask.
    pub fn decode<T: DeserializeOwned>(&self, text: &str) -> Result<T, Vec<String>> {
        let Some(json) = extract_json(text) else {
            return Err(vec!["the answer contains no JSON object".into()]);
        };
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| vec![format!("the answer is not valid JSON: {e}")])?;
        // `is_valid` is the fast path; errors are collected only for an answer that fails.
        if let Some(v) = self.validator().filter(|v| !v.is_valid(&value)) {
            let errors: Vec<String> = v
                .iter_errors(&value)
                .take(10)
                .map(|e| {
                    let at = e.instance_path.to_string();
                    let at = if at.is_empty() { "/".to_string() } else { at };
                    format!("at {at}: {e}")
                })
                .collect();
            if !errors.is_empty() {
                return Err(errors);
            }
        }
        match serde_json::from_value::<T>(value) {
            Ok(answer) => Ok(answer),
            // Decoding the owned value moves its strings; only a failure is
            // decoded again, to name the path of the offending field.
            Err(_) => {
                let value: serde_json::Value = serde_json::from_str(json)
                    .map_err(|e| vec![format!("the answer is not valid JSON: {e}")])?;
                crate::input::from_value::<T>("answer", "$", &value)
                    .map_err(|e| vec![format!("at {}: {}", e.path, e.message)])
            }
        }
    }
}

/// Finds the JSON object in a model's text: the whole text, a fenced block,
/// or the span from the first `{` to the last `}`.
pub fn extract_json(text: &str) -> Option<&str> {
    let t = text.trim();
    if t.starts_with('{') && t.ends_with('}') {
        return Some(t);
    }
    if let Some(start) = t.find("```") {
        let after = &t[start + 3..];
        let body_start = after.find('\n').map_or(0, |i| i + 1);
        if let Some(end) = after[body_start..].find("```") {
            let body = after[body_start..body_start + end].trim();
            if body.starts_with('{') {
                return Some(body);
            }
        }
    }
    let (start, end) = (t.find('{')?, t.rfind('}')?);
    (start < end).then(|| &t[start..=end])
}

/// At most this many validation errors are shown on a re-ask, each cut to
/// [`REASK_ERROR_CHARS`]: enough to correct the answer, short enough for a
/// small model's context.
const REASK_ERRORS: usize = 3;
const REASK_ERROR_CHARS: usize = 200;
/// How much of the rejected answer the re-ask quotes back.
pub(crate) const REASK_ANSWER_CHARS: usize = 600;

pub(crate) fn reask_message(errors: &[String]) -> String {
    let shown: Vec<String> = errors
        .iter()
        .take(REASK_ERRORS)
        .map(|e| cut(e, REASK_ERROR_CHARS))
        .collect();
    let more = match errors.len().saturating_sub(REASK_ERRORS) {
        0 => String::new(),
        n => format!("\n(and {n} more)"),
    };
    format!(
        "Your previous answer was rejected:\n- {}{more}\nAnswer again with one JSON object only, matching the required schema.",
        shown.join("\n- ")
    )
}

/// `text` cut to `max` characters, marked with `…` when cut.
pub(crate) fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_json_from_chatty_text() {
        assert_eq!(extract_json(" {\"a\":1} "), Some("{\"a\":1}"));
        assert_eq!(
            extract_json("Sure:\n```json\n{\"a\":1}\n```\nbye"),
            Some("{\"a\":1}")
        );
        assert_eq!(extract_json("x {\"a\":{}} y"), Some("{\"a\":{}}"));
        assert_eq!(extract_json("no json"), None);
    }

    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Loose {
        free: String,
        #[schemars(length(max = 40))]
        short: String,
        list: Vec<Option<String>>,
        #[schemars(length(max = 3))]
        few: Vec<u32>,
        at: Option<String>,
        kind: LooseKind,
    }

    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    enum LooseKind {
        A,
        B,
    }

    #[test]
    fn answer_schemas_bound_every_string_and_array_and_keep_field_bounds() {
        let raw = serde_json::to_value(schemars::schema_for!(Loose)).unwrap();
        assert!(!unbounded_paths(&raw).is_empty());
        let s = answer_schema::<Loose>();
        assert_eq!(unbounded_paths(&s), Vec::<String>::new(), "{s:#}");
        let p = &s["properties"];
        assert_eq!(p["free"]["maxLength"], DEFAULT_MAX_STRING);
        assert_eq!(p["short"]["maxLength"], 40);
        assert_eq!(p["list"]["maxItems"], DEFAULT_MAX_ITEMS);
        assert_eq!(p["few"]["maxItems"], 3);
        assert_eq!(p["at"]["maxLength"], DEFAULT_MAX_STRING);
        assert!(s["$defs"]["LooseKind"].get("maxLength").is_none());
    }

    #[test]
    fn reasks_stay_short_however_many_errors() {
        let errors: Vec<String> = (0..10)
            .map(|i| format!("error {i} {}", "x".repeat(500)))
            .collect();
        let m = reask_message(&errors);
        assert!(m.contains("(and 7 more)"), "{m}");
        assert!(m.chars().count() < 3 * 210 + 200, "{}", m.len());
    }
}
