//! LLM mode when the model server fails: a server that is down or lacks the
//! model stops every command before its first question (exit 2, naming the URL
//! or the served models); a model whose answers are mostly invalid blocks the
//! stage (exit 1) with the counts and the first reasons, never "100 % response
//! rate" over abstentions.

use std::path::{Path, PathBuf};

use std::process::Command;

use crate::support::cli::{archon, describe};
use crate::support::mock_llm::{MockLlm, SERVED_MODEL};

const SESSION: &str = "example-session-001";

fn llm(cwd: &Path, url: &str, model: &str) -> Command {
    let mut c = archon(cwd);
    c.args(["--mode", "llm", "--provider", "openai", "--model", model])
        .args(["--base-url", url, "--timeout", "2", "--max-retries", "0"]);
    c
}

/// A URL on 127.0.0.1 where nothing listens (a port just freed).
fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

fn mandate(out: &Path) -> PathBuf {
    let rfp = out.join("rfp");
    let session = std::fs::read_dir(&rfp)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::read_dir(session.join("mandates"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
}

/// A folder holding the bundled example run in simulation up to `tasks`,
/// and an empty workspace `ws` for `execute`.
fn prepared_until_tasks() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let prepared = archon(tmp.path())
        .args(["--mode", "simulation", "run", "--quiet", "--until", "tasks"])
        .output()
        .unwrap();
    assert!(prepared.status.success(), "{}", describe(&prepared));
    std::fs::create_dir_all(tmp.path().join("ws")).unwrap();
    tmp
}

/// Every command that asks the agents, with its inputs in `tmp` (a simulated
/// run up to `tasks`).
fn stage_commands(tmp: &Path) -> Vec<(&'static str, Vec<String>)> {
    let out = tmp.join("archon-out");
    let mandate = mandate(&out);
    let task = {
        let list = archon(tmp)
            .args(["tasks", "list", "--json"])
            .output()
            .unwrap();
        let tasks: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
        tasks
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["state"] == "accepted")
            .expect("an accepted task")["task_ref"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let session = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/example/consolidator")
        .join(SESSION);
    let s = |p: &Path| p.display().to_string();
    vec![
        (
            "review",
            vec!["review".into(), "--out".into(), "r".into(), s(&session)],
        ),
        (
            "plan",
            vec![
                "plan".into(),
                format!("archon-out/review/{SESSION}"),
                "--out".into(),
                "p".into(),
            ],
        ),
        (
            "rfp",
            vec!["rfp".into(), format!("archon-out/executive/{SESSION}")],
        ),
        ("proposals", vec!["proposals".into(), s(&mandate)]),
        ("select", vec!["select".into(), s(&mandate)]),
        (
            "decompose",
            vec![
                "decompose".into(),
                "--from-selection-dir".into(),
                s(&mandate.join("selection")),
            ],
        ),
        (
            "execute",
            vec![
                "execute".into(),
                task,
                "--delegate".into(),
                "llm".into(),
                "--issuer".into(),
                "tl-1".into(),
                "--workspace".into(),
                "ws".into(),
            ],
        ),
        (
            "run",
            vec!["run".into(), "--out".into(), "fresh-run".into()],
        ),
    ]
}

#[test]
fn a_server_that_is_down_stops_every_stage_command_before_its_first_question() {
    let tmp = prepared_until_tasks();
    let url = dead_url();
    for (name, args) in stage_commands(tmp.path()) {
        let started = std::time::Instant::now();
        let out = llm(tmp.path(), &url, SERVED_MODEL)
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", describe(&out));
        assert!(
            stderr.contains(&format!("cannot reach model server at {url}")),
            "{name}: {}",
            describe(&out)
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{name} took {:?}",
            started.elapsed()
        );
    }
    assert!(
        !tmp.path().join("fresh-run/run_state.json").exists() || {
            let state =
                std::fs::read_to_string(tmp.path().join("fresh-run/run_state.json")).unwrap();
            !state.contains("\"review\"")
        }
    );
}

#[test]
fn a_model_the_server_does_not_serve_is_named_with_the_served_list() {
    let tmp = tempfile::tempdir().unwrap();
    let mock = MockLlm::start(None);
    let session = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/example/consolidator")
        .join(SESSION);
    let out = llm(tmp.path(), &mock.url(), "llama3.1:8b")
        .args(["review", "--out", "r"])
        .arg(&session)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "model server at {} does not serve model 'llama3.1:8b' (served: {SERVED_MODEL})",
            mock.url()
        )),
        "{}",
        describe(&out)
    );
    assert_eq!(mock.requests(), 0, "no question was asked");
    assert!(!tmp.path().join("r").exists());
}

