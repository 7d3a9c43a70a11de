//! End-to-end: `archon execute` on a real governance ledger, and `archon doctrine`.

use crate::support::Mode;
use std::path::Path;

use assert_cmd::Command;
use predicates::str::contains;

const TASK: &str = "TASK-GUSI-001a";
const C42: &str = "6e2f3a41-0042-4b42-9b42-000000000042";

/// `archon` run in `dir` with a fixed clock.
fn archon(dir: &Path) -> Command {
    let mut cmd = Command::from_std(crate::support::archon(Mode::Auto));
    cmd.current_dir(dir)
        .env("ARCHON_NOW", "2026-02-01T10:00:00Z");
    cmd
}

/// A ledger at `dir/l/governance.db` with TASK routed to cluster 42; accepted if asked.
fn routed_task(dir: &Path, accept: bool) {
    archon(dir)
        .args(["tasks", "--ledger", "l/governance.db", "activate"])
        .args([
            "--task-ref",
            TASK,
            "--earl-id",
            "earl-raum",
            "--cluster-id",
            C42,
        ])
        .args(["--description", "Design the threat intelligence schema"])
        .args(["--requirement", "Addresses FR-TECH-001"])
        .args(["--outcome", "Schema reviewed", "--outcome", "Tests pass"])
        .args([
            "--capability-tag",
            "dev_backend",
            "--capability-tag",
            "qa_testing",
        ])
        .assert()
        .success();
    if accept {
        accept_as_steward(dir);
    }
    std::fs::create_dir_all(dir.join("ws")).expect("workspace");
}

/// Cluster 42's steward accepts TASK.
fn accept_as_steward(dir: &Path) {
    archon(dir)
        .args(["tasks", "--ledger", "l/governance.db"])
        .args(["--actor", "steward-42", "accept", TASK])
        .assert()
        .success();
}

fn execute(dir: &Path) -> Command {
    let mut cmd = archon(dir);
    cmd.args(["execute", TASK, "--ledger", "l/governance.db"]);
    cmd
}

#[test]
fn return_paths_and_exit_codes() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    routed_task(dir, false);

    // Preconditions: routed, not accepted → blocked, owned by the cluster steward.
    execute(dir)
        .args(["--workspace", "ws", "--issuer", "tl-1"])
        .assert()
        .code(1)
        .stdout(contains(format!("{TASK}: blocked")))
        .stdout(contains(format!("owner: cluster steward of {C42}")));

    accept_as_steward(dir);
    // Input validation: the missing fields are named, the caller owns them.
    execute(dir)
        .assert()
        .code(1)
        .stdout(contains(
            "missing required input fields: workspace, handoff_issuer",
        ))
        .stdout(contains("blocker ownership: tech-lead"));

    execute(dir)
        .args([
            "--workspace",
            "ws",
            "--issuer",
            "tl-1",
            "--report",
            "r/report.md",
        ])
        .assert()
        .code(0)
        .stdout(contains(format!("{TASK}: complete")));
    let md = std::fs::read_to_string(dir.join("r/report.md")).expect("report");
    let sections: Vec<&str> = md.lines().filter_map(|l| l.strip_prefix("## ")).collect();
    assert_eq!(
        sections,
        [
            "Metadata",
            "Work Performed",
            "Evidence Bundle",
            "Issues",
            "Scope",
            "Outcome",
            "Event Ledger"
        ]
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r/report.json")).expect("json"))
            .expect("valid json");
    assert_eq!(json["outcome"]["outcome"], "complete");
    archon(dir)
        .args(["tasks", "--ledger", "l/governance.db", "show", TASK])
        .assert()
        .stdout(contains("reported"));

    // The result is reported: executing again verifies every step and the
    // published result instead of doing the work or reporting it twice.
    let events_before = ledger_events(dir);
    execute(dir)
        .args(["--workspace", "ws", "--issuer", "tl-1"])
        .assert()
        .code(0)
        .stdout(contains("verified"));
    assert_eq!(
        events_before,
        ledger_events(dir),
        "a repeated execution wrote to the ledger"
    );
}

