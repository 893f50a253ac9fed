//! Rules and silences: validation, who may change them, their audit entries.

use chrono::NaiveDateTime;

use crate::app::App;
use crate::audit;
use crate::db::{now, Conn};
use crate::error::{AppError, AppResult};
use crate::monitoring::host_metrics::is_known_metric;
use crate::projects::access::ProjectAccess;
use crate::projects::model::ProjectRole;
use crate::projects::scope::ProjectScope;
use crate::servers::model::ServerRow;

use super::model::{AlertRuleId, AlertRuleRow, SilenceRow};
use super::state::{Comparison, Severity};

/// Longest `for` duration, in seconds (one day).
const MAX_FOR_SECS: i32 = 86_400;

/// What a client gives to create a rule.
pub struct NewRule {
    /// Name.
    pub name: String,
    /// Metric name.
    pub metric: String,
    /// One server of the project…
    pub server_id: Option<String>,
    /// …or every server carrying this tag.
    pub tag: Option<String>,
    /// Comparison.
    pub comparison: Comparison,
    /// Threshold.
    pub threshold: f64,
    /// Seconds the condition must hold before the alert fires.
    pub for_secs: i32,
    /// Severity.
    pub severity: Severity,
}

/// Creates a rule (maintainers).
pub async fn create_rule(
    app: &App,
    access: &ProjectAccess,
    new: NewRule,
) -> AppResult<AlertRuleRow> {
    access.ensure(ProjectRole::Maintainer)?;
    let name = new.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::bad_input(
            "name",
            "name must be 1 to 100 characters",
        ));
    }
    if !is_known_metric(&new.metric) {
        return Err(AppError::bad_input(
            "metric",
            format!("unknown metric '{}'", new.metric),
        ));
    }
    if !new.threshold.is_finite() {
        return Err(AppError::bad_input(
            "threshold",
            "the threshold must be a finite number",
        ));
    }
    if !(0..=MAX_FOR_SECS).contains(&new.for_secs) {
        return Err(AppError::bad_input(
            "forSecs",
            format!("for must be 0 to {MAX_FOR_SECS} seconds"),
        ));
    }
    app.db
        .transaction(async |conn| {
            match (&new.server_id, &new.tag) {
                (Some(server_id), None) => {
                    ensure_server_of_project(conn, access.scope(), server_id).await?
                }
                (None, Some(tag)) if !tag.trim().is_empty() => {}
                _ => {
                    return Err(AppError::bad_input(
                        "serverId",
                        "give either serverId or tag",
                    ))
                }
            }
            let at = now();
            let row = AlertRuleRow {
                id: AlertRuleId::generate(),
                project_id: access.project_id().to_owned(),
                name,
                metric: new.metric,
                server_id: new.server_id,
                tag: new.tag.map(|t| t.trim().to_owned()),
                comparison: new.comparison,
                threshold: new.threshold,
                for_secs: new.for_secs,
                severity: new.severity,
                enabled: true,
                created_at: at,
                updated_at: at,
            };
            row.insert(conn).await?;
            let summary = format!(
                "created alert rule '{}': {} {} {} for {} s",
                row.name, row.metric, row.comparison, row.threshold, row.for_secs
            );
            audit::record_in_project(
                &mut *conn,
                access,
                "alert_rule",
                "alert_rule.create",
                &row.id,
                summary,
            )
            .await?;
            Ok(row)
        })
        .await
}

/// Deletes a rule and its alerts (maintainers).
pub async fn delete_rule(app: &App, access: &ProjectAccess, rule: &AlertRuleRow) -> AppResult<()> {
    access.ensure(ProjectRole::Maintainer)?;
    let summary = format!("deleted alert rule '{}'", rule.name);
    app.db
        .transaction(async |conn| {
            AlertRuleRow::delete(conn, access.scope(), &rule.id).await?;
            audit::record_in_project(
                conn,
                access,
                "alert_rule",
                "alert_rule.delete",
                &rule.id,
                summary,
            )
            .await?;
            Ok(())
        })
        .await
}

/// Silences notifications of the project's alerts (or one rule's, or one server's) until `ends_at`.
pub async fn create_silence(
    app: &App,
    access: &ProjectAccess,
    rule_id: Option<String>,
    server_id: Option<String>,
    reason: String,
    ends_at: NaiveDateTime,
) -> AppResult<SilenceRow> {
    access.ensure(ProjectRole::Maintainer)?;
    let at = now();
    if ends_at <= at {
        return Err(AppError::bad_input(
            "endsAt",
            "the end must lie in the future",
        ));
    }
    app.db
        .transaction(async |conn| {
            if let Some(rule_id) = &rule_id {
                match AlertRuleRow::find(conn, rule_id).await? {
                    Some(rule) if rule.project_id == access.project_id() => {}
                    _ => {
                        return Err(AppError::bad_input(
                            "ruleId",
                            "no such rule in this project",
                        ))
                    }
                }
            }
            if let Some(server_id) = &server_id {
                ensure_server_of_project(conn, access.scope(), server_id).await?;
            }
            let row = SilenceRow {
                id: uuid::Uuid::now_v7().to_string(),
                project_id: access.project_id().to_owned(),
                rule_id: rule_id.map(AlertRuleId::from),
                server_id,
                reason: reason.chars().take(500).collect(),
                ends_at,
                created_by: access.viewer().id().to_owned(),
                created_at: at,
            };
            row.insert(conn).await?;
            let summary = format!("silenced alerts until {} ({})", ends_at, row.reason);
            audit::record_in_project(
                &mut *conn,
                access,
                "silence",
                "silence.create",
                &row.id,
                summary,
            )
            .await?;
            Ok(row)
        })
        .await
}

/// Ends a silence now (maintainers).
pub async fn end_silence(app: &App, access: &ProjectAccess, silence: &SilenceRow) -> AppResult<()> {
    access.ensure(ProjectRole::Maintainer)?;
    app.db
        .transaction(async |conn| {
            SilenceRow::end(conn, access.scope(), &silence.id, now()).await?;
            audit::record_in_project(
                conn,
                access,
                "silence",
                "silence.end",
                &silence.id,
                "ended silence".into(),
            )
            .await?;
            Ok(())
        })
        .await
}

/// `BAD_USER_INPUT` unless `server_id` is a server of the project in scope.
async fn ensure_server_of_project(
    conn: &mut Conn,
    scope: &ProjectScope,
    server_id: &str,
) -> AppResult<()> {
    match ServerRow::find(conn, server_id).await? {
        Some(server) if server.project_id == scope.project_id() => Ok(()),
        _ => Err(AppError::bad_input(
            "serverId",
            "no such server in this project",
        )),
    }
}
