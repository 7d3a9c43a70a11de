//! The ten Patch-7 cases of executive-planning-v2.md and its acceptance criteria.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use serde_json::{json, Value};

use archon_plan::gates::{blocker_rules, evaluate, forbidden_fields, GateInput};
use archon_plan::model::{Blocker, Disposition, Epic};
use archon_plan::PlanOptions;
use common::*;

fn valid_blocker() -> Blocker {
    serde_json::from_value(json!({
        "schema_version": "2.0",
        "id": "blocker_001",
        "blocker_class": "EXECUTION_UNCERTAINTY",
        "severity": "MEDIUM",
        "description": "Proof mechanism needs a security audit",
        "owner_portfolio_id": "portfolio_adversarial_risk_security",
        "disposition": "DEFER_DOWNSTREAM",
        "ttl": "P7D",
        "escalation_conditions": ["Audit not completed within TTL"],
        "verification_tasks": [{"task_id": "discovery_audit", "description": "Audit candidates", "success_signal": "Audit report"}],
        "mitigation_notes": null
    }))
    .expect("valid blocker")
}

/// Artifacts in which blocker_001 has both its stub and its queue item.
fn emitted() -> Vec<(String, Value)> {
    vec![
        (
            "discovery_task_stubs/discovery_audit.json".into(),
            json!({"schema_version": "2.0", "origin_blocker_id": "blocker_001"}),
        ),
        (
            "conclave_queue_items/cqi_001.json".into(),
            json!({"schema_version": "2.0", "blocker_id": "blocker_001"}),
        ),
    ]
}

fn rules_of(b: &Blocker, artifacts: &[(String, Value)]) -> Vec<(String, String)> {
    blocker_rules(b, "$.blockers[0]", artifacts)
        .into_iter()
        .map(|f| (f.rule, f.message))
        .collect()
}

type Mutation = fn(&mut Blocker);
type Case = (
    &'static str,
    Mutation,
    &'static [(&'static str, &'static str)],
);

#[test]
fn blocker_rules_table() {
    let cases: &[Case] = &[
        ("valid deferred blocker", |_| {}, &[]),
        // Case 1: each missing required field is named.
        (
            "no id (so nothing can reference it)",
            |b| b.id = None,
            &[
                ("blocker_completeness", "missing required field(s): id"),
                (
                    "defer_downstream",
                    "no discovery_task_stub.json was emitted",
                ),
            ],
        ),
        (
            "no class",
            |b| b.blocker_class = None,
            &[("blocker_completeness", "blocker_class")],
        ),
        (
            "no severity",
            |b| b.severity = None,
            &[("blocker_completeness", "severity")],
        ),
        (
            "blank description",
            |b| b.description = Some(" ".into()),
            &[("blocker_completeness", "description")],
        ),
        (
            "no owner",
            |b| b.owner_portfolio_id = None,
            &[("blocker_completeness", "owner_portfolio_id")],
        ),
        (
            "no ttl",
            |b| b.ttl = None,
            &[("blocker_completeness", "ttl")],
        ),
        (
            "no escalation conditions",
            |b| b.escalation_conditions = Some(vec![]),
            &[("blocker_completeness", "escalation_conditions")],
        ),
        (
            "several missing at once, one failure naming all",
            |b| {
                b.severity = None;
                b.ttl = None;
                b.escalation_conditions = None;
            },
            &[(
                "blocker_completeness",
                "missing required field(s): severity, ttl, escalation_conditions",
            )],
        ),
        (
            "no disposition",
            |b| b.disposition = None,
            &[("blocker_completeness", "disposition")],
        ),
        // Case 2: intent ambiguity must be ESCALATE_NOW.
        (
            "intent ambiguity deferred",
            |b| b.blocker_class = Some(archon_plan::model::BlockerClass::IntentAmbiguity),
            &[(
                "intent_ambiguity",
                "must be ESCALATE_NOW, not DEFER_DOWNSTREAM",
            )],
        ),
        (
            "intent ambiguity mitigated",
            |b| {
                b.blocker_class = Some(archon_plan::model::BlockerClass::IntentAmbiguity);
                b.disposition = Some(Disposition::MitigateInExecutive);
                b.mitigation_notes = Some("we decided".into());
            },
            &[(
                "intent_ambiguity",
                "must be ESCALATE_NOW, not MITIGATE_IN_EXECUTIVE",
            )],
        ),
        (
            "intent ambiguity escalated (queue item exists)",
            |b| {
                b.blocker_class = Some(archon_plan::model::BlockerClass::IntentAmbiguity);
                b.disposition = Some(Disposition::EscalateNow);
            },
            &[],
        ),
        (
            "HOW question escalated",
            |b| b.disposition = Some(Disposition::EscalateNow),
            &[(
                "intent_ambiguity",
                "ESCALATE_NOW is only for INTENT_AMBIGUITY",
            )],
        ),
        // Case 3: deferral needs verification tasks.
        (
            "deferred without verification tasks",
            |b| b.verification_tasks.clear(),
            &[("defer_downstream", "without verification_tasks")],
        ),
        // Case 4: mitigation needs notes.
        (
            "mitigated without notes",
            |b| b.disposition = Some(Disposition::MitigateInExecutive),
            &[("mitigation", "without mitigation_notes")],
        ),
        (
            "mitigated with blank notes",
            |b| {
                b.disposition = Some(Disposition::MitigateInExecutive);
                b.mitigation_notes = Some("   ".into());
            },
            &[("mitigation", "without mitigation_notes")],
        ),
        (
            "mitigated with notes",
            |b| {
                b.disposition = Some(Disposition::MitigateInExecutive);
                b.mitigation_notes = Some("Sequence after the pilot".into());
            },
            &[],
        ),
    ];
    for (name, mutate, expected) in cases {
        let mut b = valid_blocker();
        mutate(&mut b);
        let got = rules_of(&b, &emitted());
        assert_eq!(got.len(), expected.len(), "{name}: {got:?}");
        for ((rule, msg), (want_rule, want_msg)) in got.iter().zip(expected.iter()) {
            assert_eq!(rule, want_rule, "{name}");
            assert!(msg.contains(want_msg), "{name}: {msg}");
        }
    }
}

