//! GraphQL for alert rules, alerts and silences.

use async_graphql::{Context, InputObject, Object, SimpleObject, Subscription, ID};
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};

use crate::error::{GqlResult, GraphqlError};
use crate::graphql::{utc, ContextExt};
use crate::projects::model::ProjectRole;

use super::model::{AlertRow, AlertRuleRow, SilenceRow};
use super::service::NewRule;
use super::state::{AlertState, Comparison, Severity};

/// A threshold rule on a metric.
pub struct AlertRule(pub AlertRuleRow);

/// A threshold rule on a metric of one server or of the servers with a tag.
#[Object]
impl AlertRule {
    /// Unique id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Metric name.
    async fn metric(&self) -> &str {
        &self.0.metric
    }
    /// The one server it watches, if given.
    async fn server_id(&self) -> Option<ID> {
        self.0.server_id.clone().map(ID)
    }
    /// The tag of the servers it watches, if given.
    async fn tag(&self) -> Option<&str> {
        self.0.tag.as_deref()
    }
    /// How the value is compared with the threshold.
    async fn comparison(&self) -> Comparison {
        self.0.comparison
    }
    /// Threshold.
    async fn threshold(&self) -> f64 {
        self.0.threshold
    }
    /// Seconds the condition must hold before the alert fires.
    async fn for_secs(&self) -> i32 {
        self.0.for_secs
    }
    /// Severity.
    async fn severity(&self) -> Severity {
        self.0.severity
    }
    /// Whether it is evaluated.
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
}

/// An alert episode.
pub struct Alert(pub AlertRow);

/// An alert episode of a rule on a server, with the time of each transition.
#[Object]
impl Alert {
    /// Unique id.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// The rule.
    async fn rule_id(&self) -> ID {
        ID(self.0.rule_id.to_string())
    }
    /// The server.
    async fn server_id(&self) -> ID {
        ID(self.0.server_id.clone())
    }
    /// Where it stands.
    async fn state(&self) -> AlertState {
        self.0.state
    }
    /// The last value seen.
    async fn value(&self) -> f64 {
        self.0.value
    }
    /// When the condition first held (PENDING).
    async fn started_at(&self) -> DateTime<Utc> {
        utc(self.0.started_at)
    }
    /// When it started firing.
    async fn fired_at(&self) -> Option<DateTime<Utc>> {
        self.0.fired_at.map(utc)
    }
    /// When it resolved.
    async fn resolved_at(&self) -> Option<DateTime<Utc>> {
        self.0.resolved_at.map(utc)
    }
}

/// A period in which alerts notify nobody.
#[derive(SimpleObject)]
pub struct Silence {
    /// Unique id.
    id: ID,
    /// Only alerts of this rule, if given.
    rule_id: Option<ID>,
    /// Only alerts on this server, if given.
    server_id: Option<ID>,
    /// Why.
    reason: String,
    /// When it ends.
    ends_at: DateTime<Utc>,
}

impl From<SilenceRow> for Silence {
    fn from(row: SilenceRow) -> Self {
        Self {
            id: ID(row.id),
            rule_id: row.rule_id.map(|id| ID(id.into())),
            server_id: row.server_id.map(ID),
            reason: row.reason,
            ends_at: utc(row.ends_at),
        }
    }
}

/// Input of `createAlertRule`.
#[derive(InputObject)]
pub struct CreateAlertRuleInput {
    /// The project.
    project_id: ID,
    /// Name.
    name: String,
    /// A known metric (`cpu_percent`, `memory_percent`, `disk_percent:/`, `up`, `latency_ms` …).
    metric: String,
    /// One server (or give `tag`).
    server_id: Option<ID>,
    /// Every server with this tag (or give `serverId`).
    tag: Option<String>,
    /// Comparison.
    comparison: Comparison,
    /// Threshold.
    threshold: f64,
    /// Seconds the condition must hold before firing (0 fires at once).
    #[graphql(default)]
    for_secs: i32,
    /// Severity.
    #[graphql(default_with = "Severity::Warning")]
    severity: Severity,
}

/// Input naming one alert rule.
#[derive(InputObject)]
pub struct AlertRuleIdInput {
    /// The rule.
    id: ID,
}

/// Input of `createSilence`.
#[derive(InputObject)]
pub struct CreateSilenceInput {
    /// The project.
    project_id: ID,
    /// Only this rule's alerts.
    rule_id: Option<ID>,
    /// Only alerts on this server.
    server_id: Option<ID>,
    /// Why.
    #[graphql(default)]
    reason: String,
    /// When it ends.
    ends_at: DateTime<Utc>,
}

/// Input of `endSilence`.
#[derive(InputObject)]
pub struct SilenceIdInput {
    /// The silence.
    id: ID,
}

