//! Cases per second of the run executor against a loopback target, at
//! `maxWorkers` 1, 16 and 64, next to hurl running the same requests.
//!
//! ```sh
//! cargo bench --bench runs                                   # SQLite, 2,000 cases
//! BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench runs
//! RUNS_BENCH_CASES=10000 RUNS_BENCH_ROUNDS=1 cargo bench --bench runs
//! ```
//!
//! A node is served on a loopback port; the cases (a GET with one status
//! assertion) are stored directly, runs started and watched through GraphQL as
//! a client would. When `hurl` is on the PATH, each case is also written as a
//! `.hurl` file (the same GET, `HTTP 200`) and `hurl --test --jobs N` runs them
//! all, alternating with the node's runs; the medians of the rounds and their
//! ratio are printed.

#[path = "../tests/api/support/target.rs"]
mod target;

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;
use support::{on_bench_database, BenchNode};
use tidewatch::cases::model::CaseRow;
use tidewatch::cases::spec::{CaseKind, CaseSpec};
use tidewatch::db::stored::Json;
use tidewatch::Config;

const WORKERS: [i32; 3] = [1, 16, 64];

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Writes one hurl file per case; `None` when hurl is not installed.
fn hurl_files(dir: &Path, url: &str, cases: usize) -> Option<Vec<String>> {
    let installed = std::process::Command::new("hurl")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !installed {
        return None;
    }
    std::fs::create_dir_all(dir).expect("hurl dir");
    Some(
        (0..cases)
            .map(|index| {
                let path = dir.join(format!("case{index}.hurl"));
                std::fs::write(&path, format!("GET {url}\nHTTP 200\n")).expect("hurl file");
                path.display().to_string()
            })
            .collect(),
    )
}

/// Cases per second of `hurl --test --jobs workers` over `files`.
fn hurl_rate(files: &[String], workers: i32) -> f64 {
    let started = Instant::now();
    let output = std::process::Command::new("hurl")
        .args(["--test", "--jobs", &workers.to_string()])
        .args(files)
        .output()
        .expect("hurl");
    let seconds = started.elapsed().as_secs_f64();
    assert!(
        output.status.success(),
        "hurl failed: {}",
        String::from_utf8_lossy(&output.stderr)
            .lines()
            .last()
            .unwrap_or("")
    );
    #[allow(clippy::cast_precision_loss)]
    let rate = files.len() as f64 / seconds;
    rate
}

/// Cases per second of one run of every case in `project`.
async fn run_rate(node: &BenchNode, token: &str, project: &str, workers: i32, cases: usize) -> f64 {
    let started = Instant::now();
    let run = node
        .graphql(
            Some(token),
            "mutation($i: StartRunInput!) { startRun(input: $i) { run { id } } }",
            json!({ "i": { "projectId": project, "maxWorkers": workers } }),
        )
        .await["startRun"]["run"]["id"]
        .as_str()
        .expect("run")
        .to_owned();
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let state = node
            .graphql(
                Some(token),
                "query($id: ID!) { run(id: $id) { status passed } }",
                json!({ "id": run }),
            )
            .await;
        if state["run"]["status"] != "RUNNING" && state["run"]["status"] != "QUEUED" {
            assert_eq!(state["run"]["passed"], cases, "{state}");
            break;
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let rate = cases as f64 / started.elapsed().as_secs_f64();
    rate
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    on_bench_database(run).await
}

async fn run(label: &str, mut config: Config) -> anyhow::Result<()> {
    let cases = env_number("RUNS_BENCH_CASES", 2000);
    let rounds = env_number("RUNS_BENCH_ROUNDS", 3);
    let target = target::TargetServer::start().await;
    let target_url = target.url("/json");
    config.monitor.monitor_enabled = false;
    let hurl_dir = config.data_dir.join("hurl");
    let node = BenchNode::start(config).await?;
    let token = node.register("bench").await;
    let me = node.graphql(Some(&token), "{ me { id } }", json!({})).await;
    let user_id = me["me"]["id"].as_str().expect("id").to_owned();
    let project = node
        .graphql(
            Some(&token),
            "mutation($i: CreateProjectInput!) { createProject(input: $i) { project { id } } }",
            json!({ "i": { "name": "bench" } }),
        )
        .await["createProject"]["project"]["id"]
        .as_str()
        .expect("project")
        .to_owned();
    let spec: CaseSpec = serde_json::from_value(json!({ "http": {
        "request": { "method": "GET", "url": target_url },
        "assertions": [{ "status": { "equals": 200 } }] } }))?;
    let now = tidewatch::db::now();
    let rows: Vec<CaseRow> = (0..cases)
        .map(|index| CaseRow {
            id: uuid::Uuid::now_v7().to_string(),
            project_id: project.clone(),
            kind: CaseKind::Http,
            name: format!("case {index}"),
            description: String::new(),
            tags: Json(Vec::new()),
            priority: 0,
            active: true,
            spec: Json(spec.clone()),
            created_by: user_id.clone(),
            updated_by: user_id.clone(),
            created_at: now,
            updated_at: now,
        })
        .collect();
    node.app
        .db
        .transaction(async |conn| CaseRow::insert_all(conn, &rows).await)
        .await?;
    let hurl = hurl_files(&hurl_dir, &target_url, cases);

    println!(
        "{label}: {cases} HTTP cases (GET {target_url}, one status assertion), {rounds} rounds"
    );
    println!(
        "{:>10} {:>12} {:>12} {:>8}",
        "maxWorkers", "cases/s", "hurl cases/s", "ratio"
    );
    for workers in WORKERS {
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        for _ in 0..rounds {
            ours.push(run_rate(&node, &token, &project, workers, cases).await);
            if let Some(files) = &hurl {
                let files = files.clone();
                theirs.push(tokio::task::spawn_blocking(move || hurl_rate(&files, workers)).await?);
            }
        }
        let ours = median(ours);
        if theirs.is_empty() {
            println!("{workers:>10} {ours:>12.0} {:>12} {:>8}", "-", "-");
        } else {
            let theirs = median(theirs);
            println!(
                "{workers:>10} {ours:>12.0} {theirs:>12.0} {:>8.3}",
                ours / theirs
            );
        }
    }
    node.app.begin_shutdown();
    Ok(())
}
