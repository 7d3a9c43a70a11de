//! One motion's Executive cycle as a pure function: packet, roster, agents,
//! clock and options in; every artifact (relative path + JSON), the event trail
//! and the gate report out. Nothing here touches files.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use archon_core::agent_port::{Agents, Ask, CallRecord, Question};
use archon_core::clock::Clock;
use archon_core::roster::{Archon, Roster};
use archon_store::artifact_dir::to_json_bytes;

use crate::assignment::{
    assign, presidents, unclaimed_clause_blockers, AssignmentRecord, Overrides,
};
use crate::clarification::{self, Vote};
use crate::drafting::{
    draft_question, number_blockers, to_outcome, trace_of, PortfolioDraftQuestion,
};
use crate::error::PlanError;
use crate::events::{EventTrail, ExecutiveEvent};
use crate::gates::{evaluate, GateInput, GateReport};
use crate::inbox::{load_inbox, InboxFile};
use crate::integrate::integrate;
use crate::legacy::V1Finding;
use crate::model::{
    v2, Blocker, BlockerClass, BlockerReview, Disposition, ExecutionPlanHandoff, ExecutionPlanV2,
    PeerReviewFinding, PlanProvenance, PortfolioResponse, ResponseRecord, SourceArtifact,
    TraceMetadata,
};
use crate::packet::RatifiedIntentPacket;
use crate::workup::{self, peer_review_summary, SummaryInput};
use archon_core::seed::sha256_hex;

/// Where E2 responses come from.
pub enum DraftSource<'a> {
    /// The agent port (simulation, LLM or replay: the port's backend decides).
    Agents,
    /// A hand-written inbox (`label` names it in messages).
    Manual {
        files: &'a [InboxFile],
        label: &'a str,
    },
    /// The inbox's answers, and the agents' for the portfolios it lacks.
    Hybrid {
        files: &'a [InboxFile],
        label: &'a str,
    },
}

/// E2 through the agent port: one round for the given Presidents.
struct Drafting<'a> {
    packet: &'a RatifiedIntentPacket,
    agents: &'a Agents,
    assignment: &'a AssignmentRecord,
}

impl Drafting<'_> {
    fn ask(
        &self,
        presidents: &[&Archon],
        trail: &mut EventTrail,
        all_calls: &mut Vec<CallRecord>,
    ) -> Vec<PortfolioResponse> {
        if presidents.is_empty() {
            return Vec::new();
        }
        let cycle_id = self.assignment.cycle_id.as_str();
        let owner = self.assignment.plan_owner.portfolio_id.as_str();
        let asks: Vec<Ask<'_, PortfolioDraftQuestion>> = presidents
            .iter()
            .map(|p| Ask {
                archon: p,
                question: draft_question(
                    self.packet,
                    cycle_id,
                    p,
                    owner,
                    self.assignment
                        .claimed_by(p.portfolio_id.as_deref().unwrap_or("")),
                ),
            })
            .collect();
        let results = self.agents.ask_all(&asks);
        let calls = self.agents.take_calls();
        trail.calls("E2", &calls);
        let mut responses = Vec::new();
        for (p, result) in presidents.iter().zip(results) {
            let trace = trace_of(&calls, &p.id, PortfolioDraftQuestion::KIND);
            let outcome = to_outcome(
                result,
                p,
                cycle_id,
                &self.packet.motion_id,
                self.agents.backend_name(),
                trace,
            );
            if let Some(f) = &outcome.failure {
                trail.push(
                    "executive.portfolio.fallback_attested",
                    json!({"portfolio_id": outcome.response.portfolio_id(), "president": p.name, "reason": f.to_string()}),
                );
            }
            responses.push(outcome.response);
        }
        all_calls.extend(calls);
        responses
    }
}

