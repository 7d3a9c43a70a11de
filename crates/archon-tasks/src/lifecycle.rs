//! The consent-based lifecycle: what each operation does to a task, as the
//! list of facts to record. Pure: the ledger supplies the task, the time, the
//! clusters and the filter, and persists what this returns.
//!
//! State paths (every step is checked by [`crate::state::check_transition`]):
//! - activation: authorized → activated → coercion filter → routed
//!   (filter rejects: stays activated, hold `pending_rewrite`; a new activation
//!   request for the same task_ref nullifies it and starts attempt n+1;
//!   filter blocks: stays activated, hold `coercion_blocked`, only halt ends it;
//!   no eligible cluster: stays activated, hold `blocked_by_capability`).
//! - consent: routed → accepted | declined. A decline (also accepted → declined,
//!   consent withdrawn before work starts) is penalty-free and needs no reason;
//!   the declining cluster is excluded for good and a new activation (attempt
//!   n+1: authorized → activated → routed, same filtered text) goes to the next
//!   eligible cluster by `cluster_id`. None left: the task stays declined with
//!   hold `blocked_by_capability` naming why; `reroute` retries later.
//! - time: a routed task past its consent deadline (routed_at + TTL, default
//!   72 h) expires like a penalty-free decline (cause `ttl_expired`) and is
//!   rerouted; an in-progress task without activity for 48 h is flagged.
//! - halt: pre-consent (declined and waiting for a cluster included) →
//!   nullified; accepted/in_progress → quarantined; reported/aggregated are
//!   refused (they await settlement). A halted task is never rerouted.
//! - who: accept, decline, start and report are the cluster's acts, so only
//!   the steward of the cluster the task is routed to now (as its definition
//!   names it) may make them; consent given for an earlier routing is refused
//!   with the task's current cluster and steward named.
//! - results: in_progress → reported with the first result; further results
//!   while reported are added. Settlement accept: reported → completed (one
//!   pending result) or reported → aggregated → completed (several merged).
//!   Settlement reject (with a reason code): reported → completed with verdict
//!   `rejected`; the results are marked rejected. A rejected task is closed,
//!   never reopened: rework is a new activation under a new task_ref.

use archon_artifacts::TaskResult;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cluster::{ClusterRegistry, Sensitivity, CAPABILITY_TAGS};
use crate::coercion::{CoercionFilter, FilterOutcome, TaskContent};
use crate::event::{Cause, EventBody, Flag, Hold};
use crate::projection::{parse_time, TaskRecord};
use crate::result::{RejectionCode, Settlement};
use crate::state::{check_transition, Phase, TaskState, TransitionRefused};

/// Consent window of a routed task unless the request says otherwise.
pub const DEFAULT_TTL_HOURS: u32 = 72;
/// How long an in-progress task may go without activity before it is flagged.
pub const INACTIVITY_TIMEOUT_HOURS: u32 = 48;
/// The longest consent window a request may ask for (one year).
pub const MAX_TTL_HOURS: u32 = 8760;

/// What `create_activation` receives (the bridge's `TaskActivationService`
/// call): a cross-stage contract, the provenance as the JSON the ledger records.
pub use archon_artifacts::ActivationRequest;

/// A lifecycle move requested by a steward, an Earl or the clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "transition", rename_all = "snake_case")]
pub enum Transition {
    Accept,
    Decline {
        reason: Option<String>,
    },
    Start,
    Report {
        result: Box<TaskResult>,
    },
    Settle {
        settlement: Settlement,
    },
    Halt {
        reason: String,
    },
    Reroute,
    Expire,
    /// An execution of the task takes the lease; `replaces` names a holder the
    /// caller found dead (its process is gone), whose lease is taken over.
    LeaseExecution {
        holder: String,
        replaces: Option<String>,
    },
    /// The holder gives the lease back at the end of its execution.
    ReleaseExecution {
        holder: String,
    },
    /// An execution ended blocked or escalated; the state is unchanged (the
    /// lifecycle has no blocked state: the task stays for the caller's retry).
    RecordExecution {
        stop: ExecutionStop,
    },
}

