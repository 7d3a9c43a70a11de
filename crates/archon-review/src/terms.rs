//! Word sets of motion texts and the red-line matching rule.
//!
//! A red line `w1_w2_…` (from the persona's `Red lines:` line) *touches* a text
//! when every word of the red line longer than three letters occurs in the text,
//! comparing stems: a text word matches when it starts with the red-line word's
//! first six letters (so `transparency` matches `transparent`, `audit` matches
//! `auditability`). Short words (`no`, `of`) carry no subject and are ignored; a
//! red line made only of them touches nothing.

use archon_core::roster::words;

/// The distinct lower-case words of a text, sorted for prefix lookups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TermSet(Vec<String>);

impl TermSet {
    pub fn of(texts: &[&str]) -> TermSet {
        let mut v: Vec<String> = texts.iter().flat_map(|t| words(t)).collect();
        v.sort_unstable();
        v.dedup();
        TermSet(v)
    }

    /// Whether some word starts with `stem`.
    pub fn has_stem(&self, stem: &str) -> bool {
        let i = self.0.partition_point(|w| w.as_str() < stem);
        self.0.get(i).is_some_and(|w| w.starts_with(stem))
    }

    pub fn contains(&self, word: &str) -> bool {
        self.0.binary_search_by(|w| w.as_str().cmp(word)).is_ok()
    }

    /// Whether the red line touches the text (rule in the module doc).
    pub fn touches(&self, red_line: &str) -> bool {
        let mut subject = words(red_line).filter(|w| w.chars().count() > 3).peekable();
        if subject.peek().is_none() {
            return false;
        }
        subject.all(|w| self.has_stem(&stem(&w)))
    }
}

/// The first six letters of a word.
fn stem(word: &str) -> String {
    word.chars().take(6).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn red_lines_touch_by_stem_and_need_every_subject_word() {
        let t = TermSet::of(&[
            "Full transparent disclosure with a weak audit trail.",
            "No rollback",
        ]);
        assert!(!t.touches("excessive_transparency"));
        assert!(t.touches("weak_audit_trail"));
        assert!(TermSet::of(&["excessive transparency"]).touches("excessive_transparency"));
        assert!(!t.touches("no_rollback_plan"));
        assert!(t.touches("no_rollback"));
        assert!(!t.touches("no_of"));
        assert!(t.contains("audit") && !t.contains("aud"));
    }
}
