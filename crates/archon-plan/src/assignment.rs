//! E0/E1: the cycle id, the Plan Owner and the affected portfolios, chosen
//! clause by clause.
//!
//! Scoring (deterministic, documented in the assignment record as `method`):
//! - a President's terms are its `portfolio_scope` entries, normalised
//!   ([`crate::text::normalise`]: `incident_response` → `incident respons`) and
//!   matched as whole phrases, never as single words or prefixes of them;
//! - a clause is read with its section title; it scores 2 per scope term
//!   occurrence and 1 per distinct distinctive word of the portfolio's label and
//!   its President's `goal` (words shared by three or more Presidents do not
//!   count); a score of 2 claims it: one scope term, or two goal words, never a
//!   single incidental word;
//! - the Plan Owner is the portfolio that claims the most clauses, ties broken by
//!   the higher total score, then the smaller `portfolio_id`;
//! - the affected portfolios are every portfolio that claims a clause, by
//!   claimed clauses (then score, then id); a clause nobody claims is recorded in
//!   `unclaimed_clauses` and surfaces as a blocker of the Plan Owner;
//! - `peer_reviewer`: when only one portfolio is affected, the nearest other one
//!   (the highest score over the whole motion — title, theme, text — then the
//!   smaller id) reviews its blockers, so no President reviews its own.
//!
//! `--owner` replaces the owner (it is then always affected); `--affected`
//! replaces the affected set (the owner is added when missing).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use archon_core::roster::{Archon, Rank, Roster};
use archon_core::seed::sha256_hex;

use crate::error::PlanError;
use crate::model::{
    v2, Blocker, BlockerClass, Disposition, Extra, PlanOwner, Severity, VerificationTask,
};
use crate::packet::RatifiedIntentPacket;
use crate::scope_vocabulary::related;
use crate::text::{normalise, normalised_words, snippet, Term};

pub const SCORING_METHOD: &str = "clause claims: each clause (with its section title) scores 2 per occurrence of a President's normalised portfolio_scope term (matched as a whole phrase) and 1 per distinct distinctive word of its portfolio label and goal (words of three or more Presidents excluded); a score of 2 claims the clause; owner = most claimed clauses, ties by higher total score, then smaller portfolio_id; affected = every claiming portfolio; unclaimed clauses become Plan Owner blockers; a lone affected portfolio gets the nearest other portfolio (highest whole-motion score, then id) as peer reviewer";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortfolioScore {
    pub portfolio_id: String,
    pub president_name: String,
    /// Term occurrences over every clause.
    pub score: u32,
    /// Term occurrences over the whole motion (title, theme, text): how near the
    /// portfolio is when a peer reviewer must be drawn.
    pub motion_score: u32,
    pub claimed_clauses: Vec<String>,
    pub matched_scope_terms: Vec<String>,
}

/// Who claims one clause, and on which terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClauseClaim {
    pub clause_ref: String,
    /// Portfolio id → the scope terms found in the clause.
    pub claimed_by: BTreeMap<String, Vec<String>>,
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
    pub clause_claims: Vec<ClauseClaim>,
    /// Clauses no portfolio claims: each is a blocker of the Plan Owner.
    pub unclaimed_clauses: Vec<String>,
    /// The reviewer drawn from outside a single-portfolio affected set.
    pub peer_reviewer: Option<String>,
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

