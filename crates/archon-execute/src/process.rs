//! Running an external delegate program so that it can never outlive its phase:
//! the program leads its own process group, and the whole group (the program
//! and every child it started) is killed when the program exits, when the
//! phase's deadline passes, when archon receives SIGINT or SIGTERM (noted by
//! [`archon_store::stop`], the process's one signal handling, which [`run`]
//! installs), and when the runner is dropped on any early return. Killing the group at the
//! program's exit is what stops a background child that still holds stdout
//! from keeping the phase open.
//!
//! A `kill -9` of archon itself cannot be caught. For that case the running
//! group is recorded in a marker file ([`run`]'s `marker`), with its leader's
//! start time; the next run with the same marker first kills a group left
//! behind by a killed archon ([`kill_recorded_group`]), and only if its leader
//! is still that very process (never a group id reused by another program).

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::process::{kill_process_group, Pid, Signal};

/// Bytes of each stream kept (the tail); a chatty delegate cannot exhaust memory.
const KEPT_STREAM_BYTES: usize = 1 << 20;
/// How often the runner looks at the program, the clock and the signal flag.
const POLL: Duration = Duration::from_millis(20);

/// How a delegate program's run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    Exited(ExitStatus),
    /// The deadline passed; the group was killed.
    TimedOut(Duration),
    /// archon received this signal (SIGINT 2, SIGTERM 15); the group was killed.
    Interrupted(i32),
}

/// A finished run: how it ended and the tail of its output.
#[derive(Debug, Clone)]
pub struct Ran {
    pub ending: Ending,
    pub pgid: u32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Sends SIGKILL to process group `pgid`; a group already gone is not an error.
pub fn kill_group(pgid: u32) {
    if let Some(pid) = i32::try_from(pgid).ok().and_then(Pid::from_raw) {
        let _ = kill_process_group(pid, Signal::KILL);
    }
}

/// Whether any process of group `pgid` is still alive.
pub fn group_alive(pgid: u32) -> bool {
    i32::try_from(pgid)
        .ok()
        .and_then(Pid::from_raw)
        .is_some_and(|pid| rustix::process::test_kill_process_group(pid).is_ok())
}

/// The start time of process `pid` (field 22 of `/proc/<pid>/stat`, in clock
/// ticks since boot): with the pid, it names one process for good.
fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; fields after it are plain.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19).map(str::to_string)
}

/// Kills the group a marker names if its leader is still the process recorded
/// (a delegate left running by an archon killed with SIGKILL), then removes the marker.
pub fn kill_recorded_group(marker: &Path) {
    let Ok(text) = std::fs::read_to_string(marker) else {
        return;
    };
    let mut fields = text.split_whitespace();
    if let (Some(pgid), Some(started)) = (fields.next(), fields.next()) {
        if let Ok(pgid) = pgid.parse::<u32>() {
            if start_time(pgid).as_deref() == Some(started) {
                kill_group(pgid);
            }
        }
    }
    let _ = std::fs::remove_file(marker);
}

/// The running program; dropping it kills its group.
struct Running {
    child: Child,
    pgid: u32,
    readers: Vec<JoinHandle<Vec<u8>>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        kill_group(self.pgid);
        // Reap the leader so no zombie is left; it is dead or dying.
        let _ = self.child.try_wait();
    }
}

/// Reads a stream to its end on a thread, keeping the last [`KEPT_STREAM_BYTES`].
fn drain(mut stream: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buf = [0u8; 8192];
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 {
                break;
            }
            kept.extend_from_slice(&buf[..n]);
            if kept.len() > 2 * KEPT_STREAM_BYTES {
                kept.drain(..kept.len() - KEPT_STREAM_BYTES);
            }
        }
        if kept.len() > KEPT_STREAM_BYTES {
            kept.drain(..kept.len() - KEPT_STREAM_BYTES);
        }
        kept
    })
}

