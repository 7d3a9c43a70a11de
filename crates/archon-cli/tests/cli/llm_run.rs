//! `archon run --mode llm` end to end against the mock model server
//! (tests/cli/support/mock_llm.rs): every stage asks the mock, the run completes and
//! verifies; a run killed with SIGKILL resumes without paying twice for an
//! answer it had recorded; and (ignored, run by hand) the LLM-mode benchmark
//! against the critical-path bound.

use crate::support::Mode;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::mock_llm::{bursts, recorded_messages_hash, MockLlm};
use crate::support::tree::{files_where, unsalted, SALTED_FILES};
use serde_json::Value;

const NOW: &str = "2026-01-15T12:00:00Z";
/// The default `--concurrency`: calls a killed run may have had in flight.
const CONCURRENCY: usize = 8;

fn archon(cwd: &Path, url: &str) -> Command {
    let mut c = crate::support::archon(Mode::Llm(url));
    c.current_dir(cwd).env("ARCHON_NOW", NOW);
    c
}

/// `archon run` with every stage in LLM mode, execution's delegate included.
fn run_llm(cwd: &Path, url: &str) -> Command {
    let mut c = archon(cwd, url);
    c.args(["run", "--delegate", "llm"]);
    c
}

/// The run finishes: complete, or blocked (exit 1) when some of the mock's
/// task drafts find no cluster, which the summary then lists.
fn run_ok(cwd: &Path, url: &str) -> String {
    let out = run_llm(cwd, url).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let unroutable = stdout.contains("unroutable tasks (") && stdout.contains("outcome: blocked");
    assert!(
        out.status.success() || (out.status.code() == Some(1) && unroutable),
        "archon run failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn verify_ok(cwd: &Path) {
    let out = crate::support::archon(Mode::Auto)
        .current_dir(cwd)
        .arg("verify")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The message hashes of the questions recorded in a cassette directory.
fn recorded(cassettes: &Path) -> BTreeSet<String> {
    let Ok(entries) = std::fs::read_dir(cassettes) else {
        return BTreeSet::new();
    };
    entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| std::fs::read(e.path()).ok())
        .filter_map(|b| serde_json::from_slice::<Value>(&b).ok())
        .map(|entry| recorded_messages_hash(&entry))
        .collect()
}

#[test]
fn every_stage_asks_the_model_and_the_run_verifies() {
    let mock = MockLlm::start(None);
    let tmp = tempfile::tempdir().unwrap();
    let stdout = run_ok(tmp.path(), &mock.url());
    assert!(stdout.contains("ratified"), "{stdout}");
    assert!(stdout.contains("WINNER_SELECTED"), "{stdout}");
    // Whether the mock's task drafts find a cluster depends on its answers;
    // the summary reaches execution either way.
    assert!(stdout.contains("execution:"), "{stdout}");
    // One answer schema per kind of question: review (reviews, ballots), plan
    // (drafts), rfp (requirements), proposals, select (scores, votes), decompose.
    // Every answer schema sent bounds its strings and arrays, so a server's
    // grammar-constrained decoding always closes the JSON.
    for a in mock.arrivals() {
        assert!(a.unbounded.is_empty(), "{}: {:?}", a.title, a.unbounded);
    }
    let asked = mock.by_title();
    for title in [
        "ReviewAnswer",
        "BallotAnswer",
        "DraftAnswer",
        "RequirementsAnswer",
        "ProposalDraft",
        "ScoreSheet",
        "Vote",
        "EarlDecomposition",
    ] {
        assert!(
            asked.get(title).is_some_and(|n| *n > 0),
            "{title}: {asked:?}"
        );
    }
    // The mock's task drafts do not always find a cluster; every task that
    // reached execution had the model do its steps.
    let executed = tasks(tmp.path()).matches("\"state\": \"reported\"").count();
    assert!(
        asked.get("DelegateAnswer").copied().unwrap_or(0) >= executed,
        "{executed} tasks executed: {asked:?}"
    );
    assert_eq!(mock.repeated_bodies(), 0, "a question was paid twice");
    // `archon usage` accounts for every request the server saw, by stage.
    let usage = crate::support::archon(Mode::Auto)
        .current_dir(tmp.path())
        .args(["--json", "usage", "archon-out"])
        .output()
        .unwrap();
    let usage: Value = serde_json::from_slice(&usage.stdout).unwrap();
    assert_eq!(usage["total"]["calls"], mock.requests(), "{usage}");
    for stage in ["review", "plan", "rfp", "proposals", "select", "decompose"] {
        assert!(
            usage["by_stage"][stage]["calls"].as_u64() > Some(0),
            "{stage}: {}",
            usage["by_stage"]
        );
    }
    // The run's report counts the same calls and tokens (the mock reports usage).
    let page = std::fs::read_to_string(tmp.path().join("archon-out/report.html")).unwrap();
    for (key, total) in [
        ("calls", "calls"),
        ("prompt-tokens", "prompt_tokens"),
        ("completion-tokens", "completion_tokens"),
    ] {
        let n = usage["total"][total].as_u64().unwrap();
        let shown = format!("data-count=\"{key}\">{n}<");
        assert!(n > 0 && page.contains(&shown), "{shown}");
    }
    // Every exchange is recorded by default, so a repeated run pays nothing.
    let cassettes = tmp.path().join("archon-out/cassettes");
    assert_eq!(recorded(&cassettes).len(), mock.requests());
    verify_ok(tmp.path());
    let paid = mock.requests();
    run_ok(tmp.path(), &mock.url());
    assert_eq!(
        mock.requests(),
        paid,
        "a repeated run asked the model again"
    );
}

/// Every file of a run except what is accounting of this particular process:
/// cassettes, manifests and the run state (hashes of the files below), and the
/// ledger's SQLite pages (compared through `archon tasks list`). Ratification
/// salts and commitments are drawn from the OS in LLM mode, so they are blanked
/// (see [`unsalted`]). Call records
/// keep every field except `source`: an answer read back from the cassette
/// after a resume is `replayed`, where the uninterrupted run paid for it live.
fn snapshot(out: &Path) -> BTreeMap<String, String> {
    files_where(out, |rel| {
        !(rel.starts_with("cassettes")
            || rel.contains("governance.db")
            || rel.ends_with("stage_manifest.json")
            || rel == "run_state.json")
    })
    .into_iter()
    .map(|(rel, bytes)| {
        let text = String::from_utf8_lossy(&bytes)
            .replace("\"source\":\"live\"", "\"source\":\"replayed\"")
            .replace("\"source\": \"live\"", "\"source\": \"replayed\"");
        let salted = SALTED_FILES.iter().any(|f| rel.ends_with(f));
        (rel, if salted { unsalted(&text) } else { text })
    })
    .collect()
}

fn tasks(cwd: &Path) -> String {
    let out = crate::support::archon(Mode::Auto)
        .current_dir(cwd)
        .args(["tasks", "list", "--json"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

/// A run killed with SIGKILL at spread-out moments resumes to completion; no
/// question recorded before a kill is asked again, and at most the calls in
/// flight at each kill (≤ the concurrency) are paid twice.
#[test]
fn killed_llm_runs_resume_without_paying_twice() {
    let mock = MockLlm::start(Some(Duration::from_millis(20)));
    let url = mock.url();

    // An uninterrupted run: how many questions the chain asks, and how long it takes.
    let reference = tempfile::tempdir().unwrap();
    let started = Instant::now();
    run_ok(reference.path(), &url);
    let full = started.elapsed();
    let questions = mock.requests();

    let crashed = tempfile::tempdir().unwrap();
    let cassettes = crashed.path().join("archon-out/cassettes");
    let before = mock.requests();
    let kills = 20u32;
    // (moment of the kill, questions recorded by then)
    let mut recorded_at_kill = Vec::new();
    for k in 1..=kills {
        let mut child = run_llm(crashed.path(), &url)
            .arg("--quiet")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(full.mul_f64(f64::from(k) / f64::from(kills + 1)));
        let _ = child.kill();
        let _ = child.wait();
        recorded_at_kill.push((Instant::now(), recorded(&cassettes)));
    }
    assert!(
        recorded_at_kill[0].1.len() < questions,
        "the first kill came after the run had finished"
    );
    run_ok(crashed.path(), &url);
    verify_ok(crashed.path());
    let crash_arrivals = &mock.arrivals()[before..];

    // In-flight calls at a kill were paid but never recorded: those alone may be asked again.
    let paid = crash_arrivals.len();
    assert!(
        paid <= questions + kills as usize * CONCURRENCY,
        "{paid} paid calls for {questions} questions and {kills} kills"
    );
    let asked_again_after_recording = crash_arrivals
        .iter()
        .filter(|a| {
            recorded_at_kill
                .iter()
                .any(|(at, recorded)| a.at > *at && recorded.contains(&a.messages_hash))
        })
        .count();
    assert_eq!(
        asked_again_after_recording, 0,
        "recorded answers were paid again"
    );

    // The uninterrupted run with the same answers (a model is not deterministic:
    // the crashed run's cassette holds what this model said, and the measured
    // latencies that call records and plan traces carry) pays nothing and
    // writes the same artifacts and ledger.
    let uninterrupted = tempfile::tempdir().unwrap();
    let copy = uninterrupted.path().join("archon-out/cassettes");
    std::fs::create_dir_all(&copy).unwrap();
    for e in std::fs::read_dir(&cassettes).unwrap().flatten() {
        std::fs::copy(e.path(), copy.join(e.file_name())).unwrap();
    }
    let before = mock.requests();
    run_ok(uninterrupted.path(), &url);
    assert_eq!(
        mock.requests(),
        before,
        "the crashed run left questions unrecorded"
    );
    let (a, b) = (
        snapshot(&uninterrupted.path().join("archon-out")),
        snapshot(&crashed.path().join("archon-out")),
    );
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "different file sets"
    );
    for (name, text) in &a {
        assert!(text == &b[name], "{name} differs after the crashes");
    }
    assert_eq!(tasks(uninterrupted.path()), tasks(crashed.path()));
}

/// LLM-mode benchmark (run by hand: `cargo test --release -p archon-cli --test
/// cli llm_run -- --ignored --nocapture`): the whole chain against the mock with a
/// fixed 50 ms latency at the default concurrency, each stage and the whole run
/// against its critical-path bound = dependent rounds × latency.
///
/// A round is a burst of arrivals at the mock: one `ask_all` batch (or one wave
/// of a batch wider than the concurrency); arrivals more than half a latency
/// apart belong to different rounds. `waves` is the least number of rounds the
/// stage's calls could take at that concurrency if none depended on another,
/// and the least the bound counts (jitter can merge two bursts).
/// A stage's wall time is from its `[stage] running` line to its `[stage] done`
/// line (`-v`, read as they are written).
#[test]
#[ignore]
fn benchmark_llm_run_against_the_critical_path() {
    let latency = Duration::from_millis(50);
    let mock = MockLlm::start(Some(latency));
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut child = run_llm(dir.path(), &mock.url())
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // (stage, started, done)
    let mut stages: Vec<(String, Instant, Instant)> = Vec::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let (line, now) = (line.unwrap(), Instant::now());
        let Some((stage, what)) = line.strip_prefix('[').and_then(|l| l.split_once("] ")) else {
            continue;
        };
        if what == "running" {
            stages.push((stage.to_string(), now, now));
        } else if what.starts_with("done") {
            stages.last_mut().unwrap().2 = now;
        }
    }
    assert!(child.wait().unwrap().success());
    let ended = Instant::now();
    let arrivals = mock.arrivals();
    let report = |what: &str, from: Instant, to: Instant| {
        let calls: Vec<_> = arrivals
            .iter()
            .filter(|a| a.at >= from && a.at < to)
            .cloned()
            .collect();
        let waves = calls.len().div_ceil(CONCURRENCY);
        // Jitter can merge two bursts; no stage takes fewer rounds than waves.
        let rounds = bursts(&calls, latency / 2).max(waves);
        let bound = latency * rounds as u32;
        let wall = to - from;
        let ratio = match rounds {
            0 => "no model calls".to_string(),
            _ => format!("{:.2}x", wall.as_secs_f64() / bound.as_secs_f64()),
        };
        println!(
            "{what:>10}: {:>3} calls, {rounds:>3} rounds (waves {waves:>3}), bound {:.2} s, measured {:.2} s, {ratio}",
            calls.len(),
            bound.as_secs_f64(),
            wall.as_secs_f64(),
        );
    };
    for (stage, from, to) in &stages {
        report(stage, *from, *to);
    }
    report("run", started, ended);
    assert_eq!(stages.len(), 8, "{stages:?}");
}

/// A run recorded in LLM mode against the mock, then replayed from its
/// cassette with the server stopped, writes a byte-identical tree: the replay
/// counts as the recording it replays (cassettes aside: the replay reads them
/// and records none).
#[test]
fn a_replayed_run_writes_the_recorded_run_s_tree() {
    let recorded_run = tempfile::tempdir().unwrap();
    let (url, recorded_stdout) = {
        let mock = MockLlm::start(None);
        let stdout = run_ok(recorded_run.path(), &mock.url());
        (mock.url(), stdout)
    };
    let cassettes = recorded_run.path().join("archon-out/cassettes");
    let replayed = tempfile::tempdir().unwrap();
    let out = run_llm(replayed.path(), &url)
        .arg("--replay")
        .arg(&cassettes)
        .output()
        .unwrap();
    // The replay ends as the recording did (blocked when the mock's drafts
    // fit no cluster), and prints the same summary.
    assert!(
        matches!(out.status.code(), Some(0 | 1))
            && String::from_utf8_lossy(&out.stdout) == recorded_stdout,
        "replay failed ({:?}): {}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let tree =
        |dir: &Path| files_where(&dir.join("archon-out"), |rel| !rel.starts_with("cassettes"));
    let (a, b) = (tree(recorded_run.path()), tree(replayed.path()));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    let differing: Vec<&String> = a.keys().filter(|k| a[*k] != b[*k]).collect();
    assert!(differing.is_empty(), "differ after replay: {differing:?}");
}
