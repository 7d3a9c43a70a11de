//! Phase 5, deliberation panels for contested motions.
//!
//! Composition (the spec's): 3 supporters (endorsements with the highest
//! confidence), 3 critics (oppositions with the longest reasoning), and 1–3
//! neutral domain experts not on the panel, chosen among archons who abstained
//! or gave no review, whose domains are closest to the motion (the share of
//! their domain terms its text names; ties: affinity, then roster order);
//! when no such archon has expertise, the first advisory archon available sits.
//!
//! Protocol: Tyler's opening, supporter and critic presentations, open
//! discussion and neutral facilitation, asked as [`PanelStatementQuestion`]s,
//! then a [`PanelVoteQuestion`] to every panelist. The recommendation is the
//! option chosen by a simple majority of the cast votes (the spec); a panel
//! without a majority has not decided, so the motion is deferred.

use std::collections::BTreeMap;

use archon_core::agent_port::{Question, SimContext};
use archon_core::roster::Branch;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::facts::{ArchonFacts, Facts};
use crate::review::{ReviewResponse, ReviewStance};

pub const TIME_LIMIT_MINUTES: u32 = 45;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PanelRole {
    Supporter,
    Critic,
    Neutral,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum PanelVote {
    Pass,
    Fail,
    Amend,
    Defer,
}

/// Roster indices of a panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composition {
    pub supporters: Vec<usize>,
    pub critics: Vec<usize>,
    pub neutrals: Vec<usize>,
}

impl Composition {
    pub fn members(&self) -> impl Iterator<Item = (usize, PanelRole)> + '_ {
        let tag = |v: &'_ [usize], r: PanelRole| v.iter().map(move |&i| (i, r)).collect::<Vec<_>>();
        tag(&self.supporters, PanelRole::Supporter)
            .into_iter()
            .chain(tag(&self.critics, PanelRole::Critic))
            .chain(tag(&self.neutrals, PanelRole::Neutral))
    }
}

/// Composes the panel of motion `m` from its valid responses (rule in the module doc).
/// `index_of` maps an archon id to its roster index.
pub fn compose(
    m: usize,
    responses: &[&ReviewResponse],
    facts: &Facts,
    branches: &[Branch],
    index_of: impl Fn(&str) -> Option<usize>,
) -> Composition {
    let mut endorse: Vec<(usize, &ReviewResponse)> = responses
        .iter()
        .filter(|r| r.stance == ReviewStance::Endorse)
        .filter_map(|r| Some((index_of(&r.archon_id)?, *r)))
        .collect();
    endorse.sort_by(|a, b| {
        b.1.confidence
            .total_cmp(&a.1.confidence)
            .then(a.0.cmp(&b.0))
    });
    let mut oppose: Vec<(usize, &ReviewResponse)> = responses
        .iter()
        .filter(|r| r.stance == ReviewStance::Oppose)
        .filter_map(|r| Some((index_of(&r.archon_id)?, *r)))
        .collect();
    oppose.sort_by(|a, b| {
        b.1.reasoning
            .chars()
            .count()
            .cmp(&a.1.reasoning.chars().count())
            .then(a.0.cmp(&b.0))
    });
    let supporters: Vec<usize> = endorse.iter().take(3).map(|x| x.0).collect();
    let critics: Vec<usize> = oppose.iter().take(3).map(|x| x.0).collect();
    let engaged: Vec<usize> = responses
        .iter()
        .filter(|r| r.stance != ReviewStance::Abstain)
        .filter_map(|r| index_of(&r.archon_id))
        .collect();
    let available: Vec<usize> = (0..facts.archons.len())
        .filter(|i| !supporters.contains(i) && !critics.contains(i) && !engaged.contains(i))
        .collect();
    // Closest domains first: the share of the archon's domain terms the
    // motion names, then its affinity, then roster order.
    let mut experts: Vec<(f64, f64, usize)> = available
        .iter()
        .map(|&i| (facts.domain_share(i, m), facts.affinity(i, m), i))
        .filter(|(d, _, _)| *d > 0.0)
        .collect();
    experts.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then(b.1.total_cmp(&a.1))
            .then(a.2.cmp(&b.2))
    });
    let mut neutrals: Vec<usize> = experts.iter().take(3).map(|x| x.2).collect();
    if neutrals.is_empty() {
        let fallback = available
            .iter()
            .find(|&&i| branches.get(i) == Some(&Branch::Advisory))
            .or(available.first());
        neutrals.extend(fallback.copied());
    }
    Composition {
        supporters,
        critics,
        neutrals,
    }
}

