//! Crash recovery (adoption of an orphaned intent), anchors against a
//! recomputed or truncated chain, one-snapshot verify under concurrent writers,
//! and reading a ledger on read-only media.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use archon_store::LedgerHead;
use archon_tasks::event::{event_hash, EventBody, HashInput};
use archon_tasks::{
    verify_ledger, verify_ledger_anchored, Anchor, Ledger, LedgerEvent, TaskState, Transition,
};
use common::*;

fn events(path: &std::path::Path) -> Vec<LedgerEvent> {
    Ledger::open_read_only(path)
        .expect("open")
        .events()
        .expect("events")
}

/// The retried operation adopts the orphan: the resumed ledger is event for
/// event (hashes included) the ledger of a run never interrupted.
fn a_retried_operation_adopts_its_orphaned_intent(backend: Backend) {
    let steward = "steward:steward-42";
    let mut whole = Fixture::new(backend);
    whole.activate("TASK-R-001");
    whole.go("TASK-R-001", Transition::Accept).expect("accept");
    let whole_path = whole.path();
    let _whole_dir = whole.close();

    let mut crashed = Fixture::new(backend);
    crashed.activate("TASK-R-001");
    let path = crashed.path();
    let dir = crashed.close();
    crash_after_intent(&dir, "TASK-R-001", "accept", steward, None);
    let report = verify_ledger(&path).expect("verify");
    assert_eq!(report.orphaned_intents.len(), 1, "{report:?}");

    let mut ledger = Ledger::open(&path).expect("reopen");
    ledger
        .transition("TASK-R-001", Transition::Accept, steward, &t0())
        .expect("retried accept");
    drop(ledger);
    assert_eq!(events(&path), events(&whole_path));
    let report = verify_ledger(&path).expect("verify");
    assert!(report.ok, "{report:?}");
    drop(dir);
}

