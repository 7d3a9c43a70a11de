//! Deterministic fault injection for crash tests.
//!
//! Every durable write point of archon (an artifact file replaced, a trail line
//! appended, a ledger transaction about to commit) calls [`point`]. With
//! `ARCHON_FAIL_AT=<n>` in the environment, the n-th point reached by the process
//! ends it at once with exit code [`FAULT_EXIT_CODE`], before that write happens,
//! as a crash would: no destructor runs, no later write is made. Crash tests step
//! `n` through every write point instead of killing at measured moments.
//!
//! `ARCHON_FAULT_TALLY=<file>` appends one line per point reached (`<n> <what>`),
//! so a test learns how many points a run has. Without either variable a point
//! costs one relaxed atomic increment.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Exit code of a process stopped by an injected fault (distinct from 0/1/2 and
/// from the 128+signal codes of a real kill).
pub const FAULT_EXIT_CODE: i32 = 86;

struct Plan {
    fail_at: Option<u64>,
    tally: Option<std::path::PathBuf>,
}

fn plan() -> &'static Plan {
    static PLAN: OnceLock<Plan> = OnceLock::new();
    PLAN.get_or_init(|| Plan {
        fail_at: std::env::var("ARCHON_FAIL_AT")
            .ok()
            .and_then(|v| v.trim().parse().ok()),
        tally: std::env::var_os("ARCHON_FAULT_TALLY").map(Into::into),
    })
}

static REACHED: AtomicU64 = AtomicU64::new(0);

/// A durable write point named `what` (for the tally and the message).
pub fn point(what: &str) {
    crate::stop::at_write_point(what);
    let n = REACHED.fetch_add(1, Ordering::SeqCst) + 1;
    let plan = plan();
    if let Some(path) = &plan.tally {
        // Tally failures must not change the run under test.
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            // One write per line: points reached on several threads at once
            // must not interleave inside a line.
            let _ = f.write_all(format!("{n} {what}\n").as_bytes());
        }
    }
    if plan.fail_at == Some(n) {
        let _ = writeln!(
            std::io::stderr(),
            "archon: injected fault at write point {n} ({what})"
        );
        std::process::exit(FAULT_EXIT_CODE);
    }
}
