//! Simulated planning: deterministic, realistic (every blocker path runs), and
//! the assignment scoring with its overrides.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::collections::BTreeSet;

use archon_plan::assignment::{assign, presidents, Overrides};
use archon_plan::io::read_review_dir;
use archon_plan::PlanOptions;
use common::*;

fn all_options() -> PlanOptions {
    PlanOptions {
        llm_blocker_workup: true,
        clarification_review: true,
        ..Default::default()
    }
}

#[test]
fn simulation_is_deterministic() {
    for p in packets("review-basic") {
        let a = simulate(&p, &all_options());
        let b = simulate(&p, &all_options());
        assert_eq!(a.files, b.files, "{}", p.motion_id);
        assert_eq!(a.events, b.events);
    }
}

#[test]
fn simulation_runs_every_blocker_class_and_disposition() {
    let mut classes = BTreeSet::new();
    let mut dispositions = BTreeSet::new();
    for p in packets("review-basic") {
        let out = simulate(&p, &PlanOptions::default());
        assert!(out.gates.all_passed, "{}: {:#?}", p.motion_id, out.gates);
        for b in &out.plan.blockers {
            classes.extend(b.blocker_class);
            dispositions.extend(b.disposition);
        }
    }
    assert_eq!(classes.len(), 3, "{classes:?}");
    assert_eq!(dispositions.len(), 3, "{dispositions:?}");
}

#[test]
fn simulated_plan_snapshot() {
    let p = packets("review-basic").into_iter().next().expect("motion");
    let out = simulate(&p, &all_options());
    insta::assert_json_snapshot!("plan_privacy", out.plan);
    insta::assert_json_snapshot!("gates_privacy", out.gates);
    insta::assert_json_snapshot!(
        "peer_review_privacy",
        file(&out, "peer_review_summary.json")
    );
    insta::assert_json_snapshot!("handoff_privacy", file(&out, "execution_plan_handoff.json"));
    let names: Vec<&String> = out.files.iter().map(|(n, _)| n).collect();
    insta::assert_json_snapshot!("files_privacy", names);
    insta::assert_json_snapshot!("events_privacy", event_types(&out));
}

#[test]
fn packet_carries_intent_review_and_provenance() {
    let p = packets("review-basic").into_iter().next().expect("motion");
    insta::assert_json_snapshot!("packet_privacy", p);
    let amended = packets("review-basic").into_iter().nth(2).expect("motion");
    assert_eq!(amended.ratification_record["amendments_applied"], true);
    assert!(amended
        .ratified_motion
        .clauses
        .iter()
        .any(|c| c.clause_ref == "4.1"));
}

#[test]
fn assignment_scores_and_overrides() {
    let roster = roster();
    let presidents = presidents(&roster);
    let packets = packets("review-basic");
    let record = assign(&packets[1], &presidents, &Overrides::default(), NOW).expect("assigns");
    assert_eq!(record.plan_owner.president_name, "Buer");
    assert_eq!(
        record.affected_portfolios[0],
        record.plan_owner.portfolio_id
    );
    assert!(record
        .scores
        .windows(2)
        .all(|w| w[0].claimed_clauses.len() >= w[1].claimed_clauses.len()));
    let forced = Overrides {
        owner: Some("portfolio_capacity_resource_planning".into()),
        affected: Some(vec!["portfolio_ethics_privacy_trust".into()]),
    };
    let record = assign(&packets[1], &presidents, &forced, NOW).expect("assigns");
    assert_eq!(record.plan_owner.president_name, "Valac");
    assert_eq!(
        record.affected_portfolios,
        [
            "portfolio_capacity_resource_planning",
            "portfolio_ethics_privacy_trust"
        ]
    );
    let bad = Overrides {
        owner: None,
        affected: Some(vec!["portfolio_typo".into()]),
    };
    let err = assign(&packets[1], &presidents, &bad, NOW)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("unknown portfolio id \"portfolio_typo\" (--affected)"),
        "{err}"
    );
}

#[test]
fn bad_review_dirs_are_refused_with_file_and_path() {
    let err = read_review_dir(&data("review-hostile"), NOW)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("ratified_motions.json: $.motions[0].mega_motion_id"),
        "{err}"
    );
    let err = read_review_dir(&data("no-such-dir"), NOW)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("ratified_motions.json"), "{err}");
    let empty = read_review_dir(&data("review-empty"), NOW).expect("reads");
    assert!(empty.packets.is_empty());
}
