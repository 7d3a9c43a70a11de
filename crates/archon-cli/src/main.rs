//! The `archon` binary: parse flags, run one command, map the result to an exit code.
//! Exit codes: 0 complete, 1 blocked or escalated, 2 bad input or usage.

/// `print!` and `println!` that never panic: what goes to a closed pipe
/// (`archon … | head`) is dropped and the command carries on with its work;
/// any other failure (`> /dev/full`) is remembered and makes the exit code 2.
/// `eprintln!` never panics either (`2>/dev/full`). They shadow std's macros
/// in every module below.
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

macro_rules! eprintln {
    ($($arg:tt)*) => {
        $crate::write_stderr(format_args!("{}\n", format_args!($($arg)*)))
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
            eprintln!(
                "error: {}",
                archon_core::error_text::with_causes(err.as_ref())
            );
            return ExitCode::from(2);
        }
    };
    context::init_logging(&cli.global, &progress);
    if let Err(e) = archon_store::stop::install() {
        eprintln!("error: cannot handle SIGINT/SIGTERM: {e}");
        return ExitCode::from(2);
    }
    let code = match commands::run(cli, progress) {
        Ok(outcome) => outcome.exit_code(),
        Err(err) => {
            // Bad input is told apart from a failing disk or database in the message.
            let kind = archon_pipeline::error::kind_of(err.as_ref());
            let message = archon_core::error_text::with_causes(err.as_ref());
            eprintln!("error: {}{message}", kind.label());
            ExitCode::from(2)
        }
    };
    let flushed = std::io::stdout().lock().flush();
    if let Err(e) = flushed {
        note_stdout_error(e);
    }
    match (
        STDOUT_ERROR.get(),
        archon_store::stop::requested_exit_code(),
    ) {
        (Some(e), _) => {
            eprintln!("error: writing to stdout: {e}");
            ExitCode::from(2)
        }
        // Stopped by a signal after the last write: still a stop.
        (None, Some(stopped)) => ExitCode::from(stopped),
        (None, None) => code,
    }
}

/// The first failure to write to stdout other than a closed pipe.
static STDOUT_ERROR: std::sync::OnceLock<std::io::Error> = std::sync::OnceLock::new();

fn note_stdout_error(e: std::io::Error) {
    if e.kind() != std::io::ErrorKind::BrokenPipe {
        let _ = STDOUT_ERROR.set(e);
    }
}

fn write_stdout(args: std::fmt::Arguments<'_>) {
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        note_stdout_error(e);
    }
}

fn write_stderr(args: std::fmt::Arguments<'_>) {
    // Nowhere left to report a failure to write an error.
    let _ = std::io::stderr().lock().write_fmt(args);
}
