//! End-to-end: `archon tasks …` and `archon verify` on a real ledger file.

use crate::support::Mode;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;
use serde_json::Value;

const C42: &str = "6e2f3a41-0042-4b42-9b42-000000000042";

/// `archon tasks --ledger LEDGER`, acting as cluster 42's steward.
fn archon(ledger: &Path) -> Command {
    let mut cmd = Command::from_std(crate::support::archon(Mode::Auto));
    cmd.env("ARCHON_NOW", "2026-02-01T10:00:00Z")
        .env("ARCHON_ACTOR", "steward-42")
        .arg("tasks")
        .arg("--ledger")
        .arg(ledger);
    cmd
}

fn activate(ledger: &Path, task: &str, description: &str) -> assert_cmd::assert::Assert {
    archon(ledger)
        .args(["activate", "--task-ref", task, "--earl-id", "earl-raum"])
        .args(["--cluster-id", C42, "--description", description])
        .args(["--requirement", "Addresses FR-TECH-001"])
        .args(["--outcome", "Schema reviewed", "--outcome", "Tests pass"])
        .args([
            "--capability-tag",
            "dev_backend",
            "--capability-tag",
            "qa_testing",
        ])
        .assert()
}

fn events(ledger: &Path) -> usize {
    let out = archon(ledger)
        .args(["list", "--json"])
        .output()
        .expect("run");
    assert!(out.status.success());
    // Count through verify: the total number of events in the ledger.
    let out = Command::from_std(crate::support::archon(Mode::Auto))
        .args(["--json", "verify", "--ledger"])
        .arg(ledger)
        .arg(ledger.parent().expect("dir"))
        .output()
        .expect("run");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    v["ledger"]["events"].as_u64().unwrap_or(0) as usize
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tmp");
    let ledger = dir.path().join("governance.db");
    (dir, ledger)
}

