//! GraphQL for runs: start and control them, read results and reports, watch them live.

use std::sync::Arc;

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, Subscription, ID};
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};

use crate::app::App;
use crate::cases::spec::KeyValue;
use crate::connection_names;
use crate::error::{AppError, GqlResult, GraphqlError};
use crate::graphql::pagination::{
    page_complexity, total_count_selected, CursorConnection, PageRequest,
};
use crate::graphql::{utc, ContextExt};
use crate::projects::access::ProjectAccess;
use crate::projects::model::ProjectRole;

use super::events::{progress, project_topic};
use super::feed::RunEventFeed;
use super::http_check::{AssertionOutcome, RequestFailure, RequestRecord, ResponseRecord};
use super::model::{RunCaseRow, RunEventRow, RunFilter, RunRow};
use super::report::{render, summarize, AssertionFailures, Latency, ReportFormat, Summary};
use super::service::{self, StartRun};
use super::state::{CaseResultStatus, RunAction, RunStatus, RunTrigger};

connection_names!(RunConnection, RunEdge);
connection_names!(CaseResultConnection, CaseResultEdge);

/// Most events or log lines one read returns.
const MAX_EVENTS_PER_READ: i64 = 1000;

/// One execution of a project's cases.
pub struct Run(pub RunRow);

/// One execution of a project's cases: status, counters, results, events, report.
#[Object]
impl Run {
    /// Unique id.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
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
        self.0.retry_of.clone().map(ID)
    }

    /// The scheduled task that fired the run, if one did.
    async fn task_id(&self) -> Option<ID> {
        self.0.task_id.clone().map(ID)
    }

    /// The name of the environment snapshotted at start, if any.
    async fn environment_name(&self) -> Option<String> {
        serde_json::from_str::<service::EnvironmentSnapshot>(&self.0.environment)
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
        Ok(RunReport {
            summary: summarize(&self.0, &cases),
            cases,
        })
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

/// The result of one case in a run.
pub struct CaseResult(pub RunCaseRow);

/// The result of one case in a run, with the exchange as recorded (secrets masked).
#[Object]
impl CaseResult {
    /// Unique id of this case in this run.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// The case it snapshotted.
    async fn case_id(&self) -> ID {
        ID(self.0.case_id.clone())
    }

    /// The case's name at start.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The case's kind.
    async fn kind(&self) -> &str {
        self.0.kind.as_str()
    }

    /// Position in the run, from 0.
    async fn position(&self) -> i32 {
        self.0.position
    }

    /// PASSED, FAILED, ERROR, SKIPPED (or PENDING/RUNNING while the run goes on).
    async fn status(&self) -> CaseResultStatus {
        self.0.status
    }

    /// Time the case took, in ms.
    async fn duration_ms(&self) -> Option<i64> {
        self.0.duration_ms
    }

    /// When it finished.
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at.map(utc)
    }

    /// Why the case was skipped.
    async fn skip_reason(&self) -> Option<String> {
        self.0.stored_result().and_then(|result| result.skip_reason)
    }

    /// What a task step did (a probe's answer, what a purge deleted).
    async fn message(&self) -> Option<String> {
        self.0.stored_result().and_then(|result| result.message)
    }

    /// The request as sent, secrets masked.
    async fn request(&self) -> Option<RequestRecord> {
        self.outcome().map(|outcome| outcome.request)
    }

    /// The response, if one arrived.
    async fn response(&self) -> Option<ResponseRecord> {
        self.outcome().and_then(|outcome| outcome.response)
    }

    /// Every assertion with expected, actual and pass/fail.
    async fn assertions(&self) -> Vec<AssertionOutcome> {
        self.outcome()
            .map(|outcome| outcome.assertions)
            .unwrap_or_default()
    }

    /// Variables captured from the response.
    async fn captures(&self) -> Vec<KeyValue> {
        self.outcome()
            .map(|outcome| outcome.captures)
            .unwrap_or_default()
    }

    /// Why the request failed, for ERROR.
    async fn error(&self) -> Option<RequestFailure> {
        self.outcome().and_then(|outcome| outcome.error)
    }
}

impl CaseResult {
    fn outcome(&self) -> Option<super::http_check::HttpCaseOutcome> {
        self.0.stored_result().and_then(|result| result.outcome)
    }
}

/// The kinds of run event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum RunEventKind {
    /// The run's case list, once at start.
    Init,
    /// A case was dispatched.
    CaseStarted,
    /// A case finished; `data.result` holds its result.
    CaseFinished,
    /// The run changed status; `data` holds status, progress and counters.
    Status,
    /// A log line; `data` holds level and message.
    Log,
    /// The run is final; the last event of a run.
    Done,
}

