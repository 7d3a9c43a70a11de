//! `archon rfp`, `archon proposals`, `archon select` end to end on the
//! hand-written executive session of `crates/archon-admin/tests/data/`, and the
//! decomposition bridge reading what they write.

use crate::support::Mode;
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

const EXEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../archon-admin/tests/data");

fn archon(dir: &Path) -> Command {
    let mut cmd = Command::from_std(crate::support::archon(Mode::Simulation));
    cmd.current_dir(dir)
        .env("ARCHON_NOW", "2026-02-01T10:00:00Z");
    cmd
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

/// Runs `archon rfp` on the demo session; returns the mandate dir of `motion`.
fn rfp(dir: &Path, motion: &str) -> PathBuf {
    archon(dir)
        .args([
            "rfp",
            &format!("{EXEC}/executive/sess-demo"),
            "--motion-id",
            motion,
        ])
        .assert()
        .success();
    let session = fs::read_dir(dir.join("archon-out/rfp"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mandate = fs::read_dir(session.join("mandates"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(read(&mandate.join("rfp.json"))["motion_id"], motion);
    mandate
}

#[test]
fn chain_selects_a_winner_that_the_bridge_reads_field_for_field() {
    let tmp = tempfile::tempdir().unwrap();
    let mandate = rfp(tmp.path(), "motion-alpha");
    archon(tmp.path())
        .args(["proposals", mandate.to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("23 submitted"));
    archon(tmp.path())
        .args(["select", mandate.to_str().unwrap(), "--top-n", "3"])
        .assert()
        .success()
        .stdout(predicate::str::contains("WINNER_SELECTED: dprop-"));

    // The bridge's own readers accept the three artifacts.
    let sel_path = mandate.join("selection/selection_result.json");
    let selection = archon_decompose::inputs::SelectionResult::parse(
        "selection_result.json",
        &fs::read_to_string(&sel_path).unwrap(),
    )
    .unwrap();
    let winner = selection.winner("selection_result.json").unwrap();
    let rfp = archon_decompose::inputs::Rfp::parse(
        "rfp.json",
        &fs::read_to_string(mandate.join("rfp.json")).unwrap(),
    )
    .unwrap();
    assert!(!rfp.deliverables.is_empty() && !rfp.requirements.functional.is_empty());
    let stem = &winner.file_stems[0];
    let md =
        fs::read_to_string(mandate.join(format!("proposals_inbox/proposal_{stem}.md"))).unwrap();
    let parsed = archon_decompose::tactics::parse_tactics("proposal.md", &md).unwrap();
    let json: archon_admin::proposal::Proposal = serde_json::from_str(
        &fs::read_to_string(mandate.join(format!("proposals_inbox/proposal_{stem}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(json.proposal_id, winner.proposal_id);
    assert_eq!(parsed.len(), json.content.tactics.len());
    for (back, t) in parsed.iter().zip(&json.content.tactics) {
        let back = serde_json::to_value(back).unwrap();
        assert_eq!(back["tactic_id"], t.tactic_id.as_str());
        assert_eq!(back["title"], t.title.as_str());
        assert_eq!(back["description"], t.description.as_str());
        assert_eq!(back["deliverable_id"], t.deliverable_id.as_str());
        assert_eq!(back["rationale"], t.rationale.as_str());
        assert_eq!(back["prerequisites"], t.prerequisites.as_str());
        let deps = if t.dependencies.is_empty() {
            "None".to_string()
        } else {
            t.dependencies.join(", ")
        };
        assert_eq!(back["dependencies"], deps.as_str());
        assert_eq!(back["duration"], t.estimated_duration.as_str());
        assert_eq!(back["owner"], t.owner.as_str());
    }
    let acceptance = read(&mandate.join("selection/plan_acceptance.json"));
    assert!(acceptance["epics"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["status"] == "APPROVED"));
}

#[test]
fn an_intent_question_escalates_with_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    let mandate = rfp(tmp.path(), "motion-beta");
    archon(tmp.path())
        .args(["proposals", mandate.to_str().unwrap()])
        .assert()
        .success();
    archon(tmp.path())
        .args(["select", mandate.to_str().unwrap()])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("escalated: ESCALATE_TO_CONCLAVE"));
    assert!(mandate.join("selection/conclave_escalation.json").is_file());
}

#[test]
fn bad_inputs_exit_2_with_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    archon(tmp.path())
        .args(["rfp", &format!("{EXEC}/bad/no-epics")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("$.epics: the plan has no epics"));
    archon(tmp.path())
        .args([
            "rfp",
            &format!("{EXEC}/executive/sess-demo"),
            "--motion-id",
            "../x",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--motion-id"));
    let mandate = rfp(tmp.path(), "motion-alpha");
    let m = mandate.to_str().unwrap();
    for (name, says) in [
        ("Marbas", "not a Duke"),
        ("Nobody", "not an archon"),
        ("../../x", "'..'"),
    ] {
        archon(tmp.path())
            .args(["proposals", m, "--duke-name", name])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says));
    }
    archon(tmp.path())
        .args(["proposals", m, "--revise"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no open revision request"));
    archon(tmp.path())
        .args(["select", m])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("run `archon proposals` first"));

    // Duplicate tactic ids in a proposal the inbox lists.
    archon(tmp.path())
        .args(["proposals", m, "--duke-name", "Gusion"])
        .assert()
        .success();
    let json = mandate.join("proposals_inbox/proposal_gusion.json");
    let mut p = read(&json);
    let first = p["tactics"][0].clone();
    p["tactics"].as_array_mut().unwrap().push(first);
    fs::write(&json, p.to_string()).unwrap();
    archon(tmp.path())
        .args(["select", m])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "duplicate tactic id \"T-GUSI-001\"",
        ));

    // A dossier with no deliverables.
    let rfp_path = mandate.join("rfp.json");
    let mut d = read(&rfp_path);
    d["deliverables"] = serde_json::json!([]);
    fs::write(&rfp_path, d.to_string()).unwrap();
    archon(tmp.path())
        .args(["proposals", m])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "$.deliverables: the Implementation Dossier has no deliverables",
        ));
}

#[test]
fn bundled_example_review_plan_rfp_proposals_select_selects_winners() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let session = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/example/consolidator/example-session-001"
    );
    archon(dir)
        .args(["-q", "review", session])
        .assert()
        .success();
    let review = fs::read_dir(dir.join("archon-out/review"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    archon(dir)
        .args([
            "-q",
            "plan",
            review.to_str().unwrap(),
            "--emit-admin-handoff",
        ])
        .assert()
        .success();
    let executive = fs::read_dir(dir.join("archon-out/executive"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    archon(dir)
        .args(["-q", "rfp", executive.to_str().unwrap()])
        .assert()
        .success();
    let session = fs::read_dir(dir.join("archon-out/rfp"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut winners = 0;
    for mandate in fs::read_dir(session.join("mandates")).unwrap() {
        let m = mandate.unwrap().path();
        archon(dir)
            .args(["-q", "proposals", m.to_str().unwrap()])
            .assert()
            .success();
        let out = archon(dir)
            .args(["-q", "select", m.to_str().unwrap()])
            .output()
            .unwrap();
        assert_ne!(
            out.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r = read(&m.join("selection/selection_result.json"));
        if r["outcome"] == "WINNER_SELECTED" {
            assert_eq!(out.status.code(), Some(0));
            winners += 1;
        }
    }
    assert!(winners > 0);
}
