//! Shared fixtures of the planner's tests.
#![allow(dead_code)]

use std::path::PathBuf;

use archon_core::agent_port::Agents;
use archon_core::clock::Clock;
use archon_core::roster::Roster;
use archon_core::seed::Seed;
use archon_plan::io::read_review_dir;
use archon_plan::packet::RatifiedIntentPacket;
use archon_plan::{plan_motion, DraftSource, PlanOptions, PlanOutput};

pub const NOW: &str = "2026-01-21T09:00:00Z";

pub fn data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

pub fn roster() -> Roster {
    Roster::from_json("roster.json", include_str!("../../../data/roster.json"))
        .expect("bundled roster")
}

pub fn clock() -> Clock {
    Clock::fixed_from_rfc3339(NOW).expect("fixed clock")
}

pub fn packets(dir: &str) -> Vec<RatifiedIntentPacket> {
    read_review_dir(&data(dir), NOW)
        .expect("review dir")
        .packets
}

pub fn simulate(packet: &RatifiedIntentPacket, opts: &PlanOptions) -> PlanOutput {
    let agents = Agents::simulated(Seed(72));
    plan_motion(
        packet,
        &roster(),
        &agents,
        &clock(),
        DraftSource::Agents,
        opts,
    )
    .expect("plans")
}

pub fn file<'a>(out: &'a PlanOutput, rel: &str) -> Option<&'a serde_json::Value> {
    out.files.iter().find(|(n, _)| n == rel).map(|(_, v)| v)
}
