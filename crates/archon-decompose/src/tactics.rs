//! Parsing `### T-{ABBREV}-NNN: Title` tactic blocks out of a Duke proposal.
//!
//! Tolerant of everything around the blocks (other sections, risk blocks,
//! prose, unknown field lines); strict about the blocks themselves: a malformed
//! header, a field line cut short, a block without any field line, or a
//! duplicate tactic id is an error naming its line.

use archon_core::input::InputError;
use serde::Serialize;

/// One tactic of the winning proposal (`TacticContext` of the spec).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tactic {
    pub tactic_id: String,
    pub title: String,
    /// The `Description` field, or the title when there is none.
    pub description: String,
    pub deliverable_id: Option<String>,
    pub prerequisites: Option<String>,
    pub dependencies: Option<String>,
    pub duration: Option<String>,
    pub owner: Option<String>,
    pub rationale: Option<String>,
}

impl Tactic {
    /// `T-GUSI-001` → `TASK-GUSI-001`, the prefix of its task refs.
    pub fn task_ref_prefix(&self) -> String {
        format!(
            "TASK-{}",
            self.tactic_id.strip_prefix("T-").unwrap_or(&self.tactic_id)
        )
    }

    /// Every text field, for matching requirement ids and domains.
    pub fn text(&self) -> String {
        let fields = [
            Some(&self.title),
            Some(&self.description),
            self.rationale.as_ref(),
            self.prerequisites.as_ref(),
            self.dependencies.as_ref(),
        ];
        fields
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Description,
    Deliverable,
    Prerequisites,
    Dependencies,
    Duration,
    Owner,
    Rationale,
    /// A field the bridge does not read (tolerated).
    Other,
}

fn field_of(key: &str) -> Field {
    match key.trim().to_lowercase().as_str() {
        "description" => Field::Description,
        "deliverable" | "deliverable id" | "deliverables" => Field::Deliverable,
        "prerequisites" | "prerequisite" => Field::Prerequisites,
        "dependencies" | "dependency" => Field::Dependencies,
        "estimated duration" | "duration" => Field::Duration,
        "owner" => Field::Owner,
        "rationale" => Field::Rationale,
        _ => Field::Other,
    }
}

struct Block {
    tactic: Tactic,
    line: usize,
    fields_seen: usize,
    description: Option<String>,
    last: Option<Field>,
}

impl Block {
    fn slot(&mut self, f: Field) -> Option<&mut Option<String>> {
        match f {
            Field::Description => Some(&mut self.description),
            Field::Deliverable => Some(&mut self.tactic.deliverable_id),
            Field::Prerequisites => Some(&mut self.tactic.prerequisites),
            Field::Dependencies => Some(&mut self.tactic.dependencies),
            Field::Duration => Some(&mut self.tactic.duration),
            Field::Owner => Some(&mut self.tactic.owner),
            Field::Rationale => Some(&mut self.tactic.rationale),
            Field::Other => None,
        }
    }

    fn finish(mut self, source: &str) -> Result<Tactic, InputError> {
        if self.fields_seen == 0 {
            return Err(InputError::new(
                source,
                format!("line {}", self.line),
                format!(
                    "tactic {} has no field lines (- **Description:** …); the block looks truncated",
                    self.tactic.tactic_id
                ),
            ));
        }
        self.tactic.description = self
            .description
            .filter(|d| !d.trim().is_empty())
            .unwrap_or_else(|| self.tactic.title.clone());
        self.tactic.deliverable_id = self
            .tactic
            .deliverable_id
            .as_deref()
            .and_then(deliverable_token);
        Ok(self.tactic)
    }
}

/// `D-001 (Threat Intelligence Platform)` → `D-001`; `None` / `N/A` → nothing.
fn deliverable_token(value: &str) -> Option<String> {
    let token = value
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';' || c == '(')
        .find(|t| !t.is_empty())?
        .trim_end_matches(['.', ':', ')']);
    match token.to_lowercase().as_str() {
        "" | "none" | "n/a" | "-" | "tbd" => None,
        _ => Some(token.to_string()),
    }
}

