//! Sizing an answer schema to the token budget of the model that answers it.
//!
//! Grammar-constrained decoding (llama.cpp's `json_schema`, Ollama's `format`)
//! lets a model write anything the schema admits; if the longest answer the
//! schema admits does not fit in `max_tokens`, a model that drafts at length
//! is cut off inside its JSON and the answer is lost. So before a schema is
//! sent, its `maxLength` and `maxItems` bounds are scaled down (strings
//! first) until the longest admissible answer fits, and its objects are closed (no
//! `additionalProperties`, which would admit any number of keys). The bounds a
//! type sets itself act as weights: a field bounded at 2,000 characters keeps
//! twice the room of one at 1,000.

use serde_json::{Map, Value};

/// Characters of a model's prose per token (English text runs 3–4; the lower
/// figure leaves room).
const CHARS_PER_TOKEN: u64 = 3;
/// The share of `max_tokens` the longest admissible answer may take: the rest
/// is slack for the whitespace and number digits a grammar also admits.
const BUDGET_PERCENT: u64 = 85;
/// No string is cut below this (or its own `minLength`) however small the
/// budget: ids and codes stay whole, and a shorter text says nothing.
const MIN_STRING: u64 = 64;
/// Marks a list with one entry per item the question lists (a score per
/// proposal on the table, a vote per motion, a check per expected outcome):
/// the question decides its length, so sizing keeps it and shortens only
/// what is inside. Set on the field: `#[schemars(extend("x-archon-listed" = true))]`.
pub const LISTED: &str = "x-archon-listed";
/// Nesting deeper than this is not followed (recursive `$ref`s).
const MAX_DEPTH: usize = 24;

/// The schema with its bounds scaled so that its longest admissible answer
/// takes at most [`BUDGET_PERCENT`] % of `max_tokens` tokens, and every object closed. When even
/// the smallest bounds (one item an array, [`MIN_STRING`] characters a string,
/// or the schema's own minimums) exceed the budget, those are used: the budget
/// is then too small for the question, and [`longest_answer_tokens`] says by
/// how much.
pub fn fit_to_budget(schema: &Value, max_tokens: u32) -> Value {
    let mut closed = schema.clone();
    close_objects(&mut closed);
    let budget = u64::from(max_tokens) * BUDGET_PERCENT / 100;
    let fits = |lengths: f64, items: f64| {
        longest_answer_tokens(&scaled(&closed, lengths, items)) <= budget
    };
    if fits(1.0, 1.0) {
        return closed;
    }
    // Strings shorten before lists lose items: a question often needs one
    // item per thing it lists (a score per proposal), while how much to say
    // of each is the model's to choose. Only when strings at an eighth of
    // their bounds still do not fit do lists shrink, and then strings again.
    let useful = USEFUL_STRING_SHARE;
    if fits(useful, 1.0) {
        return scaled(&closed, largest(useful, 1.0, |l| fits(l, 1.0)), 1.0);
    }
    if fits(useful, 0.0) {
        return scaled(&closed, useful, largest(0.0, 1.0, |i| fits(useful, i)));
    }
    scaled(&closed, largest(0.0, useful, |l| fits(l, 0.0)), 0.0)
}

/// The most entries a listed array (see [`LISTED`]) may hold for the sized
/// schema's longest answer to still fit `max_tokens`: how many items a
/// question that lists one entry per item may ask about at once (at least 1,
/// at most the array's own `maxItems`).
pub fn listed_items_that_fit(schema: &Value, max_tokens: u32) -> usize {
    let budget = u64::from(max_tokens) * BUDGET_PERCENT / 100;
    let fits = |n: u64| {
        let mut limited = schema.clone();
        limit_listed(&mut limited, n);
        longest_answer_tokens(&fit_to_budget(&limited, max_tokens)) <= budget
    };
    let most = listed_max(schema).unwrap_or(super::DEFAULT_MAX_ITEMS);
    (1..=most).rev().find(|n| fits(*n)).unwrap_or(1) as usize
}

