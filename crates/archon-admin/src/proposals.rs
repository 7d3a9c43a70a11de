//! `archon proposals`: the Administrative pipeline. Each Duke answers the
//! dossier (or an open revision request) with a proposal, all Dukes of a round
//! in one `ask_all`. Simulated Dukes differ in approach, tactic count,
//! dependency shape, risk handling, resource requests and capacity commitment,
//! so that selection has real choices to make.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use archon_core::agent_port::{Agents, Ask, Question, SimContext};
use archon_core::ids::slug;
use archon_core::roster::{Archon, Rank, Roster};
use archon_core::seed::Seed;

use crate::abbrev;
use crate::dossier::{
    Constraint, Deliverable, Dossier, FunctionalRequirement, NonFunctionalRequirement,
};
use crate::events::Event;
use crate::proposal::*;
use crate::select::RevisionRequest;

/// A Duke with its abbreviation and file stem (`proposal_<stem>.md`).
#[derive(Debug, Clone)]
pub struct DukeSlot<'a> {
    pub archon: &'a Archon,
    pub abbreviation: String,
    pub file_stem: String,
}

/// The Dukes in roster order, abbreviations assigned by [`abbrev::assign`].
pub fn duke_slots(roster: &Roster) -> Vec<DukeSlot<'_>> {
    let dukes: Vec<&Archon> = roster.of_rank(Rank::Duke).collect();
    let names: Vec<&str> = dukes.iter().map(|a| a.name.as_str()).collect();
    dukes
        .into_iter()
        .zip(abbrev::assign(&names))
        .map(|(archon, abbreviation)| DukeSlot {
            archon,
            abbreviation,
            file_stem: slug(&archon.name),
        })
        .collect()
}

/// What a Duke is asked to revise, and its previous proposal.
#[derive(Debug, Clone, Serialize)]
pub struct RevisionBrief {
    pub revision_request_id: String,
    pub previous_proposal_id: String,
    pub previous: ProposalContent,
    pub questions: Vec<String>,
    pub constraints: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DukeProposalQuestion {
    pub mandate_id: String,
    pub rfp_id: String,
    pub duke_abbreviation: String,
    pub iteration: u32,
    pub deliverables: Vec<Deliverable>,
    pub functional: Vec<FunctionalRequirement>,
    pub non_functional: Vec<NonFunctionalRequirement>,
    pub constraints: Vec<Constraint>,
    pub revision: Option<RevisionBrief>,
}

impl Question for DukeProposalQuestion {
    type Answer = ProposalDraft;
    const KIND: &'static str = "duke_proposal";
    const TEMPLATE: &'static str = include_str!("../prompts/duke_proposal.j2");

