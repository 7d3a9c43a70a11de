//! [`ChainStages`]: the [`Stages`] the chain runs by default, each stage
//! through its library call, with what its caller gives ([`StageContext`]).

use std::path::{Path, PathBuf};

use archon_admin::dossier::DossierStatus;
use archon_admin::io::{ProposalsOptions, RfpOptions, SelectCliOptions};
use archon_admin::select::{DEFAULT_MAX_ITERATIONS, DEFAULT_TOP_N};
use archon_agents::CassetteMode;
use archon_artifacts::SelectionOutcome;
use archon_core::agent_port::Agents;
use archon_core::clock::Clock;
use archon_core::fan_out::Turn;
use archon_core::roster::Roster;
use archon_core::seed::Seed;
use archon_decompose::DecomposeError;
use archon_execute::command::CommandDelegate;

use super::decompose::{self, DecomposeOptions};
use super::execute::{self, Delegation, ExecuteOptions, ExecuteReport, OpenedTask};
use super::plan::{self, Contributions, PlanOptions};
use super::review::{self, ReviewOptions};
use crate::stage::{ExecutionJob, RfpRun, StageResult, Stages};
use crate::{Layout, Outcome};

/// What the stages take from their caller (the CLI's context): the roster,
/// the agents (one backend shared by every stage), the clock and the seed.
pub trait StageContext: Sync {
    fn roster(&self) -> StageResult<Roster>;
    fn agents(&self) -> StageResult<Agents>;
    fn clock(&self) -> &Clock;
    fn seed(&self) -> Seed;
    /// Where a model's answers are recorded or replayed from.
    fn cassette(&self) -> StageResult<CassetteMode>;
    /// Whether the answer source failed since the process began.
    fn answers_failed(&self) -> Option<String>;
}

/// Who does each task's work in the execute stage.
#[derive(Debug, Clone, Default)]
pub enum DelegateChoice {
    /// The simulated agent delegate.
    #[default]
    Simulation,
    /// A model, through the context's agents.
    Model,
    /// An external program.
    Command(CommandDelegate),
}

/// Every stage through its library call, as `archon run` runs them.
pub struct ChainStages<C> {
    pub ctx: C,
    /// Cluster definitions for routing and stewards; `None`: the bundled ones.
    pub cluster_dir: Option<PathBuf>,
    pub delegate: DelegateChoice,
    /// Where the Presidents' plan contributions come from.
    pub contributions: Contributions,
}

impl<C: StageContext> Stages for ChainStages<C> {
    fn answers_failed(&self) -> Option<String> {
        self.ctx.answers_failed()
    }

    fn review(&self, session_dir: &Path, out: &Path) -> StageResult<Outcome> {
        let opts = ReviewOptions {
            session_dir: session_dir.to_path_buf(),
            out: Some(out.to_path_buf()),
            ..ReviewOptions::default()
        };
        let roster = self.ctx.roster()?;
        let input = review::read_input(&opts, &roster)?;
        for w in &input.warnings {
            tracing::warn!("{w}");
        }
        let agents = self.ctx.agents()?;
        let cassette = match agents.mode() {
            "simulation" => CassetteMode::Off,
            _ => self.ctx.cassette()?,
        };
        review::review(&input, &opts, &roster, &agents, self.ctx.clock(), &cassette)?;
        Ok(Outcome::Complete)
    }

    fn plan(&self, review: &Path, out: &Path) -> StageResult<Outcome> {
        let opts = PlanOptions {
            review_dir: Some(review.to_path_buf()),
            out: Some(out.to_path_buf()),
            emit_admin_handoff: true,
            emit_conclave_clarifications: true,
            run_exec_clarification_review: true,
            contributions: self.contributions,
            ..PlanOptions::default()
        };
        let (roster, clock) = (self.ctx.roster()?, self.ctx.clock());
        let input = plan::read_input(&opts, clock)?;
        if let Some(why) = input.nothing_to_plan() {
            tracing::warn!("blocked: {why}");
            return Ok(Outcome::Blocked);
        }
        let agents = self.ctx.agents()?;
        Ok(plan::plan(&input, &opts, &roster, &agents, clock)?.outcome)
    }