/// `### Title` → `(3, "Title")`.
fn heading(line: &str) -> Option<(usize, &str)> {
    let level = line.chars().take_while(|&c| c == '#').count();
    if level == 0 || level > 6 {
        return None;
    }
    let rest = &line[level..];
    (rest.is_empty() || rest.starts_with(' ')).then(|| (level, rest.trim()))
}

/// `T-GUSI-001`: `T-`, upper-case letters or digits, `-`, digits.
pub fn is_tactic_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("T-") else {
        return false;
    };
    let Some((abbrev, number)) = rest.split_once('-') else {
        return false;
    };
    !abbrev.is_empty()
        && abbrev
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit())
}

fn parse_header(source: &str, line_no: usize, content: &str) -> Result<Tactic, InputError> {
    let at = format!("line {line_no}");
    let Some((id, title)) = content.split_once(':') else {
        return Err(InputError::new(
            source,
            at,
            format!("malformed tactic header {content:?}: expected `### T-ABBREV-NNN: Title`"),
        ));
    };
    let id = id.trim();
    if !is_tactic_id(id) {
        return Err(InputError::new(
            source,
            at,
            format!("malformed tactic id {id:?}: expected T-ABBREV-NNN (e.g. T-GUSI-001)"),
        ));
    }
    let title = title.trim();
    if title.is_empty() {
        return Err(InputError::new(
            source,
            at,
            format!("tactic {id} has no title"),
        ));
    }
    Ok(Tactic {
        tactic_id: id.to_string(),
        title: title.to_string(),
        description: String::new(),
        deliverable_id: None,
        prerequisites: None,
        dependencies: None,
        duration: None,
        owner: None,
        rationale: None,
    })
}

/// `- **Key:** value` or `- **Key**: value` → `(key, value)`; `None` when the
/// line is bold but not a complete field (cut short).
fn field_line(trimmed: &str) -> Option<(&str, &str)> {
    let body = trimmed
        .strip_prefix("- ")
        .or_else(|| trimmed.strip_prefix("* "))
        .unwrap_or(trimmed)
        .trim_start()
        .strip_prefix("**")?;
    if let Some((key, value)) = body.split_once(":**") {
        return Some((key, value.trim()));
    }
    let (key, rest) = body.split_once("**")?;
    let value = rest.trim_start().strip_prefix(':')?;
    Some((key, value.trim()))
}

fn is_field_like(trimmed: &str) -> bool {
    ["- **", "* **", "**"]
        .iter()
        .any(|p| trimmed.starts_with(p))
}

