//! `archon execute TASK_REF`: the execution stage for one accepted task. The
//! handoff is assembled from the governance ledger's task and the flags; the
//! outcome (complete | blocked | escalated) is printed and decides the exit code.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use archon_core::fan_out::Turn;
use archon_core::ids::check_file_component;
use archon_core::roster::{Archon, Rank};
use archon_execute::agent_delegate::AgentDelegate;
use archon_execute::command::CommandDelegate;
use archon_execute::delegate::Delegate;
use archon_execute::execute::json_report_path;
use archon_execute::governance_ledger::{this_holder, GovernanceLedger};
use archon_execute::io::FsFiles;
use archon_execute::workspace::{Files, FilesError, GitState};
use archon_execute::{
    doctrine, execute, Execution, HandoffInput, OutcomeValue, Services, TaskLedger,
};
use archon_store::recorded_path;
use clap::{Args, ValueEnum};

use crate::context::Context;
use crate::outcome::Outcome;
use archon_pipeline::Layout;

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
    /// Cluster definitions naming each cluster's steward (the execution acts
    /// for the steward of the task's cluster); default: the bundled clusters.
    #[arg(long, value_name = "DIR")]
    pub cluster_dir: Option<PathBuf>,
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
    /// Time each step's --delegate-cmd program may run before it is killed with its
    /// children and the step ends blocked: seconds, or a number with s, m or h.
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = archon_execute::command::parse_timeout)]
    pub delegate_timeout: std::time::Duration,
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
                CommandDelegate::parse(template)
                    .map_err(anyhow::Error::msg)?
                    .with_timeout(self.delegate_timeout),
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
        .unwrap_or_else(|| Layout::default().ledger());
    if !ledger_path.is_file() {
        bail!("governance ledger {} does not exist", ledger_path.display());
    }
    let clusters = archon_tasks::io::load_clusters(args.cluster_dir.as_deref())?;
    let mut ledger = GovernanceLedger::open(&ledger_path, clusters, turn)?;
    let task = ledger
        .load_task(task_ref)?
        .with_context(|| format!("unknown task {task_ref} in {}", ledger_path.display()))?;
    let report = args
        .report
        .clone()
        .unwrap_or_else(|| Layout::default().execution_report(task_ref));
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
            lease_holder: &this_holder(),
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
