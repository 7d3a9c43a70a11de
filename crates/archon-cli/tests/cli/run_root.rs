//! `archon run` and its run root: a moved run is only verified, a second
//! writer is refused, and a chain that cannot hand its tasks on says so.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::tree::files_where;
use crate::support::{assert_one_warning_per_other_example, SPEC_EXAMPLES};
use assert_cmd::cargo::CommandCargoExt;

const NOW: &str = "2026-01-15T12:00:00Z";

fn archon(cwd: &Path) -> Command {
    let mut c = Command::cargo_bin("archon").expect("archon binary");
    c.current_dir(cwd)
        .env("ARCHON_NOW", NOW)
        .env("ARCHON_PROGRESS", "never")
        .env_remove("RUST_LOG")
        .env_remove("ARCHON_FAIL_AT")
        .args(["--mode", "simulation"]);
    c
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn run(cwd: &Path, args: &[&str]) -> Output {
    archon(cwd).arg("run").args(args).output().unwrap()
}

fn tasks_in(cwd: &Path, ledger: &Path) -> Vec<serde_json::Value> {
    let out = archon(cwd)
        .args(["tasks", "list", "--json", "--ledger"])
        .arg(ledger)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every file below `root` with its bytes, the ledger included.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    files_where(root, |_| true)
}

#[test]
fn a_moved_run_is_verified_and_skipped_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let first = run(tmp.path(), &["--out", "a"]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let tasks = tasks_in(tmp.path(), &tmp.path().join("a/governance.db")).len();
    assert!(tasks > 0, "the example run made tasks");

    std::fs::create_dir(tmp.path().join("moved")).unwrap();
    std::fs::rename(tmp.path().join("a"), tmp.path().join("moved/b")).unwrap();
    let root = tmp.path().join("moved/b");
    let before = tree(&root);

    let again = run(tmp.path(), &["--out", "moved/b", "-v"]);
    let stderr = text(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    for stage in ["review", "plan", "rfp", "proposals", "select", "decompose"] {
        assert!(
            stderr.contains(&format!("[{stage}] up to date, verified and skipped")),
            "{stage} ran again after the move:\n{stderr}"
        );
    }
    let after = tree(&root);
    let new: Vec<_> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    assert!(new.is_empty(), "new files after the move: {new:?}");
    let changed: Vec<_> = before
        .iter()
        .filter(|(k, v)| after.get(*k) != Some(v))
        .map(|(k, _)| k)
        .collect();
    assert!(
        changed.is_empty(),
        "files changed after the move: {changed:?}"
    );
    assert_eq!(
        tasks_in(tmp.path(), &root.join("governance.db")).len(),
        tasks
    );

    let verify = archon(tmp.path())
        .args(["verify", "moved/b"])
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", text(&verify.stdout));
}

#[test]
fn a_second_run_on_the_same_root_exits_2_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let mut first = archon(tmp.path())
        .args(["run", "--out", "r"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first run holds the lock once its pid file is there.
    let pid_file = tmp.path().join("r/.archon-lock.pid");
    let waited = Instant::now();
    while !pid_file.is_file() {
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "the first run never took the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = run(tmp.path(), &["--out", "r"]);
    let stderr = text(&second.stderr);
    let still_running = first.try_wait().unwrap().is_none();
    assert_eq!(second.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("run root r is in use by pid {}", first.id())),
        "{stderr}"
    );
    let status = first.wait().unwrap();
    assert!(
        still_running,
        "the first run ended before the second was refused: the test proves nothing"
    );
    assert!(status.success(), "the first run failed");
    let verify = archon(tmp.path()).args(["verify", "r"]).output().unwrap();
    assert!(verify.status.success(), "{}", text(&verify.stdout));
    assert!(!pid_file.exists(), "the lock's pid file outlived the run");
}

#[test]
fn a_cluster_dir_no_task_fits_exits_1_and_lists_the_unroutable_tasks() {
    let tmp = tempfile::tempdir().unwrap();
    let bundled = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/clusters/cluster-17-research.json"
    );
    let mut cluster: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bundled).unwrap()).unwrap();
    cluster["capabilities"]["tags"] = serde_json::json!(["community_ops"]);
    let clusters = tmp.path().join("clusters");
    std::fs::create_dir(&clusters).unwrap();
    std::fs::write(
        clusters.join("only.json"),
        serde_json::to_vec_pretty(&cluster).unwrap(),
    )
    .unwrap();

    let out = run(tmp.path(), &["--out", "r", "--cluster-dir", "clusters"]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("unroutable tasks ("), "{stdout}");
    assert!(stdout.contains("BLOCKED_BY_CAPABILITY"), "{stdout}");
    assert!(stdout.contains("outcome: blocked"), "{stdout}");
    // Every task the decomposition drafted is listed.
    let drafted: usize = files_where(&tmp.path().join("r/rfp"), |rel| {
        rel.ends_with("execution_bridge/activation_manifest.json")
    })
    .values()
    .map(|b| {
        serde_json::from_slice::<Vec<serde_json::Value>>(b)
            .unwrap()
            .len()
    })
    .sum();
    assert!(drafted > 0);
    let listed = stdout
        .lines()
        .filter(|l| l.contains("BLOCKED_BY_CAPABILITY"))
        .count();
    assert_eq!(listed, drafted, "{stdout}");
}

