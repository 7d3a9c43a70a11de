//! `archon review` in LLM mode against a mock OpenAI-compatible server on
//! 127.0.0.1: every answer is built from the JSON Schema the request carries.
//! Counts the server's requests to prove that each paid call is accounted once,
//! that a resumed recording run pays nothing, and that a replay is offline and
//! byte-identical.

use crate::support::Mode;
use std::fs;
use std::path::{Path, PathBuf};

use crate::support::mock_llm::MockLlm;
use crate::support::tree::files;
use crate::support::tree::{unsalted, SALTED_FILES};
use assert_cmd::Command;
use serde_json::Value;
use std::collections::BTreeMap;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn session() -> PathBuf {
    workspace().join("data/example/consolidator/example-session-001")
}

fn review(tmp: &Path, out: &str, llm: &[&str]) -> std::process::Output {
    Command::from_std(crate::support::archon(Mode::Auto))
        .current_dir(tmp)
        .env("ARCHON_NOW", "2026-01-15T12:00:00Z")
        .args([
            "--mode",
            "llm",
            "--provider",
            "vllm",
            "--model",
            "mock-model",
        ])
        .args(llm)
        .args(["review", "--out", out])
        .arg(session())
        .output()
        .unwrap()
}

fn calls(out: &Path) -> Vec<Value> {
    fs::read_to_string(out.join("agent_calls.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn review_in_llm_mode_records_resumes_and_replays_without_paying_twice() {
    let server = MockLlm::with_usage((7, 3));
    let tmp = tempfile::tempdir().unwrap();
    let url = server.url();
    let live = ["--base-url", url.as_str(), "--record", "cassette"];

    let first = review(tmp.path(), "live", &live);
    assert!(
        matches!(first.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let paid = server.requests();
    let live_calls = calls(&tmp.path().join("live"));
    assert!(paid > 72, "every archon reviews: {paid} requests");
    assert_eq!(live_calls.len(), paid, "one call record per paid request");
    assert!(live_calls.iter().all(|c| c["model"] == "mock-served"));
    // One recorded exchange per paid request, beside the ratification salt secret.
    let recorded = fs::read_dir(tmp.path().join("cassette"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name() != "ratification_salt_secret")
        .count();
    assert_eq!(recorded, paid);

    // The mock answers ballots with a vote and a reason only, and computes no
    // hash: the engine seals every vote, and no reveal is rejected.
    let results: Value = serde_json::from_slice(
        &fs::read(tmp.path().join("live/ratification_results.json")).unwrap(),
    )
    .unwrap();
    // Keyed by the secret kept with the recording, so a replay seals alike.
    assert_eq!(results["salt_source"], "os_random_recorded");
    let votes = results["votes"].as_array().unwrap();
    assert!(!votes.is_empty(), "{results}");
    for v in votes {
        assert_eq!(
            v["rejected_reveals"],
            serde_json::json!([]),
            "{}",
            v["mega_motion_id"]
        );
        let ballots = v["ballots"].as_array().unwrap();
        assert_eq!(ballots.len(), 72);
        assert!(ballots
            .iter()
            .all(|b| b["salt"].as_str().unwrap().len() == 32));
    }
    assert!(
        votes.iter().any(|v| v["outcome"] == "ratified"),
        "ratification works with model votes"
    );

    // A repeated recording run answers from the cassette: zero new requests.
    let again = review(tmp.path(), "again", &live);
    assert_eq!(again.status.code(), first.status.code());
    assert_eq!(server.requests(), paid);

    // Replay never calls the server (the bindings, base URL included, are the
    // recording run's: they are part of each cassette key) and gives the same artifacts.
    let offline = ["--base-url", url.as_str(), "--replay", "cassette"];
    for out in ["replay-1", "replay-2"] {
        let r = review(tmp.path(), out, &offline);
        assert_eq!(r.status.code(), first.status.code());
    }
    assert_eq!(server.requests(), paid);
    // Every sealed vote of each run checks out against its own salts.
    for out in ["live", "replay-1", "replay-2"] {
        Command::from_std(crate::support::archon(Mode::Auto))
            .arg("verify")
            .arg(tmp.path().join(out))
            .assert()
            .success();
    }
    // Salts and commitments are drawn from the OS random source in LLM mode:
    // the files holding them (and their manifest checksums) are compared with
    // those values blanked; every other byte is the recording's.
    let unsalt = |f: BTreeMap<String, Vec<u8>>| -> BTreeMap<String, String> {
        f.into_iter()
            .map(|(name, bytes)| {
                let text = String::from_utf8(bytes).unwrap();
                let text = match name.as_str() {
                    "stage_manifest.json" => {
                        let mut manifest: Value = serde_json::from_str(&text).unwrap();
                        let files = manifest["files"].as_object_mut().unwrap();
                        for f in SALTED_FILES {
                            assert!(files.remove(f).is_some(), "{f}");
                        }
                        manifest.to_string()
                    }
                    n if SALTED_FILES.contains(&n) => unsalted(&text),
                    _ => text,
                };
                (name, text)
            })
            .collect()
    };
    let replayed = unsalt(files(&tmp.path().join("replay-1")));
    assert_eq!(replayed, unsalt(files(&tmp.path().join("replay-2"))));
    // Against the recorded run, every artifact is byte-identical, the input
    // hash, `mode` and the call records included: a replay is the recording.
    assert_eq!(
        replayed,
        unsalt(files(&tmp.path().join("live"))),
        "replayed artifacts differ from the recorded run"
    );
    assert_eq!(calls(&tmp.path().join("replay-1")).len(), live_calls.len());

    let usage = Command::from_std(crate::support::archon(Mode::Auto))
        .args(["--json", "usage"])
        .arg(tmp.path().join("live"))
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&usage.stdout).unwrap();
    assert_eq!(report["total"]["calls"], paid);
    assert_eq!(report["total"]["prompt_tokens"], 7 * paid);
    assert_eq!(
        report["by_model"]["mock-served"]["completion_tokens"],
        3 * paid
    );
    assert!(report["by_stage"]["review"].is_object(), "{report}");
}

#[test]
fn llm_mode_without_an_endpoint_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::from_std(crate::support::archon(Mode::Auto))
        .current_dir(tmp.path())
        .args(["--mode", "llm", "review", "--out", "o"])
        .arg(session())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--mode llm needs a model endpoint"), "{err}");
}

#[test]
fn unknown_config_keys_are_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join("archon.toml"),
        "[llm]\nbase_url = \"http://127.0.0.1:9\"\nconcurrancy = 4\n",
    )
    .unwrap();
    let out = Command::from_std(crate::support::archon(Mode::Auto))
        .current_dir(tmp.path())
        .args(["review", "--out", "o"])
        .arg(session())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("archon.toml"), "{err}");
    assert!(err.contains("concurrancy"), "{err}");
}

#[test]
fn auto_mode_simulates_without_an_endpoint_and_record_needs_one() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::from_std(crate::support::archon(Mode::Auto))
        .current_dir(tmp.path())
        .env("ARCHON_NOW", "2026-01-15T12:00:00Z")
        .args(["--json", "review", "--out", "sim"])
        .arg(session())
        .output()
        .unwrap();
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["mode"], "simulation");

    let usage = Command::from_std(crate::support::archon(Mode::Auto))
        .arg("usage")
        .arg(tmp.path().join("sim"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&usage.stdout);
    for row in [
        "total",
        "by stage:",
        "  review",
        "by archon:",
        "  Bael",
        "by model:",
        "  simulation",
    ] {
        assert!(text.lines().any(|l| l.starts_with(row)), "{row}: {text}");
    }

    let recorded = Command::from_std(crate::support::archon(Mode::Auto))
        .current_dir(tmp.path())
        .args(["--record", "c", "review", "--out", "o"])
        .arg(session())
        .output()
        .unwrap();
    assert_eq!(recorded.status.code(), Some(2));
    let err = String::from_utf8_lossy(&recorded.stderr);
    assert!(err.contains("--record c needs LLM mode"), "{err}");
}