/// A terminal execution outcome short of a reported result.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExecutionStop {
    /// `blocked` or `escalated`.
    pub outcome: String,
    /// The blockers' owners.
    pub owners: Vec<String>,
    /// One line per blocker.
    pub blockers: Vec<String>,
}

impl Transition {
    pub fn name(&self) -> &'static str {
        match self {
            Transition::Accept => "accept",
            Transition::Decline { .. } => "decline",
            Transition::Start => "start",
            Transition::Report { .. } => "report",
            Transition::Settle { .. } => "settle",
            Transition::Halt { .. } => "halt",
            Transition::Reroute => "reroute",
            Transition::Expire => "expire",
            Transition::LeaseExecution { .. } => "lease_execution",
            Transition::ReleaseExecution { .. } => "release_execution",
            Transition::RecordExecution { .. } => "record_execution",
        }
    }
}

/// Why an operation was not carried out. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(transparent)]
    Transition(#[from] TransitionRefused),
    #[error("unknown task {0}")]
    UnknownTask(String),
    #[error("invalid activation request: {0}")]
    InvalidRequest(String),
    #[error("task {task_ref}: {message}")]
    Refused { task_ref: String, message: String },
}

fn refused(task_ref: &str, message: impl Into<String>) -> Refusal {
    Refusal::Refused {
        task_ref: task_ref.to_string(),
        message: message.into(),
    }
}

/// What an operation needs besides the task.
pub struct Env<'a> {
    pub now: DateTime<Utc>,
    /// Who asks (`steward:<id>` or `<id>` for a steward).
    pub actor: &'a str,
    pub clusters: &'a ClusterRegistry,
    pub filter: &'a CoercionFilter,
}

/// The facts of a new activation (or of a rewrite superseding one pending).
pub fn plan_activation(
    req: &ActivationRequest,
    current: Option<&TaskRecord>,
    env: &Env<'_>,
) -> Result<Vec<EventBody>, Refusal> {
    let required_tags = validate_request(req, env.clusters)?;
    let mut facts = Vec::new();
    let attempt = match current {
        None => 1,
        Some(rec) if matches!(rec.hold, Some(Hold::PendingRewrite { .. })) => {
            facts.push(change(rec, TaskState::Nullified, Cause::SupersededByRewrite, None, None)?);
            rec.attempt + 1
        }
        Some(rec) => {
            return Err(refused(
                &req.task_ref,
                format!(
                    "already activated (activation {}, state {}); only a task pending rewrite takes a new request",
                    rec.activation_id, rec.state
                ),
            ))
        }
    };
    let content = TaskContent {
        description: req.description.clone(),
        requirements: req.requirements.clone(),
        expected_outcomes: req.expected_outcomes.clone(),
    };
    let activation_id = activation_id(&req.task_ref, attempt, &req.earl_id, &content);
    facts.push(EventBody::ActivationOpened {
        activation_id: activation_id.clone(),
        attempt,
        earl_id: req.earl_id.clone(),
        requested_cluster_id: req.cluster_id.clone(),
        content: content.clone(),
        required_tags: required_tags.clone(),
        sensitivity: req.sensitivity,
        ttl_hours: req.ttl_hours,
        provenance: req.provenance.clone(),
    });
    facts.push(EventBody::StateChanged {
        activation_id: activation_id.clone(),
        from: TaskState::Authorized,
        to: TaskState::Activated,
        cause: Cause::Activation,
        cluster_id: None,
        reason: None,
    });
    let outcome = env.filter.filter(&content);
    let hold = match &outcome {
        FilterOutcome::Accepted { .. } => None,
        FilterOutcome::Rejected { .. } => Some(Hold::PendingRewrite {
            reason: outcome.summary(),
        }),
        FilterOutcome::Blocked { .. } => Some(Hold::CoercionBlocked {
            violation: outcome.summary(),
        }),
    };
    facts.push(EventBody::FilterApplied { outcome });
    match hold {
        Some(hold) => facts.push(EventBody::Held { hold }),
        None => {
            let excluded: Vec<String> = current
                .map(|r| {
                    r.excluded_clusters
                        .iter()
                        .map(|e| e.cluster_id.clone())
                        .collect()
                })
                .unwrap_or_default();
            facts.push(route(
                &activation_id,
                &required_tags,
                req.sensitivity,
                &excluded,
                Some(&req.cluster_id),
                env.clusters,
            ));
        }
    }
    Ok(facts)
}

