//! The bounded load: stewards of as many clusters act at once against one
//! server, each on its own tasks (list, then accept, start and report each
//! task, half of the reports retried under their idempotency key, the other
//! half followed by a read of the task), then the ledger is checked: every
//! task reported exactly once, exactly the events those acts write, the
//! hash chain and the replay of the log equal to the stored projection.
//! Shared by `tests/load.rs` (small bound) and `examples/load.rs` (figures).

use std::time::{Duration, Instant};

use archon_tasks::{ClusterRegistry, TaskState};
use serde_json::{json, Value};

use super::{request, Backend, TestServer};

/// Events one task's accept (3), start (3) and report (4) write.
const EVENTS_PER_TASK: usize = 10;

pub struct LoadPlan {
    pub stewards: usize,
    pub tasks_per_steward: usize,
}

impl LoadPlan {
    /// Requests each steward sends: a list, four per task, a final head.
    pub fn operations_per_steward(&self) -> usize {
        2 + 4 * self.tasks_per_steward
    }
}

pub struct LoadFigures {
    pub requests: usize,
    pub elapsed: Duration,
    /// Every request's latency, sorted.
    pub latencies: Vec<Duration>,
    pub events: usize,
}

impl LoadFigures {
    pub fn percentile(&self, p: f64) -> Duration {
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        self.latencies[rank.saturating_sub(1).min(self.latencies.len() - 1)]
    }

    pub fn throughput(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
}

/// `count` clusters made from the bundled cluster 42's definition, each
/// with its own id and steward, all with the same capabilities.
pub fn load_clusters(count: usize) -> ClusterRegistry {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/clusters/cluster-42-backend.json"
    ))
    .expect("bundled cluster 42");
    let template: Value = serde_json::from_str(&text).expect("cluster JSON");
    let sources = (0..count).map(|i| {
        let mut cluster = template.clone();
        cluster["cluster_id"] = json!(cluster_id(i));
        cluster["name"] = json!(format!("Load cluster {i}"));
        cluster["steward"]["steward_id"] = json!(format!("steward-load-{i:02}"));
        (format!("load cluster {i}"), cluster.to_string())
    });
    ClusterRegistry::from_sources(sources).expect("load clusters")
}

fn cluster_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

fn task_ref(steward: usize, task: usize) -> String {
    format!("LOAD-{steward:02}-{task:03}")
}

/// Starts a server over a new ledger with the plan's clusters, tasks and stewards.
pub async fn start(plan: &LoadPlan, backend: Backend) -> TestServer {
    let requests = (0..plan.stewards)
        .flat_map(|s| {
            (0..plan.tasks_per_steward).map(move |t| request(&task_ref(s, t), &cluster_id(s)))
        })
        .collect();
    let clusters: Vec<String> = (0..plan.stewards).map(cluster_id).collect();
    let cluster_refs: Vec<&str> = clusters.iter().map(String::as_str).collect();
    TestServer::start(
        backend,
        load_clusters(plan.stewards),
        requests,
        &cluster_refs,
        archon_serve::DEFAULT_BODY_LIMIT,
    )
    .await
}

/// Runs the plan against `server` and checks the ledger after it.
pub async fn run(plan: &LoadPlan, server: &TestServer) -> LoadFigures {
    let events_before = server.event_count();
    let started = Instant::now();
    let stewards = (0..plan.stewards).map(|s| {
        let token = server.token(&cluster_id(s)).to_string();
        let url = server.url.clone();
        let tasks = plan.tasks_per_steward;
        tokio::spawn(async move { steward(s, tasks, &url, &token).await })
    });
    let mut latencies = Vec::new();
    for handle in stewards.collect::<Vec<_>>() {
        latencies.extend(handle.await.expect("steward task"));
    }
    let elapsed = started.elapsed();
    latencies.sort();
    assert_eq!(
        latencies.len(),
        plan.stewards * plan.operations_per_steward()
    );
    let figures = LoadFigures {
        requests: latencies.len(),
        elapsed,
        latencies,
        events: server.event_count() - events_before,
    };
    check_ledger(plan, server, figures.events);
    figures
}

