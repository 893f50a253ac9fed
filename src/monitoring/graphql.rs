//! GraphQL for metrics, agents' reports, the dashboard and the live streams
//! of samples and status changes (alerts are in `alerts::graphql`).

use async_graphql::{
    Context, Enum, InputObject, Object, OneofObject, SimpleObject, Subscription, ID,
};
use chrono::{DateTime, Utc};
use futures_util::{stream, Stream, StreamExt};

use crate::app::App;
use crate::audit::graphql::AuditEntry;
use crate::auth::Session;
use crate::error::{AppError, AppResult, GqlResult, GraphqlError};
use crate::graphql::{utc, ContextExt};
use crate::projects::model::ProjectRole;
use crate::runs::graphql::Run;
use crate::servers::graphql::Server;
use crate::servers::model::{ServerRow, ServerStatus};
use crate::servers::service as servers;

use super::alerts::graphql::Alert;
use super::dashboard;
use super::ingest::{self, MetricBatch};
use super::monitor::{status_topic, StatusChange};
use super::samples::{
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

/// One sample as an agent reports it.
#[derive(InputObject)]
pub struct SampleInput {
    /// Metric name (letters, digits, `_ . : / -`).
    metric: String,
    /// Value.
    value: f64,
    /// When it was measured; default now.
    at: Option<DateTime<Utc>>,
}

/// Input of `reportMetrics`.
#[derive(InputObject)]
pub struct ReportMetricsInput {
    /// The server the agent reports for (must match its token).
    server_id: ID,
    /// Up to 10,000 samples.
    samples: Vec<SampleInput>,
}

/// Result of `reportMetrics`.
#[derive(SimpleObject)]
pub struct ReportMetricsPayload {
    /// Samples stored.
    accepted: i32,
}

/// A live sample.
#[derive(SimpleObject)]
pub struct MetricSample {
    /// The server.
    server_id: ID,
    /// Metric name.
    metric: String,
    /// Value.
    value: f64,
    /// When it was measured.
    at: DateTime<Utc>,
}

/// A server's status change.
#[derive(SimpleObject)]
pub struct ServerStatusEvent {
    /// The server.
    server_id: ID,
    /// Its name.
    name: String,
    /// The new status.
    status: ServerStatus,
    /// When it changed.
    changed_at: DateTime<Utc>,
    /// What the probe said (never a password).
    message: String,
}

/// The project dashboard.
pub struct Dashboard(dashboard::DashboardData);

/// Servers by status, firing alerts, recent activity, recent runs and pass rate of a project.
#[Object]
impl Dashboard {
    /// Servers that are up.
    async fn servers_up(&self) -> i32 {
        self.0.count(ServerStatus::Up)
    }
    /// Servers that are down.
    async fn servers_down(&self) -> i32 {
        self.0.count(ServerStatus::Down)
    }
    /// Servers not probed yet.
    async fn servers_unknown(&self) -> i32 {
        self.0.count(ServerStatus::Unknown)
    }
    /// Every server of the project.
    async fn servers(&self) -> Vec<Server> {
        self.0.servers.iter().cloned().map(Server).collect()
    }
    /// Alerts firing now, newest first.
    async fn firing_alerts(&self) -> Vec<Alert> {
        self.0.firing.iter().cloned().map(Alert).collect()
    }
    /// The newest entries of the audit trail.
    async fn recent_activity(&self) -> Vec<AuditEntry> {
        self.0.activity.iter().cloned().map(AuditEntry).collect()
    }
    /// The project's newest runs (at most 10), newest first.
    async fn recent_runs(&self) -> Vec<Run> {
        self.0.runs.iter().cloned().map(Run).collect()
    }
    /// Runs finished in the last 7 days.
    async fn runs_last_7_days(&self) -> i64 {
        self.0.finished.runs
    }
    /// Percentage of the cases executed by runs finished in the last 7 days that
    /// passed (skipped cases left out), as in run reports; null when none ran.
    async fn pass_rate_last_7_days(&self) -> Option<f64> {
        self.0.finished.pass_rate()
    }
}

/// Monitoring queries.
#[derive(Default)]
pub struct MonitoringQuery;

#[Object]
impl MonitoringQuery {
    /// Servers by status, firing alerts, recent activity, recent runs and pass rate of a project.
    async fn dashboard(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project.")] project_id: ID,
    ) -> GqlResult<Dashboard> {
        let access = ctx.project_access(&project_id, ProjectRole::Viewer).await?;
        Ok(Dashboard(dashboard::load(ctx.app(), &access).await?))
    }
}

/// Monitoring mutations.
#[derive(Default)]
pub struct MonitoringMutation;

#[Object]
impl MonitoringMutation {
    /// Stores samples pushed by an agent; authenticated by the server's agent token
    /// (`Authorization: Bearer <agent token>`), not by a user.
    async fn report_metrics(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The server and its samples.")] input: ReportMetricsInput,
    ) -> GqlResult<ReportMetricsPayload> {
        let app = ctx.app();
        let bearer = ctx.data_opt::<Session>().and_then(Session::bearer);
        let server = servers::server_of_agent_token(app, bearer).await?;
        if server.id != input.server_id.0 {
            return Err(
                AppError::Forbidden("the agent token belongs to another server".into()).into(),
            );
        }
        let now_ms = Utc::now().timestamp_millis();
        let rows = ingest::rows(
            &server.id,
            input
                .samples
                .into_iter()
                .map(|s| (s.metric, s.value, s.at.map_or(now_ms, ingest::epoch_ms))),
        );
        ingest::validate(&rows, now_ms, ingest::oldest_accepted_ms(app, now_ms))?;
        let accepted = ingest::ingest(app, &server.id, rows).await?;
        Ok(ReportMetricsPayload {
            accepted: i32::try_from(accepted).unwrap_or(i32::MAX),
        })
    }
}

/// Monitoring subscriptions.
#[derive(Default)]
pub struct MonitoringSubscription;

#[Subscription]
impl MonitoringSubscription {
    /// A server's samples as they arrive.
    async fn server_metrics(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The server.")] server_id: ID,
    ) -> Result<impl Stream<Item = MetricSample>, GraphqlError> {
        let (server, _) = ctx
            .object_access::<ServerRow>(&server_id, ProjectRole::Viewer)
            .await?;
        let batches = ctx
            .app()
            .bus
            .subscribe_json::<MetricBatch>(&ingest::metrics_topic(&server.id));
        Ok(batches.flat_map(|batch| {
            stream::iter(batch.samples.into_iter().map(|s| MetricSample {
                server_id: ID(s.server_id),
                metric: s.metric,
                value: s.value,
                at: DateTime::from_timestamp_millis(s.at_ms).unwrap_or_default(),
            }))
        }))
    }

    /// Up/down changes of a project's servers.
    async fn server_status(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project.")] project_id: ID,
    ) -> Result<impl Stream<Item = ServerStatusEvent>, GraphqlError> {
        let access = ctx.project_access(&project_id, ProjectRole::Viewer).await?;
        let changes = ctx
            .app()
            .bus
            .subscribe_json::<StatusChange>(&status_topic(access.project_id()));
        Ok(changes.map(|c| ServerStatusEvent {
            server_id: ID(c.server_id),
            name: c.name,
            status: c.status,
            changed_at: utc(c.changed_at),
            message: c.message,
        }))
    }
}
