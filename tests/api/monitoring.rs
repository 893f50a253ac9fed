//! The monitor: this node's host metrics live, probes and status changes,
//! alerts from PENDING to RESOLVED with notifications, the dashboard.

use serde_json::{json, Value};

use crate::backend_test;
use crate::servers::create_server;
use crate::support::websocket::Protocol;
use crate::support::{wait, Backend, TestApp};

/// A node whose monitor runs fast.
async fn monitored(backend: Backend) -> TestApp {
    TestApp::builder(backend)
        .config(|config| {
            config.monitor.monitor_enabled = true;
            config.monitor.host_sample_ms = 300;
            config.monitor.monitor_tick_ms = 100;
            config.monitor.min_probe_interval = 1;
            config.monitor.probe_timeout_ms = 2_000;
        })
        .start()
        .await
}

/// Polls `query` until `done` holds for its reply.
async fn eventually(
    app: &TestApp,
    token: &str,
    query: &str,
    variables: Value,
    done: impl Fn(&Value) -> bool,
) -> Value {
    wait::until(query, || async {
        let reply = app
            .graphql(Some(token), query, variables.clone())
            .await
            .ok();
        if done(&reply.0) {
            Ok(reply.0)
        } else {
            Err(reply.0)
        }
    })
    .await
}

backend_test! {
    async fn this_node_reports_its_host_metrics_live_and_as_history(backend: Backend) {
        let app = monitored(backend).await;
        let ada = app.register("ada").await;
        let project = app.create_project(&ada.access_token, "Ops").await;
        let listed = eventually(&app, &ada.access_token,
            "query($p: ID!) { servers(projectId: $p, kind: HOST) { nodes { id builtIn status } } }", json!({ "p": project }),
            |reply| reply["data"]["servers"]["nodes"].as_array().is_some_and(|s| !s.is_empty())).await;
        let server = listed["data"]["servers"]["nodes"][0]["id"].as_str().unwrap().to_owned();
        assert_eq!(listed["data"]["servers"]["nodes"][0]["builtIn"], true);

        let mut socket = app.subscribed_socket(Protocol::TransportWs, json!({ "token": ada.access_token })).await;
        socket.subscribe("1", &format!("subscription {{ serverMetrics(serverId: \"{server}\") {{ metric value at }} }}")).await;
        let mut seen = Vec::new();
        while !seen.iter().any(|m| m == "memory_percent") {
            let payload = socket.next_payload().await;
            seen.push(payload["data"]["serverMetrics"]["metric"].as_str().unwrap().to_owned());
        }

        let history = eventually(&app, &ada.access_token,
            "query($id: ID!) { server(id: $id) { metrics(metric: \"memory_percent\", range: { last: LAST_24H }) { avg min max count } } }",
            json!({ "id": server }),
            |reply| reply["data"]["server"]["metrics"].as_array().is_some_and(|b| !b.is_empty())).await;
        let bucket = &history["data"]["server"]["metrics"][0];
        assert!(bucket["max"].as_f64().unwrap() <= 100.0 && bucket["min"].as_f64().unwrap() > 0.0, "{bucket}");
    }
}

