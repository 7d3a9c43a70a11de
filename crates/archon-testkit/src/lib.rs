//! Test support shared by the crates' tests (a dev-dependency only).
//!
//! [`postgres_database`]: a fresh database on a private PostgreSQL server
//! started for this test binary in a temp folder, listening on 127.0.0.1 on a
//! free port, and stopped when the last database handle is dropped. The server
//! binaries (`initdb`, `pg_ctl`) come from `PATH` or
//! `/usr/lib/postgresql/*/bin`; without them the test fails, saying to install
//! `postgresql`. As root (CI, this machine) the server runs as the `postgres`
//! system user, since `initdb` refuses root.

pub mod pg;

pub use pg::{postgres_database, PgDatabase, PgServer};
