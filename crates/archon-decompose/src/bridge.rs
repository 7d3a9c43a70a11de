//! The bridge as one function: tactics → drafts → lint → routing → activation,
//! with the event trail and the summary. No file I/O here: checkpoints and
//! activations go through the injected ports.

use std::collections::BTreeMap;
use std::sync::Mutex;

use archon_core::agent_port::{Agents, CallRecord};
use archon_core::clock::Clock;
use archon_core::fan_out;
use archon_core::roster::Archon;
use archon_core::roster::Roster;
use archon_core::seed::{sha256_hex, Seed};
use serde_json::{json, Value};

use crate::activation::{ActivationReceipt, ActivationRequest, ActivationSink, Provenance};
use crate::checkpoint::{self, Cached, CheckpointStore};
use crate::context::{requirement_ids, DecompositionContext};
use crate::decompose::{Decomposed, Decomposer, DecompositionMode};
use crate::earls::{earls, resolve_facilitator};
use crate::inputs::{Rfp, RoutingTable, SelectionResult, Winner};
use crate::lint::{detect_overlap, has_weak_provenance, lint_task_draft};
use crate::model::{
    event, ActivationManifestEntry, ActivationStatus, BridgeEvent, BridgeSummary, Counters,
    LintRejection, RoutingPlanEntry, TacticStatus, TaskDraft,
};
use crate::routing::{capacity_unknown, route, Route};
use crate::tactics::Tactic;
use crate::{DecomposeError, Progress};

/// The loaded and validated inputs.
pub struct BridgeInputs {
    /// How the selection file is named in events.
    pub selection_file: String,
    pub selection: SelectionResult,
    pub winner: Winner,
    pub tactics: Vec<Tactic>,
    pub rfp: Rfp,
    pub clusters: archon_tasks::ClusterRegistry,
    pub routing_table: RoutingTable,
}

#[derive(Debug, Clone)]
pub struct BridgeOptions {
    pub mode: DecompositionMode,
    pub tactic_id: Option<String>,
    pub max_tasks_per_tactic: usize,
    pub ttl_hours: u32,
    pub route_top_k: usize,
    pub seed: Seed,
}

/// The injected world.
pub struct Services<'a> {
    pub agents: &'a Agents,
    pub roster: &'a Roster,
    pub clock: &'a Clock,
    pub checkpoints: &'a mut dyn CheckpointStore,
    /// `None` with `--no-activate` or `--dry-run`.
    pub activation: Option<&'a mut dyn ActivationSink>,
    pub progress: &'a mut dyn FnMut(Progress<'_>),
}

/// Everything the bridge produced, ready to be written.
#[derive(Debug, Clone)]
pub struct BridgeOutput {
    pub task_drafts: Vec<TaskDraft>,
    pub routing_plan: Vec<RoutingPlanEntry>,
    pub activation_manifest: Vec<ActivationManifestEntry>,
    pub summary: BridgeSummary,
    pub events: Vec<BridgeEvent>,
    /// Every model call of the decomposition (every tactic's, whatever became of it).
    pub calls: Vec<CallRecord>,
}

impl BridgeOutput {
    /// `complete` when every tactic completed and every task found a cluster
    /// (and, when activating, was activated); `blocked` otherwise.
    pub fn is_complete(&self) -> bool {
        self.summary.outcome == "complete"
    }
}

struct Trail<'a, 'p> {
    clock: &'a Clock,
    events: Vec<BridgeEvent>,
    progress: &'a mut (dyn FnMut(Progress<'_>) + 'p),
}

impl Trail<'_, '_> {
    fn emit(&mut self, event_type: &str, payload: Value) {
        let payload: BTreeMap<String, Value> = match payload {
            Value::Object(m) => m.into_iter().collect(),
            _ => BTreeMap::new(),
        };
        let e = BridgeEvent {
            event_type: event_type.to_string(),
            timestamp: self.clock.stamp(),
            payload,
        };
        (self.progress)(Progress::Event(&e));
        self.events.push(e);
    }

    fn note(&mut self, text: &str) {
        (self.progress)(Progress::Note(text));
    }
}

