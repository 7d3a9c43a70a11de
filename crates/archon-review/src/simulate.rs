//! The simulated archons: deterministic answers from (seed, archon, motion,
//! persona red lines, rank, own record). Every choice is a roll of the seed on
//! labels naming it, so answers do not depend on order or concurrency.
//!
//! Tendencies (weights in [`crate::review::stance_weights`] and below): red
//! lines a motion touches push a reviewer to oppose and a panelist to fail it;
//! a short motion draws fewer amendments than a long one; panel supporters
//! of a strongly opposed motion, and critics untouched by its red lines,
//! lean to amending it.

use archon_core::agent_port::SimContext;
use archon_core::roster::{Archon, Rank};
use rayon::prelude::*;

use crate::panel::{
    PanelRole, PanelStatement, PanelStatementQuestion, PanelVote, PanelVoteAnswer,
    PanelVoteQuestion,
};
use crate::ratify::{commitment, BallotItem, BallotQuestion, Commitment, Reveal, ReviewPath, Vote};
use crate::review::{stance_weights, ReviewAnswer, ReviewQuestion, ReviewStance};

/// Index of the weight a roll in [0, 1) falls into.
fn weighted(weights: &[f64], roll: f64) -> usize {
    let total: f64 = weights.iter().sum();
    let mut acc = 0.0;
    for (i, w) in weights.iter().enumerate() {
        acc += w / total;
        if roll < acc {
            return i;
        }
    }
    weights.len().saturating_sub(1)
}

/// Two decimals, as a person would state a confidence.
fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The archon's field, in words: its first portfolio/domain term, else its role.
fn field_of(a: &Archon) -> String {
    let first = [
        &a.portfolio_scope,
        &a.execution_domains,
        &a.advisory_domains,
    ]
    .into_iter()
    .flatten()
    .find_map(|v| v.first());
    match first {
        Some(t) => t.replace('_', " "),
        None => a
            .role
            .split_once(" - ")
            .map_or(a.role.as_str(), |(_, r)| r)
            .to_lowercase(),
    }
}

fn spaced(red_line: &str) -> String {
    red_line.replace('_', " ")
}

pub fn review(q: &ReviewQuestion<'_>, ctx: &SimContext<'_>) -> ReviewAnswer {
    let (a, s, m) = (ctx.archon, ctx.seed, q.mega_motion_id);
    let stance = match weighted(&stance_weights(q, a.rank), s.unit(&["review", &a.id, m])) {
        0 => ReviewStance::Endorse,
        1 => ReviewStance::Oppose,
        2 => ReviewStance::Amend,
        _ => ReviewStance::Abstain,
    };
    let section = 1 + s.below(q.sections, &["review-section", &a.id, m]);
    let field = field_of(a);
    let base = 0.45 + 0.5 * s.unit(&["review-confidence", &a.id, m]);
    let confidence = round2((base + 0.1 * q.touched_red_lines.len() as f64).min(1.0));
    let mut answer = ReviewAnswer {
        stance,
        opposition_reason: None,
        amendment_type: None,
        amendment_text: None,
        amendment_rationale: None,
        confidence,
        additional_notes: None,
    };
    match stance {
        ReviewStance::Endorse => {
            answer.additional_notes = Some(format!(
                "Endorsed. Section {section} gives {field} a firm footing, and the motion's provisions sit within my mandate as {}.",
                a.role
            ));
        }
        ReviewStance::Abstain => {
            answer.additional_notes = Some(format!(
                "Abstaining: the motion lies outside {field}, and I defer to archons closer to its subject."
            ));
        }
        ReviewStance::Oppose => {
            // A few reviewers answer tersely; the validation rules reject that.
            let reason = if s.unit(&["review-terse", &a.id, m]) < 0.04 {
                "Not convinced; vote it down.".to_string()
            } else if let Some(r) = q.touched_red_lines.first() {
                format!(
                    "I oppose this motion: Section {section} crosses my red line, {}. As {} I cannot carry a mandate that leaves {field} exposed without bounded authority, verification, and a path to reverse it.",
                    spaced(r), a.role
                )
            } else {
                let concerns = [
                    "commits resources without a feasibility assessment or a named owner",
                    "states aims without success measures, so nobody could tell whether it worked",
                    "delegates authority in open terms that no later vote could recall",
                ];
                format!(
                    "I oppose this motion as written: Section {section} {}. From the standpoint of {field}, that is a cost the Conclave should not accept.",
                    s.pick(&concerns, &["review-concern", &a.id, m])
                )
            };
            answer.opposition_reason = Some(reason);
        }
        ReviewStance::Amend => {
            let kind = match a.rank {
                Rank::Duke | Rank::Earl => "add_clause",
                Rank::President => *s.pick(
                    &["major_revision", "add_clause"],
                    &["review-kind", &a.id, m],
                ),
                Rank::King => "minor_wording",
                _ => *s.pick(
                    &["minor_wording", "add_clause", "remove_clause"],
                    &["review-kind", &a.id, m],
                ),
            };
            let text = match kind {
                "add_clause" => format!(
                    "Add to Section {section}: \"Every mandate under this section names an accountable owner, a measurable success criterion for {field}, and a rollback path before it takes effect.\""
                ),
                "major_revision" => format!(
                    "Rewrite Section {section} as a phased mandate: a pilot scoped to {field}, an evaluation against published criteria, then adoption by a further vote of the Conclave."
                ),
                "remove_clause" => format!(
                    "Strike the open-ended delegation in Section {section}; authority this motion does not bound stays with the Conclave."
                ),
                _ => format!(
                    "In Section {section}, replace \"shall ensure\" with \"shall demonstrate, with evidence entered in the audit record,\"."
                ),
            };
            answer.amendment_type = Some(kind.to_string());
            answer.amendment_text = Some(text);
            answer.amendment_rationale = Some(format!(
                "As {}, I support the intent, but Section {section} as written leaves {field} unverifiable; the change keeps the motion's purpose while making it checkable.",
                a.role
            ));
        }
    }
    answer
}

