//! The run state machine (see DESIGN.md): which action moves a run where.

use async_graphql::Enum;
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Enum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStatus {
    /// Created, not started yet.
    Queued,
    /// Cases are being executed.
    Running,
    /// No new cases start; resume continues with the rest.
    Paused,
    /// Finished and every executed case passed.
    Passed,
    /// Finished and at least one case failed an assertion.
    Failed,
    /// Finished, no assertion failed, but at least one request failed.
    Error,
    /// Stopped by a person before it finished.
    Cancelled,
}

/// What a person asks of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunAction {
    /// Stop dispatching new cases.
    Pause,
    /// Continue a paused run.
    Resume,
    /// Stop for good, aborting in-flight cases.
    Cancel,
    /// Start a new run of the failed and errored cases.
    Retry,
}

/// Every status, for the exhaustive tests and lookups.
pub const ALL_STATUSES: [RunStatus; 7] = [
    RunStatus::Queued,
    RunStatus::Running,
    RunStatus::Paused,
    RunStatus::Passed,
    RunStatus::Failed,
    RunStatus::Error,
    RunStatus::Cancelled,
];

/// Statuses in which a run still needs a node.
pub const ACTIVE_STATUSES: [&str; 3] = ["QUEUED", "RUNNING", "PAUSED"];

impl RunStatus {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "QUEUED",
            Self::Running => "RUNNING",
            Self::Paused => "PAUSED",
            Self::Passed => "PASSED",
            Self::Failed => "FAILED",
            Self::Error => "ERROR",
            Self::Cancelled => "CANCELLED",
        }
    }

    /// Reads the stored spelling (unknown text reads as `ERROR`).
    pub fn from_stored(value: &str) -> Self {
        ALL_STATUSES
            .into_iter()
            .find(|status| status.as_str() == value)
            .unwrap_or(Self::Error)
    }

    /// True once the run can no longer change.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Passed | Self::Failed | Self::Error | Self::Cancelled
        )
    }
}

/// The status `action` moves a run in `from` to; `CONFLICT` when the move is illegal.
///
/// Cancelling a cancelled run is allowed and changes nothing (cancel is
/// idempotent). Retry leaves its run as it is and needs a finished one.
pub fn next_status(from: RunStatus, action: RunAction) -> AppResult<RunStatus> {
    use RunStatus::*;
    let to = match (action, from) {
        (RunAction::Pause, Running) => Some(Paused),
        (RunAction::Resume, Paused) => Some(Running),
        (RunAction::Cancel, Queued | Running | Paused | Cancelled) => Some(Cancelled),
        (RunAction::Retry, Passed | Failed | Error | Cancelled) => Some(from),
        _ => None,
    };
    to.ok_or_else(|| {
        AppError::Conflict(format!(
            "a {} run cannot be {}",
            from.as_str().to_lowercase(),
            match action {
                RunAction::Pause => "paused",
                RunAction::Resume => "resumed",
                RunAction::Cancel => "cancelled",
                RunAction::Retry => "retried",
            }
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_and_action_pair() {
        use RunAction::*;
        use RunStatus::*;
        let allowed = |status: RunStatus, action: RunAction| -> Option<RunStatus> {
            match (status, action) {
                (Running, Pause) => Some(Paused),
                (Paused, Resume) => Some(Running),
                (Queued | Running | Paused | Cancelled, Cancel) => Some(Cancelled),
                (Passed | Failed | Error | Cancelled, Retry) => Some(status),
                _ => None,
            }
        };
        for status in ALL_STATUSES {
            for action in [Pause, Resume, Cancel, Retry] {
                match (next_status(status, action), allowed(status, action)) {
                    (Ok(to), Some(expected)) => assert_eq!(to, expected, "{status:?} {action:?}"),
                    (Err(error), None) => assert_eq!(error.code(), "CONFLICT"),
                    (got, expected) => panic!("{status:?} {action:?}: {got:?} vs {expected:?}"),
                }
            }
        }
    }

    #[test]
    fn stored_spelling_round_trips() {
        for status in ALL_STATUSES {
            assert_eq!(RunStatus::from_stored(status.as_str()), status);
        }
    }
}
