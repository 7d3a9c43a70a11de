//! The task states and their transitions live in `archon-core` (the execution
//! stage reads them too); the ledger re-exports them under their old path.

pub use archon_core::task_state::*;
