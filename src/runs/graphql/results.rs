//! The `CaseResult` object: one case of a run with the exchange as recorded.

use async_graphql::{Object, ID};
use chrono::{DateTime, Utc};

use crate::cases::spec::KeyValue;
use crate::connection_names;
use crate::graphql::utc;

use crate::runs::http_check::{
    AssertionOutcome, HttpCaseOutcome, RequestFailure, RequestRecord, ResponseRecord,
};
use crate::runs::model::RunCaseRow;
use crate::runs::state::CaseResultStatus;

connection_names!(CaseResultConnection, CaseResultEdge);

/// The result of one case in a run.
pub struct CaseResult(pub RunCaseRow);

/// The result of one case in a run, with the exchange as recorded (secrets masked).
#[Object]
impl CaseResult {
    /// Unique id of this case in this run.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
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
    fn outcome(&self) -> Option<HttpCaseOutcome> {
        self.0.stored_result().and_then(|result| result.outcome)
    }
}
