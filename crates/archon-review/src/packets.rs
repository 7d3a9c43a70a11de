//! Phase 2, personalised packets: which motions each archon reviews and why.
//!
//! Rules (the spec's): LOW motions skip review (their contributors see them as
//! already endorsed); otherwise an archon reviews a motion when it is a gap
//! archon (did not contribute), a potential conflict, or, for HIGH motions, a
//! domain expert (one of its domain terms names the motion's topic). The reason
//! recorded is the last that applies in that order, as in the spec.

use rayon::prelude::*;
use serde::Serialize;

use archon_core::roster::Roster;

use crate::facts::Facts;
use crate::session::Motion;
use crate::triage::{ImplicitSupport, RiskTier};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewReason {
    GapArchon,
    ConflictReview,
    ExpertDomain,
}

impl ReviewReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewReason::GapArchon => "gap_archon",
            ReviewReason::ConflictReview => "conflict_review",
            ReviewReason::ExpertDomain => "expert_domain",
        }
    }
}

/// One (archon, motion) review to collect; indices into the roster and motions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assignment {
    pub archon: usize,
    pub motion: usize,
    pub reason: ReviewReason,
}

/// What a packet shows of each motion, computed once per motion.
pub struct MotionDigest {
    pub summary: String,
    pub themes: Vec<String>,
    pub contribution: String,
}

impl MotionDigest {
    pub fn of(m: &Motion) -> MotionDigest {
        let flat = m.text.split_whitespace().collect::<Vec<_>>().join(" ");
        let summary = match flat.char_indices().nth(240) {
            Some((i, _)) => format!("{}...", &flat[..i]),
            None => flat,
        };
        let themes = if m.keywords.is_empty() {
            m.theme
                .split(['&', ',', '/'])
                .flat_map(|p| p.split(" and "))
                .map(|p| p.trim().to_lowercase())
                .filter(|p| !p.is_empty())
                .collect()
        } else {
            m.keywords.clone()
        };
        let contribution = if m.is_novel_proposal {
            format!(
                "Your novel proposal {}: {}",
                m.id,
                crate::session::headline(&m.text, 12)
            )
        } else if m.source_motion_titles.is_empty() {
            format!(
                "Supporter of its source motions: {}",
                m.source_motion_ids.join(", ")
            )
        } else {
            format!(
                "Supporter of its source motions: {}",
                m.source_motion_titles.join("; ")
            )
        };
        MotionDigest {
            summary,
            themes,
            contribution,
        }
    }
}

/// Every assignment, ordered by archon (roster order) then motion (input order).
pub fn assignments(triage: &[ImplicitSupport], facts: &Facts) -> Vec<Assignment> {
    (0..facts.archons.len())
        .into_par_iter()
        .flat_map_iter(|archon| {
            triage
                .iter()
                .zip(&facts.motions)
                .enumerate()
                .filter_map(move |(motion, (t, mf))| {
                    let contributed = mf.supporters.binary_search(&archon).is_ok();
                    let reason = reason_for(archon, motion, t, contributed, facts)?;
                    Some(Assignment {
                        archon,
                        motion,
                        reason,
                    })
                })
        })
        .collect()
}

fn reason_for(
    archon: usize,
    motion: usize,
    t: &ImplicitSupport,
    contributed: bool,
    facts: &Facts,
) -> Option<ReviewReason> {
    if t.risk_tier == RiskTier::Low {
        return None;
    }
    let mut reason = None;
    if !contributed {
        reason = Some(ReviewReason::GapArchon);
    }
    if t.conflict_archons.binary_search(&archon).is_ok() {
        reason = Some(ReviewReason::ConflictReview);
    }
    if t.risk_tier == RiskTier::High && facts.expertise(archon, motion) > 0 {
        reason = Some(ReviewReason::ExpertDomain);
    }
    reason
}

#[derive(Serialize)]
pub struct EndorsedEntry<'a> {
    pub motion_id: &'a str,
    pub title: &'a str,
    pub your_contribution: &'a str,
}

#[derive(Serialize)]
pub struct ReviewEntry<'a> {
    pub motion_id: &'a str,
    pub title: &'a str,
    pub risk_tier: RiskTier,
    pub review_reason: ReviewReason,
    pub conflict_flag: Option<String>,
    pub summary: &'a str,
    pub source_motions: usize,
    pub supporting_archons: usize,
    pub themes: &'a [String],
}

#[derive(Serialize)]
pub struct PacketStatistics {
    pub total_motions: usize,
    pub already_endorsed: usize,
    pub requires_review: usize,
    pub low_risk_auto_ratify: usize,
}

/// `review_packets/archon-<id>.json`: the spec's packet.
#[derive(Serialize)]
pub struct ReviewPacket<'a> {
    pub schema_version: &'static str,
    pub session_id: &'a str,
    pub archon_id: &'a str,
    pub archon_name: &'a str,
    pub generated_at: String,
    /// The spec's `ReviewAssignment.assignment_reason`: the last reason given, or "none".
    pub assignment_reason: &'static str,
    pub already_endorsed: Vec<EndorsedEntry<'a>>,
    pub requires_review: Vec<ReviewEntry<'a>>,
    pub statistics: PacketStatistics,
}