/// An orphan no operation retries is closed by `close_orphans`, chained; and
/// it is never closed while another writer is open (SQLite cannot tell whose
/// intent it is then).
#[test]
fn close_orphans_closes_what_no_retry_adopts_sqlite() {
    let mut fx = Fixture::new(Backend::Sqlite);
    fx.activate("TASK-R-002");
    let path = fx.path();
    let dir = fx.close();
    let seq = crash_after_intent(&dir, "TASK-R-002", "decline", "steward:steward-42", None);
    let mut ledger = Ledger::open(&path).expect("open");
    // Another process with the ledger open for writing (its shared lock).
    // `-o`: the lock stays with flock itself, not with its child.
    let mut other = std::process::Command::new("flock")
        .args(["-s", "-o"])
        .arg(archon_tasks::writers::lock_path(&path))
        .args(["sh", "-c", "echo locked; exec sleep 30"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("flock(1)");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(other.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("flock holds the lock");
    assert_eq!(line.trim(), "locked");
    let err = ledger
        .close_orphans("run stopped", "cli", &t0())
        .expect_err("another process writes");
    assert!(err.to_string().contains("another writer"), "{err}");
    let _ = other.kill();
    let _ = other.wait();
    let closed = ledger
        .close_orphans("run stopped", "cli", &t0())
        .expect("alone");
    assert_eq!(closed, [seq]);
    drop(ledger);
    let report = verify_ledger(&path).expect("verify");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        events(&path).last().map(|e| e.body.clone()),
        Some(EventBody::Failed {
            error: "abandoned: run stopped".into()
        })
    );
    drop(dir);
}

/// On PostgreSQL an intent is an orphan exactly when no session holds its
/// lock: one held by a live writer elsewhere (here a session standing in for
/// another machine) is neither closed nor reported, whatever else is open;
/// once that session ends, it is closed.
#[test]
fn close_orphans_leaves_an_intent_whose_writer_lives_postgres() {
    let mut fx = Fixture::new(Backend::Postgres);
    fx.activate("TASK-R-003");
    let path = fx.path();
    let storage = fx.close();
    let seq = crash_after_intent(
        &storage,
        "TASK-R-003",
        "decline",
        "steward:steward-42",
        None,
    );
    let Raw::Postgres(mut elsewhere) = storage.raw() else {
        unreachable!("a PostgreSQL fixture")
    };
    elsewhere
        .execute("SELECT pg_advisory_lock($1)", &[&(seq as i64)])
        .expect("hold the intent's lock");
    let mut ledger = Ledger::open(&path).expect("open");
    assert_eq!(
        ledger
            .close_orphans("run stopped", "cli", &t0())
            .expect("close"),
        Vec::<u64>::new()
    );
    let report = verify_ledger(&path).expect("verify");
    assert!(report.ok, "{report:?}");
    assert_eq!(report.in_flight_intents.len(), 1);
    drop(elsewhere);
    let report = verify_ledger(&path).expect("verify");
    assert_eq!(report.orphaned_intents.len(), 1, "{report:?}");
    assert_eq!(
        ledger
            .close_orphans("run stopped", "cli", &t0())
            .expect("close"),
        [seq]
    );
    drop(ledger);
    let report = verify_ledger(&path).expect("verify");
    assert!(report.ok, "{report:?}");
}

/// A ledger with a few operations, closed; and its head.
fn anchored_ledger(backend: Backend) -> (Storage, std::path::PathBuf, Anchor) {
    let mut fx = Fixture::new(backend);
    fx.task_in("TASK-A-001", TaskState::InProgress);
    fx.task_in("TASK-A-002", TaskState::Accepted);
    let head = fx.ledger.head().expect("head").expect("not empty");
    let path = fx.path();
    let anchor = Anchor {
        source: "execution_bridge/stage_manifest.json".into(),
        head,
    };
    let report = verify_ledger_anchored(&path, std::slice::from_ref(&anchor)).expect("verify");
    assert!(report.ok, "{report:?}");
    (fx.close(), path, anchor)
}

fn a_recomputed_chain_is_caught_by_its_anchor(backend: Backend) {
    let (storage, path, anchor) = anchored_ledger(backend);
    let mut raw = storage.raw();
    raw.unguard();
    // Rewrite who wrote the first intent (nothing the projection shows), then
    // rehash it and every later event.
    raw.execute("UPDATE events SET actor = 'forger' WHERE seq = 1")
        .expect("rewrite");
    let rows = raw.text_rows(
        "SELECT CAST(seq AS TEXT) AS seq_text, CAST(op_seq AS TEXT) AS op_text, task_ref, kind, at, actor, body
         FROM events ORDER BY seq",
    );
    let mut prev = archon_tasks::event::GENESIS_HASH.to_string();
    for row in rows {
        let [seq, op_seq, task_ref, kind, at, actor, body] = &row[..] else {
            panic!("seven columns")
        };
        let hash = event_hash(&HashInput {
            seq: seq.parse().unwrap(),
            op_seq: op_seq.parse().unwrap(),
            task_ref,
            kind,
            at,
            actor,
            body,
            prev_hash: &prev,
        });
        raw.execute(&format!(
            "UPDATE events SET prev_hash = {}, hash = {} WHERE seq = {seq}",
            quoted(&prev),
            quoted(&hash)
        ))
        .expect("rehash");
        prev = hash;
    }
    drop(raw);
    let alone = verify_ledger(&path).expect("verify");
    assert!(alone.ok, "a rehashed chain is self-consistent: {alone:?}");
    let report = verify_ledger_anchored(&path, &[anchor]).expect("verify");
    assert!(!report.ok);
    assert_eq!(report.anchor_problems.len(), 1, "{report:?}");
    assert!(
        report.anchor_problems[0].contains("the chain was rewritten")
            && report.anchor_problems[0].contains("stage_manifest.json"),
        "{:?}",
        report.anchor_problems
    );
}

fn a_truncated_ledger_is_caught_by_its_anchor(backend: Backend) {
    let (storage, path, anchor) = anchored_ledger(backend);
    let mut raw = storage.raw();
    raw.unguard();
    // Drop the last operation whole, so what is left is a valid chain.
    let last_op = raw.int("SELECT max(op_seq) FROM events");
    raw.execute(&format!("DELETE FROM events WHERE op_seq = {last_op}"))
        .expect("truncate");
    drop(raw);
    let report = verify_ledger_anchored(&path, std::slice::from_ref(&anchor)).expect("verify");
    assert!(!report.ok);
    let LedgerHead { seq, .. } = anchor.head;
    assert!(
        report
            .anchor_problems
            .iter()
            .any(|p| p.contains(&format!("#{seq} is missing"))),
        "{report:?}"
    );
}

/// Writers work while `verify` runs again and again: every snapshot is whole
/// (events and projection from one read transaction) and every in-flight
/// intent is told from an orphan. Bounded: 100 verifies, 3 writers.
fn verify_during_concurrent_writers_always_passes(backend: Backend) {
    let mut fx = Fixture::new(backend);
    let tasks: Vec<String> = (0..30).map(|i| format!("TASK-W-{i:03}")).collect();
    for t in &tasks {
        fx.activate(t);
    }
    let path = fx.path();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let (path, tasks, stop) = (path.clone(), tasks.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut ledger = Ledger::open(&path).expect("open");
                let steward = "steward:steward-42";
                for round in 0.. {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) || round > 200 {
                        break;
                    }
                    let t = &tasks[(round * 3 + w) % tasks.len()];
                    for step in [Transition::Accept, Transition::Start] {
                        let _ = ledger.transition(t, step, steward, &t0());
                    }
                    let _ = ledger.transition(t, halt(), "earl", &t0());
                }
            })
        })
        .collect();
    let mut failures = Vec::new();
    for _ in 0..100 {
        let report = verify_ledger(&path).expect("verify");
        if !report.ok {
            failures.push(report);
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.join().expect("writer");
    }
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        failures.first()
    );
    drop(fx);
}

