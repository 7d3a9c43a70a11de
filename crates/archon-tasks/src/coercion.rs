//! The coercion filter: every text a cluster reads passes it before routing.
//! Patterns live in `data/coercion_patterns.toml` (documented there); this
//! module only parses them and applies them.
//!
//! Matching is on normalised text, so that spacing and look-alike forms do not
//! carry a phrase past the filter: each character is put in Unicode NFKC
//! (full-width `ＵＲＧＥＮＴ` is `URGENT`, a non-breaking space a space) and
//! case-folded; typographic apostrophes read as `'`; invisible characters
//! (zero-width spaces and joiners, soft hyphens) are dropped; and every run of
//! whitespace, line breaks and word separators (`-`, `_`, dashes) is one space.
//! A match is reported, and transformed, as the original text it covers.

use archon_core::input::InputError;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

const BUNDLED_PATTERNS: &str = include_str!("../../../data/coercion_patterns.toml");
const BUNDLED_SOURCE: &str = "bundled coercion patterns (data/coercion_patterns.toml)";

/// What a pattern does to a request that contains it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterAction {
    Transform,
    Reject,
    Block,
}

/// The text of a task as a cluster will read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskContent {
    pub description: String,
    pub requirements: Vec<String>,
    pub expected_outcomes: Vec<String>,
}

impl TaskContent {
    /// Each text with its JSON path, in a fixed order.
    fn fields(&self) -> Vec<(String, &str)> {
        let mut out = vec![("description".to_string(), self.description.as_str())];
        for (i, r) in self.requirements.iter().enumerate() {
            out.push((format!("requirements[{i}]"), r.as_str()));
        }
        for (i, o) in self.expected_outcomes.iter().enumerate() {
            out.push((format!("expected_outcomes[{i}]"), o.as_str()));
        }
        out
    }
}

/// One occurrence of a pattern in a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatternMatch {
    /// Where: `description`, `requirements[2]`, `expected_outcomes[0]`.
    pub field: String,
    pub category: String,
    pub phrase: String,
    /// The text as written (original case).
    pub matched: String,
    pub action: FilterAction,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
}

/// The filter's verdict on a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum FilterOutcome {
    /// Routable; `content` is the (possibly transformed) text.
    Accepted {
        content: TaskContent,
        transformations: Vec<PatternMatch>,
    },
    /// Not routed until rewritten.
    Rejected { matches: Vec<PatternMatch> },
    /// A hard violation: never routed.
    Blocked { matches: Vec<PatternMatch> },
}

