//! The GraphQL types of tasks: a task, its fires, and the events about it.

use async_graphql::{Context, Enum, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use crate::connection_names;
use crate::error::GqlResult;
use crate::graphql::loaders::Loaders;
use crate::graphql::pagination::{
    page_complexity, total_count_selected, CursorConnection, PageRequest,
};
use crate::graphql::{utc, ContextExt};
use crate::runs::graphql::{Run, RunConnection, RunEdge};
use crate::runs::model::{RunFilter, RunRow};
use crate::tasks::action::{TaskAction, TaskPolicy};
use crate::tasks::events::{TaskEventKind, TaskEventMessage};
use crate::tasks::model::{FireOutcome, FireRow, TaskRow, TaskTrigger};
use crate::tasks::schedule::{Schedule, MAX_PREVIEW};
use crate::tasks::service;

connection_names!(TaskConnection, TaskEdge);
connection_names!(TaskFireConnection, TaskFireEdge);

/// Fire times a preview returns when `count` is not given.
const DEFAULT_PREVIEW: i32 = 5;

/// A scheduled task: a cron schedule, policies and an action; every fire creates a run.
pub struct Task(pub TaskRow);

/// A task's schedule.
#[derive(SimpleObject)]
pub struct TaskSchedule {
    /// The cron expression as given (6 fields with seconds first, 5 fields, or a shortcut).
    cron: String,
    /// The tz database time zone it is read in.
    timezone: String,
}

/// Where a task's schedule stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum TaskState {
    /// Enabled and firing.
    Active,
    /// Enabled but paused: fires due meanwhile go through the misfire policy on resume.
    Paused,
    /// Disabled: not scheduled at all.
    Disabled,
}

/// A scheduled task: schedule, action, policies, next fire times, fires and runs.
#[Object]
impl Task {
    /// Unique id.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// The project it belongs to.
    async fn project_id(&self) -> ID {
        ID(self.0.project_id.clone())
    }

    /// Unique name in the project.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Free text.
    async fn description(&self) -> &str {
        &self.0.description
    }

    /// When it fires.
    async fn schedule(&self) -> TaskSchedule {
        TaskSchedule {
            cron: self.0.cron.clone(),
            timezone: self.0.timezone.clone(),
        }
    }

    /// What it does when it fires.
    async fn action(&self) -> &TaskAction {
        &self.0.action
    }

    /// Its concurrency, misfire and run-time policies.
    async fn policy(&self) -> TaskPolicy {
        service::policy_of(&self.0)
    }

    /// Whether it is scheduled at all.
    async fn enabled(&self) -> bool {
        self.0.enabled
    }

    /// Whether its schedule is paused.
    async fn paused(&self) -> bool {
        self.0.paused
    }

    /// ACTIVE, PAUSED or DISABLED.
    async fn state(&self) -> TaskState {
        match (self.0.enabled, self.0.paused) {
            (false, _) => TaskState::Disabled,
            (true, true) => TaskState::Paused,
            (true, false) => TaskState::Active,
        }
    }

    /// The next time it fires; absent while disabled or paused.
    async fn next_fire_at(&self) -> GqlResult<Option<DateTime<Utc>>> {
        if !self.0.enabled || self.0.paused {
            return Ok(None);
        }
        Ok(self.upcoming(1)?.into_iter().next())
    }

    /// The next `count` fire times of the schedule (whether or not it is paused).
    async fn next_fire_times(
        &self,
        #[graphql(desc = "How many, 1 to 100 (default 5).")] count: Option<i32>,
    ) -> GqlResult<Vec<DateTime<Utc>>> {
        self.upcoming(preview_count(count)?)
    }

    /// Its newest run.
    async fn last_run(&self, ctx: &Context<'_>) -> GqlResult<Option<Run>> {
        let loaders = ctx.data_unchecked::<Loaders>();
        Ok(loaders
            .last_runs
            .load_one(self.0.id.clone())
            .await?
            .map(Run))
    }

