//! Task rules: who may do what, what a valid task is, and the state changes.

use std::collections::HashSet;
use std::sync::Arc;

use crate::app::App;
use crate::audit;
use crate::cases::model::CaseRow;
use crate::db::stored::Json;
use crate::db::{now, Conn};
use crate::environments::model::EnvironmentRow;
use crate::error::{AppError, AppResult};
use crate::projects::access::ProjectAccess;
use crate::projects::model::ProjectRole;
use crate::servers::model::ServerRow;

use super::action::{TaskAction, TaskPolicy, TaskPolicyInput};
use super::events::{publish_change, TaskEventKind};
use super::fire::{fire_now, FireOrigin};
use super::model::{FireRow, TaskRow};
use super::schedule::Schedule;

/// Longest task name.
const MAX_NAME: usize = 200;
/// Longest description.
const MAX_DESCRIPTION: usize = 2000;

/// A new task, as asked for.
pub struct NewTask {
    /// Unique in the project.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Cron expression (5 or 6 fields, or a shortcut).
    pub cron: String,
    /// tz database name.
    pub timezone: String,
    /// What it does.
    pub action: TaskAction,
    /// Its policies.
    pub policy: TaskPolicyInput,
    /// Whether it starts enabled.
    pub enabled: bool,
}

/// Changes to a task; `None` keeps the current value.
#[derive(Default)]
pub struct TaskChanges {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New schedule: cron and time zone.
    pub schedule: Option<(String, String)>,
    /// New action.
    pub action: Option<TaskAction>,
    /// Policy changes.
    pub policy: Option<TaskPolicyInput>,
}

/// Creates a task (members; purges need maintainers).
pub async fn create_task(app: &App, access: &ProjectAccess, new: NewTask) -> AppResult<TaskRow> {
    access.ensure(ProjectRole::Member)?;
    let name = checked_name(&new.name)?;
    let description = checked_description(&new.description)?;
    Schedule::parse(&new.cron, &new.timezone)?;
    let task = app
        .db
        .transaction(async |conn| {
            check_action(conn, access, &new.action).await?;
            let policy = new.policy.apply(TaskPolicy::default())?;
            let at = now();
            let task = TaskRow {
                id: uuid::Uuid::now_v7().to_string(),
                project_id: access.project_id().to_owned(),
                name,
                description,
                cron: new.cron.trim().to_owned(),
                timezone: new.timezone.trim().to_owned(),
                action: Json(new.action),
                concurrency: policy.concurrency,
                misfire: policy.misfire,
                max_run_seconds: policy.max_run_seconds,
                enabled: new.enabled,
                paused: false,
                schedule_since: at,
                created_by: access.viewer().id().to_owned(),
                created_at: at,
                updated_at: at,
            };
            task.insert(conn)
                .await
                .map_err(|error| conflict_on_name(error, &task.name))?;
            let summary = format!(
                "created task {:?} ({} {})",
                task.name, task.cron, task.timezone
            );
            audit::record_in_project(&mut *conn, access, "task", "task.create", &task.id, summary)
                .await?;
            Ok::<_, AppError>(task)
        })
        .await?;
    publish_change(app, &task, TaskEventKind::Created).await;
    Ok(task)
}

/// Changes a task (members; purges need maintainers). A new schedule counts from now.
pub async fn update_task(
    app: &App,
    access: &ProjectAccess,
    task: &TaskRow,
    changes: TaskChanges,
) -> AppResult<TaskRow> {
    access.ensure(ProjectRole::Member)?;
    // Changing a purge task, or turning a task into one, needs what creating one needs.
    check_role_for(access, &task.action)?;
    let mut changed = task.clone();
    if let Some(name) = changes.name {
        changed.name = checked_name(&name)?;
    }
    if let Some(description) = changes.description {
        changed.description = checked_description(&description)?;
    }
    if let Some((cron, timezone)) = changes.schedule {
        Schedule::parse(&cron, &timezone)?;
        let (cron, timezone) = (cron.trim().to_owned(), timezone.trim().to_owned());
        if cron != changed.cron || timezone != changed.timezone {
            changed.schedule_since = now();
        }
        changed.cron = cron;
        changed.timezone = timezone;
    }
    let changed = app
        .db
        .transaction(async |conn| {
            if let Some(action) = changes.action {
                check_action(conn, access, &action).await?;
                changed.action = Json(action);
            }
            if let Some(policy) = changes.policy {
                let applied = policy.apply(policy_of(task))?;
                changed.concurrency = applied.concurrency;
                changed.misfire = applied.misfire;
                changed.max_run_seconds = applied.max_run_seconds;
            }
            changed.updated_at = now();
            changed
                .save(conn)
                .await
                .map_err(|error| conflict_on_name(error, &changed.name))?;
            let summary = format!("changed task {:?}", changed.name);
            audit::record_in_project(&mut *conn, access, "task", "task.update", &task.id, summary)
                .await?;
            Ok::<_, AppError>(changed)
        })
        .await?;
    publish_change(app, &changed, TaskEventKind::Updated).await;
    Ok(changed)
}

/// Deletes a task and its fire history; its runs stay (members).
pub async fn delete_task(app: &App, access: &ProjectAccess, task: &TaskRow) -> AppResult<()> {
    access.ensure(ProjectRole::Member)?;
    check_role_for(access, &task.action)?;
    let summary = format!("deleted task {:?}", task.name);
    app.db
        .transaction(async |conn| {
            TaskRow::delete(conn, access.scope(), &task.id).await?;
            audit::record_in_project(conn, access, "task", "task.delete", &task.id, summary)
                .await?;
            Ok::<_, AppError>(())
        })
        .await?;
    publish_change(app, task, TaskEventKind::Deleted).await;
    Ok(())
}

