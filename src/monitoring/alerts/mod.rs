//! Alert rules, their evaluation (PENDING → FIRING → RESOLVED) and silences.

pub mod graphql;
pub mod model;

use std::collections::HashMap;

use chrono::NaiveDateTime;

use crate::app::App;
use crate::audit;
use crate::db::now;
use crate::error::{AppError, AppResult};
use crate::notifications::service::notify;
use crate::notifications::NotificationKind;
use crate::projects::access::ProjectAccess;
use crate::projects::model::{MemberRow, ProjectRole};
use crate::servers::model::{ServerFilter, ServerRow};

use super::host_metrics::is_known_metric;
use super::samples::SampleRow;
use model::{AlertRow, AlertRuleRow, SilenceRow};

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

impl Comparison {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gt => "GT",
            Self::Ge => "GE",
            Self::Lt => "LT",
            Self::Le => "LE",
        }
    }

    /// Reads the stored spelling.
    pub fn from_stored(value: &str) -> Self {
        match value {
            "GE" => Self::Ge,
            "LT" => Self::Lt,
            "LE" => Self::Le,
            _ => Self::Gt,
        }
    }

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

impl Severity {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "INFO",
            Self::Warning => "WARNING",
            Self::Critical => "CRITICAL",
        }
    }

    /// Reads the stored spelling.
    pub fn from_stored(value: &str) -> Self {
        match value {
            "INFO" => Self::Info,
            "CRITICAL" => Self::Critical,
            _ => Self::Warning,
        }
    }
}

/// Where an alert stands.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertState {
    /// The condition holds, not yet for the rule's `for` duration.
    Pending,
    /// The condition has held for the `for` duration.
    Firing,
    /// The condition no longer holds.
    Resolved,
}

impl AlertState {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Firing => "FIRING",
            Self::Resolved => "RESOLVED",
        }
    }

    /// Reads the stored spelling.
    pub fn from_stored(value: &str) -> Self {
        match value {
            "PENDING" => Self::Pending,
            "FIRING" => Self::Firing,
            _ => Self::Resolved,
        }
    }
}

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
    match (&new.server_id, &new.tag) {
        (Some(server_id), None) => match ServerRow::find(&app.db, server_id).await? {
            Some(server) if server.project_id == access.project_id() => {}
            _ => {
                return Err(AppError::bad_input(
                    "serverId",
                    "no such server in this project",
                ))
            }
        },
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
        id: uuid::Uuid::now_v7().to_string(),
        project_id: access.project_id().to_owned(),
        name,
        metric: new.metric,
        server_id: new.server_id,
        tag: new.tag.map(|t| t.trim().to_owned()),
        comparison: new.comparison.as_str().to_owned(),
        threshold: new.threshold,
        for_secs: new.for_secs,
        severity: new.severity.as_str().to_owned(),
        enabled: true,
        created_at: at,
        updated_at: at,
    };
    row.insert(&app.db).await?;
    let summary = format!(
        "created alert rule '{}': {} {} {} for {} s",
        row.name, row.metric, row.comparison, row.threshold, row.for_secs
    );
    audit::record_in_project(
        app,
        access,
        "alert_rule",
        "alert_rule.create",
        &row.id,
        summary,
    )
    .await?;
    Ok(row)
}

