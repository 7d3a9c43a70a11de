//! The whole pipeline as one pure function: a loaded session, the roster and
//! injected agents, clock and seed in; every artifact and event out.

use std::collections::{BTreeMap, HashMap};

use archon_core::agent_port::{Agents, Ask, CallRecord};
use archon_core::clock::Clock;
use archon_core::input::InputErrors;
use archon_core::roster::{Archon, Branch, Rank, Roster, ARCHON_COUNT};
use archon_core::seed::Seed;
use archon_core::SCHEMA_VERSION;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::aggregate::{
    aggregate, append_section, quorum_met, AggregationRecord, ExtendedReview, Route,
    CONSENSUS_RATIO, CONTESTED_RATIO, QUORUM_SHARE,
};
use crate::events::{Event, Trail};
use crate::facts::Facts;
use crate::packets::{assignments, build_packets, Assignment, MotionDigest, ReviewPacket};
use crate::panel::{
    self, DeliberationPanel, DissentingOpinion, PanelStatementQuestion, PanelVote,
    PanelVoteQuestion, PanelistVote, TranscriptEntry,
};
use crate::ratify::{
    self, BallotItems, BallotQuestion, QueuedMotion, RatificationVote, RejectedReveal, ReviewPath,
    SaltSource, VoteOutcome,
};
use crate::responses::ResponseSet;
use crate::review::{
    validate, ExtendedPacket, ReviewAnswer, ReviewOutcome, ReviewQuestion, ReviewResponse,
    ReviewStance, ReviewSubmission,
};
use crate::session::{Session, SourceFile};
use crate::triage::{triage, ImplicitSupport, RiskTier};

#[derive(Debug, Clone, Serialize)]
pub struct TriageSummary {
    pub total_motions: usize,
    pub low_risk: usize,
    pub medium_risk: usize,
    pub high_risk: usize,
    pub novel_proposals_flagged: usize,
}

/// `triage_results.json`.
#[derive(Debug, Clone, Serialize)]
pub struct TriageResults {
    pub schema_version: &'static str,
    pub session_id: String,
    pub triaged_at: String,
    pub summary: TriageSummary,
    pub warnings: Vec<String>,
    pub motions: Vec<ImplicitSupport>,
}

/// Phase 1 alone (`--triage-only`), and the start of every run.
pub fn triage_session(
    session: &Session,
    roster: &Roster,
    facts: &Facts,
    now: &str,
) -> TriageResults {
    let motions = triage(roster, &session.motions, facts, now);
    let count = |t: RiskTier| motions.iter().filter(|m| m.risk_tier == t).count();
    TriageResults {
        schema_version: SCHEMA_VERSION,
        session_id: session.session_id.clone(),
        triaged_at: now.to_string(),
        summary: TriageSummary {
            total_motions: motions.len(),
            low_risk: count(RiskTier::Low),
            medium_risk: count(RiskTier::Medium),
            high_risk: count(RiskTier::High),
            novel_proposals_flagged: session.novel_proposals_input,
        },
        warnings: session.warnings.iter().map(|w| w.to_string()).collect(),
        motions,
    }
}

/// `review_responses/archon-<id>.json`.
#[derive(Debug, Clone, Serialize)]
pub struct ResponseFile {
    pub schema_version: &'static str,
    pub session_id: String,
    pub archon_id: String,
    pub archon_name: String,
    pub submissions: Vec<ReviewSubmission>,
    pub responses: Vec<ReviewResponse>,
    pub invalid_submissions: Vec<InvalidSubmission>,
    pub no_response: Vec<NoResponse>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InvalidSubmission {
    pub mega_motion_id: String,
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NoResponse {
    pub mega_motion_id: String,
    pub reason: String,
}

/// The vote of an outcome record: `RatificationVote` without `votes_by_archon`.
#[derive(Debug, Clone, Serialize)]
pub struct VoteSummary {
    pub vote_id: String,
    pub mega_motion_id: String,
    pub mega_motion_title: String,
    pub yeas: usize,
    pub nays: usize,
    pub abstentions: usize,
    pub threshold_type: &'static str,
    pub threshold_required: usize,
    pub threshold_met: bool,
    pub outcome: VoteOutcome,
    pub ratified_at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Provenance {
    pub session_id: String,
    pub source_files: Vec<SourceFile>,
    pub aggregation_ref: Option<String>,
    pub panel_id: Option<String>,
    pub ratification_vote_id: Option<String>,
}

/// One motion of `ratified_motions.json`, `rejected_motions.json` or `deferred_motions.json`.
#[derive(Debug, Clone, Serialize)]
pub struct MotionOutcome {
    pub mega_motion_id: String,
    pub title: String,
    pub theme: String,
    pub final_text: String,
    pub original_text: String,
    pub revised_text: Option<String>,
    /// `amendment_synthesis` or `panel`.
    pub revision_source: Option<&'static str>,
    pub is_constitutional_amendment: bool,
    pub is_novel_proposal: bool,
    pub source_motion_ids: Vec<String>,
    pub supporting_archons: Vec<String>,
    pub risk_tier: RiskTier,
    pub review_path: Option<ReviewPath>,
    /// `aggregation`, `panel` or `ratification`.
    pub decided_at: &'static str,
    pub vote: Option<VoteSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub provenance: Provenance,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutcomeFile {
    pub schema_version: &'static str,
    pub session_id: String,
    pub generated_at: String,
    pub motions: Vec<MotionOutcome>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RatificationSummary {
    pub total_motions: usize,
    pub ratified: usize,
    pub rejected: usize,
    pub deferred: usize,
}

/// `ratification_results.json`.
#[derive(Debug, Clone, Serialize)]
pub struct RatificationResults<'a> {
    pub schema_version: &'static str,
    pub session_id: String,
    pub ratification_completed_at: String,
    /// `seed` (simulation) or `os_random`: where the commitment salts came from.
    pub salt_source: &'static str,
    pub summary: RatificationSummary,
    pub votes: Vec<RatificationVote<'a>>,
}

/// `pipeline_result.json`: the spec's `MotionReviewPipelineResult` counts; the
/// lists live in their own files.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineResult {
    pub schema_version: &'static str,
    pub session_id: String,
    pub session_name: String,
    pub started_at: String,
    pub completed_at: String,
    pub mode: &'static str,
    pub seed: u64,
    pub mega_motions_input: usize,
    pub novel_proposals_input: usize,
    pub low_risk_count: usize,
    pub medium_risk_count: usize,
    pub high_risk_count: usize,
    pub total_assignments: usize,
    pub average_assignments_per_archon: f64,
    pub review_responses: usize,
    pub invalid_submissions: usize,
    pub no_responses: usize,
    pub response_rate: f64,
    pub amendment_syntheses: usize,
    /// Motions that went through the extended review round.
    pub extended_reviews: usize,
    /// Archons asked in it (one per motion asked about), and their valid answers.
    pub extended_review_asked: usize,
    pub extended_review_responses: usize,
    pub panels_convened: usize,
    pub ratification_votes: usize,
    pub motions_ratified: usize,
    pub motions_rejected: usize,
    pub motions_deferred: usize,
    pub agent_calls: usize,
}

/// Everything a run produces, ready to be written.
pub struct ReviewRun<'a> {
    pub triage: TriageResults,
    pub reviews: Reviews<'a>,
    /// The extended review round (`extended_review_responses/`).
    pub extended: Reviews<'a>,
    pub aggregations: Vec<AggregationRecord>,
    pub panels: Vec<DeliberationPanel>,
    pub ratification: RatificationResults<'a>,
    pub ratified: OutcomeFile,
    pub rejected: OutcomeFile,
    pub deferred: OutcomeFile,
    pub result: PipelineResult,
    pub events: Vec<Event>,
    pub calls: Vec<CallRecord>,
    facts: &'a Facts,
    digests: &'a [MotionDigest],
}

impl ReviewRun<'_> {
    /// `review_packets/archon-<id>.json` of every archon, in roster order,
    /// each made when it is taken.
    pub fn packets(&self) -> impl Iterator<Item = ReviewPacket<'_>> {
        let (session, roster) = (self.reviews.session, self.reviews.roster);
        build_packets(
            &session.session_id,
            roster,
            &session.motions,
            self.digests,
            &self.triage.motions,
            self.facts,
            &self.reviews.assigned,
            &self.triage.triaged_at,
        )
    }
}

