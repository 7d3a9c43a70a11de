//! Phase 1, triage: implicit support, potential conflicts and the risk tier.
//!
//! **Conflict rule.** Archon X is a potential conflict for motion M when X did
//! not support M, X supported another motion M' of a *different theme* that
//! stays clear of one of X's red lines, and M touches that red line, read as
//! concepts (see [`crate::terms`]: stems, negations, persona synonyms). X's record elsewhere shows a position that M crosses, so X
//! is asked to review M with the reason spelled out. The rule reads only data
//! (themes, supporters, personas), so it is deterministic in every mode.

use std::collections::BTreeMap;

use archon_core::roster::{Roster, ARCHON_COUNT};
use serde::{Deserialize, Serialize};

use crate::facts::Facts;
use crate::session::Motion;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RiskTier {
    Low,
    Medium,
    High,
}

impl RiskTier {
    pub fn as_str(self) -> &'static str {
        match self {
            RiskTier::Low => "low",
            RiskTier::Medium => "medium",
            RiskTier::High => "high",
        }
    }
}

/// The spec's tier table: LOW at ≥ 0.66 with no conflicts, MEDIUM at ≥ 0.33 with
/// at most 5 conflicts, HIGH otherwise; novel proposals are always HIGH.
pub fn risk_tier(contributors: usize, conflicts: usize, novel: bool) -> RiskTier {
    let ratio = contributors as f64 / ARCHON_COUNT as f64;
    if novel {
        RiskTier::High
    } else if ratio >= 0.66 && conflicts == 0 {
        RiskTier::Low
    } else if ratio >= 0.33 && conflicts <= 5 {
        RiskTier::Medium
    } else {
        RiskTier::High
    }
}

/// The spec's `ImplicitSupport`, plus the title and the reason of each conflict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImplicitSupport {
    pub mega_motion_id: String,
    pub title: String,
    pub contributing_archons: Vec<String>,
    pub contribution_count: usize,
    pub implicit_support_ratio: f64,
    pub gap_archons: Vec<String>,
    pub potential_conflicts: Vec<String>,
    /// Roster indices of the potential conflicts, sorted.
    #[serde(skip)]
    pub conflict_archons: Vec<usize>,
    /// archon id → why it is a potential conflict.
    pub conflict_reasons: BTreeMap<String, String>,
    pub risk_tier: RiskTier,
    pub is_novel_proposal: bool,
    pub is_constitutional_amendment: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown_supporters: Vec<String>,
    pub calculated_at: String,
}

/// For one archon and one red line: the first motion (index) it supported that
/// stays clear of the red line, per theme, for at most two themes.
type ClearRecord = Vec<(String, usize)>;

