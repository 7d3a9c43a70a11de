//! A stop asked for while another thread's ledger operation is in flight waits
//! for that operation's outcome: the process runs itself as the child.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::process::Command;
use std::time::Duration;

const CHILD: &str = "ARCHON_STOP_TEST_CHILD";

/// The child: thread A holds an operation and raises SIGTERM; thread B reaches a
/// write point and must not end the process before A has written its outcome.
fn child(marker: &str) -> ! {
    archon_store::stop::install().unwrap();
    let (started, wait_started) = std::sync::mpsc::channel();
    let outcome = marker.to_owned();
    let holder = std::thread::spawn(move || {
        let op = archon_store::stop::operation();
        signal_hook::low_level::raise(signal_hook::consts::SIGTERM).unwrap();
        started.send(()).unwrap();
        // B is at its write point meanwhile; the outcome comes late.
        std::thread::sleep(Duration::from_millis(300));
        archon_store::fault::point("ledger outcomes");
        std::fs::write(&outcome, "outcome").unwrap();
        drop(op);
        std::thread::sleep(Duration::from_secs(10));
    });
    wait_started.recv().unwrap();
    archon_store::fault::point("an artifact");
    // Unreachable: the stop ends the process at the point above.
    std::fs::write(marker, "artifact written after the stop").unwrap();
    holder.join().unwrap();
    std::process::exit(0)
}

#[test]
fn a_stop_waits_for_the_outcome_of_an_operation_in_flight() {
    if let Ok(marker) = std::env::var(CHILD) {
        child(&marker);
    }
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_stop_waits_for_the_outcome_of_an_operation_in_flight",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, &marker)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(
        stderr.contains("stopped by signal before writing an artifact"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "outcome");
}
