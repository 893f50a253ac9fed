//! The monitor's background work: this node's host metrics, periodic probes,
//! alert evaluation and retention. Started with the HTTP server, stopped by
//! [`App::shutdown_requested`].
//!
//! Probes run concurrently (bounded by `TIDEWATCH_PROBE_CONCURRENCY`), each
//! bounded by its timeout; the scheduler never waits for them, so a dead
//! target costs one timeout of one task and the next tick starts on time.
//! Each node samples itself into a built-in `HOST` server per project, named
//! after the node. With several nodes on one database, each probe is claimed
//! by one node and alert evaluation and purging are held by one node at a
//! time (see [`super::claims`]), so every node can run the monitor.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::app::App;
use crate::db::stored::Json;
use crate::db::{now, DbResult};
use crate::servers::model::{projects_without_node_server, ServerRow, ServerStatus};
use crate::servers::probe::{self, ServerKind};
use crate::servers::service::{target_of, DEFAULT_PROBE_INTERVAL_SECS};

use super::claims::{claim_due_probes, hold_duty, release_duty, ClaimedProbe};
use super::host_metrics::HostSampler;
use super::ingest::ingest;
use super::samples::SampleRow;

/// How often old samples and rollups are purged (by one node).
const PURGE_EVERY: Duration = Duration::from_secs(600);
/// How long the alert duty's lease lasts without renewal.
const ALERT_LEASE: Duration = Duration::from_secs(5);
/// The duty of evaluating alert rules.
const ALERT_DUTY: &str = "alerts";
/// The duty of purging old samples.
const PURGE_DUTY: &str = "purge";

/// The event topic carrying a project's server status changes.
pub fn status_topic(project_id: &str) -> String {
    format!("projects.{project_id}.server-status")
}

/// A server's status changed; the payload of the live event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusChange {
    /// The server.
    pub server_id: String,
    /// Its project.
    pub project_id: String,
    /// Its name.
    pub name: String,
    /// The new status.
    pub status: ServerStatus,
    /// When it changed.
    pub changed_at: chrono::NaiveDateTime,
    /// What the probe said.
    pub message: String,
}

/// Starts the monitor's tasks unless the configuration turns them off.
pub fn spawn(app: Arc<App>) {
    if !app.config.monitor.monitor_enabled {
        return;
    }
    tokio::spawn(reseal_credentials(app.clone()));
    tokio::spawn(until_shutdown(app.clone(), sample_host(app.clone())));
    tokio::spawn(until_shutdown(app.clone(), schedule_probes(app.clone())));
    let alerts_app = app.clone();
    tokio::spawn(async move {
        until_shutdown(alerts_app.clone(), evaluate_alerts(alerts_app.clone())).await;
        release_alert_duty(&alerts_app).await;
    });
    tokio::spawn(until_shutdown(app.clone(), purge_old_samples(app)));
}

async fn reseal_credentials(app: Arc<App>) {
    match crate::servers::credentials::reseal_all(&app).await {
        Ok(0) => {}
        Ok(count) => tracing::info!(count, "credentials resealed with the current key"),
        Err(error) => tracing::warn!(%error, "resealing credentials failed"),
    }
}

async fn until_shutdown(app: Arc<App>, work: impl std::future::Future<Output = ()>) {
    tokio::select! {
        () = app.shutdown_requested() => {}
        () = work => {}
    }
}

/// The name this node's built-in servers carry.
fn node_name() -> String {
    sysinfo::System::host_name().unwrap_or_else(|| "tidewatch-node".to_owned())
}

async fn sample_host(app: Arc<App>) {
    let node = node_name();
    let sampler = Arc::new(Mutex::new(HostSampler::new()));
    let mut interval = tokio::time::interval(Duration::from_millis(
        app.config.monitor.host_sample_ms.max(100),
    ));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let sampler = sampler.clone();
        let Ok(samples) = tokio::task::spawn_blocking(move || {
            sampler.lock().map(|mut s| s.sample()).unwrap_or_default()
        })
        .await
        else {
            continue;
        };
        if let Err(error) = record_host(&app, &node, samples).await {
            tracing::warn!(%error, "recording host metrics failed");
        }
    }
}

