//! What `archon review` hands over: `ratified_motions.json`, and the dissent and
//! concerns found in `aggregations.json` and `panel_deliberations/panel-<id>.json`.
//! The review artifacts are read tolerantly (they are context, not contract):
//! unknown shapes contribute nothing rather than failing the plan.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatifiedMotionsFile {
    #[serde(default)]
    pub schema_version: Option<String>,
    pub session_id: String,
    #[serde(default)]
    pub generated_at: Option<String>,
    pub motions: Vec<RatifiedMotion>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatifiedMotion {
    pub mega_motion_id: String,
    pub title: String,
    #[serde(default)]
    pub theme: String,
    pub final_text: String,
    #[serde(default)]
    pub original_text: String,
    #[serde(default)]
    pub revised_text: Option<String>,
    /// `amendment_synthesis`, `panel`, or null.
    #[serde(default)]
    pub revision_source: Option<String>,
    #[serde(default)]
    pub is_constitutional_amendment: bool,
    #[serde(default)]
    pub is_novel_proposal: bool,
    #[serde(default)]
    pub source_motion_ids: Vec<String>,
    #[serde(default)]
    pub supporting_archons: Vec<String>,
    #[serde(default)]
    pub risk_tier: Option<String>,
    #[serde(default)]
    pub review_path: Option<String>,
    pub vote: Value,
    #[serde(default)]
    pub provenance: MotionProvenance,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MotionProvenance {
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub source_files: Vec<SourceFile>,
    #[serde(default)]
    pub aggregation_ref: Option<String>,
    #[serde(default)]
    pub panel_id: Option<String>,
    #[serde(default)]
    pub ratification_vote_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceFile {
    pub name: String,
    #[serde(default)]
    pub sha256: String,
}

/// Dissent and concerns about one motion, gathered from the review artifacts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReviewContext {
    pub dissent: Vec<String>,
    pub concerns: Vec<String>,
    pub amendment_texts: Vec<String>,
}

/// The aggregation of `motion_id` in an `aggregations.json` value (a list, or
/// an object with `aggregations`): its opposition reasons and amendment texts.
pub fn aggregation_context(aggregations: &Value, motion_id: &str, into: &mut ReviewContext) {
    let list = aggregations
        .get("aggregations")
        .unwrap_or(aggregations)
        .as_array();
    for agg in list.into_iter().flatten() {
        if agg.get("mega_motion_id").and_then(Value::as_str) != Some(motion_id) {
            continue;
        }
        into.concerns.extend(strings(agg.get("opposition_reasons")));
        into.amendment_texts
            .extend(strings(agg.get("amendment_texts")));
    }
}

/// Dissenting opinions of a panel file (strings, or `{archon_id|archon_name, opinion_text}`).
pub fn panel_dissent(panel: &Value, into: &mut ReviewContext) {
    let Some(list) = panel
        .get("dissenting_opinions")
        .or_else(|| {
            panel
                .get("result")
                .and_then(|r| r.get("dissenting_opinions"))
        })
        .and_then(Value::as_array)
    else {
        return;
    };
    for item in list {
        let text = match item {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => {
                let who = o
                    .get("archon_name")
                    .or_else(|| o.get("archon_id"))
                    .and_then(Value::as_str);
                let body = o
                    .get("opinion_text")
                    .or_else(|| o.get("text"))
                    .and_then(Value::as_str);
                body.map(|b| match who {
                    Some(w) => format!("{w}: {b}"),
                    None => b.to_string(),
                })
            }
            _ => None,
        };
        into.dissent.extend(text.filter(|t| !t.trim().is_empty()));
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str())
        .filter(|s| !s.trim().is_empty())
        .map(str::to_string)
        .collect()
}