#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    pub overrides: Overrides,
    /// E2.5 peer review of every blocker through the agent port.
    pub llm_blocker_workup: bool,
    /// Executive Clarification Review of INTENT_AMBIGUITY candidates.
    pub clarification_review: bool,
    /// Write the handoff even when a gate fails (default: only when all pass).
    pub emit_admin_handoff: bool,
}

pub struct PlanOutput {
    pub motion_id: String,
    pub cycle_id: String,
    /// Every artifact except the event trail, in write order.
    pub files: Vec<(String, Value)>,
    pub events: Vec<ExecutiveEvent>,
    pub gates: GateReport,
    pub plan: ExecutionPlanV2,
    pub handoff_written: bool,
    /// Every model call made for this motion.
    pub calls: Vec<CallRecord>,
}

pub fn plan_motion(
    packet: &RatifiedIntentPacket,
    roster: &Roster,
    agents: &Agents,
    clock: &Clock,
    source: DraftSource<'_>,
    opts: &PlanOptions,
) -> Result<PlanOutput, PlanError> {
    let started_at = clock.stamp();
    let now = started_at.as_str();
    let presidents = presidents(roster);
    let assignment = assign(packet, &presidents, &opts.overrides, now)?;
    let cycle_id = assignment.cycle_id.clone();
    let motion_id = packet.motion_id.as_str();
    let owner_pid = assignment.plan_owner.portfolio_id.clone();
    let mut trail = EventTrail::new(&cycle_id, motion_id, now);
    let mut all_calls: Vec<CallRecord> = Vec::new();
    trail.push(
        "executive.cycle.opened",
        json!({"packet_id": packet.packet_id, "session_id": packet.session_id, "title": packet.ratified_motion.title, "clauses": packet.ratified_motion.clauses.len()}),
    );
    trail.push(
        "executive.assignment.recorded",
        json!({"plan_owner": assignment.plan_owner, "affected_portfolios": assignment.affected_portfolios, "overridden": assignment.overrides.owner.is_some() || assignment.overrides.affected.is_some()}),
    );

    // E2: drafting.
    let affected: Vec<&Archon> = assignment
        .affected_portfolios
        .iter()
        .filter_map(|p| presidents.get(p).copied())
        .collect();
    let drafting = Drafting {
        packet,
        agents,
        assignment: &assignment,
    };
    let (mut responses, v1_findings): (Vec<PortfolioResponse>, Vec<(String, V1Finding)>) =
        match source {
            DraftSource::Agents => {
                let mut responses = drafting.ask(&affected, &mut trail, &mut all_calls);
                number_blockers(&mut responses, true);
                (responses, Vec::new())
            }
            DraftSource::Manual { files, label } | DraftSource::Hybrid { files, label } => {
                let hybrid = matches!(source, DraftSource::Hybrid { .. });
                let load = load_inbox(
                    files,
                    label,
                    &cycle_id,
                    motion_id,
                    &assignment.affected_portfolios,
                    &presidents,
                )?;
                let mut responses = load.responses;
                number_blockers(&mut responses, false);
                if hybrid {
                    // The portfolios without a file are asked through the agents.
                    let missing: Vec<&Archon> = load
                        .missing
                        .iter()
                        .filter_map(|p| presidents.get(p).copied())
                        .collect();
                    let mut drafted = drafting.ask(&missing, &mut trail, &mut all_calls);
                    number_blockers(&mut drafted, true);
                    for d in drafted {
                        if let Some(slot) = responses
                            .iter_mut()
                            .find(|r| r.portfolio_id() == d.portfolio_id())
                        {
                            *slot = d;
                        }
                    }
                } else {
                    for pid in &load.missing {
                        trail.push(
                            "executive.portfolio.fallback_attested",
                            json!({"portfolio_id": pid, "reason": format!("no response in {label}")}),
                        );
                    }
                }
                (responses, load.v1_findings)
            }
        };
    for r in responses
        .iter()
        .filter(|r| r.kind() != "fallback_attestation")
    {
        let event = match r {
            PortfolioResponse::Contribution(_) => "executive.portfolio.contribution_received",
            PortfolioResponse::Attestation(_) => "executive.portfolio.attestation_received",
        };
        trail.push(event, json!({"portfolio_id": r.portfolio_id(), "generated_by": r.generated_by(), "artifact": r.artifact_path()}));
    }

    // Clauses nobody claims are the Plan Owner's blockers, in every mode.
    let mut engine_blockers = unclaimed_clause_blockers(packet, &assignment);
    for b in &engine_blockers {
        trail.push(
            "executive.clause.unclaimed",
            json!({"blocker_id": b.id, "clause_ref": b.clause_ref, "plan_owner": owner_pid}),
        );
    }

    // E2.5: blocker workup.
    let packet_of_blockers = workup::blocker_packet(
        &assignment,
        &packet.ratified_motion.clauses,
        workup::contributions(&responses)
            .flat_map(|c| &c.blockers)
            .chain(&engine_blockers),
        now,
    );
    let blocker_count: usize = workup::contributions(&responses)
        .map(|c| c.blockers.len())
        .sum::<usize>()
        + engine_blockers.len();
    trail.push(
        "executive.blocker.workup.started",
        json!({"blockers": blocker_count, "peer_review": opts.llm_blocker_workup}),
    );
    let mut blocker_reviews = Vec::new();
    let revisions = if opts.llm_blocker_workup {
        peer_review_round(
            packet,
            agents,
            &presidents,
            &assignment,
            &mut responses,
            &mut engine_blockers,
            &mut trail,
            &mut all_calls,
            &mut blocker_reviews,
        )
    } else {
        Vec::new()
    };
    trail.push(
        "executive.blocker.workup.completed",
        json!({"blockers": blocker_count, "revised": revisions.len()}),
    );

    // Executive Clarification Review.
    let mut rationale_overrides = BTreeMap::new();
    let mut clarification_files = Vec::new();
    if opts.clarification_review {
        let reviewed = clarification_round(
            packet,
            agents,
            &presidents,
            &assignment,
            &mut responses,
            &mut trail,
            &mut all_calls,
            &mut blocker_reviews,
            now,
        );
        for (id, r) in reviewed {
            rationale_overrides.insert(id, r.rationale);
            clarification_files.extend(r.files);
        }
    }
    let summary = peer_review_summary(SummaryInput {
        cycle_id: &cycle_id,
        motion_id,
        owner: &owner_pid,
        clauses: &packet.ratified_motion.clauses,
        responses: &responses,
        engine_blockers: &engine_blockers,
        revisions,
        blocker_reviews,
        rationale_overrides,
        created_at: now,
    });
    trail.push(
        "executive.peer_review.completed",
        json!({"duplicates": summary.duplicates_detected.len(), "conflicts": summary.conflicts_detected.len(), "coverage_gaps": summary.coverage_gaps.len()}),
    );

    // E3: integration.
    let integration = integrate(packet, &cycle_id, &responses, &engine_blockers, now);
    for b in &integration.blockers {
        let id = b.id_or_unnamed();
        match b.disposition {
            Some(Disposition::EscalateNow) => trail.push(
                "executive.blocker.escalated",
                json!({"blocker_id": id, "blocker_class": b.blocker_class, "queue_item_id": integration.conclave_queue_items.iter().find(|q| Some(&q.blocker_id) == b.id.as_ref()).map(|q| q.queue_item_id.clone())}),
            ),
            Some(Disposition::DeferDownstream) => trail.push(
                "executive.blocker.deferred_downstream",
                json!({"blocker_id": id, "blocker_class": b.blocker_class, "discovery_task_ids": b.verification_tasks.iter().map(|t| t.task_id.clone()).collect::<Vec<_>>()}),
            ),
            Some(Disposition::MitigateInExecutive) => trail.push(
                "executive.blocker.mitigated_in_executive",
                json!({"blocker_id": id, "blocker_class": b.blocker_class}),
            ),
            None => {}
        }
    }
    trail.push(
        "executive.epics.generated",
        json!({"epics": integration.epics.iter().map(|e| e.epic_id.clone()).collect::<Vec<_>>(), "work_packages": integration.work_packages.len()}),
    );
    // Every escalation the Clarification Review did not already write up gets
    // its queue item: Conclave ingestion reads these, not the whole motion.
    for b in integration.blockers.iter().filter(|b| {
        b.blocker_class == Some(BlockerClass::IntentAmbiguity)
            && b.disposition == Some(Disposition::EscalateNow)
    }) {
        let name = format!(
            "clarification_review/{}/intent_clarification_queue_item.json",
            b.id_or_unnamed()
        );
        if clarification_files.iter().any(|(n, _)| n == &name) {
            continue;
        }
        let raised_by = b.owner_portfolio_id.clone().unwrap_or_default();
        let item = clarification::intent_clarification_item(
            packet,
            &cycle_id,
            b,
            &[raised_by],
            false,
            now,
        );
        clarification_files.push((name, item));
    }

    let packet_value = serde_json::to_value(packet).unwrap_or(Value::Null);
    let packet_sha = sha256_hex(to_json_bytes(packet));
    let completed_at = clock.stamp();
    let plan = ExecutionPlanV2 {
        schema_version: v2(),
        plan_id: format!("plan_{}", cycle_id.trim_start_matches("exec_")),
        motion_id: motion_id.into(),
        motion_title: packet.ratified_motion.title.clone(),
        session_id: packet.session_id.clone(),
        cycle_id: cycle_id.clone(),
        plan_owner: assignment.plan_owner.clone(),
        affected_portfolios: assignment.affected_portfolios.clone(),
        portfolio_responses: responses
            .iter()
            .map(|r| ResponseRecord {
                portfolio_id: r.portfolio_id().into(),
                response_type: r.kind().into(),
                generated_by: r.generated_by().into(),
                artifact: r.artifact_path(),
            })
            .collect(),
        epics: integration.epics.clone(),
        work_packages: integration.work_packages.clone(),
        blockers: integration.blockers.clone(),
        discovery_task_stubs: integration.discovery_task_stubs.clone(),
        conclave_queue_items: integration
            .conclave_queue_items
            .iter()
            .map(|q| q.queue_item_id.clone())
            .collect(),
        hard_constraints: packet.ratified_motion.constraints.clone(),
        provenance: PlanProvenance {
            packet_id: packet.packet_id.clone(),
            packet_sha256: packet_sha,
            source_artifacts: packet.provenance.source_artifacts.clone(),
        },
        trace_metadata: trace_metadata(&responses, &all_calls, &started_at, &completed_at),
        created_at: now.into(),
    };
    let plan_value = serde_json::to_value(&plan).unwrap_or(Value::Null);
    let mut files: Vec<(String, Value)> = vec![
        ("ratified-intent-packet.json".into(), packet_value),
        (
            "executive_assignment_record.json".into(),
            to_value(&assignment),
        ),
    ];
    files.extend(responses.iter().map(|r| (r.artifact_path(), r.to_value())));
    files.push(("blocker_packet.json".into(), to_value(&packet_of_blockers)));
    files.push(("peer_review_summary.json".into(), to_value(&summary)));
    files.push(("execution_plan_v2.json".into(), plan_value.clone()));
    files.extend(integration.discovery_task_stubs.iter().map(|s| {
        (
            format!("discovery_task_stubs/{}.json", s.task_id),
            to_value(s),
        )
    }));
    files.extend(integration.conclave_queue_items.iter().map(|q| {
        (
            format!("conclave_queue_items/{}.json", q.queue_item_id),
            to_value(q),
        )
    }));
    files.extend(clarification_files);
    trail.push(
        "executive.plan.integrated",
        json!({"plan_id": plan.plan_id, "epics": plan.epics.len(), "work_packages": plan.work_packages.len(), "blockers": plan.blockers.len(), "discovery_task_stubs": plan.discovery_task_stubs.len(), "conclave_queue_items": plan.conclave_queue_items.len()}),
    );
    let known_portfolios: BTreeSet<String> = presidents.keys().cloned().collect();
    let gates = evaluate(&GateInput {
        cycle_id: &cycle_id,
        motion_id,
        affected: &assignment.affected_portfolios,
        responses: &responses,
        blockers: &plan.blockers,
        epics: &plan.epics,
        artifacts: &files,
        v1_findings: &v1_findings,
        work_packages: &plan.work_packages,
        known_portfolios: &known_portfolios,
        evaluated_at: &completed_at,
    });
    trail.push(
        "executive.gates.evaluated",
        json!({"completeness": gates.completeness.status, "visibility": gates.visibility.status, "legibility": gates.legibility.status, "all_passed": gates.all_passed}),
    );
    let handoff_written = gates.all_passed || opts.emit_admin_handoff;
    if handoff_written {
        let handoff = handoff(&plan, &plan_value, gates.all_passed, &completed_at);
        files.push(("execution_plan_handoff.json".into(), to_value(&handoff)));
        trail.push(
            "executive.handoff.emitted",
            json!({"handoff_id": handoff.handoff_id, "gates_passed": gates.all_passed}),
        );
    }
    files.push(("executive_gates.json".into(), to_value(&gates)));
    Ok(PlanOutput {
        motion_id: motion_id.into(),
        cycle_id,
        files,
        events: trail.events,
        gates,
        plan,
        handoff_written,
        calls: all_calls,
    })
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Every blocker of the cycle, contributions' first, then the engine's.
fn blockers_mut<'a>(
    responses: &'a mut [PortfolioResponse],
    engine_blockers: &'a mut [Blocker],
) -> Vec<&'a mut Blocker> {
    responses
        .iter_mut()
        .filter_map(|r| match r {
            PortfolioResponse::Contribution(c) => Some(c.blockers.iter_mut()),
            PortfolioResponse::Attestation(_) => None,
        })
        .flatten()
        .chain(engine_blockers.iter_mut())
        .collect()
}

