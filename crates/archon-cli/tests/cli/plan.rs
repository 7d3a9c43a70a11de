//! End-to-end tests of `archon plan` on a hand-written review directory, a
//! hand-written inbox, and the review of the bundled example session.

use crate::support::Mode;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::support::tree::files;
use assert_cmd::Command;
use predicates::str::contains;
use serde_json::Value;

const MOTION: &str = "mm-vote-record-001";
const CYCLE: &str = "exec_c456f381d59d";

fn review_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/plan/review")
}

fn archon() -> Command {
    let mut c = Command::from_std(crate::support::archon(Mode::Auto));
    c.env("ARCHON_NOW", "2026-01-21T09:00:00Z");
    c
}

fn read(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn simulated_plan_writes_every_artifact_deterministically() {
    let tmp = tempfile::tempdir().expect("tmp");
    let run = |out: &Path| {
        archon()
            .args([
                "plan",
                "--mode",
                "simulation",
                "--run-exec-clarification-review",
                "--emit-conclave-clarifications",
                "--out",
            ])
            .arg(out)
            .arg(review_dir())
            .assert()
            .success()
            .stdout(contains(MOTION));
    };
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    run(&a);
    run(&b);
    assert_eq!(
        files(&a),
        files(&b),
        "same inputs, seed and ARCHON_NOW give identical bytes"
    );
    let dir = a.join(MOTION);
    for f in [
        "ratified-intent-packet.json",
        "executive_assignment_record.json",
        "peer_review_summary.json",
        "execution_plan_v2.json",
        "execution_plan_handoff.json",
        "executive_gates.json",
        "executive_events.jsonl",
        "stage_manifest.json",
    ] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    let plan = read(&dir.join("execution_plan_v2.json"));
    assert_eq!(plan["schema_version"], "2.0");
    assert_eq!(plan["cycle_id"], CYCLE);
    assert_eq!(plan["trace_metadata"]["generated_by"], "simulation");
    let handoff = read(&dir.join("execution_plan_handoff.json"));
    for key in [
        "epics",
        "discovery_task_stubs",
        "hard_constraints_spotlight",
        "stop_conditions",
        "escalation_conditions",
    ] {
        assert!(handoff[key].is_array(), "{key}");
    }
    assert_eq!(read(&dir.join("stage_manifest.json"))["stage"], "plan");
    let events = fs::read_to_string(dir.join("executive_events.jsonl")).expect("events");
    for e in [
        "executive.cycle.opened",
        "executive.blocker.workup.started",
        "executive.peer_review.completed",
        "executive.epics.generated",
        "executive.plan.integrated",
    ] {
        assert!(events.contains(e), "{e}");
    }
}

#[test]
fn no_ratified_motions_is_blocked() {
    let tmp = tempfile::tempdir().expect("tmp");
    fs::write(
        tmp.path().join("ratified_motions.json"),
        r#"{"schema_version":"1.0","session_id":"s","generated_at":"2026-01-20T17:00:00Z","motions":[]}"#,
    )
    .expect("write");
    archon()
        .args(["plan", "--mode", "simulation"])
        .arg(tmp.path())
        .assert()
        .code(1)
        .stderr(contains("no ratified motions"));
}

#[test]
fn bad_inputs_exit_2_with_clear_errors() {
    let tmp = tempfile::tempdir().expect("tmp");
    let text = fs::read_to_string(review_dir().join("ratified_motions.json")).expect("read");
    let hostile = tmp.path().join("hostile");
    fs::create_dir_all(&hostile).expect("mkdir");
    fs::write(
        hostile.join("ratified_motions.json"),
        text.replace(MOTION, "../../escape"),
    )
    .expect("write");
    archon()
        .args(["plan", "--mode", "simulation", "--out"])
        .arg(tmp.path().join("o"))
        .arg(&hostile)
        .assert()
        .code(2)
        .stderr(contains("$.motions[0].mega_motion_id"));
    let broken = tmp.path().join("broken");
    fs::create_dir_all(&broken).expect("mkdir");
    fs::write(
        broken.join("ratified_motions.json"),
        &text[..text.len() / 2],
    )
    .expect("write");
    archon()
        .args(["plan"])
        .arg(&broken)
        .assert()
        .code(2)
        .stderr(contains("malformed JSON"));
    archon()
        .args([
            "plan",
            "--mode",
            "simulation",
            "--owner",
            "portfolio_nope",
            "--out",
        ])
        .arg(tmp.path().join("o"))
        .arg(review_dir())
        .assert()
        .code(2)
        .stderr(contains("unknown portfolio id \"portfolio_nope\""));
    archon()
        .args(["plan", "--motion-id", "../x"])
        .arg(review_dir())
        .assert()
        .code(2)
        .stderr(contains("--motion-id"));
    archon()
        .args(["plan", "--motion-id", "mm-missing"])
        .arg(review_dir())
        .assert()
        .code(2)
        .stderr(contains("no such ratified motion"));
    archon()
        .args(["plan"])
        .arg(tmp.path().join("absent"))
        .assert()
        .code(2)
        .stderr(contains("ratified_motions.json"));
}

#[test]
fn manual_mode_from_a_hand_written_inbox() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("out");
    let inbox = tmp.path().join("inbox");
    // Scaffold, then the unedited templates are refused.
    archon()
        .args(["plan", "--scaffold-inbox", "--out"])
        .arg(&out)
        .arg("--inbox")
        .arg(&inbox)
        .arg(review_dir())
        .assert()
        .success()
        .stdout(contains(CYCLE));
    archon()
        .args(["plan", "--mode", "manual", "--out"])
        .arg(&out)
        .arg("--inbox")
        .arg(&inbox)
        .arg(review_dir())
        .assert()
        .code(2)
        .stderr(contains("unedited --scaffold-inbox template"));
    // Hand-written answers for every affected portfolio.
    let dir = inbox.join(MOTION);
    let record: Value = {
        fs::remove_dir_all(&dir).expect("clear");
        fs::create_dir_all(&dir).expect("mkdir");
        archon()
            .args(["plan", "--mode", "simulation", "--out"])
            .arg(tmp.path().join("sim"))
            .arg(review_dir())
            .assert()
            .success();
        read(
            &tmp.path()
                .join("sim")
                .join(MOTION)
                .join("executive_assignment_record.json"),
        )
    };
    let presidents: Vec<(String, String)> = record["scores"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["portfolio_id"].as_str().unwrap_or("").to_string(),
                s["president_name"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let roster: Value =
        serde_json::from_str(include_str!("../../../../data/roster.json")).expect("roster");
    let id_of = |name: &str| {
        roster["archons"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["name"] == name)
            .and_then(|a| a["id"].as_str())
            .unwrap_or("")
            .to_string()
    };
    let affected: BTreeSet<String> = record["affected_portfolios"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    for (pid, name) in presidents.iter().filter(|p| affected.contains(&p.0)) {
        let body = serde_json::json!({
            "schema_version": "2.0", "cycle_id": CYCLE, "motion_id": MOTION,
            "portfolio": {"portfolio_id": pid, "president_id": id_of(name), "president_name": name},
            "work_packages": [{"package_id": format!("wp_{name}_01"), "scope_description": "Sign and append vote records",
                "mapped_clauses": ["1.1"], "success_signal": "Every ballot verifies against its signature"}],
            "capacity_claim": {"claim_type": "COARSE", "units": 1, "confidence": "HIGH", "notes": "small"},
            "blockers": []
        });
        fs::write(
            dir.join(format!("contribution_{pid}.json")),
            body.to_string(),
        )
        .expect("write");
    }
    archon()
        .args(["plan", "--mode", "manual", "--require-gates", "--out"])
        .arg(&out)
        .arg("--inbox")
        .arg(&inbox)
        .arg(review_dir())
        .assert()
        .success()
        .stdout(contains("(manual)"));
    let plan = read(&out.join(MOTION).join("execution_plan_v2.json"));
    assert_eq!(plan["trace_metadata"]["generated_by"], "manual");
    assert_eq!(
        read(&out.join(MOTION).join("stage_manifest.json"))["inputs"]
            .as_object()
            .map(|o| o.keys().any(|k| k.starts_with("inbox/"))),
        Some(true)
    );
    // A malformed contribution names its file; a missing one fails the gates.
    let first = affected.iter().next().expect("affected");
    let path = dir.join(format!("contribution_{first}.json"));
    let good = fs::read_to_string(&path).expect("read");
    fs::write(&path, &good[..good.len() / 2]).expect("write");
    archon()
        .args(["plan", "--mode", "manual", "--out"])
        .arg(&out)
        .arg("--inbox")
        .arg(&inbox)
        .arg(review_dir())
        .assert()
        .code(2)
        .stderr(contains(format!("contribution_{first}.json")));
    fs::remove_file(&path).expect("rm");
    archon()
        .args(["plan", "--mode", "manual", "--require-gates", "--out"])
        .arg(&out)
        .arg("--inbox")
        .arg(&inbox)
        .arg(review_dir())
        .assert()
        .code(1)
        .stderr(contains("gate completeness failed"))
        .stderr(contains(first.as_str()));
}

#[test]
fn plans_the_review_of_the_bundled_example() {
    let tmp = tempfile::tempdir().expect("tmp");
    let session = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/example/consolidator/example-session-001");
    let review = tmp.path().join("review");
    archon()
        .args(["review", "--mode", "simulation", "--out"])
        .arg(&review)
        .arg(&session)
        .assert()
        .success();
    let out = tmp.path().join("executive");
    archon()
        .args(["plan", "--mode", "simulation", "--require-gates", "--out"])
        .arg(&out)
        .arg(&review)
        .assert()
        .success();
    let mut classes = BTreeSet::new();
    let mut dispositions = BTreeSet::new();
    let mut plans = 0;
    for e in fs::read_dir(&out).expect("out").flatten() {
        let plan = read(&e.path().join("execution_plan_v2.json"));
        assert!(e.path().join("execution_plan_handoff.json").is_file());
        plans += 1;
        for b in plan["blockers"].as_array().into_iter().flatten() {
            classes.insert(b["blocker_class"].as_str().unwrap_or("").to_string());
            dispositions.insert(b["disposition"].as_str().unwrap_or("").to_string());
        }
    }
    assert!(plans > 0);
    assert_eq!(classes.len(), 3, "{classes:?}");
    assert_eq!(dispositions.len(), 3, "{dispositions:?}");
}

#[test]
fn plans_from_one_ratified_intent_packet() {
    let tmp = tempfile::tempdir().expect("tmp");
    let first = tmp.path().join("first");
    archon()
        .args(["plan", "--mode", "simulation", "--out"])
        .arg(&first)
        .arg(review_dir())
        .assert()
        .success();
    let packet = first.join(MOTION).join("ratified-intent-packet.json");
    let again = tmp.path().join("again");
    archon()
        .args(["plan", "--mode", "simulation", "--out"])
        .arg(&again)
        .arg("--packet")
        .arg(&packet)
        .assert()
        .success();
    let a = read(&first.join(MOTION).join("execution_plan_v2.json"));
    let b = read(&again.join(MOTION).join("execution_plan_v2.json"));
    assert_eq!(a["cycle_id"], b["cycle_id"]);
    assert_eq!(a["epics"], b["epics"]);
    assert_eq!(a["blockers"], b["blockers"]);
    // A packet whose motion id is hostile is refused.
    let mut v = read(&packet);
    v["motion_id"] = "../x".into();
    let bad = tmp.path().join("bad.json");
    fs::write(&bad, v.to_string()).expect("write");
    archon()
        .args(["plan", "--packet"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(contains("$.motion_id"));
}
