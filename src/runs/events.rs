//! Event topics and payloads of runs.

use serde_json::{json, Value};

use super::model::{NewEvent, RunRow};
use super::state::RunStatus;

/// Topic carrying one run's numbered events.
pub fn run_topic(run_id: &str) -> String {
    format!("runs.{run_id}.events")
}

/// Topic telling the node that drives a run that its status changed (pause,
/// resume, cancel): the driver reads the run again. Apart from the run's
/// events, so that the driver never waits behind their fan-out.
pub fn run_control_topic(run_id: &str) -> String {
    format!("runs.{run_id}.control")
}

/// Topic carrying status changes of every run of a project.
pub fn project_topic(project_id: &str) -> String {
    format!("projects.{project_id}.runs")
}

/// Finished share of the run's cases, 0–100.
pub fn progress(run: &RunRow) -> f64 {
    if run.total == 0 {
        return 100.0;
    }
    let done = run.passed + run.failed + run.errored + run.skipped;
    (f64::from(done) * 100.0 / f64::from(run.total) * 10.0).round() / 10.0
}

/// The counters as they appear in STATUS and CASE_FINISHED payloads.
pub fn counters(run: &RunRow) -> Value {
    json!({
        "total": run.total,
        "passed": run.passed,
        "failed": run.failed,
        "errored": run.errored,
        "skipped": run.skipped,
    })
}

/// A STATUS event for a run about to move to `status` (counters as stored before the move).
pub fn status_event(run: &RunRow, status: RunStatus, reason: Option<&str>) -> NewEvent {
    NewEvent {
        kind: "STATUS",
        payload: json!({
            "status": status,
            "progress": progress(run),
            "counters": counters(run),
            "reason": reason,
        }),
    }
}

/// A LOG event.
pub fn log_event(level: &str, message: impl Into<String>) -> NewEvent {
    NewEvent {
        kind: "LOG",
        payload: json!({ "level": level, "message": message.into() }),
    }
}
