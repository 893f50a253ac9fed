//! Run rules: what a run snapshots at start, and the control actions.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use std::sync::Arc;

use crate::app::App;
use crate::cases::model::{CaseFilter, CaseOrderField, CaseRow, SortDirection};
use crate::cases::spec::KeyValue;
use crate::db::{now, Conn};
use crate::environments::model::{EnvironmentRow, StoredVariable};
use crate::error::{AppError, AppResult};
use crate::projects::access::{ProjectAccess, ProjectScope};
use crate::projects::model::{ProjectRole, ProjectRow};

use super::events::{project_topic, run_control_topic, run_topic, status_event};
use super::model::{RunCaseId, RunCaseRow, RunEventRow, RunId, RunRow};
use super::state::{
    next_status, CaseResultStatus, RunAction, RunCaseKind, RunStatus, RunTrigger, ACTIVE_STATUSES,
};

/// Most cases a run may hold.
pub const MAX_RUN_CASES: usize = 10_000;
/// Highest `maxWorkers` a run may ask for.
pub const MAX_WORKERS: i32 = 256;

/// The environment a run executes with, as snapshotted at start (secrets still sealed).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentSnapshot {
    /// The environment's id, if the run used one.
    pub environment_id: Option<String>,
    /// Its name.
    pub name: Option<String>,
    /// Its variables.
    pub variables: Vec<StoredVariable>,
    /// The project's default headers.
    pub default_headers: Vec<KeyValue>,
}

/// What `startRun` asks for.
pub struct StartRun {
    /// Cases to run; all active cases of the project when `None` and no tags.
    pub case_ids: Option<Vec<String>>,
    /// Only active cases carrying every one of these tags.
    pub tags: Vec<String>,
    /// The environment; the project's default when `None`.
    pub environment_id: Option<String>,
    /// Cases in flight at once; the project setting when `None`.
    pub max_workers: Option<i32>,
}

/// Creates a QUEUED run of the chosen cases and hands it to this node's executor (members).
///
/// The run, its cases and its audit entry commit together; the executor
/// starts on it after the commit.
pub async fn start_run(
    app: &Arc<App>,
    access: &ProjectAccess,
    request: StartRun,
    trigger: RunTrigger,
) -> AppResult<RunRow> {
    access.ensure(ProjectRole::Member)?;
    let origin = RunOrigin {
        trigger,
        started_by: Some(access.viewer().id().to_owned()),
        task_id: None,
        retry_of: None,
    };
    let run = app
        .db
        .transaction(async |conn| {
            let run =
                store_run(conn, app, access.scope(), access.project(), request, origin).await?;
            let summary = format!(
                "started run of {} cases (trigger {})",
                run.total,
                trigger.as_str()
            );
            crate::audit::record_in_project(
                &mut *conn,
                access,
                "run",
                "run.start",
                &run.id,
                summary,
            )
            .await?;
            Ok::<_, AppError>(run)
        })
        .await?;
    app.executor.launch(run.id.clone());
    Ok(run)
}

/// Who or what starts a run.
pub struct RunOrigin {
    /// What started it.
    pub trigger: RunTrigger,
    /// The person, if one did (told when the run finishes).
    pub started_by: Option<String>,
    /// The scheduled task that fired it.
    pub task_id: Option<String>,
    /// The run it retries.
    pub retry_of: Option<RunId>,
}

/// Creates a QUEUED run of the chosen cases of the project `scope` is for,
/// for `origin` (a task's fire), in one transaction; the executor starts on
/// it after the commit.
pub async fn start_run_in(
    app: &Arc<App>,
    scope: &ProjectScope,
    request: StartRun,
    origin: RunOrigin,
) -> AppResult<RunRow> {
    let run = app
        .db
        .transaction(async |conn| {
            let project = find_project(conn, scope).await?;
            store_run(conn, app, scope, &project, request, origin).await
        })
        .await?;
    app.executor.launch(run.id.clone());
    Ok(run)
}

