mod common;

use std::collections::BTreeSet;

use archon_plan::PlanOptions;
use common::*;

#[test]
fn debug_print() {
    for p in packets("review-basic") {
        let out = simulate(
            &p,
            &PlanOptions {
                clarification_review: true,
                llm_blocker_workup: true,
                ..Default::default()
            },
        );
        println!(
            "== {} owner={} affected={:?}",
            p.motion_id, out.plan.plan_owner.portfolio_id, out.plan.affected_portfolios
        );
        for b in &out.plan.blockers {
            println!(
                "  {} {:?} {:?} {:?}",
                b.id_or_unnamed(),
                b.blocker_class,
                b.disposition,
                b.clause_ref
            );
        }
        for e in &out.plan.epics {
            println!("  epic {} {}", e.epic_id, e.intent);
        }
        for (n, _) in &out.files {
            println!("  file {n}");
        }
        for f in out.gates.failures() {
            println!("  FAIL {} {}", f.0, f.1);
        }
    }
    let _ = BTreeSet::<String>::new();
}
