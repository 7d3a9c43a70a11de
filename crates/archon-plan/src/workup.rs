//! E2.5 Blocker Workup: dispositions reviewed by a peer President (with
//! `--llm-blocker-workup`, one `ask_all` for every blocker), then the Plan
//! Owner's peer review summary: duplicates, conflicts, coverage gaps and a
//! disposition rationale per blocker. Without peer review nothing is changed:
//! the gates judge what the Presidents wrote.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use archon_core::agent_port::{Question, SimContext};

use crate::assignment::AssignmentRecord;
use crate::clauses::Clause;
use crate::model::{
    v2, Blocker, BlockerClass, BlockerReview, Disposition, Extra, PeerReviewFinding,
    PeerReviewSummary, PortfolioResponse, VerificationTask, WorkPackage,
};
use crate::text::{similarity, snippet};

#[derive(Debug, Clone, Serialize)]
pub struct BlockerReviewQuestion {
    pub motion_id: String,
    pub title: String,
    pub blocker_json: String,
    #[serde(skip)]
    pub blocker: Blocker,
    pub clause_text: Option<String>,
    pub raised_by_portfolio_id: String,
    pub reviewer_portfolio_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReviewVerdict {
    Confirm,
    Revise,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BlockerReviewAnswer {
    pub verdict: ReviewVerdict,
    #[serde(default)]
    pub disposition: Option<Disposition>,
    pub rationale: String,
    #[serde(default)]
    pub mitigation_notes: Option<String>,
    #[serde(default)]
    pub verification_tasks: Vec<VerificationTask>,
    #[serde(default)]
    pub escalation_conditions: Vec<String>,
}

impl Question for BlockerReviewQuestion {
    type Answer = BlockerReviewAnswer;
    const KIND: &'static str = "blocker_review";
    const TEMPLATE: &'static str = include_str!("prompts/blocker_review.j2");

    /// The simulated reviewer applies the disposition rules: it repairs what
    /// they require and confirms the rest.
    fn simulate(&self, _ctx: &SimContext<'_>) -> BlockerReviewAnswer {
        let b = &self.blocker;
        let clause = b.clause_ref.clone().unwrap_or_else(|| "the motion".into());
        let revise = |d: Disposition, rationale: String| BlockerReviewAnswer {
            verdict: ReviewVerdict::Revise,
            disposition: Some(d),
            rationale,
            mitigation_notes: (d == Disposition::MitigateInExecutive).then(|| {
                format!("The Plan Owner sequences {clause} and resolves it within the Executive.")
            }),
            verification_tasks: if d == Disposition::DeferDownstream
                && b.verification_tasks.is_empty()
            {
                vec![VerificationTask {
                    task_id: String::new(),
                    description: format!(
                        "Investigate: {}",
                        snippet(b.description.as_deref().unwrap_or("the blocker"), 16)
                    ),
                    success_signal: format!("Findings that settle {clause}"),
                    extra: Extra::new(),
                }]
            } else {
                Vec::new()
            },
            escalation_conditions: if b
                .escalation_conditions
                .as_ref()
                .is_none_or(|e| e.is_empty())
            {
                vec![format!("{clause} still unresolved when the TTL expires")]
            } else {
                Vec::new()
            },
        };
        match (b.blocker_class, b.disposition) {
            (Some(BlockerClass::IntentAmbiguity), Some(d)) if d != Disposition::EscalateNow => revise(
                Disposition::EscalateNow,
                "Intent ambiguity is the Conclave's to resolve; the Executive must not choose a reading.".into(),
            ),
            (Some(c), Some(Disposition::EscalateNow)) if c != BlockerClass::IntentAmbiguity => revise(
                Disposition::DeferDownstream,
                "A HOW question is not for the Conclave: defer it to discovery.".into(),
            ),
            (_, Some(Disposition::DeferDownstream)) if b.verification_tasks.is_empty() => revise(
                Disposition::DeferDownstream,
                "A deferral needs a verification task for Administration to run.".into(),
            ),
            (_, Some(Disposition::MitigateInExecutive))
                if b.mitigation_notes.as_ref().is_none_or(|n| n.trim().is_empty()) =>
            {
                revise(
                    Disposition::MitigateInExecutive,
                    "A mitigation needs notes saying how the Executive resolves it.".into(),
                )
            }
            _ => BlockerReviewAnswer {
                verdict: ReviewVerdict::Confirm,
                disposition: None,
                rationale: format!(
                    "Confirmed: the disposition fits a {} blocker on {clause}.",
                    b.blocker_class.map_or("unclassified", |c| c.as_str())
                ),
                mitigation_notes: None,
                verification_tasks: Vec::new(),
                escalation_conditions: Vec::new(),
            },
        }
    }
}

pub fn review_question(
    motion_id: &str,
    title: &str,
    blocker: &Blocker,
    clause: Option<&Clause>,
    reviewer: &str,
) -> BlockerReviewQuestion {
    BlockerReviewQuestion {
        motion_id: motion_id.into(),
        title: title.into(),
        blocker_json: serde_json::to_string_pretty(blocker).unwrap_or_default(),
        blocker: blocker.clone(),
        clause_text: clause.map(|c| format!("[{}] {}", c.clause_ref, c.text)),
        raised_by_portfolio_id: blocker.owner_portfolio_id.clone().unwrap_or_default(),
        reviewer_portfolio_id: reviewer.into(),
    }
}

/// Applies a peer's answer; returns the revision finding when it changed the blocker.
pub fn apply_review(
    blocker: &mut Blocker,
    reviewer: &str,
    answer: &BlockerReviewAnswer,
) -> Option<PeerReviewFinding> {
    if answer.verdict != ReviewVerdict::Revise {
        return None;
    }
    let before = blocker.disposition;
    if let Some(d) = answer.disposition {
        blocker.disposition = Some(d);
    }
    if let Some(n) = answer
        .mitigation_notes
        .clone()
        .filter(|n| !n.trim().is_empty())
    {
        blocker.mitigation_notes = Some(n);
    }
    let id = blocker.id_or_unnamed().to_string();
    for t in &answer.verification_tasks {
        let mut t = t.clone();
        // Task ids become file names: the engine assigns them.
        t.task_id = format!("discovery_{id}_{}", blocker.verification_tasks.len() + 1);
        blocker.verification_tasks.push(t);
    }
    if !answer.escalation_conditions.is_empty() {
        blocker
            .escalation_conditions
            .get_or_insert_with(Vec::new)
            .extend(answer.escalation_conditions.iter().cloned());
    }
    Some(PeerReviewFinding {
        kind: "disposition_revised".into(),
        ids: vec![id],
        detail: format!(
            "{reviewer}: {} → {}: {}",
            before.map_or("none", |d| d.as_str()),
            blocker.disposition.map_or("none", |d| d.as_str()),
            answer.rationale
        ),
    })
}

/// The rationale of a blocker's final disposition.
pub fn disposition_rationale(b: &Blocker) -> String {
    let clause = b
        .clause_ref
        .as_deref()
        .map(|c| format!(" (clause {c})"))
        .unwrap_or_default();
    match b.disposition {
        Some(Disposition::EscalateNow) => {
            format!("Escalated: intent ambiguity requires Conclave clarification{clause}")
        }
        Some(Disposition::DeferDownstream) => format!(
            "Deferred: {} is discovery work, not a planning halt; {} verification task(s){clause}",
            b.blocker_class
                .map_or("the uncertainty", |c| c.as_str())
                .to_lowercase()
                .replace('_', " "),
            b.verification_tasks.len()
        ),
        Some(Disposition::MitigateInExecutive) => format!(
            "Mitigated in Executive: {}",
            snippet(
                b.mitigation_notes
                    .as_deref()
                    .unwrap_or("(no mitigation notes)"),
                20
            )
        ),
        None => "Not dispositioned: the Legibility gate fails until it is".into(),
    }
}

/// `blocker_packet.json`: every blocker as raised in E2 (and by E1 for
/// unclaimed clauses), with the clause it is about and the peer who works it
/// up in E2.5 — the workup's input, written before any disposition is revised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockerPacket {
    pub schema_version: String,
    pub cycle_id: String,
    pub motion_id: String,
    pub plan_owner_portfolio_id: String,
    pub entries: Vec<BlockerPacketEntry>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockerPacketEntry {
    pub blocker: Blocker,
    pub raised_by: String,
    /// The E2.5 reviewer (never the raiser), when one can be drawn.
    pub reviewer: Option<String>,
    pub clause_text: Option<String>,
}

pub fn blocker_packet<'a>(
    assignment: &AssignmentRecord,
    clauses: &[Clause],
    blockers: impl Iterator<Item = &'a Blocker>,
    created_at: &str,
) -> BlockerPacket {
    let owner = &assignment.plan_owner.portfolio_id;
    BlockerPacket {
        schema_version: v2(),
        cycle_id: assignment.cycle_id.clone(),
        motion_id: assignment.motion_id.clone(),
        plan_owner_portfolio_id: owner.clone(),
        entries: blockers
            .map(|b| {
                let raised_by = b
                    .owner_portfolio_id
                    .clone()
                    .unwrap_or_else(|| owner.clone());
                BlockerPacketEntry {
                    reviewer: assignment.reviewer_for(&raised_by).map(str::to_string),
                    raised_by,
                    clause_text: b
                        .clause_ref
                        .as_deref()
                        .and_then(|r| clauses.iter().find(|c| c.clause_ref == r))
                        .map(|c| c.text.clone()),
                    blocker: b.clone(),
                }
            })
            .collect(),
        created_at: created_at.into(),
    }
}

pub struct SummaryInput<'a> {
    pub cycle_id: &'a str,
    pub motion_id: &'a str,
    pub owner: &'a str,
    pub clauses: &'a [Clause],
    pub responses: &'a [PortfolioResponse],
    /// Blockers the engine raised (unclaimed clauses).
    pub engine_blockers: &'a [Blocker],
    pub revisions: Vec<PeerReviewFinding>,
    pub blocker_reviews: Vec<BlockerReview>,
    /// Rationales that replace the default (clarification review outcomes).
    pub rationale_overrides: BTreeMap<String, String>,
    pub created_at: &'a str,
}

