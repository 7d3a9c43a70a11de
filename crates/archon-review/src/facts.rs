//! Facts derived once from the roster and the motions, shared by every phase:
//! who supports what (as roster indices), which red lines a motion touches,
//! and the topic words that decide domain expertise.

use std::collections::BTreeSet;

use archon_core::roster::Roster;
use rayon::prelude::*;

use crate::session::Motion;
use crate::terms::TermSet;

pub struct ArchonFacts {
    pub red_lines: Vec<String>,
    pub domain_terms: Vec<String>,
}

pub struct MotionFacts {
    /// Roster indices of the known supporters, sorted.
    pub supporters: Vec<usize>,
    /// Distinct red lines of the roster that the motion's title and text touch.
    pub touched_red_lines: BTreeSet<String>,
    /// Words of the title, theme and keywords: what the motion is about.
    pub topic: TermSet,
    /// Number of `SECTION` headings of the text (at least 1).
    pub sections: usize,
}

pub struct Facts {
    pub archons: Vec<ArchonFacts>,
    pub motions: Vec<MotionFacts>,
}

impl Facts {
    pub fn derive(roster: &Roster, motions: &[Motion]) -> Facts {
        let archons: Vec<ArchonFacts> = roster
            .archons
            .iter()
            .map(|a| ArchonFacts {
                red_lines: a.red_lines(),
                domain_terms: a.domain_terms(),
            })
            .collect();
        let all_red_lines: BTreeSet<&str> = archons
            .iter()
            .flat_map(|a| a.red_lines.iter().map(String::as_str))
            .collect();
        let index: std::collections::HashMap<&str, usize> = roster
            .archons
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.as_str(), i))
            .collect();
        let motions = motions
            .par_iter()
            .map(|m| {
                let text = TermSet::of(&[&m.title, &m.text]);
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
                    touched_red_lines: all_red_lines
                        .iter()
                        .filter(|r| text.touches(r))
                        .map(|r| r.to_string())
                        .collect(),
                    topic: TermSet::of(&topic_texts),
                    sections: m.text.matches("SECTION ").count().max(1),
                }
            })
            .collect();
        Facts { archons, motions }
    }

    /// The archon's red lines that motion `m` touches.
    pub fn touched(&self, archon: usize, m: usize) -> Vec<&str> {
        let (Some(a), Some(mf)) = (self.archons.get(archon), self.motions.get(m)) else {
            return Vec::new();
        };
        a.red_lines
            .iter()
            .filter(|r| mf.touched_red_lines.contains(*r))
            .map(String::as_str)
            .collect()
    }

    /// How many of the archon's domain terms name the motion's topic.
    pub fn expertise(&self, archon: usize, m: usize) -> usize {
        let (Some(a), Some(mf)) = (self.archons.get(archon), self.motions.get(m)) else {
            return 0;
        };
        a.domain_terms
            .iter()
            .filter(|t| mf.topic.has_stem(t))
            .count()
    }
}
