//! The Legibility rules beyond the spec's seven, each on a plan that passes
//! every gate before the one change, each failing with its artifact and JSON path.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::collections::BTreeSet;

use serde_json::Value;

use archon_plan::gates::{evaluate, is_iso8601_duration, GateInput};
use archon_plan::model::{Blocker, PortfolioResponse, WorkPackage};
use archon_plan::{PlanOptions, PlanOutput};
use common::*;

/// What the gates judge, taken apart so one piece can be changed.
struct Parts {
    out: PlanOutput,
    responses: Vec<PortfolioResponse>,
    blockers: Vec<Blocker>,
    work_packages: Vec<WorkPackage>,
    artifacts: Vec<(String, Value)>,
}

fn base() -> Parts {
    let p = packets("review-basic").into_iter().next().unwrap();
    let out = simulate(&p, &PlanOptions::default());
    assert!(out.gates.all_passed, "{:#?}", out.gates);
    assert!(!out.plan.blockers.is_empty() && out.plan.work_packages.len() > 1);
    let artifacts = out.files.clone();
    // The responses as the plan recorded them, read back from their artifacts.
    let responses = out
        .plan
        .portfolio_responses
        .iter()
        .filter(|r| r.response_type == "contribution")
        .map(|r| {
            let v = file(&out, &r.artifact).unwrap().clone();
            PortfolioResponse::Contribution(serde_json::from_value(v).unwrap())
        })
        .collect();
    Parts {
        blockers: out.plan.blockers.clone(),
        work_packages: out.plan.work_packages.clone(),
        responses,
        artifacts,
        out,
    }
}

fn failures(p: &Parts) -> Vec<String> {
    let known: BTreeSet<String> = presidents_of_roster();
    evaluate(&GateInput {
        cycle_id: &p.out.cycle_id,
        motion_id: &p.out.motion_id,
        affected: &[],
        responses: &p.responses,
        blockers: &p.blockers,
        epics: &p.out.plan.epics,
        artifacts: &p.artifacts,
        v1_findings: &[],
        work_packages: &p.work_packages,
        known_portfolios: &known,
        evaluated_at: NOW,
    })
    .legibility
    .failures
    .iter()
    .map(|f| format!("[{}] {}: {}", f.rule, f.artifact, f.path))
    .collect()
}

fn presidents_of_roster() -> BTreeSet<String> {
    let roster = roster();
    archon_plan::assignment::presidents(&roster)
        .into_keys()
        .collect()
}

fn artifact<'a>(p: &'a mut Parts, prefix: &str) -> (&'a str, &'a mut Value) {
    let (name, v) = p
        .artifacts
        .iter_mut()
        .find(|(n, _)| n.starts_with(prefix))
        .unwrap();
    (name.as_str(), v)
}

type Change = fn(&mut Parts) -> String;

#[test]
fn each_new_legibility_rule_fails_with_its_json_path() {
    let cases: &[(&str, Change)] = &[
        ("nested schema_version missing", |p| {
            let (name, v) = artifact(p, "execution_plan_v2.json");
            v["work_packages"][1]
                .as_object_mut()
                .unwrap()
                .remove("schema_version");
            format!("[schema_version] {name}: $.work_packages[1].schema_version")
        }),
        ("nested schema_version unknown", |p| {
            let (name, v) = artifact(p, "contributions/contribution_");
            v["blockers"][0]["schema_version"] = "9.9".into();
            format!("[schema_version] {name}: $.blockers[0].schema_version")
        }),
        ("artifact schema_version unknown", |p| {
            let (name, v) = artifact(p, "peer_review_summary.json");
            v["schema_version"] = "9.9".into();
            format!("[schema_version] {name}: $.schema_version")
        }),
        ("ttl is no duration", |p| {
            p.blockers[0].ttl = Some("soon".into());
            "[ttl_duration] execution_plan_v2.json: $.blockers[0].ttl".into()
        }),
        ("blocker owner not in the roster", |p| {
            p.blockers[0].owner_portfolio_id = Some("portfolio_nonexistent".into());
            "[owner_in_roster] execution_plan_v2.json: $.blockers[0].owner_portfolio_id".into()
        }),
        ("duplicate package id across portfolios", |p| {
            let last = p.work_packages.len() - 1;
            p.work_packages[last].package_id = p.work_packages[0].package_id.clone();
            format!(
                "[unique_package_id] execution_plan_v2.json: $.work_packages[{last}].package_id"
            )
        }),
        ("work package without portfolio", |p| {
            p.work_packages[1].portfolio_id = String::new();
            "[work_package_owner] execution_plan_v2.json: $.work_packages[1].portfolio_id".into()
        }),
        ("empty claim type", |p| {
            let PortfolioResponse::Contribution(c) = &mut p.responses[0] else {
                panic!("a contribution")
            };
            c.capacity_claim.as_mut().unwrap().claim_type = String::new();
            format!(
                "[capacity_claim_type] {}: $.capacity_claim.claim_type",
                p.responses[0].artifact_path()
            )
        }),
    ];
    assert!(failures(&base()).is_empty());
    for (name, change) in cases {
        let mut parts = base();
        let want = change(&mut parts);
        assert_eq!(failures(&parts), [want], "{name}");
    }
}

#[test]
fn iso8601_durations() {
    for ok in [
        "P7D",
        "P14D",
        "P1Y2M",
        "P2W",
        "PT36H",
        "P1DT12H",
        "PT0.5S",
        "P3DT4H5M6S",
    ] {
        assert!(is_iso8601_duration(ok), "{ok}");
    }
    for bad in [
        "soon", "", "P", "PT", "7D", "P7", "PD", "P1H", "PT1D", "P1D2Y", "P1.5D", "P7DT", "p7d",
    ] {
        assert!(!is_iso8601_duration(bad), "{bad}");
    }
}