backend_test! {
    async fn probes_record_up_latency_and_status_changes(backend: Backend) {
        let app = monitored(backend).await;
        let ada = app.register("ada").await;
        let project = app.create_project(&ada.access_token, "Ops").await;
        let mut socket = app.subscribed_socket(Protocol::TransportWs, json!({ "token": ada.access_token })).await;
        socket.subscribe("1", &format!("subscription {{ serverStatus(projectId: \"{project}\") {{ serverId name status message }} }}")).await;
        app.subscribed_to(&tidewatch::monitoring::monitor::status_topic(&project), 1).await;

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open = listener.local_addr().unwrap().to_string();
        let up = create_server(&app, &ada, &project, json!({ "kind": "TCP", "name": "open port", "address": open, "probeIntervalSecs": 1 })).await;
        let payload = socket.next_payload().await;
        assert_eq!(payload["data"]["serverStatus"]["serverId"], json!(up), "{payload}");
        assert_eq!(payload["data"]["serverStatus"]["status"], "UP");

        drop(listener);
        let payload = socket.next_payload().await;
        assert_eq!(payload["data"]["serverStatus"]["status"], "DOWN", "{payload}");

        let reply = app
            .graphql(Some(&ada.access_token), "query($id: ID!) { server(id: $id) { status statusChangedAt
                up: metrics(metric: \"up\", range: { last: LAST_1H }, step: 10) { min max }
                latency: metrics(metric: \"latency_ms\", range: { last: LAST_1H }) { count } } }", json!({ "id": up }))
            .await
            .ok();
        assert_eq!(reply.data("server.status"), "DOWN");
        let up_buckets = reply.data("server.up").as_array().unwrap();
        assert!(up_buckets.iter().any(|b| b["max"] == 1.0) && up_buckets.iter().any(|b| b["min"] == 0.0), "{}", reply.0);
        assert!(!reply.data("server.latency").as_array().unwrap().is_empty());
    }
}

backend_test! {
    async fn alerts_fire_notify_and_resolve(backend: Backend) {
        let app = monitored(backend).await;
        let ada = app.register("ada").await;
        let project = app.create_project(&ada.access_token, "Ops").await;
        let server = create_server(&app, &ada, &project, json!({ "kind": "HOST", "name": "worker", "address": "localhost", "tags": ["workers"] })).await;
        let token = app
            .graphql(Some(&ada.access_token), "mutation($id: ID!) { createAgentToken(input: { id: $id }) { token } }", json!({ "id": server }))
            .await
            .ok()
            .data("createAgentToken.token")
            .as_str()
            .unwrap()
            .to_owned();
        let create_rule = "mutation($input: CreateAlertRuleInput!) { createAlertRule(input: $input) { alertRule { id metric comparison severity } } }";
        let unknown = app
            .graphql(Some(&ada.access_token), create_rule, json!({ "input": { "projectId": project, "name": "x",
                "metric": "no_such_metric", "tag": "workers", "comparison": "GT", "threshold": 1 } }))
            .await;
        assert_eq!(unknown.code(), "BAD_USER_INPUT");
        assert_eq!(unknown.extension("field"), "metric");
        app.graphql(Some(&ada.access_token), create_rule, json!({ "input": { "projectId": project, "name": "hot cpu",
                "metric": "cpu_percent", "tag": "workers", "comparison": "GT", "threshold": 90, "forSecs": 1, "severity": "CRITICAL" } }))
            .await
            .ok();

        let mut socket = app.subscribed_socket(Protocol::TransportWs, json!({ "token": ada.access_token })).await;
        socket.subscribe("a", &format!("subscription {{ alerts(projectId: \"{project}\") {{ id state value firedAt resolvedAt }} }}")).await;
        app.subscribed_to(&tidewatch::monitoring::alerts::state::alerts_topic(&project), 1).await;

        let report = "mutation($input: ReportMetricsInput!) { reportMetrics(input: $input) { accepted } }";
        app.graphql(Some(&token), report, json!({ "input": { "serverId": server, "samples": [{ "metric": "cpu_percent", "value": 97.5 }] } }))
            .await
            .ok();
        let pending = socket.next_payload().await;
        assert_eq!(pending["data"]["alerts"]["state"], "PENDING", "{pending}");
        let firing = socket.next_payload().await;
        assert_eq!(firing["data"]["alerts"]["state"], "FIRING", "{firing}");
        assert!(!firing["data"]["alerts"]["firedAt"].is_null());

        let dashboard = app
            .graphql(Some(&ada.access_token), "query($p: ID!) { dashboard(projectId: $p) { serversUp serversDown serversUnknown
                firingAlerts { state value } recentActivity { action } } }", json!({ "p": project }))
            .await
            .ok();
        assert_eq!(dashboard.data("dashboard.firingAlerts.0.value"), 97.5);
        assert!(dashboard.0.to_string().contains("alert_rule.create"));

        app.graphql(Some(&token), report, json!({ "input": { "serverId": server, "samples": [{ "metric": "cpu_percent", "value": 12.0 }] } }))
            .await
            .ok();
        let resolved = socket.next_payload().await;
        assert_eq!(resolved["data"]["alerts"]["state"], "RESOLVED", "{resolved}");
        assert_eq!(resolved["data"]["alerts"]["id"], firing["data"]["alerts"]["id"]);

        let notifications = app
            .graphql(Some(&ada.access_token), "{ notifications { nodes { kind message } } }", json!({}))
            .await
            .ok();
        let kinds: Vec<&str> = notifications.data("notifications.nodes").as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["ALERT_RESOLVED", "ALERT_FIRING"]);

        // While silenced, a new episode is stored and streamed but notifies nobody.
        let ends_at = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
        app.graphql(Some(&ada.access_token), "mutation($input: CreateSilenceInput!) { createSilence(input: $input) { silence { id endsAt } } }",
            json!({ "input": { "projectId": project, "serverId": server, "reason": "maintenance", "endsAt": ends_at } }))
            .await
            .ok();
        app.graphql(Some(&token), report, json!({ "input": { "serverId": server, "samples": [{ "metric": "cpu_percent", "value": 99.0 }] } }))
            .await
            .ok();
        assert_eq!(socket.next_payload().await["data"]["alerts"]["state"], "PENDING");
        assert_eq!(socket.next_payload().await["data"]["alerts"]["state"], "FIRING");
        let notifications = app.graphql(Some(&ada.access_token), "{ notifications { totalCount } }", json!({})).await.ok();
        assert_eq!(notifications.data("notifications.totalCount"), 2);
    }
}

