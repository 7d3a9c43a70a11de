//! End-to-end: `archon serve --add-steward`, then `archon serve` over a real
//! ledger, spoken to over TCP, stopped with SIGTERM.

use crate::support::Mode;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

const C42: &str = "6e2f3a41-0042-4b42-9b42-000000000042";

fn archon(args: &[&str], ledger: &Path) -> Command {
    let mut cmd = crate::support::archon(Mode::Auto);
    cmd.args(args).arg("--ledger").arg(ledger);
    cmd
}

/// One HTTP/1.1 request; the status and the JSON body.
fn http(addr: &str, method: &str, path: &str, token: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let status = text.split(' ').nth(1).unwrap().parse().unwrap();
    let body = text.split("\r\n\r\n").nth(1).unwrap();
    (status, serde_json::from_str(body).unwrap())
}

/// `archon serve --add-steward` for cluster 42's steward; the token printed.
fn add_steward_42(ledger: &Path, cwd: &Path) -> String {
    let added = archon(&["serve", "--add-steward", "--cluster", C42], ledger)
        .args(["--steward", "steward-42"])
        .current_dir(cwd)
        .output()
        .unwrap();
    assert!(added.status.success(), "{added:?}");
    String::from_utf8(added.stdout).unwrap().trim().to_string()
}

/// Activate a task, issue a token, serve, act over TCP, stop with SIGTERM;
/// commands run in `cwd`, and the stewards file is expected at `stewards`.
fn serve_round_trip(ledger: &Path, cwd: &Path, stewards: &Path) {
    let activated = archon(&["tasks"], ledger)
        .args(["activate", "--task-ref", "T-1", "--earl-id", "earl-raum"])
        .args([
            "--cluster-id",
            C42,
            "--description",
            "Review the event schema",
        ])
        .args(["--capability-tag", "dev_backend"])
        .output()
        .unwrap();
    assert!(activated.status.success(), "{activated:?}");

    let token = add_steward_42(ledger, cwd);
    assert_eq!(token.len(), 64);
    let kept = std::fs::read_to_string(stewards).unwrap();
    assert!(!kept.contains(&token), "only the digest is kept");

    let mut server = archon(&["serve", "--listen", "127.0.0.1:0"], ledger)
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    let addr = first_line
        .strip_prefix("listening on http://")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("{first_line}"))
        .to_string();
    let (status, list) = http(&addr, "GET", "/v1/tasks", &token);
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["tasks"][0]["task_ref"], "T-1");
    let (status, report) = http(&addr, "POST", "/v1/tasks/T-1/accept", &token);
    assert_eq!(
        (status, report["after"].as_str()),
        (200, Some("accepted")),
        "{report}"
    );
    assert_eq!(http(&addr, "GET", "/v1/tasks", "wrong").0, 401);

    let sent = Command::new("kill")
        .arg("-TERM")
        .arg(server.id().to_string())
        .status()
        .unwrap();
    assert!(sent.success());
    let stopped = server.wait_with_output().unwrap();
    assert_eq!(stopped.status.code(), Some(143), "{stopped:?}");

    let shown = archon(&["--json", "tasks", "show", "T-1"], ledger)
        .output()
        .unwrap();
    let task: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(task["state"], "accepted");
    assert_eq!(
        task["history"].as_array().unwrap().last().unwrap()["actor"],
        "steward:steward-42"
    );
}

#[test]
fn serve_issues_a_token_serves_the_ledger_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("governance.db");
    serve_round_trip(&ledger, dir.path(), &dir.path().join("stewards.json"));
}

#[test]
fn serve_serves_a_postgresql_ledger_with_the_stewards_file_in_the_run_root() {
    let database = archon_testkit::postgres_database();
    let dir = tempfile::tempdir().unwrap();
    let stewards = dir.path().join("archon-out").join("stewards.json");
    serve_round_trip(Path::new(database.url()), dir.path(), &stewards);
}

#[test]
fn serve_refuses_bad_setups_with_exit_2_before_creating_a_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("governance.db");
    let wrong_steward = archon(
        &[
            "serve",
            "--add-steward",
            "--cluster",
            C42,
            "--steward",
            "steward-43",
        ],
        &ledger,
    )
    .output()
    .unwrap();
    assert_eq!(wrong_steward.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong_steward.stderr).contains("not the steward of cluster"));

    let no_stewards = archon(&["serve"], &ledger).output().unwrap();
    assert_eq!(no_stewards.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_stewards.stderr).contains("--add-steward"));

    add_steward_42(&ledger, dir.path());
    for listen in ["0.0.0.0:0", "[::]:0"] {
        let plain = archon(&["serve", "--listen", listen], &ledger)
            .output()
            .unwrap();
        assert_eq!(plain.status.code(), Some(2), "{listen}");
        let stderr = String::from_utf8_lossy(&plain.stderr);
        assert!(
            stderr.contains("not a loopback address") && stderr.contains("--insecure-http"),
            "{stderr}"
        );
    }
    let half_tls = archon(&["serve", "--tls-cert", "cert.pem"], &ledger)
        .output()
        .unwrap();
    assert_eq!(
        half_tls.status.code(),
        Some(2),
        "--tls-cert needs --tls-key"
    );
    assert!(!ledger.exists(), "no ledger created by a refused start");
}
