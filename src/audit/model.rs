//! Audit rows and their queries.

use chrono::NaiveDateTime;
use diesel::{ExpressionMethods, QueryDsl, SelectableHelper};
use diesel::{Insertable, Queryable, Selectable};

use crate::db::schema::audit_entries;
use crate::db::{Conn, DbResult};
use crate::db_run;
use crate::projects::scope::ProjectScope;

/// A stored audit entry.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_entries)]
pub struct AuditRow {
    pub id: String,
    pub project_id: Option<String>,
    pub actor_id: Option<String>,
    pub actor_name: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub summary: String,
    pub created_at: NaiveDateTime,
}

/// Which entries of a project to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only entries by this user.
    pub actor_id: Option<String>,
    /// Only this action (`case.create` …).
    pub action: Option<String>,
    /// Only this object type (`case`, `environment` …).
    pub object_type: Option<String>,
    /// Only entries at or after this time.
    pub since: Option<NaiveDateTime>,
    /// Only entries before this time.
    pub until: Option<NaiveDateTime>,
}

/// `audit_entries` of one project narrowed by an [`AuditFilter`].
macro_rules! filtered_audit {
    ($scope:expr, $filter:expr) => {{
        let filter: &AuditFilter = $filter;
        let mut query = audit_entries::table
            .filter(audit_entries::project_id.eq($scope.project_id().to_owned()))
            .into_boxed();
        if let Some(actor_id) = filter.actor_id.clone() {
            query = query.filter(audit_entries::actor_id.eq(actor_id));
        }
        if let Some(action) = filter.action.clone() {
            query = query.filter(audit_entries::action.eq(action));
        }
        if let Some(object_type) = filter.object_type.clone() {
            query = query.filter(audit_entries::object_type.eq(object_type));
        }
        if let Some(since) = filter.since {
            query = query.filter(audit_entries::created_at.ge(since));
        }
        if let Some(until) = filter.until {
            query = query.filter(audit_entries::created_at.lt(until));
        }
        query
    }};
}

/// Database methods.
impl AuditRow {
    /// Deletes the project's entries older than `before`; how many went.
    pub async fn purge_before(
        conn: &mut Conn,
        scope: &ProjectScope,
        before: NaiveDateTime,
    ) -> DbResult<usize> {
        db_run!(conn, |conn| {
            Ok(diesel::delete(
                audit_entries::table
                    .filter(audit_entries::project_id.eq(scope.project_id()))
                    .filter(audit_entries::created_at.lt(before)),
            )
            .execute(conn)
            .await?)
        })
    }

    /// Stores the entry.
    pub async fn insert(&self, conn: &mut Conn) -> DbResult<()> {
        db_run!(conn, |conn| {
            diesel::insert_into(audit_entries::table)
                .values(self)
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// Newest first, older than the cursor id; `limit: None` returns every match.
    pub async fn page(
        conn: &mut Conn,
        scope: &ProjectScope,
        filter: &AuditFilter,
        before_id: Option<&str>,
        limit: Option<i64>,
    ) -> DbResult<Vec<Self>> {
        db_run!(conn, |conn| {
            let mut query = filtered_audit!(scope, filter).select(Self::as_select());
            if let Some(before_id) = before_id {
                query = query.filter(audit_entries::id.lt(before_id.to_owned()));
            }
            if let Some(limit) = limit {
                query = query.limit(limit);
            }
            Ok(query.order(audit_entries::id.desc()).load(conn).await?)
        })
    }

    /// How many entries match.
    pub async fn count(
        conn: &mut Conn,
        scope: &ProjectScope,
        filter: &AuditFilter,
    ) -> DbResult<i64> {
        db_run!(conn, |conn| {
            Ok(filtered_audit!(scope, filter)
                .count()
                .get_result(conn)
                .await?)
        })
    }
}
