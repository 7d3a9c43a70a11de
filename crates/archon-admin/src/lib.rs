//! The Administrative loop between Executive planning and Earl tasking
//! (spec: execution-planner-v2-flow, "Administrative pipeline" and "Executive
//! Review (E4)"; artifact shapes: earl-decomposition-bridge, section 1).
//!
//! - [`rfp`]: the 11 Presidents turn an `execution_plan_v2.json` into an
//!   Implementation Dossier (`rfp.json`), one mandate per planned motion.
//! - [`proposals`]: the 23 Dukes answer the dossier with proposals
//!   (`proposal_<duke>.md` in the markdown the decomposition bridge parses, and
//!   `proposal_<duke>.json` with implementation proposals and resource requests).
//! - [`select`]: Executive Review: Presidents score, normalise, rank, tier and
//!   deliberate; the outcome is a winner, a revision request (the bounded
//!   implementation loop), no viable proposal, or a Conclave escalation.
//!
//! Stage logic is pure (agents, clock and seed injected); [`io`] is the file edge.

pub mod abbrev;
pub mod dossier;
pub mod error;
pub mod events;
pub mod io;
pub mod markdown;
pub mod plan_input;
pub mod proposal;
pub mod proposals;
pub mod rfp;
pub mod scoring;
pub mod select;

pub use error::AdminError;

#[cfg(test)]
mod tests {
    use super::*;
    use archon_core::agent_port::{check_template, Question};

    #[test]
    fn every_prompt_template_compiles() {
        for (name, text) in [
            (
                rfp::RequirementsQuestion::KIND,
                rfp::RequirementsQuestion::TEMPLATE,
            ),
            (
                proposals::DukeProposalQuestion::KIND,
                proposals::DukeProposalQuestion::TEMPLATE,
            ),
            (
                select::ScoringQuestion::KIND,
                select::ScoringQuestion::TEMPLATE,
            ),
            (
                select::DeliberationQuestion::KIND,
                select::DeliberationQuestion::TEMPLATE,
            ),
        ] {
            assert_eq!(check_template(name, text), Ok(()), "{name}");
        }
    }
}