/// The facts of one transition of an existing task.
pub fn plan_transition(
    task_ref: &str,
    transition: &Transition,
    current: Option<&TaskRecord>,
    env: &Env<'_>,
) -> Result<Vec<EventBody>, Refusal> {
    let rec = current.ok_or_else(|| Refusal::UnknownTask(task_ref.to_string()))?;
    if matches!(
        transition,
        Transition::Accept
            | Transition::Decline { .. }
            | Transition::Start
            | Transition::Report { .. }
    ) {
        check_steward(rec, transition.name(), env)?;
    }
    match transition {
        Transition::Accept => {
            if rec.state == TaskState::Routed {
                if let Some(deadline) = past_deadline(rec, env.now)? {
                    return Err(refused(
                        task_ref,
                        format!("the consent window closed at {deadline}; `expire` reroutes it"),
                    ));
                }
            }
            Ok(vec![change(
                rec,
                TaskState::Accepted,
                Cause::StewardAccepted,
                None,
                None,
            )?])
        }
        Transition::Decline { reason } => {
            let mut facts = vec![change(
                rec,
                TaskState::Declined,
                Cause::StewardDeclined,
                None,
                reason.clone().filter(|r| !r.trim().is_empty()),
            )?];
            facts.extend(reroute_after(rec, env));
            Ok(facts)
        }
        Transition::Start => Ok(vec![change(
            rec,
            TaskState::InProgress,
            Cause::Started,
            None,
            None,
        )?]),
        Transition::Report { result } => plan_report(rec, result),
        Transition::Settle { settlement } => plan_settle(rec, settlement),
        Transition::Halt { reason } => {
            if reason.trim().is_empty() {
                return Err(refused(task_ref, "a halt needs a reason"));
            }
            let to = match rec.state.phase() {
                Phase::PreConsent => TaskState::Nullified,
                Phase::PostConsent | Phase::Terminal => TaskState::Quarantined,
            };
            Ok(vec![change(
                rec,
                to,
                Cause::Halted,
                None,
                Some(reason.clone()),
            )?])
        }
        Transition::Reroute => plan_reroute(rec, env),
        Transition::Expire => plan_expire(rec, env),
        Transition::LeaseExecution { holder, replaces } => {
            if !rec.state.is_executable() {
                return Err(refused(
                    task_ref,
                    format!("no execution of a task that is {}", rec.state),
                ));
            }
            match &rec.execution_lease {
                Some(current) if current != holder && Some(current) != replaces.as_ref() => {
                    Err(refused(
                        task_ref,
                        format!("an execution is already running: lease held by {current}"),
                    ))
                }
                _ => Ok(vec![EventBody::ExecutionLeased {
                    holder: holder.clone(),
                    replaced: rec.execution_lease.clone().filter(|c| c != holder),
                }]),
            }
        }
        Transition::ReleaseExecution { holder } => match &rec.execution_lease {
            Some(current) if current == holder => Ok(vec![EventBody::ExecutionReleased {
                holder: holder.clone(),
            }]),
            other => Err(refused(
                task_ref,
                format!(
                    "{holder} does not hold the execution lease (held by {})",
                    other.as_deref().unwrap_or("nobody")
                ),
            )),
        },
        Transition::RecordExecution { stop } => {
            if !rec.state.is_executable() {
                return Err(refused(
                    task_ref,
                    format!("no execution outcome for a task that is {}", rec.state),
                ));
            }
            if !matches!(stop.outcome.as_str(), "blocked" | "escalated") {
                return Err(refused(
                    task_ref,
                    format!(
                        "execution outcome {:?} is not blocked or escalated",
                        stop.outcome
                    ),
                ));
            }
            Ok(vec![EventBody::ExecutionStopped { stop: stop.clone() }])
        }
    }
}

