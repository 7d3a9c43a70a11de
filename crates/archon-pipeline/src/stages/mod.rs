//! Each stage as one library call: plain options in, a report out, for the
//! CLI to print and for the chain to run. Input discovery, defaults under the
//! run root, fingerprints and checkpoints are decided here, not in the binary.

pub mod chain_stages;
pub mod decompose;
pub mod execute;
pub mod plan;
pub mod review;

use crate::{PipelineError, StageError};

/// Adds what was being done to a stage crate's error, as the CLI shows it
/// (`reading session DIR: …`), keeping the error itself as the source.
pub(crate) trait WithContext<T> {
    fn context_with(self, what: impl FnOnce() -> String) -> Result<T, PipelineError>;
    /// The error as it is: its own message names the file.
    fn or_fail(self) -> Result<T, PipelineError>;
}

impl<T, E: Into<StageError>> WithContext<T> for Result<T, E> {
    fn context_with(self, what: impl FnOnce() -> String) -> Result<T, PipelineError> {
        self.map_err(|e| PipelineError::Context {
            context: what(),
            source: e.into(),
        })
    }

    fn or_fail(self) -> Result<T, PipelineError> {
        self.map_err(|e| PipelineError::Failed(e.into()))
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use std::path::Path;

    use archon_agents::CassetteMode;
    use archon_core::agent_port::Agents;
    use archon_core::clock::Clock;
    use archon_core::roster::Roster;
    use archon_core::seed::Seed;

    use super::review::{self, ReviewOptions, ReviewReport};
    use crate::Layout;

    pub fn roster() -> Roster {
        Roster::from_json("roster.json", include_str!("../../../../data/roster.json"))
            .expect("bundled roster")
    }

    pub fn clock() -> Clock {
        Clock::fixed_from_rfc3339("2026-01-15T12:00:00Z").expect("clock")
    }

    /// A simulated review of the bundled example session (written under
    /// `root/input/`) into `out`.
    pub fn reviewed(root: &Path, out: &Path) -> ReviewReport {
        let session_dir = crate::chain::write_example_session(&Layout::new(root)).expect("session");
        let opts = ReviewOptions {
            session_dir,
            out: Some(out.to_path_buf()),
            ..ReviewOptions::default()
        };
        let (roster, agents) = (roster(), Agents::simulated(Seed(7)));
        let input = review::read_input(&opts, &roster).expect("input");
        assert!(input.warnings.is_empty(), "{:?}", input.warnings);
        let report = review::review(
            &input,
            &opts,
            &roster,
            &agents,
            &clock(),
            &CassetteMode::Off,
        );
        report.expect("review")
    }
}
