//! Cases per second of the run executor against a loopback target, at
//! `maxWorkers` 1, 16 and 64, next to `wrk` issuing the same request.
//!
//! ```sh
//! cargo bench --bench runs            # 10,000 cases per run
//! RUNS_BENCH_CASES=2000 cargo bench --bench runs
//! ```
//!
//! A node is served on a loopback port with a fresh SQLite database; cases are
//! stored directly, runs started and watched through GraphQL as a client would.
//! When `wrk` is on the PATH it is run against the same URL with as many
//! connections as workers, and the ratio is printed.

#[path = "../tests/api/support/target.rs"]
mod target;

mod support;

use std::time::{Duration, Instant};

use poem::listener::{Acceptor, Listener, TcpListener};
use serde_json::json;
use tidewatch::cases::model::CaseRow;
use tidewatch::cases::spec::{CaseKind, CaseSpec};
use tidewatch::db::stored::Json;
use tidewatch::{App, Config};

use support::graphql_at as graphql;

const WORKERS: [i32; 3] = [1, 16, 64];

fn wrk(url: &str, connections: i32) -> Option<f64> {
    let output = std::process::Command::new("wrk")
        .args([
            "-t",
            &connections.min(2).to_string(),
            "-c",
            &connections.to_string(),
            "-d",
            "5s",
            url,
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find(|line| line.starts_with("Requests/sec:"))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|value| value.parse().ok())
}

#[tokio::main]
async fn main() {
    let cases: usize = std::env::var("RUNS_BENCH_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let target = target::TargetServer::start().await;
    let url = target.url("/json");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::with_data_dir(dir.path());
    config.database_url = Some(format!(
        "sqlite://{}",
        dir.path().join("bench.db").display()
    ));
    let app = App::build(config).await.expect("app");
    let acceptor = TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .expect("bind");
    let base = format!(
        "http://{}",
        acceptor.local_addr()[0].as_socket_addr().expect("address")
    );
    tokio::spawn(tidewatch::http::serve_on(
        app.clone(),
        acceptor,
        std::future::pending(),
    ));
    let http = reqwest::Client::new();

    let register = graphql(&http, &base, None, "mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }",
        json!({ "i": { "username": "bench", "email": "bench@example.com", "password": "bench password 1" } })).await;
    let token = register["register"]["accessToken"]
        .as_str()
        .expect("token")
        .to_owned();
    let user_id = register["register"]["user"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let project = graphql(
        &http,
        &base,
        Some(&token),
        "mutation($i: CreateProjectInput!) { createProject(input: $i) { project { id } } }",
        json!({ "i": { "name": "bench" } }),
    )
    .await["createProject"]["project"]["id"]
        .as_str()
        .expect("project")
        .to_owned();
    let spec: CaseSpec = serde_json::from_value(json!({ "http": { "request": { "method": "GET", "url": url }, "assertions": [{ "status": { "equals": 200 } }] } }))
        .expect("spec");
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
    app.db
        .transaction(async |conn| CaseRow::insert_all(conn, &rows).await)
        .await
        .expect("cases");

    println!("{cases} HTTP cases (GET {url}, one status assertion), SQLite, loopback");
    println!(
        "{:>10} {:>12} {:>10} {:>16} {:>8}",
        "maxWorkers", "seconds", "cases/s", "wrk requests/s", "ratio"
    );
    for workers in WORKERS {
        let started = Instant::now();
        let run = graphql(
            &http,
            &base,
            Some(&token),
            "mutation($i: StartRunInput!) { startRun(input: $i) { run { id } } }",
            json!({ "i": { "projectId": project, "maxWorkers": workers } }),
        )
        .await["startRun"]["run"]["id"]
            .as_str()
            .expect("run")
            .to_owned();
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let state = graphql(
                &http,
                &base,
                Some(&token),
                "query($id: ID!) { run(id: $id) { status passed } }",
                json!({ "id": run }),
            )
            .await;
            if state["run"]["status"] != "RUNNING" && state["run"]["status"] != "QUEUED" {
                assert_eq!(state["run"]["passed"], cases, "{state}");
                break;
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        #[allow(clippy::cast_precision_loss)]
        let rate = cases as f64 / seconds;
        let baseline = tokio::task::spawn_blocking({
            let url = url.clone();
            move || wrk(&url, workers)
        })
        .await
        .ok()
        .flatten();
        match baseline {
            Some(wrk_rate) => println!(
                "{workers:>10} {seconds:>12.2} {rate:>10.0} {wrk_rate:>16.0} {:>8.3}",
                rate / wrk_rate
            ),
            None => println!(
                "{workers:>10} {seconds:>12.2} {rate:>10.0} {:>16} {:>8}",
                "-", "-"
            ),
        }
    }
    app.begin_shutdown();
}
