//! The project dashboard: servers by status, firing alerts, recent activity,
//! recent runs and the pass rate of the last days.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::dsl::{count_star, sum};
use diesel::{ExpressionMethods, QueryDsl};

use crate::app::App;
use crate::audit::model::{AuditFilter, AuditRow};
use crate::db::schema::runs;
use crate::db::{now, Conn, DbResult};
use crate::db_run;
use crate::error::AppResult;
use crate::projects::access::ProjectAccess;
use crate::projects::scope::ProjectScope;
use crate::runs::model::{RunFilter, RunRow};
use crate::servers::model::{ServerFilter, ServerRow, ServerStatus};

use super::alerts::model::AlertRow;
use super::alerts::state::AlertState;

/// Most firing alerts and audit entries on a dashboard.
const RECENT: i64 = 20;
/// Most runs on a dashboard.
const RECENT_RUNS: i64 = 10;
/// The days the pass rate looks back over.
pub const PASS_RATE_DAYS: i64 = 7;

/// What the dashboard shows.
pub struct DashboardData {
    /// The project's servers.
    pub servers: Vec<ServerRow>,
    /// Alerts firing now, newest first.
    pub firing: Vec<AlertRow>,
    /// The newest audit entries.
    pub activity: Vec<AuditRow>,
    /// The newest runs, newest first.
    pub runs: Vec<RunRow>,
    /// Case counts of the runs finished in the last [`PASS_RATE_DAYS`] days.
    pub finished: FinishedRuns,
}

/// Runs finished since some time, with their case counts summed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FinishedRuns {
    /// Finished runs.
    pub runs: i64,
    /// Cases that passed.
    pub passed: i64,
    /// Cases that failed an assertion.
    pub failed: i64,
    /// Cases whose request failed.
    pub errored: i64,
}

impl FinishedRuns {
    /// Percentage of executed cases that passed, one decimal (as in run reports); none when no case ran.
    pub fn pass_rate(&self) -> Option<f64> {
        let executed = self.passed + self.failed + self.errored;
        (executed > 0).then(|| (self.passed as f64 * 1000.0 / executed as f64).round() / 10.0)
    }

    /// Sums the runs of the project in scope finished at or after `since`.
    pub async fn since(
        conn: &mut Conn,
        scope: &ProjectScope,
        since: NaiveDateTime,
    ) -> DbResult<Self> {
        let (runs, passed, failed, errored): (i64, Option<i64>, Option<i64>, Option<i64>) =
            db_run!(conn, |conn| {
                Ok::<_, crate::db::DbError>(
                    runs::table
                        .filter(runs::project_id.eq(scope.project_id()))
                        .filter(runs::finished_at.ge(since))
                        .select((
                            count_star(),
                            sum(runs::passed),
                            sum(runs::failed),
                            sum(runs::errored),
                        ))
                        .get_result(conn)
                        .await?,
                )
            })?;
        Ok(Self {
            runs,
            passed: passed.unwrap_or(0),
            failed: failed.unwrap_or(0),
            errored: errored.unwrap_or(0),
        })
    }
}

impl DashboardData {
    /// How many servers are in `status`.
    pub fn count(&self, status: ServerStatus) -> i32 {
        let count = self.servers.iter().filter(|s| s.status == status).count();
        i32::try_from(count).unwrap_or(i32::MAX)
    }
}

/// Reads the dashboard of the project `access` is for.
pub async fn load(app: &App, access: &ProjectAccess) -> AppResult<DashboardData> {
    let scope = access.scope();
    let mut conn = app.db.conn().await?;
    let since = now() - TimeDelta::days(PASS_RATE_DAYS);
    Ok(DashboardData {
        servers: ServerRow::list(&mut conn, scope, &ServerFilter::default()).await?,
        firing: AlertRow::list(&mut conn, scope, Some(AlertState::Firing), RECENT).await?,
        activity: AuditRow::page(
            &mut conn,
            scope,
            &AuditFilter::default(),
            None,
            Some(RECENT),
        )
        .await?,
        runs: RunRow::page(&mut conn, scope, &RunFilter::default(), None, RECENT_RUNS).await?,
        finished: FinishedRuns::since(&mut conn, scope, since).await?,
    })
}

#[cfg(test)]
mod tests {
    use super::FinishedRuns;

    #[test]
    fn pass_rate_is_a_percentage_of_executed_cases() {
        let finished = FinishedRuns {
            runs: 2,
            passed: 2,
            failed: 1,
            errored: 0,
        };
        assert_eq!(finished.pass_rate(), Some(66.7));
        assert_eq!(FinishedRuns::default().pass_rate(), None);
    }
}
