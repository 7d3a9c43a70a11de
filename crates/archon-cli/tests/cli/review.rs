//! End-to-end tests of `archon review` on small hand-written inputs in the
//! fixture formats (roster and consolidator session).

use crate::support::Mode;
use std::fs;
use std::path::{Path, PathBuf};

use crate::support::tree::files;
use assert_cmd::Command;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/review")
}

fn archon() -> Command {
    let mut c = Command::from_std(crate::support::archon(Mode::Auto));
    c.env("ARCHON_NOW", "2026-01-15T12:00:00Z")
        .arg("--roster")
        .arg(data().join("roster.json"));
    c
}

fn review(session: &Path, out: &Path) -> assert_cmd::assert::Assert {
    archon()
        .args(["review", "--include-novel", "--out"])
        .arg(out)
        .arg(session)
        .assert()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

#[test]
fn small_session_runs_every_phase_and_places_each_motion_once() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    review(&data().join("session-small"), &out)
        .success()
        .stdout(predicates::str::contains("ratified"));
    for f in [
        "triage_results.json",
        "aggregations.json",
        "ratification_results.json",
        "pipeline_result.json",
        "full_audit_trail.json",
        "agent_calls.jsonl",
        "stage_manifest.json",
        "review_packets/archon-archon-tester00.json",
        "review_responses/archon-archon-tester71.json",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    let mut placed: Vec<String> = Vec::new();
    for f in ["ratified", "rejected", "deferred"] {
        let v = json(&out.join(format!("{f}_motions.json")));
        assert_eq!(v["schema_version"], "1.0");
        for m in v["motions"].as_array().unwrap() {
            placed.push(m["mega_motion_id"].as_str().unwrap().to_string());
        }
    }
    placed.sort();
    assert_eq!(placed, ["mm-001", "mm-002", "mm-003", "mm-004", "np-001"]);
    let triage = json(&out.join("triage_results.json"));
    assert_eq!(triage["summary"]["low_risk"], 1);
    assert_eq!(triage["motions"][0]["risk_tier"], "low");
    let events = json(&out.join("full_audit_trail.json"));
    let types: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(types.first(), Some(&"pipeline_started"));
    assert_eq!(types.last(), Some(&"pipeline_completed"));
    let ratified = json(&out.join("ratified_motions.json"));
    let first = &ratified["motions"][0];
    assert_eq!(first["review_path"], "fast_track");
    assert_eq!(first["vote"]["threshold_required"], 37);
    assert!(first["vote"].get("votes_by_archon").is_none());
    assert_eq!(
        first["provenance"]["source_files"][0]["name"],
        "mega-motions.json"
    );
}

/// The key artifacts of a small run, pinned: triage tiers and conflicts, the
/// aggregation formulas and routing, and every ratification count.
#[test]
fn small_session_key_artifacts() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    review(&data().join("session-small"), &out).success();
    for name in ["triage_results", "aggregations", "ratification_results"] {
        insta::assert_json_snapshot!(name, json(&out.join(format!("{name}.json"))));
    }
}

/// The bundled example with its novel proposals as motions takes every path
/// of the pipeline.
#[test]
fn bundled_example_takes_every_path() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let session = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/example/consolidator/example-session-001");
    Command::from_std(crate::support::archon(Mode::Auto))
        .env("ARCHON_NOW", "2026-01-15T12:00:00Z")
        .args(["review", "--include-novel", "--out"])
        .arg(&out)
        .arg(&session)
        .assert()
        .success();
    let triage = json(&out.join("triage_results.json"));
    assert!(triage["summary"]["low_risk"].as_u64().unwrap() >= 1);
    assert!(
        triage["summary"]["novel_proposals_flagged"]
            .as_u64()
            .unwrap()
            >= 1
    );
    let aggregations = json(&out.join("aggregations.json"));
    let routes: Vec<(&str, bool)> = aggregations["aggregations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["route"].as_str().unwrap(),
                a["amendment_synthesis"].is_object(),
            )
        })
        .collect();
    for path in [
        ("ratification", false),
        ("ratification", true),
        ("panel", true),
        ("deferred", true),
    ] {
        assert!(routes.contains(&path), "no {path:?} in {routes:?}");
    }
    let mut recommendations: Vec<String> = fs::read_dir(out.join("panel_deliberations"))
        .unwrap()
        .map(|e| json(&e.unwrap().path())["panel_recommendation"].to_string())
        .collect();
    recommendations.sort();
    recommendations.dedup();
    assert_eq!(recommendations, ["\"amend\"", "\"fail\"", "\"pass\""]);
    let votes = json(&out.join("ratification_results.json"));
    assert!(votes["votes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["threshold_type"] == "supermajority" && v["outcome"] == "ratified"));
    for outcome in ["ratified", "rejected", "deferred"] {
        let file = json(&out.join(format!("{outcome}_motions.json")));
        assert!(
            !file["motions"].as_array().unwrap().is_empty(),
            "no {outcome} motion"
        );
    }
}

#[test]
fn reruns_with_the_same_seed_and_clock_are_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    review(&data().join("session-small"), &a).success();
    review(&data().join("session-small"), &b).success();
    assert_eq!(files(&a), files(&b));
    let c = tmp.path().join("c");
    archon()
        .args(["--seed", "7", "review", "--include-novel", "--out"])
        .arg(&c)
        .arg(data().join("session-small"))
        .assert()
        .success();
    assert_ne!(files(&a), files(&c));
}