/// E2.5 with `--llm-blocker-workup`: each blocker to its peer reviewer, one round.
#[allow(clippy::too_many_arguments)]
fn peer_review_round(
    packet: &RatifiedIntentPacket,
    agents: &Agents,
    presidents: &BTreeMap<String, &Archon>,
    assignment: &AssignmentRecord,
    responses: &mut [PortfolioResponse],
    engine_blockers: &mut [Blocker],
    trail: &mut EventTrail,
    all_calls: &mut Vec<CallRecord>,
    reviews: &mut Vec<BlockerReview>,
) -> Vec<PeerReviewFinding> {
    let owner = assignment.plan_owner.portfolio_id.as_str();
    let mut blockers = blockers_mut(responses, engine_blockers);
    let mut slots = Vec::new();
    let mut asks = Vec::new();
    for (i, b) in blockers.iter().enumerate() {
        let raised_by = b.owner_portfolio_id.as_deref().unwrap_or(owner);
        let Some(reviewer) = assignment.reviewer_for(raised_by) else {
            continue;
        };
        let Some(archon) = presidents.get(reviewer) else {
            continue;
        };
        let clause = b.clause_ref.as_deref().and_then(|r| packet.clause(r));
        reviews.push(BlockerReview {
            blocker_id: b.id_or_unnamed().into(),
            stage: "E2.5".into(),
            raised_by: raised_by.into(),
            reviewed_by: vec![reviewer.into()],
        });
        slots.push((i, reviewer.to_string()));
        asks.push(Ask {
            archon,
            question: workup::review_question(
                &packet.motion_id,
                &packet.ratified_motion.title,
                b,
                clause,
                reviewer,
            ),
        });
    }
    if asks.is_empty() {
        return Vec::new();
    }
    let results = agents.ask_all(&asks);
    let calls = agents.take_calls();
    trail.calls("E2.5", &calls);
    all_calls.extend(calls);
    let mut findings = Vec::new();
    for ((i, reviewer), result) in slots.into_iter().zip(results) {
        let Some(b) = blockers.get_mut(i) else {
            continue;
        };
        match result {
            Ok(answer) => findings.extend(workup::apply_review(b, &reviewer, &answer)),
            Err(f) => {
                trail.push(
                    "executive.blocker.peer_review_failed",
                    json!({"blocker_id": b.id, "reviewer": reviewer, "reason": f.to_string()}),
                );
                findings.push(PeerReviewFinding {
                    kind: "peer_review_failed".into(),
                    ids: vec![b.id_or_unnamed().into()],
                    detail: format!(
                        "{reviewer} gave no valid review; the disposition stands as raised: {f}"
                    ),
                });
            }
        }
    }
    findings
}

