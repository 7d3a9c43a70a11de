//! Phase 4, aggregation: the spec's counts and ratios, routing, and amendment
//! synthesis followed by re-aggregation.
//!
//! Counting: implicit endorsements are the contributors *not* asked to review
//! (a contributor asked as a HIGH-risk domain expert speaks for itself, so it
//! is not counted twice); `no_response` is assignments without a valid
//! response; `engaged` = implicit endorsements + valid responses.
//!
//! Synthesis (at ≥ 3 amendments): the revised text is the original text with a
//! new section listing every proposed amendment, attributed; the original text
//! is kept beside it. Re-aggregation counts the amenders as endorsing the
//! revised text, since their amendments are now part of it.

use serde::Serialize;

use crate::review::{ReviewResponse, ReviewStance};
use crate::terms::TermSet;

pub const CONSENSUS_RATIO: f64 = 0.75;
pub const CONTESTED_RATIO: f64 = 0.25;
pub const SYNTHESIS_AMENDMENTS: usize = 3;
/// Quorum: a motion is ratification-ready only when at least this share of
/// its assigned reviewers gave a valid review (a majority of them: fewer
/// would let implicit support alone carry a motion nobody read).
pub const QUORUM_SHARE: f64 = 0.5;

/// Whether `valid` of `assigned` reviewers make a quorum.
pub fn quorum_met(valid: usize, assigned: usize) -> bool {
    valid as f64 >= QUORUM_SHARE * assigned as f64
}

/// The spec's `ReviewAggregation`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewAggregation {
    pub mega_motion_id: String,
    pub mega_motion_title: String,
    pub implicit_endorsements: usize,
    pub explicit_endorsements: usize,
    pub total_endorsements: usize,
    pub oppositions: usize,
    pub amendments_proposed: usize,
    pub abstentions: usize,
    pub no_response: usize,
    pub engaged_count: usize,
    pub endorsement_ratio: f64,
    pub opposition_ratio: f64,
    pub consensus_reached: bool,
    pub contested: bool,
    pub needs_amendment_synthesis: bool,
    pub amendment_texts: Vec<String>,
    pub opposition_reasons: Vec<String>,
    pub aggregated_at: String,
}

/// The counts aggregation starts from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub implicit: usize,
    pub endorse: usize,
    pub oppose: usize,
    pub amend: usize,
    pub abstain: usize,
    pub no_response: usize,
}

impl ReviewAggregation {
    pub fn compute(
        id: &str,
        title: &str,
        tally: Tally,
        amendment_texts: Vec<String>,
        opposition_reasons: Vec<String>,
        at: &str,
    ) -> ReviewAggregation {
        let responses = tally.endorse + tally.oppose + tally.amend + tally.abstain;
        let engaged = tally.implicit + responses;
        let total = tally.implicit + tally.endorse;
        let ratio = |n: usize| {
            if engaged > 0 {
                n as f64 / engaged as f64
            } else {
                0.0
            }
        };
        ReviewAggregation {
            mega_motion_id: id.to_string(),
            mega_motion_title: title.to_string(),
            implicit_endorsements: tally.implicit,
            explicit_endorsements: tally.endorse,
            total_endorsements: total,
            oppositions: tally.oppose,
            amendments_proposed: tally.amend,
            abstentions: tally.abstain,
            no_response: tally.no_response,
            engaged_count: engaged,
            endorsement_ratio: ratio(total),
            opposition_ratio: ratio(tally.oppose),
            consensus_reached: ratio(total) >= CONSENSUS_RATIO,
            contested: ratio(tally.oppose) >= CONTESTED_RATIO,
            needs_amendment_synthesis: tally.amend >= SYNTHESIS_AMENDMENTS,
            amendment_texts,
            opposition_reasons,
            aggregated_at: at.to_string(),
        }
    }

