//! Texts read as concepts: normalised, stemmed words, and the red-line rule.
//!
//! **Stems.** A word is lower-cased and loses one common English suffix
//! (`-ations`, `-ity`, `-ness`, `-ing`, `-ed`, `-s`, …) when at least four
//! letters remain, so `transparency`/`transparent` and
//! `accountable`/`accountability` meet. A concept stem matches a text stem
//! that starts with it (`audit` matches `auditor`). Function words (`the`,
//! `of`, `or`, …) carry no concept and are dropped; no word is dropped for
//! being short (`ad hoc` is two concepts).
//!
//! **Red lines** (`w1_w2_…` from the persona's `Red lines:` line) are read as
//! conditions on a text. After a negator (`no`, `without`, `lacking`, …) the
//! words are things the text must *lack* (`no_success_metrics`: no success
//! metrics in the text). A privative word (`un…ed`, `un…able`, `non…`) names a
//! missing safeguard: `unbounded_discretion` is discretion present and
//! bounds absent. Every other word must be present. A red line *touches* a
//! text when every condition holds. Synonyms come from the persona's own
//! text: an item of its `Persuaded by:` or `Dissent triggers:` lists (split
//! at `;` and `,`) that names one of the red line's concepts lends its other
//! concepts as alternatives for that concept.

use std::collections::BTreeSet;

use archon_core::roster::words;

/// Function words: no concept of their own.
const STOP_WORDS: [&str; 58] = [
    "a", "an", "and", "any", "are", "as", "at", "be", "been", "by", "can", "could", "do", "does",
    "each", "for", "from", "has", "have", "how", "if", "in", "into", "is", "it", "its", "may",
    "more", "most", "must", "not", "of", "on", "or", "other", "our", "over", "shall", "should",
    "so", "such", "than", "that", "the", "their", "them", "then", "there", "these", "this",
    "those", "to", "under", "upon", "was", "were", "which", "with",
];

/// Words after which the red line names what a text lacks.
const NEGATORS: [&str; 7] = [
    "no", "without", "lack", "lacking", "missing", "absent", "zero",
];

/// Suffixes stripped by [`stem`], longest first.
const SUFFIXES: [&str; 31] = [
    "abilities",
    "ability",
    "ations",
    "ation",
    "ities",
    "ments",
    "ively",
    "ness",
    "ment",
    "ings",
    "ency",
    "ancy",
    "ence",
    "ance",
    "ions",
    "able",
    "ible",
    "ity",
    "ies",
    "ied",
    "ing",
    "ive",
    "ion",
    "ent",
    "ant",
    "ous",
    "al",
    "ed",
    "es",
    "ly",
    "s",
];

/// The stem of one lower-case word (rule in the module doc).
pub fn stem(word: &str) -> String {
    let w = word.to_lowercase();
    for s in SUFFIXES {
        if let Some(rest) = w.strip_suffix(s) {
            if rest.chars().count() >= 4 {
                return rest.to_string();
            }
        }
    }
    w
}

/// The concept stems of a text: its words without function words, stemmed.
pub fn concepts(text: &str) -> impl Iterator<Item = String> + '_ {
    words(text)
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
        .map(|w| stem(&w))
}

/// The distinct concept stems of some texts, sorted for prefix lookups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TermSet(Vec<String>);

impl TermSet {
    pub fn of(texts: &[&str]) -> TermSet {
        let mut v: Vec<String> = texts.iter().flat_map(|t| concepts(t)).collect();
        v.sort_unstable();
        v.dedup();
        TermSet(v)
    }

    /// Whether some stem of the text starts with `stem`.
    pub fn has_stem(&self, stem: &str) -> bool {
        let i = self.0.partition_point(|w| w.as_str() < stem);
        self.0.get(i).is_some_and(|w| w.starts_with(stem))
    }

    /// Whether any of the alternatives occurs.
    fn has_any(&self, alternatives: &[String]) -> bool {
        alternatives.iter().any(|s| self.has_stem(s))
    }