/// One steward's requests, in order; returns their latencies.
async fn steward(s: usize, tasks: usize, url: &str, token: &str) -> Vec<Duration> {
    let client = reqwest::Client::new();
    let mut latencies = Vec::new();
    let mut send = async |method: &str, path: &str, key: Option<String>, body: String| {
        let mut request = match method {
            "GET" => client.get(format!("{url}{path}")),
            _ => client.post(format!("{url}{path}")),
        }
        .bearer_auth(token)
        .body(body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let sent = Instant::now();
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let replayed = response.headers().contains_key("idempotent-replayed");
        let text = response.text().await.expect("body");
        latencies.push(sent.elapsed());
        assert_eq!(status, 200, "{method} {path}: {text}");
        (
            replayed,
            serde_json::from_str::<Value>(&text).expect("JSON answer"),
        )
    };
    let (_, list) = send("GET", "/v1/tasks", None, String::new()).await;
    assert_eq!(
        list["tasks"].as_array().expect("tasks").len(),
        tasks,
        "steward {s} sees its own tasks only"
    );
    for t in 0..tasks {
        let task = task_ref(s, t);
        for act in ["accept", "start"] {
            let key = Some(format!("{task}-{act}"));
            let (replayed, _) = send(
                "POST",
                &format!("/v1/tasks/{task}/{act}"),
                key,
                String::new(),
            )
            .await;
            assert!(!replayed);
        }
        let result = json!({
            "result_id": format!("result-{task}"),
            "cluster_id": cluster_id(s),
            "steward_id": format!("steward-load-{s:02}"),
            "status": "completed",
            "submitted_at": "2026-01-18T10:00:00Z",
            "completion_summary": "done under load",
            "deliverables": [{"name": "report.md", "format": "document"}],
            "acceptance_test_results": [{"test": "reviewed", "passed": true}]
        })
        .to_string();
        let path = format!("/v1/tasks/{task}/result");
        let key = format!("{task}-result");
        let (replayed, first) = send("POST", &path, Some(key.clone()), result.clone()).await;
        assert!(!replayed);
        if t % 2 == 0 {
            // The connection "dropped": the steward sends the same report again.
            let (replayed, again) = send("POST", &path, Some(key), result).await;
            assert!(replayed, "{task}: a retry is a replay");
            assert_eq!(again, first);
        } else {
            let (_, record) = send("GET", &format!("/v1/tasks/{task}"), None, String::new()).await;
            assert_eq!(record["state"], "reported");
        }
    }
    send("GET", "/v1/ledger/head", None, String::new()).await;
    latencies
}

/// Nothing lost, nothing duplicated, the chain and the projection sound.
fn check_ledger(plan: &LoadPlan, server: &TestServer, events_written: usize) {
    let total = plan.stewards * plan.tasks_per_steward;
    assert_eq!(
        events_written,
        EVENTS_PER_TASK * total,
        "exactly the events of the acts"
    );
    let (tasks, events) = server.with_ledger(|ledger| {
        (
            ledger.tasks().expect("tasks"),
            ledger.events().expect("events"),
        )
    });
    assert_eq!(tasks.len(), total);
    for task in &tasks {
        assert_eq!(task.state, TaskState::Reported, "{}", task.task_ref);
        let ids: Vec<&str> = task.results.iter().map(|r| r.result_id.as_str()).collect();
        assert_eq!(ids, [format!("result-{}", task.task_ref)], "reported once");
    }
    let replayed = archon_tasks::replay(&events).expect("replay");
    assert_eq!(
        replayed.into_values().collect::<Vec<_>>(),
        tasks,
        "replay equals the projection"
    );
    let verify = server.verify();
    assert!(verify.ok, "{verify:?}");
}
