//! One module per command; each turns flags into a stage call and prints the result.

pub(crate) mod decompose;
pub(crate) mod proposals;
pub(crate) mod rfp;
mod roster;
pub(crate) mod select;
pub(crate) mod usage;
pub(crate) mod tasks;
pub(crate) mod verify;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::context::Context;
use crate::outcome::Outcome;

pub fn run(cli: Cli) -> Result<Outcome> {
    let ctx = Context::from_args(&cli.global)?;
    match cli.command {
        Command::Roster => roster::run(&ctx),
        Command::Decompose(args) => decompose::run(&ctx, &args),
        Command::Rfp(args) => rfp::run(&ctx, &args),
        Command::Proposals(args) => proposals::run(&ctx, &args),
        Command::Select(args) => select::run(&ctx, &args),
        Command::Usage(args) => usage::run(&ctx, &args),
        Command::Tasks(args) => tasks::run(&ctx, &args),
        Command::Verify(args) => verify::run(&ctx, &args),
    }
}
