//! Input and output edges: a FIFO given as input is refused (not waited on),
//! stdout that cannot be written makes the exit code 2, stderr that cannot be
//! written never makes archon panic.

use std::fs::File;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;

fn archon(cwd: &Path) -> Command {
    let mut c = Command::cargo_bin("archon").expect("archon binary");
    c.current_dir(cwd)
        .env("ARCHON_NOW", "2026-01-15T12:00:00Z")
        .env_remove("RUST_LOG")
        .env_remove("ARCHON_ACTOR");
    c
}

/// Runs `cmd`, killing it after 20 s (a hang is a failure, not a stuck test).
fn bounded(cmd: &mut Command) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{cmd:?} hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn mkfifo(path: &Path) {
    assert!(Command::new("mkfifo").arg(path).status().unwrap().success());
}

#[test]
fn a_fifo_input_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("archons.json");
    mkfifo(&fifo);
    let out = bounded(archon(tmp.path()).arg("--roster").arg(&fifo).arg("roster"));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("archons.json: not a regular file (a FIFO)"),
        "{err}"
    );
}

fn full() -> Stdio {
    Stdio::from(File::options().write(true).open("/dev/full").unwrap())
}

#[test]
fn stdout_that_cannot_be_written_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let out = archon(tmp.path())
        .arg("run")
        .args(["--quiet", "--until", "review"])
        .output()
        .unwrap();
    assert!(out.status.success());
    for args in [&["status"][..], &["roster"]] {
        let out = archon(tmp.path())
            .args(args)
            .stdout(full())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("error: writing to stdout"), "{args:?}: {err}");
    }
}

#[test]
fn stderr_that_cannot_be_written_never_panics() {
    let tmp = tempfile::tempdir().unwrap();
    for args in [
        &["tasks", "list", "--ledger", "missing.db"][..],
        &["--roster", "missing.json", "roster"],
        &["verify", "nowhere"],
        &["no-such-command"],
    ] {
        let out = archon(tmp.path())
            .args(args)
            .stderr(full())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

fn ok_stdout(c: &mut Command) -> String {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// SIGINT and SIGTERM in the middle of `archon run` stop it at a clean point
/// with 130 / 143 (never an orphaned intent); the same command resumes to the
/// ledger of an uninterrupted run. Bounded: four signals at spread-out moments.
#[test]
fn a_signalled_run_stops_cleanly_and_resumes() {
    let reference = tempfile::tempdir().unwrap();
    let start = Instant::now();
    ok_stdout(archon(reference.path()).args(["run", "--quiet"]));
    let full = start.elapsed();
    let head = ok_stdout(archon(reference.path()).args(["verify", "--head"]));
    for (k, (signal, code)) in [("INT", 130), ("TERM", 143), ("INT", 130), ("TERM", 143)]
        .into_iter()
        .enumerate()
    {
        let dir = tempfile::tempdir().unwrap();
        let child = archon(dir.path())
            .args(["run", "--quiet"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(full.mul_f64((k as f64 + 1.0) / 5.0));
        let sent = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(sent.success());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        // A run that finished before the signal landed exits 0.
        assert!(
            matches!(out.status.code(), Some(c) if c == code || c == 0),
            "SIG{signal}: {:?} {stderr}",
            out.status
        );
        if out.status.code() == Some(code) {
            // Stopped between operations: the ledger has no orphan even before resuming.
            let verify = archon(dir.path()).arg("verify").output().unwrap();
            let report = String::from_utf8_lossy(&verify.stdout);
            assert!(!report.contains("orphaned intent"), "{report}");
        }
        ok_stdout(archon(dir.path()).args(["run", "--quiet"]));
        ok_stdout(archon(dir.path()).arg("verify"));
        assert_eq!(
            ok_stdout(archon(dir.path()).args(["verify", "--head"])),
            head
        );
    }
}
