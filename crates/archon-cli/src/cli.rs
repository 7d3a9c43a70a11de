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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    Simulation,
    Llm,
    Auto,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Implementation Dossier: the Presidents turn an Executive plan into rfp.json, one mandate per motion.
    Rfp(crate::commands::rfp::RfpArgs),
    /// Administrative pipeline: the Dukes answer a mandate's dossier with proposals.
    Proposals(crate::commands::proposals::ProposalsArgs),
    /// Executive Review (E4): the Presidents score, rank and select among the proposals.
    Select(crate::commands::select::SelectArgs),
    /// Print the roster by rank and branch, and validate it (exit 2 when invalid).
    Roster,
}
