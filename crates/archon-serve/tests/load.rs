//! The load driver at the bound, 20 stewards × 50 requests: stewards
//! acting at once lose and duplicate nothing. (The figures come from
//! `examples/load.rs`; no timing is asserted here.)
#![allow(clippy::unwrap_used)]

mod common;

use common::load::{self, LoadPlan};
use common::Backend;

const PLAN: LoadPlan = LoadPlan {
    stewards: 20,
    tasks_per_steward: 12,
};

async fn concurrent_stewards_on(backend: Backend) {
    let server = load::start(&PLAN, backend).await;
    let figures = load::run(&PLAN, &server).await;
    assert_eq!(figures.requests, 20 * 50);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_stewards_lose_and_duplicate_nothing_on_sqlite() {
    concurrent_stewards_on(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_stewards_lose_and_duplicate_nothing_on_postgres() {
    concurrent_stewards_on(Backend::Postgres).await;
}
