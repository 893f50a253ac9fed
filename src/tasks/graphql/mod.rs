//! GraphQL for scheduled tasks: create and preview them, pause, resume and
//! run them now, read their fires and runs, and watch them live.

mod objects;

use async_graphql::{Context, InputObject, Object, Subscription, ID};
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};

use crate::error::{GqlResult, GraphqlError};
use crate::graphql::pagination::{
    page_complexity, total_count_selected, CursorConnection, PageRequest,
};
use crate::graphql::ContextExt;
use crate::projects::model::ProjectRole;

use super::action::{TaskActionInput, TaskPolicyInput};
use super::events::{project_tasks_topic, TaskEventMessage};
use super::model::TaskRow;
use super::schedule::Schedule;
use super::service::{self, NewTask, StateChange, TaskChanges};

use objects::preview_count;
pub use objects::{Task, TaskConnection, TaskEdge, TaskEvent, TaskFire};

/// The time zone of a schedule given without one.
const DEFAULT_TIMEZONE: &str = "UTC";

/// A schedule: cron and time zone.
#[derive(InputObject)]
pub struct ScheduleInput {
    /// Cron: 6 fields with seconds first (`0 */30 * * * *`), 5 standard fields, or `@hourly`-style.
    cron: String,
    /// A tz database name (default UTC).
    timezone: Option<String>,
}

impl ScheduleInput {
    fn into_parts(self) -> (String, String) {
        (
            self.cron,
            self.timezone.unwrap_or_else(|| DEFAULT_TIMEZONE.to_owned()),
        )
    }
}

/// A new task.
#[derive(InputObject)]
pub struct CreateTaskInput {
    /// The project.
    project_id: ID,
    /// Unique in the project, 1 to 200 characters.
    name: String,
    /// Free text.
    #[graphql(default)]
    description: String,
    /// When it fires.
    schedule: ScheduleInput,
    /// What it does.
    action: TaskActionInput,
    /// Its policies (default FORBID, RUN_ONCE, no run-time limit).
    policy: Option<TaskPolicyInput>,
    /// Whether it starts enabled (default true).
    #[graphql(default = true)]
    enabled: bool,
}

/// Changes to a task; absent fields stay as they are.
#[derive(InputObject)]
pub struct UpdateTaskInput {
    /// New name.
    name: Option<String>,
    /// New description.
    description: Option<String>,
    /// New schedule; fires count from the change.
    schedule: Option<ScheduleInput>,
    /// New action.
    action: Option<TaskActionInput>,
    /// Policy changes.
    policy: Option<TaskPolicyInput>,
}

/// Task queries.
#[derive(Default)]
pub struct TaskQuery;

#[Object]
impl TaskQuery {
    /// One task (project viewers).
    async fn task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The task.")] id: ID,
    ) -> GqlResult<Task> {
        let (task, _) = ctx
            .object_access::<TaskRow>(&id, ProjectRole::Viewer)
            .await?;
        Ok(Task(task))
    }

    /// A project's tasks in creation order (project viewers).
    #[graphql(complexity = "page_complexity(child_complexity, first)")]
    async fn tasks(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project.")] project_id: ID,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> GqlResult<CursorConnection<Task, TaskConnection, TaskEdge>> {
        let access = ctx.project_access(&project_id, ProjectRole::Viewer).await?;
        let page = PageRequest::new(first, after)?;
        let mut conn = ctx.app().db.conn().await?;
        let rows = TaskRow::page(
            &mut conn,
            access.scope(),
            page.after_id.as_deref(),
            page.fetch_limit(),
        )
        .await?;
        let total = if total_count_selected(ctx) {
            TaskRow::count(&mut conn, access.scope()).await?
        } else {
            0
        };
        Ok(page.connection(rows, total, |row| &row.id, Task))
    }

    /// The next fire times of a schedule, to check it before saving a task (signed-in users).
    async fn preview_schedule(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Cron: 6 fields (seconds first), 5 fields, or `@hourly`-style.")]
        cron: String,
        #[graphql(desc = "A tz database name (default UTC).")] timezone: Option<String>,
        #[graphql(desc = "How many, 1 to 100 (default 5).")] count: Option<i32>,
    ) -> GqlResult<Vec<DateTime<Utc>>> {
        ctx.viewer().await?;
        let count = preview_count(count)?;
        let timezone = timezone.unwrap_or_else(|| DEFAULT_TIMEZONE.to_owned());
        let schedule = Schedule::parse(&cron, &timezone)?;
        Ok(schedule.upcoming(Utc::now(), count))
    }
}

