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

fn review_with_responses(responses: &Path, out: &Path) -> assert_cmd::assert::Assert {
    archon()
        .args(["review", "--include-novel", "--responses"])
        .arg(responses)
        .arg("--out")
        .arg(out)
        .arg(data().join("session-small"))
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

/// The bundled example with its novel proposals as motions: triage flags
/// them, extended review runs with its own folder, events and audit records,
/// and a constitutional amendment needs the supermajority. (Every path across
/// seeds: `archon-review`'s `tests/deliberation.rs`.)
#[test]
fn bundled_example_runs_extended_review_and_the_supermajority() {
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
    assert!(
        triage["summary"]["novel_proposals_flagged"]
            .as_u64()
            .unwrap()
            >= 1
    );
    let aggregations = json(&out.join("aggregations.json"));
    let extended: Vec<&serde_json::Value> = aggregations["aggregations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a.get("extended_review"))
        .collect();
    assert!(!extended.is_empty(), "no extended review");
    for x in &extended {
        assert!(x["first_round"]["endorsement_ratio"].is_number(), "{x}");
        for id in x["asked"].as_array().unwrap() {
            let file = out.join(format!(
                "extended_review_responses/archon-{}.json",
                id.as_str().unwrap()
            ));
            assert!(file.exists(), "{}", file.display());
        }
    }
    let events = json(&out.join("full_audit_trail.json"));
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    for k in [
        "extended_review_started",
        "extended_review_submitted",
        "extended_review_completed",
        "ratification_committed",
    ] {
        assert!(kinds.contains(&k), "no {k} event");
    }
    // Every commitment is written before any vote is counted.
    let committed = kinds.iter().rposition(|k| *k == "ratification_committed");
    let cast = kinds.iter().position(|k| *k == "ratification_vote_cast");
    assert!(committed < cast);
    let votes = json(&out.join("ratification_results.json"));
    assert!(votes["votes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["threshold_type"] == "supermajority" && v["outcome"] == "ratified"));
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
    review_with_responses(&responses, &out).success();
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
    review_with_responses(&responses, &out2)
        .code(2)
        .stderr(predicates::str::contains(name))
        .stderr(predicates::str::contains("$.submissions[0].mega_motion_id"));
    assert!(!out2.exists());
}

#[test]
fn responses_dir_without_matching_files_exits_2_naming_folder_pattern_and_misnamed_files() {
    let tmp = tempfile::tempdir().unwrap();
    let responses = tmp.path().join("responses");
    fs::create_dir_all(&responses).unwrap();
    let run = |out: &str| review_with_responses(&responses, &tmp.path().join(out));
    run("empty")
        .code(2)
        .stderr(predicates::str::contains(responses.display().to_string()))
        .stderr(predicates::str::contains("archon-<archon id>.json"))
        .stderr(predicates::str::contains("the folder is empty"));
    fs::write(responses.join("tester60.json"), "{}").unwrap();
    run("misnamed")
        .code(2)
        .stderr(predicates::str::contains("misnamed files: tester60.json"));
    assert!(!tmp.path().join("empty").exists() && !tmp.path().join("misnamed").exists());
}

#[test]
fn response_files_are_part_of_the_input_fingerprint() {
    let tmp = tempfile::tempdir().unwrap();
    let first = tmp.path().join("first");
    review(&data().join("session-small"), &first).success();
    let responses = tmp.path().join("responses");
    fs::create_dir_all(&responses).unwrap();
    let name = "archon-archon-tester60.json";
    let src = first.join("review_responses").join(name);
    fs::copy(&src, responses.join(name)).unwrap();
    let hash = |out: &str| {
        review_with_responses(&responses, &tmp.path().join(out)).code(predicates::ord::lt(2));
        let m = json(&tmp.path().join(out).join("stage_manifest.json"));
        (m["input_hash"].clone(), m["inputs"].clone())
    };
    let (h1, inputs) = hash("a");
    assert!(
        inputs.get(format!("responses/{name}")).is_some(),
        "{inputs}"
    );
    // Same names, other content: another fingerprint.
    let mut v = json(&src);
    v["submissions"] = serde_json::json!([]);
    fs::write(responses.join(name), v.to_string()).unwrap();
    let (h2, _) = hash("b");
    assert_ne!(h1, h2);
}

/// `archon verify` recomputes every sealed vote of a review directory: it
/// passes on an untouched folder and names the archon and motion of one
/// edited vote or salt.
#[test]
fn verify_names_the_archon_and_motion_of_an_edited_vote_or_salt() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    review(&data().join("session-small"), &out).success();
    let verify = || {
        Command::cargo_bin("archon")
            .unwrap()
            .arg("verify")
            .arg(&out)
            .assert()
    };
    verify().success();
    let path = out.join("ratification_results.json");
    let original = fs::read_to_string(&path).unwrap();
    let results: serde_json::Value = serde_json::from_str(&original).unwrap();
    let vote = &results["votes"][0];
    let motion = vote["mega_motion_id"].as_str().unwrap().to_string();
    let ballot = &vote["ballots"][3];
    let archon = ballot["archon_id"].as_str().unwrap().to_string();
    for (field, value) in [
        (
            "vote",
            if ballot["vote"] == "yea" {
                "nay"
            } else {
                "yea"
            },
        ),
        ("salt", "0123456789abcdef0123456789abcdef"),
    ] {
        let mut edited = results.clone();
        edited["votes"][0]["ballots"][3][field] = value.into();
        fs::write(&path, serde_json::to_string_pretty(&edited).unwrap()).unwrap();
        verify().code(1).stdout(predicates::str::contains(format!(
            "vote of archon {archon} on motion {motion}"
        )));
    }
    fs::write(&path, original).unwrap();
    verify().success();
}