#[test]
fn triage_only_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    archon()
        .args(["review", "--triage-only", "--out"])
        .arg(&out)
        .arg(data().join("session-small"))
        .assert()
        .success()
        .stdout(predicates::str::contains("mm-003"));
    assert!(!out.exists());
}

/// A session directory holding `mega-motions.json` with `text`.
fn session_with(tmp: &Path, text: &str) -> PathBuf {
    let dir = tmp.join("bad-session");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("mega-motions.json"), text).unwrap();
    dir
}

fn motion(id: &str, supporters: &[&str]) -> serde_json::Value {
    serde_json::json!({"mega_motion_id": id, "title": "T", "theme": "Th",
        "consolidated_text": "SECTION 1: X\n1.1 y", "source_motion_ids": ["s"],
        "all_supporting_archons": supporters})
}

#[test]
fn bad_inputs_exit_2_naming_file_and_path_and_leave_no_output() {
    let cases: Vec<(String, &str)> = vec![
        ("[{\"mega_motion_id\": \"mm-1\",".into(), "malformed JSON"),
        (r#"[{"mega_motion_id": 7}]"#.into(), "[0].mega_motion_id"),
        (
            serde_json::json!([motion("mm-1", &["Tester01", "Nobody"])]).to_string(),
            "$[0].all_supporting_archons[1]: unknown archon \"Nobody\"",
        ),
        ("[]".into(), "empty"),
        (
            serde_json::json!([motion("../x", &["Tester01"])]).to_string(),
            "$[0].mega_motion_id",
        ),
    ];
    for (text, expected) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let dir = session_with(tmp.path(), &text);
        review(&dir, &out)
            .code(2)
            .stderr(predicates::str::contains("mega-motions.json"))
            .stderr(predicates::str::contains(expected));
        assert!(!out.exists(), "{expected}: output dir created");
    }
    let tmp = tempfile::tempdir().unwrap();
    review(&tmp.path().join("missing"), &tmp.path().join("out"))
        .code(2)
        .stderr(predicates::str::contains("does not exist"));
    assert!(!tmp.path().join("out").exists());
}

#[test]
fn unknown_supporters_can_be_allowed_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = session_with(
        tmp.path(),
        &serde_json::json!([motion("mm-1", &["Tester01", "Nobody"])]).to_string(),
    );
    archon()
        .args(["review", "--allow-unknown-supporters", "--triage-only"])
        .arg(&dir)
        .assert()
        .success()
        .stderr(predicates::str::contains("warning"))
        .stderr(predicates::str::contains("Nobody"));
}

#[test]
fn responses_dir_is_ingested_and_non_responders_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let first = tmp.path().join("first");
    review(&data().join("session-small"), &first).success();
    // Keep one archon's responses: everyone else becomes NO_RESPONSE.
    let responses = tmp.path().join("responses");
    fs::create_dir_all(&responses).unwrap();
    let name = "archon-archon-tester60.json";
    fs::copy(
        first.join("review_responses").join(name),
        responses.join(name),
    )
    .unwrap();
    let out = tmp.path().join("out");
    archon()
        .args(["review", "--include-novel", "--responses"])
        .arg(&responses)
        .arg("--out")
        .arg(&out)
        .arg(data().join("session-small"))
        .assert()
        .success();
    let result = json(&out.join("pipeline_result.json"));
    let kept = json(&responses.join(name))["responses"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(result["review_responses"].as_u64().unwrap() as usize, kept);
    assert!(result["no_responses"].as_u64().unwrap() > 100);
    // A submission for a motion that is not assigned is an error naming the file.
    fs::write(
        responses.join(name),
        r#"{"archon_id": "archon-tester60", "submissions": [{"mega_motion_id": "mm-001", "stance": "endorse"}]}"#,
    )
    .unwrap();
    let out2 = tmp.path().join("out2");
    archon()
        .args(["review", "--include-novel", "--responses"])
        .arg(&responses)
        .arg("--out")
        .arg(&out2)
        .arg(data().join("session-small"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains(name))
        .stderr(predicates::str::contains("$.submissions[0].mega_motion_id"));
    assert!(!out2.exists());
}
