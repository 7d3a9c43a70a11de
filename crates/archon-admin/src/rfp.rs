//! `archon rfp`: the 11 Presidents turn one Executive plan into an
//! Implementation Dossier. Deliverables come from the plan (one per epic, its
//! success signals as acceptance criteria); requirements, constraints and
//! evaluation emphasis come from each President's portfolio, asked in one round.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use archon_core::agent_port::{AgentFailure, Agents, Ask, Question, SimContext};
use archon_core::roster::{words, Archon, Rank, Roster};
use archon_core::seed::sha256_hex;

use crate::abbrev;
use crate::dossier::*;
use crate::events::Event;
use crate::plan_input::{ExecutionPlan, Handoff};
use crate::scoring::{Dimension, WEIGHTS};

/// What a President is asked.
#[derive(Debug, Clone, Serialize)]
pub struct RequirementsQuestion {
    pub mandate_id: String,
    pub motion_id: String,
    pub portfolio_id: String,
    pub portfolio_label: String,
    /// Whether the plan names this portfolio as owner or affected.
    pub affected: bool,
    pub plan_owner: bool,
    pub deliverables: Vec<Deliverable>,
    pub hard_constraints: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Priority {
    Must,
    Should,
    Could,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FunctionalAnswer {
    /// One of the dossier's deliverable ids (`D-001`, …).
    pub deliverable_id: String,
    pub description: String,
    pub priority: Priority,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NonFunctionalAnswer {
    pub category: String,
    pub description: String,
    /// How compliance is measured.
    pub measurement: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConstraintAnswer {
    pub description: String,
    pub rationale: String,
}

/// A President's contribution to the dossier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RequirementsAnswer {
    pub functional: Vec<FunctionalAnswer>,
    pub non_functional: Vec<NonFunctionalAnswer>,
    pub constraints: Vec<ConstraintAnswer>,
    /// The evaluation dimension this portfolio weighs most.
    pub emphasis: Dimension,
}

impl Question for RequirementsQuestion {
    type Answer = RequirementsAnswer;
    const KIND: &'static str = "rfp_requirements";
    const TEMPLATE: &'static str = include_str!("../prompts/rfp_requirements.j2");

    fn simulate(&self, ctx: &SimContext<'_>) -> RequirementsAnswer {
        let archon = ctx.archon;
        let lens = PortfolioLens::of(archon);
        let terms: BTreeSet<String> = archon.domain_terms().into_iter().collect();
        let mut functional = Vec::new();
        for d in &self.deliverables {
            let text = format!(
                "{} {} {}",
                d.name,
                d.acceptance_criteria.join(" "),
                d.constraints.join(" ")
            );
            let relevant = words(&text).any(|w| terms.contains(&w));
            if self.plan_owner {
                for signal in d.acceptance_criteria.iter().take(3) {
                    functional.push(FunctionalAnswer {
                        deliverable_id: d.deliverable_id.clone(),
                        description: format!("{} shall demonstrably achieve: {signal}", d.name),
                        priority: Priority::Must,
                    });
                }
            } else if self.affected || relevant {
                functional.push(FunctionalAnswer {
                    deliverable_id: d.deliverable_id.clone(),
                    description: format!(
                        "{} shall {} ({} view)",
                        d.name, lens.functional, self.portfolio_label
                    ),
                    priority: if self.affected {
                        Priority::Must
                    } else {
                        Priority::Should
                    },
                });
            }
        }
        let mut non_functional = vec![NonFunctionalAnswer {
            category: lens.category.into(),
            description: lens.nfr.into(),
            measurement: lens.measurement.into(),
        }];
        let roll = ctx
            .seed
            .unit(&["rfp", "constraint", &archon.name, &self.mandate_id]);
        let constraints = if self.affected || roll < 0.3 {
            vec![ConstraintAnswer {
                description: lens.constraint.into(),
                rationale: format!("Required by the {} portfolio", self.portfolio_label),
            }]
        } else {
            Vec::new()
        };
        if self.affected {
            non_functional.push(NonFunctionalAnswer {
                category: "traceability".into(),
                description: format!(
                    "Every {} change is traceable to a deliverable of mandate {}",
                    self.portfolio_label, self.mandate_id
                ),
                measurement: "100% of changes carry a deliverable id in their record".into(),
            });
        }
        RequirementsAnswer {
            functional,
            non_functional,
            constraints,
            emphasis: lens.emphasis,
        }
    }
}

/// How a portfolio looks at any mandate (simulation), by the first scope term.
struct PortfolioLens {
    functional: &'static str,
    category: &'static str,
    nfr: &'static str,
    measurement: &'static str,
    constraint: &'static str,
    emphasis: Dimension,
}

impl PortfolioLens {
    fn of(archon: &Archon) -> PortfolioLens {
        let first = archon
            .portfolio_scope
            .as_ref()
            .and_then(|s| s.first())
            .map(String::as_str)
            .unwrap_or("");
        let (functional, category, nfr, measurement, constraint, emphasis) = match first {
            "policy" => (
                "publish its governing policy and keep it versioned",
                "documentation",
                "Operating procedures are documented before go-live",
                "Runbook reviewed and signed off per deliverable",
                "No deliverable goes live without a published policy record",
                Dimension::Alignment,
            ),
            "infrastructure" => (
                "run on monitored, reproducible infrastructure",
                "reliability",
                "Services meet 99.5% monthly availability",
                "Availability measured by external probes",
                "Must run on the existing platform; no new hosting vendor",
                Dimension::Feasibility,
            ),
            "change" => (
                "roll out in reversible stages with a migration path",
                "compatibility",
                "Existing consumers keep working during migration",
                "Zero breaking changes without a deprecation window of 30 days",
                "Every rollout step has a tested rollback",
                Dimension::Feasibility,
            ),
            "alignment" => (
                "expose its decisions to evaluation and oversight",
                "oversight",
                "Automated decisions are reviewable by a human",
                "Sampled review of 5% of decisions per week",
                "No automated decision without an audit record",
                Dimension::Alignment,
            ),
            "resilience" => (
                "recover from failure without data loss",
                "resilience",
                "Recovery within 4 hours of an incident",
                "Quarterly recovery drill meets RTO 4h / RPO 15min",
                "Incident response plan exists before launch",
                Dimension::RiskMitigation,
            ),
            "architecture" => (
                "expose documented, versioned interfaces",
                "maintainability",
                "Interfaces follow the engineering standards",
                "Every interface has a schema and contract tests",
                "Reuse existing components before building new ones",
                Dimension::Feasibility,
            ),
            "security" => (
                "resist tampering and record every privileged action",
                "security",
                "All privileged actions are authenticated and logged",
                "Tamper-evident log verified daily",
                "No secrets in artifacts or logs",
                Dimension::RiskMitigation,
            ),
            "foresight" => (
                "stay adaptable to the scenarios of the next five years",
                "adaptability",
                "Design choices are revisited against scenarios yearly",
                "Scenario review recorded per deliverable",
                "Avoid lock-in that forecloses the long-term options",
                Dimension::Innovation,
            ),
            "capacity" => (
                "fit within the committed capacity and budget",
                "efficiency",
                "Resource use stays within the committed envelope",
                "Monthly variance under 10% of the commitment",
                "Total resource requests must be justified against capacity",
                Dimension::ResourceEfficiency,
            ),
            "identity" => (
                "attribute every action to an authenticated identity",
                "provenance",
                "Every artifact carries its provenance",
                "100% of records have signer and source hash",
                "Access is least-privilege and reviewed quarterly",
                Dimension::Completeness,
            ),
            "ethics" => (
                "respect consent and privacy of every affected party",
                "privacy",
                "Personal data is minimised and consented",
                "Privacy review passed before launch",
                "No processing of personal data without consent",
                Dimension::Alignment,
            ),
            _ => (
                "meet the portfolio's standards",
                "quality",
                "Work meets the portfolio's quality bar",
                "Reviewed by the portfolio before acceptance",
                "Follows the portfolio's published standards",
                Dimension::Completeness,
            ),
        };
        PortfolioLens {
            functional,
            category,
            nfr,
            measurement,
            constraint,
            emphasis,
        }
    }
}

/// One President's slot in the round: the archon, its portfolio, its abbreviation.
#[derive(Debug, Clone)]
pub struct PresidentSlot<'a> {
    pub archon: &'a Archon,
    pub portfolio_id: String,
    pub portfolio_label: String,
    pub abbreviation: String,
}

/// The Presidents in roster order with their requirement-id abbreviations
/// (first word of the portfolio label, made distinct by [`abbrev::assign`]).
pub fn president_slots(roster: &Roster) -> Vec<PresidentSlot<'_>> {
    let presidents: Vec<&Archon> = roster.of_rank(Rank::President).collect();
    let labels: Vec<String> = presidents
        .iter()
        .map(|a| {
            a.portfolio_label
                .as_deref()
                .and_then(|l| l.split_whitespace().next())
                .unwrap_or(&a.name)
                .to_string()
        })
        .collect();
    let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
    presidents
        .into_iter()
        .zip(abbrev::assign(&refs))
        .map(|(archon, abbreviation)| PresidentSlot {
            archon,
            portfolio_id: archon.portfolio_id.clone().unwrap_or_default(),
            portfolio_label: archon.portfolio_label.clone().unwrap_or_default(),
            abbreviation,
        })
        .collect()
}

/// Identity of one mandate, derived from the plan so re-runs land in the same place.
#[derive(Debug, Clone, PartialEq)]
pub struct MandateIdentity {
    pub mandate_id: String,
    pub implementation_dossier_id: String,
}

/// The mandate of a plan: from the seed, the motion and the plan's content
/// ([`PlanInput::content_sha256`]).
pub fn mandate_identity(
    seed: archon_core::seed::Seed,
    motion_id: &str,
    plan_content_sha256: &str,
) -> MandateIdentity {
    let mandate_id = format!(
        "mandate-{}",
        seed.uuid(&["mandate", motion_id, plan_content_sha256])
    );
    let implementation_dossier_id = format!("rfp-{}", &sha256_hex(&mandate_id)[..12]);
    MandateIdentity {
        mandate_id,
        implementation_dossier_id,
    }
}

/// A President's contribution as stored in `contributions/<portfolio_id>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    pub schema_version: String,
    pub mandate_id: String,
    pub president_name: String,
    pub president_id: String,
    pub portfolio_id: String,
    /// `contributed` or `failed`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<RequirementsAnswer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

impl Contribution {
    pub fn succeeded(&self) -> bool {
        self.status == "contributed" && self.answer.is_some()
    }
}

/// The plan and its files as the rfp stage reads them.
pub struct PlanInput {
    pub plan: ExecutionPlan,
    pub handoff: Handoff,
    pub plan_ref: FileRef,
    pub handoff_ref: Option<FileRef>,
    /// sha256 of the plan without its `trace_metadata`: what names its mandate
    /// and the rfp session. The trace records measured model latency, so two
    /// runs whose models said the same things name the same mandates.
    pub content_sha256: String,
}

/// What one rfp run produced for one mandate.
pub struct RfpRun {
    pub dossier: Dossier,
    pub contributions: Vec<Contribution>,
    pub events: Vec<Event>,
}

/// Deliverables: one per epic, in plan order, `D-001`, `D-002`, …
pub fn deliverables(plan: &ExecutionPlan) -> Vec<Deliverable> {
    plan.epics
        .iter()
        .enumerate()
        .map(|(i, e)| Deliverable {
            deliverable_id: format!("D-{:03}", i + 1),
            name: short_title(&e.intent),
            description: e.intent.clone(),
            epic_id: e.epic_id.clone(),
            acceptance_criteria: e.success_signals.clone(),
            constraints: e.constraints.clone(),
            assumptions: e.assumptions.clone(),
            discovery_required: e.discovery_required.clone(),
            mapped_motion_clauses: e.mapped_motion_clauses.clone(),
        })
        .collect()
}

/// The first words of a sentence, at most 80 characters, as a title.
pub fn short_title(text: &str) -> String {
    let mut out = String::new();
    for w in text.split_whitespace() {
        if out.len() + w.len() + 1 > 80 {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w.trim_end_matches(['.', ',', ';', ':']));
    }
    out
}

/// Runs the round: asks every President whose contribution is not in `kept`
/// (successful contributions of an earlier run, reused with `--retry-failed`),
/// then assembles the dossier.
pub fn run(
    input: &PlanInput,
    roster: &Roster,
    agents: &Agents,
    identity: &MandateIdentity,
    kept: &BTreeMap<String, Contribution>,
    now: &str,
) -> RfpRun {
    let plan = &input.plan;
    let slots = president_slots(roster);
    let deliverables = deliverables(plan);
    let affected: BTreeSet<&str> = plan
        .affected_portfolios
        .iter()
        .map(|p| p.portfolio_id.as_str())
        .chain([plan.plan_owner.portfolio_id.as_str()])
        .collect();
    let hard_constraints: Vec<String> = input
        .handoff
        .hard_constraints_spotlight
        .iter()
        .map(|t| t.0.clone())
        .collect();
    let mut events = vec![Event::new(
        "rfp.started",
        now,
        serde_json::json!({
            "mandate_id": identity.mandate_id, "motion_id": plan.motion_id,
            "deliverables": deliverables.len(), "reused_contributions": kept.len(),
        }),
    )];
    let to_ask: Vec<&PresidentSlot> = slots
        .iter()
        .filter(|s| !kept.contains_key(&s.portfolio_id))
        .collect();
    let asks: Vec<Ask<RequirementsQuestion>> = to_ask
        .iter()
        .map(|s| Ask {
            archon: s.archon,
            question: RequirementsQuestion {
                mandate_id: identity.mandate_id.clone(),
                motion_id: plan.motion_id.clone(),
                portfolio_id: s.portfolio_id.clone(),
                portfolio_label: s.portfolio_label.clone(),
                affected: affected.contains(s.portfolio_id.as_str()),
                plan_owner: s.portfolio_id == plan.plan_owner.portfolio_id,
                deliverables: deliverables.clone(),
                hard_constraints: hard_constraints.clone(),
            },
        })
        .collect();
    let answers = agents.ask_all(&asks);
    events.push(Event::calls(
        "rfp",
        now,
        "requirements",
        agents.take_calls(),
    ));
    let known: BTreeSet<&str> = deliverables
        .iter()
        .map(|d| d.deliverable_id.as_str())
        .collect();
    let mut fresh: BTreeMap<String, Contribution> = BTreeMap::new();
    for (slot, answer) in to_ask.iter().zip(answers) {
        let checked = answer
            .map_err(|f: AgentFailure| f.to_string())
            .and_then(|a| {
                match a
                    .functional
                    .iter()
                    .find(|f| !known.contains(f.deliverable_id.as_str()))
                {
                    Some(bad) => Err(format!(
                        "{} answered with unknown deliverable {:?}",
                        slot.archon.name, bad.deliverable_id
                    )),
                    None => Ok(a),
                }
            });
        let (status, answer, failure) = match checked {
            Ok(a) => ("contributed", Some(a), None),
            Err(reason) => ("failed", None, Some(reason)),
        };
        events.push(Event::new(
            if failure.is_some() { "rfp.contribution.failed" } else { "rfp.contribution.received" },
            now,
            serde_json::json!({ "president": slot.archon.name, "portfolio_id": slot.portfolio_id, "reason": failure }),
        ));
        fresh.insert(
            slot.portfolio_id.clone(),
            Contribution {
                schema_version: archon_core::SCHEMA_VERSION.into(),
                mandate_id: identity.mandate_id.clone(),
                president_name: slot.archon.name.clone(),
                president_id: slot.archon.id.clone(),
                portfolio_id: slot.portfolio_id.clone(),
                status: status.into(),
                answer,
                failure,
            },
        );
    }
    let contributions: Vec<Contribution> = slots
        .iter()
        .filter_map(|s| {
            fresh
                .remove(&s.portfolio_id)
                .or_else(|| kept.get(&s.portfolio_id).cloned())
        })
        .collect();
    let dossier = assemble(input, &slots, deliverables, &contributions, identity, now);
    events.push(Event::new(
        "rfp.completed",
        now,
        serde_json::json!({
            "status": dossier.status, "functional": dossier.requirements.functional.len(),
            "non_functional": dossier.requirements.non_functional.len(),
            "constraints": dossier.constraints.len(), "blocked_reasons": dossier.blocked_reasons,
        }),
    ));
    RfpRun {
        dossier,
        contributions,
        events,
    }
}

/// Builds the dossier from the plan and the contributions (in President order).
pub fn assemble(
    input: &PlanInput,
    slots: &[PresidentSlot<'_>],
    deliverables: Vec<Deliverable>,
    contributions: &[Contribution],
    identity: &MandateIdentity,
    now: &str,
) -> Dossier {
    let plan = &input.plan;
    let abbreviation: BTreeMap<&str, &str> = slots
        .iter()
        .map(|s| (s.portfolio_id.as_str(), s.abbreviation.as_str()))
        .collect();
    let mut requirements = Requirements::default();
    let mut constraints: Vec<Constraint> = Vec::new();
    let mut seen_constraints = BTreeSet::new();
    let mut add_constraint =
        |description: &str, source: &str, constraints: &mut Vec<Constraint>| {
            if seen_constraints.insert(description.trim().to_lowercase()) {
                constraints.push(Constraint {
                    constraint_id: format!("C-{:03}", constraints.len() + 1),
                    description: description.trim().to_string(),
                    source: source.to_string(),
                });
            }
        };
    for c in &input.handoff.hard_constraints_spotlight {
        add_constraint(&c.0, "plan", &mut constraints);
    }
    let mut emphasis: BTreeMap<Dimension, Vec<String>> = BTreeMap::new();
    let mut blocked_reasons = Vec::new();
    for c in contributions {
        let Some(answer) = c.answer.as_ref().filter(|_| c.succeeded()) else {
            blocked_reasons.push(format!(
                "President {} ({}) did not contribute: {}",
                c.president_name,
                c.portfolio_id,
                c.failure.as_deref().unwrap_or("no answer")
            ));
            continue;
        };
        let abbr = abbreviation
            .get(c.portfolio_id.as_str())
            .copied()
            .unwrap_or("EXEC");
        for (i, f) in answer.functional.iter().enumerate() {
            requirements.functional.push(FunctionalRequirement {
                req_id: format!("FR-{abbr}-{:03}", i + 1),
                description: f.description.clone(),
                deliverable_id: f.deliverable_id.clone(),
                priority: format!("{:?}", f.priority).to_uppercase(),
                source_president: c.president_name.clone(),
                portfolio_id: c.portfolio_id.clone(),
            });
        }
        for (i, n) in answer.non_functional.iter().enumerate() {
            requirements.non_functional.push(NonFunctionalRequirement {
                req_id: format!("NFR-{abbr}-{:02}", i + 1),
                description: n.description.clone(),
                category: n.category.clone(),
                measurement: n.measurement.clone(),
                source_president: c.president_name.clone(),
                portfolio_id: c.portfolio_id.clone(),
            });
        }
        for k in &answer.constraints {
            add_constraint(&k.description, &c.portfolio_id, &mut constraints);
        }
        emphasis
            .entry(answer.emphasis)
            .or_default()
            .push(c.president_name.clone());
    }
    let evaluation_criteria = WEIGHTS
        .iter()
        .enumerate()
        .map(|(i, (d, w))| EvaluationCriterion {
            criterion_id: format!("EC-{:02}", i + 1),
            dimension: *d,
            weight: *w,
            description: d.describe().into(),
            emphasised_by: emphasis.remove(d).unwrap_or_default(),
        })
        .collect();
    let mut discovery_tasks = plan.discovery_task_stubs.clone();
    for stub in &input.handoff.discovery_task_stubs {
        if !discovery_tasks.iter().any(|d| d.task_id == stub.task_id) {
            discovery_tasks.push(stub.clone());
        }
    }
    let texts = |items: &[crate::plan_input::TextItem]| {
        items.iter().map(|t| t.0.clone()).collect::<Vec<_>>()
    };
    Dossier {
        schema_version: archon_core::SCHEMA_VERSION.into(),
        artifact_type: ARTIFACT_TYPE.into(),
        implementation_dossier_id: identity.implementation_dossier_id.clone(),
        mandate_id: identity.mandate_id.clone(),
        status: if blocked_reasons.is_empty() {
            DossierStatus::Final
        } else {
            DossierStatus::Blocked
        },
        blocked_reasons,
        motion_id: plan.motion_id.clone(),
        cycle_id: plan.cycle_id.clone(),
        plan_owner_portfolio_id: plan.plan_owner.portfolio_id.clone(),
        provenance: Provenance {
            execution_plan: Some(input.plan_ref.clone()),
            execution_plan_handoff: input.handoff_ref.clone(),
            plan_schema_version: plan.schema_version.clone(),
            epic_ids: plan.epics.iter().map(|e| e.epic_id.clone()).collect(),
        },
        deliverables,
        requirements,
        constraints,
        evaluation_criteria,
        discovery_tasks,
        stop_conditions: texts(&input.handoff.stop_conditions),
        escalation_conditions: texts(&input.handoff.escalation_conditions),
        open_intent_questions: plan.open_intent_questions(),
        pending_conclave_items: plan.pending_conclave_items(&input.handoff),
        contributions: contributions
            .iter()
            .map(|c| ContributionRecord {
                president_name: c.president_name.clone(),
                president_id: c.president_id.clone(),
                portfolio_id: c.portfolio_id.clone(),
                status: c.status.clone(),
                reason: c.failure.clone(),
            })
            .collect(),
        created_at: now.to_string(),
    }
}

/// `rfp.md`: the dossier for human readers.
pub fn render_markdown(d: &Dossier) -> String {
    let mut md =
        format!(
        "# Implementation Dossier {}\n\n- Mandate: {}\n- Motion: {}\n- Status: {}\n- Created: {}\n",
        d.implementation_dossier_id,
        d.mandate_id,
        d.motion_id,
        if d.status == DossierStatus::Final { "final" } else { "blocked" },
        d.created_at
    );
    for r in &d.blocked_reasons {
        md.push_str(&format!("- Blocked: {r}\n"));
    }
    md.push_str("\n## Deliverables\n");
    for del in &d.deliverables {
        md.push_str(&format!(
            "\n### {}: {}\n\nEpic: {}\n\nAcceptance criteria:\n",
            del.deliverable_id, del.name, del.epic_id
        ));
        for a in &del.acceptance_criteria {
            md.push_str(&format!("- {a}\n"));
        }
    }
    md.push_str("\n## Functional Requirements\n\n");
    for r in &d.requirements.functional {
        md.push_str(&format!(
            "- **{}** ({}, {}, {}): {}\n",
            r.req_id, r.deliverable_id, r.priority, r.source_president, r.description
        ));
    }
    md.push_str("\n## Non-Functional Requirements\n\n");
    for r in &d.requirements.non_functional {
        md.push_str(&format!(
            "- **{}** ({}): {} — measured by: {}\n",
            r.req_id, r.category, r.description, r.measurement
        ));
    }
    md.push_str("\n## Constraints\n\n");
    for c in &d.constraints {
        md.push_str(&format!(
            "- **{}** ({}): {}\n",
            c.constraint_id, c.source, c.description
        ));
    }
    md.push_str("\n## Evaluation Criteria\n\n| Criterion | Dimension | Weight |\n|---|---|---|\n");
    for e in &d.evaluation_criteria {
        md.push_str(&format!(
            "| {} | {:?} | {:.2} |\n",
            e.criterion_id, e.dimension, e.weight
        ));
    }
    if !d.open_intent_questions.is_empty() {
        md.push_str("\n## Open Intent Questions\n\n");
        for q in &d.open_intent_questions {
            md.push_str(&format!("- {q}\n"));
        }
    }
    md
}
