//! The coercion filter: every text a cluster reads passes it before routing.
//! Patterns live in `data/coercion_patterns.toml` (documented there); this
//! module only parses them and applies them.

use archon_core::input::InputError;
use serde::{Deserialize, Serialize};

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

    /// A one-line account of the matches, e.g. `guilt_induction "you owe" in description`.
    pub fn summary(&self) -> String {
        let matches = match self {
            FilterOutcome::Accepted {
                transformations, ..
            } => transformations,
            FilterOutcome::Rejected { matches } | FilterOutcome::Blocked { matches } => matches,
        };
        matches
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
                let folded = fold(&p.phrase);
                if folded.iter().all(|c| c.is_whitespace()) {
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

    /// Non-overlapping whole-word matches, left to right, longest phrase first.
    fn find_all<'a>(&'a self, text: &str) -> Vec<(usize, usize, &'a Pattern)> {
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let at_word_start = i == 0 || !chars[i - 1].1.is_alphanumeric();
            let hit = at_word_start
                .then(|| {
                    self.patterns
                        .iter()
                        .find_map(|p| matches_at(&chars, i, &p.folded).map(|n| (n, p)))
                })
                .flatten();
            match hit {
                Some((n, p)) => {
                    let start = chars[i].0;
                    let end = chars.get(i + n).map_or(text.len(), |c| c.0);
                    out.push((start, end, p));
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

/// Case folding for matching: lower case, typographic apostrophes as `'`.
fn fold(text: &str) -> Vec<char> {
    text.chars().map(fold_char).collect()
}

fn fold_char(c: char) -> char {
    if c == '\u{2019}' {
        return '\'';
    }
    c.to_lowercase().next().unwrap_or(c)
}

/// Length in chars of a whole-word match of `phrase` at `i`, if any.
fn matches_at(chars: &[(usize, char)], i: usize, phrase: &[char]) -> Option<usize> {
    let window = chars.get(i..i + phrase.len())?;
    let same = window
        .iter()
        .zip(phrase)
        .all(|((_, c), p)| fold_char(*c) == *p);
    let at_word_end = chars
        .get(i + phrase.len())
        .is_none_or(|(_, c)| !c.is_alphanumeric());
    (same && at_word_end).then_some(phrase.len())
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
}
