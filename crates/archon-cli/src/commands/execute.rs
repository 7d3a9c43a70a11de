//! `archon execute TASK_REF`: the execution stage for one accepted task. The
//! handoff is assembled from the governance ledger's task and the flags; the
//! outcome (complete | blocked | escalated) is printed and decides the exit code.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use archon_core::clock::Clock;
use archon_core::fan_out::Turn;
use archon_core::ids::check_file_component;
use archon_core::roster::{Archon, Rank};
use archon_execute::agent_delegate::AgentDelegate;
use archon_execute::command::CommandDelegate;
use archon_execute::delegate::Delegate;
use archon_execute::execute::json_report_path;
use archon_execute::io::FsFiles;
use archon_execute::ledger::{Move, Stop};
use archon_execute::report::Blocker;
use archon_execute::task_result::TaskResult;
use archon_execute::workspace::{Files, FilesError, GitState};
use archon_execute::{
    doctrine, execute, Execution, HandoffInput, LedgerEntry, LedgerError, LedgerTask, OutcomeValue,
    Services, TaskLedger,
};
use archon_store::{recorded_path, EventLog};
use archon_tasks::{EventBody, Ledger, LedgerEvent, Transition, TransitionReport};
use clap::{Args, ValueEnum};

use crate::commands::tasks::DEFAULT_LEDGER;
use crate::context::Context;
use crate::outcome::Outcome;

#[derive(Debug, Args)]
pub struct ExecuteArgs {
    /// The task to execute, by its ref in the governance ledger.
    pub task_ref: String,
    /// Governance ledger (SQLite); default: archon-out/governance.db.
    #[arg(long, value_name = "PATH")]
    pub ledger: Option<PathBuf>,
    /// Directory where the work is done (required input field; must exist).
    #[arg(long, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// Execution Stage Report (markdown; the JSON goes beside it);
    /// default: archon-out/execute/<TASK_REF>/execution-stage-report.md.
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub delegate: DelegateArgs,
    /// Who issues this handoff (required input field).
    #[arg(long, value_name = "NAME")]
    pub issuer: Option<String>,
}