backend_test! {
    async fn large_batches_add_up_in_both_rollup_tiers(backend: Backend) {
        let app = TestApp::start(backend).await;
        let ada = app.register("ada").await;
        let project = app.create_project(&ada.access_token, "Ops").await;
        let server = create_server(&app, &ada, &project, json!({ "kind": "HOST", "name": "worker", "address": "localhost" })).await;
        let token = app
            .graphql(Some(&ada.access_token), "mutation($id: ID!) { createAgentToken(input: { id: $id }) { token } }", json!({ "id": server }))
            .await
            .ok()
            .data("createAgentToken.token")
            .as_str()
            .unwrap()
            .to_owned();
        let hour_ms = 3_600_000;
        let base_ms = (chrono::Utc::now().timestamp_millis() - 3 * hour_ms) / hour_ms * hour_ms;
        let at = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).unwrap().to_rfc3339();
        // One sample a second for 5,000 s (more rows than one SQLite statement takes), values 0..9.
        let first: Vec<Value> = (0..5_000).map(|i| json!({ "metric": "cpu_percent", "value": i % 10, "at": at(base_ms + i * 1000) })).collect();
        // Then 100 a second, half a second later, over the first 10 minutes: added to the same buckets.
        let second: Vec<Value> = (0..600).map(|i| json!({ "metric": "cpu_percent", "value": 100, "at": at(base_ms + i * 1000 + 500) })).collect();
        let report = "mutation($input: ReportMetricsInput!) { reportMetrics(input: $input) { accepted } }";
        for (samples, count) in [(first, 5_000), (second, 600)] {
            let reply = app.graphql(Some(&token), report, json!({ "input": { "serverId": server, "samples": samples } })).await.ok();
            assert_eq!(reply.data("reportMetrics.accepted"), count);
        }

        let history = "query($id: ID!, $from: DateTime!, $to: DateTime!, $step: Int!) { server(id: $id) {
            metrics(metric: \"cpu_percent\", range: { between: { from: $from, to: $to } }, step: $step) { count avg min max } } }";
        let minutes = app
            .graphql(Some(&ada.access_token), history, json!({ "id": server, "from": at(base_ms), "to": at(base_ms + 600_000), "step": 60 }))
            .await
            .ok();
        let expected_minute = json!({ "count": 120, "avg": 52.25, "min": 0.0, "max": 100.0 });
        assert_eq!(minutes.data("server.metrics"), &json!(vec![expected_minute; 10]));
        let hours = app
            .graphql(Some(&ada.access_token), history, json!({ "id": server, "from": at(base_ms), "to": at(base_ms + 2 * hour_ms), "step": 3600 }))
            .await
            .ok();
        let buckets = hours.data("server.metrics").as_array().unwrap();
        let counts: Vec<i64> = buckets.iter().map(|b| b["count"].as_i64().unwrap()).collect();
        assert_eq!(counts, [4_200, 1_400]);
        assert_eq!((buckets[0]["min"].as_f64(), buckets[0]["max"].as_f64()), (Some(0.0), Some(100.0)));
    }
}

