//! TLS for real: a self-signed certificate made for the test, a handshake
//! over 127.0.0.1, and the listen rule.
#![allow(clippy::unwrap_used)]

mod common;

use archon_serve::{ListenOptions, Listening, ServeError, TlsFiles, DEFAULT_BODY_LIMIT};
use common::{fixture_clusters, off_runtime, request, Backend, C17};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_answers_over_tls_and_not_in_clear_text_on_the_same_port() {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let files = TlsFiles {
        cert: dir.path().join("cert.pem"),
        key: dir.path().join("key.pem"),
    };
    std::fs::write(&files.cert, certified.cert.pem()).unwrap();
    std::fs::write(&files.key, certified.signing_key.serialize_pem()).unwrap();

    let ledger = Backend::Sqlite.new_ledger(dir.path());
    let opened = off_runtime(|| {
        let mut l = archon_tasks::Ledger::open(&ledger.location)
            .unwrap()
            .with_clusters(fixture_clusters());
        l.create_activation(request("T-1", C17), &common::clock())
            .unwrap();
        l
    });
    let stewards_file = dir.path().join("stewards.json");
    let token = archon_serve::StewardsFile::add(
        &stewards_file,
        &fixture_clusters(),
        C17,
        "steward-17",
        "t",
    )
    .unwrap();
    let stewards = archon_serve::StewardsFile::load(&stewards_file).unwrap();
    let app = archon_serve::app(opened, stewards, common::clock(), DEFAULT_BODY_LIMIT);
    let options = ListenOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls: Some(files),
        insecure_http: false,
    };
    let listening = Listening::bind(&options).await.unwrap();
    let addr = listening.local_addr();
    assert!(listening.url().starts_with("https://"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(listening.serve(app, async {
        let _ = stopped.await;
    }));

    let client = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).unwrap(),
        )
        .resolve("localhost", addr)
        .build()
        .unwrap();
    let url = format!("https://localhost:{}", addr.port());
    let response = client
        .get(format!("{url}/v1/tasks"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let list: serde_json::Value = response.json().await.unwrap();
    assert_eq!(list["tasks"][0]["task_ref"], "T-1");
    // A client that does not trust the certificate gets no answer.
    assert!(reqwest::Client::new()
        .get(format!("{url}/v1/health"))
        .send()
        .await
        .is_err());
    // Clear text on the TLS port is no request.
    let plain = reqwest::Client::new()
        .get(format!("http://{addr}/v1/health"))
        .send()
        .await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());

    stop.send(()).unwrap();
    served.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_loopback_listen_needs_tls_or_insecure_http_and_a_bad_key_file_is_named() {
    let options = |listen: &str, tls: Option<TlsFiles>| ListenOptions {
        listen: listen.parse().unwrap(),
        tls,
        insecure_http: false,
    };
    let refused = Listening::bind(&options("0.0.0.0:0", None))
        .await
        .err()
        .unwrap();
    assert!(matches!(refused, ServeError::NeedsTls(_)), "{refused}");
    let dir = tempfile::tempdir().unwrap();
    let files = TlsFiles {
        cert: dir.path().join("missing-cert.pem"),
        key: dir.path().join("missing-key.pem"),
    };
    let err = Listening::bind(&options("127.0.0.1:0", Some(files)))
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("missing-cert.pem"), "{err}");
}