/// The Python system's real session, roster and clusters (the spec's examples
/// folder, four clusters beside four other governance examples): each other
/// file is named once on stderr, and no task fits, since the simulation's
/// tasks need `dev_backend` and `qa_testing` together (spec, Step B), which no
/// example cluster carries.
#[test]
fn the_real_session_on_the_spec_examples_folder_names_each_other_file_once() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/archon72");
    let tmp = tempfile::tempdir().unwrap();
    let out = archon(tmp.path())
        .arg("--roster")
        .arg(fixtures.join("docs/archons-base.json"))
        .arg("run")
        .arg(fixtures.join("consolidator/c53dba60-e7d8-4eae-9c42-14750a914b4e"))
        .args(["--out", "r", "--no-report", "--cluster-dir", SPEC_EXAMPLES])
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert_one_warning_per_other_example(&stderr);
    assert!(stdout.contains("BLOCKED_BY_CAPABILITY"), "{stdout}");
    assert!(stdout.contains("outcome: blocked"), "{stdout}");
    let verify = archon(tmp.path()).args(["verify", "r"]).output().unwrap();
    assert!(verify.status.success(), "{}", text(&verify.stdout));
}

/// The real session's `mega-motions.json` cut mid-motion, or followed by
/// garbage: exit 2 before anything is written, naming the file and the JSON
/// path once (the stage's context is not repeated by the error chain).
#[test]
fn a_real_session_file_cut_short_or_with_trailing_garbage_exits_2_naming_file_and_path() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/archon72");
    let real = std::fs::read(
        fixtures.join("consolidator/c53dba60-e7d8-4eae-9c42-14750a914b4e/mega-motions.json"),
    )
    .unwrap();
    let garbage = [real.as_slice(), b"}garbage\n"].concat();
    for (bytes, expected) in [
        (&real[..40_000], "$[5].rationale: malformed JSON"),
        (&garbage[..], "$: trailing content after the JSON value"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let session = tmp.path().join("c53dba60");
        std::fs::create_dir(&session).unwrap();
        std::fs::write(session.join("mega-motions.json"), bytes).unwrap();
        let out = archon(tmp.path())
            .arg("--roster")
            .arg(fixtures.join("docs/archons-base.json"))
            .arg("run")
            .arg(&session)
            .args(["--out", "r"])
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!("mega-motions.json: {expected}")),
            "{stderr}"
        );
        assert_eq!(stderr.matches("invalid session").count(), 1, "{stderr}");
        assert!(!tmp.path().join("r/review").exists(), "{stderr}");
    }
}

/// The selection folder of a mandate whose selection chose a winner.
fn winning_selection(root: &Path) -> std::path::PathBuf {
    let selections = files_where(&root.join("rfp"), |rel| {
        rel.ends_with("selection/selection_result.json")
    });
    let (rel, _) = selections
        .iter()
        .find(|(_, bytes)| text(bytes).contains("\"WINNER_SELECTED\""))
        .expect("a mandate with a winner");
    root.join("rfp").join(rel).parent().unwrap().to_path_buf()
}

#[test]
fn a_stage_command_run_from_elsewhere_writes_to_its_runs_ledger_and_honours_the_lock() {
    let tmp = tempfile::tempdir().unwrap();
    let until = run(tmp.path(), &["--out", "r", "--until", "select"]);
    assert!(until.status.success(), "{}", text(&until.stderr));
    let root = tmp.path().join("r");
    assert!(!root.join("governance.db").exists());
    let selection = winning_selection(&root);
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();

    // While another process holds the run root, the stage command is refused.
    let held = archon_pipeline::RunLock::acquire(&archon_pipeline::Layout::new(&root)).unwrap();
    let refused = archon(&elsewhere)
        .arg("decompose")
        .arg("--from-selection-dir")
        .arg(&selection)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains(&format!("is in use by pid {}", std::process::id())),
        "{}",
        text(&refused.stderr)
    );
    drop(held);

    let out = archon(&elsewhere)
        .arg("decompose")
        .arg("--from-selection-dir")
        .arg(&selection)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !elsewhere.join("archon-out").exists(),
        "wrote to ./archon-out"
    );
    let tasks = tasks_in(tmp.path(), &root.join("governance.db")).len();
    assert!(tasks > 0);

    // From inside the mandate, with a bare relative name: the same ledger,
    // and the same activations found there again.
    let mandate = selection.parent().unwrap();
    let again = archon(mandate)
        .args(["decompose", "--from-selection-dir", "selection"])
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(
        !mandate.join("archon-out").exists(),
        "wrote to ./archon-out"
    );
    assert_eq!(
        tasks_in(tmp.path(), &root.join("governance.db")).len(),
        tasks
    );
}

#[test]
fn a_database_failure_is_not_called_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("governance.db"),
        "this is a text file, not a SQLite database\n",
    )
    .unwrap();
    let out = archon(tmp.path())
        .args(["tasks", "list", "--ledger", "governance.db"])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("error: internal failure (not bad input): "),
        "{stderr}"
    );
    // A missing input stays plain bad input.
    let out = archon(tmp.path())
        .args(["run", "no-such-session"])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("error: no-such-session"), "{stderr}");
    assert!(
        !tmp.path().join("archon-out").exists(),
        "bad input left a run root"
    );
}
