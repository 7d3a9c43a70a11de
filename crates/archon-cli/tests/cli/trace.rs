//! End-to-end tests of `archon trace`: `archon run` on the bundled example,
//! then the provenance chain of one task, checked link by link against the
//! artifacts each stage wrote.

use crate::support::Mode;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

fn archon(cwd: &Path) -> Command {
    let mut c = crate::support::archon(Mode::Simulation);
    c.current_dir(cwd).env("ARCHON_NOW", "2026-01-15T12:00:00Z");
    c
}

/// One run of the bundled example, shared by the tests of this file.
fn run_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = archon(dir.path()).args(["run", "-q"]).output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        dir
    })
    .path()
}

/// The first task of the run's ledger (a design task: `TASK-<DUKE>-001a`).
fn task() -> &'static str {
    static TASK: OnceLock<String> = OnceLock::new();
    TASK.get_or_init(|| {
        let out = archon(run_dir())
            .args(["tasks", "list", "--json"])
            .output()
            .unwrap();
        let tasks: Value = serde_json::from_slice(&out.stdout).unwrap();
        let first = tasks[0]["task_ref"].as_str().unwrap().to_string();
        assert!(first.ends_with("-001a"), "{first}");
        first
    })
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn trace(args: &[&str]) -> Output {
    archon(run_dir()).arg("trace").args(args).output().unwrap()
}