/// One packet per archon, in roster order, each made when it is taken (a
/// run writes them one at a time).
#[allow(clippy::too_many_arguments)]
pub fn build_packets<'a>(
    session_id: &'a str,
    roster: &'a Roster,
    motions: &'a [Motion],
    digests: &'a [MotionDigest],
    triage: &'a [ImplicitSupport],
    facts: &'a Facts,
    assignments: &'a [Assignment],
    now: &'a str,
) -> impl Iterator<Item = ReviewPacket<'a>> + 'a {
    let low = triage
        .iter()
        .filter(|t| t.risk_tier == RiskTier::Low)
        .count();
    let mut by_archon: Vec<Vec<&Assignment>> = vec![Vec::new(); roster.archons.len()];
    for a in assignments {
        if let Some(v) = by_archon.get_mut(a.archon) {
            v.push(a);
        }
    }
    roster
        .archons
        .iter()
        .zip(by_archon)
        .enumerate()
        .map(move |(ai, (archon, assigned))| {
            let mut next = assigned.iter().peekable();
            let mut endorsed = Vec::new();
            let mut review = Vec::new();
            for (mi, ((m, t), d)) in motions.iter().zip(triage).zip(digests).enumerate() {
                if let Some(a) = next.next_if(|a| a.motion == mi) {
                    review.push(ReviewEntry {
                        motion_id: &m.id,
                        title: &m.title,
                        risk_tier: t.risk_tier,
                        review_reason: a.reason,
                        conflict_flag: t.conflict_reasons.get(&archon.id).cloned(),
                        summary: &d.summary,
                        source_motions: t.contribution_count,
                        supporting_archons: t.contributing_archons.len(),
                        themes: &d.themes,
                    });
                } else if facts
                    .motions
                    .get(mi)
                    .is_some_and(|f| f.supporters.binary_search(&ai).is_ok())
                {
                    endorsed.push(EndorsedEntry {
                        motion_id: &m.id,
                        title: &m.title,
                        your_contribution: &d.contribution,
                    });
                }
            }
            ReviewPacket {
                schema_version: archon_core::SCHEMA_VERSION,
                session_id,
                archon_id: &archon.id,
                archon_name: &archon.name,
                generated_at: now.to_string(),
                assignment_reason: assigned.last().map_or("none", |a| a.reason.as_str()),
                statistics: PacketStatistics {
                    total_motions: motions.len(),
                    already_endorsed: endorsed.len(),
                    requires_review: review.len(),
                    low_risk_auto_ratify: low,
                },
                already_endorsed: endorsed,
                requires_review: review,
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{motion, roster_with};
    use crate::triage::triage;

    #[test]
    fn assignment_rules() {
        // Archon 0 is a Security expert (its role names it); archons 0..3 hold the red line.
        let r = roster_with(|i| {
            if i < 3 {
                "Red lines: weak_audit_trail.".into()
            } else {
                String::new()
            }
        });
        let mut high = motion("high", "Domain0 Security", 0..1);
        high.title = "Security".into();
        let mut ms = vec![
            motion("low", "A", 0..50),
            motion("medium", "B", 5..35),
            high,
        ];
        ms[1].text = "a weak audit trail".into();
        ms[0].text = "clean".into();
        let f = Facts::derive(&r, &ms);
        let t = triage(&r, &ms, &f, "now");
        assert_eq!(
            t.iter().map(|t| t.risk_tier).collect::<Vec<_>>(),
            [RiskTier::Low, RiskTier::Medium, RiskTier::High]
        );
        let a = assignments(&t, &f);
        let of = |archon: usize| {
            a.iter()
                .filter(|x| x.archon == archon)
                .map(|x| (x.motion, x.reason))
                .collect::<Vec<_>>()
        };
        // Archon 0 backed "low" (theme A, clear of its red line) and "high", where it is
        // the domain expert; "medium" touches the red line.
        assert_eq!(
            of(0),
            [
                (1, ReviewReason::ConflictReview),
                (2, ReviewReason::ExpertDomain)
            ]
        );
        assert_eq!(
            of(1),
            [
                (1, ReviewReason::ConflictReview),
                (2, ReviewReason::GapArchon)
            ]
        );
        assert_eq!(t[1].potential_conflicts, ["id-0", "id-1", "id-2"]);
        assert_eq!(
            of(40),
            [(1, ReviewReason::GapArchon), (2, ReviewReason::GapArchon)]
        );
        assert!(a.iter().all(|x| x.motion != 0), "LOW motions skip review");
        let digests: Vec<_> = ms.iter().map(MotionDigest::of).collect();
        let p: Vec<_> = build_packets("s", &r, &ms, &digests, &t, &f, &a, "now").collect();
        assert_eq!(p.len(), 72);
        assert_eq!(p[0].already_endorsed.len(), 1);
        assert!(p[0].requires_review[0].conflict_flag.is_some());
        assert_eq!(p[0].statistics.low_risk_auto_ratify, 1);
        assert_eq!(p[0].assignment_reason, "expert_domain");
        assert_eq!(p[60].assignment_reason, "gap_archon");
    }
}
