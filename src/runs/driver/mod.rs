//! The driver: drives this node's runs with a bounded worker pool, and takes
//! over runs whose node stopped renewing their lease.
//!
//! One driver task per run dispatches cases (at most the run's `maxWorkers` in
//! flight, and at most [`NODE_MAX_IN_FLIGHT`](super::executor::NODE_MAX_IN_FLIGHT)
//! across the node), commits each result with its counters and event in one
//! transaction, then publishes the event. It hears pause, resume and cancel
//! on the run's control topic (and re-reads the status at every lease
//! renewal, in case a signal is lost).
//!
//! Captured values feed the cases that use them. A capture recorded masked
//! (it equals or contains a secret) becomes a secret of the run itself, and its
//! real value is stored sealed beside the result, so that a node taking the run
//! over feeds the same value to the cases still to come.

mod dispatch;
mod record;
mod state;

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;

use crate::app::App;
use crate::db::{now, Backend, DbResult};

use super::events::run_control_topic;
use super::model::{RunCaseRow, RunId, RunRow};
use super::steps::StepPerformer;
use state::Driver;

/// How often a driver renews its lease (and re-reads its run's status).
const RENEW_EVERY: Duration = Duration::from_secs(1);
/// How often a node looks for runs whose lease expired.
const TAKEOVER_EVERY: Duration = Duration::from_secs(2);
/// Why SCRIPT, UI and PERF cases are skipped.
pub const NOT_SUPPORTED: &str = "not supported yet";

/// Starts this node's driver: it drives the runs handed to
/// [`Executor::launch`](super::executor::Executor::launch), and takes over
/// orphaned runs now (on SQLite, a single node: every active run) and then
/// periodically, until shutdown. `steps` performs the cases that are steps.
pub fn spawn(app: Arc<App>, steps: Arc<dyn StepPerformer>) {
    let Some(mut launched) = app.executor.take_launched() else {
        tracing::error!("the run driver was started twice; the second one does nothing");
        return;
    };
    let (launcher, launcher_steps) = (app.clone(), steps.clone());
    tokio::spawn(async move {
        let shutdown = launcher.shutdown_requested();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                Some(run_id) = launched.recv() => launch(&launcher, &launcher_steps, run_id),
                () = &mut shutdown => return,
            }
        }
    });
    tokio::spawn(async move {
        let mut at_start = app.db.backend() == Backend::Sqlite;
        let shutdown = app.shutdown_requested();
        tokio::pin!(shutdown);
        loop {
            if let Err(error) = take_over_orphans(&app, &steps, at_start).await {
                tracing::warn!(%error, "looking for orphaned runs failed");
            }
            at_start = false;
            tokio::select! {
                () = tokio::time::sleep(TAKEOVER_EVERY) => {}
                () = &mut shutdown => return,
            }
        }
    });
}

/// Starts driving `run_id` here, unless this node already does.
fn launch(app: &Arc<App>, steps: &Arc<dyn StepPerformer>, run_id: RunId) {
    if !app.executor.start_driving(&run_id) {
        return;
    }
    let (app, steps) = (app.clone(), steps.clone());
    tokio::spawn(async move {
        if let Err(error) = drive(&app, steps, &run_id).await {
            tracing::error!(%error, %run_id, "run driver failed; another pass takes it over");
        }
        app.executor.stop_driving(&run_id);
    });
}

async fn take_over_orphans(
    app: &Arc<App>,
    steps: &Arc<dyn StepPerformer>,
    force: bool,
) -> DbResult<()> {
    let mut conn = app.db.conn().await?;
    for id in RunRow::orphaned(&mut conn, now(), force).await? {
        if app.executor.is_driving(&id) {
            continue;
        }
        let deadline = app.executor.lease_deadline();
        let node = app.executor.node_id();
        if RunRow::claim_lease(&mut conn, &id, node, now(), deadline, force).await? {
            tracing::info!(run_id = %id, "taking over run");
            launch(app, steps, id);
        }
    }
    Ok(())
}

async fn drive(
    app: &Arc<App>,
    steps: Arc<dyn StepPerformer>,
    run_id: &RunId,
) -> anyhow::Result<()> {
    // Subscribed before the run is read: a control change after the read is heard.
    let mut control = app.bus.subscribe(&run_control_topic(run_id));
    let (run, requeued, cases) = {
        let mut conn = app.db.conn().await?;
        let Some(run) = RunRow::find(&mut conn, run_id).await? else {
            return Ok(());
        };
        let requeued = RunCaseRow::requeue_started(&mut conn, run_id).await?;
        let cases = RunCaseRow::list_for_run(&mut conn, run_id).await?;
        (run, requeued, cases)
    };
    let mut driver = Driver::new(app, steps, run, cases)?;
    if driver.run.status.is_final() {
        // Final, but its node stopped before storing DONE (cancelled while that node was down).
        return driver.close_taken_over().await;
    }
    driver.begin(requeued).await?;
    let shutdown = app.shutdown_requested();
    tokio::pin!(shutdown);
    let mut renew = tokio::time::interval(RENEW_EVERY);
    loop {
        if driver.step().await? {
            return Ok(());
        }
        tokio::select! {
            Some(joined) = driver.in_flight.join_next(), if !driver.in_flight.is_empty() => {
                let mut done = Vec::new();
                if let Ok(result) = joined {
                    done.push(result);
                }
                while let Some(Ok(result)) = driver.in_flight.try_join_next() {
                    done.push(result);
                }
                driver.record_outcomes(done).await?;
            }
            Some(_) = control.next() => driver.refresh().await?,
            _ = renew.tick() => {
                let deadline = app.executor.lease_deadline();
                let node = app.executor.node_id();
                if !RunRow::renew_lease(&mut app.db.conn().await?, run_id, node, deadline).await? {
                    driver.refresh().await?;
                    if !driver.run.status.is_final() {
                        // Another node took the run over.
                        driver.in_flight.abort_all();
                        return Ok(());
                    }
                }
                driver.refresh().await?;
            }
            () = &mut shutdown => {
                driver.in_flight.abort_all();
                // Let the next node take over at once instead of waiting for the lease.
                let node = app.executor.node_id();
                RunRow::renew_lease(&mut app.db.conn().await?, run_id, node, now()).await?;
                return Ok(());
            }
        }
    }
}
