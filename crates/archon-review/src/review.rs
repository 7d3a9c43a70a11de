//! Phase 3, review collection: one [`ReviewQuestion`] per assignment, asked
//! through the agent port in one fan-out, or responses read from files
//! (`--responses DIR`). Submissions are checked with the spec's validation
//! rules; an invalid one is kept with its errors and counts as NO_RESPONSE.

use archon_core::agent_port::{Question, SimContext};
use archon_core::roster::Archon;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::facts::ArchonFacts;
use crate::packets::ReviewReason;
use crate::triage::RiskTier;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReviewStance {
    Endorse,
    Oppose,
    Amend,
    Abstain,
}

pub const AMENDMENT_TYPES: [&str; 4] = [
    "minor_wording",
    "major_revision",
    "add_clause",
    "remove_clause",
];

/// What an archon answers for one motion (the spec's `ReviewSubmission` without
/// the fields the pipeline fills in).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReviewAnswer {
    pub stance: ReviewStance,
    #[serde(default)]
    pub opposition_reason: Option<String>,
    #[serde(default)]
    pub amendment_type: Option<String>,
    #[serde(default)]
    pub amendment_text: Option<String>,
    #[serde(default)]
    pub amendment_rationale: Option<String>,
    #[serde(default = "default_confidence")]
    pub confidence: f64,
    #[serde(default)]
    pub additional_notes: Option<String>,
}

fn default_confidence() -> f64 {
    0.8
}

/// The spec's `ReviewSubmission`, as recorded and as read from `--responses`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewSubmission {
    #[serde(default)]
    pub archon_id: String,
    pub mega_motion_id: String,
    #[serde(flatten)]
    pub answer: ReviewAnswer,
    #[serde(default)]
    pub submitted_at: Option<String>,
}

/// The spec's validation rules, plus a confidence within [0, 1].
pub fn validate(answer: &ReviewAnswer) -> Vec<String> {
    let mut errors = Vec::new();
    let filled = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.trim().is_empty());
    match answer.stance {
        ReviewStance::Oppose => {
            if !filled(&answer.opposition_reason) {
                errors.push("Opposition requires reasoning".to_string());
            }
            if answer
                .opposition_reason
                .as_deref()
                .unwrap_or("")
                .chars()
                .count()
                < 50
            {
                errors.push("Opposition reasoning must be substantive (50+ chars)".to_string());
            }
        }
        ReviewStance::Amend => {
            if !filled(&answer.amendment_text) {
                errors.push("Amendment requires proposed text".to_string());
            }
            match answer.amendment_type.as_deref() {
                None | Some("") => {
                    errors.push("Amendment requires type classification".to_string())
                }
                Some(t) if !AMENDMENT_TYPES.contains(&t) => errors.push(format!(
                    "Amendment type {t:?} is not one of {}",
                    AMENDMENT_TYPES.join(", ")
                )),
                Some(_) => {}
            }
            if !filled(&answer.amendment_rationale) {
                errors.push("Amendment requires rationale".to_string());
            }
        }
        ReviewStance::Endorse | ReviewStance::Abstain => {}
    }
    if !(0.0..=1.0).contains(&answer.confidence) {
        errors.push(format!("Confidence {} is outside 0..1", answer.confidence));
    }
    errors
}

/// The spec's `ReviewResponse` (a valid submission), with the amendment type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewResponse {
    pub response_id: String,
    pub archon_id: String,
    pub archon_name: String,
    pub mega_motion_id: String,
    pub stance: ReviewStance,
    pub amendment_type: Option<String>,
    pub amendment_text: Option<String>,
    pub reasoning: String,
    pub confidence: f64,
    pub reviewed_at: String,
}

impl ReviewResponse {
    /// The reasoning of a response: the opposition reason, the amendment
    /// rationale, or the notes, by stance.
    pub fn from_answer(
        response_id: String,
        archon: &Archon,
        motion_id: String,
        a: ReviewAnswer,
        at: &str,
    ) -> Self {
        let amend = a.stance == ReviewStance::Amend;
        let reasoning = match a.stance {
            ReviewStance::Oppose => a.opposition_reason,
            ReviewStance::Amend => a.amendment_rationale,
            ReviewStance::Endorse | ReviewStance::Abstain => a.additional_notes,
        };
        ReviewResponse {
            response_id,
            archon_id: archon.id.clone(),
            archon_name: archon.name.clone(),
            mega_motion_id: motion_id,
            stance: a.stance,
            amendment_type: a.amendment_type.filter(|_| amend),
            amendment_text: a.amendment_text.filter(|_| amend),
            reasoning: reasoning.unwrap_or_default(),
            confidence: a.confidence,
            reviewed_at: at.to_string(),
        }
    }
}