/// Who does a task's work (`archon execute`, and the execute stage of `archon run`).
#[derive(Debug, Clone, Args)]
pub struct DelegateArgs {
    /// Who does the work of each step.
    #[arg(long, value_enum, default_value_t = DelegateKind::Simulation)]
    pub delegate: DelegateKind,
    /// Program for --delegate command, run in the workspace once per step, without a shell:
    /// placeholders {phase} {step} {workspace} {task_ref} {task_json} {task_file}.
    #[arg(long, value_name = "TEMPLATE")]
    pub delegate_cmd: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DelegateKind {
    /// Deterministic delegate through the agent port's simulated backend.
    Simulation,
    /// An LLM through the agent port (needs --mode llm and a configured endpoint).
    Llm,
    /// An external program given by --delegate-cmd.
    Command,
}

impl DelegateArgs {
    /// Refuses a delegate that cannot work here, before any work is done; the
    /// parsed program for `--delegate command`.
    pub fn command(&self, ctx: &Context) -> Result<Option<CommandDelegate>> {
        match (self.delegate, &self.delegate_cmd) {
            (DelegateKind::Command, Some(template)) => Ok(Some(
                CommandDelegate::parse(template).map_err(anyhow::Error::msg)?,
            )),
            (DelegateKind::Command, None) => {
                bail!("--delegate command needs --delegate-cmd 'PROGRAM {{phase}} …'")
            }
            (_, Some(_)) => bail!("--delegate-cmd is only used with --delegate command"),
            (DelegateKind::Llm, None) if !ctx.answers_from_llm()? => bail!(
                "--delegate llm needs an LLM backend: pass --mode llm with a configured endpoint"
            ),
            _ => Ok(None),
        }
    }
}

pub fn run(ctx: &Context, args: &ExecuteArgs) -> Result<Outcome> {
    run_in_turn(ctx, args, None)
}

/// [`run`] as one of several tasks executed side by side (`archon run`): the
/// task's ledger writes wait for `turn`, so the ledger and the stop log read
/// the same whatever order the executions finish in.
pub fn run_in_turn(ctx: &Context, args: &ExecuteArgs, turn: Option<&Turn<'_>>) -> Result<Outcome> {
    let task_ref = args.task_ref.trim();
    check_file_component(task_ref).map_err(|m| anyhow::anyhow!("TASK_REF: {m}"))?;
    let ledger_path = args
        .ledger
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_LEDGER));
    if !ledger_path.is_file() {
        bail!("governance ledger {} does not exist", ledger_path.display());
    }
    let mut ledger = GovernanceLedger::open(&ledger_path, turn)?;
    let task = ledger
        .load_task(task_ref)?
        .with_context(|| format!("unknown task {task_ref} in {}", ledger_path.display()))?;
    let report = args.report.clone().unwrap_or_else(|| {
        Path::new("archon-out/execute")
            .join(task_ref)
            .join("execution-stage-report.md")
    });
    // The handoff, the report and the ledger's result record paths relative to
    // the run root (the ledger's folder), so they do not depend on where it is;
    // every file access resolves them against it.
    let run_root = ledger_path.parent().unwrap_or(Path::new(""));
    let recorded = |p: &Path| recorded_path(Some(run_root), p);
    let recorded_report = recorded(&report);
    let input = HandoffInput {
        task_ref: Some(task_ref.to_string()),
        activation_id: task.activation_id,
        cluster_id: task.cluster_id,
        description: task.description,
        requirements: task.requirements,
        expected_outcomes: task.expected_outcomes,
        workspace: args.workspace.as_deref().map(recorded),
        report_path: Some(recorded_report.clone()),
        input_source: Some(format!("governance ledger {}", recorded(&ledger_path))),
        handoff_issuer: args.issuer.clone(),
    };

    let command_delegate = args.delegate.command(ctx)?.map(|d| d.rooted_at(run_root));
    let agents = match args.delegate.delegate {
        DelegateKind::Command => None,
        DelegateKind::Llm => Some(ctx.agents()?),
        DelegateKind::Simulation => Some(archon_core::agent_port::Agents::simulated(ctx.seed)),
    };
    let roster;
    let agent_delegate = match &agents {
        None => None,
        Some(agents) => {
            roster = ctx.roster()?;
            let archon = execution_archon(&roster.archons, ctx, task_ref)?;
            let skill = doctrine::assemble(&doctrine::shipped())?;
            Some(AgentDelegate::new(agents, archon, skill))
        }
    };
    let delegate: &dyn Delegate = match (&agent_delegate, &command_delegate) {
        (Some(d), _) => d,
        (None, Some(d)) => d,
        (None, None) => bail!("no delegate"),
    };

    // The delegate's model calls, for `archon usage`, beside the report.
    let write_calls = || -> Result<(), FilesError> {
        let calls = agent_delegate.as_ref().map(|d| d.call_records());
        match calls.filter(|c| !c.is_empty()) {
            Some(calls) => {
                let path = report.with_file_name(archon_agents::usage::CALLS_FILE);
                let bytes = archon_store::artifact_dir::to_jsonl_bytes(&calls);
                FsFiles.write(&path, &bytes)
            }
            None => Ok(()),
        }
    };
    let execution = execute(
        &input,
        Services {
            clock: &ctx.clock,
            seed: ctx.seed,
            files: &CallsBeforeReport {
                root: run_root,
                report_json: run_root.join(json_report_path(Path::new(&recorded_report))),
                write_calls: &write_calls,
            },
            ledger: &mut ledger,
            delegate,
        },
    )?;
    print(ctx, &execution, run_root)?;
    Ok(match execution.outcome() {
        OutcomeValue::Complete => Outcome::Complete,
        OutcomeValue::Blocked => Outcome::Blocked,
        OutcomeValue::Escalated => Outcome::Escalated,
    })
}

/// The workspace and report files on disk, paths resolved against the run
/// root, with one rule of order: the delegate's call records are written before
/// the report's JSON, which `archon run` takes as the mark of a finished
/// execution, so a crash between the two cannot lose the records.
struct CallsBeforeReport<'a> {
    root: &'a Path,
    report_json: PathBuf,
    write_calls: &'a dyn Fn() -> Result<(), FilesError>,
}