#[test]
fn command_delegate_script_escalates_on_failed_validation() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    routed_task(dir, true);
    let script = dir.join("delegate.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\n[ \"$1\" = validation ] && { echo 'outcome 2 not met' >&2; exit 1; }\necho \"$1\" > \"$2/$1.txt\"\n",
    )
    .expect("script");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    execute(dir)
        .args([
            "--workspace",
            "ws",
            "--issuer",
            "tl-1",
            "--delegate",
            "command",
        ])
        .arg("--delegate-cmd")
        .arg(format!(
            "{} {{phase}} {{workspace}} {{task_json}}",
            script.display()
        ))
        .assert()
        .code(1)
        .stdout(contains(format!("{TASK}: escalated")))
        .stdout(contains("Step 3 validation: failed"));
    assert!(dir.join("ws/implementation.txt").is_file());
    let md =
        std::fs::read_to_string(dir.join("l/execute/TASK-GUSI-001a/execution-stage-report.md"))
            .expect("report");
    assert!(md.contains("outcome 2 not met"), "{md}");
    assert!(md.contains("- Outcome: escalated"));
}

#[test]
fn same_inputs_give_byte_identical_reports() {
    let reports: Vec<String> = (0..2)
        .map(|_| {
            let tmp = tempfile::tempdir().expect("tmp");
            routed_task(tmp.path(), true);
            execute(tmp.path())
                .args(["--workspace", "ws", "--issuer", "tl-1", "--seed", "9"])
                .assert()
                .success();
            std::fs::read_to_string(
                tmp.path()
                    .join("l/execute/TASK-GUSI-001a/execution-stage-report.json"),
            )
            .expect("report")
        })
        .collect();
    assert_eq!(reports[0], reports[1]);
}

#[test]
fn two_identical_standalone_executions_write_identical_trees_ledger_included() {
    let tmp = tempfile::tempdir().expect("tmp");
    let prepared = tmp.path().join("prepared");
    std::fs::create_dir_all(&prepared).expect("mkdir");
    routed_task(&prepared, true);
    let runs = ["a", "b"].map(|name| {
        let dir = tmp.path().join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        copy_dir(&prepared, &dir);
        execute(&dir)
            .args(["--workspace", "ws", "--issuer", "tl-1", "--seed", "9"])
            .assert()
            .code(0);
        archon(&dir)
            .args(["verify", "--ledger", "l/governance.db", "l"])
            .assert()
            .code(0);
        crate::support::tree::files(&dir)
    });
    assert!(runs[0].contains_key("l/governance.db"));
    assert_eq!(runs[0], runs[1], "the two trees differ");
    // The lease was recorded, naming the execution, not the process.
    assert_eq!(
        lease_facts(&tmp.path().join("a")),
        [
            format!("execution lease taken by archon execute {TASK} (seed 9)"),
            format!("execution lease released by archon execute {TASK} (seed 9)"),
        ]
    );
}

#[test]
fn bad_input_exits_2() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    routed_task(dir, true);
    archon(dir)
        .args(["execute", "TASK-NOPE", "--ledger", "l/governance.db"])
        .assert()
        .code(2)
        .stderr(contains("unknown task TASK-NOPE"));
    archon(dir)
        .args(["execute", "../x", "--ledger", "l/governance.db"])
        .assert()
        .code(2)
        .stderr(contains("TASK_REF"));
    execute(dir)
        .args(["--delegate", "command"])
        .assert()
        .code(2)
        .stderr(contains("--delegate-cmd"));
    execute(dir)
        .args(["--delegate", "command", "--delegate-cmd", "tool {phsae}"])
        .assert()
        .code(2)
        .stderr(contains("unknown placeholder {phsae}"));
    archon(dir)
        .args(["execute", TASK, "--ledger", "missing.db"])
        .assert()
        .code(2)
        .stderr(contains("missing.db does not exist"));
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

#[test]
fn doctrine_check_and_assemble() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/doctrine");
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    archon(dir)
        .args(["doctrine", "check"])
        .assert()
        .code(0)
        .stdout(contains("all 8 criteria hold"));
    archon(dir)
        .args(["doctrine", "check"])
        .arg(&shipped)
        .assert()
        .code(0);
    archon(dir)
        .args(["doctrine", "assemble", "--out", "SKILL.md"])
        .assert()
        .code(0);
    let skill = std::fs::read_to_string(dir.join("SKILL.md")).expect("skill");
    assert!(skill.contains("Execution starts when required input fields are complete."));

    let copy = dir.join("broken");
    copy_dir(&shipped, &copy);
    let process = copy.join("doctrine/process.md");
    let text = std::fs::read_to_string(&process).expect("process");
    let line = text
        .lines()
        .position(|l| l == "## Preconditions")
        .expect("heading")
        + 1;
    std::fs::write(
        &process,
        text.replace("## Preconditions", "## Step 0: Preflight"),
    )
    .expect("write");
    archon(dir)
        .args(["doctrine", "check", "broken"])
        .assert()
        .code(1)
        .stdout(contains(format!(
            "doctrine/process.md:{line}: criterion 6:"
        )));
    archon(dir)
        .args(["doctrine", "assemble", "broken", "--dry-run"])
        .assert()
        .code(1)
        .stderr(contains("SKILL.md not assembled"));

    // A rule in a .txt file is checked too; a deleted required file is named.
    let txt = dir.join("txt");
    copy_dir(&shipped, &txt);
    std::fs::write(txt.join("ethos/notes.txt"), "Log every intake.\n").expect("txt");
    std::fs::remove_file(txt.join("ethos/tenets.md")).expect("rm");
    archon(dir)
        .args(["doctrine", "check", "txt"])
        .assert()
        .code(1)
        .stdout(contains("ethos/notes.txt:1: criterion 1:"))
        .stdout(contains("ethos/tenets.md: required file:"));
}

