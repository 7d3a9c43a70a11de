//! Shared fixtures of the CLI integration tests.
pub mod cli;
pub mod mock_llm;
pub mod tree;
