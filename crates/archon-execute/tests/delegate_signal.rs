//! A signal while a delegate program runs, through the process's one signal
//! handling (`archon_store::stop`): the runner kills the program's whole group
//! and returns, and the process then stops at its next durable write point
//! with 128 + the signal. The test binary runs itself as the child.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::process::Command;
use std::time::{Duration, Instant};

use archon_execute::process::{self, Ending};

const CHILD: &str = "ARCHON_DELEGATE_SIGNAL_TEST_CHILD";
const NAME: &str = "a_signal_kills_the_delegates_group_then_stops_at_the_next_write_point";

/// The child: runs a program that leaves a background child, and sends
/// itself SIGTERM once both run.
fn child(started: &str) -> ! {
    let marker = std::path::PathBuf::from(started);
    let me = rustix::process::getpid();
    std::thread::spawn(move || {
        while !marker.is_file() {
            std::thread::sleep(Duration::from_millis(20));
        }
        rustix::process::kill_process(me, rustix::process::Signal::TERM).unwrap();
    });
    let mut program = Command::new("sh");
    program.args(["-c", &format!("sleep 60 & touch '{started}'; wait")]);
    let ran = process::run(program, Duration::from_secs(30), None).unwrap();
    println!("ending {:?} pgid {}", ran.ending, ran.pgid);
    assert_eq!(ran.ending, Ending::Interrupted(15));
    archon_store::fault::point("the report");
    // Unreachable: the stop ends the process at the point above.
    std::process::exit(0)
}

#[test]
fn a_signal_kills_the_delegates_group_then_stops_at_the_next_write_point() {
    if let Ok(started) = std::env::var(CHILD) {
        child(&started);
    }
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", NAME, "--nocapture", "--test-threads=1"])
        .env(CHILD, dir.path().join("started"))
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(143), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("stopped by signal before writing the report"),
        "{stderr}"
    );
    let pgid: u32 = stdout
        .split("ending Interrupted(15) pgid ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no ending in {stdout}"));
    // Killed orphans are reaped by init, not at once.
    let until = Instant::now() + Duration::from_secs(3);
    while process::group_alive(pgid) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!process::group_alive(pgid), "the background sleep survived");
}
