//! The arithmetic of Executive Review: weighted dimensions, per-President
//! normalisation, the bounded novelty bonus, ranking and tiers. Pure functions.
//!
//! - Weights (sum 1.0): feasibility 0.25, completeness 0.20, risk mitigation
//!   0.15, resource efficiency 0.15, innovation 0.10, alignment 0.15.
//! - Normalisation: a President's weighted score of a proposal is shifted by the
//!   difference between the panel's grand mean and that President's own mean, so
//!   lenient and harsh Presidents count alike while the panel's absolute level
//!   (which the thresholds read) is kept; results are clamped to 0..=10.
//! - Novelty: `NOVELTY_BONUS_CAP` × the share of scoring Presidents who marked the
//!   proposal novel, added to every normalised score (capped at 10).
//! - Ranking: mean, then median (higher first), then stddev (lower first), then
//!   proposal id, all on the published two-decimal values.
//! - Tiers: FINALIST when ranked within `top_n`, mean ≥ 7.0 and every deliverable
//!   is covered; CONTENDER when mean ≥ 5.0 otherwise; else BELOW_THRESHOLD.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Feasibility,
    Completeness,
    RiskMitigation,
    ResourceEfficiency,
    Innovation,
    Alignment,
}

/// The documented weights, in the order of the dossier's evaluation criteria.
pub const WEIGHTS: [(Dimension, f64); 6] = [
    (Dimension::Feasibility, 0.25),
    (Dimension::Completeness, 0.20),
    (Dimension::RiskMitigation, 0.15),
    (Dimension::ResourceEfficiency, 0.15),
    (Dimension::Innovation, 0.10),
    (Dimension::Alignment, 0.15),
];

pub const FINALIST_THRESHOLD: f64 = 7.0;
pub const VIABILITY_THRESHOLD: f64 = 5.0;
pub const NOVELTY_BONUS_CAP: f64 = 0.5;

impl Dimension {
    pub fn describe(self) -> &'static str {
        match self {
            Dimension::Feasibility => {
                "Can the tactics be executed with realistic sequencing and capacity?"
            }
            Dimension::Completeness => {
                "Does every deliverable and requirement have tactics behind it?"
            }
            Dimension::RiskMitigation => "Are the named risks credible and mitigated?",
            Dimension::ResourceEfficiency => "Does the proposal ask for no more than it needs?",
            Dimension::Innovation => {
                "Does the approach bring something better than the obvious plan?"
            }
            Dimension::Alignment => {
                "Does it serve the mandate's intent and the dossier's constraints?"
            }
        }
    }
}

/// One President's 0–10 scores of one proposal.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DimensionScores {
    #[schemars(range(min = 0.0, max = 10.0))]
    pub feasibility: f64,
    #[schemars(range(min = 0.0, max = 10.0))]
    pub completeness: f64,
    #[schemars(range(min = 0.0, max = 10.0))]
    pub risk_mitigation: f64,
    #[schemars(range(min = 0.0, max = 10.0))]
    pub resource_efficiency: f64,
    #[schemars(range(min = 0.0, max = 10.0))]
    pub innovation: f64,
    #[schemars(range(min = 0.0, max = 10.0))]
    pub alignment: f64,
}

/// The same score `x` on every dimension (tests).
#[cfg(test)]
pub(crate) fn flat(x: f64) -> DimensionScores {
    DimensionScores {
        feasibility: x,
        completeness: x,
        risk_mitigation: x,
        resource_efficiency: x,
        innovation: x,
        alignment: x,
    }
}

impl DimensionScores {
    pub fn get(&self, d: Dimension) -> f64 {
        match d {
            Dimension::Feasibility => self.feasibility,
            Dimension::Completeness => self.completeness,
            Dimension::RiskMitigation => self.risk_mitigation,
            Dimension::ResourceEfficiency => self.resource_efficiency,
            Dimension::Innovation => self.innovation,
            Dimension::Alignment => self.alignment,
        }
    }

    /// Σ weight × score, on the same 0–10 scale.
    pub fn weighted(&self) -> f64 {
        WEIGHTS.iter().map(|(d, w)| w * self.get(*d)).sum()
    }

    /// Whether every score is a number within 0..=10.
    pub fn in_range(&self) -> bool {
        WEIGHTS
            .iter()
            .all(|(d, _)| (0.0..=10.0).contains(&self.get(*d)))
    }
}

