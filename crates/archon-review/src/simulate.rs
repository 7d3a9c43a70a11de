//! The simulated archons: a deterministic model of deliberation
//! (documented with its parameters in `docs/simulation.md`).
//!
//! Each archon has a *disposition* towards a motion: the motion's latent
//! persuasiveness (one standard-normal draw per motion from the seed, shared
//! by every archon), plus the archon's affinity to it (how much more the
//! motion speaks to its domains, portfolio and values than its other motions,
//! see [`crate::facts::MotionFacts::affinity`]), minus a weight per red line
//! the motion touches, plus the archon's rank tendency, plus its own view
//! (one normal draw per archon and motion). Every answer — review stance,
//! second-round stance, panel vote, ratification vote — is a threshold on
//! that disposition shifted by what the archon has seen by then (tallies,
//! amendments, its own record). Every draw is a roll of the seed on labels
//! naming it, so answers do not depend on order or concurrency.

use archon_core::agent_port::SimContext;
use archon_core::roster::{Archon, Rank};
use archon_core::seed::Seed;

use crate::facts::ArchonFacts;
use crate::packets::ReviewReason;
use crate::panel::{
    PanelRole, PanelStatement, PanelStatementQuestion, PanelVote, PanelVoteAnswer,
    PanelVoteQuestion,
};
use crate::ratify::{BallotAnswer, BallotChoice, BallotQuestion, ReviewPath, Vote};
use crate::review::{ReviewAnswer, ReviewQuestion, ReviewStance};
use crate::terms::concepts;

/// Weight of one standard deviation of affinity.
pub const AFFINITY_WEIGHT: f64 = 0.35;
/// Affinity beyond ±2.5 standard deviations counts as 2.5.
const AFFINITY_CAP: f64 = 2.5;
/// Pull of each red line the motion touches.
pub const RED_LINE_WEIGHT: f64 = 0.9;
/// Spread of an archon's own view around the motion's persuasiveness.
pub const OWN_VIEW_SD: f64 = 0.8;
/// A novel proposal has no consolidated support behind it.
const NOVEL_SHIFT: f64 = -0.3;
/// An archon asked because of a potential conflict starts from its record.
const CONFLICT_SHIFT: f64 = -0.4;
/// Review thresholds: above `ENDORSE_ABOVE` endorse, below `OPPOSE_BELOW`
/// oppose, between them amend or abstain.
pub const ENDORSE_ABOVE: f64 = -0.2;
pub const OPPOSE_BELOW: f64 = -1.2;