    pub fn route(&self) -> Route {
        if self.contested {
            Route::Panel
        } else if self.consensus_reached {
            Route::Ratification
        } else {
            Route::Deferred
        }
    }
}

/// Where the routing table sends a motion after aggregation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    Ratification,
    Panel,
    Deferred,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncorporatedAmendment {
    pub archon_id: String,
    pub archon_name: String,
    pub amendment_type: String,
    pub amendment_text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AmendmentSynthesis {
    pub incorporated: Vec<IncorporatedAmendment>,
    pub original_text: String,
    pub revised_text: String,
    /// The aggregation before synthesis.
    pub before: ReviewAggregation,
}

/// One entry of `aggregations.json`: the final aggregation, its route, and the synthesis if any.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AggregationRecord {
    #[serde(flatten)]
    pub aggregation: ReviewAggregation,
    pub route: Route,
    pub amendment_synthesis: Option<AmendmentSynthesis>,
    /// Set when the motion went through the extended review round: this
    /// record is then the second aggregation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended_review: Option<ExtendedReview>,
}

/// Why a motion went to extended review and what its first round was.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExtendedReview {
    /// `neither_consensus_nor_contested` or `below_quorum`.
    pub reason: &'static str,
    /// Archons asked again: abstainers, amenders and non-responders.
    pub asked: Vec<String>,
    pub valid_second_round: usize,
    pub first_round: Box<ReviewAggregation>,
    pub first_route: Route,
    pub first_round_synthesis: bool,
}

/// Aggregates one motion's valid responses; synthesises and re-aggregates at ≥ 3 amendments.
pub fn aggregate(
    id: &str,
    title: &str,
    text: &str,
    implicit: usize,
    no_response: usize,
    responses: &[&ReviewResponse],
    at: &str,
) -> AggregationRecord {
    let mut tally = Tally {
        implicit,
        no_response,
        ..Tally::default()
    };
    for r in responses {
        match r.stance {
            ReviewStance::Endorse => tally.endorse += 1,
            ReviewStance::Oppose => tally.oppose += 1,
            ReviewStance::Amend => tally.amend += 1,
            ReviewStance::Abstain => tally.abstain += 1,
        }
    }
    let amendments: Vec<&&ReviewResponse> = responses
        .iter()
        .filter(|r| r.stance == ReviewStance::Amend)
        .collect();
    let amendment_texts: Vec<String> = amendments
        .iter()
        .filter_map(|r| r.amendment_text.clone())
        .collect();
    let opposition_reasons: Vec<String> = responses
        .iter()
        .filter(|r| r.stance == ReviewStance::Oppose)
        .map(|r| r.reasoning.clone())
        .collect();
    let first = ReviewAggregation::compute(
        id,
        title,
        tally,
        amendment_texts,
        opposition_reasons.clone(),
        at,
    );
    if !first.needs_amendment_synthesis {
        return AggregationRecord {
            route: first.route(),
            aggregation: first,
            amendment_synthesis: None,
            extended_review: None,
        };
    }
    let incorporated: Vec<IncorporatedAmendment> = amendments
        .iter()
        .map(|r| IncorporatedAmendment {
            archon_id: r.archon_id.clone(),
            archon_name: r.archon_name.clone(),
            amendment_type: r.amendment_type.clone().unwrap_or_default(),
            amendment_text: r.amendment_text.clone().unwrap_or_default(),
        })
        .collect();
    let revised_text = synthesize(text, &incorporated);
    let after = Tally {
        endorse: tally.endorse + tally.amend,
        amend: 0,
        ..tally
    };
    let aggregation =
        ReviewAggregation::compute(id, title, after, Vec::new(), opposition_reasons, at);
    AggregationRecord {
        route: aggregation.route(),
        aggregation,
        amendment_synthesis: Some(AmendmentSynthesis {
            incorporated,
            original_text: text.to_string(),
            revised_text,
            before: first,
        }),
        extended_review: None,
    }
}

