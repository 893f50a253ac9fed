//! Task events: fires, skips and state changes, per project; and the
//! node-wide notice that a task changed, which every node's scheduler hears.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::app::App;

use super::model::{FireRow, TaskRow};

/// Topic of a project's task events.
pub fn project_tasks_topic(project_id: &str) -> String {
    format!("projects.{project_id}.tasks")
}

/// Topic every scheduler listens on: a task was created, changed or deleted.
pub const CHANGED_TOPIC: &str = "tasks.changed";

/// The notice on [`CHANGED_TOPIC`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskChanged {
    /// The task.
    pub task_id: String,
}

/// What a task event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, async_graphql::Enum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskEventKind {
    /// A fire started a run.
    Fired,
    /// A fire waits for the task's previous run.
    Queued,
    /// A fire was skipped (see its reason).
    Skipped,
    /// Fires fell due while no node ran the scheduler or the task was paused.
    Missed,
    /// A fire could not start its run (see its reason).
    Failed,
    /// A run passed the task's maximum run time and was cancelled.
    TimedOut,
    /// The task was created.
    Created,
    /// The task was changed.
    Updated,
    /// The task was deleted.
    Deleted,
    /// The task was enabled.
    Enabled,
    /// The task was disabled.
    Disabled,
    /// The schedule was paused.
    Paused,
    /// The schedule was resumed.
    Resumed,
}

/// One task event as published.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskEventMessage {
    /// What happened.
    pub kind: TaskEventKind,
    /// The task.
    pub task_id: String,
    /// The task's name.
    pub task_name: String,
    /// The project.
    pub project_id: String,
    /// The fire, for fire events.
    pub fire: Option<FireRow>,
    /// The run, for TIMED_OUT.
    pub run_id: Option<String>,
    /// When it happened.
    pub at: NaiveDateTime,
}

/// Publishes a state change of `task` (already stored).
pub async fn publish_change(app: &App, task: &TaskRow, kind: TaskEventKind) {
    publish(app, task, kind, None, None).await;
    let notice = TaskChanged {
        task_id: task.id.clone(),
    };
    if let Err(error) = app.bus.publish_json(CHANGED_TOPIC, &notice).await {
        tracing::warn!(%error, "task change stored but not announced to the schedulers");
    }
}

/// Publishes an event about `task` (its cause already stored).
pub async fn publish(
    app: &App,
    task: &TaskRow,
    kind: TaskEventKind,
    fire: Option<FireRow>,
    run_id: Option<String>,
) {
    let message = TaskEventMessage {
        kind,
        task_id: task.id.clone(),
        task_name: task.name.clone(),
        project_id: task.project_id.clone(),
        fire,
        run_id,
        at: crate::db::now(),
    };
    if let Err(error) = app
        .bus
        .publish_json(&project_tasks_topic(&task.project_id), &message)
        .await
    {
        tracing::warn!(%error, "task event stored but not published");
    }
}
