//! `archon tasks …`: the consent-based task lifecycle on the governance ledger.
//! Refused moves are errors (exit 2, ledger unchanged); a task left blocked
//! (coercion filter, no eligible cluster) ends with exit 1. `list` and `show`
//! open the ledger read-only and refuse a missing one.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use archon_tasks::io::{load_cluster_dir, read_result};
use archon_tasks::{
    ActivationRequest, Ledger, RejectionCode, Sensitivity, Settlement, TaskRecord, TaskState,
    Transition, TransitionReport, DEFAULT_TTL_HOURS,
};
use clap::{ArgGroup, Args, Subcommand, ValueEnum};

use crate::context::Context;
use crate::outcome::Outcome;

#[derive(Debug, Args)]
pub struct TasksArgs {
    /// Governance ledger: a file (SQLite) or a `postgres://` URL; default:
    /// archon-out/governance.db.
    #[arg(long, global = true, value_name = "PATH|URL")]
    pub ledger: Option<PathBuf>,
    /// Cluster definitions (*.json, cluster-schema format); default: the bundled clusters.
    #[arg(long, global = true, value_name = "DIR")]
    pub cluster_dir: Option<PathBuf>,
    /// Who acts, recorded in every event (default: cli). Accept, decline, start
    /// and report need the steward of the task's current cluster
    /// (`steward-42` or `steward:steward-42`).
    #[arg(long, global = true, value_name = "ID", env = "ARCHON_ACTOR")]
    pub actor: Option<String>,
    #[command(subcommand)]
    pub command: TasksCommand,
}

#[derive(Debug, Subcommand)]
pub enum TasksCommand {
    /// List tasks with state, cluster and hold.
    List {
        /// Only tasks in this state (e.g. routed, in_progress).
        #[arg(long, value_name = "STATE")]
        state: Option<String>,
    },
    /// Show one task: content, routing, results, history.
    Show { task: String },
    /// Create an activation by hand: authorized -> activated -> coercion filter -> routed.
    Activate(ActivateArgs),
    /// The cluster steward accepts a routed task.
    Accept { task: String },
    /// The cluster declines (penalty-free, no reason needed); the task is rerouted.
    Decline {
        task: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Work starts on an accepted task.
    Start { task: String },
    /// The cluster reports a result artifact (task-result JSON).
    Report {
        task: String,
        #[arg(long, value_name = "FILE")]
        result: PathBuf,
    },
    /// Settle the pending results: --accept, or --reject CODE [--reason TEXT].
    #[command(group(ArgGroup::new("decision").required(true).args(["accept", "reject"])))]
    Settle {
        task: String,
        #[arg(long)]
        accept: bool,
        /// outcome_not_met, constraint_violation, provenance_insufficient, scope_drift, unsafe_content, other.
        #[arg(long, value_name = "CODE")]
        reject: Option<String>,
        #[arg(long, requires = "reject")]
        reason: Option<String>,
    },
    /// Halt: pre-consent -> nullified, post-consent -> quarantined.
    Halt {
        task: String,
        #[arg(long)]
        reason: String,
    },
    /// Route a task blocked by capability again (e.g. after adding clusters).
    Reroute { task: String },
    /// Expire routed tasks past their consent window (and reroute them) and flag
    /// in-progress tasks inactive for 48 h; all due tasks, or only TASK.
    Expire { task: Option<String> },
    /// Close every intent a killed writer left without outcome and no retried
    /// operation took up (refused while another writer has the ledger open).
    Recover {
        #[arg(long, default_value = "closed by archon tasks recover")]
        reason: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SensitivityArg {
    Standard,
    Sensitive,
    Restricted,
}

#[derive(Debug, Args)]
pub struct ActivateArgs {
    #[arg(long)]
    pub task_ref: String,
    #[arg(long)]
    pub earl_id: String,
    /// Preferred cluster; default: the first eligible one.
    #[arg(long, default_value = "")]
    pub cluster_id: String,
    #[arg(long)]
    pub description: String,
    /// A requirement line (repeatable).
    #[arg(long = "requirement", value_name = "TEXT")]
    pub requirements: Vec<String>,
    /// An expected outcome (repeatable).
    #[arg(long = "outcome", value_name = "TEXT")]
    pub expected_outcomes: Vec<String>,
    /// A capability tag the cluster must have (repeatable); default: the preferred cluster's tags.
    #[arg(long = "capability-tag", value_name = "TAG")]
    pub capability_tags: Vec<String>,
    #[arg(long, value_enum, default_value = "standard")]
    pub sensitivity: SensitivityArg,
    #[arg(long, default_value_t = DEFAULT_TTL_HOURS)]
    pub ttl_hours: u32,
}

pub fn run(ctx: &Context, args: &TasksArgs) -> Result<Outcome> {
    let actor = args.actor.clone().unwrap_or_else(|| "cli".to_string());
    let clock = &ctx.clock;
    let json = ctx.global.json;
    let (task, transition) = match &args.command {
        TasksCommand::List { state } => {
            return list(
                &Ledger::open_read_only(ledger_path(args))?,
                state.as_deref(),
                json,
            )
        }
        TasksCommand::Show { task } => {
            return show(&Ledger::open_read_only(ledger_path(args))?, task, json)
        }
        TasksCommand::Recover { reason } => {
            let closed = open_ledger(args)?.close_orphans(reason, &actor, clock)?;
            if json {
                println!("{}", serde_json::json!({ "closed_intents": closed }));
            } else {
                let seqs: Vec<String> = closed.iter().map(|s| format!("#{s}")).collect();
                println!(
                    "{} orphaned intent(s) closed {}",
                    closed.len(),
                    seqs.join(" ")
                );
            }
            return Ok(Outcome::Complete);
        }
        TasksCommand::Activate(a) => return activate(&mut open_ledger(args)?, a, clock, json),
        TasksCommand::Expire { task: None } => {
            let reports = open_ledger(args)?.expire_due(clock)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&reports)?);
            } else if reports.is_empty() {
                println!("nothing due");
            }
            if !json {
                reports.iter().for_each(|r| print!("{}", r.render()));
            }
            return Ok(Outcome::Complete);
        }
        TasksCommand::Expire { task: Some(task) } => (task, Transition::Expire),
        TasksCommand::Accept { task } => (task, Transition::Accept),
        TasksCommand::Decline { task, reason } => (
            task,
            Transition::Decline {
                reason: reason.clone(),
            },
        ),
        TasksCommand::Start { task } => (task, Transition::Start),
        TasksCommand::Report { task, result } => (
            task,
            Transition::Report {
                result: Box::new(read_result(result)?),
            },
        ),
        TasksCommand::Settle {
            task,
            reject,
            reason,
            ..
        } => {
            let settlement = match reject {
                None => Settlement::Accept,
                Some(code) => Settlement::Reject {
                    code: RejectionCode::parse(code).with_context(|| {
                        format!(
                            "--reject {code:?}: expected one of {}",
                            RejectionCode::ALL.map(|c| c.as_str()).join(", ")
                        )
                    })?,
                    reason: reason.clone().unwrap_or_default(),
                },
            };
            (task, Transition::Settle { settlement })
        }
        TasksCommand::Halt { task, reason } => (
            task,
            Transition::Halt {
                reason: reason.clone(),
            },
        ),
        TasksCommand::Reroute { task } => (task, Transition::Reroute),
    };
    let report = open_ledger(args)?.transition(task, transition, &actor, clock)?;
    finish(&report, json)
}

