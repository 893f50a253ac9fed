//! Probe cadence at scale: 300 servers probed every 2 seconds by one node,
//! a twelfth of them refusing connections and a twelfth never answering.
//!
//! ```sh
//! cargo bench --bench probes                                   # SQLite, 60 s window
//! PROBE_BENCH_SERVERS=600 PROBE_BENCH_SECONDS=120 cargo bench --bench probes
//! BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench probes
//! ```
//!
//! The monitor ticks every 100 ms with a 500 ms probe timeout. Once every
//! server has had its first probe, the bench reads the node's
//! `tidewatch_probe_lateness_seconds` histogram before and after the window
//! and prints how late the probes of the window started (share within each
//! bucket), how many started against how many were due, and the fewest and
//! most `up` samples one server got in the window.

#[path = "../tests/api/support/target.rs"]
mod target;

mod support;

use std::time::Duration;

use chrono::Utc;
use serde_json::{json, Value};
use tidewatch::Config;

use support::{on_bench_database, BenchNode};

const INTERVAL_SECS: u64 = 2;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    on_bench_database(run).await
}

async fn run(label: &str, mut config: Config) -> anyhow::Result<()> {
    let servers = env_number("PROBE_BENCH_SERVERS", 300);
    let window_secs = env_number("PROBE_BENCH_SECONDS", 60);
    config.monitor.monitor_enabled = true;
    config.monitor.host_sample_ms = 60_000;
    config.monitor.monitor_tick_ms = 100;
    config.monitor.min_probe_interval = 1;
    config.monitor.probe_timeout_ms = 500;
    let node = BenchNode::start(config).await?;
    let token = node.register("bench").await;
    let project = node
        .graphql(
            Some(&token),
            "mutation($i: CreateProjectInput!) { createProject(input: $i) { project { id } } }",
            json!({ "i": { "name": "fleet" } }),
        )
        .await["createProject"]["project"]["id"]
        .as_str()
        .expect("project")
        .to_owned();

    let target = target::TargetServer::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let open = listener.local_addr()?.to_string();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            drop(stream);
        }
    });
    let closed = target::closed_port_url()
        .trim_start_matches("http://")
        .to_owned();
    for index in 0..servers {
        let (kind, address) = match index % 12 {
            0 => ("TCP", closed.clone()),
            1 => ("HTTP", target.hang_url.clone()),
            2..=4 => ("HTTP", target.url("/status/204")),
            _ => ("TCP", open.clone()),
        };
        node.graphql(
            Some(&token),
            "mutation($input: CreateServerInput!) { createServer(input: $input) { server { id } } }",
            json!({ "input": { "projectId": project, "kind": kind, "name": format!("server {index:04}"),
                "address": address, "probeIntervalSecs": INTERVAL_SECS } }),
        )
        .await;
    }
    // Every server probed once, then one more interval for the cadence to settle.
    loop {
        let unknown = node
            .graphql(
                Some(&token),
                "query($p: ID!) { servers(projectId: $p, status: UNKNOWN) { totalCount } }",
                json!({ "p": project }),
            )
            .await;
        if unknown["servers"]["totalCount"] == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(INTERVAL_SECS)).await;

    let from = Utc::now();
    let before = lateness_buckets(&node.metrics().await);
    tokio::time::sleep(Duration::from_secs(window_secs)).await;
    let after = lateness_buckets(&node.metrics().await);
    let to = Utc::now();

    let started = after.count - before.count;
    let due = servers * window_secs / INTERVAL_SECS;
    println!(
        "{label}: {servers} servers every {INTERVAL_SECS} s, {window_secs} s window: {started} probes started, {due} due"
    );
    println!("lateness      share of probes");
    for ((bound, end), (_, start)) in after.buckets.iter().zip(&before.buckets) {
        #[allow(clippy::cast_precision_loss)]
        let share = (end - start) as f64 / started.max(1) as f64 * 100.0;
        println!("<= {bound:>5} s   {share:6.2} %");
    }
    let (fewest, most) = up_samples_per_server(&node, &token, &project, from, to).await;
    println!(
        "up samples per server in the window: fewest {fewest}, most {most}, due {}",
        window_secs / INTERVAL_SECS
    );
    node.app.begin_shutdown();
    Ok(())
}

/// The lateness histogram: cumulative counts by upper bound, and the total.
struct Lateness {
    buckets: Vec<(String, u64)>,
    count: u64,
}

fn lateness_buckets(metrics: &str) -> Lateness {
    let mut buckets = Vec::new();
    let mut count = 0;
    for line in metrics.lines() {
        if let Some(rest) = line.strip_prefix("tidewatch_probe_lateness_seconds_bucket{le=\"") {
            if let Some((bound, value)) = rest.split_once("\"} ") {
                buckets.push((bound.to_owned(), value.trim().parse().unwrap_or(0)));
            }
        } else if let Some(value) = line.strip_prefix("tidewatch_probe_lateness_seconds_count ") {
            count = value.trim().parse().unwrap_or(0);
        }
    }
    Lateness { buckets, count }
}

/// The fewest and most `up` samples one server has between `from` and `to`.
async fn up_samples_per_server(
    node: &BenchNode,
    token: &str,
    project: &str,
    from: chrono::DateTime<Utc>,
    to: chrono::DateTime<Utc>,
) -> (i64, i64) {
    let query = "query($p: ID!, $after: String, $from: DateTime!, $to: DateTime!) {
        servers(projectId: $p, first: 100, after: $after) {
            pageInfo { hasNextPage endCursor }
            nodes { builtIn metrics(metric: \"up\", range: { between: { from: $from, to: $to } }, step: 1) { count } } } }";
    let (mut fewest, mut most) = (i64::MAX, 0);
    let mut after = Value::Null;
    loop {
        let data = node
            .graphql(
                Some(token),
                query,
                json!({ "p": project, "after": after, "from": from, "to": to }),
            )
            .await;
        for server in data["servers"]["nodes"].as_array().expect("servers") {
            if server["builtIn"] == true {
                continue;
            }
            let count: i64 = server["metrics"]
                .as_array()
                .expect("buckets")
                .iter()
                .filter_map(|bucket| bucket["count"].as_i64())
                .sum();
            fewest = fewest.min(count);
            most = most.max(count);
        }
        if data["servers"]["pageInfo"]["hasNextPage"] != true {
            return (fewest, most);
        }
        after = data["servers"]["pageInfo"]["endCursor"].clone();
    }
}