/// The project `scope` is for.
async fn find_project(conn: &mut Conn, scope: &ProjectScope) -> AppResult<ProjectRow> {
    ProjectRow::find(conn, scope.project_id())
        .await?
        .ok_or(AppError::NotFound("project"))
}

/// Stores a QUEUED run of `project`'s chosen cases, on `conn` (a transaction).
async fn store_run(
    conn: &mut Conn,
    app: &App,
    scope: &ProjectScope,
    project: &ProjectRow,
    request: StartRun,
    origin: RunOrigin,
) -> AppResult<RunRow> {
    let cases = chosen_cases(conn, scope, &request).await?;
    let max_workers = request
        .max_workers
        .unwrap_or(project.settings().max_workers);
    if !(1..=MAX_WORKERS).contains(&max_workers) {
        return Err(AppError::bad_input(
            "maxWorkers",
            format!("maxWorkers must be between 1 and {MAX_WORKERS}"),
        ));
    }
    let environment =
        snapshot_environment(conn, scope, project, request.environment_id.as_deref()).await?;
    let cases = cases.into_iter().map(CaseSnapshot::from).collect();
    insert_run(conn, app, project, cases, environment, max_workers, origin).await
}

/// What a run snapshots of one case: its id, name, kind and spec.
#[derive(Debug, Clone)]
pub struct CaseSnapshot {
    /// The case (or, for a task step, the object it works on).
    pub case_id: String,
    /// Its name at start.
    pub name: String,
    /// HTTP, PERF, SCRIPT, UI, or a task step's PROBE / PURGE.
    pub kind: RunCaseKind,
    /// The spec JSON.
    pub spec: String,
}

impl From<CaseRow> for CaseSnapshot {
    fn from(case: CaseRow) -> Self {
        Self {
            // Serializing a typed spec cannot fail: it holds strings, numbers, lists and JSON.
            spec: serde_json::to_string(&case.spec).expect("a case spec serializes"),
            case_id: case.id,
            name: case.name,
            kind: case.kind.into(),
        }
    }
}

impl From<RunCaseRow> for CaseSnapshot {
    fn from(case: RunCaseRow) -> Self {
        Self {
            case_id: case.case_id,
            name: case.name,
            kind: case.kind,
            spec: case.spec,
        }
    }
}

/// Creates a QUEUED run of prepared cases (a task's probe or purge steps) for `origin`.
pub async fn start_prepared_run(
    app: &Arc<App>,
    scope: &ProjectScope,
    cases: Vec<CaseSnapshot>,
    origin: RunOrigin,
) -> AppResult<RunRow> {
    let run = app
        .db
        .transaction(async |conn| {
            let project = find_project(conn, scope).await?;
            let max_workers = project.settings().max_workers.clamp(1, MAX_WORKERS);
            let environment = EnvironmentSnapshot {
                default_headers: project.settings().default_headers,
                ..EnvironmentSnapshot::default()
            };
            insert_run(conn, app, &project, cases, environment, max_workers, origin).await
        })
        .await?;
    app.executor.launch(run.id.clone());
    Ok(run)
}

/// Starts a new run of the failed and errored cases of a finished run (members).
pub async fn retry_run(app: &Arc<App>, access: &ProjectAccess, run: &RunRow) -> AppResult<RunRow> {
    access.ensure(ProjectRole::Member)?;
    next_status(run.status, RunAction::Retry)?;
    let environment = serde_json::from_str(&run.environment).map_err(AppError::internal)?;
    let origin = RunOrigin {
        trigger: RunTrigger::Retry,
        started_by: Some(access.viewer().id().to_owned()),
        task_id: run.task_id.clone(),
        retry_of: Some(run.id.clone()),
    };
    let retry = app
        .db
        .transaction(async |conn| {
            let retried: Vec<CaseSnapshot> = RunCaseRow::list_for_run(conn, &run.id)
                .await?
                .into_iter()
                .filter(|case| {
                    matches!(
                        case.status,
                        CaseResultStatus::Failed | CaseResultStatus::Error
                    )
                })
                .map(CaseSnapshot::from)
                .collect();
            if retried.is_empty() {
                return Err(AppError::Conflict(
                    "the run has no failed or errored cases to retry".into(),
                ));
            }
            let project = access.project();
            let max_workers = run.max_workers;
            let retry = insert_run(
                conn,
                app,
                project,
                retried,
                environment,
                max_workers,
                origin,
            )
            .await?;
            let summary = format!("retried run {} with {} cases", run.id, retry.total);
            crate::audit::record_in_project(
                &mut *conn,
                access,
                "run",
                "run.retry",
                &retry.id,
                summary,
            )
            .await?;
            Ok::<_, AppError>(retry)
        })
        .await?;
    app.executor.launch(retry.id.clone());
    Ok(retry)
}