    fn simulate(&self, ctx: &SimContext<'_>) -> ProposalDraft {
        let profile = DukeProfile::of(ctx.seed, &ctx.archon.name, &self.mandate_id);
        let profile = if self.revision.is_some() {
            profile.revised()
        } else {
            profile
        };
        profile.write(self, ctx.archon)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Style {
    Phased,
    PilotFirst,
    ParallelStreams,
    PlatformFirst,
    Incremental,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum DependencyShape {
    /// Every tactic waits for the one before it: deep and slow.
    Chain,
    /// Tactics wait only within their deliverable.
    Within,
    /// Independent tactics.
    Flat,
}

/// How one simulated Duke works on one mandate.
#[derive(Debug, Clone)]
struct DukeProfile {
    style: Style,
    tactics_per_deliverable: usize,
    shape: DependencyShape,
    risk_count: usize,
    mitigated_share: f64,
    lowers_likelihood: bool,
    skips_last_deliverable: bool,
    requests_per_epic: usize,
    commitment: CommitmentLevel,
    base_days: u32,
    seed: Seed,
    key: String,
}

const STYLES: [Style; 5] = [
    Style::Phased,
    Style::PilotFirst,
    Style::ParallelStreams,
    Style::PlatformFirst,
    Style::Incremental,
];
const SHAPES: [DependencyShape; 3] = [
    DependencyShape::Chain,
    DependencyShape::Within,
    DependencyShape::Flat,
];
const RISKS: [(&str, &str, &str); 6] = [
    (
        "Schema Migration Complexity",
        "Existing data may not conform to the new structures",
        "Dry-run migrations on a copy before each cut-over",
    ),
    (
        "Capacity Contention",
        "The same specialists are needed by other mandates",
        "Reserve named people for the critical path",
    ),
    (
        "Integration Drift",
        "Interfaces change while work is in flight",
        "Contract tests pinned at each interface",
    ),
    (
        "Stakeholder Resistance",
        "Affected parties may not adopt the change",
        "Early pilots with the affected parties",
    ),
    (
        "Tooling Gaps",
        "Required tools may be missing or immature",
        "Evaluate tools in the first tactic and keep a fallback",
    ),
    (
        "Scope Creep",
        "Acceptance criteria may widen during delivery",
        "Freeze criteria per deliverable; changes go to revision",
    ),
];
const REQUESTS: [(&str, &str, &str); 3] = [
    (
        "Staging environment mirroring production",
        "Validate changes before they reach production",
        "Shared staging slots at night",
    ),
    (
        "Security review hours",
        "Independent review of privileged paths",
        "Peer review by a second Duke's team",
    ),
    (
        "Data engineering support",
        "Migrations and measurement need specialists",
        "Train the existing team, slower start",
    ),
];

impl DukeProfile {
    fn of(seed: Seed, duke: &str, mandate: &str) -> DukeProfile {
        let l = |what: &str| [what, duke, mandate].map(str::to_string);
        let unit = |what: &str| {
            let labels = l(what);
            seed.unit(&[&labels[0], &labels[1], &labels[2]])
        };
        let below = |n: usize, what: &str| {
            let labels = l(what);
            seed.below(n, &[&labels[0], &labels[1], &labels[2]])
        };
        let commitment = match unit("commitment") {
            u if u < 0.5 => CommitmentLevel::Full,
            u if u < 0.85 => CommitmentLevel::Partial,
            _ => CommitmentLevel::Conditional,
        };
        DukeProfile {
            style: STYLES[below(STYLES.len(), "style")],
            tactics_per_deliverable: 1 + below(3, "tactics"),
            shape: SHAPES[below(SHAPES.len(), "shape")],
            risk_count: 1 + below(3, "risks"),
            mitigated_share: unit("mitigation"),
            lowers_likelihood: false,
            skips_last_deliverable: unit("coverage") < 0.2,
            requests_per_epic: below(3, "requests"),
            commitment,
            base_days: 5 + 2 * below(5, "days") as u32,
            seed,
            key: format!("{duke}/{mandate}"),
        }
    }

    /// A Duke answering a revision request fixes what selection weighs:
    /// coverage, unmitigated risks, deep chains, asks and soft commitments.
    fn revised(mut self) -> DukeProfile {
        self.skips_last_deliverable = false;
        self.mitigated_share = 1.0;
        self.lowers_likelihood = true;
        if self.shape == DependencyShape::Chain {
            self.shape = DependencyShape::Within;
        }
        self.requests_per_epic = self.requests_per_epic.min(1);
        self.commitment = CommitmentLevel::Full;
        self
    }

    fn style_words(&self) -> (&'static str, [&'static str; 4]) {
        match self.style {
            Style::Phased => ("phased", ["Plan", "Build", "Verify", "Hand over"]),
            Style::PilotFirst => (
                "pilot-first",
                ["Pilot", "Evaluate", "Scale", "Institutionalise"],
            ),
            Style::ParallelStreams => (
                "parallel streams",
                ["Stand up", "Deliver", "Integrate", "Stabilise"],
            ),
            Style::PlatformFirst => (
                "platform-first",
                ["Design", "Implement", "Harden", "Extend"],
            ),
            Style::Incremental => ("incremental", ["Slice", "Ship", "Measure", "Refine"]),
        }
    }

    fn write(&self, q: &DukeProposalQuestion, duke: &Archon) -> ProposalDraft {
        let abbr = &q.duke_abbreviation;
        let (approach, verbs) = self.style_words();
        let domain = duke
            .execution_domains
            .as_ref()
            .and_then(|d| d.first())
            .map(String::as_str)
            .unwrap_or("delivery");
        let covered: Vec<&Deliverable> = match q.deliverables.split_last() {
            Some((_, rest)) if self.skips_last_deliverable && !rest.is_empty() => {
                rest.iter().collect()
            }
            _ => q.deliverables.iter().collect(),
        };
        let mut tactics: Vec<TacticDraft> = Vec::new();
        let mut foundation: Option<ItemNumber> = None;
        let mut implementation_proposals = Vec::new();
        for (di, d) in covered.iter().enumerate() {
            let cites: Vec<&str> = q
                .functional
                .iter()
                .filter(|f| f.deliverable_id == d.deliverable_id)
                .map(|f| f.req_id.as_str())
                .take(2)
                .chain(
                    q.non_functional
                        .iter()
                        .map(|n| n.req_id.as_str())
                        .skip(di)
                        .take(1),
                )
                .collect();
            let extra = usize::from(self.style == Style::PlatformFirst && di == 0);
            let first_of_deliverable = tactics.len();
            for pos in 0..self.tactics_per_deliverable + extra {
                let number = tactics.len() as ItemNumber + 1;
                let mut dependencies = Vec::new();
                let previous = (number > 1).then(|| number - 1);
                match self.shape {
                    DependencyShape::Chain => dependencies.extend(previous),
                    DependencyShape::Within if tactics.len() > first_of_deliverable => {
                        dependencies.extend(previous)
                    }
                    _ => {}
                }
                if let Some(f) = foundation.filter(|f| pos == 0 && !dependencies.contains(f)) {
                    dependencies.push(f);
                }
                let (title, description) = if extra == 1 && pos == 0 {
                    (format!("Establish shared {domain} foundation"), format!("Build the common {domain} capability every deliverable of the mandate reuses"))
                } else {
                    let verb = verbs[(pos - extra).min(3)];
                    let subject: String = d
                        .name
                        .split_whitespace()
                        .take(6)
                        .collect::<Vec<_>>()
                        .join(" ")
                        .to_lowercase();
                    (
                        format!("{verb} {} ({subject})", d.deliverable_id),
                        format!(
                            "{verb} {} applying {domain} practice; accepted when: {}",
                            d.description.trim_end_matches('.'),
                            d.acceptance_criteria
                                .first()
                                .map(String::as_str)
                                .unwrap_or("the deliverable is accepted")
                        ),
                    )
                };
                let rationale = if cites.is_empty() {
                    format!("Serves {} of epic {}", d.deliverable_id, d.epic_id)
                } else {
                    format!("Required by {}", cites.join(", "))
                };
                let prerequisites = if dependencies.is_empty() {
                    "None".to_string()
                } else {
                    let ids: Vec<String> = dependencies
                        .iter()
                        .map(|n| item_id("T", abbr, *n))
                        .collect();
                    format!("{} completed", ids.join(", "))
                };
                tactics.push(TacticDraft {
                    title,
                    description,
                    deliverable_id: d.deliverable_id.clone(),
                    rationale,
                    prerequisites,
                    dependencies,
                    estimated_duration: format!("P{}D", self.base_days + 7 * pos as u32),
                });
                if extra == 1 && pos == 0 {
                    foundation = Some(number);
                }
            }
            let numbers = first_of_deliverable as ItemNumber + 1..=tactics.len() as ItemNumber;
            implementation_proposals.push((d, numbers.collect::<Vec<_>>()));
        }
        let risks: Vec<RiskDraft> = (0..self.risk_count)
            .map(|i| {
                let n = i.to_string();
                let (title, description, mitigation) = RISKS[self
                    .seed
                    .below(RISKS.len(), &["risk", &self.key, &n])
                    .wrapping_add(i)
                    % RISKS.len()];
                let likelihood =
                    Likelihood::ALL[1 + self.seed.below(3, &["likelihood", &self.key, &n])];
                let mitigated =
                    self.seed.unit(&["mitigated", &self.key, &n]) < self.mitigated_share;
                RiskDraft {
                    title: title.into(),
                    description: description.into(),
                    likelihood: if self.lowers_likelihood {
                        likelihood.lowered()
                    } else {
                        likelihood
                    },
                    impact: Impact::ALL[1 + self.seed.below(3, &["impact", &self.key, &n])],
                    mitigation: if mitigated {
                        mitigation.into()
                    } else {
                        String::new()
                    },
                }
            })
            .collect();
        let risk_numbers: Vec<ItemNumber> = (1..=risks.len() as ItemNumber).collect();
        let implementation_proposals = implementation_proposals
            .into_iter()
            .map(|(d, tactics)| ImplementationDraft {
                deliverable_id: d.deliverable_id.clone(),
                approach: format!("{approach} delivery of {}", d.name),
                tactics,
                technical_spec_references: vec![format!(
                    "spec/{}/{}/design.md",
                    q.mandate_id, d.deliverable_id
                )],
                risks: risk_numbers.clone(),
                resource_requests: REQUESTS
                    .iter()
                    .take(self.requests_per_epic)
                    .map(|(what, why, alt)| ResourceRequest {
                        what: (*what).into(),
                        why: format!("{why} ({})", d.deliverable_id),
                        required_by: format!("P{}D", self.base_days),
                        alternatives_if_denied: vec![(*alt).into()],
                    })
                    .collect(),
                capacity_commitment: CapacityCommitment {
                    level: self.commitment,
                    basis: format!(
                        "The {domain} team has {} people free for this mandate at current load",
                        1 + self.tactics_per_deliverable
                    ),
                    conditions: match self.commitment {
                        CommitmentLevel::Full => Vec::new(),
                        CommitmentLevel::Partial => {
                            vec!["Second half of the tactics start after current work ends".into()]
                        }
                        CommitmentLevel::Conditional => {
                            vec!["Resource requests approved by their required date".into()]
                        }
                    },
                },
            })
            .collect();
        let executive_summary = format!(
            "Duke {} proposes a {approach} approach: {} tactics across {} of {} deliverables, drawing on {domain}.{}",
            duke.name,
            tactics.len(),
            covered.len(),
            q.deliverables.len(),
            if q.revision.is_some() { " Revised to answer the Executive's revision request." } else { "" }
        );
        ProposalDraft {
            executive_summary,
            approach: approach.into(),
            tactics,
            risks,
            implementation_proposals,
        }
    }
}

/// A Duke whose round produced no valid proposal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DukeFailure {
    pub duke_name: String,
    pub duke_id: String,
    pub duke_abbreviation: String,
    pub reason: String,
}

pub struct ProposalsRun {
    pub submitted: Vec<Proposal>,
    pub failed: Vec<DukeFailure>,
    pub events: Vec<Event>,
}

/// The owner of a Duke's tactics: the Duke itself (`duke_<name>`).
pub fn owner_of(duke: &Archon) -> String {
    format!("duke_{}", slug(&duke.name).replace('-', "_"))
}

/// Proposal ids: `dprop-<abbrev lower>-<8 hex>`, determined by seed, mandate, Duke, iteration.
pub fn proposal_id(seed: Seed, mandate_id: &str, duke: &DukeSlot<'_>, iteration: u32) -> String {
    let it = iteration.to_string();
    format!(
        "dprop-{}-{}",
        duke.abbreviation.to_lowercase(),
        seed.short_hex(&["proposal", mandate_id, &duke.archon.name, &it])
    )
}

/// Asks `dukes` in one round. With `revision`, each Duke revises its entry in
/// `previous` (keyed by Duke name) and the round's iteration is the request's + 1.
pub fn run(
    dossier: &Dossier,
    dukes: &[DukeSlot<'_>],
    agents: &Agents,
    revision: Option<&RevisionRequest>,
    previous: &BTreeMap<String, Proposal>,
    now: &str,
) -> ProposalsRun {
    let iteration = revision.map_or(1, |r| r.iteration + 1);
    let mut events = vec![Event::new(
        "proposals.started",
        now,
        serde_json::json!({ "mandate_id": dossier.mandate_id, "rfp_id": dossier.implementation_dossier_id, "iteration": iteration,
            "dukes": dukes.iter().map(|d| d.archon.name.as_str()).collect::<Vec<_>>(),
            "revision_request_id": revision.map(|r| r.revision_request_id.as_str()) }),
    )];
    let asks: Vec<Ask<DukeProposalQuestion>> = dukes
        .iter()
        .map(|d| Ask {
            archon: d.archon,
            question: DukeProposalQuestion {
                mandate_id: dossier.mandate_id.clone(),
                rfp_id: dossier.implementation_dossier_id.clone(),
                duke_abbreviation: d.abbreviation.clone(),
                iteration,
                deliverables: dossier.deliverables.clone(),
                functional: dossier.requirements.functional.clone(),
                non_functional: dossier.requirements.non_functional.clone(),
                constraints: dossier.constraints.clone(),
                revision: revision.and_then(|r| {
                    let prev = previous.get(&d.archon.name)?;
                    let item = r
                        .addressed_to
                        .iter()
                        .find(|a| a.duke_name == d.archon.name)?;
                    Some(RevisionBrief {
                        revision_request_id: r.revision_request_id.clone(),
                        previous_proposal_id: prev.proposal_id.clone(),
                        previous: prev.content.clone(),
                        questions: item.questions.clone(),
                        constraints: item
                            .constraints
                            .iter()
                            .chain(&r.general_constraints)
                            .cloned()
                            .collect(),
                    })
                }),
            },
        })
        .collect();
    let answers = agents.ask_all(&asks);
    events.push(Event::calls(
        "proposals",
        now,
        "duke_proposal",
        agents.take_calls(),
    ));
    let mut submitted = Vec::new();
    let mut failed = Vec::new();
    for ((duke, ask), answer) in dukes.iter().zip(&asks).zip(answers) {
        let source = format!("answer of Duke {}", duke.archon.name);
        let content = answer.map_err(|f| f.to_string()).and_then(|draft| {
            let c = draft
                .numbered(&duke.abbreviation, &owner_of(duke.archon), dossier)
                .normalise();
            let errors = c.validate(&source, &duke.abbreviation, dossier);
            if errors.is_empty() {
                Ok(c)
            } else {
                Err(errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "))
            }
        });
        match content {
            Ok(content) => {
                let proposal = Proposal {
                    schema_version: archon_core::SCHEMA_VERSION.into(),
                    artifact_type: ARTIFACT_TYPE.into(),
                    proposal_id: proposal_id(agents.seed(), &dossier.mandate_id, duke, iteration),
                    duke_name: duke.archon.name.clone(),
                    duke_id: duke.archon.id.clone(),
                    duke_abbreviation: duke.abbreviation.clone(),
                    rfp_id: dossier.implementation_dossier_id.clone(),
                    mandate_id: dossier.mandate_id.clone(),
                    iteration,
                    revision_of: ask
                        .question
                        .revision
                        .as_ref()
                        .map(|r| r.previous_proposal_id.clone()),
                    revision_request_id: ask
                        .question
                        .revision
                        .as_ref()
                        .map(|r| r.revision_request_id.clone()),
                    content,
                    created_at: now.into(),
                };
                events.push(Event::new(
                    "proposals.duke.submitted",
                    now,
                    serde_json::json!({ "duke_name": duke.archon.name, "proposal_id": proposal.proposal_id,
                        "approach": proposal.content.approach, "tactic_count": proposal.content.tactics.len(),
                        "risk_count": proposal.content.risks.len(), "revision_of": proposal.revision_of }),
                ));
                submitted.push(proposal);
            }
            Err(reason) => {
                events.push(Event::new(
                    "proposals.duke.failed",
                    now,
                    serde_json::json!({ "duke_name": duke.archon.name, "reason": reason }),
                ));
                failed.push(DukeFailure {
                    duke_name: duke.archon.name.clone(),
                    duke_id: duke.archon.id.clone(),
                    duke_abbreviation: duke.abbreviation.clone(),
                    reason,
                });
            }
        }
    }
    events.push(Event::new(
        "proposals.completed",
        now,
        serde_json::json!({ "submitted": submitted.len(), "failed": failed.len(), "iteration": iteration }),
    ));
    ProposalsRun {
        submitted,
        failed,
        events,
    }
}

/// Features of a proposal that scoring and the summary read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposalFeatures {
    pub tactic_count: usize,
    pub risk_count: usize,
    pub unmitigated_risks: usize,
    /// Σ likelihood × impact / 5 over unmitigated risks.
    pub unmitigated_exposure: f64,
    pub dependency_depth: usize,
    pub resource_requests: usize,
    pub commitment: Option<CommitmentLevel>,
    /// Share of the dossier's deliverables with at least one tactic.
    pub coverage: f64,
    pub uncovered_deliverables: Vec<String>,
    /// Share of the dossier's FR/NFR ids cited by the tactics.
    pub requirement_citation: f64,
}

impl ProposalFeatures {
    pub fn of(content: &ProposalContent, dossier: &Dossier) -> ProposalFeatures {
        let deliverables = dossier.deliverable_ids();
        let uncovered_deliverables: Vec<String> = deliverables
            .iter()
            .filter(|d| !content.tactics.iter().any(|t| t.deliverable_id == **d))
            .map(|d| d.to_string())
            .collect();
        let text: String = content
            .tactics
            .iter()
            .map(|t| format!("{} {} ", t.rationale, t.description))
            .collect();
        let reqs = dossier.requirement_ids();
        let cited = reqs.iter().filter(|r| text.contains(**r)).count();
        let unmitigated: Vec<&Risk> = content
            .risks
            .iter()
            .filter(|r| r.mitigation.trim().is_empty())
            .collect();
        let weakest = content
            .implementation_proposals
            .iter()
            .map(|i| i.capacity_commitment.level)
            .max_by_key(|l| *l as u8);
        ProposalFeatures {
            tactic_count: content.tactics.len(),
            risk_count: content.risks.len(),
            unmitigated_risks: unmitigated.len(),
            unmitigated_exposure: unmitigated
                .iter()
                .map(|r| f64::from(r.likelihood.level() * r.impact.level()) / 5.0)
                .sum(),
            dependency_depth: content.dependency_depth(),
            resource_requests: content
                .implementation_proposals
                .iter()
                .map(|i| i.resource_requests.len())
                .sum(),
            commitment: weakest,
            coverage: if deliverables.is_empty() {
                0.0
            } else {
                (deliverables.len() - uncovered_deliverables.len()) as f64
                    / deliverables.len() as f64
            },
            uncovered_deliverables,
            requirement_citation: if reqs.is_empty() {
                1.0
            } else {
                cited as f64 / reqs.len() as f64
            },
        }
    }
}
