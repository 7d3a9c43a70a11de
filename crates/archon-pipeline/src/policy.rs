//! The chain's policies: how simulated stewards consent, and how long the
//! Presidents and Dukes go on revising.

use std::collections::BTreeMap;
use std::path::Path;

use archon_artifacts::SelectionOutcome;
use archon_core::clock::Clock;
use archon_tasks::{ClusterRegistry, Ledger, TaskRecord, TaskState, Transition};

use crate::error::PipelineError;
use crate::outcome::Outcome;

/// Selections of one mandate, first included, before a mandate still asked to
/// revise is left to select's own escalation.
pub const MAX_SELECTION_ROUNDS: u32 = 3;

/// The outcome a selection gives its mandate.
pub fn selection_outcome(o: SelectionOutcome) -> Outcome {
    match o {
        SelectionOutcome::WinnerSelected => Outcome::Complete,
        SelectionOutcome::RevisionRequested | SelectionOutcome::NoViableProposal => {
            Outcome::Blocked
        }
        SelectionOutcome::EscalateToConclave => Outcome::Escalated,
    }
}

/// Selects, and while the Presidents ask for revisions, lets the Dukes revise
/// and selects again: at most `max_rounds` selections.
pub fn select_with_revisions<E>(
    max_rounds: u32,
    mut select: impl FnMut() -> Result<SelectionOutcome, E>,
    mut revise: impl FnMut() -> Result<(), E>,
) -> Result<SelectionOutcome, E> {
    let mut outcome = select()?;
    for _ in 1..max_rounds {
        if outcome != SelectionOutcome::RevisionRequested {
            break;
        }
        revise()?;
        outcome = select()?;
    }
    Ok(outcome)
}

/// The simulated stewards' answer to a task routed to their cluster: accept
/// when the cluster has every tag the task needs; otherwise decline
/// (penalty-free), and the ledger reroutes the task to the next eligible
/// cluster, never back. `None`: the task's cluster is unknown.
pub fn steward_answer(
    task: &TaskRecord,
    clusters: &ClusterRegistry,
) -> Option<(String, Transition)> {
    let cluster = clusters.get(task.cluster_id.as_deref()?)?;
    let fits = task
        .required_tags
        .iter()
        .all(|t| cluster.capabilities.tags.contains(t));
    let answer = if fits {
        Transition::Accept
    } else {
        Transition::Decline { reason: None }
    };
    Some((format!("steward:{}", cluster.steward.steward_id), answer))
}

