//! Alert rules, their evaluation (PENDING → FIRING → RESOLVED) and silences.

pub mod graphql;
pub mod model;

use std::collections::HashMap;

use chrono::NaiveDateTime;

use crate::app::App;
use crate::audit;
use crate::db::{now, Conn};
use crate::error::{AppError, AppResult};
use crate::notifications::model::NotificationRow;
use crate::notifications::{service as notifications, NotificationKind};
use crate::projects::access::ProjectAccess;
use crate::projects::model::{MemberRow, ProjectRole};
use crate::projects::scope::{ProjectScope, SystemActor};
use crate::servers::model::{ServerFilter, ServerRow};
use crate::stored_enum;

use super::host_metrics::is_known_metric;
use super::samples::SampleRow;
use model::{AlertRow, AlertRuleId, AlertRuleRow, SilenceRow};

/// Longest `for` duration, in seconds (one day).
const MAX_FOR_SECS: i32 = 86_400;
/// How old the newest sample may be for a rule to consider it, in milliseconds.
const FRESHNESS_MS: i64 = 10 * 60 * 1000;

/// The event topic carrying a project's alert transitions.
pub fn alerts_topic(project_id: &str) -> String {
    format!("projects.{project_id}.alerts")
}

/// How a sample is compared with the threshold.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// Value greater than the threshold.
    Gt,
    /// Value greater than or equal to the threshold.
    Ge,
    /// Value less than the threshold.
    Lt,
    /// Value less than or equal to the threshold.
    Le,
}

stored_enum!(Comparison {
    Gt = "GT",
    Ge = "GE",
    Lt = "LT",
    Le = "LE",
});

impl Comparison {
    /// Whether `value` breaches `threshold`.
    pub fn breached(self, value: f64, threshold: f64) -> bool {
        match self {
            Self::Gt => value > threshold,
            Self::Ge => value >= threshold,
            Self::Lt => value < threshold,
            Self::Le => value <= threshold,
        }
    }
}

/// How serious an alert is.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// For information.
    Info,
    /// Needs attention soon.
    Warning,
    /// Needs attention now.
    Critical,
}

stored_enum!(Severity {
    Info = "INFO",
    Warning = "WARNING",
    Critical = "CRITICAL",
});

/// Where an alert stands.
#[derive(
    async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlertState {
    /// The condition holds, not yet for the rule's `for` duration.
    Pending,
    /// The condition has held for the `for` duration.
    Firing,
    /// The condition no longer holds.
    Resolved,
}

stored_enum!(AlertState {
    Pending = "PENDING",
    Firing = "FIRING",
    Resolved = "RESOLVED",
});

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

/// Evaluates every enabled rule against the newest samples and moves alerts along.
pub async fn evaluate(app: &App) -> AppResult<()> {
    let mut conn = app.db.conn().await?;
    let rules = AlertRuleRow::list_enabled(&mut conn).await?;
    let mut open: HashMap<(AlertRuleId, String), AlertRow> = AlertRow::list_open(&mut conn)
        .await?
        .into_iter()
        .map(|alert| ((alert.rule_id.clone(), alert.server_id.clone()), alert))
        .collect();
    let now_ms = chrono::Utc::now().timestamp_millis();
    for rule in rules {
        let scope = SystemActor::MONITOR.scope(&rule.project_id);
        let servers = match &rule.server_id {
            Some(id) => ServerRow::find(&mut conn, id).await?.into_iter().collect(),
            None => {
                let filter = ServerFilter {
                    tag: rule.tag.clone(),
                    ..ServerFilter::default()
                };
                ServerRow::list(&mut conn, &scope, &filter).await?
            }
        };
        for server in servers {
            let latest =
                SampleRow::latest(&mut conn, &server.id, &rule.metric, now_ms - FRESHNESS_MS)
                    .await?;
            let alert = open.remove(&(rule.id.clone(), server.id.clone()));
            step(
                app,
                &mut conn,
                &scope,
                &rule,
                &server,
                latest.map(|(_, v)| v),
                alert,
            )
            .await?;
        }
    }
    Ok(())
}

