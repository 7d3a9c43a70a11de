//! The Execution Stage Report: seven sections (references/template.md), one shape
//! for every outcome. The markdown is rendered by one code path with no branch on
//! the outcome; absent values print as `none`.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::delegate::{OutcomeCheck, Phase};
use crate::ledger::LedgerEntry;

/// The seven section titles, in order.
pub const SECTIONS: [&str; 7] = [
    "Metadata",
    "Work Performed",
    "Evidence Bundle",
    "Issues",
    "Scope",
    "Outcome",
    "Event Ledger",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeValue {
    Complete,
    Blocked,
    Escalated,
}

impl OutcomeValue {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeValue::Complete => "complete",
            OutcomeValue::Blocked => "blocked",
            OutcomeValue::Escalated => "escalated",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionStageReport {
    pub schema_version: String,
    pub metadata: Metadata,
    pub work_performed: WorkPerformed,
    pub evidence_bundle: EvidenceBundle,
    pub issues: Issues,
    pub scope: Scope,
    pub outcome: OutcomeSection,
    pub event_ledger: EventLedger,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    pub date: String,
    pub item_id: Option<String>,
    pub workspace: Option<String>,
    /// Top level of the git worktree holding the workspace, if any.
    pub worktree_path: Option<String>,
    pub report_path: Option<String>,
    pub input_source: Option<String>,
    pub handoff_issuer: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseStatus {
    /// Delegated in this invocation and passed.
    Delegated,
    /// A valid earlier output was verified instead of delegating again.
    Verified,
    /// Delegated in this invocation and did not pass (or the delegate failed).
    Failed,
    NotAttempted,
}

impl PhaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PhaseStatus::Delegated => "delegated",
            PhaseStatus::Verified => "verified",
            PhaseStatus::Failed => "failed",
            PhaseStatus::NotAttempted => "not attempted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseEntry {
    pub step: u8,
    pub phase: Phase,
    pub delegate: Option<String>,
    pub status: PhaseStatus,
    pub files_changed: Vec<String>,
    pub commits: Vec<String>,
    pub verification: Option<String>,
    /// Why a phase was not attempted.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkPerformed {
    pub phases: Vec<PhaseEntry>,
    pub delegations: u32,
    pub verified_without_delegation: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactRef {
    pub path: String,
    pub sha256: String,
    pub phase: Phase,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseEvidence {
    pub phase: Phase,
    pub lines: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceBundle {
    pub artifacts: Vec<ArtifactRef>,
    pub commits: Vec<String>,
    pub delegate_evidence: Vec<PhaseEvidence>,
    pub verification_results: Vec<OutcomeCheck>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutedDefect {
    pub defect: String,
    pub owner: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issues {
    pub critical: Vec<String>,
    pub unresolved_decisions: Vec<String>,
    pub upstream_defects: Vec<RoutedDefect>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeStatus {
    Met,
    NotMet,
    NotChecked,
}

impl ScopeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeStatus::Met => "met",
            ScopeStatus::NotMet => "not met",
            ScopeStatus::NotChecked => "not checked",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeItem {
    pub expected_outcome: String,
    pub status: ScopeStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scope {
    pub must_have: Vec<ScopeItem>,
    pub nice_to_have_deferrals: Vec<String>,
    pub accepted_risks: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockerCategory {
    InputValidation,
    Precondition,
    DelegateFailure,
    ValidationFailure,
    /// The steps ended without the evidence "complete" needs.
    MissingEvidence,
}

impl BlockerCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            BlockerCategory::InputValidation => "input_validation",
            BlockerCategory::Precondition => "precondition",
            BlockerCategory::DelegateFailure => "delegate_failure",
            BlockerCategory::ValidationFailure => "validation_failure",
            BlockerCategory::MissingEvidence => "missing_evidence",
        }
    }
}

/// Why the function stopped short of `complete`, who owns it and what unblocks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocker {
    pub category: BlockerCategory,
    pub detail: String,
    pub owner: String,
    pub next_action: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeSection {
    pub outcome: OutcomeValue,
    pub blocker_ownership: Option<String>,
    pub recommended_next_action: String,
    pub blockers: Vec<Blocker>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventLedger {
    /// Entries written to the governance ledger.
    pub project: Vec<LedgerEntry>,
    /// Entries of the item's own trail (`.archon/execution/<task>/events.jsonl`).
    pub item: Vec<LedgerEntry>,
}

fn or_none(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("none")
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// Markdown table cells cannot hold `|` or newlines.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Appends `- label: none` or a nested bullet list.
/// Text with every control character but newline and tab shown as an escape
/// (`\u{1b}`), so what a delegate printed or named cannot carry raw NUL or
/// terminal escapes into a report.
pub fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && c != '\t' && c != '\n' {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

fn bullets(out: &mut String, label: &str, items: &[String]) {
    if items.is_empty() {
        let _ = writeln!(out, "- {label}: none");
    } else {
        let _ = writeln!(out, "- {label}:");
        for item in items {
            let _ = writeln!(out, "  - {}", item.replace('\n', "\n    "));
        }
    }
}

impl ExecutionStageReport {
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let m = &self.metadata;
        let _ = writeln!(
            out,
            "# Execution Stage Report: {}\n",
            m.item_id.as_deref().unwrap_or("(no task ref)")
        );

        out.push_str("## Metadata\n\n");
        let _ = writeln!(out, "- Date: {}", m.date);
        let _ = writeln!(out, "- Item ID: {}", or_none(&m.item_id));
        let _ = writeln!(out, "- Workspace: {}", or_none(&m.workspace));
        let _ = writeln!(out, "- Worktree path: {}", or_none(&m.worktree_path));
        let _ = writeln!(out, "- Report path: {}", or_none(&m.report_path));
        let _ = writeln!(out, "- Input source: {}", or_none(&m.input_source));
        let _ = writeln!(out, "- Handoff issuer: {}", or_none(&m.handoff_issuer));

        let w = &self.work_performed;
        out.push_str("\n## Work Performed\n\n");
        out.push_str(
            "| Step | Phase | Delegate | Status | Files changed | Commits | Verification |\n",
        );
        out.push_str("|---|---|---|---|---|---|---|\n");
        for p in &w.phases {
            let status = match &p.reason {
                Some(reason) => format!("{} ({reason})", p.status.as_str()),
                None => p.status.as_str().to_string(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                p.step,
                p.phase.label(),
                cell(or_none(&p.delegate)),
                cell(&status),
                cell(&list(&p.files_changed)),
                cell(&list(&p.commits)),
                cell(or_none(&p.verification)),
            );
        }
        let _ = writeln!(out, "\n- Delegations: {}", w.delegations);
        let _ = writeln!(
            out,
            "- Verified without delegation: {}",
            w.verified_without_delegation
        );

        let e = &self.evidence_bundle;
        out.push_str("\n## Evidence Bundle\n\n");
        let artifacts: Vec<String> = e
            .artifacts
            .iter()
            .map(|a| format!("`{}` sha256 {} ({})", a.path, a.sha256, a.phase.label()))
            .collect();
        bullets(&mut out, "Artifacts (path, sha256)", &artifacts);
        bullets(&mut out, "Commits", &e.commits);
        let evidence: Vec<String> = e
            .delegate_evidence
            .iter()
            .flat_map(|pe| {
                pe.lines
                    .iter()
                    .map(move |l| format!("{}: {l}", pe.phase.label()))
            })
            .collect();
        bullets(&mut out, "Delegate evidence", &evidence);
        let checks: Vec<String> = e
            .verification_results
            .iter()
            .map(|c| {
                let verdict = if c.passed { "passed" } else { "failed" };
                format!("{verdict}: {} ({})", c.expected_outcome, c.notes)
            })
            .collect();
        bullets(&mut out, "Verification results", &checks);

        let i = &self.issues;
        out.push_str("\n## Issues\n\n");
        bullets(&mut out, "Critical issues", &i.critical);
        bullets(&mut out, "Unresolved decisions", &i.unresolved_decisions);
        let defects: Vec<String> = i
            .upstream_defects
            .iter()
            .map(|d| format!("{} (owner: {})", d.defect, d.owner))
            .collect();
        bullets(&mut out, "Upstream defects routed to owner", &defects);

        let s = &self.scope;
        out.push_str("\n## Scope\n\n");
        let must: Vec<String> = s
            .must_have
            .iter()
            .map(|item| format!("{}: {}", item.status.as_str(), item.expected_outcome))
            .collect();
        bullets(&mut out, "Must-have outcome", &must);
        bullets(
            &mut out,
            "Nice-to-have deferrals",
            &s.nice_to_have_deferrals,
        );
        bullets(&mut out, "Accepted risks", &s.accepted_risks);

        let o = &self.outcome;
        out.push_str("\n## Outcome\n\n");
        let _ = writeln!(out, "- Outcome: {}", o.outcome.as_str());
        let _ = writeln!(
            out,
            "- Blocker ownership: {}",
            or_none(&o.blocker_ownership)
        );
        let _ = writeln!(
            out,
            "- Recommended next action: {}",
            o.recommended_next_action
        );
        let blockers: Vec<String> = o
            .blockers
            .iter()
            .map(|b| {
                format!(
                    "{}: {} (owner: {}; next: {})",
                    b.category.as_str(),
                    b.detail,
                    b.owner,
                    b.next_action
                )
            })
            .collect();
        bullets(&mut out, "Blockers", &blockers);

        let l = &self.event_ledger;
        out.push_str("\n## Event Ledger\n\n");
        let entries = |entries: &[LedgerEntry]| -> Vec<String> {
            entries
                .iter()
                .map(|e| format!("{} `{}` {}", e.at, e.event, e.detail))
                .collect()
        };
        bullets(&mut out, "Project", &entries(&l.project));
        bullets(&mut out, "Item", &entries(&l.item));
        // Delegate output, file names and model text reach the report: no raw controls.
        escape_controls(&out)
    }
}
