//! Command-line flags, parsed once.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "archon",
    version,
    about = "The Archon 72 governance pipeline engine"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Roster file (archons-base.json format); default: the bundled roster.
    #[arg(long, global = true, value_name = "FILE")]
    pub roster: Option<PathBuf>,
    /// Seed of every simulated choice.
    #[arg(long, global = true, default_value_t = 72)]
    pub seed: u64,
    /// Where answers come from: simulation, an LLM server, or LLM when one is configured.
    #[arg(long, global = true, value_enum, default_value_t = Mode::Auto)]
    pub mode: Mode,
    /// More output (-v: events as they happen, -vv: debug logs).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Machine-readable output on stdout, where a command prints data.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(flatten)]
    pub llm: LlmArgs,
}

/// Model endpoint options (LLM mode); each overrides `archon.toml` `[llm]`,
/// which overrides each archon's roster binding.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "LLM options")]
pub struct LlmArgs {
    /// LLM settings file; default: ./archon.toml when present.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Provider for every archon: ollama, local, ollama_cloud, openai, openai_compatible, vllm, llamacpp.
    #[arg(long, global = true, value_name = "NAME")]
    pub provider: Option<String>,
    /// Model for every archon.
    #[arg(long, global = true, value_name = "NAME")]
    pub model: Option<String>,
    /// Server base URL for every archon (e.g. http://localhost:11434).
    #[arg(long, global = true, value_name = "URL")]
    pub base_url: Option<String>,
    /// Environment variable holding the API key (sent as a Bearer token).
    #[arg(long, global = true, value_name = "VAR")]
    pub api_key_env: Option<String>,
    /// Model calls in flight at once (default: the server's slot count where it says, else 8).
    #[arg(long, global = true, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Model calls in flight at once per server (default: --concurrency).
    #[arg(long, global = true, value_name = "N")]
    pub per_endpoint_concurrency: Option<usize>,
    /// Times an invalid answer is asked again (default 2).
    #[arg(long, global = true, value_name = "N")]
    pub max_reasks: Option<u32>,
    /// Stall timeout: seconds without a token before a call is cut (default 120).
    #[arg(long, global = true, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: Option<u64>,
    /// Most tokens of one answer (overrides the roster's max_tokens).
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_tokens: Option<u32>,
    /// Retries of a call after a connection error, a 429 or a 5xx (default 2).
    #[arg(long, global = true, value_name = "N")]
    pub max_retries: Option<u32>,
    /// Record every model exchange into this cassette directory, reusing recorded ones.
    #[arg(long, global = true, value_name = "DIR", conflicts_with = "replay")]
    pub record: Option<PathBuf>,
    /// Answer only from this cassette directory; never call a server.
    #[arg(long, global = true, value_name = "DIR")]
    pub replay: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    Simulation,
    Llm,
    Auto,
    /// Hand-written answers: `archon plan` reads its inbox; elsewhere it acts as `auto`.
    Manual,
    /// `archon plan`: the inbox's answers, the agents' for portfolios without a file; elsewhere `auto`.
    Hybrid,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The whole chain in one command (review → plan → rfp → proposals → select → decompose → tasks → execute), resumable.
    Run(crate::commands::run::RunArgs),
    /// Where a run stands, stage by stage.
    Status(crate::commands::status::StatusArgs),
    /// The provenance chain of a task: motion → vote → plan and epic → requirements → proposal and tactic → draft → ledger states.
    Trace(crate::commands::trace::TraceArgs),
    /// Implementation Dossier: the Presidents turn an Executive plan into rfp.json, one mandate per motion.
    Rfp(crate::commands::rfp::RfpArgs),
    /// Administrative pipeline: the Dukes answer a mandate's dossier with proposals.
    Proposals(crate::commands::proposals::ProposalsArgs),
    /// Executive Review (E4): the Presidents score, rank and select among the proposals.
    Select(crate::commands::select::SelectArgs),
    /// Print the roster by rank and branch, and validate it (exit 2 when invalid).
    Roster,
    /// Earl Decomposition Bridge: winning proposal tactics → task drafts → cluster routing → ledger activations.
    Decompose(crate::commands::decompose::DecomposeArgs),
    /// Execution Planner v2: ratified motions → Executive plans (epics, blockers, gates, handoff).
    Plan(crate::commands::plan::PlanArgs),
    /// Total model calls, tokens, latency and cost per stage, archon and model.
    Usage(crate::commands::usage::UsageArgs),
    /// Motion Review Pipeline: triage, packets, reviews, panels, ratification of a consolidator session.
    Review(crate::commands::review::ReviewArgs),
    /// The consent-based task lifecycle on the governance ledger (list, show, accept, decline, …).
    Tasks(crate::commands::tasks::TasksArgs),
    /// The stewards' HTTP API over the governance ledger, for clusters on other machines (--add-steward: issue a token).
    Serve(crate::commands::serve::ServeArgs),
    /// Execute an accepted task: f(task) -> complete | blocked | escalated, with an Execution Stage Report.
    Execute(crate::commands::execute::ExecuteArgs),
    /// The execution lead's doctrine: assemble SKILL.md, check the eight verification criteria.
    Doctrine(crate::commands::doctrine::DoctrineArgs),
    /// Check the governance ledger hash chain and every stage manifest under a directory (exit 1 on problems).
    Verify(crate::commands::verify::VerifyArgs),
    /// One self-contained HTML page of a run: review, planning, selection, tasks, verification.
    Report(crate::commands::report::ReportArgs),
}
