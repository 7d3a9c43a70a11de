//! A private PostgreSQL server for tests (see the crate doc).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// The server's superuser (trust authentication, loopback only).
const SUPERUSER: &str = "archon";
/// Tries at a free port (another process may take the one found first).
const START_ATTEMPTS: u32 = 3;

/// A running server; stopped (and its folder removed) on drop.
pub struct PgServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres_user: bool,
}

/// One database of a [`PgServer`], which stays up while the handle lives.
pub struct PgDatabase {
    url: String,
    name: String,
    server: Arc<PgServer>,
}

impl PgDatabase {
    /// `postgres://archon@127.0.0.1:PORT/NAME`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn server(&self) -> &PgServer {
        &self.server
    }

    /// A new connection as the superuser (to tamper with a ledger, or to play
    /// another process holding locks).
    pub fn connect(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls)
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.url))
    }
}

/// A fresh, empty database on this test binary's server (started on first use).
pub fn postgres_database() -> PgDatabase {
    static SHARED: Mutex<Weak<PgServer>> = Mutex::new(Weak::new());
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let server = {
        let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        match shared.upgrade() {
            Some(server) => server,
            None => {
                let server = Arc::new(PgServer::start());
                *shared = Arc::downgrade(&server);
                server
            }
        }
    };
    let name = format!(
        "ledger_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = postgres::Client::connect(&server.url("postgres"), postgres::NoTls)
        .unwrap_or_else(|e| panic!("connect to the test server: {e}"));
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap_or_else(|e| panic!("create database {name}: {e}"));
    PgDatabase {
        url: server.url(&name),
        name,
        server,
    }
}

impl PgServer {
    /// initdb in a temp folder and start on a free loopback port. Panics with
    /// what to install when the server binaries are missing.
    pub fn start() -> PgServer {
        let bin = server_bin_dir().unwrap_or_else(|| {
            panic!(
                "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in \
                 /usr/lib/postgresql/*/bin: install `postgresql` (Debian: apt-get install postgresql)"
            )
        });
        let as_postgres_user = rustix::process::geteuid().is_root();
        let dir = tempfile::Builder::new()
            .prefix("archon-pg-")
            .tempdir()
            .unwrap_or_else(|e| panic!("temp folder for PostgreSQL: {e}"));
        let mut server = PgServer {
            dir,
            bin,
            port: 0,
            as_postgres_user,
        };
        if as_postgres_user {
            server.run_checked(
                Command::new("chown")
                    .args(["-R", "postgres:"])
                    .arg(server.dir.path()),
            );
        }
        let data = server.data_dir();
        server.run_checked(server.tool("initdb").arg("-D").arg(&data).args([
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ]));
        let mut last = String::new();
        for _ in 0..START_ATTEMPTS {
            server.port = free_port();
            let options = format!(
                "-p {} -h 127.0.0.1 -k {} -c fsync=off -c max_connections=200",
                server.port,
                server.dir.path().display()
            );
            let out = server.run(
                server
                    .tool("pg_ctl")
                    .arg("-D")
                    .arg(&data)
                    .arg("-l")
                    .arg(server.dir.path().join("server.log"))
                    .args(["-w", "-t", "60", "-o", &options, "start"]),
            );
            if out.status.success() {
                return server;
            }
            last = format!(
                "{}{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(server.dir.path().join("server.log")).unwrap_or_default()
            );
        }
        panic!("PostgreSQL did not start in {START_ATTEMPTS} tries: {last}")
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{name}", self.port)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A server program, run as `postgres` when we are root.
    fn tool(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        if self.as_postgres_user {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(program);
            cmd
        } else {
            Command::new(program)
        }
    }

    fn run(&self, cmd: &mut Command) -> Output {
        cmd.output()
            .unwrap_or_else(|e| panic!("run {:?}: {e}", cmd.get_program()))
    }

    fn run_checked(&self, cmd: &mut Command) {
        let out = self.run(cmd);
        assert!(
            out.status.success(),
            "{:?} failed: {}{}",
            cmd,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let data = self.data_dir();
        // Nothing to report to from a drop; the folder goes next either way.
        let _ = self
            .tool("pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// `initdb`'s folder: from `PATH`, else the newest `/usr/lib/postgresql/*/bin`.
fn server_bin_dir() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
    });
    on_path.or_else(|| {
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| {
                let entry = e.ok()?;
                let version = entry.file_name().to_str()?.parse().ok()?;
                let bin = entry.path().join("bin");
                bin.join("initdb").is_file().then_some((version, bin))
            })
            .collect();
        versions.sort();
        versions.pop().map(|(_, bin)| bin)
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_is_reachable_and_private_to_its_test() {
        let a = postgres_database();
        let b = postgres_database();
        assert_ne!(a.url(), b.url());
        let one: i32 = a
            .connect()
            .query_one("SELECT 1", &[])
            .map(|r| r.get(0))
            .unwrap_or(0);
        assert_eq!(one, 1);
        assert!(a.url().contains(&format!(":{}/", a.server().port())));
    }
}
