//! `archon decompose` end to end on hand-written inputs laid out like `archon select` leaves them.

use crate::support::{assert_one_warning_per_other_example, Mode, SPEC_EXAMPLES};
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/decompose");
const MANDATE: &str = "archon-out/rfp/rfp_f35d55a37c3e/mandates/mandate-80b8d82e";

fn data(name: &str) -> PathBuf {
    Path::new(DATA).join(name)
}

/// A working directory with one RFP session holding one mandate.
fn workspace(selection: &str, proposal: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let mandate = tmp.path().join(MANDATE);
    fs::create_dir_all(mandate.join("selection")).unwrap();
    fs::create_dir_all(mandate.join("proposals_inbox")).unwrap();
    fs::copy(
        data(selection),
        mandate.join("selection/selection_result.json"),
    )
    .unwrap();
    fs::copy(
        data(proposal),
        mandate.join("proposals_inbox/proposal_gusion.md"),
    )
    .unwrap();
    fs::copy(data("rfp.json"), mandate.join("rfp.json")).unwrap();
    tmp
}

fn archon(dir: &Path) -> Command {
    let mut cmd = Command::from_std(crate::support::archon(Mode::Simulation));
    cmd.current_dir(dir)
        .env("ARCHON_NOW", "2026-01-31T12:00:00Z")
        .arg("decompose");
    cmd
}

