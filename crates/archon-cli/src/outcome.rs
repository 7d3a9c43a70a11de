//! The terminal outcome of a command and its exit code (defined by the pipeline).

pub use archon_pipeline::Outcome;