/// The four state changes of a task's schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateChange {
    /// Start scheduling (fires before now are not owed).
    Enable,
    /// Stop scheduling entirely.
    Disable,
    /// Stop firing; fires due meanwhile are owed on resume (misfire policy).
    Pause,
    /// Fire again, applying the misfire policy to what fell due while paused.
    Resume,
}

/// Enables, disables, pauses or resumes a task (members); unchanged state changes nothing.
pub async fn change_state(
    app: &App,
    access: &ProjectAccess,
    task: &TaskRow,
    change: StateChange,
) -> AppResult<TaskRow> {
    access.ensure(ProjectRole::Member)?;
    let mut changed = task.clone();
    let kind = match change {
        StateChange::Enable => {
            if !changed.enabled {
                changed.schedule_since = now();
            }
            changed.enabled = true;
            TaskEventKind::Enabled
        }
        StateChange::Disable => {
            changed.enabled = false;
            TaskEventKind::Disabled
        }
        StateChange::Pause => {
            changed.paused = true;
            TaskEventKind::Paused
        }
        StateChange::Resume => {
            changed.paused = false;
            TaskEventKind::Resumed
        }
    };
    if changed.enabled == task.enabled && changed.paused == task.paused {
        return Ok(changed);
    }
    changed.updated_at = now();
    let verb = format!("{kind:?}").to_lowercase();
    let action = format!("task.{verb}");
    let summary = format!("{verb} task {:?}", task.name);
    app.db
        .transaction(async |conn| {
            changed.save(conn).await?;
            audit::record_in_project(conn, access, "task", &action, &task.id, summary).await?;
            Ok::<_, AppError>(())
        })
        .await?;
    publish_change(app, &changed, kind).await;
    Ok(changed)
}

/// Fires the task once now, trigger MANUAL, whatever its schedule (members).
pub async fn run_task_now(
    app: &Arc<App>,
    access: &ProjectAccess,
    task: &TaskRow,
) -> AppResult<FireRow> {
    access.ensure(ProjectRole::Member)?;
    check_role_for(access, &task.action)?;
    let origin = FireOrigin::Manual {
        user_id: access.viewer().id().to_owned(),
    };
    // The fire is claimed and its run started by the same path as scheduled
    // fires; the entry records that the member asked for it.
    let fire = fire_now(app, task, origin).await?;
    let summary = format!("ran task {:?} now", task.name);
    audit::record_in_project(
        &mut app.db.conn().await?,
        access,
        "task",
        "task.run",
        &task.id,
        summary,
    )
    .await?;
    Ok(fire)
}

/// The task's policies as stored.
pub fn policy_of(task: &TaskRow) -> TaskPolicy {
    TaskPolicy {
        concurrency: task.concurrency,
        misfire: task.misfire,
        max_run_seconds: task.max_run_seconds,
    }
}

fn conflict_on_name(error: crate::db::DbError, name: &str) -> AppError {
    if error.is_unique_violation() {
        AppError::Conflict(format!("the project already has a task named {name:?}"))
    } else {
        error.into()
    }
}

fn checked_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(AppError::bad_input(
            "name",
            format!("a task name has 1 to {MAX_NAME} characters"),
        ));
    }
    Ok(name.to_owned())
}

fn checked_description(description: &str) -> AppResult<String> {
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(AppError::bad_input(
            "description",
            format!("a description has at most {MAX_DESCRIPTION} characters"),
        ));
    }
    Ok(description.to_owned())
}

/// Purges delete history: maintainers only.
fn check_role_for(access: &ProjectAccess, action: &TaskAction) -> AppResult<()> {
    if matches!(action, TaskAction::Purge(_)) {
        access.ensure(ProjectRole::Maintainer)?;
    }
    Ok(())
}

/// Checks the action against the project: its cases, environment and servers exist.
async fn check_action(
    conn: &mut Conn,
    access: &ProjectAccess,
    action: &TaskAction,
) -> AppResult<()> {
    action.validate_shape()?;
    check_role_for(access, action)?;
    match action {
        TaskAction::RunCases(run) => {
            if let Some(ids) = &run.case_ids {
                let wanted: Vec<String> = ids.iter().map(|id| id.as_str().to_owned()).collect();
                let found = CaseRow::find_by_ids(conn, &wanted).await?;
                let known: HashSet<&str> = found
                    .iter()
                    .filter(|case| case.project_id == access.project_id())
                    .map(|case| case.id.as_str())
                    .collect();
                if let Some(missing) = wanted.iter().find(|id| !known.contains(id.as_str())) {
                    return Err(AppError::bad_input(
                        "action.runCases.caseIds",
                        format!("no case {missing} in this project"),
                    ));
                }
            }
            if let Some(environment_id) = &run.environment_id {
                let environment = EnvironmentRow::find(conn, environment_id).await?;
                if environment.is_none_or(|env| env.project_id != access.project_id()) {
                    return Err(AppError::bad_input(
                        "action.runCases.environmentId",
                        "no such environment in this project",
                    ));
                }
            }
        }
        TaskAction::ProbeServers(probe) => {
            for id in probe.server_ids.iter().flatten() {
                let server = ServerRow::find(conn, id).await?;
                if server.is_none_or(|server| server.project_id != access.project_id()) {
                    return Err(AppError::bad_input(
                        "action.probeServers.serverIds",
                        format!("no server {} in this project", id.as_str()),
                    ));
                }
            }
        }
        TaskAction::Purge(_) => {}
    }
    Ok(())
}
