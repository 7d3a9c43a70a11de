//! Console output. Progress bars: on stderr only, drawn into a pipe only when
//! forced with `ARCHON_PROGRESS=always`, never with `--quiet`. Stdout closed
//! early (`archon … | head`) is not a crash.

use crate::support::Mode;
use std::process::{Command, Output};

const BAR: &str = "archon run [";
const CLEAR_LINE: &str = "\x1b[2K";

/// `archon run` on the bundled example up to the plans, stdout and stderr piped.
fn run(progress: Option<&str>, extra: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut c = crate::support::archon(Mode::Auto);
    c.current_dir(dir.path())
        .env("ARCHON_NOW", "2026-01-15T12:00:00Z")
        .args(["--mode", "simulation", "run", "--until", "plan"])
        .args(extra);
    if let Some(p) = progress {
        c.env("ARCHON_PROGRESS", p);
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn forced_bars_reach_stderr_and_never_stdout() {
    let out = run(Some("always"), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stderr.contains(BAR), "{stderr}");
    for stage in ["review", "plan"] {
        assert!(stderr.contains(stage), "{stage} missing in {stderr}");
    }
    assert!(
        stderr.contains(CLEAR_LINE),
        "the bar clears itself: {stderr}"
    );
    assert!(
        !stdout.contains(BAR) && !stdout.contains('\x1b'),
        "{stdout}"
    );
    // The summary still goes to stdout, whole.
    assert!(stdout.contains("cycle example-session-001"), "{stdout}");
}

#[test]
fn without_a_terminal_nothing_is_drawn() {
    for progress in [None, Some("auto"), Some("never")] {
        let out = run(progress, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains(BAR) && !stderr.contains(CLEAR_LINE),
            "{progress:?}: {stderr}"
        );
    }
}

#[test]
fn logs_into_a_pipe_carry_no_terminal_escapes() {
    let out = run(None, &["-v"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("INFO"), "{stderr}");
    assert!(!stderr.contains('\x1b'), "{stderr:?}");
}

#[test]
fn quiet_wins_over_forced_bars() {
    let out = run(Some("always"), &["--quiet"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains(BAR), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn log_lines_are_written_whole_with_the_bar_cleared() {
    let out = run(Some("always"), &["-v"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The run's note and its tracing log line each start on a cleared line
    // (after a carriage return) and end it.
    assert!(stderr.contains("\x1b[2K[review] running\n"), "{stderr}");
    let log = stderr
        .split(['\n', '\r'])
        .find(|l| l.contains("INFO") && l.contains("\"review\""))
        .unwrap_or_else(|| panic!("no tracing line in {stderr}"));
    assert!(log.starts_with(CLEAR_LINE), "{log:?}");
    assert!(!log.contains(BAR), "{log:?}");
}

#[test]
fn an_unknown_progress_setting_is_a_usage_error() {
    let out = crate::support::archon(Mode::Auto)
        .env("ARCHON_PROGRESS", "sometimes")
        .arg("roster")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ARCHON_PROGRESS: expected auto, always or never, got \"sometimes\""),
        "{stderr}"
    );
}

#[test]
fn output_into_a_closed_pipe_is_dropped_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let bin = std::path::PathBuf::from(env!("CARGO_BIN_EXE_archon"));
    // `true` exits at once; archon starts writing into the pipe after its
    // reader is gone, so every write fails with EPIPE.
    let script = format!(
        "{{ sleep 0.3; '{}' roster 2>err; echo $? >status; }} | true",
        bin.display()
    );
    let ok = Command::new("sh")
        .current_dir(dir.path())
        .args(["-c", &script])
        .status()
        .unwrap();
    assert!(ok.success());
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap();
    assert_eq!(read("status").trim(), "0", "stderr: {}", read("err"));
    assert!(!read("err").contains("panicked"), "{}", read("err"));
}
