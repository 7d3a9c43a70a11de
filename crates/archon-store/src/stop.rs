//! Stopping on SIGINT or SIGTERM at a clean point.
//!
//! With [`install`] called, a signal does not end the process at once: it is
//! noted, work already started carries on, and the process ends at the next
//! durable write point ([`crate::fault::point`]) before that write starts, with
//! exit code 128 + the signal (130 for SIGINT, 143 for SIGTERM). A ledger
//! operation (intent, then outcome) is held as one [`Operation`]: its own write
//! points never stop, and a thread that would stop elsewhere waits until every
//! operation in flight on other threads has written its outcome, so a stop never
//! leaves an orphaned intent. A second signal ends the process at once, as
//! without the handler. This is the process's one signal handling: a stage
//! that runs an external program polls [`received_signal`] to end it early
//! (`archon_execute::process`).

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};

use signal_hook::consts::{SIGINT, SIGTERM};

struct Flags {
    signal: Arc<AtomicUsize>,
    seen: Arc<AtomicBool>,
}

fn flags() -> &'static Flags {
    static FLAGS: OnceLock<Flags> = OnceLock::new();
    FLAGS.get_or_init(|| Flags {
        signal: Arc::new(AtomicUsize::new(0)),
        seen: Arc::new(AtomicBool::new(false)),
    })
}

/// Notes SIGINT and SIGTERM instead of dying on the first one. Once per
/// process: later calls (every delegate program run makes one) answer as the
/// first did.
pub fn install() -> std::io::Result<()> {
    static INSTALLED: OnceLock<Result<(), (std::io::ErrorKind, String)>> = OnceLock::new();
    let installed = INSTALLED.get_or_init(|| {
        let f = flags();
        let register = || -> std::io::Result<()> {
            for sig in [SIGINT, SIGTERM] {
                // Registered first, so the second signal finds the flag already set.
                signal_hook::flag::register_conditional_default(sig, Arc::clone(&f.seen))?;
                signal_hook::flag::register(sig, Arc::clone(&f.seen))?;
                signal_hook::flag::register_usize(sig, Arc::clone(&f.signal), sig as usize)?;
            }
            Ok(())
        };
        register().map_err(|e| (e.kind(), e.to_string()))
    });
    installed
        .clone()
        .map_err(|(kind, message)| std::io::Error::new(kind, message))
}

/// The signal noted (SIGINT 2, SIGTERM 15), if any: what a stage running an
/// external program polls to end it early.
pub fn received_signal() -> Option<i32> {
    match flags().signal.load(Ordering::SeqCst) {
        0 => None,
        sig => i32::try_from(sig).ok(),
    }
}

/// The exit code a stop asks for (128 + signal), once a signal was noted.
pub fn requested_exit_code() -> Option<u8> {
    received_signal().and_then(|sig| u8::try_from(128 + sig).ok())
}

/// Ledger operations in flight, process-wide; a stop waits for zero.
static IN_FLIGHT: Mutex<usize> = Mutex::new(0);
static SETTLED: Condvar = Condvar::new();

thread_local! {
    /// Operations this thread holds: its own write points never stop.
    static HELD: Cell<usize> = const { Cell::new(0) };
}

/// One ledger operation from before its intent to after its outcome.
#[must_use = "the operation is in flight only while this guard lives"]
pub struct Operation(());

/// Starts a ledger operation: ends the process first when a stop was asked
/// for (unless this thread already holds one), else holds it until dropped.
pub fn operation() -> Operation {
    let held = HELD.with(Cell::get);
    let mut n = IN_FLIGHT.lock().unwrap_or_else(|e| e.into_inner());
    if held == 0 {
        n = stop_if_requested(n, "a ledger operation");
    }
    *n += 1;
    HELD.with(|h| h.set(held + 1));
    Operation(())
}

impl Drop for Operation {
    fn drop(&mut self) {
        HELD.with(|h| h.set(h.get().saturating_sub(1)));
        let mut n = IN_FLIGHT.lock().unwrap_or_else(|e| e.into_inner());
        *n = n.saturating_sub(1);
        SETTLED.notify_all();
    }
}

/// Called at each durable write point named `what`: ends the process before the
/// write when a stop was asked for, except inside this thread's ledger operation.
pub(crate) fn at_write_point(what: &str) {
    if requested_exit_code().is_none() || HELD.with(Cell::get) > 0 {
        return;
    }
    let n = IN_FLIGHT.lock().unwrap_or_else(|e| e.into_inner());
    drop(stop_if_requested(n, what));
}

/// With a stop asked for, waits until no operation is in flight and exits,
/// the lock held so that none starts meanwhile.
fn stop_if_requested<'a>(
    mut n: std::sync::MutexGuard<'a, usize>,
    what: &str,
) -> std::sync::MutexGuard<'a, usize> {
    let Some(code) = requested_exit_code() else {
        return n;
    };
    while *n > 0 {
        n = SETTLED.wait(n).unwrap_or_else(|e| e.into_inner());
    }
    let _ = std::io::Write::write_fmt(
        &mut std::io::stderr(),
        format_args!("archon: stopped by signal before writing {what}; run the same command again to resume\n"),
    );
    std::process::exit(i32::from(code));
}
