//! The three stages end to end through their file edge, on the hand-written
//! executive session in `tests/data/`, with the simulated agents.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::path::{Path, PathBuf};
use std::sync::Arc;

use archon_admin::dossier::{Dossier, DossierStatus};
use archon_admin::io::{
    self, InboxEntry, InboxManifest, ProposalsOptions, RfpOptions, SelectCliOptions,
};
use archon_admin::proposal::*;
use archon_admin::select::{
    ConclaveEscalation, RevisionRequest, SelectionOutcome, SelectionResult,
};
use archon_admin::AdminError;
use archon_core::agent_port::{
    Agents, Backend, Completion, Exchange, SimulatedBackend, TransportFailure,
};
use archon_core::clock::Clock;
use archon_core::roster::Roster;
use archon_core::seed::{sha256_hex, Seed};

const ROSTER: &str = include_str!("../../../data/roster.json");

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

fn roster() -> Roster {
    Roster::from_json("roster.json", ROSTER).expect("bundled roster")
}

fn clock() -> Clock {
    Clock::fixed_from_rfc3339("2026-02-01T10:00:00Z").expect("time")
}

fn agents() -> Agents {
    Agents::simulated(Seed(72))
}

/// Runs `archon rfp` on the demo session; returns the mandate dir of `motion`.
fn mandate(out: &Path, motion: &str) -> PathBuf {
    let opts = RfpOptions {
        out: out.to_path_buf(),
        motion_id: None,
        retry_failed: false,
    };
    let report = io::rfp(
        &data("executive/sess-demo"),
        &opts,
        &roster(),
        &agents(),
        &clock(),
    )
    .expect("rfp");
    report
        .mandates
        .into_iter()
        .find(|m| m.motion_id == motion)
        .expect("mandate")
        .mandate_dir
}

fn read<T: serde::de::DeserializeOwned>(path: &Path) -> T {
    archon_store::read_json(path).expect("artifact")
}

fn select(dir: &Path, max_iterations: u32) -> Result<SelectionResult, AdminError> {
    let opts = SelectCliOptions {
        max_iterations,
        top_n: 5,
    };
    io::select(dir, &opts, &roster(), &agents(), &clock()).map(|r| r.result)
}

fn propose(
    dir: &Path,
    duke: Option<&str>,
    revise: bool,
) -> Result<io::ProposalsReport, AdminError> {
    let opts = ProposalsOptions {
        duke_name: duke.map(String::from),
        revise,
    };
    io::proposals(dir, &opts, &roster(), &agents(), &clock())
}

/// A weak proposal: one tactic for D-001 only, two unmitigated likely/major risks.
fn weak_proposal(d: &Dossier, duke: &str, abbr: &str, id: &str) -> Proposal {
    Proposal {
        schema_version: "1.0".into(),
        artifact_type: ARTIFACT_TYPE.into(),
        proposal_id: id.into(),
        duke_name: duke.into(),
        duke_id: format!("archon-{}", duke.to_lowercase()),
        duke_abbreviation: abbr.into(),
        rfp_id: d.implementation_dossier_id.clone(),
        mandate_id: d.mandate_id.clone(),
        iteration: 1,
        revision_of: None,
        revision_request_id: None,
        content: ProposalContent {
            executive_summary: format!("{duke} will do the first deliverable."),
            approach: "phased".into(),
            tactics: vec![Tactic {
                tactic_id: format!("T-{abbr}-001"),
                title: "Sign the records".into(),
                description: "Sign every vote record".into(),
                deliverable_id: "D-001".into(),
                rationale: format!("Required by {}", d.requirements.functional[0].req_id),
                prerequisites: "None".into(),
                dependencies: vec![],
                estimated_duration: "P14D".into(),
                owner: format!("duke_{}", duke.to_lowercase()),
            }],
            risks: (1..=2)
                .map(|n| Risk {
                    risk_id: format!("R-{abbr}-{n:03}"),
                    title: format!("Risk {n}"),
                    description: "Could go wrong".into(),
                    likelihood: Likelihood::Likely,
                    impact: Impact::Major,
                    mitigation: String::new(),
                })
                .collect(),
            implementation_proposals: vec![],
        },
        created_at: "2026-02-01T10:00:00Z".into(),
    }
}