/// What the run needs besides the session and roster.
pub struct Env<'a> {
    pub agents: &'a Agents,
    pub clock: Clock,
    pub seed: Seed,
    /// Where ratification salts come from.
    pub salts: SaltSource<'a>,
}

/// Per-motion state after aggregation and panels.
struct Decision {
    path: Option<ReviewPath>,
    text: String,
    revised: Option<(String, &'static str)>,
    aggregation_ref: Option<String>,
    panel_id: Option<String>,
    settled: Option<(VoteOutcome, &'static str, String)>,
}

/// Runs every phase. Fails only on bad `--responses` input (before anything is written).
pub fn run<'a>(
    session: &'a Session,
    roster: &'a Roster,
    facts: &'a Facts,
    digests: &'a [MotionDigest],
    responses: Option<&ResponseSet>,
    env: &Env<'_>,
) -> Result<ReviewRun<'a>, InputErrors> {
    let now = env.clock.stamp();
    let seed = env.seed;
    let sid = session.session_id.as_str();
    let mut trail = Trail::new(seed, sid, &now);
    trail.push(
        "pipeline_started",
        vec![],
        json!({
            "mega_motions_input": session.mega_motions_input,
            "novel_proposals_input": session.novel_proposals_input,
            "motions": session.motions.len(), "mode": env.agents.mode(), "seed": seed.0,
        }),
    );

    // Phase 1.
    let triage = triage_session(session, roster, facts, &now);
    trail.push(
        "triage_completed",
        vec![],
        json!({ "summary": triage.summary, "warnings": triage.warnings }),
    );

    // Phase 2.
    let assigned = assignments(&triage.motions, facts);
    trail.push(
        "packets_generated",
        vec![],
        json!({
            "packets": roster.archons.len(), "total_assignments": assigned.len(),
            "archons_with_assignments": assigned.chunk_by(|a, b| a.archon == b.archon).count(),
        }),
    );

    // Phase 3.
    let outcomes = match responses {
        Some(set) => set.outcomes(session, roster, &assigned, seed, &now)?,
        None => ask_reviews(
            session,
            roster,
            facts,
            &triage.motions,
            &assigned,
            env,
            &now,
        ),
    };
    let mut calls = env.agents.take_calls();
    let reviews = Reviews {
        session,
        roster,
        assigned,
        outcomes,
    };
    reviews.push_submitted("review_submitted", &mut trail);
    let (assigned, outcomes) = (&reviews.assigned, &reviews.outcomes);
    let valid = outcomes
        .iter()
        .filter(|o| matches!(o, ReviewOutcome::Valid { .. }))
        .count();
    let invalid = outcomes
        .iter()
        .filter(|o| matches!(o, ReviewOutcome::Invalid { .. }))
        .count();
    let response_rate = if assigned.is_empty() {
        1.0
    } else {
        valid as f64 / assigned.len() as f64
    };
    trail.push(
        "review_window_closed",
        vec![],
        json!({
            "assignments": assigned.len(), "valid": valid, "invalid": invalid,
            "no_response": assigned.len() - valid, "response_rate": response_rate,
            "source": if responses.is_some() { "responses_dir" } else { "agents" },
        }),
    );

