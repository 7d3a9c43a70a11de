//! E2 Portfolio Drafting through the agent port: every affected President gets a
//! [`PortfolioDraftQuestion`] (one `ask_all` for the round) and returns a
//! contribution or a no-action attestation. A President without a valid answer
//! gets a recorded fallback attestation, never a silent gap.
//!
//! The simulated answer is a pure function of the question, the seed and the
//! President: packages for the clauses its portfolio scope touches, a coarse
//! capacity claim, and blockers raised where the text gives cause (vague wording
//! and review dissent for intent ambiguity, technical wording for execution
//! uncertainty, deadlines and cadences for capacity conflicts).

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use archon_core::agent_port::{AgentFailure, CallRecord, Question, SimContext};
use archon_core::roster::Archon;
use archon_core::seed::Seed;

use crate::clauses::Clause;
use crate::model::{
    v2, Blocker, BlockerClass, CapacityClaim, Disposition, Extra, NoActionAttestation,
    PortfolioContribution, PortfolioIdentity, PortfolioResponse, ResponseTrace, Severity,
    VerificationTask, WorkPackage,
};
use crate::packet::RatifiedIntentPacket;
use crate::text::{find_marker, snippet, stem, stems};

/// Wording that leaves the motion's WHAT open to more than one reading.
pub const VAGUE_MARKERS: [&str; 15] = [
    "open-ended",
    "appropriate",
    "as needed",
    "where necessary",
    "reasonable",
    "adequate",
    "sufficient",
    "relevant",
    "high-impact",
    "including but not limited",
    "where applicable",
    "as determined",
    "meaningful",
    "significant",
    "comprehensive",
];
/// Wording whose feasibility needs discovery.
pub const TECHNICAL_MARKERS: [&str; 24] = [
    "cryptograph",
    "signs ",
    "signed",
    "signature",
    "append",
    "rewritten",
    "restor",
    "drill",
    "description format",
    "breaking change",
    "immutable",
    "real-time",
    "continuous",
    "automat",
    "verif",
    "detect",
    "monitor",
    "integrat",
    "standardi",
    "protocol",
    "tamper",
    "interoperab",
    "log ",
    "trace",
];
/// Wording that commits capacity on a schedule.
pub const SCHEDULE_MARKERS: [&str; 10] = [
    "each cycle",
    "cycle ahead",
    "within",
    "months",
    " days",
    "years",
    "annual",
    "immediately",
    "deadline",
    "every",
];
const CAPACITY_SCOPE_STEMS: [&str; 5] = ["capac", "resou", "budge", "staff", "alloc"];
/// Packages a simulated President drafts at most: the rest of its claimed
/// clauses show up as coverage gaps in the peer review summary.
const MAX_PACKAGES: usize = 5;
const VERBS: [&str; 4] = ["Establish", "Design", "Coordinate", "Stand up"];

