//! The PostgreSQL backend: one database per ledger, shared by archon
//! processes on any number of machines.
//!
//! Appends are serialised by a transaction-scoped advisory lock
//! ([`APPEND_LOCK`]) taken first in every write transaction; under READ
//! COMMITTED each statement after it sees every earlier append. Triggers make
//! `events` append-only (UPDATE, DELETE and TRUNCATE are refused).
//!
//! Liveness, per intent: a writer takes a session advisory lock keyed by the
//! intent's seq before committing the intent and releases it after the
//! outcome. The server drops a session's locks when its connection ends (a
//! killed process, a lost machine), so an open intent whose lock is free has
//! no live writer: an orphan, whatever other writers are open.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::PathBuf;

use postgres::{Client, IsolationLevel, NoTls, Transaction};

use super::{
    Events, Location, StoreTx, VerifySnapshot, EVENT_COLUMNS, INSERT_EVENT, IS_COMMITTED,
    LEDGER_SCHEMA_VERSION, LOAD_TASK, PROJECTION, SAVE_TASK, SCHEMA_VERSION, TAIL,
};
use crate::ledger::{LedgerError, RawEvent};

/// The two-key advisory lock every append transaction holds (`archon`, 1).
/// Intents' locks use the one-key (bigint) space, which never meets it.
const APPEND_LOCK: (i32, i32) = (0x6172_6368, 1);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq BIGINT PRIMARY KEY,
    op_seq BIGINT NOT NULL,
    task_ref TEXT NOT NULL,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    body TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_task ON events (task_ref, seq);