fn read(path: PathBuf) -> Value {
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The mandate folder of `task`, as the ledger records it (two mandates won by
/// one Duke draft the same task refs; the ledger tells them apart).
fn mandate_of(task: &str) -> PathBuf {
    let out = archon(run_dir())
        .args(["tasks", "show", task, "--json"])
        .output()
        .unwrap();
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mandate = shown["provenance"]["mandate_id"].as_str().unwrap();
    let rfp = run_dir().join("archon-out").join("rfp");
    let session = std::fs::read_dir(&rfp).unwrap().next().unwrap().unwrap();
    let dir = session.path().join("mandates").join(mandate);
    let drafts = read(dir.join("execution_bridge/task_drafts.json"));
    assert!(drafts
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["task_ref"] == task));
    dir
}

/// The facts every link must show, read straight from the artifacts.
struct Expected {
    motion_id: String,
    motion_title: String,
    yeas: u64,
    nays: u64,
    abstentions: u64,
    threshold_type: String,
    threshold_required: u64,
    plan_id: String,
    epic_id: String,
    intent: String,
    req_id: String,
    req_text: String,
    proposal_id: String,
    duke: String,
    tactic_id: String,
    tactic_title: String,
    draft_description: String,
}

fn expected() -> Expected {
    let mandate = mandate_of(task());
    let out = run_dir().join("archon-out");
    let rfp = read(mandate.join("rfp.json"));
    let motion_id = rfp["motion_id"].as_str().unwrap().to_string();
    let drafts = read(mandate.join("execution_bridge/task_drafts.json"));
    let draft = drafts
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["task_ref"] == task())
        .unwrap()
        .clone();
    let deliverable = rfp["deliverables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["deliverable_id"] == draft["deliverable_id"])
        .unwrap();
    let epic_id = deliverable["epic_id"].as_str().unwrap().to_string();
    let plan = read(
        out.join("executive/example-session-001")
            .join(&motion_id)
            .join("execution_plan_v2.json"),
    );
    let epic = plan["epics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["epic_id"] == epic_id.as_str())
        .unwrap();
    let req_id = draft["requirements"][0]
        .as_str()
        .unwrap()
        .trim_start_matches("Addresses ")
        .to_string();
    let req = rfp["requirements"]["functional"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["req_id"] == req_id.as_str())
        .unwrap();
    let selection = read(mandate.join("selection/selection_result.json"));
    let proposal_id = selection["winning_proposal_id"]
        .as_str()
        .unwrap()
        .to_string();
    let ratified = read(out.join("review/example-session-001/ratified_motions.json"));
    let motion = ratified["motions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mega_motion_id"] == motion_id.as_str())
        .unwrap();
    let results = read(out.join("review/example-session-001/ratification_results.json"));
    let vote = results["votes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["vote_id"] == motion["provenance"]["ratification_vote_id"])
        .unwrap();
    let manifest = read(mandate.join("proposals_inbox/inbox_manifest.json"));
    let entry = manifest["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["proposal_id"] == proposal_id.as_str())
        .unwrap();
    let proposal = read(
        mandate
            .join("proposals_inbox")
            .join(entry["json"].as_str().unwrap()),
    );
    let tactic = proposal["tactics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tactic_id"] == draft["parent_tactic_id"])
        .unwrap();
    Expected {
        motion_title: motion["title"].as_str().unwrap().to_string(),
        motion_id,
        yeas: vote["yeas"].as_u64().unwrap(),
        nays: vote["nays"].as_u64().unwrap(),
        abstentions: vote["abstentions"].as_u64().unwrap(),
        threshold_type: vote["threshold_type"].as_str().unwrap().to_string(),
        threshold_required: vote["threshold_required"].as_u64().unwrap(),
        plan_id: plan["plan_id"].as_str().unwrap().to_string(),
        intent: epic["intent"].as_str().unwrap().to_string(),
        epic_id,
        req_text: req["description"].as_str().unwrap().to_string(),
        req_id,
        proposal_id,
        duke: proposal["duke_name"].as_str().unwrap().to_string(),
        tactic_id: tactic["tactic_id"].as_str().unwrap().to_string(),
        tactic_title: tactic["title"].as_str().unwrap().to_string(),
        draft_description: draft["description"].as_str().unwrap().to_string(),
    }
}

#[test]
fn trace_prints_every_link_from_motion_to_ledger_states() {
    let out = trace(&[task()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let e = expected();
    for link in [
        e.motion_id.as_str(),
        &e.motion_title,
        &format!("{} yea, {} nay, {} abstain", e.yeas, e.nays, e.abstentions),
        &format!(
            "{} needs {}: met (ratified)",
            e.threshold_type, e.threshold_required
        ),
        &e.plan_id,
        &format!("epic {}: {}", e.epic_id, e.intent),
        &format!("{}: {}", e.req_id, e.req_text),
        &format!("{} by Duke {}", e.proposal_id, e.duke),
        &format!("{}: {}", e.tactic_id, e.tactic_title),
        &format!("{}: {}", task(), e.draft_description),
        "authorized → activated (activation)",
        "activated → routed (routing)",
        "routed → accepted (steward_accepted)",
        "accepted → in_progress (started)",
        "in_progress → reported (result_reported)",
    ] {
        assert!(stdout.contains(link), "missing {link:?} in:\n{stdout}");
    }
    // Motion first, ledger last: the chain reads top-down.
    let pos = |s: &str| stdout.find(s).unwrap();
    assert!(pos("motion ") < pos("ratification ") && pos("ratification ") < pos("plan "));
    assert!(pos("dossier ") < pos("proposal ") && pos("draft ") < pos("ledger "));
}

#[test]
fn trace_json_has_one_object_per_link() {
    let out = trace(&["--json", task()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let e = expected();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "task_ref",
            "motion",
            "ratification",
            "plan",
            "dossier",
            "proposal",
            "draft",
            "ledger"
        ]
    );
    assert_eq!(v["task_ref"], task());
    assert_eq!(v["motion"]["motion_id"], e.motion_id.as_str());
    assert_eq!(v["motion"]["title"], e.motion_title.as_str());
    assert_eq!(v["ratification"]["yeas"], e.yeas);
    assert_eq!(v["ratification"]["nays"], e.nays);
    assert_eq!(v["ratification"]["abstentions"], e.abstentions);
    assert_eq!(
        v["ratification"]["threshold_required"],
        e.threshold_required
    );
    assert_eq!(v["ratification"]["threshold_met"], true);
    assert_eq!(v["plan"]["plan_id"], e.plan_id.as_str());
    assert_eq!(v["plan"]["epic_id"], e.epic_id.as_str());
    assert_eq!(v["plan"]["intent"], e.intent.as_str());
    assert_eq!(v["dossier"]["requirements"][0]["req_id"], e.req_id.as_str());
    assert_eq!(v["dossier"]["requirements"][0]["kind"], "functional");
    assert_eq!(
        v["dossier"]["requirements"][0]["description"],
        e.req_text.as_str()
    );
    assert_eq!(v["proposal"]["proposal_id"], e.proposal_id.as_str());
    assert_eq!(v["proposal"]["duke_name"], e.duke.as_str());
    assert_eq!(v["proposal"]["tactic_id"], e.tactic_id.as_str());
    assert_eq!(v["proposal"]["tactic_title"], e.tactic_title.as_str());
    assert_eq!(v["draft"]["draft"]["task_ref"], task());
    assert_eq!(v["draft"]["draft"]["effort_hours"], 8.0);
    assert_eq!(v["ledger"]["state"], "reported");
    let states: Vec<(&str, &str)> = v["ledger"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["from"].as_str().unwrap(), h["to"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [
            ("authorized", "activated"),
            ("activated", "routed"),
            ("routed", "accepted"),
            ("accepted", "in_progress"),
            ("in_progress", "reported")
        ]
    );
    for link in [
        "motion",
        "ratification",
        "plan",
        "dossier",
        "proposal",
        "draft",
        "ledger",
    ] {
        let source = v[link]["source"].as_str().unwrap();
        assert!(run_dir().join(source).is_file(), "{link}: {source}");
    }
}

#[test]
fn unknown_task_exits_2_with_a_clear_message() {
    let out = trace(&["TASK-NOPE-001a"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("unknown task TASK-NOPE-001a in archon-out/governance.db"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_missing_ledger_or_a_broken_link_is_a_clear_error() {
    let empty = tempfile::tempdir().unwrap();
    let out = archon(empty.path())
        .args(["trace", task()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("archon-out/governance.db: no governance ledger here"));
    // The ledger alone, without the artifacts it points to: the first hop names what it looked for.
    let ledger = run_dir().join("archon-out/governance.db");
    let out = archon(empty.path())
        .args(["trace", task(), "--ledger"])
        .arg(&ledger)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("no mandate mandate-"), "{stderr}");
    assert!(stderr.contains("under archon-out/rfp"), "{stderr}");
}