/// What one President said about one proposal, as scoring uses it.
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    pub president: String,
    pub proposal_id: String,
    pub scores: DimensionScores,
    pub novel: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Statistics {
    pub mean: f64,
    pub median: f64,
    pub stddev: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Tier {
    Finalist,
    Contender,
    BelowThreshold,
}

/// A proposal's aggregate after normalisation, before ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    pub proposal_id: String,
    /// President → normalised score with the novelty bonus.
    pub final_scores: BTreeMap<String, f64>,
    pub novelty_bonus: f64,
    pub statistics: Statistics,
    /// Mean raw score per dimension (what a revision request names as weak).
    pub dimension_means: BTreeMap<Dimension, f64>,
}

pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        0.0
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

pub fn statistics(xs: &[f64]) -> Statistics {
    let m = mean(xs);
    let mut sorted = xs.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = match n {
        0 => 0.0,
        _ if n % 2 == 1 => sorted.get(n / 2).copied().unwrap_or(0.0),
        _ => mean(&sorted[n / 2 - 1..=n / 2]),
    };
    let var = mean(&xs.iter().map(|x| (x - m).powi(2)).collect::<Vec<_>>());
    Statistics {
        mean: round2(m),
        median: round2(median),
        stddev: round2(var.sqrt()),
    }
}

/// Normalises every card and aggregates per proposal (sorted by proposal id).
pub fn aggregate(cards: &[Card]) -> Vec<Aggregate> {
    let grand = mean(
        &cards
            .iter()
            .map(|c| c.scores.weighted())
            .collect::<Vec<_>>(),
    );
    let mut by_president: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for c in cards {
        by_president
            .entry(&c.president)
            .or_default()
            .push(c.scores.weighted());
    }
    let president_mean: BTreeMap<&str, f64> =
        by_president.iter().map(|(p, xs)| (*p, mean(xs))).collect();
    let mut by_proposal: BTreeMap<&str, Vec<&Card>> = BTreeMap::new();
    for c in cards {
        by_proposal.entry(&c.proposal_id).or_default().push(c);
    }
    by_proposal
        .into_iter()
        .map(|(proposal_id, cards)| {
            let novel = cards.iter().filter(|c| c.novel).count() as f64;
            let novelty_bonus = round2(NOVELTY_BONUS_CAP * novel / cards.len() as f64);
            let final_scores: BTreeMap<String, f64> = cards
                .iter()
                .map(|c| {
                    let shift = grand
                        - president_mean
                            .get(c.president.as_str())
                            .copied()
                            .unwrap_or(grand);
                    let normalised = (c.scores.weighted() + shift).clamp(0.0, 10.0);
                    (c.president.clone(), (normalised + novelty_bonus).min(10.0))
                })
                .collect();
            let values: Vec<f64> = final_scores.values().copied().collect();
            let dimension_means = WEIGHTS
                .iter()
                .map(|(d, _)| {
                    let xs: Vec<f64> = cards.iter().map(|c| c.scores.get(*d)).collect();
                    (*d, round2(mean(&xs)))
                })
                .collect();
            Aggregate {
                proposal_id: proposal_id.to_string(),
                statistics: statistics(&values),
                final_scores,
                novelty_bonus,
                dimension_means,
            }
        })
        .collect()
}

/// Sorts aggregates into rank order (the documented tie-break).
pub fn rank(mut aggregates: Vec<Aggregate>) -> Vec<Aggregate> {
    aggregates.sort_by(|a, b| {
        let (x, y) = (a.statistics, b.statistics);
        y.mean
            .total_cmp(&x.mean)
            .then(y.median.total_cmp(&x.median))
            .then(x.stddev.total_cmp(&y.stddev))
            .then(a.proposal_id.cmp(&b.proposal_id))
    });
    aggregates
}

/// The tier of the proposal at 1-based `rank`.
pub fn tier(rank: usize, mean: f64, covers_all_deliverables: bool, top_n: usize) -> Tier {
    if rank <= top_n && mean >= FINALIST_THRESHOLD && covers_all_deliverables {
        Tier::Finalist
    } else if mean >= VIABILITY_THRESHOLD {
        Tier::Contender
    } else {
        Tier::BelowThreshold
    }
}

#[cfg(test)]
mod tests;
