//! Cross-stage file contracts: what one stage writes and another reads,
//! defined once and shared by the producer and its consumers, so no stage
//! matches on another's strings or converts another crate's copy.
//!
//! - [`selection`]: the outcome of an Executive Review (`selection_result.json`),
//!   written by `archon-admin`, read by `archon-decompose` and the chain.
//! - [`provenance`]: the provenance of each activation in the ledger,
//!   written by `archon-decompose`, read by the pipeline's trace.
//! - [`activation`]: the activation request, made by `archon-decompose`,
//!   recorded by the ledger of `archon-tasks`.
//! - [`sensitivity`]: a task's sensitivity (and a steward's auth level),
//!   decided by `archon-decompose`, enforced by `archon-tasks`.
//! - [`task_result`]: the result a cluster reports for a task, produced by
//!   `archon-execute` (or an outside cluster), recorded and settled by `archon-tasks`.

pub mod activation;
pub mod provenance;
pub mod selection;
pub mod sensitivity;
pub mod task_result;

pub use activation::ActivationRequest;
pub use provenance::TaskProvenance;
pub use selection::SelectionOutcome;
pub use sensitivity::Sensitivity;
pub use task_result::TaskResult;
