//! Shared fixtures of the CLI integration tests.
pub mod cli;
pub mod mock_llm;
pub mod tree;

use std::process::Command;

/// The clock of a test run unless the test's data need another (`ARCHON_NOW`
/// set again on the command replaces it).
pub const NOW: &str = "2026-01-15T12:00:00Z";

/// The spec's own examples folder: four clusters beside four other governance
/// examples (motion, execution plan, task activation, task result).
pub const SPEC_EXAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/archon72/docs/governance/examples"
);

/// Checks that `stderr` names each file of [`SPEC_EXAMPLES`] that is not a
/// cluster in exactly one `warning:` line, and names no cluster file.
pub fn assert_one_warning_per_other_example(stderr: &str) {
    for other in [
        "execution-plan-example.json",
        "motion-example.json",
        "task-activation-example.json",
        "task-result-example.json",
    ] {
        let warnings = stderr
            .lines()
            .filter(|l| l.starts_with("warning: ") && l.contains(other))
            .count();
        assert_eq!(warnings, 1, "{other}: {stderr}");
    }
    assert!(
        !stderr.contains("cluster-42-backend-engineering.json"),
        "{stderr}"
    );
}

/// Where answers come from.
pub enum Mode<'a> {
    /// `--mode simulation`.
    Simulation,
    /// `--mode llm` against the mock model server at this base URL.
    Llm(&'a str),
    /// No `--mode`: the binary's default (auto), or the test passes its own.
    Auto,
}

/// The `archon` binary with a clean environment (nothing of the developer's
/// shell, such as API keys, `RUST_LOG`, `ARCHON_*` or `archon.toml` settings,
/// leaks into a test), `ARCHON_NOW` fixed, and the mode.
pub fn archon(mode: Mode<'_>) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_archon"));
    c.env_clear();
    // Programs the tests run as delegates, and temp files, still need these.
    for var in ["PATH", "TMPDIR"] {
        if let Some(value) = std::env::var_os(var) {
            c.env(var, value);
        }
    }
    c.env("ARCHON_NOW", NOW);
    match mode {
        Mode::Simulation => {
            c.args(["--mode", "simulation"]);
        }
        Mode::Llm(url) => {
            c.args([
                "--mode",
                "llm",
                "--provider",
                "vllm",
                "--model",
                "mock-model",
            ])
            .args(["--base-url", url]);
        }
        Mode::Auto => {}
    }
    c
}
