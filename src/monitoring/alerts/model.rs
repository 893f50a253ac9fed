//! Alert rule, alert and silence rows and their queries.

use chrono::NaiveDateTime;
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper};
use diesel::{Insertable, Queryable, Selectable};
use serde::{Deserialize, Serialize};

use crate::db::schema::{alert_rules, alerts, silences};
use crate::db::stored::unreadable_row;
use crate::db::{Conn, DbResult};
use crate::db_run;
use crate::projects::scope::ProjectScope;

use super::state::{AlertState, Comparison, Severity};

crate::stored_id!(
    /// The id of an alert rule: rule and server ids travel side by side in
    /// evaluation and silences, and must not be swapped.
    AlertRuleId
);

/// A stored alert rule.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = alert_rules)]
pub struct AlertRuleRow {
    pub id: AlertRuleId,
    pub project_id: String,
    pub name: String,
    pub metric: String,
    pub server_id: Option<String>,
    pub tag: Option<String>,
    pub comparison: Comparison,
    pub threshold: f64,
    pub for_secs: i32,
    pub severity: Severity,
    pub enabled: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A stored alert episode; also the payload of the live event.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = alerts)]
pub struct AlertRow {
    pub id: String,
    pub rule_id: AlertRuleId,
    pub project_id: String,
    pub server_id: String,
    pub state: AlertState,
    pub value: f64,
    pub started_at: NaiveDateTime,
    pub fired_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

/// A stored silence.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = silences)]
pub struct SilenceRow {
    pub id: String,
    pub project_id: String,
    pub rule_id: Option<AlertRuleId>,
    pub server_id: Option<String>,
    pub reason: String,
    pub ends_at: NaiveDateTime,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

crate::project_owned!(AlertRuleRow, "alert rule");

crate::project_owned!(SilenceRow, "silence");

/// Database methods.
impl AlertRuleRow {
    /// Stores a new rule.
    pub async fn insert(&self, conn: &mut Conn) -> DbResult<()> {
        db_run!(conn, |conn| {
            diesel::insert_into(alert_rules::table)
                .values(self)
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// The rule `id`.
    pub async fn find(conn: &mut Conn, id: &str) -> DbResult<Option<Self>> {
        db_run!(conn, |conn| {
            alert_rules::table
                .find(id)
                .select(Self::as_select())
                .first(conn)
                .await
                .optional()
                .map_err(|error| unreadable_row(error, "alert_rules", id))
        })
    }

    /// The project's rules, oldest first.
    pub async fn list(conn: &mut Conn, scope: &ProjectScope) -> DbResult<Vec<Self>> {
        db_run!(conn, |conn| {
            Ok(alert_rules::table
                .filter(alert_rules::project_id.eq(scope.project_id()))
                .order(alert_rules::id.asc())
                .select(Self::as_select())
                .load(conn)
                .await?)
        })
    }

    /// Every enabled rule.
    pub async fn list_enabled(conn: &mut Conn) -> DbResult<Vec<Self>> {
        db_run!(conn, |conn| {
            Ok(alert_rules::table
                .filter(alert_rules::enabled.eq(true))
                .select(Self::as_select())
                .load(conn)
                .await?)
        })
    }

    /// Enables or disables the rule.
    pub async fn set_enabled(
        conn: &mut Conn,
        id: &str,
        enabled: bool,
        at: NaiveDateTime,
    ) -> DbResult<()> {
        db_run!(conn, |conn| {
            diesel::update(alert_rules::table.find(id))
                .set((
                    alert_rules::enabled.eq(enabled),
                    alert_rules::updated_at.eq(at),
                ))
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// Deletes a rule of the project in scope, and its alerts.
    pub async fn delete(conn: &mut Conn, scope: &ProjectScope, id: &str) -> DbResult<bool> {
        db_run!(conn, |conn| {
            Ok(diesel::delete(
                alert_rules::table
                    .find(id)
                    .filter(alert_rules::project_id.eq(scope.project_id())),
            )
            .execute(conn)
            .await?
                > 0)
        })
    }
}

/// Database methods.
impl AlertRow {
    /// Stores a new alert.
    pub async fn insert(&self, conn: &mut Conn) -> DbResult<()> {
        db_run!(conn, |conn| {
            diesel::insert_into(alerts::table)
                .values(self)
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// Stores the alert's new state, value and transition times.
    pub async fn save(&self, conn: &mut Conn) -> DbResult<()> {
        db_run!(conn, |conn| {
            diesel::update(alerts::table.find(&self.id))
                .set((
                    alerts::state.eq(self.state),
                    alerts::value.eq(self.value),
                    alerts::fired_at.eq(self.fired_at),
                    alerts::resolved_at.eq(self.resolved_at),
                    alerts::updated_at.eq(self.updated_at),
                ))
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// Every alert not resolved yet.
    pub async fn list_open(conn: &mut Conn) -> DbResult<Vec<Self>> {
        db_run!(conn, |conn| {
            Ok(alerts::table
                .filter(alerts::state.ne(AlertState::Resolved))
                .select(Self::as_select())
                .load(conn)
                .await?)
        })
    }

    /// The project's alerts, newest first, optionally in one state.
    pub async fn list(
        conn: &mut Conn,
        scope: &ProjectScope,
        state: Option<AlertState>,
        limit: i64,
    ) -> DbResult<Vec<Self>> {
        db_run!(conn, |conn| {
            let mut query = alerts::table
                .filter(alerts::project_id.eq(scope.project_id()))
                .select(Self::as_select())
                .into_boxed();
            if let Some(state) = state {
                query = query.filter(alerts::state.eq(state));
            }
            Ok(query
                .order(alerts::id.desc())
                .limit(limit)
                .load(conn)
                .await?)
        })
    }
}

/// Database methods.
impl SilenceRow {
    /// Stores a new silence.
    pub async fn insert(&self, conn: &mut Conn) -> DbResult<()> {
        db_run!(conn, |conn| {
            diesel::insert_into(silences::table)
                .values(self)
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// The project's silences that have not ended at `at`.
    pub async fn list_active(
        conn: &mut Conn,
        scope: &ProjectScope,
        at: NaiveDateTime,
    ) -> DbResult<Vec<Self>> {
        db_run!(conn, |conn| {
            Ok(silences::table
                .filter(silences::project_id.eq(scope.project_id()))
                .filter(silences::ends_at.gt(at))
                .order(silences::ends_at.asc())
                .select(Self::as_select())
                .load(conn)
                .await?)
        })
    }

    /// The silence `id`.
    pub async fn find(conn: &mut Conn, id: &str) -> DbResult<Option<Self>> {
        db_run!(conn, |conn| {
            Ok(silences::table
                .find(id)
                .select(Self::as_select())
                .first(conn)
                .await
                .optional()?)
        })
    }

    /// Ends a silence of the project in scope now.
    pub async fn end(
        conn: &mut Conn,
        scope: &ProjectScope,
        id: &str,
        at: NaiveDateTime,
    ) -> DbResult<()> {
        db_run!(conn, |conn| {
            diesel::update(
                silences::table
                    .find(id)
                    .filter(silences::project_id.eq(scope.project_id())),
            )
            .set(silences::ends_at.eq(at))
            .execute(conn)
            .await?;
            Ok(())
        })
    }

    /// Whether it covers alerts of `rule_id` on `server_id`.
    pub fn covers(&self, rule_id: &AlertRuleId, server_id: &str) -> bool {
        self.rule_id.as_ref().is_none_or(|r| r == rule_id)
            && self.server_id.as_deref().is_none_or(|s| s == server_id)
    }
}
