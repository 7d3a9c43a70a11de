//! The Motion Review Pipeline (spec: `motion-review-pipeline`): a consolidator
//! session's mega-motions go through triage → personalised packets → reviews →
//! aggregation (with amendment synthesis) → deliberation panels → commit-reveal
//! ratification, and end in exactly one of `ratified_motions.json`,
//! `rejected_motions.json` or `deferred_motions.json`.
//!
//! Every phase is pure ([`pipeline::run`]): archons are asked through the agent
//! port, time comes from the injected clock and chance from the seed. Only
//! [`io`] touches files.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod aggregate;
pub mod events;
pub mod facts;
pub mod io;
pub mod packets;
pub mod panel;
pub mod pipeline;
pub mod ratify;
pub mod responses;
pub mod review;
pub mod session;
mod simulate;
pub mod terms;
pub mod triage;

#[cfg(test)]
mod test_support;

pub use facts::Facts;
pub use io::{read_responses, read_session, write_run, ReviewError};
pub use packets::MotionDigest;
pub use pipeline::{run, triage_session, Env, ReviewRun};
pub use session::{load_session, LoadOptions, Session, SessionTexts};
