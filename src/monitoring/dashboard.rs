//! The project dashboard: servers by status, firing alerts, recent activity.

use crate::app::App;
use crate::audit::model::{AuditFilter, AuditRow};
use crate::error::AppResult;
use crate::projects::access::ProjectAccess;
use crate::servers::model::{ServerFilter, ServerRow, ServerStatus};

use super::alerts::model::AlertRow;

/// Most firing alerts and audit entries on a dashboard.
const RECENT: i64 = 20;

/// What the dashboard shows.
pub struct DashboardData {
    /// The project's servers.
    pub servers: Vec<ServerRow>,
    /// Alerts firing now, newest first.
    pub firing: Vec<AlertRow>,
    /// The newest audit entries.
    pub activity: Vec<AuditRow>,
}

impl DashboardData {
    /// How many servers are in `status`.
    pub fn count(&self, status: ServerStatus) -> i32 {
        let count = self.servers.iter().filter(|s| s.status() == status).count();
        i32::try_from(count).unwrap_or(i32::MAX)
    }
}

/// Reads the dashboard of the project `access` is for.
pub async fn load(app: &App, access: &ProjectAccess) -> AppResult<DashboardData> {
    let project_id = access.project_id();
    Ok(DashboardData {
        servers: ServerRow::list(&app.db, project_id, &ServerFilter::default()).await?,
        firing: AlertRow::list(&app.db, project_id, Some("FIRING"), RECENT).await?,
        activity: AuditRow::page(
            &app.db,
            project_id,
            &AuditFilter::default(),
            None,
            Some(RECENT),
        )
        .await?,
    })
}
