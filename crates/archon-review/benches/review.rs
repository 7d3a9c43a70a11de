//! Simulated review of 10,000 synthetic motions with the bundled roster, and of
//! the bundled example session, end to end in memory (no file output).

#![allow(clippy::unwrap_used)]

use archon_core::agent_port::Agents;
use archon_core::clock::Clock;
use archon_core::roster::Roster;
use archon_core::seed::Seed;
use archon_review::session::SessionTexts;
use archon_review::{load_session, Env, Facts, LoadOptions, MotionDigest};
use criterion::{criterion_group, criterion_main, Criterion};

const ROSTER: &str = include_str!("../../../data/roster.json");
const EXAMPLE: &str =
    include_str!("../../../data/example/consolidator/example-session-001/mega-motions.json");
const EXAMPLE_NOVEL: &str =
    include_str!("../../../data/example/consolidator/example-session-001/novel-proposals.json");

/// `n` motions with supporter counts spread over 5..=60 and texts that touch
/// red lines on a fraction of them, built deterministically from the seed.
fn synthetic(roster: &Roster, n: usize) -> String {
    let seed = Seed(1);
    let subjects = [
        "records and shared memory",
        "speed over safety in deployment",
        "training of every cluster",
        "a weak audit trail for routine work",
        "interfaces and standards",
        "vendor lock-in for platforms",
    ];
    let motions: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let k = i.to_string();
            let count = 5 + seed.below(56, &["count", &k]);
            let start = seed.below(72, &["start", &k]);
            let supporters: Vec<&str> =
                (0..count).map(|j| roster.archons[(start + j) % 72].name.as_str()).collect();
            let subject = seed.pick(&subjects, &["subject", &k]);
            serde_json::json!({
                "mega_motion_id": format!("mm-{i:05}"),
                "title": format!("Mega-Motion {i}: on {subject}"),
                "theme": format!("Theme {}", i % 40),
                "consolidated_text": format!(
                    "THE CONCLAVE RESOLVES:\nSECTION 1: SCOPE\n1.1 This motion concerns {subject}.\nSECTION 2: DUTIES\n2.1 Each cluster reports each cycle.\n2.2 The portfolio reviews the reports.\nSECTION 3: REVIEW\n3.1 The Conclave reviews after two cycles."
                ),
                "source_motion_ids": [format!("src-{i}-a"), format!("src-{i}-b")],
                "all_supporting_archons": supporters,
            })
        })
        .collect();
    serde_json::to_string(&motions).unwrap_or_default()
}

fn run(roster: &Roster, texts: &SessionTexts, include_novel: bool) -> usize {
    let options = LoadOptions {
        include_novel,
        allow_unknown_supporters: false,
    };
    let session = load_session(texts, roster, options).expect("valid session");
    let facts = Facts::derive(roster, &session.motions);
    let digests: Vec<MotionDigest> = session.motions.iter().map(MotionDigest::of).collect();
    let agents = Agents::simulated(Seed(72));
    let clock = Clock::fixed_from_rfc3339("2026-01-15T12:00:00Z").expect("valid time");
    let env = Env {
        agents: &agents,
        clock,
        seed: Seed(72),
        salts: archon_review::ratify::SaltSource::Seeded,
    };
    let run = archon_review::run(&session, roster, &facts, &digests, None, &env).expect("runs");
    run.result.motions_ratified + run.result.motions_rejected + run.result.motions_deferred
}

fn bench(c: &mut Criterion) {
    let roster = Roster::from_json("roster.json", ROSTER).expect("bundled roster is valid");
    let example = SessionTexts {
        session_id: "example-session-001".into(),
        mega_motions: EXAMPLE.into(),
        novel_proposals: Some(EXAMPLE_NOVEL.into()),
    };
    let big = SessionTexts {
        session_id: "synthetic-10k".into(),
        mega_motions: synthetic(&roster, 10_000),
        novel_proposals: None,
    };
    let mut g = c.benchmark_group("review");
    g.sample_size(10);
    g.bench_function("bundled_example", |b| {
        b.iter(|| run(&roster, &example, true))
    });
    g.bench_function("synthetic_10k_motions", |b| {
        b.iter(|| run(&roster, &big, false))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