    // Phase 4.
    let mut assigned_count = vec![0usize; session.motions.len()];
    let mut assigned_contributors = vec![0usize; session.motions.len()];
    let mut records = vec![Record::NotAssigned; session.motions.len() * ARCHON_COUNT];
    for (a, o) in assigned.iter().zip(outcomes) {
        assigned_count[a.motion] += 1;
        if facts.motions[a.motion]
            .supporters
            .binary_search(&a.archon)
            .is_ok()
        {
            assigned_contributors[a.motion] += 1;
        }
        if let Some(r) = records.get_mut(a.motion * ARCHON_COUNT + a.archon) {
            *r = match o {
                ReviewOutcome::Valid { response } => Record::Stance(response.stance),
                _ => Record::NoResponse,
            };
        }
    }
    for (mi, mf) in facts.motions.iter().enumerate() {
        for &ai in &mf.supporters {
            if let Some(r) = records.get_mut(mi * ARCHON_COUNT + ai) {
                if *r == Record::NotAssigned {
                    *r = Record::Contributor;
                }
            }
        }
    }
    let by_motion = valid_by_motion(session.motions.len(), assigned, outcomes, None);
    let mut decisions: Vec<Decision> = session
        .motions
        .iter()
        .map(|m| Decision {
            path: None,
            text: m.text.clone(),
            revised: None,
            aggregation_ref: None,
            panel_id: None,
            settled: None,
        })
        .collect();
    let aggregate_motion = |mi: usize, responses: &[&ReviewResponse]| {
        let (m, t) = (&session.motions[mi], &triage.motions[mi]);
        aggregate(
            &m.id,
            &m.title,
            &m.text,
            t.contributing_archons.len() - assigned_contributors[mi],
            assigned_count[mi] - responses.len(),
            responses,
            &now,
        )
    };
    // First round; LOW motions go straight to ratification.
    let mut first: Vec<Option<AggregationRecord>> = (0..session.motions.len())
        .map(|mi| {
            (triage.motions[mi].risk_tier != RiskTier::Low)
                .then(|| aggregate_motion(mi, &by_motion[mi]))
        })
        .collect();
    let extended_reason = |mi: usize, rec: &AggregationRecord| match rec.route {
        Route::Panel => None,
        Route::Deferred => Some("neither_consensus_nor_contested"),
        Route::Ratification => {
            (!quorum_met(by_motion[mi].len(), assigned_count[mi])).then_some("below_quorum")
        }
    };
    let extended_motions: Vec<(usize, &'static str)> = first
        .iter()
        .enumerate()
        .filter_map(|(mi, r)| Some((mi, extended_reason(mi, r.as_ref()?)?)))
        .collect();
    trail.push("aggregation_completed", vec![], json!({
        "aggregated": first.iter().flatten().count(),
        "consensus": first.iter().flatten().filter(|a| a.route == Route::Ratification).count(),
        "contested": first.iter().flatten().filter(|a| a.route == Route::Panel).count(),
        "extended_review": extended_motions.len(),
        "amendment_syntheses": first.iter().flatten().filter(|a| a.amendment_synthesis.is_some()).count(),
    }));

    // Extended review: one more round for motions without a decision.
    let extended = ask_extended(
        session,
        roster,
        facts,
        &triage.motions,
        &reviews,
        &extended_motions,
        &first,
        env,
        &now,
    );
    calls.extend(env.agents.take_calls());
    if !extended_motions.is_empty() {
        trail.push(
            "extended_review_started",
            vec![],
            json!({
                "motions": extended_motions.iter().map(|(mi, why)| json!({
                    "mega_motion_id": session.motions[*mi].id, "reason": why,
                })).collect::<Vec<_>>(),
                "asked": extended.assigned.len(),
            }),
        );
    }
    extended.push_submitted("extended_review_submitted", &mut trail);
    for (a, o) in extended.assigned.iter().zip(&extended.outcomes) {
        if let (ReviewOutcome::Valid { response }, Some(r)) =
            (o, records.get_mut(a.motion * ARCHON_COUNT + a.archon))
        {
            *r = Record::Stance(response.stance);
        }
    }
    let by_motion = valid_by_motion(
        session.motions.len(),
        assigned,
        outcomes,
        Some((&extended.assigned, &extended.outcomes)),
    );
    let mut changed = Vec::new();
    for &(mi, why) in &extended_motions {
        let Some(before) = first[mi].take() else {
            continue;
        };
        let mut rec = aggregate_motion(mi, &by_motion[mi]);
        let asked: Vec<String> = extended
            .assigned
            .iter()
            .filter(|a| a.motion == mi)
            .map(|a| roster.archons[a.archon].id.clone())
            .collect();
        let valid_second_round = extended
            .assigned
            .iter()
            .zip(&extended.outcomes)
            .filter(|(a, o)| a.motion == mi && matches!(o, ReviewOutcome::Valid { .. }))
            .count();
        changed.push(json!({
            "mega_motion_id": session.motions[mi].id, "reason": why,
            "first_route": before.route, "route": rec.route,
            "endorsement_ratio": [before.aggregation.endorsement_ratio, rec.aggregation.endorsement_ratio],
            "opposition_ratio": [before.aggregation.opposition_ratio, rec.aggregation.opposition_ratio],
        }));
        rec.extended_review = Some(ExtendedReview {
            reason: why,
            asked,
            valid_second_round,
            first_round_synthesis: before.amendment_synthesis.is_some(),
            first_route: before.route,
            first_round: Box::new(before.aggregation),
        });
        first[mi] = Some(rec);
    }
    if !extended_motions.is_empty() {
        trail.push(
            "extended_review_completed",
            vec![],
            json!({
                "motions": changed,
            }),
        );
    }
    let mut aggregations = Vec::new();
    let mut panel_motions = Vec::new();
    for (mi, rec) in first.into_iter().enumerate() {
        let m = &session.motions[mi];
        let d = &mut decisions[mi];
        let Some(rec) = rec else {
            d.path = Some(ReviewPath::FastTrack);
            continue;
        };
        d.aggregation_ref = Some(format!("aggregations.json#{}", m.id));
        if let Some(s) = &rec.amendment_synthesis {
            d.text = s.revised_text.clone();
            d.revised = Some((s.revised_text.clone(), "amendment_synthesis"));
        }
        let quorum = quorum_met(by_motion[mi].len(), assigned_count[mi]);
        let a = &rec.aggregation;
        let after = if rec.extended_review.is_some() {
            " after extended review"
        } else {
            ""
        };
        match rec.route {
            Route::Ratification if quorum => d.path = Some(ReviewPath::Consensus),
            Route::Ratification => {
                d.settled = Some((VoteOutcome::Deferred, "aggregation", format!(
                    "Quorum not met{after}: {} of {} assigned reviewers gave a valid review (at least {:.0}% needed)",
                    by_motion[mi].len(), assigned_count[mi], QUORUM_SHARE * 100.0
                )));
            }
            Route::Panel => panel_motions.push(mi),
            Route::Deferred => {
                d.settled = Some((VoteOutcome::Deferred, "aggregation", format!(
                    "Neither consensus (endorsement ratio {:.2} < {CONSENSUS_RATIO}) nor contested (opposition ratio {:.2} < {CONTESTED_RATIO}){after}",
                    a.endorsement_ratio, a.opposition_ratio
                )));
            }
        }
        aggregations.push(rec);
    }

    // Phase 5.
    let panels = run_panels(
        session,
        roster,
        facts,
        &panel_motions,
        &by_motion,
        &aggregations,
        &mut decisions,
        env,
        &now,
        &mut trail,
    );
    calls.extend(env.agents.take_calls());

    // Phase 6.
    let mut queue: Vec<usize> = (0..session.motions.len())
        .filter(|&i| decisions[i].path.is_some() && decisions[i].settled.is_none())
        .collect();
    queue.sort_by_key(|&i| (decisions[i].path, i));
    let votes = ratify_queue(
        session, roster, facts, &queue, &decisions, &records, env, &now, &mut trail,
    );
    calls.extend(env.agents.take_calls());
    for (v, &mi) in votes.iter().zip(&queue) {
        if v.outcome != VoteOutcome::Ratified {
            let reason = match v.outcome {
                VoteOutcome::Deferred => format!(
                    "Procedural deferral: {} abstentions outnumber {} yeas and {} nays together",
                    v.abstentions, v.yeas, v.nays
                ),
                _ => format!(
                    "Failed to reach the {} ({} yeas of {} required; {} nays, {} abstentions)",
                    v.threshold_type.replace('_', " "),
                    v.yeas,
                    v.threshold_required,
                    v.nays,
                    v.abstentions
                ),
            };
            decisions[mi].settled = Some((v.outcome, "ratification", reason));
        }
    }
    let vote_of: HashMap<usize, &RatificationVote> = queue.iter().copied().zip(&votes).collect();
    let mut files: BTreeMap<u8, Vec<MotionOutcome>> = BTreeMap::new();
    for (mi, ((m, t), d)) in session
        .motions
        .iter()
        .zip(&triage.motions)
        .zip(&decisions)
        .enumerate()
    {
        let vote = vote_of.get(&mi);
        let (outcome, phase, reason) = match &d.settled {
            Some((o, p, r)) => (*o, *p, Some(r.clone())),
            None => (VoteOutcome::Ratified, "ratification", None),
        };
        let key = match outcome {
            VoteOutcome::Ratified => 0,
            VoteOutcome::Rejected => 1,
            VoteOutcome::Deferred => 2,
        };
        files.entry(key).or_default().push(MotionOutcome {
            mega_motion_id: m.id.clone(),
            title: m.title.clone(),
            theme: m.theme.clone(),
            final_text: d.text.clone(),
            original_text: m.text.clone(),
            revised_text: d.revised.as_ref().map(|r| r.0.clone()),
            revision_source: d.revised.as_ref().map(|r| r.1),
            is_constitutional_amendment: m.is_constitutional_amendment,
            is_novel_proposal: m.is_novel_proposal,
            source_motion_ids: m.source_motion_ids.clone(),
            supporting_archons: t.contributing_archons.clone(),
            risk_tier: t.risk_tier,
            review_path: d.path,
            decided_at: phase,
            vote: vote.map(|v| summary(v)),
            reason,
            provenance: Provenance {
                session_id: sid.to_string(),
                source_files: session.source_files.clone(),
                aggregation_ref: d.aggregation_ref.clone(),
                panel_id: d.panel_id.clone(),
                ratification_vote_id: vote.map(|v| v.vote_id.clone()),
            },
        });
    }
    let mut take = |k: u8| OutcomeFile {
        schema_version: SCHEMA_VERSION,
        session_id: sid.to_string(),
        generated_at: now.clone(),
        motions: files.remove(&k).unwrap_or_default(),
    };
    let (ratified, rejected, deferred) = (take(0), take(1), take(2));
    let ratification = RatificationResults {
        schema_version: SCHEMA_VERSION,
        session_id: sid.to_string(),
        ratification_completed_at: now.clone(),
        salt_source: env.salts.name(),
        summary: RatificationSummary {
            total_motions: session.motions.len(),
            ratified: ratified.motions.len(),
            rejected: rejected.motions.len(),
            deferred: deferred.motions.len(),
        },
        votes,
    };
    trail.push(
        "ratification_completed",
        vec![],
        json!(ratification.summary),
    );
    let result = PipelineResult {
        schema_version: SCHEMA_VERSION,
        session_id: sid.to_string(),
        session_name: sid.to_string(),
        started_at: now.clone(),
        completed_at: now.clone(),
        mode: env.agents.mode(),
        seed: seed.0,
        mega_motions_input: session.mega_motions_input,
        novel_proposals_input: session.novel_proposals_input,
        low_risk_count: triage.summary.low_risk,
        medium_risk_count: triage.summary.medium_risk,
        high_risk_count: triage.summary.high_risk,
        total_assignments: assigned.len(),
        average_assignments_per_archon: assigned.len() as f64 / roster.archons.len().max(1) as f64,
        review_responses: valid,
        invalid_submissions: invalid,
        no_responses: assigned.len() - valid,
        response_rate,
        amendment_syntheses: aggregations
            .iter()
            .filter(|a| a.amendment_synthesis.is_some())
            .count(),
        extended_reviews: extended_motions.len(),
        extended_review_asked: extended.assigned.len(),
        extended_review_responses: extended
            .outcomes
            .iter()
            .filter(|o| matches!(o, ReviewOutcome::Valid { .. }))
            .count(),
        panels_convened: panels.len(),
        ratification_votes: ratification.votes.len(),
        motions_ratified: ratification.summary.ratified,
        motions_rejected: ratification.summary.rejected,
        motions_deferred: ratification.summary.deferred,
        agent_calls: calls.len(),
    };
    trail.push("pipeline_completed", vec![], json!({
        "ratified": result.motions_ratified, "rejected": result.motions_rejected,
        "deferred": result.motions_deferred, "panels": result.panels_convened, "agent_calls": calls.len(),
    }));
    Ok(ReviewRun {
        triage,
        reviews,
        extended,
        aggregations,
        panels,
        ratification,
        ratified,
        rejected,
        deferred,
        result,
        events: trail.events,
        calls,
        facts,
        digests,
    })
}

/// An archon's own record on a motion, shown on its ballot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Record {
    NotAssigned,
    Contributor,
    NoResponse,
    Stance(ReviewStance),
}

