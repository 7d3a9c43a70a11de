//! The questions the bridge asks Earls through the agent port: an independent
//! decomposition of one tactic, and the facilitator's synthesis of several.

use archon_core::agent_port::{Question, SimContext};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::context::DecompositionContext;
use crate::model::{CapabilityTag, Sensitivity};

/// One task as an Earl proposes it; the bridge assigns its `task_ref`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProposedTask {
    /// What one executor must do: singular and bounded.
    pub description: String,
    /// FR/NFR references and deliverable contributions.
    pub requirements: Vec<String>,
    /// Completion criteria, at least two, each checkable.
    #[schemars(length(min = 2))]
    pub expected_outcomes: Vec<String>,
    #[schemars(length(min = 1))]
    pub capability_tags: Vec<CapabilityTag>,
    /// Above 0, as the hard lint requires: a model's answer that is not is
    /// invalid and asked again, instead of passing the schema and failing lint.
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub effort_hours: f64,
    /// Task refs (`TASK-…`) that must complete first. A ref is short: its
    /// bound weighs it against the prose fields when the schema is sized to
    /// a model's token budget.
    #[serde(default)]
    #[schemars(inner(length(max = 40)))]
    pub dependencies: Vec<String>,
    #[serde(default)]
    pub sensitivity: Sensitivity,
}

/// An Earl's decomposition of one tactic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EarlDecomposition {
    pub tasks: Vec<ProposedTask>,
}

/// "Decompose this tactic into task drafts."
#[derive(Debug, Clone, Serialize)]
pub struct EarlDecompositionQuestion {
    pub context: DecompositionContext,
}

/// The two tasks of the simulation adapter (spec 4, step B): design and
/// document (8 h), then implement and verify (16 h, after the first).
pub fn simulated_tasks(ctx: &DecompositionContext) -> Vec<ProposedTask> {
    let title = &ctx.tactic.title;
    let mut requirements = Vec::new();
    if let Some(id) = ctx.primary_requirement_id() {
        requirements.push(format!("Addresses {id}"));
    }
    match &ctx.tactic.deliverable_id {
        Some(d) => requirements.push(format!("Contributes to deliverable {d}")),
        None if requirements.is_empty() => {
            requirements.push(format!("Implements tactic {}", ctx.tactic.tactic_id));
        }
        None => {}
    }
    let tags = vec![CapabilityTag::DevBackend, CapabilityTag::QaTesting];
    vec![
        ProposedTask {
            description: format!(
                "Design and document approach for: {title}. Produce specification and test plan."
            ),
            requirements: requirements.clone(),
            expected_outcomes: vec![
                format!("Written specification for {title} reviewed and accepted"),
                "Test plan with at least 3 acceptance criteria defined".into(),
            ],
            capability_tags: tags.clone(),
            effort_hours: 8.0,
            dependencies: vec![],
            sensitivity: Sensitivity::Standard,
        },
        ProposedTask {
            description: format!(
                "Implement and verify: {title}. Produce working implementation with passing tests."
            ),
            requirements,
            expected_outcomes: vec![
                format!("Implementation of {title} passes all acceptance tests"),
                "Code reviewed and merged to target branch".into(),
            ],
            capability_tags: tags,
            effort_hours: 16.0,
            dependencies: vec![format!("{}a", ctx.task_ref_prefix)],
            sensitivity: Sensitivity::Standard,
        },
    ]
}

impl Question for EarlDecompositionQuestion {
    type Answer = EarlDecomposition;
    const KIND: &'static str = "earl_decomposition";
    const TEMPLATE: &'static str = include_str!("prompts/earl_decomposition.j2");

    fn simulate(&self, _ctx: &SimContext<'_>) -> EarlDecomposition {
        EarlDecomposition {
            tasks: simulated_tasks(&self.context),
        }
    }
}

/// A synthesised task: a proposed task and the Earls whose work it merges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SynthesizedTask {
    #[serde(flatten)]
    pub task: ProposedTask,
    /// Names of the Earls whose decompositions this task draws on.
    pub contributing_earls: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Synthesis {
    pub tasks: Vec<SynthesizedTask>,
}

/// One Earl's decomposition as the facilitator sees it.
#[derive(Debug, Clone, Serialize)]
pub struct EarlProposal {
    pub earl_name: String,
    pub tasks: Vec<ProposedTask>,
}