/// A finished run on read-only media (file and folder without write bits):
/// it verifies and reads, and nothing is created beside it.
#[test]
fn a_read_only_ledger_verifies_and_reads_sqlite() {
    let mut fx = Fixture::new(Backend::Sqlite);
    fx.task_in("TASK-O-001", TaskState::Accepted);
    let path = fx.path();
    let _storage = fx.close();
    let ro = path.parent().expect("folder").join("ro");
    std::fs::create_dir(&ro).expect("dir");
    let copy = ro.join("governance.db");
    std::fs::copy(&path, &copy).expect("copy");
    let read_only = |p: &std::path::Path, mode: u32| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
    };
    read_only(&copy, 0o444);
    read_only(&ro, 0o555);
    // Root ignores write bits: there, only the reads can be checked.
    let privileged = std::fs::write(ro.join("probe"), b"").is_ok();
    let _ = std::fs::remove_file(ro.join("probe"));
    let report = verify_ledger(&copy);
    let tasks = Ledger::open_read_only(&copy).and_then(|l| l.tasks());
    let listing: Vec<_> = std::fs::read_dir(&ro)
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    read_only(&ro, 0o755);
    let report = report.expect("verify a read-only copy");
    assert!(report.ok, "{report:?}");
    assert_eq!(tasks.expect("read a read-only copy").len(), 1);
    if !privileged {
        assert_eq!(listing, ["governance.db"], "nothing created beside it");
    }
    let missing = Ledger::open_read_only(ro.join("typo.db"))
        .err()
        .expect("missing");
    assert!(
        missing.to_string().contains("never creates one"),
        "{missing}"
    );
    assert!(!ro.join("typo.db").exists());
}

/// Reading a database that holds no ledger is an error, and creates nothing.
#[test]
fn a_database_without_a_ledger_is_missing_and_stays_empty_postgres() {
    let storage = Storage::new(Backend::Postgres);
    let missing = Ledger::open_read_only(&storage.location)
        .err()
        .expect("missing");
    assert!(
        missing.to_string().contains("never creates one"),
        "{missing}"
    );
    assert!(verify_ledger(&storage.location).is_err());
    let tables = storage
        .raw()
        .int("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'");
    assert_eq!(tables, 0);
}

/// This version speaks plain TCP only: a URL that requires TLS is refused,
/// saying why.
#[test]
fn a_url_requiring_tls_is_refused_postgres() {
    let storage = Storage::new(Backend::Postgres);
    let url = format!("{}?sslmode=require", storage.location.display());
    let err = Ledger::open(&url).err().expect("no TLS here");
    assert!(err.to_string().to_lowercase().contains("tls"), "{err}");
}

crate::on_both_backends!(
    a_retried_operation_adopts_its_orphaned_intent,
    a_recomputed_chain_is_caught_by_its_anchor,
    a_truncated_ledger_is_caught_by_its_anchor,
    verify_during_concurrent_writers_always_passes,
);
