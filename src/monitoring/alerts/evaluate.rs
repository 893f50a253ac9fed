//! Evaluation: every enabled rule against the newest samples, alerts moved
//! along PENDING → FIRING → RESOLVED, maintainers notified, changes published.

use std::collections::HashMap;

use crate::app::App;
use crate::db::{now, Conn};
use crate::error::AppResult;
use crate::monitoring::samples::SampleRow;
use crate::notifications::model::NotificationRow;
use crate::notifications::{service as notifications, NotificationKind};
use crate::projects::model::{MemberRow, ProjectRole};
use crate::projects::scope::{ProjectScope, SystemActor};
use crate::servers::model::{ServerFilter, ServerRow};

use super::model::{AlertRow, AlertRuleId, AlertRuleRow, SilenceRow};
use super::state::{alerts_topic, AlertState};

/// How old the newest sample may be for a rule to consider it, in milliseconds.
const FRESHNESS_MS: i64 = 10 * 60 * 1000;

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