async fn record_host(
    app: &App,
    node: &str,
    samples: Vec<super::host_metrics::Sample>,
) -> anyhow::Result<()> {
    let mut conn = app.db.conn().await?;
    for project_id in projects_without_node_server(&mut conn, node).await? {
        let at = now();
        let row = ServerRow {
            id: uuid::Uuid::now_v7().to_string(),
            project_id,
            kind: ServerKind::Host,
            name: format!("node {node}"),
            tags: Json(vec!["tidewatch-node".to_owned()]),
            address: node.to_owned(),
            database_name: None,
            credential_id: None,
            probe_interval_secs: DEFAULT_PROBE_INTERVAL_SECS,
            status: ServerStatus::Up,
            status_changed_at: Some(at),
            last_checked_at: Some(at),
            node_name: Some(node.to_owned()),
            agent_token_hash: None,
            created_at: at,
            updated_at: at,
        };
        if let Err(error) = row.insert(&mut conn).await {
            tracing::warn!(%error, "creating the built-in host server failed");
        }
    }
    let servers = ServerRow::list_for_node(&mut conn, node).await?;
    drop(conn);
    let at_ms = chrono::Utc::now().timestamp_millis();
    for server in servers {
        let rows = samples
            .iter()
            .map(|s| SampleRow {
                server_id: server.id.clone(),
                metric: s.metric.clone(),
                at_ms,
                value: s.value,
            })
            .collect();
        ingest(app, &server.id, rows).await?;
    }
    Ok(())
}

async fn schedule_probes(app: Arc<App>) {
    let in_flight: Arc<Mutex<HashSet<String>>> = Arc::default();
    let permits = Arc::new(Semaphore::new(app.config.monitor.probe_concurrency.max(1)));
    let mut running = JoinSet::new();
    let mut interval = tokio::time::interval(Duration::from_millis(
        app.config.monitor.monitor_tick_ms.max(50),
    ));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        while running.try_join_next().is_some() {}
        // Claim only what can start now; the rest stays due for this node's next tick or another node.
        let room = i64::try_from(permits.available_permits()).unwrap_or(i64::MAX);
        let now_ms = chrono::Utc::now().timestamp_millis();
        let (claimed, servers) = match claim_servers(&app, now_ms, room).await {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(%error, "claiming due probes failed");
                continue;
            }
        };
        for server in servers {
            if let Some(claim) = claimed.iter().find(|c| c.id == server.id) {
                let due_ms = claim.next_probe_ms - i64::from(server.probe_interval_secs) * 1000;
                let late_ms = (now_ms - due_ms).max(0).unsigned_abs();
                app.metrics
                    .record_probe_lateness(Duration::from_millis(late_ms));
            }
            let fresh = in_flight
                .lock()
                .is_ok_and(|mut set| set.insert(server.id.clone()));
            if !fresh {
                continue;
            }
            let (app, in_flight, permits) = (app.clone(), in_flight.clone(), permits.clone());
            running.spawn(async move {
                if let Ok(_permit) = permits.acquire().await {
                    if let Err(error) = probe_once(&app, &server).await {
                        tracing::warn!(%error, server = %server.id, "probe bookkeeping failed");
                    }
                }
                if let Ok(mut set) = in_flight.lock() {
                    set.remove(&server.id);
                }
            });
        }
    }
}

/// Claims at most `room` due probes and reads their servers.
async fn claim_servers(
    app: &App,
    now_ms: i64,
    room: i64,
) -> DbResult<(Vec<ClaimedProbe>, Vec<ServerRow>)> {
    let mut conn = app.db.conn().await?;
    let claimed = claim_due_probes(&mut conn, now_ms, room).await?;
    let servers = ServerRow::find_many(&mut conn, claimed.iter().map(|c| c.id.as_str())).await?;
    Ok((claimed, servers))
}

