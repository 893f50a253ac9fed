//! What happens to a claimed fire: the concurrency policy, then the run.
//!
//! A fire row exists before anything else happens (the claim); it is then
//! settled as STARTED (with its run), QUEUED, SKIPPED or FAILED, and the
//! settled fire is published. A node that dies between claim and settle leaves
//! a CLAIMED row that the sweeper settles as FAILED, so no fire stays open.

use std::sync::Arc;

use chrono::NaiveDateTime;

use crate::app::App;
use crate::db::{now, DbResult};
use crate::error::{AppError, AppResult};
use crate::projects::access::{ProjectScope, SystemActor};
use crate::runs::model::RunRow;
use crate::runs::service::{start_prepared_run, start_run_in, RunOrigin, StartRun};
use crate::runs::state::RunTrigger;
use crate::servers::model::{ServerFilter, ServerRow};

use super::action::{ConcurrencyPolicy, ProbeServersAction, TaskAction};
use super::events::{publish, TaskEventKind};
use super::model::{FireOutcome, FireRow, TaskRow, TaskTrigger};
use super::steps::TaskStep;

/// What fired a task.
#[derive(Debug, Clone)]
pub enum FireOrigin {
    /// Its schedule; `note` explains a catch-up after missed fires.
    Schedule {
        /// Set for a catch-up fire.
        note: Option<String>,
    },
    /// A person, with `runTaskNow`.
    Manual {
        /// Who.
        user_id: String,
    },
}

impl FireOrigin {
    fn trigger(&self) -> TaskTrigger {
        match self {
            Self::Schedule { .. } => TaskTrigger::Schedule,
            Self::Manual { .. } => TaskTrigger::Manual,
        }
    }
}

/// A fire row about to be claimed.
pub fn new_fire(
    task: &TaskRow,
    fire_at: NaiveDateTime,
    trigger: TaskTrigger,
    node: &str,
) -> FireRow {
    FireRow {
        id: uuid::Uuid::now_v7().to_string(),
        task_id: task.id.clone(),
        project_id: task.project_id.clone(),
        fire_at,
        trigger_kind: trigger,
        outcome: FireOutcome::Claimed,
        reason: None,
        missed_count: 0,
        run_id: None,
        node: node.to_owned(),
        claimed_at: now(),
        started_at: None,
    }
}

/// Claims a fire at the current time and handles it (for `runTaskNow`).
pub async fn fire_now(app: &Arc<App>, task: &TaskRow, origin: FireOrigin) -> AppResult<FireRow> {
    let fire = new_fire(task, now(), origin.trigger(), app.executor.node_id());
    let claimed = claim(app, std::slice::from_ref(&fire)).await?;
    if claimed.is_empty() {
        return Err(AppError::Conflict(
            "the task fired at this instant already; try again".into(),
        ));
    }
    Ok(handle_claimed(app, task, fire, &origin).await)
}

/// Claims `fires` in one transaction; returns the ids of those this node won.
pub async fn claim(app: &App, fires: &[FireRow]) -> DbResult<Vec<String>> {
    app.db
        .transaction(async |conn| FireRow::claim(conn, fires).await)
        .await
}

/// Applies the concurrency policy to a claimed fire, then starts its run.
pub async fn handle_claimed(
    app: &Arc<App>,
    task: &TaskRow,
    fire: FireRow,
    origin: &FireOrigin,
) -> FireRow {
    match blocking_reason(app, task).await {
        Ok(None) => start(app, task, fire, origin).await,
        Ok(Some((outcome, kind, reason))) => {
            settle(app, task, &fire, outcome, kind, Some(&reason), None).await
        }
        Err(error) => settle_failed(app, task, &fire, &error.to_string()).await,
    }
}

/// Why a fire may not start now under the task's concurrency policy: (outcome, event, reason).
async fn blocking_reason(
    app: &App,
    task: &TaskRow,
) -> AppResult<Option<(FireOutcome, TaskEventKind, String)>> {
    let policy = task.concurrency;
    if policy == ConcurrencyPolicy::Allow {
        return Ok(None);
    }
    let mut conn = app.db.conn().await?;
    // A waiting fire goes first: the sweeper starts it once the run before it ends.
    if policy == ConcurrencyPolicy::Queue && FireRow::has_queued(&mut conn, &task.id).await? {
        let reason = "a fire already waits for the previous run to end".to_owned();
        return Ok(Some((FireOutcome::Skipped, TaskEventKind::Skipped, reason)));
    }
    let Some(run_id) = TaskRow::active_run(&mut conn, &task.id).await? else {
        return Ok(None);
    };
    Ok(Some(match policy {
        ConcurrencyPolicy::Queue => (
            FireOutcome::Queued,
            TaskEventKind::Queued,
            format!("waiting for run {run_id} to end"),
        ),
        _ => (
            FireOutcome::Skipped,
            TaskEventKind::Skipped,
            format!("run {run_id} is still active"),
        ),
    }))
}

