//! `archon execute TASK_REF`: the execution stage for one accepted task. The
//! handoff is assembled from the governance ledger's task and the flags; the
//! outcome (complete | blocked | escalated) is printed and decides the exit code.

use std::path::PathBuf;

use anyhow::{bail, Result};
use archon_execute::command::CommandDelegate;
use archon_pipeline::stages::chain_stages::{execute_by, DelegateChoice};
use archon_pipeline::stages::execute::{self, ExecuteOptions, ExecuteReport};
use clap::{Args, ValueEnum};

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
    /// Execution Stage Report (markdown; the JSON goes beside it); default:
    /// execute/<TASK_REF>/execution-stage-report.md of the ledger's run root
    /// (the ledger's folder).
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
    /// The delegate these flags name; refuses one that cannot work here,
    /// before any work is done.
    pub fn choice(&self, ctx: &Context) -> Result<DelegateChoice> {
        match (self.delegate, &self.delegate_cmd) {
            (DelegateKind::Command, Some(template)) => Ok(DelegateChoice::Command(
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
            (DelegateKind::Llm, None) => Ok(DelegateChoice::Model),
            (DelegateKind::Simulation, None) => Ok(DelegateChoice::Simulation),
        }
    }
}

pub fn run(ctx: &Context, args: &ExecuteArgs) -> Result<Outcome> {
    let opts = ExecuteOptions {
        task_ref: args.task_ref.clone(),
        ledger: args.ledger.clone(),
        workspace: args.workspace.clone(),
        report: args.report.clone(),
        issuer: args.issuer.clone(),
        cluster_dir: args.cluster_dir.clone(),
    };
    let task = execute::open(&opts, None)?;
    let report = execute_by(ctx, task, &opts, &args.delegate.choice(ctx)?)
        .map_err(anyhow::Error::from_boxed)?;
    print(ctx, &report)?;
    Ok(report.outcome)
}

fn print(ctx: &Context, report: &ExecuteReport) -> Result<()> {
    if ctx.global.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report.execution.report)?
        );
    } else if ctx.loud() {
        print!("{}", report.render());
    }
    Ok(())
}