#[derive(Debug, Clone, Serialize)]
pub struct PortfolioDraftQuestion {
    pub motion_id: String,
    pub cycle_id: String,
    pub title: String,
    pub theme: String,
    pub clauses: Vec<Clause>,
    pub constraints: Vec<String>,
    pub success_signals: Vec<String>,
    pub dissent: Vec<String>,
    pub concerns: Vec<String>,
    pub portfolio_id: String,
    pub portfolio_label: String,
    pub portfolio_scope: Vec<String>,
    /// `plan_owner` or `affected`.
    pub role: String,
    pub plan_owner_portfolio_id: String,
    pub package_id_prefix: String,
    /// The clauses E1 found within this portfolio's scope.
    pub claimed_clauses: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ResponseKind {
    Contribution,
    NoAction,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PackageDraft {
    pub scope_description: String,
    pub mapped_clauses: Vec<String>,
    #[serde(default)]
    pub dependencies: Vec<String>,
    #[serde(default)]
    pub constraints_respected: Vec<String>,
    pub success_signal: String,
    #[serde(flatten, default)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BlockerDraft {
    pub blocker_class: BlockerClass,
    pub severity: Severity,
    pub description: String,
    pub disposition: Disposition,
    /// ISO 8601 duration (`P14D`).
    pub ttl: String,
    pub escalation_conditions: Vec<String>,
    #[serde(default)]
    pub verification_tasks: Vec<VerificationTask>,
    #[serde(default)]
    pub mitigation_notes: Option<String>,
    #[serde(default)]
    pub clause_ref: Option<String>,
    #[serde(default)]
    pub questions: Vec<String>,
    #[serde(default)]
    pub interpretations: Vec<String>,
    #[serde(flatten, default)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DraftAnswer {
    pub response: ResponseKind,
    #[serde(default)]
    pub work_packages: Vec<PackageDraft>,
    pub capacity_claim: CapacityClaim,
    #[serde(default)]
    pub blockers: Vec<BlockerDraft>,
    #[serde(default)]
    pub no_action_reason: Option<String>,
}

impl Question for PortfolioDraftQuestion {
    type Answer = DraftAnswer;
    const KIND: &'static str = "portfolio_draft";
    const TEMPLATE: &'static str = include_str!("prompts/portfolio_draft.j2");

    fn simulate(&self, ctx: &SimContext<'_>) -> DraftAnswer {
        simulate_draft(self, ctx.seed, &ctx.archon.name)
    }
}

/// The package id prefix of a portfolio (`portfolio_ethics_privacy_trust` → `wp_ethics_privacy_trust_`).
pub fn package_prefix(portfolio_id: &str) -> String {
    format!(
        "wp_{}_",
        portfolio_id
            .strip_prefix("portfolio_")
            .unwrap_or(portfolio_id)
    )
}

pub fn draft_question(
    packet: &RatifiedIntentPacket,
    cycle_id: &str,
    president: &Archon,
    plan_owner_portfolio_id: &str,
    claimed_clauses: Vec<String>,
) -> PortfolioDraftQuestion {
    let m = &packet.ratified_motion;
    let pid = president.portfolio_id.clone().unwrap_or_default();
    PortfolioDraftQuestion {
        motion_id: packet.motion_id.clone(),
        cycle_id: cycle_id.to_string(),
        title: m.title.clone(),
        theme: m.theme.clone(),
        clauses: m.clauses.clone(),
        constraints: m.constraints.clone(),
        success_signals: m.success_signals.clone(),
        dissent: packet.review_artifacts.dissent.clone(),
        concerns: packet.review_artifacts.concerns.clone(),
        role: if pid == plan_owner_portfolio_id {
            "plan_owner".into()
        } else {
            "affected".into()
        },
        package_id_prefix: package_prefix(&pid),
        portfolio_id: pid,
        portfolio_label: president.portfolio_label.clone().unwrap_or_default(),
        portfolio_scope: president.portfolio_scope.clone().unwrap_or_default(),
        plan_owner_portfolio_id: plan_owner_portfolio_id.to_string(),
        claimed_clauses,
    }
}

fn simulate_draft(q: &PortfolioDraftQuestion, seed: Seed, archon: &str) -> DraftAnswer {
    let labels = |purpose: &'static str, extra: &str| -> Vec<String> {
        vec![
            "plan".into(),
            purpose.into(),
            q.motion_id.clone(),
            archon.to_string(),
            extra.to_string(),
        ]
    };
    let unit = |purpose: &'static str, extra: &str| {
        let l = labels(purpose, extra);
        let refs: Vec<&str> = l.iter().map(String::as_str).collect();
        seed.unit(&refs)
    };
    let owner = q.role == "plan_owner";
    let scope: BTreeSet<String> = q
        .portfolio_scope
        .iter()
        .flat_map(|t| archon_core::roster::words(t).collect::<Vec<_>>())
        .filter(|w| w.len() > 3)
        .map(|w| stem(&w))
        .collect();
    // The clauses E1 claimed for this portfolio, at most MAX_PACKAGES of them
    // (the longest first: they carry the most of the portfolio's scope).
    let mut chosen: Vec<&Clause> = q
        .clauses
        .iter()
        .filter(|c| q.claimed_clauses.contains(&c.clause_ref))
        .collect();
    chosen.sort_by_key(|c| std::cmp::Reverse(c.text.len()));
    chosen.truncate(MAX_PACKAGES);
    if owner && chosen.is_empty() {
        chosen = q.clauses.iter().take(2).collect();
    }
    if chosen.is_empty() {
        return DraftAnswer {
            response: ResponseKind::NoAction,
            work_packages: Vec::new(),
            capacity_claim: CapacityClaim {
                claim_type: "NONE".into(),
                units: Some(0),
                confidence: Some("HIGH".into()),
                notes: format!("No {} capacity is drawn by this motion.", q.portfolio_label),
                extra: Extra::new(),
            },
            blockers: Vec::new(),
            no_action_reason: Some(format!(
                "No clause of the motion falls within {} ({}); {archon} attests that the portfolio has no action.",
                q.portfolio_label,
                q.portfolio_scope.join(", ")
            )),
        };
    }
    // Packages in document order, so dependencies point backwards.
    chosen.sort_by_key(|c| q.clauses.iter().position(|x| x == *c));
    let mut packages = Vec::new();
    for (i, c) in chosen.iter().enumerate() {
        let verb = VERBS[(unit("verb", &c.clause_ref) * VERBS.len() as f64) as usize % VERBS.len()];
        let dependencies = match i.checked_sub(1).and_then(|p| chosen.get(p)) {
            Some(prev) if prev.section == c.section => {
                vec![format!("{}{:02}", q.package_id_prefix, i)]
            }
            _ => Vec::new(),
        };
        let clause_stems: BTreeSet<String> = stems(&c.text).into_iter().collect();
        let constraints_respected: Vec<String> = q
            .constraints
            .iter()
            .filter(|k| {
                stems(k)
                    .iter()
                    .any(|s| clause_stems.contains(s) || scope.contains(s))
            })
            .take(2)
            .cloned()
            .collect();
        packages.push(PackageDraft {
            scope_description: format!(
                "{verb} the {} contribution to clause {}: {}",
                q.portfolio_label,
                c.clause_ref,
                snippet(&c.text, 16)
            ),
            mapped_clauses: vec![c.clause_ref.clone()],
            dependencies,
            constraints_respected,
            success_signal: match find_marker(&c.text, &SCHEDULE_MARKERS) {
                Some(_) => format!(
                    "Clause {} met on its stated schedule: {}",
                    c.clause_ref,
                    snippet(&c.text, 14)
                ),
                None => format!(
                    "{} attests clause {} is in effect and traceable to the motion",
                    q.portfolio_label, c.clause_ref
                ),
            },
            extra: Extra::new(),
        });
    }
    let confidence = ["LOW", "MEDIUM", "HIGH"][(unit("confidence", "") * 3.0) as usize % 3];
    let units = packages.len() as u32 + (unit("units", "") * 3.0) as u32;
    let capacity_claim = CapacityClaim {
        claim_type: "COARSE".into(),
        units: Some(units),
        confidence: Some(confidence.into()),
        notes: format!(
            "{units} units of {} capacity across {} work package(s); coarse, Administration refines.",
            q.portfolio_label,
            packages.len()
        ),
        extra: Extra::new(),
    };
    let signals = section_signals(q.dissent.iter().chain(&q.concerns));
    let names_me = |s: &SectionSignal| {
        let text = s.text.to_lowercase();
        text.contains(&q.portfolio_label.to_lowercase())
            || stems(&text)
                .iter()
                .any(|w| scope.contains(w) && text.contains("exposed"))
    };
    let capacity_minded = scope
        .iter()
        .any(|s| CAPACITY_SCOPE_STEMS.contains(&s.as_str()));
    let mut blockers = Vec::new();
    if owner {
        blockers.extend(intent_blocker(q, &signals, &|p, e| unit(p, e)));
    }
    // Execution uncertainty: a review red line on a section this portfolio works
    // on (likelier when it names the portfolio), or technical wording.
    let uncertain = chosen.iter().find_map(|c| {
        let concern = signals
            .iter()
            .find(|s| s.kind == SignalKind::RedLine && s.section == c.section);
        let technical = find_marker(&c.text, &TECHNICAL_MARKERS);
        let p = match (concern, technical) {
            (Some(s), _) if names_me(s) => 0.85,
            (Some(_), _) => 0.45,
            (None, Some(_)) => 0.5,
            (None, None) => 0.0,
        };
        (unit("uncertainty", &c.clause_ref) < p).then_some((*c, concern, technical))
    });
    if let Some((c, concern, technical)) = uncertain {
        let description = match concern {
            Some(s) => format!(
                "Section {} must not cross the red line raised in review ({}): whether a safeguard for clause {} is feasible is unknown",
                c.section,
                s.red_line().unwrap_or("an unbounded risk"),
                c.clause_ref
            ),
            None => format!(
                "Feasibility of the '{}' mechanism required by clause {} is unknown: {}",
                technical.unwrap_or("mechanism").trim(),
                c.clause_ref,
                snippet(&c.text, 14)
            ),
        };
        let defer = unit("uncertainty-disposition", &c.clause_ref) < 0.6;
        blockers.push(feasibility_blocker(
            q,
            c,
            BlockerClass::ExecutionUncertainty,
            defer,
            description,
            unit("severity", &c.clause_ref),
        ));
    }
    // Capacity conflict: a review concern that resources are committed without
    // feasibility or owner, or a schedule the portfolio must staff.
    let contended = chosen
        .iter()
        .filter(|c| uncertain.is_none_or(|(u, _, _)| u.clause_ref != c.clause_ref))
        .find_map(|c| {
            let concern = signals
                .iter()
                .find(|s| s.kind == SignalKind::Feasibility && s.section == c.section);
            let schedule = find_marker(&c.text, &SCHEDULE_MARKERS).is_some();
            let p = match (concern, schedule) {
                (Some(s), _) if capacity_minded || names_me(s) => 0.85,
                (Some(_), _) => 0.5,
                (None, true) if capacity_minded => 0.6,
                (None, true) => 0.25,
                (None, false) => 0.0,
            };
            (unit("capacity", &c.clause_ref) < p).then_some((*c, concern.is_some()))
        });
    if let Some((c, from_review)) = contended {
        let description = if from_review {
            format!(
                "Review found Section {} commits resources without a feasibility assessment; {} cannot staff clause {} alongside its other commitments: {}",
                c.section,
                q.portfolio_label,
                c.clause_ref,
                snippet(&c.text, 12)
            )
        } else {
            format!(
                "The schedule of clause {} competes with other commitments of {}: {}",
                c.clause_ref,
                q.portfolio_label,
                snippet(&c.text, 14)
            )
        };
        let defer = unit("capacity-disposition", &c.clause_ref) >= 0.55;
        blockers.push(feasibility_blocker(
            q,
            c,
            BlockerClass::CapacityConflict,
            defer,
            description,
            unit("severity", &c.clause_ref),
        ));
    }
    DraftAnswer {
        response: ResponseKind::Contribution,
        work_packages: packages,
        capacity_claim,
        blockers,
        no_action_reason: None,
    }
}

