//! v1 contributions (`schema_version` "1.x": `tasks`, legacy blockers with
//! `requires_escalation`) validated by the v1 rules and converted to v2.
//!
//! v1 rules: every legacy blocker has a severity of LOW|MEDIUM|HIGH|CRITICAL and a
//! non-empty description, and a CRITICAL blocker has `requires_escalation: true`.
//!
//! Conversion rule: `requires_escalation: true` → INTENT_AMBIGUITY / ESCALATE_NOW
//! (the only escalation v2 allows; the Executive Clarification Review may still
//! reclassify it); `false` → EXECUTION_UNCERTAINTY / DEFER_DOWNSTREAM with one
//! verification task "Investigate: <description>". Tasks become work packages;
//! Administrative fields (story points, estimates, …) are dropped and listed in
//! `v1_dropped_fields`. The original blocker is kept in `converted_from_v1`.

use serde_json::{json, Value};

use archon_core::input::{from_value, InputError};

use crate::drafting::package_prefix;
use crate::model::{
    v2, Blocker, BlockerClass, CapacityClaim, Disposition, Extra, PortfolioContribution,
    PortfolioIdentity, Severity, VerificationTask, WorkPackage, FORBIDDEN_FIELDS,
};

/// A v1 rule violation, reported by the Legibility gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Finding {
    /// The Legibility rule: `v1_legacy_blocker` or `v1_with_v2_fields`.
    pub rule: &'static str,
    pub path: String,
    pub message: String,
}

const V1_RULE: &str = "v1_legacy_blocker";
const V1_WITH_V2_RULE: &str = "v1_with_v2_fields";
/// Fields of a v2 contribution that a v1 file cannot carry.
const V2_CONTRIBUTION_FIELDS: [&str; 2] = ["work_packages", "epics"];
/// Fields of a v2 blocker that a v1 blocker cannot carry.
const V2_BLOCKER_FIELDS: [&str; 8] = [
    "id",
    "blocker_class",
    "disposition",
    "owner_portfolio_id",
    "ttl",
    "escalation_conditions",
    "verification_tasks",
    "mitigation_notes",
];

/// v2 fields in a v1 file: each is refused by the Legibility gate (naming its
/// path) and kept, by path, under `refused_v2_fields`, never silently dropped.
fn v2_fields(value: &Value, findings: &mut Vec<V1Finding>) -> serde_json::Map<String, Value> {
    let mut kept = serde_json::Map::new();
    let mut refuse = |path: String, v: &Value| {
        findings.push(V1Finding {
            rule: V1_WITH_V2_RULE,
            path: path.clone(),
            message: "a v2 field in a schema_version 1.x contribution: v1 conversion would drop it; write the whole file as schema_version 2.0".into(),
        });
        kept.insert(path, v.clone());
    };
    for key in V2_CONTRIBUTION_FIELDS {
        if let Some(v) = value.get(key) {
            refuse(format!("$.{key}"), v);
        }
    }
    for (i, b) in value
        .get("blockers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        for key in V2_BLOCKER_FIELDS {
            if let Some(v) = b.get(key) {
                refuse(format!("$.blockers[{i}].{key}"), v);
            }
        }
    }
    kept
}

pub fn is_v1(value: &Value) -> bool {
    value
        .get("schema_version")
        .and_then(Value::as_str)
        .is_some_and(|v| v.starts_with("1."))
        || (value.get("schema_version").is_none() && value.get("tasks").is_some())
}