pub fn panel_statement(q: &PanelStatementQuestion<'_>, ctx: &SimContext<'_>) -> PanelStatement {
    let (a, field) = (ctx.archon, field_of(ctx.archon));
    let statement = match q.role {
        PanelRole::Supporter => format!(
            "{} speaks for the motion: it answers a need the Conclave has named repeatedly, and its provisions on {field} are concrete enough to carry out. Review support stands at {:.0}%.",
            a.name, q.endorsement_ratio * 100.0
        ),
        PanelRole::Critic => match q.touched_red_lines.first() {
            Some(r) => format!(
                "{} speaks against the motion as written: it crosses the red line of {}, and {:.0}% of engaged reviewers oppose it. Without bounds and a way back, I cannot accept it.",
                a.name, spaced(r), q.opposition_ratio * 100.0
            ),
            None => format!(
                "{} speaks against the motion as written: its obligations on {field} are open-ended, and the opposition in review ({:.0}%) has not been answered.",
                a.name, q.opposition_ratio * 100.0
            ),
        },
        PanelRole::Neutral => format!(
            "{} summarises from {field}: supporters value the motion's aims, critics its open-ended scope. A synthesis exists: bound the mandate, name owners, and add a review point.",
            a.name
        ),
    };
    let points = [
        "Which provision would the critics accept if it carried a sunset and a review?",
        "Can the mandate name an accountable owner for each section?",
        "What evidence would show, within one cycle, that the motion works?",
    ];
    let discussion_point = ctx
        .seed
        .pick(&points, &["panel-point", &a.id, q.mega_motion_id])
        .to_string();
    PanelStatement {
        statement,
        discussion_point,
    }
}

