//! Cross-stage file contracts: what one stage writes and another reads,
//! defined once and shared by the producer and its consumers, so no stage
//! matches on another's strings or converts another crate's copy.
//!
//! - [`selection`]: the outcome of an Executive Review (`selection_result.json`),
//!   written by `archon-admin`, read by `archon-decompose` and the chain.
//! - [`provenance`]: the provenance of each activation in the ledger,
//!   written by `archon-decompose`, read by the pipeline's trace.

pub mod provenance;
pub mod selection;

pub use provenance::TaskProvenance;
pub use selection::SelectionOutcome;