#[test]
fn lifecycle_from_the_command_line() {
    let (dir, ledger) = setup();
    activate(&ledger, "TASK-GUSI-001a", "URGENT: design the schema ASAP.")
        .success()
        .stdout(contains("TASK-GUSI-001a: activation act-"))
        .stdout(contains(format!("routed to cluster {C42}")));
    archon(&ledger)
        .args(["accept", "TASK-GUSI-001a"])
        .assert()
        .success()
        .stdout(contains("TASK-GUSI-001a: accept routed -> accepted"));
    archon(&ledger)
        .args(["start", "TASK-GUSI-001a"])
        .assert()
        .success();
    let result = dir.path().join("result.json");
    std::fs::write(
        &result,
        serde_json::json!({
            "result_id": "r-1", "cluster_id": C42, "status": "completed",
            "submitted_at": "2026-02-02T10:00:00Z", "steward_id": "steward-42",
            "acceptance_test_results": [{"test": "schema reviewed", "passed": true}]
        })
        .to_string(),
    )
    .expect("write");
    archon(&ledger)
        .args(["report", "TASK-GUSI-001a", "--result"])
        .arg(&result)
        .assert()
        .success()
        .stdout(contains("result r-1 reported"));
    let out = archon(&ledger)
        .args(["--json", "settle", "TASK-GUSI-001a", "--accept"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["after"], "completed");
    assert_eq!(
        v["record"]["content"]["description"],
        "design the schema when possible."
    );
    archon(&ledger)
        .args(["show", "TASK-GUSI-001a"])
        .assert()
        .success()
        .stdout(contains("TASK-GUSI-001a  completed"));
    Command::from_std(crate::support::archon(Mode::Auto))
        .arg("verify")
        .arg(dir.path())
        .assert()
        .success()
        .stdout(contains("verify: ok"));
}

/// The same commands with the ledger in PostgreSQL (a private server on
/// 127.0.0.1): `--ledger URL` and `archon verify URL`; the password in the URL
/// (ignored by the test server's trust auth) never reaches the output.
#[test]
fn tasks_and_verify_on_a_postgres_ledger() {
    let db = archon_testkit::postgres_database();
    let url = db.url().replacen("archon@", "archon:s3cret@", 1);
    let ledger = Path::new(&url);
    activate(ledger, "TASK-PG-001", "Design the schema.").success();
    archon(ledger)
        .args(["accept", "TASK-PG-001"])
        .assert()
        .success()
        .stdout(contains("TASK-PG-001: accept routed -> accepted"));
    archon(ledger)
        .args(["list"])
        .assert()
        .success()
        .stdout(contains("TASK-PG-001"))
        .stdout(contains("archon:***@"))
        .stdout(contains("s3cret").not());
    Command::from_std(crate::support::archon(Mode::Auto))
        .arg("verify")
        .arg(&url)
        .assert()
        .success()
        .stdout(contains("verify: ok"))
        .stdout(contains("s3cret").not());
    let head = Command::from_std(crate::support::archon(Mode::Auto))
        .args(["verify", "--head", "--ledger"])
        .arg(&url)
        .output()
        .expect("run");
    assert!(head.status.success());
    let head = String::from_utf8_lossy(&head.stdout);
    let (seq, hash) = head.trim().split_once(':').expect("SEQ:HASH");
    assert!(seq.parse::<u64>().is_ok_and(|n| n > 0), "{head}");
    assert_eq!(hash.len(), 64, "{head}");
}

#[test]
fn refusals_exit_2_and_leave_the_ledger_unchanged() {
    let (dir, ledger) = setup();
    activate(&ledger, "TASK-A-001", "Design the schema.").success();
    let before = events(&ledger);
    let result = dir.path().join("result.json");
    // Reports `text` as the result of TASK-A-001: refused with exit 2.
    let report = |text: String| {
        std::fs::write(&result, text).expect("write");
        archon(&ledger)
            .args(["report", "TASK-A-001", "--result"])
            .arg(&result)
            .assert()
            .code(2)
    };
    report(
        serde_json::json!({"result_id": "r-1", "cluster_id": C42, "status": "completed",
            "submitted_at": "2026-02-02T10:00:00Z"})
        .to_string(),
    )
    .stderr(contains(
        "task TASK-A-001: no result can be reported for a task never accepted (state routed)",
    ));
    archon(&ledger)
        .args(["start", "TASK-A-001"])
        .assert()
        .code(2)
        .stderr(contains("task TASK-A-001: cannot move from routed to in_progress; allowed from routed: accepted, declined, nullified"));
    archon(&ledger)
        .args(["accept", "TASK-NOPE"])
        .assert()
        .code(2)
        .stderr(contains("unknown task TASK-NOPE"));
    report("{\"result_id\": 3}".into())
        .stderr(contains("result.json"))
        .stderr(contains("$.result_id"));
    // A field of the example the engine does not read is still typed.
    report(
        serde_json::json!({"result_id": "r-1", "cluster_id": C42, "status": "completed",
            "submitted_at": "2026-02-02T10:00:00Z",
            "effort": {"started_at": "a", "completed_at": "b", "contributors_count": "two"}})
        .to_string(),
    )
    .stderr(contains("result.json"))
    .stderr(contains("$.effort.contributors_count"));
    archon(&ledger)
        .args(["settle", "TASK-A-001", "--reject", "meh"])
        .assert()
        .code(2)
        .stderr(contains("outcome_not_met"));
    assert_eq!(events(&ledger), before);
}

#[test]
fn malformed_cluster_dir_names_file_and_path() {
    let (dir, ledger) = setup();
    let clusters = dir.path().join("clusters");
    std::fs::create_dir(&clusters).expect("mkdir");
    std::fs::write(
        clusters.join("bad.json"),
        r#"{"cluster_id": "x", "status": "sleeping"}"#,
    )
    .expect("write");
    archon(&ledger)
        .arg("--cluster-dir")
        .arg(&clusters)
        .arg("expire")
        .assert()
        .code(2)
        .stderr(contains("bad.json: $.status"));
    assert!(!ledger.exists(), "bad input creates no ledger");
}

#[test]
fn blocked_activations_exit_1_and_decline_reroutes() {
    let (_dir, ledger) = setup();
    activate(&ledger, "TASK-B-001", "Help now or else.")
        .code(1)
        .stdout(contains("blocked by coercion filter"));
    activate(&ledger, "TASK-B-002", "Design the schema.").success();
    archon(&ledger)
        .args(["decline", "TASK-B-002"])
        .assert()
        .success()
        .stdout(contains("routed -> declined (steward_declined)"))
        .stdout(contains("cluster 7f3a4b52-0043-4c43-ac43-000000000043"));
    let out = archon(&ledger)
        .args(["--json", "list", "--state", "routed"])
        .output()
        .expect("run");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v.as_array().map(Vec::len), Some(1));
    archon(&ledger)
        .args(["halt", "TASK-B-001", "--reason", "coercive request"])
        .assert()
        .success()
        .stdout(contains("activated -> nullified"));
}