/// Applies pause, resume or cancel; cancel of a cancelled run changes nothing.
pub async fn control_run(
    app: &App,
    access: &ProjectAccess,
    run: &RunRow,
    action: RunAction,
) -> AppResult<RunRow> {
    access.ensure(ProjectRole::Member)?;
    let mut conn = app.db.conn().await?;
    let mut current = run.clone();
    // A concurrent change (the executor finishing, another client) loses the
    // conditional update; decide again on the fresh status.
    for _ in 0..5 {
        let from = current.status;
        let to = next_status(from, action)?;
        if to == from {
            return Ok(current);
        }
        let reason = format!(
            "{} by {}",
            to.as_str().to_lowercase(),
            access.viewer().user.username
        );
        let event = status_event(&current, to, Some(&reason));
        let moved = conn
            .transaction(async |conn| {
                RunRow::transition(conn, &run.id, &[from], to, &event, now()).await
            })
            .await?;
        if let Some((changed, event)) = moved {
            drop(conn);
            publish(app, &changed, &event).await;
            return Ok(changed);
        }
        current = RunRow::find(&mut conn, &run.id)
            .await?
            .ok_or(AppError::NotFound("run"))?;
    }
    Err(AppError::Conflict("the run is changing; try again".into()))
}

/// Publishes a stored event, and the run's new state to the project's dashboard topic.
///
/// The dashboard hears each status once: a move to a non-final status with its
/// STATUS event, the final status with DONE (when the counters are final too).
pub async fn publish(app: &App, run: &RunRow, event: &RunEventRow) {
    // Stored already: subscribers that miss it read it from the database.
    if let Err(error) = app.bus.publish_json(&run_topic(&run.id), event).await {
        tracing::warn!(%error, run_id = %run.id, seq = event.seq, "run event stored but not published");
    }
    if event.kind == "STATUS" {
        let control = app
            .bus
            .publish(&run_control_topic(&run.id), run.status.to_string())
            .await;
        if let Err(error) = control {
            // The driver also reads the run at every lease renewal.
            tracing::warn!(%error, run_id = %run.id, "run status change not signalled to its driver");
        }
    }
    let dashboard = match event.kind.as_str() {
        "STATUS" => !run.status.is_final(),
        "DONE" => true,
        _ => false,
    };
    if dashboard {
        if let Err(error) = app
            .bus
            .publish_json(&project_topic(&run.project_id), run)
            .await
        {
            tracing::warn!(%error, run_id = %run.id, "run status stored but not published");
        }
    }
}

/// `CONFLICT` while the project `scope` is for has a queued, running or paused run.
pub async fn ensure_no_active_run(conn: &mut Conn, scope: &ProjectScope) -> AppResult<()> {
    if RunRow::count_active(conn, scope).await? > 0 {
        return Err(AppError::Conflict(format!(
            "the project has an active run ({}); cancel it first",
            ACTIVE_STATUSES.map(RunStatus::as_str).join("/")
        )));
    }
    Ok(())
}