backend_test! {
    async fn buckets_start_on_multiples_of_the_step_in_every_tier(backend: Backend) {
        let app = TestApp::start(backend).await;
        let ada = app.register("ada").await;
        let project = app.create_project(&ada.access_token, "Ops").await;
        let server = create_server(&app, &ada, &project, json!({ "kind": "HOST", "name": "worker", "address": "localhost" })).await;
        let token = app
            .graphql(Some(&ada.access_token), "mutation($id: ID!) { createAgentToken(input: { id: $id }) { token } }", json!({ "id": server }))
            .await
            .ok()
            .data("createAgentToken.token")
            .as_str()
            .unwrap()
            .to_owned();
        // An hour that is not a multiple of two hours, 5 to 7 hours ago.
        let hour_ms = 3_600_000;
        let base_ms = (chrono::Utc::now().timestamp_millis() - 7 * hour_ms) / (2 * hour_ms) * (2 * hour_ms) + hour_ms;
        let at = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).unwrap().to_rfc3339();
        // One sample every 10 s for two hours.
        let samples: Vec<Value> = (0..720).map(|i| json!({ "metric": "cpu_percent", "value": 1.0, "at": at(base_ms + i * 10_000) })).collect();
        app.graphql(Some(&token), "mutation($input: ReportMetricsInput!) { reportMetrics(input: $input) { accepted } }",
            json!({ "input": { "serverId": server, "samples": samples } }))
            .await
            .ok();

        let history = "query($id: ID!, $from: DateTime!, $to: DateTime!, $step: Int!) { server(id: $id) {
            metrics(metric: \"cpu_percent\", range: { between: { from: $from, to: $to } }, step: $step) { at count } } }";
        // (step, range start, range end, first bucket, samples in the first and in a full bucket);
        // raw samples for 30 s, the 1-minute tier for 300 s, the 1-hour tier for 7200 s.
        for (step, from_ms, to_ms, first_ms, first_count, full_count) in [
            (30, base_ms + 15_000, base_ms + 600_000, base_ms, 1, 3),
            (300, base_ms + 120_000, base_ms + hour_ms, base_ms, 18, 30),
            (7_200, base_ms, base_ms + 2 * hour_ms, base_ms - hour_ms, 360, 360),
        ] {
            let reply = app
                .graphql(Some(&ada.access_token), history, json!({ "id": server, "from": at(from_ms), "to": at(to_ms), "step": step }))
                .await
                .ok();
            let buckets = reply.data("server.metrics").as_array().unwrap().clone();
            let starts: Vec<i64> = buckets
                .iter()
                .map(|b| chrono::DateTime::parse_from_rfc3339(b["at"].as_str().unwrap()).unwrap().timestamp_millis())
                .collect();
            assert_eq!(starts[0], first_ms, "step {step}: {}", reply.0);
            assert!(starts.iter().all(|start| start % (step * 1000) == 0), "step {step}: {starts:?}");
            assert_eq!(buckets[0]["count"], first_count, "step {step}: {}", reply.0);
            assert_eq!(buckets[1]["count"], full_count, "step {step}: {}", reply.0);
        }
    }
}
