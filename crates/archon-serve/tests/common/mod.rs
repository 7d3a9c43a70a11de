//! A real server on 127.0.0.1:0 over a temp ledger, for the API tests and
//! the load driver.
#![allow(dead_code)]

pub mod load;

use std::collections::BTreeMap;
use std::path::PathBuf;

use archon_core::clock::Clock;
use archon_serve::{ListenOptions, Listening, ServeError, StewardsFile, DEFAULT_BODY_LIMIT};
use archon_tasks::io::load_cluster_dir;
use archon_tasks::{ActivationRequest, ClusterRegistry, Ledger, Sensitivity};
use archon_testkit::PgDatabase;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Where the ledger of a test server lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The API must behave the same on both.
pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

/// A new, empty ledger: its location (a file in `dir` or a database on the
/// test binary's private PostgreSQL, which `database` keeps alive).
pub struct NewLedger {
    pub location: String,
    pub database: Option<PgDatabase>,
}

impl Backend {
    pub fn new_ledger(self, dir: &std::path::Path) -> NewLedger {
        match self {
            Backend::Sqlite => NewLedger {
                location: dir.join("governance.db").display().to_string(),
                database: None,
            },
            Backend::Postgres => {
                let database = off_runtime(archon_testkit::postgres_database);
                NewLedger {
                    location: database.url().to_string(),
                    database: Some(database),
                }
            }
        }
    }
}

/// Runs synchronous ledger work on a thread of its own: the PostgreSQL
/// client blocks on a runtime of its own, which tokio refuses inside a task.
pub fn off_runtime<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(work).join().expect("ledger thread"))
}

/// The real cluster definitions of the Python system.
pub fn fixture_clusters_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/archon72/docs/governance/examples"
    ))
}

pub fn fixture_clusters() -> ClusterRegistry {
    load_cluster_dir(&fixture_clusters_dir()).expect("fixture clusters")
}

pub fn fixture_result_text() -> String {
    std::fs::read_to_string(fixture_clusters_dir().join("task-result-example.json"))
        .expect("fixture result")
}

pub const C17: &str = "9c5f8a55-06f2-4f2b-bd95-0d2b9d14b0c4";
pub const C42: &str = "a1b2c3d4-4201-4a01-b001-000000000042";
pub const C43: &str = "b2c3d4e5-4301-4b01-c001-000000000043";
pub const C44: &str = "c3d4e5f6-4401-4c01-d001-000000000044";

pub fn clock() -> Clock {
    Clock::fixed_from_rfc3339("2026-01-18T10:00:00Z").expect("clock")
}

/// A request preferring `cluster_id`; without capability tags the preferred
/// cluster's tags are required, so it is routed there.
pub fn request(task_ref: &str, cluster_id: &str) -> ActivationRequest {
    ActivationRequest {
        task_ref: task_ref.to_string(),
        earl_id: "earl-raum".to_string(),
        cluster_id: cluster_id.to_string(),
        description: format!("Review the event schema ({task_ref})"),
        requirements: vec!["Addresses FR-TECH-001".to_string()],
        expected_outcomes: vec!["Schema reviewed and accepted".to_string()],
        sensitivity: Sensitivity::Standard,
        ttl_hours: 72,
        provenance: serde_json::json!({ "parent_tactic_id": "T-GUSI-001" }),
    }
}

pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub url: String,
    /// Bearer token by cluster id.
    pub tokens: BTreeMap<String, String>,
    pub client: reqwest::Client,
    /// The ledger's file path or URL.
    pub ledger_at: String,
    _database: Option<PgDatabase>,
    stop: Option<oneshot::Sender<()>>,
    served: Option<JoinHandle<Result<(), ServeError>>>,
}