impl Record {
    fn as_str(self) -> &'static str {
        match self {
            Record::NotAssigned => "not_assigned",
            Record::Contributor => "contributor",
            Record::NoResponse => "no_response",
            Record::Stance(ReviewStance::Endorse) => "endorse",
            Record::Stance(ReviewStance::Oppose) => "oppose",
            Record::Stance(ReviewStance::Amend) => "amend",
            Record::Stance(ReviewStance::Abstain) => "abstain",
        }
    }
}

fn summary(v: &RatificationVote<'_>) -> VoteSummary {
    VoteSummary {
        vote_id: v.vote_id.clone(),
        mega_motion_id: v.mega_motion_id.clone(),
        mega_motion_title: v.mega_motion_title.clone(),
        yeas: v.yeas,
        nays: v.nays,
        abstentions: v.abstentions,
        threshold_type: v.threshold_type,
        threshold_required: v.threshold_required,
        threshold_met: v.threshold_met,
        outcome: v.outcome,
        ratified_at: v.ratified_at.clone(),
    }
}

/// Turns an answer into an outcome with the spec's validation rules.
pub(crate) fn judge(
    submission: ReviewSubmission,
    archon: &Archon,
    seed: Seed,
    now: &str,
) -> ReviewOutcome {
    judge_as(submission, archon, seed, "review-response", now)
}

/// [`judge`], with the response id drawn on `id_label` (one per round).
fn judge_as(
    submission: ReviewSubmission,
    archon: &Archon,
    seed: Seed,
    id_label: &str,
    now: &str,
) -> ReviewOutcome {
    let errors = validate(&submission.answer);
    if errors.is_empty() {
        let id = seed
            .uuid(&[id_label, &archon.id, &submission.mega_motion_id])
            .to_string();
        ReviewOutcome::Valid {
            response: ReviewResponse::from_answer(
                id,
                archon,
                submission.mega_motion_id,
                submission.answer,
                now,
            ),
        }
    } else {
        ReviewOutcome::Invalid { submission, errors }
    }
}

/// Valid responses per motion: the first round's, each replaced by the
/// archon's valid second-round response when there is one.
fn valid_by_motion<'r>(
    motions: usize,
    assigned: &[Assignment],
    outcomes: &'r [ReviewOutcome],
    second: Option<(&[Assignment], &'r [ReviewOutcome])>,
) -> Vec<Vec<&'r ReviewResponse>> {
    let mut by: Vec<BTreeMap<usize, &'r ReviewResponse>> = vec![BTreeMap::new(); motions];
    let rounds = std::iter::once((assigned, outcomes)).chain(second);
    for (assigned, outcomes) in rounds {
        for (a, o) in assigned.iter().zip(outcomes) {
            if let ReviewOutcome::Valid { response } = o {
                by[a.motion].insert(a.archon, response);
            }
        }
    }
    by.into_iter().map(|m| m.into_values().collect()).collect()
}

