//! archon-tasks: where tasks stop being plans and start involving other
//! people's clusters.
//!
//! - [`state`]: the eleven task states and the allowed transitions.
//! - [`coercion`]: the coercion filter (patterns in `data/coercion_patterns.toml`).
//! - [`cluster`]: cluster definitions and eligibility.
//! - [`result`]: result artifacts and settlement.
//! - [`lifecycle`]: what each operation does, as facts (pure).
//! - [`event`], [`projection`]: the hash-chained log and the fold that gives
//!   each task's current state.
//! - [`idempotency`]: writes a client may send again under one key.
//! - [`ledger`]: the governance ledger (two-phase, multi-process safe).
//! - [`store`]: where its rows live: an SQLite file or a PostgreSQL database.
//! - [`verify`]: chain, two-phase and projection checks.
//! - [`render`]: the console text of tasks and moves.
//! - [`io`]: reading cluster directories and result files.

pub mod cluster;
pub mod coercion;
pub mod event;
pub mod idempotency;
pub mod io;
pub mod ledger;
pub mod lifecycle;
pub mod projection;
pub mod render;
pub mod result;
pub mod state;
pub mod store;
pub mod verify;
pub mod writers;

pub use archon_artifacts::TaskResult;
pub use cluster::{AuthLevel, Cluster, ClusterRegistry, Sensitivity};
pub use coercion::{CoercionFilter, FilterOutcome, TaskContent};
pub use event::{EventBody, LedgerEvent, RequestRef};
pub use idempotency::{Applied, RequestKey};
pub use ledger::{ActivationResult, Ledger, LedgerError, TransitionReport};
pub use lifecycle::{
    ActivationRequest, ExecutionStop, Refusal, Transition, DEFAULT_TTL_HOURS,
    INACTIVITY_TIMEOUT_HOURS,
};
pub use projection::{replay, TaskRecord};
pub use result::{RejectionCode, Settlement};
pub use state::TaskState;
pub use store::Location;
pub use verify::{verify_ledger, verify_ledger_anchored, Anchor, VerifyReport};
