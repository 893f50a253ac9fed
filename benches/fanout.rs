//! Fan-out of one run's events to many subscribers: does a crowd of
//! subscribers slow the run down, and how late do they hear of a change?
//!
//! ```sh
//! cargo bench --bench fanout                        # 100 against 2,000 subscribers, SQLite
//! FANOUT_BENCH_CASES=300 FANOUT_BENCH_CROWD=1000 cargo bench --bench fanout
//! BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench fanout
//! ```
//!
//! For each crowd size (alternating, two rounds each) the bench opens that many
//! `runEvents` subscriptions (50 per socket) on one run and measures:
//!
//! - **mutation → event**: 20 `pauseRun`/`resumeRun` toggles on a run held
//!   open by a gated case; for each, the time from sending the mutation until
//!   each subscriber has the STATUS event it caused (p50/p99 over all);
//! - **run time**: a run of `FANOUT_BENCH_CASES` GET cases (default 1,000,
//!   `maxWorkers` 16, after 16 slow ones that hold the workers while the run
//!   is paused), subscribed, then resumed: the time from `resumeRun` until
//!   every subscriber has had `complete`.
//!
//! It prints both for each crowd and the ratio of the large crowd to the small
//! (best round of each), and the node's resident memory at the end.

#[path = "../tests/api/support/target.rs"]
mod target;

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{json, Value};
use tidewatch::runs::report::percentile;
use tidewatch::Config;
use tokio::sync::Notify;

use support::{graphql_socket, on_bench_database, subscribe, BenchNode};

const PER_SOCKET: usize = 50;
const TOGGLES: usize = 20;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// What the subscribers of one round have received.
#[derive(Default)]
struct Received {
    /// When each subscriber received the event with this seq.
    by_seq: HashMap<i64, Vec<Instant>>,
    /// When each subscriber had `complete`.
    completed: Vec<Instant>,
}

struct Crowd {
    received: Arc<Mutex<Received>>,
    changed: Arc<Notify>,
    readers: Vec<tokio::task::JoinHandle<()>>,
}

impl Crowd {
    async fn open(node: &BenchNode, token: &str, run_id: &str, size: usize) -> Self {
        let received = Arc::new(Mutex::new(Received::default()));
        let changed = Arc::new(Notify::new());
        let query = format!("subscription {{ runEvents(runId: \"{run_id}\") {{ seq kind }} }}");
        let mut readers = Vec::new();
        let mut remaining = size;
        while remaining > 0 {
            let count = remaining.min(PER_SOCKET);
            remaining -= count;
            let mut socket = graphql_socket(&node.base, token).await;
            for id in 0..count {
                subscribe(&mut socket, &id.to_string(), &query).await;
            }
            let received = received.clone();
            let changed = changed.clone();
            readers.push(tokio::spawn(async move {
                let mut open = count;
                while open > 0 {
                    let Some(Ok(message)) = socket.next().await else {
                        return;
                    };
                    let Ok(text) = message.to_text() else {
                        continue;
                    };
                    let now = Instant::now();
                    let message: Value = serde_json::from_str(text).unwrap_or_default();
                    match message["type"].as_str() {
                        Some("next") => {
                            let seq = message["payload"]["data"]["runEvents"]["seq"]
                                .as_i64()
                                .unwrap_or_default();
                            let mut received = received.lock().expect("lock");
                            received.by_seq.entry(seq).or_default().push(now);
                        }
                        Some("complete") => {
                            open -= 1;
                            received.lock().expect("lock").completed.push(now);
                        }
                        _ => continue,
                    }
                    changed.notify_waiters();
                }
            }));
        }
        Self {
            received,
            changed,
            readers,
        }
    }

    /// Waits until `done` holds for what was received.
    async fn until(&self, done: impl Fn(&Received) -> bool) {
        loop {
            let notified = self.changed.notified();
            if done(&self.received.lock().expect("lock")) {
                return;
            }
            let _ = tokio::time::timeout(Duration::from_millis(200), notified).await;
        }
    }

