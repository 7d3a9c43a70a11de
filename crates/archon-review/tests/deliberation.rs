//! The simulated deliberation over seeds 1–10, on the bundled example with the
//! bundled roster and on the real consolidator session of the fixtures with
//! the real roster: every outcome occurs, panels convene, at most half of the
//! outcomes are deferred, and extended review runs and changes outcomes.
//! The per-seed table it prints is the one in `docs/simulation.md`.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use archon_core::agent_port::Agents;
use archon_core::clock::Clock;
use archon_core::roster::Roster;
use archon_core::seed::Seed;
use archon_review::ratify::SaltSource;
use archon_review::{load_session, read_session, Env, Facts, LoadOptions, MotionDigest};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn shared() -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/archon72"
    ))
    .to_path_buf()
}

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    ratified: usize,
    rejected: usize,
    deferred: usize,
    panels: usize,
    extended: usize,
    /// Motions whose extended review took them off the deferred route.
    changed_by_extended: usize,
}

fn sweep(name: &str, session_dir: &Path, roster_file: &Path) -> Vec<Tally> {
    let roster =
        Roster::from_json("roster", &std::fs::read_to_string(roster_file).unwrap()).unwrap();
    let texts = read_session(session_dir).unwrap();
    let session = load_session(&texts, &roster, LoadOptions::default()).unwrap();
    let facts = Facts::derive(&roster, &session.motions);
    let digests: Vec<MotionDigest> = session.motions.iter().map(MotionDigest::of).collect();
    let clock = Clock::fixed_from_rfc3339("2026-01-15T12:00:00Z").unwrap();
    println!(
        "{name}: seed | ratified | rejected | deferred | panels | extended | changed by extended"
    );
    (1..=10)
        .map(|s| {
            let agents = Agents::simulated(Seed(s));
            let env = Env {
                agents: &agents,
                clock,
                seed: Seed(s),
                salts: SaltSource::Seeded,
            };
            let run = archon_review::run(&session, &roster, &facts, &digests, None, &env).unwrap();
            let r = &run.result;
            let t = Tally {
                ratified: r.motions_ratified,
                rejected: r.motions_rejected,
                deferred: r.motions_deferred,
                panels: r.panels_convened,
                extended: r.extended_reviews,
                changed_by_extended: run
                    .aggregations
                    .iter()
                    .filter(|a| {
                        a.extended_review
                            .as_ref()
                            .is_some_and(|x| x.first_route != a.route)
                    })
                    .count(),
            };
            assert_eq!(t.ratified + t.rejected + t.deferred, session.motions.len());
            println!(
                "| {s} | {} | {} | {} | {} | {} | {} |",
                t.ratified, t.rejected, t.deferred, t.panels, t.extended, t.changed_by_extended
            );
            t
        })
        .collect()
}

fn assert_spread(name: &str, seeds: &[Tally]) {
    let sum = seeds.iter().fold(Tally::default(), |a, t| Tally {
        ratified: a.ratified + t.ratified,
        rejected: a.rejected + t.rejected,
        deferred: a.deferred + t.deferred,
        panels: a.panels + t.panels,
        extended: a.extended + t.extended,
        changed_by_extended: a.changed_by_extended + t.changed_by_extended,
    });
    println!("{name} total: {sum:?}");
    assert!(
        sum.ratified > 0 && sum.rejected > 0 && sum.deferred > 0,
        "{sum:?}"
    );
    assert!(sum.panels > 0, "{sum:?}");
    let outcomes = sum.ratified + sum.rejected + sum.deferred;
    assert!(
        2 * sum.deferred <= outcomes,
        "more than half deferred: {sum:?}"
    );
    assert!(sum.extended > 0 && sum.changed_by_extended > 0, "{sum:?}");
}

#[test]
fn bundled_example_deliberates_with_a_spread_of_outcomes() {
    let seeds = sweep(
        "bundled example",
        &workspace().join("data/example/consolidator/example-session-001"),
        &workspace().join("data/roster.json"),
    );
    assert_spread("bundled example", &seeds);
}

#[test]
fn real_fixture_session_deliberates_with_a_spread_of_outcomes() {
    let seeds = sweep(
        "fixture session",
        &shared().join("consolidator/c53dba60-e7d8-4eae-9c42-14750a914b4e"),
        &shared().join("docs/archons-base.json"),
    );
    assert_spread("fixture session", &seeds);
}
