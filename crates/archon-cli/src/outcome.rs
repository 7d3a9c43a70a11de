//! The terminal outcome of a command and its exit code.

use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Complete,
    Blocked,
    Escalated,
}

impl Outcome {
    pub fn exit_code(self) -> ExitCode {
        match self {
            Outcome::Complete => ExitCode::SUCCESS,
            Outcome::Blocked | Outcome::Escalated => ExitCode::from(1),
        }
    }
}