/// A standard normal draw (Box–Muller on two rolls of the labels).
fn normal(seed: Seed, labels: &[&str]) -> f64 {
    let mut l: Vec<&str> = labels.to_vec();
    l.push("u1");
    let u1 = seed.unit(&l).max(1e-12);
    *l.last_mut().unwrap_or(&mut "") = "u2";
    let u2 = seed.unit(&l);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// How persuasive a motion is, the same for every archon and round.
pub fn persuasiveness(seed: Seed, motion_id: &str) -> f64 {
    normal(seed, &["persuasiveness", motion_id])
}

fn rank_shift(rank: Rank) -> f64 {
    // Kings carry the chamber's agenda; Princes test it.
    match rank {
        Rank::King => 0.15,
        Rank::Prince => -0.1,
        _ => 0.0,
    }
}

/// Ranks that answer a half-convinced review with an amendment rather than
/// an abstention: the ones that draft and carry out mandates.
fn drafts(rank: Rank) -> bool {
    matches!(rank, Rank::President | Rank::Duke | Rank::Earl | Rank::King)
}

/// The archon's disposition towards a motion (module doc).
pub fn disposition(
    seed: Seed,
    archon: &Archon,
    motion_id: &str,
    affinity: f64,
    touched: usize,
) -> f64 {
    persuasiveness(seed, motion_id) + AFFINITY_WEIGHT * affinity.clamp(-AFFINITY_CAP, AFFINITY_CAP)
        - RED_LINE_WEIGHT * touched as f64
        + rank_shift(archon.rank)
        + OWN_VIEW_SD * normal(seed, &["own-view", &archon.id, motion_id])
}

/// Words of the archon's field that the motion names, else its role's subject.
fn field_in(a: &Archon, facts: &ArchonFacts, text: &str) -> String {
    // The text's stems once, not once per domain term (379,645 calls of the
    // 10k-motion bench spent a third of their time re-stemming motions here).
    let stems = crate::terms::TermSet::of(&[text]);
    let named: Vec<&str> = facts
        .domain_terms
        .iter()
        .map(String::as_str)
        .filter(|t| stems.has_stem(&crate::terms::stem(t)))
        .take(2)
        .collect();
    if named.is_empty() {
        a.role
            .split_once(" - ")
            .map_or(a.role.as_str(), |(_, r)| r)
            .to_lowercase()
    } else {
        named.join(" and ")
    }
}

/// A phrase of the motion that speaks to the archon, and its section (when
/// the motion has sections): bold spans first, else clauses of 4–16 words;
/// the one naming most of the archon's interests, ties to the first.
fn quoted(interest: &[String], text: &str) -> (String, Option<usize>) {
    let mut spans: Vec<(usize, &str)> = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("**") {
        let after = &rest[i + 2..];
        let Some(j) = after.find("**") else { break };
        let span = after[..j].trim();
        let n = span.split_whitespace().count();
        // Upper-case spans are headings (`ARTICLE 1: …`), not provisions.
        let heading = !span.chars().any(|c| c.is_lowercase());
        if (2..=12).contains(&n) && !heading {
            spans.push((text.len() - rest.len() + i, span));
        }
        rest = &after[j + 2..];
    }
    if spans.is_empty() {
        // Clauses of the body: headings and clause numbers are not quoted.
        let mut at = 0;
        for line in text.split_inclusive('\n') {
            let body = line
                .trim()
                .trim_start_matches(|c: char| c.is_ascii_digit() || ".-*) ".contains(c));
            let offset = at + line.len() - line.trim_start().len();
            if !body.starts_with("SECTION") && !body.starts_with("**SECTION") {
                for clause in body.split("; ").flat_map(|c| c.split(". ")) {
                    let c = clause.trim().trim_end_matches(['.', ';', ':']).trim();
                    if (3..=16).contains(&c.split_whitespace().count()) {
                        spans.push((offset, c));
                    }
                }
            }
            at += line.len();
        }
    }
    let score = |s: &str| {
        concepts(s)
            .filter(|c| interest.iter().any(|i| c.starts_with(i.as_str())))
            .count()
    };
    let best = spans
        .iter()
        .enumerate()
        .max_by_key(|(k, (_, s))| (score(s), std::cmp::Reverse(*k)))
        .map(|(_, x)| *x);
    match best {
        Some((at, s)) => {
            let section = text[..at].matches("SECTION ").count();
            (s.to_string(), (section > 0).then_some(section))
        }
        None => {
            let words: Vec<&str> = text.split_whitespace().take(8).collect();
            (words.join(" "), None)
        }
    }
}

/// "Section 3's" or "The motion's", for a phrase located by [`quoted`].
fn where_in(section: Option<usize>) -> String {
    section.map_or("The motion's".to_string(), |s| format!("Section {s}'s"))
}

fn spaced(red_line: &str) -> String {
    red_line.replace('_', " ")
}

pub fn review(q: &ReviewQuestion<'_>, ctx: &SimContext<'_>) -> ReviewAnswer {
    let (a, s, m) = (ctx.archon, ctx.seed, q.mega_motion_id);
    let mut d = disposition(s, a, m, q.affinity, q.touched_red_lines.len());
    if q.is_novel_proposal {
        d += NOVEL_SHIFT;
    }
    if q.review_reason == ReviewReason::ConflictReview {
        d += CONFLICT_SHIFT;
    }
    let mut engaged = q.affinity >= 0.0 || drafts(a.rank);
    // Knights keep the procedure and speak on substance only when sure.
    let mut lo = OPPOSE_BELOW;
    let mut hi = ENDORSE_ABOVE;
    if a.rank == Rank::Knight {
        (lo, hi, engaged) = (OPPOSE_BELOW - 0.4, ENDORSE_ABOVE + 1.0, false);
    }
    if let Some(x) = &q.extended {
        // What the archon has seen: the chamber's lean (a bandwagon on the
        // margin of endorsement over opposition) and, for an amender, whether
        // the synthesis took its amendment in.
        d += 1.5 * (x.endorsement_ratio - 0.5) - 1.5 * (x.opposition_ratio - 0.2);
        if x.your_first_stance == Some(ReviewStance::Amend) && x.synthesized_amendment.is_some() {
            d += 0.5;
        }
        // Asked again, an archon takes a side unless it is still torn.
        let mid = (lo + hi) / 2.0;
        (lo, hi) = (mid - 0.25, mid + 0.25);
        engaged = x.your_first_stance == Some(ReviewStance::Amend);
    }
    let stance = if d > hi {
        ReviewStance::Endorse
    } else if d < lo {
        ReviewStance::Oppose
    } else if engaged {
        ReviewStance::Amend
    } else {
        ReviewStance::Abstain
    };
    let (phrase, section) = quoted(&q.archon_facts.interest, q.text);
    let at = where_in(section);
    let field = field_in(a, q.archon_facts, q.text);
    let confidence = (0.5 + 0.2 * (d - (lo + hi) / 2.0).abs()).min(0.97);
    let mut answer = ReviewAnswer {
        stance,
        opposition_reason: None,
        amendment_type: None,
        amendment_text: None,
        amendment_rationale: None,
        confidence: (confidence * 100.0).round() / 100.0,
        additional_notes: None,
    };
    // Each lead sentence ends with a space, so the next starts a sentence.
    let seen = q.extended.as_ref().map_or(" ".to_string(), |x| {
        format!(
            " I have seen the first round ({:.0}% endorsement, {:.0}% opposition). ",
            x.endorsement_ratio * 100.0,
            x.opposition_ratio * 100.0
        )
    });
    match stance {
        ReviewStance::Endorse => {
            answer.additional_notes = Some(format!(
                "Endorsed.{seen}{at} \"{phrase}\" gives {field} a footing I can work with as {}.",
                a.role
            ));
        }
        ReviewStance::Abstain => {
            answer.additional_notes = Some(format!(
                "Abstaining.{seen}Its subject lies mostly outside {field}; I defer to archons closer to it."
            ));
        }
        ReviewStance::Oppose => {
            let reason = match q.touched_red_lines.first() {
                Some(r) => format!(
                    "I oppose this motion.{seen}{at} \"{phrase}\" crosses my red line, {}: as {} I cannot carry it without bounds, verification and a path to reverse it.",
                    spaced(r), a.role
                ),
                None => format!(
                    "I oppose this motion as written.{seen}{at} \"{phrase}\" commits the Conclave to more than it can check from the standpoint of {field}.",
                ),
            };
            answer.opposition_reason = Some(reason);
        }
        ReviewStance::Amend => {
            let kind = match a.rank {
                Rank::Duke | Rank::Earl => "add_clause",
                Rank::King => "minor_wording",
                _ => *s.pick(
                    &["major_revision", "add_clause", "remove_clause"],
                    &["review-kind", &a.id, m],
                ),
            };
            let text = match kind {
                "add_clause" => format!(
                    "After \"{phrase}\", add: \"Each obligation here names an accountable owner, a measure of success that {field} can check, and a way to reverse it.\""
                ),
                "major_revision" => format!(
                    "Recast \"{phrase}\" as a pilot with published evaluation criteria, adopted only by a further vote of the Conclave."
                ),
                "remove_clause" => format!(
                    "Strike \"{phrase}\" unless it is bounded; authority the motion does not bound stays with the Conclave."
                ),
                _ => format!("In \"{phrase}\", state who decides and by what evidence."),
            };
            answer.amendment_type = Some(kind.to_string());
            answer.amendment_text = Some(text);
            answer.amendment_rationale = Some(format!(
                "As {}, I support the intent,{} but \"{phrase}\" is not yet checkable from the standpoint of {field}.",
                a.role,
                if q.extended.is_some() { " and the first round's reasons stand" } else { "" }
            ));
        }
    }
    answer
}

pub fn panel_statement(q: &PanelStatementQuestion<'_>, ctx: &SimContext<'_>) -> PanelStatement {
    let a = ctx.archon;
    let (phrase, section) = quoted(&q.archon_facts.interest, q.text);
    let (at, field) = (where_in(section), field_in(a, q.archon_facts, q.text));
    let statement = match q.role {
        PanelRole::Supporter => format!(
            "{} speaks for the motion: {at} \"{phrase}\" is concrete enough for {field} to carry out. Review support stands at {:.0}%.",
            a.name, q.endorsement_ratio * 100.0
        ),
        PanelRole::Critic => match q.touched_red_lines.first() {
            Some(r) => format!(
                "{} speaks against the motion as written: \"{phrase}\" crosses the red line of {}, and {:.0}% of engaged reviewers oppose it.",
                a.name, spaced(r), q.opposition_ratio * 100.0
            ),
            None => format!(
                "{} speaks against the motion as written: \"{phrase}\" leaves {field} open-ended, and the opposition in review ({:.0}%) has not been answered.",
                a.name, q.opposition_ratio * 100.0
            ),
        },
        PanelRole::Neutral => format!(
            "{} summarises from {field}: supporters value \"{phrase}\", critics its open scope. A synthesis exists: bound it, name owners, add a review point.",
            a.name
        ),
    };
    let points = [
        format!("Would the critics accept \"{phrase}\" with a sunset and a review?"),
        format!("Who owns \"{phrase}\", and who answers for it?"),
        "What evidence would show, within one cycle, that the motion works?".to_string(),
    ];
    let discussion_point = ctx
        .seed
        .pick(&points, &["panel-point", &a.id, q.mega_motion_id])
        .clone();
    PanelStatement {
        statement,
        discussion_point,
    }
}

pub fn panel_vote(q: &PanelVoteQuestion<'_>, ctx: &SimContext<'_>) -> PanelVoteAnswer {
    let a = ctx.archon;
    let d = disposition(
        ctx.seed,
        a,
        q.mega_motion_id,
        q.affinity,
        q.touched_red_lines.len(),
    );
    // The role is the archon's side in the room; the deliberation moves it
    // with the review's balance.
    let role = match q.role {
        PanelRole::Supporter => 0.8,
        PanelRole::Critic => -0.8,
        PanelRole::Neutral => 0.0,
    };
    let p = d + role + 1.0 * (q.endorsement_ratio - q.opposition_ratio - 0.3);
    let vote = if p > 0.3 {
        PanelVote::Pass
    } else if p < -1.3 {
        PanelVote::Fail
    } else if p > -0.5 || q.role == PanelRole::Supporter {
        PanelVote::Amend
    } else if q.role == PanelRole::Critic {
        PanelVote::Fail
    } else {
        PanelVote::Defer
    };
    let (phrase, _) = quoted(&q.archon_facts.interest, q.text);
    let field = field_in(a, q.archon_facts, q.text);
    let rationale = match vote {
        PanelVote::Pass => format!("The deliberation answered the objections to \"{phrase}\" that matter for {field}; the motion should go to the full Conclave."),
        PanelVote::Fail => format!("The objections to \"{phrase}\" were not answered; the motion should not go forward."),
        PanelVote::Amend => format!("The motion can pass once \"{phrase}\" is bounded; I propose a revision."),
        PanelVote::Defer => "The panel lacks the evidence to decide; the motion should return after a resource and risk assessment.".to_string(),
    };
    let proposed_revision = (vote == PanelVote::Amend).then(|| {
        format!("\"{phrase}\" carries a named owner, a success measure and a review by the Conclave after one cycle, lapsing unless renewed.")
    });
    PanelVoteAnswer {
        vote,
        rationale,
        proposed_revision,
    }
}

/// The vote on each ballot item: the disposition, moved by the archon's own
/// record (a contributor or endorser keeps its word, an opponent its
/// objection) and by a revision made in review or panel.
pub fn ballot(q: &BallotQuestion<'_>, ctx: &SimContext<'_>) -> BallotAnswer {
    let a = ctx.archon;
    let votes = (0..q.items.len())
        .filter_map(|k| q.items.item(k))
        .map(|item| {
            let m = item.mega_motion_id;
            let record = match item.your_record {
                "contributor" => 1.0,
                "endorse" => 0.5,
                "amend" => 0.3,
                "oppose" => -0.5,
                _ => 0.0,
            };
            let revised = if item.revised { 0.3 } else { 0.0 };
            let path = if item.review_path == ReviewPath::FastTrack {
                0.5
            } else {
                0.0
            };
            let v = disposition(ctx.seed, a, m, item.affinity, item.touched_red_lines.len())
                + record
                + revised
                + path
                + 0.4 * normal(ctx.seed, &["ratify", &a.id, m]);
            let vote = if v > -0.4 {
                Vote::Yea
            } else if v < -0.9 {
                Vote::Nay
            } else {
                Vote::Abstain
            };
            let reason = match vote {
                Vote::Yea => format!("{} supports {}.", a.name, item.title),
                Vote::Nay => match item.touched_red_lines.first() {
                    Some(r) => format!(
                        "{} votes nay: it crosses the red line {}.",
                        a.name,
                        spaced(r)
                    ),
                    None => format!(
                        "{} votes nay: the objections raised in review stand.",
                        a.name
                    ),
                },
                Vote::Abstain => format!("{} abstains: not persuaded either way.", a.name),
            };
            BallotChoice { vote, reason }
        })
        .collect();
    BallotAnswer { votes }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_draws_are_standard() {
        let s = Seed(7);
        let xs: Vec<f64> = (0..4000)
            .map(|i| normal(s, &["t", &i.to_string()]))
            .collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.06, "{mean}");
        assert!((var - 1.0).abs() < 0.08, "{var}");
    }

    #[test]
    fn quotes_come_from_the_motion_and_sections_only_when_it_has_them() {
        let r = crate::test_support::roster_with(|_| String::new());
        let a = &r.archons[0];
        let interest: Vec<String> =
            crate::terms::interest_concepts(&a.domain_terms(), &a.system_prompt)
                .into_iter()
                .collect();
        let (p, s) = quoted(
            &interest,
            "SECTION 1: A\n**ARTICLE 1: AUDIT TRAILS**\n1.1 Establish a **Human Oversight Board** now.",
        );
        assert_eq!((p.as_str(), s), ("Human Oversight Board", Some(1)));
        let (p, s) = quoted(
            &interest,
            "The council shall publish its findings every cycle. Done.",
        );
        assert_eq!(
            (p.as_str(), s),
            ("The council shall publish its findings every cycle", None)
        );
        // Headings and clause numbers are not quoted; the section is the clause's.
        let (p, s) = quoted(
            &interest,
            "SECTION 1: CHARTER\n1.1 Amend Article II.\nSECTION 2: B\n2.1 Report each cycle to all.",
        );
        assert_eq!((p.as_str(), s), ("Amend Article II", Some(1)));
    }
}