#[test]
fn missing_emitted_artifacts_fail_legibility() {
    // Case 3 and 5: the stub / queue item must exist, not just the disposition.
    let b = valid_blocker();
    let got = rules_of(&b, &[]);
    assert_eq!(got.len(), 1);
    assert!(
        got[0].1.contains("no discovery_task_stub.json was emitted"),
        "{got:?}"
    );
    let mut b = valid_blocker();
    b.blocker_class = Some(archon_plan::model::BlockerClass::IntentAmbiguity);
    b.disposition = Some(Disposition::EscalateNow);
    let got = rules_of(&b, &[]);
    assert_eq!(got.len(), 1);
    assert!(
        got[0].1.contains("no conclave_queue_item.json was emitted"),
        "{got:?}"
    );
}

fn epic(clauses: &[&str], signals: &[&str]) -> Epic {
    Epic {
        schema_version: "2.0".into(),
        epic_id: "epic_x".into(),
        intent: "i".into(),
        success_signals: signals.iter().map(|s| s.to_string()).collect(),
        constraints: vec![],
        assumptions: vec![],
        discovery_required: vec![],
        mapped_motion_clauses: clauses.iter().map(|s| s.to_string()).collect(),
        work_package_ids: vec![],
        contributing_portfolios: vec![],
    }
}

fn legibility(epics: &[Epic], artifacts: &[(String, Value)]) -> Vec<String> {
    evaluate(&GateInput {
        cycle_id: "c",
        motion_id: "m",
        affected: &[],
        responses: &[],
        blockers: &[],
        epics,
        artifacts,
        v1_findings: &[],
        work_packages: &[],
        known_portfolios: &Default::default(),
        evaluated_at: NOW,
    })
    .legibility
    .failures
    .into_iter()
    .map(|f| f.to_string())
    .collect()
}

#[test]
fn epic_traceability_table() {
    // Case 8.
    let cases: &[(&[&str], &[&str], Option<&str>)] = &[
        (&["Section 1.1: x"], &["signal"], None),
        (&[], &["signal"], Some("mapped_motion_clauses")),
        (&["Section 1.1: x"], &[], Some("success_signals")),
        (&[], &[], Some("mapped_motion_clauses, success_signals")),
    ];
    for (clauses, signals, want) in cases {
        let got = legibility(&[epic(clauses, signals)], &[]);
        match want {
            None => assert!(got.is_empty(), "{got:?}"),
            Some(w) => {
                assert_eq!(got.len(), 1, "{got:?}");
                assert!(
                    got[0].contains("epic_traceability") && got[0].contains(w),
                    "{got:?}"
                );
            }
        }
    }
}

