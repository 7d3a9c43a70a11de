//! The `DecompositionContext` handed to the Earls: one tactic plus the RFP-level
//! references it needs (spec 4, step B), and the requirement-id patterns.

use serde::Serialize;

use crate::inputs::{Constraint, Deliverable, Rfp};
use crate::tactics::Tactic;

/// Everything an Earl sees about one tactic.
#[derive(Debug, Clone, Serialize)]
pub struct DecompositionContext {
    pub tactic: Tactic,
    /// `TASK-GUSI-001`: task refs are this prefix plus `a`, `b`, …
    pub task_ref_prefix: String,
    pub rfp_id: String,
    pub mandate_id: String,
    pub proposal_id: String,
    pub deliverable: Option<Deliverable>,
    pub related_fr_ids: Vec<String>,
    pub related_nfr_ids: Vec<String>,
    /// RFP requirement ids named in the tactic's own text, in order of appearance.
    pub mentioned_requirement_ids: Vec<String>,
    pub constraints: Vec<Constraint>,
    pub max_tasks: usize,
}

impl DecompositionContext {
    pub fn new(tactic: &Tactic, rfp: &Rfp, proposal_id: &str, max_tasks: usize) -> Self {
        let related_fr_ids: Vec<String> = rfp
            .requirements
            .functional
            .iter()
            .map(|r| r.req_id.clone())
            .collect();
        let related_nfr_ids: Vec<String> = rfp
            .requirements
            .non_functional
            .iter()
            .map(|r| r.req_id.clone())
            .collect();
        let mut mentioned = Vec::new();
        for token in id_tokens(&tactic.text()) {
            let known = related_fr_ids
                .iter()
                .chain(&related_nfr_ids)
                .any(|id| id == token);
            if known && !mentioned.iter().any(|m| m == token) {
                mentioned.push(token.to_string());
            }
        }
        DecompositionContext {
            task_ref_prefix: tactic.task_ref_prefix(),
            rfp_id: rfp.implementation_dossier_id.clone(),
            mandate_id: rfp.mandate_id.clone(),
            proposal_id: proposal_id.to_string(),
            deliverable: tactic
                .deliverable_id
                .as_deref()
                .and_then(|id| rfp.deliverable(id))
                .cloned(),
            related_fr_ids,
            related_nfr_ids,
            mentioned_requirement_ids: mentioned,
            constraints: rfp.constraints.clone(),
            max_tasks,
            tactic: tactic.clone(),
        }
    }

    /// The requirement a task of this tactic addresses first: one the tactic
    /// names, else the RFP's first functional, else its first non-functional one.
    pub fn primary_requirement_id(&self) -> Option<&str> {
        self.mentioned_requirement_ids
            .first()
            .or(self.related_fr_ids.first())
            .or(self.related_nfr_ids.first())
            .map(String::as_str)
    }
}

/// Words that could be ids: runs of letters, digits and `-`.
fn id_tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .map(|t| t.trim_matches('-'))
        .filter(|t| !t.is_empty())
}

/// `FR-TECH-001` / `NFR-AUDIT-01`: `(N)FR`, an upper-case abbreviation, digits;
/// `strict` also demands exactly three digits (`FR-{ABBREV}-{NNN}`).
fn is_requirement_id(token: &str, strict: bool) -> bool {
    let Some(rest) = token
        .strip_prefix("FR-")
        .or_else(|| token.strip_prefix("NFR-"))
    else {
        return false;
    };
    let Some((abbrev, number)) = rest.rsplit_once('-') else {
        return false;
    };
    let abbrev_ok = !abbrev.is_empty()
        && abbrev
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
    let number_ok = !number.is_empty() && number.chars().all(|c| c.is_ascii_digit());
    abbrev_ok && number_ok && (!strict || number.len() == 3)
}

/// Requirement ids in the lines, in order, without repeats (any digit count).
pub fn requirement_ids(lines: &[String]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for token in lines.iter().flat_map(|l| id_tokens(l)) {
        if is_requirement_id(token, false) && !ids.iter().any(|i| i == token) {
            ids.push(token.to_string());
        }
    }
    ids
}

/// Whether some line carries a well-formed `FR-{ABBREV}-{NNN}` / `NFR-{ABBREV}-{NNN}` id.
pub fn has_strict_requirement_id(lines: &[String]) -> bool {
    lines
        .iter()
        .flat_map(|l| id_tokens(l))
        .any(|t| is_requirement_id(t, true))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn requirement_id_patterns() {
        let lines = vec![
            "Addresses FR-TECH-001, NFR-AUDIT-01.".to_string(),
            "see FR-TECH-001 and xFR-A-001 and FR-sec-001".to_string(),
        ];
        assert_eq!(requirement_ids(&lines), ["FR-TECH-001", "NFR-AUDIT-01"]);
        assert!(has_strict_requirement_id(&lines));
        assert!(!has_strict_requirement_id(&[
            "Addresses NFR-AUDIT-01".to_string()
        ]));
        assert!(has_strict_requirement_id(&["(NFR-PERF-002)".to_string()]));
    }
}
