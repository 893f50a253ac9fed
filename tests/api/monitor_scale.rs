//! The monitor beyond one node and a handful of servers: two nodes on one
//! database share probes and alert evaluation without doing anything twice,
//! and hundreds of servers keep their probe cadence.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::backend_test;
use crate::servers::create_server;
use crate::support::client::Account;
use crate::support::target::{closed_port_url, TargetServer};
use crate::support::{Backend, TestApp};

/// A node whose monitor runs fast, on `backend` or on `shared`'s database.
async fn monitored_node(
    backend: Backend,
    shared: Option<&TestApp>,
    probe_timeout_ms: u64,
) -> TestApp {
    let mut builder = TestApp::builder(backend).config(move |config| {
        config.monitor.monitor_enabled = true;
        config.monitor.host_sample_ms = 60_000;
        config.monitor.monitor_tick_ms = 100;
        config.monitor.min_probe_interval = 1;
        config.monitor.probe_timeout_ms = probe_timeout_ms;
    });
    if let Some(node) = shared {
        builder = builder.database(Arc::clone(&node.database));
    }
    builder.start().await
}

/// Number of `up` samples of each of the project's servers between `from` and `to`, by server name.
async fn probes_per_server(
    app: &TestApp,
    user: &Account,
    project: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(String, i64)> {
    let query = "query($p: ID!, $after: String, $from: DateTime!, $to: DateTime!) {
        servers(projectId: $p, first: 100, after: $after) {
            pageInfo { hasNextPage endCursor }
            nodes { name builtIn status metrics(metric: \"up\", range: { between: { from: $from, to: $to } }, step: 1) { count } } } }";
    let mut counts = Vec::new();
    let mut after = Value::Null;
    loop {
        let reply = app
            .graphql(
                Some(&user.access_token),
                query,
                json!({ "p": project, "after": after, "from": from, "to": to }),
            )
            .await
            .ok();
        for node in reply.data("servers.nodes").as_array().unwrap() {
            if node["builtIn"] == true {
                continue;
            }
            let count = node["metrics"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["count"].as_i64().unwrap())
                .sum();
            counts.push((node["name"].as_str().unwrap().to_owned(), count));
        }
        if reply.data("servers.pageInfo.hasNextPage") != true {
            return counts;
        }
        after = reply.data("servers.pageInfo.endCursor").clone();
    }
}

/// Accepts connections on a loopback port and closes them; its address.
async fn open_port() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            drop(stream);
        }
    });
    (address, task)
}

