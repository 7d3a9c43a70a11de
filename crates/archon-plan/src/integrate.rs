//! E3 Integration by the Plan Owner: work packages grouped into epics (one per
//! motion section they serve) with acceptance intent; discovery task stubs for
//! every DEFER_DOWNSTREAM blocker; conclave queue items for every escalated
//! intent ambiguity. Packages that map no clause of the motion land in an
//! `unmapped` epic without clauses, which the Legibility gate then refuses.

use std::collections::{BTreeMap, BTreeSet};

use archon_core::ids::slug;

use crate::model::{
    v2, Blocker, BlockerClass, ConclaveQueueItem, DiscoveryTaskStub, Disposition, Epic,
    PortfolioResponse, Severity, WorkPackage,
};
use crate::packet::RatifiedIntentPacket;
use crate::text::{find_marker, snippet};
use crate::workup::contributions;

const UNMAPPED: &str = "unmapped";

/// Tool classes (not vendors) a discovery task may use, by wording.
const TOOL_CLASSES: [(&[&str], &str); 5] = [
    (&["secur", "crypt", "tamper", "threat"], "security_scanner"),
    (&["audit", "complian", "regulat"], "compliance_checker"),
    (
        &["capac", "schedul", "sequenc", "staff", "budget"],
        "capacity_model",
    ),
    (
        &["monitor", "log", "trace", "observab"],
        "observability_stack",
    ),
    (
        &["integrat", "interop", "protocol", "standard"],
        "integration_test_harness",
    ),
];

pub struct Integration {
    pub epics: Vec<Epic>,
    pub work_packages: Vec<WorkPackage>,
    pub blockers: Vec<Blocker>,
    pub discovery_task_stubs: Vec<DiscoveryTaskStub>,
    pub conclave_queue_items: Vec<ConclaveQueueItem>,
}

pub fn integrate(
    packet: &RatifiedIntentPacket,
    cycle_id: &str,
    responses: &[PortfolioResponse],
    engine_blockers: &[Blocker],
    created_at: &str,
) -> Integration {
    let motion_key: String = slug(&packet.motion_id).chars().take(8).collect();
    let section_of = |p: &WorkPackage| -> String {
        p.mapped_clauses
            .iter()
            .find_map(|r| packet.clause(r))
            .map_or_else(|| UNMAPPED.to_string(), |c| c.section.clone())
    };
    let epic_id = |section: &str| {
        if section == UNMAPPED {
            format!("epic_{motion_key}_{UNMAPPED}")
        } else {
            format!("epic_{motion_key}_s{section}")
        }
    };
    let mut work_packages: Vec<WorkPackage> = contributions(responses)
        .flat_map(|c| c.work_packages.iter().cloned())
        .collect();
    let blockers: Vec<Blocker> = contributions(responses)
        .flat_map(|c| c.blockers.iter().cloned())
        .chain(engine_blockers.iter().cloned())
        .collect();
    // Sections in motion order, then the unmapped group.
    let mut order: Vec<String> = Vec::new();
    for c in &packet.ratified_motion.clauses {
        if !order.contains(&c.section) {
            order.push(c.section.clone());
        }
    }
    order.push(UNMAPPED.into());
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, p) in work_packages.iter_mut().enumerate() {
        let section = section_of(p);
        p.epic_id = Some(epic_id(&section));
        groups.entry(section).or_default().push(i);
    }
    let deferred_home = |b: &Blocker| -> Option<String> {
        b.clause_ref
            .as_deref()
            .and_then(|r| packet.clause(r))
            .map(|c| c.section.clone())
            .filter(|s| groups.contains_key(s))
            .or_else(|| {
                work_packages
                    .iter()
                    .find(|p| Some(&p.portfolio_id) == b.owner_portfolio_id.as_ref())
                    .map(section_of)
            })
            .or_else(|| order.iter().find(|s| groups.contains_key(*s)).cloned())
    };
    let mut epics = Vec::new();
    for (section, indices) in order.iter().filter_map(|s| groups.get(s).map(|g| (s, g))) {
        let members: Vec<&WorkPackage> = indices
            .iter()
            .filter_map(|&i| work_packages.get(i))
            .collect();
        let clause_refs: BTreeSet<&str> = members
            .iter()
            .flat_map(|p| p.mapped_clauses.iter().map(String::as_str))
            .collect();
        let mapped: Vec<&crate::clauses::Clause> = packet
            .ratified_motion
            .clauses
            .iter()
            .filter(|c| clause_refs.contains(c.clause_ref.as_str()) && &c.section == section)
            .collect();
        let in_section = |line: &String| {
            line.split(':')
                .next()
                .and_then(|r| packet.clause(r.trim()))
                .is_some_and(|c| &c.section == section)
        };
        let success_signals = dedup(
            members
                .iter()
                .filter_map(|p| p.success_signal.clone())
                .chain(
                    packet
                        .ratified_motion
                        .success_signals
                        .iter()
                        .filter(|s| in_section(s))
                        .cloned(),
                ),
        );
        let constraints = dedup(
            members
                .iter()
                .flat_map(|p| p.constraints_respected.iter().cloned())
                .chain(
                    packet
                        .ratified_motion
                        .constraints
                        .iter()
                        .filter(|s| in_section(s))
                        .cloned(),
                ),
        );
        let portfolios = dedup(members.iter().map(|p| p.portfolio_id.clone()));
        let assumptions = portfolios
            .iter()
            .filter_map(|pid| {
                responses
                    .iter()
                    .find(|r| r.portfolio_id() == pid)
                    .and_then(|r| r.capacity_claim())
                    .map(|c| {
                        format!(
                            "{pid} capacity is available as claimed ({} units, {} confidence)",
                            c.units.unwrap_or(0),
                            c.confidence.as_deref().unwrap_or("unstated")
                        )
                    })
            })
            .collect();
        let discovery_required = blockers
            .iter()
            .filter(|b| b.disposition == Some(Disposition::DeferDownstream))
            .filter(|b| deferred_home(b).as_deref() == Some(section.as_str()))
            .filter_map(|b| b.id.clone())
            .collect();
        let intent = match mapped.first() {
            Some(lead) => format!("{}: {}", lead.section_title, snippet(&lead.text, 24)),
            None => "Work contributed without a mapped motion clause".to_string(),
        };
        epics.push(Epic {
            schema_version: v2(),
            epic_id: epic_id(section),
            intent,
            success_signals,
            constraints,
            assumptions,
            discovery_required,
            mapped_motion_clauses: mapped.iter().map(|c| c.citation(14)).collect(),
            work_package_ids: members.iter().map(|p| p.package_id.clone()).collect(),
            contributing_portfolios: portfolios,
        });
    }
    let discovery_task_stubs = blockers
        .iter()
        .filter(|b| b.disposition == Some(Disposition::DeferDownstream))
        .flat_map(stubs_of)
        .collect();
    let conclave_queue_items = blockers
        .iter()
        .filter(|b| {
            b.blocker_class == Some(BlockerClass::IntentAmbiguity)
                && b.disposition == Some(Disposition::EscalateNow)
        })
        .filter_map(|b| queue_item(packet, cycle_id, b, created_at))
        .collect();
    Integration {
        epics,
        work_packages,
        blockers,
        discovery_task_stubs,
        conclave_queue_items,
    }
}