fn ledger_path(args: &TasksArgs) -> PathBuf {
    args.ledger
        .clone()
        .unwrap_or_else(|| archon_pipeline::Layout::default().ledger())
}

fn open_ledger(args: &TasksArgs) -> Result<Ledger> {
    // Bad cluster definitions are refused before the ledger is created.
    let clusters = args
        .cluster_dir
        .as_deref()
        .map(load_cluster_dir)
        .transpose()?;
    let ledger = Ledger::open(ledger_path(args))?;
    Ok(match clusters {
        Some(clusters) => ledger.with_clusters(clusters),
        None => ledger,
    })
}

fn activate(
    ledger: &mut Ledger,
    a: &ActivateArgs,
    clock: &archon_core::clock::Clock,
    json: bool,
) -> Result<Outcome> {
    let mut provenance = serde_json::json!({"source": "archon tasks activate"});
    if !a.capability_tags.is_empty() {
        provenance["capability_tags"] = serde_json::json!(a.capability_tags);
    }
    let request = ActivationRequest {
        task_ref: a.task_ref.clone(),
        earl_id: a.earl_id.clone(),
        cluster_id: a.cluster_id.clone(),
        description: a.description.clone(),
        requirements: a.requirements.clone(),
        expected_outcomes: a.expected_outcomes.clone(),
        sensitivity: match a.sensitivity {
            SensitivityArg::Standard => Sensitivity::Standard,
            SensitivityArg::Sensitive => Sensitivity::Sensitive,
            SensitivityArg::Restricted => Sensitivity::Restricted,
        },
        ttl_hours: a.ttl_hours,
        provenance,
    };
    let result = ledger.create_activation(request, clock)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        println!(
            "{}: activation {} {} (coercion filter: {}) — {}",
            result.task_ref,
            result.activation_id,
            result.state,
            result.filter_outcome.kind(),
            result.message
        );
    }
    Ok(if result.state == TaskState::Routed {
        Outcome::Complete
    } else {
        Outcome::Blocked
    })
}

fn finish(report: &TransitionReport, json: bool) -> Result<Outcome> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        print!("{}", report.render());
    }
    Ok(if report.record.hold.is_some() {
        Outcome::Blocked
    } else {
        Outcome::Complete
    })
}

fn list(ledger: &Ledger, state: Option<&str>, json: bool) -> Result<Outcome> {
    let wanted = state
        .map(|s| {
            TaskState::parse(s).with_context(|| {
                format!(
                    "--state {s:?}: expected one of {}",
                    TaskState::ALL.map(|s| s.as_str()).join(", ")
                )
            })
        })
        .transpose()?;
    let tasks: Vec<TaskRecord> = ledger
        .tasks()?
        .into_iter()
        .filter(|t| wanted.is_none_or(|w| t.state == w))
        .collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&tasks)?);
        return Ok(Outcome::Complete);
    }
    for t in &tasks {
        println!("{}", t.list_line());
    }
    println!("{} task(s) in {}", tasks.len(), ledger.path().display());
    Ok(Outcome::Complete)
}

fn show(ledger: &Ledger, task: &str, json: bool) -> Result<Outcome> {
    let rec = ledger
        .task(task)?
        .with_context(|| format!("unknown task {task} in {}", ledger.path().display()))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rec)?);
        return Ok(Outcome::Complete);
    }
    print!("{}", rec.render());
    Ok(Outcome::Complete)
}