/// Result of `createAlertRule`.
#[derive(SimpleObject)]
pub struct AlertRulePayload {
    /// The rule.
    alert_rule: AlertRule,
}

/// Result of `createSilence`.
#[derive(SimpleObject)]
pub struct SilencePayload {
    /// The silence.
    silence: Silence,
}

/// Alert queries.
#[derive(Default)]
pub struct AlertQuery;

#[Object]
impl AlertQuery {
    /// The project's alert rules.
    async fn alert_rules(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project.")] project_id: ID,
    ) -> GqlResult<Vec<AlertRule>> {
        let access = ctx.project_access(&project_id, ProjectRole::Viewer).await?;
        Ok(
            AlertRuleRow::list(&mut ctx.app().db.conn().await?, access.scope())
                .await?
                .into_iter()
                .map(AlertRule)
                .collect(),
        )
    }

    /// The project's alerts, newest first (at most 100).
    async fn alerts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project.")] project_id: ID,
        #[graphql(desc = "Only alerts in this state.")] state: Option<AlertState>,
    ) -> GqlResult<Vec<Alert>> {
        let access = ctx.project_access(&project_id, ProjectRole::Viewer).await?;
        let rows =
            AlertRow::list(&mut ctx.app().db.conn().await?, access.scope(), state, 100).await?;
        Ok(rows.into_iter().map(Alert).collect())
    }

    /// The project's silences that have not ended.
    async fn silences(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project.")] project_id: ID,
    ) -> GqlResult<Vec<Silence>> {
        let access = ctx.project_access(&project_id, ProjectRole::Viewer).await?;
        let rows = SilenceRow::list_active(
            &mut ctx.app().db.conn().await?,
            access.scope(),
            crate::db::now(),
        )
        .await?;
        Ok(rows.into_iter().map(Silence::from).collect())
    }
}

/// Alert mutations (maintainers).
#[derive(Default)]
pub struct AlertMutation;

#[Object]
impl AlertMutation {
    /// Creates an alert rule (maintainers).
    async fn create_alert_rule(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The rule.")] input: CreateAlertRuleInput,
    ) -> GqlResult<AlertRulePayload> {
        let access = ctx
            .project_access(&input.project_id, ProjectRole::Maintainer)
            .await?;
        let new = NewRule {
            name: input.name,
            metric: input.metric,
            server_id: input.server_id.map(|id| id.0),
            tag: input.tag,
            comparison: input.comparison,
            threshold: input.threshold,
            for_secs: input.for_secs,
            severity: input.severity,
        };
        let row = super::service::create_rule(ctx.app(), &access, new).await?;
        Ok(AlertRulePayload {
            alert_rule: AlertRule(row),
        })
    }

    /// Deletes an alert rule and its alerts (maintainers).
    async fn delete_alert_rule(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The rule.")] input: AlertRuleIdInput,
    ) -> GqlResult<ID> {
        let (rule, access) = ctx
            .object_access::<AlertRuleRow>(&input.id, ProjectRole::Maintainer)
            .await?;
        super::service::delete_rule(ctx.app(), &access, &rule).await?;
        Ok(input.id)
    }

    /// Silences notifications until `endsAt` (maintainers).
    async fn create_silence(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The silence.")] input: CreateSilenceInput,
    ) -> GqlResult<SilencePayload> {
        let access = ctx
            .project_access(&input.project_id, ProjectRole::Maintainer)
            .await?;
        let row = super::service::create_silence(
            ctx.app(),
            &access,
            input.rule_id.map(|id| id.0),
            input.server_id.map(|id| id.0),
            input.reason,
            input.ends_at.naive_utc(),
        )
        .await?;
        Ok(SilencePayload {
            silence: row.into(),
        })
    }

    /// Ends a silence now (maintainers).
    async fn end_silence(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The silence.")] input: SilenceIdInput,
    ) -> GqlResult<ID> {
        let (silence, access) = ctx
            .object_access::<SilenceRow>(&input.id, ProjectRole::Maintainer)
            .await?;
        super::service::end_silence(ctx.app(), &access, &silence).await?;
        Ok(input.id)
    }
}

/// Alert subscriptions.
#[derive(Default)]
pub struct AlertSubscription;

#[Subscription]
impl AlertSubscription {
    /// A project's alert transitions (PENDING, FIRING, RESOLVED).
    async fn alerts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project.")] project_id: ID,
    ) -> Result<impl Stream<Item = Alert>, GraphqlError> {
        let access = ctx.project_access(&project_id, ProjectRole::Viewer).await?;
        Ok(ctx
            .app()
            .bus
            .subscribe_json::<AlertRow>(&super::state::alerts_topic(access.project_id()))
            .map(Alert))
    }
}
