//! A Duke's proposal: tactics and risks (what the markdown carries) plus, per
//! epic, an implementation proposal with technical references, risks, resource
//! requests and a capacity commitment (spec: execution-planner-v2-flow,
//! "Admin outputs"). Validation names the JSON path of every problem.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use archon_core::input::InputError;

use crate::dossier::Dossier;

pub const ARTIFACT_TYPE: &str = "duke_proposal";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    pub schema_version: String,
    pub artifact_type: String,
    pub proposal_id: String,
    pub duke_name: String,
    pub duke_id: String,
    pub duke_abbreviation: String,
    pub rfp_id: String,
    pub mandate_id: String,
    /// 1 for the first proposal, +1 per answered revision request.
    pub iteration: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_of: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_request_id: Option<String>,
    #[serde(flatten)]
    pub content: ProposalContent,
    pub created_at: String,
}

/// The proposal's content: the Duke's [`ProposalDraft`] with the ids the
/// engine assigned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProposalContent {
    pub executive_summary: String,
    /// The approach in one phrase (e.g. "pilot-first", "phased").
    pub approach: String,
    pub tactics: Vec<Tactic>,
    pub risks: Vec<Risk>,
    pub implementation_proposals: Vec<ImplementationProposal>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Tactic {
    /// `T-<ABBREV>-NNN`.
    pub tactic_id: String,
    pub title: String,
    pub description: String,
    /// A deliverable id of the dossier (`D-001`).
    pub deliverable_id: String,
    pub rationale: String,
    /// Free text; `None` when there is none.
    pub prerequisites: String,
    /// Tactic ids of this proposal that must finish first.
    pub dependencies: Vec<String>,
    /// ISO 8601 duration (`P14D`).
    pub estimated_duration: String,
    pub owner: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Likelihood {
    Rare,
    Unlikely,
    Possible,
    Likely,
    AlmostCertain,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Impact {
    Negligible,
    Minor,
    Moderate,
    Major,
    Severe,
}

impl Likelihood {
    pub const ALL: [Likelihood; 5] = [
        Self::Rare,
        Self::Unlikely,
        Self::Possible,
        Self::Likely,
        Self::AlmostCertain,
    ];
    /// 1 (rare) to 5 (almost certain).
    pub fn level(self) -> u32 {
        Self::ALL.iter().position(|l| *l == self).unwrap_or(0) as u32 + 1
    }
    pub fn as_str(self) -> &'static str {
        ["RARE", "UNLIKELY", "POSSIBLE", "LIKELY", "ALMOST_CERTAIN"][self.level() as usize - 1]
    }
    pub fn parse(s: &str) -> Option<Likelihood> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }
    /// One step less likely (a mitigation's effect).
    pub fn lowered(self) -> Likelihood {
        Self::ALL[(self.level() as usize).saturating_sub(2)]
    }
}

