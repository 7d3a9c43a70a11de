//! The `archon` binary: parse flags, run one command, map the result to an exit code.
//! Exit codes: 0 complete, 1 blocked or escalated, 2 bad input or usage.

/// `print!` and `println!` that never panic: what goes to a closed pipe
/// (`archon … | head`) is dropped and the command carries on with its work.
/// They shadow std's macros in every module below.
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::write_stdout(format_args!($($arg)*))
    };
}

macro_rules! println {
    () => {
        $crate::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

mod cli;
mod commands;
mod context;
mod outcome;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let progress = match context::progress(&cli.global) {
        Ok(p) => p,
        Err(err) => {
            eprintln!("error: {err:#}");
            return ExitCode::from(2);
        }
    };
    context::init_logging(&cli.global, &progress);
    match commands::run(cli, progress) {
        Ok(outcome) => outcome.exit_code(),
        Err(err) => {
            // Bad input is told apart from a failing disk or database in the message.
            let kind = archon_pipeline::error::kind_of(err.as_ref());
            eprintln!("error: {}{err:#}", kind.label());
            ExitCode::from(2)
        }
    }
}

fn write_stdout(args: std::fmt::Arguments<'_>) {
    let _ = std::io::stdout().lock().write_fmt(args);
}
