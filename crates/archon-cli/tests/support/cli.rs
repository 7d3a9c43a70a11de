//! Running the `archon` binary in tests: a command with the fixed clock, and
//! a readable account of what it did.
#![allow(dead_code)] // each test file uses part of the support

use std::path::Path;
use std::process::{Command, Output};

use assert_cmd::cargo::CommandCargoExt;

/// The clock every test run sees (`ARCHON_NOW`).
pub const NOW: &str = "2026-01-15T12:00:00Z";

/// `archon` in `cwd`, with the fixed clock and no `RUST_LOG` from outside.
pub fn archon(cwd: &Path) -> Command {
    let mut c = Command::cargo_bin("archon").unwrap();
    c.current_dir(cwd)
        .env("ARCHON_NOW", NOW)
        .env_remove("RUST_LOG");
    c
}

/// Exit code, stdout and stderr, for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