/// Answers every routed task of the ledger at `ledger_path` by
/// [`steward_answer`], round after round until nothing waits for consent.
pub fn consent_by_policy(
    ledger_path: &Path,
    clusters: &ClusterRegistry,
    clock: &Clock,
) -> Result<(), PipelineError> {
    if !ledger_path.is_file() {
        return Ok(());
    }
    let mut ledger = Ledger::open(ledger_path)?.with_clusters(clusters.clone());
    // Each round excludes one more cluster per declined task, so clusters + 1
    // rounds suffice.
    for _ in 0..=clusters.len() {
        let tasks = ledger.tasks()?;
        let routed: Vec<&TaskRecord> = tasks
            .iter()
            .filter(|t| t.state == TaskState::Routed)
            .collect();
        if routed.is_empty() {
            break;
        }
        // One batch of transactions per steward and round, not per task.
        let mut answers: BTreeMap<String, Vec<(String, Transition)>> = BTreeMap::new();
        for task in routed {
            if let Some((steward, answer)) = steward_answer(task, clusters) {
                answers
                    .entry(steward)
                    .or_default()
                    .push((task.task_ref.clone(), answer));
            }
        }
        for (steward, moves) in answers {
            for result in ledger.transitions(moves, &steward, clock) {
                result?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::cell::Cell;

    use SelectionOutcome::*;

    fn rounds(answers: &[SelectionOutcome], max: u32) -> (SelectionOutcome, usize, usize) {
        let selects = Cell::new(0);
        let revisions = Cell::new(0);
        let out = select_with_revisions::<()>(
            max,
            || {
                let i = selects.get();
                selects.set(i + 1);
                Ok(answers[i.min(answers.len() - 1)])
            },
            || {
                revisions.set(revisions.get() + 1);
                Ok(())
            },
        )
        .expect("no error");
        (out, selects.get(), revisions.get())
    }

    #[test]
    fn a_winner_at_once_needs_no_revision() {
        assert_eq!(rounds(&[WinnerSelected], 3), (WinnerSelected, 1, 0));
    }

    #[test]
    fn revisions_go_on_until_a_winner() {
        let answers = [RevisionRequested, WinnerSelected];
        assert_eq!(rounds(&answers, 3), (WinnerSelected, 2, 1));
    }

    #[test]
    fn the_loop_is_bounded() {
        let (out, selects, revisions) = rounds(&[RevisionRequested], 3);
        assert_eq!((out, selects, revisions), (RevisionRequested, 3, 2));
        assert_eq!(selection_outcome(out), Outcome::Blocked);
    }

    #[test]
    fn other_outcomes_end_the_loop_at_once() {
        for o in [NoViableProposal, EscalateToConclave] {
            assert_eq!(rounds(&[o, WinnerSelected], 3), (o, 1, 0));
        }
        assert_eq!(selection_outcome(EscalateToConclave), Outcome::Escalated);
    }

    #[test]
    fn an_error_stops_the_loop() {
        let revised = Cell::new(false);
        let r = select_with_revisions(
            3,
            || Ok(RevisionRequested),
            || {
                revised.set(true);
                Err("disk full")
            },
        );
        assert_eq!(r, Err("disk full"));
        assert!(revised.get());
    }

    /// An activation request for a task needing `tags` (shared by the chain's tests).
    pub(crate) fn activation(task_ref: &str, tags: &[&str]) -> archon_tasks::ActivationRequest {
        archon_tasks::ActivationRequest {
            task_ref: task_ref.into(),
            earl_id: "earl-1".into(),
            cluster_id: String::new(),
            description: format!("Build the {task_ref} service"),
            requirements: vec!["It works".into()],
            expected_outcomes: vec!["A service".into()],
            sensitivity: archon_tasks::Sensitivity::Standard,
            ttl_hours: 72,
            provenance: serde_json::json!({ "capability_tags": tags }),
        }
    }

    #[test]
    fn stewards_accept_what_fits_their_cluster() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("governance.db");
        let clusters = ClusterRegistry::bundled().expect("bundled clusters");
        let clock = Clock::fixed_from_rfc3339("2026-01-01T00:00:00Z").expect("clock");
        let mut ledger = Ledger::open(&path).expect("ledger");
        for (t, tags) in [
            ("TASK-A", &["dev_backend"][..]),
            ("TASK-B", &["qa_testing", "design"][..]),
        ] {
            let r = ledger
                .create_activation(activation(t, tags), &clock)
                .expect("activate");
            assert_eq!(r.state, TaskState::Routed, "{t}: {}", r.message);
        }
        drop(ledger);
        consent_by_policy(&path, &clusters, &clock).expect("consent");
        let ledger = Ledger::open(&path).expect("ledger");
        for task in ledger.tasks().expect("tasks") {
            assert_eq!(task.state, TaskState::Accepted, "{}", task.task_ref);
            let cluster = clusters
                .get(task.cluster_id.as_deref().expect("routed"))
                .expect("known");
            for tag in &task.required_tags {
                assert!(cluster.capabilities.tags.contains(tag), "{tag}");
            }
        }
        // Nothing waits any more: a second pass changes nothing.
        let events = ledger.events().expect("events").len();
        drop(ledger);
        consent_by_policy(&path, &clusters, &clock).expect("again");
        assert_eq!(
            Ledger::open(&path)
                .expect("ledger")
                .events()
                .expect("events")
                .len(),
            events
        );
    }

    #[test]
    fn a_steward_declines_what_its_cluster_cannot_do() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("governance.db");
        let clusters = ClusterRegistry::bundled().expect("bundled clusters");
        let clock = Clock::fixed_from_rfc3339("2026-01-01T00:00:00Z").expect("clock");
        let mut ledger = Ledger::open(&path).expect("ledger");
        ledger
            .create_activation(activation("TASK-A", &["dev_backend"]), &clock)
            .expect("activate");
        let mut task = ledger.task("TASK-A").expect("read").expect("there");
        // The policy itself: a task needing a tag its cluster lacks is declined.
        task.required_tags.push("no_such_capability".into());
        let (steward, answer) = steward_answer(&task, &clusters).expect("known cluster");
        assert!(steward.starts_with("steward:"));
        assert!(matches!(answer, Transition::Decline { .. }));
    }
}
