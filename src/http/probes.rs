//! `/health` (liveness), `/ready` (dependencies answer), `/metrics` (Prometheus).

use std::sync::Arc;
use std::time::Duration;

use poem::http::StatusCode;
use poem::web::{Data, Json};
use poem::{handler, IntoResponse, Response};
use serde_json::json;

use crate::app::App;

/// How long `/ready` waits for each dependency.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Liveness: the process answers.
#[handler]
pub async fn health(Data(app): Data<&Arc<App>>) -> Json<serde_json::Value> {
    Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "uptimeSeconds": app.started_at.elapsed().as_secs(),
    }))
}

/// Readiness: 200 when the database (and Redis, when configured) answer, else 503.
#[handler]
pub async fn ready(Data(app): Data<&Arc<App>>) -> Response {
    let database = check("database", app.db.ping()).await;
    let events = check("event bus", app.bus.ping()).await;
    let ready = database == "ok" && events == "ok";
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Json(json!({
        "status": if ready { "ready" } else { "unavailable" },
        "database": database,
        "events": events,
    }))
    .with_status(status)
    .into_response()
}

/// `ok`, `unavailable` or `timed out`; failures are logged.
async fn check<E: std::fmt::Display>(
    dependency: &str,
    probe: impl std::future::Future<Output = Result<(), E>>,
) -> &'static str {
    match tokio::time::timeout(READY_TIMEOUT, probe).await {
        Ok(Ok(())) => "ok",
        Ok(Err(error)) => {
            tracing::warn!(%error, dependency, "readiness check failed");
            "unavailable"
        }
        Err(_) => "timed out",
    }
}

/// Prometheus text format.
#[handler]
pub async fn metrics(Data(app): Data<&Arc<App>>) -> Response {
    let (in_use, idle) = app.db.pool_usage();
    app.metrics
        .render(in_use, idle)
        .with_content_type("text/plain; version=0.0.4")
        .into_response()
}
