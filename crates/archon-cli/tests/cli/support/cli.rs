//! Running the `archon` binary in tests: a command with the fixed clock, and
//! a readable account of what it did.
#![allow(dead_code)] // each test file uses part of the support

use std::path::Path;
use std::process::{Command, Output};

/// `archon` in `cwd`: the one clean builder ([`super::archon`]), no `--mode`.
pub fn archon(cwd: &Path) -> Command {
    let mut c = super::archon(super::Mode::Auto);
    c.current_dir(cwd);
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
