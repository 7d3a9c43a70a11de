//! The load driver with a small bound: stewards acting at once lose and
//! duplicate nothing. (The figures come from `examples/load.rs`; no timing
//! is asserted here.)
#![allow(clippy::unwrap_used)]

mod common;

use common::load::{self, LoadPlan};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_stewards_lose_and_duplicate_nothing_on_sqlite() {
    let plan = LoadPlan {
        stewards: 6,
        tasks_per_steward: 3,
    };
    let dir = tempfile::tempdir().unwrap();
    let ledger = archon_tasks::Ledger::open(dir.path().join("governance.db")).unwrap();
    let server = load::start(&plan, dir, ledger).await;
    let figures = load::run(&plan, &server).await;
    assert_eq!(figures.requests, 6 * 14);
    server.stop().await;
}