/// The recommendation of a panel's votes: the option more than half of the
/// cast votes chose (the spec's simple majority); without one, defer.
pub fn recommend(votes: &[PanelVote]) -> PanelVote {
    let mut counts: BTreeMap<PanelVote, usize> = BTreeMap::new();
    for v in votes {
        *counts.entry(*v).or_default() += 1;
    }
    counts
        .into_iter()
        .find(|(_, n)| 2 * n > votes.len())
        .map_or(PanelVote::Defer, |(v, _)| v)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptEntry {
    pub phase: String,
    pub speaker_id: String,
    pub speaker_name: String,
    pub text: String,
}

#[derive(Debug, Serialize)]
pub struct PanelStatementQuestion<'a> {
    pub panel_id: &'a str,
    pub mega_motion_id: &'a str,
    pub title: &'a str,
    pub text: &'a str,
    pub role: PanelRole,
    pub phase: &'static str,
    pub your_review: Option<&'a str>,
    pub endorsement_ratio: f64,
    pub opposition_ratio: f64,
    pub touched_red_lines: Vec<&'a str>,
    /// The archon's facts (simulation only; not in the prompt).
    #[serde(skip)]
    pub archon_facts: &'a ArchonFacts,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PanelStatement {
    pub statement: String,
    pub discussion_point: String,
}

impl Question for PanelStatementQuestion<'_> {
    type Answer = PanelStatement;
    const KIND: &'static str = "panel_statement";
    const TEMPLATE: &'static str = include_str!("panel_statement.j2");
    fn simulate(&self, ctx: &SimContext<'_>) -> PanelStatement {
        crate::simulate::panel_statement(self, ctx)
    }
}

#[derive(Debug, Serialize)]
pub struct PanelVoteQuestion<'a> {
    pub panel_id: &'a str,
    pub mega_motion_id: &'a str,
    pub title: &'a str,
    pub text: &'a str,
    pub role: PanelRole,
    pub transcript: &'a [TranscriptEntry],
    pub endorsement_ratio: f64,
    pub opposition_ratio: f64,
    pub touched_red_lines: Vec<&'a str>,
    /// The archon's affinity to the motion (simulation only; not in the prompt).
    #[serde(skip)]
    pub affinity: f64,
    /// The archon's facts (simulation only; not in the prompt).
    #[serde(skip)]
    pub archon_facts: &'a ArchonFacts,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PanelVoteAnswer {
    pub vote: PanelVote,
    pub rationale: String,
    #[serde(default)]
    pub proposed_revision: Option<String>,
}