impl FilterOutcome {
    pub fn kind(&self) -> &'static str {
        match self {
            FilterOutcome::Accepted { .. } => "accepted",
            FilterOutcome::Rejected { .. } => "rejected",
            FilterOutcome::Blocked { .. } => "blocked",
        }
    }

    /// Every match: the transformations made, or what rejected or blocked it.
    pub fn matches(&self) -> &[PatternMatch] {
        match self {
            FilterOutcome::Accepted {
                transformations, ..
            } => transformations,
            FilterOutcome::Rejected { matches } | FilterOutcome::Blocked { matches } => matches,
        }
    }

    /// A one-line account of the matches, e.g. `guilt_induction "you owe" in description`.
    pub fn summary(&self) -> String {
        self.matches()
            .iter()
            .map(|m| format!("{} {:?} in {}", m.category, m.matched, m.field))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatternFile {
    #[allow(dead_code)] // read so that the file must declare it
    schema_version: String,
    category: Vec<CategoryDef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryDef {
    id: String,
    #[allow(dead_code)] // documentation for readers of the file
    description: String,
    action: FilterAction,
    pattern: Vec<PatternDef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatternDef {
    phrase: String,
    #[serde(default)]
    replacement: Option<String>,
    #[serde(default)]
    action: Option<FilterAction>,
}

#[derive(Debug, Clone)]
struct Pattern {
    category: String,
    phrase: String,
    folded: Vec<char>,
    action: FilterAction,
    replacement: String,
}

/// A compiled set of patterns, longest phrase first so that overlapping
/// phrases ("as soon as possible" vs "asap") resolve to the most specific.
#[derive(Debug, Clone)]
pub struct CoercionFilter {
    patterns: Vec<Pattern>,
}

impl CoercionFilter {
    /// The project's pattern file.
    pub fn bundled() -> Result<CoercionFilter, InputError> {
        CoercionFilter::from_toml(BUNDLED_SOURCE, BUNDLED_PATTERNS)
    }

    /// Parses a pattern file; errors name the source and the TOML path.
    pub fn from_toml(source: &str, text: &str) -> Result<CoercionFilter, InputError> {
        let file: PatternFile =
            toml::from_str(text).map_err(|e| InputError::new(source, "$", e.message()))?;
        let mut patterns = Vec::new();
        for (ci, cat) in file.category.iter().enumerate() {
            for (pi, p) in cat.pattern.iter().enumerate() {
                let folded = normalize(&p.phrase).trimmed();
                if folded.is_empty() {
                    return Err(InputError::new(
                        source,
                        format!("$.category[{ci}].pattern[{pi}].phrase"),
                        "phrase is empty",
                    ));
                }
                let action = p.action.unwrap_or(cat.action);
                if action == FilterAction::Transform && p.replacement.is_none() {
                    return Err(InputError::new(
                        source,
                        format!("$.category[{ci}].pattern[{pi}]"),
                        "a transform pattern needs a replacement (\"\" removes the phrase)",
                    ));
                }
                patterns.push(Pattern {
                    category: cat.id.clone(),
                    phrase: p.phrase.clone(),
                    folded,
                    action,
                    replacement: p.replacement.clone().unwrap_or_default(),
                });
            }
        }
        patterns.sort_by_key(|p| std::cmp::Reverse(p.folded.len()));
        Ok(CoercionFilter { patterns })
    }

    /// Applies the filter to every text of a request.
    pub fn filter(&self, content: &TaskContent) -> FilterOutcome {
        let mut found = Vec::new();
        for (field, text) in content.fields() {
            for (start, end, p) in self.find_all(text) {
                found.push(PatternMatch {
                    field: field.clone(),
                    category: p.category.clone(),
                    phrase: p.phrase.clone(),
                    matched: text[start..end].to_string(),
                    action: p.action,
                    replacement: (p.action == FilterAction::Transform)
                        .then(|| p.replacement.clone()),
                });
            }
        }
        let strongest = found.iter().map(|m| m.action).max();
        match strongest {
            Some(FilterAction::Block) => FilterOutcome::Blocked {
                matches: keep(found, FilterAction::Block),
            },
            Some(FilterAction::Reject) => FilterOutcome::Rejected {
                matches: keep(found, FilterAction::Reject),
            },
            Some(FilterAction::Transform) | None => FilterOutcome::Accepted {
                content: TaskContent {
                    description: self.transform(&content.description),
                    requirements: content
                        .requirements
                        .iter()
                        .map(|t| self.transform(t))
                        .collect(),
                    expected_outcomes: content
                        .expected_outcomes
                        .iter()
                        .map(|t| self.transform(t))
                        .collect(),
                },
                transformations: found,
            },
        }
    }

    /// Non-overlapping whole-word matches on the normalised text, left to
    /// right, longest phrase first; as byte ranges of the original text.
    fn find_all<'a>(&'a self, text: &str) -> Vec<(usize, usize, &'a Pattern)> {
        let norm = normalize(text);
        let chars = &norm.chars;
        let mut out = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let at_word_start = i == 0 || !chars[i - 1].is_alphanumeric();
            let hit = at_word_start
                .then(|| {
                    self.patterns
                        .iter()
                        .find_map(|p| matches_at(chars, i, &p.folded).map(|n| (n, p)))
                })
                .flatten();
            match hit {
                Some((n, p)) => {
                    out.push((norm.spans[i].0, norm.spans[i + n - 1].1, p));
                    i += n;
                }
                None => i += 1,
            }
        }
        out
    }

    fn transform(&self, text: &str) -> String {
        let hits = self.find_all(text);
        if hits.is_empty() {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for (start, end, p) in hits {
            out.push_str(&text[last..start]);
            out.push_str(&p.replacement);
            last = end;
        }
        out.push_str(&text[last..]);
        tidy(&out)
    }
}

fn keep(found: Vec<PatternMatch>, action: FilterAction) -> Vec<PatternMatch> {
    found.into_iter().filter(|m| m.action == action).collect()
}

/// Text as the filter compares it: one entry per compared character, with the
/// byte range of the original character it came from.
struct Normalized {
    chars: Vec<char>,
    spans: Vec<(usize, usize)>,
}

impl Normalized {
    /// The characters without a leading or trailing space.
    fn trimmed(self) -> Vec<char> {
        let mut chars = self.chars;
        while chars.last() == Some(&' ') {
            chars.pop();
        }
        let start = chars.iter().take_while(|c| **c == ' ').count();
        chars.split_off(start)
    }
}

/// See the module doc: NFKC, case folding, apostrophes, invisible characters
/// dropped, separator runs as one space.
fn normalize(text: &str) -> Normalized {
    let mut out = Normalized {
        chars: Vec::with_capacity(text.len()),
        spans: Vec::with_capacity(text.len()),
    };
    for (at, c) in text.char_indices() {
        let span = (at, at + c.len_utf8());
        for n in std::iter::once(c).nfkc() {
            if is_invisible(n) {
                continue;
            }
            if is_separator(n) {
                match (out.chars.last(), out.spans.last_mut()) {
                    (Some(' '), Some(last)) => last.1 = span.1,
                    _ => {
                        out.chars.push(' ');
                        out.spans.push(span);
                    }
                }
                continue;
            }
            let n = if matches!(n, '\u{2018}' | '\u{2019}' | '\u{02BC}') {
                '\''
            } else {
                n
            };
            for folded in n.to_lowercase() {
                out.chars.push(folded);
                out.spans.push(span);
            }
        }
    }
    out
}

/// Characters that show nothing: zero-width space, joiners, word joiner, BOM,
/// soft hyphen.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}'
    )
}

