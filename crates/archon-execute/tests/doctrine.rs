//! The doctrine checker passes on the shipped doctrine and catches a copy that
//! breaks each of the eight criteria, at the right file and line.

#![allow(clippy::unwrap_used)]

use archon_execute::doctrine::{assemble, check, shipped, DoctrineFile};

#[test]
fn shipped_doctrine_meets_all_eight_criteria() {
    let violations = check(&shipped());
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn skill_md_assembles_every_file_with_the_tenet() {
    let skill = assemble(&shipped()).unwrap();
    assert!(skill.contains("Execution starts when required input fields are complete."));
    for heading in [
        "## Tenets",
        "### Input Validation",
        "### Step 1: Delegate Test Implementation",
        "### Return Contract",
        "### Required Input Fields",
        "## Reference: Execution Stage Report template",
    ] {
        assert!(skill.contains(heading), "{heading}");
    }
    let mut without_template = shipped();
    without_template.retain(|f| f.path != "references/template.md");
    assert_eq!(
        assemble(&without_template).unwrap_err().to_string(),
        "doctrine file references/template.md is missing"
    );
}

/// Where the violation is expected: the edited line, or a fixed line.
enum Line {
    OfEdit,
    Fixed(usize),
}

struct Breakage {
    criterion: u8,
    file: &'static str,
    find: &'static str,
    replace: &'static str,
    line: Line,
}

const BREAKAGES: [Breakage; 8] = [
    Breakage {
        criterion: 1,
        file: "ethos/tenets.md",
        find: "Execution starts when required input fields are complete.",
        replace: "Execution starts when intake contract fields are complete.",
        line: Line::OfEdit,
    },
    Breakage {
        criterion: 2,
        file: "doctrine/handoff-contract.md",
        find: "Execution-lead owns all work from invocation to return.",
        replace: "Execution ownership transfers from tech-lead to execution-lead.",
        line: Line::OfEdit,
    },
    Breakage {
        criterion: 3,
        file: "references/template.md",
        find: "- Blocker ownership:",
        replace: "If running: blocker ownership:",
        line: Line::OfEdit,
    },
    Breakage {
        criterion: 4,
        file: "doctrine/output-contract.md",
        find: "event ledger entries for stage outcome",
        replace: "event ledger entries for handoff-received, stage outcome",
        line: Line::OfEdit,
    },
    Breakage {
        criterion: 5,
        file: "references/template.md",
        find: "- Outcome: complete | blocked | escalated",
        replace: "- Outcome: complete | blocked | escalated | running-with-evidence",
        line: Line::OfEdit,
    },
    Breakage {
        criterion: 6,
        file: "doctrine/process.md",
        find: "## Input Validation",
        replace: "## Step 1: Input Validation",
        line: Line::OfEdit,
    },
    Breakage {
        criterion: 7,
        file: "doctrine/orchestration.md",
        find: "## Return Contract",
        replace: "## Intake Return Rule",
        line: Line::OfEdit,
    },
    Breakage {
        criterion: 8,
        file: "doctrine/output-contract.md",
        find: "Input fields and preconditions are defined in handoff-contract.md.",
        replace: "Input fields and preconditions are defined by the caller.",
        line: Line::Fixed(1),
    },
];

#[test]
fn each_broken_criterion_is_reported_with_file_and_line() {
    for b in BREAKAGES {
        let mut files: Vec<DoctrineFile> = shipped();
        let file = files.iter_mut().find(|f| f.path == b.file).unwrap();
        let at = file
            .text
            .find(b.find)
            .unwrap_or_else(|| panic!("{}: {:?} not found", b.file, b.find));
        let edited_line = file.text[..at].matches('\n').count() + 1;
        file.text = file.text.replacen(b.find, b.replace, 1);
        let line = match b.line {
            Line::OfEdit => edited_line,
            Line::Fixed(n) => n,
        };
        let violations = check(&files);
        let hit = violations
            .iter()
            .find(|v| v.criterion == b.criterion && v.file == b.file && v.line == Some(line));
        assert!(
            hit.is_some(),
            "criterion {} not reported at {}:{line}; got {violations:#?}",
            b.criterion,
            b.file
        );
        let shown = hit.map(|v| v.to_string()).unwrap_or_default();
        assert!(
            shown.starts_with(&format!("{}:{line}: criterion {}:", b.file, b.criterion)),
            "{shown}"
        );
    }
}

#[test]
fn knowledge_transfer_is_allowed_and_a_missing_contract_is_named() {
    let mut files = shipped();
    if let Some(f) = files.iter_mut().find(|f| f.path == "ethos/principles.md") {
        f.text
            .push_str("- Knowledge transfer between delegates is welcome.\n");
    }
    assert!(check(&files).is_empty());
    files.retain(|f| f.path != "doctrine/handoff-contract.md");
    let shown: Vec<String> = check(&files).iter().map(|v| v.to_string()).collect();
    assert_eq!(
        shown,
        [
            "doctrine/handoff-contract.md: required file: doctrine file is missing (every shipped file is required)",
            "doctrine/handoff-contract.md: criterion 8: file is missing"
        ]
    );
}

/// The variants of issue #16 that once passed the check: each is now reported
/// at its file and line.
#[test]
fn spelling_numbering_and_field_variants_fail_at_their_file_and_line() {
    // (file, text appended as a new last line or replacing `find`, criterion)
    let variants: [(&str, Option<&str>, &str, u8); 9] = [
        (
            "doctrine/output-contract.md",
            None,
            "Write the handoff_received event first.",
            4,
        ),
        (
            "doctrine/output-contract.md",
            None,
            "Write the Handoff Received event first.",
            4,
        ),
        (
            "doctrine/pipeline.md",
            None,
            "Return running with evidence when slow.",
            5,
        ),
        (
            "doctrine/pipeline.md",
            None,
            "Return running_with_evidence when slow.",
            5,
        ),
        (
            "references/template.md",
            None,
            "- Stage outcome: complete | in progress",
            3,
        ),
        (
            "references/template.md",
            None,
            "- Status: done | running",
            3,
        ),
        (
            "doctrine/process.md",
            Some("## Input Validation"),
            "## 1. Input Validation",
            6,
        ),
        ("ethos/notes.txt", None, "Every intake is logged.", 1),
        (
            "doctrine/team-contract.md",
            None,
            "- **Status**: running",
            3,
        ),
    ];
    for (file, find, text, criterion) in variants {
        let mut files = shipped();
        let line = match files.iter_mut().find(|f| f.path == file) {
            Some(f) => match find {
                Some(find) => {
                    let at = f.text.find(find).unwrap();
                    let line = f.text[..at].matches('\n').count() + 1;
                    f.text = f.text.replacen(find, text, 1);
                    line
                }
                None => {
                    f.text.push_str(text);
                    f.text.push('\n');
                    f.text.lines().count()
                }
            },
            None => {
                files.push(DoctrineFile {
                    path: file.into(),
                    text: format!("{text}\n"),
                });
                1
            }
        };
        let violations = check(&files);
        assert!(
            violations
                .iter()
                .any(|v| v.criterion == criterion && v.file == file && v.line == Some(line)),
            "{text:?} not reported at {file}:{line} (criterion {criterion}): {violations:#?}"
        );
    }
    let mut without_tenets = shipped();
    without_tenets.retain(|f| f.path != "ethos/tenets.md");
    let shown: Vec<String> = check(&without_tenets)
        .iter()
        .map(|v| v.to_string())
        .collect();
    assert_eq!(
        shown,
        ["ethos/tenets.md: required file: doctrine file is missing (every shipped file is required)"]
    );
}