/// The original text followed by a section of the amendments, numbered after
/// the last `SECTION n` of the text. Near-identical amendments (the same
/// concepts, see [`near_identical`]) become one clause naming every proposer.
pub fn synthesize(text: &str, amendments: &[IncorporatedAmendment]) -> String {
    let mut merged: Vec<(&IncorporatedAmendment, Vec<&str>)> = Vec::new();
    for a in amendments {
        match merged
            .iter_mut()
            .find(|(m, _)| near_identical(&m.amendment_text, &a.amendment_text))
        {
            Some((_, by)) => by.push(&a.archon_name),
            None => merged.push((a, vec![&a.archon_name])),
        }
    }
    append_section(
        text,
        "AMENDMENTS INCORPORATED BY REVIEW SYNTHESIS",
        merged.into_iter().map(|(a, by)| {
            format!(
                "[{}, proposed by {}] {}",
                a.amendment_type,
                by.join(", "),
                a.amendment_text
            )
        }),
    )
}

/// Two clauses are near-identical when their concept sets overlap by at
/// least 80% (Jaccard): the same demand in other words or with another
/// quoted field.
pub fn near_identical(a: &str, b: &str) -> bool {
    let (x, y) = (TermSet::of(&[a]), TermSet::of(&[b]));
    let common = x.intersection(&y);
    let union = x.len() + y.len() - common;
    union > 0 && common as f64 >= 0.8 * union as f64
}

/// Appends `SECTION n: heading` with clauses `n.1`, `n.2`, … to a motion text.
pub fn append_section(text: &str, heading: &str, clauses: impl Iterator<Item = String>) -> String {
    let n = last_section_number(text) + 1;
    let mut out = text.trim_end().to_string();
    out.push_str(&format!("\n\nSECTION {n}: {heading}\n"));
    for (k, c) in clauses.enumerate() {
        out.push_str(&format!("{n}.{} {c}\n", k + 1));
    }
    out
}