/// One numbered event of a run.
pub struct RunEvent(pub Arc<RunEventRow>);

/// One numbered event of a run (the live protocol of DESIGN.md).
#[Object]
impl RunEvent {
    /// The run.
    async fn run_id(&self) -> ID {
        ID(self.0.run_id.clone())
    }

    /// Sequence number, increasing by one per event of the run.
    async fn seq(&self) -> i64 {
        self.0.seq
    }

    /// What happened.
    async fn kind(&self) -> RunEventKind {
        match self.0.kind.as_str() {
            "INIT" => RunEventKind::Init,
            "CASE_STARTED" => RunEventKind::CaseStarted,
            "CASE_FINISHED" => RunEventKind::CaseFinished,
            "STATUS" => RunEventKind::Status,
            "DONE" => RunEventKind::Done,
            _ => RunEventKind::Log,
        }
    }

    /// The event's details as JSON.
    async fn data(&self) -> async_graphql::Json<serde_json::Value> {
        async_graphql::Json(serde_json::from_str(&self.0.payload).unwrap_or_default())
    }

    /// When it happened.
    async fn created_at(&self) -> DateTime<Utc> {
        utc(self.0.created_at)
    }
}

/// A run's report.
pub struct RunReport {
    summary: Summary,
    cases: Vec<RunCaseRow>,
}

/// A run's report: counts, pass rate, duration, latency, slowest cases, failures by assertion.
#[Object]
impl RunReport {
    /// Cases in the run.
    async fn total(&self) -> i64 {
        self.summary.total
    }

    /// Cases that passed.
    async fn passed(&self) -> i64 {
        self.summary.passed
    }

    /// Cases with a failed assertion.
    async fn failed(&self) -> i64 {
        self.summary.failed
    }

    /// Cases whose request failed.
    async fn errored(&self) -> i64 {
        self.summary.errored
    }

    /// Cases not executed.
    async fn skipped(&self) -> i64 {
        self.summary.skipped
    }

    /// Passed share of the executed cases, 0–100.
    async fn pass_rate(&self) -> f64 {
        self.summary.pass_rate
    }

    /// Wall time of the run, in ms.
    async fn duration_ms(&self) -> i64 {
        self.summary.duration_ms
    }

    /// Latency percentiles of the executed cases.
    async fn latency(&self) -> Latency {
        self.summary.latency.clone()
    }

    /// The `n` slowest executed cases, slowest first.
    async fn slowest(
        &self,
        #[graphql(desc = "How many (1 to 100, default 5).")] n: Option<i32>,
    ) -> GqlResult<Vec<CaseResult>> {
        let n = n.unwrap_or(5);
        if !(1..=100).contains(&n) {
            return Err(AppError::bad_input("n", "n must be between 1 and 100").into());
        }
        let mut executed: Vec<&RunCaseRow> = self
            .cases
            .iter()
            .filter(|case| case.duration_ms.is_some())
            .collect();
        executed.sort_by_key(|case| std::cmp::Reverse(case.duration_ms));
        Ok(executed
            .into_iter()
            .take(usize::try_from(n).unwrap_or(5))
            .cloned()
            .map(CaseResult)
            .collect())
    }

    /// Failed assertions by kind, most frequent first.
    async fn failures_by_assertion(&self) -> Vec<AssertionFailures> {
        self.summary.failures_by_assertion.clone()
    }
}

/// One run of a project's trend.
#[derive(SimpleObject)]
pub struct RunTrendPoint {
    /// The run.
    run_id: ID,
    /// Its final status.
    status: RunStatus,
    /// When it was created.
    created_at: DateTime<Utc>,
    /// Passed share of its executed cases, 0–100.
    pass_rate: f64,
    /// Its wall time, in ms.
    duration_ms: i64,
    /// Its case count.
    total: i32,
}

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
        Ok(runs
            .into_iter()
            .map(|run| {
                let summary = summarize(&run, &[]);
                RunTrendPoint {
                    run_id: ID(run.id.clone()),
                    status: run.status,
                    created_at: utc(run.created_at),
                    pass_rate: summary.pass_rate,
                    duration_ms: summary.duration_ms,
                    total: run.total,
                }
            })
            .collect())
    }
}