/// The largest `maxItems` of a listed array in `schema`.
fn listed_max(schema: &Value) -> Option<u64> {
    match schema {
        Value::Object(map) => {
            let own = map
                .get("maxItems")
                .and_then(Value::as_u64)
                .filter(|_| map.get(LISTED) == Some(&Value::Bool(true)));
            own.into_iter()
                .chain(map.values().filter_map(listed_max))
                .max()
        }
        Value::Array(values) => values.iter().filter_map(listed_max).max(),
        _ => None,
    }
}

/// Every listed array in `schema` holds exactly `n` entries.
pub(super) fn pin_listed(schema: &mut Value, n: u64) {
    bound_listed(schema, &[("minItems", n), ("maxItems", n)]);
}

/// Every listed array in `schema` holds at most `n` entries.
fn limit_listed(schema: &mut Value, n: u64) {
    bound_listed(schema, &[("maxItems", n)]);
}

/// Sets `bounds` (keyword, value) on every listed array in `schema`.
fn bound_listed(schema: &mut Value, bounds: &[(&str, u64)]) {
    match schema {
        Value::Object(map) => {
            if map.get(LISTED) == Some(&Value::Bool(true)) {
                for (keyword, n) in bounds {
                    map.insert((*keyword).into(), (*n).into());
                }
            }
            map.values_mut().for_each(|v| bound_listed(v, bounds));
        }
        Value::Array(values) => values.iter_mut().for_each(|v| bound_listed(v, bounds)),
        _ => {}
    }
}

/// The share of its bound a string keeps before any list is shortened.
const USEFUL_STRING_SHARE: f64 = 0.125;

/// The largest scale in `[low, high]` that `fits`, by bisection (`fits` grows
/// false with the scale; `low` is taken to fit).
fn largest(mut low: f64, mut high: f64, fits: impl Fn(f64) -> bool) -> f64 {
    for _ in 0..24 {
        let mid = (low + high) / 2.0;
        if fits(mid) {
            low = mid;
        } else {
            high = mid;
        }
    }
    low
}

/// An estimate of the tokens of the longest answer `schema` admits, at
/// [`CHARS_PER_TOKEN`] characters a token for strings, keys and enum values,
/// plus a token for each piece of JSON punctuation and whitespace between values.
pub fn longest_answer_tokens(schema: &Value) -> u64 {
    longest(schema, schema, 0)
}

fn tokens_of_chars(chars: u64) -> u64 {
    chars.div_ceil(CHARS_PER_TOKEN)
}

fn longest(node: &Value, root: &Value, depth: usize) -> u64 {
    let Value::Object(map) = node else {
        // `true` or a non-object: any value at all.
        return unbounded();
    };
    if depth > MAX_DEPTH {
        return unbounded();
    }
    if let Some(Value::String(r)) = map.get("$ref") {
        return match resolve(root, r) {
            Some(target) => longest(target, root, depth + 1),
            None => unbounded(),
        };
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(Value::Array(alts)) = map.get(key) {
            return alts
                .iter()
                .map(|a| longest(a, root, depth + 1))
                .max()
                .unwrap_or(0);
        }
    }
    if let Some(Value::Array(values)) = map.get("enum") {
        return values.iter().map(value_tokens).max().unwrap_or(0);
    }
    if let Some(value) = map.get("const") {
        return value_tokens(value);
    }
    match map.get("type") {
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .map(|t| typed(t, map, root, depth))
            .max()
            .unwrap_or(0),
        Some(Value::String(t)) => typed(t, map, root, depth),
        _ if map.contains_key("properties") => typed("object", map, root, depth),
        _ if map.contains_key("items") => typed("array", map, root, depth),
        _ => unbounded(),
    }
}

/// Free text with no bound: as long as the longest default string.
fn unbounded() -> u64 {
    2 + tokens_of_chars(super::DEFAULT_MAX_STRING)
}

