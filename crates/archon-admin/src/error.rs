//! Errors of the administrative stages: bad input (exit 2) and storage failures.

use archon_core::input::{InputError, InputErrors};
use archon_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Inputs(#[from] InputErrors),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    ServerFailed(#[from] archon_core::agent_port::ServerFailed),
    /// A flag or argument that cannot be honoured (unknown Duke, nothing to revise, …).
    #[error("{0}")]
    Usage(String),
}

impl AdminError {
    pub fn input(
        source: impl Into<String>,
        path: impl Into<String>,
        msg: impl Into<String>,
    ) -> Self {
        AdminError::Input(InputError::new(source, path, msg))
    }
}
