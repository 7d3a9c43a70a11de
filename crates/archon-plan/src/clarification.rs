//! Executive Clarification Review (`--run-exec-clarification-review`): every
//! INTENT_AMBIGUITY candidate is put to the affected Presidents (one `ask_all`
//! for all candidates and reviewers) and ends as exactly one of
//! `escalate_to_conclave.json`, `reclassify_as_execution_uncertainty.json`
//! (deferred downstream with discovery stubs) or `resolved_in_executive.json`.
//!
//! Decision: the majority verdict; a tie that includes ESCALATE escalates (only
//! the Kings may settle intent), a RECLASSIFY/RESOLVE tie reclassifies (discovery
//! is safer than claiming a resolution), and no valid answer at all escalates.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use archon_core::agent_port::{AgentFailure, Question, SimContext};

use crate::drafting::VAGUE_MARKERS;
use crate::model::{v2, Blocker, BlockerClass, Disposition, Extra, Severity, VerificationTask};
use crate::packet::RatifiedIntentPacket;
use crate::text::{find_marker, snippet};

#[derive(Debug, Clone, Serialize)]
pub struct ClarificationReviewQuestion {
    pub motion_id: String,
    pub title: String,
    pub blocker_id: String,
    pub blocker_json: String,
    pub clause_text: Option<String>,
    pub raised_by_portfolio_id: String,
    pub reviewer_portfolio_id: String,
    #[serde(skip)]
    pub severe: bool,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EcrVerdict {
    Escalate,
    Reclassify,
    Resolve,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClarificationAnswer {
    pub verdict: EcrVerdict,
    pub rationale: String,
    #[serde(default)]
    pub interpretations: Vec<String>,
    #[serde(default)]
    pub resolution: Option<String>,
    #[serde(default)]
    pub verification_task: Option<VerificationTask>,
}

impl Question for ClarificationReviewQuestion {
    type Answer = ClarificationAnswer;
    const KIND: &'static str = "clarification_review";
    const TEMPLATE: &'static str = include_str!("prompts/clarification_review.j2");

    fn simulate(&self, ctx: &SimContext<'_>) -> ClarificationAnswer {
        let vague = self
            .clause_text
            .as_deref()
            .and_then(|t| find_marker(t, &VAGUE_MARKERS));
        let mut p: f64 = 0.45;
        if self.severe {
            p += 0.15;
        }
        if vague.is_some() {
            p += 0.15;
        }
        let labels = [
            "plan",
            "ecr",
            self.motion_id.as_str(),
            self.blocker_id.as_str(),
            ctx.archon.name.as_str(),
        ];
        let roll = ctx.seed.unit(&labels);
        let clause = self
            .clause_text
            .as_deref()
            .map(|t| snippet(t, 12))
            .unwrap_or_default();
        if roll < p {
            return ClarificationAnswer {
                verdict: EcrVerdict::Escalate,
                rationale: format!(
                    "The text admits more than one reading{}; choosing one would redefine intent.",
                    vague.map(|m| format!(" of '{m}'")).unwrap_or_default()
                ),
                interpretations: vec![format!("Read {clause} narrowly, as written")],
                resolution: None,
                verification_task: None,
            };
        }
        if (roll - p) / (1.0 - p) < 0.6 {
            return ClarificationAnswer {
                verdict: EcrVerdict::Reclassify,
                rationale: "The intent is clear enough; what is unknown is how to deliver it, which discovery can establish.".into(),
                interpretations: Vec::new(),
                resolution: None,
                verification_task: Some(VerificationTask {
                    task_id: String::new(),
                    description: format!("Establish how to deliver {clause}"),
                    success_signal: "A delivery approach the Plan Owner can accept without changing intent".into(),
                    extra: Extra::new(),
                }),
            };
        }
        ClarificationAnswer {
            verdict: EcrVerdict::Resolve,
            rationale: "Read with the rest of the motion, the clause already answers the question.".into(),
            interpretations: Vec::new(),
            resolution: Some(format!(
                "The surrounding sections bound the scope of {clause}; the Executive plans to that reading without widening it."
            )),
            verification_task: None,
        }
    }
}

pub fn review_question(
    packet: &RatifiedIntentPacket,
    blocker: &Blocker,
    reviewer_portfolio_id: &str,
) -> ClarificationReviewQuestion {
    ClarificationReviewQuestion {
        motion_id: packet.motion_id.clone(),
        title: packet.ratified_motion.title.clone(),
        blocker_id: blocker.id_or_unnamed().to_string(),
        blocker_json: serde_json::to_string_pretty(blocker).unwrap_or_default(),
        clause_text: blocker
            .clause_ref
            .as_deref()
            .and_then(|r| packet.clause(r))
            .map(|c| format!("[{}] {}", c.clause_ref, c.text)),
        raised_by_portfolio_id: blocker.owner_portfolio_id.clone().unwrap_or_default(),
        reviewer_portfolio_id: reviewer_portfolio_id.into(),
        severe: matches!(blocker.severity, Some(Severity::High | Severity::Critical)),
    }
}

/// One reviewer's verdict (or failure) as recorded.
pub struct Vote {
    pub portfolio_id: String,
    pub president_name: String,
    pub answer: Result<ClarificationAnswer, AgentFailure>,
}

pub fn decide(votes: &[Vote]) -> EcrVerdict {
    let mut counts: BTreeMap<EcrVerdict, usize> = BTreeMap::new();
    for v in votes {
        if let Ok(a) = &v.answer {
            *counts.entry(a.verdict).or_default() += 1;
        }
    }
    let Some(max) = counts.values().max().copied() else {
        return EcrVerdict::Escalate;
    };
    // BTreeMap order is Escalate, Reclassify, Resolve: the documented tie order.
    counts
        .into_iter()
        .find(|(_, n)| *n == max)
        .map_or(EcrVerdict::Escalate, |(v, _)| v)
}

/// The files of one candidate's review and the blocker as it leaves the review.
pub struct Reviewed {
    pub verdict: EcrVerdict,
    pub files: Vec<(String, Value)>,
    pub rationale: String,
}

pub fn decision_file(verdict: EcrVerdict) -> &'static str {
    match verdict {
        EcrVerdict::Escalate => "escalate_to_conclave.json",
        EcrVerdict::Reclassify => "reclassify_as_execution_uncertainty.json",
        EcrVerdict::Resolve => "resolved_in_executive.json",
    }
}

/// Applies the review to `blocker` and returns its artifacts (under
/// `clarification_review/<blocker_id>/`).
pub fn apply(
    packet: &RatifiedIntentPacket,
    cycle_id: &str,
    blocker: &mut Blocker,
    votes: &[Vote],
    created_at: &str,
) -> Reviewed {
    let verdict = decide(votes);
    let id = blocker.id_or_unnamed().to_string();
    let dir = format!("clarification_review/{id}");
    let candidate = json!({
        "schema_version": v2(),
        "candidate_id": format!("icc_{id}"),
        "cycle_id": cycle_id,
        "motion_id": packet.motion_id,
        "blocker": blocker,
        "raised_by": blocker.owner_portfolio_id,
        "reviewers": votes.iter().map(|v| v.portfolio_id.clone()).collect::<Vec<_>>(),
        "created_at": created_at,
    });
    let recorded: Vec<Value> = votes
        .iter()
        .map(|v| match &v.answer {
            Ok(a) => json!({"portfolio_id": v.portfolio_id, "president_name": v.president_name, "verdict": a.verdict, "rationale": a.rationale}),
            Err(f) => json!({"portfolio_id": v.portfolio_id, "president_name": v.president_name, "verdict": null, "failure": f.to_string()}),
        })
        .collect();
    let answers: Vec<&ClarificationAnswer> = votes
        .iter()
        .filter_map(|v| v.answer.as_ref().ok())
        .filter(|a| a.verdict == verdict)
        .collect();
    let rationale = answers
        .first()
        .map_or("no reviewer answered; escalated by rule".to_string(), |a| {
            a.rationale.clone()
        });
    let mut decision = json!({
        "schema_version": v2(),
        "cycle_id": cycle_id,
        "motion_id": packet.motion_id,
        "blocker_id": id,
        "decision": decision_file(verdict).trim_end_matches(".json"),
        "votes": recorded,
        "rationale": rationale,
        "created_at": created_at,
    });
    let mut files = vec![(
        format!("{dir}/intent_clarification_candidate.json"),
        candidate,
    )];
    match verdict {
        EcrVerdict::Escalate => {
            blocker.disposition = Some(Disposition::EscalateNow);
            for a in &answers {
                for i in &a.interpretations {
                    if !blocker.interpretations.contains(i) {
                        blocker.interpretations.push(i.clone());
                    }
                }
            }
            let confirmed_by: Vec<String> = votes
                .iter()
                .filter(|v| {
                    v.answer
                        .as_ref()
                        .is_ok_and(|a| a.verdict == EcrVerdict::Escalate)
                })
                .map(|v| v.president_name.clone())
                .collect();
            files.push((
                format!("{dir}/intent_clarification_queue_item.json"),
                intent_clarification_item(
                    packet,
                    cycle_id,
                    blocker,
                    &confirmed_by,
                    true,
                    created_at,
                ),
            ));
        }
        EcrVerdict::Reclassify => {
            blocker.blocker_class = Some(BlockerClass::ExecutionUncertainty);
            blocker.disposition = Some(Disposition::DeferDownstream);
            blocker.ttl.get_or_insert_with(|| "P14D".into());
            let tasks: Vec<VerificationTask> = answers
                .iter()
                .filter_map(|a| a.verification_task.clone())
                .take(2)
                .collect();
            for (k, mut t) in tasks.into_iter().enumerate() {
                t.task_id = format!("discovery_{id}_ecr_{}", k + 1);
                blocker.verification_tasks.push(t);
            }
            if blocker.verification_tasks.is_empty() {
                blocker.verification_tasks.push(VerificationTask {
                    task_id: format!("discovery_{id}_ecr_1"),
                    description: format!(
                        "Establish how to deliver: {}",
                        snippet(blocker.description.as_deref().unwrap_or(""), 16)
                    ),
                    success_signal: "A delivery approach that does not change intent".into(),
                    extra: Extra::new(),
                });
            }
            let conditions = blocker.escalation_conditions.get_or_insert_with(Vec::new);
            conditions.push("Discovery shows the question is about intent after all (back to Clarification Review)".into());
            decision["new_blocker_class"] = json!(BlockerClass::ExecutionUncertainty);
            decision["new_disposition"] = json!(Disposition::DeferDownstream);
            decision["verification_tasks"] = json!(blocker.verification_tasks);
        }
        EcrVerdict::Resolve => {
            let resolution = answers
                .iter()
                .filter_map(|a| a.resolution.clone())
                .next()
                .unwrap_or_else(|| rationale.clone());
            blocker.blocker_class = Some(BlockerClass::ExecutionUncertainty);
            blocker.disposition = Some(Disposition::MitigateInExecutive);
            blocker.mitigation_notes = Some(format!(
                "Resolved in Executive Clarification Review: {resolution}"
            ));
            decision["new_blocker_class"] = json!(BlockerClass::ExecutionUncertainty);
            decision["new_disposition"] = json!(Disposition::MitigateInExecutive);
            decision["resolution"] = json!(resolution);
        }
    }
    files.push((format!("{dir}/{}", decision_file(verdict)), decision));
    Reviewed {
        verdict,
        files,
        rationale: format!(
            "Clarification Review: {} ({rationale})",
            decision_file(verdict).trim_end_matches(".json")
        ),
    }
}

/// `intent_clarification_queue_item.json`: what Conclave ingestion receives
/// instead of the whole motion.
pub fn intent_clarification_item(
    packet: &RatifiedIntentPacket,
    cycle_id: &str,
    blocker: &Blocker,
    confirmed_by: &[String],
    reviewed: bool,
    created_at: &str,
) -> Value {
    let id = blocker.id_or_unnamed();
    let clause = blocker.clause_ref.as_deref().and_then(|r| packet.clause(r));
    let questions = if blocker.questions.is_empty() {
        vec![format!(
            "What does the motion intend here: {}?",
            blocker.description.as_deref().unwrap_or("(no description)")
        )]
    } else {
        blocker.questions.clone()
    };
    let mut interpretations: Vec<String> =
        blocker.interpretations.iter().take(3).cloned().collect();
    if interpretations.is_empty() {
        interpretations.push("Read the clause narrowly, as literally written".into());
    }
    json!({
        "schema_version": v2(),
        "queue_item_id": crate::integrate::queue_item_id("icq", cycle_id, id),
        "cycle_id": cycle_id,
        "motion_id": packet.motion_id,
        "motion_title": packet.ratified_motion.title,
        "blocker_id": id,
        "questions": questions,
        "ambiguity_locations": clause.map(|c| vec![json!({"clause_ref": c.clause_ref, "section_title": c.section_title, "excerpt": snippet(&c.text, 40)})]).unwrap_or_default(),
        "proposed_interpretations": interpretations,
        "interpretations_are_not_decisions": true,
        "why_executive_cannot_proceed": format!(
            "{} Conditions: {}",
            blocker.description.as_deref().unwrap_or(""),
            blocker.escalation_conditions.clone().unwrap_or_default().join("; ")
        ),
        "confirmed_by_clarification_review": reviewed,
        "confirmed_by": confirmed_by,
        "created_at": created_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vote(v: Option<EcrVerdict>) -> Vote {
        Vote {
            portfolio_id: "p".into(),
            president_name: "P".into(),
            answer: match v {
                Some(verdict) => Ok(ClarificationAnswer {
                    verdict,
                    rationale: "r".into(),
                    interpretations: vec![],
                    resolution: None,
                    verification_task: None,
                }),
                None => Err(AgentFailure {
                    archon_id: "a".into(),
                    archon_name: "A".into(),
                    kind: "k".into(),
                    attempts: 3,
                    reason: "garbage".into(),
                }),
            },
        }
    }

    #[test]
    fn majority_and_documented_ties() {
        use EcrVerdict::*;
        let d =
            |vs: &[Option<EcrVerdict>]| decide(&vs.iter().map(|v| vote(*v)).collect::<Vec<_>>());
        assert_eq!(d(&[Some(Resolve), Some(Resolve), Some(Escalate)]), Resolve);
        assert_eq!(d(&[Some(Resolve), Some(Escalate)]), Escalate);
        assert_eq!(d(&[Some(Resolve), Some(Reclassify)]), Reclassify);
        assert_eq!(d(&[None, None]), Escalate);
    }

    #[test]
    fn template_compiles() {
        archon_core::agent_port::check_template(
            ClarificationReviewQuestion::KIND,
            ClarificationReviewQuestion::TEMPLATE,
        )
        .expect("template compiles");
    }
}
