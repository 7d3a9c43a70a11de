//! E1 portfolio selection on real motions: every mega-motion of the fixture
//! consolidator session (with the fixture roster) and the bundled example.
//! The invariants hold whatever the review ratifies, so these tests read the
//! mega-motions themselves rather than one review's output.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::collections::BTreeMap;

use serde_json::{json, Value};

use archon_core::roster::Roster;
use archon_plan::assignment::{assign, presidents, unclaimed_clause_blockers, Overrides};
use archon_plan::packet::{build_packet, RatifiedIntentPacket};
use archon_plan::review_input::{RatifiedMotion, ReviewContext};
use common::{roster, NOW};

const SHARED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/archon72"
);
const FIXTURE_SESSION: &str = "consolidator/c53dba60-e7d8-4eae-9c42-14750a914b4e";
const BUNDLED_SESSION: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/example/consolidator/example-session-001"
);

fn fixture_roster() -> Roster {
    let path = format!("{SHARED}/docs/archons-base.json");
    Roster::from_json(&path, &std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// One packet per mega-motion of a consolidator session, as if each were ratified.
fn mega_motion_packets(session_dir: &str) -> Vec<RatifiedIntentPacket> {
    let text = std::fs::read_to_string(format!("{session_dir}/mega-motions.json")).unwrap();
    let motions: Vec<Value> = serde_json::from_str(&text).unwrap();
    motions
        .iter()
        .map(|m| {
            let motion: RatifiedMotion = serde_json::from_value(json!({
                "mega_motion_id": m["mega_motion_id"],
                "title": m["title"],
                "theme": m["theme"],
                "final_text": m["consolidated_text"],
                "vote": null,
            }))
            .unwrap();
            build_packet(
                "session",
                &motion,
                ReviewContext::default(),
                Vec::new(),
                NOW,
            )
        })
        .collect()
}

/// Owner, affected portfolios and unclaimed clauses of every motion, checking
/// the selection invariants on the way.
fn select_all(
    packets: &[RatifiedIntentPacket],
    roster: &Roster,
    several_when_multi_clause: bool,
) -> BTreeMap<String, Value> {
    let presidents = presidents(roster);
    let mut out = BTreeMap::new();
    for p in packets {
        let r = assign(p, &presidents, &Overrides::default(), NOW).unwrap();
        let id = &p.motion_id;
        let clauses = &p.ratified_motion.clauses;
        // Every clause is claimed by an affected portfolio or surfaces as a blocker.
        for c in clauses {
            let claimed = r
                .affected_portfolios
                .iter()
                .any(|a| r.claimed_by(a).contains(&c.clause_ref));
            assert!(
                claimed || r.unclaimed_clauses.contains(&c.clause_ref),
                "{id}: clause {} neither claimed nor a blocker",
                c.clause_ref
            );
        }
        let blockers = unclaimed_clause_blockers(p, &r);
        assert_eq!(blockers.len(), r.unclaimed_clauses.len(), "{id}");
        for b in &blockers {
            assert_eq!(
                b.owner_portfolio_id.as_deref(),
                Some(r.plan_owner.portfolio_id.as_str())
            );
        }
        // The owner claims the most clauses; every claiming portfolio is affected.
        let most = r
            .scores
            .iter()
            .map(|s| s.claimed_clauses.len())
            .max()
            .unwrap();
        let owner_claims = r.claimed_by(&r.plan_owner.portfolio_id).len();
        assert!(most == 0 || owner_claims == most, "{id}");
        for s in r.scores.iter().filter(|s| !s.claimed_clauses.is_empty()) {
            assert!(r.affected_portfolios.contains(&s.portfolio_id), "{id}");
        }
        if several_when_multi_clause && clauses.len() > 1 {
            assert!(
                r.affected_portfolios.len() >= 2,
                "{id} ({} clauses): only {:?} affected",
                clauses.len(),
                r.affected_portfolios
            );
        }
        // No President reviews its own blockers.
        for raiser in &r.affected_portfolios {
            assert_ne!(r.reviewer_for(raiser), Some(raiser.as_str()), "{id}");
            assert!(!r.clarification_reviewers(raiser).contains(raiser), "{id}");
        }
        out.insert(
            format!("{} {}", id, p.ratified_motion.title),
            json!({
                "owner": r.plan_owner.portfolio_id,
                "affected": r.affected_portfolios,
                "clauses": clauses.len(),
                "unclaimed": r.unclaimed_clauses,
                "claims": r.clause_claims.iter().map(|c| (c.clause_ref.clone(), c.claimed_by.clone())).collect::<Vec<_>>(),
            }),
        );
    }
    out
}

#[test]
fn fixture_mega_motions_are_claimed_clause_by_clause() {
    let packets = mega_motion_packets(&format!("{SHARED}/{FIXTURE_SESSION}"));
    assert_eq!(packets.len(), 13);
    let selection = select_all(&packets, &fixture_roster(), true);
    insta::assert_json_snapshot!("fixture_selection", selection);
}

#[test]
fn bundled_mega_motions_are_claimed_clause_by_clause() {
    // Before review some bundled motions touch one portfolio only (their review
    // amendments add the rest); the plans of the reviewed example have two or
    // more (`archon-cli` test `peer_review_on_real_sessions`).
    let packets = mega_motion_packets(BUNDLED_SESSION);
    let selection = select_all(&packets, &roster(), false);
    insta::assert_json_snapshot!("bundled_selection", selection);
}

#[test]
fn a_lone_portfolio_is_reviewed_by_the_nearest_other() {
    let roster = roster();
    let presidents = presidents(&roster);
    let packet = mega_motion_packets(BUNDLED_SESSION).remove(0);
    let owner = "portfolio_ethics_privacy_trust";
    let only = Overrides {
        owner: Some(owner.into()),
        affected: Some(vec![owner.into()]),
    };
    let r = assign(&packet, &presidents, &only, NOW).unwrap();
    assert_eq!(r.affected_portfolios, [owner]);
    let peer = r.peer_reviewer.clone().expect("a peer is drawn");
    assert_ne!(peer, owner);
    // Nearest: the highest whole-motion score among the others.
    let best = r
        .scores
        .iter()
        .filter(|s| s.portfolio_id != owner)
        .map(|s| s.motion_score)
        .max()
        .unwrap();
    let drawn = r.scores.iter().find(|s| s.portfolio_id == peer).unwrap();
    assert_eq!(drawn.motion_score, best);
    assert_eq!(r.reviewer_for(owner), Some(peer.as_str()));
    assert_eq!(r.clarification_reviewers(owner), [peer]);
}
