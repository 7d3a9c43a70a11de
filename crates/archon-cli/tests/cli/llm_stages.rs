//! Every stage command in LLM mode against the mock model server
//! (tests/cli/support/mock_llm.rs): plan, rfp, proposals, select, decompose and
//! `execute --delegate llm`, each run alone with `--mode llm --provider openai
//! --base-url <mock>` on inputs prepared by `archon --mode simulation run
//! --until <previous stage>` on the bundled example. Each test checks the exit
//! code (decompose: 0 when its bridge completes, 1 when blocked, as
//! documented), the stage's main artifact, that the stage recorded live calls
//! (answered by the model the mock reports; execute: its report's evidence
//! lines too), and that
//! the mock answered exactly as many requests as the stage recorded (no
//! question paid twice).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::cli::{archon, describe};
use crate::support::mock_llm::MockLlm;
use serde_json::Value;

const SESSION: &str = "example-session-001";

/// `archon --mode llm --provider openai --base-url <mock>` in `cwd`.
fn llm(cwd: &Path, mock: &MockLlm) -> Command {
    llm_at(cwd, &mock.url())
}

/// `archon --mode llm --provider openai --base-url URL` in `cwd`.
fn llm_at(cwd: &Path, url: &str) -> Command {
    let mut c = archon(cwd);
    c.args([
        "--mode",
        "llm",
        "--provider",
        "openai",
        "--model",
        "mock-model",
    ])
    .args(["--base-url", url]);
    c
}

fn ok(out: &Output) {
    assert!(out.status.success(), "{}", describe(out));
}

/// A tempdir holding the bundled example run in simulation up to `stage`.
fn prepared(stage: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let out = archon(tmp.path())
        .args(["--mode", "simulation", "run", "--quiet", "--until", stage])
        .output()
        .unwrap();
    ok(&out);
    tmp
}

fn out_dir(tmp: &tempfile::TempDir) -> PathBuf {
    tmp.path().join("archon-out")
}

/// Every file below `dir` (sorted).
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The call records (objects with `latency_ms` and `outcome`) nested in `v`.
fn collect_calls(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(map) => {
            if map.contains_key("latency_ms") && map.contains_key("outcome") {
                out.push(v.clone());
            } else {
                map.values().for_each(|x| collect_calls(x, out));
            }
        }
        Value::Array(items) => items.iter().for_each(|x| collect_calls(x, out)),
        _ => {}
    }
}

/// The call records of a stage below `dir`: the lines of `agent_calls.jsonl`
/// where the stage writes one, else those its `*events.jsonl` trails carry.
fn calls(dir: &Path) -> Vec<Value> {
    let all = files(dir);
    let calls_files: Vec<&PathBuf> = all
        .iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "agent_calls.jsonl"))
        .collect();
    let chosen: Vec<&PathBuf> = if calls_files.is_empty() {
        all.iter()
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with("events.jsonl"))
            })
            .collect()
    } else {
        calls_files
    };
    let mut out = Vec::new();
    for p in chosen {
        for line in std::fs::read_to_string(p).unwrap().lines() {
            if let Ok(v) = serde_json::from_str::<Value>(line) {
                collect_calls(&v, &mut out);
            }
        }
    }
    out
}

/// The stage below `dir` asked the mock live, once per recorded call (a
/// call answered by the server names the model it reported).
fn assert_live_and_paid_once(dir: &Path, mock: &MockLlm, requests_before: usize) {
    let calls = calls(dir);
    let from_model = |c: &&Value| c["model"] == "mock-served";
    let live = calls.iter().filter(from_model).count();
    assert!(live > 0, "no live call recorded below {}", dir.display());
    assert!(
        calls.iter().all(|c| from_model(&c)),
        "a call not from the model: {:?}",
        calls.iter().find(|c| !from_model(c))
    );
    assert_eq!(
        mock.requests() - requests_before,
        live,
        "requests to the mock vs live calls recorded below {}",
        dir.display()
    );
    assert_eq!(mock.repeated_bodies(), 0, "a question was paid twice");
}

/// The mandate folders of the (single) rfp session.
fn mandates(tmp: &tempfile::TempDir) -> Vec<PathBuf> {
    let rfp = out_dir(tmp).join("rfp");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&rfp)
        .unwrap()
        .flatten()
        .flat_map(|s| std::fs::read_dir(s.path().join("mandates")).unwrap())
        .flatten()
        .map(|m| m.path())
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no mandate under {}", rfp.display());
    out
}

#[test]
fn plan_in_llm_mode() {
    let tmp = prepared("review");
    let mock = MockLlm::start(None);
    let review = format!("archon-out/review/{SESSION}");
    let out = llm(tmp.path(), &mock)
        .args(["plan", &review])
        .output()
        .unwrap();
    ok(&out);
    let executive = out_dir(&tmp).join("executive").join(SESSION);
    let plans = files(&executive)
        .into_iter()
        .filter(|p| p.ends_with("execution_plan_v2.json"))
        .count();
    assert!(plans > 0, "no plan written\n{}", describe(&out));
    assert_live_and_paid_once(&executive, &mock, 0);
}

