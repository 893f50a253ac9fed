//! Writing samples and their rollups: in the caller's transaction, every value bound.
//!
//! PostgreSQL gets each column as one array parameter and unnests it, so a
//! batch of any size is one prepared statement for the samples and one for
//! the rollups. SQLite has no arrays: it gets multi-row statements with one
//! placeholder per value, in chunks that stay under its bind limit.

use diesel::sql_types::{Array, BigInt, Double, Integer, Text};
use diesel::sqlite::Sqlite;
use diesel::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::{placeholders, Backend, BackendConn, Conn, DbResult, SqliteConn};

use super::samples::{rollups_of, RollupRow, SampleRow};

/// Samples per SQLite statement (4 binds each; SQLite allows 32,766 binds a statement).
const SQLITE_SAMPLE_CHUNK: usize = 4_000;
/// Rollup rows per SQLite statement (8 binds each).
const SQLITE_ROLLUP_CHUNK: usize = 2_000;

const INSERT_SAMPLES: &str = "INSERT INTO metric_samples (server_id, metric, at_ms, value) ";

const INSERT_ROLLUPS: &str = "INSERT INTO metric_rollups (server_id, metric, tier_secs, \
     bucket_ms, sample_count, value_sum, value_min, value_max) ";

/// PostgreSQL: the samples of a batch, one array per column.
const UNNEST_SAMPLES: &str =
    "SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::float8[])";

/// PostgreSQL: the rollup rows of a batch, one array per column.
const UNNEST_ROLLUPS: &str = "SELECT * FROM UNNEST($1::text[], $2::text[], $3::integer[], \
     $4::bigint[], $5::bigint[], $6::float8[], $7::float8[], $8::float8[])";

/// Adds new rollup rows to existing buckets. The one place the SQL differs:
/// SQLite's two-argument MIN/MAX are LEAST/GREATEST on PostgreSQL.
fn merge_rollups(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            " ON CONFLICT (server_id, metric, tier_secs, bucket_ms) DO UPDATE SET \
             sample_count = metric_rollups.sample_count + excluded.sample_count, \
             value_sum = metric_rollups.value_sum + excluded.value_sum, \
             value_min = MIN(metric_rollups.value_min, excluded.value_min), \
             value_max = MAX(metric_rollups.value_max, excluded.value_max)"
        }
        Backend::Postgres => {
            " ON CONFLICT (server_id, metric, tier_secs, bucket_ms) DO UPDATE SET \
             sample_count = metric_rollups.sample_count + excluded.sample_count, \
             value_sum = metric_rollups.value_sum + excluded.value_sum, \
             value_min = LEAST(metric_rollups.value_min, excluded.value_min), \
             value_max = GREATEST(metric_rollups.value_max, excluded.value_max)"
        }
    }
}

/// Database methods.
impl SampleRow {
    /// Stores a batch of samples and adds them to their rollup buckets (in the
    /// caller's transaction, so a batch and its rollups commit together).
    pub async fn insert_batch(conn: &mut Conn, samples: &[SampleRow]) -> DbResult<()> {
        if samples.is_empty() {
            return Ok(());
        }
        let rollups = rollups_of(samples);
        match conn.backend_conn() {
            BackendConn::Postgres(conn) => insert_batch_postgres(conn, samples, &rollups).await?,
            BackendConn::Sqlite(conn) => insert_batch_sqlite(conn, samples, &rollups).await?,
        }
        Ok(())
    }
}

/// PostgreSQL: one statement for the samples and one for the rollups, whatever the batch size.
async fn insert_batch_postgres(
    conn: &mut AsyncPgConnection,
    samples: &[SampleRow],
    rollups: &[RollupRow],
) -> QueryResult<()> {
    let samples = SampleColumns::of(samples);
    let rollups = RollupColumns::of(rollups);
    let insert_samples = format!("{INSERT_SAMPLES}{UNNEST_SAMPLES}");
    let upsert_rollups = format!(
        "{INSERT_ROLLUPS}{UNNEST_ROLLUPS}{}",
        merge_rollups(Backend::Postgres)
    );
    diesel::sql_query(&insert_samples)
        .bind::<Array<Text>, _>(&samples.server_ids)
        .bind::<Array<Text>, _>(&samples.metrics)
        .bind::<Array<BigInt>, _>(&samples.times)
        .bind::<Array<Double>, _>(&samples.values)
        .execute(conn)
        .await?;
    diesel::sql_query(&upsert_rollups)
        .bind::<Array<Text>, _>(&rollups.server_ids)
        .bind::<Array<Text>, _>(&rollups.metrics)
        .bind::<Array<Integer>, _>(&rollups.tiers)
        .bind::<Array<BigInt>, _>(&rollups.buckets)
        .bind::<Array<BigInt>, _>(&rollups.counts)
        .bind::<Array<Double>, _>(&rollups.sums)
        .bind::<Array<Double>, _>(&rollups.mins)
        .bind::<Array<Double>, _>(&rollups.maxes)
        .execute(conn)
        .await?;
    Ok(())
}

