//! One module per command; each turns flags into a stage call and prints the result.

pub(crate) mod decompose;
pub(crate) mod doctrine;
pub(crate) mod execute;
pub(crate) mod plan;
pub(crate) mod proposals;
pub(crate) mod report;
pub(crate) mod review;
pub(crate) mod rfp;
mod roster;
pub(crate) mod run;
pub(crate) mod select;
pub(crate) mod status;
pub(crate) mod tasks;
pub(crate) mod trace;
pub(crate) mod usage;
pub(crate) mod verify;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::context::Context;
use crate::outcome::Outcome;

pub fn run(cli: Cli, progress: archon_agents::Progress) -> Result<Outcome> {
    let ctx = Context::from_args(&cli.global, progress)?;
    match cli.command {
        Command::Roster => roster::run(&ctx),
        Command::Run(args) => run::run(&ctx, &args),
        Command::Status(args) => status::run(&ctx, &args),
        Command::Trace(args) => trace::run(&ctx, &args),
        Command::Decompose(args) => decompose::run(&ctx, &args),
        Command::Plan(args) => plan::run(&ctx, &args),
        Command::Rfp(args) => rfp::run(&ctx, &args),
        Command::Proposals(args) => proposals::run(&ctx, &args),
        Command::Select(args) => select::run(&ctx, &args),
        Command::Usage(args) => usage::run(&ctx, &args),
        Command::Review(args) => review::run(&ctx, &args),
        Command::Tasks(args) => tasks::run(&ctx, &args),
        Command::Verify(args) => verify::run(&ctx, &args),
        Command::Report(args) => report::run(&ctx, &args),
        Command::Execute(args) => execute::run(&ctx, &args),
        Command::Doctrine(args) => doctrine::run(&ctx, &args),
    }
}
