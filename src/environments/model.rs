//! Environment rows and their queries.

use chrono::NaiveDateTime;
use diesel::{AsChangeset, Insertable, Queryable, Selectable};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper};
use serde::{Deserialize, Serialize};

use crate::db::schema::environments;
use crate::db::stored::{unreadable_row, Json};
use crate::db::{Conn, DbResult};
use crate::db_run;
use crate::projects::scope::ProjectScope;

/// A stored environment; `variables` is a JSON list of [`StoredVariable`].
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = environments)]
pub struct EnvironmentRow {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub is_default: bool,
    pub variables: Json<Vec<StoredVariable>>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// One variable as stored: a secret's value is sealed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredVariable {
    /// The name used as `{{name}}`.
    pub name: String,
    /// Plain text, or the sealed value of a secret.
    pub value: String,
    /// Whether the value is write-only.
    pub secret: bool,
}

/// Changes to an environment; `None` leaves a column as it is.
#[derive(Debug, Default, Clone, AsChangeset)]
#[diesel(table_name = environments)]
pub struct EnvironmentChanges {
    pub name: Option<String>,
    pub is_default: Option<bool>,
    pub variables: Option<Json<Vec<StoredVariable>>>,
    pub updated_at: Option<NaiveDateTime>,
}

/// Local methods.
impl EnvironmentRow {
    /// The variables as stored (secrets still sealed).
    pub fn stored_variables(&self) -> Vec<StoredVariable> {
        self.variables.0.clone()
    }
}

crate::project_owned!(EnvironmentRow, "environment");

/// Database methods.
impl EnvironmentRow {
    /// Stores a new environment; as the default, it takes the role from any other.
    /// Run it in a transaction: the two statements belong together.
    pub async fn insert(&self, conn: &mut Conn) -> DbResult<()> {
        db_run!(conn, |conn| {
            diesel::insert_into(environments::table)
                .values(self)
                .execute(conn)
                .await?;
            if self.is_default {
                diesel::update(
                    environments::table
                        .filter(environments::project_id.eq(&self.project_id))
                        .filter(environments::id.ne(&self.id)),
                )
                .set(environments::is_default.eq(false))
                .execute(conn)
                .await?;
            }
            Ok(())
        })
    }

    /// The environment `id`.
    pub async fn find(conn: &mut Conn, id: &str) -> DbResult<Option<Self>> {
        db_run!(conn, |conn| {
            environments::table
                .find(id)
                .select(Self::as_select())
                .first(conn)
                .await
                .optional()
                .map_err(|error| unreadable_row(error, "environments", id))
        })
    }

    /// The project's environments by name.
    pub async fn list(conn: &mut Conn, scope: &ProjectScope) -> DbResult<Vec<Self>> {
        db_run!(conn, |conn| {
            Ok(environments::table
                .filter(environments::project_id.eq(scope.project_id()))
                .order(environments::name.asc())
                .select(Self::as_select())
                .load(conn)
                .await?)
        })
    }

    /// Every environment of every project.
    pub async fn all(conn: &mut Conn) -> DbResult<Vec<Self>> {
        db_run!(conn, |conn| {
            Ok(environments::table
                .order(environments::id.asc())
                .select(Self::as_select())
                .load(conn)
                .await?)
        })
    }

    /// The project's default environment, if it has one.
    pub async fn find_default(conn: &mut Conn, scope: &ProjectScope) -> DbResult<Option<Self>> {
        db_run!(conn, |conn| {
            Ok(environments::table
                .filter(environments::project_id.eq(scope.project_id()))
                .filter(environments::is_default.eq(true))
                .select(Self::as_select())
                .first(conn)
                .await
                .optional()?)
        })
    }

    /// Applies `changes`; making it the default takes the role from any other.
    /// Run it in a transaction: the two statements belong together.
    pub async fn update(
        conn: &mut Conn,
        id: &str,
        scope: &ProjectScope,
        changes: &EnvironmentChanges,
    ) -> DbResult<Option<Self>> {
        db_run!(conn, |conn| {
            let updated = diesel::update(
                environments::table
                    .find(id)
                    .filter(environments::project_id.eq(scope.project_id())),
            )
            .set(changes)
            .returning(Self::as_returning())
            .get_result(conn)
            .await
            .optional()?;
            if updated.is_some() && changes.is_default == Some(true) {
                diesel::update(
                    environments::table
                        .filter(environments::project_id.eq(scope.project_id()))
                        .filter(environments::id.ne(id)),
                )
                .set(environments::is_default.eq(false))
                .execute(conn)
                .await?;
            }
            Ok(updated)
        })
    }

    /// Deletes the environment of the project in scope; returns whether it existed.
    pub async fn delete(conn: &mut Conn, scope: &ProjectScope, id: &str) -> DbResult<bool> {
        db_run!(conn, |conn| {
            Ok(diesel::delete(
                environments::table
                    .find(id)
                    .filter(environments::project_id.eq(scope.project_id())),
            )
            .execute(conn)
            .await?
                > 0)
        })
    }
}