fn typed(t: &str, map: &Map<String, Value>, root: &Value, depth: usize) -> u64 {
    let count = |key: &str| map.get(key).and_then(Value::as_u64);
    match t {
        "string" => {
            let chars = match map.get("format").and_then(Value::as_str) {
                Some("date") => 10,
                Some("time") => 16,
                Some("date-time") => 32,
                Some("uuid") => 36,
                _ => count("maxLength").unwrap_or(super::DEFAULT_MAX_STRING),
            };
            2 + tokens_of_chars(chars)
        }
        "integer" | "number" => 4,
        "boolean" | "null" => 1,
        "array" => {
            let items = map
                .get("items")
                .map_or_else(unbounded, |i| longest(i, root, depth + 1));
            let n = count("maxItems").unwrap_or(super::DEFAULT_MAX_ITEMS);
            // Brackets, then per item a separator and the whitespace before it.
            2 + n * (items + 2)
        }
        "object" => {
            let properties = map.get("properties").and_then(Value::as_object);
            let fields: u64 = properties
                .into_iter()
                .flatten()
                .map(|(key, value)| {
                    // Whitespace, the quoted key, colon, value, separator.
                    1 + 2
                        + tokens_of_chars(key.chars().count() as u64)
                        + 1
                        + longest(value, root, depth + 1)
                        + 1
                })
                .sum();
            2 + fields
        }
        _ => unbounded(),
    }
}

fn value_tokens(value: &Value) -> u64 {
    1 + tokens_of_chars(value.to_string().chars().count() as u64)
}

/// The schema a local `#/…` reference points at.
fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    root.pointer(reference.strip_prefix('#')?)
}

/// Every object schema with properties admits those only: a free
/// `additionalProperties` would let a constrained model add keys without end.
fn close_objects(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            let free = matches!(
                map.get("additionalProperties"),
                None | Some(Value::Bool(true))
            );
            if map.contains_key("properties") && free {
                map.insert("additionalProperties".into(), false.into());
            }
            map.values_mut().for_each(close_objects);
        }
        Value::Array(items) => items.iter_mut().for_each(close_objects),
        _ => {}
    }
}

/// `schema` with every `maxLength` multiplied by `lengths` and every
/// `maxItems` by `items` (rounded down), never below its floor.
fn scaled(schema: &Value, lengths: f64, items: f64) -> Value {
    let mut out = schema.clone();
    scale_in_place(&mut out, lengths, items);
    out
}