/// Writes hand-made proposals into the inbox, as `archon proposals` would.
fn write_inbox(dir: &Path, proposals: &[Proposal]) {
    let inbox = dir.join("proposals_inbox");
    std::fs::create_dir_all(&inbox).expect("inbox");
    let rfp_sha = sha256_hex(std::fs::read(dir.join("rfp.json")).expect("rfp"));
    let mut entries = Vec::new();
    for p in proposals {
        let stem = p.duke_name.to_lowercase();
        let (md, json) = (
            format!("proposal_{stem}.md"),
            format!("proposal_{stem}.json"),
        );
        std::fs::write(inbox.join(&md), archon_admin::markdown::render(p)).expect("md");
        std::fs::write(
            inbox.join(&json),
            serde_json::to_string_pretty(p).expect("json"),
        )
        .expect("json");
        entries.push(InboxEntry {
            duke_name: p.duke_name.clone(),
            duke_id: p.duke_id.clone(),
            duke_abbreviation: p.duke_abbreviation.clone(),
            status: "submitted".into(),
            proposal_id: Some(p.proposal_id.clone()),
            iteration: 1,
            markdown: Some(md),
            json: Some(json),
            reason: None,
        });
    }
    let manifest = InboxManifest {
        schema_version: "1.0".into(),
        artifact_type: "proposal_inbox_manifest".into(),
        rfp_id: proposals[0].rfp_id.clone(),
        mandate_id: proposals[0].mandate_id.clone(),
        rfp_sha256: rfp_sha,
        entries,
        answered_revision_requests: vec![],
        updated_at: "2026-02-01T10:00:00Z".into(),
    };
    std::fs::write(
        inbox.join("inbox_manifest.json"),
        serde_json::to_string_pretty(&manifest).expect("m"),
    )
    .expect("m");
}

fn weak_inbox(dir: &Path) {
    let d: Dossier = read(&dir.join("rfp.json"));
    write_inbox(
        dir,
        &[
            weak_proposal(&d, "Gusion", "GUSI", "dprop-gusi-00000001"),
            weak_proposal(&d, "Agares", "AGAR", "dprop-agar-00000002"),
        ],
    );
}

#[test]
fn chain_selects_a_winner_with_every_artifact() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = mandate(tmp.path(), "motion-alpha");
    let report = propose(&dir, None, false).expect("proposals");
    assert_eq!(report.total_submitted, 23);
    let r = select(&dir, 3).expect("select");
    assert_eq!(r.outcome, SelectionOutcome::WinnerSelected);
    let winner = r.winning_proposal_id.clone().expect("winner");
    assert_eq!(r.rankings[0].proposal_id, winner);
    // The Dukes really differ: several approaches, tactic counts and tiers.
    let summary: serde_json::Value = read(&dir.join("proposals_inbox/proposal_summary.json"));
    assert!(
        summary["by_approach"].as_object().expect("map").len() >= 3,
        "{summary}"
    );
    let means: Vec<f64> = r.rankings.iter().map(|k| k.statistics.mean).collect();
    assert!(means.first() > means.last());
    for rel in [
        "plan_acceptance.json",
        "selection_result.md",
        "selection_events.jsonl",
        "stage_manifest.json",
    ] {
        assert!(dir.join("selection").join(rel).is_file(), "{rel}");
    }
    assert_eq!(
        std::fs::read_dir(dir.join("selection/scores"))
            .expect("scores")
            .count(),
        11
    );
    // The winner's markdown is where the bridge looks for it.
    let duke = r.rankings[0].duke_name.to_lowercase();
    let md = std::fs::read_to_string(dir.join(format!("proposals_inbox/proposal_{duke}.md")))
        .expect("md");
    let parsed = archon_admin::markdown::parse(&md);
    let json: Proposal = read(&dir.join(format!("proposals_inbox/proposal_{duke}.json")));
    assert_eq!(parsed.tactics.len(), json.content.tactics.len());
    // A second run with the same inputs reuses the result.
    let again = io::select(
        &dir,
        &SelectCliOptions {
            max_iterations: 3,
            top_n: 5,
        },
        &roster(),
        &agents(),
        &clock(),
    )
    .expect("again");
    assert!(again.reused);
}

#[test]
fn same_inputs_give_byte_identical_artifacts() {
    let (a, b) = (
        tempfile::tempdir().expect("a"),
        tempfile::tempdir().expect("b"),
    );
    let files = |root: &Path| {
        let dir = mandate(root, "motion-alpha");
        propose(&dir, None, false).expect("proposals");
        select(&dir, 3).expect("select");
        [
            "rfp.json",
            "proposals_inbox/proposal_gusion.md",
            "proposals_inbox/inbox_manifest.json",
            "selection/selection_result.json",
        ]
        .map(|f| std::fs::read(dir.join(f)).expect(f))
    };
    assert_eq!(files(a.path()), files(b.path()));
}