impl TestServer {
    /// A ledger with `tasks` (task_ref, preferred cluster) activated, a
    /// steward token for each of `stewards` (cluster ids), served on loopback.
    pub async fn start(
        backend: Backend,
        clusters: ClusterRegistry,
        requests: Vec<ActivationRequest>,
        stewards: &[&str],
        body_limit: usize,
    ) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let ledger = backend.new_ledger(dir.path());
        let routing = clusters.clone();
        let opened = off_runtime(|| {
            let mut opened = Ledger::open(&ledger.location)
                .expect("ledger")
                .with_clusters(routing);
            for request in requests {
                let r = opened
                    .create_activation(request, &clock())
                    .expect("activate");
                assert_eq!(r.state, archon_tasks::TaskState::Routed, "{}", r.message);
            }
            opened
        });
        let stewards_path = dir.path().join("stewards.json");
        let mut tokens = BTreeMap::new();
        for cluster in stewards {
            let steward = clusters
                .get(cluster)
                .expect("cluster")
                .steward
                .steward_id
                .clone();
            let token = StewardsFile::add(
                &stewards_path,
                &clusters,
                cluster,
                &steward,
                "2026-01-18T09:00:00Z",
            )
            .expect("add steward");
            tokens.insert(cluster.to_string(), token);
        }
        let stewards = StewardsFile::load(&stewards_path).expect("stewards");
        let app = archon_serve::app(opened, stewards, clock(), body_limit);
        let options = ListenOptions {
            listen: "127.0.0.1:0".parse().expect("addr"),
            tls: None,
            insecure_http: false,
        };
        let listening = Listening::bind(&options).await.expect("bind");
        let url = listening.url();
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(listening.serve(app, async {
            let _ = stopped.await;
        }));
        TestServer {
            dir,
            url,
            tokens,
            client: reqwest::Client::new(),
            ledger_at: ledger.location,
            _database: ledger.database,
            stop: Some(stop),
            served: Some(served),
        }
    }

    /// The fixture clusters, each task routed to its preferred cluster.
    pub async fn fixture(
        backend: Backend,
        tasks: &[(&str, &str)],
        stewards: &[&str],
    ) -> TestServer {
        let requests = tasks.iter().map(|(t, c)| request(t, c)).collect();
        TestServer::start(
            backend,
            fixture_clusters(),
            requests,
            stewards,
            DEFAULT_BODY_LIMIT,
        )
        .await
    }

    /// Task T-1 routed to 42, which shares the task's tags with 43 (where a
    /// decline reroutes it); stewards of 42 and 43.
    pub async fn rerouting(backend: Backend) -> TestServer {
        let mut request = request("T-1", C42);
        request.provenance =
            serde_json::json!({ "capability_tags": ["dev_backend", "data_engineering"] });
        TestServer::start(
            backend,
            fixture_clusters(),
            vec![request],
            &[C42, C43],
            DEFAULT_BODY_LIMIT,
        )
        .await
    }

    /// How many events the served ledger holds (read through another connection).
    pub fn event_count(&self) -> usize {
        self.with_ledger(|ledger| ledger.events().expect("events").len())
    }

    /// Reads the served ledger through another connection.
    pub fn with_ledger<T: Send>(&self, read: impl FnOnce(&Ledger) -> T + Send) -> T {
        off_runtime(|| read(&Ledger::open_read_only(&self.ledger_at).expect("read ledger")))
    }

    /// `archon verify`'s check of the served ledger.
    pub fn verify(&self) -> archon_tasks::VerifyReport {
        off_runtime(|| archon_tasks::verify_ledger(&self.ledger_at).expect("verify"))
    }

    pub fn token(&self, cluster: &str) -> &str {
        &self.tokens[cluster]
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let r = self.client.get(format!("{}{path}", self.url));
        match token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    pub fn post(&self, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let r = self.client.post(format!("{}{path}", self.url));
        match token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    /// Stops the server and waits until it has.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            served.await.expect("server task").expect("server ran");
        }
    }
}

/// Status and JSON body of a response.
pub async fn answer(response: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
    let response = response.send().await.expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, body)
}
