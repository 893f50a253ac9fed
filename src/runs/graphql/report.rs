//! A run's report and a project's trend of runs.

use async_graphql::{Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use crate::error::{AppError, GqlResult};
use crate::graphql::utc;

use crate::runs::model::{RunCaseRow, RunRow};
use crate::runs::report::{summarize, AssertionFailures, Latency, Summary};
use crate::runs::state::RunStatus;

use super::results::CaseResult;

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

impl RunReport {
    /// The report of `run` with its cases.
    pub fn new(run: &RunRow, cases: Vec<RunCaseRow>) -> Self {
        Self {
            summary: summarize(run, &cases),
            cases,
        }
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

impl RunTrendPoint {
    /// The point of a finished run.
    pub fn of(run: &RunRow) -> Self {
        let summary = summarize(run, &[]);
        Self {
            run_id: ID(run.id.to_string()),
            status: run.status,
            created_at: utc(run.created_at),
            pass_rate: summary.pass_rate,
            duration_ms: summary.duration_ms,
            total: run.total,
        }
    }
}
