//! Decomposition lint (spec section 7): hard rules a draft must pass, the soft
//! provenance rule, and the tactic-level overlap check.

use crate::context::has_strict_requirement_id;
use crate::model::TaskDraft;

/// Placeholder outcomes that say nothing checkable (case-insensitive).
pub const NON_LEGIBLE_OUTCOMES: [&str; 8] = [
    "tbd",
    "???",
    "n/a",
    "todo",
    "finished",
    "done",
    "complete",
    "completed",
];

fn is_non_legible(outcome: &str) -> bool {
    let t = outcome.trim().trim_end_matches(['.', '!']).trim();
    NON_LEGIBLE_OUTCOMES
        .iter()
        .any(|term| t.eq_ignore_ascii_case(term))
}

/// Hard lint: the violations of a draft (empty = pass).
pub fn lint_task_draft(draft: &TaskDraft) -> Vec<String> {
    let mut v = Vec::new();
    if draft.description.trim().is_empty() {
        v.push("description is empty".to_string());
    }
    if draft.expected_outcomes.len() < 2 {
        v.push(format!(
            "expected_outcomes has {} item(s), at least 2 are required",
            draft.expected_outcomes.len()
        ));
    }
    if draft.capability_tags.iter().all(|t| t.trim().is_empty()) {
        v.push("capability_tags is empty".to_string());
    }
    if !(draft.effort_hours.is_finite() && draft.effort_hours > 0.0) {
        v.push(format!(
            "effort_hours is {}, it must be above 0",
            draft.effort_hours
        ));
    }
    if draft.parent_tactic_id.trim().is_empty() {
        v.push("parent_tactic_id is empty".to_string());
    }
    for o in draft
        .expected_outcomes
        .iter()
        .filter(|o| o.trim().is_empty() || is_non_legible(o))
    {
        v.push(format!("non-legible expected outcome {:?}", o.trim()));
    }
    v
}

/// Soft lint: a draft that names a deliverable but no FR/NFR id in its
/// requirements has weak provenance (passes, but is counted and reported).
pub fn has_weak_provenance(draft: &TaskDraft) -> bool {
    !draft.deliverable_id.trim().is_empty() && !has_strict_requirement_id(&draft.requirements)
}

fn outcome_set(draft: &TaskDraft) -> Vec<String> {
    let mut set: Vec<String> = draft
        .expected_outcomes
        .iter()
        .map(|o| archon_core::roster::words(o).collect::<Vec<_>>().join(" "))
        .collect();
    set.sort();
    set.dedup();
    set
}

/// Pairs of drafts of one tactic with the same deliverable and the same
/// expected outcomes (compared by words, ignoring case, order and punctuation).
pub fn detect_overlap(drafts: &[TaskDraft]) -> Vec<(String, String)> {
    let sets: Vec<Vec<String>> = drafts.iter().map(outcome_set).collect();
    let mut pairs = Vec::new();
    for (i, a) in drafts.iter().enumerate() {
        for (j, b) in drafts.iter().enumerate().skip(i + 1) {
            if a.deliverable_id == b.deliverable_id && sets.get(i) == sets.get(j) {
                pairs.push((a.task_ref.clone(), b.task_ref.clone()));
            }
        }
    }
    pairs
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::Sensitivity;

    pub(crate) fn draft(task_ref: &str) -> TaskDraft {
        TaskDraft {
            task_ref: task_ref.into(),
            parent_tactic_id: "T-AB-001".into(),
            rfp_id: "rfp".into(),
            mandate_id: "m".into(),
            proposal_id: "p".into(),
            description: "Do one thing".into(),
            requirements: vec!["Addresses FR-AB-001".into()],
            expected_outcomes: vec!["Thing built".into(), "Thing tested".into()],
            capability_tags: vec!["dev_backend".into()],
            effort_hours: 4.0,
            deliverable_id: "D-001".into(),
            dependencies: vec![],
            sensitivity: Sensitivity::Standard,
            vote_count: None,
            contributing_earls: None,
        }
    }

    type Case = (fn(&mut TaskDraft), &'static str);

    #[test]
    fn hard_rules() {
        assert!(lint_task_draft(&draft("a")).is_empty());
        let cases: Vec<Case> = vec![
            (|d| d.description = "  ".into(), "description is empty"),
            (|d| d.expected_outcomes.truncate(1), "at least 2"),
            (|d| d.capability_tags.clear(), "capability_tags is empty"),
            (|d| d.effort_hours = 0.0, "effort_hours is 0"),
            (|d| d.effort_hours = -1.5, "effort_hours is -1.5"),
            (|d| d.parent_tactic_id.clear(), "parent_tactic_id is empty"),
            (
                |d| d.expected_outcomes[1] = "Done".into(),
                "non-legible expected outcome \"Done\"",
            ),
            (|d| d.expected_outcomes[0] = "???".into(), "non-legible"),
            (|d| d.expected_outcomes[0] = "N/A".into(), "non-legible"),
            (
                |d| d.expected_outcomes[0] = "Completed.".into(),
                "non-legible",
            ),
        ];
        for (mutate, expect) in cases {
            let mut d = draft("a");
            mutate(&mut d);
            let v = lint_task_draft(&d);
            assert!(v.iter().any(|m| m.contains(expect)), "{expect}: {v:?}");
        }
        let mut d = draft("a");
        d.expected_outcomes[0] = "Done when the schema is reviewed".into();
        assert!(lint_task_draft(&d).is_empty());
    }

    #[test]
    fn provenance_and_overlap() {
        let mut d = draft("a");
        assert!(!has_weak_provenance(&d));
        d.requirements = vec!["Contributes to deliverable D-001".into()];
        assert!(has_weak_provenance(&d));
        d.deliverable_id.clear();
        assert!(!has_weak_provenance(&d));

        let a = draft("TASK-AB-001a");
        let mut b = draft("TASK-AB-001b");
        b.description = "Something else".into();
        b.expected_outcomes = vec!["thing TESTED".into(), "Thing built.".into()];
        let mut c = draft("TASK-AB-001c");
        c.deliverable_id = "D-002".into();
        assert_eq!(
            detect_overlap(&[a, b, c]),
            [("TASK-AB-001a".to_string(), "TASK-AB-001b".to_string())]
        );
    }
}