/// SQLite: multi-row statements with one placeholder per value.
async fn insert_batch_sqlite(
    conn: &mut SqliteConn,
    samples: &[SampleRow],
    rollups: &[RollupRow],
) -> QueryResult<()> {
    for chunk in samples.chunks(SQLITE_SAMPLE_CHUNK) {
        let sql = format!("{INSERT_SAMPLES}VALUES {}", placeholders(chunk.len(), 4));
        let mut query = diesel::sql_query(sql).into_boxed::<Sqlite>();
        for sample in chunk {
            query = query
                .bind::<Text, _>(sample.server_id.as_str())
                .bind::<Text, _>(sample.metric.as_str())
                .bind::<BigInt, _>(sample.at_ms)
                .bind::<Double, _>(sample.value);
        }
        query.execute(conn).await?;
    }
    for chunk in rollups.chunks(SQLITE_ROLLUP_CHUNK) {
        let sql = format!(
            "{INSERT_ROLLUPS}VALUES {}{}",
            placeholders(chunk.len(), 8),
            merge_rollups(Backend::Sqlite)
        );
        let mut query = diesel::sql_query(sql).into_boxed::<Sqlite>();
        for rollup in chunk {
            query = query
                .bind::<Text, _>(rollup.server_id.as_str())
                .bind::<Text, _>(rollup.metric.as_str())
                .bind::<Integer, _>(rollup.tier_secs)
                .bind::<BigInt, _>(rollup.bucket_ms)
                .bind::<BigInt, _>(rollup.sample_count)
                .bind::<Double, _>(rollup.value_sum)
                .bind::<Double, _>(rollup.value_min)
                .bind::<Double, _>(rollup.value_max);
        }
        query.execute(conn).await?;
    }
    Ok(())
}

/// Samples as one array per column, for PostgreSQL's `UNNEST`.
struct SampleColumns<'a> {
    server_ids: Vec<&'a str>,
    metrics: Vec<&'a str>,
    times: Vec<i64>,
    values: Vec<f64>,
}

impl<'a> SampleColumns<'a> {
    fn of(samples: &'a [SampleRow]) -> Self {
        Self {
            server_ids: samples.iter().map(|s| s.server_id.as_str()).collect(),
            metrics: samples.iter().map(|s| s.metric.as_str()).collect(),
            times: samples.iter().map(|s| s.at_ms).collect(),
            values: samples.iter().map(|s| s.value).collect(),
        }
    }
}

/// Rollup rows as one array per column, for PostgreSQL's `UNNEST`.
struct RollupColumns<'a> {
    server_ids: Vec<&'a str>,
    metrics: Vec<&'a str>,
    tiers: Vec<i32>,
    buckets: Vec<i64>,
    counts: Vec<i64>,
    sums: Vec<f64>,
    mins: Vec<f64>,
    maxes: Vec<f64>,
}

impl<'a> RollupColumns<'a> {
    fn of(rollups: &'a [RollupRow]) -> Self {
        Self {
            server_ids: rollups.iter().map(|r| r.server_id.as_str()).collect(),
            metrics: rollups.iter().map(|r| r.metric.as_str()).collect(),
            tiers: rollups.iter().map(|r| r.tier_secs).collect(),
            buckets: rollups.iter().map(|r| r.bucket_ms).collect(),
            counts: rollups.iter().map(|r| r.sample_count).collect(),
            sums: rollups.iter().map(|r| r.value_sum).collect(),
            mins: rollups.iter().map(|r| r.value_min).collect(),
            maxes: rollups.iter().map(|r| r.value_max).collect(),
        }
    }
}
