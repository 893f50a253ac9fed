//! Ingest rate and history latency of the metric store, on SQLite and PostgreSQL.
//!
//! Ingests a week of 10-second samples of three metrics of one server (181,440
//! samples) in batches, then times history reads of that week from the
//! 1-hour tier (`metrics(LAST_7D)`'s default step) and from the 1-minute tier.
//!
//! ```sh
//! cargo bench --bench monitoring                     # SQLite in a temp dir
//! BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench monitoring
//! ```
//! With `BENCH_DATABASE_URL` set, a scratch database is created next to it and dropped after.

use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use tidewatch::db::{Database, DbResult};
use tidewatch::monitoring::samples::{RollupRow, SampleRow, HOUR_TIER_SECS, MINUTE_TIER_SECS};

/// Samples per ingest call (as an agent or the monitor would batch them).
const BATCH: usize = 5_000;
/// One week of 10-second samples.
const POINTS: i64 = 7 * 24 * 360;
/// Metrics per server.
const METRICS: [&str; 3] = ["cpu_percent", "memory_percent", "load1"];
/// History reads timed per tier.
const READS: usize = 50;
const SERVER_ID: &str = "00000000-0000-7000-8000-000000000001";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let sqlite = format!("sqlite://{}", dir.path().join("bench.db").display());
    run("SQLite", &sqlite).await?;
    if let Ok(admin_url) = std::env::var("BENCH_DATABASE_URL") {
        let name = format!("tidewatch_bench_{}", std::process::id());
        let mut admin = AsyncPgConnection::establish(&admin_url).await?;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await?;
        let url = format!(
            "{}/{name}",
            admin_url
                .rsplit_once('/')
                .map_or(admin_url.as_str(), |(base, _)| base)
        );
        let outcome = run("PostgreSQL", &url).await;
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
        outcome?;
    }
    Ok(())
}

async fn run(label: &str, url: &str) -> anyhow::Result<()> {
    let db = Database::connect(url, 4).await?;
    seed_server(&db).await?;
    let now_ms = chrono::Utc::now().timestamp_millis();
    let start_ms = now_ms - POINTS * 10_000;
    let samples: Vec<SampleRow> = (0..POINTS)
        .flat_map(|i| {
            METRICS.iter().map(move |metric| SampleRow {
                server_id: SERVER_ID.to_owned(),
                metric: (*metric).to_owned(),
                at_ms: start_ms + i * 10_000,
                value: (i % 100) as f64,
            })
        })
        .collect();

    let started = Instant::now();
    for batch in samples.chunks(BATCH) {
        db.transaction(async |conn| SampleRow::insert_batch(conn, batch).await)
            .await?;
    }
    let elapsed = started.elapsed();
    println!(
        "{label}: ingested {} samples in {:.2} s: {:.0} samples/s (batches of {BATCH})",
        samples.len(),
        elapsed.as_secs_f64(),
        samples.len() as f64 / elapsed.as_secs_f64()
    );

    for (tier, step_secs, what) in [
        (HOUR_TIER_SECS, 3_600, "LAST_7D, 1-hour tier, step 1 h"),
        (MINUTE_TIER_SECS, 900, "LAST_7D, 1-minute tier, step 15 min"),
    ] {
        let (median, p95, buckets) = time_reads(
            &db,
            tier,
            now_ms - 7 * 86_400_000,
            now_ms + 1,
            step_secs * 1000,
        )
        .await?;
        println!("{label}: {what}: {buckets} buckets, median {median:.2?}, p95 {p95:.2?}");
    }
    Ok(())
}

async fn time_reads(
    db: &Database,
    tier: i32,
    from_ms: i64,
    to_ms: i64,
    step_ms: i64,
) -> DbResult<(Duration, Duration, usize)> {
    let mut conn = db.conn().await?;
    let mut times = Vec::with_capacity(READS);
    let mut buckets = 0;
    for _ in 0..READS {
        let started = Instant::now();
        buckets = RollupRow::range(
            &mut conn,
            SERVER_ID,
            "cpu_percent",
            tier,
            from_ms,
            to_ms,
            step_ms,
        )
        .await?
        .len();
        times.push(started.elapsed());
    }
    times.sort();
    Ok((times[READS / 2], times[READS * 95 / 100], buckets))
}

async fn seed_server(db: &Database) -> DbResult<()> {
    let sql = format!(
        "INSERT INTO users (id, username, email, password_hash, role, active, created_at, updated_at) \
         VALUES ('u1', 'bench', 'bench@example.com', 'x', 'ADMIN', TRUE, '2026-11-22 00:00:00', '2026-11-22 00:00:00');
         INSERT INTO projects (id, name, description, archived, settings, created_by, created_at, updated_at) \
         VALUES ('p1', 'bench', '', FALSE, '{{}}', 'u1', '2026-11-22 00:00:00', '2026-11-22 00:00:00');
         INSERT INTO servers (id, project_id, kind, name, tags, address, probe_interval_secs, status, created_at, updated_at) \
         VALUES ('{SERVER_ID}', 'p1', 'HOST', 'bench', '[]', 'localhost', 60, 'UNKNOWN', '2026-11-22 00:00:00', '2026-11-22 00:00:00');"
    );
    tidewatch::db_run!(&mut db.conn().await?, |conn| {
        conn.batch_execute(&sql).await?;
        Ok(())
    })
}
