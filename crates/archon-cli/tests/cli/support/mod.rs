//! Shared fixtures of the CLI integration tests.
pub mod cli;
pub mod mock_llm;
pub mod tree;

use std::process::Command;

/// The clock of a test run unless the test's data need another (`ARCHON_NOW`
/// set again on the command replaces it).
pub const NOW: &str = "2026-01-15T12:00:00Z";

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
