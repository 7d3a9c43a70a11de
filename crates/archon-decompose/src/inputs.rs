//! The bridge's input documents (spec section 1): the selection result, the
//! Implementation Dossier (`rfp.json`) and the Earl routing table. Only the
//! fields the bridge reads are typed; the rest is ignored.

use std::collections::BTreeMap;

use archon_artifacts::SelectionOutcome;
use archon_core::ids::{quoted, safe_component};
use archon_core::input::{parse_json, InputError, InputErrors};
use archon_core::roster::{Rank, Roster};
use serde::{Deserialize, Serialize};

use crate::DecomposeError;

/// `selection_result.json` of `archon select`.
#[derive(Debug, Clone, Deserialize)]
pub struct SelectionResult {
    pub outcome: SelectionOutcome,
    #[serde(default)]
    pub selection_id: Option<String>,
    #[serde(default)]
    pub winning_proposal_id: Option<String>,
    #[serde(default)]
    pub rankings: Vec<Ranking>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Ranking {
    pub proposal_id: String,
    #[serde(default)]
    pub duke_name: Option<String>,
    #[serde(default)]
    pub duke_abbreviation: Option<String>,
}

/// The winning proposal, resolved from the selection result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Winner {
    pub proposal_id: String,
    /// The Duke's name, or the abbreviation when the rankings carry no name.
    pub duke_name: String,
    /// Slugs to try for `proposals_inbox/proposal_<slug>.md`, in order.
    pub file_stems: Vec<String>,
}

impl SelectionResult {
    pub fn parse(source: &str, text: &str) -> Result<SelectionResult, InputError> {
        parse_json(source, text)
    }

    /// Checks the outcome and resolves the winner's Duke (spec 4, step A).
    /// A selection without a winner is a stop, not bad input.
    pub fn winner(&self, source: &str) -> Result<Winner, DecomposeError> {
        let winner_selected = SelectionOutcome::WinnerSelected;
        if self.outcome != winner_selected {
            return Err(DecomposeError::Stop(format!(
                "Selection outcome is '{}', not {}. Cannot proceed.",
                self.outcome.as_str(),
                winner_selected.as_str()
            )));
        }
        let proposal_id = self
            .winning_proposal_id
            .clone()
            .filter(|id| !id.trim().is_empty())
            .ok_or_else(|| {
                InputError::new(
                    source,
                    "$.winning_proposal_id",
                    format!(
                        "missing: a {} result must name the winning proposal",
                        SelectionOutcome::WinnerSelected.as_str()
                    ),
                )
            })?;
        let ranked = self
            .rankings
            .iter()
            .enumerate()
            .find(|(_, r)| r.proposal_id == proposal_id);
        let mut names: Vec<(String, String)> = Vec::new();
        if let Some((i, r)) = ranked {
            if let Some(n) = r.duke_name.as_deref().filter(|n| !n.trim().is_empty()) {
                names.push((n.trim().to_string(), format!("$.rankings[{i}].duke_name")));
            }
            if let Some(a) = r
                .duke_abbreviation
                .as_deref()
                .filter(|a| !a.trim().is_empty())
            {
                names.push((
                    a.trim().to_string(),
                    format!("$.rankings[{i}].duke_abbreviation"),
                ));
            }
        }
        // `dprop-gusi-364851af` carries the abbreviation in its second segment.
        if let Some(abbrev) = proposal_id.split('-').nth(1).filter(|s| !s.is_empty()) {
            names.push((abbrev.to_uppercase(), "$.winning_proposal_id".into()));
        }
        let Some((duke_name, _)) = names.first().cloned() else {
            return Err(InputError::new(
                source,
                "$.rankings",
                format!("cannot resolve the Duke of winning proposal {proposal_id:?}: no ranking names it and the id carries no abbreviation"),
            )
            .into());
        };
        let mut file_stems = Vec::new();
        for (name, path) in &names {
            safe_component(name, source, path)?;
            // The inbox names files after the slug of the Duke's name (`archon proposals`).
            let stem = archon_core::ids::slug(name);
            if !file_stems.contains(&stem) {
                file_stems.push(stem);
            }
        }
        Ok(Winner {
            proposal_id,
            duke_name,
            file_stems,
        })
    }
}

