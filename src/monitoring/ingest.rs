//! The one way samples enter storage: checked, stored with their rollups, then published.

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::error::{AppError, AppResult};

use super::samples::SampleRow;

/// Most samples in one `reportMetrics` call.
pub const MAX_BATCH: usize = 10_000;
/// Longest metric name.
const MAX_METRIC_LENGTH: usize = 128;
/// How far in the future a sample's time may lie (clock skew), in milliseconds.
const MAX_FUTURE_MS: i64 = 5 * 60 * 1000;

/// The event topic carrying a server's new samples.
pub fn metrics_topic(server_id: &str) -> String {
    format!("servers.{server_id}.metrics")
}

/// A batch of samples of one server, as published.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetricBatch {
    /// The server.
    pub server_id: String,
    /// The samples, in the order they were reported.
    pub samples: Vec<SampleRow>,
}

/// Checks metric names, values and times (`BAD_USER_INPUT` naming the sample at fault).
pub fn validate(samples: &[SampleRow], now_ms: i64, oldest_ms: i64) -> AppResult<()> {
    if samples.len() > MAX_BATCH {
        return Err(AppError::bad_input(
            "samples",
            format!("at most {MAX_BATCH} samples a call"),
        ));
    }
    for (index, sample) in samples.iter().enumerate() {
        if !is_metric_name(&sample.metric) {
            return Err(AppError::bad_input(
                &format!("samples[{index}].metric"),
                "metric names are 1 to 128 characters of letters, digits and _ . : / -",
            ));
        }
        if !sample.value.is_finite() {
            return Err(AppError::bad_input(
                &format!("samples[{index}].value"),
                "values must be finite numbers",
            ));
        }
        if sample.at_ms > now_ms + MAX_FUTURE_MS || sample.at_ms < oldest_ms {
            return Err(AppError::bad_input(
                &format!("samples[{index}].at"),
                "the time must lie within the raw retention window and not in the future",
            ));
        }
    }
    Ok(())
}

/// Whether `name` is a well-formed metric name.
pub fn is_metric_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_METRIC_LENGTH
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '/' | '-'))
}

/// Stores one server's samples (and their rollups), then streams them to subscribers.
pub async fn ingest(app: &App, server_id: &str, samples: Vec<SampleRow>) -> AppResult<usize> {
    if samples.is_empty() {
        return Ok(0);
    }
    app.db
        .transaction(async |conn| SampleRow::insert_batch(conn, &samples).await)
        .await?;
    let count = samples.len();
    let batch = MetricBatch {
        server_id: server_id.to_owned(),
        samples,
    };
    // Stored first; a lost event only delays what `metrics` reads anyway.
    if let Err(error) = app
        .bus
        .publish_json(&metrics_topic(server_id), &batch)
        .await
    {
        tracing::warn!(%error, "samples stored but not published");
    }
    Ok(count)
}

/// Oldest sample time accepted now: the start of the raw retention window.
pub fn oldest_accepted_ms(app: &App, now_ms: i64) -> i64 {
    now_ms - i64::from(app.config.monitor.raw_retention_hours) * 3_600_000
}

/// `at` in epoch milliseconds.
pub fn epoch_ms(at: chrono::DateTime<chrono::Utc>) -> i64 {
    at.timestamp_millis()
}

/// Builds rows for one server.
pub fn rows(
    server_id: &str,
    samples: impl IntoIterator<Item = (String, f64, i64)>,
) -> Vec<SampleRow> {
    samples
        .into_iter()
        .map(|(metric, value, at_ms)| SampleRow {
            server_id: server_id.to_owned(),
            metric,
            at_ms,
            value,
        })
        .collect()
}
