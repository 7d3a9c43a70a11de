//! The API over real HTTP on 127.0.0.1, with the Python system's cluster
//! definitions and result artifact.
#![allow(clippy::unwrap_used)]

mod common;

use common::{answer, fixture_result_text, TestServer, BACKENDS, C17, C42, C43};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_openapi_answer_without_a_token_and_the_document_lists_every_endpoint() {
    for backend in BACKENDS {
        eprintln!("backend: {backend:?}");
        let server = TestServer::fixture(backend, &[("T-1", C17)], &[C17]).await;
        let (status, body) = answer(server.get("/v1/health", None)).await;
        assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
        let (status, doc) = answer(server.get("/v1/openapi.json", None)).await;
        assert_eq!(status, 200);
        assert_eq!(doc["openapi"], "3.1.0");
        // Every operation the document lists is served (no 404 or 405).
        let token = server.token(C17).to_string();
        let mut operations = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                let concrete = path.replace("{task_ref}", "T-1");
                let request = match method.as_str() {
                    "get" => server.get(&concrete, Some(&token)),
                    "post" => server.post(&concrete, Some(&token)),
                    other => panic!("method {other}"),
                };
                let (status, _) = answer(request).await;
                assert!(status != 404 && status != 405, "{method} {path}: {status}");
                operations.push(format!("{method} {path}"));
            }
        }
        assert_eq!(operations.len(), 9, "{operations:?}");
        let (status, body) = answer(server.get("/v1/nothing", Some(&token))).await;
        assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_or_an_unknown_token_is_401_on_every_steward_endpoint() {
    for backend in BACKENDS {
        eprintln!("backend: {backend:?}");
        let server = TestServer::fixture(backend, &[("T-1", C17)], &[C17]).await;
        let before = server.event_count();
        let gets = ["/v1/ledger/head", "/v1/tasks", "/v1/tasks/T-1"];
        let posts = ["accept", "decline", "start", "result"].map(|a| format!("/v1/tasks/T-1/{a}"));
        for token in [None, Some("not-a-token"), Some("")] {
            for path in gets {
                let (status, body) = answer(server.get(path, token)).await;
                assert_eq!(status, 401, "GET {path} {token:?}: {body}");
                assert!(matches!(
                    body["error"].as_str(),
                    Some("missing_token" | "invalid_token")
                ));
            }
            for path in &posts {
                let (status, _) = answer(server.post(path, token).body("{}")).await;
                assert_eq!(status, 401, "POST {path} {token:?}");
            }
        }
        assert_eq!(server.event_count(), before, "nothing written");
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_steward_accepts_starts_and_reports_the_real_result_artifact() {
    for backend in BACKENDS {
        eprintln!("backend: {backend:?}");
        let server = TestServer::fixture(backend, &[("T-1", C17), ("T-2", C42)], &[C17, C42]).await;
        let token = server.token(C17).to_string();
        let (status, list) = answer(
            server
                .client
                .get(format!("{}/v1/tasks", server.url))
                .header("authorization", format!("bearer {token}")),
        )
        .await;
        assert_eq!(status, 200, "the scheme is case-insensitive");
        let refs: Vec<&str> = list["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["task_ref"].as_str().unwrap())
            .collect();
        assert_eq!(refs, ["T-1"], "only the caller's cluster's tasks");
        assert_eq!(list["tasks"][0]["actions"], json!(["accept", "decline"]));

        let (status, task) = answer(server.get("/v1/tasks/T-1", Some(&token))).await;
        assert_eq!((status, task["state"].as_str()), (200, Some("routed")));

        for (act, after) in [("accept", "accepted"), ("start", "in_progress")] {
            let (status, report) =
                answer(server.post(&format!("/v1/tasks/T-1/{act}"), Some(&token))).await;
            assert_eq!(status, 200, "{act}: {report}");
            assert_eq!(report["after"], after);
            assert_eq!(
                report["events"][0]["actor"], "steward:steward-17",
                "the token's steward acts"
            );
        }
        let (status, report) = answer(
            server
                .post("/v1/tasks/T-1/result", Some(&token))
                .header("content-type", "application/json")
                .body(fixture_result_text()),
        )
        .await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["after"], "reported");
        assert_eq!(
            report["record"]["results"][0]["result_id"],
            "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
        );

        let (status, head) = answer(server.get("/v1/ledger/head", Some(&token))).await;
        assert_eq!(status, 200);
        assert_eq!(head["seq"].as_u64().unwrap() as usize, server.event_count());
        let verify = server.verify();
        assert!(verify.ok, "{verify:?}");
        assert_eq!(verify.head_hash, head["hash"].as_str().unwrap());
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_of_one_cluster_cannot_see_or_act_on_another_clusters_task() {
    for backend in BACKENDS {
        eprintln!("backend: {backend:?}");
        let server =
            TestServer::fixture(backend, &[("T-17", C17), ("T-42", C42)], &[C17, C42]).await;
        let token42 = server.token(C42).to_string();
        let before = server.event_count();
        // The same answer for another cluster's task and for no task at all.
        let mut bodies = Vec::new();
        for task in ["T-17", "T-none"] {
            let mut answers =
                vec![answer(server.get(&format!("/v1/tasks/{task}"), Some(&token42))).await];
            for act in ["accept", "decline", "start"] {
                answers.push(
                    answer(server.post(&format!("/v1/tasks/{task}/{act}"), Some(&token42))).await,
                );
            }
            let result = fixture_result_text()
                .replace(C17, C42)
                .replace("steward-17", "steward-42");
            answers.push(
                answer(
                    server
                        .post(&format!("/v1/tasks/{task}/result"), Some(&token42))
                        .body(result),
                )
                .await,
            );
            for (status, body) in &answers {
                assert_eq!(*status, 403, "{task}: {body}");
            }
            let normalised: Vec<String> = answers
                .iter()
                .map(|(_, b)| b.to_string().replace(task, "TASK"))
                .collect();
            bodies.push(normalised);
        }
        assert_eq!(bodies[0], bodies[1], "existence is not revealed");
        assert_eq!(server.event_count(), before, "nothing written");
        let (_, list) = answer(server.get("/v1/tasks", Some(&token42))).await;
        assert_eq!(list["tasks"].as_array().unwrap().len(), 1);
        assert_eq!(list["tasks"][0]["task_ref"], "T-42");
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_illegal_move_is_409_with_the_allowed_moves_and_writes_nothing() {
    for backend in BACKENDS {
        eprintln!("backend: {backend:?}");
        let server = TestServer::fixture(backend, &[("T-1", C17)], &[C17]).await;
        let token = server.token(C17).to_string();
        let before = server.event_count();
        let (status, body) = answer(server.post("/v1/tasks/T-1/start", Some(&token))).await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["error"], "illegal_transition");
        assert_eq!(body["state"], "routed");
        assert_eq!(
            body["allowed"],
            json!(["accepted", "declined", "nullified"])
        );
        assert_eq!(body["actions"], json!(["accept", "decline"]));
        // A result for a task never accepted: refused by the ledger's own rule.
        let (status, body) = answer(
            server
                .post("/v1/tasks/T-1/result", Some(&token))
                .body(fixture_result_text()),
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (409, Some("refused")),
            "{body}"
        );
        assert!(
            body["message"].as_str().unwrap().contains("never accepted"),
            "{body}"
        );
        assert_eq!(server.event_count(), before);
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_body_is_422_naming_the_json_path() {
    for backend in BACKENDS {
        eprintln!("backend: {backend:?}");
        let server = TestServer::fixture(backend, &[("T-1", C17)], &[C17]).await;
        let token = server.token(C17).to_string();
        for act in ["accept", "start"] {
            assert_eq!(
                answer(server.post(&format!("/v1/tasks/T-1/{act}"), Some(&token)))
                    .await
                    .0,
                200,
                "{act} with no body"
            );
        }
        let before = server.event_count();
        let mut wrong_type: Value = serde_json::from_str(&fixture_result_text()).unwrap();
        wrong_type["deliverables"][1]["name"] = json!(7);
        let mut missing: Value = serde_json::from_str(&fixture_result_text()).unwrap();
        missing.as_object_mut().unwrap().remove("result_id");
        let mut hostile: Value = serde_json::from_str(&fixture_result_text()).unwrap();
        hostile["result_id"] = json!("../../etc/passwd");
        let mut other_steward: Value = serde_json::from_str(&fixture_result_text()).unwrap();
        other_steward["steward_id"] = json!("steward-42");
        let cases: Vec<(&str, String, &str)> = vec![
            ("result", wrong_type.to_string(), "$.deliverables[1].name"),
            ("result", missing.to_string(), "$"),
            ("result", hostile.to_string(), "$.result_id"),
            ("result", other_steward.to_string(), "$.steward_id"),
            ("result", "{\"result_id\": ".to_string(), "$.result_id"),
            ("result", format!("{} trailing", fixture_result_text()), "$"),
            ("result", "[1, 2]".to_string(), "$"),
            ("decline", r#"{"reason": 5}"#.to_string(), "$.reason"),
            ("decline", r#"{"reasn": "typo"}"#.to_string(), "$.reasn"),
            ("start", r#"{"force": true}"#.to_string(), "$.force"),
        ];
        for (act, body, path) in cases {
            let (status, answer_body) = answer(
                server
                    .post(&format!("/v1/tasks/T-1/{act}"), Some(&token))
                    .body(body.clone()),
            )
            .await;
            assert_eq!(status, 422, "{act} {body}: {answer_body}");
            assert_eq!(answer_body["error"], "invalid_body");
            assert_eq!(answer_body["path"], path, "{act} {body}: {answer_body}");
        }
        assert_eq!(server.event_count(), before, "nothing written");
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_is_413() {
    for backend in BACKENDS {
        eprintln!("backend: {backend:?}");
        let server = TestServer::start(
            backend,
            common::fixture_clusters(),
            vec![common::request("T-1", C17)],
            &[C17],
            4096,
        )
        .await;
        let token = server.token(C17).to_string();
        let mut big: Value = serde_json::from_str(&fixture_result_text()).unwrap();
        big["notes"] = json!("x".repeat(5000));
        let (status, body) = answer(
            server
                .post("/v1/tasks/T-1/result", Some(&token))
                .body(big.to_string()),
        )
        .await;
        assert_eq!(status, 413, "{body}");
        assert_eq!(body["error"], "body_too_large");
        assert_eq!(body["limit"], 4096);
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decline_reroutes_and_the_next_eligible_cluster_takes_it_over() {
    for backend in BACKENDS {
        eprintln!("backend: {backend:?}");
        let server = TestServer::rerouting(backend).await;
        let (token42, token43) = (server.token(C42).to_string(), server.token(C43).to_string());
        assert_eq!(
            answer(server.get("/v1/tasks/T-1", Some(&token43))).await.0,
            403,
            "not 43's yet"
        );
        let (status, report) = answer(
            server
                .post("/v1/tasks/T-1/decline", Some(&token42))
                .body(r#"{"reason": "no capacity this week"}"#),
        )
        .await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["record"]["cluster_id"], C43, "{report}");
        assert_eq!(report["record"]["state"], "routed");
        assert_eq!(
            answer(server.get("/v1/tasks/T-1", Some(&token42))).await.0,
            403,
            "no longer 42's"
        );
        assert_eq!(
            answer(server.post("/v1/tasks/T-1/accept", Some(&token42)))
                .await
                .0,
            403
        );
        let (status, list) = answer(server.get("/v1/tasks", Some(&token43))).await;
        assert_eq!(status, 200);
        assert_eq!(list["tasks"][0]["task_ref"], "T-1");
        let (status, report) = answer(server.post("/v1/tasks/T-1/accept", Some(&token43))).await;
        assert_eq!(
            (status, report["after"].as_str()),
            (200, Some("accepted")),
            "{report}"
        );
        server.stop().await;
    }
}