/// Function words, and the institution's own words that every motion uses,
/// never counted as a portfolio's vocabulary.
const STOP_WORDS: [&str; 48] = [
    "about",
    "across",
    "after",
    "against",
    "also",
    "among",
    "archon",
    "archons",
    "before",
    "being",
    "both",
    "conclave",
    "each",
    "either",
    "every",
    "from",
    "governance",
    "have",
    "into",
    "long",
    "made",
    "make",
    "mandate",
    "mandates",
    "many",
    "more",
    "most",
    "motion",
    "motions",
    "must",
    "only",
    "open",
    "other",
    "over",
    "rather",
    "same",
    "several",
    "shall",
    "should",
    "such",
    "than",
    "that",
    "their",
    "them",
    "they",
    "this",
    "under",
    "with",
];
/// A goal word shared by this many Presidents says nothing about one portfolio.
const SHARED_WORD_LIMIT: usize = 3;
/// Weight of a scope term occurrence; a goal or label word counts 1.
const SCOPE_WEIGHT: u32 = 2;
/// A clause is claimed from this score up: one scope term, or two distinct
/// goal/label words, never a single incidental word.
const CLAIM_THRESHOLD: u32 = 2;

/// What a portfolio's scope covers: its `portfolio_scope` terms (phrases), and
/// the distinctive words of its label, its President's goal and its scope
/// words' fields ([`crate::scope_vocabulary`]).
pub struct Vocabulary {
    pub terms: Vec<Term>,
    pub words: BTreeSet<String>,
}

impl Vocabulary {
    /// The score of a normalised text, with the terms and words found.
    fn score(&self, text: &[String]) -> (u32, Vec<String>) {
        let mut score = 0;
        let mut found = Vec::new();
        for t in &self.terms {
            let n = t.occurrences(text) as u32;
            if n > 0 {
                score += SCOPE_WEIGHT * n;
                found.push(t.label.clone());
            }
        }
        let present: BTreeSet<&String> = text.iter().filter(|w| self.words.contains(*w)).collect();
        score += present.len() as u32;
        found.extend(present.into_iter().cloned());
        (score, found)
    }
}

/// Every President's vocabulary, by portfolio id.
pub fn vocabularies(presidents: &BTreeMap<String, &Archon>) -> BTreeMap<String, Vocabulary> {
    let raw: BTreeMap<&String, (Vec<Term>, BTreeSet<String>)> = presidents
        .iter()
        .map(|(pid, a)| {
            let terms: Vec<Term> = a
                .portfolio_scope
                .iter()
                .flatten()
                .map(|t| Term::new(t))
                .filter(|t| !t.words.is_empty())
                .collect();
            let scope_words: BTreeSet<&String> = terms.iter().flat_map(|t| &t.words).collect();
            let related: Vec<String> = a
                .portfolio_scope
                .iter()
                .flatten()
                .flat_map(|t| archon_core::roster::words(t).collect::<Vec<_>>())
                .flat_map(|w| related(&w).map(str::to_string))
                .collect();
            let words = archon_core::roster::words(&format!(
                "{} {} {}",
                a.portfolio_label.as_deref().unwrap_or(""),
                a.goal,
                related.join(" ")
            ))
            .filter(|w| w.len() > 3 && !STOP_WORDS.contains(&w.as_str()))
            .map(|w| normalise(&w))
            .filter(|w| !scope_words.contains(w))
            .collect();
            (pid, (terms, words))
        })
        .collect();
    let mut shared: BTreeMap<&String, usize> = BTreeMap::new();
    for (_, words) in raw.values() {
        for w in words {
            *shared.entry(w).or_default() += 1;
        }
    }
    raw.iter()
        .map(|(pid, (terms, words))| {
            let words = words
                .iter()
                .filter(|w| shared.get(w).copied().unwrap_or(0) < SHARED_WORD_LIMIT)
                .cloned()
                .collect();
            (
                pid.to_string(),
                Vocabulary {
                    terms: terms.clone(),
                    words,
                },
            )
        })
        .collect()
}

