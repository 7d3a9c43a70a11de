//! Where the ledger's rows live: an SQLite file or a PostgreSQL database,
//! chosen by the location ([`Location::parse`]).
//!
//! Backends only store and load rows: the events (hash-chained, append-only),
//! the projection of each task, and the liveness of writers. What an operation
//! writes, how events are hashed and folded, and which intents are orphans are
//! decided once, in [`crate::ledger`] and [`crate::verify`], over
//! [`StoreTx`].
//!
//! Every write runs in one transaction that excludes every other writer of
//! the ledger (SQLite `BEGIN IMMEDIATE`; PostgreSQL a transaction-scoped
//! advisory lock), so the chain's tail never forks.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::ledger::{LedgerError, RawEvent};

pub(crate) mod postgres;
pub(crate) mod sqlite;

/// Version of the database layout (the `meta` table's `schema_version`).
pub const LEDGER_SCHEMA_VERSION: &str = "1";

/// Where a ledger is: a file, or a PostgreSQL database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    File(PathBuf),
    /// A `postgres://` or `postgresql://` connection URL.
    Postgres(String),
}

impl Location {
    /// The one place that tells a database URL from a file path.
    pub fn parse(location: &Path) -> Location {
        match location.to_str() {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Location::Postgres(url.to_string())
            }
            _ => Location::File(location.to_path_buf()),
        }
    }

    /// How errors name the ledger: the path, or the URL without its password.
    pub fn display_name(&self) -> PathBuf {
        match self {
            Location::File(path) => path.clone(),
            Location::Postgres(url) => PathBuf::from(redact_password(url)),
        }
    }
}

/// `url` with the password of its user info (if any) replaced by `***`.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_string();
    };
    match rest[..at].split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***{}", &rest[at..]),
        None => url.to_string(),
    }
}

/// Which events to load (each in log order).
pub(crate) enum Events<'a> {
    All,
    Seq(u64),
    Task(&'a str),
    /// The intents `actor` wrote under idempotency key `key`.
    Keyed {
        actor: &'a str,
        key: &'a str,
    },
    /// The intents without a `committed` or `failed` outcome.
    OpenIntents,
}

/// The columns of an event row, in [`RawEvent`] order.
pub(crate) const EVENT_COLUMNS: &str =
    "seq, op_seq, task_ref, kind, at, actor, body, prev_hash, hash";

impl Events<'_> {
    /// The `WHERE … ORDER BY` of the query (placeholders `$1`, `$2`, which
    /// SQLite reads too); `keyed` is the backend's test of an intent's key.
    pub(crate) fn clause(&self, keyed: &str) -> String {
        match self {
            Events::All => "ORDER BY seq".to_string(),
            Events::Seq(_) => "WHERE seq = $1".to_string(),
            Events::Task(_) => "WHERE task_ref = $1 ORDER BY seq".to_string(),
            Events::Keyed { .. } => {
                format!("WHERE kind = 'intent' AND actor = $1 AND {keyed} = $2 ORDER BY seq")
            }
            Events::OpenIntents => "WHERE kind = 'intent' AND NOT EXISTS (
                   SELECT 1 FROM events o WHERE o.task_ref = events.task_ref
                     AND o.op_seq = events.seq AND o.kind IN ('committed', 'failed'))
                 ORDER BY seq"
                .to_string(),
        }
    }
}

pub(crate) const INSERT_EVENT: &str =
    "INSERT INTO events (seq, op_seq, task_ref, kind, at, actor, body, prev_hash, hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
pub(crate) const SAVE_TASK: &str =
    "INSERT INTO tasks (task_ref, state, version, record) VALUES ($1, $2, $3, $4)
     ON CONFLICT (task_ref) DO UPDATE SET state = $2, version = $3, record = $4";
pub(crate) const LOAD_TASK: &str = "SELECT record FROM tasks WHERE task_ref = $1";
pub(crate) const PROJECTION: &str = "SELECT task_ref, record FROM tasks ORDER BY task_ref";
pub(crate) const TAIL: &str = "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1";
pub(crate) const IS_COMMITTED: &str =
    "SELECT count(*) FROM events WHERE op_seq = $1 AND kind = 'committed'";
pub(crate) const SCHEMA_VERSION: &str = "SELECT value FROM meta WHERE key = 'schema_version'";