impl Files for CallsBeforeReport<'_> {
    fn is_dir(&self, path: &Path) -> bool {
        FsFiles.is_dir(&self.root.join(path))
    }
    fn read(&self, path: &Path) -> Result<Option<Vec<u8>>, FilesError> {
        FsFiles.read(&self.root.join(path))
    }
    fn write(&self, path: &Path, bytes: &[u8]) -> Result<(), FilesError> {
        let path = self.root.join(path);
        if path == self.report_json {
            (self.write_calls)()?;
        }
        FsFiles.write(&path, bytes)
    }
    fn append_line(&self, path: &Path, line: &str) -> Result<(), FilesError> {
        FsFiles.append_line(&self.root.join(path), line)
    }
    fn snapshot(&self, root: &Path) -> Result<BTreeMap<String, String>, FilesError> {
        FsFiles.snapshot(&self.root.join(root))
    }
    fn git_state(&self, root: &Path) -> Option<GitState> {
        FsFiles.git_state(&self.root.join(root))
    }
    fn commits_between(&self, root: &Path, from: Option<&str>, to: &str) -> Vec<String> {
        FsFiles.commits_between(&self.root.join(root), from, to)
    }
}

/// The archon whose persona answers as delegate: an Earl (the rank that turns
/// tactics into tasks), chosen by the seed and the task.
fn execution_archon<'r>(
    archons: &'r [Archon],
    ctx: &Context,
    task_ref: &str,
) -> Result<&'r Archon> {
    let earls: Vec<&Archon> = archons.iter().filter(|a| a.rank == Rank::Earl).collect();
    if earls.is_empty() {
        bail!("the roster has no Earl to act as execution delegate");
    }
    Ok(*ctx.seed.pick(&earls, &["execute", "delegate", task_ref]))
}

fn print(ctx: &Context, execution: &Execution, run_root: &Path) -> Result<()> {
    let report = &execution.report;
    if ctx.global.json {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(());
    }
    if !ctx.loud() {
        return Ok(());
    }
    let item = report
        .metadata
        .item_id
        .as_deref()
        .unwrap_or("(no task ref)");
    for p in &report.work_performed.phases {
        let reason = p
            .reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        println!(
            "  Step {} {}: {}{reason}{}",
            p.step,
            p.phase.label(),
            p.status.as_str(),
            p.verification
                .as_deref()
                .map(|v| format!(" — {v}"))
                .unwrap_or_default()
        );
    }
    println!(
        "  delegations: {}, verified without delegation: {}",
        report.work_performed.delegations, report.work_performed.verified_without_delegation
    );
    for b in &report.outcome.blockers {
        println!(
            "  blocker ({}): {} — owner: {}",
            b.category.as_str(),
            b.detail,
            b.owner
        );
    }
    println!("{item}: {}", report.outcome.outcome.as_str());
    if let Some(owner) = &report.outcome.blocker_ownership {
        println!("blocker ownership: {owner}");
    }
    println!("next action: {}", report.outcome.recommended_next_action);
    if let Some((md, json)) = &execution.written {
        let (md, json) = (run_root.join(md), run_root.join(json));
        println!("report: {} ({})", md.display(), json.display());
    }
    Ok(())
}

/// The execution stage's ledger port over the `archon-tasks` governance ledger.
/// That ledger has no event for an execution that stops short (blocked or
/// escalated), so those are appended to `execution_outcomes.jsonl` beside it,
/// and the task's state is left as the lifecycle has it.
struct GovernanceLedger<'t> {
    ledger: Ledger,
    stops: PathBuf,
    turn: Option<&'t Turn<'t>>,
}

impl<'t> GovernanceLedger<'t> {
    fn open(path: &Path, turn: Option<&'t Turn<'t>>) -> Result<GovernanceLedger<'t>> {
        let ledger = Ledger::open(path)?;
        let stops = path
            .parent()
            .unwrap_or(Path::new("."))
            .join("execution_outcomes.jsonl");
        Ok(GovernanceLedger {
            ledger,
            stops,
            turn,
        })
    }

    /// Before every write: wait for the earlier tasks run side by side.
    fn wait_turn(&self) {
        if let Some(turn) = self.turn {
            turn.wait();
        }
    }

    /// After an execution's last write (its report, or its stop): later tasks
    /// may write while this one finishes its report files.
    fn pass_turn(&self) {
        if let Some(turn) = self.turn {
            turn.pass();
        }
    }
}

fn ledger_error(e: impl std::fmt::Display) -> LedgerError {
    LedgerError(e.to_string())
}

fn entry(report: &TransitionReport, clock: &Clock) -> LedgerEntry {
    LedgerEntry {
        event: format!("task.{}", report.transition),
        at: clock.stamp(),
        detail: format!(
            "{} -> {}: {}",
            report.before,
            report.after,
            report.lines().join("; ")
        ),
    }
}