/// Two `archon` processes accept and start the same tasks at once: each
/// change lands exactly once and the ledger verifies.
#[test]
fn two_processes_share_one_ledger() {
    let (dir, ledger) = setup();
    two_processes_share(&ledger, dir.path());
}

/// The same with the ledger in PostgreSQL.
#[test]
fn two_processes_share_one_postgres_ledger() {
    let db = archon_testkit::postgres_database();
    two_processes_share(Path::new(db.url()), Path::new(db.url()));
}

/// `archon tasks accept` stopped just before its outcome commits, on
/// PostgreSQL, while another writer keeps the ledger open: the intent's lock
/// died with the process's connection, so verify names the orphan and the
/// retried accept adopts it: one accept operation, verify green.
#[test]
fn a_killed_accept_is_adopted_on_postgres_while_another_writer_is_open() {
    let db = archon_testkit::postgres_database();
    let ledger = Path::new(db.url());
    for t in ["TASK-K-001", "TASK-K-002"] {
        activate(ledger, t, "Design the schema.").success();
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let tally = tmp.path().join("tally");
    archon(ledger)
        .env("ARCHON_FAULT_TALLY", &tally)
        .args(["accept", "TASK-K-001"])
        .assert()
        .success();
    let tally = std::fs::read_to_string(&tally).expect("tally");
    let outcome_point = tally
        .lines()
        .find_map(|l| l.strip_suffix(" ledger outcomes"))
        .expect("an outcome point")
        .to_string();
    let other = archon_tasks::Ledger::open(db.url()).expect("another writer");
    archon(ledger)
        .env("ARCHON_FAIL_AT", &outcome_point)
        .args(["accept", "TASK-K-002"])
        .assert()
        .code(86);
    Command::from_std(crate::support::archon(Mode::Auto))
        .arg("verify")
        .arg(db.url())
        .assert()
        .code(1)
        .stdout(contains("orphaned intent"));
    archon(ledger)
        .args(["accept", "TASK-K-002"])
        .assert()
        .success();
    Command::from_std(crate::support::archon(Mode::Auto))
        .arg("verify")
        .arg(db.url())
        .assert()
        .success();
    let events = other.events().expect("events");
    let mine = |kind: &str| {
        events
            .iter()
            .filter(|e| e.task_ref == "TASK-K-002" && e.body.kind() == kind)
            .count()
    };
    // Activation and accept: two operations, the accept's intent not repeated.
    assert_eq!(
        (mine("intent"), mine("committed"), mine("failed")),
        (2, 2, 0)
    );
}

/// `verify` is the folder or URL `archon verify` checks the ledger through.
fn two_processes_share(ledger: &Path, verify: &Path) {
    let tasks: Vec<String> = (0..4).map(|i| format!("TASK-C-{i}")).collect();
    for t in &tasks {
        activate(ledger, t, "Design the schema.").success();
    }
    let script = |actor: &str| {
        let mut cmds = Vec::new();
        for step in ["accept", "start"] {
            for t in &tasks {
                let mut c = crate::support::archon(Mode::Auto);
                c.env("ARCHON_NOW", "2026-02-01T10:00:00Z")
                    .args(["tasks", "--ledger"])
                    .arg(ledger)
                    .args(["--actor", actor, step, t]);
                cmds.push(c);
            }
        }
        cmds
    };
    let run = |cmds: Vec<std::process::Command>| {
        std::thread::spawn(move || {
            cmds.into_iter()
                .map(|mut c| c.output().map(|o| o.status.code()).unwrap_or(None))
                .filter(|code| *code == Some(0))
                .count()
        })
    };
    let a = run(script("steward-42"));
    let b = run(script("steward:steward-42"));
    let ok = a.join().expect("a") + b.join().expect("b");
    assert_eq!(ok, tasks.len() * 2, "each accept and start succeeded once");
    let out = Command::from_std(crate::support::archon(Mode::Auto))
        .args(["--json", "verify"])
        .arg(verify)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = archon(ledger)
        .args(["--json", "list", "--state", "in_progress"])
        .output()
        .expect("run");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    for t in v.as_array().expect("array") {
        let history = t["history"].as_array().expect("history");
        let to: Vec<&str> = history.iter().filter_map(|h| h["to"].as_str()).collect();
        assert_eq!(to, ["activated", "routed", "accepted", "in_progress"]);
    }
    assert_eq!(v.as_array().map(Vec::len), Some(tasks.len()));
}

#[test]
fn verify_checks_manifests_and_fails_on_tampering() {
    let (dir, ledger) = setup();
    activate(&ledger, "TASK-M-001", "Design the schema.").success();
    let stage = dir.path().join("review/s1");
    let mut art = archon_store::ArtifactDir::begin(&stage).expect("dir");
    art.write_text("a.txt", "hello").expect("write");
    art.finish(
        "review",
        "complete",
        "h".into(),
        Default::default(),
        "t".into(),
    )
    .expect("finish");
    Command::from_std(crate::support::archon(Mode::Auto))
        .arg("verify")
        .arg(dir.path())
        .assert()
        .success()
        .stdout(contains("(review): ok"));
    std::fs::write(stage.join("a.txt"), "HELLO").expect("tamper");
    Command::from_std(crate::support::archon(Mode::Auto))
        .arg("verify")
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(contains("sha256 differs"));
    Command::from_std(crate::support::archon(Mode::Auto))
        .args(["verify", "--ledger"])
        .arg(dir.path().join("missing.db"))
        .arg(dir.path())
        .assert()
        .code(2);
}

/// Consent is the current cluster steward's: a wrong `--actor` (or none) is
/// refused with exit 2, the task, its cluster and its steward named, and the
/// ledger unchanged; `ARCHON_ACTOR` names the actor too.
#[test]
fn a_wrong_actor_is_refused() {
    let (_dir, ledger) = setup();
    activate(&ledger, "TASK-K-001", "Design the schema.").success();
    let before = events(&ledger);
    for actor in ["steward-43", "cli"] {
        archon(&ledger)
            .env("ARCHON_ACTOR", actor)
            .args(["accept", "TASK-K-001"])
            .assert()
            .code(2)
            .stderr(contains("task TASK-K-001: accept refused"))
            .stderr(contains(C42))
            .stderr(contains("steward steward-42"));
    }
    archon(&ledger)
        .args(["--actor", "steward:steward-43", "decline", "TASK-K-001"])
        .assert()
        .code(2)
        .stderr(contains("decline refused"));
    assert_eq!(events(&ledger), before);
    archon(&ledger)
        .args(["accept", "TASK-K-001"])
        .assert()
        .success();
}

/// Commands that only read a ledger refuse a missing one and create nothing.
#[test]
fn reading_commands_refuse_a_missing_ledger() {
    let (dir, _) = setup();
    let typo = dir.path().join("typo.db");
    for args in [&["list"][..], &["show", "TASK-X"]] {
        archon(&typo)
            .args(args)
            .assert()
            .code(2)
            .stderr(contains("typo.db: no governance ledger here"));
    }
    Command::cargo_bin("archon")
        .expect("binary")
        .args(["verify", "--ledger"])
        .arg(&typo)
        .assert()
        .code(2);
    assert!(!typo.exists(), "no ledger created");
}

/// `verify --head` prints the head; a kept head the ledger no longer holds
/// (`--anchor`) fails verification.
#[test]
fn verify_head_and_anchor() {
    let (_dir, ledger) = setup();
    activate(&ledger, "TASK-H-001", "Design the schema.").success();
    let verify = || {
        let mut c = Command::cargo_bin("archon").expect("binary");
        c.arg("verify").arg("--ledger").arg(&ledger);
        c
    };
    let out = verify().arg("--head").output().expect("run");
    assert!(out.status.success());
    let head = String::from_utf8(out.stdout).expect("utf8");
    let head = head.trim();
    let (seq, hash) = head.split_once(':').expect("SEQ:HASH");
    assert_eq!(seq, events(&ledger).to_string());
    assert_eq!(hash.len(), 64);
    verify().args(["--anchor", head]).assert().success();
    let forged = format!("{seq}:{}", "0".repeat(64));
    verify()
        .args(["--anchor", &forged])
        .assert()
        .code(1)
        .stdout(contains("the chain was rewritten"));
    verify()
        .args(["--anchor", "7:nothex"])
        .assert()
        .code(2)
        .stderr(contains("HASH is not 64 hex digits"));
}
