//! E0/E1: the cycle id, the Plan Owner and the affected portfolios.
//!
//! Scoring (deterministic, documented in the assignment record):
//! - the motion's words are stemmed (first five letters of words longer than three);
//!   title words count 3, theme words 2, words of the ratified text 1;
//! - a President scores the weighted count of motion words whose stem is a stem of
//!   a word of its `portfolio_scope` (`institutional_memory` → `insti`, `memor`);
//! - the Plan Owner is the top score, ties broken by the smaller `portfolio_id`;
//! - affected portfolios are the owner plus every portfolio scoring at least
//!   max(3, ⌈25 % of the owner's score⌉), highest first (ties by id), at most 5.
//!
//! `--owner` replaces the owner (it is then always affected); `--affected`
//! replaces the affected set (the owner is added when missing).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use archon_core::roster::{Archon, Rank, Roster};
use archon_core::seed::sha256_hex;

use crate::error::PlanError;
use crate::model::{v2, PlanOwner};
use crate::packet::RatifiedIntentPacket;
use crate::text::stems;

pub const MAX_AFFECTED: usize = 5;
pub const SCORING_METHOD: &str = "stem overlap of title (x3), theme (x2) and ratified text (x1) with each President's portfolio_scope; owner = top score, ties by smaller portfolio_id; affected = owner + scores >= max(3, ceil(25% of owner score)), at most 5";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortfolioScore {
    pub portfolio_id: String,
    pub president_name: String,
    pub score: u32,
    pub matched_scope_terms: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Overrides {
    pub owner: Option<String>,
    pub affected: Option<Vec<String>>,
}

/// `executive_assignment_record.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignmentRecord {
    pub schema_version: String,
    pub cycle_id: String,
    pub motion_id: String,
    pub plan_owner: PlanOwner,
    pub affected_portfolios: Vec<String>,
    pub scores: Vec<PortfolioScore>,
    pub method: String,
    pub overrides: Overrides,
    pub created_at: String,
}

/// The cycle id of a motion's Executive cycle: stable across runs and seeds, so
/// that a hand-written inbox stays valid for the motion it was written for.
pub fn cycle_id(session_id: &str, motion_id: &str) -> String {
    format!(
        "exec_{}",
        &sha256_hex(format!("{session_id}/{motion_id}"))[..12]
    )
}

/// The Presidents with a portfolio, by portfolio id.
pub fn presidents(roster: &Roster) -> BTreeMap<String, &Archon> {
    roster
        .of_rank(Rank::President)
        .filter_map(|a| a.portfolio_id.clone().map(|p| (p, a)))
        .collect()
}

pub fn owner_of(archon: &Archon) -> PlanOwner {
    PlanOwner {
        president_id: archon.id.clone(),
        president_name: archon.name.clone(),
        portfolio_id: archon.portfolio_id.clone().unwrap_or_default(),
        portfolio_label: archon.portfolio_label.clone().unwrap_or_default(),
    }
}

/// Checks a portfolio id named by a flag or a file against the roster.
pub fn known_portfolio(
    presidents: &BTreeMap<String, &Archon>,
    id: &str,
    context: &str,
) -> Result<(), PlanError> {
    if presidents.contains_key(id) {
        return Ok(());
    }
    Err(PlanError::UnknownPortfolio {
        id: id.to_string(),
        context: context.to_string(),
        known: presidents.keys().cloned().collect::<Vec<_>>().join(", "),
    })
}

pub fn score_portfolios(
    packet: &RatifiedIntentPacket,
    presidents: &BTreeMap<String, &Archon>,
) -> Vec<PortfolioScore> {
    let m = &packet.ratified_motion;
    let weighted: Vec<(String, u32)> = [(&m.title, 3), (&m.theme, 2), (&m.canonical_intent, 1)]
        .into_iter()
        .flat_map(|(text, w)| stems(text).into_iter().map(move |s| (s, w)))
        .collect();
    let mut scores: Vec<PortfolioScore> = presidents
        .iter()
        .map(|(pid, archon)| {
            let scope: BTreeMap<String, String> = archon
                .portfolio_scope
                .iter()
                .flatten()
                .flat_map(|term| {
                    archon_core::roster::words(term)
                        .filter(|w| w.len() > 3)
                        .map(|w| (crate::text::stem(&w), w))
                        .collect::<Vec<_>>()
                })
                .collect();
            let mut matched = BTreeSet::new();
            let mut score = 0;
            for (s, w) in &weighted {
                if let Some(term) = scope.get(s) {
                    score += w;
                    matched.insert(term.clone());
                }
            }
            PortfolioScore {
                portfolio_id: pid.clone(),
                president_name: archon.name.clone(),
                score,
                matched_scope_terms: matched.into_iter().collect(),
            }
        })
        .collect();
    scores.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then_with(|| a.portfolio_id.cmp(&b.portfolio_id))
    });
    scores
}

/// E1: decides the Plan Owner and the affected portfolios.
pub fn assign(
    packet: &RatifiedIntentPacket,
    presidents: &BTreeMap<String, &Archon>,
    overrides: &Overrides,
    created_at: &str,
) -> Result<AssignmentRecord, PlanError> {
    if let Some(o) = &overrides.owner {
        known_portfolio(presidents, o, "--owner")?;
    }
    for a in overrides.affected.iter().flatten() {
        known_portfolio(presidents, a, "--affected")?;
    }
    let scores = score_portfolios(packet, presidents);
    let top = scores.first().map(|s| s.score).unwrap_or(0);
    let owner_id = match &overrides.owner {
        Some(o) => o.clone(),
        None => scores
            .first()
            .map(|s| s.portfolio_id.clone())
            .unwrap_or_default(),
    };
    let mut affected: Vec<String> = match &overrides.affected {
        Some(list) => list.clone(),
        None => {
            let threshold = top.div_ceil(4).max(3);
            scores
                .iter()
                .filter(|s| s.score >= threshold && s.portfolio_id != owner_id)
                .take(MAX_AFFECTED - 1)
                .map(|s| s.portfolio_id.clone())
                .collect()
        }
    };
    if !affected.contains(&owner_id) {
        affected.insert(0, owner_id.clone());
    }
    let mut seen = BTreeSet::new();
    affected.retain(|p| seen.insert(p.clone()));
    // Portfolio ids name files (`contributions/contribution_<id>.json`).
    for p in &affected {
        archon_core::ids::safe_component(p, "roster", "portfolio_id")?;
    }
    let owner = presidents
        .get(&owner_id)
        .map(|a| owner_of(a))
        .ok_or_else(|| PlanError::UnknownPortfolio {
            id: owner_id.clone(),
            context: "plan owner".into(),
            known: presidents.keys().cloned().collect::<Vec<_>>().join(", "),
        })?;
    Ok(AssignmentRecord {
        schema_version: v2(),
        cycle_id: cycle_id(&packet.session_id, &packet.motion_id),
        motion_id: packet.motion_id.clone(),
        plan_owner: owner,
        affected_portfolios: affected,
        scores,
        method: SCORING_METHOD.to_string(),
        overrides: overrides.clone(),
        created_at: created_at.to_string(),
    })
}