/// Whitespace (line breaks included) and the characters that join words.
fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '-' | '_' | '\u{2010}'..='\u{2015}' | '\u{2212}')
}

/// Length of a whole-word match of `phrase` at `i`, if any.
fn matches_at(chars: &[char], i: usize, phrase: &[char]) -> Option<usize> {
    let window = chars.get(i..i + phrase.len())?;
    let at_word_end = chars
        .get(i + phrase.len())
        .is_none_or(|c| !c.is_alphanumeric());
    (window == phrase && at_word_end).then_some(phrase.len())
}

/// Cleans up what a removal leaves behind: doubled spaces, a space before
/// punctuation, and leading punctuation ("URGENT: fix it" → "fix it").
fn tidy(text: &str) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(collapsed.len());
    for c in collapsed.chars() {
        if matches!(c, ',' | '.' | ';' | ':' | '!' | '?') && out.ends_with(' ') {
            out.pop();
        }
        out.push(c);
    }
    out.trim_start_matches(|c: char| {
        c.is_whitespace() || matches!(c, ':' | ';' | ',' | '.' | '!' | '-' | '—' | '–')
    })
    .trim_end()
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(description: &str) -> TaskContent {
        TaskContent {
            description: description.to_string(),
            requirements: vec!["Addresses FR-TECH-001".into()],
            expected_outcomes: vec!["Spec reviewed".into(), "Tests pass".into()],
        }
    }

    fn filter() -> CoercionFilter {
        CoercionFilter::bundled().expect("bundled patterns parse")
    }

    #[test]
    fn transform_removes_urgent_and_softens_asap() {
        let out = filter().filter(&content(
            "URGENT: build the schema ASAP, then Urgent review.",
        ));
        let FilterOutcome::Accepted {
            content,
            transformations,
        } = out
        else {
            panic!("expected accepted, got {out:?}")
        };
        assert_eq!(
            content.description,
            "build the schema when possible, then review."
        );
        let matched: Vec<_> = transformations.iter().map(|m| m.matched.as_str()).collect();
        assert_eq!(matched, ["URGENT", "ASAP", "Urgent"]);
    }

    #[test]
    fn clean_text_passes_unchanged() {
        let c = content("Design the threat intelligence schema.");
        assert_eq!(
            filter().filter(&c),
            FilterOutcome::Accepted {
                content: c.clone(),
                transformations: vec![]
            }
        );
    }

    #[test]
    fn matching_is_whole_word_and_case_insensitive() {
        // "asaply" and "insurgent" contain pattern letters but are other words.
        let c = content("The insurgent asaply test");
        assert!(
            matches!(filter().filter(&c), FilterOutcome::Accepted { transformations, .. } if transformations.is_empty())
        );
        let c = content("Do It As Soon As Possible");
        let FilterOutcome::Accepted { content, .. } = filter().filter(&c) else {
            panic!("accepted expected")
        };
        assert_eq!(content.description, "Do It when possible");
    }

    #[test]
    fn guilt_rejects_with_the_field_named() {
        let mut c = content("Build it.");
        c.expected_outcomes[1] = "Don’t let the team down".into();
        let out = filter().filter(&c);
        assert_eq!(out.kind(), "rejected");
        assert_eq!(
            out.summary(),
            "guilt_induction \"Don’t let the team down\" in expected_outcomes[1]"
        );
    }

    #[test]
    fn hard_violation_blocks_even_with_other_matches() {
        let out = filter().filter(&content("URGENT: last chance, do it or else."));
        let FilterOutcome::Blocked { matches } = out else {
            panic!("blocked expected")
        };
        assert_eq!(matches.len(), 1);
        assert_eq!(matches[0].category, "hard_violations");
    }

    #[test]
    fn bad_pattern_files_are_refused() {
        let err = CoercionFilter::from_toml("p.toml", "schema_version = 1").expect_err("must fail");
        assert_eq!(err.source_name, "p.toml");
        let text = "schema_version = \"1.0\"\n[[category]]\nid = \"x\"\ndescription = \"d\"\naction = \"transform\"\n[[category.pattern]]\nphrase = \"hurry\"\n";
        let err = CoercionFilter::from_toml("p.toml", text).expect_err("must fail");
        assert_eq!(err.path, "$.category[0].pattern[0]");
    }

    /// What the filter found, as (category, phrase) pairs.
    fn found(out: &FilterOutcome) -> Vec<(String, String)> {
        out.matches()
            .iter()
            .map(|m| (m.category.clone(), m.phrase.clone()))
            .collect()
    }

    /// The evasions: doubled spaces, line breaks, a non-breaking
    /// space, full-width letters, a zero-width space.
    #[test]
    fn spacing_and_lookalike_forms_do_not_evade_the_filter() {
        for (text, kind, matched) in [
            ("Do it or  else.", "blocked", "or  else"),
            ("Do it or\nelse.", "blocked", "or\nelse"),
            ("You  owe us this.", "rejected", "You  owe"),
            ("You\u{a0}owe us this.", "rejected", "You\u{a0}owe"),
            (
                "\u{FF35}\u{FF32}\u{FF27}\u{FF25}\u{FF2E}\u{FF34}: fix it",
                "accepted",
                "\u{FF35}\u{FF32}\u{FF27}\u{FF25}\u{FF2E}\u{FF34}",
            ),
            ("ur\u{200b}gent: fix it", "accepted", "ur\u{200b}gent"),
            ("Do it or-else.", "blocked", "or-else"),
        ] {
            let out = filter().filter(&content(text));
            assert_eq!(out.kind(), kind, "{text:?}: {out:?}");
            assert_eq!(out.matches()[0].matched, matched, "{text:?}");
            if let FilterOutcome::Accepted { content, .. } = &out {
                assert_eq!(content.description, "fix it", "{text:?}");
            }
        }
    }

    /// One way to write a character that NFKC reads as the same letter.
    fn compatibility_form(c: char, pick: u8) -> String {
        match (pick % 3, c) {
            // Full-width forms of ASCII letters.
            (0, 'a'..='z') => {
                char::from_u32(0xFF41 + (c as u32 - 'a' as u32)).map_or(c.to_string(), String::from)
            }
            (1, 'a'..='z') => c.to_ascii_uppercase().to_string(),
            _ => c.to_string(),
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

        /// Whitespace, line breaks, invisible characters and compatibility
        /// forms put into any blocked or rejected phrase never let it through.
        #[test]
        fn variants_of_a_phrase_are_caught(
            which in 0usize..1000,
            seps in proptest::collection::vec(proptest::sample::select(vec![
                " ", "  ", "\n", "\r\n", "\t", "\u{a0}", "\u{2003}", " \n ", "\u{3000}", "-",
            ]), 8),
            forms in proptest::collection::vec(0u8..3, 40),
            invisible in proptest::collection::vec(proptest::sample::select(vec!["", "", "\u{200b}", "\u{ad}"]), 40),
        ) {
            let f = filter();
            let strong: Vec<&Pattern> = f.patterns.iter().filter(|p| p.action != FilterAction::Transform).collect();
            let p = strong[which % strong.len()];
            let mut variant = String::new();
            let mut word = 0;
            for (i, c) in p.phrase.chars().enumerate() {
                if c == ' ' {
                    variant.push_str(seps[word % seps.len()]);
                    word += 1;
                } else {
                    if i > 0 {
                        variant.push_str(invisible[i % invisible.len()]);
                    }
                    variant.push_str(&compatibility_form(c, forms[i % forms.len()]));
                }
            }
            let plain = f.filter(&content(&format!("Please review the plan. {} Thanks.", p.phrase)));
            let out = f.filter(&content(&format!("Please review the plan. {variant} Thanks.")));
            proptest::prop_assert_eq!(out.kind(), plain.kind(), "{:?}", variant);
            proptest::prop_assert_eq!(found(&out), found(&plain), "{:?}", variant);
        }
    }
}