pub fn panel_vote(q: &PanelVoteQuestion<'_>, ctx: &SimContext<'_>) -> PanelVoteAnswer {
    let a = ctx.archon;
    // Weights [pass, fail, amend, defer]. A supporter facing strong opposition
    // (above 27%) accepts amendment as the price of passage. A critic whose own red lines
    // the motion leaves alone objects to the wording more than the aim: it
    // leans to amendment; one whose red line it crosses leans to failing it.
    let mut w = match q.role {
        PanelRole::Supporter if q.opposition_ratio > 0.27 => [0.45, 0.02, 0.48, 0.05],
        PanelRole::Supporter => [0.70, 0.02, 0.23, 0.05],
        PanelRole::Critic if q.touched_red_lines.is_empty() => [0.05, 0.25, 0.60, 0.10],
        PanelRole::Critic => [0.05, 0.50, 0.35, 0.10],
        PanelRole::Neutral if q.opposition_ratio > 0.4 => [0.10, 0.35, 0.35, 0.20],
        PanelRole::Neutral => [0.40, 0.10, 0.35, 0.15],
    };
    if !q.touched_red_lines.is_empty() {
        w[1] += 0.3;
    }
    let vote = match weighted(&w, ctx.seed.unit(&["panel-vote", &a.id, q.mega_motion_id])) {
        0 => PanelVote::Pass,
        1 => PanelVote::Fail,
        2 => PanelVote::Amend,
        _ => PanelVote::Defer,
    };
    let field = field_of(a);
    let rationale = match vote {
        PanelVote::Pass => format!("The deliberation answered the objections that matter for {field}; the motion should go to the full Conclave."),
        PanelVote::Fail => format!("The objections on {field} were not answered; the motion should not go forward."),
        PanelVote::Amend => format!("The motion can pass once {field} is bounded; I propose a revision."),
        PanelVote::Defer => "The panel lacks the evidence to decide; the motion should return after a resource and risk assessment.".to_string(),
    };
    let proposed_revision = (vote == PanelVote::Amend).then(|| {
        format!("Each mandate touching {field} carries a named owner, a success criterion, and a review by the Conclave after one cycle, with authority lapsing unless renewed.")
    });
    PanelVoteAnswer {
        vote,
        rationale,
        proposed_revision,
    }
}

/// The vote an archon intends on a ballot item, and its salt.
fn intended(item: &BallotItem<'_>, ctx: &SimContext<'_>) -> (Vote, String) {
    let a = ctx.archon;
    let roll = ctx.seed.roll(&["ratify", &a.id, item.mega_motion_id]);
    let unit = (roll >> 11) as f64 / (1u64 << 53) as f64;
    let mut yea: f64 = match item.your_record {
        "contributor" | "endorse" => 0.93,
        "amend" => 0.72,
        "oppose" => 0.12,
        "abstain" => 0.50,
        _ => 0.66,
    };
    if item.review_path == ReviewPath::PanelAmend {
        yea += 0.05;
    }
    for _ in &item.touched_red_lines {
        yea *= 0.6;
    }
    let abstain = if matches!(item.your_record, "abstain" | "no_response") {
        0.25
    } else {
        0.07
    };
    let vote = if unit < yea.min(0.97) {
        Vote::Yea
    } else if unit < (yea + abstain).min(0.99) {
        Vote::Abstain
    } else {
        Vote::Nay
    };
    (
        vote,
        format!("{:016x}", roll.rotate_left(29) ^ 0x05ca_1ab1_e0dd_ba11),
    )
}

pub fn commitments(q: &BallotQuestion<'_>, ctx: &SimContext<'_>) -> Vec<Commitment> {
    (0..q.items.len())
        .into_par_iter()
        .filter_map(|k| q.items.item(k))
        .map(|item| {
            let (vote, salt) = intended(&item, ctx);
            Commitment {
                mega_motion_id: item.mega_motion_id.to_string(),
                commitment: commitment(vote, &salt),
            }
        })
        .collect()
}

pub fn reveals(q: &BallotQuestion<'_>, ctx: &SimContext<'_>) -> Vec<Reveal> {
    (0..q.items.len())
        .into_par_iter()
        .filter_map(|k| q.items.item(k))
        .map(|item| {
            let (mut vote, salt) = intended(&item, ctx);
            // Rarely an archon reveals a vote other than the one it committed to.
            if ctx
                .seed
                .unit(&["reveal-change", &ctx.archon.id, item.mega_motion_id])
                < 0.003
            {
                vote = if vote == Vote::Yea {
                    Vote::Nay
                } else {
                    Vote::Yea
                };
            }
            Reveal {
                mega_motion_id: item.mega_motion_id.to_string(),
                vote,
                salt,
            }
        })
        .collect()
}
