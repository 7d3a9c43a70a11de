//! The terminal outcome of a stage, a run or a command, and its exit code.

use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Complete,
    Blocked,
    Escalated,
}

impl Outcome {
    /// 0 complete, 1 blocked or escalated (2 is for bad input, an error).
    pub fn exit_code(self) -> ExitCode {
        match self {
            Outcome::Complete => ExitCode::SUCCESS,
            Outcome::Blocked | Outcome::Escalated => ExitCode::from(1),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Complete => "complete",
            Outcome::Blocked => "blocked",
            Outcome::Escalated => "escalated",
        }
    }

    /// Reads what [`Outcome::as_str`] wrote; anything else is taken as complete
    /// (the manifests' `outcome` of stages that only complete).
    pub fn parse(s: &str) -> Outcome {
        match s {
            "blocked" => Outcome::Blocked,
            "escalated" => Outcome::Escalated,
            _ => Outcome::Complete,
        }
    }

    /// The graver of two outcomes: escalated over blocked over complete.
    pub fn worst(self, other: Outcome) -> Outcome {
        self.max(other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_worst_is_the_gravest() {
        for o in [Outcome::Complete, Outcome::Blocked, Outcome::Escalated] {
            assert_eq!(Outcome::parse(o.as_str()), o);
        }
        assert_eq!(Outcome::Complete.worst(Outcome::Blocked), Outcome::Blocked);
        assert_eq!(
            Outcome::Escalated.worst(Outcome::Blocked),
            Outcome::Escalated
        );
    }
}
