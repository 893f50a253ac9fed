//! Run queries: one run, a project's runs, a project's trend.

use async_graphql::{Context, InputObject, Object, ID};
use chrono::{DateTime, Utc};

use crate::error::{AppError, GqlResult};
use crate::graphql::pagination::{
    page_complexity, total_count_selected, CursorConnection, PageRequest,
};
use crate::graphql::ContextExt;
use crate::projects::model::ProjectRole;

use crate::runs::model::{RunFilter, RunRow};
use crate::runs::state::{RunStatus, RunTrigger};

use super::report::RunTrendPoint;
use super::run::{Run, RunConnection, RunEdge};

/// Filters for `runs`.
#[derive(InputObject, Default)]
pub struct RunFilterInput {
    /// Only runs in this status.
    status: Option<RunStatus>,
    /// Only runs with this trigger.
    trigger: Option<RunTrigger>,
    /// Only runs created at or after this time.
    since: Option<DateTime<Utc>>,
    /// Only runs created before this time.
    until: Option<DateTime<Utc>>,
    /// Only runs fired by this scheduled task.
    task_id: Option<ID>,
}

/// Run queries.
#[derive(Default)]
pub struct RunQuery;

#[Object]
impl RunQuery {
    /// The run `id` (project viewers).
    async fn run(&self, ctx: &Context<'_>, #[graphql(desc = "The run.")] id: ID) -> GqlResult<Run> {
        let (run, _) = ctx
            .object_access::<RunRow>(&id, ProjectRole::Viewer)
            .await?;
        Ok(Run(run))
    }

    /// A project's runs, newest first (project viewers).
    #[graphql(complexity = "page_complexity(child_complexity, first)")]
    async fn runs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project.")] project_id: ID,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
        #[graphql(desc = "Which runs.")] filter: Option<RunFilterInput>,
    ) -> GqlResult<CursorConnection<Run, RunConnection, RunEdge>> {
        let access = ctx.project_access(&project_id, ProjectRole::Viewer).await?;
        let page = PageRequest::new(first, after)?;
        let input = filter.unwrap_or_default();
        let filter = RunFilter {
            status: input.status,
            trigger: input.trigger,
            since: input.since.map(|time| time.naive_utc()),
            until: input.until.map(|time| time.naive_utc()),
            task_id: input.task_id.map(|id| id.to_string()),
        };
        let mut conn = ctx.app().db.conn().await?;
        let rows = RunRow::page(
            &mut conn,
            access.scope(),
            &filter,
            page.after_id.as_deref(),
            page.fetch_limit(),
        )
        .await?;
        let total = if total_count_selected(ctx) {
            RunRow::count(&mut conn, access.scope(), &filter).await?
        } else {
            0
        };
        Ok(page.connection(rows, total, |row| &row.id, Run))
    }

    /// Pass rate and duration of the project's last `last` finished runs, oldest first.
    async fn project_trend(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project.")] project_id: ID,
        #[graphql(desc = "How many runs (1 to 100, default 20).")] last: Option<i32>,
    ) -> GqlResult<Vec<RunTrendPoint>> {
        let access = ctx.project_access(&project_id, ProjectRole::Viewer).await?;
        let last = last.unwrap_or(20);
        if !(1..=100).contains(&last) {
            return Err(AppError::bad_input("last", "last must be between 1 and 100").into());
        }
        let mut conn = ctx.app().db.conn().await?;
        let mut runs = RunRow::latest_finished(&mut conn, access.scope(), i64::from(last)).await?;
        runs.reverse();
        Ok(runs.iter().map(RunTrendPoint::of).collect())
    }
}