#[test]
fn first_round_requests_revision_and_the_second_selects() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = mandate(tmp.path(), "motion-alpha");
    weak_inbox(&dir);
    let first = select(&dir, 3).expect("select 1");
    assert_eq!(
        first.outcome,
        SelectionOutcome::RevisionRequested,
        "{:?}",
        first.rankings
    );
    let request: RevisionRequest = read(&dir.join("selection/revision_request.json"));
    assert_eq!(request.iteration, 1);
    let dukes: Vec<&str> = request
        .addressed_to
        .iter()
        .map(|a| a.duke_name.as_str())
        .collect();
    assert_eq!(dukes.len(), 2);
    assert!(request
        .addressed_to
        .iter()
        .all(|a| a.constraints.iter().any(|c| c.contains("D-002"))));
    // The same review again is the same iteration, not a new one.
    assert_eq!(select(&dir, 3).expect("again").iteration, 1);

    let revised = propose(&dir, None, true).expect("revise");
    assert_eq!(revised.iteration, 2);
    assert_eq!(revised.submitted.len(), 2);
    let gusion: Proposal = read(&dir.join("proposals_inbox/proposal_gusion.json"));
    assert_eq!(gusion.revision_of.as_deref(), Some("dprop-gusi-00000001"));
    assert!(
        matches!(propose(&dir, None, true), Err(AdminError::Usage(_))),
        "nothing left to revise"
    );

    let second = select(&dir, 3).expect("select 2");
    assert_eq!(second.iteration, 2);
    assert_eq!(
        second.outcome,
        SelectionOutcome::WinnerSelected,
        "{:?}",
        second.rankings
    );
    assert_eq!(
        second.previous_iterations[0].outcome,
        SelectionOutcome::RevisionRequested
    );
    assert!(dir.join("selection/plan_acceptance.json").is_file());
    assert!(!dir.join("selection/revision_request.json").exists());
    insta::assert_json_snapshot!(
        "selection_after_revision",
        read::<serde_json::Value>(&dir.join("selection/selection_result.json"))
    );
}

#[test]
fn the_iteration_bound_escalates_with_the_reason() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = mandate(tmp.path(), "motion-alpha");
    weak_inbox(&dir);
    let r = select(&dir, 1).expect("select");
    assert_eq!(r.outcome, SelectionOutcome::EscalateToConclave);
    assert_eq!(r.winning_proposal_id, None);
    let e: ConclaveEscalation = read(&dir.join("selection/conclave_escalation.json"));
    assert_eq!(e.reason_code, "REVISION_LOOP_EXHAUSTED");
    assert!(
        e.reason.contains("exhausted after 1 iteration"),
        "{}",
        e.reason
    );
    assert!(!dir.join("selection/revision_request.json").exists());
}

#[test]
fn an_open_intent_question_escalates_to_the_conclave() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = mandate(tmp.path(), "motion-beta");
    propose(&dir, None, false).expect("proposals");
    let r = select(&dir, 3).expect("select");
    assert_eq!(r.outcome, SelectionOutcome::EscalateToConclave);
    let e: ConclaveEscalation = read(&dir.join("selection/conclave_escalation.json"));
    assert_eq!(e.reason_code, "INTENT_CHANGE_REQUIRED");
    assert!(e.questions.iter().any(|q| q.contains("blocker_002")));
}

#[test]
fn small_case_snapshots() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = mandate(tmp.path(), "motion-alpha");
    insta::assert_json_snapshot!(
        "rfp_motion_alpha",
        read::<serde_json::Value>(&dir.join("rfp.json"))
    );
    weak_inbox(&dir);
    select(&dir, 3).expect("select");
    insta::assert_json_snapshot!(
        "selection_weak_pair",
        read::<serde_json::Value>(&dir.join("selection/selection_result.json"))
    );
}

/// Simulation, except that one archon's calls fail in transport.
struct Failing(&'static str);

impl Backend for Failing {
    fn name(&self) -> &'static str {
        "simulation"
    }
    fn is_simulated(&self) -> bool {
        true
    }
    fn complete(&self, batch: Vec<Exchange>) -> Vec<Result<Completion, TransportFailure>> {
        let fail: Vec<bool> = batch.iter().map(|e| e.archon_name == self.0).collect();
        SimulatedBackend
            .complete(batch)
            .into_iter()
            .zip(fail)
            .map(|(c, f)| {
                if f {
                    Err(TransportFailure::new("connection refused"))
                } else {
                    c
                }
            })
            .collect()
    }
}