backend_test! {
    async fn two_nodes_on_one_database_probe_and_alert_once(backend: Backend) {
        let first = monitored_node(backend, None, 2_000).await;
        let second = monitored_node(backend, Some(&first), 2_000).await;
        let ada = first.register("ada").await;
        let project = first.create_project(&ada.access_token, "Ops").await;
        let (open, _listener) = open_port().await;
        create_server(&first, &ada, &project, json!({ "kind": "TCP", "name": "open port", "address": open, "probeIntervalSecs": 1 })).await;

        // Each second one node probes the server: about one `up` sample a second, not two.
        let from = Utc::now();
        tokio::time::sleep(Duration::from_secs(6)).await;
        let to = Utc::now();
        let counts = probes_per_server(&second, &ada, &project, from, to).await;
        assert_eq!(counts.len(), 1);
        assert!((5..=7).contains(&counts[0].1), "probes in 6 s: {counts:?}");

        let server = create_server(&first, &ada, &project, json!({ "kind": "HOST", "name": "worker", "address": "localhost" })).await;
        let token = first
            .graphql(Some(&ada.access_token), "mutation($id: ID!) { createAgentToken(input: { id: $id }) { token } }", json!({ "id": server }))
            .await
            .ok()
            .data("createAgentToken.token")
            .as_str()
            .unwrap()
            .to_owned();
        first
            .graphql(Some(&ada.access_token), "mutation($input: CreateAlertRuleInput!) { createAlertRule(input: $input) { alertRule { id } } }",
                json!({ "input": { "projectId": project, "name": "hot cpu", "metric": "cpu_percent", "serverId": server,
                    "comparison": "GT", "threshold": 90, "forSecs": 1, "severity": "CRITICAL" } }))
            .await
            .ok();
        let report = "mutation($input: ReportMetricsInput!) { reportMetrics(input: $input) { accepted } }";
        let alerts = "query($p: ID!) { alerts(projectId: $p) { state } }";
        for (value, state) in [(97.5, "FIRING"), (12.0, "RESOLVED")] {
            second
                .graphql(Some(&token), report, json!({ "input": { "serverId": server, "samples": [{ "metric": "cpu_percent", "value": value }] } }))
                .await
                .ok();
            let mut reached = false;
            for _ in 0..100 {
                let reply = first.graphql(Some(&ada.access_token), alerts, json!({ "p": project })).await.ok();
                if reply.0["data"]["alerts"][0]["state"] == state {
                    reached = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert!(reached, "the alert never became {state}");
            // Both nodes have had several ticks to evaluate the rule again.
            tokio::time::sleep(Duration::from_millis(800)).await;
        }

        let reply = second.graphql(Some(&ada.access_token), alerts, json!({ "p": project })).await.ok();
        assert_eq!(reply.data("alerts"), &json!([{ "state": "RESOLVED" }]), "one episode, stored once");
        let notifications = first
            .graphql(Some(&ada.access_token), "{ notifications { nodes { kind } } }", json!({}))
            .await
            .ok();
        assert_eq!(
            notifications.data("notifications.nodes"),
            &json!([{ "kind": "ALERT_RESOLVED" }, { "kind": "ALERT_FIRING" }]),
            "each transition notified once"
        );
    }
}

/// The number in the line of `/metrics` text that starts with `prefix`.
fn metric_value(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(prefix))
        .and_then(|rest| rest.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
}

backend_test! {
    async fn three_hundred_servers_keep_their_probe_cadence(backend: Backend) {
        const INTERVAL_SECS: i64 = 2;
        const WINDOW_SECS: i64 = 10;
        let app = monitored_node(backend, None, 500).await;
        let ada = app.register("ada").await;
        let project = app.create_project(&ada.access_token, "Fleet").await;
        let (open, _listener) = open_port().await;
        let target = TargetServer::start().await;
        let closed = closed_port_url().trim_start_matches("http://").to_owned();
        let mut expected_down = Vec::new();
        for index in 0..300 {
            let (kind, address) = match index % 12 {
                0 => ("TCP", closed.clone()),
                1 => ("HTTP", target.hang_url.clone()),
                2..=4 => ("HTTP", target.url("/status/204")),
                _ => ("TCP", open.clone()),
            };
            let name = format!("server {index:03}");
            if index % 12 < 2 {
                expected_down.push(name.clone());
            }
            create_server(&app, &ada, &project, json!({ "kind": kind, "name": name, "address": address,
                "probeIntervalSecs": INTERVAL_SECS })).await;
        }

        // Start counting once every server has had its first probe and the cadence has settled.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let from = Utc::now();
        tokio::time::sleep(Duration::from_secs(WINDOW_SECS as u64)).await;
        let to = Utc::now();

        let counts = probes_per_server(&app, &ada, &project, from, to).await;
        assert_eq!(counts.len(), 300);
        let intervals = WINDOW_SECS / INTERVAL_SECS;
        let off: Vec<_> = counts.iter().filter(|(_, count)| (*count - intervals).abs() > 1).collect();
        assert!(off.is_empty(), "servers not probed about {intervals} times in {WINDOW_SECS} s: {off:?}");

        // A hanging target costs one timeout per probe and is simply DOWN; it holds no worker.
        let reply = app
            .graphql(Some(&ada.access_token), "query($p: ID!) { servers(projectId: $p, first: 100, status: DOWN) { totalCount nodes { name } } }",
                json!({ "p": project }))
            .await
            .ok();
        let mut down: Vec<String> = reply.data("servers.nodes").as_array().unwrap().iter()
            .map(|s| s["name"].as_str().unwrap().to_owned()).collect();
        down.sort();
        assert_eq!(down, expected_down);
        assert!(target.hang_closed() >= expected_down.len() / 2 * intervals as usize, "hung probes gave up");

        // Every probe started within a second of its due time.
        let text = app.http().get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        let started = metric_value(&text, "tidewatch_probe_lateness_seconds_count");
        let on_time = metric_value(&text, "tidewatch_probe_lateness_seconds_bucket{le=\"1\"}");
        assert!(started >= 300.0 * (WINDOW_SECS / INTERVAL_SECS) as f64, "{started} probes");
        let lateness: Vec<&str> = text.lines().filter(|l| l.starts_with("tidewatch_probe_lateness")).collect();
        assert_eq!(on_time, started, "late probes: {lateness:#?}");
    }
}

backend_test! {
    async fn a_changed_address_is_probed_at_once_not_on_the_old_schedule(backend: Backend) {
        let app = monitored_node(backend, None, 2_000).await;
        let ada = app.register("ada").await;
        let project = app.create_project(&ada.access_token, "Ops").await;
        let closed = closed_port_url().trim_start_matches("http://").to_owned();
        let server = create_server(&app, &ada, &project, json!({ "kind": "TCP", "name": "db port", "address": closed,
            "probeIntervalSecs": 86_400 })).await;
        let status = "query($id: ID!) { server(id: $id) { status } }";
        let mut seen = Value::Null;
        for _ in 0..50 {
            seen = app.graphql(Some(&ada.access_token), status, json!({ "id": server })).await.ok().data("server.status").clone();
            if seen == "DOWN" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(seen, "DOWN", "first probe");

        // The next probe would be a day away; the new address is probed within a tick or two.
        let (open, _listener) = open_port().await;
        app.graphql(Some(&ada.access_token), "mutation($input: UpdateServerInput!) { updateServer(input: $input) { server { address } } }",
            json!({ "input": { "id": server, "address": open } }))
            .await
            .ok();
        for _ in 0..50 {
            seen = app.graphql(Some(&ada.access_token), status, json!({ "id": server })).await.ok().data("server.status").clone();
            if seen == "UP" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(seen, "UP", "probe after the address changed");
    }
}