fn stubs_of(b: &Blocker) -> Vec<DiscoveryTaskStub> {
    let Some(id) = &b.id else {
        return Vec::new();
    };
    let description = b.description.clone().unwrap_or_default();
    b.verification_tasks
        .iter()
        .filter(|t| !t.task_id.is_empty())
        .map(|t| {
            let wording = format!("{description} {}", t.description).to_lowercase();
            let mut tools: Vec<String> = TOOL_CLASSES
                .iter()
                .filter(|(markers, _)| find_marker(&wording, markers).is_some())
                .map(|(_, tool)| tool.to_string())
                .collect();
            if tools.is_empty() {
                tools.push("research_survey".into());
            }
            DiscoveryTaskStub {
                schema_version: v2(),
                task_id: t.task_id.clone(),
                origin_blocker_id: id.clone(),
                question: format!("{}?", t.description.trim_end_matches(['.', '?'])),
                deliverable: t.success_signal.clone(),
                max_effort: match b.severity {
                    Some(Severity::High | Severity::Critical) => "P5D",
                    _ => "P3D",
                }
                .into(),
                stop_conditions: vec![
                    format!("Deliverable produced: {}", t.success_signal),
                    "No viable approach found (triggers escalation)".into(),
                ],
                ttl: b.ttl.clone().unwrap_or_else(|| "P14D".into()),
                escalation_conditions: b.escalation_conditions.clone().unwrap_or_default(),
                suggested_tools: tools,
            }
        })
        .collect()
}

fn queue_item(
    packet: &RatifiedIntentPacket,
    cycle_id: &str,
    b: &Blocker,
    created_at: &str,
) -> Option<ConclaveQueueItem> {
    let id = b.id.clone()?;
    let clause = b.clause_ref.as_deref().and_then(|r| packet.clause(r));
    let questions = if b.questions.is_empty() {
        vec![format!(
            "What does the motion intend: {}?",
            b.description.as_deref().unwrap_or("(no description)")
        )]
    } else {
        b.questions.clone()
    };
    let options = if b.interpretations.is_empty() {
        vec![
            "Read the clause narrowly, as literally written".to_string(),
            "Read the clause broadly, across the whole motion".to_string(),
        ]
    } else {
        b.interpretations.iter().take(3).cloned().collect()
    };
    Some(ConclaveQueueItem {
        schema_version: v2(),
        queue_item_id: queue_item_id("cqi", cycle_id, &id),
        cycle_id: cycle_id.into(),
        motion_id: packet.motion_id.clone(),
        blocker_id: id,
        blocker_class: BlockerClass::IntentAmbiguity,
        questions,
        options,
        source_citations: clause
            .map(|c| {
                vec![format!(
                    "Motion Section {}: '{}'",
                    c.clause_ref,
                    snippet(&c.text, 16)
                )]
            })
            .unwrap_or_else(|| vec![format!("Motion {}", packet.motion_id)]),
        created_at: created_at.into(),
    })
}

/// A queue item id unique within a session: the cycle (one per motion) and
/// the blocker (unique within the cycle), e.g. `cqi_ecfd0a08b9b8_001`.
pub fn queue_item_id(prefix: &str, cycle_id: &str, blocker_id: &str) -> String {
    format!(
        "{prefix}_{}_{}",
        cycle_id.trim_start_matches("exec_"),
        blocker_id.trim_start_matches("blocker_")
    )
}

fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    items.filter(|i| seen.insert(i.clone())).collect()
}
