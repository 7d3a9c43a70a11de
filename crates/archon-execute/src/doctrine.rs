//! The execution lead's doctrine (`data/doctrine/`): the shipped files, their
//! assembly into SKILL.md (the prompt document of the agent delegate), and the
//! checker of the spec's eight verification criteria. The checker reads text
//! normalised (case folded, `_`, `-` and runs of spaces as one space), so
//! `handoff_received` or `Running With Evidence` are caught like the spelling
//! of the spec; numbered headings (`## 1. Input Validation`) are read as
//! numbered, whatever the numbering style; outcome and status fields anywhere
//! may name only the three terminal values; every shipped file must be present.

use std::fmt;

use crate::report::SECTIONS;

/// One doctrine file: its path relative to the doctrine root (`/`-separated) and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoctrineFile {
    pub path: String,
    pub text: String,
}

macro_rules! shipped_file {
    ($rel:literal) => {
        ($rel, include_str!(concat!("../../../data/doctrine/", $rel)))
    };
}

/// The shipped doctrine in assembly order.
const SHIPPED: [(&str, &str); 9] = [
    shipped_file!("ethos/tenets.md"),
    shipped_file!("ethos/principles.md"),
    shipped_file!("doctrine/process.md"),
    shipped_file!("doctrine/orchestration.md"),
    shipped_file!("doctrine/handoff-contract.md"),
    shipped_file!("doctrine/output-contract.md"),
    shipped_file!("doctrine/team-contract.md"),
    shipped_file!("doctrine/pipeline.md"),
    shipped_file!("references/template.md"),
];

/// The files SKILL.md is assembled from, in order.
pub fn assembly_order() -> impl Iterator<Item = &'static str> {
    SHIPPED.iter().map(|(path, _)| *path)
}

/// The doctrine compiled into the binary.
pub fn shipped() -> Vec<DoctrineFile> {
    SHIPPED
        .iter()
        .map(|(path, text)| DoctrineFile {
            path: (*path).to_string(),
            text: (*text).to_string(),
        })
        .collect()
}

/// Directories whose files are operational (criterion 1 and 2).
const OPERATIONAL_DIRS: [&str; 4] = ["truth/", "ethos/", "doctrine/", "references/"];
const TEMPLATE: &str = "references/template.md";
const PROCESS: &str = "doctrine/process.md";
const ORCHESTRATION: &str = "doctrine/orchestration.md";
const HANDOFF_CONTRACT: &str = "doctrine/handoff-contract.md";
const OUTPUT_CONTRACT: &str = "doctrine/output-contract.md";

/// The spec's eight verification criteria, by number.
pub const CRITERIA: [&str; 8] = [
    "\"intake\" appears zero times in operational files",
    "\"transfer\" as an ownership/state transition appears zero times",
    "the template has one outcome field with three values and zero conditional branches",
    "the handoff-received ledger event does not exist",
    "running-with-evidence does not appear anywhere",
    "process.md has unnumbered validation preambles and numbered steps starting at 1",
    "orchestration.md has a positive Return Contract",
    "handoff-contract.md and output-contract.md cross-reference each other",
];

/// One broken criterion at a place in a file (`line` is `None` when the file is missing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub criterion: u8,
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

/// The criterion number of a required file that is missing (not one of the eight).
pub const REQUIRED_FILES: u8 = 0;

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: ", self.file)?,
            None => write!(f, "{}: ", self.file)?,
        }
        match self.criterion {
            REQUIRED_FILES => write!(f, "required file: {}", self.message),
            n => write!(f, "criterion {n}: {}", self.message),
        }
    }
}

