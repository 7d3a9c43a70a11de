//! `archon select`: Executive Review (E4). The Presidents score every proposal
//! (one round), scores are normalised and ranked ([`crate::scoring`]), finalists
//! are deliberated in at most [`MAX_DELIBERATION_ROUNDS`] voting rounds, and the
//! review ends in exactly one outcome:
//!
//! 1. no valid score sheet or no proposal → `NO_VIABLE_PROPOSAL`;
//! 2. a majority of the scoring Presidents says the top-ranked proposal can only
//!    succeed if the mandate's intent changes → `ESCALATE_TO_CONCLAVE`;
//! 3. at least one FINALIST → deliberation → `WINNER_SELECTED` (+ `plan_acceptance.json`);
//! 4. CONTENDERs only → `REVISION_REQUESTED` (+ `revision_request.json` to the
//!    top contenders), unless this is iteration `max_iterations`, then
//!    `ESCALATE_TO_CONCLAVE` because the loop is exhausted with revisions open;
//! 5. otherwise → `NO_VIABLE_PROPOSAL`.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use archon_core::agent_port::{Agents, Ask, Question, SimContext};
use archon_core::roster::Archon;

use crate::dossier::{Deliverable, Dossier};
use crate::events::Event;
use crate::proposal::{Proposal, ProposalContent};
use crate::proposals::ProposalFeatures;
use crate::scoring::{
    self, round2, Card, Dimension, DimensionScores, Statistics, Tier, FINALIST_THRESHOLD,
};

pub const MAX_DELIBERATION_ROUNDS: usize = 3;
pub const DEFAULT_MAX_ITERATIONS: u32 = 3;
pub const DEFAULT_TOP_N: usize = 5;

/// The outcome is a cross-stage contract: `archon-decompose` and the chain read it.
pub use archon_artifacts::SelectionOutcome;

// ---------------------------------------------------------------- questions

#[derive(Debug, Clone, Serialize)]
pub struct ProposalBrief {
    pub proposal_id: String,
    pub duke_name: String,
    pub content: ProposalContent,
    pub features: ProposalFeatures,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScoringQuestion {
    pub mandate_id: String,
    pub rfp_id: String,
    pub iteration: u32,
    pub deliverables: Vec<Deliverable>,
    pub requirement_ids: Vec<String>,
    pub open_intent_questions: Vec<String>,
    pub proposals: Vec<ProposalBrief>,
}

/// A President's scores of the proposal of the same position on the table:
/// the engine knows the proposal ids, so the model never copies one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProposalScore {
    pub scores: DimensionScores,
    /// The approach is genuinely new (earns the bounded novelty bonus).
    pub novel: bool,
    /// The main weakness, in one sentence (empty if none).
    pub concern: String,
    /// Non-empty only if the proposal can succeed only by changing the mandate's intent (WHAT).
    pub intent_concern: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScoreSheet {
    /// One per proposal on the table, in the table's order.
    #[schemars(extend("x-archon-listed" = true))]
    pub scores: Vec<ProposalScore>,
}

impl Question for ScoringQuestion {
    type Answer = ScoreSheet;
    const KIND: &'static str = "proposal_scoring";
    const TEMPLATE: &'static str = include_str!("../prompts/proposal_scoring.j2");

    /// Scores are matched with the table by position: one per proposal.
    fn listed_items(&self) -> Option<usize> {
        Some(self.proposals.len())
    }

