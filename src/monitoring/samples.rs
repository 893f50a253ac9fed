//! Sample and rollup rows, and the queries over them.
//!
//! Times are epoch milliseconds. Rollups hold count, sum, min and max per
//! bucket, so buckets of any tier combine exactly into wider steps. Every
//! bucket, stored or read, starts on a multiple of its width since the epoch
//! (`floor(ts / step) * step`), so a step's edges are the same in every tier and
//! do not move with the range asked for.

use std::collections::HashMap;

use diesel::{ExpressionMethods, OptionalExtension, QueryDsl};
use diesel::{Insertable, Queryable};

use crate::db::schema::{metric_rollups, metric_samples};
use crate::db::{Conn, DbResult};
use crate::db_run;

/// The 1-minute tier, in seconds.
pub const MINUTE_TIER_SECS: i32 = 60;
/// The 1-hour tier, in seconds.
pub const HOUR_TIER_SECS: i32 = 3_600;

/// One stored raw sample.
#[derive(Debug, Clone, PartialEq, Queryable, Insertable, serde::Serialize, serde::Deserialize)]
#[diesel(table_name = metric_samples)]
pub struct SampleRow {
    pub server_id: String,
    pub metric: String,
    pub at_ms: i64,
    pub value: f64,
}

/// One stored rollup bucket.
#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = metric_rollups)]
pub struct RollupRow {
    pub server_id: String,
    pub metric: String,
    pub tier_secs: i32,
    pub bucket_ms: i64,
    pub sample_count: i64,
    pub value_sum: f64,
    pub value_min: f64,
    pub value_max: f64,
}

/// An aggregate over one step of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// Start of the step, epoch milliseconds.
    pub start_ms: i64,
    /// Samples in the step.
    pub count: i64,
    /// Sum of their values.
    pub sum: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

impl Bucket {
    fn merge(&mut self, count: i64, sum: f64, min: f64, max: f64) {
        self.count += count;
        self.sum += sum;
        self.min = self.min.min(min);
        self.max = self.max.max(max);
    }
}

/// The rollup rows a batch of samples adds to, aggregated per bucket.
pub fn rollups_of(samples: &[SampleRow]) -> Vec<RollupRow> {
    let mut buckets: HashMap<(&str, &str, i32, i64), Bucket> = HashMap::new();
    for sample in samples {
        for tier in [MINUTE_TIER_SECS, HOUR_TIER_SECS] {
            let start = step_start(sample.at_ms, i64::from(tier) * 1000);
            buckets
                .entry((&sample.server_id, &sample.metric, tier, start))
                .and_modify(|b| b.merge(1, sample.value, sample.value, sample.value))
                .or_insert(Bucket {
                    start_ms: start,
                    count: 1,
                    sum: sample.value,
                    min: sample.value,
                    max: sample.value,
                });
        }
    }
    buckets
        .into_iter()
        .map(|((server_id, metric, tier_secs, bucket_ms), b)| RollupRow {
            server_id: server_id.to_owned(),
            metric: metric.to_owned(),
            tier_secs,
            bucket_ms,
            sample_count: b.count,
            value_sum: b.sum,
            value_min: b.min,
            value_max: b.max,
        })
        .collect()
}