/// Probes one server, records `up` and `latency_ms`, and publishes a status change.
pub async fn probe_once(app: &App, server: &ServerRow) -> anyhow::Result<probe::ProbeOutcome> {
    let target = target_of(app, server)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let outcome = probe::probe(&target).await;
    let at_ms = chrono::Utc::now().timestamp_millis();
    let samples = vec![
        SampleRow {
            server_id: server.id.clone(),
            metric: "up".into(),
            at_ms,
            value: if outcome.success { 1.0 } else { 0.0 },
        },
        SampleRow {
            server_id: server.id.clone(),
            metric: "latency_ms".into(),
            at_ms,
            value: outcome.latency_ms,
        },
    ];
    ingest(app, &server.id, samples)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    app.metrics.record_probe(outcome.success);
    let status = if outcome.success {
        ServerStatus::Up
    } else {
        ServerStatus::Down
    };
    let at = now();
    if ServerRow::record_check(&mut app.db.conn().await?, &server.id, status, at).await? {
        let change = StatusChange {
            server_id: server.id.clone(),
            project_id: server.project_id.clone(),
            name: server.name.clone(),
            status,
            changed_at: at,
            message: outcome.message.clone(),
        };
        if let Err(error) = app
            .bus
            .publish_json(&status_topic(&server.project_id), &change)
            .await
        {
            tracing::warn!(%error, "status change stored but not published");
        }
    }
    Ok(outcome)
}

async fn evaluate_alerts(app: Arc<App>) {
    let node = app.executor.node_id().to_owned();
    let mut interval = tokio::time::interval(Duration::from_millis(
        app.config.monitor.monitor_tick_ms.max(50),
    ));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let at = now();
        match hold(&app, ALERT_DUTY, &node, at + ALERT_LEASE).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(error) => {
                tracing::warn!(%error, "renewing the alert lease failed");
                continue;
            }
        }
        if let Err(error) = super::alerts::evaluate::evaluate(&app).await {
            tracing::warn!(%error, "alert evaluation failed");
        }
    }
}

/// Lets another node take over alert evaluation at once when this one stops.
async fn release_alert_duty(app: &App) {
    let node = app.executor.node_id();
    let released = async { release_duty(&mut app.db.conn().await?, ALERT_DUTY, node).await };
    if let Err(error) = released.await {
        tracing::warn!(%error, "releasing the alert lease failed");
    }
}

async fn purge_old_samples(app: Arc<App>) {
    let node = app.executor.node_id().to_owned();
    let mut interval = tokio::time::interval(PURGE_EVERY);
    loop {
        interval.tick().await;
        // Held for one period and never released: one purge per period across all nodes.
        let at = now();
        match hold(&app, PURGE_DUTY, &node, at + PURGE_EVERY).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(error) => {
                tracing::warn!(%error, "claiming the purge failed");
                continue;
            }
        }
        let config = &app.config.monitor;
        let now_ms = chrono::Utc::now().timestamp_millis();
        let hours = |h: u32| i64::from(h) * 3_600_000;
        let outcome = async {
            let mut conn = app.db.conn().await?;
            SampleRow::purge(
                &mut conn,
                now_ms - hours(config.raw_retention_hours),
                now_ms - hours(config.minute_retention_days * 24),
                now_ms - hours(config.hour_retention_days * 24),
            )
            .await
        };
        if let Err(error) = outcome.await {
            tracing::warn!(%error, "purging old samples failed");
        }
    }
}

/// Takes or renews this node's lease on `duty` until `until`; true while it holds it.
async fn hold(app: &App, duty: &str, node: &str, until: chrono::NaiveDateTime) -> DbResult<bool> {
    hold_duty(&mut app.db.conn().await?, duty, node, now(), until).await
}
