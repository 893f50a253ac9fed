//! Run events: the `RunEvent` object and the kinds it maps stored events to.

use std::sync::Arc;

use async_graphql::{Enum, Object, ID};
use chrono::{DateTime, Utc};

use crate::graphql::utc;

use crate::runs::model::RunEventRow;

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
        ID(self.0.run_id.to_string())
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
