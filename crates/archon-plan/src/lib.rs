//! Execution Planner v2 (`archon plan`): turns each ratified motion into an
//! Executive plan that Administration can act on, and sends back to the Conclave
//! only the questions that are truly about WHAT.
//!
//! Phases, one module each: [`packet`] (Ratified Intent Packet, its schema
//! checks, clauses), [`assignment`] (E0/E1: clause claims, plan owner, affected
//! portfolios, blockers for unclaimed clauses; term matching in [`text`]),
//! [`drafting`] and [`inbox`] (E2: President contributions by agent, by hand or
//! both, [`legacy`] v1 conversion), [`workup`] (E2.5: blocker packet, blocker
//! workup by a peer, never the raiser, peer review), [`clarification`]
//! (Executive Clarification Review), [`integrate`] (E3: epics, stubs, queue items),
//! [`gates`] (Completeness, Visibility, Legibility). [`pipeline`] runs them for one
//! motion as a pure function; [`io`] is the file edge.

pub mod assignment;
pub mod clarification;
pub mod clauses;
pub mod drafting;
pub mod error;
pub mod events;
pub mod gates;
pub mod inbox;
pub mod integrate;
pub mod io;
pub mod legacy;
pub mod model;
pub mod packet;
pub mod pipeline;
pub mod review_input;
pub mod scope_vocabulary;
pub mod text;
pub mod workup;

pub use error::PlanError;
pub use model::PLAN_SCHEMA_VERSION;
pub use pipeline::{plan_motion, DraftSource, PlanOptions, PlanOutput};
