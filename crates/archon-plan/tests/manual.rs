//! Manual mode: a hand-written inbox, `--scaffold-inbox` templates, and the
//! inbox files that must be refused.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::collections::BTreeMap;

use archon_core::agent_port::Agents;
use archon_core::roster::Archon;
use archon_core::seed::Seed;
use archon_plan::assignment::{cycle_id, presidents};
use archon_plan::inbox::{load_inbox, scaffold, InboxFile};
use archon_plan::io::read_inbox;
use archon_plan::model::{BlockerClass, Disposition};
use archon_plan::{plan_motion, DraftSource, PlanError, PlanOptions, PlanOutput};
use common::*;

const MOTION: &str = "mm-resilience-002";

fn packet() -> archon_plan::packet::RatifiedIntentPacket {
    packets("review-basic")
        .into_iter()
        .find(|p| p.motion_id == MOTION)
        .expect("motion")
}

fn inbox() -> Vec<InboxFile> {
    read_inbox(&data("inbox-resilience")).expect("inbox")
}

fn plan(files: &[InboxFile]) -> Result<PlanOutput, PlanError> {
    plan_motion(
        &packet(),
        &roster(),
        &Agents::simulated(Seed(72)),
        &clock(),
        DraftSource::Manual {
            files,
            label: "inbox",
        },
        &PlanOptions::default(),
    )
}

fn with(name: &str, edit: impl Fn(&str) -> String) -> Vec<InboxFile> {
    inbox()
        .into_iter()
        .map(|mut f| {
            if f.name == name {
                f.text = edit(&f.text);
            }
            f
        })
        .collect()
}

const BUER: &str = "contribution_portfolio_resilience_incident_response.json";

#[test]
fn hand_written_inbox_plans_and_passes_the_gates() {
    assert_eq!(cycle_id("session-basic", MOTION), "exec_ecfd0a08b9b8");
    let out = plan(&inbox()).expect("plans");
    assert!(out.gates.all_passed, "{:#?}", out.gates);
    assert_eq!(out.plan.trace_metadata.generated_by, "manual");
    assert_eq!(out.plan.trace_metadata.agent_calls, 0);
    let kinds: Vec<&str> = out
        .plan
        .portfolio_responses
        .iter()
        .map(|r| r.response_type.as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "contribution",
            "contribution",
            "contribution",
            "no_action",
            "no_action"
        ]
    );
    // Hand-written ids are kept; the v1 blocker is converted by the documented rule.
    let ids: Vec<&str> = out
        .plan
        .blockers
        .iter()
        .map(|b| b.id_or_unnamed())
        .collect();
    assert_eq!(
        ids,
        [
            "blocker_buer_01",
            "blocker_buer_02",
            "blocker_v1_adversarial_risk_security_01"
        ]
    );
    let v1 = &out.plan.blockers[2];
    assert_eq!(v1.blocker_class, Some(BlockerClass::ExecutionUncertainty));
    assert_eq!(v1.disposition, Some(Disposition::DeferDownstream));
    assert!(v1.converted_from_v1.is_some());
    assert_eq!(
        out.gates.validation_rules,
        "2.0 with v1 rules for converted v1 contributions"
    );
    // The v1 task's story points are dropped, not carried into the plan.
    let task = out
        .plan
        .work_packages
        .iter()
        .find(|p| p.package_id == "task-sec-001")
        .expect("task");
    assert_eq!(
        task.extra["v1_dropped_fields"],
        serde_json::json!(["story_points"])
    );
    let stubs: Vec<&str> = out
        .plan
        .discovery_task_stubs
        .iter()
        .map(|s| s.task_id.as_str())
        .collect();
    assert_eq!(
        stubs,
        [
            "discovery_rehearsal_format",
            "discovery_blocker_v1_adversarial_risk_security_01_1"
        ]
    );
    assert_eq!(out.plan.epics.len(), 3);
}

