//! Artifact types and pure stage logic of the Archon 72 governance pipeline.
//!
//! Nothing in this crate reads files, the network, the clock or a random source:
//! callers pass text in, and receive typed values and artifacts out. Time comes
//! from [`clock::Clock`], chance from [`seed::Seed`], agents from [`agent_port::Agents`].

pub mod agent_port;
pub mod clock;
pub mod error_text;
pub mod fan_out;
pub mod ids;
pub mod input;
pub mod roster;
pub mod seed;
pub mod task_state;

/// Schema version written into every artifact that has no version of its own in the specs.
pub const SCHEMA_VERSION: &str = "1.0";