#[test]
fn forbidden_fields_at_any_depth_one_error_per_object() {
    // Case 9.
    let artifacts = vec![
        (
            "contributions/contribution_p.json".to_string(),
            json!({"schema_version": "2.0", "work_packages": [
                {"package_id": "a", "story_points": 5, "hours": 12},
                {"package_id": "b", "notes": {"deep": [{"FR": "x", "NFR": "y", "detailed_requirements": []}]}}
            ], "estimate": "P3D"}),
        ),
        (
            "execution_plan_v2.json".to_string(),
            json!({"schema_version": "2.0", "epics": []}),
        ),
        ("no_version.json".to_string(), json!({"x": 1})),
    ];
    let got = legibility(&[], &artifacts);
    let forbidden: Vec<&String> = got
        .iter()
        .filter(|f| f.contains("forbidden_fields"))
        .collect();
    assert_eq!(forbidden.len(), 3, "{got:#?}");
    assert!(
        forbidden[0].contains("contributions/contribution_p.json: $: forbidden field(s) estimate")
    );
    assert!(
        forbidden[1].contains("$.work_packages[0]: forbidden field(s) story_points, hours"),
        "{}",
        forbidden[1]
    );
    assert!(
        forbidden[2].contains(
            "$.work_packages[1].notes.deep[0]: forbidden field(s) FR, NFR, detailed_requirements"
        ),
        "{}",
        forbidden[2]
    );
    // Rule 1 on the same pass.
    assert!(
        got.iter()
            .any(|f| f.contains("[schema_version] no_version.json")),
        "{got:#?}"
    );
    let mut seen = Vec::new();
    forbidden_fields(
        &json!({"a": {"Story_Points": 1}}),
        "$".into(),
        &mut |p, k| seen.push((p, k)),
    );
    assert_eq!(
        seen,
        vec![("$.a".to_string(), vec!["Story_Points".to_string()])]
    );
}

/// A President's scripted answer: one package on `clause`, and the given blockers.
fn draft(clause: &str, blockers: Value) -> String {
    json!({
        "response": "CONTRIBUTION",
        "work_packages": [{"scope_description": format!("Deliver clause {clause}"), "mapped_clauses": [clause], "success_signal": "Observed in operation"}],
        "capacity_claim": {"claim_type": "COARSE", "units": 2, "confidence": "MEDIUM", "notes": "coarse"},
        "blockers": blockers
    })
    .to_string()
}

fn deferred() -> Value {
    json!([{
        "blocker_class": "EXECUTION_UNCERTAINTY", "severity": "MEDIUM",
        "description": "Monitoring stack choice needs a survey", "disposition": "DEFER_DOWNSTREAM",
        "ttl": "P14D", "escalation_conditions": ["Survey exceeds TTL"],
        "verification_tasks": [{"description": "Survey monitoring stacks", "success_signal": "Recommendation"}],
        "clause_ref": "2.1"
    }])
}

fn resilience() -> archon_plan::packet::RatifiedIntentPacket {
    packets("review-basic")
        .into_iter()
        .find(|p| p.motion_id == "mm-resilience-002")
        .expect("motion")
}

#[test]
fn llm_path_records_generated_by_and_trace() {
    // Case 6.
    let out = scripted(&resilience(), &PlanOptions::default(), |_, _| {
        Some(draft("2.1", json!([])))
    });
    let c = file(
        &out,
        "contributions/contribution_portfolio_resilience_incident_response.json",
    )
    .expect("contribution");
    assert_eq!(c["generated_by"], "llm");
    assert_eq!(c["trace"]["model"], "test-model-1");
    assert_eq!(c["trace"]["latency_ms"], 7);
    let t = &out.plan.trace_metadata;
    assert_eq!(t.generated_by, "llm");
    assert_eq!(t.models, vec!["test-model-1".to_string()]);
    assert_eq!(t.agent_calls, out.plan.affected_portfolios.len());
    assert_eq!(t.duration_ms, 7 * t.agent_calls as u64);
    assert!(out.gates.all_passed, "{:?}", out.gates);
}

