//! One module per command; each turns flags into a stage call and prints the result.

pub(crate) mod decompose;
pub(crate) mod doctrine;
pub(crate) mod execute;
pub(crate) mod plan;
pub(crate) mod proposals;
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
    let outcome = command(&ctx, cli.command)?;
    answers_verdict(&ctx, outcome)
}

fn command(ctx: &Context, command: Command) -> Result<Outcome> {
    match command {
        Command::Roster => roster::run(ctx),
        Command::Run(args) => run::run(ctx, &args),
        Command::Status(args) => status::run(ctx, &args),
        Command::Trace(args) => trace::run(ctx, &args),
        Command::Decompose(args) => decompose::run(ctx, &args),
        Command::Plan(args) => plan::run(ctx, &args),
        Command::Rfp(args) => rfp::run(ctx, &args),
        Command::Proposals(args) => proposals::run(ctx, &args),
        Command::Select(args) => select::run(ctx, &args),
        Command::Usage(args) => usage::run(ctx, &args),
        Command::Review(args) => review::run(ctx, &args),
        Command::Tasks(args) => tasks::run(ctx, &args),
        Command::Verify(args) => verify::run(ctx, &args),
        Command::Execute(args) => execute::run(ctx, &args),
        Command::Doctrine(args) => doctrine::run(ctx, &args),
    }
}

/// The answers behind a command's outcome, told honestly: a model server
/// that failed is an error (exit 2), never a stage of abstentions; a stage
/// whose answers were mostly invalid is blocked (exit 1), with the counts and
/// the first reasons on stderr.
fn answers_verdict(ctx: &Context, outcome: Outcome) -> Result<Outcome> {
    let counts = ctx.tally.take();
    if let Some(failure) = &counts.first_failure {
        anyhow::bail!("the model server failed ({}): {failure}", counts.line());
    }
    if counts.mostly_invalid() {
        eprintln!("blocked: most answers were invalid: {}", counts.line());
        for reason in &counts.first_invalid_reasons {
            eprintln!("  {reason}");
        }
        return Ok(Outcome::Blocked);
    }
    if ctx.loud() && counts.asks() > 0 && ctx.answers_from_llm().unwrap_or(false) {
        eprintln!("answers: {}", counts.line());
    }
    Ok(outcome)
}