impl TaskLedger for GovernanceLedger<'_> {
    fn load_task(&self, task_ref: &str) -> Result<Option<LedgerTask>, LedgerError> {
        let Some(rec) = self.ledger.task(task_ref).map_err(ledger_error)? else {
            return Ok(None);
        };
        let state = rec.state;
        Ok(Some(LedgerTask {
            task_ref: rec.task_ref,
            state,
            activation_id: Some(rec.activation_id).filter(|a| !a.is_empty()),
            cluster_id: rec.cluster_id,
            description: Some(rec.content.description),
            requirements: rec.content.requirements,
            expected_outcomes: rec.content.expected_outcomes,
        }))
    }

    fn mark_in_progress(
        &mut self,
        task_ref: &str,
        actor: &str,
        clock: &Clock,
    ) -> Result<LedgerEntry, LedgerError> {
        self.wait_turn();
        let report = self
            .ledger
            .transition(task_ref, Transition::Start, actor, clock)
            .map_err(ledger_error)?;
        Ok(entry(&report, clock))
    }

    fn earlier_entry(
        &self,
        task_ref: &str,
        step: Move,
    ) -> Result<Option<LedgerEntry>, LedgerError> {
        let (name, moved) = match step {
            Move::Start => ("start", "accepted -> in_progress"),
            Move::Report => ("report", "in_progress -> reported"),
        };
        let events = self.ledger.events().map_err(ledger_error)?;
        // The last committed move of this task: its intent, facts and commit share an op_seq.
        let Some(op_seq) = events
            .iter()
            .rev()
            .filter(|e| e.task_ref == task_ref)
            .find(|e| matches!(&e.body, EventBody::Intent { op, .. } if op == name))
            .map(|e| e.op_seq)
        else {
            return Ok(None);
        };
        let group: Vec<&LedgerEvent> = events.iter().filter(|e| e.op_seq == op_seq).collect();
        if !group.iter().any(|e| matches!(e.body, EventBody::Committed)) {
            return Ok(None);
        }
        let facts: Vec<String> = group
            .iter()
            .filter(|e| e.body.is_fact())
            .map(|e| e.body.describe())
            .collect();
        let at = group.last().map(|e| e.at.clone()).unwrap_or_default();
        Ok(Some(LedgerEntry {
            event: format!("task.{name}"),
            at,
            detail: format!("{moved}: {}", facts.join("; ")),
        }))
    }

    fn report_result(
        &mut self,
        task_ref: &str,
        result: &TaskResult,
        clock: &Clock,
    ) -> Result<LedgerEntry, LedgerError> {
        let value = serde_json::to_value(result).map_err(ledger_error)?;
        let result = archon_tasks::TaskResult::from_json("execution result", &value)
            .map_err(ledger_error)?;
        self.wait_turn();
        let report = self
            .ledger
            .report_result(task_ref, result, clock)
            .map_err(ledger_error)?;
        self.pass_turn();
        Ok(entry(&report, clock))
    }

    fn record_stop(
        &mut self,
        task_ref: &str,
        stop: Stop,
        blockers: &[Blocker],
        actor: &str,
        clock: &Clock,
    ) -> Result<LedgerEntry, LedgerError> {
        self.wait_turn();
        let state = self
            .ledger
            .task(task_ref)
            .map_err(ledger_error)?
            .map(|t| t.state.to_string())
            .unwrap_or_else(|| "unknown".into());
        let at = clock.stamp();
        let record = serde_json::json!({
            "schema_version": archon_core::SCHEMA_VERSION,
            "task_ref": task_ref,
            "outcome": stop,
            "state": state,
            "blockers": blockers,
            "actor": actor,
            "at": at,
        });
        EventLog::open(&self.stops)
            .and_then(|mut log| log.append(&record))
            .map_err(ledger_error)?;
        self.pass_turn();
        let event = match stop {
            Stop::Blocked => "execution.blocked",
            Stop::Escalated => "execution.escalated",
        };
        let owners: Vec<&str> = blockers.iter().map(|b| b.owner.as_str()).collect();
        Ok(LedgerEntry {
            event: event.into(),
            at,
            detail: format!(
                "owner {}; task state {state} unchanged; recorded in {}",
                owners.join(", "),
                self.stops.display()
            ),
        })
    }
}
