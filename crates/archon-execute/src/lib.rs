//! The execution stage: a cluster's execution lead as a function
//! `f(input) -> complete | blocked | escalated`.
//!
//! [`execute::execute`] validates the handoff's required input fields
//! ([`handoff`]), checks the preconditions against the governance ledger
//! ([`ledger::TaskLedger`]) and the workspace, then runs Steps 1-3 through a
//! pluggable [`delegate::Delegate`] (simulation and LLM through the agent port in
//! [`agent_delegate`], external programs in [`command`]), reusing valid phase
//! records instead of delegating again ([`phase`]), and Step 4 publishes the
//! Execution Stage Report ([`report`]) and records the outcome in the ledger.
//! [`doctrine`] holds the execution lead's doctrine, its assembly into SKILL.md
//! and the checker of the spec's eight verification criteria.
//!
//! Stage logic does no I/O of its own: files go through the [`workspace::Files`]
//! port ([`io::FsFiles`] on disk), time through `Clock`, chance through `Seed`.

pub mod agent_delegate;
pub mod command;
pub mod delegate;
pub mod doctrine;
pub mod execute;
pub mod governance_ledger;
pub mod handoff;
pub mod io;
pub mod ledger;
pub mod phase;
pub mod process;
pub mod report;
pub mod workspace;

pub use execute::{execute, ExecuteError, Execution, Services};
pub use handoff::{Handoff, HandoffInput, RequiredField};
pub use ledger::{
    Lease, LedgerEntry, LedgerError, LedgerTask, MemoryLedger, TaskLedger, TaskState,
};
pub use report::{ExecutionStageReport, OutcomeValue};
