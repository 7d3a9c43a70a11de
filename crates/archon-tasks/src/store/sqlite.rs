//! The SQLite backend: one file, WAL journal, a busy timeout, every write in a
//! `BEGIN IMMEDIATE` transaction, so several processes can share it. Writers'
//! liveness: [`crate::writers`] (a `flock` per process, intents in flight per
//! thread).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use super::{
    Events, StoreTx, VerifySnapshot, EVENT_COLUMNS, INSERT_EVENT, IS_COMMITTED,
    LEDGER_SCHEMA_VERSION, LOAD_TASK, PROJECTION, SAVE_TASK, SCHEMA_VERSION, TAIL,
};
use crate::ledger::{LedgerError, RawEvent};
use crate::writers::{self, WriterLock, Writers};

const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    op_seq INTEGER NOT NULL,
    task_ref TEXT NOT NULL,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    body TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_task ON events(task_ref, seq);
CREATE INDEX IF NOT EXISTS events_request ON events(actor, json_extract(body, '$.request.key'))
    WHERE kind = 'intent';
CREATE TABLE IF NOT EXISTS tasks (
    task_ref TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    version INTEGER NOT NULL,
    record TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the governance ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the governance ledger is append-only'); END;
";

/// An intent's idempotency key, as this dialect reads it from the body.
const KEYED: &str = "json_extract(body, '$.request.key')";

pub(crate) struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    /// This writer's share of the liveness lock; `None` when opened read-only.
    writer: Option<WriterLock>,
}

impl SqliteStore {
    pub(crate) fn open(path: &Path) -> Result<SqliteStore, LedgerError> {
        let corrupt = |message: String| LedgerError::Corrupt {
            path: path.to_path_buf(),
            message,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| corrupt(format!("cannot create {}: {e}", dir.display())))?;
        }
        let sql = |source| sql_error(path, source);
        let writer = WriterLock::acquire(path).map_err(|source| LedgerError::Io {
            path: writers::lock_path(path),
            error: source,
        })?;
        let mut conn = Connection::open(path).map_err(sql)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(sql)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(corrupt(format!(
                "cannot switch to WAL journal (got {mode})"
            )));
        }
        // Durable commits: a transition reported as done survives a power loss.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        tx.execute_batch(SCHEMA).map_err(sql)?;
        let version: Option<String> = tx
            .query_row(SCHEMA_VERSION, [], |r| r.get(0))
            .optional()
            .map_err(sql)?;
        match version.as_deref() {
            None => {
                // A new ledger: the schema transaction is its first durable write.
                archon_store::fault::point("ledger schema");
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)",
                    [LEDGER_SCHEMA_VERSION],
                )
                .map_err(sql)?;
            }
            Some(LEDGER_SCHEMA_VERSION) => {}
            Some(other) => return Err(corrupt(schema_mismatch(other))),
        }
        tx.commit().map_err(sql)?;
        Ok(SqliteStore {
            conn,
            path: path.to_path_buf(),
            writer: Some(writer),
        })
    }

    pub(crate) fn open_read_only(path: &Path) -> Result<SqliteStore, LedgerError> {
        Ok(SqliteStore {
            conn: open_read_connection(path)?,
            path: path.to_path_buf(),
            writer: None,
        })
    }

    pub(crate) fn write<T>(
        &mut self,
        f: impl FnOnce(&mut dyn StoreTx) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        let path = &self.path;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sql_error(path, e))?;
        let mut store_tx = SqliteTx {
            conn: &tx,
            path,
            writer: self.writer.as_ref(),
        };
        let out = f(&mut store_tx)?;
        tx.commit().map_err(|e| sql_error(path, e))?;
        Ok(out)
    }

    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&mut dyn StoreTx) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(|e| sql_error(&self.path, e))?;
        let out = f(&mut SqliteTx {
            conn: &tx,
            path: &self.path,
            writer: None,
        })?;
        tx.finish().map_err(|e| sql_error(&self.path, e))?;
        Ok(out)
    }

    pub(crate) fn settled(&mut self, seqs: &[u64]) {
        if let Some(w) = &self.writer {
            let mut in_flight = w.in_flight();
            for seq in seqs {
                in_flight.remove(seq);
            }
        }
    }

    pub(crate) fn verify_snapshot(&mut self) -> Result<VerifySnapshot, LedgerError> {
        // Held until the snapshot is read: no writer opens in between.
        let writers = writers::probe(&self.path).map_err(|source| LedgerError::Io {
            path: writers::lock_path(&self.path),
            error: source,
        })?;
        let (events, projection) =
            self.read(|tx| Ok((tx.events(Events::All)?, tx.projection()?)))?;
        let writer_open = matches!(writers, Writers::Open);
        drop(writers);
        // While a writer is open, any open intent may be one in flight.
        let in_flight = if writer_open {
            super::open_intent_seqs(&events).into_iter().collect()
        } else {
            BTreeSet::new()
        };
        Ok(VerifySnapshot {
            events,
            projection,
            in_flight,
        })
    }
}