/// The Executive Clarification Review: every INTENT_AMBIGUITY blocker to every
/// affected President but the one who raised it (or the drawn peer reviewer),
/// one round; returns the reviewed blockers by id.
#[allow(clippy::too_many_arguments)]
fn clarification_round(
    packet: &RatifiedIntentPacket,
    agents: &Agents,
    presidents: &BTreeMap<String, &Archon>,
    assignment: &AssignmentRecord,
    responses: &mut [PortfolioResponse],
    trail: &mut EventTrail,
    all_calls: &mut Vec<CallRecord>,
    reviews: &mut Vec<BlockerReview>,
    now: &str,
) -> Vec<(String, clarification::Reviewed)> {
    let owner = assignment.plan_owner.portfolio_id.as_str();
    let mut candidates = Vec::new();
    let mut asks = Vec::new();
    let mut all_reviewers = BTreeSet::new();
    for (ri, r) in responses.iter().enumerate() {
        let PortfolioResponse::Contribution(c) = r else {
            continue;
        };
        for (bi, b) in c.blockers.iter().enumerate() {
            if b.blocker_class != Some(BlockerClass::IntentAmbiguity) || b.id.is_none() {
                continue;
            }
            let raised_by = b.owner_portfolio_id.as_deref().unwrap_or(owner);
            let reviewers: Vec<&Archon> = assignment
                .clarification_reviewers(raised_by)
                .iter()
                .filter_map(|p| presidents.get(p).copied())
                .collect();
            reviews.push(BlockerReview {
                blocker_id: b.id_or_unnamed().into(),
                stage: "clarification_review".into(),
                raised_by: raised_by.into(),
                reviewed_by: reviewers
                    .iter()
                    .filter_map(|r| r.portfolio_id.clone())
                    .collect(),
            });
            for reviewer in &reviewers {
                let pid = reviewer.portfolio_id.clone().unwrap_or_default();
                all_reviewers.insert(reviewer.name.clone());
                asks.push(Ask {
                    archon: reviewer,
                    question: clarification::review_question(packet, b, &pid),
                });
            }
            candidates.push((ri, bi, reviewers));
        }
    }
    trail.push(
        "executive.clarification_review.started",
        json!({"candidates": candidates.len(), "reviewers": all_reviewers}),
    );
    if candidates.is_empty() {
        return Vec::new();
    }
    let mut results = agents.ask_all(&asks).into_iter();
    let calls = agents.take_calls();
    trail.calls("clarification_review", &calls);
    all_calls.extend(calls);
    let cycle_id = assignment.cycle_id.as_str();
    let mut out = Vec::new();
    for (ri, bi, reviewers) in candidates {
        let votes: Vec<Vote> = reviewers
            .iter()
            .zip(results.by_ref())
            .map(|(r, answer)| Vote {
                portfolio_id: r.portfolio_id.clone().unwrap_or_default(),
                president_name: r.name.clone(),
                answer,
            })
            .collect();
        let Some(PortfolioResponse::Contribution(c)) = responses.get_mut(ri) else {
            continue;
        };
        let Some(b) = c.blockers.get_mut(bi) else {
            continue;
        };
        let reviewed = clarification::apply(packet, cycle_id, b, &votes, now);
        trail.push(
            "executive.clarification_review.decided",
            json!({"blocker_id": b.id, "decision": clarification::decision_file(reviewed.verdict).trim_end_matches(".json"), "reviewers": votes.iter().map(|v| v.portfolio_id.clone()).collect::<Vec<_>>()}),
        );
        out.push((b.id_or_unnamed().to_string(), reviewed));
    }
    out
}