CREATE INDEX IF NOT EXISTS events_op ON events (op_seq);
CREATE INDEX IF NOT EXISTS events_request ON events (actor, ((body::jsonb) #>> '{request,key}'))
    WHERE kind = 'intent';
CREATE TABLE IF NOT EXISTS tasks (
    task_ref TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    version BIGINT NOT NULL,
    record TEXT NOT NULL
);
CREATE OR REPLACE FUNCTION archon_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the governance ledger is append-only'; END $$;
CREATE OR REPLACE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION archon_events_append_only();
CREATE OR REPLACE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION archon_events_append_only();
";

/// Whether the database holds a ledger's tables.
const HAS_LEDGER: &str = "SELECT to_regclass('meta') IS NOT NULL";

/// An intent's idempotency key, as this dialect reads it from the body.
const KEYED: &str = "((body::jsonb) #>> '{request,key}')";

pub(crate) struct PgStore {
    /// Reads take `&self`; a write has the client to itself through `&mut`.
    client: RefCell<Client>,
    name: PathBuf,
    /// The intents whose session lock this connection holds.
    in_flight: BTreeSet<u64>,
}

impl PgStore {
    pub(crate) fn open(url: &str, location: &Location) -> Result<PgStore, LedgerError> {
        let mut store = PgStore::connect(url, location, true)?;
        let name = store.name.clone();
        let pg = |e| pg_error(&name, e);
        let client = store.client.get_mut();
        let mut tx = client.transaction().map_err(pg)?;
        lock_appends(&mut tx, &name)?;
        // Made once, by the first writer: later ones need no DDL rights.
        let exists: bool = tx.query_one(HAS_LEDGER, &[]).map_err(pg)?.get(0);
        if !exists {
            tx.batch_execute(SCHEMA).map_err(pg)?;
        }
        let version: Option<String> = tx
            .query_opt(SCHEMA_VERSION, &[])
            .map_err(pg)?
            .map(|r| r.get(0));
        match version.as_deref() {
            None => {
                archon_store::fault::point("ledger schema");
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', $1)",
                    &[&LEDGER_SCHEMA_VERSION],
                )
                .map_err(pg)?;
            }
            Some(LEDGER_SCHEMA_VERSION) => {}
            Some(other) => return Err(schema_mismatch(&name, other)),
        }
        tx.commit().map_err(pg)?;
        Ok(store)
    }

    pub(crate) fn open_read_only(url: &str, location: &Location) -> Result<PgStore, LedgerError> {
        let mut store = PgStore::connect(url, location, false)?;
        let name = store.name.clone();
        let client = store.client.get_mut();
        let exists: bool = client
            .query_one(HAS_LEDGER, &[])
            .map_err(|e| pg_error(&name, e))?
            .get(0);
        if !exists {
            return Err(LedgerError::Missing { path: name });
        }
        let version: Option<String> = client
            .query_opt(SCHEMA_VERSION, &[])
            .map_err(|e| pg_error(&name, e))?
            .map(|r| r.get(0));
        match version.as_deref() {
            Some(LEDGER_SCHEMA_VERSION) => Ok(store),
            Some(other) => Err(schema_mismatch(&name, other)),
            None => Err(LedgerError::Corrupt {
                path: name,
                message: "not a governance ledger: no schema_version".to_string(),
            }),
        }
    }

    fn connect(url: &str, location: &Location, writer: bool) -> Result<PgStore, LedgerError> {
        let name = location.display_name();
        let mut client = Client::connect(url, NoTls).map_err(|e| pg_error(&name, e))?;
        if !writer {
            // As a read-only SQLite connection: any write is refused.
            client
                .batch_execute("SET default_transaction_read_only = on")
                .map_err(|e| pg_error(&name, e))?;
        }
        Ok(PgStore {
            client: RefCell::new(client),
            name,
            in_flight: BTreeSet::new(),
        })
    }

    pub(crate) fn write<T>(
        &mut self,
        f: impl FnOnce(&mut dyn StoreTx) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        let name = &self.name;
        let mut tx = self
            .client
            .get_mut()
            .transaction()
            .map_err(|e| pg_error(name, e))?;
        lock_appends(&mut tx, name)?;
        let mut store_tx = PgTx {
            tx,
            name,
            in_flight: Some(&mut self.in_flight),
        };
        let out = f(&mut store_tx)?;
        store_tx.tx.commit().map_err(|e| pg_error(name, e))?;
        Ok(out)
    }

    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&mut dyn StoreTx) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        let mut client = self.client.borrow_mut();
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(|e| pg_error(&self.name, e))?;
        let mut store_tx = PgTx {
            tx,
            name: &self.name,
            in_flight: None,
        };
        let out = f(&mut store_tx)?;
        store_tx.tx.commit().map_err(|e| pg_error(&self.name, e))?;
        Ok(out)
    }

    pub(crate) fn settled(&mut self, seqs: &[u64]) {
        let client = self.client.get_mut();
        for seq in seqs {
            if self.in_flight.remove(seq) {
                // Failing only with the connection, which drops the lock too.
                let _ = client.execute("SELECT pg_advisory_unlock($1)", &[&(*seq as i64)]);
            }
        }
    }

    pub(crate) fn verify_snapshot(&mut self) -> Result<VerifySnapshot, LedgerError> {
        let (events, projection) =
            self.read(|tx| Ok((tx.events(Events::All)?, tx.projection()?)))?;
        let name = &self.name;
        let pg = |e| pg_error(name, e);
        let client = self.client.get_mut();
        let mut in_flight = BTreeSet::new();
        for seq in super::open_intent_seqs(&events) {
            let key = seq as i64;
            let free: bool = client
                .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
                .map_err(pg)?
                .get(0);
            if !free {
                in_flight.insert(seq);
                continue;
            }
            client
                .execute("SELECT pg_advisory_unlock($1)", &[&key])
                .map_err(pg)?;
            // Free now, but its writer may have closed it since the snapshot.
            let closed: i64 = client
                .query_one(
                    "SELECT count(*) FROM events WHERE op_seq = $1 AND kind IN ('committed', 'failed')",
                    &[&key],
                )
                .map_err(pg)?
                .get(0);
            if closed > 0 {
                in_flight.insert(seq);
            }
        }
        Ok(VerifySnapshot {
            events,
            projection,
            in_flight,
        })
    }
}

/// Waits for the ledger's append lock (held until the transaction ends).
fn lock_appends(tx: &mut Transaction<'_>, name: &std::path::Path) -> Result<(), LedgerError> {
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, $2)",
        &[&APPEND_LOCK.0, &APPEND_LOCK.1],
    )
    .map(|_| ())
    .map_err(|e| pg_error(name, e))
}

struct PgTx<'a> {
    tx: Transaction<'a>,
    name: &'a std::path::Path,
    /// `None` for a read transaction.
    in_flight: Option<&'a mut BTreeSet<u64>>,
}

impl PgTx<'_> {
    fn pg(&self, e: postgres::Error) -> LedgerError {
        pg_error(self.name, e)
    }
}