/// Every clause's claims and every portfolio's score, owner first.
pub fn claim_clauses(
    packet: &RatifiedIntentPacket,
    presidents: &BTreeMap<String, &Archon>,
) -> (Vec<ClauseClaim>, Vec<PortfolioScore>) {
    let m = &packet.ratified_motion;
    let motion_text =
        normalised_words(&format!("{}\n{}\n{}", m.title, m.theme, m.canonical_intent));
    let clause_texts: Vec<(&str, Vec<String>)> = m
        .clauses
        .iter()
        .map(|c| {
            (
                c.clause_ref.as_str(),
                normalised_words(&format!("{}\n{}", c.section_title, c.text)),
            )
        })
        .collect();
    let mut claims: Vec<ClauseClaim> = clause_texts
        .iter()
        .map(|(r, _)| ClauseClaim {
            clause_ref: r.to_string(),
            claimed_by: BTreeMap::new(),
        })
        .collect();
    let vocabularies = vocabularies(presidents);
    let mut scores: Vec<PortfolioScore> = presidents
        .iter()
        .zip(vocabularies.values())
        .map(|((pid, archon), vocabulary)| {
            let mut score = 0;
            let mut matched = BTreeSet::new();
            let mut claimed = Vec::new();
            for ((clause_ref, text), claim) in clause_texts.iter().zip(claims.iter_mut()) {
                let (n, found) = vocabulary.score(text);
                if n >= CLAIM_THRESHOLD {
                    score += n;
                    matched.extend(found.iter().cloned());
                    claimed.push(clause_ref.to_string());
                    claim.claimed_by.insert(pid.clone(), found);
                }
            }
            PortfolioScore {
                portfolio_id: pid.clone(),
                president_name: archon.name.clone(),
                score,
                motion_score: vocabulary.score(&motion_text).0,
                claimed_clauses: claimed,
                matched_scope_terms: matched.into_iter().collect(),
            }
        })
        .collect();
    scores.sort_by(|a, b| {
        b.claimed_clauses
            .len()
            .cmp(&a.claimed_clauses.len())
            .then_with(|| b.score.cmp(&a.score))
            .then_with(|| a.portfolio_id.cmp(&b.portfolio_id))
    });
    (claims, scores)
}

/// The nearest portfolio outside `affected`: highest whole-motion score, then id.
fn nearest_other(scores: &[PortfolioScore], affected: &[String]) -> Option<String> {
    scores
        .iter()
        .filter(|s| !affected.contains(&s.portfolio_id))
        .min_by(|a, b| {
            b.motion_score
                .cmp(&a.motion_score)
                .then_with(|| a.portfolio_id.cmp(&b.portfolio_id))
        })
        .map(|s| s.portfolio_id.clone())
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
    let (clause_claims, scores) = claim_clauses(packet, presidents);
    // With no clause claimed at all, the whole-motion score still names an owner.
    let fallback_owner = || {
        scores
            .iter()
            .min_by(|a, b| {
                b.motion_score
                    .cmp(&a.motion_score)
                    .then_with(|| a.portfolio_id.cmp(&b.portfolio_id))
            })
            .map(|s| s.portfolio_id.clone())
    };
    let owner_id = match &overrides.owner {
        Some(o) => o.clone(),
        None => scores
            .first()
            .filter(|s| !s.claimed_clauses.is_empty())
            .map(|s| s.portfolio_id.clone())
            .or_else(fallback_owner)
            .unwrap_or_default(),
    };
    let mut affected: Vec<String> = match &overrides.affected {
        Some(list) => list.clone(),
        None => scores
            .iter()
            .filter(|s| !s.claimed_clauses.is_empty())
            .map(|s| s.portfolio_id.clone())
            .collect(),
    };
    affected.retain(|p| p != &owner_id);
    affected.insert(0, owner_id.clone());
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
    let unclaimed_clauses = clause_claims
        .iter()
        .filter(|c| !c.claimed_by.keys().any(|p| affected.contains(p)))
        .map(|c| c.clause_ref.clone())
        .fold(Vec::new(), |mut refs: Vec<String>, r| {
            if !refs.contains(&r) {
                refs.push(r);
            }
            refs
        });
    let peer_reviewer = (affected.len() == 1)
        .then(|| nearest_other(&scores, &affected))
        .flatten();
    Ok(AssignmentRecord {
        schema_version: v2(),
        cycle_id: cycle_id(&packet.session_id, &packet.motion_id),
        motion_id: packet.motion_id.clone(),
        plan_owner: owner,
        affected_portfolios: affected,
        scores,
        clause_claims,
        unclaimed_clauses,
        peer_reviewer,
        method: SCORING_METHOD.to_string(),
        overrides: overrides.clone(),
        created_at: created_at.to_string(),
    })
}