async fn chosen_cases(
    conn: &mut Conn,
    scope: &ProjectScope,
    request: &StartRun,
) -> AppResult<Vec<CaseRow>> {
    let cases = match &request.case_ids {
        Some(ids) => {
            let mut unique = ids.clone();
            unique.sort();
            unique.dedup();
            let found = CaseRow::find_by_ids(conn, &unique).await?;
            let known: HashSet<&str> = found
                .iter()
                .filter(|case| case.project_id == scope.project_id())
                .map(|case| case.id.as_str())
                .collect();
            if let Some(missing) = unique.iter().find(|id| !known.contains(id.as_str())) {
                return Err(AppError::bad_input(
                    "caseIds",
                    format!("no case {missing} in this project"),
                ));
            }
            // Keep the order the client gave.
            let mut ordered = Vec::with_capacity(found.len());
            for id in ids {
                if let Some(case) = found.iter().find(|case| &case.id == id) {
                    if !ordered.iter().any(|known: &CaseRow| known.id == case.id) {
                        ordered.push(case.clone());
                    }
                }
            }
            ordered
        }
        None => {
            let filter = CaseFilter {
                tags: request.tags.clone(),
                active: Some(true),
                ..CaseFilter::default()
            };
            CaseRow::page(
                conn,
                scope,
                &filter,
                (CaseOrderField::CreatedAt, SortDirection::Asc),
                0,
                Some(i64::try_from(MAX_RUN_CASES).unwrap_or(i64::MAX) + 1),
            )
            .await?
        }
    };
    if cases.is_empty() {
        return Err(AppError::bad_input(
            "caseIds",
            "the run would have no cases",
        ));
    }
    if cases.len() > MAX_RUN_CASES {
        return Err(AppError::bad_input(
            "caseIds",
            format!("a run holds at most {MAX_RUN_CASES} cases"),
        ));
    }
    Ok(cases)
}

async fn snapshot_environment(
    conn: &mut Conn,
    scope: &ProjectScope,
    project: &ProjectRow,
    environment_id: Option<&str>,
) -> AppResult<EnvironmentSnapshot> {
    let environment = match environment_id {
        Some(id) => Some(
            EnvironmentRow::find(conn, id)
                .await?
                .filter(|env| env.project_id == scope.project_id())
                .ok_or_else(|| {
                    AppError::bad_input("environmentId", "no such environment in this project")
                })?,
        ),
        None => EnvironmentRow::find_default(conn, scope).await?,
    };
    Ok(EnvironmentSnapshot {
        environment_id: environment.as_ref().map(|env| env.id.clone()),
        name: environment.as_ref().map(|env| env.name.clone()),
        variables: environment
            .map(|env| env.stored_variables())
            .unwrap_or_default(),
        default_headers: project.settings().default_headers,
    })
}

/// Stores a QUEUED run of prepared cases, leased to this node, on `conn`.
async fn insert_run(
    conn: &mut Conn,
    app: &App,
    project: &ProjectRow,
    cases: Vec<CaseSnapshot>,
    environment: EnvironmentSnapshot,
    max_workers: i32,
    origin: RunOrigin,
) -> AppResult<RunRow> {
    let created_at = now();
    let id = RunId::generate();
    let run_cases: Vec<RunCaseRow> = cases
        .into_iter()
        .enumerate()
        .map(|(position, case)| RunCaseRow {
            id: RunCaseId::generate(),
            run_id: id.clone(),
            case_id: case.case_id,
            position: i32::try_from(position).unwrap_or(i32::MAX),
            name: case.name,
            kind: case.kind,
            spec: case.spec,
            status: CaseResultStatus::Pending,
            duration_ms: None,
            result: None,
            finished_at: None,
            sealed_captures: None,
        })
        .collect();
    let run = RunRow {
        id,
        project_id: project.id.clone(),
        status: RunStatus::Queued,
        trigger_kind: origin.trigger,
        started_by: origin.started_by,
        retry_of: origin.retry_of,
        environment: serde_json::to_string(&environment).map_err(AppError::internal)?,
        max_workers,
        total: i32::try_from(run_cases.len()).unwrap_or(i32::MAX),
        passed: 0,
        failed: 0,
        errored: 0,
        skipped: 0,
        created_at,
        started_at: None,
        finished_at: None,
        lease_owner: Some(app.executor.node_id().to_owned()),
        lease_expires_at: Some(app.executor.lease_deadline()),
        next_seq: 0,
        task_id: origin.task_id,
    };
    run.insert_with_cases(conn, &run_cases).await?;
    Ok(run)
}