/// What a review concern about a section says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalKind {
    /// The text itself is unclear or open-ended (intent).
    Ambiguity,
    /// Resources committed without feasibility or owner (capacity).
    Feasibility,
    /// A red line or missing safeguard (execution).
    RedLine,
}

/// A review concern or dissent that cites a section of the motion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionSignal {
    pub section: String,
    pub kind: SignalKind,
    pub text: String,
}

impl SectionSignal {
    /// The red line named in the concern (`… crosses my red line, weak audit trail.`).
    pub fn red_line(&self) -> Option<&str> {
        let rest = &self.text[self.text.find("red line")? + "red line".len()..];
        let rest = rest.trim_start_matches([',', ':', ' ']);
        rest.split(['.', ';'])
            .next()
            .map(str::trim)
            .filter(|r| !r.is_empty())
    }
}

const AMBIGUITY_WORDING: [&str; 10] = [
    "without success measures",
    "open terms",
    "open-ended",
    "unclear",
    "ambiguous",
    "ambiguity",
    "vague",
    "undefined",
    "overbroad",
    "too broad",
];
const FEASIBILITY_WORDING: [&str; 5] = [
    "feasibility",
    "commits resources",
    "named owner",
    "capacity",
    "budget",
];
const RED_LINE_WORDING: [&str; 3] = ["red line", "safeguard", "exposed"];

