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

impl Schema {
    pub fn of<T: JsonSchema>() -> Schema {
        let json = serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default();
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

pub(crate) fn reask_message(errors: &[String]) -> String {
    format!(
        "Your previous answer was rejected:\n- {}\nAnswer again with one JSON object only, matching the required schema.",
        errors.join("\n- ")
    )
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
}
