//! Alert rule, alert and silence rows and their queries.

use chrono::NaiveDateTime;
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper};
use diesel::{Insertable, Queryable, Selectable};
use serde::{Deserialize, Serialize};

use crate::db::schema::{alert_rules, alerts, silences};
use crate::db::{Database, DbResult};
use crate::db_run;

/// A stored alert rule.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = alert_rules)]
pub struct AlertRuleRow {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub metric: String,
    pub server_id: Option<String>,
    pub tag: Option<String>,
    pub comparison: String,
    pub threshold: f64,
    pub for_secs: i32,
    pub severity: String,
    pub enabled: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A stored alert episode; also the payload of the live event.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = alerts)]
pub struct AlertRow {
    pub id: String,
    pub rule_id: String,
    pub project_id: String,
    pub server_id: String,
    pub state: String,
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
    pub rule_id: Option<String>,
    pub server_id: Option<String>,
    pub reason: String,
    pub ends_at: NaiveDateTime,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

/// Database methods.
impl AlertRuleRow {
    /// Stores a new rule.
    pub async fn insert(&self, db: &Database) -> DbResult<()> {
        db_run!(db, |conn| {
            diesel::insert_into(alert_rules::table)
                .values(self)
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// The rule `id`.
    pub async fn find(db: &Database, id: &str) -> DbResult<Option<Self>> {
        db_run!(db, |conn| {
            Ok(alert_rules::table
                .find(id)
                .select(Self::as_select())
                .first(conn)
                .await
                .optional()?)
        })
    }

    /// The project's rules, oldest first.
    pub async fn list(db: &Database, project_id: &str) -> DbResult<Vec<Self>> {
        db_run!(db, |conn| {
            Ok(alert_rules::table
                .filter(alert_rules::project_id.eq(project_id))
                .order(alert_rules::id.asc())
                .select(Self::as_select())
                .load(conn)
                .await?)
        })
    }

    /// Every enabled rule.
    pub async fn list_enabled(db: &Database) -> DbResult<Vec<Self>> {
        db_run!(db, |conn| {
            Ok(alert_rules::table
                .filter(alert_rules::enabled.eq(true))
                .select(Self::as_select())
                .load(conn)
                .await?)
        })
    }

    /// Enables or disables the rule.
    pub async fn set_enabled(
        db: &Database,
        id: &str,
        enabled: bool,
        at: NaiveDateTime,
    ) -> DbResult<()> {
        db_run!(db, |conn| {
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

    /// Deletes the rule and its alerts.
    pub async fn delete(db: &Database, id: &str) -> DbResult<bool> {
        db_run!(db, |conn| {
            Ok(diesel::delete(alert_rules::table.find(id))
                .execute(conn)
                .await?
                > 0)
        })
    }
}

/// Database methods.
impl AlertRow {
    /// Stores a new alert.
    pub async fn insert(&self, db: &Database) -> DbResult<()> {
        db_run!(db, |conn| {
            diesel::insert_into(alerts::table)
                .values(self)
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// Stores the alert's new state, value and transition times.
    pub async fn save(&self, db: &Database) -> DbResult<()> {
        db_run!(db, |conn| {
            diesel::update(alerts::table.find(&self.id))
                .set((
                    alerts::state.eq(&self.state),
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
    pub async fn list_open(db: &Database) -> DbResult<Vec<Self>> {
        db_run!(db, |conn| {
            Ok(alerts::table
                .filter(alerts::state.ne("RESOLVED"))
                .select(Self::as_select())
                .load(conn)
                .await?)
        })
    }

    /// The project's alerts, newest first, optionally in one state.
    pub async fn list(
        db: &Database,
        project_id: &str,
        state: Option<&str>,
        limit: i64,
    ) -> DbResult<Vec<Self>> {
        db_run!(db, |conn| {
            let mut query = alerts::table
                .filter(alerts::project_id.eq(project_id))
                .select(Self::as_select())
                .into_boxed();
            if let Some(state) = state {
                query = query.filter(alerts::state.eq(state.to_owned()));
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
    pub async fn insert(&self, db: &Database) -> DbResult<()> {
        db_run!(db, |conn| {
            diesel::insert_into(silences::table)
                .values(self)
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// The project's silences that have not ended at `at`.
    pub async fn list_active(
        db: &Database,
        project_id: &str,
        at: NaiveDateTime,
    ) -> DbResult<Vec<Self>> {
        db_run!(db, |conn| {
            Ok(silences::table
                .filter(silences::project_id.eq(project_id))
                .filter(silences::ends_at.gt(at))
                .order(silences::ends_at.asc())
                .select(Self::as_select())
                .load(conn)
                .await?)
        })
    }

    /// The silence `id`.
    pub async fn find(db: &Database, id: &str) -> DbResult<Option<Self>> {
        db_run!(db, |conn| {
            Ok(silences::table
                .find(id)
                .select(Self::as_select())
                .first(conn)
                .await
                .optional()?)
        })
    }

    /// Ends the silence now.
    pub async fn end(db: &Database, id: &str, at: NaiveDateTime) -> DbResult<()> {
        db_run!(db, |conn| {
            diesel::update(silences::table.find(id))
                .set(silences::ends_at.eq(at))
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// Whether it covers alerts of `rule_id` on `server_id`.
    pub fn covers(&self, rule_id: &str, server_id: &str) -> bool {
        self.rule_id.as_deref().is_none_or(|r| r == rule_id)
            && self.server_id.as_deref().is_none_or(|s| s == server_id)
    }
}