/// The ledger's event log as `archon tasks show --json` sees the task.
fn ledger_events(dir: &std::path::Path) -> String {
    let out = archon(dir)
        .args([
            "tasks",
            "--ledger",
            "l/governance.db",
            "--json",
            "show",
            TASK,
        ])
        .output()
        .expect("run");
    String::from_utf8(out.stdout).expect("utf8")
}

/// The execution lease facts of the ledger at `dir/l/governance.db`.
fn lease_facts(dir: &Path) -> Vec<String> {
    archon_tasks::Ledger::open_read_only(dir.join("l/governance.db"))
        .expect("ledger")
        .events()
        .expect("events")
        .iter()
        .map(|e| e.body.describe())
        .filter(|e| e.starts_with("execution lease"))
        .collect()
}

/// A delegate script that works slowly (so two executions overlap) and writes one file per step.
fn slow_script(dir: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("slow.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nsleep 1\necho \"$1\" > \"$2/$1.txt\"\necho \"checked $1\"\n",
    )
    .expect("script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    format!("{} {{phase}} {{workspace}}", script.display())
}

#[test]
fn two_concurrent_executions_of_one_task_exactly_one_runs() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    routed_task(dir, true);
    let template = slow_script(dir);
    let spawn = |report: &str| {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("archon"));
        cmd.current_dir(dir)
            .env("ARCHON_NOW", "2026-02-01T10:00:00Z")
            .args(["execute", TASK, "--ledger", "l/governance.db"])
            .args(["--workspace", "ws", "--issuer", "tl-1", "--report", report])
            .args(["--delegate", "command", "--delegate-cmd", &template])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd.spawn().expect("spawn")
    };
    let first = spawn("a/report.md");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let second = spawn("b/report.md");
    let outputs = [first, second].map(|c| c.wait_with_output().expect("wait"));
    let codes: Vec<Option<i32>> = outputs.iter().map(|o| o.status.code()).collect();
    assert_eq!(codes, [Some(0), Some(2)], "{outputs:?}");
    // Refused before anything runs, naming the holder: by the run root's lock,
    // which the execution takes first, or else by the ledger's execution lease.
    let refusal = String::from_utf8_lossy(&outputs[1].stderr);
    assert!(
        refusal.contains("is in use by pid") || refusal.contains("is being executed by archon pid"),
        "{refusal}"
    );
    assert!(
        !dir.join("b").exists(),
        "the refused execution wrote a report"
    );

    // The lease was given back: a later execution verifies and is not refused.
    execute(dir)
        .args([
            "--workspace",
            "ws",
            "--issuer",
            "tl-1",
            "--report",
            "c/report.md",
        ])
        .args(["--delegate", "command", "--delegate-cmd", &template])
        .assert()
        .code(0);
}

#[test]
fn an_escalated_outcome_is_in_the_chain_and_verify_notices_an_edited_report() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    routed_task(dir, true);
    let script = dir.join("fails.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\n[ \"$1\" = validation ] && { echo 'not met' >&2; exit 1; }\necho \"$1\" > \"$2/$1.txt\"\n",
    )
    .expect("script");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    execute(dir)
        .args([
            "--workspace",
            "ws",
            "--issuer",
            "tl-1",
            "--delegate",
            "command",
        ])
        .arg("--delegate-cmd")
        .arg(format!("{} {{phase}} {{workspace}}", script.display()))
        .assert()
        .code(1);
    assert!(!dir.join("l/execution_outcomes.jsonl").exists());
    let events = archon_tasks::Ledger::open(dir.join("l/governance.db"))
        .expect("ledger")
        .events()
        .expect("events");
    assert!(events.iter().any(|e| matches!(
        &e.body,
        archon_tasks::EventBody::ExecutionStopped { stop } if stop.outcome == "escalated"
    )));
    let out = dir.join("l/execute").join(TASK);
    archon(dir)
        .args(["verify", "--ledger", "l/governance.db"])
        .arg(&out)
        .assert()
        .code(0);
    std::fs::write(out.join("execution-stage-report.md"), "edited\n").expect("edit");
    archon(dir)
        .args(["verify", "--ledger", "l/governance.db"])
        .arg(&out)
        .assert()
        .code(1)
        .stdout(contains("execution-stage-report.md"));
}