#[test]
fn a_failed_president_blocks_and_retry_failed_reasks_only_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    let exec = data("executive/sess-demo/motion-alpha");
    let run = |agents: &Agents, retry_failed| {
        let opts = RfpOptions {
            out: tmp.path().to_path_buf(),
            motion_id: None,
            retry_failed,
        };
        io::rfp(&exec, &opts, &roster(), agents, &clock())
            .expect("rfp")
            .mandates
            .remove(0)
    };
    let failing = Agents::new(Arc::new(Failing("Valac")), Seed(72));
    let m = run(&failing, false);
    assert_eq!(m.status, DossierStatus::Blocked);
    assert!(
        m.blocked_reasons[0].contains("Valac"),
        "{:?}",
        m.blocked_reasons
    );
    assert!(
        matches!(propose(&m.mandate_dir, None, false), Err(AdminError::Input(e)) if e.path == "$.status")
    );
    // Without --retry-failed the blocked dossier stands.
    assert!(run(&agents(), false).reused);
    let m = run(&agents(), true);
    assert_eq!(m.status, DossierStatus::Final);
    let events = std::fs::read_to_string(m.mandate_dir.join("rfp_events.jsonl")).expect("events");
    let last_calls: serde_json::Value = events
        .lines()
        .rfind(|l| l.contains("rfp.agent_calls"))
        .map(|l| serde_json::from_str(l).expect("json"))
        .expect("calls");
    let calls = last_calls["payload"]["calls"].as_array().expect("calls");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["archon_name"], "Valac");
}

#[test]
fn a_plan_without_epics_is_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let opts = RfpOptions {
        out: tmp.path().to_path_buf(),
        motion_id: None,
        retry_failed: false,
    };
    let err = io::rfp(&data("bad/no-epics"), &opts, &roster(), &agents(), &clock())
        .expect_err("no epics");
    let text = err.to_string();
    assert!(
        text.contains("execution_plan_v2.json: $.epics: the plan has no epics"),
        "{text}"
    );
}

#[test]
fn a_dossier_without_deliverables_is_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = mandate(tmp.path(), "motion-alpha");
    let mut d: serde_json::Value = read(&dir.join("rfp.json"));
    d["deliverables"] = serde_json::json!([]);
    std::fs::write(dir.join("rfp.json"), d.to_string()).expect("write");
    let err = propose(&dir, None, false)
        .expect_err("no deliverables")
        .to_string();
    assert!(
        err.contains("rfp.json: $.deliverables: the Implementation Dossier has no deliverables"),
        "{err}"
    );
}

#[test]
fn duplicate_tactic_ids_are_refused_with_their_path() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = mandate(tmp.path(), "motion-alpha");
    let d: Dossier = read(&dir.join("rfp.json"));
    let mut p = weak_proposal(&d, "Gusion", "GUSI", "dprop-gusi-00000001");
    let copy = p.content.tactics[0].clone();
    p.content.tactics.push(copy);
    write_inbox(&dir, &[p]);
    let err = select(&dir, 3).expect_err("duplicate").to_string();
    assert!(
        err.contains(
            "proposal_gusion.json: $.tactics[1].tactic_id: duplicate tactic id \"T-GUSI-001\""
        ),
        "{err}"
    );
}

#[test]
fn duke_names_must_be_dukes_and_safe() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = mandate(tmp.path(), "motion-alpha");
    for (name, expect) in [
        ("Gaap", "not a Duke"),
        ("Nobody", "not an archon"),
        ("../etc", "'..'"),
        ("a/b", "forbidden"),
    ] {
        match propose(&dir, Some(name), false) {
            Err(AdminError::Usage(m)) => assert!(m.contains(expect), "{name}: {m}"),
            other => panic!("{name}: {:?}", other.map(|r| r.submitted)),
        }
    }
    let one = propose(&dir, Some("gusion"), false).expect("one duke");
    assert_eq!(one.submitted, vec!["Gusion"]);
    let two = propose(&dir, Some("Aim"), false).expect("another");
    assert_eq!(two.total_submitted, 2, "earlier proposals are kept");
    let aim: Proposal = read(&dir.join("proposals_inbox/proposal_aim.json"));
    assert!(aim
        .content
        .tactics
        .iter()
        .all(|t| t.tactic_id.starts_with("T-AIM-")));
}

/// An LLM-like backend whose server is down: it keeps the rendered prompts.
#[derive(Default)]
struct Unreachable(std::sync::Mutex<Vec<String>>);

