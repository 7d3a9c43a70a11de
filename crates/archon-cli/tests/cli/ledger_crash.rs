//! `archon run` on the bundled example stopped by the fault hook at its ledger
//! transactions (just before an intent or an outcome commits), then resumed:
//! `archon verify` passes and the ledger holds the very events and tasks of an
//! uninterrupted run (same head hash, so the same chain event for event).

use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;

const NOW: &str = "2026-01-15T12:00:00Z";
/// Exit code of a process stopped by the fault hook.
const FAULT_EXIT: i32 = 86;
/// Crash points tried (bounded): spread over the run's ledger transactions,
/// first and last included, alternating intents and outcomes.
const CRASH_POINTS: usize = 10;

fn archon(cwd: &Path) -> Command {
    let mut c = Command::cargo_bin("archon").expect("archon binary");
    c.current_dir(cwd)
        .env("ARCHON_NOW", NOW)
        .env_remove("RUST_LOG")
        .env_remove("ARCHON_ACTOR");
    c
}

fn ok_stdout(c: &mut Command) -> String {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{:?}: {}{}",
        c.get_args().collect::<Vec<_>>(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The ledger's head, its tasks, and whether `archon verify` passes.
fn ledger_state(cwd: &Path) -> (String, String) {
    ok_stdout(archon(cwd).arg("verify"));
    let head = ok_stdout(archon(cwd).args(["verify", "--head"]));
    let tasks = ok_stdout(archon(cwd).args(["tasks", "list", "--json"]));
    (head, tasks)
}

#[test]
fn a_run_stopped_at_any_ledger_transaction_resumes_to_the_same_ledger() {
    let reference = tempfile::tempdir().unwrap();
    let tally = reference.path().join("tally");
    ok_stdout(
        archon(reference.path())
            .env("ARCHON_FAULT_TALLY", &tally)
            .args(["run", "--quiet"]),
    );
    let expected = ledger_state(reference.path());
    let points: Vec<(u64, String)> = std::fs::read_to_string(&tally)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, what)| what.starts_with("ledger"))
        .map(|(n, what)| (n.parse().unwrap(), what.to_string()))
        .collect();
    assert!(points.len() >= CRASH_POINTS, "{points:?}");
    let step = (points.len() - 1) as f64 / (CRASH_POINTS - 1) as f64;
    let mut chosen: Vec<&(u64, String)> = (0..CRASH_POINTS)
        .map(|i| &points[(i as f64 * step).round() as usize])
        .collect();
    chosen.dedup();
    assert!(chosen.iter().any(|(_, w)| w == "ledger outcomes"));
    for (n, what) in chosen {
        let crashed = tempfile::tempdir().unwrap();
        let out = archon(crashed.path())
            .env("ARCHON_FAIL_AT", n.to_string())
            .args(["run", "--quiet"])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(FAULT_EXIT),
            "point {n} ({what}): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        ok_stdout(archon(crashed.path()).args(["run", "--quiet"]));
        let got = ledger_state(crashed.path());
        assert_eq!(got.0, expected.0, "point {n} ({what}): ledger head differs");
        assert_eq!(got.1, expected.1, "point {n} ({what}): tasks differ");
    }
}