/// Database methods.
impl SampleRow {
    /// Raw samples of a series in `[from_ms, to_ms)`, oldest first.
    pub async fn range(
        conn: &mut Conn,
        server_id: &str,
        metric: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> DbResult<Vec<(i64, f64)>> {
        db_run!(conn, |conn| {
            Ok(metric_samples::table
                .filter(metric_samples::server_id.eq(server_id))
                .filter(metric_samples::metric.eq(metric))
                .filter(metric_samples::at_ms.ge(from_ms))
                .filter(metric_samples::at_ms.lt(to_ms))
                .order(metric_samples::at_ms.asc())
                .select((metric_samples::at_ms, metric_samples::value))
                .load(conn)
                .await?)
        })
    }

    /// The newest sample of a series not older than `since_ms`.
    pub async fn latest(
        conn: &mut Conn,
        server_id: &str,
        metric: &str,
        since_ms: i64,
    ) -> DbResult<Option<(i64, f64)>> {
        db_run!(conn, |conn| {
            Ok(metric_samples::table
                .filter(metric_samples::server_id.eq(server_id))
                .filter(metric_samples::metric.eq(metric))
                .filter(metric_samples::at_ms.ge(since_ms))
                .order(metric_samples::at_ms.desc())
                .select((metric_samples::at_ms, metric_samples::value))
                .first(conn)
                .await
                .optional()?)
        })
    }

    /// Metric names a server has samples of since `since_ms`.
    pub async fn metric_names(
        conn: &mut Conn,
        server_id: &str,
        since_ms: i64,
    ) -> DbResult<Vec<String>> {
        db_run!(conn, |conn| {
            Ok(metric_rollups::table
                .filter(metric_rollups::server_id.eq(server_id))
                .filter(metric_rollups::tier_secs.eq(HOUR_TIER_SECS))
                .filter(metric_rollups::bucket_ms.ge(since_ms))
                .select(metric_rollups::metric)
                .distinct()
                .order(metric_rollups::metric.asc())
                .load(conn)
                .await?)
        })
    }

    /// Deletes raw samples older than `raw_before_ms` and rollups older than their tier's cutoff.
    pub async fn purge(
        conn: &mut Conn,
        raw_before_ms: i64,
        minute_before_ms: i64,
        hour_before_ms: i64,
    ) -> DbResult<usize> {
        db_run!(conn, |conn| {
            let mut deleted = diesel::delete(
                metric_samples::table.filter(metric_samples::at_ms.lt(raw_before_ms)),
            )
            .execute(conn)
            .await?;
            for (tier, before) in [
                (MINUTE_TIER_SECS, minute_before_ms),
                (HOUR_TIER_SECS, hour_before_ms),
            ] {
                deleted += diesel::delete(
                    metric_rollups::table
                        .filter(metric_rollups::tier_secs.eq(tier))
                        .filter(metric_rollups::bucket_ms.lt(before)),
                )
                .execute(conn)
                .await?;
            }
            Ok(deleted)
        })
    }
}

/// Database methods.
impl RollupRow {
    /// Buckets of one tier of a series in `[from_ms, to_ms)`, combined into steps of `step_ms`
    /// (a multiple of the tier) aligned on the epoch.
    pub async fn range(
        conn: &mut Conn,
        server_id: &str,
        metric: &str,
        tier_secs: i32,
        from_ms: i64,
        to_ms: i64,
        step_ms: i64,
    ) -> DbResult<Vec<Bucket>> {
        let rows: Vec<(i64, i64, f64, f64, f64)> = db_run!(conn, |conn| {
            Ok::<_, crate::db::DbError>(
                metric_rollups::table
                    .filter(metric_rollups::server_id.eq(server_id))
                    .filter(metric_rollups::metric.eq(metric))
                    .filter(metric_rollups::tier_secs.eq(tier_secs))
                    .filter(metric_rollups::bucket_ms.ge(from_ms))
                    .filter(metric_rollups::bucket_ms.lt(to_ms))
                    .order(metric_rollups::bucket_ms.asc())
                    .select((
                        metric_rollups::bucket_ms,
                        metric_rollups::sample_count,
                        metric_rollups::value_sum,
                        metric_rollups::value_min,
                        metric_rollups::value_max,
                    ))
                    .load(conn)
                    .await?,
            )
        })?;
        Ok(combine(rows.into_iter(), step_ms))
    }
}

/// Raw points combined into steps of `step_ms` aligned on the epoch.
pub fn raw_buckets(points: Vec<(i64, f64)>, step_ms: i64) -> Vec<Bucket> {
    combine(points.into_iter().map(|(at, v)| (at, 1, v, v, v)), step_ms)
}

/// The start of the step of width `step_ms` that holds `at_ms`: a multiple of the
/// step since the epoch.
pub fn step_start(at_ms: i64, step_ms: i64) -> i64 {
    at_ms.div_euclid(step_ms) * step_ms
}

/// Combines ordered (time, count, sum, min, max) rows into steps aligned on the
/// epoch; empty steps are left out.
fn combine(rows: impl Iterator<Item = (i64, i64, f64, f64, f64)>, step_ms: i64) -> Vec<Bucket> {
    let mut out: Vec<Bucket> = Vec::new();
    for (at, count, sum, min, max) in rows {
        let start = step_start(at, step_ms);
        match out.last_mut() {
            Some(last) if last.start_ms == start => last.merge(count, sum, min, max),
            _ => out.push(Bucket {
                start_ms: start,
                count,
                sum,
                min,
                max,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at_ms: i64, value: f64) -> SampleRow {
        SampleRow {
            server_id: "s".into(),
            metric: "m".into(),
            at_ms,
            value,
        }
    }

    #[test]
    fn rollups_aggregate_per_tier_and_bucket() {
        let rollups = rollups_of(&[sample(0, 1.0), sample(59_999, 3.0), sample(60_000, 5.0)]);
        let minute: Vec<_> = rollups
            .iter()
            .filter(|r| r.tier_secs == MINUTE_TIER_SECS)
            .collect();
        assert_eq!(minute.len(), 2);
        let first = minute.iter().find(|r| r.bucket_ms == 0).unwrap();
        assert_eq!(
            (
                first.sample_count,
                first.value_sum,
                first.value_min,
                first.value_max
            ),
            (2, 4.0, 1.0, 3.0)
        );
        let hour: Vec<_> = rollups
            .iter()
            .filter(|r| r.tier_secs == HOUR_TIER_SECS)
            .collect();
        assert_eq!(hour.len(), 1);
        assert_eq!(hour[0].sample_count, 3);
    }

    #[test]
    fn raw_points_combine_into_steps() {
        let buckets = raw_buckets(vec![(1_000, 1.0), (5_000, 3.0), (12_000, 7.0)], 10_000);
        assert_eq!(buckets.len(), 2);
        assert_eq!(
            (buckets[0].count, buckets[0].min, buckets[0].max),
            (2, 1.0, 3.0)
        );
        assert_eq!(buckets[1].start_ms, 10_000);
    }

    #[test]
    fn steps_start_on_multiples_of_the_step_since_the_epoch() {
        assert_eq!(step_start(1_234_567, 300_000), 1_200_000);
        assert_eq!(step_start(-1, 60_000), -60_000);
        // Wherever the points begin, the edges are the same.
        let late = raw_buckets(vec![(420_000, 1.0), (650_000, 2.0)], 300_000);
        let starts: Vec<i64> = late.iter().map(|b| b.start_ms).collect();
        assert_eq!(starts, [300_000, 600_000]);
    }
}