/// The extended review round: for each motion in `motions`, its abstainers,
/// amenders and non-responders are asked again with the first round's
/// tallies, synthesized amendment and opposition reasons.
#[allow(clippy::too_many_arguments)]
fn ask_extended<'a>(
    session: &'a Session,
    roster: &'a Roster,
    facts: &Facts,
    triage: &[ImplicitSupport],
    first_round: &Reviews<'_>,
    motions: &[(usize, &'static str)],
    records: &[Option<AggregationRecord>],
    env: &Env<'_>,
    now: &str,
) -> Reviews<'a> {
    let chosen: BTreeMap<usize, &AggregationRecord> = motions
        .iter()
        .filter_map(|(mi, _)| Some((*mi, records.get(*mi)?.as_ref()?)))
        .collect();
    let mut again = Vec::new();
    let mut first_stance = Vec::new();
    for (a, o) in first_round.assigned.iter().zip(&first_round.outcomes) {
        if !chosen.contains_key(&a.motion) {
            continue;
        }
        let stance = match o {
            ReviewOutcome::Valid { response } => Some(response.stance),
            _ => None,
        };
        if matches!(
            stance,
            None | Some(ReviewStance::Abstain | ReviewStance::Amend)
        ) {
            again.push(*a);
            first_stance.push(stance);
        }
    }
    let asks: Vec<Ask<'_, ReviewQuestion<'_>>> = again
        .iter()
        .zip(&first_stance)
        .map(|(a, stance)| {
            let rec = chosen[&a.motion];
            // The tallies before synthesis: what the reviewers actually said.
            let tally = rec
                .amendment_synthesis
                .as_ref()
                .map_or(&rec.aggregation, |s| &s.before);
            let mut q = review_question(session, roster, facts, triage, a);
            q.extended = Some(ExtendedPacket {
                endorsements: tally.total_endorsements,
                oppositions: tally.oppositions,
                amendments: tally.amendments_proposed,
                abstentions: tally.abstentions,
                no_response: tally.no_response,
                endorsement_ratio: rec.aggregation.endorsement_ratio,
                opposition_ratio: rec.aggregation.opposition_ratio,
                your_first_stance: *stance,
                synthesized_amendment: rec
                    .amendment_synthesis
                    .as_ref()
                    .map(|s| s.revised_text.as_str()),
                opposition_reasons: &rec.aggregation.opposition_reasons,
            });
            Ask {
                archon: &roster.archons[a.archon],
                question: q,
            }
        })
        .collect();
    let answers = env.agents.ask_all(&asks);
    drop(asks);
    let outcomes = judge_answers(
        session,
        roster,
        &again,
        answers,
        env.seed,
        "extended-review-response",
        now,
    );
    Reviews {
        session,
        roster,
        assigned: again,
        outcomes,
    }
}

/// The first-round question of one assignment.
fn review_question<'q>(
    session: &'q Session,
    roster: &'q Roster,
    facts: &'q Facts,
    triage: &'q [ImplicitSupport],
    a: &Assignment,
) -> ReviewQuestion<'q> {
    let (m, t, archon) = (
        &session.motions[a.motion],
        &triage[a.motion],
        &roster.archons[a.archon],
    );
    ReviewQuestion {
        mega_motion_id: &m.id,
        title: &m.title,
        theme: &m.theme,
        text: &m.text,
        risk_tier: t.risk_tier,
        review_reason: a.reason,
        conflict_flag: t.conflict_reasons.get(&archon.id).map(String::as_str),
        supporting_archons: t.contributing_archons.len(),
        is_novel_proposal: m.is_novel_proposal,
        touched_red_lines: facts.touched(a.archon, a.motion),
        affinity: facts.affinity(a.archon, a.motion),
        extended: None,
        archon_facts: &facts.archons[a.archon],
    }
}

/// Judges the answers of one round, one outcome per assignment.
fn judge_answers(
    session: &Session,
    roster: &Roster,
    assigned: &[Assignment],
    answers: Vec<Result<ReviewAnswer, archon_core::agent_port::AgentFailure>>,
    seed: Seed,
    id_label: &str,
    now: &str,
) -> Vec<ReviewOutcome> {
    assigned
        .par_iter()
        .zip(answers)
        .map(|(a, answer)| {
            let archon = &roster.archons[a.archon];
            match answer {
                Ok(answer) => judge_as(
                    ReviewSubmission {
                        archon_id: archon.id.clone(),
                        mega_motion_id: session.motions[a.motion].id.clone(),
                        answer,
                        submitted_at: Some(now.to_string()),
                    },
                    archon,
                    seed,
                    id_label,
                    now,
                ),
                Err(f) => ReviewOutcome::NoResponse {
                    reason: f.to_string(),
                },
            }
        })
        .collect()
}

fn ask_reviews(
    session: &Session,
    roster: &Roster,
    facts: &Facts,
    triage: &[ImplicitSupport],
    assigned: &[Assignment],
    env: &Env<'_>,
    now: &str,
) -> Vec<ReviewOutcome> {
    let asks: Vec<Ask<'_, ReviewQuestion<'_>>> = assigned
        .par_iter()
        .map(|a| Ask {
            archon: &roster.archons[a.archon],
            question: review_question(session, roster, facts, triage, a),
        })
        .collect();
    let answers = env.agents.ask_all(&asks);
    drop(asks);
    judge_answers(
        session,
        roster,
        assigned,
        answers,
        env.seed,
        "review-response",
        now,
    )
}

/// Phase 3's results, one outcome per assignment. The `review_responses/`
/// files are made from them one archon at a time, as they are written, so
/// no second copy of every review is held.
pub struct Reviews<'a> {
    session: &'a Session,
    roster: &'a Roster,
    /// Ordered by archon (roster order), then motion.
    pub assigned: Vec<Assignment>,
    pub outcomes: Vec<ReviewOutcome>,
}

