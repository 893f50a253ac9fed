//! What a task does when it fires, and its policies.

use async_graphql::{Enum, InputObject, OneofObject, SimpleObject, Union, ID};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};

/// Longest retention a purge may be given, in days.
pub const MAX_PURGE_DAYS: i32 = 3650;
/// Longest maximum run time, in seconds (a week).
pub const MAX_RUN_SECONDS: i32 = 7 * 24 * 3600;

/// Run the project's cases: by ids, or the active cases with all the given tags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "RunCasesActionInput")]
#[serde(rename_all = "camelCase")]
pub struct RunCasesAction {
    /// These cases, in this order (all active cases when absent and no tags).
    pub case_ids: Option<Vec<ID>>,
    /// Only active cases carrying every one of these tags.
    pub tags: Option<Vec<String>>,
    /// The environment (the project's default when absent).
    pub environment_id: Option<ID>,
    /// Cases in flight at once (the project's setting when absent).
    pub max_workers: Option<i32>,
}

/// Probe the project's servers now, recording `up` and `latency_ms` like the monitor does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "ProbeServersActionInput")]
#[serde(rename_all = "camelCase")]
pub struct ProbeServersAction {
    /// These servers (every probed server of the project when absent and no tags).
    pub server_ids: Option<Vec<ID>>,
    /// Only servers carrying every one of these tags.
    pub tags: Option<Vec<String>>,
}

/// What a purge deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Enum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PurgeTarget {
    /// Finished runs with their results and events, and task fire records
    /// (each task's latest scheduled fire stays).
    Runs,
    /// The events (log lines) of finished runs; the runs and results stay.
    Logs,
    /// Audit trail entries.
    Audit,
}

/// Delete the project's old data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "PurgeActionInput")]
#[serde(rename_all = "camelCase")]
pub struct PurgeAction {
    /// Data older than this many days goes (1 to 3650).
    pub older_than_days: i32,
    /// What goes.
    pub targets: Vec<PurgeTarget>,
}

/// What a task does when it fires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Union)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskAction {
    /// Run cases.
    RunCases(RunCasesAction),
    /// Probe servers.
    ProbeServers(ProbeServersAction),
    /// Purge old data.
    Purge(PurgeAction),
}

/// What a task does when it fires: exactly one of the fields.
#[derive(Debug, Clone, OneofObject)]
pub enum TaskActionInput {
    /// Run cases.
    RunCases(RunCasesAction),
    /// Probe servers.
    ProbeServers(ProbeServersAction),
    /// Purge old data.
    Purge(PurgeAction),
}

impl From<TaskActionInput> for TaskAction {
    fn from(input: TaskActionInput) -> Self {
        match input {
            TaskActionInput::RunCases(action) => Self::RunCases(action),
            TaskActionInput::ProbeServers(action) => Self::ProbeServers(action),
            TaskActionInput::Purge(action) => Self::Purge(action),
        }
    }
}

impl TaskAction {
    /// Checks what can be checked without the database.
    pub fn validate_shape(&self) -> AppResult<()> {
        match self {
            Self::RunCases(action) => {
                if let Some(ids) = &action.case_ids {
                    if ids.is_empty() {
                        return Err(AppError::bad_input(
                            "action.runCases.caseIds",
                            "give at least one case id, or leave caseIds out",
                        ));
                    }
                }
                if let Some(workers) = action.max_workers {
                    let max = crate::runs::service::MAX_WORKERS;
                    if !(1..=max).contains(&workers) {
                        return Err(AppError::bad_input(
                            "action.runCases.maxWorkers",
                            format!("maxWorkers must be between 1 and {max}"),
                        ));
                    }
                }
            }
            Self::ProbeServers(action) => {
                if action.server_ids.as_ref().is_some_and(Vec::is_empty) {
                    return Err(AppError::bad_input(
                        "action.probeServers.serverIds",
                        "give at least one server id, or leave serverIds out",
                    ));
                }
            }
            Self::Purge(action) => {
                if !(1..=MAX_PURGE_DAYS).contains(&action.older_than_days) {
                    return Err(AppError::bad_input(
                        "action.purge.olderThanDays",
                        format!("olderThanDays must be between 1 and {MAX_PURGE_DAYS}"),
                    ));
                }
                if action.targets.is_empty() {
                    return Err(AppError::bad_input(
                        "action.purge.targets",
                        "name at least one of RUNS, LOGS, AUDIT",
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Whether a fire may start while the task's previous run is still active.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConcurrencyPolicy {
    /// Start anyway; runs overlap.
    Allow,
    /// Skip the fire (recorded as skipped).
    #[default]
    Forbid,
    /// Start it when the previous run ends (one fire waits at most; later ones are skipped).
    Queue,
}

/// What happens to fires that fell due while no node ran the scheduler, or while paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MisfirePolicy {
    /// Record them as missed.
    Skip,
    /// Record them as missed, and run once for the latest of them.
    #[default]
    RunOnce,
}

crate::stored_enum!(ConcurrencyPolicy {
    Allow = "ALLOW",
    Forbid = "FORBID",
    Queue = "QUEUE",
});
crate::stored_enum!(MisfirePolicy {
    Skip = "SKIP",
    RunOnce = "RUN_ONCE",
});

/// A task's policies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, SimpleObject)]
pub struct TaskPolicy {
    /// Overlapping runs.
    pub concurrency: ConcurrencyPolicy,
    /// Fires missed while down or paused.
    pub misfire: MisfirePolicy,
    /// A run still active after this many seconds is cancelled with reason TIMED_OUT.
    pub max_run_seconds: Option<i32>,
}

/// A task's policies; absent fields keep their current value (defaults FORBID, RUN_ONCE, no limit).
#[derive(Debug, Clone, Copy, Default, InputObject)]
pub struct TaskPolicyInput {
    /// Overlapping runs.
    pub concurrency: Option<ConcurrencyPolicy>,
    /// Fires missed while down or paused.
    pub misfire: Option<MisfirePolicy>,
    /// Cancel a run still active after this many seconds (1 to 604800); 0 removes the limit.
    pub max_run_seconds: Option<i32>,
}

impl TaskPolicyInput {
    /// `current` with this input's changes, checked.
    pub fn apply(self, current: TaskPolicy) -> AppResult<TaskPolicy> {
        let max_run_seconds = match self.max_run_seconds {
            None => current.max_run_seconds,
            Some(0) => None,
            Some(seconds) if (1..=MAX_RUN_SECONDS).contains(&seconds) => Some(seconds),
            Some(_) => {
                return Err(AppError::bad_input(
                    "policy.maxRunSeconds",
                    format!(
                        "maxRunSeconds must be between 1 and {MAX_RUN_SECONDS} (0 for no limit)"
                    ),
                ))
            }
        };
        Ok(TaskPolicy {
            concurrency: self.concurrency.unwrap_or(current.concurrency),
            misfire: self.misfire.unwrap_or(current.misfire),
            max_run_seconds,
        })
    }
}