impl Question for PanelVoteQuestion<'_> {
    type Answer = PanelVoteAnswer;
    const KIND: &'static str = "panel_vote";
    const TEMPLATE: &'static str = include_str!("panel_vote.j2");
    fn simulate(&self, ctx: &SimContext<'_>) -> PanelVoteAnswer {
        crate::simulate::panel_vote(self, ctx)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PanelistVote {
    pub archon_id: String,
    pub role: PanelRole,
    /// None when the panelist gave no valid vote (recorded in `absent_reason`).
    pub vote: Option<PanelVote>,
    pub rationale: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub absent_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DissentingOpinion {
    pub archon_id: String,
    pub opinion_text: String,
}

/// `panel_deliberations/panel-<id>.json`: the spec's `DeliberationPanel` and `PanelDecision`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliberationPanel {
    pub schema_version: &'static str,
    pub panel_id: String,
    pub mega_motion_id: String,
    pub mega_motion_title: String,
    pub supporters: Vec<String>,
    pub critics: Vec<String>,
    pub neutrals: Vec<String>,
    pub time_limit_minutes: u32,
    pub scheduled_at: String,
    pub transcript: Vec<TranscriptEntry>,
    pub votes: Vec<PanelistVote>,
    pub pass_votes: usize,
    pub fail_votes: usize,
    pub amend_votes: usize,
    pub defer_votes: usize,
    pub panel_recommendation: PanelVote,
    pub revised_motion_text: Option<String>,
    pub revision_rationale: Option<String>,
    pub dissenting_opinions: Vec<DissentingOpinion>,
    pub concluded_at: String,
    pub deliberation_duration_minutes: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{motion, roster_with};
    use PanelVote::*;

    #[test]
    fn recommendation_is_the_simple_majority_else_defer() {
        assert_eq!(recommend(&[Pass, Pass, Pass, Fail, Amend]), Pass);
        assert_eq!(
            recommend(&[Amend, Amend, Amend, Amend, Fail, Fail, Pass]),
            Amend
        );
        // A plurality is not a majority.
        assert_eq!(recommend(&[Pass, Pass, Fail, Amend]), Defer);
        assert_eq!(recommend(&[Fail, Fail, Pass, Pass]), Defer);
        assert_eq!(recommend(&[]), Defer);
    }

    fn response(
        i: usize,
        stance: ReviewStance,
        confidence: f64,
        reasoning: &str,
    ) -> ReviewResponse {
        ReviewResponse {
            response_id: format!("r{i}"),
            archon_id: format!("id-{i}"),
            archon_name: format!("Name{i}"),
            mega_motion_id: "m".into(),
            stance,
            amendment_type: None,
            amendment_text: None,
            reasoning: reasoning.into(),
            confidence,
            reviewed_at: "t".into(),
        }
    }

    #[test]
    fn composition_takes_strongest_supporters_and_most_substantive_critics() {
        let r = roster_with(|_| String::new());
        let mut m = motion("m", "Domain50 and Domain51", 0..1);
        m.title = "Domain52".into();
        let facts = Facts::derive(&r, &[m]);
        let rs = [
            response(1, ReviewStance::Endorse, 0.5, ""),
            response(2, ReviewStance::Endorse, 0.9, ""),
            response(3, ReviewStance::Endorse, 0.7, ""),
            response(4, ReviewStance::Endorse, 0.9, ""),
            response(5, ReviewStance::Oppose, 0.9, &"x".repeat(60)),
            response(6, ReviewStance::Oppose, 0.9, &"x".repeat(90)),
            response(7, ReviewStance::Oppose, 0.9, &"x".repeat(70)),
            response(8, ReviewStance::Oppose, 0.9, &"x".repeat(55)),
            response(50, ReviewStance::Endorse, 0.1, ""),
            response(51, ReviewStance::Abstain, 0.1, ""),
        ];
        let refs: Vec<&ReviewResponse> = rs.iter().collect();
        let branches: Vec<Branch> = r.archons.iter().map(|a| a.branch).collect();
        let c = compose(0, &refs, &facts, &branches, |id| {
            r.archons.iter().position(|a| a.id == id)
        });
        assert_eq!(c.supporters, [2, 4, 3]);
        assert_eq!(c.critics, [6, 7, 5]);
        // 50 endorsed (not neutral); 51 abstained and 52 did not review: both experts.
        assert_eq!(c.neutrals, [51, 52]);
        let members: Vec<_> = c.members().collect();
        assert_eq!(members.len(), 8);
        // Without experts, one advisory archon sits.
        let c = compose(
            0,
            &refs[..1],
            &Facts::derive(&r, &[motion("m", "none", 0..1)]),
            &branches,
            |_| None,
        );
        assert_eq!(c.neutrals.len(), 1);
    }

    #[test]
    fn templates_compile() {
        archon_core::agent_port::check_template("s", PanelStatementQuestion::TEMPLATE).unwrap();
        archon_core::agent_port::check_template("v", PanelVoteQuestion::TEMPLATE).unwrap();
    }
}
