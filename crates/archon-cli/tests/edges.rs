//! Input and output edges: a FIFO given as input is refused (not waited on),
//! stdout that cannot be written makes the exit code 2, stderr that cannot be
//! written never makes archon panic.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

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