#[test]
fn llm_answers_do_not_bypass_gates() {
    // Case 7: schema-valid answers that break the disposition rules and carry
    // Administrative fields still fail Legibility.
    let out = scripted(&resilience(), &PlanOptions::default(), |_, who| {
        Some(if who == "Buer" {
            json!({
                "response": "CONTRIBUTION",
                "work_packages": [{"scope_description": "x", "mapped_clauses": ["1.1"], "success_signal": "s", "story_points": 8}],
                "capacity_claim": {"claim_type": "COARSE", "units": 2},
                "blockers": [{"blocker_class": "INTENT_AMBIGUITY", "severity": "HIGH", "description": "What is a governance incident?",
                    "disposition": "DEFER_DOWNSTREAM", "ttl": "P7D", "escalation_conditions": ["x"],
                    "verification_tasks": [{"description": "ask around", "success_signal": "answer"}]}]
            })
            .to_string()
        } else {
            draft("2.1", json!([]))
        })
    });
    assert!(!out.gates.all_passed);
    let rules: Vec<&str> = out
        .gates
        .legibility
        .failures
        .iter()
        .map(|f| f.rule.as_str())
        .collect();
    assert!(rules.contains(&"intent_ambiguity"), "{rules:?}");
    assert!(rules.contains(&"forbidden_fields"), "{rules:?}");
    assert!(!out.handoff_written);
    assert!(file(&out, "execution_plan_handoff.json").is_none());
}

#[test]
fn failed_president_gets_a_recorded_fallback_not_a_gap() {
    let out = scripted(&resilience(), &PlanOptions::default(), |_, who| {
        (who != "Malphas").then(|| draft("1.1", json!([])))
    });
    let a = file(
        &out,
        "contributions/attestation_portfolio_infrastructure_platform_reliability.json",
    )
    .expect("fallback");
    assert_eq!(a["fallback"], true);
    assert!(a["reason"].as_str().unwrap_or("").contains("503"), "{a}");
    assert!(event_types(&out).contains(&"executive.portfolio.fallback_attested".to_string()));
    assert_eq!(out.gates.completeness.status, "FAIL");
    assert_eq!(out.gates.visibility.status, "FAIL");
}

#[test]
fn plan_passes_with_only_deferred_blockers_and_no_conclave_item() {
    // Case 10 and the deferred-blocker acceptance scenario.
    let out = scripted(&resilience(), &PlanOptions::default(), |_, who| {
        Some(draft(
            "2.1",
            if who == "Malphas" {
                deferred()
            } else {
                json!([])
            },
        ))
    });
    assert!(out.gates.all_passed, "{:#?}", out.gates);
    assert_eq!(out.plan.blockers.len(), 1);
    assert_eq!(out.plan.discovery_task_stubs.len(), 1);
    let stub = &out.plan.discovery_task_stubs[0];
    assert_eq!(stub.origin_blocker_id, "blocker_001");
    assert!(file(&out, &format!("discovery_task_stubs/{}.json", stub.task_id)).is_some());
    assert!(out.plan.conclave_queue_items.is_empty());
    assert!(!out
        .files
        .iter()
        .any(|(n, _)| n.starts_with("conclave_queue_items/")));
    assert!(event_types(&out).contains(&"executive.blocker.deferred_downstream".to_string()));
    assert!(!event_types(&out).contains(&"executive.blocker.escalated".to_string()));
    let epic = &out.plan.epics[0];
    assert_eq!(epic.discovery_required, vec!["blocker_001".to_string()]);
    let handoff = file(&out, "execution_plan_handoff.json").expect("handoff");
    assert_eq!(
        handoff["discovery_task_stubs"][0]["task_id"],
        stub.task_id.as_str()
    );
}