/// Converts a v1 contribution; returns it with the v1 rule violations found.
pub fn convert_contribution(
    source: &str,
    value: &Value,
) -> Result<(PortfolioContribution, Vec<V1Finding>), InputError> {
    let portfolio: PortfolioIdentity = from_value(
        source,
        "$.portfolio",
        value.get("portfolio").unwrap_or(&Value::Null),
    )?;
    let text = |k: &str| {
        value
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let prefix = package_prefix(&portfolio.portfolio_id);
    let work_packages = value
        .get("tasks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, t)| convert_task(t, &prefix, i, &portfolio.portfolio_id))
        .collect();
    let capacity_claim = match value.get("capacity_claim") {
        Some(v) if !v.is_null() => {
            Some(from_value::<CapacityClaim>(source, "$.capacity_claim", v)?)
        }
        _ => None,
    };
    let mut findings = Vec::new();
    let refused = v2_fields(value, &mut findings);
    let short = prefix
        .trim_start_matches("wp_")
        .trim_end_matches('_')
        .to_string();
    let blockers = value
        .get("blockers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, b)| convert_blocker(b, i, &short, &portfolio.portfolio_id, &mut findings))
        .collect();
    Ok((
        PortfolioContribution {
            schema_version: Some(v2()),
            cycle_id: text("cycle_id"),
            motion_id: text("motion_id"),
            portfolio,
            work_packages,
            capacity_claim,
            blockers,
            generated_by: "manual".into(),
            trace: None,
            extra: [
                (
                    "converted_from_schema_version".to_string(),
                    value.get("schema_version").cloned().unwrap_or(json!("1.0")),
                ),
                ("refused_v2_fields".to_string(), Value::Object(refused)),
            ]
            .into_iter()
            .filter(|(_, v)| v.as_object().is_none_or(|o| !o.is_empty()))
            .collect(),
        },
        findings,
    ))
}

fn convert_task(t: &Value, prefix: &str, i: usize, portfolio_id: &str) -> WorkPackage {
    let s = |k: &str| t.get(k).and_then(Value::as_str).map(str::to_string);
    let list = |k: &str| -> Vec<String> {
        t.get(k)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect()
    };
    let dropped: Vec<Value> = t
        .as_object()
        .into_iter()
        .flat_map(|o| o.keys())
        .filter(|k| FORBIDDEN_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(k)))
        .map(|k| json!(k))
        .collect();
    let mut extra = Extra::new();
    if !dropped.is_empty() {
        extra.insert("v1_dropped_fields".into(), Value::Array(dropped));
    }
    WorkPackage {
        schema_version: Some(v2()),
        package_id: s("task_id").unwrap_or_else(|| format!("{prefix}{:02}", i + 1)),
        epic_id: None,
        scope_description: s("description").or_else(|| s("title")).unwrap_or_default(),
        portfolio_id: portfolio_id.to_string(),
        mapped_clauses: list("mapped_clauses"),
        dependencies: list("dependencies"),
        constraints_respected: list("constraints_respected"),
        success_signal: s("success_signal"),
        extra,
    }
}

fn convert_blocker(
    b: &Value,
    i: usize,
    short: &str,
    portfolio_id: &str,
    findings: &mut Vec<V1Finding>,
) -> Blocker {
    let path = format!("$.blockers[{i}]");
    let severity = match b.get("severity").and_then(Value::as_str) {
        Some("LOW") => Some(Severity::Low),
        Some("MEDIUM") => Some(Severity::Medium),
        Some("HIGH") => Some(Severity::High),
        Some("CRITICAL") => Some(Severity::Critical),
        other => {
            findings.push(V1Finding {
                rule: V1_RULE,
                path: format!("{path}.severity"),
                message: format!(
                    "v1 rule: severity must be LOW, MEDIUM, HIGH or CRITICAL, found {other:?}"
                ),
            });
            None
        }
    };
    let description = b
        .get("description")
        .and_then(Value::as_str)
        .filter(|d| !d.trim().is_empty())
        .map(str::to_string);
    if description.is_none() {
        findings.push(V1Finding {
            rule: V1_RULE,
            path: format!("{path}.description"),
            message: "v1 rule: a blocker needs a description".into(),
        });
    }
    let escalate = b
        .get("requires_escalation")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if severity == Some(Severity::Critical) && !escalate {
        findings.push(V1Finding {
            rule: V1_RULE,
            path: format!("{path}.requires_escalation"),
            message: "v1 rule: a CRITICAL blocker must require escalation".into(),
        });
    }
    let id = format!("blocker_v1_{short}_{:02}", i + 1);
    let desc = description.clone().unwrap_or_default();
    let (class, disposition, ttl, conditions, tasks) = if escalate {
        (
            BlockerClass::IntentAmbiguity,
            Disposition::EscalateNow,
            "P30D",
            vec!["Legacy v1 blocker required escalation: the Conclave decides".to_string()],
            Vec::new(),
        )
    } else {
        (
            BlockerClass::ExecutionUncertainty,
            Disposition::DeferDownstream,
            "P14D",
            vec![
                "Discovery exceeds the TTL without findings".to_string(),
                "Findings show the issue needs the Conclave's intent".to_string(),
            ],
            vec![VerificationTask {
                task_id: format!("discovery_{id}_1"),
                description: format!("Investigate: {desc}"),
                success_signal: "Findings that resolve the legacy blocker or justify escalation"
                    .into(),
                extra: Extra::new(),
            }],
        )
    };
    Blocker {
        schema_version: Some(v2()),
        id: Some(id),
        blocker_class: Some(class),
        severity,
        description,
        owner_portfolio_id: Some(portfolio_id.to_string()),
        disposition: Some(disposition),
        ttl: Some(ttl.into()),
        escalation_conditions: Some(conditions),
        verification_tasks: tasks,
        mitigation_notes: None,
        clause_ref: None,
        questions: if escalate {
            vec![format!("Clarify the motion's intent: {desc}")]
        } else {
            Vec::new()
        },
        interpretations: Vec::new(),
        converted_from_v1: Some(b.clone()),
        extra: Extra::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversion_rule_and_v1_findings() {
        let v = json!({
            "schema_version": "1.0", "cycle_id": "c", "motion_id": "m",
            "portfolio": {"portfolio_id": "portfolio_x", "president_id": "p", "president_name": "P"},
            "tasks": [{"task_id": "t1", "description": "d", "story_points": 5}],
            "capacity_claim": {"claim_type": "COARSE", "units": 2},
            "blockers": [
                {"severity": "CRITICAL", "description": "what is meant?", "requires_escalation": true},
                {"severity": "HIGH", "description": "tool unknown", "requires_escalation": false},
                {"severity": "CRITICAL", "description": "", "requires_escalation": false}
            ]
        });
        assert!(is_v1(&v));
        let (c, findings) = convert_contribution("c.json", &v).expect("converts");
        assert_eq!(
            c.work_packages[0].extra["v1_dropped_fields"],
            json!(["story_points"])
        );
        assert!(!c.work_packages[0].extra.contains_key("story_points"));
        assert_eq!(c.blockers[0].disposition, Some(Disposition::EscalateNow));
        assert_eq!(
            c.blockers[0].blocker_class,
            Some(BlockerClass::IntentAmbiguity)
        );
        assert_eq!(
            c.blockers[1].disposition,
            Some(Disposition::DeferDownstream)
        );
        assert_eq!(c.blockers[1].verification_tasks.len(), 1);
        let paths: Vec<_> = findings.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "$.blockers[2].description",
                "$.blockers[2].requires_escalation"
            ]
        );
    }

    #[test]
    fn v2_fields_in_a_v1_file_are_refused_and_kept() {
        let v = json!({
            "schema_version": "1.0", "cycle_id": "c", "motion_id": "m",
            "portfolio": {"portfolio_id": "portfolio_x", "president_id": "p", "president_name": "P"},
            "tasks": [],
            "work_packages": [{"package_id": "wp_1", "scope_description": "s"}],
            "blockers": [{"severity": "LOW", "description": "d", "disposition": "DEFER_DOWNSTREAM"}]
        });
        let (c, findings) = convert_contribution("c.json", &v).expect("converts");
        let found: Vec<_> = findings.iter().map(|f| (f.rule, f.path.as_str())).collect();
        assert_eq!(
            found,
            [
                ("v1_with_v2_fields", "$.work_packages"),
                ("v1_with_v2_fields", "$.blockers[0].disposition")
            ]
        );
        assert_eq!(
            c.extra["refused_v2_fields"]["$.work_packages"][0]["package_id"],
            "wp_1"
        );
    }
}
