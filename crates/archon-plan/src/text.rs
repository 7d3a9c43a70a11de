//! Small text helpers shared by the phases: word stems, snippets, keyword markers.

use archon_core::roster::words;

/// The comparison stem of a word: its first five letters (`security`, `secure` → `secur`).
pub fn stem(word: &str) -> String {
    word.chars().take(5).collect()
}

/// Stems of the words of `text` longer than three letters, in order, with repeats.
pub fn stems(text: &str) -> Vec<String> {
    words(text)
        .filter(|w| w.len() > 3)
        .map(|w| stem(&w))
        .collect()
}

/// The first `max_words` words of `text`, with `…` when cut.
pub fn snippet(text: &str, max_words: usize) -> String {
    let all: Vec<&str> = text.split_whitespace().collect();
    let mut s = all
        .iter()
        .take(max_words)
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    if all.len() > max_words {
        s.push('…');
    }
    s.trim_end_matches([';', ':', ',']).to_string()
}

/// The first marker of `markers` found in `text` (case-insensitive).
pub fn find_marker<'m>(text: &str, markers: &[&'m str]) -> Option<&'m str> {
    let lower = text.to_lowercase();
    markers.iter().copied().find(|m| lower.contains(m))
}

/// Jaccard similarity of the word-stem sets of two texts.
pub fn similarity(a: &str, b: &str) -> f64 {
    let sa: std::collections::BTreeSet<String> = stems(a).into_iter().collect();
    let sb: std::collections::BTreeSet<String> = stems(b).into_iter().collect();
    let union = sa.union(&sb).count();
    if union == 0 {
        return 0.0;
    }
    sa.intersection(&sb).count() as f64 / union as f64
}

/// Strips markdown emphasis and heading marks from a line.
pub fn plain(line: &str) -> String {
    line.replace("**", "")
        .replace("__", "")
        .trim()
        .trim_start_matches('#')
        .trim()
        .to_string()
}

/// The normal form of a word for term matching: lower case with inflection and
/// the `-ation`, `-ment`, `-al` or final `-e` ending removed, so `evaluations`, `evaluated` and
/// `evaluate` meet at `evaluat`, while distinct words stay apart (`response` ≠
/// `responsible`, `identity` ≠ `identify`, `integrity` ≠ `integration`), which a
/// fixed-length prefix cannot do.
pub fn normalise(word: &str) -> String {
    let mut w = word.to_lowercase();
    let cut = |w: &mut String, suffix: &str, with: &str, min_stem: usize| -> bool {
        if w.len() >= suffix.len() + min_stem && w.ends_with(suffix) {
            w.truncate(w.len() - suffix.len());
            w.push_str(with);
            return true;
        }
        false
    };
    if !cut(&mut w, "ies", "y", 2) && !cut(&mut w, "sses", "ss", 1) {
        let keep_s = ["ss", "us", "is"].iter().any(|e| w.ends_with(e));
        if !keep_s {
            cut(&mut w, "s", "", 3);
        }
    }
    if cut(&mut w, "ing", "", 4) || cut(&mut w, "ed", "", 4) {
        // `mapping` → `mapp` → `map`.
        let b = w.as_bytes();
        if b.len() > 3 && b[b.len() - 1] == b[b.len() - 2] && !b"lsz".contains(&b[b.len() - 1]) {
            w.pop();
        }
    }
    if !cut(&mut w, "ation", "at", 3) && !cut(&mut w, "ment", "", 4) && !cut(&mut w, "al", "", 5) {
        cut(&mut w, "e", "", 4);
    }
    w
}

/// The normalised words of `text`, in order, with repeats.
pub fn normalised_words(text: &str) -> Vec<String> {
    words(text).map(|w| normalise(&w)).collect()
}

/// A scope term (`incident_response`) as normalised words, matched as a phrase.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Term {
    pub label: String,
    pub words: Vec<String>,
}

impl Term {
    pub fn new(label: &str) -> Term {
        Term {
            label: label.to_string(),
            words: normalised_words(label),
        }
    }

    /// How often the term occurs, as a phrase, in `text` (normalised words).
    pub fn occurrences(&self, text: &[String]) -> usize {
        if self.words.is_empty() || text.len() < self.words.len() {
            return 0;
        }
        text.windows(self.words.len())
            .filter(|w| *w == self.words.as_slice())
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_forms_join_inflections_and_keep_words_apart() {
        let n = |w: &str| normalise(w);
        assert_eq!(n("evaluations"), n("evaluate"));
        assert_eq!(n("evaluated"), n("evaluation"));
        assert_eq!(n("policies"), n("policy"));
        assert_eq!(n("standards"), n("standard"));
        assert_eq!(n("mapping"), n("map"));
        assert_eq!(n("migration"), n("migrate"));
        assert_eq!(n("deployment"), n("deployed"));
        assert_eq!(n("behavioral"), n("behaviors"));
        assert_ne!(n("response"), n("responsible"));
        assert_ne!(n("identity"), n("identify"));
        assert_ne!(n("integrity"), n("integration"));
        assert_ne!(n("continuity"), n("continuous"));
        assert_eq!(n("access"), "access");
        assert_eq!(n("status"), "status");
    }

    #[test]
    fn terms_match_as_phrases() {
        let t = Term::new("incident_response");
        assert_eq!(t.words, ["incident", "respons"]);
        let text = normalised_words("Incident responses are drilled; a response to each incident.");
        assert_eq!(t.occurrences(&text), 1);
    }
}
