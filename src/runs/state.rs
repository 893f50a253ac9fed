//! The run state machine (see DESIGN.md): which action moves a run where,
//! and the stored enums of runs and their cases.

use async_graphql::Enum;
use serde::{Deserialize, Serialize};

use crate::cases::spec::CaseKind;
use crate::error::{AppError, AppResult};

use super::http_check::CaseVerdict;

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

crate::stored_enum!(RunStatus {
    Queued = "QUEUED",
    Running = "RUNNING",
    Paused = "PAUSED",
    Passed = "PASSED",
    Failed = "FAILED",
    Error = "ERROR",
    Cancelled = "CANCELLED",
});

/// Statuses in which a run still needs a node.
pub const ACTIVE_STATUSES: [RunStatus; 3] =
    [RunStatus::Queued, RunStatus::Running, RunStatus::Paused];

impl RunStatus {
    /// True once the run can no longer change.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Passed | Self::Failed | Self::Error | Self::Cancelled
        )
    }
}

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Enum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunTrigger {
    /// A person, in GraphQL or the REST shim.
    Manual,
    /// A scheduled task.
    Schedule,
    /// An API client.
    Api,
    /// A retry of an earlier run's failed and errored cases.
    Retry,
}

crate::stored_enum!(RunTrigger {
    Manual = "MANUAL",
    Schedule = "SCHEDULE",
    Api = "API",
    Retry = "RETRY",
});

/// A case result's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Enum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CaseResultStatus {
    /// Not started yet.
    Pending,
    /// In flight.
    Running,
    /// Every assertion held.
    Passed,
    /// At least one assertion failed.
    Failed,
    /// The request failed: DNS, connect, timeout, TLS, broken response.
    Error,
    /// Not executed; see `skipReason`.
    Skipped,
}

crate::stored_enum!(CaseResultStatus {
    Pending = "PENDING",
    Running = "RUNNING",
    Passed = "PASSED",
    Failed = "FAILED",
    Error = "ERROR",
    Skipped = "SKIPPED",
});

impl From<CaseVerdict> for CaseResultStatus {
    fn from(verdict: CaseVerdict) -> Self {
        match verdict {
            CaseVerdict::Passed => Self::Passed,
            CaseVerdict::Failed => Self::Failed,
            CaseVerdict::Error => Self::Error,
        }
    }
}

/// What a run case executes: a snapshotted case, or a task's step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunCaseKind {
    /// An HTTP case.
    Http,
    /// A load-test case.
    Perf,
    /// A script case.
    Script,
    /// A browser case.
    Ui,
    /// A task's probe of a server.
    Probe,
    /// A task's purge of old data.
    Purge,
}

crate::stored_enum!(RunCaseKind {
    Http = "HTTP",
    Perf = "PERF",
    Script = "SCRIPT",
    Ui = "UI",
    Probe = "PROBE",
    Purge = "PURGE",
});

impl From<CaseKind> for RunCaseKind {
    fn from(kind: CaseKind) -> Self {
        match kind {
            CaseKind::Http => Self::Http,
            CaseKind::Perf => Self::Perf,
            CaseKind::Script => Self::Script,
            CaseKind::Ui => Self::Ui,
        }
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
        for status in RunStatus::ALL.iter().copied() {
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
    fn stored_spellings_round_trip() {
        for status in RunStatus::ALL {
            assert_eq!(status.as_str().parse::<RunStatus>(), Ok(*status));
        }
        for status in CaseResultStatus::ALL {
            assert_eq!(status.as_str().parse::<CaseResultStatus>(), Ok(*status));
        }
        for kind in RunCaseKind::ALL {
            assert_eq!(kind.as_str().parse::<RunCaseKind>(), Ok(*kind));
        }
        assert!("DONE".parse::<RunStatus>().is_err());
    }
}
