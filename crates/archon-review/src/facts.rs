//! Facts derived once from the roster and the motions, shared by every phase:
//! who supports what (as roster indices), which red lines a motion touches,
//! and the topic words that decide domain expertise.

use archon_core::roster::Roster;
use rayon::prelude::*;

use crate::session::Motion;
use crate::terms::{interest_concepts, persona_list_items, stem, RedLine, TermSet};

#[derive(Debug)]
pub struct ArchonFacts {
    pub red_lines: Vec<RedLine>,
    pub domain_terms: Vec<String>,
    /// Domains, portfolio, objective and what persuades it, as concepts.
    pub interest: Vec<String>,
}

pub struct MotionFacts {
    /// Roster indices of the known supporters, sorted.
    pub supporters: Vec<usize>,
    /// Per archon (roster order): indices of its red lines the title and text touch.
    pub touched: Vec<Vec<usize>>,
    /// Per archon: how much more the motion speaks to the archon's interests
    /// than the archon's other motions of the session do (a z-score; 0 in a
    /// session of one motion).
    pub affinity: Vec<f64>,
    /// Per archon: the share of its domain terms the motion's text names.
    pub domain_share: Vec<f64>,
    /// Words of the title, theme and keywords: what the motion is about.
    pub topic: TermSet,
    /// Number of `SECTION` headings of the text (0 when it has none).
    pub sections: usize,
}

pub struct Facts {
    pub archons: Vec<ArchonFacts>,
    pub motions: Vec<MotionFacts>,
}

/// The spread below which an archon's interest shares count as equal.
const AFFINITY_SD_FLOOR: f64 = 0.02;

impl Facts {
    pub fn derive(roster: &Roster, motions: &[Motion]) -> Facts {
        let archons: Vec<ArchonFacts> = roster
            .archons
            .par_iter()
            .map(|a| {
                let items = persona_list_items(&a.system_prompt);
                let domain_terms = a.domain_terms();
                ArchonFacts {
                    red_lines: a
                        .red_lines()
                        .iter()
                        .map(|r| RedLine::read(r, &items))
                        .collect(),
                    interest: interest_concepts(&domain_terms, &a.system_prompt)
                        .into_iter()
                        .collect(),
                    domain_terms,
                }
            })
            .collect();
        let index: std::collections::HashMap<&str, usize> = roster
            .archons
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.as_str(), i))
            .collect();
        let mut motions: Vec<MotionFacts> = motions
            .par_iter()
            .map(|m| {
                let text = TermSet::of(&[&m.title, &m.theme, &m.text]);
                let mut supporters: Vec<usize> = m
                    .supporter_ids
                    .iter()
                    .filter_map(|id| index.get(id.as_str()).copied())
                    .collect();
                supporters.sort_unstable();
                let mut topic_texts: Vec<&str> = vec![&m.title, &m.theme];
                topic_texts.extend(m.keywords.iter().map(String::as_str));
                MotionFacts {
                    supporters,
                    touched: archons
                        .iter()
                        .map(|a| {
                            (0..a.red_lines.len())
                                .filter(|&r| a.red_lines[r].touches(&text))
                                .collect()
                        })
                        .collect(),
                    // The raw share of interest concepts; made relative below.
                    affinity: archons
                        .iter()
                        .map(|a| {
                            let hits = a.interest.iter().filter(|c| text.has_stem(c)).count();
                            hits as f64 / a.interest.len().max(1) as f64
                        })
                        .collect(),
                    domain_share: archons
                        .iter()
                        .map(|a| {
                            let hits = a
                                .domain_terms
                                .iter()
                                .filter(|t| text.has_stem(&stem(t)))
                                .count();
                            hits as f64 / a.domain_terms.len().max(1) as f64
                        })
                        .collect(),
                    topic: TermSet::of(&topic_texts),
                    sections: section_count(&m.text),
                }
            })
            .collect();
        let n = motions.len().max(1) as f64;
        for ai in 0..archons.len() {
            let mean = motions.iter().map(|m| m.affinity[ai]).sum::<f64>() / n;
            let var = motions
                .iter()
                .map(|m| (m.affinity[ai] - mean).powi(2))
                .sum::<f64>()
                / n;
            let sd = var.sqrt().max(AFFINITY_SD_FLOOR);
            for m in &mut motions {
                m.affinity[ai] = (m.affinity[ai] - mean) / sd;
            }
        }
        Facts { archons, motions }
    }

    /// The archon's red lines that motion `m` touches.
    pub fn touched(&self, archon: usize, m: usize) -> Vec<&str> {
        let (Some(a), Some(mf)) = (self.archons.get(archon), self.motions.get(m)) else {
            return Vec::new();
        };
        mf.touched
            .get(archon)
            .into_iter()
            .flatten()
            .filter_map(|&r| a.red_lines.get(r).map(|r| r.name.as_str()))
            .collect()
    }

    /// Whether motion `m` touches the archon's red line `r`.
    pub fn touches(&self, archon: usize, m: usize, r: usize) -> bool {
        self.motions
            .get(m)
            .and_then(|mf| mf.touched.get(archon))
            .is_some_and(|t| t.contains(&r))
    }

    /// The archon's affinity to motion `m` (see [`MotionFacts::affinity`]).
    pub fn affinity(&self, archon: usize, m: usize) -> f64 {
        self.motions
            .get(m)
            .and_then(|mf| mf.affinity.get(archon))
            .copied()
            .unwrap_or(0.0)
    }

    /// How many of the archon's domain terms name the motion's topic.
    pub fn expertise(&self, archon: usize, m: usize) -> usize {
        let (Some(a), Some(mf)) = (self.archons.get(archon), self.motions.get(m)) else {
            return 0;
        };
        a.domain_terms
            .iter()
            .filter(|t| mf.topic.has_stem(&stem(t)))
            .count()
    }

    /// How close the archon's domains are to motion `m`'s text (share of its domain terms named).
    pub fn domain_share(&self, archon: usize, m: usize) -> f64 {
        self.motions
            .get(m)
            .and_then(|mf| mf.domain_share.get(archon))
            .copied()
            .unwrap_or(0.0)
    }
}

/// The `SECTION n` headings of a motion text.
pub fn section_count(text: &str) -> usize {
    text.matches("SECTION ").count()
}