/// Deletes a rule and its alerts (maintainers).
pub async fn delete_rule(app: &App, access: &ProjectAccess, rule: &AlertRuleRow) -> AppResult<()> {
    access.ensure(ProjectRole::Maintainer)?;
    AlertRuleRow::delete(&app.db, &rule.id).await?;
    let summary = format!("deleted alert rule '{}'", rule.name);
    audit::record_in_project(
        app,
        access,
        "alert_rule",
        "alert_rule.delete",
        &rule.id,
        summary,
    )
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
    if let Some(rule_id) = &rule_id {
        match AlertRuleRow::find(&app.db, rule_id).await? {
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
        match ServerRow::find(&app.db, server_id).await? {
            Some(server) if server.project_id == access.project_id() => {}
            _ => {
                return Err(AppError::bad_input(
                    "serverId",
                    "no such server in this project",
                ))
            }
        }
    }
    let row = SilenceRow {
        id: uuid::Uuid::now_v7().to_string(),
        project_id: access.project_id().to_owned(),
        rule_id,
        server_id,
        reason: reason.chars().take(500).collect(),
        ends_at,
        created_by: access.viewer.id().to_owned(),
        created_at: at,
    };
    row.insert(&app.db).await?;
    let summary = format!("silenced alerts until {} ({})", ends_at, row.reason);
    audit::record_in_project(app, access, "silence", "silence.create", &row.id, summary).await?;
    Ok(row)
}

/// Evaluates every enabled rule against the newest samples and moves alerts along.
pub async fn evaluate(app: &App) -> AppResult<()> {
    let rules = AlertRuleRow::list_enabled(&app.db).await?;
    let mut open: HashMap<(String, String), AlertRow> = AlertRow::list_open(&app.db)
        .await?
        .into_iter()
        .map(|alert| ((alert.rule_id.clone(), alert.server_id.clone()), alert))
        .collect();
    let now_ms = chrono::Utc::now().timestamp_millis();
    for rule in rules {
        let servers = match &rule.server_id {
            Some(id) => ServerRow::find(&app.db, id).await?.into_iter().collect(),
            None => {
                let filter = ServerFilter {
                    tag: rule.tag.clone(),
                    ..ServerFilter::default()
                };
                ServerRow::list(&app.db, &rule.project_id, &filter).await?
            }
        };
        for server in servers {
            let latest =
                SampleRow::latest(&app.db, &server.id, &rule.metric, now_ms - FRESHNESS_MS).await?;
            let alert = open.remove(&(rule.id.clone(), server.id.clone()));
            step(app, &rule, &server, latest.map(|(_, v)| v), alert).await?;
        }
    }
    Ok(())
}

/// One rule on one server: the next state of its open alert, if any.
async fn step(
    app: &App,
    rule: &AlertRuleRow,
    server: &ServerRow,
    value: Option<f64>,
    alert: Option<AlertRow>,
) -> AppResult<()> {
    let comparison = Comparison::from_stored(&rule.comparison);
    let breached = value.is_some_and(|v| comparison.breached(v, rule.threshold));
    let at = now();
    match (breached, alert) {
        (true, None) => {
            let mut alert = AlertRow {
                id: uuid::Uuid::now_v7().to_string(),
                rule_id: rule.id.clone(),
                project_id: rule.project_id.clone(),
                server_id: server.id.clone(),
                state: AlertState::Pending.as_str().to_owned(),
                value: value.unwrap_or_default(),
                started_at: at,
                fired_at: None,
                resolved_at: None,
                updated_at: at,
            };
            match alert.insert(&app.db).await {
                Ok(()) => {}
                // Another node opened this episode first.
                Err(error) if error.is_unique_violation() => return Ok(()),
                Err(error) => return Err(error.into()),
            }
            publish(app, &alert).await;
            if rule.for_secs == 0 {
                alert.state = AlertState::Firing.as_str().to_owned();
                alert.fired_at = Some(at);
                alert.save(&app.db).await?;
                transitioned(app, rule, server, &alert).await?;
            }
        }
        (true, Some(mut alert)) => {
            let held = (at - alert.started_at).num_seconds();
            alert.value = value.unwrap_or(alert.value);
            if AlertState::from_stored(&alert.state) == AlertState::Pending
                && held >= i64::from(rule.for_secs)
            {
                alert.state = AlertState::Firing.as_str().to_owned();
                alert.fired_at = Some(at);
                alert.updated_at = at;
                alert.save(&app.db).await?;
                transitioned(app, rule, server, &alert).await?;
            }
        }
        (false, Some(mut alert)) => {
            let was_firing = AlertState::from_stored(&alert.state) == AlertState::Firing;
            alert.state = AlertState::Resolved.as_str().to_owned();
            alert.resolved_at = Some(at);
            alert.updated_at = at;
            if let Some(v) = value {
                alert.value = v;
            }
            alert.save(&app.db).await?;
            if was_firing {
                transitioned(app, rule, server, &alert).await?;
            } else {
                publish(app, &alert).await;
            }
        }
        (false, None) => {}
    }
    Ok(())
}

/// Notifies the project's maintainers of a firing or resolved alert (unless
/// silenced), then publishes it: a subscriber that sees the event finds the
/// notifications stored.
async fn transitioned(
    app: &App,
    rule: &AlertRuleRow,
    server: &ServerRow,
    alert: &AlertRow,
) -> AppResult<()> {
    let silenced = SilenceRow::list_active(&app.db, &rule.project_id, now())
        .await?
        .iter()
        .any(|silence| silence.covers(&rule.id, &server.id));
    if !silenced {
        notify_maintainers(app, rule, server, alert).await?;
    }
    publish(app, alert).await;
    Ok(())
}

async fn notify_maintainers(
    app: &App,
    rule: &AlertRuleRow,
    server: &ServerRow,
    alert: &AlertRow,
) -> AppResult<()> {
    let firing = AlertState::from_stored(&alert.state) == AlertState::Firing;
    let (kind, verb) = if firing {
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
    for member in MemberRow::list(&app.db, &rule.project_id).await? {
        if ProjectRole::from_stored(&member.role).includes(ProjectRole::Maintainer) {
            notify(app, &member.user_id, kind, message.clone()).await?;
        }
    }
    Ok(())
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