    fn simulate(&self, ctx: &SimContext<'_>) -> ScoreSheet {
        let president = ctx.archon.name.as_str();
        let lean = (ctx.seed.unit(&["lean", president, &self.mandate_id]) - 0.5) * 2.0;
        let intent_doubt = !self.open_intent_questions.is_empty()
            && ctx.seed.unit(&["intent", president, &self.mandate_id]) < 0.8;
        let scores = self
            .proposals
            .iter()
            .map(|p| {
                let f = &p.features;
                let noise = |d: &str| ctx.seed.unit(&["score", president, &p.proposal_id, d]) - 0.5;
                let score = |base: f64, d: &str| {
                    ((base + lean + noise(d)).clamp(0.0, 10.0) * 10.0).round() / 10.0
                };
                let commitment_penalty = match f.commitment {
                    Some(crate::proposal::CommitmentLevel::Full) => 0.0,
                    Some(crate::proposal::CommitmentLevel::Partial) => 1.0,
                    _ => 2.5,
                };
                let epics = self.deliverables.len().max(1) as f64;
                let per_deliverable = f.tactic_count as f64 / epics;
                let innovation = innovation_of(&p.content.approach);
                let risk = if f.risk_count == 0 {
                    5.0
                } else {
                    9.0 - 0.9 * f.unmitigated_exposure
                };
                let s = DimensionScores {
                    feasibility: score(
                        9.0 - 0.8 * (f.dependency_depth as f64 - 3.0).max(0.0)
                            - commitment_penalty
                            - 0.3 * (per_deliverable - 3.0).max(0.0),
                        "feasibility",
                    ),
                    completeness: score(
                        1.0 + 7.5 * f.coverage + 1.5 * f.requirement_citation,
                        "completeness",
                    ),
                    risk_mitigation: score(risk, "risk_mitigation"),
                    resource_efficiency: score(
                        9.0 - 0.8 * f.resource_requests as f64 / epics
                            - 0.2 * (per_deliverable - 3.0).max(0.0),
                        "resource_efficiency",
                    ),
                    innovation: score(innovation, "innovation"),
                    alignment: score(5.5 + 3.5 * f.requirement_citation, "alignment"),
                };
                let concern = weakest_dimension(&s)
                    .map(|d| concern_about(d, f))
                    .unwrap_or_default();
                ProposalScore {
                    novel: s.innovation >= 8.0,
                    scores: s,
                    concern,
                    intent_concern: if intent_doubt {
                        format!(
                            "Cannot be accepted while the intent question stands: {}",
                            self.open_intent_questions.join("; ")
                        )
                    } else {
                        String::new()
                    },
                }
            })
            .collect();
        ScoreSheet { scores }
    }
}

/// How new an approach is, read from its wording (simulation).
fn innovation_of(approach: &str) -> f64 {
    let a = approach.to_lowercase();
    [
        ("platform", 8.6),
        ("pilot", 7.4),
        ("parallel", 6.4),
        ("incremental", 5.6),
        ("phased", 5.2),
    ]
    .iter()
    .find(|(k, _)| a.contains(k))
    .map_or(5.0, |(_, v)| *v)
}

fn weakest_dimension(s: &DimensionScores) -> Option<Dimension> {
    scoring::WEIGHTS
        .iter()
        .map(|(d, _)| (*d, s.get(*d)))
        .filter(|(_, v)| *v < FINALIST_THRESHOLD)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(d, _)| d)
}