impl Backend for Unreachable {
    fn name(&self) -> &'static str {
        "llm"
    }
    fn is_simulated(&self) -> bool {
        false
    }
    fn complete(&self, batch: Vec<Exchange>) -> Vec<Result<Completion, TransportFailure>> {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        batch
            .into_iter()
            .map(|e| {
                seen.extend(e.messages.into_iter().map(|m| m.content));
                Err(TransportFailure::new("connection refused"))
            })
            .collect()
    }
}

#[test]
fn prompts_render_and_total_failure_is_recorded_not_fatal() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = mandate(tmp.path(), "motion-alpha");
    let backend = Arc::new(Unreachable::default());
    let llm = Agents::new(backend.clone(), Seed(72));
    let report = io::proposals(
        &dir,
        &ProposalsOptions {
            duke_name: None,
            revise: false,
        },
        &roster(),
        &llm,
        &clock(),
    )
    .expect("proposals");
    assert_eq!((report.total_submitted, report.failed.len()), (0, 23));
    let inbox: InboxManifest = read(&dir.join("proposals_inbox/inbox_manifest.json"));
    assert!(inbox.entries.iter().all(|e| e.status == "failed"
        && e.reason
            .as_deref()
            .is_some_and(|r| r.contains("connection refused"))));
    weak_inbox(&dir);
    let r = io::select(
        &dir,
        &SelectCliOptions {
            max_iterations: 3,
            top_n: 5,
        },
        &roster(),
        &llm,
        &clock(),
    )
    .expect("select")
    .result;
    assert_eq!(r.outcome, SelectionOutcome::NoViableProposal);
    assert!(r.presidents.iter().all(|p| p.status == "failed"));
    let prompts = backend
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .join("\n");
    for needle in [
        "T-GUSI-001",
        "D-002",
        "dprop-agar-00000002",
        "Answer schema:",
    ] {
        assert!(prompts.contains(needle), "{needle}");
    }
}

/// A Duke's draft names no id: the engine numbers tactics and risks, takes
/// each epic from its deliverable and makes the Duke the owner; a number that
/// names no tactic is reported at its JSON path.
#[test]
fn a_draft_gets_the_engines_ids() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = mandate(tmp.path(), "motion-alpha");
    let d: Dossier = read(&dir.join("rfp.json"));
    let deliverable = d.deliverables[0].clone();
    let tactic = |dependencies: Vec<ItemNumber>| TacticDraft {
        title: "Sign the records".into(),
        description: "Sign every vote record".into(),
        deliverable_id: deliverable.deliverable_id.clone(),
        rationale: "Required".into(),
        prerequisites: "None".into(),
        dependencies,
        estimated_duration: "P14D".into(),
    };
    let draft = |second: Vec<ItemNumber>| ProposalDraft {
        executive_summary: "Two tactics.".into(),
        approach: "phased".into(),
        tactics: vec![tactic(vec![]), tactic(second)],
        risks: vec![RiskDraft {
            title: "Risk".into(),
            description: "Could go wrong".into(),
            likelihood: Likelihood::Likely,
            impact: Impact::Major,
            mitigation: String::new(),
        }],
        implementation_proposals: vec![ImplementationDraft {
            deliverable_id: deliverable.deliverable_id.clone(),
            approach: "phased".into(),
            tactics: vec![1, 2],
            technical_spec_references: vec![],
            risks: vec![1],
            resource_requests: vec![],
            capacity_commitment: CapacityCommitment {
                level: CommitmentLevel::Full,
                basis: "Free".into(),
                conditions: vec![],
            },
        }],
    };
    let c = draft(vec![1]).numbered("GUSI", "duke_gusion", &d);
    assert!(c.validate("draft", "GUSI", &d).is_empty());
    assert_eq!(c.tactics[1].tactic_id, "T-GUSI-002");
    assert_eq!(c.tactics[1].dependencies, ["T-GUSI-001"]);
    assert!(c.tactics.iter().all(|t| t.owner == "duke_gusion"));
    assert_eq!(c.risks[0].risk_id, "R-GUSI-001");
    let ip = &c.implementation_proposals[0];
    assert_eq!(ip.epic_id, deliverable.epic_id);
    assert_eq!(ip.tactic_ids, ["T-GUSI-001", "T-GUSI-002"]);
    assert_eq!(ip.risks, ["R-GUSI-001"]);
    let bad = draft(vec![7]).numbered("GUSI", "duke_gusion", &d);
    let errors: Vec<String> = bad
        .validate("draft", "GUSI", &d)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("$.tactics[1].dependencies[0]") && e.contains("T-GUSI-007")),
        "{errors:?}"
    );
}