    fn rfp(&self, executive: &Path, rfp_root: &Path) -> StageResult<RfpRun> {
        let opts = RfpOptions {
            out: rfp_root.to_path_buf(),
            motion_id: None,
            retry_failed: false,
        };
        let (roster, agents) = (self.ctx.roster()?, self.ctx.agents()?);
        let report = archon_admin::io::rfp(executive, &opts, &roster, &agents, self.ctx.clock())?;
        let blocked = report
            .mandates
            .iter()
            .any(|m| m.status == DossierStatus::Blocked);
        Ok(RfpRun {
            session_dir: report.session_dir,
            outcome: if blocked {
                Outcome::Blocked
            } else {
                Outcome::Complete
            },
        })
    }

    fn proposals(&self, mandate: &Path, revise: bool) -> StageResult<Outcome> {
        let opts = ProposalsOptions {
            duke_name: None,
            revise,
        };
        let (roster, agents) = (self.ctx.roster()?, self.ctx.agents()?);
        let report =
            archon_admin::io::proposals(mandate, &opts, &roster, &agents, self.ctx.clock())?;
        Ok(if report.total_submitted == 0 {
            Outcome::Blocked
        } else {
            Outcome::Complete
        })
    }

    fn select(&self, mandate: &Path) -> StageResult<SelectionOutcome> {
        let opts = SelectCliOptions {
            max_iterations: DEFAULT_MAX_ITERATIONS,
            top_n: DEFAULT_TOP_N,
        };
        let (roster, agents) = (self.ctx.roster()?, self.ctx.agents()?);
        let report = archon_admin::io::select(mandate, &opts, &roster, &agents, self.ctx.clock())?;
        Ok(report.result.outcome)
    }

    fn decompose(&self, mandate: &Path, ledger: &Path, turn: &Turn<'_>) -> StageResult<Outcome> {
        let opts = DecomposeOptions {
            selection_file: Some(Layout::selection_file(mandate)),
            cluster_dir: self.cluster_dir.clone(),
            // A decomposition interrupted by a crash is redone whole, so its events read
            // as if it had never been interrupted; activations it already made are found
            // in the ledger, and LLM answers in the cassette.
            clear_checkpoints: true,
            ledger: Some(ledger.to_path_buf()),
            ..DecomposeOptions::default()
        };
        let roster = self.ctx.roster()?;
        let input = match decompose::read_input(&opts, &roster) {
            Err(DecomposeError::Stop(message)) => {
                tracing::warn!("{message}");
                return Ok(Outcome::Blocked);
            }
            input => input?,
        };
        let agents = self.ctx.agents()?;
        let clock = self.ctx.clock();
        let report = decompose::decompose(
            &input,
            &opts,
            &roster,
            &agents,
            clock,
            Some(turn),
            &mut |_| {},
        )?;
        Ok(report.outcome)
    }

    fn execute(&self, job: &ExecutionJob, turn: &Turn<'_>) -> StageResult<Outcome> {
        let opts = ExecuteOptions {
            task_ref: job.task_ref.clone(),
            ledger: Some(job.ledger.clone()),
            workspace: Some(job.workspace.clone()),
            report: Some(job.report.clone()),
            issuer: Some("archon run".into()),
            cluster_dir: self.cluster_dir.clone(),
        };
        let task = execute::open(&opts, Some(turn))?;
        Ok(execute_by(&self.ctx, task, &opts, &self.delegate)?.outcome)
    }
}

/// Executes an opened task by the delegate chosen, with the context's agents
/// and roster (`archon execute` and the chain's execute stage).
pub fn execute_by(
    ctx: &impl StageContext,
    task: OpenedTask<'_>,
    opts: &ExecuteOptions,
    choice: &DelegateChoice,
) -> StageResult<ExecuteReport> {
    let (agents, roster);
    let delegation = match choice {
        DelegateChoice::Command(program) => Delegation::Command(program.clone()),
        DelegateChoice::Model => {
            (agents, roster) = (ctx.agents()?, ctx.roster()?);
            Delegation::Agents(&agents, &roster)
        }
        DelegateChoice::Simulation => {
            roster = ctx.roster()?;
            Delegation::Simulation(&roster)
        }
    };
    Ok(execute::execute(
        task,
        opts,
        delegation,
        ctx.clock(),
        ctx.seed(),
    )?)
}