    async fn close(self) {
        for reader in self.readers {
            reader.abort();
        }
    }
}

async fn act(node: &BenchNode, token: &str, action: &str, run_id: &str) -> Value {
    node.graphql(
        Some(token),
        &format!("mutation($i: RunActionInput!) {{ {action}(input: $i) {{ run {{ status }} }} }}"),
        json!({ "i": { "runId": run_id } }),
    )
    .await
}

async fn start_run(node: &BenchNode, token: &str, input: Value) -> String {
    let data = node
        .graphql(
            Some(token),
            "mutation($i: StartRunInput!) { startRun(input: $i) { run { id } } }",
            json!({ "i": input }),
        )
        .await;
    data["startRun"]["run"]["id"]
        .as_str()
        .expect("run id")
        .to_owned()
}

/// Waits until the run has left QUEUED (pause and resume are refused before).
async fn until_running(node: &BenchNode, token: &str, run_id: &str) {
    loop {
        let data = node
            .graphql(
                Some(token),
                "query($id: ID!) { run(id: $id) { status } }",
                json!({ "id": run_id }),
            )
            .await;
        if data["run"]["status"] != "QUEUED" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn latest_seq(node: &BenchNode, token: &str, run_id: &str) -> i64 {
    let data = node
        .graphql(
            Some(token),
            "query($id: ID!) { run(id: $id) { events(afterSeq: 0) { seq } } }",
            json!({ "id": run_id }),
        )
        .await;
    data["run"]["events"]
        .as_array()
        .and_then(|events| events.last())
        .and_then(|event| event["seq"].as_i64())
        .unwrap_or(0)
}

/// p50 and p99 of mutation → event, in milliseconds.
async fn toggle_latency(
    node: &BenchNode,
    token: &str,
    gate_project: &str,
    size: usize,
) -> (i64, i64) {
    let run_id = start_run(node, token, json!({ "projectId": gate_project })).await;
    until_running(node, token, &run_id).await;
    let crowd = Crowd::open(node, token, &run_id, size).await;
    // Everyone has the run's first events.
    crowd
        .until(|received| received.by_seq.get(&1).map_or(0, Vec::len) == size)
        .await;
    let mut latencies = Vec::new();
    for toggle in 0..TOGGLES {
        let action = if toggle % 2 == 0 {
            "pauseRun"
        } else {
            "resumeRun"
        };
        let before = latest_seq(node, token, &run_id).await;
        let sent = Instant::now();
        act(node, token, action, &run_id).await;
        let seq = before + 1;
        crowd
            .until(|received| received.by_seq.get(&seq).map_or(0, Vec::len) == size)
            .await;
        let received = crowd.received.lock().expect("lock");
        latencies.extend(
            received.by_seq[&seq]
                .iter()
                .map(|at| i64::try_from(at.duration_since(sent).as_micros()).unwrap_or(i64::MAX)),
        );
    }
    act(node, token, "cancelRun", &run_id).await;
    crowd.close().await;
    latencies.sort_unstable();
    (
        percentile(&latencies, 50.0) / 1000,
        percentile(&latencies, 99.0) / 1000,
    )
}

/// Seconds from resuming a paused run of many cases until every subscriber completed.
async fn run_time(node: &BenchNode, token: &str, project: &str, size: usize) -> f64 {
    let run_id = start_run(
        node,
        token,
        json!({ "projectId": project, "maxWorkers": 16 }),
    )
    .await;
    until_running(node, token, &run_id).await;
    act(node, token, "pauseRun", &run_id).await;
    let crowd = Crowd::open(node, token, &run_id, size).await;
    crowd
        .until(|received| received.by_seq.get(&1).map_or(0, Vec::len) == size)
        .await;
    let resumed = Instant::now();
    act(node, token, "resumeRun", &run_id).await;
    crowd
        .until(|received| received.completed.len() == size)
        .await;
    let elapsed = resumed.elapsed().as_secs_f64();
    crowd.close().await;
    elapsed
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    on_bench_database(run).await
}

async fn run(label: &str, mut config: Config) -> anyhow::Result<()> {
    let cases = env_number("FANOUT_BENCH_CASES", 1000);
    let small = env_number("FANOUT_BENCH_SMALL", 100);
    let crowd = env_number("FANOUT_BENCH_CROWD", 2000);
    config.monitor.monitor_enabled = false;
    let node = BenchNode::start(config).await?;
    let token = node.register("bench").await;
    let target = target::TargetServer::start().await;
    let create_project = |name: &'static str| {
        let node = &node;
        let token = &token;
        async move {
            node.graphql(
                Some(token),
                "mutation($i: CreateProjectInput!) { createProject(input: $i) { project { id } } }",
                json!({ "i": { "name": name } }),
            )
            .await["createProject"]["project"]["id"]
                .as_str()
                .expect("project")
                .to_owned()
        }
    };
    let create_case = |project: String, name: String, url: String| {
        let node = &node;
        let token = &token;
        async move {
            node.graphql(
                Some(token),
                "mutation($i: CreateCaseInput!) { createCase(input: $i) { case { id } } }",
                json!({ "i": { "projectId": project, "name": name, "spec": { "http": {
                    "request": { "method": "GET", "url": url, "timeoutMs": 600000 },
                    "assertions": [{ "status": { "equals": 200 } }] } } } }),
            )
            .await;
        }
    };
    let gated = create_project("gated").await;
    create_case(gated.clone(), "gate".into(), target.url("/gate")).await;
    let many = create_project("many").await;
    // The first cases keep every worker busy long enough to pause the run before
    // the rest start.
    for index in 0..16 {
        create_case(
            many.clone(),
            format!("slow {index}"),
            target.url("/slow/500"),
        )
        .await;
    }
    for index in 0..cases {
        create_case(many.clone(), format!("case {index}"), target.url("/json")).await;
    }

    println!("{label}: {cases} cases, {small} against {crowd} subscribers");
    let mut latency: HashMap<usize, Vec<(i64, i64)>> = HashMap::new();
    let mut times: HashMap<usize, Vec<f64>> = HashMap::new();
    for round in 0..2 {
        for size in [small, crowd] {
            let (p50, p99) = toggle_latency(&node, &token, &gated, size).await;
            let seconds = run_time(&node, &token, &many, size).await;
            println!(
                "round {round}, {size} subscribers: mutation → event p50 {p50} ms, p99 {p99} ms; \
                 {cases}-case run {seconds:.2} s"
            );
            latency.entry(size).or_default().push((p50, p99));
            times.entry(size).or_default().push(seconds);
        }
    }
    let best_p99 = |size: usize| {
        latency[&size]
            .iter()
            .map(|(_, p99)| *p99)
            .min()
            .unwrap_or(0)
    };
    let best_time = |size: usize| times[&size].iter().copied().fold(f64::MAX, f64::min);
    println!(
        "mutation → event p99, {crowd} ÷ {small} subscribers: {:.2} ({} ms vs {} ms)",
        best_p99(crowd) as f64 / best_p99(small).max(1) as f64,
        best_p99(crowd),
        best_p99(small)
    );
    println!(
        "{cases}-case run, {crowd} ÷ {small} subscribers: {:.2} ({:.2} s vs {:.2} s)",
        best_time(crowd) / best_time(small),
        best_time(crowd),
        best_time(small)
    );
    // Every crowd has gone: so has every shared run subscription.
    assert_eq!(
        node.app.run_hub.runs(),
        0,
        "shared subscriptions left behind"
    );
    let memory = node.metrics().await;
    if let Some(line) = memory
        .lines()
        .find(|line| line.starts_with("process_resident_memory_bytes"))
    {
        println!("{line}");
    }
    Ok(())
}
