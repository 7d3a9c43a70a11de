//! Clauses parsed from a motion's numbered sections (`SECTION 2: TITLE`,
//! `2.1 …`, `2.1.1 …`). Bullets and wrapped lines belong to the clause above
//! them. A motion without numbered clauses is split into paragraphs `P1`, `P2`, ….

use serde::{Deserialize, Serialize};

use crate::text::plain;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clause {
    /// `2.1.1`, or `P3` for an unnumbered paragraph.
    pub clause_ref: String,
    /// The top-level section (`2`, or `P3`).
    pub section: String,
    pub section_title: String,
    pub text: String,
}

impl Clause {
    /// How epics and citations name the clause: `Section 2.1: <text>`.
    pub fn citation(&self, max_words: usize) -> String {
        format!(
            "Section {}: {}",
            self.clause_ref,
            crate::text::snippet(&self.text, max_words)
        )
    }
}

/// Parses `text` into clauses, in document order.
pub fn parse_clauses(text: &str) -> Vec<Clause> {
    let mut clauses: Vec<Clause> = Vec::new();
    let mut section_title = String::new();
    let mut section_no: Option<String> = None;
    for raw in text.lines() {
        let line = plain(raw);
        if line.is_empty() {
            continue;
        }
        if let Some((no, title)) = section_heading(&line) {
            section_no = Some(no);
            section_title = title;
            continue;
        }
        if let Some((clause_ref, body)) = numbered(&line) {
            let section = clause_ref
                .split('.')
                .next()
                .unwrap_or(&clause_ref)
                .to_string();
            if section_no.as_deref() != Some(section.as_str()) {
                section_no = Some(section.clone());
                section_title = format!("Section {section}");
            }
            clauses.push(Clause {
                clause_ref,
                section,
                section_title: section_title.clone(),
                text: body,
            });
            continue;
        }
        // A bullet or wrapped line continues the clause above it.
        if let Some(last) = clauses.last_mut() {
            let item = line.trim_start_matches(['-', '*', '•']).trim();
            if !item.is_empty() {
                last.text.push(' ');
                last.text.push_str(item);
            }
        }
    }
    if clauses.is_empty() {
        return paragraphs(text);
    }
    clauses
}

fn paragraphs(text: &str) -> Vec<Clause> {
    text.split("\n\n")
        .map(|p| p.lines().map(plain).collect::<Vec<_>>().join(" "))
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .enumerate()
        .map(|(i, p)| {
            let r = format!("P{}", i + 1);
            Clause {
                clause_ref: r.clone(),
                section: r,
                section_title: format!("Paragraph {}", i + 1),
                text: p,
            }
        })
        .collect()
}

/// `SECTION 4: COGNITIVE SHADOWS` → (`4`, `Cognitive shadows`).
fn section_heading(line: &str) -> Option<(String, String)> {
    let prefix = line.get(..7)?;
    if !prefix.eq_ignore_ascii_case("SECTION") {
        return None;
    }
    let rest_orig = line.get(7..)?.trim_start();
    let digits: String = rest_orig
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    if digits.is_empty() {
        return None;
    }
    let title = rest_orig[digits.len()..]
        .trim_start_matches([':', '.', '-', '–', ' '])
        .trim();
    Some((digits, title_case(title)))
}

/// `2.1.3 The board shall…` → (`2.1.3`, `The board shall…`); needs at least one dot.
fn numbered(line: &str) -> Option<(String, String)> {
    let head: String = line
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let clause_ref = head.trim_end_matches('.');
    let parts: Vec<&str> = clause_ref.split('.').collect();
    if parts.len() < 2 || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let body = line[head.len()..].trim();
    if body.is_empty() || !line[head.len()..].starts_with(char::is_whitespace) {
        return None;
    }
    Some((clause_ref.to_string(), body.to_string()))
}

/// Headings in capitals read better in sentence case.
fn title_case(title: &str) -> String {
    if title.chars().any(|c| c.is_lowercase()) {
        return title.to_string();
    }
    let lower = title.to_lowercase();
    let mut chars = lower.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_clauses_and_bullets() {
        let text = "PREAMBLE\n\n**SECTION 1: FOUNDATIONAL PRINCIPLES**\n1.1 The Conclave mandates a framework, which shall:\n   1.1.1 Define principles of **trust**;\n   - Regular assessments;\n\n**SECTION 2: OVERSIGHT**\n2.1 Establish a board.\n";
        let c = parse_clauses(text);
        let refs: Vec<_> = c.iter().map(|c| c.clause_ref.as_str()).collect();
        assert_eq!(refs, ["1.1", "1.1.1", "2.1"]);
        assert_eq!(
            c[1].text,
            "Define principles of trust; Regular assessments;"
        );
        assert_eq!(c[0].section_title, "Foundational principles");
        assert_eq!(c[2].section, "2");
    }

    #[test]
    fn unnumbered_text_becomes_paragraphs() {
        let c = parse_clauses("First idea.\n\nSecond idea\ncontinued.");
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].clause_ref, "P2");
        assert_eq!(c[1].text, "Second idea continued.");
    }

    #[test]
    fn versions_and_decimals_are_not_clauses() {
        assert!(numbered("1.5% of budget").is_none());
        assert!(numbered("3. item").is_none());
        assert_eq!(numbered("3.2. Do it").expect("a clause").0, "3.2");
    }
}