#[test]
fn rfp_in_llm_mode() {
    let tmp = prepared("plan");
    let mock = MockLlm::start(None);
    let executive = format!("archon-out/executive/{SESSION}");
    let out = llm(tmp.path(), &mock)
        .args(["rfp", &executive])
        .output()
        .unwrap();
    ok(&out);
    for m in mandates(&tmp) {
        assert!(m.join("rfp.json").is_file(), "{}", m.display());
    }
    assert_live_and_paid_once(&out_dir(&tmp).join("rfp"), &mock, 0);
}

#[test]
fn proposals_in_llm_mode() {
    let tmp = prepared("rfp");
    let mock = MockLlm::start(None);
    let mandate = mandates(&tmp).remove(0);
    let out = llm(tmp.path(), &mock)
        .arg("proposals")
        .arg(&mandate)
        .output()
        .unwrap();
    ok(&out);
    let inbox = mandate.join("proposals_inbox");
    assert!(
        files(&inbox).iter().any(|p| p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("proposal_"))),
        "no proposal in {}\n{}",
        inbox.display(),
        describe(&out)
    );
    assert_live_and_paid_once(&inbox, &mock, 0);
}

#[test]
fn select_in_llm_mode() {
    let tmp = prepared("proposals");
    let mock = MockLlm::start(None);
    let mandate = mandates(&tmp).remove(0);
    let out = llm(tmp.path(), &mock)
        .arg("select")
        .arg(&mandate)
        .output()
        .unwrap();
    ok(&out);
    let selection = mandate.join("selection");
    assert!(
        selection.join("selection_result.json").is_file(),
        "{}",
        describe(&out)
    );
    assert_live_and_paid_once(&selection, &mock, 0);
    // 23 scores do not fit one answer of 2,048 tokens: each President is
    // asked in batches, and its sheet still scores every proposal.
    let proposals = std::fs::read_dir(mandate.join("proposals_inbox"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .filter(|e| e.file_name().to_string_lossy().starts_with("proposal_"))
        .filter(|e| e.file_name() != "proposal_summary.json")
        .count();
    let sheets: Vec<Value> = std::fs::read_dir(selection.join("scores"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap())
        .collect();
    let asks = mock.by_title().get("ScoreSheet").copied().unwrap_or(0);
    assert!(
        asks >= 2 * sheets.len(),
        "{asks} asks, {} sheets",
        sheets.len()
    );
    for sheet in sheets.iter().filter(|s| s["status"] == "scored") {
        assert_eq!(sheet["scores"].as_array().map(Vec::len), Some(proposals));
    }
    assert!(sheets.iter().any(|s| s["status"] == "scored"), "{sheets:?}");
}

#[test]
fn decompose_in_llm_mode() {
    let tmp = prepared("select");
    let mock = MockLlm::start(None);
    let mandate = mandates(&tmp).remove(0);
    let out = llm(tmp.path(), &mock)
        .arg("decompose")
        .arg("--from-selection-dir")
        .arg(mandate.join("selection"))
        .output()
        .unwrap();
    // A bridge that routes every draft completes (exit 0); one that leaves
    // drafts without an eligible cluster is blocked (exit 1), as documented.
    let bridge = mandate.join("execution_bridge");
    let summary: Value = serde_json::from_slice(
        &std::fs::read(bridge.join("bridge_summary.json")).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("bridge_summary.json: {e}\n{}", describe(&out)));
    let expected = if summary["outcome"] == "complete" {
        0
    } else {
        1
    };
    assert_eq!(out.status.code(), Some(expected), "{}", describe(&out));
    // Whether the model's drafts find a cluster depends on its answers: a
    // complete bridge activated its drafts, a blocked one names why not.
    assert!(
        summary["total_task_drafts"].as_u64().unwrap() > 0,
        "{summary}"
    );
    let activated = summary["activations_created"].as_u64().unwrap();
    let unroutable = summary["no_eligible_cluster"].as_u64().unwrap()
        + summary["capacity_blocked"].as_u64().unwrap();
    assert!(
        if expected == 0 {
            activated > 0
        } else {
            unroutable > 0 || activated == 0
        },
        "{summary}"
    );
    assert_live_and_paid_once(&bridge, &mock, 0);
}

#[test]
fn execute_with_the_llm_delegate() {
    let tmp = prepared("tasks");
    let mock = MockLlm::start(None);
    let list = archon(tmp.path())
        .args(["tasks", "list", "--json"])
        .output()
        .unwrap();
    ok(&list);
    let tasks: Value = serde_json::from_slice(&list.stdout).unwrap();
    let task = tasks
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["state"] == "accepted")
        .expect("an accepted task")["task_ref"]
        .as_str()
        .unwrap()
        .to_string();
    let workspace = tmp.path().join("workspace");
    std::fs::create_dir_all(&workspace).unwrap();
    let out = llm(tmp.path(), &mock)
        .args(["execute", &task, "--delegate", "llm", "--issuer", "tl-1"])
        .arg("--workspace")
        .arg(&workspace)
        .output()
        .unwrap();
    ok(&out);
    let dir = out_dir(&tmp).join("execute").join(&task);
    assert!(
        dir.join("execution-stage-report.md").is_file(),
        "{}",
        describe(&out)
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(dir.join("execution-stage-report.json")).unwrap())
            .unwrap();
    assert_eq!(
        report["outcome"]["outcome"],
        "complete",
        "{}",
        describe(&out)
    );
    // The execute stage keeps its calls as evidence lines of the report
    // ("execute_delegate answered by <archon> (<model>, attempt …)"): the
    // model the server reported marks a live answer.
    let mut evidence = Vec::new();
    collect_strings(&report, &mut evidence);
    let answered: Vec<&String> = evidence
        .iter()
        .filter(|e| e.starts_with("execute_delegate answered by "))
        .collect();
    assert_eq!(answered.len(), 3, "one call per step: {answered:?}");
    assert!(
        answered.iter().all(|e| e.contains("(mock-served, ")),
        "{answered:?}"
    );
    assert_eq!(mock.requests(), answered.len(), "requests to the mock");
    assert_eq!(mock.repeated_bodies(), 0, "a question was paid twice");
    // The calls are also accounted beside the report, for `archon usage`.
    let text = std::fs::read_to_string(dir.join("agent_calls.jsonl")).unwrap();
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), answered.len(), "{text}");
    assert!(
        records.iter().all(|r| r["model"] == "mock-served"),
        "{text}"
    );
}

