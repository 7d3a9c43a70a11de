//! The Earl Decomposition Bridge (spec `earl-decomposition-bridge.md`): from a
//! selected winning proposal to task activations.
//!
//! Pure stages: [`tactics`] (markdown → tactics), [`decompose`] (tactic → task
//! drafts through the agent port: simulation or six Earls plus a facilitator),
//! [`lint`], [`routing`] (capability matching), and [`bridge`], which runs them
//! in order and produces the artifacts and the event trail. Checkpoints and
//! activations are ports ([`checkpoint::CheckpointStore`],
//! [`activation::ActivationSink`]); [`io`] is the file edge.

pub mod activation;
pub mod bridge;
pub mod checkpoint;
pub mod context;
pub mod decompose;
pub mod earls;
pub mod inputs;
pub mod io;
pub mod ledger_sink;
pub mod lint;
pub mod model;
pub mod questions;
pub mod routing;
pub mod tactics;

pub use activation::{
    qualified_task_ref, ActivationReceipt, ActivationRequest, ActivationSink, Provenance,
};
pub use bridge::{run_bridge, BridgeInputs, BridgeOptions, BridgeOutput, Services};
pub use decompose::DecompositionMode;
pub use model::{BridgeEvent, BridgeSummary, TaskDraft};

use archon_core::input::{InputError, InputErrors};
use archon_store::StoreError;

/// A line of progress, for the verbose console (spec section 6).
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// An event as it is appended to the trail.
    Event(&'a BridgeEvent),
    /// A console note (`  [earl] …`, `    [checkpoint] saved …`), indented as shown.
    Note(&'a str),
}

#[derive(Debug, thiserror::Error)]
pub enum DecomposeError {
    /// Nothing to decompose yet (no session, no winner): the spec's `ERROR:` messages, exit 1.
    #[error("{0}")]
    Stop(String),
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Inputs(#[from] InputErrors),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    ServerFailed(#[from] archon_core::agent_port::ServerFailed),
    #[error("checkpoint {name}: {message}")]
    Checkpoint { name: String, message: String },
    /// The governance ledger could not be read.
    #[error("governance ledger: {0}")]
    Ledger(String),
    /// Flags that do not fit the inputs.
    #[error("{0}")]
    Usage(String),
}