/// Runs the bridge.
pub fn run_bridge(
    inputs: &BridgeInputs,
    options: &BridgeOptions,
    services: Services<'_>,
) -> Result<BridgeOutput, DecomposeError> {
    let Services {
        agents,
        roster,
        clock,
        checkpoints,
        activation,
        progress,
    } = services;
    let tactics: Vec<&Tactic> = match &options.tactic_id {
        None => inputs.tactics.iter().collect(),
        Some(id) => {
            let t: Vec<&Tactic> = inputs
                .tactics
                .iter()
                .filter(|t| &t.tactic_id == id)
                .collect();
            if t.is_empty() {
                let known: Vec<&str> = inputs
                    .tactics
                    .iter()
                    .map(|t| t.tactic_id.as_str())
                    .collect();
                return Err(DecomposeError::Usage(format!(
                    "--tactic-id {id}: no such tactic in the proposal (tactics: {})",
                    known.join(", ")
                )));
            }
            t
        }
    };
    let earls = earls(roster);
    if earls.is_empty() {
        return Err(DecomposeError::Usage(
            "the roster has no Earls (branch administrative_strategic) to decompose tactics".into(),
        ));
    }
    let mut trail = Trail {
        clock,
        events: Vec::new(),
        progress,
    };
    let winner = &inputs.winner;
    trail.emit(
        event::STARTED,
        json!({
            "selection_file": inputs.selection_file,
            "proposal_id": winner.proposal_id,
            "duke_name": winner.duke_name,
            "mode": options.mode.as_str(),
        }),
    );
    trail.emit(
        event::LOADED_SELECTION,
        json!({ "outcome": inputs.selection.outcome, "winning_proposal_id": winner.proposal_id }),
    );
    trail.emit(
        event::LOADED_PROPOSAL,
        json!({ "tactic_count": inputs.tactics.len() }),
    );

    let mut counters = Counters {
        total_tactics: tactics.len(),
        ..Counters::default()
    };
    let mut task_drafts: Vec<TaskDraft> = Vec::new();
    let mut routing_plan: Vec<RoutingPlanEntry> = Vec::new();
    let mut routable: Vec<TaskDraft> = Vec::new();
    let contexts: Vec<DecompositionContext> = tactics
        .iter()
        .map(|tactic| {
            DecompositionContext::new(
                tactic,
                &inputs.rfp,
                &winner.proposal_id,
                options.max_tasks_per_tactic,
            )
        })
        .collect();
    let mut all_calls: Vec<CallRecord> = Vec::new();
    // Tactics are decomposed side by side; each is taken up here (lint, events,
    // console lines) as soon as it and every tactic before it are done, so `-v`
    // shows progress as it happens and the trail keeps tactic order.
    let mut take_up = |tactic: &Tactic,
                       decomposed: Result<Decomposed, DecomposeError>,
                       notes: Vec<String>|
     -> Result<(), DecomposeError> {
        trail.emit(
            event::DECOMPOSITION_STARTED,
            json!({ "tactic_id": tactic.tactic_id, "title": tactic.title }),
        );
        for note in &notes {
            trail.note(note);
        }
        let decomposed = decomposed?;
        let mut entry = RoutingPlanEntry {
            tactic_id: tactic.tactic_id.clone(),
            tactic_title: tactic.title.clone(),
            status: TacticStatus::Completed,
            task_refs: Vec::new(),
            failure_reason: String::new(),
            events: Vec::new(),
            lint_rejections: Vec::new(),
            earl_votes: decomposed.votes,
        };
        let calls = serde_json::to_value(&decomposed.calls).unwrap_or(Value::Null);
        all_calls.extend(decomposed.calls.iter().cloned());
        let drafts = match decomposed.drafts {
            Err(reason) => {
                entry.status = TacticStatus::Failed;
                entry.failure_reason = reason.clone();
                entry.events.push(event::DECOMPOSITION_FAILED.into());
                trail.emit(
                    event::DECOMPOSITION_FAILED,
                    json!({ "tactic_id": tactic.tactic_id, "error": reason, "agent_calls": calls }),
                );
                routing_plan.push(entry);
                return Ok(());
            }
            Ok(d) => d,
        };
        let produced = drafts.len();
        let mut valid = Vec::new();
        for d in drafts {
            let violations = lint_task_draft(&d);
            if violations.is_empty() {
                valid.push(d);
            } else {
                entry.lint_rejections.push(LintRejection {
                    task_ref: d.task_ref,
                    violations,
                });
            }
        }
        entry.task_refs = valid.iter().map(|d| d.task_ref.clone()).collect();
        for d in valid.iter().filter(|d| has_weak_provenance(d)) {
            counters.weak_provenance += 1;
            push_once(&mut entry.events, event::WEAK_MAPPING);
            trail.emit(
                event::WEAK_MAPPING,
                json!({
                    "tactic_id": tactic.tactic_id,
                    "task_ref": d.task_ref,
                    "deliverable_id": d.deliverable_id,
                }),
            );
        }
        if valid.is_empty() {
            entry.status = TacticStatus::Ambiguous;
            entry.failure_reason = if produced == 0 {
                decomposed.empty_reason
            } else {
                format!("all {produced} task drafts failed lint")
            };
            counters.ambiguous_tactics += 1;
            entry.events.push(event::AMBIGUOUS_TACTIC.into());
            trail.emit(
                event::AMBIGUOUS_TACTIC,
                json!({ "tactic_id": tactic.tactic_id, "reason": entry.failure_reason }),
            );
        } else {
            if valid.len() > options.max_tasks_per_tactic {
                entry.status = TacticStatus::ReviewRequired;
                entry.failure_reason = format!(
                    "{} task drafts exceed --max-tasks-per-tactic {}",
                    valid.len(),
                    options.max_tasks_per_tactic
                );
                counters.explosion_review += 1;
                entry.events.push(event::EXCESSIVE_SCOPE.into());
                trail.emit(
                    event::EXCESSIVE_SCOPE,
                    json!({
                        "tactic_id": tactic.tactic_id,
                        "task_count": valid.len(),
                        "max_tasks_per_tactic": options.max_tasks_per_tactic,
                    }),
                );
            }
            let overlaps = detect_overlap(&valid);
            if !overlaps.is_empty() {
                if entry.status == TacticStatus::Completed {
                    entry.status = TacticStatus::OverlapReview;
                    entry.failure_reason = format!(
                        "overlapping task drafts: {}",
                        overlaps
                            .iter()
                            .map(|(a, b)| format!("{a} ~ {b}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
                counters.overlap_review += 1;
                entry.events.push(event::OVERLAP_DETECTED.into());
                trail.emit(
                    event::OVERLAP_DETECTED,
                    json!({ "tactic_id": tactic.tactic_id, "pairs": overlaps }),
                );
            }
            if entry.status == TacticStatus::Completed {
                trail.emit(
                    event::DECOMPOSITION_COMPLETED,
                    json!({
                        "tactic_id": tactic.tactic_id,
                        "task_count": valid.len(),
                        "from_checkpoint": decomposed.from_checkpoint,
                        "agent_calls": calls,
                    }),
                );
                routable.extend(valid.iter().cloned());
            }
        }
        counters.total_task_drafts += valid.len();
        task_drafts.extend(valid);
        routing_plan.push(entry);
        Ok(())
    };
    let checkpoints_for_workers = &mut *checkpoints;
    std::thread::scope(|scope| -> Result<(), DecomposeError> {
        let (done, finished) = std::sync::mpsc::channel();
        scope.spawn(|| {
            decompose_side_by_side(
                &contexts,
                inputs,
                options,
                agents,
                &earls,
                checkpoints_for_workers,
                done,
            )
        });
        let mut waiting = BTreeMap::new();
        let mut next = 0;
        for (index, result) in finished {
            waiting.insert(index, result);
            while let Some((decomposed, notes)) = waiting.remove(&next) {
                if let Some(tactic) = tactics.get(next) {
                    take_up(tactic, decomposed, notes)?;
                }
                next += 1;
            }
        }
        Ok(())
    })?;
    // Drafts the server failed to give are not routed around, nor activated.
    agents.server_failed()?;
    trail.note(&format!("Produced {} task drafts", task_drafts.len()));
    trail.note(&format!(
        "  [cluster-registry] loaded {} clusters",
        inputs.clusters.len()
    ));

    let mut manifest = route_all(&routable, inputs, options, &mut counters, &mut trail);
    if let Some(sink) = activation {
        let earl_id = inputs.routing_table.default_earl_id.clone();
        activate_all(
            &mut manifest,
            &routable,
            inputs,
            options,
            &earl_id,
            sink,
            checkpoints,
            &mut counters,
            &mut trail,
        )?;
    }

    let all_tactics_completed = routing_plan
        .iter()
        .all(|e| e.status == TacticStatus::Completed);
    let all_routed = manifest.iter().all(|m| {
        matches!(
            m.status,
            ActivationStatus::PendingActivation
                | ActivationStatus::Routed
                | ActivationStatus::RoutedWithCapacityDebt
        )
    });
    let outcome = if all_tactics_completed && all_routed {
        "complete"
    } else {
        "blocked"
    };
    trail.emit(
        event::COMPLETE,
        json!({
            "total_drafts": task_drafts.len(),
            "outcome": outcome,
            "activations_created": counters.activations_created,
        }),
    );
    let summary = BridgeSummary {
        schema_version: archon_core::SCHEMA_VERSION.to_string(),
        artifact_type: "earl_decomposition_summary".into(),
        rfp_id: inputs.rfp.implementation_dossier_id.clone(),
        mandate_id: inputs.rfp.mandate_id.clone(),
        proposal_id: winner.proposal_id.clone(),
        winning_duke_name: winner.duke_name.clone(),
        created_at: clock.stamp(),
        mode: options.mode.as_str().into(),
        outcome: outcome.into(),
        counters,
    };
    Ok(BridgeOutput {
        task_drafts,
        routing_plan,
        activation_manifest: manifest,
        summary,
        events: trail.events,
        calls: all_calls,
    })
}

/// Decomposes every tactic side by side: tactics are independent, and each
/// asks its Earls in rounds of its own, so decomposing them one after another
/// would put every tactic's rounds on the critical path. Each gets its own call
/// records; checkpoints are shared under a lock; each tactic's result and
/// console notes are sent to `done` (with its index) the moment it finishes.
fn decompose_side_by_side(
    contexts: &[DecompositionContext],
    inputs: &BridgeInputs,
    options: &BridgeOptions,
    agents: &Agents,
    earls: &[&Archon],
    checkpoints: &mut dyn CheckpointStore,
    done: std::sync::mpsc::Sender<(usize, Decomposition)>,
) {
    let tactic_ids: Vec<String> = inputs.tactics.iter().map(|t| t.tactic_id.clone()).collect();
    let tactic_ids = tactic_ids.as_slice();
    let shared = Mutex::new(checkpoints);
    let done = Mutex::new(done);
    let indexed: Vec<(usize, &DecompositionContext)> = contexts.iter().enumerate().collect();
    fan_out::in_order(&indexed, |&(index, ctx)| {
        let mut notes = Vec::new();
        let decomposed = resolve_facilitator(&inputs.routing_table, earls, ctx)
            .ok_or_else(|| DecomposeError::Usage("no Earl can facilitate".into()))
            .and_then(|facilitator| {
                let agents = agents.fork();
                let mut decomposer = Decomposer {
                    mode: options.mode,
                    seed: options.seed,
                    agents: &agents,
                    earls,
                    checkpoints: &mut Locked(&shared),
                    progress: &mut |p| {
                        if let Progress::Note(n) = p {
                            notes.push(n.to_string());
                        }
                    },
                    tactic_ids,
                };
                decomposer.decompose(ctx, &facilitator)
            });
        // The receiver is gone only when the bridge stopped on an error.
        let _ = done
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send((index, (decomposed, notes)));
    });
}

/// One tactic's decomposition and its console notes.
type Decomposition = (Result<Decomposed, DecomposeError>, Vec<String>);

/// A checkpoint store shared by decompositions running side by side.
struct Locked<'s, 'a>(&'s Mutex<&'a mut dyn CheckpointStore>);

impl CheckpointStore for Locked<'_, '_> {
    fn load(&self, name: &str) -> Result<Option<String>, String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).load(name)
    }
    fn save(&mut self, name: &str, bytes: &[u8]) -> Result<bool, String> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .save(name, bytes)
    }
}

fn push_once(events: &mut Vec<String>, e: &str) {
    if !events.iter().any(|x| x == e) {
        events.push(e.to_string());
    }
}

fn route_all(
    tasks: &[TaskDraft],
    inputs: &BridgeInputs,
    options: &BridgeOptions,
    counters: &mut Counters,
    trail: &mut Trail<'_, '_>,
) -> Vec<ActivationManifestEntry> {
    let mut manifest = Vec::new();
    for d in tasks {
        let row = |cluster_id: &str, status, reason: &str| ActivationManifestEntry {
            task_ref: d.task_ref.clone(),
            parent_tactic_id: d.parent_tactic_id.clone(),
            deliverable_id: d.deliverable_id.clone(),
            rfp_requirement_ids: requirement_ids(&d.requirements),
            cluster_id: cluster_id.to_string(),
            activation_id: String::new(),
            status,
            routing_block_reason: reason.to_string(),
            activation_error: String::new(),
        };
        match route(d, &inputs.clusters, options.route_top_k) {
            Route::To(clusters) => {
                let ids: Vec<&str> = clusters.iter().map(|c| c.cluster_id.as_str()).collect();
                trail.emit(
                    event::ROUTING_COMPLETED,
                    json!({ "task_ref": d.task_ref, "cluster_ids": ids }),
                );
                for c in clusters {
                    if capacity_unknown(c) {
                        trail.emit(
                            event::CAPACITY_UNKNOWN,
                            json!({ "task_ref": d.task_ref, "cluster_id": c.cluster_id }),
                        );
                        manifest.push(row(
                            &c.cluster_id,
                            ActivationStatus::RoutedWithCapacityDebt,
                            "Capacity unknown (availability limited)",
                        ));
                    } else {
                        manifest.push(row(&c.cluster_id, ActivationStatus::PendingActivation, ""));
                    }
                }
            }
            Route::BlockedByCapability => {
                counters.no_eligible_cluster += 1;
                trail.emit(
                    event::NO_ELIGIBLE_CLUSTER,
                    json!({
                        "task_ref": d.task_ref,
                        "required_tags": d.capability_tags,
                        "sensitivity": d.sensitivity,
                    }),
                );
                manifest.push(row(
                    "",
                    ActivationStatus::BlockedByCapability,
                    "No eligible cluster",
                ));
            }
            Route::BlockedByCapacity => {
                counters.capacity_blocked += 1;
                trail.emit(
                    event::NO_ELIGIBLE_CLUSTER,
                    json!({
                        "task_ref": d.task_ref,
                        "required_tags": d.capability_tags,
                        "reason": "every capable cluster is unavailable",
                    }),
                );
                manifest.push(row(
                    "",
                    ActivationStatus::BlockedByCapacity,
                    "No available cluster",
                ));
            }
        }
    }
    manifest
}

#[allow(clippy::too_many_arguments)]
fn activate_all(
    manifest: &mut [ActivationManifestEntry],
    tasks: &[TaskDraft],
    inputs: &BridgeInputs,
    options: &BridgeOptions,
    earl_id: &str,
    sink: &mut dyn ActivationSink,
    checkpoints: &mut dyn CheckpointStore,
    counters: &mut Counters,
    trail: &mut Trail<'_, '_>,
) -> Result<(), DecomposeError> {
    // Activations a previous (interrupted) run already created, by request hash.
    let mut done: BTreeMap<String, ActivationReceipt> =
        match checkpoint::read(&*checkpoints, checkpoint::ACTIVATIONS, "activations") {
            Cached::Hit(m) => m,
            Cached::Miss | Cached::Ignored(_) => BTreeMap::new(),
        };
    let routes_of = |task_ref: &str| manifest.iter().filter(|r| r.task_ref == task_ref).count();
    let multi: Vec<String> = tasks
        .iter()
        .filter(|t| routes_of(&t.task_ref) > 1)
        .map(|t| t.task_ref.clone())
        .collect();
    // Every activation still to make goes to the sink in one batch.
    let mut pending: Vec<(usize, String, ActivationRequest)> = Vec::new();
    for (index, row) in manifest.iter().enumerate().filter(|(_, r)| {
        matches!(
            r.status,
            ActivationStatus::PendingActivation | ActivationStatus::RoutedWithCapacityDebt
        )
    }) {
        let Some(d) = tasks.iter().find(|t| t.task_ref == row.task_ref) else {
            continue;
        };
        // The ledger knows a task once; a task routed to K clusters is K activations.
        let ledger_ref = if multi.contains(&d.task_ref) {
            format!("{}@{}", d.task_ref, row.cluster_id)
        } else {
            d.task_ref.clone()
        };
        let request = ActivationRequest {
            task_ref: ledger_ref,
            earl_id: earl_id.to_string(),
            cluster_id: row.cluster_id.clone(),
            description: d.description.clone(),
            requirements: d.requirements.clone(),
            expected_outcomes: d.expected_outcomes.clone(),
            sensitivity: d.sensitivity,
            ttl_hours: options.ttl_hours,
            provenance: Provenance {
                rfp_id: d.rfp_id.clone(),
                mandate_id: d.mandate_id.clone(),
                proposal_id: d.proposal_id.clone(),
                selection_id: inputs.selection.selection_id.clone().unwrap_or_default(),
                parent_tactic_id: d.parent_tactic_id.clone(),
                deliverable_id: d.deliverable_id.clone(),
                rfp_requirement_ids: row.rfp_requirement_ids.clone(),
                capability_tags: d.capability_tags.clone(),
            },
        };
        let key = sha256_hex(serde_json::to_vec(&request).unwrap_or_default());
        pending.push((index, key, request));
    }
    let requests = |created_before: bool| -> Vec<ActivationRequest> {
        pending
            .iter()
            .filter(|(_, key, _)| done.contains_key(key) == created_before)
            .map(|(_, _, r)| r.clone())
            .collect()
    };
    let (recalled, to_create) = (requests(true), requests(false));
    if !recalled.is_empty() {
        sink.recall(&recalled).map_err(DecomposeError::Ledger)?;
    }
    let mut created = if to_create.is_empty() {
        Vec::new()
    } else {
        sink.create_activations(&to_create)
    }
    .into_iter();
    let mut new_receipts = false;
    for (index, key, _) in pending {
        let Some(row) = manifest.get_mut(index) else {
            continue;
        };
        counters.activations_attempted += 1;
        let result = match done.get(&key) {
            Some(receipt) => {
                trail.note(&format!(
                    "    [checkpoint] activation of {} on {} already created ({})",
                    row.task_ref, row.cluster_id, receipt.activation_id
                ));
                Ok(receipt.clone())
            }
            None => created
                .next()
                .unwrap_or_else(|| Err("the activation sink returned no result".into())),
        };
        match result {
            Ok(receipt) => {
                counters.activations_created += 1;
                row.activation_id = receipt.activation_id.clone();
                if row.status == ActivationStatus::PendingActivation {
                    row.status = ActivationStatus::Routed;
                }
                trail.emit(
                    event::ACTIVATION_CREATED,
                    json!({
                        "task_ref": row.task_ref,
                        "cluster_id": row.cluster_id,
                        "activation_id": receipt.activation_id,
                        "state": receipt.state,
                    }),
                );
                new_receipts |= done.insert(key, receipt).is_none();
            }
            Err(message) => {
                counters.activations_failed += 1;
                row.status = ActivationStatus::ActivationFailed;
                row.activation_error = message.clone();
                trail.emit(
                    event::ACTIVATION_FAILED,
                    json!({ "task_ref": row.task_ref, "cluster_id": row.cluster_id, "error": message }),
                );
            }
        }
    }
    // One checkpoint for the batch; the sink is idempotent for a crash before it.
    if new_receipts {
        let bytes = checkpoint::encode("*", "activations", &done);
        checkpoints
            .save(checkpoint::ACTIVATIONS, &bytes)
            .map_err(|message| DecomposeError::Checkpoint {
                name: checkpoint::ACTIVATIONS.into(),
                message,
            })?;
    }
    Ok(())
}