fn scale_in_place(schema: &mut Value, lengths: f64, items: f64) {
    match schema {
        Value::Object(map) => {
            let shrink = |bound: u64, scale: f64, floor: u64| {
                let target = (bound as f64 * scale).floor() as u64;
                target.max(floor.min(bound))
            };
            if let Some(max) = map.get("maxLength").and_then(Value::as_u64) {
                let min = map.get("minLength").and_then(Value::as_u64).unwrap_or(0);
                let bound = shrink(max, lengths, min.max(MIN_STRING));
                map.insert("maxLength".into(), bound.into());
            }
            let listed = map.get(LISTED) == Some(&Value::Bool(true));
            if let Some(max) = map
                .get("maxItems")
                .and_then(Value::as_u64)
                .filter(|_| !listed)
            {
                let min = map.get("minItems").and_then(Value::as_u64).unwrap_or(0);
                map.insert("maxItems".into(), shrink(max, items, min.max(1)).into());
            }
            map.values_mut()
                .for_each(|v| scale_in_place(v, lengths, items));
        }
        Value::Array(values) => values
            .iter_mut()
            .for_each(|v| scale_in_place(v, lengths, items)),
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decomposition() -> Value {
        json!({
            "type": "object",
            "properties": {"tasks": {"type": "array", "items": {"$ref": "#/$defs/Task"}, "maxItems": 32}},
            "required": ["tasks"],
            "$defs": {"Task": {
                "type": "object",
                "properties": {
                    "description": {"type": "string", "maxLength": 1000},
                    "outcomes": {"type": "array", "items": {"type": "string", "maxLength": 1000}, "minItems": 2, "maxItems": 32},
                    "tag": {"type": "string", "enum": ["research", "dev_backend"]},
                    "hours": {"type": "number"},
                    "note": {"type": ["string", "null"], "maxLength": 2000},
                },
                "additionalProperties": true,
            }},
        })
    }

    #[test]
    fn a_fitted_schema_admits_no_answer_longer_than_its_budget() {
        let schema = decomposition();
        assert!(longest_answer_tokens(&schema) > 100_000);
        for max_tokens in [256, 512, 1024, 4096] {
            let fitted = fit_to_budget(&schema, max_tokens);
            let longest = longest_answer_tokens(&fitted);
            assert!(
                longest <= u64::from(max_tokens) * BUDGET_PERCENT / 100,
                "{max_tokens}: {longest}"
            );
            // Not needlessly small: a good part of the budget is used.
            assert!(
                longest * 4 > u64::from(max_tokens),
                "{max_tokens}: {longest}"
            );
            let task = &fitted["$defs"]["Task"];
            assert_eq!(task["additionalProperties"], false);
            assert!(task["properties"]["outcomes"]["maxItems"].as_u64().unwrap() >= 2);
            // The type's own weights survive: the note keeps about twice the room.
            let desc = task["properties"]["description"]["maxLength"]
                .as_u64()
                .unwrap();
            let note = task["properties"]["note"]["maxLength"].as_u64().unwrap();
            assert!(
                note >= 2 * desc - 1 && note <= 2 * desc + 1,
                "{desc} {note}"
            );
        }
    }

    #[test]
    fn strings_shorten_before_lists_lose_items() {
        let scores = json!({"type": "object", "properties": {"scores": {
            "type": "array", "maxItems": 16,
            "items": {"type": "object", "properties": {
                "id": {"type": "string", "maxLength": 64},
                "concern": {"type": "string", "maxLength": 1000},
            }},
        }}});
        let fitted = fit_to_budget(&scores, 2048);
        let list = &fitted["properties"]["scores"];
        assert_eq!(list["maxItems"], 16);
        let concern = list["items"]["properties"]["concern"]["maxLength"]
            .as_u64()
            .unwrap();
        assert!((125..1000).contains(&concern), "{concern}");
        assert!(longest_answer_tokens(&fitted) <= 2048 * BUDGET_PERCENT / 100);
    }

    #[test]
    fn a_listed_question_is_split_into_answers_that_fit() {
        let votes = json!({"type": "object", "properties": {"votes": {
            "type": "array", "maxItems": 32, LISTED: true,
            "items": {"type": "object", "properties": {
                "reason": {"type": "string", "minLength": 200, "maxLength": 1000},
            }},
        }}});
        for max_tokens in [512, 2048, 8192] {
            let n = listed_items_that_fit(&votes, max_tokens);
            let mut at = votes.clone();
            limit_listed(&mut at, n as u64);
            let budget = u64::from(max_tokens) * BUDGET_PERCENT / 100;
            assert!(longest_answer_tokens(&fit_to_budget(&at, max_tokens)) <= budget);
            if n < 32 {
                limit_listed(&mut at, n as u64 + 1);
                assert!(longest_answer_tokens(&fit_to_budget(&at, max_tokens)) > budget);
            }
        }
        assert!(listed_items_that_fit(&votes, 512) < listed_items_that_fit(&votes, 2048));
        assert_eq!(listed_items_that_fit(&votes, 1_000_000), 32);
        assert_eq!(listed_items_that_fit(&votes, 1), 1);
    }

    #[test]
    fn a_schema_within_budget_is_only_closed() {
        let schema =
            json!({"type": "object", "properties": {"v": {"type": "string", "maxLength": 40}}});
        let fitted = fit_to_budget(&schema, 512);
        assert_eq!(fitted["properties"], schema["properties"]);
        assert_eq!(fitted["additionalProperties"], false);
    }

    #[test]
    fn bounds_never_drop_below_their_floors() {
        let fitted = fit_to_budget(&decomposition(), 8);
        let task = &fitted["$defs"]["Task"]["properties"];
        assert_eq!(fitted["properties"]["tasks"]["maxItems"], 1);
        assert_eq!(task["outcomes"]["maxItems"], 2);
        assert_eq!(task["description"]["maxLength"], MIN_STRING);
        let listed = json!({"type": "object", "properties": {"votes": {
            "type": "array", "maxItems": 32, LISTED: true,
            "items": {"type": "string", "maxLength": 1000},
        }}});
        let fitted = fit_to_budget(&listed, 64);
        assert_eq!(fitted["properties"]["votes"]["maxItems"], 32);
        assert_eq!(
            fitted["properties"]["votes"]["items"]["maxLength"],
            MIN_STRING
        );
    }
}