/// The Plan Owner's peer review summary.
pub fn peer_review_summary(input: SummaryInput<'_>) -> PeerReviewSummary {
    let blockers: Vec<&Blocker> = contributions(input.responses)
        .flat_map(|c| &c.blockers)
        .chain(input.engine_blockers)
        .collect();
    let packages: Vec<&WorkPackage> = contributions(input.responses)
        .flat_map(|c| &c.work_packages)
        .collect();
    let mut duplicates = Vec::new();
    for (i, a) in blockers.iter().enumerate() {
        for b in blockers.iter().skip(i + 1) {
            let same_class = a.blocker_class == b.blocker_class;
            let other_owner = a.owner_portfolio_id != b.owner_portfolio_id;
            let same_clause = a.clause_ref.is_some() && a.clause_ref == b.clause_ref;
            let alike = similarity(
                a.description.as_deref().unwrap_or(""),
                b.description.as_deref().unwrap_or(""),
            ) >= 0.6;
            if same_class && other_owner && (same_clause || alike) {
                duplicates.push(PeerReviewFinding {
                    kind: "blocker".into(),
                    ids: vec![a.id_or_unnamed().into(), b.id_or_unnamed().into()],
                    detail: format!(
                        "Both raise {} on {}: the Plan Owner tracks them together",
                        a.blocker_class
                            .map_or("an unclassified blocker", |c| c.as_str()),
                        a.clause_ref.as_deref().unwrap_or("similar grounds")
                    ),
                });
            }
        }
    }
    let mut by_clause: BTreeMap<&str, Vec<&WorkPackage>> = BTreeMap::new();
    for p in &packages {
        for c in &p.mapped_clauses {
            by_clause.entry(c.as_str()).or_default().push(p);
        }
    }
    for (clause, ps) in &by_clause {
        let portfolios: BTreeSet<&str> = ps.iter().map(|p| p.portfolio_id.as_str()).collect();
        if portfolios.len() > 1 {
            duplicates.push(PeerReviewFinding {
                kind: "work_package_overlap".into(),
                ids: ps.iter().map(|p| p.package_id.clone()).collect(),
                detail: format!(
                    "Clause {clause} is served by {}: integrated under one epic",
                    portfolios.into_iter().collect::<Vec<_>>().join(", ")
                ),
            });
        }
    }
    let mut conflicts = Vec::new();
    for e in blockers
        .iter()
        .filter(|b| b.disposition == Some(Disposition::EscalateNow))
    {
        let Some(clause) = e.clause_ref.as_deref() else {
            continue;
        };
        let acting: Vec<String> = blockers
            .iter()
            .filter(|b| {
                b.clause_ref.as_deref() == Some(clause)
                    && b.disposition != Some(Disposition::EscalateNow)
            })
            .map(|b| b.id_or_unnamed().to_string())
            .collect();
        if !acting.is_empty() {
            conflicts.push(PeerReviewFinding {
                kind: "escalated_clause_acted_on".into(),
                ids: std::iter::once(e.id_or_unnamed().to_string()).chain(acting).collect(),
                detail: format!("Clause {clause} is escalated to the Conclave while other blockers act on it: work on it waits for the clarification"),
            });
        }
    }
    let ids: BTreeSet<&str> = packages.iter().map(|p| p.package_id.as_str()).collect();
    for p in &packages {
        for d in p.dependencies.iter().filter(|d| !ids.contains(d.as_str())) {
            conflicts.push(PeerReviewFinding {
                kind: "unknown_dependency".into(),
                ids: vec![p.package_id.clone(), d.clone()],
                detail: format!(
                    "{} depends on {d}, which no portfolio contributed",
                    p.package_id
                ),
            });
        }
    }
    let covered: BTreeSet<&str> = input
        .clauses
        .iter()
        .filter(|c| by_clause.contains_key(c.clause_ref.as_str()))
        .map(|c| c.section.as_str())
        .collect();
    let mut gaps = Vec::new();
    let mut seen = BTreeSet::new();
    for c in input.clauses {
        if !covered.contains(c.section.as_str()) && seen.insert(c.section.as_str()) {
            gaps.push(format!(
                "No portfolio claimed Section {} ({})",
                c.section, c.section_title
            ));
        }
    }
    let mut rationale: BTreeMap<String, String> = blockers
        .iter()
        .map(|b| (b.id_or_unnamed().to_string(), disposition_rationale(b)))
        .collect();
    rationale.extend(input.rationale_overrides);
    PeerReviewSummary {
        schema_version: v2(),
        cycle_id: input.cycle_id.into(),
        motion_id: input.motion_id.into(),
        plan_owner_portfolio_id: input.owner.into(),
        duplicates_detected: duplicates,
        conflicts_detected: conflicts,
        coverage_gaps: gaps,
        blocker_disposition_rationale: rationale,
        revisions: input.revisions,
        blocker_reviews: input.blocker_reviews,
        created_at: input.created_at.into(),
    }
}

pub fn contributions(
    responses: &[PortfolioResponse],
) -> impl Iterator<Item = &crate::model::PortfolioContribution> {
    responses.iter().filter_map(|r| match r {
        PortfolioResponse::Contribution(c) => Some(c),
        PortfolioResponse::Attestation(_) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_compiles() {
        archon_core::agent_port::check_template(
            BlockerReviewQuestion::KIND,
            BlockerReviewQuestion::TEMPLATE,
        )
        .expect("template compiles");
    }
}