/// Triage of every motion, in input order.
pub fn triage(
    roster: &Roster,
    motions: &[Motion],
    facts: &Facts,
    now: &str,
) -> Vec<ImplicitSupport> {
    // clear[archon][red line index] = up to two (theme, motion) where the archon
    // backed a motion of that theme which stays clear of the red line.
    let mut clear: Vec<Vec<ClearRecord>> = facts
        .archons
        .iter()
        .map(|a| vec![Vec::new(); a.red_lines.len()])
        .collect();
    for (mi, (m, mf)) in motions.iter().zip(&facts.motions).enumerate() {
        for &ai in &mf.supporters {
            let (Some(records), Some(af)) = (clear.get_mut(ai), facts.archons.get(ai)) else {
                continue;
            };
            for ri in 0..af.red_lines.len() {
                if facts.touches(ai, mi, ri) {
                    continue;
                }
                if let Some(rec) = records.get_mut(ri) {
                    if rec.len() < 2 && rec.iter().all(|(t, _)| t != &m.theme) {
                        rec.push((m.theme.clone(), mi));
                    }
                }
            }
        }
    }
    motions
        .iter()
        .zip(&facts.motions)
        .enumerate()
        .map(|(mi, (m, mf))| {
            let mut conflicts = Vec::new();
            let mut conflict_archons = Vec::new();
            let mut reasons = BTreeMap::new();
            for (ai, archon) in roster.archons.iter().enumerate() {
                if mf.supporters.binary_search(&ai).is_ok() {
                    continue;
                }
                let Some(af) = facts.archons.get(ai) else { continue };
                let found = af.red_lines.iter().enumerate().find_map(|(ri, r)| {
                    if !facts.touches(ai, mi, ri) {
                        return None;
                    }
                    let rec = clear.get(ai)?.get(ri)?;
                    let (_, other) = rec.iter().find(|(t, _)| t != &m.theme)?;
                    Some((r, *other))
                });
                if let Some((red_line, other)) = found {
                    let o = &motions[other];
                    conflicts.push(archon.id.clone());
                    conflict_archons.push(ai);
                    reasons.insert(
                        archon.id.clone(),
                        format!(
                            "You supported {} ({:?}, theme {:?}), which stays clear of your red line {}; this motion touches it",
                            o.id, o.title, o.theme, red_line.name
                        ),
                    );
                }
            }
            let contributing: Vec<String> = mf
                .supporters
                .iter()
                .filter_map(|&i| roster.archons.get(i).map(|a| a.id.clone()))
                .collect();
            let gap = roster
                .archons
                .iter()
                .enumerate()
                .filter(|(i, _)| mf.supporters.binary_search(i).is_err())
                .map(|(_, a)| a.id.clone())
                .collect();
            ImplicitSupport {
                mega_motion_id: m.id.clone(),
                title: m.title.clone(),
                contribution_count: if m.is_novel_proposal { 1 } else { m.source_motion_ids.len() },
                implicit_support_ratio: contributing.len() as f64 / ARCHON_COUNT as f64,
                risk_tier: risk_tier(contributing.len(), conflicts.len(), m.is_novel_proposal),
                contributing_archons: contributing,
                gap_archons: gap,
                potential_conflicts: conflicts,
                conflict_archons,
                conflict_reasons: reasons,
                is_novel_proposal: m.is_novel_proposal,
                is_constitutional_amendment: m.is_constitutional_amendment,
                unknown_supporters: m.unknown_supporters.clone(),
                calculated_at: now.to_string(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{motion, roster_with};

    #[test]
    fn tier_boundaries() {
        assert_eq!(risk_tier(48, 0, false), RiskTier::Low);
        assert_eq!(risk_tier(47, 0, false), RiskTier::Medium);
        assert_eq!(risk_tier(48, 1, false), RiskTier::Medium);
        assert_eq!(risk_tier(24, 5, false), RiskTier::Medium);
        assert_eq!(risk_tier(24, 6, false), RiskTier::High);
        assert_eq!(risk_tier(23, 0, false), RiskTier::High);
        assert_eq!(risk_tier(72, 0, true), RiskTier::High);
        assert_eq!(risk_tier(0, 0, false), RiskTier::High);
    }

    fn run(motions: &[Motion]) -> Vec<ImplicitSupport> {
        let r = roster_with(|i| {
            if i < 3 {
                "Red lines: weak_audit_trail.".into()
            } else {
                String::new()
            }
        });
        let f = Facts::derive(&r, motions);
        triage(&r, motions, &f, "t")
    }

    #[test]
    fn triage_counts_supporters_against_72() {
        let t = run(&[
            motion("a", "Theme", 0..48),
            motion("b", "Theme", 0..24),
            motion("c", "Theme", 0..23),
        ]);
        let tiers: Vec<_> = t.iter().map(|s| s.risk_tier).collect();
        assert_eq!(tiers, [RiskTier::Low, RiskTier::Medium, RiskTier::High]);
        assert_eq!(t[0].gap_archons.len(), 24);
        assert!((t[1].implicit_support_ratio - 24.0 / 72.0).abs() < 1e-12);
    }

    #[test]
    fn conflict_needs_a_clear_record_in_another_theme() {
        // Archons 0..3 hold the red line weak_audit_trail; archon 0 and 1 backed
        // "clean" (theme A), which stays clear of it; "weak" (theme B) touches it.
        let mut weak = motion("weak", "B", 10..60);
        weak.text = "This keeps a weak audit trail.".into();
        let mut same_theme = motion("weak-a", "A", 10..60);
        same_theme.text = weak.text.clone();
        let t = run(&[motion("clean", "A", 0..2), weak, same_theme]);
        assert_eq!(t[1].potential_conflicts, ["id-0", "id-1"]);
        assert!(t[1].conflict_reasons["id-0"].contains("weak_audit_trail"));
        assert_eq!(t[1].risk_tier, RiskTier::Medium);
        // Same theme as the clear record: no conflict.
        assert!(t[2].potential_conflicts.is_empty());
        assert!(t[0].potential_conflicts.is_empty());
    }
}
