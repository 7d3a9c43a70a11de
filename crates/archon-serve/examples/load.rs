//! The bounded load on loopback, with figures:
//! `cargo run --release -p archon-serve --example load [-- sqlite|postgres [STEWARDS [TASKS]]]`
//! (default sqlite, 20 stewards × 12 tasks: 50 requests each; postgres is
//! archon-testkit's private server, started in a temp folder with
//! `fsync=off`). Prints throughput and latency percentiles after checking
//! that nothing was lost or duplicated.
#![allow(clippy::unwrap_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use common::load::{self, LoadPlan};
use common::Backend;

#[tokio::main]
async fn main() {
    let usage = "usage: load [sqlite|postgres [STEWARDS [TASKS_PER_STEWARD]]]";
    let args: Vec<String> = std::env::args().skip(1).collect();
    let backend = match args.first().map(String::as_str) {
        None | Some("sqlite") => Backend::Sqlite,
        Some("postgres") => Backend::Postgres,
        Some(_) => panic!("{usage}"),
    };
    let args: Vec<usize> = args
        .iter()
        .skip(1)
        .map(|a| a.parse().expect(usage))
        .collect();
    let plan = LoadPlan {
        stewards: args.first().copied().unwrap_or(20),
        tasks_per_steward: args.get(1).copied().unwrap_or(12),
    };
    let server = load::start(&plan, backend).await;
    let figures = load::run(&plan, &server).await;
    println!(
        "{backend:?}: {} stewards x {} requests = {} requests in {:.2} s: {:.0} requests/s, p50 {:.1} ms, p99 {:.1} ms; {} events, ledger verified",
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
