//! Stopping on SIGINT or SIGTERM at a clean point.
//!
//! With [`install`] called, a signal does not end the process at once: it is
//! noted, work already started carries on, and the process ends at the next
//! durable write point ([`crate::fault::point`]) before that write starts, with
//! exit code 128 + the signal (130 for SIGINT, 143 for SIGTERM). The one point
//! that does not stop is a ledger operation's outcome: an operation whose
//! intent is written finishes, so a stop never leaves an orphaned intent. A
//! second signal ends the process at once, as without the handler.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

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

/// Notes SIGINT and SIGTERM instead of dying on the first one.
pub fn install() -> std::io::Result<()> {
    let f = flags();
    for sig in [SIGINT, SIGTERM] {
        // Registered first, so the second signal finds the flag already set.
        signal_hook::flag::register_conditional_default(sig, Arc::clone(&f.seen))?;
        signal_hook::flag::register(sig, Arc::clone(&f.seen))?;
        signal_hook::flag::register_usize(sig, Arc::clone(&f.signal), sig as usize)?;
    }
    Ok(())
}

/// The exit code a stop asks for (128 + signal), once a signal was noted.
pub fn requested_exit_code() -> Option<u8> {
    match flags().signal.load(Ordering::SeqCst) {
        0 => None,
        sig => u8::try_from(128 + sig).ok(),
    }
}

/// Called at each durable write point named `what`: ends the process before the
/// write when a stop was asked for (except to finish a ledger operation).
pub(crate) fn at_write_point(what: &str) {
    if what == "ledger outcomes" {
        return;
    }
    if let Some(code) = requested_exit_code() {
        let _ = std::io::Write::write_fmt(
            &mut std::io::stderr(),
            format_args!("archon: stopped by signal before writing {what}; run the same command again to resume\n"),
        );
        std::process::exit(i32::from(code));
    }
}