/// Case folded, `_` and `-` as spaces, runs of whitespace as one space.
fn normalise(text: &str) -> String {
    text.to_lowercase()
        .replace(['_', '-'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The three values a return may take.
const TERMINAL: [&str; 3] = ["complete", "blocked", "escalated"];

/// A field line whose label is an outcome or a status (`- Stage outcome: a | b`,
/// `**Status**: done`), with its values; `None` for other lines, for labels of
/// more than three words (prose that happens to end in "outcome") and for a
/// label with no value.
fn outcome_field(line: &str) -> Option<(String, Vec<String>)> {
    let body = line.trim_start().trim_start_matches(['-', '*', ' ']);
    let (label, values) = body.split_once(':')?;
    let label = normalise(label.trim_matches('*'));
    let words = label.split(' ').count();
    if words > 3 || !(label.ends_with("outcome") || label.ends_with("status")) {
        return None;
    }
    let values: Vec<String> = values
        .trim_start_matches('*')
        .split('|')
        .map(|v| v.trim().trim_matches('`').to_lowercase())
        .filter(|v| !v.is_empty())
        .collect();
    (!values.is_empty()).then_some((label, values))
}

/// `1. Title`, `1) Title`, `1: Title`, `1 - Title` → `Some(("1", "Title"))`.
fn numbered(heading: &str) -> Option<(&str, &str)> {
    let end = heading.find(|c: char| !c.is_ascii_digit())?;
    if end == 0 {
        return None;
    }
    let rest = heading[end..].trim_start_matches(['.', ')', ':', '-', ' ']);
    (rest.len() < heading[end..].len()).then(|| (&heading[..end], rest.trim()))
}

/// A heading's title without its number, if it has one.
fn title(heading: &str) -> &str {
    numbered(heading).map_or(heading, |(_, t)| t)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("doctrine file {0} is missing")]
pub struct MissingFile(pub String);

fn find<'a>(files: &'a [DoctrineFile], path: &str) -> Option<&'a DoctrineFile> {
    files.iter().find(|f| f.path == path)
}

/// Demotes markdown headings by one level outside code fences, so each file nests
/// under its own section of SKILL.md.
fn demote(text: &str) -> String {
    let mut fenced = false;
    let mut out = String::with_capacity(text.len() + 32);
    for line in text.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
        }
        if !fenced && line.starts_with('#') {
            out.push('#');
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Assembles SKILL.md from the doctrine files, in [`assembly_order`].
pub fn assemble(files: &[DoctrineFile]) -> Result<String, MissingFile> {
    let mut out = String::from(
        "---\nname: execution-lead\ndescription: Executes a task accepted by a cluster as a function f(input) -> complete | blocked | escalated, delegating test implementation, implementation and validation.\n---\n\n# Execution Lead\n\n<!-- Assembled by `archon doctrine assemble` from data/doctrine; edit the sources. -->\n",
    );
    for path in assembly_order() {
        let file = find(files, path).ok_or_else(|| MissingFile(path.to_string()))?;
        out.push_str(&format!("\n<!-- {path} -->\n\n"));
        if path == TEMPLATE {
            out.push_str("## Reference: Execution Stage Report template\n\n```markdown\n");
            out.push_str(file.text.trim_end());
            out.push_str("\n```\n");
        } else {
            out.push_str(&demote(file.text.trim_end()));
        }
    }
    Ok(out)
}

/// Checks the eight criteria; violations in criterion, file and line order.
pub fn check(files: &[DoctrineFile]) -> Vec<Violation> {
    let mut v = Vec::new();
    for path in assembly_order() {
        if find(files, path).is_none() {
            v.push(Violation {
                criterion: REQUIRED_FILES,
                file: path.into(),
                line: None,
                message: "doctrine file is missing (every shipped file is required)".into(),
            });
        }
    }
    for file in files {
        let operational = OPERATIONAL_DIRS.iter().any(|d| file.path.starts_with(d));
        for (i, line) in file.text.lines().enumerate() {
            let lower = normalise(line);
            let mut at = |criterion: u8, message: String| {
                v.push(Violation {
                    criterion,
                    file: file.path.clone(),
                    line: Some(i + 1),
                    message,
                })
            };
            if operational && lower.contains("intake") {
                at(1, "\"intake\" in an operational file: say input".into());
            }
            if operational && transfers_ownership(&lower) {
                at(
                    2,
                    "\"transfer\" as an ownership transition: say invocation".into(),
                );
            }
            if lower.contains("handoff received") {
                at(4, "the handoff-received event must not exist".into());
            }
            if lower.contains("running with evidence") {
                at(5, "running-with-evidence is not an outcome".into());
            }
            // The template's own outcome field is checked exactly by check_template.
            let template_outcome = file.path == TEMPLATE && template_outcome_values(line).is_some();
            if let Some((label, values)) = outcome_field(line).filter(|_| !template_outcome) {
                let others: Vec<&String> = values
                    .iter()
                    .filter(|x| !TERMINAL.contains(&x.as_str()))
                    .collect();
                if !others.is_empty() {
                    at(
                        3,
                        format!(
                            "the {label} field may only take complete | blocked | escalated, found {}",
                            others.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(" | ")
                        ),
                    );
                }
            }
        }
    }
    check_template(files, &mut v);
    check_process(files, &mut v);
    check_orchestration(files, &mut v);
    check_cross_reference(files, &mut v);
    v.sort_by(|a, b| (a.criterion, &a.file, a.line).cmp(&(b.criterion, &b.file, b.line)));
    v
}

/// Every "transfer" word except "knowledge transfer".
fn transfers_ownership(lower: &str) -> bool {
    lower.match_indices("transfer").any(|(i, _)| {
        let before = lower[..i].trim_end();
        !before.ends_with("knowledge")
    })
}

fn missing(criterion: u8, path: &str) -> Violation {
    Violation {
        criterion,
        file: path.into(),
        line: None,
        message: "file is missing".into(),
    }
}

fn violation(criterion: u8, path: &str, line: usize, message: impl Into<String>) -> Violation {
    Violation {
        criterion,
        file: path.into(),
        line: Some(line),
        message: message.into(),
    }
}

/// `## Heading` lines with their 1-based line numbers, outside code fences.
fn headings(text: &str) -> Vec<(usize, &str)> {
    let mut fenced = false;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("```") {
            fenced = !fenced;
        }
        if let Some(h) = line.strip_prefix("## ").filter(|_| !fenced) {
            out.push((i + 1, h.trim()));
        }
    }
    out
}

/// Criterion 3: one outcome field with exactly complete | blocked | escalated,
/// no conditional branches, and the seven sections in order.
fn check_template(files: &[DoctrineFile], v: &mut Vec<Violation>) {
    let Some(file) = find(files, TEMPLATE) else {
        v.push(missing(3, TEMPLATE));
        return;
    };
    let mut outcome_fields = Vec::new();
    for (i, line) in file.text.lines().enumerate() {
        let n = i + 1;
        let body = line.trim_start().trim_start_matches(['-', '*', ' ']);
        let lower = body.to_lowercase();
        if let Some(values) = template_outcome_values(line) {
            outcome_fields.push(n);
            let values: Vec<String> = values
                .split('|')
                .map(|x| x.trim().trim_matches('`').to_string())
                .collect();
            if values != ["complete", "blocked", "escalated"] {
                v.push(violation(
                    3,
                    TEMPLATE,
                    n,
                    format!(
                        "the outcome field must list complete | blocked | escalated, found {:?}",
                        values.join(" | ")
                    ),
                ));
            }
        }
        let conditional = ["if ", "when ", "unless "]
            .iter()
            .any(|w| lower.starts_with(w))
            || ["{% if", "{{#if", "(if ", "if running"]
                .iter()
                .any(|w| lower.contains(w));
        if conditional {
            v.push(violation(
                3,
                TEMPLATE,
                n,
                "conditional branch in the template",
            ));
        }
    }
    match outcome_fields.as_slice() {
        [] => v.push(violation(3, TEMPLATE, 1, "no outcome field")),
        [_] => {}
        [_, extra @ ..] => {
            for n in extra {
                v.push(violation(3, TEMPLATE, *n, "a second outcome field"));
            }
        }
    }
    let found = headings(&file.text);
    let titles: Vec<&str> = found.iter().map(|(_, h)| title(h)).collect();
    if titles != SECTIONS {
        let line = found
            .iter()
            .zip(SECTIONS)
            .find(|((_, h), want)| title(h) != *want)
            .map_or(found.last().map_or(1, |(n, _)| *n), |((n, _), _)| *n);
        v.push(violation(
            3,
            TEMPLATE,
            line,
            format!(
                "sections must be exactly {} (found {})",
                SECTIONS.join(", "),
                titles.join(", ")
            ),
        ));
    }
}

/// The values of the template's `- Outcome:` field line.
fn template_outcome_values(line: &str) -> Option<&str> {
    let body = line.trim_start().trim_start_matches(['-', '*', ' ']);
    body.strip_prefix("Outcome:")
        .or_else(|| body.strip_prefix("**Outcome**:"))
}

fn step_number(heading: &str) -> Option<&str> {
    let rest = heading.strip_prefix("Step ")?;
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

/// Criterion 6: unnumbered Input Validation and Preconditions before Step 1,
/// steps numbered 1, 2, 3, ... and Escalation unnumbered.
fn check_process(files: &[DoctrineFile], v: &mut Vec<Violation>) {
    let Some(file) = find(files, PROCESS) else {
        v.push(missing(6, PROCESS));
        return;
    };
    let found = headings(&file.text);
    let first_step = found
        .iter()
        .find(|(_, h)| step_number(h).is_some())
        .map(|(n, _)| *n);
    for (preamble, words) in [
        (
            "Input Validation",
            &["input validation", "validate input"][..],
        ),
        ("Preconditions", &["precondition", "preflight"][..]),
    ] {
        let mut unnumbered = None;
        for (n, h) in &found {
            let lower = h.to_lowercase();
            if words.iter().any(|w| lower.contains(w)) {
                if step_number(h).is_some() || numbered(h).is_some() {
                    v.push(violation(
                        6,
                        PROCESS,
                        *n,
                        format!("{preamble} must be an unnumbered preamble, not a step"),
                    ));
                } else {
                    unnumbered.get_or_insert(*n);
                }
            }
        }
        match (unnumbered, first_step) {
            (None, _) => v.push(violation(
                6,
                PROCESS,
                1,
                format!("no unnumbered \"## {preamble}\" preamble"),
            )),
            (Some(n), Some(step)) if n > step => v.push(violation(
                6,
                PROCESS,
                n,
                format!("the {preamble} preamble must come before Step 1"),
            )),
            _ => {}
        }
    }
    let mut expected = 1u32;
    for (n, h) in &found {
        let Some(number) = step_number(h) else {
            continue;
        };
        if number.parse::<u32>().ok() != Some(expected) {
            v.push(violation(
                6,
                PROCESS,
                *n,
                format!("step numbered {number}, expected {expected} (steps start at 1 and follow in order)"),
            ));
        }
        if h.to_lowercase().contains("escalat") {
            v.push(violation(
                6,
                PROCESS,
                *n,
                "Escalation is an unnumbered return path, not a step",
            ));
        }
        expected += 1;
    }
    if first_step.is_none() {
        v.push(violation(6, PROCESS, 1, "no numbered steps"));
    }
}

/// Criterion 7: a `## Return Contract` that whitelists terminal outcomes, no
/// prohibition-style rule in its place.
fn check_orchestration(files: &[DoctrineFile], v: &mut Vec<Violation>) {
    let Some(file) = find(files, ORCHESTRATION) else {
        v.push(missing(7, ORCHESTRATION));
        return;
    };
    let lines: Vec<&str> = file.text.lines().collect();
    for (n, h) in headings(&file.text) {
        if h.to_lowercase().contains("return rule") {
            v.push(violation(
                7,
                ORCHESTRATION,
                n,
                format!("\"{h}\" is a prohibition-style rule: replace it with the Return Contract"),
            ));
        }
    }
    let Some((start, _)) = headings(&file.text)
        .into_iter()
        .find(|(_, h)| title(h) == "Return Contract")
    else {
        v.push(violation(
            7,
            ORCHESTRATION,
            1,
            "no \"## Return Contract\" section",
        ));
        return;
    };
    let section: Vec<(usize, &str)> = lines
        .iter()
        .enumerate()
        .skip(start)
        .take_while(|(_, l)| !l.starts_with("## "))
        .map(|(i, l)| (i + 1, *l))
        .collect();
    let has = |needle: &str| {
        section
            .iter()
            .any(|(_, l)| l.to_lowercase().contains(needle))
    };
    if !has("only with terminal outcomes") {
        v.push(violation(
            7,
            ORCHESTRATION,
            start,
            "the Return Contract must whitelist: return only with terminal outcomes",
        ));
    }
    if !has("input validation is not a terminal outcome") {
        v.push(violation(
            7,
            ORCHESTRATION,
            start,
            "the Return Contract must state: Input validation is not a terminal outcome.",
        ));
    }
    for (n, line) in &section {
        let lower = line
            .trim_start()
            .trim_start_matches(['-', '*', ' '])
            .to_lowercase();
        if ["do not ", "don't ", "never "]
            .iter()
            .any(|w| lower.starts_with(w))
        {
            v.push(violation(
                7,
                ORCHESTRATION,
                *n,
                "prohibition in the Return Contract: state what to return instead",
            ));
        }
    }
}

/// Criterion 8: the two contracts name each other.
fn check_cross_reference(files: &[DoctrineFile], v: &mut Vec<Violation>) {
    for (path, other) in [
        (HANDOFF_CONTRACT, "output-contract.md"),
        (OUTPUT_CONTRACT, "handoff-contract.md"),
    ] {
        match find(files, path) {
            None => v.push(missing(8, path)),
            Some(file) if !file.text.contains(other) => v.push(violation(
                8,
                path,
                1,
                format!("does not reference {other} (the other half of the function signature)"),
            )),
            Some(_) => {}
        }
    }
}