/// The section-citing concerns of the review, classified by wording.
pub fn section_signals<'a>(texts: impl Iterator<Item = &'a String>) -> Vec<SectionSignal> {
    let mut out = Vec::new();
    for text in texts {
        let kind = if find_marker(text, &AMBIGUITY_WORDING).is_some() {
            SignalKind::Ambiguity
        } else if find_marker(text, &FEASIBILITY_WORDING).is_some() {
            SignalKind::Feasibility
        } else if find_marker(text, &RED_LINE_WORDING).is_some() {
            SignalKind::RedLine
        } else {
            continue;
        };
        for section in cited_sections(text) {
            out.push(SectionSignal {
                section,
                kind,
                text: text.clone(),
            });
        }
    }
    out
}

/// Section numbers cited as `Section 2` (any case), in order.
pub fn cited_sections(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let lower = text.to_ascii_lowercase();
    let mut rest = lower.as_str();
    while let Some(i) = rest.find("section ") {
        rest = &rest[i + "section ".len()..];
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        if !digits.is_empty() && !out.contains(&digits) {
            out.push(digits);
        }
    }
    out
}

/// An amendment clause that rewords a phrase its target section does not
/// contain (`In Section 1, replace "shall ensure" with …`): what the amended
/// text means is then genuinely undetermined.
pub fn dangling_amendment(clauses: &[Clause]) -> Option<(&Clause, String, String)> {
    clauses.iter().find_map(|c| {
        let after = &c.text[c.text.find("replace \"")? + "replace \"".len()..];
        let phrase = &after[..after.find('"')?];
        let section = cited_sections(&c.text).into_iter().next()?;
        let present = clauses
            .iter()
            .filter(|x| x.section == section)
            .any(|x| x.text.to_lowercase().contains(&phrase.to_lowercase()));
        (!present && !phrase.is_empty()).then(|| (c, phrase.to_string(), section))
    })
}