/// Refuses a cluster's act (accept, decline, start, report) by anyone but the
/// steward of the cluster the task is routed to now. A task routed nowhere is
/// left to the state check, which names what its state allows.
fn check_steward(rec: &TaskRecord, act: &str, env: &Env<'_>) -> Result<(), Refusal> {
    let Some(cluster_id) = rec.cluster_id.as_deref() else {
        return Ok(());
    };
    let actor = archon_core::ids::quoted(env.actor);
    match env.clusters.get(cluster_id) {
        Some(c) if acts_as_steward(env.actor, &c.steward.steward_id) => Ok(()),
        Some(c) => Err(refused(
            &rec.task_ref,
            format!(
                "{act} refused: {actor} is not the steward of cluster {cluster_id}, which the task is routed to now (attempt {}, steward {}); act as that steward with --actor or ARCHON_ACTOR",
                rec.attempt, c.steward.steward_id
            ),
        )),
        None => Err(refused(
            &rec.task_ref,
            format!(
                "{act} refused: the task is routed to cluster {cluster_id}, which is not among the cluster definitions given, so its steward is unknown (pass its --cluster-dir)"
            ),
        )),
    }
}

/// `actor` names `steward_id`, bare or as `steward:<id>`.
pub fn acts_as_steward(actor: &str, steward_id: &str) -> bool {
    actor.strip_prefix("steward:").unwrap_or(actor) == steward_id
}

/// Whether `expire` has something to do for this task now (used by sweeps).
pub fn is_due(rec: &TaskRecord, now: DateTime<Utc>) -> bool {
    match rec.state {
        TaskState::Routed => matches!(past_deadline(rec, now), Ok(Some(_))),
        TaskState::InProgress => inactive_since(rec, now).is_some(),
        _ => false,
    }
}

fn plan_report(rec: &TaskRecord, result: &TaskResult) -> Result<Vec<EventBody>, Refusal> {
    let task_ref = rec.task_ref.as_str();
    let mut facts = Vec::new();
    match rec.state {
        TaskState::InProgress => facts.push(change(
            rec,
            TaskState::Reported,
            Cause::ResultReported,
            None,
            None,
        )?),
        TaskState::Reported => {}
        TaskState::Authorized | TaskState::Activated | TaskState::Routed => {
            return Err(refused(
                task_ref,
                format!(
                    "no result can be reported for a task never accepted (state {})",
                    rec.state
                ),
            ))
        }
        other => check_transition(task_ref, other, TaskState::Reported)?,
    }
    if rec.cluster_id.as_deref() != Some(result.cluster_id.as_str()) {
        return Err(refused(
            task_ref,
            format!(
                "result {} comes from cluster {}, but the task is routed to {}",
                result.result_id,
                result.cluster_id,
                rec.cluster_id.as_deref().unwrap_or("no cluster")
            ),
        ));
    }
    if rec.results.iter().any(|r| r.result_id == result.result_id) {
        return Err(refused(
            task_ref,
            format!("result {} was already reported", result.result_id),
        ));
    }
    facts.push(EventBody::ResultReported {
        result: Box::new(result.clone()),
    });
    Ok(facts)
}

