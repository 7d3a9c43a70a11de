//! One module per command; each turns flags into a stage call and prints the result.

mod roster;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::context::Context;
use crate::outcome::Outcome;

pub fn run(cli: Cli) -> Result<Outcome> {
    let ctx = Context::from_args(&cli.global)?;
    match cli.command {
        Command::Roster => roster::run(&ctx),
    }
}