    /// How many stems the two sets share.
    pub fn intersection(&self, other: &TermSet) -> usize {
        self.0
            .iter()
            .filter(|w| other.0.binary_search(w).is_ok())
            .count()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One red line read as conditions (rule in the module doc). Each condition
/// is a list of alternative stems: the concept and its persona synonyms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedLine {
    /// As written in the persona: `unbounded_discretion`.
    pub name: String,
    present: Vec<Vec<String>>,
    absent: Vec<Vec<String>>,
}

/// `un…ed` / `un…able` / `non…` words: the stem of what is missing.
fn privative(word: &str) -> Option<String> {
    let base = word
        .strip_prefix("non")
        .or_else(|| {
            word.strip_prefix("un")
                .filter(|r| ["ed", "able", "ible"].iter().any(|s| r.ends_with(s)))
        })
        .filter(|r| r.chars().count() >= 4)?;
    let s = stem(base);
    // `verifiable` → `verifi` would not meet `verify`: drop a trailing `i`.
    Some(s.strip_suffix('i').map_or(s.clone(), str::to_string))
}

impl RedLine {
    /// Reads `name` with synonyms from `persona_lists` (the persona's list items).
    pub fn read(name: &str, persona_lists: &[String]) -> RedLine {
        let mut present = Vec::new();
        let mut absent = Vec::new();
        let mut negated = false;
        for w in words(name) {
            if NEGATORS.contains(&w.as_str()) {
                negated = true;
                continue;
            }
            if STOP_WORDS.contains(&w.as_str()) {
                continue;
            }
            match privative(&w) {
                Some(base) => absent.push(base),
                None if negated => absent.push(stem(&w)),
                None => present.push(stem(&w)),
            }
        }
        let with_synonyms = |stems: Vec<String>| -> Vec<Vec<String>> {
            stems
                .into_iter()
                .map(|s| {
                    let mut alt = vec![s.clone()];
                    for item in persona_lists {
                        let cs: Vec<String> = concepts(item).collect();
                        if cs
                            .iter()
                            .any(|c| c.starts_with(&s) || s.starts_with(c.as_str()))
                        {
                            alt.extend(cs.into_iter().filter(|c| c.chars().count() >= 4));
                        }
                    }
                    alt.sort();
                    alt.dedup();
                    alt
                })
                .collect()
        };
        RedLine {
            name: name.to_string(),
            present: with_synonyms(present),
            absent: with_synonyms(absent),
        }
    }

    /// Whether the red line touches a text (rule in the module doc).
    pub fn touches(&self, text: &TermSet) -> bool {
        (!self.present.is_empty() || !self.absent.is_empty())
            && self.present.iter().all(|alt| text.has_any(alt))
            && self.absent.iter().all(|alt| !text.has_any(alt))
    }
}

/// The items of a persona's `Persuaded by:` and `Dissent triggers:` lines.
pub fn persona_list_items(system_prompt: &str) -> Vec<String> {
    system_prompt
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            l.strip_prefix("Persuaded by:")
                .or_else(|| l.strip_prefix("Dissent triggers:"))
        })
        .flat_map(|rest| rest.trim().trim_end_matches('.').split([';', ',']))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The concepts an archon argues from: its domains and portfolio (given),
/// and the objective and what persuades it (from the persona).
pub fn interest_concepts(domain_terms: &[String], system_prompt: &str) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = domain_terms.iter().map(|t| stem(t)).collect();
    for l in system_prompt.lines() {
        let l = l.trim();
        let text = l
            .strip_prefix("Persuaded by:")
            .or_else(|| l.split_once("Objective:").map(|(_, o)| o));
        if let Some(t) = text {
            out.extend(concepts(t.split('.').next().unwrap_or(t)));
        }
    }
    out.retain(|c| c.chars().count() >= 4);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touches(red_line: &str, text: &str) -> bool {
        RedLine::read(red_line, &[]).touches(&TermSet::of(&[text]))
    }

    #[test]
    fn stems_meet_across_word_forms() {
        assert_eq!(stem("transparency"), stem("transparent"));
        assert_eq!(stem("accountable"), stem("accountability"));
        assert_eq!(stem("metrics"), "metric");
        assert_eq!(stem("audit"), "audit");
        assert!(TermSet::of(&["An auditor reviews it."]).has_stem("audit"));
    }

    #[test]
    fn ad_hoc_integrations_does_not_touch_integrity() {
        // The old rule dropped `ad` and `hoc` and matched `integr…` in "integrity".
        let text =
            "The Conclave shall protect the integrity of every record and its integration plan.";
        assert!(!touches("ad_hoc_integrations", text));
        assert!(touches(
            "ad_hoc_integrations",
            "No more ad hoc integrations of tools."
        ));
    }

    #[test]
    fn negated_and_privative_words_are_absences() {
        let measured = "Success metrics are published each cycle.";
        let unmeasured = "The council shall improve outcomes.";
        assert!(!touches("no_success_metrics", measured));
        assert!(touches("no_success_metrics", unmeasured));
        assert!(touches(
            "unbounded_discretion",
            "The board has discretion over funds."
        ));
        assert!(!touches(
            "unbounded_discretion",
            "The board has discretion within bounds set by the Conclave."
        ));
        assert!(!touches("unbounded_discretion", "Nothing about authority."));
        assert!(touches("unverifiable_claims", "It claims benefits."));
        assert!(!touches(
            "unverifiable_claims",
            "Claims are verified by audit."
        ));
        assert!(!touches("no_of", "anything"));
    }

    #[test]
    fn persona_items_lend_synonyms() {
        let prompt = "Persuaded by: measurable outcomes, clear boundaries, and verifiable containment.\nDissent triggers: mandates with no evaluation; budget or staffing gaps.";
        let items = persona_list_items(prompt);
        assert!(items.contains(&"clear boundaries".to_string()));
        let r = RedLine::read("unbounded_discretion", &items);
        // "clear boundaries" names `bound`, so "clear" limits discretion too.
        let t = TermSet::of(&["Discretion is exercised under clear rules."]);
        assert!(!r.touches(&t));
        assert!(RedLine::read("unbounded_discretion", &[]).touches(&t));
    }
}
