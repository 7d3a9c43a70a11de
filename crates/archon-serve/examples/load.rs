//! The bounded load on loopback, with figures:
//! `cargo run --release -p archon-serve --example load [-- STEWARDS TASKS]`
//! (default 20 stewards × 12 tasks: 50 requests each). Prints throughput and
//! latency percentiles after checking that nothing was lost or duplicated.
#![allow(clippy::unwrap_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use common::load::{self, LoadPlan};

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| {
            a.parse()
                .expect("usage: load [STEWARDS [TASKS_PER_STEWARD]]")
        })
        .collect();
    let plan = LoadPlan {
        stewards: args.first().copied().unwrap_or(20),
        tasks_per_steward: args.get(1).copied().unwrap_or(12),
    };
    let dir = tempfile::tempdir().unwrap();
    let ledger = archon_tasks::Ledger::open(dir.path().join("governance.db")).unwrap();
    let server = load::start(&plan, dir, ledger).await;
    let figures = load::run(&plan, &server).await;
    println!(
        "sqlite: {} stewards x {} requests = {} requests in {:.2} s: {:.0} requests/s, p50 {:.1} ms, p99 {:.1} ms; {} events, ledger verified",
        plan.stewards,
        plan.operations_per_steward(),
        figures.requests,
        figures.elapsed.as_secs_f64(),
        figures.throughput(),
        figures.percentile(50.0).as_secs_f64() * 1e3,
        figures.percentile(99.0).as_secs_f64() * 1e3,
        figures.events,
    );
    server.stop().await;
}
