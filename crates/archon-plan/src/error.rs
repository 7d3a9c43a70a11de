//! Errors of the planner: bad input (exit 2 at the CLI), never a panic.

use archon_core::input::{InputError, InputErrors};
use archon_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("unknown portfolio id {id:?} ({context}); known portfolio ids: {known}")]
    UnknownPortfolio {
        id: String,
        context: String,
        known: String,
    },
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Inputs(#[from] InputErrors),
    #[error(transparent)]
    Store(#[from] StoreError),
}