/// Every string nested in `v`, once per occurrence.
fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|x| collect_strings(x, out)),
        Value::Object(map) => map.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

/// The admin stages' call trails are per run: after a simulated run, an LLM
/// run of the same stage leaves only its own (live) calls in
/// `agent_calls.jsonl`, so `archon usage` never mixes the two runs.
#[test]
fn admin_call_trails_hold_the_last_run_only() {
    for stage in ["rfp", "proposals", "select"] {
        let tmp = prepared(stage);
        let mock = MockLlm::start(None);
        let mandate = mandates(&tmp).remove(0);
        let (args, dir) = match stage {
            "rfp" => (
                vec![format!("archon-out/executive/{SESSION}")],
                out_dir(&tmp).join("rfp"),
            ),
            "proposals" => (
                vec![mandate.display().to_string()],
                mandate.join("proposals_inbox"),
            ),
            _ => (
                vec![mandate.display().to_string()],
                mandate.join("selection"),
            ),
        };
        let simulated = calls(&dir).len();
        assert!(simulated > 0, "{stage}: the simulated run recorded no call");
        let out = llm(tmp.path(), &mock)
            .arg(stage)
            .args(&args)
            .output()
            .unwrap();
        ok(&out);
        assert_live_and_paid_once(&dir, &mock, 0);
    }
}

/// `plan` and `decompose` recorded against the mock, then replayed from the
/// cassette with the server stopped, write the recorded run's artifacts byte
/// for byte: call records, trails and manifests do not depend on whether an
/// answer came live or from the cassette.
#[test]
fn plan_and_decompose_replays_equal_their_recordings() {
    let cassette = tempfile::tempdir().unwrap();
    let cassette = cassette.path().display().to_string();
    let review = format!("archon-out/review/{SESSION}");
    // `archon --mode llm … plan` / `decompose` at `url`, with `flag` naming the cassette.
    let command = |tmp: &tempfile::TempDir, url: &str, flag: &str| {
        let mut c = llm_at(tmp.path(), url);
        c.args([flag, &cassette]);
        c
    };
    let plan = |tmp: &tempfile::TempDir, url: &str, flag: &str| {
        let out = command(tmp, url, flag)
            .args(["plan", &review])
            .output()
            .unwrap();
        ok(&out);
        crate::support::tree::files(&out_dir(tmp).join("executive"))
    };
    let decompose = |tmp: &tempfile::TempDir, url: &str, flag: &str| {
        let bridge = mandates(tmp).remove(0).join("execution_bridge");
        let out = command(tmp, url, flag)
            .arg("decompose")
            .arg("--from-selection-dir")
            .arg(bridge.with_file_name("selection"))
            .output()
            .unwrap();
        assert!(
            out.status.code().is_some_and(|c| c < 2),
            "{}",
            describe(&out)
        );
        crate::support::tree::files(&bridge)
    };
    let mock = MockLlm::start(None);
    let url = mock.url();
    let live_plan = plan(&prepared("review"), &url, "--record");
    let live_bridge = decompose(&prepared("select"), &url, "--record");
    assert!(mock.requests() > 0);
    // Stopped: a request would fail the stage (exit 2).
    drop(mock);
    let replayed_plan = plan(&prepared("review"), &url, "--replay");
    let replayed_bridge = decompose(&prepared("select"), &url, "--replay");
    for (what, live, replayed) in [
        ("plan", &live_plan, &replayed_plan),
        ("decompose", &live_bridge, &replayed_bridge),
    ] {
        assert_eq!(
            live.keys().collect::<Vec<_>>(),
            replayed.keys().collect::<Vec<_>>(),
            "{what}: different files"
        );
        for (name, bytes) in live {
            assert!(
                replayed[name] == *bytes,
                "{what}: {name} differs in the replay"
            );
        }
    }
}