fn trace_metadata(
    responses: &[PortfolioResponse],
    calls: &[CallRecord],
    started_at: &str,
    completed_at: &str,
) -> TraceMetadata {
    let generated_by: BTreeSet<&str> = responses.iter().map(|r| r.generated_by()).collect();
    let models: BTreeSet<String> = calls.iter().map(|c| c.model.clone()).collect();
    TraceMetadata {
        generated_by: generated_by.into_iter().collect::<Vec<_>>().join("+"),
        models: models.into_iter().collect(),
        started_at: started_at.into(),
        completed_at: completed_at.into(),
        duration_ms: calls.iter().map(|c| c.latency_ms).sum(),
        agent_calls: calls.len(),
        prompt_tokens: calls.iter().map(|c| c.prompt_tokens).sum(),
        completion_tokens: calls.iter().map(|c| c.completion_tokens).sum(),
    }
}

fn handoff(
    plan: &ExecutionPlanV2,
    plan_value: &Value,
    gates_passed: bool,
    created_at: &str,
) -> ExecutionPlanHandoff {
    let mut stop_conditions: Vec<String> = plan
        .blockers
        .iter()
        .filter(|b| b.disposition == Some(Disposition::EscalateNow))
        .map(|b| {
            format!(
                "Do not start work on {} until the Conclave answers {}",
                b.clause_ref
                    .as_deref()
                    .map_or("the escalated scope".to_string(), |c| format!("clause {c}")),
                b.id_or_unnamed()
            )
        })
        .collect();
    let mut escalation_conditions: Vec<String> = Vec::new();
    for s in &plan.discovery_task_stubs {
        stop_conditions.extend(
            s.stop_conditions
                .iter()
                .map(|c| format!("{}: {c}", s.task_id)),
        );
    }
    for b in plan
        .blockers
        .iter()
        .filter(|b| b.disposition != Some(Disposition::EscalateNow))
    {
        for c in b.escalation_conditions.iter().flatten() {
            let line = format!("{}: {c}", b.id_or_unnamed());
            if !escalation_conditions.contains(&line) {
                escalation_conditions.push(line);
            }
        }
    }
    ExecutionPlanHandoff {
        schema_version: v2(),
        handoff_id: format!("handoff_{}", plan.cycle_id.trim_start_matches("exec_")),
        motion_id: plan.motion_id.clone(),
        motion_title: plan.motion_title.clone(),
        session_id: plan.session_id.clone(),
        cycle_id: plan.cycle_id.clone(),
        plan_owner: plan.plan_owner.clone(),
        epics: plan.epics.clone(),
        work_packages: plan.work_packages.clone(),
        discovery_task_stubs: plan.discovery_task_stubs.clone(),
        hard_constraints_spotlight: plan.hard_constraints.clone(),
        stop_conditions,
        escalation_conditions,
        pending_conclave_items: plan.conclave_queue_items.clone(),
        gates_passed,
        source_plan: SourceArtifact {
            name: "execution_plan_v2.json".into(),
            path: "execution_plan_v2.json".into(),
            sha256: sha256_hex(to_json_bytes(plan_value)),
        },
        created_at: created_at.into(),
    }
}