impl Impact {
    pub const ALL: [Impact; 5] = [
        Self::Negligible,
        Self::Minor,
        Self::Moderate,
        Self::Major,
        Self::Severe,
    ];
    pub fn level(self) -> u32 {
        Self::ALL.iter().position(|l| *l == self).unwrap_or(0) as u32 + 1
    }
    pub fn as_str(self) -> &'static str {
        ["NEGLIGIBLE", "MINOR", "MODERATE", "MAJOR", "SEVERE"][self.level() as usize - 1]
    }
    pub fn parse(s: &str) -> Option<Impact> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Risk {
    /// `R-<ABBREV>-NNN`.
    pub risk_id: String,
    pub title: String,
    pub description: String,
    pub likelihood: Likelihood,
    pub impact: Impact,
    /// Empty when the risk is accepted without mitigation.
    pub mitigation: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ImplementationProposal {
    pub epic_id: String,
    pub deliverable_id: String,
    pub approach: String,
    pub tactic_ids: Vec<String>,
    /// References to technical specification artifacts (not prose).
    pub technical_spec_references: Vec<String>,
    /// Risk ids of this proposal that bear on the epic.
    pub risks: Vec<String>,
    pub resource_requests: Vec<ResourceRequest>,
    pub capacity_commitment: CapacityCommitment,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResourceRequest {
    pub what: String,
    pub why: String,
    /// ISO 8601 date or duration from start (`P14D`).
    pub required_by: String,
    pub alternatives_if_denied: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CommitmentLevel {
    Full,
    Partial,
    Conditional,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CapacityCommitment {
    pub level: CommitmentLevel,
    /// What the commitment rests on (current load, people, tools): reality, not hope.
    pub basis: String,
    pub conditions: Vec<String>,
}

/// What the Duke writes (the answer of the `duke_proposal` question): the
/// content without the values the engine knows. Tactics and risks are
/// numbered by their position (the first is 1) and referred to by number; the
/// engine turns the numbers into ids, takes each epic from its deliverable and
/// makes the Duke the owner of every tactic ([`ProposalDraft::numbered`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProposalDraft {
    pub executive_summary: String,
    /// The approach in one phrase (e.g. "pilot-first", "phased").
    pub approach: String,
    pub tactics: Vec<TacticDraft>,
    pub risks: Vec<RiskDraft>,
    /// One per deliverable the proposal covers.
    pub implementation_proposals: Vec<ImplementationDraft>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TacticDraft {
    pub title: String,
    pub description: String,
    /// A deliverable id of the dossier (`D-001`).
    pub deliverable_id: String,
    pub rationale: String,
    /// Free text; `None` when there is none.
    pub prerequisites: String,
    /// Numbers of the tactics of this proposal that must finish first.
    pub dependencies: Vec<ItemNumber>,
    /// ISO 8601 duration (`P14D`).
    pub estimated_duration: String,
}

/// A tactic's or risk's position in its list, counted from 1.
pub type ItemNumber = u32;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RiskDraft {
    pub title: String,
    pub description: String,
    pub likelihood: Likelihood,
    pub impact: Impact,
    /// Empty when the risk is accepted without mitigation.
    pub mitigation: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ImplementationDraft {
    pub deliverable_id: String,
    pub approach: String,
    /// Numbers of the tactics that deliver it.
    pub tactics: Vec<ItemNumber>,
    /// References to technical specification artifacts (not prose).
    pub technical_spec_references: Vec<String>,
    /// Numbers of the risks that bear on it.
    pub risks: Vec<ItemNumber>,
    pub resource_requests: Vec<ResourceRequest>,
    pub capacity_commitment: CapacityCommitment,
}

impl ProposalDraft {
    /// The content with the engine's values: tactic `n` is `T-<abbrev>-n`,
    /// risk `n` is `R-<abbrev>-n`, references by number become those ids (a
    /// number that names no item becomes an id that [`ProposalContent::validate`]
    /// reports), each implementation proposal's epic is its deliverable's, and
    /// `owner` owns every tactic.
    pub fn numbered(self, abbrev: &str, owner: &str, dossier: &Dossier) -> ProposalContent {
        let tactic = |n: u32| item_id("T", abbrev, n);
        let risk = |n: u32| item_id("R", abbrev, n);
        let epic_of = |deliverable: &str| {
            dossier
                .deliverables
                .iter()
                .find(|d| d.deliverable_id == deliverable)
                .map(|d| d.epic_id.clone())
                .unwrap_or_default()
        };
        ProposalContent {
            executive_summary: self.executive_summary,
            approach: self.approach,
            tactics: (1..)
                .zip(self.tactics)
                .map(|(n, t)| Tactic {
                    tactic_id: tactic(n),
                    title: t.title,
                    description: t.description,
                    deliverable_id: t.deliverable_id,
                    rationale: t.rationale,
                    prerequisites: t.prerequisites,
                    dependencies: t.dependencies.into_iter().map(tactic).collect(),
                    estimated_duration: t.estimated_duration,
                    owner: owner.to_string(),
                })
                .collect(),
            risks: (1..)
                .zip(self.risks)
                .map(|(n, r)| Risk {
                    risk_id: risk(n),
                    title: r.title,
                    description: r.description,
                    likelihood: r.likelihood,
                    impact: r.impact,
                    mitigation: r.mitigation,
                })
                .collect(),
            implementation_proposals: self
                .implementation_proposals
                .into_iter()
                .map(|p| ImplementationProposal {
                    epic_id: epic_of(&p.deliverable_id),
                    deliverable_id: p.deliverable_id,
                    approach: p.approach,
                    tactic_ids: p.tactics.into_iter().map(tactic).collect(),
                    technical_spec_references: p.technical_spec_references,
                    risks: p.risks.into_iter().map(risk).collect(),
                    resource_requests: p.resource_requests,
                    capacity_commitment: p.capacity_commitment,
                })
                .collect(),
        }
    }
}

/// The id of item `n` of a Duke's list: `<prefix>-<abbrev>-NNN`.
pub fn item_id(prefix: &str, abbrev: &str, n: u32) -> String {
    format!("{prefix}-{abbrev}-{n:03}")
}

/// Whether `id` is `<prefix>-<abbrev>-NNN` (three digits).
pub fn is_item_id(id: &str, prefix: &str, abbrev: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('-'))
        .and_then(|r| r.strip_prefix(abbrev))
        .and_then(|r| r.strip_prefix('-'))
        .is_some_and(|n| n.len() == 3 && n.bytes().all(|b| b.is_ascii_digit()))
}

impl ProposalContent {
    /// Collapses line breaks in every text field, so the markdown (one line per
    /// field) and the JSON say the same thing.
    pub fn normalise(mut self) -> ProposalContent {
        fn one_line(s: &mut String) {
            if s.contains(['\n', '\r']) {
                *s = s.split_whitespace().collect::<Vec<_>>().join(" ");
            }
        }
        one_line(&mut self.executive_summary);
        for t in &mut self.tactics {
            for f in [
                &mut t.title,
                &mut t.description,
                &mut t.rationale,
                &mut t.prerequisites,
                &mut t.estimated_duration,
                &mut t.owner,
            ] {
                one_line(f);
            }
        }
        for r in &mut self.risks {
            for f in [&mut r.title, &mut r.description, &mut r.mitigation] {
                one_line(f);
            }
        }
        self
    }

    /// Checks ids, references and dependencies against the dossier.
    pub fn validate(&self, source: &str, abbrev: &str, dossier: &Dossier) -> Vec<InputError> {
        let mut errors = Vec::new();
        let mut err = |path: String, msg: String| errors.push(InputError::new(source, path, msg));
        if self.tactics.is_empty() {
            err(
                "$.tactics".into(),
                "a proposal needs at least one tactic".into(),
            );
        }
        let deliverables: BTreeSet<&str> = dossier.deliverable_ids().into_iter().collect();
        let mut ids: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, t) in self.tactics.iter().enumerate() {
            if !is_item_id(&t.tactic_id, "T", abbrev) {
                err(
                    format!("$.tactics[{i}].tactic_id"),
                    format!("{:?} is not of the form T-{abbrev}-NNN", t.tactic_id),
                );
            }
            if let Some(first) = ids.insert(&t.tactic_id, i) {
                err(
                    format!("$.tactics[{i}].tactic_id"),
                    format!(
                        "duplicate tactic id {:?} (also $.tactics[{first}])",
                        t.tactic_id
                    ),
                );
            }
            if t.title.trim().is_empty() {
                err(format!("$.tactics[{i}].title"), "title is empty".into());
            }
            if !deliverables.contains(t.deliverable_id.as_str()) {
                err(
                    format!("$.tactics[{i}].deliverable_id"),
                    format!("unknown deliverable {:?}", t.deliverable_id),
                );
            }
        }
        for (i, t) in self.tactics.iter().enumerate() {
            for (j, dep) in t.dependencies.iter().enumerate() {
                if dep == &t.tactic_id || !ids.contains_key(dep.as_str()) {
                    err(
                        format!("$.tactics[{i}].dependencies[{j}]"),
                        format!("{dep:?} is not another tactic of this proposal"),
                    );
                }
            }
        }
        if let Some(t) = self.cycle_member() {
            err(
                "$.tactics".into(),
                format!("dependencies form a cycle through {t}"),
            );
        }
        let mut risk_ids = BTreeSet::new();
        for (i, r) in self.risks.iter().enumerate() {
            if !is_item_id(&r.risk_id, "R", abbrev) {
                err(
                    format!("$.risks[{i}].risk_id"),
                    format!("{:?} is not of the form R-{abbrev}-NNN", r.risk_id),
                );
            }
            if !risk_ids.insert(r.risk_id.as_str()) {
                err(
                    format!("$.risks[{i}].risk_id"),
                    format!("duplicate risk id {:?}", r.risk_id),
                );
            }
        }
        for (i, ip) in self.implementation_proposals.iter().enumerate() {
            if !deliverables.contains(ip.deliverable_id.as_str()) {
                err(
                    format!("$.implementation_proposals[{i}].deliverable_id"),
                    format!("unknown deliverable {:?}", ip.deliverable_id),
                );
            }
            for (j, t) in ip.tactic_ids.iter().enumerate() {
                if !ids.contains_key(t.as_str()) {
                    err(
                        format!("$.implementation_proposals[{i}].tactic_ids[{j}]"),
                        format!("unknown tactic {t:?}"),
                    );
                }
            }
        }
        errors
    }

    /// A tactic on a dependency cycle, if any (Kahn's algorithm).
    fn cycle_member(&self) -> Option<&str> {
        let known: BTreeSet<&str> = self.tactics.iter().map(|t| t.tactic_id.as_str()).collect();
        let mut indegree: BTreeMap<&str, usize> = known.iter().map(|t| (*t, 0)).collect();
        for t in &self.tactics {
            let n = t
                .dependencies
                .iter()
                .filter(|d| known.contains(d.as_str()) && *d != &t.tactic_id)
                .count();
            if let Some(v) = indegree.get_mut(t.tactic_id.as_str()) {
                *v += n;
            }
        }
        let mut ready: Vec<&str> = indegree
            .iter()
            .filter(|(_, n)| **n == 0)
            .map(|(t, _)| *t)
            .collect();
        while let Some(done) = ready.pop() {
            indegree.remove(done);
            for t in self
                .tactics
                .iter()
                .filter(|t| t.dependencies.iter().any(|d| d == done))
            {
                if let Some(v) = indegree.get_mut(t.tactic_id.as_str()) {
                    *v = v.saturating_sub(1);
                    if *v == 0 {
                        ready.push(&t.tactic_id);
                    }
                }
            }
        }
        indegree.keys().next().copied()
    }

    /// Length of the longest dependency chain (1 for independent tactics).
    pub fn dependency_depth(&self) -> usize {
        let by_id: BTreeMap<&str, &Tactic> = self
            .tactics
            .iter()
            .map(|t| (t.tactic_id.as_str(), t))
            .collect();
        fn depth<'a>(
            id: &'a str,
            by_id: &BTreeMap<&'a str, &'a Tactic>,
            memo: &mut BTreeMap<&'a str, usize>,
            guard: usize,
        ) -> usize {
            if let Some(d) = memo.get(id) {
                return *d;
            }
            let d = match by_id.get(id) {
                Some(t) if guard > 0 => {
                    1 + t
                        .dependencies
                        .iter()
                        .map(|d| depth(d, by_id, memo, guard - 1))
                        .max()
                        .unwrap_or(0)
                }
                _ => 1,
            };
            memo.insert(id, d);
            d
        }
        let mut memo = BTreeMap::new();
        self.tactics
            .iter()
            .map(|t| depth(&t.tactic_id, &by_id, &mut memo, self.tactics.len()))
            .max()
            .unwrap_or(0)
    }
}
