//! Tests of the scoring arithmetic: weights, normalisation, novelty, ranking, tiers.

use super::*;
use proptest::prelude::*;

fn card(president: &str, proposal: &str, x: f64, novel: bool) -> Card {
    Card {
        president: president.into(),
        proposal_id: proposal.into(),
        scores: flat(x),
        novel,
    }
}

#[test]
fn weights_sum_to_one_and_apply_per_dimension() {
    let total: f64 = WEIGHTS.iter().map(|(_, w)| w).sum();
    assert!((total - 1.0).abs() < 1e-12);
    let s = DimensionScores {
        feasibility: 10.0,
        completeness: 0.0,
        risk_mitigation: 0.0,
        resource_efficiency: 0.0,
        innovation: 0.0,
        alignment: 0.0,
    };
    assert!((s.weighted() - 2.5).abs() < 1e-12);
    let s = DimensionScores {
        innovation: 10.0,
        ..flat(0.0)
    };
    assert!((s.weighted() - 1.0).abs() < 1e-12);
    assert!((flat(7.0).weighted() - 7.0).abs() < 1e-12);
}

#[test]
fn normalisation_removes_a_presidents_leniency() {
    // Harsh scores 2 lower than Lenient on both proposals: after normalisation
    // both Presidents give the same scores, around the grand mean (7.0).
    let cards = [
        card("Harsh", "a", 6.0, false),
        card("Harsh", "b", 4.0, false),
        card("Lenient", "a", 8.0, false),
        card("Lenient", "b", 6.0, false),
    ];
    let agg = aggregate(&cards);
    let a = &agg[0];
    assert_eq!(a.proposal_id, "a");
    assert_eq!(a.final_scores["Harsh"], a.final_scores["Lenient"]);
    assert_eq!(
        a.statistics,
        Statistics {
            mean: 7.0,
            median: 7.0,
            stddev: 0.0
        }
    );
    assert_eq!(agg[1].statistics.mean, 5.0);
}

#[test]
fn normalised_scores_are_clamped_to_the_scale() {
    let cards = [
        card("P", "a", 10.0, false),
        card("Q", "a", 0.0, false),
        card("Q", "b", 0.0, false),
    ];
    for a in aggregate(&cards) {
        assert!(
            a.final_scores.values().all(|x| (0.0..=10.0).contains(x)),
            "{a:?}"
        );
    }
}

#[test]
fn novelty_bonus_is_bounded_and_proportional() {
    let cards = [
        card("P", "a", 6.0, true),
        card("Q", "a", 6.0, false),
        card("P", "b", 6.0, true),
        card("Q", "b", 6.0, true),
    ];
    let agg = aggregate(&cards);
    assert_eq!(agg[0].novelty_bonus, 0.25);
    assert_eq!(agg[1].novelty_bonus, NOVELTY_BONUS_CAP);
    assert_eq!(agg[1].statistics.mean, 6.5);
    let top = aggregate(&[card("P", "a", 10.0, true)]);
    assert_eq!(top[0].statistics.mean, 10.0, "capped at 10");
}

#[test]
fn statistics_mean_median_population_stddev() {
    assert_eq!(
        statistics(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]),
        Statistics {
            mean: 5.0,
            median: 4.5,
            stddev: 2.0
        }
    );
    assert_eq!(statistics(&[1.0, 3.0, 2.0]).median, 2.0);
    assert_eq!(
        statistics(&[]),
        Statistics {
            mean: 0.0,
            median: 0.0,
            stddev: 0.0
        }
    );
}

fn agg(id: &str, mean: f64, median: f64, stddev: f64) -> Aggregate {
    Aggregate {
        proposal_id: id.into(),
        final_scores: BTreeMap::new(),
        novelty_bonus: 0.0,
        statistics: Statistics {
            mean,
            median,
            stddev,
        },
        dimension_means: BTreeMap::new(),
    }
}

#[test]
fn ties_are_broken_by_median_then_agreement_then_id() {
    let ranked = rank(vec![
        agg("dprop-c", 8.0, 8.0, 0.5),
        agg("dprop-b", 8.0, 8.0, 0.5),
        agg("dprop-a", 8.0, 7.5, 0.1),
        agg("dprop-d", 8.0, 8.0, 0.2),
        agg("dprop-e", 8.1, 6.0, 3.0),
    ]);
    let order: Vec<&str> = ranked.iter().map(|a| a.proposal_id.as_str()).collect();
    assert_eq!(
        order,
        ["dprop-e", "dprop-d", "dprop-b", "dprop-c", "dprop-a"]
    );
}

#[test]
fn tiers_follow_thresholds_top_n_and_coverage() {
    assert_eq!(tier(1, 7.0, true, 5), Tier::Finalist);
    assert_eq!(tier(6, 9.0, true, 5), Tier::Contender, "beyond top-n");
    assert_eq!(
        tier(1, 9.0, false, 5),
        Tier::Contender,
        "a deliverable uncovered"
    );
    assert_eq!(tier(1, 6.99, true, 5), Tier::Contender);
    assert_eq!(tier(1, 5.0, true, 5), Tier::Contender);
    assert_eq!(tier(1, 4.99, true, 5), Tier::BelowThreshold);
}

proptest! {
    #[test]
    fn aggregates_stay_on_scale_and_rank_is_a_permutation(
        raw in proptest::collection::vec((0usize..4, 0usize..5, 0.0f64..=10.0, any::<bool>()), 1..40)
    ) {
        let cards: Vec<Card> = raw.iter().map(|(p, q, x, n)| card(&format!("P{p}"), &format!("q{q}"), *x, *n)).collect();
        let aggs = aggregate(&cards);
        for a in &aggs {
            prop_assert!((0.0..=10.0).contains(&a.statistics.mean));
            prop_assert!(a.novelty_bonus <= NOVELTY_BONUS_CAP);
        }
        let mut ids: Vec<String> = aggs.iter().map(|a| a.proposal_id.clone()).collect();
        let mut ranked: Vec<String> = rank(aggs).into_iter().map(|a| a.proposal_id).collect();
        ids.sort();
        ranked.sort();
        prop_assert_eq!(ids, ranked);
    }
}