/// The number of a motion's last section: its `SECTION`/`ARTICLE` headings
/// (numbered in digits or roman numerals, bold or not) or its highest clause
/// number (`3.2` is in section 3), whichever is larger, so an appended section
/// never repeats an existing clause number.
fn last_section_number(text: &str) -> usize {
    let mut headings = 0;
    let mut highest_clause = 0;
    for line in text.lines() {
        let line = line.trim_start().trim_start_matches('*');
        let upper = line.get(..8).unwrap_or(line).to_ascii_uppercase();
        if upper.starts_with("SECTION ") || upper.starts_with("ARTICLE ") {
            headings += 1;
        }
        let digits: String = line.chars().take_while(char::is_ascii_digit).collect();
        let rest = &line[digits.len()..];
        if rest.starts_with('.') && rest[1..].starts_with(|c: char| c.is_ascii_digit()) {
            highest_clause = highest_clause.max(digits.parse().unwrap_or(0));
        }
    }
    headings.max(highest_clause)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_appended_section_follows_articles_and_clause_numbers() {
        let articles = "**ARTICLE I: SCOPE**\n1.1 First.\n**ARTICLE II: DUTIES**\n2.1 Second.";
        let out = append_section(articles, "AMENDMENTS", ["Added.".to_string()].into_iter());
        assert!(
            out.ends_with("SECTION 3: AMENDMENTS\n3.1 Added.\n"),
            "{out}"
        );
        let numbered = "Preamble.\n4.2 A clause of section four.";
        let out = append_section(numbered, "AMENDMENTS", ["Added.".to_string()].into_iter());
        assert!(out.contains("SECTION 5: AMENDMENTS\n5.1 Added."), "{out}");
        let plain = "No structure at all.";
        let out = append_section(plain, "AMENDMENTS", ["Added.".to_string()].into_iter());
        assert!(out.contains("SECTION 1: AMENDMENTS\n1.1 Added."), "{out}");
    }

    fn response(stance: ReviewStance, i: usize) -> ReviewResponse {
        ReviewResponse {
            response_id: format!("r{i}"),
            archon_id: format!("id-{i}"),
            archon_name: format!("Name{i}"),
            mega_motion_id: "m".into(),
            stance,
            amendment_type: (stance == ReviewStance::Amend).then(|| "add_clause".into()),
            amendment_text: (stance == ReviewStance::Amend).then(|| format!("clause {i}")),
            reasoning: format!("reason {i}"),
            confidence: 0.5,
            reviewed_at: "t".into(),
        }
    }

    fn run(
        implicit: usize,
        stances: &[(ReviewStance, usize)],
        no_response: usize,
    ) -> AggregationRecord {
        let rs: Vec<ReviewResponse> = stances
            .iter()
            .flat_map(|(s, n)| std::iter::repeat_n(*s, *n))
            .enumerate()
            .map(|(i, s)| response(s, i))
            .collect();
        let refs: Vec<&ReviewResponse> = rs.iter().collect();
        aggregate(
            "m",
            "T",
            "SECTION 1: A\n1.1 x",
            implicit,
            no_response,
            &refs,
            "t",
        )
    }

    #[test]
    fn formulas_against_engaged() {
        use ReviewStance::*;
        let r = run(30, &[(Endorse, 15), (Oppose, 10), (Abstain, 5)], 12);
        let a = &r.aggregation;
        assert_eq!(
            (a.engaged_count, a.total_endorsements, a.no_response),
            (60, 45, 12)
        );
        assert_eq!(a.endorsement_ratio, 0.75);
        assert!(a.consensus_reached && !a.contested);
        assert_eq!(r.route, Route::Ratification);
        let r = run(30, &[(Endorse, 14), (Oppose, 10), (Abstain, 6)], 0);
        assert!(!r.aggregation.consensus_reached);
        assert_eq!(r.route, Route::Deferred);
        let r = run(10, &[(Endorse, 20), (Oppose, 10)], 0);
        assert_eq!(r.aggregation.opposition_ratio, 0.25);
        assert_eq!(r.route, Route::Panel);
        let r = run(0, &[], 5);
        assert_eq!(r.aggregation.endorsement_ratio, 0.0);
    }

    #[test]
    fn synthesis_at_three_amendments_keeps_the_original() {
        use ReviewStance::*;
        let r = run(30, &[(Endorse, 10), (Amend, 2), (Oppose, 3)], 0);
        assert!(r.amendment_synthesis.is_none());
        let r = run(20, &[(Endorse, 5), (Amend, 5), (Oppose, 5)], 0);
        let s = r.amendment_synthesis.as_ref().unwrap();
        assert_eq!(s.before.amendments_proposed, 5);
        assert!(!s.before.consensus_reached);
        assert_eq!(s.original_text, "SECTION 1: A\n1.1 x");
        assert!(s
            .revised_text
            .starts_with("SECTION 1: A\n1.1 x\n\nSECTION 2: AMENDMENTS"));
        assert!(s
            .revised_text
            .contains("2.5 [add_clause, proposed by Name9] clause 9"));
        assert_eq!(r.aggregation.explicit_endorsements, 10);
        assert!(r.aggregation.consensus_reached);
        assert_eq!(r.route, Route::Ratification);
    }

    #[test]
    fn near_identical_clauses_merge() {
        assert!(near_identical(
            "Add: each obligation names an accountable owner and a success measure.",
            "Add: each obligation names an accountable owner, and a success measure!"
        ));
        assert!(!near_identical(
            "Add: each obligation names an accountable owner.",
            "Strike the open-ended delegation of budget authority."
        ));
    }

    #[test]
    fn quorum_is_half_of_the_assigned_reviewers() {
        assert!(quorum_met(5, 10) && !quorum_met(4, 10) && quorum_met(0, 0));
    }
}