/// The question a President asks about a weak dimension.
fn concern_about(d: Dimension, f: &ProposalFeatures) -> String {
    match d {
        Dimension::Feasibility => format!("The dependency chain is {} tactics deep or the capacity commitment is not firm; how will you shorten or secure it?", f.dependency_depth),
        Dimension::Completeness => {
            if f.uncovered_deliverables.is_empty() {
                "Which FR/NFR ids does each tactic serve?".to_string()
            } else {
                format!("No tactic covers {}; how will they be delivered?", f.uncovered_deliverables.join(", "))
            }
        }
        Dimension::RiskMitigation => format!("{} risk(s) have no mitigation; how will you contain them?", f.unmitigated_risks),
        Dimension::ResourceEfficiency => format!("Which of the {} resource request(s) can be dropped or deferred?", f.resource_requests),
        Dimension::Innovation => "What would make the approach better than the obvious plan?".into(),
        Dimension::Alignment => "Show how each tactic serves the dossier's requirements and constraints.".into(),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FinalistBrief {
    pub proposal_id: String,
    pub duke_name: String,
    pub rank: usize,
    pub statistics: Statistics,
    /// This President's own normalised score of the finalist.
    pub your_score: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeliberationQuestion {
    pub mandate_id: String,
    pub round: usize,
    pub finalists: Vec<FinalistBrief>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Vote {
    /// One finalist's proposal id.
    pub proposal_id: String,
    pub rationale: String,
}

impl Question for DeliberationQuestion {
    type Answer = Vote;
    const KIND: &'static str = "finalist_deliberation";
    const TEMPLATE: &'static str = include_str!("../prompts/finalist_deliberation.j2");

    /// A simulated President votes for the finalist it scored highest (rank breaks ties).
    fn simulate(&self, _ctx: &SimContext<'_>) -> Vote {
        let best = self.finalists.iter().min_by(|a, b| {
            b.your_score
                .total_cmp(&a.your_score)
                .then(a.rank.cmp(&b.rank))
        });
        match best {
            Some(f) => Vote {
                proposal_id: f.proposal_id.clone(),
                rationale: format!(
                    "Scored {:.2} by me, rank {} overall, from Duke {}",
                    f.your_score, f.rank, f.duke_name
                ),
            },
            None => Vote {
                proposal_id: String::new(),
                rationale: "no finalists".into(),
            },
        }
    }
}

// ---------------------------------------------------------------- artifacts

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ranking {
    pub proposal_id: String,
    pub rank: usize,
    pub duke_name: String,
    pub duke_abbreviation: String,
    pub statistics: Statistics,
    pub tier: Tier,
    #[serde(default)]
    pub novelty_bonus: f64,
    #[serde(default)]
    pub dimension_means: BTreeMap<Dimension, f64>,
    #[serde(default)]
    pub uncovered_deliverables: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliberationRound {
    pub round: usize,
    pub candidates: Vec<String>,
    /// President → the proposal voted for (`null`: no valid vote).
    pub votes: BTreeMap<String, Option<String>>,
    pub tally: BTreeMap<String, usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eliminated: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Deliberation {
    pub recommended_winner_id: Option<String>,
    pub recommendation_rationale: String,
    #[serde(default)]
    pub rounds: Vec<DeliberationRound>,
    #[serde(default)]
    pub converged: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresidentStatus {
    pub president_name: String,
    /// `scored` or `failed`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IterationRecord {
    pub iteration: u32,
    pub selection_id: String,
    pub outcome: SelectionOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_request_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectionResult {
    pub schema_version: String,
    pub artifact_type: String,
    pub selection_id: String,
    pub status: String,
    pub outcome: SelectionOutcome,
    pub winning_proposal_id: Option<String>,
    pub rfp_id: String,
    pub mandate_id: String,
    pub iteration: u32,
    pub max_iterations: u32,
    pub top_n: usize,
    /// Why this outcome, in one sentence.
    pub reason: String,
    pub rankings: Vec<Ranking>,
    pub deliberation: Deliberation,
    pub presidents: Vec<PresidentStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_request_id: Option<String>,
    #[serde(default)]
    pub previous_iterations: Vec<IterationRecord>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevisionItem {
    pub proposal_id: String,
    pub duke_name: String,
    pub duke_abbreviation: String,
    pub weak_dimensions: Vec<Dimension>,
    pub questions: Vec<String>,
    pub constraints: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevisionRequest {
    pub schema_version: String,
    pub artifact_type: String,
    pub revision_request_id: String,
    pub selection_id: String,
    pub rfp_id: String,
    pub mandate_id: String,
    pub iteration: u32,
    pub max_iterations: u32,
    pub addressed_to: Vec<RevisionItem>,
    /// Constraints every revision must respect (the dossier's).
    pub general_constraints: Vec<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpicAcceptance {
    pub epic_id: String,
    pub deliverable_id: String,
    /// `APPROVED`: proceed to Earl tasking.
    pub status: String,
    pub approved_to_proceed: bool,
    pub tactic_ids: Vec<String>,
    pub resource_requests: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_commitment: Option<crate::proposal::CapacityCommitment>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanAcceptance {
    pub schema_version: String,
    pub artifact_type: String,
    pub selection_id: String,
    pub rfp_id: String,
    pub mandate_id: String,
    pub motion_id: String,
    pub winning_proposal_id: String,
    pub duke_name: String,
    pub epics: Vec<EpicAcceptance>,
    pub next_stage: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConclaveEscalation {
    pub schema_version: String,
    pub artifact_type: String,
    pub selection_id: String,
    pub rfp_id: String,
    pub mandate_id: String,
    pub motion_id: String,
    /// `INTENT_CHANGE_REQUIRED` or `REVISION_LOOP_EXHAUSTED`.
    pub reason_code: String,
    pub reason: String,
    pub questions: Vec<String>,
    pub iteration: u32,
    pub max_iterations: u32,
    pub created_at: String,
}

/// One President's score sheet as stored in `scores/<president>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresidentScores {
    pub schema_version: String,
    pub president_name: String,
    pub president_id: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub scores: Vec<ScoredProposal>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredProposal {
    pub proposal_id: String,
    pub scores: DimensionScores,
    pub weighted: f64,
    /// Normalised for this President's leniency, with the novelty bonus.
    pub final_score: f64,
    pub novel: bool,
    pub concern: String,
    pub intent_concern: String,
}

// ---------------------------------------------------------------- the review

pub struct SelectOptions {
    pub iteration: u32,
    pub max_iterations: u32,
    pub top_n: usize,
    pub previous_iterations: Vec<IterationRecord>,
}

pub struct SelectRun {
    pub result: SelectionResult,
    pub scores: Vec<PresidentScores>,
    pub acceptance: Option<PlanAcceptance>,
    pub revision: Option<RevisionRequest>,
    pub escalation: Option<ConclaveEscalation>,
    pub events: Vec<Event>,
}

/// A President's scores, each with the id of the proposal it is of.
type PairedScores<'p> = Vec<(&'p str, ProposalScore)>;

/// One score sheet paired with the proposals by position, once it is checked:
/// a score for every proposal (no more, no fewer), each within 0..=10.
fn paired<'p>(sheet: ScoreSheet, proposal_ids: &[&'p str]) -> Result<PairedScores<'p>, String> {
    if sheet.scores.len() != proposal_ids.len() {
        return Err(format!(
            "scored {} proposal(s), the table has {}",
            sheet.scores.len(),
            proposal_ids.len()
        ));
    }
    let pairs: PairedScores = proposal_ids.iter().copied().zip(sheet.scores).collect();
    match pairs.iter().find(|(_, s)| !s.scores.in_range()) {
        Some((id, _)) => Err(format!("scores of {id:?} are outside 0..=10")),
        None => Ok(pairs),
    }
}

pub fn run(
    dossier: &Dossier,
    proposals: &[Proposal],
    presidents: &[&Archon],
    agents: &Agents,
    opts: &SelectOptions,
    now: &str,
) -> SelectRun {
    let seed = agents.seed();
    let it = opts.iteration.to_string();
    let selection_id = format!(
        "sel-{}",
        seed.short_hex(&["selection", &dossier.mandate_id, &it])
    );
    let mut events = vec![Event::new(
        "selection.started",
        now,
        serde_json::json!({ "selection_id": selection_id, "mandate_id": dossier.mandate_id, "iteration": opts.iteration,
            "max_iterations": opts.max_iterations, "proposals": proposals.len() }),
    )];
    let features: BTreeMap<&str, ProposalFeatures> = proposals
        .iter()
        .map(|p| {
            (
                p.proposal_id.as_str(),
                ProposalFeatures::of(&p.content, dossier),
            )
        })
        .collect();
    let question = ScoringQuestion {
        mandate_id: dossier.mandate_id.clone(),
        rfp_id: dossier.implementation_dossier_id.clone(),
        iteration: opts.iteration,
        deliverables: dossier.deliverables.clone(),
        requirement_ids: dossier
            .requirement_ids()
            .into_iter()
            .map(String::from)
            .collect(),
        open_intent_questions: dossier.open_intent_questions.clone(),
        proposals: proposals
            .iter()
            .map(|p| ProposalBrief {
                proposal_id: p.proposal_id.clone(),
                duke_name: p.duke_name.clone(),
                content: p.content.clone(),
                features: features
                    .get(p.proposal_id.as_str())
                    .cloned()
                    .unwrap_or_else(|| ProposalFeatures::of(&p.content, dossier)),
            })
            .collect(),
    };
    let mut sheets: Vec<(&Archon, Result<PairedScores, String>)> = Vec::new();
    if !proposals.is_empty() {
        // A President scores the proposals in as many questions as its
        // answers need to fit its token budget (all in one in simulation):
        // 24 scores do not fit 2,048 tokens.
        let batches: Vec<Vec<ScoringQuestion>> = presidents
            .iter()
            .map(|a| {
                let per = agents
                    .items_per_answer::<ScoringQuestion>(a)
                    .unwrap_or(question.proposals.len())
                    .max(1);
                question
                    .proposals
                    .chunks(per)
                    .map(|batch| ScoringQuestion {
                        proposals: batch.to_vec(),
                        ..question.clone()
                    })
                    .collect()
            })
            .collect();
        let asks: Vec<Ask<ScoringQuestion>> = presidents
            .iter()
            .zip(&batches)
            .flat_map(|(a, questions)| {
                questions.iter().map(move |q| Ask {
                    archon: a,
                    question: q.clone(),
                })
            })
            .collect();
        let ids: Vec<&str> = proposals.iter().map(|p| p.proposal_id.as_str()).collect();
        let mut answers = agents.ask_all(&asks).into_iter();
        events.push(Event::calls(
            "selection",
            now,
            "proposal_scoring",
            agents.take_calls(),
        ));
        for (archon, questions) in presidents.iter().zip(&batches) {
            let answered: Vec<_> = answers.by_ref().take(questions.len()).collect();
            let checked = answered
                .into_iter()
                .try_fold(Vec::new(), |mut scores, answer| {
                    scores.extend(answer.map_err(|f| f.to_string())?.scores);
                    Ok(scores)
                })
                .and_then(|scores| paired(ScoreSheet { scores }, &ids));
            sheets.push((archon, checked));
        }
    }
    let cards: Vec<Card> = sheets
        .iter()
        .filter_map(|(a, s)| s.as_ref().ok().map(|s| (a, s)))
        .flat_map(|(a, s)| {
            s.iter().map(|(id, p)| Card {
                president: a.name.clone(),
                proposal_id: id.to_string(),
                scores: p.scores,
                novel: p.novel,
            })
        })
        .collect();
    let ranked = scoring::rank(scoring::aggregate(&cards));
    let by_id: BTreeMap<&str, &Proposal> = proposals
        .iter()
        .map(|p| (p.proposal_id.as_str(), p))
        .collect();
    let rankings: Vec<Ranking> = ranked
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            let p = by_id.get(a.proposal_id.as_str())?;
            let uncovered = features
                .get(a.proposal_id.as_str())
                .map(|f| f.uncovered_deliverables.clone())
                .unwrap_or_default();
            Some(Ranking {
                proposal_id: a.proposal_id.clone(),
                rank: i + 1,
                duke_name: p.duke_name.clone(),
                duke_abbreviation: p.duke_abbreviation.clone(),
                statistics: a.statistics,
                tier: scoring::tier(i + 1, a.statistics.mean, uncovered.is_empty(), opts.top_n),
                novelty_bonus: a.novelty_bonus,
                dimension_means: a.dimension_means.clone(),
                uncovered_deliverables: uncovered,
            })
        })
        .collect();
    let final_scores: BTreeMap<&str, &BTreeMap<String, f64>> = ranked
        .iter()
        .map(|a| (a.proposal_id.as_str(), &a.final_scores))
        .collect();
    events.push(Event::new(
        "selection.ranked",
        now,
        serde_json::json!({ "rankings": rankings.iter().map(|r| serde_json::json!({"proposal_id": r.proposal_id, "rank": r.rank, "mean": r.statistics.mean, "tier": r.tier})).collect::<Vec<_>>() }),
    ));
    let scores: Vec<PresidentScores> = sheets
        .iter()
        .map(|(a, s)| PresidentScores {
            schema_version: archon_core::SCHEMA_VERSION.into(),
            president_name: a.name.clone(),
            president_id: a.id.clone(),
            status: if s.is_ok() {
                "scored".into()
            } else {
                "failed".into()
            },
            reason: s.as_ref().err().cloned(),
            scores: s
                .as_ref()
                .map(|s| {
                    s.iter()
                        .map(|(id, p)| ScoredProposal {
                            proposal_id: id.to_string(),
                            scores: p.scores,
                            weighted: round2(p.scores.weighted()),
                            final_score: final_scores
                                .get(id)
                                .and_then(|m| m.get(&a.name))
                                .map_or(0.0, |x| round2(*x)),
                            novel: p.novel,
                            concern: p.concern.clone(),
                            intent_concern: p.intent_concern.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect();
    let valid: Vec<&PresidentScores> = scores.iter().filter(|s| s.status == "scored").collect();

    // The decision, in the documented order.
    let top = rankings.first();
    let intent_concerns: Vec<String> = top
        .map(|t| {
            valid
                .iter()
                .filter_map(|s| s.scores.iter().find(|p| p.proposal_id == t.proposal_id))
                .filter(|p| !p.intent_concern.trim().is_empty())
                .map(|p| p.intent_concern.clone())
                .collect()
        })
        .unwrap_or_default();
    let finalists: Vec<&Ranking> = rankings
        .iter()
        .filter(|r| r.tier == Tier::Finalist)
        .collect();
    let contenders: Vec<&Ranking> = rankings
        .iter()
        .filter(|r| r.tier == Tier::Contender)
        .take(opts.top_n)
        .collect();
    let mut deliberation = Deliberation::default();
    let (outcome, reason, escalation_code) = if valid.is_empty() || rankings.is_empty() {
        let why = if proposals.is_empty() {
            "no proposal was submitted"
        } else {
            "no President returned a valid score sheet"
        };
        (SelectionOutcome::NoViableProposal, why.to_string(), None)
    } else if intent_concerns.len() * 2 > valid.len() {
        (
            SelectionOutcome::EscalateToConclave,
            format!(
                "{} of {} Presidents hold that the top-ranked proposal needs a change of intent",
                intent_concerns.len(),
                valid.len()
            ),
            Some("INTENT_CHANGE_REQUIRED"),
        )
    } else if !finalists.is_empty() {
        deliberation = deliberate(
            dossier,
            &finalists,
            presidents,
            &final_scores,
            agents,
            now,
            &mut events,
        );
        (
            SelectionOutcome::WinnerSelected,
            format!(
                "{} finalist(s) deliberated; winner recommended",
                finalists.len()
            ),
            None,
        )
    } else if !contenders.is_empty() && opts.iteration < opts.max_iterations {
        (
            SelectionOutcome::RevisionRequested,
            format!("no finalist (mean ≥ {FINALIST_THRESHOLD} with every deliverable covered); {} contender(s) asked to revise", contenders.len()),
            None,
        )
    } else if !contenders.is_empty() {
        (
            SelectionOutcome::EscalateToConclave,
            format!(
                "the revision loop is exhausted after {} iteration(s) with revisions still open",
                opts.iteration
            ),
            Some("REVISION_LOOP_EXHAUSTED"),
        )
    } else {
        (
            SelectionOutcome::NoViableProposal,
            "every proposal is below the viability threshold".to_string(),
            None,
        )
    };
    let winning_proposal_id = deliberation
        .recommended_winner_id
        .clone()
        .filter(|_| outcome == SelectionOutcome::WinnerSelected);
    let revision = (outcome == SelectionOutcome::RevisionRequested).then(|| RevisionRequest {
        schema_version: archon_core::SCHEMA_VERSION.into(),
        artifact_type: "revision_request".into(),
        revision_request_id: format!(
            "rev-{}",
            seed.short_hex(&["revision", &dossier.mandate_id, &it])
        ),
        selection_id: selection_id.clone(),
        rfp_id: dossier.implementation_dossier_id.clone(),
        mandate_id: dossier.mandate_id.clone(),
        iteration: opts.iteration,
        max_iterations: opts.max_iterations,
        addressed_to: contenders
            .iter()
            .map(|r| revision_item(r, &valid, features.get(r.proposal_id.as_str())))
            .collect(),
        general_constraints: dossier
            .constraints
            .iter()
            .map(|c| format!("{}: {}", c.constraint_id, c.description))
            .collect(),
        created_at: now.into(),
    });
    let acceptance = winning_proposal_id
        .as_ref()
        .and_then(|w| by_id.get(w.as_str()))
        .map(|p| plan_acceptance(dossier, p, &selection_id, now));
    let escalation = escalation_code.map(|code| ConclaveEscalation {
        schema_version: archon_core::SCHEMA_VERSION.into(),
        artifact_type: "conclave_escalation".into(),
        selection_id: selection_id.clone(),
        rfp_id: dossier.implementation_dossier_id.clone(),
        mandate_id: dossier.mandate_id.clone(),
        motion_id: dossier.motion_id.clone(),
        reason_code: code.into(),
        reason: reason.clone(),
        questions: if code == "INTENT_CHANGE_REQUIRED" {
            let mut q: Vec<String> = dossier.open_intent_questions.clone();
            q.extend(intent_concerns.iter().cloned());
            q.sort();
            q.dedup();
            q
        } else {
            vec![format!(
                "After {} iteration(s) no proposal meets the finalist bar; should the mandate's scope or constraints change?",
                opts.iteration
            )]
        },
        iteration: opts.iteration,
        max_iterations: opts.max_iterations,
        created_at: now.into(),
    });
    events.push(Event::new(
        "selection.decided",
        now,
        serde_json::json!({ "outcome": outcome, "winning_proposal_id": winning_proposal_id, "reason": reason, "iteration": opts.iteration }),
    ));
    let result = SelectionResult {
        schema_version: archon_core::SCHEMA_VERSION.into(),
        artifact_type: "proposal_selection_result".into(),
        selection_id,
        status: outcome.status().into(),
        outcome,
        winning_proposal_id,
        rfp_id: dossier.implementation_dossier_id.clone(),
        mandate_id: dossier.mandate_id.clone(),
        iteration: opts.iteration,
        max_iterations: opts.max_iterations,
        top_n: opts.top_n,
        reason,
        rankings,
        deliberation,
        presidents: scores
            .iter()
            .map(|s| PresidentStatus {
                president_name: s.president_name.clone(),
                status: s.status.clone(),
                reason: s.reason.clone(),
            })
            .collect(),
        revision_request_id: revision.as_ref().map(|r| r.revision_request_id.clone()),
        previous_iterations: opts.previous_iterations.clone(),
        created_at: now.into(),
    };
    SelectRun {
        result,
        scores,
        acceptance,
        revision,
        escalation,
        events,
    }
}

fn revision_item(
    r: &Ranking,
    sheets: &[&PresidentScores],
    features: Option<&ProposalFeatures>,
) -> RevisionItem {
    let weak_dimensions: Vec<Dimension> = r
        .dimension_means
        .iter()
        .filter(|(_, v)| **v < FINALIST_THRESHOLD)
        .map(|(d, _)| *d)
        .collect();
    let mut questions: Vec<String> = Vec::new();
    if let Some(f) = features {
        questions.extend(weak_dimensions.iter().map(|d| concern_about(*d, f)));
    }
    let mut concerns: Vec<String> = sheets
        .iter()
        .filter_map(|s| s.scores.iter().find(|p| p.proposal_id == r.proposal_id))
        .map(|p| p.concern.clone())
        .filter(|c| !c.is_empty())
        .collect();
    concerns.sort();
    concerns.dedup();
    for c in concerns {
        if !questions.contains(&c) {
            questions.push(c);
        }
    }
    questions.truncate(6);
    let mut constraints = Vec::new();
    if !r.uncovered_deliverables.is_empty() {
        constraints.push(format!(
            "Cover every deliverable, including {}",
            r.uncovered_deliverables.join(", ")
        ));
    }
    if weak_dimensions.contains(&Dimension::RiskMitigation) {
        constraints.push("Every risk carries a mitigation".into());
    }
    RevisionItem {
        proposal_id: r.proposal_id.clone(),
        duke_name: r.duke_name.clone(),
        duke_abbreviation: r.duke_abbreviation.clone(),
        weak_dimensions,
        questions,
        constraints,
    }
}

fn plan_acceptance(
    dossier: &Dossier,
    winner: &Proposal,
    selection_id: &str,
    now: &str,
) -> PlanAcceptance {
    PlanAcceptance {
        schema_version: archon_core::SCHEMA_VERSION.into(),
        artifact_type: "plan_acceptance".into(),
        selection_id: selection_id.into(),
        rfp_id: dossier.implementation_dossier_id.clone(),
        mandate_id: dossier.mandate_id.clone(),
        motion_id: dossier.motion_id.clone(),
        winning_proposal_id: winner.proposal_id.clone(),
        duke_name: winner.duke_name.clone(),
        epics: dossier
            .deliverables
            .iter()
            .map(|d| {
                let tactic_ids: Vec<String> = winner
                    .content
                    .tactics
                    .iter()
                    .filter(|t| t.deliverable_id == d.deliverable_id)
                    .map(|t| t.tactic_id.clone())
                    .collect();
                let ip = winner
                    .content
                    .implementation_proposals
                    .iter()
                    .find(|i| i.deliverable_id == d.deliverable_id);
                EpicAcceptance {
                    epic_id: d.epic_id.clone(),
                    deliverable_id: d.deliverable_id.clone(),
                    // Finalists cover every deliverable, so every epic of a winner is approved.
                    status: if tactic_ids.is_empty() {
                        "NOT_COVERED".into()
                    } else {
                        "APPROVED".into()
                    },
                    approved_to_proceed: !tactic_ids.is_empty(),
                    tactic_ids,
                    resource_requests: ip.map_or(0, |i| i.resource_requests.len()),
                    capacity_commitment: ip.map(|i| i.capacity_commitment.clone()),
                }
            })
            .collect(),
        next_stage: "earl_decomposition".into(),
        created_at: now.into(),
    }
}

/// Voting rounds among the finalists: a strict majority of valid votes wins;
/// otherwise the finalist with the fewest votes (lowest rank on ties) is dropped
/// and the Presidents vote again, at most [`MAX_DELIBERATION_ROUNDS`] times.
/// Without convergence, the finalist with most votes in the last round (best
/// rank on ties) is recommended, and the rationale says so.
fn deliberate(
    dossier: &Dossier,
    finalists: &[&Ranking],
    presidents: &[&Archon],
    final_scores: &BTreeMap<&str, &BTreeMap<String, f64>>,
    agents: &Agents,
    now: &str,
    events: &mut Vec<Event>,
) -> Deliberation {
    let mut candidates: Vec<&Ranking> = finalists.to_vec();
    let mut rounds = Vec::new();
    if let [only] = candidates.as_slice() {
        return Deliberation {
            recommended_winner_id: Some(only.proposal_id.clone()),
            recommendation_rationale: format!(
                "{} (Duke {}) is the only finalist, mean {:.2}",
                only.proposal_id, only.duke_name, only.statistics.mean
            ),
            rounds,
            converged: true,
        };
    }
    for round in 1..=MAX_DELIBERATION_ROUNDS {
        let asks: Vec<Ask<DeliberationQuestion>> = presidents
            .iter()
            .map(|a| Ask {
                archon: a,
                question: DeliberationQuestion {
                    mandate_id: dossier.mandate_id.clone(),
                    round,
                    finalists: candidates
                        .iter()
                        .map(|c| FinalistBrief {
                            proposal_id: c.proposal_id.clone(),
                            duke_name: c.duke_name.clone(),
                            rank: c.rank,
                            statistics: c.statistics,
                            your_score: final_scores
                                .get(c.proposal_id.as_str())
                                .and_then(|m| m.get(&a.name))
                                .map_or(0.0, |x| round2(*x)),
                        })
                        .collect(),
                },
            })
            .collect();
        let answers = agents.ask_all(&asks);
        events.push(Event::calls(
            "selection",
            now,
            &format!("deliberation_round_{round}"),
            agents.take_calls(),
        ));
        let ids: BTreeSet<&str> = candidates.iter().map(|c| c.proposal_id.as_str()).collect();
        let votes: BTreeMap<String, Option<String>> = presidents
            .iter()
            .zip(answers)
            .map(|(a, v)| {
                (
                    a.name.clone(),
                    v.ok()
                        .map(|v| v.proposal_id)
                        .filter(|p| ids.contains(p.as_str())),
                )
            })
            .collect();
        let mut tally: BTreeMap<String, usize> = ids.iter().map(|i| (i.to_string(), 0)).collect();
        for v in votes.values().flatten() {
            *tally.entry(v.clone()).or_default() += 1;
        }
        let cast: usize = tally.values().sum();
        let count = |c: &Ranking| tally.get(&c.proposal_id).copied().unwrap_or(0);
        // Most votes first, then best rank.
        let leader = candidates
            .iter()
            .copied()
            .min_by(|a, b| count(b).cmp(&count(a)).then(a.rank.cmp(&b.rank)));
        let majority = leader.filter(|l| cast > 0 && count(l) * 2 > cast);
        let last = round == MAX_DELIBERATION_ROUNDS;
        let eliminated = if majority.is_none() && !last && candidates.len() > 2 {
            candidates
                .iter()
                .copied()
                .min_by(|a, b| count(a).cmp(&count(b)).then(b.rank.cmp(&a.rank)))
                .map(|c| c.proposal_id.clone())
        } else {
            None
        };
        events.push(Event::new(
            "selection.deliberation.round",
            now,
            serde_json::json!({ "round": round, "tally": tally, "eliminated": eliminated }),
        ));
        rounds.push(DeliberationRound {
            round,
            candidates: candidates.iter().map(|c| c.proposal_id.clone()).collect(),
            votes,
            tally: tally.clone(),
            eliminated: eliminated.clone(),
        });
        if let Some(w) = majority {
            return Deliberation {
                recommended_winner_id: Some(w.proposal_id.clone()),
                recommendation_rationale: format!(
                    "{} (Duke {}) won a majority ({} of {} votes) in round {round}; rank {}, mean {:.2}",
                    w.proposal_id, w.duke_name, count(w), cast, w.rank, w.statistics.mean
                ),
                rounds,
                converged: true,
            };
        }
        if last {
            let Some(w) = leader else { break };
            return Deliberation {
                recommended_winner_id: Some(w.proposal_id.clone()),
                recommendation_rationale: format!(
                    "No majority within {MAX_DELIBERATION_ROUNDS} rounds; {} (Duke {}) had the most votes ({} of {}) in the last round, rank {}",
                    w.proposal_id, w.duke_name, count(w), cast, w.rank
                ),
                rounds,
                converged: false,
            };
        }
        if let Some(e) = eliminated {
            candidates.retain(|c| c.proposal_id != e);
        }
    }
    Deliberation::default()
}

/// `selection_result.md`: the decision for human readers.
pub fn render_markdown(r: &SelectionResult) -> String {
    let mut md = format!(
        "# Executive Review {}\n\n- Mandate: {}\n- RFP: {}\n- Iteration: {} of {}\n- Outcome: **{:?}** ({})\n- Reason: {}\n",
        r.selection_id, r.mandate_id, r.rfp_id, r.iteration, r.max_iterations, r.outcome, r.status, r.reason
    );
    if let Some(w) = &r.winning_proposal_id {
        md.push_str(&format!("- Winner: {w}\n"));
    }
    md.push_str("\n## Rankings\n\n| Rank | Proposal | Duke | Mean | Median | Stddev | Novelty | Tier |\n|---|---|---|---|---|---|---|---|\n");
    for k in &r.rankings {
        md.push_str(&format!(
            "| {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:?} |\n",
            k.rank,
            k.proposal_id,
            k.duke_name,
            k.statistics.mean,
            k.statistics.median,
            k.statistics.stddev,
            k.novelty_bonus,
            k.tier
        ));
    }
    md.push_str(&format!(
        "\n## Deliberation\n\n{}\n",
        if r.deliberation.recommendation_rationale.is_empty() {
            "No deliberation (no finalists)."
        } else {
            &r.deliberation.recommendation_rationale
        }
    ));
    for round in &r.deliberation.rounds {
        md.push_str(&format!("\n- Round {}: {:?}", round.round, round.tally));
        if let Some(e) = &round.eliminated {
            md.push_str(&format!(" (eliminated {e})"));
        }
    }
    md.push('\n');
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(x: f64) -> ProposalScore {
        ProposalScore {
            scores: scoring::flat(x),
            novel: false,
            concern: String::new(),
            intent_concern: String::new(),
        }
    }

    #[test]
    fn the_nth_score_is_of_the_nth_proposal() {
        let sheet = ScoreSheet {
            scores: vec![score(3.0), score(7.0)],
        };
        let pairs = paired(sheet, &["P-B", "P-A"]).unwrap();
        assert_eq!(pairs[0], ("P-B", score(3.0)));
        assert_eq!(pairs[1], ("P-A", score(7.0)));
    }

    #[test]
    fn a_sheet_of_another_length_or_out_of_range_is_refused() {
        let short = ScoreSheet {
            scores: vec![score(3.0)],
        };
        assert_eq!(
            paired(short, &["P-A", "P-B"]).unwrap_err(),
            "scored 1 proposal(s), the table has 2"
        );
        let high = ScoreSheet {
            scores: vec![score(3.0), score(11.0)],
        };
        assert_eq!(
            paired(high, &["P-A", "P-B"]).unwrap_err(),
            "scores of \"P-B\" are outside 0..=10"
        );
    }
}
