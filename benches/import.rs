//! Import benchmark: 10,000 generic CSV rows, preview and commit, on SQLite
//! (and PostgreSQL when BENCH_DATABASE_URL names a server's admin database).
//!
//! Run: `cargo bench --bench import` (add BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres).
//! Prints rows per second and the process's peak resident memory.

use std::time::Instant;

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use tidewatch::cases::transfer::{import_cases, Commit};
use tidewatch::projects::access::ProjectAccess;
use tidewatch::projects::model::ProjectRole;
use tidewatch::users::model::Role;
use tidewatch::users::service::{create_account, NewAccount};
use tidewatch::{App, Config};

const ROWS: usize = 10_000;

fn csv() -> Vec<u8> {
    let mut text = String::from("name,method,url,headers,body,expected_status,keywords,tags\n");
    for index in 0..ROWS {
        text.push_str(&format!(
            "case {index},POST,http://127.0.0.1:9/items/{index},Accept: application/json,\"{{\"\"n\"\": {index}}}\",201,created,bench\n"
        ));
    }
    text.into_bytes()
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| line.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

async fn run(label: &str, database_url: String) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = Config::with_data_dir(dir.path());
    config.database_url = Some(database_url);
    let app = App::build(config).await?;
    let account = NewAccount {
        username: "bench".into(),
        email: "bench@example.com".into(),
        password: "bench-password".into(),
    };
    let user = create_account(&app, account, Role::Admin)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let viewer = tidewatch::auth::Viewer {
        user: user.clone(),
        family_id: String::new(),
    };
    let project = tidewatch::projects::service::create_project(&app, &viewer, "bench", None, None)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let access = ProjectAccess::require(&app, &viewer, &project.id, ProjectRole::Member)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let bytes = csv();
    for (mode, commit) in [
        ("preview", Commit::Preview),
        ("commit", Commit::AllOrNothing),
    ] {
        let started = Instant::now();
        let report = import_cases(
            &app,
            &access,
            "bench.csv".into(),
            bytes.clone(),
            String::new(),
            commit,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let seconds = started.elapsed().as_secs_f64();
        assert_eq!(report.drafts.len(), ROWS);
        println!(
            "{label:<10} {mode:<8} {ROWS} rows in {seconds:.2} s = {:>8.0} rows/s, peak RSS {:.0} MiB",
            ROWS as f64 / seconds,
            peak_rss_mib()
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    run(
        "sqlite",
        format!("sqlite://{}", dir.path().join("bench.db").display()),
    )
    .await?;
    if let Ok(admin_url) = std::env::var("BENCH_DATABASE_URL") {
        let name = format!("tidewatch_bench_{}", std::process::id());
        let mut admin = AsyncPgConnection::establish(&admin_url).await?;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await?;
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(base, _)| base);
        let outcome = run("postgres", format!("{base}/{name}")).await;
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
        outcome?;
    }
    Ok(())
}
