//! Fire-time accuracy of the scheduler: 1,000 active per-minute tasks, every
//! one of them firing at second 0 (the worst case: all fires at one instant),
//! each fire starting a run of one HTTP case against a loopback target.
//!
//! ```sh
//! cargo bench --bench scheduler                       # SQLite, 3 minutes
//! SCHEDULER_BENCH_MINUTES=5 SCHEDULER_BENCH_TASKS=1000 cargo bench --bench scheduler
//! BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench scheduler
//! ```
//!
//! Lateness is measured per fire as claim time minus fire time (the moment a
//! node owns the fire) and run creation minus fire time. Side by side in the
//! same process and minutes, as many bare tokio timers sleep until the same
//! instants and record how late they wake: the ratio of the two p99s says how
//! much the scheduler adds to what the machine's timers give.

#[path = "../tests/api/support/target.rs"]
mod target;

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use poem::listener::{Acceptor, Listener, TcpListener};
use serde_json::json;
use tidewatch::tasks::model::FireRow;
use tidewatch::{App, Config};

use support::graphql_at as graphql;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// The `p`th percentile (0–100) of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let index = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn summary(label: &str, mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let p99 = percentile(&values, 99.0);
    println!(
        "{label:<34} {:>7} {:>9.1} {:>9.1} {:>9.1}",
        values.len(),
        percentile(&values, 50.0),
        p99,
        values.last().copied().unwrap_or(f64::NAN)
    );
    p99
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmRSS:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    match std::env::var("BENCH_DATABASE_URL") {
        Ok(admin_url) => {
            let name = format!("tidewatch_bench_{}", std::process::id());
            let mut admin = AsyncPgConnection::establish(&admin_url).await?;
            admin
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await?;
            let base = admin_url
                .rsplit_once('/')
                .map_or(admin_url.as_str(), |(base, _)| base);
            let outcome = run("PostgreSQL", &format!("{base}/{name}"), dir.path()).await;
            admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await?;
            outcome
        }
        Err(_) => {
            let url = format!("sqlite://{}", dir.path().join("bench.db").display());
            run("SQLite", &url, dir.path()).await
        }
    }
}

async fn run(label: &str, url: &str, data_dir: &std::path::Path) -> anyhow::Result<()> {
    let tasks = env_number("SCHEDULER_BENCH_TASKS", 1000);
    let minutes = env_number("SCHEDULER_BENCH_MINUTES", 3);
    let target = target::TargetServer::start().await;
    let mut config = Config::with_data_dir(data_dir);
    config.database_url = Some(url.to_owned());
    config.monitor.monitor_enabled = false;
    let app = App::build(config).await?;
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await?;
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

    let register = graphql(&http, &base, None, "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }",
        json!({ "i": { "username": "bench", "email": "bench@example.com", "password": "bench password 1" } })).await;
    let token = register["register"]["accessToken"]
        .as_str()
        .expect("token")
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
    graphql(&http, &base, Some(&token), "mutation($i: CreateCaseInput!) { createCase(input: $i) { case { id } } }",
        json!({ "i": { "projectId": project, "name": "ok", "spec": { "http": {
            "request": { "method": "GET", "url": target.url("/json") }, "assertions": [{ "status": { "equals": 200 } }] } } } })).await;
    let mut task_ids = Vec::with_capacity(tasks);
    for index in 0..tasks {
        let task = graphql(&http, &base, Some(&token), "mutation($i: CreateTaskInput!) { createTask(input: $i) { id } }",
            json!({ "i": { "projectId": project, "name": format!("task {index}"), "schedule": { "cron": "0 * * * * *" },
                "action": { "runCases": {} }, "policy": { "concurrency": "ALLOW" } } })).await;
        task_ids.push(task["createTask"]["id"].as_str().expect("task").to_owned());
    }

    // The baseline: as many bare timers, sleeping until the same minute boundaries.
    let timer_lateness = Arc::new(Mutex::new(Vec::new()));
    let first_minute = (Utc::now() + TimeDelta::minutes(1)).trunc_subsecs(0);
    let first_minute =
        first_minute - TimeDelta::seconds(i64::from(chrono::Timelike::second(&first_minute)));
    let last_minute = first_minute + TimeDelta::minutes(i64::try_from(minutes).unwrap_or(3) - 1);
    for _ in 0..tasks {
        let lateness = timer_lateness.clone();
        tokio::spawn(async move {
            let mut at = first_minute;
            while at <= last_minute {
                let wait = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                tokio::time::sleep(wait).await;
                #[allow(clippy::cast_precision_loss)]
                let late = (Utc::now() - at).num_microseconds().unwrap_or(0) as f64 / 1000.0;
                lateness.lock().expect("lock").push(late);
                at += TimeDelta::minutes(1);
            }
        });
    }
    println!("{label}: {tasks} tasks firing at second 0 of every minute, {minutes} minutes from {first_minute}");
    let settle = (last_minute - Utc::now())
        .to_std()
        .unwrap_or(Duration::ZERO)
        + Duration::from_secs(20);
    tokio::time::sleep(settle).await;
    let rss = rss_mib();

    let mut claim = Vec::new();
    let mut started = Vec::new();
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    let window = |at: DateTime<Utc>| at >= first_minute && at <= last_minute;
    for id in &task_ids {
        for fire in FireRow::page(&mut app.db.conn().await?, id, None, 1000).await? {
            if !window(fire.fire_at.and_utc()) {
                continue;
            }
            *outcomes.entry(fire.outcome.to_string()).or_default() += 1;
            #[allow(clippy::cast_precision_loss)]
            claim.push(
                (fire.claimed_at - fire.fire_at)
                    .num_microseconds()
                    .unwrap_or(0) as f64
                    / 1000.0,
            );
            if let Some(at) = fire.started_at {
                #[allow(clippy::cast_precision_loss)]
                started.push((at - fire.fire_at).num_microseconds().unwrap_or(0) as f64 / 1000.0);
            }
        }
    }
    println!(
        "fires by outcome: {outcomes:?} (expected {})",
        tasks * minutes
    );
    println!(
        "{:<34} {:>7} {:>9} {:>9} {:>9}",
        "lateness, ms", "count", "p50", "p99", "max"
    );
    let claim_p99 = summary("scheduler: fire claimed", claim);
    let start_p99 = summary("scheduler: run created", started);
    let timer_values = timer_lateness.lock().expect("lock").clone();
    let timer_p99 = summary("bare tokio timer (baseline)", timer_values);
    println!(
        "p99 ratio claimed/baseline {:.2}, run created/baseline {:.2}; RSS {rss:.0} MiB",
        claim_p99 / timer_p99,
        start_p99 / timer_p99
    );
    app.begin_shutdown();
    Ok(())
}
