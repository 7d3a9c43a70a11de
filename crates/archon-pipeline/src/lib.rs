//! The Archon 72 chain as a library: what `archon run` does, without the binary.
//!
//! - [`layout`]: every path under a run root, spelled once.
//! - [`fingerprint`]: what invalidates a stage, computed in one place from
//!   content hashes (never paths), the seed, the roster and the answer source.
//! - [`stage`]: the stage contract the chain drives ([`stage::Stages`]), and the
//!   stages in order.
//! - [`stages`]: each stage as one call (options in, report out).
//! - [`resume`]: `run_state.json`, stage skip and per-item marks.
//! - [`policy`]: the simulated stewards' consent policy and the bounded
//!   revise → re-select loop.
//! - [`chain`]: the orchestration: resume, policy, loop and execution batching.
//! - [`lock`]: the advisory lock that keeps a second writer off a run root.
//! - [`summary`]: what a run root holds, read back from its artifacts.
//! - [`trace`]: one task's provenance chain, motion to ledger states.
//! - [`verify`]: what `archon verify` checks of a run root (the report shows it too).
//!
//! **Invariant:** no artifact or id depends on where the run root is: the run
//! state records paths relative to the root, and fingerprints hash content.

pub mod chain;
pub mod error;
pub mod fingerprint;
pub mod layout;
pub mod lock;
pub mod outcome;
pub mod policy;
pub mod resume;
pub mod stage;
pub mod stages;
pub mod summary;
pub mod trace;
pub mod verify;

pub use chain::{run_chain, RunOptions, RunReport};
pub use error::PipelineError;
pub use fingerprint::{AnswerSource, Fingerprint};
pub use layout::Layout;
pub use lock::RunLock;
pub use outcome::Outcome;
pub use stage::{Stage, StageError, Stages};