impl AssignmentRecord {
    /// The clauses a portfolio claims (empty for one affected only by override).
    pub fn claimed_by(&self, portfolio_id: &str) -> Vec<String> {
        self.clause_claims
            .iter()
            .filter(|c| c.claimed_by.contains_key(portfolio_id))
            .map(|c| c.clause_ref.clone())
            .collect()
    }

    /// Who reviews a blocker raised by `raised_by` in E2.5: the Plan Owner, or for
    /// the owner's own blockers the next affected portfolio, or the drawn peer
    /// reviewer; never the raiser.
    pub fn reviewer_for(&self, raised_by: &str) -> Option<&str> {
        let owner = self.plan_owner.portfolio_id.as_str();
        if raised_by != owner {
            return Some(owner);
        }
        self.affected_portfolios
            .iter()
            .map(String::as_str)
            .find(|p| *p != raised_by)
            .or(self.peer_reviewer.as_deref())
    }

    /// The Presidents of the Executive Clarification Review of a blocker raised
    /// by `raised_by`: every other affected portfolio, or the drawn peer reviewer.
    pub fn clarification_reviewers(&self, raised_by: &str) -> Vec<String> {
        let others: Vec<String> = self
            .affected_portfolios
            .iter()
            .filter(|p| *p != raised_by)
            .cloned()
            .collect();
        if !others.is_empty() {
            return others;
        }
        self.peer_reviewer.iter().cloned().collect()
    }
}

/// One blocker of the Plan Owner per clause nobody claims: who delivers it is
/// unknown, so discovery finds a portfolio or capability before Administration
/// plans it (`blocker_unclaimed_NN`, in clause order).
pub fn unclaimed_clause_blockers(
    packet: &RatifiedIntentPacket,
    record: &AssignmentRecord,
) -> Vec<Blocker> {
    record
        .unclaimed_clauses
        .iter()
        .enumerate()
        .map(|(i, clause_ref)| {
            let id = format!("blocker_unclaimed_{:02}", i + 1);
            let text = packet
                .clause(clause_ref)
                .map(|c| snippet(&c.text, 16))
                .unwrap_or_default();
            Blocker {
                schema_version: Some(v2()),
                id: Some(id.clone()),
                blocker_class: Some(BlockerClass::ExecutionUncertainty),
                severity: Some(Severity::Medium),
                description: Some(format!(
                    "No portfolio's scope claims clause {clause_ref}, so who delivers it is unknown: {text}"
                )),
                owner_portfolio_id: Some(record.plan_owner.portfolio_id.clone()),
                disposition: Some(Disposition::DeferDownstream),
                ttl: Some("P14D".into()),
                escalation_conditions: Some(vec![
                    format!("No portfolio or capability takes clause {clause_ref} within the TTL"),
                    format!("Discovery shows clause {clause_ref} needs the Conclave to say what it means"),
                ]),
                verification_tasks: vec![VerificationTask {
                    task_id: format!("discovery_{id}_1"),
                    description: format!(
                        "Identify the portfolio or capability that delivers clause {clause_ref}"
                    ),
                    success_signal: format!(
                        "A named portfolio or capability accepts clause {clause_ref}"
                    ),
                    extra: Extra::new(),
                }],
                mitigation_notes: None,
                clause_ref: Some(clause_ref.clone()),
                questions: Vec::new(),
                interpretations: Vec::new(),
                converted_from_v1: None,
                extra: [("raised_by".to_string(), serde_json::json!("E1 clause claims"))]
                    .into_iter()
                    .collect(),
            }
        })
        .collect()
}
