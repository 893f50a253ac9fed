//! The steps of a task's run that are not HTTP cases: a probe of one server,
//! one purge. The run driver runs them like cases (through [`TaskSteps`], the
//! node hands it at start), so a task's run has live events, cancel, reports
//! and takeover like any other.

use std::sync::Arc;
use std::time::Instant;

use futures_util::future::BoxFuture;

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::audit::model::AuditRow;
use crate::db::{Conn, DbResult};
use crate::projects::access::{ProjectScope, SystemActor};
use crate::runs::http_check::CaseVerdict;
use crate::runs::model::{RunCaseRow, RunEventRow, RunRow};
use crate::runs::service::CaseSnapshot;
use crate::runs::state::RunCaseKind;
use crate::runs::steps::{StepOutcome, StepPerformer};
use crate::servers::model::ServerRow;

use super::action::PurgeTarget;
use super::model::FireRow;

/// One step of a task's run, stored as the run case's spec.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TaskStep {
    /// Probe one server.
    Probe {
        /// The server.
        server_id: String,
    },
    /// Delete the project's data older than a number of days.
    Purge {
        /// Age limit in days.
        older_than_days: i32,
        /// What goes.
        targets: Vec<PurgeTarget>,
    },
}

/// Performs task steps for the run driver.
pub struct TaskSteps;

impl StepPerformer for TaskSteps {
    fn recognizes(&self, case: &RunCaseRow) -> bool {
        TaskStep::of_case(case).is_some()
    }

    fn perform(
        &self,
        app: Arc<App>,
        project_id: String,
        case: RunCaseRow,
    ) -> BoxFuture<'static, StepOutcome> {
        Box::pin(async move {
            match TaskStep::of_case(&case) {
                Some(step) => step.perform(&app, &project_id).await,
                None => StepOutcome {
                    status: CaseVerdict::Error,
                    duration_ms: 0,
                    message: "the step's spec could not be read".into(),
                },
            }
        })
    }
}

impl TaskStep {
    /// The step a run case holds, if it is one.
    pub fn of_case(case: &RunCaseRow) -> Option<Self> {
        match case.kind {
            RunCaseKind::Probe | RunCaseKind::Purge => serde_json::from_str(&case.spec).ok(),
            _ => None,
        }
    }

    /// The step as a case to snapshot into a run.
    pub fn as_case(&self, name: String) -> CaseSnapshot {
        let (case_id, kind) = match self {
            Self::Probe { server_id } => (server_id.clone(), RunCaseKind::Probe),
            Self::Purge { .. } => ("purge".to_owned(), RunCaseKind::Purge),
        };
        CaseSnapshot {
            case_id,
            name,
            kind,
            spec: serde_json::to_string(self).unwrap_or_default(),
        }
    }

    /// Performs the step for `project_id`.
    pub async fn perform(&self, app: &App, project_id: &str) -> StepOutcome {
        let started = Instant::now();
        let (status, message) = match self {
            Self::Probe { server_id } => probe(app, project_id, server_id).await,
            Self::Purge {
                older_than_days,
                targets,
            } => purge(app, project_id, *older_than_days, targets).await,
        };
        StepOutcome {
            status,
            duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
            message,
        }
    }
}

async fn probe(app: &App, project_id: &str, server_id: &str) -> (CaseVerdict, String) {
    let found = async { ServerRow::find(&mut app.db.conn().await?, server_id).await };
    let server = match found.await {
        Ok(Some(server)) if server.project_id == project_id => server,
        Ok(_) => return (CaseVerdict::Error, "the server no longer exists".into()),
        Err(error) => {
            return (
                CaseVerdict::Error,
                format!("reading the server failed: {error}"),
            )
        }
    };
    match crate::monitoring::monitor::probe_once(app, &server).await {
        Ok(outcome) if outcome.success => (
            CaseVerdict::Passed,
            format!(
                "{} is up ({:.0} ms): {}",
                server.name, outcome.latency_ms, outcome.message
            ),
        ),
        Ok(outcome) => (
            CaseVerdict::Failed,
            format!("{} is down: {}", server.name, outcome.message),
        ),
        Err(error) => (
            CaseVerdict::Error,
            format!("probing {} failed: {error}", server.name),
        ),
    }
}

async fn purge(
    app: &App,
    project_id: &str,
    older_than_days: i32,
    targets: &[PurgeTarget],
) -> (CaseVerdict, String) {
    let before = crate::db::now() - chrono::TimeDelta::days(i64::from(older_than_days));
    let mut done = Vec::new();
    // Logs first: purging runs takes their events with them.
    let mut ordered = targets.to_vec();
    ordered.sort_by_key(|target| match target {
        PurgeTarget::Logs => 0,
        PurgeTarget::Runs => 1,
        PurgeTarget::Audit => 2,
    });
    ordered.dedup();
    let scope = SystemActor::SCHEDULER.scope(project_id);
    let mut conn = match app.db.conn().await {
        Ok(conn) => conn,
        Err(error) => {
            let message = format!("purge failed after deleting nothing: {error}");
            return (CaseVerdict::Error, message);
        }
    };
    for target in ordered {
        let result = match target {
            PurgeTarget::Logs => RunEventRow::purge_finished_before(&mut conn, &scope, before)
                .await
                .map(|count| format!("{count} run events")),
            PurgeTarget::Runs => purge_runs(&mut conn, &scope, before).await,
            PurgeTarget::Audit => purge_audit(&mut conn, &scope, before).await,
        };
        match result {
            Ok(summary) => done.push(summary),
            Err(error) => {
                return (
                    CaseVerdict::Error,
                    format!("purge failed after deleting {}: {error}", list(&done)),
                )
            }
        }
    }
    (
        CaseVerdict::Passed,
        format!("deleted {} older than {older_than_days} days", list(&done)),
    )
}

/// Finished runs, and the task fire records of the same age.
async fn purge_runs(
    conn: &mut Conn,
    scope: &ProjectScope,
    before: chrono::NaiveDateTime,
) -> DbResult<String> {
    let runs = RunRow::purge_finished_before(conn, scope, before).await?;
    let fires = FireRow::purge_before(conn, scope, before).await?;
    Ok(format!("{runs} runs, {fires} task fires"))
}

/// Audit entries of the same age.
async fn purge_audit(
    conn: &mut Conn,
    scope: &ProjectScope,
    before: chrono::NaiveDateTime,
) -> DbResult<String> {
    let count = AuditRow::purge_before(conn, scope, before).await?;
    Ok(format!("{count} audit entries"))
}

fn list(parts: &[String]) -> String {
    if parts.is_empty() {
        "nothing".into()
    } else {
        parts.join(", ")
    }
}
