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
    pub path: String,
    pub message: String,
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
            extra: [(
                "converted_from_schema_version".to_string(),
                value.get("schema_version").cloned().unwrap_or(json!("1.0")),
            )]
            .into_iter()
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
        schema_version: v2(),
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
        schema_version: v2(),
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
}