struct SqliteTx<'a> {
    conn: &'a Connection,
    path: &'a Path,
    writer: Option<&'a WriterLock>,
}

impl SqliteTx<'_> {
    fn sql(&self, source: rusqlite::Error) -> LedgerError {
        sql_error(self.path, source)
    }
}

impl StoreTx for SqliteTx<'_> {
    fn tail(&mut self) -> Result<Option<(u64, String)>, LedgerError> {
        self.conn
            .query_row(TAIL, [], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?))
            })
            .optional()
            .map_err(|e| self.sql(e))
    }

    fn insert_event(&mut self, row: &RawEvent) -> Result<(), LedgerError> {
        self.conn
            .execute(
                INSERT_EVENT,
                params![
                    row.seq as i64,
                    row.op_seq as i64,
                    row.task_ref,
                    row.kind,
                    row.at,
                    row.actor,
                    row.body,
                    row.prev_hash,
                    row.hash
                ],
            )
            .map(|_| ())
            .map_err(|e| self.sql(e))
    }

    fn events(&mut self, which: Events<'_>) -> Result<Vec<RawEvent>, LedgerError> {
        let query = format!("SELECT {EVENT_COLUMNS} FROM events {}", which.clause(KEYED));
        let mut stmt = self.conn.prepare(&query).map_err(|e| self.sql(e))?;
        let map = |r: &rusqlite::Row<'_>| {
            Ok(RawEvent {
                seq: r.get::<_, i64>(0)? as u64,
                op_seq: r.get::<_, i64>(1)? as u64,
                task_ref: r.get(2)?,
                kind: r.get(3)?,
                at: r.get(4)?,
                actor: r.get(5)?,
                body: r.get(6)?,
                prev_hash: r.get(7)?,
                hash: r.get(8)?,
            })
        };
        let rows = match which {
            Events::All | Events::OpenIntents => stmt.query_map([], map),
            Events::Seq(seq) => stmt.query_map([seq as i64], map),
            Events::Task(task_ref) => stmt.query_map([task_ref], map),
            Events::Keyed { actor, key } => stmt.query_map([actor, key], map),
        }
        .map_err(|e| sql_error(self.path, e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| sql_error(self.path, e))
    }

    fn is_committed(&mut self, intent_seq: u64) -> Result<bool, LedgerError> {
        self.conn
            .query_row(IS_COMMITTED, [intent_seq as i64], |r| r.get::<_, i64>(0))
            .map(|n| n > 0)
            .map_err(|e| self.sql(e))
    }

    fn task(&mut self, task_ref: &str) -> Result<Option<String>, LedgerError> {
        self.conn
            .query_row(LOAD_TASK, [task_ref], |r| r.get(0))
            .optional()
            .map_err(|e| self.sql(e))
    }

    fn save_task(
        &mut self,
        task_ref: &str,
        state: &str,
        version: u64,
        record: &str,
    ) -> Result<(), LedgerError> {
        self.conn
            .execute(SAVE_TASK, params![task_ref, state, version as i64, record])
            .map(|_| ())
            .map_err(|e| self.sql(e))
    }

    fn projection(&mut self) -> Result<Vec<(String, String)>, LedgerError> {
        let mut stmt = self.conn.prepare(PROJECTION).map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| sql_error(self.path, e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| sql_error(self.path, e))
    }

    fn dead_intents(&mut self, seqs: &[u64]) -> Result<Option<BTreeSet<u64>>, LedgerError> {
        // A read-only ledger never settles orphans.
        let Some(w) = self.writer else {
            return Ok(None);
        };
        let alone = w.is_only_process().map_err(|source| LedgerError::Io {
            path: writers::lock_path(self.path),
            error: source,
        })?;
        if !alone {
            return Ok(None);
        }
        let in_flight = w.in_flight();
        Ok(Some(
            seqs.iter()
                .copied()
                .filter(|s| !in_flight.contains(s))
                .collect(),
        ))
    }

    fn mark_in_flight(&mut self, seqs: &[u64]) -> Result<(), LedgerError> {
        if let Some(w) = self.writer {
            w.in_flight().extend(seqs.iter().copied());
        }
        Ok(())
    }
}

