//! The `Run` object: status, counters, results, log and events, report.

use std::sync::Arc;

use async_graphql::{Context, Object, ID};
use chrono::{DateTime, Utc};

use crate::connection_names;
use crate::error::GqlResult;
use crate::graphql::pagination::{
    page_complexity, total_count_selected, CursorConnection, PageRequest,
};
use crate::graphql::{utc, ContextExt};

use crate::runs::events::progress;
use crate::runs::model::{RunCaseRow, RunEventRow, RunRow};
use crate::runs::report::{render, ReportFormat};
use crate::runs::service::EnvironmentSnapshot;
use crate::runs::state::{CaseResultStatus, RunStatus, RunTrigger};

use super::events::RunEvent;
use super::report::RunReport;
use super::results::{CaseResult, CaseResultConnection, CaseResultEdge};

connection_names!(RunConnection, RunEdge);

/// Most events or log lines one read returns.
const MAX_EVENTS_PER_READ: i64 = 1000;

/// One execution of a project's cases.
pub struct Run(pub RunRow);

/// One execution of a project's cases: status, counters, results, events, report.
#[Object]
impl Run {
    /// Unique id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The project the run belongs to.
    async fn project_id(&self) -> ID {
        ID(self.0.project_id.clone())
    }

    /// Where the run stands.
    async fn status(&self) -> RunStatus {
        self.0.status
    }

    /// What started it.
    async fn trigger(&self) -> RunTrigger {
        self.0.trigger_kind
    }

    /// The user who started it.
    async fn started_by_id(&self) -> Option<ID> {
        self.0.started_by.clone().map(ID)
    }

    /// The run this one retries, for trigger RETRY.
    async fn retry_of_id(&self) -> Option<ID> {
        self.0.retry_of.as_ref().map(|id| ID(id.to_string()))
    }

    /// The scheduled task that fired the run, if one did.
    async fn task_id(&self) -> Option<ID> {
        self.0.task_id.clone().map(ID)
    }

    /// The name of the environment snapshotted at start, if any.
    async fn environment_name(&self) -> Option<String> {
        serde_json::from_str::<EnvironmentSnapshot>(&self.0.environment)
            .ok()
            .and_then(|snapshot| snapshot.name)
    }

    /// Cases in flight at once.
    async fn max_workers(&self) -> i32 {
        self.0.max_workers
    }

    /// Cases in the run.
    async fn total(&self) -> i32 {
        self.0.total
    }

    /// Cases that passed.
    async fn passed(&self) -> i32 {
        self.0.passed
    }

    /// Cases with a failed assertion.
    async fn failed(&self) -> i32 {
        self.0.failed
    }

    /// Cases whose request failed (DNS, connect, timeout, TLS …).
    async fn errored(&self) -> i32 {
        self.0.errored
    }

    /// Cases not executed (unsupported kind, cancelled).
    async fn skipped(&self) -> i32 {
        self.0.skipped
    }

    /// Finished share of the cases, 0–100.
    async fn progress(&self) -> f64 {
        progress(&self.0)
    }

    /// When the run was created.
    async fn created_at(&self) -> DateTime<Utc> {
        utc(self.0.created_at)
    }

    /// When it started running.
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at.map(utc)
    }

    /// When it reached its final status.
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at.map(utc)
    }

    /// The case results in run order, optionally of one status.
    #[graphql(complexity = "page_complexity(child_complexity, first)")]
    async fn results(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
        #[graphql(desc = "Only results in this status.")] status: Option<CaseResultStatus>,
    ) -> GqlResult<CursorConnection<CaseResult, CaseResultConnection, CaseResultEdge>> {
        let page = PageRequest::new(first, after)?;
        let offset = page.offset()?;
        let mut conn = ctx.app().db.conn().await?;
        let rows =
            RunCaseRow::page(&mut conn, &self.0.id, status, offset, page.fetch_limit()).await?;
        let total = if total_count_selected(ctx) {
            RunCaseRow::count(&mut conn, &self.0.id, status).await?
        } else {
            0
        };
        Ok(page.offset_connection(rows, total, offset, CaseResult))
    }

    /// The run's log lines after `afterSeq`, in order (at most 1000).
    async fn log(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only lines with a greater sequence number (default 0).")]
        after_seq: Option<i64>,
    ) -> GqlResult<Vec<RunEvent>> {
        let rows = RunEventRow::after(
            &mut ctx.app().db.conn().await?,
            &self.0.id,
            after_seq.unwrap_or(0),
            Some("LOG"),
            MAX_EVENTS_PER_READ,
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| RunEvent(Arc::new(row)))
            .collect())
    }

    /// The run's stored events after `afterSeq`, in order (at most 1000).
    async fn events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only events with a greater sequence number (default 0).")]
        after_seq: Option<i64>,
    ) -> GqlResult<Vec<RunEvent>> {
        let rows = RunEventRow::after(
            &mut ctx.app().db.conn().await?,
            &self.0.id,
            after_seq.unwrap_or(0),
            None,
            MAX_EVENTS_PER_READ,
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| RunEvent(Arc::new(row)))
            .collect())
    }

    /// The run's summary: counts, pass rate, latency percentiles, slowest cases, failures.
    async fn report(&self, ctx: &Context<'_>) -> GqlResult<RunReport> {
        let cases = RunCaseRow::list_for_run(&mut ctx.app().db.conn().await?, &self.0.id).await?;
        Ok(RunReport::new(&self.0, cases))
    }

    /// The report rendered as JUnit XML, JSON, CSV or a self-contained HTML page.
    async fn export(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The rendering.")] format: ReportFormat,
    ) -> GqlResult<String> {
        let cases = RunCaseRow::list_for_run(&mut ctx.app().db.conn().await?, &self.0.id).await?;
        Ok(render(format, &self.0, &cases))
    }
}