/// One rule on one server: the next state of its open alert, if any.
async fn step(
    app: &App,
    conn: &mut Conn,
    scope: &ProjectScope,
    rule: &AlertRuleRow,
    server: &ServerRow,
    value: Option<f64>,
    alert: Option<AlertRow>,
) -> AppResult<()> {
    let breached = value.is_some_and(|v| rule.comparison.breached(v, rule.threshold));
    let at = now();
    match (breached, alert) {
        (true, None) => {
            let mut alert = AlertRow {
                id: uuid::Uuid::now_v7().to_string(),
                rule_id: rule.id.clone(),
                project_id: rule.project_id.clone(),
                server_id: server.id.clone(),
                state: AlertState::Pending,
                value: value.unwrap_or_default(),
                started_at: at,
                fired_at: None,
                resolved_at: None,
                updated_at: at,
            };
            match alert.insert(conn).await {
                Ok(()) => {}
                // Another node opened this episode first.
                Err(error) if error.is_unique_violation() => return Ok(()),
                Err(error) => return Err(error.into()),
            }
            publish(app, &alert).await;
            if rule.for_secs == 0 {
                alert.state = AlertState::Firing;
                alert.fired_at = Some(at);
                transitioned(app, conn, scope, rule, server, &alert).await?;
            }
        }
        (true, Some(mut alert)) => {
            let held = (at - alert.started_at).num_seconds();
            alert.value = value.unwrap_or(alert.value);
            if alert.state == AlertState::Pending && held >= i64::from(rule.for_secs) {
                alert.state = AlertState::Firing;
                alert.fired_at = Some(at);
                alert.updated_at = at;
                transitioned(app, conn, scope, rule, server, &alert).await?;
            }
        }
        (false, Some(mut alert)) => {
            let was_firing = alert.state == AlertState::Firing;
            alert.state = AlertState::Resolved;
            alert.resolved_at = Some(at);
            alert.updated_at = at;
            if let Some(v) = value {
                alert.value = v;
            }
            if was_firing {
                transitioned(app, conn, scope, rule, server, &alert).await?;
            } else {
                alert.save(conn).await?;
                publish(app, &alert).await;
            }
        }
        (false, None) => {}
    }
    Ok(())
}

/// Stores a firing or resolved alert and notifies the project's maintainers
/// (unless silenced), in one transaction; then publishes the notifications and
/// the alert: a subscriber that sees the event finds the notifications stored.
async fn transitioned(
    app: &App,
    conn: &mut Conn,
    scope: &ProjectScope,
    rule: &AlertRuleRow,
    server: &ServerRow,
    alert: &AlertRow,
) -> AppResult<()> {
    let notified = conn
        .transaction(async |conn| {
            alert.save(conn).await?;
            let silenced = SilenceRow::list_active(conn, scope, now())
                .await?
                .iter()
                .any(|silence| silence.covers(&rule.id, &server.id));
            if silenced {
                return Ok(Vec::new());
            }
            notify_maintainers(conn, scope, rule, server, alert).await
        })
        .await?;
    for notification in &notified {
        notifications::publish(app, notification).await;
    }
    publish(app, alert).await;
    Ok(())
}

async fn notify_maintainers(
    conn: &mut Conn,
    scope: &ProjectScope,
    rule: &AlertRuleRow,
    server: &ServerRow,
    alert: &AlertRow,
) -> AppResult<Vec<NotificationRow>> {
    let (kind, verb) = if alert.state == AlertState::Firing {
        (NotificationKind::AlertFiring, "firing")
    } else {
        (NotificationKind::AlertResolved, "resolved")
    };
    let message = format!(
        "[{}] {} on '{}' {verb}: {} = {} ({} {})",
        rule.severity,
        rule.name,
        server.name,
        rule.metric,
        alert.value,
        rule.comparison,
        rule.threshold
    );
    let mut notified = Vec::new();
    for member in MemberRow::list(conn, scope).await? {
        if member.role.includes(ProjectRole::Maintainer) {
            let row = notifications::store(conn, &member.user_id, kind, message.clone()).await?;
            notified.push(row);
        }
    }
    Ok(notified)
}

async fn publish(app: &App, alert: &AlertRow) {
    if let Err(error) = app
        .bus
        .publish_json(&alerts_topic(&alert.project_id), alert)
        .await
    {
        tracing::warn!(%error, "alert stored but not published");
    }
}
