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
pub(crate) mod serve;
pub(crate) mod status;
pub(crate) mod tasks;
pub(crate) mod trace;
pub(crate) mod usage;
pub(crate) mod verify;

use anyhow::Result;

use std::path::Path;

use archon_pipeline::{Layout, RunLock};

use crate::cli::{Cli, Command};
use crate::context::Context;
use crate::outcome::Outcome;

pub fn run(cli: Cli, progress: archon_agents::Progress) -> Result<Outcome> {
    let ctx = Context::from_args(&cli.global, progress)?;
    // `archon run` locks its root itself, for the whole chain.
    let _lock = match writes_under(&cli.command) {
        Some(layout) => Some(RunLock::acquire(&layout)?),
        None => None,
    };
    let outcome = match command(&ctx, cli.command) {
        Ok(outcome) => outcome,
        // A stage that stopped on a failed model server says so, with the counts.
        Err(_) if ctx.tally.transport_failure().is_some() => Outcome::Blocked,
        Err(e) => return Err(e),
    };
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
        Command::Serve(args) => serve::run(ctx, &args),
        Command::Verify(args) => verify::run(ctx, &args),
        Command::Report(args) => report::run(ctx, &args),
        Command::Execute(args) => execute::run(ctx, &args),
        Command::Doctrine(args) => doctrine::run(ctx, &args),
    }
}

/// The run root a stage command run on its own writes under, which it locks
/// like `archon run` does: the root its mandate or ledger lies in. Commands
/// that only read or only act on the ledger, and outputs outside any run root,
/// take no lock.
fn writes_under(command: &Command) -> Option<Layout> {
    let in_root = |p: &Path| Layout::containing(p);
    let ledger_root = |ledger: &Option<std::path::PathBuf>| match ledger {
        Some(l) => l.parent().map(Layout::new),
        None => Some(Layout::default()),
    };
    match command {
        Command::Rfp(a) => a.out.parent().map(Layout::new),
        Command::Proposals(a) => in_root(&a.mandate_dir),
        Command::Select(a) => in_root(&a.mandate_dir),
        Command::Decompose(a) if !a.dry_run => {
            let dir = a
                .from_selection_dir
                .as_deref()
                .or(a.selection_file.as_deref().and_then(Path::parent));
            match (&a.ledger, dir) {
                (Some(_), _) => ledger_root(&a.ledger),
                (None, Some(dir)) => in_root(dir),
                (None, None) => Some(Layout::default()),
            }
        }
        Command::Execute(a) => ledger_root(&a.ledger),
        // `archon tasks` writes only ledger transactions, which SQLite serialises
        // between processes: stewards act while a run is in progress.
        _ => None,
    }
    .filter(|layout| layout.root().is_dir())
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