impl<'a> Reviews<'a> {
    /// Each archon (roster order) with the range of its assignments.
    fn ranges(&self) -> impl Iterator<Item = (&'a Archon, std::ops::Range<usize>)> + '_ {
        self.roster.archons.iter().enumerate().map(|(ai, a)| {
            let start = self.assigned.partition_point(|x| x.archon < ai);
            let end = self.assigned.partition_point(|x| x.archon <= ai);
            (a, start..end)
        })
    }

    /// One `event` per archon with assignments: its valid, invalid and missing answers.
    fn push_submitted(&self, event: &'static str, trail: &mut Trail) {
        for (archon, range) in self.ranges().filter(|(_, r)| !r.is_empty()) {
            let outcomes = &self.outcomes[range];
            let count = |f: fn(&ReviewOutcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
            trail.push(
                event,
                vec![archon.id.clone()],
                json!({
                    "valid": count(|o| matches!(o, ReviewOutcome::Valid { .. })),
                    "invalid": count(|o| matches!(o, ReviewOutcome::Invalid { .. })),
                    "no_response": count(|o| matches!(o, ReviewOutcome::NoResponse { .. })),
                }),
            );
        }
    }

    /// `review_responses/archon-<id>.json` of every archon, in roster order.
    pub fn files(&self) -> impl Iterator<Item = ResponseFile> + '_ {
        self.ranges().map(|(a, range)| self.file(a, range))
    }

    fn file(&self, archon: &Archon, range: std::ops::Range<usize>) -> ResponseFile {
        let mut f = ResponseFile {
            schema_version: SCHEMA_VERSION,
            session_id: self.session.session_id.clone(),
            archon_id: archon.id.clone(),
            archon_name: archon.name.clone(),
            submissions: Vec::new(),
            responses: Vec::new(),
            invalid_submissions: Vec::new(),
            no_response: Vec::new(),
        };
        let mut invalid = Vec::new();
        for (a, o) in self.assigned[range.clone()]
            .iter()
            .zip(&self.outcomes[range])
        {
            let motion_id = self.session.motions[a.motion].id.clone();
            match o {
                ReviewOutcome::Valid { response } => f.responses.push(response.clone()),
                ReviewOutcome::Invalid { submission, errors } => {
                    invalid.push(submission.clone());
                    f.invalid_submissions.push(InvalidSubmission {
                        mega_motion_id: motion_id,
                        errors: errors.clone(),
                    });
                }
                ReviewOutcome::NoResponse { reason } => f.no_response.push(NoResponse {
                    mega_motion_id: motion_id,
                    reason: reason.clone(),
                }),
            }
        }
        // Valid submissions are recorded from their responses, in assignment order.
        f.submissions = f.responses.iter().map(submission_of).collect();
        f.submissions.append(&mut invalid);
        f
    }
}

fn submission_of(r: &ReviewResponse) -> ReviewSubmission {
    use crate::review::ReviewAnswer;
    let (opp, rationale, notes) = match r.stance {
        ReviewStance::Oppose => (Some(r.reasoning.clone()), None, None),
        ReviewStance::Amend => (None, Some(r.reasoning.clone()), None),
        _ => (
            None,
            None,
            Some(r.reasoning.clone()).filter(|s| !s.is_empty()),
        ),
    };
    ReviewSubmission {
        archon_id: r.archon_id.clone(),
        mega_motion_id: r.mega_motion_id.clone(),
        answer: ReviewAnswer {
            stance: r.stance,
            opposition_reason: opp,
            amendment_type: r.amendment_type.clone(),
            amendment_text: r.amendment_text.clone(),
            amendment_rationale: rationale,
            confidence: r.confidence,
            additional_notes: notes,
        },
        submitted_at: Some(r.reviewed_at.clone()),
    }
}

#[allow(clippy::too_many_arguments)]
fn run_panels(
    session: &Session,
    roster: &Roster,
    facts: &Facts,
    panel_motions: &[usize],
    by_motion: &[Vec<&ReviewResponse>],
    aggregations: &[AggregationRecord],
    decisions: &mut [Decision],
    env: &Env<'_>,
    now: &str,
    trail: &mut Trail,
) -> Vec<DeliberationPanel> {
    let branches: Vec<Branch> = roster.archons.iter().map(|a| a.branch).collect();
    let index: HashMap<&str, usize> = roster
        .archons
        .iter()
        .enumerate()
        .map(|(i, a)| (a.id.as_str(), i))
        .collect();
    let agg_of: HashMap<&str, &AggregationRecord> = aggregations
        .iter()
        .map(|a| (a.aggregation.mega_motion_id.as_str(), a))
        .collect();
    let tyler = roster
        .of_rank(Rank::Knight)
        .next()
        .or(roster.archons.first());
    struct Setup {
        mi: usize,
        id: String,
        comp: panel::Composition,
        endorsement: f64,
        opposition: f64,
    }
    let setups: Vec<Setup> = panel_motions
        .iter()
        .map(|&mi| {
            let m = &session.motions[mi];
            let agg = agg_of.get(m.id.as_str()).map(|a| &a.aggregation);
            Setup {
                mi,
                id: env
                    .seed
                    .uuid(&["panel", &session.session_id, &m.id])
                    .to_string(),
                comp: panel::compose(mi, &by_motion[mi], facts, &branches, |id| {
                    index.get(id).copied()
                }),
                endorsement: agg.map_or(0.0, |a| a.endorsement_ratio),
                opposition: agg.map_or(0.0, |a| a.opposition_ratio),
            }
        })
        .collect();
    for s in &setups {
        trail.push("panel_convened", s.comp.members().map(|(i, _)| roster.archons[i].id.clone()).collect(), json!({
            "panel_id": s.id, "mega_motion_id": session.motions[s.mi].id,
            "supporters": s.comp.supporters.len(), "critics": s.comp.critics.len(), "neutrals": s.comp.neutrals.len(),
        }));
    }
    let review_of = |mi: usize, ai: usize| -> Option<&str> {
        by_motion[mi]
            .iter()
            .find(|r| index.get(r.archon_id.as_str()) == Some(&ai))
            .map(|r| r.reasoning.as_str())
    };
    // Round 1: statements of every panelist of every panel, in one fan-out.
    let mut statement_asks = Vec::new();
    let mut statement_of = Vec::new();
    for (si, s) in setups.iter().enumerate() {
        let m = &session.motions[s.mi];
        for (ai, role) in s.comp.members() {
            let phase = match role {
                panel::PanelRole::Supporter => "supporter_presentation",
                panel::PanelRole::Critic => "critic_presentation",
                panel::PanelRole::Neutral => "neutral_facilitation",
            };
            statement_of.push((si, ai, phase));
            statement_asks.push(Ask {
                archon: &roster.archons[ai],
                question: PanelStatementQuestion {
                    panel_id: &s.id,
                    mega_motion_id: &m.id,
                    title: &m.title,
                    text: &decisions[s.mi].text,
                    role,
                    phase,
                    your_review: review_of(s.mi, ai),
                    endorsement_ratio: s.endorsement,
                    opposition_ratio: s.opposition,
                    touched_red_lines: facts.touched(ai, s.mi),
                    archon_facts: &facts.archons[ai],
                },
            });
        }
    }
    let statements = env.agents.ask_all(&statement_asks);
    drop(statement_asks);
    let mut transcripts: Vec<Vec<TranscriptEntry>> = setups
        .iter()
        .map(|s| {
            vec![TranscriptEntry {
                phase: "opening".into(),
                speaker_id: tyler.map(|t| t.id.clone()).unwrap_or_default(),
                speaker_name: "Tyler".into(),
                text: format!(
                    "Panel convened for Motion {}. Supporters, critics, and domain experts present. Time limit: {} minutes.",
                    session.motions[s.mi].id, panel::TIME_LIMIT_MINUTES
                ),
            }]
        })
        .collect();
    let mut discussion: Vec<Vec<TranscriptEntry>> = vec![Vec::new(); setups.len()];
    let mut facilitation: Vec<Vec<TranscriptEntry>> = vec![Vec::new(); setups.len()];
    for ((si, ai, phase), answer) in statement_of.iter().zip(statements) {
        let a = &roster.archons[*ai];
        let entry = |phase: &str, text: String| TranscriptEntry {
            phase: phase.into(),
            speaker_id: a.id.clone(),
            speaker_name: a.name.clone(),
            text,
        };
        match answer {
            Ok(st) => {
                let e = entry(phase, st.statement);
                if *phase == "neutral_facilitation" {
                    facilitation[*si].push(e)
                } else {
                    transcripts[*si].push(e)
                }
                discussion[*si].push(entry("open_discussion", st.discussion_point));
            }
            Err(f) => transcripts[*si].push(entry(phase, format!("(no statement: {})", f.reason))),
        }
    }
    for (si, t) in transcripts.iter_mut().enumerate() {
        t.append(&mut discussion[si]);
        t.append(&mut facilitation[si]);
    }
    // Round 2: every panelist votes, having the transcript.
    let mut vote_asks = Vec::new();
    let mut vote_of = Vec::new();
    for (si, s) in setups.iter().enumerate() {
        let m = &session.motions[s.mi];
        for (ai, role) in s.comp.members() {
            vote_of.push((si, ai, role));
            vote_asks.push(Ask {
                archon: &roster.archons[ai],
                question: PanelVoteQuestion {
                    panel_id: &s.id,
                    mega_motion_id: &m.id,
                    title: &m.title,
                    text: &decisions[s.mi].text,
                    role,
                    transcript: &transcripts[si],
                    endorsement_ratio: s.endorsement,
                    opposition_ratio: s.opposition,
                    touched_red_lines: facts.touched(ai, s.mi),
                    affinity: facts.affinity(ai, s.mi),
                    archon_facts: &facts.archons[ai],
                },
            });
        }
    }
    let answers = env.agents.ask_all(&vote_asks);
    drop(vote_asks);
    let mut votes: Vec<Vec<(PanelistVote, Option<String>)>> = vec![Vec::new(); setups.len()];
    for ((si, ai, role), answer) in vote_of.into_iter().zip(answers) {
        let archon_id = roster.archons[ai].id.clone();
        votes[si].push(match answer {
            Ok(v) => (
                PanelistVote {
                    archon_id,
                    role,
                    vote: Some(v.vote),
                    rationale: v.rationale,
                    absent_reason: None,
                },
                v.proposed_revision,
            ),
            Err(f) => (
                PanelistVote {
                    archon_id,
                    role,
                    vote: None,
                    rationale: String::new(),
                    absent_reason: Some(f.to_string()),
                },
                None,
            ),
        });
    }
    let mut panels = Vec::new();
    for ((s, transcript), votes) in setups.into_iter().zip(transcripts).zip(votes) {
        let m = &session.motions[s.mi];
        let cast: Vec<PanelVote> = votes.iter().filter_map(|(v, _)| v.vote).collect();
        let count = |k: PanelVote| cast.iter().filter(|v| **v == k).count();
        let recommendation = panel::recommend(&cast);
        let d = &mut decisions[s.mi];
        let mut revised_motion_text = None;
        let mut revision_rationale = None;
        match recommendation {
            PanelVote::Pass => d.path = Some(ReviewPath::PanelPass),
            PanelVote::Amend => {
                let mut clauses: Vec<String> = votes
                    .iter()
                    .filter(|(v, _)| v.vote == Some(PanelVote::Amend))
                    .filter_map(|(v, r)| {
                        r.as_ref()
                            .map(|r| format!("[proposed by {}] {r}", v.archon_id))
                    })
                    .collect();
                clauses.dedup();
                let text = append_section(&d.text, "PANEL AMENDMENTS", clauses.into_iter());
                revision_rationale = Some(format!(
                    "Amended by panel {} by {} of {} votes",
                    s.id,
                    count(PanelVote::Amend),
                    cast.len()
                ));
                d.text = text.clone();
                d.revised = Some((text.clone(), "panel"));
                d.path = Some(ReviewPath::PanelAmend);
                revised_motion_text = Some(text);
            }
            PanelVote::Fail => {
                d.settled = Some((
                    VoteOutcome::Rejected,
                    "panel",
                    format!(
                        "Panel {} recommended fail ({} of {} votes)",
                        s.id,
                        count(PanelVote::Fail),
                        cast.len()
                    ),
                ));
            }
            PanelVote::Defer if 2 * count(PanelVote::Defer) > cast.len() => {
                d.settled = Some((VoteOutcome::Deferred, "panel", format!(
                    "Panel {} recommended deferral ({} defer of {} votes) pending further assessment", s.id, count(PanelVote::Defer), cast.len()
                )));
            }
            PanelVote::Defer => {
                d.settled = Some((VoteOutcome::Deferred, "panel", format!(
                    "Panel {} recommended deferral: no option has a majority (pass {}, fail {}, amend {}, defer {} of {} votes)",
                    s.id, count(PanelVote::Pass), count(PanelVote::Fail), count(PanelVote::Amend), count(PanelVote::Defer), cast.len()
                )));
            }
        }
        d.panel_id = Some(s.id.clone());
        let dissenting_opinions = votes
            .iter()
            .filter(|(v, _)| v.vote.is_some_and(|x| x != recommendation))
            .map(|(v, _)| DissentingOpinion {
                archon_id: v.archon_id.clone(),
                opinion_text: v.rationale.clone(),
            })
            .collect();
        let id_of = |v: &[usize]| {
            v.iter()
                .map(|&i| roster.archons[i].id.clone())
                .collect::<Vec<_>>()
        };
        let p = DeliberationPanel {
            schema_version: SCHEMA_VERSION,
            panel_id: s.id.clone(),
            mega_motion_id: m.id.clone(),
            mega_motion_title: m.title.clone(),
            supporters: id_of(&s.comp.supporters),
            critics: id_of(&s.comp.critics),
            neutrals: id_of(&s.comp.neutrals),
            time_limit_minutes: panel::TIME_LIMIT_MINUTES,
            scheduled_at: now.to_string(),
            transcript,
            pass_votes: count(PanelVote::Pass),
            fail_votes: count(PanelVote::Fail),
            amend_votes: count(PanelVote::Amend),
            defer_votes: count(PanelVote::Defer),
            votes: votes.into_iter().map(|(v, _)| v).collect(),
            panel_recommendation: recommendation,
            revised_motion_text,
            revision_rationale,
            dissenting_opinions,
            concluded_at: now.to_string(),
            deliberation_duration_minutes: panel::TIME_LIMIT_MINUTES,
        };
        trail.push("panel_concluded", p.votes.iter().map(|v| v.archon_id.clone()).collect(), json!({
            "panel_id": p.panel_id, "mega_motion_id": p.mega_motion_id, "recommendation": p.panel_recommendation,
            "pass": p.pass_votes, "fail": p.fail_votes, "amend": p.amend_votes, "defer": p.defer_votes,
        }));
        panels.push(p);
    }
    panels
}

#[allow(clippy::too_many_arguments)]
fn ratify_queue<'a>(
    session: &'a Session,
    roster: &'a Roster,
    facts: &Facts,
    queue: &[usize],
    decisions: &[Decision],
    records: &[Record],
    env: &Env<'_>,
    now: &str,
    trail: &mut Trail,
) -> Vec<RatificationVote<'a>> {
    let ballot_ids: Vec<String> = roster
        .archons
        .iter()
        .map(|a| {
            env.seed
                .uuid(&["ballot", &session.session_id, &a.id])
                .to_string()
        })
        .collect();
    let queued: Vec<QueuedMotion<'_>> = queue
        .iter()
        .map(|&mi| {
            let m = &session.motions[mi];
            QueuedMotion {
                motion: mi,
                mega_motion_id: &m.id,
                title: &m.title,
                theme: &m.theme,
                text: &decisions[mi].text,
                review_path: decisions[mi].path.unwrap_or(ReviewPath::Consensus),
                revised: decisions[mi].revised.is_some(),
                threshold_required: if m.is_constitutional_amendment {
                    ratify::SUPERMAJORITY
                } else {
                    ratify::SIMPLE_MAJORITY
                },
            }
        })
        .collect();
    let record = |ai: usize, mi: usize| {
        records
            .get(mi * ARCHON_COUNT + ai)
            .map_or("not_assigned", |r| r.as_str())
    };
    let asks: Vec<Ask<'_, BallotQuestion<'_>>> = roster
        .archons
        .iter()
        .enumerate()
        .map(|(ai, a)| Ask {
            archon: a,
            question: BallotQuestion {
                ballot_id: &ballot_ids[ai],
                items: BallotItems {
                    archon: ai,
                    queue: &queued,
                    record: &record,
                    facts,
                },
            },
        })
        .collect();
    let answers: Vec<Vec<ratify::BallotChoice>> = env
        .agents
        .ask_all(&asks)
        .into_iter()
        .map(|r| r.map(|b| b.votes).unwrap_or_default())
        .collect();
    drop(asks);
    // Each archon's vote by queue position: the n-th vote is on the n-th
    // motion; votes past the last motion are ignored, a motion without one
    // is missing.
    let chosen: Vec<Vec<Option<ratify::Vote>>> = answers
        .iter()
        .map(|votes| {
            let mut at: Vec<Option<ratify::Vote>> = votes
                .iter()
                .take(queue.len())
                .map(|v| Some(v.vote))
                .collect();
            at.resize(queue.len(), None);
            at
        })
        .collect();
    // Commit: the engine salts and seals every vote before any is revealed.
    // A missing vote is sealed as an abstention and listed as rejected.
    let mut sealed: Vec<Vec<ratify::SealedVote>> = Vec::with_capacity(queue.len());
    for (k, &mi) in queue.iter().enumerate() {
        let m = &session.motions[mi];
        sealed.push(
            roster
                .archons
                .iter()
                .enumerate()
                .map(|(ai, a)| {
                    let vote = chosen[ai][k].unwrap_or(ratify::Vote::Abstain);
                    let salt = env.salts.draw(env.seed, &a.id, &m.id);
                    ratify::SealedVote {
                        commitment: ratify::commitment(vote, &salt, &a.id, &m.id),
                        archon_id: a.id.clone(),
                        vote,
                        salt,
                    }
                })
                .collect(),
        );
    }
    for (ai, a) in roster.archons.iter().enumerate() {
        trail.push(
            "ratification_committed",
            vec![a.id.clone()],
            json!({
                "ballot_id": ballot_ids[ai],
                "commitments": queue.iter().enumerate().map(|(k, &mi)| json!({
                    "mega_motion_id": session.motions[mi].id, "commitment": sealed[k][ai].commitment,
                })).collect::<Vec<_>>(),
            }),
        );
    }
    // Reveal and count: each revealed vote is checked against its commitment.
    let votes: Vec<RatificationVote<'a>> = queue
        .par_iter()
        .zip(sealed)
        .enumerate()
        .map(|(k, (&mi, ballots))| {
            let m = &session.motions[mi];
            let mut by_archon = BTreeMap::new();
            let mut rejected = Vec::new();
            let (mut yeas, mut nays, mut abstentions) = (0, 0, 0);
            for (ai, (a, b)) in roster.archons.iter().zip(&ballots).enumerate() {
                let intact = ratify::commitment(b.vote, &b.salt, &a.id, &m.id) == b.commitment;
                let vote = if chosen[ai][k].is_some() && intact {
                    b.vote
                } else {
                    rejected.push(RejectedReveal {
                        archon_id: a.id.clone(),
                        reason: "no_vote".to_string(),
                        detail: None,
                    });
                    ratify::Vote::Abstain
                };
                match vote {
                    ratify::Vote::Yea => yeas += 1,
                    ratify::Vote::Nay => nays += 1,
                    ratify::Vote::Abstain => abstentions += 1,
                }
                by_archon.insert(a.id.as_str(), vote.as_str());
            }
            let (threshold_type, threshold_required, threshold_met, outcome) =
                ratify::decide(yeas, nays, abstentions, m.is_constitutional_amendment);
            RatificationVote {
                vote_id: env
                    .seed
                    .uuid(&["vote", &session.session_id, &m.id])
                    .to_string(),
                mega_motion_id: m.id.clone(),
                mega_motion_title: m.title.clone(),
                yeas,
                nays,
                abstentions,
                threshold_type,
                threshold_required,
                threshold_met,
                votes_by_archon: by_archon,
                ballots,
                rejected_reveals: rejected,
                outcome,
                ratified_at: (outcome == VoteOutcome::Ratified).then(|| now.to_string()),
            }
        })
        .collect();
    for (ai, a) in roster.archons.iter().enumerate() {
        let rejected = votes
            .iter()
            .flat_map(|v| &v.rejected_reveals)
            .filter(|r| r.archon_id == a.id)
            .count();
        trail.push(
            "ratification_vote_cast",
            vec![a.id.clone()],
            json!({
                "ballot_id": ballot_ids[ai], "motions": queue.len(),
                "voted": chosen[ai].iter().flatten().count(), "rejected": rejected,
            }),
        );
    }
    votes
}