fn plan_settle(rec: &TaskRecord, settlement: &Settlement) -> Result<Vec<EventBody>, Refusal> {
    let task_ref = rec.task_ref.as_str();
    if rec.state != TaskState::Reported {
        // Names the state and what it allows.
        check_transition(task_ref, rec.state, TaskState::Completed)?;
    }
    let pending: Vec<String> = rec.pending_results().map(|r| r.result_id.clone()).collect();
    if pending.is_empty() {
        return Err(refused(task_ref, "no pending result to settle"));
    }
    if let Settlement::Reject { code, reason } = settlement {
        if *code == RejectionCode::Other && reason.trim().is_empty() {
            return Err(refused(task_ref, "rejection code `other` needs a reason"));
        }
    }
    let mut facts = vec![EventBody::Settled {
        settlement: settlement.clone(),
        result_ids: pending.clone(),
    }];
    let mut at = rec.clone();
    if *settlement == Settlement::Accept && pending.len() > 1 {
        let merged = change(
            &at,
            TaskState::Aggregated,
            Cause::ResultsMerged,
            None,
            Some(format!("{} results merged", pending.len())),
        )?;
        at.state = TaskState::Aggregated;
        facts.push(merged);
    }
    let reason = match settlement {
        Settlement::Accept => None,
        Settlement::Reject { code, reason } => {
            Some(format!("rejected: {}: {reason}", code.as_str()))
        }
    };
    facts.push(change(
        &at,
        TaskState::Completed,
        Cause::Settled,
        None,
        reason,
    )?);
    Ok(facts)
}

fn plan_reroute(rec: &TaskRecord, env: &Env<'_>) -> Result<Vec<EventBody>, Refusal> {
    if rec.state.phase() == Phase::Terminal {
        return Err(refused(
            &rec.task_ref,
            format!(
                "reroute refused: the task is {} (terminal); it is never routed again",
                rec.state
            ),
        ));
    }
    if !matches!(rec.hold, Some(Hold::BlockedByCapability { .. })) {
        return Err(refused(
            &rec.task_ref,
            format!(
                "reroute applies to a task blocked by capability (this one is {}); a routed task is rerouted by decline or expiry",
                rec.state
            ),
        ));
    }
    let facts = if rec.state == TaskState::Declined {
        reroute_after(rec, env)
    } else {
        vec![route(
            &rec.activation_id,
            &rec.required_tags,
            rec.sensitivity,
            &excluded(rec),
            None,
            env.clusters,
        )]
    };
    match facts.last() {
        Some(EventBody::StateChanged { .. }) => Ok(facts),
        _ => Err(refused(
            &rec.task_ref,
            format!(
                "still no eligible cluster: {}",
                no_cluster_reason(rec, &excluded(rec), env.clusters)
            ),
        )),
    }
}

fn plan_expire(rec: &TaskRecord, env: &Env<'_>) -> Result<Vec<EventBody>, Refusal> {
    match rec.state {
        TaskState::Routed => match past_deadline(rec, env.now)? {
            Some(deadline) => {
                let mut facts = vec![change(
                    rec,
                    TaskState::Declined,
                    Cause::TtlExpired,
                    None,
                    Some(format!("no answer by {deadline}; expired without penalty")),
                )?];
                facts.extend(reroute_after(rec, env));
                Ok(facts)
            }
            None => Err(refused(
                &rec.task_ref,
                format!(
                    "nothing expires: the consent window runs until {}",
                    rec.consent_deadline.as_deref().unwrap_or("?")
                ),
            )),
        },
        TaskState::InProgress => match inactive_since(rec, env.now) {
            Some(last) => Ok(vec![EventBody::Flagged {
                flag: Flag::Inactive {
                    last_activity_at: last,
                    timeout_hours: INACTIVITY_TIMEOUT_HOURS,
                },
            }]),
            None => Err(refused(
                &rec.task_ref,
                "nothing expires: in progress with recent activity (or already flagged)",
            )),
        },
        other => Err(refused(
            &rec.task_ref,
            format!("nothing expires in state {other}: only routed tasks expire and in-progress tasks are flagged"),
        )),
    }
}