impl StoreTx for PgTx<'_> {
    fn tail(&mut self) -> Result<Option<(u64, String)>, LedgerError> {
        let row = self.tx.query_opt(TAIL, &[]).map_err(|e| self.pg(e))?;
        Ok(row.map(|r| (r.get::<_, i64>(0) as u64, r.get(1))))
    }

    fn insert_event(&mut self, row: &RawEvent) -> Result<(), LedgerError> {
        self.tx
            .execute(
                INSERT_EVENT,
                &[
                    &(row.seq as i64),
                    &(row.op_seq as i64),
                    &row.task_ref,
                    &row.kind,
                    &row.at,
                    &row.actor,
                    &row.body,
                    &row.prev_hash,
                    &row.hash,
                ],
            )
            .map(|_| ())
            .map_err(|e| pg_error(self.name, e))
    }

    fn events(&mut self, which: Events<'_>) -> Result<Vec<RawEvent>, LedgerError> {
        let query = format!("SELECT {EVENT_COLUMNS} FROM events {}", which.clause(KEYED));
        let rows = match which {
            Events::All | Events::OpenIntents => self.tx.query(&query, &[]),
            Events::Seq(seq) => self.tx.query(&query, &[&(seq as i64)]),
            Events::Task(task_ref) => self.tx.query(&query, &[&task_ref]),
            Events::Keyed { actor, key } => self.tx.query(&query, &[&actor, &key]),
        }
        .map_err(|e| pg_error(self.name, e))?;
        Ok(rows
            .iter()
            .map(|r| RawEvent {
                seq: r.get::<_, i64>(0) as u64,
                op_seq: r.get::<_, i64>(1) as u64,
                task_ref: r.get(2),
                kind: r.get(3),
                at: r.get(4),
                actor: r.get(5),
                body: r.get(6),
                prev_hash: r.get(7),
                hash: r.get(8),
            })
            .collect())
    }

    fn is_committed(&mut self, intent_seq: u64) -> Result<bool, LedgerError> {
        let n: i64 = self
            .tx
            .query_one(IS_COMMITTED, &[&(intent_seq as i64)])
            .map_err(|e| pg_error(self.name, e))?
            .get(0);
        Ok(n > 0)
    }

    fn task(&mut self, task_ref: &str) -> Result<Option<String>, LedgerError> {
        let row = self
            .tx
            .query_opt(LOAD_TASK, &[&task_ref])
            .map_err(|e| pg_error(self.name, e))?;
        Ok(row.map(|r| r.get(0)))
    }

    fn save_task(
        &mut self,
        task_ref: &str,
        state: &str,
        version: u64,
        record: &str,
    ) -> Result<(), LedgerError> {
        self.tx
            .execute(SAVE_TASK, &[&task_ref, &state, &(version as i64), &record])
            .map(|_| ())
            .map_err(|e| pg_error(self.name, e))
    }

    fn projection(&mut self) -> Result<Vec<(String, String)>, LedgerError> {
        let rows = self
            .tx
            .query(PROJECTION, &[])
            .map_err(|e| pg_error(self.name, e))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn dead_intents(&mut self, seqs: &[u64]) -> Result<Option<BTreeSet<u64>>, LedgerError> {
        let Some(own) = self.in_flight.as_deref() else {
            return Ok(None);
        };
        let mut dead = BTreeSet::new();
        for &seq in seqs.iter().filter(|s| !own.contains(s)) {
            // Taken only if no session holds it: its writer is gone. Held to
            // the end of this transaction, which settles the intent.
            let free: bool = self
                .tx
                .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&(seq as i64)])
                .map_err(|e| pg_error(self.name, e))?
                .get(0);
            if free {
                dead.insert(seq);
            }
        }
        Ok(Some(dead))
    }

    fn mark_in_flight(&mut self, seqs: &[u64]) -> Result<(), LedgerError> {
        for &seq in seqs {
            self.tx
                .execute("SELECT pg_advisory_lock($1)", &[&(seq as i64)])
                .map_err(|e| pg_error(self.name, e))?;
            if let Some(own) = self.in_flight.as_deref_mut() {
                own.insert(seq);
            }
        }
        Ok(())
    }
}

fn pg_error(name: &std::path::Path, error: postgres::Error) -> LedgerError {
    LedgerError::Postgres {
        path: name.to_path_buf(),
        error,
    }
}

fn schema_mismatch(name: &std::path::Path, found: &str) -> LedgerError {
    LedgerError::Corrupt {
        path: name.to_path_buf(),
        message: format!(
            "ledger schema_version {found}, this archon reads {LEDGER_SCHEMA_VERSION}"
        ),
    }
}