/// The ledger files of `from` (the database and its WAL, when there is one)
/// put in place of `to`'s.
fn put_ledger_files(from: &Path, to: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let name = format!("governance.db{suffix}");
        let _ = std::fs::remove_file(to.join(&name));
        if from.join(&name).is_file() {
            std::fs::copy(from.join(&name), to.join(&name)).expect("copy");
        }
    }
}

#[test]
fn the_execute_folder_anchors_its_outcome_and_verify_names_a_ledger_rolled_back() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    routed_task(dir, true);
    let backup = dir.join("backup");
    std::fs::create_dir_all(&backup).expect("mkdir");
    put_ledger_files(&dir.join("l"), &backup);
    execute(dir)
        .args(["--workspace", "ws", "--issuer", "tl-1"])
        .assert()
        .code(0);
    let manifest = dir.join(format!("l/execute/{TASK}/stage_manifest.json"));
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    assert!(text.contains("\"ledger_head\""), "{text}");
    archon(dir).args(["verify", "l"]).assert().code(0);
    // The ledger as it was before the execution: the anchored outcome is gone.
    put_ledger_files(&backup, &dir.join("l"));
    archon(dir)
        .args(["verify", "l"])
        .assert()
        .code(1)
        .stdout(contains(format!(
            "execute/{TASK}/stage_manifest.json: anchored event #"
        )))
        .stdout(contains("(truncated)"));
}

#[test]
fn a_delegate_left_running_by_a_killed_archon_is_killed_by_the_rerun() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    routed_task(dir, true);
    let pid_file = dir.join("delegate.pid");
    let hang = dir.join("hang.sh");
    std::fs::write(
        &hang,
        format!("#!/bin/sh\necho $$ > '{}'\nsleep 120\n", pid_file.display()),
    )
    .expect("script");
    std::fs::set_permissions(&hang, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let mut archon_run = std::process::Command::new(assert_cmd::cargo::cargo_bin("archon"))
        .current_dir(dir)
        .env("ARCHON_NOW", "2026-02-01T10:00:00Z")
        .args(["execute", TASK, "--ledger", "l/governance.db"])
        .args([
            "--workspace",
            "ws",
            "--issuer",
            "tl-1",
            "--delegate",
            "command",
        ])
        .arg("--delegate-cmd")
        .arg(hang.display().to_string())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !pid_file.is_file() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let delegate: u32 = std::fs::read_to_string(&pid_file)
        .expect("delegate started")
        .trim()
        .parse()
        .expect("pid");
    archon_run.kill().expect("SIGKILL archon");
    archon_run.wait().expect("reap");
    assert!(
        archon_execute::process::group_alive(delegate),
        "the delegate should outlive a SIGKILLed archon"
    );
    let note = dir.join(format!("l/governance.db-leases/{TASK}/holder"));
    assert!(
        std::fs::read_to_string(&note)
            .expect("the killed execution's note")
            .starts_with(&format!("archon pid {} on ", archon_run.id())),
        "{}",
        note.display()
    );
    // The rerun takes over the dead run's lease and first ends its delegate.
    execute(dir)
        .args([
            "--workspace",
            "ws",
            "--issuer",
            "tl-1",
            "--delegate",
            "command",
        ])
        .arg("--delegate-cmd")
        .arg(slow_script(dir))
        .assert()
        .code(0);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while archon_execute::process::group_alive(delegate) && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        !archon_execute::process::group_alive(delegate),
        "the left delegate still runs"
    );
    assert!(!note.exists(), "the lease's note outlived the rerun");
    // The rerun resumed the lease the killed one recorded (the same execution).
    let holder = format!("archon execute {TASK} (seed 72)");
    assert_eq!(
        lease_facts(dir),
        [
            format!("execution lease taken by {holder}"),
            format!("execution lease released by {holder}"),
        ]
    );
}