fn bridge(dir: &Path) -> PathBuf {
    dir.join(MANDATE).join("execution_bridge")
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

fn statuses(dir: &Path) -> Vec<String> {
    let m = read(&bridge(dir).join("activation_manifest.json"));
    m.as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn quiet_run_with_research_clusters_blocks_every_task_and_prints_the_summary() {
    let tmp = workspace("selection_result.json", "proposal_gusion.md");
    archon(tmp.path())
        .arg("--cluster-dir")
        .arg(data("clusters_research"))
        .assert()
        .code(1)
        .stdout(
            "\nEarl Decomposition Bridge Summary\n  Tactics processed:     3\n  Task drafts created:   6\n  Activations created:   0\n  Activations failed:    0\n  No eligible cluster:   6\n  Weak provenance:       2\n",
        );
    let dir = bridge(tmp.path());
    for f in [
        "task_drafts.json",
        "routing_plan.json",
        "activation_manifest.json",
        "bridge_summary.json",
        "bridge_events.jsonl",
        "stage_manifest.json",
        "checkpoints/T-GUSI-003.task_drafts.json",
    ] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    assert_eq!(statuses(tmp.path()), vec!["BLOCKED_BY_CAPABILITY"; 6]);
    let summary = read(&dir.join("bridge_summary.json"));
    assert_eq!(summary["no_eligible_cluster"], 6);
    assert_eq!(summary["outcome"], "blocked");
}

#[test]
fn verbose_run_routes_into_the_ledger_and_a_rerun_reuses_everything() {
    let tmp = workspace("selection_result.json", "proposal_gusion.md");
    let out = archon(tmp.path())
        .args(["-v", "--cluster-dir"])
        .arg(data("clusters_engineering"))
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(out.starts_with("Winner: Gusion (dprop-gusi-364851af)\nFound 3 tactics in proposal\nMode: simulation\n  [event] bridge.started\n  [event] bridge.loaded_selection\n  [event] bridge.loaded_proposal\n  [event] bridge.tactic.decomposition_started\n    [checkpoint] saved T-GUSI-001.task_drafts.json\n  [event] bridge.tactic.decomposition_completed\n"), "{out}");
    assert!(
        out.contains("Produced 6 task drafts\n  [cluster-registry] loaded 3 clusters\n"),
        "{out}"
    );
    assert!(
        out.contains("  [event] bridge.task.activation_created\n"),
        "{out}"
    );
    assert!(out.contains("  Activations created:   6\n"), "{out}");
    // The paused cluster 01 sorts first but never gets work.
    let manifest = read(&bridge(tmp.path()).join("activation_manifest.json"));
    for row in manifest.as_array().unwrap() {
        assert_eq!(row["status"], "ROUTED");
        assert_eq!(row["cluster_id"], "c0000000-0000-4000-8000-000000000042");
        assert!(row["activation_id"].as_str().unwrap().len() > 8);
    }
    Command::from_std(crate::support::archon(Mode::Auto))
        .current_dir(tmp.path())
        .args(["tasks", "show", "TASK-GUSI-002b", "--json"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("\"routed\"").or(predicate::str::contains("ROUTED")));

    let again = archon(tmp.path())
        .args(["-v", "--cluster-dir"])
        .arg(data("clusters_engineering"))
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let again = String::from_utf8(again).unwrap();
    assert!(
        again.contains("    [checkpoint] loaded T-GUSI-002.task_drafts.json\n"),
        "{again}"
    );
    assert!(again.contains("already created"), "{again}");
    assert_eq!(statuses(tmp.path()), vec!["ROUTED"; 6]);
    let events = fs::read_to_string(bridge(tmp.path()).join("bridge_events.jsonl")).unwrap();
    assert_eq!(
        events.matches("bridge.complete").count(),
        2,
        "the trail is appended"
    );
}

#[test]
fn same_inputs_give_byte_identical_artifacts() {
    let runs: Vec<tempfile::TempDir> = (0..2)
        .map(|_| {
            let tmp = workspace("selection_result.json", "proposal_gusion.md");
            archon(tmp.path())
                .arg("--no-activate")
                .arg("--cluster-dir")
                .arg(data("clusters_engineering"))
                .assert()
                .code(0);
            tmp
        })
        .collect();
    for f in [
        "task_drafts.json",
        "routing_plan.json",
        "activation_manifest.json",
        "bridge_summary.json",
        "bridge_events.jsonl",
        "stage_manifest.json",
    ] {
        let a = fs::read(bridge(runs[0].path()).join(f)).unwrap();
        let b = fs::read(bridge(runs[1].path()).join(f)).unwrap();
        assert_eq!(a, b, "{f}");
    }
    assert_eq!(statuses(runs[0].path()), vec!["PENDING_ACTIVATION"; 6]);
    assert!(!runs[0].path().join("archon-out/governance.db").exists());
}

#[test]
fn top_k_two_activates_each_task_on_two_clusters_in_the_ledger() {
    let tmp = workspace("selection_result.json", "proposal_gusion.md");
    archon(tmp.path())
        .args([
            "--route-top-k",
            "2",
            "--tactic-id",
            "T-GUSI-001",
            "--cluster-dir",
        ])
        .arg(data("clusters_engineering"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("  Activations created:   4\n"));
    assert_eq!(statuses(tmp.path()), vec!["ROUTED"; 4]);
}

#[test]
fn dry_run_writes_nothing_and_activates_nothing() {
    let tmp = workspace("selection_result.json", "proposal_gusion.md");
    archon(tmp.path())
        .args(["--dry-run", "-v", "--cluster-dir"])
        .arg(data("clusters_engineering"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("[event] bridge.complete"))
        .stdout(
            predicate::str::contains("nothing written")
                .and(predicate::str::contains("saved").not()),
        );
    assert!(!bridge(tmp.path()).exists());
    assert!(!tmp.path().join("archon-out/governance.db").exists());
}

#[test]
fn explicit_paths_and_single_tactic() {
    let tmp = tempfile::tempdir().unwrap();
    let sel = tmp.path().join("m/selection");
    fs::create_dir_all(&sel).unwrap();
    fs::copy(
        data("selection_result.json"),
        sel.join("selection_result.json"),
    )
    .unwrap();
    archon(tmp.path())
        .arg("--from-selection-dir")
        .arg(&sel)
        .arg("--proposal-md")
        .arg(data("proposal_gusion.md"))
        .arg("--rfp-file")
        .arg(data("rfp.json"))
        .args([
            "--tactic-id",
            "T-GUSI-002",
            "--no-checkpoint",
            "--no-activate",
            "--json",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("\"total_tactics\": 1"));
    assert!(tmp
        .path()
        .join("m/execution_bridge/task_drafts.json")
        .is_file());
    assert!(!tmp.path().join("m/execution_bridge/checkpoints").exists());
}

#[test]
fn no_winner_and_no_session_stop_with_the_spec_messages() {
    let tmp = workspace("selection_revision.json", "proposal_gusion.md");
    archon(tmp.path()).assert().code(1).stderr(
        "ERROR: Selection outcome is 'REVISION_REQUESTED', not WINNER_SELECTED. Cannot proceed.\n",
    );
    assert!(!bridge(tmp.path()).exists());

    let empty = tempfile::tempdir().unwrap();
    archon(empty.path())
        .assert()
        .code(1)
        .stderr("ERROR: No RFP session found. Use --selection-file or --from-selection-dir.\n");
}

/// Bad input: exit 2, a message naming the file and place, nothing written.
fn refused(selection: &str, proposal: &str, clusters: &str, expect: &[&str]) {
    let tmp = workspace(selection, proposal);
    let out = archon(tmp.path())
        .arg("--cluster-dir")
        .arg(data(clusters))
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(out).unwrap();
    for e in expect {
        assert!(err.contains(e), "expected {e:?} in {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    assert!(!bridge(tmp.path()).exists(), "nothing half written");
    assert!(!tmp.path().join("archon-out/governance.db").exists());
}

#[test]
fn bad_inputs_are_refused_with_clear_errors() {
    refused(
        "selection_result.json",
        "proposal_no_tactics.md",
        "clusters_engineering",
        &["proposal_gusion.md: line 1: no tactic blocks found"],
    );
    refused(
        "selection_result.json",
        "proposal_truncated.md",
        "clusters_engineering",
        &[
            "proposal_gusion.md: line 23: malformed field line in tactic T-GUSI-002",
            "truncated",
        ],
    );
    refused(
        "selection_result.json",
        "proposal_duplicate.md",
        "clusters_engineering",
        &["line 26: duplicate tactic id T-GUSI-002 (first defined at line 17)"],
    );
    refused(
        "selection_result.json",
        "proposal_gusion.md",
        "clusters_malformed",
        &["cluster-50.json: $.capabilities.tags[1]", "juggling"],
    );
    refused(
        "selection_hostile_duke.json",
        "proposal_gusion.md",
        "clusters_engineering",
        &[
            "selection_result.json: $.rankings[0].duke_name",
            "forbidden character '/'",
        ],
    );
}

/// A routing table may name only Earls of the roster: a Duke's id and a
/// string that is no archon at all are refused, each with its JSON path.
#[test]
fn a_routing_table_naming_no_earl_is_refused() {
    let tmp = workspace("selection_result.json", "proposal_gusion.md");
    let mut table: serde_json::Value =
        serde_json::from_str(include_str!("../../../../data/earl_routing_table.json")).unwrap();
    let duke = "archon-agares-021";
    table["default_earl_id"] = "'; DROP TABLE events;--".into();
    let first = table["portfolio_to_earl"]
        .as_object()
        .and_then(|m| m.keys().next().cloned())
        .unwrap();
    table["portfolio_to_earl"][&first] = duke.into();
    let path = tmp.path().join("table.json");
    fs::write(&path, table.to_string()).unwrap();
    let out = archon(tmp.path())
        .arg("--cluster-dir")
        .arg(data("clusters_engineering"))
        .arg("--earl-routing-table")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("table.json: $.default_earl_id: \"'; DROP TABLE events;--\" is not an archon of the roster"),
        "{err}"
    );
    assert!(
        err.contains(&format!("$.portfolio_to_earl.{first}")),
        "{err}"
    );
    assert!(!tmp.path().join("archon-out/governance.db").exists());
}

#[test]
fn clear_checkpoints_forces_a_fresh_decomposition() {
    let tmp = workspace("selection_result.json", "proposal_gusion.md");
    let run = |extra: &[&str]| {
        let out = archon(tmp.path())
            .args(["-v", "--no-activate"])
            .args(extra)
            .assert()
            .code(0)
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    };
    assert!(run(&[]).contains("[checkpoint] saved T-GUSI-001.task_drafts.json"));
    assert!(run(&[]).contains("[checkpoint] loaded T-GUSI-001.task_drafts.json"));
    let fresh = run(&["--clear-checkpoints"]);
    assert!(
        fresh.contains("[checkpoint] saved T-GUSI-001.task_drafts.json"),
        "{fresh}"
    );
    assert!(!fresh.contains("[checkpoint] loaded"), "{fresh}");
}

/// Six Earls whose answers cannot be had (an empty cassette: each is a
/// transport failure) are an error of the stage (exit 2, saying why), not an
/// "ambiguous" tactic.
#[test]
fn llm_mode_with_six_failing_earls_is_an_error_not_an_ambiguous_tactic() {
    let tmp = workspace("selection_result.json", "proposal_gusion.md");
    let cassette = tmp.path().join("empty-cassette");
    fs::create_dir_all(&cassette).unwrap();
    let mut cmd = Command::from_std(crate::support::archon(Mode::Auto));
    let out = cmd
        .current_dir(tmp.path())
        .env("ARCHON_NOW", "2026-01-31T12:00:00Z")
        .arg("--replay")
        .arg(&cassette)
        .args([
            "decompose",
            "-v",
            "--tactic-id",
            "T-GUSI-001",
            "--no-activate",
        ])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stdout.contains("Mode: LLM (multi-Earl)\n"), "{stdout}");
    for earl in [
        "Raum",
        "Furfur",
        "Marax",
        "Halphas",
        "Bifrons",
        "Andromalius",
    ] {
        assert!(
            stdout.contains(&format!("  [earl] {earl} decomposing T-GUSI-001")),
            "{stdout}"
        );
    }
    assert!(
        stderr.contains("the model server failed (6 asked: 0 valid at the first try, 0 after a re-ask (0 re-ask(s)), 0 invalid, 6 failed)"),
        "{stderr}"
    );
    assert!(stderr.contains("no recorded answer"), "{stderr}");
}

/// The decomposed task's capability tags travel in the activation's
/// `provenance.capability_tags`, so a decline reroutes by what the task needs:
/// cluster 43 (sorted next, wrong tags) is never chosen, cluster 44 (the tags,
/// plus others than cluster 42's) is.
#[test]
fn a_declined_task_reroutes_only_to_clusters_with_the_required_tags() {
    let tmp = workspace("selection_result.json", "proposal_gusion.md");
    let clusters = tmp.path().join("clusters");
    fs::create_dir_all(&clusters).unwrap();
    for f in ["cluster-42.json", "cluster-44.json"] {
        fs::copy(data("clusters_engineering").join(f), clusters.join(f)).unwrap();
    }
    let mut wrong_tags = read(&data("clusters_engineering/cluster-42.json"));
    wrong_tags["cluster_id"] = "c0000000-0000-4000-8000-000000000043".into();
    wrong_tags["capabilities"]["tags"] = serde_json::json!(["data_engineering", "devops"]);
    fs::write(clusters.join("cluster-43.json"), wrong_tags.to_string()).unwrap();
    archon(tmp.path())
        .arg("--cluster-dir")
        .arg(&clusters)
        .assert()
        .code(0);
    let tasks = |args: &[&str], code: i32| {
        let out = Command::from_std(crate::support::archon(Mode::Auto))
            .current_dir(tmp.path())
            .env("ARCHON_NOW", "2026-01-31T12:00:00Z")
            .arg("tasks")
            .arg("--cluster-dir")
            .arg(&clusters)
            .args(args)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    let show = || -> Value {
        serde_json::from_slice(&tasks(&["show", "TASK-GUSI-001a", "--json"], 0).stdout).unwrap()
    };
    let task = show();
    assert_eq!(
        task["provenance"]["capability_tags"],
        serde_json::json!(["dev_backend", "qa_testing"])
    );
    assert_eq!(task["cluster_id"], "c0000000-0000-4000-8000-000000000042");

    tasks(&["--actor", "steward-42", "decline", "TASK-GUSI-001a"], 0);
    let task = show();
    assert_eq!(task["state"], "routed");
    assert_eq!(task["cluster_id"], "c0000000-0000-4000-8000-000000000044");

    // With 44 declining too, no cluster with the tags is left: blocked, never 43.
    let last = tasks(&["--actor", "steward-44", "decline", "TASK-GUSI-001a"], 1);
    let last = String::from_utf8(last.stdout).unwrap();
    assert!(
        last.contains(
            "blocked by capability: no eligible cluster left for tags [dev_backend, qa_testing]"
        ),
        "{last}"
    );
    assert!(
        last.contains(
            "ineligible: c0000000-0000-4000-8000-000000000043 lacks tags dev_backend, qa_testing"
        ),
        "{last}"
    );
    let task = show();
    assert_ne!(task["cluster_id"], "c0000000-0000-4000-8000-000000000043");
    assert_ne!(task["state"], "routed");
    let history = task["history"].to_string();
    assert!(!history.contains("000000000043"), "{history}");
    let excluded: Vec<&str> = task["excluded_clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["cluster_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        excluded,
        [
            "c0000000-0000-4000-8000-000000000042",
            "c0000000-0000-4000-8000-000000000044"
        ]
    );
}

/// The same Duke winning two mandates gives the same task refs: the second
/// mandate's tasks are qualified with their mandate, and none is lost.
#[test]
fn the_same_winner_in_two_mandates_keeps_every_task_in_one_ledger() {
    let tmp = workspace("selection_result.json", "proposal_gusion.md");
    let first = tmp.path().join(MANDATE);
    let second = first.with_file_name("mandate-1111aaaa");
    for rel in [
        "selection/selection_result.json",
        "proposals_inbox/proposal_gusion.md",
        "rfp.json",
    ] {
        let text = fs::read_to_string(first.join(rel)).unwrap().replace(
            "mandate-80b8d82e-21c9-43f2-a090-1702ba2e74e2",
            "mandate-1111aaaa-0000-4000-8000-000000000000",
        );
        fs::create_dir_all(second.join(rel).parent().unwrap()).unwrap();
        fs::write(second.join(rel), text).unwrap();
    }
    for mandate in [&first, &second] {
        archon(tmp.path())
            .arg("--selection-file")
            .arg(mandate.join("selection/selection_result.json"))
            .arg("--cluster-dir")
            .arg(data("clusters_engineering"))
            .assert()
            .code(0);
    }
    let out = Command::from_std(crate::support::archon(Mode::Auto))
        .current_dir(tmp.path())
        .args(["tasks", "list", "--json"])
        .output()
        .unwrap();
    let tasks: Value = serde_json::from_slice(&out.stdout).unwrap();
    let refs: Vec<&str> = tasks
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["task_ref"].as_str().unwrap())
        .collect();
    assert_eq!(refs.len(), 12, "{refs:?}");
    assert!(refs.contains(&"TASK-GUSI-001a"), "{refs:?}");
    assert!(refs.contains(&"TASK-GUSI-001a-1111aaaa"), "{refs:?}");
}

#[test]
fn the_spec_examples_folder_as_cluster_dir_works_with_one_warning_per_other_file() {
    let tmp = workspace("selection_result.json", "proposal_gusion.md");
    let out = archon(tmp.path())
        .arg("--cluster-dir")
        .arg(SPEC_EXAMPLES)
        .arg("--no-activate")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{stderr}");
    assert_one_warning_per_other_example(&stderr);
    assert!(bridge(tmp.path()).join("stage_manifest.json").is_file());
}

#[test]
fn a_proposal_markdown_cut_after_its_first_tactic_exits_2_naming_both_files() {
    let tmp = workspace("selection_result.json", "proposal_gusion.md");
    let inbox = tmp.path().join(MANDATE).join("proposals_inbox");
    let md = fs::read_to_string(inbox.join("proposal_gusion.md")).unwrap();
    let cut: String = md
        .lines()
        .take_while(|l| !l.starts_with("### T-GUSI-002"))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(inbox.join("proposal_gusion.md"), cut).unwrap();
    let tactics: Vec<Value> = ["T-GUSI-001", "T-GUSI-002", "T-GUSI-003"]
        .iter()
        .map(|id| serde_json::json!({ "tactic_id": id }))
        .collect();
    fs::write(
        inbox.join("proposal_gusion.json"),
        serde_json::json!({ "content": { "tactics": tactics } }).to_string(),
    )
    .unwrap();
    archon(tmp.path())
        .arg("--cluster-dir")
        .arg(data("clusters_engineering"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "proposal_gusion.md: tactics: 1 tactic(s) (T-GUSI-001) but",
        ))
        .stderr(predicate::str::contains("proposal_gusion.json lists 3"));
    assert!(!bridge(tmp.path()).exists(), "nothing written");
}