/// Input of `startRun`.
#[derive(InputObject)]
pub struct StartRunInput {
    /// The project.
    project_id: ID,
    /// Cases to run (any kind; inactive ones too). Default: every active case, narrowed by `tags`.
    case_ids: Option<Vec<ID>>,
    /// Only active cases carrying every one of these tags (when `caseIds` is not given).
    tags: Option<Vec<String>>,
    /// The environment; the project's default when omitted.
    environment_id: Option<ID>,
    /// Cases in flight at once (1–256); the project setting when omitted.
    max_workers: Option<i32>,
}

/// Input of the run control mutations.
#[derive(InputObject)]
pub struct RunActionInput {
    /// The run.
    run_id: ID,
}

/// Result of a run mutation.
#[derive(SimpleObject)]
pub struct RunPayload {
    /// The run as it is now (for `retryRun`: the new run).
    run: Run,
}

/// Run mutations.
#[derive(Default)]
pub struct RunMutation;

#[Object]
impl RunMutation {
    /// Starts a run (members); it is returned at once, QUEUED, and executes in the background.
    async fn start_run(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to run.")] input: StartRunInput,
    ) -> GqlResult<RunPayload> {
        let access = ctx
            .project_access(&input.project_id, ProjectRole::Member)
            .await?;
        let request = StartRun {
            case_ids: input
                .case_ids
                .map(|ids| ids.into_iter().map(|id| id.0).collect()),
            tags: input.tags.unwrap_or_default(),
            environment_id: input.environment_id.map(|id| id.0),
            max_workers: input.max_workers,
        };
        let run = service::start_run(ctx.app(), &access, request, RunTrigger::Manual).await?;
        Ok(RunPayload { run: Run(run) })
    }

    /// Pauses a running run: cases in flight finish, no new ones start (members).
    async fn pause_run(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The run.")] input: RunActionInput,
    ) -> GqlResult<RunPayload> {
        control(ctx, &input.run_id, RunAction::Pause).await
    }

    /// Resumes a paused run (members).
    async fn resume_run(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The run.")] input: RunActionInput,
    ) -> GqlResult<RunPayload> {
        control(ctx, &input.run_id, RunAction::Resume).await
    }

    /// Cancels a run, aborting cases in flight; idempotent (members; admins for any run).
    async fn cancel_run(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The run.")] input: RunActionInput,
    ) -> GqlResult<RunPayload> {
        control(ctx, &input.run_id, RunAction::Cancel).await
    }

    /// Starts a new run of a finished run's failed and errored cases, trigger RETRY (members).
    async fn retry_run(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The run to retry.")] input: RunActionInput,
    ) -> GqlResult<RunPayload> {
        let (run, access) = ctx
            .object_access::<RunRow>(&input.run_id, ProjectRole::Member)
            .await?;
        let retry = service::retry_run(ctx.app(), &access, &run).await?;
        Ok(RunPayload { run: Run(retry) })
    }
}

async fn control(ctx: &Context<'_>, run_id: &str, action: RunAction) -> GqlResult<RunPayload> {
    let (run, access) = ctx
        .object_access::<RunRow>(run_id, ProjectRole::Member)
        .await?;
    let run = service::control_run(ctx.app(), &access, &run, action).await?;
    Ok(RunPayload { run: Run(run) })
}

/// Run subscriptions.
#[derive(Default)]
pub struct RunSubscription;

#[Subscription]
impl RunSubscription {
    /// A run's events with `seq` above `afterSeq`, in `seq` order: the stored ones,
    /// then live ones, without gap or duplicate; the stream completes right after
    /// DONE, and at once when `afterSeq` is at or past DONE (project viewers).
    async fn run_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The run.")] run_id: ID,
        #[graphql(desc = "Last sequence number the client has (default 0: everything).")]
        after_seq: Option<i64>,
    ) -> Result<impl Stream<Item = RunEvent>, GraphqlError> {
        let viewer = ctx.viewer().await?;
        let app: Arc<App> = ctx.app().clone();
        let (run, _) =
            ProjectAccess::for_object::<RunRow>(&app, &viewer, &run_id, ProjectRole::Viewer)
                .await?;
        let feed = RunEventFeed::open(app, &run.id, after_seq.unwrap_or(0));
        Ok(feed.into_stream().map(RunEvent))
    }

    /// Status changes of every run of a project, for dashboards (project viewers).
    async fn project_runs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project.")] project_id: ID,
    ) -> Result<impl Stream<Item = Run>, GraphqlError> {
        let access = ctx.project_access(&project_id, ProjectRole::Viewer).await?;
        let stream = ctx
            .app()
            .bus
            .subscribe_json::<RunRow>(&project_topic(access.project_id()));
        Ok(stream.map(Run))
    }
}