/// Runs `command` (stdin closed, stdout and stderr captured) in its own process
/// group until it exits, `timeout` passes or archon is interrupted; the group is
/// killed in every case before this returns.
pub fn run(mut command: Command, timeout: Duration, marker: Option<&Path>) -> std::io::Result<Ran> {
    use std::os::unix::process::CommandExt as _;
    // Without it, SIGINT would end archon at once and leave the group running.
    archon_store::stop::install()?;
    if let Some(marker) = marker {
        kill_recorded_group(marker);
    }
    command
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn()?;
    let pgid = child.id();
    if let (Some(marker), Some(started)) = (marker, start_time(pgid)) {
        // Best effort: without the marker only a kill -9 of archon leaves the group.
        let _ = std::fs::write(marker, format!("{pgid} {started}\n"));
    }
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        readers.push(drain(out));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(drain(err));
    }
    let mut running = Running {
        child,
        pgid,
        readers,
    };
    let started = Instant::now();
    let ending = loop {
        if let Some(status) = running.child.try_wait()? {
            break Ending::Exited(status);
        }
        if let Some(sig) = archon_store::stop::received_signal() {
            break Ending::Interrupted(sig);
        }
        if started.elapsed() >= timeout {
            break Ending::TimedOut(timeout);
        }
        std::thread::sleep(POLL);
    };
    // The program is done (or is being stopped): whatever it left running goes too,
    // which also closes the pipes a background child may hold.
    kill_group(pgid);
    let _ = running.child.wait();
    if let Some(marker) = marker {
        let _ = std::fs::remove_file(marker);
    }
    let mut streams = std::mem::take(&mut running.readers)
        .into_iter()
        .map(|r| r.join().unwrap_or_default());
    let stdout = streams.next().unwrap_or_default();
    let stderr = streams.next().unwrap_or_default();
    Ok(Ran {
        ending,
        pgid,
        stdout,
        stderr,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt as _;

    /// Killed orphans are reaped by init, not at once: wait a little for that.
    fn gone(pgid: u32) -> bool {
        let until = Instant::now() + Duration::from_secs(3);
        while group_alive(pgid) && Instant::now() < until {
            std::thread::sleep(POLL);
        }
        !group_alive(pgid)
    }

    fn sh(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.args(["-c", script]);
        c
    }

    #[test]
    fn a_background_child_holding_stdout_does_not_hold_the_phase() {
        let started = Instant::now();
        let ran = run(
            sh("echo hi; sleep 30 & echo bye"),
            Duration::from_secs(20),
            None,
        )
        .unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert!(matches!(ran.ending, Ending::Exited(s) if s.success()));
        assert_eq!(String::from_utf8_lossy(&ran.stdout), "hi\nbye\n");
        assert!(gone(ran.pgid), "the background sleep survived");
    }

    #[test]
    fn a_recorded_group_is_killed_only_while_its_leader_is_the_same_process() {
        let tmp = tempfile::tempdir().unwrap();
        let marker = tmp.path().join("delegate.pgid");
        // A group left running, as by an archon killed with SIGKILL.
        let mut left = sh("sleep 60");
        left.process_group(0);
        let mut child = left.spawn().unwrap();
        let pgid = child.id();
        let started = start_time(pgid).unwrap();
        std::fs::write(&marker, format!("{pgid} 1{started}\n")).unwrap();
        kill_recorded_group(&marker);
        assert!(
            group_alive(pgid),
            "a group with another start time was killed"
        );
        std::fs::write(&marker, format!("{pgid} {started}\n")).unwrap();
        kill_recorded_group(&marker);
        let _ = child.wait();
        assert!(gone(pgid));
        assert!(!marker.exists());
    }

    #[test]
    fn a_hanging_program_is_killed_with_its_children_at_the_deadline() {
        let started = Instant::now();
        let ran = run(sh("sleep 60 & sleep 60"), Duration::from_millis(300), None).unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(ran.ending, Ending::TimedOut(Duration::from_millis(300)));
        assert!(gone(ran.pgid));
    }
}