/// How one assignment ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ReviewOutcome {
    Valid {
        response: ReviewResponse,
    },
    /// Recorded with its errors; counts as NO_RESPONSE.
    Invalid {
        submission: ReviewSubmission,
        errors: Vec<String>,
    },
    NoResponse {
        reason: String,
    },
}

/// The question asked for one assignment.
#[derive(Debug, Serialize)]
pub struct ReviewQuestion<'a> {
    pub mega_motion_id: &'a str,
    pub title: &'a str,
    pub theme: &'a str,
    pub text: &'a str,
    pub risk_tier: RiskTier,
    pub review_reason: ReviewReason,
    pub conflict_flag: Option<&'a str>,
    pub supporting_archons: usize,
    pub is_novel_proposal: bool,
    /// The archon's red lines this motion touches.
    pub touched_red_lines: Vec<&'a str>,
    /// The archon's affinity to the motion (simulation only; not in the prompt).
    #[serde(skip)]
    pub affinity: f64,
    /// In the extended review round: what the first round showed.
    pub extended: Option<ExtendedPacket<'a>>,
    /// The archon's facts (simulation only; not in the prompt).
    #[serde(skip)]
    pub archon_facts: &'a ArchonFacts,
}

/// The packet of an extended review: the first round's tallies, the
/// synthesized amendment and the opposition reasons.
#[derive(Debug, Serialize)]
pub struct ExtendedPacket<'a> {
    pub endorsements: usize,
    pub oppositions: usize,
    pub amendments: usize,
    pub abstentions: usize,
    pub no_response: usize,
    pub endorsement_ratio: f64,
    pub opposition_ratio: f64,
    /// The archon's own first-round stance; None when it gave no valid review.
    pub your_first_stance: Option<ReviewStance>,
    /// The motion text with the first round's amendments, when synthesized.
    pub synthesized_amendment: Option<&'a str>,
    pub opposition_reasons: &'a [String],
}

impl Question for ReviewQuestion<'_> {
    type Answer = ReviewAnswer;
    const KIND: &'static str = "motion_review";
    const TEMPLATE: &'static str = include_str!("review.j2");

    fn simulate(&self, ctx: &SimContext<'_>) -> ReviewAnswer {
        crate::simulate::review(self, ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(stance: ReviewStance) -> ReviewAnswer {
        ReviewAnswer {
            stance,
            opposition_reason: None,
            amendment_type: None,
            amendment_text: None,
            amendment_rationale: None,
            confidence: 0.8,
            additional_notes: None,
        }
    }

    #[test]
    fn validation_rules() {
        assert!(validate(&answer(ReviewStance::Endorse)).is_empty());
        assert!(validate(&answer(ReviewStance::Abstain)).is_empty());
        let mut o = answer(ReviewStance::Oppose);
        assert_eq!(validate(&o).len(), 2);
        o.opposition_reason = Some("x".repeat(49));
        assert_eq!(
            validate(&o),
            ["Opposition reasoning must be substantive (50+ chars)"]
        );
        o.opposition_reason = Some("x".repeat(50));
        assert!(validate(&o).is_empty());
        let mut a = answer(ReviewStance::Amend);
        assert_eq!(validate(&a).len(), 3);
        a.amendment_type = Some("rewrite_everything".into());
        a.amendment_text = Some("Add a clause".into());
        a.amendment_rationale = Some("because".into());
        assert!(validate(&a)[0].contains("not one of"));
        for t in AMENDMENT_TYPES {
            a.amendment_type = Some(t.into());
            assert!(validate(&a).is_empty());
        }
        a.confidence = 1.5;
        assert!(validate(&a)[0].contains("Confidence"));
    }

    #[test]
    fn template_compiles() {
        archon_core::agent_port::check_template("motion_review", ReviewQuestion::TEMPLATE).unwrap();
    }
}
