//! Logs (tracing) and Prometheus metrics.

use std::time::Duration;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Starts logging to stderr; `RUST_LOG` filters (default `info`).
pub fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    // A second initialisation (tests build many apps in one process) is harmless.
    drop(installed);
}

/// The node's metrics, served at `/metrics`.
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    graphql_operations: IntCounterVec,
    graphql_duration: HistogramVec,
    db_connections: IntGaugeVec,
    probe_lateness: Histogram,
    /// WebSocket connections open now.
    pub websocket_connections: IntGauge,
}

impl Metrics {
    /// Registers every metric in a fresh registry.
    pub fn new() -> Self {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new(
                "tidewatch_http_requests_total",
                "HTTP requests by route and status",
            ),
            &["route", "status"],
        )
        .expect("metric definition");
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "tidewatch_http_request_duration_seconds",
                "HTTP request latency by route",
            ),
            &["route"],
        )
        .expect("metric definition");
        let graphql_operations = IntCounterVec::new(
            Opts::new(
                "tidewatch_graphql_operations_total",
                "GraphQL operations by root field and outcome",
            ),
            &["operation", "outcome"],
        )
        .expect("metric definition");
        let graphql_duration = HistogramVec::new(
            HistogramOpts::new(
                "tidewatch_graphql_operation_duration_seconds",
                "GraphQL operation latency by root field",
            ),
            &["operation"],
        )
        .expect("metric definition");
        let db_connections = IntGaugeVec::new(
            Opts::new(
                "tidewatch_db_pool_connections",
                "Database pool connections by state",
            ),
            &["state"],
        )
        .expect("metric definition");
        let probe_lateness = Histogram::with_opts(
            HistogramOpts::new(
                "tidewatch_probe_lateness_seconds",
                "How long after its due time each probe of this node started",
            )
            .buckets(vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
        )
        .expect("metric definition");
        let websocket_connections = IntGauge::new(
            "tidewatch_websocket_connections",
            "Open GraphQL WebSocket connections",
        )
        .expect("metric definition");
        for collector in [
            Box::new(http_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_duration.clone()),
            Box::new(graphql_operations.clone()),
            Box::new(graphql_duration.clone()),
            Box::new(db_connections.clone()),
            Box::new(probe_lateness.clone()),
            Box::new(websocket_connections.clone()),
        ] {
            registry.register(collector).expect("unique metric names");
        }
        Self {
            registry,
            http_requests,
            http_duration,
            graphql_operations,
            graphql_duration,
            db_connections,
            probe_lateness,
            websocket_connections,
        }
    }

    /// Counts one HTTP request.
    pub fn record_http(&self, route: &str, status: u16, elapsed: Duration) {
        self.http_requests
            .with_label_values(&[route, &status.to_string()])
            .inc();
        self.http_duration
            .with_label_values(&[route])
            .observe(elapsed.as_secs_f64());
    }

    /// Counts one GraphQL operation.
    pub fn record_graphql(&self, operation: &str, outcome: &str, elapsed: Duration) {
        self.graphql_operations
            .with_label_values(&[operation, outcome])
            .inc();
        self.graphql_duration
            .with_label_values(&[operation])
            .observe(elapsed.as_secs_f64());
    }

    /// Records how late a probe started after it was due.
    pub fn record_probe_lateness(&self, lateness: Duration) {
        self.probe_lateness.observe(lateness.as_secs_f64());
    }

    /// The Prometheus text exposition, with pool usage read now.
    pub fn render(&self, pool_in_use: usize, pool_idle: usize) -> String {
        self.db_connections
            .with_label_values(&["in_use"])
            .set(i64::try_from(pool_in_use).unwrap_or(i64::MAX));
        self.db_connections
            .with_label_values(&["idle"])
            .set(i64::try_from(pool_idle).unwrap_or(i64::MAX));
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .expect("text encoding of metrics");
        String::from_utf8(buffer).expect("metrics are UTF-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