fn sql_error(path: &Path, source: rusqlite::Error) -> LedgerError {
    LedgerError::Sqlite {
        path: path.to_path_buf(),
        error: source,
    }
}

fn schema_mismatch(found: &str) -> String {
    format!("ledger schema_version {found}, this archon reads {LEDGER_SCHEMA_VERSION}")
}

/// Opens an existing ledger read-only. SQLite needs the `-shm` file of a WAL
/// ledger; where it cannot be made (read-only media, no writer open) the file
/// is opened as immutable, which is what it is there.
fn open_read_connection(path: &Path) -> Result<Connection, LedgerError> {
    if !path.is_file() {
        return Err(LedgerError::Missing {
            path: path.to_path_buf(),
        });
    }
    let check = |conn: Connection| -> Result<Connection, rusqlite::Error> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })?;
        Ok(conn)
    };
    // Where the ledger can be written, a read-write connection (never creating
    // the file) with `query_only` reads it: as the last connection to close it
    // checkpoints and removes the WAL files, as a writer would, so a read leaves
    // the run's folder as it found it. A read-only connection cannot, so it is
    // kept for read-only media.
    let query_only = |conn: Connection| -> Result<Connection, rusqlite::Error> {
        conn.pragma_update(None, "query_only", true)?;
        check(conn)
    };
    let read_only = || Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY);
    let writable = |p: &Path| std::fs::metadata(p).is_ok_and(|m| !m.permissions().readonly());
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let first_try = if writable(path) && writable(dir.unwrap_or(Path::new("."))) {
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
            .and_then(query_only)
            .or_else(|_| read_only().and_then(check))
    } else {
        read_only().and_then(check)
    };
    let conn = match first_try {
        Ok(conn) => conn,
        Err(first) => {
            let uri = format!("file:{}?immutable=1", uri_path(path));
            Connection::open_with_flags(
                uri,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
            )
            .and_then(check)
            .map_err(|_| sql_error(path, first))?
        }
    };
    let corrupt = |message: String| LedgerError::Corrupt {
        path: path.to_path_buf(),
        message,
    };
    let version: Option<String> = conn
        .query_row(SCHEMA_VERSION, [], |r| r.get(0))
        .optional()
        .map_err(|e| corrupt(format!("not a governance ledger: {e}")))?;
    match version.as_deref() {
        Some(LEDGER_SCHEMA_VERSION) => Ok(conn),
        Some(other) => Err(corrupt(schema_mismatch(other))),
        None => Err(corrupt(
            "not a governance ledger: no schema_version".to_string(),
        )),
    }
}

/// `path` with the characters a SQLite URI gives meaning to percent-encoded.
fn uri_path(path: &Path) -> String {
    let text = path.to_string_lossy();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' | '?' | '#' => out.push_str(&format!("%{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}
