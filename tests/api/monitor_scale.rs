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
use crate::support::{wait, Backend, TestApp};

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

        // Each second one node probes the server: one `up` sample a second, not two. A busy
        // machine only makes probes fewer, so the bound is on the most there may be.
        let from = Utc::now();
        wait::until("eight probes", || async {
            // The range must span at least a whole second bucket before it can be asked for.
            let now = Utc::now();
            if now - from < chrono::TimeDelta::seconds(2) {
                return Err(Vec::new());
            }
            let counts = probes_per_server(&second, &ada, &project, from, now).await;
            if counts.len() == 1 && counts[0].1 >= 8 { Ok(()) } else { Err(counts) }
        }).await;
        let to = Utc::now();
        let counts = probes_per_server(&second, &ada, &project, from, to).await;
        let seconds = (to - from).num_seconds();
        // At most one a second, one caught up after a late tick, and one in the partial first bucket.
        assert!(counts[0].1 <= seconds + 3, "{counts:?} probes in {seconds} s");

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
            wait::until(&format!("the alert becomes {state}"), || async {
                let reply = first.graphql(Some(&ada.access_token), alerts, json!({ "p": project })).await.ok();
                if reply.0["data"]["alerts"][0]["state"] == state { Ok(()) } else { Err(reply.0) }
            }).await;
            // Both nodes have ticks to evaluate the rule again (what must not happen has no
            // event to wait for; a busy machine makes this check weaker, never wrong).
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

/// Probes this node has run so far (`tidewatch_probes_total`, every result).
async fn probes_run(app: &TestApp) -> f64 {
    let text = app
        .http()
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|line| line.starts_with("tidewatch_probes_total{"))
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

backend_test! {
    async fn three_hundred_servers_keep_their_probe_cadence(backend: Backend) {
        const SERVERS: i64 = 300;
        const INTERVAL_SECS: i64 = 2;
        /// Probes per server in the counting window, on average.
        const ROUNDS: i64 = 5;
        let app = monitored_node(backend, None, 500).await;
        let ada = app.register("ada").await;
        let project = app.create_project(&ada.access_token, "Fleet").await;
        let (open, _listener) = open_port().await;
        let target = TargetServer::start().await;
        let closed = closed_port_url().trim_start_matches("http://").to_owned();
        let mut expected_down = Vec::new();
        for index in 0..SERVERS {
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

        // A hanging target costs one timeout per probe and is simply DOWN; it holds no
        // worker, so every other server is UP (a healthy probe that timed out on a busy
        // machine is UP again at its next probe).
        let down_servers = "query($p: ID!) { servers(projectId: $p, first: 100, status: DOWN) { nodes { name } } }";
        let unknown = "query($p: ID!) { servers(projectId: $p, status: UNKNOWN) { totalCount } }";
        wait::until("every server probed, the expected ones DOWN", || async {
            let unknown = app.graphql(Some(&ada.access_token), unknown, json!({ "p": project })).await.ok();
            let reply = app.graphql(Some(&ada.access_token), down_servers, json!({ "p": project })).await.ok();
            let mut down: Vec<String> = reply.data("servers.nodes").as_array().unwrap().iter()
                .map(|s| s["name"].as_str().unwrap().to_owned()).collect();
            down.sort();
            let seen = (unknown.data("servers.totalCount").clone(), down);
            if seen.0 == 0 && seen.1 == expected_down { Ok(()) } else { Err(seen) }
        }).await;

        // The window lasts as long as the node takes to run ROUNDS probes per server,
        // however busy the machine is; probes keeping their cadence means every server
        // got about ROUNDS of them (how late they start is measured by `benches/probes.rs`).
        let before = probes_run(&app).await;
        let from = Utc::now();
        let wanted = before + (SERVERS * ROUNDS) as f64;
        wait::until("probes of the window", || async {
            let run = probes_run(&app).await;
            if run >= wanted { Ok(()) } else { Err(run) }
        }).await;
        let to = Utc::now();

        let counts = probes_per_server(&app, &ada, &project, from, to).await;
        assert_eq!(counts.len(), SERVERS as usize);
        let off: Vec<_> = counts.iter().filter(|(_, count)| (*count - ROUNDS).abs() > 1).collect();
        assert!(off.is_empty(), "servers not probed about {ROUNDS} times while the node ran {} probes: {off:?}",
            SERVERS * ROUNDS);
        assert!(target.hang_closed() >= expected_down.len() / 2 * ROUNDS as usize, "hung probes gave up");
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
        let becomes = |wanted: &'static str| {
            let (app, token, server) = (&app, ada.access_token.clone(), server.clone());
            wait::until(wanted, move || {
                let (token, server) = (token.clone(), server.clone());
                async move {
                    let seen = app.graphql(Some(&token), status, json!({ "id": server })).await.ok().data("server.status").clone();
                    if seen == wanted { Ok(()) } else { Err(seen) }
                }
            })
        };
        becomes("DOWN").await;

        // The next probe would be a day away; the new address is probed at once.
        let (open, _listener) = open_port().await;
        app.graphql(Some(&ada.access_token), "mutation($input: UpdateServerInput!) { updateServer(input: $input) { server { address } } }",
            json!({ "input": { "id": server, "address": open } }))
            .await
            .ok();
        becomes("UP").await;
    }
}
