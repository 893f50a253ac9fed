//! A server's metric history as GraphQL reads it: a range (a preset or two
//! ends) and a step give buckets, read from the sample tier that fits.

use async_graphql::{Enum, InputObject, OneofObject, SimpleObject};
use chrono::{DateTime, Utc};

use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::monitoring::samples::{
    raw_buckets, step_start, RollupRow, SampleRow, HOUR_TIER_SECS, MINUTE_TIER_SECS,
};

/// Most buckets one `metrics` call may return.
const MAX_BUCKETS: i64 = 10_000;
/// Default step candidates, in seconds; the smallest giving at most 400 buckets is used.
const DEFAULT_STEPS: &[i64] = &[10, 60, 300, 900, 3_600, 21_600, 86_400];

/// A preset time range ending now.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangePreset {
    /// The last hour.
    #[graphql(name = "LAST_1H")]
    Last1h,
    /// The last six hours.
    #[graphql(name = "LAST_6H")]
    Last6h,
    /// The last 24 hours.
    #[graphql(name = "LAST_24H")]
    Last24h,
    /// The last seven days.
    #[graphql(name = "LAST_7D")]
    Last7d,
}

/// A time range given by its ends.
#[derive(InputObject)]
pub struct TimeWindow {
    /// Start (inclusive).
    from: DateTime<Utc>,
    /// End (exclusive).
    to: DateTime<Utc>,
}

/// A time range: a preset ending now, or explicit ends.
#[derive(OneofObject)]
pub enum MetricRange {
    /// A preset ending now.
    Last(RangePreset),
    /// Explicit ends.
    Between(TimeWindow),
}

/// One bucket of a metric's history.
#[derive(SimpleObject)]
pub struct MetricBucket {
    /// Start of the bucket: a multiple of the step since the epoch (the first bucket
    /// may hold only the part of its step that lies inside the range).
    at: DateTime<Utc>,
    /// Mean of the samples in it.
    avg: f64,
    /// Smallest sample.
    min: f64,
    /// Largest sample.
    max: f64,
    /// Number of samples.
    count: i64,
}

/// Reads a metric's history from the tier that fits the step.
pub async fn metric_buckets(
    app: &App,
    server_id: &str,
    metric: &str,
    range: MetricRange,
    step: Option<i32>,
) -> AppResult<Vec<MetricBucket>> {
    let now_ms = Utc::now().timestamp_millis();
    let (from_ms, to_ms) = match range {
        MetricRange::Last(preset) => {
            let hours = match preset {
                RangePreset::Last1h => 1,
                RangePreset::Last6h => 6,
                RangePreset::Last24h => 24,
                RangePreset::Last7d => 168,
            };
            (now_ms - hours * 3_600_000, now_ms + 1)
        }
        MetricRange::Between(window) => {
            (window.from.timestamp_millis(), window.to.timestamp_millis())
        }
    };
    if to_ms <= from_ms {
        return Err(AppError::bad_input("range", "`to` must lie after `from`"));
    }
    let span_secs = (to_ms - from_ms + 999) / 1000;
    let step_secs = match step {
        Some(step) if step < 1 => {
            return Err(AppError::bad_input(
                "step",
                "the step must be at least 1 second",
            ))
        }
        Some(step) => i64::from(step),
        None => DEFAULT_STEPS
            .iter()
            .copied()
            .find(|s| span_secs / s <= 400)
            .unwrap_or(86_400),
    };
    if span_secs / step_secs > MAX_BUCKETS {
        return Err(AppError::bad_input(
            "step",
            format!("the step gives more than {MAX_BUCKETS} buckets"),
        ));
    }
    let step_ms = step_secs * 1000;
    let monitor = &app.config.monitor;
    let raw_since = now_ms - i64::from(monitor.raw_retention_hours) * 3_600_000;
    let minute_since = now_ms - i64::from(monitor.minute_retention_days) * 86_400_000;
    let buckets = if step_secs % 60 != 0 && from_ms >= raw_since {
        raw_buckets(
            SampleRow::range(&mut app.db.conn().await?, server_id, metric, from_ms, to_ms).await?,
            step_ms,
        )
    } else {
        let tier = if step_secs % 3_600 != 0 && from_ms >= minute_since {
            MINUTE_TIER_SECS
        } else {
            HOUR_TIER_SECS
        };
        let start = step_start(from_ms, i64::from(tier) * 1000);
        let mut conn = app.db.conn().await?;
        RollupRow::range(&mut conn, server_id, metric, tier, start, to_ms, step_ms).await?
    };
    Ok(buckets
        .into_iter()
        .map(|b| MetricBucket {
            at: DateTime::from_timestamp_millis(b.start_ms).unwrap_or_default(),
            avg: b.sum / b.count.max(1) as f64,
            min: b.min,
            max: b.max,
            count: b.count,
        })
        .collect())
}