/// After a decline or an expiry: a new activation to the next eligible cluster,
/// or a capability hold when none is left.
fn reroute_after(rec: &TaskRecord, env: &Env<'_>) -> Vec<EventBody> {
    let mut excluded = excluded(rec);
    if let Some(c) = &rec.cluster_id {
        if !excluded.contains(c) {
            excluded.push(c.clone());
        }
    }
    let next = env
        .clusters
        .eligible(&rec.required_tags, rec.sensitivity, &excluded)
        .next();
    if next.is_none() {
        return vec![EventBody::Held {
            hold: Hold::BlockedByCapability {
                reason: no_cluster_reason(rec, &excluded, env.clusters),
            },
        }];
    }
    let attempt = rec.attempt + 1;
    let activation_id = activation_id(&rec.task_ref, attempt, &rec.earl_id, &rec.content);
    vec![
        EventBody::ActivationOpened {
            activation_id: activation_id.clone(),
            attempt,
            earl_id: rec.earl_id.clone(),
            requested_cluster_id: String::new(),
            content: rec.content.clone(),
            required_tags: rec.required_tags.clone(),
            sensitivity: rec.sensitivity,
            ttl_hours: rec.ttl_hours,
            provenance: rec.provenance.clone(),
        },
        EventBody::StateChanged {
            activation_id: activation_id.clone(),
            from: TaskState::Authorized,
            to: TaskState::Activated,
            cause: Cause::Activation,
            cluster_id: None,
            reason: Some(format!("reroute (attempt {attempt})")),
        },
        route(
            &activation_id,
            &rec.required_tags,
            rec.sensitivity,
            &excluded,
            None,
            env.clusters,
        ),
    ]
}

/// Routes an activated activation: the preferred cluster when eligible, else
/// the first eligible by `cluster_id`, else a capability hold.
fn route(
    activation_id: &str,
    required_tags: &[String],
    sensitivity: Sensitivity,
    excluded: &[String],
    preferred: Option<&str>,
    clusters: &ClusterRegistry,
) -> EventBody {
    let preferred_ok = preferred.and_then(|p| {
        clusters.get(p).filter(|c| {
            !excluded.contains(&c.cluster_id)
                && c.ineligibility(required_tags, sensitivity).is_none()
        })
    });
    let chosen = preferred_ok.or_else(|| {
        clusters
            .eligible(required_tags, sensitivity, excluded)
            .next()
    });
    match chosen {
        Some(c) => EventBody::StateChanged {
            activation_id: activation_id.to_string(),
            from: TaskState::Activated,
            to: TaskState::Routed,
            cause: Cause::Routing,
            cluster_id: Some(c.cluster_id.clone()),
            reason: preferred
                .filter(|p| !p.is_empty() && *p != c.cluster_id)
                .map(|p| format!("preferred cluster {p} not eligible")),
        },
        None => EventBody::Held {
            hold: Hold::BlockedByCapability {
                reason: format!(
                    "no eligible cluster for tags [{}] at sensitivity {}{}",
                    required_tags.join(", "),
                    sensitivity.as_str(),
                    describe_exclusions(excluded, clusters, required_tags, sensitivity)
                ),
            },
        },
    }
}

fn no_cluster_reason(rec: &TaskRecord, excluded: &[String], clusters: &ClusterRegistry) -> String {
    format!(
        "no eligible cluster left for tags [{}] at sensitivity {}{}",
        rec.required_tags.join(", "),
        rec.sensitivity.as_str(),
        describe_exclusions(excluded, clusters, &rec.required_tags, rec.sensitivity)
    )
}

fn describe_exclusions(
    excluded: &[String],
    clusters: &ClusterRegistry,
    required_tags: &[String],
    sensitivity: Sensitivity,
) -> String {
    let mut parts = Vec::new();
    if !excluded.is_empty() {
        parts.push(format!("declined or expired: {}", excluded.join(", ")));
    }
    let others: Vec<String> = clusters
        .all()
        .filter(|c| !excluded.contains(&c.cluster_id))
        .filter_map(|c| {
            c.ineligibility(required_tags, sensitivity)
                .map(|why| format!("{} {why}", c.cluster_id))
        })
        .collect();
    if !others.is_empty() {
        parts.push(format!("ineligible: {}", others.join("; ")));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join("; "))
    }
}

fn excluded(rec: &TaskRecord) -> Vec<String> {
    rec.excluded_clusters
        .iter()
        .map(|e| e.cluster_id.clone())
        .collect()
}