#[test]
fn ambiguous_motion_escalates_with_event_and_queue_item() {
    // Case 5 and the ambiguous-motion acceptance scenario.
    let out = scripted(&resilience(), &PlanOptions::default(), |_, who| {
        Some(draft(
            "1.1",
            if who == "Buer" {
                json!([{"blocker_class": "INTENT_AMBIGUITY", "severity": "HIGH",
                    "description": "'governance incidents' is not defined", "disposition": "ESCALATE_NOW",
                    "ttl": "P30D", "escalation_conditions": ["Conclave clarification needed"],
                    "clause_ref": "1.1", "questions": ["Which incidents count?"], "interpretations": ["Only vote tampering", "Any disruption"]}])
            } else {
                json!([])
            },
        ))
    });
    let b = &out.plan.blockers[0];
    assert_eq!(b.disposition, Some(Disposition::EscalateNow));
    assert!(event_types(&out).contains(&"executive.blocker.escalated".to_string()));
    let cqi = format!("cqi_{}_001", out.cycle_id.trim_start_matches("exec_"));
    let item = file(&out, &format!("conclave_queue_items/{cqi}.json")).expect("queue item");
    assert_eq!(item["blocker_id"], "blocker_001");
    // Without the Clarification Review the escalation still gets its Conclave item.
    let icq = file(
        &out,
        "clarification_review/blocker_001/intent_clarification_queue_item.json",
    )
    .expect("intent clarification queue item");
    assert_eq!(icq["blocker_id"], "blocker_001");
    assert_eq!(icq["confirmed_by_clarification_review"], false);
    assert_eq!(item["questions"][0], "Which incidents count?");
    assert!(item["source_citations"][0]
        .as_str()
        .unwrap_or("")
        .starts_with("Motion Section 1.1"));
    assert_eq!(out.gates.legibility.status, "PASS");
    // Legibility passes only because the escalation artifact exists.
    let without: Vec<_> = out
        .files
        .iter()
        .filter(|(n, _)| !n.starts_with("conclave_queue_items/"))
        .cloned()
        .collect();
    let report = evaluate(&GateInput {
        cycle_id: &out.cycle_id,
        motion_id: &out.motion_id,
        affected: &[],
        responses: &[],
        blockers: &out.plan.blockers,
        epics: &out.plan.epics,
        artifacts: &without,
        v1_findings: &[],
        work_packages: &[],
        known_portfolios: &Default::default(),
        evaluated_at: NOW,
    });
    assert_eq!(report.legibility.status, "FAIL");
}

#[test]
fn every_artifact_carries_schema_version() {
    let out = simulate(
        &packets("review-basic")[0],
        &PlanOptions {
            clarification_review: true,
            ..Default::default()
        },
    );
    for (name, v) in &out.files {
        assert!(v["schema_version"].is_string(), "{name}");
    }
    assert!(out.events.iter().all(|e| e.schema_version == "2.0"));
    assert_eq!(out.plan.schema_version, "2.0");
}

#[test]
fn agent_chosen_task_ids_never_become_file_names() {
    let hostile = json!([{
        "blocker_class": "EXECUTION_UNCERTAINTY", "severity": "LOW", "description": "d",
        "disposition": "DEFER_DOWNSTREAM", "ttl": "P14D", "escalation_conditions": ["x"],
        "verification_tasks": [{"task_id": "../../evil", "description": "t", "success_signal": "s"}]
    }]);
    let out = scripted(&resilience(), &PlanOptions::default(), move |_, _| {
        Some(draft("1.1", hostile.clone()))
    });
    for (name, _) in &out.files {
        assert!(!name.contains(".."), "{name}");
    }
    assert!(out
        .plan
        .discovery_task_stubs
        .iter()
        .all(|s| s.task_id.starts_with("discovery_blocker_")));
}

#[test]
fn a_model_cannot_reassign_a_package_or_blocker_to_another_portfolio() {
    let out = scripted(&resilience(), &PlanOptions::default(), |kind, _| {
        (kind == "portfolio_draft").then(|| {
            json!({
                "response": "CONTRIBUTION",
                "work_packages": [{"scope_description": "Deliver clause 2.1", "mapped_clauses": ["2.1"],
                    "success_signal": "Observed", "portfolio_id": "portfolio_elsewhere", "package_id": "../x"}],
                "capacity_claim": {"claim_type": "COARSE", "units": 2, "confidence": "MEDIUM", "notes": "coarse"},
                "blockers": [{"blocker_class": "CAPACITY_CONFLICT", "severity": "LOW", "description": "Staffing",
                    "disposition": "MITIGATE_IN_EXECUTIVE", "mitigation_notes": "Sequence it", "ttl": "P7D",
                    "escalation_conditions": ["Slips a cycle"], "owner_portfolio_id": "portfolio_elsewhere"}]
            })
            .to_string()
        })
    });
    let by_portfolio: Vec<(&str, &str)> = out
        .plan
        .work_packages
        .iter()
        .map(|p| (p.portfolio_id.as_str(), p.package_id.as_str()))
        .collect();
    for (pid, package) in &by_portfolio {
        assert!(
            out.plan.affected_portfolios.iter().any(|a| a == pid),
            "{pid}"
        );
        assert!(package.starts_with("wp_"), "{package}");
    }
    let written = serde_json::to_value(&out.plan).unwrap().to_string();
    assert!(!written.contains("portfolio_elsewhere"), "{written}");
    assert!(out.gates.all_passed, "{:#?}", out.gates);
}
