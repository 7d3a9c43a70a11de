//! Retries under an `Idempotency-Key`: the first answer again, nothing written.
#![allow(clippy::unwrap_used)]

mod common;

use common::{answer, fixture_result_text, TestServer, BACKENDS, C17, C42};

/// Status, whether the answer says it is a replay, and the body text.
async fn send(request: reqwest::RequestBuilder) -> (u16, bool, String) {
    let response = request.send().await.unwrap();
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true");
    (
        response.status().as_u16(),
        replayed,
        response.text().await.unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_write_answers_the_first_response_and_changes_nothing() {
    for backend in BACKENDS {
        eprintln!("backend: {backend:?}");
        let server = TestServer::fixture(backend, &[("T-1", C17)], &[C17]).await;
        let token = server.token(C17).to_string();
        let steps = [
            ("accept", String::new()),
            ("start", "{}".to_string()),
            ("result", fixture_result_text()),
        ];
        for (act, body) in steps {
            let path = format!("/v1/tasks/T-1/{act}");
            let key = format!("retry-{act}");
            let first = send(
                server
                    .post(&path, Some(&token))
                    .header("Idempotency-Key", &key)
                    .body(body.clone()),
            )
            .await;
            assert_eq!((first.0, first.1), (200, false), "{act}: {}", first.2);
            let events = server.event_count();
            for _ in 0..2 {
                let again = send(
                    server
                        .post(&path, Some(&token))
                        .header("Idempotency-Key", &key)
                        .body(body.clone()),
                )
                .await;
                assert_eq!((again.0, again.1), (200, true), "{act}: {}", again.2);
                assert_eq!(again.2, first.2, "{act}: the first response, byte for byte");
                assert_eq!(server.event_count(), events, "{act}: nothing written");
            }
        }
        let (_, task) = answer(server.get("/v1/tasks/T-1", Some(&token))).await;
        assert_eq!(
            task["results"].as_array().unwrap().len(),
            1,
            "reported once"
        );
        // Without a key a write is not idempotent: the second accept is refused.
        let (status, body) = answer(server.post("/v1/tasks/T-1/accept", Some(&token))).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (409, Some("illegal_transition"))
        );
        assert!(server.verify().ok);
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_reused_for_another_request_is_422_and_a_bad_key_too() {
    for backend in BACKENDS {
        eprintln!("backend: {backend:?}");
        let server = TestServer::fixture(backend, &[("T-1", C17), ("T-2", C17)], &[C17, C42]).await;
        let token = server.token(C17).to_string();
        let (status, _) = answer(
            server
                .post("/v1/tasks/T-1/accept", Some(&token))
                .header("Idempotency-Key", "k1"),
        )
        .await;
        assert_eq!(status, 200);
        let events = server.event_count();
        // Another task, another act, another body: all other requests.
        for (path, body) in [
            ("/v1/tasks/T-2/accept", ""),
            ("/v1/tasks/T-1/start", ""),
            ("/v1/tasks/T-1/accept", "{}"),
        ] {
            let (status, answer_body) = answer(
                server
                    .post(path, Some(&token))
                    .header("Idempotency-Key", "k1")
                    .body(body),
            )
            .await;
            assert_eq!(status, 422, "{path} {body:?}: {answer_body}");
            assert_eq!(answer_body["error"], "idempotency_key_reused");
            assert_eq!(answer_body["key"], "k1");
        }
        // Keys are the steward's own: another steward's k1 is another key.
        let token42 = server.token(C42).to_string();
        let (status, _) = answer(
            server
                .post("/v1/tasks/T-2/accept", Some(&token42))
                .header("Idempotency-Key", "k1"),
        )
        .await;
        assert_eq!(status, 403, "T-2 is 17's; 42's own k1 is unused");
        for bad in ["has space", "", &"k".repeat(201)] {
            let (status, body) = answer(
                server
                    .post("/v1/tasks/T-2/accept", Some(&token))
                    .header("Idempotency-Key", bad),
            )
            .await;
            assert_eq!(
                (status, body["error"].as_str()),
                (422, Some("invalid_idempotency_key")),
                "{bad:?}"
            );
        }
        assert_eq!(server.event_count(), events, "nothing written");
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_decline_answers_first_even_after_the_task_moved_to_another_cluster() {
    for backend in BACKENDS {
        eprintln!("backend: {backend:?}");
        let server = TestServer::rerouting(backend).await;
        let token42 = server.token(C42).to_string();
        let decline = || {
            server
                .post("/v1/tasks/T-1/decline", Some(&token42))
                .header("Idempotency-Key", "decline-1")
                .body(r#"{"reason":"no capacity"}"#)
        };
        let first = send(decline()).await;
        assert_eq!(first.0, 200, "{}", first.2);
        let events = server.event_count();
        let again = send(decline()).await;
        assert_eq!((again.0, again.1, &again.2), (200, true, &first.2));
        assert_eq!(server.event_count(), events);
        // A new request on the task, now 43's, is the usual 403.
        let (status, _) = answer(
            server
                .post("/v1/tasks/T-1/decline", Some(&token42))
                .header("Idempotency-Key", "decline-2"),
        )
        .await;
        assert_eq!(status, 403);
        server.stop().await;
    }
}
