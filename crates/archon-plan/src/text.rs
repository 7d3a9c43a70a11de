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