#[test]
fn missing_response_becomes_a_recorded_fallback() {
    let files: Vec<InboxFile> = inbox()
        .into_iter()
        .filter(|f| !f.name.starts_with("attestation_"))
        .collect();
    let out = plan(&files).expect("plans");
    let a = file(
        &out,
        "contributions/attestation_portfolio_change_management_migration.json",
    )
    .expect("fallback");
    assert_eq!(a["fallback"], true);
    assert_eq!(out.gates.completeness.status, "FAIL");
    assert!(event_types(&out).contains(&"executive.portfolio.fallback_attested".to_string()));
}

#[test]
fn forbidden_fields_in_a_hand_written_contribution_fail_legibility() {
    let files = with(BUER, |t| {
        t.replace(
            "\"dependencies\": [],",
            "\"dependencies\": [], \"story_points\": 3, \"hours\": 20,",
        )
    });
    let out = plan(&files).expect("plans");
    let f = legibility_failures(&out);
    assert!(
        f.iter().any(|m| m.contains(&format!(
            "contributions/{BUER}: $.work_packages[0]: forbidden field(s) hours, story_points"
        ))),
        "{f:#?}"
    );
}

fn legibility_failures(out: &PlanOutput) -> Vec<String> {
    out.gates
        .legibility
        .failures
        .iter()
        .map(|f| f.to_string())
        .collect()
}

