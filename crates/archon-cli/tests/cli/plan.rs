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
    // Two portfolios, so the handoff shows packages of each keep their owner
    // (the scoring gives this small motion to one portfolio alone).
    const PAIR: &str = "portfolio_ethics_privacy_trust,portfolio_identity_access_provenance";
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("out");
    let inbox = tmp.path().join("inbox");
    let plan_inbox = |flags: &[&str], out: &Path, inbox: &Path| {
        archon()
            .args(["plan", "--affected", PAIR])
            .args(flags)
            .arg("--out")
            .arg(out)
            .arg("--inbox")
            .arg(inbox)
            .arg(review_dir())
            .assert()
    };
    // Scaffold, then the unedited templates are refused.
    plan_inbox(&["--scaffold-inbox"], &out, &inbox)
        .success()
        .stdout(contains(CYCLE));
    plan_inbox(&["--mode", "manual"], &out, &inbox)
        .code(2)
        .stderr(contains("unedited --scaffold-inbox template"));
    // The templates filled in by hand: every TODO replaced, the marker removed.
    let dir = inbox.join(MOTION);
    let mut affected = BTreeSet::new();
    for e in fs::read_dir(&dir).expect("inbox").flatten() {
        let mut v = read(&e.path());
        let o = v.as_object_mut().expect("object");
        o.remove("template");
        o.remove("instructions");
        affected.insert(
            v["portfolio"]["portfolio_id"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        );
        let wp = &mut v["work_packages"][0];
        wp["scope_description"] = "Sign and append vote records".into();
        wp["mapped_clauses"] = serde_json::json!(["1.1"]);
        wp["success_signal"] = "Every ballot verifies against its signature".into();
        v["capacity_claim"]["notes"] = "small".into();
        assert!(!v.to_string().contains("TODO"), "{v}");
        fs::write(e.path(), v.to_string()).expect("write");
    }
    assert!(affected.len() >= 2, "{affected:?}");
    plan_inbox(&["--mode", "manual", "--require-gates"], &out, &inbox)
        .success()
        .stdout(contains("(manual)"));
    let plan = read(&out.join(MOTION).join("execution_plan_v2.json"));
    assert_eq!(plan["trace_metadata"]["generated_by"], "manual");
    // Every work package of the handoff carries its portfolio, in every epic.
    let handoff = read(&out.join(MOTION).join("execution_plan_handoff.json"));
    let packages = handoff["work_packages"].as_array().expect("packages");
    assert_eq!(packages.len(), affected.len());
    let owners: BTreeSet<String> = packages
        .iter()
        .map(|p| p["portfolio_id"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(owners, affected);
    for e in handoff["epics"].as_array().into_iter().flatten() {
        for p in e["contributing_portfolios"]
            .as_array()
            .into_iter()
            .flatten()
        {
            assert!(affected.contains(p.as_str().unwrap_or("")), "{e}");
        }
    }
    assert_eq!(
        read(&out.join(MOTION).join("stage_manifest.json"))["inputs"]
            .as_object()
            .map(|o| o.keys().any(|k| k.starts_with("inbox/"))),
        Some(true)
    );
    // A misnamed file is an error listing the expected names.
    let first = affected.iter().next().expect("affected");
    let path = dir.join(format!("contribution_{first}.json"));
    let misnamed = dir.join(format!("contribution-{first}.json"));
    fs::rename(&path, &misnamed).expect("mv");
    plan_inbox(&["--mode", "manual"], &out, &inbox)
        .code(2)
        .stderr(contains(format!(
            "contribution-{first}.json: $: the file name matches no portfolio"
        )))
        .stderr(contains(format!(
            "expected one of: contribution_{first}.json"
        )));
    fs::rename(&misnamed, &path).expect("mv");
    // A malformed contribution names its file; a missing one fails the gates.
    let good = fs::read_to_string(&path).expect("read");
    fs::write(&path, &good[..good.len() / 2]).expect("write");
    plan_inbox(&["--mode", "manual"], &out, &inbox)
        .code(2)
        .stderr(contains(format!("contribution_{first}.json")));
    fs::remove_file(&path).expect("rm");
    plan_inbox(&["--mode", "manual", "--require-gates"], &out, &inbox)
        .code(1)
        .stderr(contains("gate completeness failed"))
        .stderr(contains(first.as_str()));
    // Hybrid: the inbox's answers, the agents' for the portfolio without a file.
    plan_inbox(
        &["--mode", "hybrid", "--require-gates"],
        &tmp.path().join("hybrid"),
        &inbox,
    )
    .success();
    let hybrid = read(
        &tmp.path()
            .join("hybrid")
            .join(MOTION)
            .join("execution_plan_v2.json"),
    );
    for r in hybrid["portfolio_responses"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let want = if r["portfolio_id"] == first.as_str() {
            "simulation"
        } else {
            "manual"
        };
        assert_eq!(r["generated_by"], want, "{r}");
    }
    // Manual mode without the inbox folder is bad input.
    plan_inbox(
        &["--mode", "manual"],
        &out,
        &tmp.path().join("no-such-inbox"),
    )
    .code(2)
    .stderr(contains("--mode manual: no inbox folder"));
}

#[test]
fn plans_the_review_of_the_bundled_example() {
    let tmp = tempfile::tempdir().expect("tmp");
    let session = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/example/consolidator/example-session-001");
    let review = tmp.path().join("review");
    // With its novel proposals, so that what planning sees does not hang on
    // which few motions one seed's review happens to ratify.
    archon()
        .args(["review", "--mode", "simulation", "--include-novel", "--out"])
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

/// Reviews `session` (with `roster` when given) and plans the ratified motions
/// with peer review and the Clarification Review; returns the plan folders.
fn review_and_plan(tmp: &Path, session: &Path, roster: Option<&Path>) -> Vec<PathBuf> {
    let with_roster = |c: &mut Command| {
        if let Some(r) = roster {
            c.arg("--roster").arg(r);
        }
    };
    let review = tmp.join("review");
    let mut c = archon();
    with_roster(&mut c);
    c.args(["review", "--mode", "simulation", "--out"])
        .arg(&review)
        .arg(session)
        .assert()
        .success();
    let out = tmp.join("executive");
    let mut c = archon();
    with_roster(&mut c);
    c.args([
        "plan",
        "--mode",
        "simulation",
        "--llm-blocker-workup",
        "--run-exec-clarification-review",
        "--out",
    ])
    .arg(&out)
    .arg("--input")
    .arg(&review)
    .assert()
    .success();
    let mut dirs: Vec<PathBuf> = fs::read_dir(&out)
        .expect("out")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("execution_plan_v2.json").is_file())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn peer_review_on_real_sessions() {
    let tmp = tempfile::tempdir().expect("tmp");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bundled = manifest.join("../../data/example/consolidator/example-session-001");
    let shared = manifest.join("../../../shared/fixtures/archon72");
    let fixture = shared.join("consolidator/c53dba60-e7d8-4eae-9c42-14750a914b4e");
    let roster = shared.join("docs/archons-base.json");
    let mut plans = review_and_plan(&tmp.path().join("bundled"), &bundled, None);
    plans.extend(review_and_plan(
        &tmp.path().join("fixture"),
        &fixture,
        Some(&roster),
    ));
    assert!(plans.len() >= 2, "{plans:?}");
    let mut reviews = 0;
    let mut queue_ids = BTreeSet::new();
    for dir in &plans {
        let plan = read(&dir.join("execution_plan_v2.json"));
        let packet = read(&dir.join("ratified-intent-packet.json"));
        let clauses = packet["ratified_motion"]["clauses"]
            .as_array()
            .map_or(0, Vec::len);
        let affected = plan["affected_portfolios"].as_array().map_or(0, Vec::len);
        if clauses > 1 {
            assert!(
                affected >= 2,
                "{}: {clauses} clauses, {affected} affected",
                dir.display()
            );
        }
        // Every blocker is reviewed in E2.5, and no review is by its raiser.
        let summary = read(&dir.join("peer_review_summary.json"));
        let by_blocker: Vec<&Value> = summary["blocker_reviews"]
            .as_array()
            .into_iter()
            .flatten()
            .collect();
        for b in plan["blockers"].as_array().into_iter().flatten() {
            assert!(
                by_blocker
                    .iter()
                    .any(|r| r["blocker_id"] == b["id"] && r["stage"] == "E2.5"),
                "{}: {} not reviewed",
                dir.display(),
                b["id"]
            );
        }
        for r in &by_blocker {
            let raiser = &r["raised_by"];
            let reviewers = r["reviewed_by"].as_array().expect("reviewers");
            assert!(
                !reviewers.is_empty() && !reviewers.contains(raiser),
                "{}: {r}",
                dir.display()
            );
            reviews += 1;
        }
        // Every escalation has its Conclave items, with ids unique in the session.
        for b in plan["blockers"].as_array().into_iter().flatten() {
            if b["disposition"] != "ESCALATE_NOW" {
                continue;
            }
            let id = b["id"].as_str().unwrap_or("");
            let icq = read(&dir.join(format!(
                "clarification_review/{id}/intent_clarification_queue_item.json"
            )));
            assert!(queue_ids.insert(icq["queue_item_id"].to_string()), "{icq}");
        }
        for q in plan["conclave_queue_items"]
            .as_array()
            .into_iter()
            .flatten()
        {
            assert!(queue_ids.insert(q.to_string()), "{q} repeats");
        }
        for e in read(&dir.join("blocker_packet.json"))["entries"]
            .as_array()
            .into_iter()
            .flatten()
        {
            assert_ne!(e["reviewer"], e["raised_by"], "{}: {e}", dir.display());
        }
    }
    assert!(reviews > 0);
    assert!(!queue_ids.is_empty(), "no escalation on either session");
}