/// A checked state change of the task's current activation.
fn change(
    rec: &TaskRecord,
    to: TaskState,
    cause: Cause,
    cluster_id: Option<String>,
    reason: Option<String>,
) -> Result<EventBody, Refusal> {
    check_transition(&rec.task_ref, rec.state, to)?;
    Ok(EventBody::StateChanged {
        activation_id: rec.activation_id.clone(),
        from: rec.state,
        to,
        cause,
        cluster_id,
        reason,
    })
}

/// The consent deadline if it has passed.
fn past_deadline(rec: &TaskRecord, now: DateTime<Utc>) -> Result<Option<String>, Refusal> {
    let Some(deadline) = &rec.consent_deadline else {
        return Ok(None);
    };
    let t = parse_time(deadline).map_err(|m| refused(&rec.task_ref, m))?;
    Ok((now >= t).then(|| deadline.clone()))
}

/// The last activity time if the task has been inactive too long and is not flagged yet.
fn inactive_since(rec: &TaskRecord, now: DateTime<Utc>) -> Option<String> {
    let last = parse_time(&rec.last_activity_at).ok()?;
    let due = now >= last + Duration::hours(i64::from(INACTIVITY_TIMEOUT_HOURS));
    (due && !rec.flagged_since_last_activity()).then(|| rec.last_activity_at.clone())
}

/// `act-` + 16 hex of sha256 over the task, attempt, Earl and text: the same
/// request gives the same id, on any machine.
pub fn activation_id(task_ref: &str, attempt: u32, earl_id: &str, content: &TaskContent) -> String {
    let mut material = Vec::new();
    for part in [
        task_ref,
        &attempt.to_string(),
        earl_id,
        &content.description,
    ]
    .into_iter()
    .chain(content.requirements.iter().map(String::as_str))
    .chain(["\u{1f}"])
    .chain(content.expected_outcomes.iter().map(String::as_str))
    {
        material.extend((part.len() as u64).to_le_bytes());
        material.extend(part.as_bytes());
    }
    let hex = archon_core::seed::sha256_hex(&material);
    format!("act-{}", &hex[..16])
}

/// Checks a request and returns the capability tags a cluster must have.
fn validate_request(
    req: &ActivationRequest,
    clusters: &ClusterRegistry,
) -> Result<Vec<String>, Refusal> {
    let bad = |m: String| Refusal::InvalidRequest(format!("{}: {m}", req.task_ref));
    archon_core::ids::check_file_component(&req.task_ref)
        .map_err(|m| Refusal::InvalidRequest(format!("task_ref: {m}")))?;
    archon_core::ids::check_file_component(&req.earl_id)
        .map_err(|m| bad(format!("earl_id: {m}")))?;
    if req.earl_id.trim().is_empty() {
        return Err(bad("earl_id is empty".into()));
    }
    if req.description.trim().is_empty() {
        return Err(bad("description is empty".into()));
    }
    if req.ttl_hours == 0 || req.ttl_hours > MAX_TTL_HOURS {
        return Err(bad(format!(
            "ttl_hours must be between 1 and {MAX_TTL_HOURS} (got {})",
            req.ttl_hours
        )));
    }
    let tags = match req.provenance.get("capability_tags") {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, t)| match t.as_str() {
                Some(tag) if CAPABILITY_TAGS.contains(&tag) => Ok(tag.to_string()),
                _ => Err(bad(format!("provenance.capability_tags[{i}]: not a capability tag: {t}"))),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(other) => {
            return Err(bad(format!(
                "provenance.capability_tags must be an array of tags, got {other}"
            )))
        }
        None => match clusters.get(&req.cluster_id) {
            Some(c) => c.capabilities.tags.clone(),
            None => {
                return Err(bad(format!(
                    "no provenance.capability_tags and cluster {:?} is unknown: cannot tell which clusters may take it",
                    req.cluster_id
                )))
            }
        },
    };
    let mut tags = tags;
    tags.sort();
    tags.dedup();
    Ok(tags)
}
