//! `/health`, `/ready` and `/metrics`.

use serde_json::{json, Value};

use crate::backend_test;
use crate::support::{Backend, TestApp};

backend_test! {
    async fn health_and_ready_answer(backend: Backend) {
        let app = TestApp::start(backend).await;
        let health: Value = app.http().get(app.url("/health")).send().await.unwrap().json().await.unwrap();
        assert_eq!(health["status"], "ok");
        assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));
        assert!(health["uptimeSeconds"].is_u64());
        let ready = app.http().get(app.url("/ready")).send().await.unwrap();
        assert_eq!(ready.status(), 200);
        let ready: Value = ready.json().await.unwrap();
        assert_eq!(ready, json!({ "status": "ready", "database": "ok", "events": "ok" }));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_turns_503_when_the_database_is_unreachable() {
    if crate::support::postgres_url().is_none() {
        eprintln!("TEST_DATABASE_URL is not set; database outage test not run");
        return;
    }
    let app = TestApp::start(Backend::Postgres).await;
    assert_eq!(
        app.http()
            .get(app.url("/ready"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.database.drop_now().await;
    let response = app.http().get(app.url("/ready")).send().await.unwrap();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_ne!(body["database"], "ok");
    // Liveness is unaffected, and GraphQL answers with a coded error, not a crash.
    assert_eq!(
        app.http()
            .get(app.url("/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let reply = app
        .graphql(
            None,
            "mutation { login(input: {login: \"a\", password: \"b\"}) { accessToken } }",
            json!({}),
        )
        .await;
    assert_eq!(reply.code(), "INTERNAL");
    assert_eq!(reply.0["errors"][0]["message"], "internal error");
}

backend_test! {
    async fn metrics_count_requests_operations_and_sockets(backend: Backend) {
        let app = TestApp::start(backend).await;
        app.register("root").await;
        app.graphql(None, "{ me { id } }", json!({})).await;
        let text = app.http().get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        for expected in [
            "tidewatch_http_requests_total{route=\"/graphql\",status=\"200\"}",
            "tidewatch_http_request_duration_seconds_bucket{route=\"/graphql\"",
            "tidewatch_graphql_operations_total{operation=\"mutation.register\",outcome=\"ok\"} 1",
            "tidewatch_graphql_operations_total{operation=\"query.me\",outcome=\"error\"} 1",
            "tidewatch_graphql_operation_duration_seconds_bucket{operation=\"query.me\"",
            "tidewatch_db_pool_connections{state=\"idle\"}",
            "tidewatch_db_pool_connections{state=\"in_use\"}",
            "tidewatch_websocket_connections 0",
        ] {
            assert!(text.contains(expected), "missing {expected} in\n{text}");
        }
    }
}
