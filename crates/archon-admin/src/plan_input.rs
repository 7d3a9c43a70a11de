//! The Executive plan as Administration reads it: `execution_plan_v2.json` and
//! `execution_plan_handoff.json` (spec: executive-planning-v2, "Epic Model",
//! "Downstream Artifacts"). Read tolerantly: only what the dossier uses is
//! required; everything else defaults, and unknown fields are ignored.

use serde::{Deserialize, Serialize};

use archon_core::input::InputError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionPlan {
    pub schema_version: String,
    pub motion_id: String,
    #[serde(default)]
    pub cycle_id: String,
    #[serde(default)]
    pub plan_owner: PlanOwner,
    #[serde(default)]
    pub affected_portfolios: Vec<AffectedPortfolio>,
    pub epics: Vec<Epic>,
    #[serde(default)]
    pub blockers: Vec<Blocker>,
    #[serde(default)]
    pub discovery_task_stubs: Vec<DiscoveryStub>,
    /// Ids of the Conclave queue items the planner emitted.
    #[serde(default)]
    pub conclave_queue_items: Vec<TextItem>,
}

/// `plan_owner`: the planner may write an object or just the portfolio id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "PlanOwnerForm")]
pub struct PlanOwner {
    pub portfolio_id: String,
    pub president_name: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PlanOwnerForm {
    Id(String),
    Object {
        #[serde(default)]
        portfolio_id: String,
        #[serde(default, alias = "president", alias = "archon_name")]
        president_name: String,
    },
}

impl From<PlanOwnerForm> for PlanOwner {
    fn from(f: PlanOwnerForm) -> Self {
        match f {
            PlanOwnerForm::Id(portfolio_id) => PlanOwner {
                portfolio_id,
                president_name: String::new(),
            },
            PlanOwnerForm::Object {
                portfolio_id,
                president_name,
            } => PlanOwner {
                portfolio_id,
                president_name,
            },
        }
    }
}

/// An entry of `affected_portfolios`: a portfolio id or an object carrying one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "AffectedForm")]
pub struct AffectedPortfolio {
    pub portfolio_id: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum AffectedForm {
    Id(String),
    Object { portfolio_id: String },
}

impl From<AffectedForm> for AffectedPortfolio {
    fn from(f: AffectedForm) -> Self {
        match f {
            AffectedForm::Id(portfolio_id) | AffectedForm::Object { portfolio_id } => {
                AffectedPortfolio { portfolio_id }
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Epic {
    pub epic_id: String,
    pub intent: String,
    #[serde(default)]
    pub success_signals: Vec<String>,
    #[serde(default)]
    pub constraints: Vec<String>,
    #[serde(default)]
    pub assumptions: Vec<String>,
    #[serde(default)]
    pub discovery_required: Vec<String>,
    #[serde(default)]
    pub mapped_motion_clauses: Vec<String>,
    #[serde(default)]
    pub work_packages: Vec<WorkPackage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkPackage {
    #[serde(default)]
    pub package_id: String,
    #[serde(default)]
    pub scope_description: String,
    #[serde(default)]
    pub portfolio_id: String,
}

/// A v2 blocker; the planner may leave fields null on an incomplete blocker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Blocker {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub blocker_class: Option<String>,
    #[serde(default)]
    pub disposition: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscoveryStub {
    pub task_id: String,
    #[serde(default)]
    pub origin_blocker_id: String,
    #[serde(default)]
    pub question: String,
    #[serde(default)]
    pub deliverable: String,
    #[serde(default)]
    pub max_effort: String,
    #[serde(default)]
    pub stop_conditions: Vec<String>,
    #[serde(default)]
    pub escalation_conditions: Vec<String>,
}

/// `execution_plan_handoff.json`: what Administration takes in. Its epic list
/// repeats the plan's; the dossier uses the plan's epics and the handoff's
/// spotlight and conditions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Handoff {
    #[serde(default)]
    pub schema_version: String,
    #[serde(default)]
    pub discovery_task_stubs: Vec<DiscoveryStub>,
    /// Strings or `{constraint, …}` objects; normalised to text.
    #[serde(default, alias = "hard_constraints")]
    pub hard_constraints_spotlight: Vec<TextItem>,
    #[serde(default)]
    pub stop_conditions: Vec<TextItem>,
    #[serde(default)]
    pub escalation_conditions: Vec<TextItem>,
    /// Conclave queue items still open: Administration must not pre-empt them.
    #[serde(default)]
    pub pending_conclave_items: Vec<TextItem>,
}

/// A list item the planner may write as a string or an object with a text field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "TextForm")]
pub struct TextItem(pub String);

#[derive(Deserialize)]
#[serde(untagged)]
enum TextForm {
    Text(String),
    Object(serde_json::Map<String, serde_json::Value>),
}

impl From<TextForm> for TextItem {
    fn from(f: TextForm) -> Self {
        match f {
            TextForm::Text(t) => TextItem(t),
            TextForm::Object(map) => {
                let text = [
                    "description",
                    "constraint",
                    "condition",
                    "text",
                    "statement",
                ]
                .iter()
                .find_map(|k| map.get(*k).and_then(|v| v.as_str()))
                .map(str::to_string)
                .unwrap_or_else(|| serde_json::Value::Object(map).to_string());
                TextItem(text)
            }
        }
    }
}

impl ExecutionPlan {
    /// Checks what the dossier needs; every problem names its JSON path.
    pub fn validate(&self, source: &str) -> Vec<InputError> {
        let mut errors = Vec::new();
        let mut err = |path: String, msg: String| errors.push(InputError::new(source, path, msg));
        if !self.schema_version.starts_with('2') {
            err(
                "$.schema_version".into(),
                format!(
                    "expected an execution plan v2 (\"2.0\"), found {:?}",
                    self.schema_version
                ),
            );
        }
        if let Err(m) = archon_core::ids::check_file_component(&self.motion_id) {
            err("$.motion_id".into(), m);
        }
        if self.epics.is_empty() {
            err(
                "$.epics".into(),
                "the plan has no epics, so the Implementation Dossier would have no deliverables"
                    .into(),
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, e) in self.epics.iter().enumerate() {
            if e.epic_id.trim().is_empty() {
                err(format!("$.epics[{i}].epic_id"), "epic_id is empty".into());
            } else if !seen.insert(e.epic_id.as_str()) {
                err(
                    format!("$.epics[{i}].epic_id"),
                    format!("duplicate epic_id {:?}", e.epic_id),
                );
            }
            if e.intent.trim().is_empty() {
                err(format!("$.epics[{i}].intent"), "intent is empty".into());
            }
            if e.success_signals.is_empty() {
                err(
                    format!("$.epics[{i}].success_signals"),
                    "an epic needs at least one success signal (its acceptance criteria)".into(),
                );
            }
        }
        errors
    }

    /// Intent questions escalated to the Conclave (INTENT_AMBIGUITY, ESCALATE_NOW)
    /// that an epic depends on (`discovery_required` names the blocker): those
    /// deliverables cannot be accepted before the Conclave answers WHAT.
    /// Escalations no epic depends on are the Conclave's business already and
    /// do not hold up Administration (see [`Self::pending_conclave_items`]).
    pub fn open_intent_questions(&self) -> Vec<String> {
        let needed: std::collections::BTreeSet<&str> = self
            .epics
            .iter()
            .flat_map(|e| e.discovery_required.iter().map(String::as_str))
            .collect();
        self.blockers
            .iter()
            .filter(|b| {
                b.blocker_class.as_deref() == Some("INTENT_AMBIGUITY")
                    && b.disposition.as_deref() == Some("ESCALATE_NOW")
                    && b.id.as_deref().is_some_and(|id| needed.contains(id))
            })
            .map(|b| {
                format!(
                    "{}: {}",
                    b.id.as_deref().unwrap_or("blocker"),
                    b.description.as_deref().unwrap_or("intent ambiguity")
                )
            })
            .collect()
    }

    /// Conclave queue items of the plan and the handoff, sorted and distinct.
    pub fn pending_conclave_items(&self, handoff: &Handoff) -> Vec<String> {
        let mut items: Vec<String> = self
            .conclave_queue_items
            .iter()
            .chain(&handoff.pending_conclave_items)
            .map(|t| t.0.clone())
            .collect();
        items.sort();
        items.dedup();
        items
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use archon_core::input::parse_json;

    #[test]
    fn tolerant_forms() {
        let plan: ExecutionPlan = parse_json(
            "p.json",
            r#"{"schema_version":"2.0","motion_id":"m1","plan_owner":"portfolio_x",
                "affected_portfolios":["a",{"portfolio_id":"b","extra":1}],
                "epics":[{"epic_id":"e1","intent":"i","success_signals":["s"]}]}"#,
        )
        .unwrap();
        assert_eq!(plan.plan_owner.portfolio_id, "portfolio_x");
        assert_eq!(plan.affected_portfolios[1].portfolio_id, "b");
        assert!(plan.validate("p.json").is_empty());
        let h: Handoff = parse_json(
            "h.json",
            r#"{"hard_constraints_spotlight":["x",{"constraint":"y"}]}"#,
        )
        .unwrap();
        assert_eq!(h.hard_constraints_spotlight[1].0, "y");
    }

    #[test]
    fn no_epics_and_bad_ids_are_named() {
        let plan: ExecutionPlan = parse_json(
            "p.json",
            r#"{"schema_version":"2.0","motion_id":"../x","epics":[]}"#,
        )
        .unwrap();
        let errs = plan.validate("p.json");
        let paths: Vec<_> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, vec!["$.motion_id", "$.epics"]);
    }
}
