//! Logs (tracing) and Prometheus metrics.

use std::io::IsTerminal;
use std::time::Duration;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Starts logging to stderr; `RUST_LOG` filters (default `info`). Text lines
/// are coloured only when stderr is a terminal, so log files stay plain.
pub fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
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
    runs_finished: IntCounterVec,
    case_results: IntCounterVec,
    task_fires: IntCounterVec,
    probes: IntCounterVec,
    /// Events stored but not published (the bus failed or was too slow).
    pub events_unpublished: IntCounter,
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
        let build_info = IntGaugeVec::new(
            Opts::new(
                "tidewatch_build_info",
                "The running build: always 1, with the version as a label",
            ),
            &["version"],
        )
        .expect("metric definition");
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        let runs_finished = counter(
            "tidewatch_runs_finished_total",
            "Runs this node drove to an end, by final status",
            "status",
        );
        let case_results = counter(
            "tidewatch_case_results_total",
            "Case results this node stored, by status",
            "status",
        );
        let task_fires = counter(
            "tidewatch_task_fires_total",
            "Task fires this node settled, by outcome",
            "outcome",
        );
        let probes = counter(
            "tidewatch_probes_total",
            "Server probes this node ran, by result",
            "result",
        );
        let events_unpublished = IntCounter::new(
            "tidewatch_events_unpublished_total",
            "Events that could not be published in time (stored; subscribers read them from storage)",
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
            Box::new(build_info),
            Box::new(runs_finished.clone()),
            Box::new(case_results.clone()),
            Box::new(task_fires.clone()),
            Box::new(probes.clone()),
            Box::new(events_unpublished.clone()),
        ] {
            registry.register(collector).expect("unique metric names");
        }
        register_process_metrics(&registry);
        Self {
            registry,
            http_requests,
            http_duration,
            graphql_operations,
            graphql_duration,
            db_connections,
            probe_lateness,
            websocket_connections,
            runs_finished,
            case_results,
            task_fires,
            probes,
            events_unpublished,
        }
    }

    /// Counts a run that reached its final status (`PASSED`, `FAILED`, `CANCELLED` …).
    pub fn record_run_finished(&self, status: &str) {
        self.runs_finished.with_label_values(&[status]).inc();
    }

    /// Counts stored case results by status.
    pub fn record_case_results<'a>(&self, statuses: impl IntoIterator<Item = &'a str>) {
        for status in statuses {
            self.case_results.with_label_values(&[status]).inc();
        }
    }

    /// Counts a settled task fire by its outcome (`STARTED`, `SKIPPED`, `FAILED` …).
    pub fn record_task_fire(&self, outcome: &str) {
        self.task_fires.with_label_values(&[outcome]).inc();
    }

    /// Counts a finished probe: `up` when the server answered, else `down`.
    pub fn record_probe(&self, up: bool) {
        let result = if up { "up" } else { "down" };
        self.probes.with_label_values(&[result]).inc();
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

/// A counter with one label.
fn counter(name: &str, help: &str, label: &str) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), &[label]).expect("metric definition")
}

/// `process_*` (CPU, memory, open files, start time) where the platform offers them.
fn register_process_metrics(registry: &Registry) {
    #[cfg(target_os = "linux")]
    registry
        .register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))
        .expect("unique metric names");
    #[cfg(not(target_os = "linux"))]
    let _ = registry;
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