/// Starts the run of a claimed fire and settles it as STARTED or FAILED.
pub async fn start(app: &Arc<App>, task: &TaskRow, fire: FireRow, origin: &FireOrigin) -> FireRow {
    match start_run(app, task, origin).await {
        Ok(run) => {
            let note = match origin {
                FireOrigin::Schedule { note } => note.as_deref(),
                FireOrigin::Manual { .. } => None,
            };
            settle(
                app,
                task,
                &fire,
                FireOutcome::Started,
                TaskEventKind::Fired,
                note,
                Some(&run.id),
            )
            .await
        }
        Err(error) => {
            let reason = match &error {
                AppError::Internal(detail) => {
                    tracing::error!(error = %detail, task_id = task.id, "a task's run could not start");
                    "internal error".to_owned()
                }
                other => other.to_string(),
            };
            settle_failed(app, task, &fire, &reason).await
        }
    }
}

async fn start_run(app: &Arc<App>, task: &TaskRow, origin: &FireOrigin) -> AppResult<RunRow> {
    // A fire carries no caller's capability (a manual one was checked by
    // `runTaskNow`): the scheduler acts on the task's project itself.
    let scope = SystemActor::SCHEDULER.scope(&task.project_id);
    let run_origin = RunOrigin {
        trigger: match origin {
            FireOrigin::Schedule { .. } => RunTrigger::Schedule,
            FireOrigin::Manual { .. } => RunTrigger::Manual,
        },
        started_by: match origin {
            FireOrigin::Schedule { .. } => None,
            FireOrigin::Manual { user_id } => Some(user_id.clone()),
        },
        task_id: Some(task.id.clone()),
        retry_of: None,
    };
    match task.action.0.clone() {
        TaskAction::RunCases(action) => {
            let request = StartRun {
                case_ids: action
                    .case_ids
                    .map(|ids| ids.into_iter().map(|id| id.to_string()).collect()),
                tags: action.tags.unwrap_or_default(),
                environment_id: action.environment_id.map(|id| id.to_string()),
                max_workers: action.max_workers,
            };
            start_run_in(app, &scope, request, run_origin).await
        }
        TaskAction::ProbeServers(action) => {
            let servers = probed_servers(app, &scope, &action).await?;
            if servers.is_empty() {
                return Err(AppError::bad_input(
                    "action.probeServers",
                    "no server of the project matches",
                ));
            }
            let steps = servers
                .into_iter()
                .map(|server| {
                    let step = TaskStep::Probe {
                        server_id: server.id.clone(),
                    };
                    step.as_case(format!("probe {}", server.name))
                })
                .collect();
            start_prepared_run(app, &scope, steps, run_origin).await
        }
        TaskAction::Purge(action) => {
            let step = TaskStep::Purge {
                older_than_days: action.older_than_days,
                targets: action.targets,
            };
            let name = format!("purge data older than {} days", action.older_than_days);
            let steps = vec![step.as_case(name)];
            start_prepared_run(app, &scope, steps, run_origin).await
        }
    }
}

async fn probed_servers(
    app: &App,
    scope: &ProjectScope,
    action: &ProbeServersAction,
) -> AppResult<Vec<ServerRow>> {
    let servers =
        ServerRow::list(&mut app.db.conn().await?, scope, &ServerFilter::default()).await?;
    let tags = action.tags.clone().unwrap_or_default();
    Ok(servers
        .into_iter()
        .filter(|server| server.node_name.is_none())
        .filter(|server| {
            action
                .server_ids
                .as_ref()
                .is_none_or(|ids| ids.iter().any(|id| id.as_str() == server.id))
        })
        .filter(|server| tags.iter().all(|tag| server.tags.contains(tag)))
        .collect())
}

async fn settle_failed(app: &App, task: &TaskRow, fire: &FireRow, reason: &str) -> FireRow {
    settle(
        app,
        task,
        fire,
        FireOutcome::Failed,
        TaskEventKind::Failed,
        Some(reason),
        None,
    )
    .await
}

/// Stores what came of the fire, then publishes it.
pub async fn settle(
    app: &App,
    task: &TaskRow,
    fire: &FireRow,
    outcome: FireOutcome,
    kind: TaskEventKind,
    reason: Option<&str>,
    run_id: Option<&str>,
) -> FireRow {
    let started_at = run_id.map(|_| now());
    let settled = async {
        FireRow::settle(
            &mut app.db.conn().await?,
            &fire.id,
            outcome,
            reason,
            run_id,
            started_at,
        )
        .await
    };
    let settled = match settled.await {
        Ok(settled) => {
            app.metrics.record_task_fire(outcome.as_str());
            settled
        }
        Err(error) => {
            // The sweeper settles a fire left CLAIMED; say so in the log.
            tracing::error!(%error, fire_id = fire.id, "settling a fire failed");
            return fire.clone();
        }
    };
    publish(
        app,
        task,
        kind,
        Some(settled.clone()),
        run_id.map(str::to_owned),
    )
    .await;
    settled
}