/// "Merge these Earls' decompositions into one set of task drafts."
#[derive(Debug, Clone, Serialize)]
pub struct EarlSynthesisQuestion {
    pub context: DecompositionContext,
    pub proposals: Vec<EarlProposal>,
    /// How many Earls were asked (some may have failed).
    pub earls_asked: usize,
}

/// Words of a description, for grouping equivalent tasks.
fn task_key(description: &str) -> String {
    archon_core::roster::words(description)
        .collect::<Vec<_>>()
        .join(" ")
}

impl Question for EarlSynthesisQuestion {
    type Answer = Synthesis;
    const KIND: &'static str = "earl_synthesis";
    const TEMPLATE: &'static str = include_str!("prompts/earl_synthesis.j2");

    /// The simulated facilitator merges tasks with the same description, in
    /// order of first appearance, crediting every Earl that proposed one.
    fn simulate(&self, _ctx: &SimContext<'_>) -> Synthesis {
        let mut merged: Vec<(String, SynthesizedTask)> = Vec::new();
        for p in &self.proposals {
            for task in &p.tasks {
                let key = task_key(&task.description);
                match merged.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, m)) if !m.contributing_earls.contains(&p.earl_name) => {
                        m.contributing_earls.push(p.earl_name.clone());
                    }
                    Some(_) => {}
                    None => merged.push((
                        key,
                        SynthesizedTask {
                            task: task.clone(),
                            contributing_earls: vec![p.earl_name.clone()],
                        },
                    )),
                }
            }
        }
        Synthesis {
            tasks: merged.into_iter().map(|(_, t)| t).collect(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use archon_core::agent_port::check_template;

    #[test]
    fn templates_compile() {
        check_template(
            EarlDecompositionQuestion::KIND,
            EarlDecompositionQuestion::TEMPLATE,
        )
        .unwrap();
        check_template(EarlSynthesisQuestion::KIND, EarlSynthesisQuestion::TEMPLATE).unwrap();
    }

    /// Sized to a small model's budget, a decomposition still admits a task
    /// with its two outcomes and a tag, and nothing longer than the budget.
    #[test]
    fn decomposition_schemas_fit_a_small_budget() {
        use archon_core::agent_port::{answer_schema, fit_to_budget, longest_answer_tokens};
        for max_tokens in [512, 2048] {
            for (schema, task) in [
                (answer_schema::<EarlDecomposition>(), "ProposedTask"),
                (answer_schema::<Synthesis>(), "SynthesizedTask"),
            ] {
                let fitted = fit_to_budget(&schema, max_tokens);
                assert!(longest_answer_tokens(&fitted) <= u64::from(max_tokens));
                let task = &fitted["$defs"][task]["properties"];
                assert!(fitted["properties"]["tasks"]["maxItems"].as_u64().unwrap() >= 1);
                assert_eq!(task["expected_outcomes"]["minItems"], 2);
                assert!(task["expected_outcomes"]["maxItems"].as_u64().unwrap() >= 2);
                assert!(task["capability_tags"]["maxItems"].as_u64().unwrap() >= 1);
                assert!(task["description"]["maxLength"].as_u64().unwrap() >= 40);
            }
        }
    }

    /// The real model's answer that passed the schema and failed the hard
    /// lint (`effort_hours` of -1.7e15) is now invalid, so it is asked again.
    #[test]
    fn an_effort_not_above_zero_is_an_invalid_answer() {
        use archon_core::agent_port::answer_schema;
        let task = |effort: f64| {
            serde_json::json!({"tasks": [{"description": "Build the schema",
                "requirements": ["FR-1"], "expected_outcomes": ["a", "b"],
                "capability_tags": ["dev_backend"], "effort_hours": effort}]})
        };
        for schema in [
            answer_schema::<EarlDecomposition>(),
            answer_schema::<Synthesis>(),
        ] {
            let validator = jsonschema::validator_for(&schema).unwrap();
            let mut valid = task(4.0);
            let mut negative = task(-1.7e15);
            if schema.to_string().contains("contributing_earls") {
                for v in [&mut valid, &mut negative] {
                    v["tasks"][0]["contributing_earls"] = serde_json::json!(["Raum"]);
                }
            }
            assert!(validator.is_valid(&valid), "{schema}");
            assert!(!validator.is_valid(&negative));
            assert!(!validator.is_valid(&task(0.0)));
        }
    }

    #[test]
    fn answer_schemas_demand_known_tags() {
        let schema = serde_json::to_string(&schemars::schema_for!(Synthesis)).unwrap();
        assert!(schema.contains("contributing_earls"), "{schema}");
        assert!(schema.contains("qa_testing"), "{schema}");
    }
}