#[test]
fn a_model_whose_answers_are_all_invalid_blocks_the_stage_with_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let prepared = archon(tmp.path())
        .args([
            "--mode",
            "simulation",
            "run",
            "--quiet",
            "--until",
            "review",
        ])
        .output()
        .unwrap();
    assert!(prepared.status.success(), "{}", describe(&prepared));
    let mock = MockLlm::answering_prose();
    let out = llm(tmp.path(), &mock.url(), SERVED_MODEL)
        .args([
            "--max-reasks",
            "1",
            "plan",
            &format!("archon-out/review/{SESSION}"),
            "--out",
            "p",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let asked = mock.requests() / 2; // each ask and its one re-ask
    assert!(asked > 0);
    assert!(
        stderr.contains(&format!(
            "blocked: most answers were invalid: {asked} asked: 0 valid at the first try, 0 after a re-ask ({asked} re-ask(s)), {asked} invalid, 0 failed"
        )),
        "{}",
        describe(&out)
    );
    assert!(
        stderr.contains("the answer contains no JSON object"),
        "{}",
        describe(&out)
    );
}

#[test]
fn auto_mode_says_which_mode_it_chose() {
    let tmp = tempfile::tempdir().unwrap();
    let session = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/example/consolidator")
        .join(SESSION);
    let simulated = archon(tmp.path())
        .args(["--mode", "auto", "review", "--out", "r"])
        .arg(&session)
        .output()
        .unwrap();
    assert_eq!(simulated.status.code(), Some(0), "{}", describe(&simulated));
    let stderr = String::from_utf8_lossy(&simulated.stderr);
    assert!(
        stderr.contains("mode auto: SIMULATED answers"),
        "{}",
        describe(&simulated)
    );

    let url = dead_url();
    let live = archon(tmp.path())
        .args([
            "--mode",
            "auto",
            "--provider",
            "vllm",
            "--base-url",
            &url,
            "--model",
            "m",
        ])
        .args(["review", "--out", "r2"])
        .arg(&session)
        .output()
        .unwrap();
    assert_eq!(live.status.code(), Some(2), "{}", describe(&live));
    let stderr = String::from_utf8_lossy(&live.stderr);
    assert!(
        stderr.contains(&format!("mode auto: LLM answers from {url}, model m")),
        "{}",
        describe(&live)
    );
}

/// A server that fails during the stage (here: every chat call 503, after a
/// preflight that passed) fails the stage, exit 2, instead of planning from
/// fallback contributions; no motion folder is written.
#[test]
fn a_transport_failure_during_a_stage_is_an_error_not_a_fallback() {
    let tmp = tempfile::tempdir().unwrap();
    let prepared = archon(tmp.path())
        .args([
            "--mode",
            "simulation",
            "run",
            "--quiet",
            "--until",
            "review",
        ])
        .output()
        .unwrap();
    assert!(prepared.status.success(), "{}", describe(&prepared));
    let mock = MockLlm::overloaded();
    let out = llm(tmp.path(), &mock.url(), SERVED_MODEL)
        .args([
            "plan",
            &format!("archon-out/review/{SESSION}"),
            "--out",
            "p",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("HTTP 503"), "{}", describe(&out));
    assert!(stderr.contains("server overloaded"), "{}", describe(&out));
    let written = std::fs::read_dir(tmp.path().join("p"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(written, 0, "no motion planned from fallbacks");
}

/// A server that fails during the stage (every chat call 503, after a
/// preflight that passed) fails every stage command with exit 2 and leaves
/// the stage's artifacts as they were: nothing is written from the answers
/// that did not come. Allowed: the governance ledger (a lease taken and
/// released), a run's copy of its input, cassette folder and run state, and
/// resumable checkpoints.
#[test]
fn a_stage_whose_server_fails_mid_run_writes_no_artifacts() {
    let tmp = prepared_until_tasks();
    let mock = MockLlm::overloaded();
    // Paths relative to the test folder.
    let allowed = |p: &str| {
        ["cassettes/", ".archon/", "checkpoints/", "governance.db"]
            .iter()
            .any(|part| p.contains(part))
            || p.ends_with("run_state.json")
            || p.starts_with("fresh-run/input/")
    };
    let tree = |dir: &Path| crate::support::tree::files_where(dir, |p| !allowed(p));
    let mut wrote = Vec::new();
    for (name, args) in stage_commands(tmp.path()) {
        let before = tree(tmp.path());
        let out = llm(tmp.path(), &mock.url(), SERVED_MODEL)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}: {}", describe(&out));
        let after = tree(tmp.path());
        let changed: Vec<&String> = after
            .iter()
            .filter(|(p, bytes)| before.get(*p) != Some(*bytes))
            .map(|(p, _)| p)
            .chain(before.keys().filter(|p| !after.contains_key(*p)))
            .collect();
        if !changed.is_empty() {
            wrote.push(format!(
                "{name} wrote {} file(s), e.g. {:?}",
                changed.len(),
                changed[0]
            ));
        }
    }
    assert!(wrote.is_empty(), "{wrote:#?}");
}
