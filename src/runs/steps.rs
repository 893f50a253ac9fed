//! Run cases that are not HTTP checks: the steps of a task's run (a probe of
//! one server, a purge). The driver runs them like cases, so a task's run has
//! live events, cancel, reports and takeover like any other; what a step does
//! belongs to the domain that defines it, which hands the driver a
//! [`StepPerformer`] when the node starts.

use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::app::App;

use super::http_check::CaseVerdict;
use super::model::RunCaseRow;

/// What a step did.
#[derive(Debug, Clone)]
pub struct StepOutcome {
    /// PASSED (server up, purge done), FAILED (server down) or ERROR.
    pub status: CaseVerdict,
    /// How long it took.
    pub duration_ms: i64,
    /// What happened, in plain words (never a secret).
    pub message: String,
}

/// Performs the run cases that are steps.
pub trait StepPerformer: Send + Sync {
    /// Whether `case` is a step this performer runs (its kind is one, and its spec reads).
    fn recognizes(&self, case: &RunCaseRow) -> bool;

    /// Performs the step `case` of a run of the project `project_id`.
    fn perform(
        &self,
        app: Arc<App>,
        project_id: String,
        case: RunCaseRow,
    ) -> BoxFuture<'static, StepOutcome>;
}