/// The Plan Owner raises intent ambiguity where the WHAT is undetermined: an
/// amendment that rewords text its section lacks (always), a section the review
/// found unclear or open-ended (likely), or vague wording (sometimes).
fn intent_blocker(
    q: &PortfolioDraftQuestion,
    signals: &[SectionSignal],
    unit: &dyn Fn(&'static str, &str) -> f64,
) -> Option<BlockerDraft> {
    if let Some((clause, phrase, section)) = dangling_amendment(&q.clauses) {
        return Some(ambiguity(
            clause,
            format!(
                "Amendment {} rewords \"{phrase}\" in Section {section}, but Section {section} does not contain that phrase: the amended intent of Section {section} is undetermined",
                clause.clause_ref
            ),
            format!("Which text of Section {section} does amendment {} change, and what does Section {section} require once amended?", clause.clause_ref),
            [
                format!("The amendment adds its wording to Section {section} as a new requirement"),
                format!("The amendment has no effect, since Section {section} lacks \"{phrase}\""),
                format!("The amendment replaces the operative verb of every clause of Section {section}"),
            ],
        ));
    }
    let unclear: Vec<&SectionSignal> = signals
        .iter()
        .filter(|s| s.kind == SignalKind::Ambiguity)
        .collect();
    let cited = unclear.iter().find_map(|s| {
        q.clauses.iter().find(|c| c.section == s.section).map(|c| {
            (
                c,
                unclear.iter().filter(|x| x.section == s.section).count(),
                *s,
            )
        })
    });
    if let Some((clause, count, signal)) = cited {
        let p = if count >= 2 { 0.8 } else { 0.5 };
        if unit("intent", &clause.clause_ref) < p {
            let what = if signal.text.contains("success measures") {
                "what success means"
            } else {
                "how far the authority it grants extends"
            };
            return Some(ambiguity(
                clause,
                format!(
                    "The review found Section {} unclear ({count} concern(s)): the motion does not say {what}, so the Executive cannot tell which work the Conclave intends",
                    clause.section
                ),
                format!("In Section {} ({}), {what}?", clause.section, clause.section_title),
                [
                    format!("Narrow reading: Section {} covers only what its clauses name explicitly", clause.section),
                    format!("Broad reading: Section {} covers every body and process the motion touches", clause.section),
                    "Staged reading: the narrow scope now, the broad scope after a Conclave review".to_string(),
                ],
            ));
        }
    }
    let (clause, marker) = q
        .clauses
        .iter()
        .find_map(|c| find_marker(&c.text, &VAGUE_MARKERS).map(|m| (c, m)))?;
    if unit("intent", &clause.clause_ref) >= 0.35 {
        return None;
    }
    Some(ambiguity(
        clause,
        format!(
            "Clause {} does not say what '{marker}' covers, so the Executive cannot tell which work the Conclave intends: {}",
            clause.clause_ref,
            snippet(&clause.text, 18)
        ),
        format!("In clause {}, what does '{marker}' include, and what is out of scope?", clause.clause_ref),
        [
            format!("Narrow reading: '{marker}' covers only what clause {} names explicitly", clause.clause_ref),
            format!("Broad reading: '{marker}' covers every system and process the motion touches"),
            "Staged reading: the narrow scope first, the broad scope after a Conclave review".to_string(),
        ],
    ))
}

fn ambiguity(
    clause: &Clause,
    description: String,
    question: String,
    readings: [String; 3],
) -> BlockerDraft {
    BlockerDraft {
        blocker_class: BlockerClass::IntentAmbiguity,
        severity: Severity::High,
        description,
        disposition: Disposition::EscalateNow,
        ttl: "P30D".into(),
        escalation_conditions: vec![
            format!(
                "Work on Section {} cannot be scoped until the Conclave clarifies it",
                clause.section
            ),
            "Any interpretation chosen by the Executive would redefine intent".into(),
        ],
        verification_tasks: Vec::new(),
        mitigation_notes: None,
        clause_ref: Some(clause.clause_ref.clone()),
        questions: vec![question],
        interpretations: readings.into(),
        extra: Extra::new(),
    }
}

fn feasibility_blocker(
    q: &PortfolioDraftQuestion,
    c: &Clause,
    class: BlockerClass,
    defer: bool,
    description: String,
    severity_roll: f64,
) -> BlockerDraft {
    let severity = if severity_roll < 0.5 {
        Severity::Medium
    } else if severity_roll < 0.85 {
        Severity::Low
    } else {
        Severity::High
    };
    let what = match class {
        BlockerClass::CapacityConflict => "capacity and sequencing",
        _ => "candidate mechanisms",
    };
    BlockerDraft {
        blocker_class: class,
        severity,
        description,
        disposition: if defer {
            Disposition::DeferDownstream
        } else {
            Disposition::MitigateInExecutive
        },
        ttl: if defer { "P14D" } else { "P7D" }.into(),
        escalation_conditions: vec![
            format!("No feasible approach to clause {} found within the TTL", c.clause_ref),
            "Discovery shows the clause cannot be met without changing the motion's intent".into(),
        ],
        verification_tasks: if defer {
            vec![VerificationTask {
                task_id: String::new(),
                description: format!(
                    "Survey {what} for clause {} ({})",
                    c.clause_ref,
                    snippet(&c.text, 10)
                ),
                success_signal: format!("A recommendation naming a feasible approach for clause {}", c.clause_ref),
                extra: Extra::new(),
            }]
        } else {
            Vec::new()
        },
        mitigation_notes: (!defer).then(|| {
            format!(
                "{} sequences clause {} behind the first delivery increment and reuses existing portfolio controls; the Plan Owner tracks it in E3.",
                q.portfolio_label, c.clause_ref
            )
        }),
        clause_ref: Some(c.clause_ref.clone()),
        questions: Vec::new(),
        interpretations: Vec::new(),
        extra: Extra::new(),
    }
}

/// What the drafting round produced for one President.
pub struct DraftOutcome {
    pub response: PortfolioResponse,
    /// The failure that turned into a fallback attestation, if any.
    pub failure: Option<AgentFailure>,
}

pub fn identity(president: &Archon) -> PortfolioIdentity {
    PortfolioIdentity {
        portfolio_id: president.portfolio_id.clone().unwrap_or_default(),
        president_id: president.id.clone(),
        president_name: president.name.clone(),
    }
}

/// The trace of a President's answer, from the port's call records.
pub fn trace_of(calls: &[CallRecord], archon_id: &str, kind: &str) -> Option<ResponseTrace> {
    let mine: Vec<&CallRecord> = calls
        .iter()
        .filter(|c| c.archon_id == archon_id && c.kind == kind)
        .collect();
    let last = mine.last()?;
    Some(ResponseTrace {
        model: last.model.clone(),
        attempts: mine.len() as u32,
        latency_ms: mine.iter().map(|c| c.latency_ms).sum(),
        prompt_tokens: mine.iter().map(|c| c.prompt_tokens).sum(),
        completion_tokens: mine.iter().map(|c| c.completion_tokens).sum(),
    })
}

/// Turns an answer (or a failure) into the President's recorded response.
pub fn to_outcome(
    result: Result<DraftAnswer, AgentFailure>,
    president: &Archon,
    cycle_id: &str,
    motion_id: &str,
    generated_by: &str,
    trace: Option<ResponseTrace>,
) -> DraftOutcome {
    let portfolio = identity(president);
    let answer = match result {
        Ok(a) => a,
        Err(failure) => {
            return DraftOutcome {
                response: PortfolioResponse::Attestation(fallback_attestation(
                    portfolio,
                    cycle_id,
                    motion_id,
                    &failure.to_string(),
                    trace,
                )),
                failure: Some(failure),
            }
        }
    };
    let prefix = package_prefix(&portfolio.portfolio_id);
    let response = match answer.response {
        ResponseKind::NoAction => PortfolioResponse::Attestation(NoActionAttestation {
            schema_version: Some(v2()),
            cycle_id: cycle_id.into(),
            motion_id: motion_id.into(),
            reason: answer
                .no_action_reason
                .unwrap_or_else(|| "No action for this portfolio.".into()),
            capacity_claim: Some(answer.capacity_claim),
            fallback: false,
            generated_by: generated_by.into(),
            trace,
            portfolio,
            extra: Extra::new(),
        }),
        ResponseKind::Contribution => {
            let work_packages = answer
                .work_packages
                .into_iter()
                .enumerate()
                .map(|(i, d)| WorkPackage {
                    schema_version: Some(v2()),
                    package_id: format!("{prefix}{:02}", i + 1),
                    epic_id: None,
                    scope_description: d.scope_description,
                    portfolio_id: portfolio.portfolio_id.clone(),
                    mapped_clauses: d.mapped_clauses,
                    dependencies: d.dependencies,
                    constraints_respected: d.constraints_respected,
                    success_signal: Some(d.success_signal),
                    extra: without(d.extra, &ENGINE_PACKAGE_FIELDS),
                })
                .collect();
            let blockers = answer
                .blockers
                .into_iter()
                .map(|b| Blocker {
                    schema_version: Some(v2()),
                    id: None,
                    blocker_class: Some(b.blocker_class),
                    severity: Some(b.severity),
                    description: Some(b.description),
                    owner_portfolio_id: Some(portfolio.portfolio_id.clone()),
                    disposition: Some(b.disposition),
                    ttl: Some(b.ttl),
                    escalation_conditions: Some(b.escalation_conditions),
                    // Task ids become file names: the engine assigns them.
                    verification_tasks: b
                        .verification_tasks
                        .into_iter()
                        .map(|t| VerificationTask {
                            task_id: String::new(),
                            ..t
                        })
                        .collect(),
                    mitigation_notes: b.mitigation_notes,
                    clause_ref: b.clause_ref,
                    questions: b.questions,
                    interpretations: b.interpretations,
                    converted_from_v1: None,
                    extra: without(b.extra, &ENGINE_BLOCKER_FIELDS),
                })
                .collect();
            PortfolioResponse::Contribution(PortfolioContribution {
                schema_version: Some(v2()),
                cycle_id: cycle_id.into(),
                motion_id: motion_id.into(),
                portfolio,
                work_packages,
                capacity_claim: Some(answer.capacity_claim),
                blockers,
                generated_by: generated_by.into(),
                trace,
                extra: Extra::new(),
            })
        }
    };
    DraftOutcome {
        response,
        failure: None,
    }
}

/// Fields the engine sets on a drafted package or blocker: an answer's own
/// value for them (kept in `extra` by the flattening) must not replace the
/// engine's when the artifact is written.
const ENGINE_PACKAGE_FIELDS: [&str; 4] =
    ["schema_version", "package_id", "epic_id", "portfolio_id"];
const ENGINE_BLOCKER_FIELDS: [&str; 4] = [
    "schema_version",
    "id",
    "owner_portfolio_id",
    "converted_from_v1",
];

fn without(mut extra: Extra, fields: &[&str]) -> Extra {
    extra.retain(|k, _| !fields.contains(&k.as_str()));
    extra
}

/// The attestation recorded for a President who gave no valid answer. It has no
/// capacity claim: the Visibility gate then names the portfolio.
pub fn fallback_attestation(
    portfolio: PortfolioIdentity,
    cycle_id: &str,
    motion_id: &str,
    reason: &str,
    trace: Option<ResponseTrace>,
) -> NoActionAttestation {
    NoActionAttestation {
        schema_version: Some(v2()),
        cycle_id: cycle_id.into(),
        motion_id: motion_id.into(),
        reason: format!("Fallback attestation recorded by the engine: {reason}"),
        capacity_claim: None,
        fallback: true,
        generated_by: "fallback".into(),
        trace,
        portfolio,
        extra: Extra::new(),
    }
}

/// Gives every blocker without an id `blocker_NNN` (in portfolio order; only when
/// `assign_ids`, i.e. not for hand-written blockers, whose missing id the gate
/// names) and every verification task without an id `discovery_<blocker>_<n>`.
pub fn number_blockers(responses: &mut [PortfolioResponse], assign_ids: bool) {
    let mut n = 0;
    for r in responses.iter_mut() {
        let PortfolioResponse::Contribution(c) = r else {
            continue;
        };
        for b in &mut c.blockers {
            n += 1;
            if assign_ids && b.id.is_none() {
                b.id = Some(format!("blocker_{n:03}"));
            }
            let Some(id) = b.id.clone() else {
                continue;
            };
            for (k, t) in b.verification_tasks.iter_mut().enumerate() {
                if t.task_id.is_empty() {
                    t.task_id = format!("discovery_{id}_{}", k + 1);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_compiles() {
        archon_core::agent_port::check_template(
            PortfolioDraftQuestion::KIND,
            PortfolioDraftQuestion::TEMPLATE,
        )
        .expect("template compiles");
    }
}