/// One transaction on the ledger's rows. A write transaction excludes every
/// other writer until it ends; a read transaction is one snapshot.
pub(crate) trait StoreTx {
    /// The last event's (seq, hash), or `None` while the log is empty.
    fn tail(&mut self) -> Result<Option<(u64, String)>, LedgerError>;
    fn insert_event(&mut self, row: &RawEvent) -> Result<(), LedgerError>;
    fn events(&mut self, which: Events<'_>) -> Result<Vec<RawEvent>, LedgerError>;
    fn is_committed(&mut self, intent_seq: u64) -> Result<bool, LedgerError>;
    /// The stored record (JSON text) of a task.
    fn task(&mut self, task_ref: &str) -> Result<Option<String>, LedgerError>;
    fn save_task(
        &mut self,
        task_ref: &str,
        state: &str,
        version: u64,
        record: &str,
    ) -> Result<(), LedgerError>;
    /// Every stored (task_ref, record), by task_ref.
    fn projection(&mut self) -> Result<Vec<(String, String)>, LedgerError>;
    /// Of the open intents `seqs`, those no live writer is between the phases
    /// of (the orphans); `None` while that cannot be told (SQLite: another
    /// process has the ledger open for writing).
    fn dead_intents(&mut self, seqs: &[u64]) -> Result<Option<BTreeSet<u64>>, LedgerError>;
    /// These intents' writer is this ledger from now until [`Store::settled`]
    /// (called before the commit that makes them visible).
    fn mark_in_flight(&mut self, seqs: &[u64]) -> Result<(), LedgerError>;
}

/// An open store.
pub(crate) enum Store {
    Sqlite(sqlite::SqliteStore),
    /// Boxed: the client is large, and a ledger is opened once.
    Postgres(Box<postgres::PgStore>),
}

impl Store {
    /// Opens for writing, creating the ledger (file or tables) if needed.
    pub(crate) fn open(location: &Location) -> Result<Store, LedgerError> {
        Ok(match location {
            Location::File(path) => Store::Sqlite(sqlite::SqliteStore::open(path)?),
            Location::Postgres(url) => {
                Store::Postgres(Box::new(postgres::PgStore::open(url, location)?))
            }
        })
    }

    /// Opens an existing ledger for reading only (nothing is created).
    pub(crate) fn open_read_only(location: &Location) -> Result<Store, LedgerError> {
        Ok(match location {
            Location::File(path) => Store::Sqlite(sqlite::SqliteStore::open_read_only(path)?),
            Location::Postgres(url) => {
                Store::Postgres(Box::new(postgres::PgStore::open_read_only(url, location)?))
            }
        })
    }

    /// Runs `f` in one write transaction, committed when `f` returns `Ok`.
    pub(crate) fn write<T>(
        &mut self,
        f: impl FnOnce(&mut dyn StoreTx) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        match self {
            Store::Sqlite(s) => s.write(f),
            Store::Postgres(s) => s.write(f),
        }
    }

    /// Runs `f` on one snapshot.
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&mut dyn StoreTx) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        match self {
            Store::Sqlite(s) => s.read(f),
            Store::Postgres(s) => s.read(f),
        }
    }

    /// The operations of these intents are over (closed, or left as orphans
    /// by an error).
    pub(crate) fn settled(&mut self, seqs: &[u64]) {
        match self {
            Store::Sqlite(s) => s.settled(seqs),
            Store::Postgres(s) => s.settled(seqs),
        }
    }

    /// What `verify` reads: the events and the stored projection of one
    /// snapshot, and which of its open intents a live writer is working on.
    pub(crate) fn verify_snapshot(&mut self) -> Result<VerifySnapshot, LedgerError> {
        match self {
            Store::Sqlite(s) => s.verify_snapshot(),
            Store::Postgres(s) => s.verify_snapshot(),
        }
    }
}

/// One snapshot for `verify`.
pub(crate) struct VerifySnapshot {
    pub events: Vec<RawEvent>,
    pub projection: Vec<(String, String)>,
    /// The open intents of the snapshot that were in flight (not orphans).
    pub in_flight: BTreeSet<u64>,
}

/// The intents of `rows` without a `committed` or `failed` outcome.
pub(crate) fn open_intent_seqs(rows: &[RawEvent]) -> Vec<u64> {
    let closed: BTreeSet<u64> = rows
        .iter()
        .filter(|r| r.kind == "committed" || r.kind == "failed")
        .map(|r| r.op_seq)
        .collect();
    rows.iter()
        .filter(|r| r.kind == "intent" && !closed.contains(&r.seq))
        .map(|r| r.seq)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_postgres_and_everything_else_a_file() {
        for url in [
            "postgres://u@h/db",
            "postgresql://h:5433/db?sslmode=disable",
        ] {
            assert_eq!(
                Location::parse(Path::new(url)),
                Location::Postgres(url.to_string())
            );
        }
        for file in ["governance.db", "postgres/governance.db", "./postgres://x"] {
            assert_eq!(
                Location::parse(Path::new(file)),
                Location::File(PathBuf::from(file))
            );
        }
    }

    #[test]
    fn passwords_never_reach_a_message() {
        let loc = Location::parse(Path::new("postgres://archon:s3cret@db.example:5432/ledger"));
        assert_eq!(
            loc.display_name(),
            PathBuf::from("postgres://archon:***@db.example:5432/ledger")
        );
        let plain = Location::parse(Path::new("postgres://archon@db/ledger"));
        assert_eq!(
            plain.display_name(),
            PathBuf::from("postgres://archon@db/ledger")
        );
    }
}
