//! `/metrics` beyond requests: the process, the build, and what the node did
//! (runs, case results, task fires, probes), each after the matching action.

use serde_json::json;

use crate::backend_test;
use crate::servers::create_server;
use crate::support::client::http_case;
use crate::support::target::TargetServer;
use crate::support::{wait, Backend, TestApp};

/// The Prometheus text once it contains every one of `lines`.
async fn metrics_showing(app: &TestApp, lines: &[&str]) -> String {
    wait::until(&format!("/metrics showing {lines:?}"), || async {
        let text = app
            .http()
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if lines.iter().all(|line| text.contains(line)) {
            Ok(text)
        } else {
            Err(text)
        }
    })
    .await
}

backend_test! {
    async fn metrics_show_the_process_the_build_and_the_work_done(backend: Backend) {
        let app = TestApp::builder(backend)
            .config(|config| {
                config.monitor.monitor_enabled = true;
                config.monitor.monitor_tick_ms = 100;
                config.monitor.min_probe_interval = 1;
            })
            .start()
            .await;
        let text = metrics_showing(&app, &[]).await;
        for family in ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds"] {
            assert!(text.contains(family), "missing {family}");
        }
        assert!(text.contains(&format!("tidewatch_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"))));

        let owner = app.register("root").await;
        let token = owner.access_token.as_str();
        let project = app.create_project(token, "Metrics").await;
        let target = TargetServer::start().await;
        app.create_case(token, http_case(&project, "ok", &target.url("/json"))).await.ok();
        app.graphql(Some(token), "mutation($input: StartRunInput!) { startRun(input: $input) { run { id } } }",
            json!({ "input": { "projectId": project } })).await.ok();
        metrics_showing(&app, &[
            "tidewatch_runs_finished_total{status=\"PASSED\"} 1",
            "tidewatch_case_results_total{status=\"PASSED\"} 1",
        ]).await;

        let task = app.graphql(Some(token), "mutation($input: CreateTaskInput!) { createTask(input: $input) { id } }",
            json!({ "input": { "projectId": project, "name": "purge", "schedule": { "cron": "0 0 3 * * *" },
                "action": { "purge": { "olderThanDays": 3650, "targets": ["LOGS"] } } } })).await.ok();
        app.graphql(Some(token), "mutation($id: ID!) { runTaskNow(id: $id) { outcome } }",
            json!({ "id": task.data("createTask.id") })).await.ok();
        metrics_showing(&app, &["tidewatch_task_fires_total{outcome=\"STARTED\"} 1"]).await;

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open = listener.local_addr().unwrap().to_string();
        create_server(&app, &owner, &project, json!({ "kind": "TCP", "name": "open port", "address": open, "probeIntervalSecs": 1 })).await;
        metrics_showing(&app, &["tidewatch_probes_total{result=\"up\"}"]).await;
    }
}