/// Parses every tactic block of a proposal, in document order.
pub fn parse_tactics(source: &str, markdown: &str) -> Result<Vec<Tactic>, InputError> {
    let mut tactics: Vec<(Tactic, usize)> = Vec::new();
    let mut block: Option<Block> = None;
    let mut in_fence = false;
    let close = |block: Option<Block>, tactics: &mut Vec<(Tactic, usize)>| {
        if let Some(b) = block {
            let line = b.line;
            tactics.push((b.finish(source)?, line));
        }
        Ok::<(), InputError>(())
    };
    for (i, raw) in markdown.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim_end();
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        if let Some((level, content)) = heading(line) {
            close(block.take(), &mut tactics)?;
            if level == 3 && content.starts_with("T-") {
                let tactic = parse_header(source, line_no, content)?;
                if let Some((_, first)) = tactics
                    .iter()
                    .find(|(t, _)| t.tactic_id == tactic.tactic_id)
                {
                    return Err(InputError::new(
                        source,
                        format!("line {line_no}"),
                        format!(
                            "duplicate tactic id {} (first defined at line {first})",
                            tactic.tactic_id
                        ),
                    ));
                }
                block = Some(Block {
                    tactic,
                    line: line_no,
                    fields_seen: 0,
                    description: None,
                    last: None,
                });
            }
            continue;
        }
        let Some(b) = block.as_mut() else { continue };
        let trimmed = line.trim_start();
        if is_field_like(trimmed) {
            let Some((key, value)) = field_line(trimmed) else {
                return Err(InputError::new(
                    source,
                    format!("line {line_no}"),
                    format!(
                        "malformed field line in tactic {}: {trimmed:?} (expected `- **Field:** value`; truncated?)",
                        b.tactic.tactic_id
                    ),
                ));
            };
            let f = field_of(key);
            b.fields_seen += 1;
            b.last = Some(f);
            if let Some(slot) = b.slot(f) {
                if slot.is_some() {
                    return Err(InputError::new(
                        source,
                        format!("line {line_no}"),
                        format!("tactic {} gives {} twice", b.tactic.tactic_id, key.trim()),
                    ));
                }
                *slot = Some(value.to_string());
            }
        } else if raw.starts_with([' ', '\t']) && !trimmed.is_empty() {
            // An indented line continues the previous field's value.
            if let Some(f) = b.last {
                if let Some(Some(v)) = b.slot(f) {
                    v.push(' ');
                    v.push_str(trimmed);
                }
            }
        }
    }
    close(block.take(), &mut tactics)?;
    if tactics.is_empty() {
        return Err(InputError::new(
            source,
            "line 1",
            "no tactic blocks found: expected `### T-ABBREV-NNN: Title` headers with `- **Description:** …` field lines",
        ));
    }
    Ok(tactics.into_iter().map(|(t, _)| t).collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const GUSION: &str = include_str!("../tests/data/proposal_gusion.md");

    #[test]
    fn parses_the_spec_example() {
        let t = parse_tactics("proposal_gusion.md", GUSION).unwrap();
        insta::assert_json_snapshot!(t);
    }

    #[test]
    fn description_falls_back_to_title_and_extra_sections_are_ignored() {
        let md = "# P\n\n## Summary\ntext\n### Timeline\n- **Description:** not a tactic\n\n### T-AB-001: Only a title\n- **Owner:** duke_x\n- **Risk Level:** high\n\n#### Notes\n### R-AB-001: Risk\n- **Description:** r\n";
        let t = parse_tactics("p.md", md).unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].description, "Only a title");
        assert_eq!(t[0].owner.as_deref(), Some("duke_x"));
        assert_eq!(t[0].deliverable_id, None);
    }

    #[test]
    fn continuation_lines_and_bold_colon_variant() {
        let md = "### T-AB-001: X\n- **Description**: first part\n  second part\n- **Deliverable:** D-002 (Audit log)\n";
        let t = parse_tactics("p.md", md).unwrap();
        assert_eq!(t[0].description, "first part second part");
        assert_eq!(t[0].deliverable_id.as_deref(), Some("D-002"));
    }

    fn err(md: &str) -> String {
        parse_tactics("p.md", md).unwrap_err().to_string()
    }

    #[test]
    fn bad_blocks_name_their_lines() {
        assert_eq!(
            err("# P\nnothing here\n"),
            "p.md: line 1: no tactic blocks found: expected `### T-ABBREV-NNN: Title` headers with `- **Description:** …` field lines"
        );
        let e = err("### T-AB-001: X\n- **Description:** a\n\n### T-AB-002: Y\n");
        assert!(
            e.starts_with("p.md: line 4: tactic T-AB-002 has no field lines"),
            "{e}"
        );
        let e = err("### T-AB-001: X\n- **Description:** a\n- **Deliv");
        assert!(e.starts_with("p.md: line 3: malformed field line"), "{e}");
        let e = err(
            "### T-AB-001: X\n- **Description:** a\n### T-AB-001: again\n- **Description:** b\n",
        );
        assert_eq!(
            e,
            "p.md: line 3: duplicate tactic id T-AB-001 (first defined at line 1)"
        );
        let e = err("### T-AB-00");
        assert!(
            e.starts_with("p.md: line 1: malformed tactic header"),
            "{e}"
        );
        let e = err("### T-ab/../x-001: X\n- **Description:** a\n");
        assert!(e.starts_with("p.md: line 1: malformed tactic id"), "{e}");
    }

    proptest::proptest! {
        /// Any text either parses or gives an error; never a panic.
        #[test]
        fn never_panics(s in "(### T-[A-Z]{0,3}-?[0-9]{0,3}:? ?[a-z ]{0,6}\n|- \\*\\*[A-Za-z ]{0,12}:?\\*{0,2} ?[a-z0-9-]{0,6}\n|  [a-z]{0,5}\n|## [A-Za-z]{0,5}\n|```\n){0,12}") {
            let _ = parse_tactics("p.md", &s);
        }
    }
}
