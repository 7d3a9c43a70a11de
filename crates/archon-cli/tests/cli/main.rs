//! The integration tests of the `archon` binary, one test binary (one link)
//! with a module per command area. Every command starts from
//! [`support::archon`]: a clean environment, a fixed clock and a mode.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod support;

mod admin;
mod decompose;
mod edges;
mod execute;
mod ledger_crash;
mod llm_failures;
mod llm_review;
mod llm_run;
mod llm_stages;
mod plan;
mod progress;
mod report;
mod review;
mod run;
mod run_root;
mod serve;
mod tasks_cli;
mod trace;
