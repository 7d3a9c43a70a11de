//! End-to-end tests of `archon run`: the whole chain on the bundled example,
//! resume without redoing, byte-identical reruns, resume after SIGKILL, and
//! refusing an unusable delegate up front.

use crate::support::Mode;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::tree::files_where;

const NOW: &str = "2026-01-15T12:00:00Z";

fn archon(cwd: &Path) -> Command {
    let mut c = crate::support::archon(Mode::Auto);
    c.current_dir(cwd).env("ARCHON_NOW", NOW);
    c
}

/// Every file below `root` with its bytes, except the SQLite ledger files
/// (compared through their content instead: page layout is not content).
fn snapshot(root: &Path) -> BTreeMap<String, Vec<u8>> {
    files_where(root, |rel| !rel.contains("governance.db"))
}

/// The verified head (`SEQ:HASH`) of the ledger of the run root `out`.
fn ledger_head_of(cwd: &Path, out: &str) -> String {
    let ledger = Path::new(out).join("governance.db");
    let out = archon(cwd)
        .args(["verify", "--head", "--ledger", ledger.to_str().unwrap()])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The ledger's tasks as `archon tasks list --json` prints them.
fn ledger_tasks(cwd: &Path) -> String {
    ledger_tasks_of(cwd, "archon-out")
}

/// The tasks of the ledger of the run root `out`.
fn ledger_tasks_of(cwd: &Path, out: &str) -> String {
    let ledger = Path::new(out).join("governance.db");
    let out = archon(cwd)
        .args([
            "tasks",
            "--ledger",
            ledger.to_str().unwrap(),
            "list",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Tasks with their event numbers (`seq`, `version`) removed.
fn without_event_numbers(tasks: &str) -> serde_json::Value {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                map.remove("seq");
                map.remove("version");
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v: serde_json::Value = serde_json::from_str(tasks).unwrap();
    strip(&mut v);
    v
}

fn run_ok(cwd: &Path, extra: &[&str]) -> (String, String) {
    let out = archon(cwd).arg("run").args(extra).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "archon run failed:\n{stdout}\n{stderr}"
    );
    (stdout, stderr)
}

fn assert_same_tree(a: &Path, b: &Path) {
    let (sa, sb) = (snapshot(a), snapshot(b));
    let ka: Vec<_> = sa.keys().collect();
    let kb: Vec<_> = sb.keys().collect();
    assert_eq!(ka, kb, "different file sets");
    for (k, v) in &sa {
        assert!(v == &sb[k], "{k} differs");
    }
}

#[test]
fn whole_chain_on_the_bundled_example_then_resume_skips_every_stage() {
    let tmp = tempfile::tempdir().unwrap();
    let (stdout, _) = run_ok(tmp.path(), &[]);
    assert!(stdout.contains("ratified"), "{stdout}");
    assert!(stdout.contains("WINNER_SELECTED"), "{stdout}");
    assert!(stdout.contains("complete"), "{stdout}");
    let out = tmp.path().join("archon-out");
    for f in [
        "review",
        "executive",
        "rfp",
        "governance.db",
        "run_state.json",
        "execute",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let before = snapshot(&out);
    let tasks_before = ledger_tasks(tmp.path());
    assert!(tasks_before.contains("reported"), "{tasks_before}");

    let (_, stderr) = run_ok(tmp.path(), &["-v"]);
    for stage in ["review", "plan", "rfp", "proposals", "select", "decompose"] {
        assert!(
            stderr.contains(&format!("[{stage}] up to date, verified and skipped")),
            "{stage} was not skipped:\n{stderr}"
        );
    }
    assert_eq!(before, snapshot(&out), "a resumed run changed artifacts");
    assert_eq!(tasks_before, ledger_tasks(tmp.path()));

    let verify = archon(tmp.path()).arg("verify").output().unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let status = archon(tmp.path()).arg("status").output().unwrap();
    assert!(String::from_utf8_lossy(&status.stdout).contains("WINNER_SELECTED"));
}

/// A delegate that cannot work is refused before any stage runs.
#[test]
fn an_unusable_delegate_is_refused_before_any_work() {
    for (extra, message) in [
        (
            &["--delegate", "llm"][..],
            "--delegate llm needs an LLM backend",
        ),
        (
            &["--delegate", "command"][..],
            "--delegate command needs --delegate-cmd",
        ),
        (
            &["--delegate-cmd", "true {phase}"][..],
            "--delegate-cmd is only used with --delegate command",
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let out = archon(tmp.path())
            .args(["--mode", "simulation", "run"])
            .args(extra)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(stderr.contains(message), "{extra:?}: {stderr}");
        assert!(!tmp.path().join("archon-out/review").exists(), "{extra:?}");
    }
}

#[test]
fn a_tampered_artifact_makes_its_stage_run_again() {
    let tmp = tempfile::tempdir().unwrap();
    run_ok(tmp.path(), &["--until", "plan"]);
    let triage = tmp
        .path()
        .join("archon-out/review/example-session-001/triage_results.json");
    let good = std::fs::read(&triage).unwrap();
    std::fs::write(&triage, b"{}").unwrap();
    let (_, stderr) = run_ok(tmp.path(), &["--until", "plan", "-v"]);
    assert!(stderr.contains("[review] running"), "{stderr}");
    assert_eq!(std::fs::read(&triage).unwrap(), good);
}

/// Items run side by side (motions, mandates, tactics, tasks), so three runs
/// give timing three chances to leak into the output; the ledger file itself
/// is compared byte for byte too.
#[test]
fn same_seed_and_clock_give_byte_identical_runs() {
    let runs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    for run in &runs {
        run_ok(run.path(), &["--quiet"]);
    }
    let ledger = |dir: &Path| std::fs::read(dir.join("archon-out/governance.db")).unwrap();
    for other in &runs[1..] {
        assert_same_tree(runs[0].path(), other.path());
        assert!(
            ledger(runs[0].path()) == ledger(other.path()),
            "governance.db differs"
        );
    }
}

/// A run killed with SIGKILL at spread-out moments resumes with the same
/// command to the same artifacts and ledger as an uninterrupted run.
#[test]
fn killed_runs_resume_to_the_uninterrupted_result() {
    let reference = tempfile::tempdir().unwrap();
    let start = std::time::Instant::now();
    run_ok(reference.path(), &["--quiet"]);
    let full = start.elapsed();
    let expected_tasks = ledger_tasks(reference.path());

    let crashed = tempfile::tempdir().unwrap();
    // Bounded: six kills spread over the length of one uninterrupted run.
    for k in 1..=6u32 {
        let at = full.mul_f64(f64::from(k) / 7.0);
        let mut child = archon(crashed.path())
            .args(["run", "--quiet"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(at.min(Duration::from_secs(20)));
        let _ = child.kill();
        let _ = child.wait();
    }
    run_ok(crashed.path(), &["--quiet"]);
    assert_same_tree(reference.path(), crashed.path());
    // A kill between an operation's intent and its outcome leaves the intent in
    // the log (the ledger's record of the crash), so event numbers may shift.
    assert_eq!(
        without_event_numbers(&expected_tasks),
        without_event_numbers(&ledger_tasks(crashed.path()))
    );
}

/// A run does not depend on where its root is: `--out a`, `--out b/c` and an
/// absolute `--out` given from another working directory give byte-identical
/// trees, the ledger file included; and a finished run moved elsewhere is
/// verified and skipped, stage by stage, without a new file.
#[test]
fn the_output_folder_s_location_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let absolute = tmp.path().join("abs");
    run_ok(tmp.path(), &["--quiet", "--out", "a"]);
    run_ok(tmp.path(), &["--quiet", "--out", "b/c"]);
    run_ok(
        &elsewhere,
        &["--quiet", "--out", absolute.to_str().unwrap()],
    );
    let a = crate::support::tree::files(&tmp.path().join("a"));
    for other in [tmp.path().join("b/c"), absolute] {
        let b = crate::support::tree::files(&other);
        assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
        for (k, v) in &a {
            assert!(v == &b[k], "{k} differs in {}", other.display());
        }
    }

    std::fs::rename(tmp.path().join("a"), tmp.path().join("moved")).unwrap();
    let (_, stderr) = run_ok(tmp.path(), &["-v", "--out", "moved"]);
    for stage in ["review", "plan", "rfp", "proposals", "select", "decompose"] {
        assert!(
            stderr.contains(&format!("[{stage}] up to date, verified and skipped")),
            "{stage} was not skipped after the move:\n{stderr}"
        );
    }
    let moved = crate::support::tree::files(&tmp.path().join("moved"));
    let changed: Vec<&String> = moved
        .keys()
        .chain(a.keys())
        .filter(|k| moved.get(*k) != a.get(*k))
        .collect();
    assert!(changed.is_empty(), "the moved run changed: {changed:?}");
}

/// How many write points the crash test steps through (bounded: each costs a
/// crashed run and a resume): half spread evenly over all of a run's, half
/// over the points right after a commit (a ledger transaction, a manifest,
/// the run state, a checkpoint of activations), where a resume must pick up
/// what the crashed run had just made durable.
const FAULT_SAMPLES: usize = 60;

/// Write points whose completion a resume relies on.
const COMMIT_POINTS: [&str; 4] = [
    "ledger",
    "stage_manifest.json",
    "run_state.json",
    "activations.json",
];

/// `count` of `points` spread evenly (first and last included).
fn spread(points: &[u64], count: usize) -> Vec<u64> {
    let n = points.len();
    if n <= count {
        return points.to_vec();
    }
    (0..count)
        .map(|i| points[i * (n - 1) / (count - 1)])
        .collect()
}

/// The write points the crash test stops at, from the reference run's tally
/// (`<n> <what>` lines).
fn fault_samples(tally: &str) -> Vec<u64> {
    let points: Vec<(u64, &str)> = tally
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter_map(|(n, what)| Some((n.parse().ok()?, what)))
        .collect();
    let all: Vec<u64> = points.iter().map(|(n, _)| *n).collect();
    let after_commit: Vec<u64> = points
        .windows(2)
        .filter(|w| COMMIT_POINTS.iter().any(|c| w[0].1.starts_with(c)))
        .map(|w| w[1].0)
        .collect();
    let mut samples = spread(&all, FAULT_SAMPLES / 2);
    samples.extend(spread(&after_commit, FAULT_SAMPLES - samples.len()));
    samples.sort_unstable();
    samples.dedup();
    samples
}

#[test]
fn the_crash_test_stops_right_after_each_kind_of_commit() {
    let mut tally = String::new();
    for n in 1..=500 {
        let what = match n {
            100 => "ledger outcomes",
            200 => "activations.json",
            _ => "task.json",
        };
        tally.push_str(&format!("{n} {what}\n"));
    }
    let samples = fault_samples(&tally);
    assert!(
        samples.contains(&101) && samples.contains(&201),
        "{samples:?}"
    );
    assert!(
        samples.contains(&1) && samples.contains(&500),
        "{samples:?}"
    );
    assert!(samples.len() <= FAULT_SAMPLES);
}

/// The fault hook stops a run at one durable write point after another
/// (`ARCHON_FAIL_AT=k`, exit 86); the same command then resumes it to the
/// uninterrupted run's tree, byte for byte, and the same ledger: the same
/// tasks and event numbers and the same head (an intent cut from its outcome
/// is adopted by the retried operation), and `archon verify` passes.
#[test]
fn a_run_stopped_at_any_write_point_resumes_to_the_uninterrupted_tree() {
    let reference = tempfile::tempdir().unwrap();
    let tally = reference.path().join("tally");
    let out = archon(reference.path())
        .args(["run", "--quiet", "--out", "run"])
        .env("ARCHON_FAULT_TALLY", &tally)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let samples = fault_samples(&std::fs::read_to_string(&tally).unwrap());
    assert!(
        samples.len() > FAULT_SAMPLES * 9 / 10,
        "only {} write points sampled",
        samples.len()
    );
    let expected = snapshot(&reference.path().join("run"));
    let expected_tasks = (
        ledger_tasks_of(reference.path(), "run"),
        ledger_head_of(reference.path(), "run"),
    );

    // Two at a time: each is a short sequential run.
    let failures: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = samples
            .chunks(samples.len().div_ceil(2))
            .map(|chunk| {
                let (expected, expected_tasks) = (&expected, &expected_tasks);
                s.spawn(move || {
                    chunk
                        .iter()
                        .filter_map(|&k| crash_and_resume(k, expected, expected_tasks).err())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// One crash at write point `k`, then a resume, checked against the reference.
fn crash_and_resume(
    k: u64,
    expected: &BTreeMap<String, Vec<u8>>,
    expected_tasks: &(String, String),
) -> Result<(), String> {
    let tmp = tempfile::tempdir().unwrap();
    let crashed = archon(tmp.path())
        .args(["run", "--quiet", "--out", "run"])
        .env("ARCHON_FAIL_AT", k.to_string())
        .output()
        .unwrap();
    if crashed.status.code() != Some(86) {
        return Err(format!(
            "k={k}: exit {:?}, not the fault's 86",
            crashed.status.code()
        ));
    }
    let resumed = archon(tmp.path())
        .args(["run", "--quiet", "--out", "run"])
        .output()
        .unwrap();
    if !resumed.status.success() {
        return Err(format!(
            "k={k}: resume failed: {}",
            String::from_utf8_lossy(&resumed.stderr)
        ));
    }
    let got = snapshot(&tmp.path().join("run"));
    if got.keys().ne(expected.keys()) {
        let extra: Vec<_> = got.keys().filter(|f| !expected.contains_key(*f)).collect();
        let missing: Vec<_> = expected.keys().filter(|f| !got.contains_key(*f)).collect();
        return Err(format!("k={k}: files extra {extra:?}, missing {missing:?}"));
    }
    if let Some(f) = expected.keys().find(|f| got[*f] != expected[*f]) {
        return Err(format!("k={k}: {f} differs"));
    }
    if ledger_tasks_of(tmp.path(), "run") != expected_tasks.0 {
        return Err(format!("k={k}: ledger tasks differ"));
    }
    if ledger_head_of(tmp.path(), "run") != expected_tasks.1 {
        return Err(format!("k={k}: ledger head differs"));
    }
    let verify = archon(tmp.path()).args(["verify", "run"]).output().unwrap();
    if !verify.status.success() {
        let report = String::from_utf8_lossy(&verify.stdout);
        return Err(format!("k={k}: verify:\n{report}"));
    }
    Ok(())
}

/// The real consolidator session of the Python system, with its own roster
/// (whose ids are not the bundled roster's, so the bundled Earl routing table
/// names none of its Earls): over seeds 1–10 the chain reaches execute, and
/// tasks complete, on at least 8 of 10 seeds.
#[test]
fn the_real_fixture_session_reaches_execute_on_most_seeds() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/archon72");
    let session = fixtures.join("consolidator/c53dba60-e7d8-4eae-9c42-14750a914b4e");
    let roster = fixtures.join("docs/archons-base.json");
    let tmp = tempfile::tempdir().unwrap();
    let reaches_execute = |seed: u64| -> bool {
        let out = archon(tmp.path())
            .args(["--seed", &seed.to_string(), "--roster"])
            .arg(&roster)
            .arg("run")
            .arg(&session)
            .args(["--out", &format!("seed-{seed}")])
            .output()
            .unwrap();
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "seed {seed}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The summary's line `execution:  N complete`.
        let stdout = String::from_utf8_lossy(&out.stdout);
        stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix("execution:"))
            .and_then(|l| l.split_whitespace().next()?.parse::<u64>().ok())
            .is_some_and(|n| n > 0)
    };
    // Two seeds at a time: each run is sequential.
    let reached: Vec<u64> = std::thread::scope(|s| {
        let halves: Vec<_> = [1..=5u64, 6..=10]
            .into_iter()
            .map(|seeds| {
                s.spawn(move || {
                    seeds
                        .filter(|&seed| reaches_execute(seed))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        halves.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert!(reached.len() >= 8, "execute reached on seeds {reached:?}");
}

/// `archon run --json` prints one JSON value, the run's summary with its outcome,
/// not each stage's output before it.
#[test]
fn run_json_prints_one_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let out = archon(tmp.path())
        .args(["--json", "run", "--until", "plan"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(summary["outcome"], "complete", "{summary}");
}