/// Task mutations.
#[derive(Default)]
pub struct TaskMutation;

#[Object]
impl TaskMutation {
    /// Creates a task (members; purge tasks need maintainers).
    async fn create_task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The task.")] input: CreateTaskInput,
    ) -> GqlResult<Task> {
        let access = ctx
            .project_access(&input.project_id, ProjectRole::Member)
            .await?;
        let (cron, timezone) = input.schedule.into_parts();
        let new = NewTask {
            name: input.name,
            description: input.description,
            cron,
            timezone,
            action: input.action.into(),
            policy: input.policy.unwrap_or_default(),
            enabled: input.enabled,
        };
        Ok(Task(service::create_task(ctx.app(), &access, new).await?))
    }

    /// Changes a task (members; purge tasks need maintainers).
    async fn update_task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The task.")] id: ID,
        #[graphql(desc = "What changes.")] input: UpdateTaskInput,
    ) -> GqlResult<Task> {
        let (task, access) = ctx
            .object_access::<TaskRow>(&id, ProjectRole::Member)
            .await?;
        let changes = TaskChanges {
            name: input.name,
            description: input.description,
            schedule: input.schedule.map(ScheduleInput::into_parts),
            action: input.action.map(Into::into),
            policy: input.policy,
        };
        Ok(Task(
            service::update_task(ctx.app(), &access, &task, changes).await?,
        ))
    }

    /// Deletes a task with its fire history; its runs stay (members). Returns its id.
    async fn delete_task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The task.")] id: ID,
    ) -> GqlResult<ID> {
        let (task, access) = ctx
            .object_access::<TaskRow>(&id, ProjectRole::Member)
            .await?;
        service::delete_task(ctx.app(), &access, &task).await?;
        Ok(id)
    }

    /// Enables a task: it fires from now on (members).
    async fn enable_task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The task.")] id: ID,
    ) -> GqlResult<Task> {
        change_state(ctx, id, StateChange::Enable).await
    }

    /// Disables a task: it is not scheduled at all (members).
    async fn disable_task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The task.")] id: ID,
    ) -> GqlResult<Task> {
        change_state(ctx, id, StateChange::Disable).await
    }

    /// Pauses a task's schedule (members).
    async fn pause_task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The task.")] id: ID,
    ) -> GqlResult<Task> {
        change_state(ctx, id, StateChange::Pause).await
    }

    /// Resumes a task's schedule; fires due while paused go through the misfire policy (members).
    async fn resume_task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The task.")] id: ID,
    ) -> GqlResult<Task> {
        change_state(ctx, id, StateChange::Resume).await
    }

    /// Fires the task once now (trigger MANUAL), whatever its schedule (members).
    async fn run_task_now(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The task.")] id: ID,
    ) -> GqlResult<TaskFire> {
        let (task, access) = ctx
            .object_access::<TaskRow>(&id, ProjectRole::Member)
            .await?;
        Ok(TaskFire(
            service::run_task_now(ctx.app(), &access, &task).await?,
        ))
    }
}

async fn change_state(ctx: &Context<'_>, id: ID, change: StateChange) -> GqlResult<Task> {
    let (task, access) = ctx
        .object_access::<TaskRow>(&id, ProjectRole::Member)
        .await?;
    Ok(Task(
        service::change_state(ctx.app(), &access, &task, change).await?,
    ))
}

/// Task subscriptions.
#[derive(Default)]
pub struct TaskSubscription;

#[Subscription]
impl TaskSubscription {
    /// A project's task events: fires, skips, misses, time-outs and state changes (project viewers).
    async fn task_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project.")] project_id: ID,
    ) -> Result<impl Stream<Item = TaskEvent>, GraphqlError> {
        let access = ctx.project_access(&project_id, ProjectRole::Viewer).await?;
        let stream = ctx
            .app()
            .bus
            .subscribe_json::<TaskEventMessage>(&project_tasks_topic(access.project_id()));
        Ok(stream.map(TaskEvent))
    }
}
