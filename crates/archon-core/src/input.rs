//! Decoding of JSON inputs with errors that name the source and the JSON path.

use serde::de::DeserializeOwned;

/// A problem with an input: which source, where in it, and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}: {path}: {message}")]
pub struct InputError {
    /// File name (or other label) of the input.
    pub source_name: String,
    /// JSON path such as `$.archons[3].rank`, or `line N` for text inputs.
    pub path: String,
    pub message: String,
}

impl InputError {
    pub fn new(source: impl Into<String>, path: impl Into<String>, msg: impl Into<String>) -> Self {
        InputError {
            source_name: source.into(),
            path: path.into(),
            message: msg.into(),
        }
    }
}

/// Several input problems found in one pass, reported together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct InputErrors(pub Vec<InputError>);

impl From<InputError> for InputErrors {
    fn from(e: InputError) -> Self {
        InputErrors(vec![e])
    }
}

/// Decodes `text` as `T`, naming the JSON path of the first mismatch.
pub fn parse_json<T: DeserializeOwned>(source: &str, text: &str) -> Result<T, InputError> {
    let de = &mut serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|err| {
        let path = json_path(&err.path().to_string());
        let inner = err.into_inner();
        let message = if inner.is_syntax() || inner.is_eof() {
            format!(
                "malformed JSON at line {} column {}: {inner}",
                inner.line(),
                inner.column()
            )
        } else {
            strip_position(&inner.to_string())
        };
        InputError::new(source, path, message)
    })?;
    // Content after the value (`[] xx`) is an error, not something to ignore.
    de.end().map_err(|e| {
        InputError::new(
            source,
            "$",
            format!(
                "trailing content after the JSON value at line {} column {}",
                e.line(),
                e.column()
            ),
        )
    })?;
    Ok(value)
}

/// Decodes an already parsed value as `T`, with paths relative to `base`.
pub fn from_value<T: DeserializeOwned>(
    source: &str,
    base: &str,
    value: &serde_json::Value,
) -> Result<T, InputError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let rel = err.path().to_string();
        let path = if rel == "." {
            base.to_string()
        } else {
            format!("{base}.{rel}")
        };
        InputError::new(
            source,
            json_path(&path),
            strip_position(&err.into_inner().to_string()),
        )
    })
}

/// Turns serde_path_to_error's `a.b[2].c` (or `.`) into `$.a.b[2].c` (or `$`).
fn json_path(raw: &str) -> String {
    let raw = raw.trim_start_matches('$').trim_start_matches('.');
    if raw.is_empty() {
        "$".to_string()
    } else if raw.starts_with('[') {
        format!("${raw}")
    } else {
        format!("$.{raw}")
    }
}

/// serde_json appends " at line L column C" to type errors; the path says more.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Doc {
        items: Vec<Item>,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Item {
        n: u32,
    }

    #[test]
    fn wrong_type_names_the_path() {
        let err = parse_json::<Doc>("doc.json", r#"{"items":[{"n":1},{"n":"x"}]}"#).unwrap_err();
        assert_eq!(err.source_name, "doc.json");
        assert_eq!(err.path, "$.items[1].n");
        assert!(err.message.contains("invalid type"), "{}", err.message);
    }

    #[test]
    fn top_level_array_paths_have_no_dot() {
        let err = parse_json::<Vec<Item>>("list.json", r#"[{"n":1},{"n":"x"}]"#).unwrap_err();
        assert_eq!(err.path, "$[1].n");
    }

    #[test]
    fn trailing_content_is_rejected_whitespace_is_not() {
        let err = parse_json::<Vec<Item>>("list.json", "[] xx").unwrap_err();
        assert_eq!(err.path, "$");
        assert!(err.message.contains("trailing content"), "{}", err.message);
        assert!(err.message.contains("line 1 column 4"), "{}", err.message);
        assert!(parse_json::<Vec<Item>>("list.json", "[{\"n\":1}]\n\n").is_ok());
        assert!(parse_json::<Vec<Item>>("list.json", "[] []").is_err());
    }

    #[test]
    fn malformed_json_names_line() {
        let err = parse_json::<Doc>("doc.json", "{\n \"items\": [").unwrap_err();
        assert!(err.message.contains("line 2"), "{}", err.message);
    }
}
