//! Parsing `### T-{ABBREV}-NNN: Title` tactic blocks out of a Duke proposal.
//!
//! Tolerant of everything around the blocks (other sections, risk blocks,
//! prose, unknown field lines); strict about the blocks themselves: a malformed
//! header, a field line cut short, a block without any field line, or a
//! duplicate tactic id is an error naming its line. Inside a block, a
//! sub-heading (`#### Notes`) does not end it: the field lines after it still
//! belong to the tactic; a line right after a field line, indented or not,
//! continues its value; a leading UTF-8 BOM is skipped. [`check_against_json`]
//! compares the tactics with the proposal's JSON, so a markdown cut short or
//! edited is an error, not fewer tactics.

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

/// Most tactics one proposal may have (a decomposition asks for each, and
/// activates every task of each in one ledger batch).
pub const MAX_TACTICS_PER_PROPOSAL: usize = 10_000;

/// Parses every tactic block of a proposal, in document order.
pub fn parse_tactics(source: &str, markdown: &str) -> Result<Vec<Tactic>, InputError> {
    let markdown = markdown.strip_prefix('\u{feff}').unwrap_or(markdown);
    let mut tactics: Vec<(Tactic, usize)> = Vec::new();
    let mut block: Option<Block> = None;
    let mut in_fence = false;
    // Whether the previous line was a field's value (a field line or its continuation).
    let mut in_value = false;
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
            in_value = false;
            if level > 3 {
                if let Some(b) = block.as_mut() {
                    // A sub-heading of the tactic: prose under it is not a field's value.
                    b.last = None;
                    continue;
                }
            }
            close(block.take(), &mut tactics)?;
            if level == 3 && content.starts_with("T-") {
                if tactics.len() == MAX_TACTICS_PER_PROPOSAL {
                    return Err(InputError::new(
                        source,
                        format!("line {line_no}"),
                        format!(
                            "more than {MAX_TACTICS_PER_PROPOSAL} tactics in one proposal (the documented cap)"
                        ),
                    ));
                }
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
            in_value = true;
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
        } else if trimmed.is_empty() {
            in_value = false;
        } else if in_value || raw.starts_with([' ', '\t']) {
            // A line right after a field's value, or an indented one, continues it.
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

/// Checks parsed tactics against the proposal's JSON (`$.content.tactics`, or
/// `$.tactics`): the same ids in the same order, and the same text fields
/// (title, description, deliverable, rationale, prerequisites, duration, owner;
/// whitespace aside) wherever the JSON has one. A markdown cut short or edited is an error
/// naming both files. A JSON without a tactic list has nothing to compare.
pub fn check_against_json(
    md_source: &str,
    tactics: &[Tactic],
    json_source: &str,
    json: &serde_json::Value,
) -> Result<(), InputError> {
    let Some(listed) = json
        .pointer("/content/tactics")
        .or_else(|| json.get("tactics"))
        .and_then(|t| t.as_array())
    else {
        return Ok(());
    };
    let text = |v: &serde_json::Value, key: &str| {
        v.get(key)
            .and_then(|t| t.as_str())
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let want: Vec<String> = listed.iter().map(|t| text(t, "tactic_id")).collect();
    let got: Vec<&str> = tactics.iter().map(|t| t.tactic_id.as_str()).collect();
    if want != got {
        return Err(InputError::new(
            md_source,
            "tactics",
            format!(
                "{} tactic(s) ({}) but {json_source} lists {} ({}): the markdown is cut short or edited",
                got.len(),
                got.join(", "),
                want.len(),
                want.join(", ")
            ),
        ));
    }
    for (i, (t, j)) in tactics.iter().zip(listed).enumerate() {
        let same = |ours: &str, key: &str| {
            let theirs = text(j, key);
            theirs.is_empty() || ours.split_whitespace().collect::<Vec<_>>().join(" ") == theirs
        };
        let or_empty = |v: &Option<String>| v.clone().unwrap_or_default();
        for (key, ours) in [
            ("title", t.title.clone()),
            ("description", t.description.clone()),
            ("deliverable_id", or_empty(&t.deliverable_id)),
            ("rationale", or_empty(&t.rationale)),
            ("prerequisites", or_empty(&t.prerequisites)),
            ("estimated_duration", or_empty(&t.duration)),
            ("owner", or_empty(&t.owner)),
        ] {
            if !same(&ours, key) {
                return Err(InputError::new(
                    md_source,
                    format!("tactic {}", t.tactic_id),
                    format!(
                        "its {key} differs from {json_source} $.content.tactics[{i}].{key}: the markdown is cut short or edited"
                    ),
                ));
            }
        }
    }
    Ok(())
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

    #[test]
    fn a_bom_sub_headings_and_unindented_continuations_keep_every_field() {
        let md = "\u{feff}### T-AB-001: X\n- **Description:** first part\nsecond part\n#### Notes\nsome prose\n- **Owner:** duke_x\n- **Deliverable:** D-002\n";
        let t = parse_tactics("p.md", md).unwrap();
        assert_eq!(t[0].description, "first part second part");
        assert_eq!(t[0].owner.as_deref(), Some("duke_x"));
        assert_eq!(t[0].deliverable_id.as_deref(), Some("D-002"));
    }

    fn gusion_json() -> serde_json::Value {
        let t = parse_tactics("proposal_gusion.md", GUSION).unwrap();
        let tactics: Vec<serde_json::Value> = t
            .iter()
            .map(|t| {
                serde_json::json!({
                    "tactic_id": t.tactic_id, "title": t.title, "description": t.description,
                    "deliverable_id": t.deliverable_id, "rationale": t.rationale,
                    "prerequisites": t.prerequisites, "estimated_duration": t.duration,
                    "owner": t.owner,
                })
            })
            .collect();
        serde_json::json!({ "content": { "tactics": tactics } })
    }

    #[test]
    fn a_markdown_cut_after_its_first_tactic_names_both_files() {
        let cut: String = GUSION
            .lines()
            .take_while(|l| !l.starts_with("### T-GUSI-002"))
            .map(|l| format!("{l}\n"))
            .collect();
        let t = parse_tactics("proposal_gusion.md", &cut).unwrap();
        let e = check_against_json(
            "proposal_gusion.md",
            &t,
            "proposal_gusion.json",
            &gusion_json(),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(e, "proposal_gusion.md: tactics: 1 tactic(s) (T-GUSI-001) but proposal_gusion.json lists 3 (T-GUSI-001, T-GUSI-002, T-GUSI-003): the markdown is cut short or edited");
    }

    #[test]
    fn the_tactic_cap_is_enforced_with_the_line() {
        let md: String = (0..=MAX_TACTICS_PER_PROPOSAL)
            .map(|i| format!("### T-AB-{i:05}: X\n- **Description:** d\n"))
            .collect();
        let e = parse_tactics("p.md", &md).unwrap_err().to_string();
        assert!(
            e.starts_with("p.md: line 20001: more than 10000 tactics"),
            "{e}"
        );
    }

    /// Cut anywhere (every line, every point in it: all cuts, not a sample), the
    /// proposal either fails to load (parse or JSON check) or loads exactly as the
    /// whole one: never fewer tactics or shorter fields without an error.
    #[test]
    fn truncations_of_every_line_never_load_silently_short() {
        let whole = parse_tactics("p.md", GUSION).unwrap();
        let json = gusion_json();
        let mut loaded_whole = 0;
        for cut_at in (0..=GUSION.len()).filter(|&i| GUSION.is_char_boundary(i)) {
            let cut = &GUSION[..cut_at];
            if let Ok(t) = parse_tactics("p.md", cut) {
                if check_against_json("p.md", &t, "p.json", &json).is_ok() {
                    assert_eq!(t, whole, "cut at byte {cut_at} loaded short");
                    loaded_whole += 1;
                }
            }
        }
        // Cuts in the trailing risks section lose no tactic and load whole.
        assert!(loaded_whole > 0);
    }

    proptest::proptest! {
        /// Any text either parses or gives an error; never a panic.
        #[test]
        fn never_panics(s in "(### T-[A-Z]{0,3}-?[0-9]{0,3}:? ?[a-z ]{0,6}\n|- \\*\\*[A-Za-z ]{0,12}:?\\*{0,2} ?[a-z0-9-]{0,6}\n|  [a-z]{0,5}\n|## [A-Za-z]{0,5}\n|```\n){0,12}") {
            let _ = parse_tactics("p.md", &s);
        }
    }
}