/// `rfp.json`: the Implementation Dossier.
#[derive(Debug, Clone, Deserialize)]
pub struct Rfp {
    pub implementation_dossier_id: String,
    pub mandate_id: String,
    #[serde(default)]
    pub deliverables: Vec<Deliverable>,
    #[serde(default)]
    pub requirements: Requirements,
    #[serde(default)]
    pub constraints: Vec<Constraint>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Deliverable {
    pub deliverable_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub acceptance_criteria: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Requirements {
    #[serde(default)]
    pub functional: Vec<Requirement>,
    #[serde(default)]
    pub non_functional: Vec<Requirement>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Requirement {
    pub req_id: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Constraint {
    #[serde(default)]
    pub constraint_id: String,
    #[serde(default)]
    pub description: String,
}

impl Rfp {
    pub fn parse(source: &str, text: &str) -> Result<Rfp, InputError> {
        parse_json(source, text)
    }

    pub fn deliverable(&self, id: &str) -> Option<&Deliverable> {
        self.deliverables.iter().find(|d| d.deliverable_id == id)
    }
}

/// `earl_routing_table.json` (spec 1e).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingTable {
    #[serde(default)]
    pub schema_version: Option<String>,
    pub default_earl_id: String,
    pub portfolio_to_earl: BTreeMap<String, String>,
}

impl RoutingTable {
    pub fn parse(source: &str, text: &str) -> Result<RoutingTable, InputError> {
        let table: RoutingTable = parse_json(source, text)?;
        if table.default_earl_id.trim().is_empty() {
            return Err(InputError::new(source, "$.default_earl_id", "is empty"));
        }
        if let Some((key, _)) = table
            .portfolio_to_earl
            .iter()
            .find(|(_, id)| id.trim().is_empty())
        {
            return Err(InputError::new(
                source,
                format!("$.portfolio_to_earl.{key}"),
                "earl id is empty",
            ));
        }
        Ok(table)
    }

    /// Every Earl the table names must be an Earl of `roster`; all problems,
    /// each with its JSON path.
    pub fn check_earls(&self, source: &str, roster: &Roster) -> Result<(), InputErrors> {
        let named = std::iter::once(("$.default_earl_id".to_string(), &self.default_earl_id))
            .chain(
                self.portfolio_to_earl
                    .iter()
                    .map(|(k, id)| (format!("$.portfolio_to_earl.{k}"), id)),
            );
        let errors: Vec<InputError> = named
            .filter_map(|(path, id)| {
                let problem = match roster.by_id(id) {
                    None => format!("{} is not an archon of the roster", quoted(id)),
                    Some(a) if a.rank != Rank::Earl => {
                        format!("{} is {} ({:?}), not an Earl", quoted(id), a.name, a.rank)
                    }
                    Some(_) => return None,
                };
                Some(InputError::new(source, path, problem))
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(InputErrors(errors))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn selection(json: serde_json::Value) -> SelectionResult {
        SelectionResult::parse("selection_result.json", &json.to_string()).unwrap()
    }

    #[test]
    fn winner_resolves_duke_name_then_abbreviation_then_id() {
        let s = selection(serde_json::json!({
            "outcome": "WINNER_SELECTED", "winning_proposal_id": "dprop-gusi-364851af",
            "rankings": [{"proposal_id": "dprop-gusi-364851af", "duke_name": "Gusion", "duke_abbreviation": "GUSI"}]
        }));
        let w = s.winner("s").unwrap();
        assert_eq!(w.duke_name, "Gusion");
        assert_eq!(w.file_stems, ["gusion", "gusi"]);

        let s = selection(serde_json::json!({
            "outcome": "WINNER_SELECTED", "winning_proposal_id": "dprop-gusi-364851af",
            "rankings": [{"proposal_id": "dprop-gusi-364851af"}]
        }));
        let w = s.winner("s").unwrap();
        assert_eq!(w.duke_name, "GUSI");
        assert_eq!(w.file_stems, ["gusi"]);
    }

    #[test]
    fn no_winner_is_a_stop_with_the_spec_message() {
        let s = selection(serde_json::json!({"outcome": "REVISION_REQUESTED"}));
        let e = s.winner("s").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Selection outcome is 'REVISION_REQUESTED', not WINNER_SELECTED. Cannot proceed."
        );
        assert!(matches!(e, DecomposeError::Stop(_)));
    }

    #[test]
    fn an_unknown_outcome_is_bad_input_at_its_path() {
        let text = serde_json::json!({"outcome": "WINNER"}).to_string();
        let e = SelectionResult::parse("selection_result.json", &text).unwrap_err();
        assert!(e.to_string().contains("$.outcome"), "{e}");
    }

    #[test]
    fn hostile_duke_name_is_refused_with_its_path() {
        let s = selection(serde_json::json!({
            "outcome": "WINNER_SELECTED", "winning_proposal_id": "dprop-gusi-1",
            "rankings": [{"proposal_id": "dprop-gusi-1", "duke_name": "../etc/Gusion"}]
        }));
        let e = s.winner("selection_result.json").unwrap_err().to_string();
        assert!(e.contains("$.rankings[0].duke_name"), "{e}");
        assert!(e.contains("forbidden character") || e.contains(".."), "{e}");
    }
}