fn refused(files: &[InboxFile]) -> String {
    match plan(files) {
        Ok(_) => panic!("inbox accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_inbox_files_are_refused_naming_the_file() {
    type Edit = fn(&str) -> String;
    let cases: &[(&str, Edit, &str)] = &[
        (
            "malformed JSON",
            |t| t[..t.len() / 2].to_string(),
            "malformed JSON",
        ),
        (
            "template marker",
            |t| t.replacen('{', "{\"template\": true,", 1),
            "unedited --scaffold-inbox template",
        ),
        (
            "TODO placeholder",
            |t| t.replace("Draws on the existing incident desk", "TODO: capacity"),
            "$.capacity_claim.notes: TODO: placeholder(s) not replaced",
        ),
        (
            "cycle mismatch",
            |t| t.replace("exec_ecfd0a08b9b8", "exec_000000000000"),
            "cycle mismatch",
        ),
        (
            "motion mismatch",
            |t| {
                t.replace(
                    "\"motion_id\": \"mm-resilience-002\"",
                    "\"motion_id\": \"mm-other\"",
                )
            },
            "motion mismatch",
        ),
        (
            "identity mismatch",
            |t| t.replace("archon-buer-014", "archon-bael-001"),
            "identity mismatch",
        ),
        (
            "wrong type",
            |t| t.replace("\"units\": 3", "\"units\": \"three\""),
            "$.capacity_claim.units",
        ),
        (
            "unknown enum",
            |t| t.replace("CAPACITY_CONFLICT", "BUDGET_PANIC"),
            "unknown variant",
        ),
        (
            "work package without its portfolio",
            |t| t.replacen("24 hours\",\n      \"portfolio_id\": \"portfolio_resilience_incident_response\"", "24 hours\"", 1),
            "$.work_packages[0].portfolio_id: work package wp_resilience_incident_response_01 has no portfolio_id",
        ),
        (
            "work package of another portfolio",
            |t| t.replacen("24 hours\",\n      \"portfolio_id\": \"portfolio_resilience_incident_response\"", "24 hours\",\n      \"portfolio_id\": \"portfolio_ethics_privacy_trust\"", 1),
            "names portfolio \"portfolio_ethics_privacy_trust\", but this is portfolio_resilience_incident_response's contribution",
        ),
        (
            "hostile blocker id",
            |t| t.replace("blocker_buer_01", "../../etc"),
            "contains '..'",
        ),
    ];
    for (name, edit, want) in cases {
        let msg = refused(&with(BUER, edit));
        assert!(msg.contains(want), "{name}: {msg}");
        assert!(msg.contains(BUER) || msg.contains("inbox"), "{name}: {msg}");
    }
}

#[test]
fn unknown_or_unaffected_portfolio_files_are_refused() {
    let mut files = inbox();
    files.push(InboxFile {
        name: "contribution_portfolio_nope.json".into(),
        text: "{}".into(),
    });
    let msg = refused(&files);
    assert!(
        msg.contains("unknown portfolio id \"portfolio_nope\""),
        "{msg}"
    );
    let mut files = inbox();
    files.push(InboxFile {
        name: "attestation_portfolio_ethics_privacy_trust.json".into(),
        text: "{}".into(),
    });
    assert!(refused(&files).contains("is not affected by motion mm-resilience-002"));
    let mut files = inbox();
    files.push(InboxFile {
        name: "attestation_portfolio_resilience_incident_response.json".into(),
        text: inbox()
            .iter()
            .find(|f| f.name == BUER)
            .map(|f| f.text.clone())
            .unwrap_or_default(),
    });
    assert!(refused(&files).contains("both a contribution and an attestation"));
    // A misnamed file is an error listing the expected names, not ignored.
    let mut files = inbox();
    files.push(InboxFile {
        name: "contribution-portfolio_resilience_incident_response.json".into(),
        text: "{}".into(),
    });
    let msg = refused(&files);
    assert!(
        msg.contains("contribution-portfolio_resilience_incident_response.json: $: the file name matches no portfolio of motion mm-resilience-002; expected one of: contribution_portfolio_resilience_incident_response.json, attestation_portfolio_resilience_incident_response.json"),
        "{msg}"
    );
}

#[test]
fn v1_contribution_with_v2_fields_fails_legibility_naming_them() {
    let v1 = "contribution_portfolio_adversarial_risk_security.json";
    let files = with(v1, |t| {
        t.replacen(
            "\"tasks\"",
            "\"work_packages\": [{\"package_id\": \"wp_x\", \"scope_description\": \"kept\"}], \"tasks\"",
            1,
        )
    });
    let out = plan(&files).expect("plans");
    let failures = legibility_failures(&out);
    assert!(
        failures.contains(&format!("[v1_with_v2_fields] inbox/{v1}: $.work_packages: a v2 field in a schema_version 1.x contribution: v1 conversion would drop it; write the whole file as schema_version 2.0")),
        "{failures:#?}"
    );
    // Kept in the contribution artifact, not dropped.
    let artifact = file(&out, &format!("contributions/{v1}")).expect("artifact");
    assert_eq!(
        artifact["refused_v2_fields"]["$.work_packages"][0]["scope_description"],
        "kept"
    );
}

#[test]
fn scaffold_templates_are_refused_until_filled() {
    let roster = roster();
    let presidents: BTreeMap<String, &Archon> = presidents(&roster);
    let affected = vec![
        "portfolio_resilience_incident_response".to_string(),
        "portfolio_infrastructure_platform_reliability".to_string(),
    ];
    let templates = scaffold("exec_ecfd0a08b9b8", MOTION, &affected, &presidents);
    assert_eq!(templates.len(), 2);
    let files: Vec<InboxFile> = templates
        .iter()
        .map(|(name, v)| InboxFile {
            name: name.clone(),
            text: v.to_string(),
        })
        .collect();
    let err = load_inbox(
        &files,
        "inbox",
        "exec_ecfd0a08b9b8",
        MOTION,
        &affected,
        &presidents,
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(err.contains("unedited --scaffold-inbox template"), "{err}");
    // Removing the marker is not enough: the TODO placeholders remain.
    let mut v = templates[0].1.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("template");
    }
    let files = vec![InboxFile {
        name: templates[0].0.clone(),
        text: v.to_string(),
    }];
    let err = load_inbox(
        &files,
        "inbox",
        "exec_ecfd0a08b9b8",
        MOTION,
        &affected,
        &presidents,
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(
        err.contains("$.work_packages[0].scope_description"),
        "{err}"
    );
    assert!(err.contains("TODO: placeholder(s) not replaced"), "{err}");
}