    /// Every fire, newest first: started runs, skips with their reason, misses.
    #[graphql(complexity = "page_complexity(child_complexity, first)")]
    async fn fires(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> GqlResult<CursorConnection<TaskFire, TaskFireConnection, TaskFireEdge>> {
        let page = PageRequest::new(first, after)?;
        let mut conn = ctx.app().db.conn().await?;
        let rows = FireRow::page(
            &mut conn,
            &self.0.id,
            page.after_id.as_deref(),
            page.fetch_limit(),
        )
        .await?;
        let total = if total_count_selected(ctx) {
            FireRow::count(&mut conn, &self.0.id).await?
        } else {
            0
        };
        Ok(page.connection(rows, total, |row| &row.id, TaskFire))
    }

    /// The runs it fired, newest first.
    #[graphql(complexity = "page_complexity(child_complexity, first)")]
    async fn runs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> GqlResult<CursorConnection<Run, RunConnection, RunEdge>> {
        let page = PageRequest::new(first, after)?;
        let filter = RunFilter {
            task_id: Some(self.0.id.clone()),
            ..RunFilter::default()
        };
        let scope = crate::projects::scope::ProjectScope::vouched(&self.0.project_id);
        let mut conn = ctx.app().db.conn().await?;
        let rows = RunRow::page(
            &mut conn,
            &scope,
            &filter,
            page.after_id.as_deref(),
            page.fetch_limit(),
        )
        .await?;
        let total = if total_count_selected(ctx) {
            RunRow::count(&mut conn, &scope, &filter).await?
        } else {
            0
        };
        Ok(page.connection(rows, total, |row| &row.id, Run))
    }

    /// Who created it.
    async fn created_by_id(&self) -> ID {
        ID(self.0.created_by.clone())
    }

    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        utc(self.0.created_at)
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        utc(self.0.updated_at)
    }
}

impl Task {
    fn upcoming(&self, count: usize) -> GqlResult<Vec<DateTime<Utc>>> {
        let schedule = Schedule::parse(&self.0.cron, &self.0.timezone)?;
        Ok(schedule.upcoming(Utc::now(), count))
    }
}

pub(super) fn preview_count(count: Option<i32>) -> GqlResult<usize> {
    let count = count.unwrap_or(DEFAULT_PREVIEW);
    usize::try_from(count)
        .ok()
        .filter(|count| (1..=MAX_PREVIEW).contains(count))
        .ok_or_else(|| {
            crate::error::AppError::bad_input(
                "count",
                format!("count must be between 1 and {MAX_PREVIEW}"),
            )
            .into()
        })
}

/// One fire of a task and what came of it.
pub struct TaskFire(pub FireRow);

/// One fire of a task: when, what fired it, what came of it, its run.
#[Object]
impl TaskFire {
    /// Unique id.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// The task.
    async fn task_id(&self) -> ID {
        ID(self.0.task_id.clone())
    }

    /// The time the schedule said (for MANUAL, when it was asked for).
    async fn fire_at(&self) -> DateTime<Utc> {
        utc(self.0.fire_at)
    }

    /// SCHEDULE or MANUAL.
    async fn trigger(&self) -> TaskTrigger {
        self.0.trigger_kind
    }

    /// What came of it.
    async fn outcome(&self) -> FireOutcome {
        self.0.outcome
    }

    /// Why it was skipped, missed or failed; how a catch-up or queued fire came about.
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }

    /// For MISSED: how many fire times this record stands for.
    async fn missed_count(&self) -> i32 {
        self.0.missed_count
    }

    /// The run it started.
    async fn run_id(&self) -> Option<ID> {
        self.0.run_id.clone().map(ID)
    }

    /// The run it started.
    async fn run(&self, ctx: &Context<'_>) -> GqlResult<Option<Run>> {
        let Some(run_id) = &self.0.run_id else {
            return Ok(None);
        };
        let loaders = ctx.data_unchecked::<Loaders>();
        Ok(loaders.runs.load_one(run_id.clone()).await?.map(Run))
    }

    /// When a node claimed it.
    async fn claimed_at(&self) -> DateTime<Utc> {
        utc(self.0.claimed_at)
    }

    /// Milliseconds between the fire time and the claim.
    async fn lateness_ms(&self) -> i64 {
        (self.0.claimed_at - self.0.fire_at).num_milliseconds()
    }

    /// When its run was created.
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at.map(utc)
    }
}

/// Something that happened to a task.
pub struct TaskEvent(pub TaskEventMessage);

/// Something that happened to a task: a fire, a skip, a time-out, a state change.
#[Object]
impl TaskEvent {
    /// What happened.
    async fn kind(&self) -> TaskEventKind {
        self.0.kind
    }

    /// The task.
    async fn task_id(&self) -> ID {
        ID(self.0.task_id.clone())
    }

    /// The task's name.
    async fn task_name(&self) -> &str {
        &self.0.task_name
    }

    /// The fire, for FIRED, QUEUED, SKIPPED, MISSED and FAILED.
    async fn fire(&self) -> Option<TaskFire> {
        self.0.fire.clone().map(TaskFire)
    }

    /// The run: the one started, or the one cancelled for TIMED_OUT.
    async fn run_id(&self) -> Option<ID> {
        self.0
            .run_id
            .clone()
            .or_else(|| self.0.fire.as_ref().and_then(|fire| fire.run_id.clone()))
            .map(ID)
    }

    /// When it happened.
    async fn at(&self) -> DateTime<Utc> {
        utc(self.0.at)
    }
}
